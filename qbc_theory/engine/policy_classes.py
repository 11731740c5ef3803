r"""Finite realizable policy classes for the nonlinear experts: tanh feedback, MLPs, callables.

Log-loss BC over a finite class :math:`\Pi` of quantized policies (THEORY.md section 1) needs
``q#pi* in Pi`` for Appendix A's guarantee. :class:`~qbc_theory.engine.learning.LinearPolicyClass`
covers linear and arctan experts; the classes here cover the experts of
:mod:`qbc_theory.model.experts` whose mean action is nonlinear:

- :class:`TanhPolicyClass`, for ``u = s tanh(K x / s) (+ sigma z)``: a lattice of gains around the
  expert's ``K`` (:func:`~qbc_theory.engine.learning.gain_grid`) times a ladder of saturation levels
  ``s (1 + step_s {-r_s, ..., r_s})`` (times ``sigma (1 + 0.1 {-2, ..., 2})`` for a Gaussian expert);
- :class:`OutputPolicyClass`, for an MLP ``u = W_L h(x) + b_L`` (and for any deterministic callable
  expert, with ``h = pi`` and ``W_L = I``): output-layer perturbations
  ``c \odot (W_L h(x)) + b_L + d`` with the factor ``c`` on ``1 + step {-r, ..., r}`` and the offset
  ``d`` on ``step {-r, ..., r}``, per action coordinate. The hidden layers are those of the expert,
  so the features ``h(x)`` are computed once per sample for all candidates.

The offset-0 / factor-1 candidate reproduces the expert's arithmetic exactly (``1 * y + b + 0`` is
``y + b`` in floating point; ``gain_grid`` adds an exact 0 to the centre), so ``q#pi*`` is in the
class: :attr:`expert_index` names it. Both classes have the interface of ``LinearPolicyClass`` that
:func:`~qbc_theory.engine.learning.fit_finite` uses (``size``, ``deterministic``, ``scores``,
``candidate``, ``to_dict``); scores follow its convention (minus mismatched tokens for
deterministic candidates, exact quantized-Gaussian log-likelihoods otherwise).

References
----------
Cao & Xie 2026, Section 2 (log-loss BC) and Appendix A (finite class, realizable).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.errors import AssumptionError, DimensionError
from ..model.experts import CallableExpert, MLPExpert, TanhExpert
from ..model.quantizers import encode_actions, quantize_actions
from ..model.policy_class import GRID_STEP, MAX_CANDIDATES, NOISE_SCALES, SATURATION_LEVELS, lattice_radius
from ..model.validation import as_int, as_real, describe, reject_unknown_kwargs
from . import learning

__all__ = ["QuantizedMeanPolicy", "TanhPolicyClass", "OutputPolicyClass", "nonlinear_policy_class",
           "NONLINEAR_EXPERTS"]

NONLINEAR_EXPERTS = (TanhExpert, MLPExpert, CallableExpert)
"""Expert types :func:`nonlinear_policy_class` builds a class for."""

_CHUNK_ELEMENTS = 1 << 20


def _chunk(per_sample: int, chunk) -> int:
    if chunk is not None:
        return as_int("chunk", chunk, minimum=1)
    return max(1, _CHUNK_ELEMENTS // max(1, per_sample))


@dataclass(frozen=True, eq=False)
class QuantizedMeanPolicy:
    r"""A policy ``q#N(mu(x), sigma^2 I)`` (``sigma = 0``: ``q(mu(x))``) for a mean function ``mu``.

    .. math::

        u = \mu(x) + \sigma z, \qquad \tilde u = q(u).

    Parameters
    ----------
    mean_fn : callable
        ``mu(x (N, dx)) -> (N, du)``.
    quantizer : quantizer
    noise_std : float
    info : dict
        The candidate's parameters, for :meth:`to_dict`.
    """

    mean_fn: object
    quantizer: object
    noise_std: float
    info: dict

    @property
    def deterministic(self) -> bool:
        """Whether ``sigma == 0``."""
        return self.noise_std == 0.0

    def mean(self, x) -> np.ndarray:
        """``mu(x)``, shape ``(N, du)``."""
        return self.mean_fn(np.asarray(x, dtype=float))

    def raw(self, x, z=None) -> np.ndarray:
        """The action before quantization, ``mu(x) + sigma z``."""
        u = self.mean(x)
        if self.noise_std > 0.0:
            if z is None:
                raise DimensionError("z: expected standard-normal draws for a Gaussian policy, found None")
            u = u + self.noise_std * np.asarray(z, dtype=float)
        return u

    def tokens(self, x, z=None) -> np.ndarray:
        """Tokens ``q.encode(mu(x) + sigma z)``."""
        return encode_actions(self.quantizer, self.raw(x, z))

    def act(self, x, z=None) -> np.ndarray:
        """The executed action ``q(mu(x) + sigma z)``."""
        return quantize_actions(self.quantizer, self.raw(x, z))

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        return {"kind": "quantized_mean", **self.info, "noise_std": self.noise_std,
                "quantizer": self.quantizer.to_dict()}


class _MeanClass:
    """Shared scoring of a finite class whose candidates are ``q#N(mu_j(x), sigma_j^2 I)``."""

    quantizer: object
    noise_std: np.ndarray

    @property
    def size(self) -> int:
        """``|Pi|``."""
        return int(self.noise_std.size)

    @property
    def deterministic(self) -> bool:
        """Whether the candidates are deterministic."""
        return bool(self.noise_std[0] == 0.0)

    def _means(self, x: np.ndarray) -> np.ndarray:  # (c, J, du)
        raise NotImplementedError

    def scores(self, states, tokens, *, chunk=None) -> np.ndarray:
        """Scores ``(J,)``: minus mismatched tokens (deterministic) or exact log-likelihoods (Gaussian).

        Parameters
        ----------
        states : (n, H, dx) or (N, dx) array_like
        tokens : (n, H) or (N,) int array_like
        chunk : int, optional
            Samples per chunk (default: about one million candidate-sample entries).

        Returns
        -------
        (J,) ndarray of float
        """
        x = np.asarray(states, dtype=float)
        if x.ndim == 3:
            x = x.reshape(-1, x.shape[-1])
        if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] != self.dx:
            raise DimensionError(f"states: expected shape (n, H, {self.dx}) or (N, {self.dx}), found "
                                 f"{np.shape(states)}")
        if not np.all(np.isfinite(x)):
            raise DimensionError("states: expected finite numbers, found a non-finite entry")
        t = np.asarray(tokens)
        if not np.issubdtype(t.dtype, np.integer):
            raise DimensionError(f"tokens: expected integer tokens, found dtype {t.dtype}")
        t = t.reshape(-1)
        if t.size != x.shape[0]:
            raise DimensionError(f"tokens: expected {x.shape[0]} tokens (one per state), found {t.size}")
        c = _chunk(self.size * self.du, chunk)
        out = np.zeros(self.size)
        for s in range(0, x.shape[0], c):
            mu = self._means(x[s:s + c])
            ts = np.broadcast_to(t[s:s + c, None], mu.shape[:-1])
            if self.deterministic:
                out -= np.count_nonzero(encode_actions(self.quantizer, mu) != ts, axis=0)
            else:
                sig = np.broadcast_to(self.noise_std, mu.shape[:-1])
                out += learning.quantized_gaussian_logpmf(mu, sig, ts, self.quantizer).sum(axis=0)
        return out


