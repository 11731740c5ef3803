r"""Log-loss behavior cloning on quantized actions, regression BC, and Algorithm 1.

The estimator everywhere is the maximum-likelihood (log-loss) estimator of THEORY.md section 1,

.. math::

    \hat\pi \in \arg\max_{\pi \in \Pi} \sum_{i=1}^{n} \sum_{h=1}^{H} \log \pi_h(q(u_h^i) \mid x_h^i),

over a class :math:`\Pi` of *quantized* policies: a candidate is a (deterministic or Gaussian)
policy pushed through the quantizer ``q``, and it is scored by the probability it gives to the
observed tokens. The classes here are stationary (the same policy at every step ``h``), so the
data enter as flat samples: ``states (n, H, dx)`` and ``tokens (n, H)`` (or already flattened,
``(N, dx)`` and ``(N,)``).

A fitted learner is a policy in the sense of :mod:`qbc_theory.engine.rollout`: ``act(x (N, dx), z (N, du))``
returns the action executed in the real system, which for a quantized learner is the decoded
representative ``u~`` of the token it draws. A Gaussian learner draws its token by quantizing
``K x + sigma z``: using the expert's ``z`` gives the shared-noise coupling.

References
----------
Cao & Xie 2026, Section 2 (log-loss BC), Appendix A (MLE guarantee), Proposition 4 (regression BC),
Algorithm 1 and Theorem 7.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.optimize
from scipy.special import log_ndtr, ndtr

from ..model.validation import as_int, as_matrix, as_real, reject_unknown_kwargs
from ..model.errors import AssumptionError, DimensionError, SolverError
from ..model.quantizers import UniformBinning
from ..model.quantizers import encode_actions, quantize_actions

__all__ = [
    "QuantizedLinearPolicy",
    "LinearPolicyClass",
    "gain_grid",
    "FiniteFit",
    "fit_finite",
    "finite_scores_loop",
    "binning_cell_edges",
    "quantized_gaussian_logpmf",
    "ParametricFit",
    "fit_gaussian_mle",
    "DeterministicFit",
    "fit_deterministic_mle",
    "RegressionPolicy",
    "fit_regression",
    "LinearGaussianModel",
    "LinearModelClass",
    "ModelFit",
    "fit_model_finite",
    "fit_model_gaussian",
    "Algorithm1Learner",
    "Algorithm1Fit",
    "fit_algorithm1",
]

_LINKS = {"linear": None, "arctan": np.arctan}

# Elements per temporary (samples x candidates x coordinates) array: 8 MB of float64, which
# measured faster than larger chunks (the temporaries stay in cache).
_CHUNK_ELEMENTS = 1 << 20


# --- data handling ------------------------------------------------------------------------------

def _flat_states(name: str, states, dx: int | None = None) -> np.ndarray:
    x = np.asarray(states, dtype=float)
    if x.ndim == 3:
        x = x.reshape(-1, x.shape[-1])
    if x.ndim != 2 or x.shape[0] == 0:
        raise DimensionError(f"{name}: expected shape (n, H, dx) or (N, dx), found shape {np.shape(states)}")
    if dx is not None and x.shape[1] != dx:
        raise DimensionError(f"{name}: expected state dimension {dx}, found {x.shape[1]}")
    if not np.all(np.isfinite(x)):
        raise DimensionError(f"{name}: expected finite numbers, found a non-finite entry")
    return x


def _flat_tokens(name: str, tokens, n_samples: int, n_tokens: int | None) -> np.ndarray:
    t = np.asarray(tokens)
    if not np.issubdtype(t.dtype, np.integer):
        raise DimensionError(f"{name}: expected integer tokens, found dtype {t.dtype}")
    t = t.reshape(-1)
    if t.size != n_samples:
        raise DimensionError(f"{name}: expected {n_samples} tokens (one per state), found {t.size}")
    if n_tokens is not None and (t.min() < 0 or t.max() >= n_tokens):
        raise DimensionError(f"{name}: expected tokens in [0, {n_tokens}), found range [{t.min()}, {t.max()}]")
    return t.astype(np.int64, copy=False)


def _flat_actions(name: str, actions, n_samples: int, du: int | None = None) -> np.ndarray:
    u = np.asarray(actions, dtype=float)
    u = u.reshape(-1, u.shape[-1]) if u.ndim >= 2 else u.reshape(-1, 1)
    if u.shape[0] != n_samples or (du is not None and u.shape[1] != du):
        want = f"({n_samples}, {du if du is not None else 'du'})"
        raise DimensionError(f"{name}: expected {want} actions after flattening, found shape {np.shape(actions)}")
    if not np.all(np.isfinite(u)):
        raise DimensionError(f"{name}: expected finite numbers, found a non-finite entry")
    return u


def _link(name: str, link: str):
    if link not in _LINKS:
        raise DimensionError(f"{name}: expected one of {', '.join(_LINKS)}, found {link!r}")
    return _LINKS[link]


def _chunk(per_sample: int, chunk: int | None) -> int:
    if chunk is not None:
        return as_int("chunk", chunk, minimum=1)
    return max(1, _CHUNK_ELEMENTS // max(1, per_sample))


def _tie_count(scores: np.ndarray, best: float) -> int:
    return int(np.count_nonzero(scores == best))


def _json_float(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


# --- exact Gaussian token probabilities -----------------------------------------------------------

def binning_cell_edges(quantizer: UniformBinning) -> np.ndarray:
    """Cell edges of a per-dimension binning in action space, with the clipped ends made infinite.

    Parameters
    ----------
    quantizer : UniformBinning

    Returns
    -------
    (dim, bins + 1) ndarray
        ``edges[j, t]`` and ``edges[j, t + 1]`` bound the set of actions whose coordinate ``j`` gets
        cell index ``t``. The first and last edges are ``-inf`` and ``+inf`` because actions outside
        the range are clipped into the end cells.

    Raises
    ------
    AssumptionError
        If ``quantizer`` is not a :class:`~qbc_theory.model.quantizers.UniformBinning` (other quantizers'
        cells are not boxes, so their Gaussian token probabilities have no closed form here).

    References
    ----------
    Cao & Xie 2026, eq. (3) (binning quantizer).
    """
    if not isinstance(quantizer, UniformBinning):
        raise AssumptionError(f"quantizer: exact Gaussian token probabilities need a UniformBinning, found "
                              f"{getattr(quantizer, 'kind', type(quantizer).__name__)!r}")
    i = np.arange(quantizer.bins + 1, dtype=float)
    if quantizer.decode_mode == "edge":
        edges = quantizer.low[:, None] + (i - 0.5) * quantizer.spacing[:, None]
    else:
        edges = quantizer.low[:, None] + i * quantizer.width[:, None]
    edges[:, 0] = -np.inf
    edges[:, -1] = np.inf
    return edges


@dataclass(frozen=True, eq=False)
class _Cells:
    """Preimages ``q^{-1}(t)`` of tokens, each one box ``[lo, hi)`` per coordinate.

    For a binning the box of a token comes from :func:`binning_cell_edges`. For a scalar learned
    quantizer the cells are found once by :func:`_scan_cells_1d` and stored as ``lower, upper (T, 1)``;
    a token the quantizer never produces has the empty box ``[0, 0)`` (probability 0).
    """

    quantizer: object
    edges: np.ndarray | None
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None

    def boxes(self, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper box corners ``(N, du)`` of tokens ``(N,)``."""
        q = self.quantizer
        if self.edges is not None:
            idx = np.stack(np.unravel_index(tokens, (q.bins,) * q.dim), axis=-1)
            cols = np.arange(q.dim)
            return self.edges[cols, idx], self.edges[cols, idx + 1]
        return self.lower[tokens], self.upper[tokens]

    def check_observed(self, tokens: np.ndarray) -> None:
        """Raise :class:`SolverError` if an observed token has an empty cell (the scan missed it)."""
        if self.edges is None:
            empty = (self.upper[tokens] <= self.lower[tokens])[:, 0]
            if empty.any():
                raise SolverError(f"token {int(tokens[np.argmax(empty)])}: observed in the data, but no cell of "
                                  "it was found when scanning the quantizer (narrower than the scan resolution)")


