"""Finite classes of quantized linear policies and their exact log-loss MLE.

Part of :mod:`qbc_theory.engine.learning` (see its docstring for the estimator and the
conventions); import the names from there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...model.errors import DimensionError, SolverError
from ...model.quantizers import UniformBinning, encode_actions, quantize_actions
from ...model.validation import as_int, as_matrix, as_real, reject_unknown_kwargs
from ._data import _LINKS, _chunk, _flat_states, _flat_tokens, _json_float, _link, _tie_count
from .tokens import _cells, _log_ndtr_diff, quantized_gaussian_logpmf

__all__ = [
    "QuantizedLinearPolicy",
    "LinearPolicyClass",
    "gain_grid",
    "FiniteFit",
    "fit_finite",
    "finite_scores_loop",
]


@dataclass(frozen=True, eq=False)
class QuantizedLinearPolicy:
    r"""A (deterministic or Gaussian) linear policy pushed through a quantizer, ``q#pi``.

    .. math::

        u = g(K x) + \sigma z, \qquad \tilde u = q(u), \qquad z \sim N(0, I),

    with the link ``g`` the identity (``link="linear"``) or ``arctan`` applied coordinate-wise
    (``link="arctan"``, the family ``arctan(g x)`` containing Theorem 6's expert at ``g = 1``).
    :meth:`act` returns ``u~``, the representative executed in the real system.

    Parameters
    ----------
    K : (du, dx) array_like
        Gain.
    quantizer : quantizer
        Any per-step quantizer of :mod:`qbc_theory.model.quantizers`.
    noise_std : float
        ``sigma >= 0``; 0 gives a deterministic quantized policy.
    link : {"linear", "arctan"}

    Raises
    ------
    DimensionError
        If ``K`` does not fit the quantizer's action dimension or ``noise_std < 0``.

    References
    ----------
    Cao & Xie 2026, Section 2 (pushforward policy) and Theorem 3.
    """

    K: np.ndarray
    quantizer: object
    noise_std: float = 0.0
    link: str = "linear"

    def __init__(self, K, quantizer, noise_std=0.0, link="linear"):
        K = as_matrix("K", K).copy()
        if K.shape[0] != quantizer.dim:
            raise DimensionError(f"K: expected {quantizer.dim} rows (the quantizer's action dimension), "
                                 f"found {K.shape[0]}")
        _link("link", link)
        K.setflags(write=False)
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "quantizer", quantizer)
        object.__setattr__(self, "noise_std", as_real("noise_std", noise_std, nonnegative=True))
        object.__setattr__(self, "link", link)

    @property
    def deterministic(self) -> bool:
        """Whether ``sigma == 0``."""
        return self.noise_std == 0.0

    def mean(self, x) -> np.ndarray:
        """``g(K x)`` for states ``(N, dx)``, shape ``(N, du)``."""
        u = np.asarray(x, dtype=float) @ self.K.T
        g = _LINKS[self.link]
        return u if g is None else g(u)

    def raw(self, x, z=None) -> np.ndarray:
        """The action before quantization, ``g(K x) + sigma z``, shape ``(N, du)``."""
        u = self.mean(x)
        if self.noise_std > 0.0:
            if z is None:
                raise DimensionError("z: expected standard-normal draws for a Gaussian policy, found None")
            u = u + self.noise_std * np.asarray(z, dtype=float)
        return u

    def tokens(self, x, z=None) -> np.ndarray:
        """Tokens ``q.encode(g(K x) + sigma z)``, shape ``(N,)``."""
        return encode_actions(self.quantizer, self.raw(x, z))

    def act(self, x, z=None) -> np.ndarray:
        """The executed action ``u~ = q(g(K x) + sigma z)``, shape ``(N, du)``."""
        return quantize_actions(self.quantizer, self.raw(x, z))

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        return {"kind": "quantized_linear", "K": self.K.tolist(), "noise_std": self.noise_std,
                "link": self.link, "quantizer": self.quantizer.to_dict()}


def gain_grid(center, step, radius: int = 2, *, max_candidates: int = 100_000) -> tuple[np.ndarray, int]:
    r"""A lattice of gains around ``center`` that contains it.

    .. math::

        \{K_c + \mathrm{step} \odot O : O \in \{-r, \dots, r\}^{du \times dx}\},
        \qquad |\Pi| = (2r + 1)^{du\, dx}.

    Candidates are in lexicographic order of the offsets ``O`` (first entry of ``K`` slowest), so
    ``center`` itself is candidate ``(|Pi| - 1) / 2``.

    Parameters
    ----------
    center : (du, dx) array_like
        The gain the grid is built around (the true gain, for a realizable class).
    step : float or (du, dx) array_like
        Lattice spacing per entry, positive.
    radius : int
        ``r >= 0``, offsets per entry.
    max_candidates : int
        Refuse grids larger than this.

    Returns
    -------
    gains : (J, du, dx) ndarray
    center_index : int

    Raises
    ------
    DimensionError
        On a non-positive step or a grid larger than ``max_candidates``.

    References
    ----------
    Cao & Xie 2026, Appendix A (a finite realizable class; ``log |Pi|`` is its complexity).
    """
    center = as_matrix("center", center)
    step = np.broadcast_to(np.asarray(step, dtype=float), center.shape)
    if not np.all(step > 0) or not np.all(np.isfinite(step)):
        raise DimensionError("step: expected positive finite spacings, found a non-positive one")
    radius = as_int("radius", radius, minimum=0)
    p = center.size
    size = (2 * radius + 1) ** p
    if size > max_candidates:
        raise DimensionError(f"radius: expected a grid of at most {max_candidates} candidates, found "
                             f"(2*{radius}+1)^{p} = {size}; lower the radius")
    axes = np.arange(-radius, radius + 1)
    offsets = np.stack(np.meshgrid(*([axes] * p), indexing="ij"), axis=-1).reshape(-1, p)
    gains = center.reshape(1, -1) + offsets * step.reshape(1, -1)
    return gains.reshape((size,) + center.shape), size // 2


_SIGN = np.int64(-0x8000000000000000)
_MAGNITUDE = np.int64(0x7FFFFFFFFFFFFFFF)


def _float_order(v: np.ndarray) -> np.ndarray:
    """An int64 key with the order of the doubles ``v`` (consecutive doubles get consecutive keys)."""
    bits = np.ascontiguousarray(v, dtype=np.float64).view(np.int64)
    return np.where(bits < 0, -(bits & _MAGNITUDE), bits)


def _float_from_order(k: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_float_order`."""
    bits = np.where(k < 0, (-k) | _SIGN, k)
    return np.ascontiguousarray(bits, dtype=np.int64).view(np.float64)


def _floor_thresholds(q: UniformBinning) -> np.ndarray:
    """Exact thresholds ``tau (dim, bins + 1)`` of a floor binning's arithmetic.

    ``tau[j, e]`` is the smallest double ``u`` with ``(u - low_j) / width_j >= e`` in floating point,
    for ``e = 1, ..., bins - 1``; ``tau[j, 0] = -inf`` and ``tau[j, bins] = +inf`` (clipping). As
    ``u -> fl(fl(u - low) / width)`` is non-decreasing, ``u >= tau[j, e]`` holds exactly when the
    quantizer's own computation gives a cell index ``>= e``. Found by bisection over the ordered
    doubles around the nominal edge.

    Raises
    ------
    SolverError
        If the nominal edge does not bracket the threshold (it always does for finite inputs).
    """
    tau = np.empty((q.dim, q.bins + 1))
    tau[:, 0], tau[:, -1] = -np.inf, np.inf
    e = np.arange(1, q.bins, dtype=float)
    for j in range(q.dim):
        lo, w = q.low[j], q.width[j]

        def passes(u):
            return (u - lo) / w >= e

        guess = lo + e * w
        delta = 1e-9 * w + 16 * np.spacing(np.maximum(abs(lo), np.abs(guess)))
        left, right = guess - delta, guess + delta
        if passes(left).any() or not passes(right).all():
            raise SolverError("binning: the nominal cell edges do not bracket the floating-point thresholds")
        a, b = _float_order(left), _float_order(right)
        while np.any(b - a > 1):
            m = a + (b - a) // 2
            ok = passes(_float_from_order(m))
            b = np.where(ok, m, b)
            a = np.where(ok, a, m)
        tau[j, 1:-1] = _float_from_order(b)
    return tau


@dataclass(frozen=True, eq=False)
class LinearPolicyClass:
    r"""A finite class of quantized linear policies ``q#N(g(K_j x), sigma_j^2 I)``, ``j < J``.

    Either every candidate is deterministic (``sigma_j = 0``) or every one is Gaussian
    (``sigma_j > 0``).

    **Score convention.** The log-likelihood of a deterministic quantized candidate is 0 when it
    reproduces every observed token and ``-inf`` otherwise. Its score here is minus the number of
    mismatched tokens: the maximisers are exactly the candidates of log-likelihood 0 whenever one
    exists (the realizable case), and the score still ranks candidates when none does. A Gaussian
    candidate's score is its exact log-likelihood (:func:`quantized_gaussian_logpmf`: binning, or a
    scalar k-means / residual-VQ codebook).

    .. math::

        \mathrm{score}_j = \sum_{i,h} \log (q_\#\pi_j)(q(u_h^i) \mid x_h^i)
        \quad\text{(Gaussian)}, \qquad
        \mathrm{score}_j = -\#\{(i,h) : q(g(K_j x_h^i)) \ne q(u_h^i)\} \quad\text{(deterministic)}.

    Parameters
    ----------
    gains : (J, du, dx) array_like
        Candidate gains.
    quantizer : quantizer
        The quantizer the data were tokenized with.
    noise_std : float or (J,) array_like
        Candidate standard deviations.
    link : {"linear", "arctan"}

    Raises
    ------
    DimensionError
        On wrong shapes, or a mix of deterministic and Gaussian candidates.
    AssumptionError
        For Gaussian candidates with a quantizer whose cells are not computed exactly (see
        :func:`quantized_gaussian_logpmf`).

    References
    ----------
    Cao & Xie 2026, Section 2 and Appendix A (finite class, realizable).
    """

    gains: np.ndarray
    quantizer: object
    noise_std: np.ndarray
    link: str = "linear"

    def __init__(self, gains, quantizer, noise_std=0.0, link="linear"):
        g = np.asarray(gains, dtype=float)
        if g.ndim == 2:
            g = g[None]
        if g.ndim != 3 or g.shape[0] == 0 or g.shape[1] != quantizer.dim:
            raise DimensionError(f"gains: expected shape (J, {quantizer.dim}, dx), found {np.shape(gains)}")
        if not np.all(np.isfinite(g)):
            raise DimensionError("gains: expected finite numbers, found a non-finite entry")
        s = np.broadcast_to(np.asarray(noise_std, dtype=float), (g.shape[0],)).copy()
        if not np.all(np.isfinite(s)) or np.any(s < 0):
            raise DimensionError("noise_std: expected finite non-negative numbers, found a negative or "
                                 "non-finite one")
        if np.any(s > 0) and np.any(s == 0):
            raise DimensionError("noise_std: expected all candidates deterministic or all Gaussian, found a mix")
        _link("link", link)
        cells = _cells(quantizer) if s[0] > 0 else None
        g = g.copy()
        g.setflags(write=False)
        s.setflags(write=False)
        object.__setattr__(self, "gains", g)
        object.__setattr__(self, "quantizer", quantizer)
        object.__setattr__(self, "noise_std", s)
        object.__setattr__(self, "link", link)
        object.__setattr__(self, "_cells", cells)

    @classmethod
    def product(cls, gains, noise_stds, quantizer, link="linear") -> "LinearPolicyClass":
        """The class of every (gain, noise scale) pair, gain-major: candidate ``j = a * len(noise_stds) + b``."""
        g = np.asarray(gains, dtype=float)
        s = np.asarray(noise_stds, dtype=float).reshape(-1)
        return cls(np.repeat(g, s.size, axis=0), quantizer, np.tile(s, g.shape[0]), link)

    @property
    def size(self) -> int:
        """``|Pi|``, the number of candidates."""
        return self.gains.shape[0]

    @property
    def dx(self) -> int:
        """State dimension."""
        return self.gains.shape[2]

    @property
    def du(self) -> int:
        """Action dimension."""
        return self.gains.shape[1]

    @property
    def deterministic(self) -> bool:
        """Whether the candidates are deterministic."""
        return bool(self.noise_std[0] == 0.0)

    def candidate(self, j: int) -> QuantizedLinearPolicy:
        """Candidate ``j`` as a policy."""
        j = as_int("j", j, minimum=0)
        if j >= self.size:
            raise DimensionError(f"j: expected a candidate index below {self.size}, found {j}")
        return QuantizedLinearPolicy(self.gains[j], self.quantizer, float(self.noise_std[j]), self.link)

    def _means(self, x: np.ndarray) -> np.ndarray:
        """Candidate means ``(c, J, du)`` for states ``(c, dx)``: one matrix product for all candidates."""
        u = (x @ self.gains.reshape(-1, self.dx).T).reshape(x.shape[0], self.size, self.du)
        g = _LINKS[self.link]
        return u if g is None else g(u, out=u)

    def scores(self, states, tokens, *, chunk: int | None = None) -> np.ndarray:
        """Scores ``(J,)`` of every candidate (see the class docstring), in chunks of samples.

        Parameters
        ----------
        states : (n, H, dx) or (N, dx) array_like
        tokens : (n, H) or (N,) int array_like
        chunk : int, optional
            Samples per chunk; by default about one million candidate-sample entries per chunk.

        Returns
        -------
        (J,) ndarray of float
        """
        x = _flat_states("states", states, self.dx)
        t = _flat_tokens("tokens", tokens, x.shape[0], self.quantizer.n_tokens)
        c = _chunk(self.size * self.du, chunk)
        if self.deterministic:
            return -self._mismatches(x, t, c).astype(float)
        return self._gaussian_loglik(x, t, c)

    def _mismatches(self, x: np.ndarray, t: np.ndarray, c: int) -> np.ndarray:
        q = self.quantizer
        out = np.zeros(self.size, dtype=np.int64)
        if isinstance(q, UniformBinning) and q.decode_mode != "edge":
            # Floor binning: token t_j is reproduced iff tau_j(t_j) <= u_j < tau_j(t_j + 1), where
            # tau_j(e) is the exact floating-point threshold of the quantizer's own test
            # floor((u - low) / width) >= e, with the end cells open (clipping). One comparison per
            # edge replaces the subtract, divide, floor, clip and ravel of a full encode.
            tau = _floor_thresholds(q)
            idx = np.stack(np.unravel_index(t, (q.bins,) * q.dim), axis=-1)
            cols = np.arange(q.dim)
            lower = tau[cols, idx]
            upper = tau[cols, idx + 1]
            for s in range(0, x.shape[0], c):
                u = self._means(x[s:s + c])
                ok = (u >= lower[s:s + c, None, :]) & (u < upper[s:s + c, None, :])
                if self.du > 1:
                    ok = ok.all(axis=-1)
                else:
                    ok = ok[..., 0]
                out += ok.shape[0] - np.count_nonzero(ok, axis=0)
            return out
        for s in range(0, x.shape[0], c):
            tok = encode_actions(q, self._means(x[s:s + c]))
            out += np.count_nonzero(tok != t[s:s + c, None], axis=0)
        return out

    def _gaussian_loglik(self, x: np.ndarray, t: np.ndarray, c: int) -> np.ndarray:
        self._cells.check_observed(t)
        lo, hi = self._cells.boxes(t)
        out = np.zeros(self.size)
        inv = (1.0 / self.noise_std)[None, :, None]
        for s in range(0, x.shape[0], c):
            mu = self._means(x[s:s + c])
            a = (lo[s:s + c, None, :] - mu) * inv
            b = (hi[s:s + c, None, :] - mu) * inv
            out += _log_ndtr_diff(a, b).sum(axis=(0, 2))
        return out

    def to_dict(self) -> dict:
        """A JSON-ready summary (size, dimensions, link, quantizer)."""
        return {"size": self.size, "du": self.du, "dx": self.dx, "deterministic": self.deterministic,
                "link": self.link, "quantizer": self.quantizer.to_dict()}


@dataclass(frozen=True, eq=False)
class FiniteFit:
    """Result of exact MLE over a finite class.

    Attributes
    ----------
    index : int
        The selected candidate: the **lowest index** among those with the maximal score.
    policy : QuantizedLinearPolicy
        That candidate.
    scores : (J,) ndarray
        Every candidate's score (class docstring of :class:`LinearPolicyClass`).
    n_maximisers : int
        How many candidates share the maximal score.
    n_samples : int
        Number of (state, token) samples.
    deterministic : bool
        Whether the scores are minus mismatch counts (True) or log-likelihoods (False).

    References
    ----------
    Cao & Xie 2026, Section 2 (log-loss BC) and Appendix A.
    """

    index: int
    policy: QuantizedLinearPolicy
    scores: np.ndarray
    n_maximisers: int
    n_samples: int
    deterministic: bool

    @property
    def log_likelihood(self) -> float:
        """The selected candidate's log-likelihood (``-inf`` for a deterministic one that mismatches)."""
        best = float(self.scores[self.index])
        if self.deterministic:
            return 0.0 if best == 0 else -np.inf
        return best

    def to_dict(self) -> dict:
        """A JSON-ready summary (``log_likelihood`` is None when it is ``-inf``)."""
        d = {"index": self.index, "n_maximisers": self.n_maximisers, "n_samples": self.n_samples,
             "class_size": int(self.scores.size), "deterministic": self.deterministic,
             "score": _json_float(self.scores[self.index]), "log_likelihood": _json_float(self.log_likelihood),
             "policy": self.policy.to_dict()}
        if self.deterministic:
            d["mismatches"] = int(-self.scores[self.index])
        return d


def fit_finite(policy_class: LinearPolicyClass, states, tokens, **options) -> FiniteFit:
    r"""Exact log-loss BC (MLE) over a finite class, all candidates at once.

    .. math::

        \hat\jmath = \min\Big\{ j : \mathrm{score}_j = \max_{j'} \mathrm{score}_{j'} \Big\},

    i.e. ties are broken deterministically towards the lowest index in the class order.

    Parameters
    ----------
    policy_class : LinearPolicyClass
    states : (n, H, dx) or (N, dx) array_like
    tokens : (n, H) or (N,) int array_like
    chunk : int, optional
        Samples per chunk (memory bound).

    Returns
    -------
    FiniteFit

    Raises
    ------
    DimensionError
        On shape mismatches.
    TypeError
        On unknown keyword arguments.

    References
    ----------
    Cao & Xie 2026, Section 2 (log-loss BC) and Appendix A: with probability at least ``1 - delta``,
    ``D_H^2(P^{q#pi*}, P^{pi_hat}) <= 6 log(2 |Pi| / delta) / n``.
    """
    chunk = options.pop("chunk", None)
    reject_unknown_kwargs("fit_finite", options)
    scores = policy_class.scores(states, tokens, chunk=chunk)
    j = int(np.argmax(scores))
    n = _flat_states("states", states).shape[0]
    return FiniteFit(j, policy_class.candidate(j), scores, _tie_count(scores, scores[j]), n,
                     policy_class.deterministic)


def finite_scores_loop(policy_class: LinearPolicyClass, states, tokens) -> np.ndarray:
    """Reference implementation of :meth:`LinearPolicyClass.scores`: one candidate at a time.

    Each candidate is built as a :class:`QuantizedLinearPolicy` and scored with the quantizer's own
    ``encode`` (deterministic) or :func:`quantized_gaussian_logpmf` (Gaussian). Slow; used to
    check the vectorised scores and as the benchmark's baseline.

    Parameters
    ----------
    policy_class : LinearPolicyClass
    states : (n, H, dx) or (N, dx) array_like
    tokens : (n, H) or (N,) int array_like

    Returns
    -------
    (J,) ndarray of float

    References
    ----------
    Cao & Xie 2026, Section 2 (log-loss BC).
    """
    x = _flat_states("states", states, policy_class.dx)
    t = _flat_tokens("tokens", tokens, x.shape[0], policy_class.quantizer.n_tokens)
    out = np.empty(policy_class.size)
    for j in range(policy_class.size):
        pol = policy_class.candidate(j)
        if pol.deterministic:
            out[j] = -float(np.count_nonzero(pol.tokens(x) != t))
        else:
            out[j] = float(quantized_gaussian_logpmf(pol.mean(x), pol.noise_std, t, pol.quantizer).sum())
    return out