class TanhPolicyClass(_MeanClass):
    r"""The finite class ``q#N(s_j tanh(K_j x / s_j), sigma_j^2 I)``, ``j < J``.

    Built by :meth:`around` as a product of a gain lattice, a ladder of saturation levels and, for
    a Gaussian expert, a ladder of noise scales, all centred on the expert's (which is therefore a
    candidate, :attr:`expert_index`).

    .. math::

        \Pi = \{ q_\# N(s' \tanh(K' x / s'), \sigma'^2 I) : K' \in K + \delta \{-r..r\}^{du \times dx},\;
        s' \in s (1 + \delta_s \{-r_s..r_s\}),\; \sigma' \in \sigma (1 + 0.1 \{-2..2\}) \}.

    Parameters
    ----------
    gains : (J, du, dx) array_like
    scales : (J, du) array_like
    quantizer : quantizer
    noise_std : (J,) array_like
        All zero or all positive.
    expert_index : int or None
        The candidate equal to the expert, when known.

    References
    ----------
    Cao & Xie 2026, Section 2 and Appendix A.
    """

    def __init__(self, gains, scales, quantizer, noise_std, expert_index=None):
        g = np.asarray(gains, dtype=float)
        if g.ndim != 3 or g.shape[0] == 0 or g.shape[1] != quantizer.dim:
            raise DimensionError(f"gains: expected shape (J, {quantizer.dim}, dx), found {g.shape}")
        s = np.broadcast_to(np.asarray(scales, dtype=float), g.shape[:2]).copy()
        sig = np.broadcast_to(np.asarray(noise_std, dtype=float), g.shape[:1]).copy()
        if not (np.all(np.isfinite(g)) and np.all(np.isfinite(s)) and np.all(s > 0)):
            raise DimensionError("gains, scales: expected finite gains and positive scales, found others")
        if np.any(sig < 0) or (np.any(sig > 0) and np.any(sig == 0)):
            raise DimensionError("noise_std: expected all candidates deterministic or all Gaussian, found a mix")
        self.gains, self.scales, self.noise_std, self.quantizer = g, s, sig, quantizer
        self.expert_index = expert_index
        self.dx, self.du = g.shape[2], g.shape[1]
        self._flat = np.ascontiguousarray(g.reshape(-1, self.dx).T)  # (dx, J du)

    @classmethod
    def around(cls, expert: TanhExpert, quantizer, *, grid_step=GRID_STEP, grid_radius=None,
               scale_step=float(SATURATION_LEVELS[1] - SATURATION_LEVELS[0]),
               scale_radius=len(SATURATION_LEVELS) // 2, max_candidates=MAX_CANDIDATES) -> "TanhPolicyClass":
        """The lattice around ``expert`` described in the class docstring.

        ``grid_radius`` defaults to the largest ``r <= 3`` keeping ``|Pi| <= max_candidates``.

        Raises
        ------
        AssumptionError
            If even ``r = 1`` exceeds ``max_candidates``.
        """
        step = as_real("grid_step", grid_step, positive=True)
        sstep = as_real("scale_step", scale_step, positive=True)
        srad = as_int("scale_radius", scale_radius, minimum=0)
        max_candidates = as_int("max_candidates", max_candidates, minimum=1)
        factors = 1.0 + sstep * np.arange(-srad, srad + 1)
        if factors[0] <= 0:
            raise DimensionError(f"scale_step: expected scale_step * scale_radius < 1, found {sstep * srad:g}")
        sigmas = np.zeros(1) if expert.deterministic else expert.noise_std * NOISE_SCALES
        per_gain = factors.size * sigmas.size
        p = expert.K.size
        radius = grid_radius
        if radius is None:
            radius = lattice_radius(p, max(1, max_candidates // per_gain))
            if radius is None:
                raise AssumptionError(f"grid_radius: a lattice with radius 1 over {p} gain entries times "
                                      f"{per_gain} scales has {3 ** p * per_gain} candidates, above "
                                      f"max_candidates={max_candidates}")
        gains, centre = learning.gain_grid(expert.K, step, radius, max_candidates=max(1, max_candidates // per_gain))
        # gain-major, then scale factor, then noise scale
        G = np.repeat(gains, per_gain, axis=0)
        S = np.tile(np.repeat(factors, sigmas.size), gains.shape[0])[:, None] * expert.scale[None, :]
        sig = np.tile(sigmas, gains.shape[0] * factors.size)
        expert_index = centre * per_gain + srad * sigmas.size + (sigmas.size // 2)
        S[expert_index] = expert.scale  # exactly the expert's (1.0 * s is s, but say so)
        return cls(G, S, quantizer, sig, expert_index)

    def _means(self, x: np.ndarray) -> np.ndarray:
        a = (x @ self._flat).reshape(x.shape[0], self.size, self.du)
        return self.scales * np.tanh(a / self.scales)

    def candidate(self, j: int) -> QuantizedMeanPolicy:
        """Candidate ``j`` as a policy."""
        j = as_int("j", j, minimum=0)
        if j >= self.size:
            raise DimensionError(f"j: expected a candidate index below {self.size}, found {j}")
        K, s = self.gains[j].copy(), self.scales[j].copy()
        Kt = np.ascontiguousarray(K.T)
        return QuantizedMeanPolicy(lambda x: s * np.tanh((x @ Kt) / s), self.quantizer, float(self.noise_std[j]),
                                   {"family": "tanh", "K": K.tolist(), "scale": s.tolist()})

    @property
    def description(self) -> str:
        """One line saying what the candidates are."""
        return (f"q#(s' tanh(K' x / s')) with K' on a lattice around the expert's gain and s' on a ladder around "
                f"its scale{'' if self.deterministic else ', times noise scales'} (contains q#pi*)")

    def to_dict(self) -> dict:
        """A JSON-ready summary."""
        return {"family": "tanh", "size": self.size, "du": self.du, "dx": self.dx,
                "deterministic": self.deterministic, "expert_index": self.expert_index,
                "quantizer": self.quantizer.to_dict()}


class OutputPolicyClass(_MeanClass):
    r"""Output-layer perturbations of a fixed feature map: ``q#N(c_j (W h(x)) + b + d_j, sigma_j^2 I)``.

    .. math::

        \Pi = \{ q_\# N(c \odot (W h(x)) + b + d, \sigma'^2 I) :
        c \in 1 + \delta \{-r..r\}^{du},\; d \in \delta \{-r..r\}^{du},\; \sigma' \in \sigma (1 + 0.1 \{-2..2\}) \},

    ``h`` the expert's last hidden layer and ``(W, b)`` its output layer (an MLP), or ``h = pi`` and
    ``W = I``, ``b = 0`` (a deterministic callable expert). ``c = 1``, ``d = 0`` is the expert.

    Parameters
    ----------
    features : callable
        ``h(x (N, dx)) -> (N, k)``.
    W : (du, k) array_like or None
        Output weights (None: identity, ``k = du``).
    b : (du,) array_like or None
        Output bias (None: 0).
    factors, offsets : (J, du) array_like
    quantizer : quantizer
    noise_std : (J,) array_like
    dx : int
    expert_index : int or None

    References
    ----------
    Cao & Xie 2026, Section 2 and Appendix A.
    """

    def __init__(self, features, W, b, factors, offsets, quantizer, noise_std, dx, expert_index=None):
        c = np.asarray(factors, dtype=float)
        d = np.asarray(offsets, dtype=float)
        if c.ndim != 2 or c.shape != d.shape or c.shape[1] != quantizer.dim:
            raise DimensionError(f"factors, offsets: expected equal shapes (J, {quantizer.dim}), found "
                                 f"{c.shape} and {d.shape}")
        sig = np.broadcast_to(np.asarray(noise_std, dtype=float), c.shape[:1]).copy()
        if np.any(sig < 0) or (np.any(sig > 0) and np.any(sig == 0)):
            raise DimensionError("noise_std: expected all candidates deterministic or all Gaussian, found a mix")
        self.features, self.factors, self.offsets, self.noise_std = features, c, d, sig
        self.quantizer, self.dx, self.du, self.expert_index = quantizer, int(dx), c.shape[1], expert_index
        self._Wt = None if W is None else np.ascontiguousarray(np.asarray(W, dtype=float).T)
        self._b = np.zeros(self.du) if b is None else np.asarray(b, dtype=float)
        self._bd = self._b[None, :] + d  # exact b for d = 0

    @classmethod
    def around(cls, expert, quantizer, *, grid_step=0.05, grid_radius=None, max_candidates=10_000):
        """The perturbation lattice around an :class:`~qbc_theory.model.experts.MLPExpert` or a
        deterministic :class:`~qbc_theory.model.experts.CallableExpert`.

        Raises
        ------
        AssumptionError
            For a stochastic callable expert (its law is not a location family here), or if even
            ``r = 1`` exceeds ``max_candidates``.
        """
        step = as_real("grid_step", grid_step, positive=True)
        max_candidates = as_int("max_candidates", max_candidates, minimum=1)
        if isinstance(expert, MLPExpert):
            features, (W, b) = expert.features, expert.layers[-1]
            sigmas = np.zeros(1) if expert.deterministic else expert.noise_std * NOISE_SCALES
            dx = expert.dx
        elif isinstance(expert, CallableExpert):
            if not expert.deterministic:
                raise AssumptionError("expert: a finite class for a stochastic callable expert is not built here "
                                      "(its law is the user's); use learner='expert' or 'regression'")
            features, W, b, sigmas, dx = expert.mean, None, None, np.zeros(1), expert.dx
        else:
            raise AssumptionError(f"expert: output perturbations are built for MLP or callable experts, found "
                                  f"{describe(expert)}")
        du = quantizer.dim
        p = 2 * du
        radius = grid_radius
        if radius is None:
            radius = lattice_radius(p, max(1, max_candidates // sigmas.size))
            if radius is None:
                raise AssumptionError(f"grid_radius: radius 1 over {p} output parameters gives "
                                      f"{3 ** p * sigmas.size} candidates, above max_candidates={max_candidates}")
        radius = as_int("grid_radius", radius, minimum=0)
        if step * radius >= 1:
            raise DimensionError(f"grid_step: expected grid_step * grid_radius < 1 (positive factors), found "
                                 f"{step * radius:g}")
        axes = np.arange(-radius, radius + 1)
        offs = np.stack(np.meshgrid(*([axes] * p), indexing="ij"), axis=-1).reshape(-1, p) * step
        size = offs.shape[0] * sigmas.size
        if size > max_candidates:
            raise DimensionError(f"grid_radius: expected at most {max_candidates} candidates, found {size}")
        C = np.repeat(1.0 + offs[:, :du], sigmas.size, axis=0)
        D = np.repeat(offs[:, du:], sigmas.size, axis=0)
        sig = np.tile(sigmas, offs.shape[0])
        expert_index = (offs.shape[0] // 2) * sigmas.size + sigmas.size // 2
        return cls(features, W, b, C, D, quantizer, sig, dx if dx is not None else 0, expert_index)

    def _outputs(self, x: np.ndarray) -> np.ndarray:
        h = self.features(x)
        return h if self._Wt is None else h @ self._Wt

    def _means(self, x: np.ndarray) -> np.ndarray:
        y = self._outputs(x)
        return y[:, None, :] * self.factors[None] + self._bd[None]

    def scores(self, states, tokens, *, chunk=None) -> np.ndarray:
        """As :meth:`_MeanClass.scores` (a callable expert without ``dx`` takes it from the states)."""
        if self.dx == 0:
            self.dx = int(np.shape(states)[-1])
        return super().scores(states, tokens, chunk=chunk)

    def candidate(self, j: int) -> QuantizedMeanPolicy:
        """Candidate ``j`` as a policy."""
        j = as_int("j", j, minimum=0)
        if j >= self.size:
            raise DimensionError(f"j: expected a candidate index below {self.size}, found {j}")
        c, bd = self.factors[j].copy(), self._bd[j].copy()
        return QuantizedMeanPolicy(lambda x: self._outputs(x) * c + bd, self.quantizer, float(self.noise_std[j]),
                                   {"family": "output", "factor": c.tolist(), "offset": self.offsets[j].tolist()})

    @property
    def description(self) -> str:
        """One line saying what the candidates are."""
        return (f"q#(c (W h(x)) + b + d): output-layer factor c and offset d per action on a lattice around 1 and 0"
                f"{'' if self.deterministic else ', times noise scales'} (contains q#pi*)")

    def to_dict(self) -> dict:
        """A JSON-ready summary."""
        return {"family": "output", "size": self.size, "du": self.du, "dx": self.dx,
                "deterministic": self.deterministic, "expert_index": self.expert_index,
                "quantizer": self.quantizer.to_dict()}


def nonlinear_policy_class(expert, quantizer, **options):
    """The realizable finite class for a nonlinear expert.

    :class:`TanhPolicyClass` for a :class:`~qbc_theory.model.experts.TanhExpert`,
    :class:`OutputPolicyClass` for an :class:`~qbc_theory.model.experts.MLPExpert` or a
    deterministic :class:`~qbc_theory.model.experts.CallableExpert`.

    Parameters
    ----------
    expert, quantizer
    grid_step, grid_radius, max_candidates
        As in :func:`qbc_theory.engine.simulation.default_policy_class`.

    Raises
    ------
    AssumptionError
        For other experts, or when the class would exceed ``max_candidates``.
    TypeError
        On unknown keyword arguments.

    References
    ----------
    Cao & Xie 2026, Appendix A (``q#pi* in Pi``).
    """
    step = options.pop("grid_step", 0.05)
    radius = options.pop("grid_radius", None)
    max_candidates = options.pop("max_candidates", 10_000)
    reject_unknown_kwargs("nonlinear_policy_class", options)
    if isinstance(expert, TanhExpert):
        return TanhPolicyClass.around(expert, quantizer, grid_step=step, grid_radius=radius,
                                      max_candidates=max_candidates)
    return OutputPolicyClass.around(expert, quantizer, grid_step=step, grid_radius=radius,
                                    max_candidates=max_candidates)