def _scan_cells_1d(quantizer, resolution: int = 1 << 16) -> _Cells:
    """Cells of a scalar quantizer: scan ``encode`` on a grid, then bisect every change point.

    The grid covers the representatives' range widened by its length (at least 1) on each side;
    beyond it the token is taken to be constant, which holds for nearest-codeword quantizers
    (k-means, residual VQ). Each boundary is bisected to the last floating-point bit, and every
    resulting interval is checked by encoding its midpoint. For these quantizers a cell in one
    dimension is an interval (an intersection of nearest-codeword intervals); a token met on two
    separate intervals raises :class:`SolverError`.
    """
    T = quantizer.n_tokens
    reps = np.asarray(quantizer.decode(np.arange(T)), dtype=float)[:, 0]
    lo, hi = float(reps.min()), float(reps.max())
    span = max(hi - lo, 1.0)
    grid = np.linspace(lo - span, hi + span, resolution + 1)
    tok = encode_actions(quantizer, grid[:, None])
    change = np.flatnonzero(tok[1:] != tok[:-1])
    left, right, before = grid[change], grid[change + 1], tok[change]
    for _ in range(200):
        mid = 0.5 * (left + right)
        done = (mid <= left) | (mid >= right)
        if done.all():
            break
        same = encode_actions(quantizer, mid[:, None]) == before
        left = np.where(same & ~done, mid, left)
        right = np.where(~same & ~done, mid, right)
    edges = np.concatenate([[-np.inf], right, [np.inf]])
    labels = np.concatenate([tok[:1], tok[change + 1]])
    inner = 0.5 * (edges[1:-1][:-1] + edges[1:-1][1:])
    probes = np.concatenate([[edges[1] - span], inner, [edges[-2] + span]]) if change.size else np.zeros(1)
    if np.any(encode_actions(quantizer, probes[:, None]) != labels):
        raise SolverError("quantizer: scanning its cells found an interval whose midpoint has another token "
                          "(cells narrower than the scan resolution)")
    if np.unique(labels).size != labels.size:
        raise SolverError("quantizer: a token's cell is not one interval; its Gaussian probabilities are not "
                          "supported")
    lower = np.zeros((T, 1))
    upper = np.zeros((T, 1))
    lower[labels, 0] = edges[:-1]
    upper[labels, 0] = edges[1:]
    return _Cells(quantizer, None, lower, upper)


