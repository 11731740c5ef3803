"""Parametric log-loss MLE: Gaussian and deterministic linear policies through a quantizer.

Part of :mod:`qbc_theory.engine.learning` (see its docstring for the estimator and the
conventions); import the names from there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.optimize

from ...model.errors import SolverError
from ...model.validation import as_int, as_matrix, as_real, reject_unknown_kwargs
from ._data import _flat_states, _flat_tokens, _json_float
from .tokens import _cells, _log_ndtr_diff
from .finite import QuantizedLinearPolicy

__all__ = [
    "ParametricFit",
    "fit_gaussian_mle",
    "DeterministicFit",
    "fit_deterministic_mle",
]


def _gaussian_objective(theta: np.ndarray, x: np.ndarray, lo: np.ndarray, hi: np.ndarray, du: int):
    """Total log-likelihood and its gradient in ``theta = (vec K, log sigma)``.

    With ``a = (lo - mu) / s``, ``b = (hi - mu) / s`` and ``P = Phi(b) - Phi(a)`` per coordinate:
    ``d log P / d mu = (phi(a) - phi(b)) / (s P)`` and ``d log P / d log s = (a phi(a) - b phi(b)) / P``.
    """
    dx = x.shape[1]
    K = theta[:-1].reshape(du, dx)
    s = float(np.exp(theta[-1]))
    mu = x @ K.T
    a = (lo - mu) / s
    b = (hi - mu) / s
    logp = _log_ndtr_diff(a, b)
    half_log_2pi = 0.5 * np.log(2.0 * np.pi)
    with np.errstate(over="ignore", invalid="ignore"):
        ra = np.exp(-0.5 * a * a - half_log_2pi - logp)
        rb = np.exp(-0.5 * b * b - half_log_2pi - logp)
        ara = np.where(np.isfinite(a), a * ra, 0.0)
        brb = np.where(np.isfinite(b), b * rb, 0.0)
    g_mu = (ra - rb) / s
    g_logs = float((ara - brb).sum())
    grad = np.concatenate([(g_mu.T @ x).ravel(), [g_logs]])
    return float(logp.sum()), grad


@dataclass(frozen=True, eq=False)
class ParametricFit:
    """Result of maximum likelihood over the continuous class ``{q#N(K x, sigma^2 I)}``.

    Attributes
    ----------
    policy : QuantizedLinearPolicy
        The fitted learner.
    K : (du, dx) ndarray
    noise_std : float
    K_se, noise_std_se : ndarray, float
        Standard errors from the observed information (inverse Hessian of the log-likelihood,
        delta method for ``sigma``); NaN when the Hessian is not negative definite.
    log_likelihood : float
    n_samples : int
    converged : bool
    message : str
    iterations : int

    References
    ----------
    Cao & Xie 2026, Theorem 2.
    """

    policy: QuantizedLinearPolicy
    K: np.ndarray
    noise_std: float
    K_se: np.ndarray
    noise_std_se: float
    log_likelihood: float
    n_samples: int
    converged: bool
    message: str
    iterations: int

    def to_dict(self) -> dict:
        """A JSON-ready summary (standard errors that could not be computed are None)."""
        se = [[_json_float(v) for v in row] for row in self.K_se]
        return {"K": self.K.tolist(), "noise_std": self.noise_std, "K_se": se,
                "noise_std_se": _json_float(self.noise_std_se), "log_likelihood": self.log_likelihood,
                "n_samples": self.n_samples, "converged": self.converged, "message": self.message,
                "iterations": self.iterations}


def fit_gaussian_mle(states, tokens, quantizer, **options) -> ParametricFit:
    r"""Maximum likelihood over quantized Gaussian linear policies, with scipy.optimize.

    .. math::

        (\hat K, \hat\sigma) \in \arg\max_{K, \sigma > 0} \sum_{i,h}
        \log (q_\#N(K x_h^i, \sigma^2 I))(q(u_h^i)),

    using the exact normal-CDF token probabilities (:func:`quantized_gaussian_logpmf`) and their
    analytic gradient, optimised by L-BFGS-B in ``(K, log sigma)``. The start is least squares of
    the decoded actions on the states, with the residual standard deviation.

    Parameters
    ----------
    states : (n, H, dx) or (N, dx) array_like
    tokens : (n, H) or (N,) int array_like
    quantizer : UniformBinning, or a scalar KMeansQuantizer or ResidualVQ
    init : tuple (K0, sigma0), optional
        Starting point.
    tol : float, optional
        Gradient tolerance of L-BFGS-B on the per-sample objective (default 1e-10).
    max_iter : int, optional
        Default 500.

    Returns
    -------
    ParametricFit

    Raises
    ------
    AssumptionError
        For a quantizer whose cells are not computed exactly (see :func:`quantized_gaussian_logpmf`).
    SolverError
        If the optimiser ends at a non-finite point.
    TypeError
        On unknown keyword arguments.

    References
    ----------
    Cao & Xie 2026, Theorem 2 (stochastic quantized expert): the statistical term is
    ``H sqrt(log(|Pi|/delta) / n)``, the ``1/sqrt(n)`` regime.
    """
    init = options.pop("init", None)
    tol = as_real("tol", options.pop("tol", 1e-10), positive=True)
    max_iter = as_int("max_iter", options.pop("max_iter", 500), minimum=1)
    reject_unknown_kwargs("fit_gaussian_mle", options)
    cells = _cells(quantizer)
    x = _flat_states("states", states)
    t = _flat_tokens("tokens", tokens, x.shape[0], quantizer.n_tokens)
    cells.check_observed(t)
    lo, hi = cells.boxes(t)
    du, dx, n = quantizer.dim, x.shape[1], x.shape[0]
    if init is None:
        u = quantizer.decode(t)
        coef, *_ = np.linalg.lstsq(x, u, rcond=None)
        K0 = coef.T
        resid = u - x @ coef
        # a start at sigma ~ 0 would put the optimiser on a plateau of the likelihood
        s0 = max(float(np.sqrt(np.mean(resid**2))), 1e-3 * max(1.0, float(np.abs(u).max())))
    else:
        K0 = as_matrix("init[0]", init[0], du, dx)
        s0 = as_real("init[1]", init[1], positive=True)
    theta0 = np.concatenate([K0.ravel(), [np.log(s0)]])

    def f(theta):
        ll, g = _gaussian_objective(theta, x, lo, hi, du)
        if not np.isfinite(ll):
            return np.inf, np.zeros_like(theta)
        return -ll / n, -g / n

    res = scipy.optimize.minimize(f, theta0, jac=True, method="L-BFGS-B",
                                  options={"gtol": tol, "ftol": 1e-15, "maxiter": max_iter})
    theta = res.x
    ll, grad = _gaussian_objective(theta, x, lo, hi, du)
    if not np.isfinite(ll) or not np.all(np.isfinite(theta)):
        raise SolverError(f"fit_gaussian_mle: the optimiser ended at a non-finite point ({res.message})")
    # L-BFGS-B may stop on a line-search failure at the optimum itself; judge by the gradient.
    converged = bool(res.success or np.max(np.abs(grad)) / n < 1e-6)
    hess = _numeric_hessian(lambda th: _gaussian_objective(th, x, lo, hi, du)[1], theta)
    se = np.full(theta.size, np.nan)
    info = -0.5 * (hess + hess.T)
    if np.all(np.linalg.eigvalsh(info) > 0):
        se = np.sqrt(np.diag(np.linalg.inv(info)))
    K = theta[:-1].reshape(du, dx)
    sigma = float(np.exp(theta[-1]))
    return ParametricFit(QuantizedLinearPolicy(K, quantizer, sigma), K, sigma, se[:-1].reshape(du, dx),
                         float(sigma * se[-1]), float(ll), n, converged, str(res.message), int(res.nit))


def _numeric_hessian(grad, theta: np.ndarray) -> np.ndarray:
    """Central differences of an analytic gradient."""
    p = theta.size
    hess = np.empty((p, p))
    for i in range(p):
        h = 1e-5 * max(1.0, abs(theta[i]))
        e = np.zeros(p)
        e[i] = h
        hess[i] = (grad(theta + e) - grad(theta - e)) / (2 * h)
    return hess


@dataclass(frozen=True, eq=False)
class DeterministicFit:
    """Result of maximum likelihood over the continuous class of deterministic quantized gains.

    Every gain that reproduces all observed tokens has log-likelihood 0 and is a maximiser; they
    form a polytope. The fit returns its Chebyshev centre (the deterministic tie-break: the point
    farthest from every cell boundary) and, on request, the range of each gain entry over the
    polytope, whose width measures what the data leave undetermined.

    Attributes
    ----------
    policy : QuantizedLinearPolicy
    K : (du, dx) ndarray
        Chebyshev centre of the consistent gains.
    margin : float
        Its distance (in gain space) to the nearest constraint; 0 when the data are consistent only
        on the boundary, and ``max_margin`` when the polytope is unbounded.
    extent : (du, dx, 2) ndarray or None
        ``[min, max]`` of each entry over the consistent gains (infinite when unbounded).
    mismatches : int
        Tokens the centre fails to reproduce, checked with the quantizer's own ``encode`` (0 in
        the realizable case).
    n_samples : int

    References
    ----------
    Cao & Xie 2026, Theorem 3.
    """

    policy: QuantizedLinearPolicy
    K: np.ndarray
    margin: float
    extent: np.ndarray | None
    mismatches: int
    n_samples: int

    @property
    def log_likelihood(self) -> float:
        """0 when the centre reproduces every token, else ``-inf``."""
        return 0.0 if self.mismatches == 0 else -np.inf

    def to_dict(self) -> dict:
        """A JSON-ready summary (infinite extents are None)."""
        ext = None if self.extent is None else [[[_json_float(v) for v in pair] for pair in row]
                                                for row in self.extent]
        return {"K": self.K.tolist(), "margin": self.margin, "extent": ext, "mismatches": self.mismatches,
                "log_likelihood": _json_float(self.log_likelihood), "n_samples": self.n_samples}


def fit_deterministic_mle(states, tokens, quantizer, **options) -> DeterministicFit:
    r"""Maximum likelihood over deterministic quantized linear policies ``q(K x)``, ``K`` continuous.

    The likelihood is 1 on the set of gains consistent with every token and 0 elsewhere. For a
    quantizer whose cells are boxes per coordinate (binning; scalar k-means or residual VQ) that
    set is the polytope ``lo_{t} <= K x_h^i < hi_{t}``, and the fit is its Chebyshev centre, a
    linear program (scipy.optimize.linprog, HiGHS):

    .. math::

        \max_{K, r \ge 0} r \quad\text{s.t.}\quad
        lo_{ij} + r \|x_i\| \le (K x_i)_j \le hi_{ij} - r \|x_i\| \quad \forall i, j.

    Parameters
    ----------
    states : (n, H, dx) or (N, dx) array_like
    tokens : (n, H) or (N,) int array_like
    quantizer : UniformBinning, or a scalar KMeansQuantizer or ResidualVQ
    extent : bool, optional
        Also compute the range of every gain entry over the polytope (``2 du dx`` more linear
        programs). Default False.
    max_margin : float, optional
        Cap on ``r`` so that an unbounded polytope (too little data) still has a centre; default
        ``1e3``.

    Returns
    -------
    DeterministicFit

    Raises
    ------
    AssumptionError
        For a quantizer whose cells are not boxes here.
    SolverError
        If no gain reproduces the tokens (the class is not realizable) or the solver fails.
    TypeError
        On unknown keyword arguments.

    References
    ----------
    Cao & Xie 2026, Theorem 3 (deterministic quantized expert: the statistical term is
    ``H log(|Pi|/delta) / n``, the ``1/n`` regime) and Appendix A.
    """
    want_extent = bool(options.pop("extent", False))
    max_margin = as_real("max_margin", options.pop("max_margin", 1e3), positive=True)
    reject_unknown_kwargs("fit_deterministic_mle", options)
    cells = _cells(quantizer)
    x = _flat_states("states", states)
    t = _flat_tokens("tokens", tokens, x.shape[0], quantizer.n_tokens)
    cells.check_observed(t)
    lo, hi = cells.boxes(t)
    du, dx, n = quantizer.dim, x.shape[1], x.shape[0]
    norms = np.linalg.norm(x, axis=1)
    rows, rhs, radius = [], [], []
    for j in range(du):
        block = np.zeros((n, du * dx))
        block[:, j * dx:(j + 1) * dx] = x
        up = np.isfinite(hi[:, j])
        down = np.isfinite(lo[:, j])
        rows += [block[up], -block[down]]
        rhs += [hi[up, j], -lo[down, j]]
        radius += [norms[up], norms[down]]
    A = np.concatenate(rows)
    b = np.concatenate(rhs)
    r = np.concatenate(radius)
    zero = r == 0
    if np.any(b[zero] < 0):
        raise SolverError("fit_deterministic_mle: a token at the zero state is not the cell of 0: no gain "
                          "reproduces the data")
    A, b, r = A[~zero], b[~zero], r[~zero]
    free = [(None, None)] * (du * dx)
    c = np.zeros(du * dx + 1)
    c[-1] = -1.0
    res = scipy.optimize.linprog(c, A_ub=np.column_stack([A, r]), b_ub=b, bounds=free + [(0.0, max_margin)],
                                 method="highs")
    if res.status == 2:
        raise SolverError("fit_deterministic_mle: no gain reproduces every token (the linear class is not "
                          "realizable for these data)")
    if res.status != 0:
        raise SolverError(f"fit_deterministic_mle: linprog failed ({res.message})")
    K = res.x[:-1].reshape(du, dx)
    extent = None
    if want_extent:
        extent = np.empty((du * dx, 2))
        for k in range(du * dx):
            for side, sign in ((0, 1.0), (1, -1.0)):
                ck = np.zeros(du * dx)
                ck[k] = sign
                rk = scipy.optimize.linprog(ck, A_ub=A, b_ub=b, bounds=free, method="highs")
                if rk.status == 3:
                    extent[k, side] = -sign * np.inf
                elif rk.status == 0:
                    extent[k, side] = rk.x[k]
                else:
                    raise SolverError(f"fit_deterministic_mle: extent LP failed ({rk.message})")
        extent = extent.reshape(du, dx, 2)
    policy = QuantizedLinearPolicy(K, quantizer)
    mismatches = int(np.count_nonzero(policy.tokens(x) != t))
    return DeterministicFit(policy, K, float(res.x[-1]), extent, mismatches, n)
