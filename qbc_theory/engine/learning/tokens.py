"""Exact token probabilities of a Gaussian policy pushed through a quantizer.

Part of :mod:`qbc_theory.engine.learning` (see its docstring for the estimator and the
conventions); import the names from there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr, ndtr

from ...model.errors import AssumptionError, DimensionError, SolverError
from ...model.quantizers import UniformBinning, encode_actions
from ._data import _flat_tokens

__all__ = [
    "binning_cell_edges",
    "quantized_gaussian_logpmf",
]


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