def _cells(quantizer) -> _Cells:
    """The token cells of a quantizer whose Gaussian token probabilities are computed exactly."""
    if isinstance(quantizer, UniformBinning):
        return _Cells(quantizer, binning_cell_edges(quantizer))
    kind = getattr(quantizer, "kind", type(quantizer).__name__)
    if kind in ("kmeans", "rvq") and quantizer.dim == 1:
        return _scan_cells_1d(quantizer)
    raise AssumptionError(f"quantizer: exact Gaussian token probabilities need a UniformBinning or a scalar "
                          f"k-means / residual-VQ codebook, found {kind!r} with action dimension "
                          f"{getattr(quantizer, 'dim', '?')}")


def _log_ndtr_diff_tail(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``log(Phi(b) - Phi(a))`` for ``a < b`` from ``log Phi``, without cancellation or underflow.

    For ``a > 0`` the symmetric form ``Phi(-a) - Phi(-b)`` keeps both terms away from 1; then
    ``log Phi(hi) + log(1 - exp(log Phi(lo) - log Phi(hi)))`` is evaluated with ``expm1``.
    """
    flip = a > 0
    lo = np.where(flip, -b, a)
    hi = np.where(flip, -a, b)
    la = log_ndtr(lo)
    lb = log_ndtr(hi)
    with np.errstate(divide="ignore"):
        return lb + np.log(-np.expm1(la - lb))


# The plain difference Phi(b) - Phi(a) has absolute error ~1e-16, so where it is at least 1e-6 its
# relative error is below ~1e-10; smaller probabilities are recomputed in log space.
_SMALL_PROBABILITY = 1e-6


def _log_ndtr_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``log(Phi(b) - Phi(a))`` for ``a < b``, stable in both tails.

    The plain difference of normal CDFs is used where it is at least ``1e-6`` (relative error below
    ``1e-10``); the entries below (far tails, narrow cells) are recomputed by
    :func:`_log_ndtr_diff_tail`.
    """
    p = ndtr(b)
    p -= ndtr(a)
    small = ~(p >= _SMALL_PROBABILITY)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(p)
    if small.any():
        out[small] = _log_ndtr_diff_tail(a[small], b[small])
    return out


def quantized_gaussian_logpmf(mean, sigma, tokens, quantizer) -> np.ndarray:
    r"""Exact log-probability of tokens under a Gaussian action pushed through a quantizer.

    For a binning the cell of a token is a box and

    .. math::

        \log (q_\#N(\mu, \sigma^2 I))(t) = \sum_{j=1}^{m}
        \log\Big[\Phi\Big(\frac{b_{j,t_j} - \mu_j}{\sigma}\Big) - \Phi\Big(\frac{a_{j,t_j} - \mu_j}{\sigma}\Big)\Big],

    with ``[a_{j,t_j}, b_{j,t_j})`` the cell of coordinate ``j`` (see :func:`binning_cell_edges`). For a
    scalar k-means or residual-VQ codebook the cell of a token is an interval, found once by
    scanning ``encode`` and bisecting every boundary to the last bit; a token the codebook never
    produces has probability 0.

    Parameters
    ----------
    mean : (..., du) array_like
        Gaussian means.
    sigma : float or array_like broadcasting against ``mean[..., 0]``
        Standard deviations, positive.
    tokens : (...) int array_like
        Flat tokens of ``quantizer``.
    quantizer : UniformBinning, or a scalar KMeansQuantizer or ResidualVQ

    Returns
    -------
    (...) ndarray
        Log-probabilities (``-inf`` only where a probability underflows double precision).

    Raises
    ------
    DimensionError
        On mismatched shapes or a non-positive ``sigma``.
    AssumptionError
        For other quantizers (their cells have no closed form here).
    SolverError
        Never for the probabilities themselves; a token the quantizer never produces gets ``-inf``.

    References
    ----------
    Cao & Xie 2026, Section 2 (quantized policy q#pi) and Theorem 2.
    """
    mean = np.asarray(mean, dtype=float)
    if mean.ndim == 0 or mean.shape[-1] != getattr(quantizer, "dim", None):
        raise DimensionError(f"mean: expected shape (..., {getattr(quantizer, 'dim', 'du')}), found {mean.shape}")
    sigma = np.asarray(sigma, dtype=float)
    if np.any(~(sigma > 0)):
        raise DimensionError("sigma: expected positive standard deviations, found a non-positive one")
    t = np.asarray(tokens)
    if t.shape != mean.shape[:-1]:
        raise DimensionError(f"tokens: expected shape {mean.shape[:-1]}, found {t.shape}")
    lo, hi = _cells(quantizer).boxes(_flat_tokens("tokens", t, t.size, quantizer.n_tokens))
    s = sigma[..., None]
    return _log_ndtr_diff((lo.reshape(mean.shape) - mean) / s, (hi.reshape(mean.shape) - mean) / s).sum(axis=-1)


# --- policies -------------------------------------------------------------------------------------

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


# --- parametric class -----------------------------------------------------------------------------

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


# --- regression BC (Proposition 4) ----------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class RegressionPolicy:
    r"""A linear policy fitted by least squares, optionally smoothed over the state.

    With smoothing scale ``s > 0`` the policy plays ``K (x + xi)``, ``xi ~ N(0, s^2 I)``, which is
    TVC with modulus ``kappa(r) = r / (2 s)`` (THEORY.md section 3). Because ``K`` is linear,
    ``K xi ~ N(0, s^2 K K^T)`` and it is drawn as ``s F z`` with ``F F^T = K K^T`` from the
    rollout's standard normals ``z (N, du)``: the smoothing needs no randomness of its own and
    couples with the expert's noise.

    .. math::

        \mathrm{TV}(\hat\pi(\cdot \mid x), \hat\pi(\cdot \mid x')) \le \frac{\|x - x'\|}{2 s}.

    Parameters
    ----------
    K : (du, dx) array_like
    smoothing : float
        ``s >= 0``.
    quantizer : quantizer, optional
        If given, the executed action is ``q(K (x + xi))``.

    References
    ----------
    Cao & Xie 2026, Proposition 4; Block et al. 2023, Lemma 3.1 (smoothing gives TVC).
    """

    K: np.ndarray
    smoothing: float = 0.0
    quantizer: object = None

    def __init__(self, K, smoothing=0.0, quantizer=None):
        K = as_matrix("K", K).copy()
        K.setflags(write=False)
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "smoothing", as_real("smoothing", smoothing, nonnegative=True))
        object.__setattr__(self, "quantizer", quantizer)
        lam, vec = np.linalg.eigh(K @ K.T)
        factor = vec * np.sqrt(np.clip(lam, 0.0, None))
        factor.setflags(write=False)
        object.__setattr__(self, "_factor", factor)

    @property
    def deterministic(self) -> bool:
        """Whether the smoothing scale is 0."""
        return self.smoothing == 0.0

    def tvc_modulus(self, r):
        """``kappa(r) = min(1, r / (2 s))`` (``None`` for an unsmoothed, deterministic policy)."""
        if self.deterministic:
            return None
        return np.minimum(1.0, np.asarray(r, dtype=float) / (2.0 * self.smoothing))

    def mean(self, x) -> np.ndarray:
        """``K x``, shape ``(N, du)``."""
        return np.asarray(x, dtype=float) @ self.K.T

    def act(self, x, z=None) -> np.ndarray:
        """``K (x + xi)`` (quantized if a quantizer was given), shape ``(N, du)``."""
        u = self.mean(x)
        if self.smoothing > 0.0:
            if z is None:
                raise DimensionError("z: expected standard-normal draws for a smoothed policy, found None")
            u = u + self.smoothing * (np.asarray(z, dtype=float) @ self._factor.T)
        return u if self.quantizer is None else quantize_actions(self.quantizer, u)

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        return {"kind": "regression", "K": self.K.tolist(), "smoothing": self.smoothing,
                "tvc_slope": None if self.deterministic else 1.0 / (2.0 * self.smoothing),
                "quantizer": None if self.quantizer is None else self.quantizer.to_dict()}


