"""Transition-model MLE and Algorithm 1 (Theorem 7).

Part of :mod:`qbc_theory.engine.learning` (see its docstring for the estimator and the
conventions); import the names from there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...model.errors import DimensionError
from ...model.validation import as_int, as_matrix, reject_unknown_kwargs
from ._data import _chunk, _flat_actions, _flat_states, _json_float, _tie_count
from .finite import LinearPolicyClass, fit_finite
from .parametric import fit_gaussian_mle

__all__ = [
    "LinearGaussianModel",
    "LinearModelClass",
    "ModelFit",
    "fit_model_finite",
    "fit_model_gaussian",
    "Algorithm1Learner",
    "Algorithm1Fit",
    "fit_algorithm1",
]


@dataclass(frozen=True, eq=False)
class LinearGaussianModel:
    r"""A transition model ``M(. | x, u~) = N(A x + B u~, Sigma)`` on decoded quantized actions.

    .. math::

        x_{h+1} = A x_h + B \tilde u_h + \Sigma^{1/2} \xi_h, \qquad \xi_h \sim N(0, I).

    Parameters
    ----------
    A : (dx, dx) array_like
    B : (dx, du) array_like
    cov : (dx, dx) array_like
        Symmetric positive semidefinite (0 gives a deterministic model).

    References
    ----------
    Cao & Xie 2026, Algorithm 1 (the model class M).
    """

    A: np.ndarray
    B: np.ndarray
    cov: np.ndarray

    def __init__(self, A, B, cov):
        A = as_matrix("A", A).copy()
        if A.shape[0] != A.shape[1]:
            raise DimensionError(f"A: expected a square matrix, found shape {A.shape}")
        B = as_matrix("B", B, rows=A.shape[0]).copy()
        cov = as_matrix("cov", cov, A.shape[0], A.shape[0]).copy()
        cov = 0.5 * (cov + cov.T)
        lam, vec = np.linalg.eigh(cov)
        if lam.min() < -1e-10 * max(1.0, lam.max()):
            raise DimensionError(f"cov: expected a positive semidefinite matrix, found eigenvalue {lam.min():.3g}")
        factor = vec * np.sqrt(np.clip(lam, 0.0, None))
        for name, arr in (("A", A), ("B", B), ("cov", cov), ("_factor", factor)):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def deterministic(self) -> bool:
        """Whether the covariance is zero."""
        return not np.any(self.cov)

    def step(self, x, u, xi=None) -> np.ndarray:
        """Next states ``(N, dx)`` for states ``(N, dx)``, actions ``(N, du)``, standard normals ``xi (N, dx)``."""
        nxt = np.asarray(x, dtype=float) @ self.A.T + np.asarray(u, dtype=float) @ self.B.T
        if xi is not None and not self.deterministic:
            nxt = nxt + np.asarray(xi, dtype=float) @ self._factor.T
        return nxt

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        return {"A": self.A.tolist(), "B": self.B.tolist(), "cov": self.cov.tolist()}


def _model_inputs(states, actions, next_states):
    x = _flat_states("states", states)
    u = _flat_actions("actions", actions, x.shape[0])
    y = _flat_states("next_states", next_states, x.shape[1])
    if y.shape[0] != x.shape[0]:
        raise DimensionError(f"next_states: expected {x.shape[0]} states, found {y.shape[0]}")
    return x, u, y


@dataclass(frozen=True, eq=False)
class LinearModelClass:
    r"""A finite class of linear-Gaussian transition models ``N(A_m x + B_m u~, Sigma)`` with one
    shared covariance, or of deterministic models (``Sigma = 0``).

    **Score convention.** With a positive definite ``Sigma`` the score of candidate ``m`` is its
    Gaussian log-likelihood. With ``Sigma = 0`` (a deterministic model class, for deterministic
    systems) the log-likelihood is 0 or ``-inf`` and is not usable in floating point; the score is
    then minus half the residual sum of squares. This is the ranking the Gaussian log-likelihood
    gives for *every* shared covariance ``s^2 I`` (``-SSR / (2 s^2)`` plus a constant), so it is the
    limit ``s -> 0`` of the Gaussian classes, and it selects a candidate that reproduces the
    transitions exactly whenever one exists. The fitted model keeps the class's ``Sigma``: a
    deterministic class gives a deterministic auxiliary rollout.

    .. math::

        \mathrm{score}_m = -\tfrac12 \sum_{i,h} \|\Sigma^{-1/2}(x_{h+1}^i - A_m x_h^i - B_m \tilde u_h^i)\|^2
        - \tfrac{N}{2} \log\det(2\pi\Sigma) \quad (\Sigma \succ 0), \qquad
        \mathrm{score}_m = -\tfrac12 \sum_{i,h} \|x_{h+1}^i - A_m x_h^i - B_m \tilde u_h^i\|^2 \quad (\Sigma = 0).

    Parameters
    ----------
    A : (M, dx, dx) array_like
    B : (M, dx, du) array_like
    cov : (dx, dx) array_like
        Positive definite, or the zero matrix for a deterministic class.

    Raises
    ------
    DimensionError
        On wrong shapes, or a covariance that is neither positive definite nor zero.

    References
    ----------
    Cao & Xie 2026, Algorithm 1 and Theorem 7 (``log |M|`` enters the rate).
    """

    A: np.ndarray
    B: np.ndarray
    cov: np.ndarray

    def __init__(self, A, B, cov):
        A = np.asarray(A, dtype=float)
        B = np.asarray(B, dtype=float)
        if A.ndim != 3 or A.shape[1] != A.shape[2] or A.shape[0] == 0:
            raise DimensionError(f"A: expected shape (M, dx, dx), found {A.shape}")
        if B.ndim != 3 or B.shape[:2] != A.shape[:2]:
            raise DimensionError(f"B: expected shape ({A.shape[0]}, {A.shape[1]}, du), found {B.shape}")
        if not (np.all(np.isfinite(A)) and np.all(np.isfinite(B))):
            raise DimensionError("A, B: expected finite numbers, found a non-finite entry")
        dx = A.shape[1]
        cov = as_matrix("cov", cov, dx, dx)
        cov = 0.5 * (cov + cov.T)
        if np.any(cov) and np.linalg.eigvalsh(cov).min() <= 0:
            raise DimensionError("cov: expected a positive definite matrix or zero, found a singular or "
                                 "indefinite non-zero one")
        for name, arr in (("A", A.copy()), ("B", B.copy()), ("cov", cov)):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @classmethod
    def product(cls, As, Bs, cov) -> "LinearModelClass":
        """Every pair ``(A_a, B_b)``, ``A``-major: candidate ``m = a * len(Bs) + b``."""
        As = np.asarray(As, dtype=float)
        Bs = np.asarray(Bs, dtype=float)
        return cls(np.repeat(As, Bs.shape[0], axis=0), np.tile(Bs, (As.shape[0], 1, 1)), cov)

    @property
    def size(self) -> int:
        """``|M|``."""
        return self.A.shape[0]

    @property
    def deterministic(self) -> bool:
        """Whether the shared covariance is zero."""
        return not np.any(self.cov)

    def candidate(self, m: int) -> LinearGaussianModel:
        """Candidate ``m`` as a model."""
        m = as_int("m", m, minimum=0)
        if m >= self.size:
            raise DimensionError(f"m: expected a candidate index below {self.size}, found {m}")
        return LinearGaussianModel(self.A[m], self.B[m], self.cov)

    def scores(self, states, actions, next_states, *, chunk: int | None = None) -> np.ndarray:
        """Scores ``(M,)`` (class docstring) of all candidates on ``(x_h, u~_h, x_{h+1})``, in chunks."""
        x, u, y = _model_inputs(states, actions, next_states)
        dx, du = self.A.shape[1], self.B.shape[2]
        if u.shape[1] != du:
            raise DimensionError(f"actions: expected dimension {du}, found {u.shape[1]}")
        theta = np.concatenate([self.A, self.B], axis=2).reshape(-1, dx + du)
        whiten = None if self.deterministic else np.linalg.inv(np.linalg.cholesky(self.cov))
        p = np.concatenate([x, u], axis=1)
        c = _chunk(self.size * dx, chunk)
        ssr = np.zeros(self.size)
        for s in range(0, x.shape[0], c):
            r = y[s:s + c, None, :] - (p[s:s + c] @ theta.T).reshape(-1, self.size, dx)
            if whiten is not None:
                r = r @ whiten.T
            ssr += np.einsum("cmd,cmd->m", r, r)
        if whiten is None:
            return -0.5 * ssr
        _, logdet = np.linalg.slogdet(2.0 * np.pi * self.cov)
        return -0.5 * ssr - 0.5 * x.shape[0] * logdet


@dataclass(frozen=True, eq=False)
class ModelFit:
    """A fitted transition model.

    Attributes
    ----------
    model : LinearGaussianModel
    index : int or None
        Selected candidate of a finite class (lowest index among the maximisers), None for least squares.
    scores : (M,) ndarray or None
    n_maximisers : int
    log_likelihood : float or None
        None for a deterministic model (zero covariance), whose log-likelihood is 0 or ``-inf``.
    n_samples : int

    References
    ----------
    Cao & Xie 2026, Algorithm 1.
    """

    model: LinearGaussianModel
    index: int | None
    scores: np.ndarray | None
    n_maximisers: int
    log_likelihood: float | None
    n_samples: int

    def to_dict(self) -> dict:
        """A JSON-ready summary."""
        return {"model": self.model.to_dict(), "index": self.index, "n_maximisers": self.n_maximisers,
                "log_likelihood": None if self.log_likelihood is None else _json_float(self.log_likelihood),
                "n_samples": self.n_samples}


def fit_model_finite(model_class: LinearModelClass, states, actions, next_states, **options) -> ModelFit:
    r"""Exact MLE over a finite model class (ties to the lowest index).

    .. math::

        \hat m = \min \arg\max_m \sum_{i,h} \log M_m(x_{h+1}^i \mid x_h^i, \tilde u_h^i).

    Parameters
    ----------
    model_class : LinearModelClass
    states : (n, H, dx) or (N, dx) array_like
    actions : (n, H, du) or (N, du) array_like
        Decoded quantized actions ``u~``.
    next_states : (n, H, dx) or (N, dx) array_like
    chunk : int, optional

    Returns
    -------
    ModelFit

    References
    ----------
    Cao & Xie 2026, Algorithm 1.
    """
    chunk = options.pop("chunk", None)
    reject_unknown_kwargs("fit_model_finite", options)
    scores = model_class.scores(states, actions, next_states, chunk=chunk)
    m = int(np.argmax(scores))
    n = _flat_states("states", states).shape[0]
    ll = None if model_class.deterministic else float(scores[m])
    return ModelFit(model_class.candidate(m), m, scores, _tie_count(scores, scores[m]), ll, n)


def fit_model_gaussian(states, actions, next_states) -> ModelFit:
    r"""MLE over all linear-Gaussian models: least squares of ``x_{h+1}`` on ``(x_h, u~_h)`` and the
    residual covariance.

    .. math::

        [\hat A\; \hat B] = \arg\min \sum_{i,h} \|x_{h+1}^i - A x_h^i - B \tilde u_h^i\|^2, \qquad
        \hat\Sigma = \frac1N \sum_{i,h} r_h^i (r_h^i)^\top.

    The model conditions on the decoded quantized action ``u~``; for a Gaussian expert the true
    ``T o rho`` is a mixture and this class is an approximation, for a deterministic expert
    ``(A + B K, 0, 0)`` realizes it exactly.

    Parameters
    ----------
    states : (n, H, dx) or (N, dx) array_like
    actions : (n, H, du) or (N, du) array_like
    next_states : (n, H, dx) or (N, dx) array_like

    Returns
    -------
    ModelFit
        ``log_likelihood`` is None when ``Sigma_hat`` is singular.

    References
    ----------
    Cao & Xie 2026, Algorithm 1.
    """
    x, u, y = _model_inputs(states, actions, next_states)
    dx = x.shape[1]
    p = np.concatenate([x, u], axis=1)
    coef, *_ = np.linalg.lstsq(p, y, rcond=None)
    r = y - p @ coef
    cov = r.T @ r / x.shape[0]
    scale = max(1.0, float(np.abs(y).max()))
    # A residual at rounding level means the data are deterministic: keep the model exactly deterministic.
    if np.sqrt(np.trace(cov)) <= 1e-12 * scale:
        cov = np.zeros((dx, dx))
    model = LinearGaussianModel(coef[:dx].T, coef[dx:].T, cov)
    ll = None
    if np.linalg.eigvalsh(cov).min() > 0:
        _, logdet = np.linalg.slogdet(2.0 * np.pi * cov)
        ll = float(-0.5 * x.shape[0] * (logdet + dx))
    return ModelFit(model, None, None, 1, ll, x.shape[0])


@dataclass(frozen=True, eq=False)
class Algorithm1Learner:
    r"""Algorithm 1's deployment: an auxiliary rollout in the learned model, executed open loop.

    .. math::

        x^a_1 = x_1,\quad \tilde u^a_h \sim \hat\pi(\cdot \mid x^a_h),\quad
        x^a_{h+1} \sim \hat M(\cdot \mid x^a_h, \tilde u^a_h),

    then ``u~^a_1, ..., u~^a_H`` are played in the real system from ``x_1`` whatever the real states
    are (``rollout.open_loop``).

    Parameters
    ----------
    policy : policy
        The learned quantized policy (``act(x, z)``).
    model : LinearGaussianModel
        The learned transition model.

    References
    ----------
    Cao & Xie 2026, Algorithm 1 and Theorem 7.
    """

    policy: object
    model: LinearGaussianModel

    def plan(self, x1, z, xi) -> np.ndarray:
        """The auxiliary action sequence.

        Parameters
        ----------
        x1 : (N, dx) array_like
            Real initial states.
        z : (H, N, du) array_like
            Standard normals of the policy (pass the expert's for the shared-noise coupling).
        xi : (H, N, dx) array_like
            Standard normals of the learned model. They must not be the real process noise: the
            plan is made before the real system is run.

        Returns
        -------
        (H, N, du) ndarray
        """
        x = _flat_states("x1", x1, self.model.A.shape[0])
        z = np.asarray(z, dtype=float)
        xi = np.asarray(xi, dtype=float)
        if z.ndim != 3 or z.shape[1] != x.shape[0]:
            raise DimensionError(f"z: expected shape (H, {x.shape[0]}, du), found {z.shape}")
        if xi.shape != (z.shape[0], x.shape[0], x.shape[1]):
            raise DimensionError(f"xi: expected shape {(z.shape[0], x.shape[0], x.shape[1])}, found {xi.shape}")
        out = np.empty(z.shape[:2] + (self.model.B.shape[1],))
        for h in range(z.shape[0]):
            out[h] = self.policy.act(x, z[h])
            x = self.model.step(x, out[h], xi[h])
        return out

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        return {"policy": self.policy.to_dict(), "model": self.model.to_dict()}


@dataclass(frozen=True, eq=False)
class Algorithm1Fit:
    """Result of Algorithm 1's joint training.

    Attributes
    ----------
    learner : Algorithm1Learner
    policy_fit : FiniteFit or ParametricFit
    model_fit : ModelFit

    References
    ----------
    Cao & Xie 2026, Algorithm 1 and Theorem 7.
    """

    learner: Algorithm1Learner
    policy_fit: object
    model_fit: ModelFit

    def to_dict(self) -> dict:
        """A JSON-ready summary."""
        return {"policy_fit": self.policy_fit.to_dict(), "model_fit": self.model_fit.to_dict()}


def fit_algorithm1(states, tokens, next_states, **options) -> Algorithm1Fit:
    r"""Algorithm 1's training: log-loss over ``Pi x M`` on ``(x_h, q(u_h), x_{h+1})``.

    The joint log-likelihood splits,

    .. math::

        \sum_{i,h} \big[\log \pi(q(u_h^i) \mid x_h^i) + \log M(x_{h+1}^i \mid x_h^i, q(u_h^i))\big],

    so its maximiser over the product class is the pair of separate maximisers: the policy by
    :func:`fit_finite` or :func:`fit_gaussian_mle`, the model by :func:`fit_model_finite` or
    :func:`fit_model_gaussian` on the decoded quantized actions.

    Parameters
    ----------
    states : (n, H, dx) array_like
    tokens : (n, H) int array_like
    next_states : (n, H, dx) array_like
    policy_class : LinearPolicyClass or "gaussian"
        A finite class, or the parametric Gaussian class (then ``quantizer`` is required).
    model_class : LinearModelClass or "gaussian", optional
        Default "gaussian" (least squares).
    quantizer : quantizer, optional
        Needed with ``policy_class="gaussian"``; otherwise the class's quantizer is used.

    Returns
    -------
    Algorithm1Fit

    Raises
    ------
    DimensionError
        On shape mismatches or an unknown class name.
    TypeError
        On unknown keyword arguments.

    References
    ----------
    Cao & Xie 2026, Algorithm 1 and Theorem 7:
    ``J(pi*) - J(alg) <= H [sqrt((log(|Pi|/delta) + log(|M|/delta)) / n) + eps_q]``.
    """
    if "policy_class" not in options:
        raise TypeError("fit_algorithm1() missing required keyword argument: 'policy_class'")
    policy_class = options.pop("policy_class")
    model_class = options.pop("model_class", "gaussian")
    quantizer = options.pop("quantizer", None)
    reject_unknown_kwargs("fit_algorithm1", options)
    if isinstance(policy_class, LinearPolicyClass):
        pfit = fit_finite(policy_class, states, tokens)
        quantizer = policy_class.quantizer
    elif policy_class == "gaussian":
        if quantizer is None:
            raise DimensionError("quantizer: expected a quantizer with policy_class='gaussian', found None")
        pfit = fit_gaussian_mle(states, tokens, quantizer)
    else:
        raise DimensionError(f"policy_class: expected a LinearPolicyClass or 'gaussian', found {policy_class!r}")
    t = np.asarray(tokens)
    if getattr(quantizer, "chunk", None) is not None:
        # a chunk tokenizer with chunk 1 decodes one action per token
        decoded = quantizer.decode(t[..., None, None])[..., 0, :]
    else:
        decoded = quantizer.decode(t)
    if isinstance(model_class, LinearModelClass):
        mfit = fit_model_finite(model_class, states, decoded, next_states)
    elif model_class == "gaussian":
        mfit = fit_model_gaussian(states, decoded, next_states)
    else:
        raise DimensionError(f"model_class: expected a LinearModelClass or 'gaussian', found {model_class!r}")
    return Algorithm1Fit(Algorithm1Learner(pfit.policy, mfit.model), pfit, mfit)