def fit_regression(states, actions, **options) -> RegressionPolicy:
    r"""Regression BC: least squares of actions on states, the baseline of Proposition 4.

    .. math::

        \hat K = \arg\min_K \sum_{i,h} \|u_h^i - K x_h^i\|^2, \qquad
        J(\pi^*) - J(\hat\pi) \lesssim H \sum_h E_{\pi^*}\|u^*_h - \hat u_h\|
        \text{ (P-EIISS, TVC learner)}.

    Parameters
    ----------
    states : (n, H, dx) or (N, dx) array_like
    actions : (n, H, du) or (N, du) array_like
        Raw expert actions, or the decoded quantized ones (``Dataset.quantized``).
    smoothing : float, optional
        State-smoothing scale ``s >= 0`` (default 0); ``s > 0`` makes the learner TVC.
    quantizer : quantizer, optional
        Quantize the learner's executed action.

    Returns
    -------
    RegressionPolicy

    Raises
    ------
    DimensionError
        On mismatched shapes.
    TypeError
        On unknown keyword arguments.

    References
    ----------
    Cao & Xie 2026, Proposition 4.
    """
    smoothing = options.pop("smoothing", 0.0)
    quantizer = options.pop("quantizer", None)
    reject_unknown_kwargs("fit_regression", options)
    x = _flat_states("states", states)
    u = _flat_actions("actions", actions, x.shape[0])
    coef, *_ = np.linalg.lstsq(x, u, rcond=None)
    return RegressionPolicy(coef.T, smoothing, quantizer)


# --- transition models and Algorithm 1 ------------------------------------------------------------

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
