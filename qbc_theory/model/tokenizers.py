r"""Action tokenizers of robot-learning practice, implemented from their published rules.

Every tokenizer here acts on **action chunks** ``U`` of shape ``(l, du)`` (``l = 1`` for per-step
tokenizers) and has the same interface:

- ``fit(chunks (M, l, du), states (M, dx)) -> fitted copy`` (statistics, codebooks, decoders);
- ``encode(chunks) -> tokens (M, n)``, integers; ``decode(tokens, states=None) -> chunks (M, l, du)``;
- ``in_range(chunks) -> (M, l) bool``: where the tokenizer's own error guarantee holds (no clipping,
  no fallback); ``clips``: whether out-of-range actions are clipped;
- ``fallback(tokens) -> (M,) bool``: token sequences that cannot be decoded and become the zero chunk;
- ``eps_bound``: the guaranteed per-action error ``sup ||q(U)_t - U_t||`` for in-range chunks, in the
  units of the data, or ``None`` when there is no such guarantee (learned codebooks, least-squares fits);
- ``chunk`` (``l``), ``name`` and ``to_dict()``.

The tokenizers (``make_tokenizer(name, params)``; :data:`TOKENIZERS` lists names, defaults and
parameters):

``openvla``
    Per-dimension normalization by the 1st/99th percentiles of the fit data,
    :math:`n = 2(u - p_1)/(p_{99} - p_1 + 10^{-8}) - 1`, clipped to ``[-1, 1]`` (dimensions listed in
    ``unnormalized``, a gripper, are only clipped); 256 uniform edges on ``[-1, 1]`` (255 bins),
    ``digitize``, decode to the bin centre (the top edge maps to the last centre), unnormalize with
    :math:`u = (n + 1)(p_{99} - p_1)/2 + p_1`. In range, per dimension ``|n - \hat n| <= 1/255``.
``fast``
    Per chunk, percentile normalization as above (not clipped), orthonormal DCT-II over time per
    action dimension, times ``scale``, rounded; flattened low frequency first. The published
    tokenizer then compresses these integers losslessly with byte-pair encoding (BPE); that stage does
    not change any decoded action and is **left out**. Its decoder's fallback is modelled: a
    sequence that does not decode to exactly ``l du`` coefficients of the alphabet seen in fitting
    (the integers between the fit split's smallest and largest coefficient) becomes the all-zero
    chunk in normalized units, i.e. the mid-range action ``(p_1 + p_99)/2``.
``beast``
    A clamped uniform B-spline of degree ``p`` with ``N`` control points fitted by least squares to
    each chunk (times ``t_i = i/(l-1)``; :func:`scipy.interpolate.BSpline.design_matrix`); control points
    normalized by the percentiles of the fit split's control points, clipped to ``[-1, 1]`` and
    rounded to ``levels`` uniform levels.
``vqbet``
    Residual VQ over flattened chunks (``stages`` k-means codebooks of ``codes`` vectors, each fitted
    on the residual of the stages before, :class:`~qbc_theory.model.quantizers.ResidualVQ`). With
    ``offset = 1`` the decoded chunk adds the continuous offset the published method predicts from the
    observation; here the offset head is affine in the state with a per-token intercept,
    ``o(x, t) = W x + b_t``, fitted by least squares on the fit split.
``fsq``
    Finite scalar quantization of a linear projection: the flattened chunk is centred and projected
    on its first ``d = len(levels)`` principal components (fit split), each divided by its standard
    deviation, bounded by :math:`f(z) = h \tanh(z + s) - o` with :math:`h = (L - 1)(1 - 10^{-3})/2`,
    ``o = 1/2`` for even ``L`` (else 0), :math:`s = \tan(o/h)`, and rounded; the decoder
    is the least-squares affine map from the normalized codes ``c / floor(L/2)`` back to the chunk.
``binning``, ``kmeans``, ``rvq``, ``dct``, ``trap``
    The per-step quantizers of :mod:`qbc_theory.model.quantizers` (``dct`` with its ``chunk``).

References
----------
Cao & Xie 2026, Section 2 (quantizers, eps_q), eq. (3), Proposition 5 and Theorem 6. The published
rules: OpenVLA (Kim et al. 2024), FAST (Pertsch et al. 2025), BEAST (Zhou et al. 2025), VQ-BeT
(Lee et al. 2024), FSQ (Mentzer et al. 2023).

Kept as one module (about 950 lines): the five tokenizers share one chunk interface, one
normalisation and one fallback model, and they read best side by side, each against its
published rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.fft
import scipy.interpolate

from .errors import DimensionError, SolverError, SpecError
from .quantizers import DCTBinning, KMeansQuantizer, ResidualVQ, TrapLoopQuantizer, UniformBinning
from .validation import as_int, as_real, describe

__all__ = [
    "TOKENIZERS",
    "make_tokenizer",
    "OpenVLATokenizer",
    "FASTTokenizer",
    "BEASTTokenizer",
    "VQBeTTokenizer",
    "FSQTokenizer",
    "QuantizerTokenizer",
    "fsq_bound",
    "fsq_codes",
    "bspline_basis",
]

_NORM_EPS = 1e-8  # the published normalizations add this to p99 - p1


def _chunks(name: str, u, chunk: int, dim: int | None = None) -> np.ndarray:
    u = np.asarray(u, dtype=float)
    if u.ndim != 3 or u.shape[1] != chunk or (dim is not None and u.shape[2] != dim):
        want = f"(M, {chunk}, {dim if dim is not None else 'du'})"
        raise DimensionError(f"{name}: expected action chunks of shape {want}, found shape {u.shape}")
    return u


def _token_matrix(name: str, tokens, width: int | None = None) -> np.ndarray:
    t = np.asarray(tokens)
    if t.ndim != 2 or not np.issubdtype(t.dtype, np.integer):
        raise DimensionError(f"{name}: expected a 2-D integer array of tokens, found {describe(t)} of dtype "
                             f"{t.dtype}")
    if width is not None and t.shape[1] != width:
        raise DimensionError(f"{name}: expected {width} tokens per chunk, found {t.shape[1]}")
    return t


def _percentiles(x: np.ndarray, low_pct: float, high_pct: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-column percentiles of ``x (N, d)``."""
    lo, hi = np.percentile(x, [low_pct, high_pct], axis=0)
    return np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)


def _normalize(u, lo, hi):
    return 2.0 * (u - lo) / (hi - lo + _NORM_EPS) - 1.0


def _unnormalize(n, lo, hi):
    return 0.5 * (n + 1.0) * (hi - lo) + lo


def _pct_params(low_pct, high_pct) -> tuple[float, float]:
    lo = as_real("low_pct", low_pct, low=0, high=100)
    hi = as_real("high_pct", high_pct, low=0, high=100)
    if not lo < hi:
        raise DimensionError(f"high_pct: expected high_pct > low_pct, found low_pct={lo:g}, high_pct={hi:g}")
    return lo, hi


class _Base:
    """Shared behaviour: fitted check, default in-range and fallback."""

    clips = False
    learned = False

    def _need(self, attr: str):
        value = getattr(self, attr)
        if value is None:
            raise SolverError(f"{self.name}: expected a fitted tokenizer, found none (call fit first)")
        return value

    def in_range(self, chunks) -> np.ndarray:
        """Where the error guarantee holds, ``(M, l)`` bool (everywhere unless overridden)."""
        u = _chunks("chunks", chunks, self.chunk)
        return np.ones(u.shape[:2], dtype=bool)

    def fallback(self, tokens) -> np.ndarray:
        """Token rows that decode to the zero chunk, ``(M,)`` bool (none unless overridden)."""
        return np.zeros(np.asarray(tokens).shape[0], dtype=bool)

    def __call__(self, chunks, states=None) -> np.ndarray:
        """``q(U)`` for chunks ``(M, l, du)``."""
        return self.decode(self.encode(chunks), states)


# --- OpenVLA --------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class OpenVLATokenizer(_Base):
    r"""OpenVLA's per-dimension binning of percentile-normalized actions (per step, ``l = 1``).

    .. math::

        n_j = \operatorname{clip}\Big(\frac{2(u_j - p_{1,j})}{p_{99,j} - p_{1,j} + 10^{-8}} - 1, -1, 1\Big),\quad
        t_j = \operatorname{digitize}(n_j, e) - 1,\quad e = \operatorname{linspace}(-1, 1, \mathrm{bins}),

        \hat n_j = c_{\min(t_j, \mathrm{bins} - 2)},\quad c_i = (e_i + e_{i+1})/2,\qquad
        \hat u_j = (\hat n_j + 1)(p_{99,j} - p_{1,j})/2 + p_{1,j}.

    For an action inside ``[p_1, p_99]`` (no clipping) ``|\hat n_j - n_j| <= 1/(bins - 1)``, hence
    ``||\hat u - u|| <= eps_bound = (sum_j (s_j/(bins - 1) + 10^{-8})^2)^{1/2}`` with ``s_j`` the half range
    (1 for unnormalized dimensions); clipped actions have unbounded error (eq. 3 of Cao & Xie 2026 fails).

    Parameters
    ----------
    bins : int
        Number of edges (default 256: 255 bins).
    low_pct, high_pct : float
        Percentiles of the fit data mapped to -1 and 1 (default 1 and 99).
    unnormalized : tuple of int
        Action dimensions left unnormalized (only clipped to ``[-1, 1]``), e.g. a gripper.
    """

    bins: int = 256
    low_pct: float = 1.0
    high_pct: float = 99.0
    unnormalized: tuple = ()
    low: np.ndarray | None = field(default=None)
    high: np.ndarray | None = field(default=None)

    name = "openvla"
    chunk = 1
    clips = True

    def __post_init__(self):
        object.__setattr__(self, "bins", as_int("bins", self.bins, minimum=3))
        lo, hi = _pct_params(self.low_pct, self.high_pct)
        object.__setattr__(self, "low_pct", lo)
        object.__setattr__(self, "high_pct", hi)
        dims = tuple(as_int("unnormalized", d, minimum=0) for d in np.atleast_1d(self.unnormalized).tolist())
        object.__setattr__(self, "unnormalized", dims)

    def with_stats(self, low, high) -> "OpenVLATokenizer":
        """A copy with given normalization statistics ``p_1 = low``, ``p_99 = high`` (``(du,)`` each)."""
        low, high = np.atleast_1d(np.asarray(low, dtype=float)), np.atleast_1d(np.asarray(high, dtype=float))
        if low.shape != high.shape or low.ndim != 1:
            raise DimensionError(f"high: expected the shape of low {low.shape}, found {high.shape}")
        bad = [d for d in self.unnormalized if d >= low.size]
        if bad:
            raise DimensionError(f"unnormalized: expected dimensions below du={low.size}, found {bad[0]}")
        return replace(self, low=low, high=high)

    def fit(self, chunks, states=None) -> "OpenVLATokenizer":
        """Percentiles of the fit actions per dimension."""
        u = _chunks("chunks", chunks, 1)
        lo, hi = _percentiles(u.reshape(-1, u.shape[2]), self.low_pct, self.high_pct)
        return self.with_stats(lo, hi)

    @property
    def _mask(self) -> np.ndarray:
        m = np.ones(self._need("low").size, dtype=bool)
        m[list(self.unnormalized)] = False
        return m

    @property
    def edges(self) -> np.ndarray:
        """The ``bins`` uniform edges on ``[-1, 1]``."""
        return np.linspace(-1.0, 1.0, self.bins)

    @property
    def centers(self) -> np.ndarray:
        """The ``bins - 1`` bin centres."""
        e = self.edges
        return (e[:-1] + e[1:]) / 2.0

    def _normalized(self, u: np.ndarray) -> np.ndarray:
        lo, hi = self._need("low"), self.high
        return np.where(self._mask, _normalize(u, lo, hi), u)

    def in_range(self, chunks) -> np.ndarray:
        """Actions whose every coordinate is inside ``[-1, 1]`` after normalization, ``(M, 1)``."""
        u = _chunks("chunks", chunks, 1, self._need("low").size)
        n = self._normalized(u)
        return np.all(np.abs(n) <= 1.0, axis=-1)

    def encode(self, chunks) -> np.ndarray:
        """Bin indices ``(M, du)`` in ``[0, bins - 1]``."""
        u = _chunks("chunks", chunks, 1, self._need("low").size)[:, 0, :]
        n = np.clip(self._normalized(u), -1.0, 1.0)
        return (np.digitize(n, self.edges) - 1).astype(np.int64)

    def decode(self, tokens, states=None) -> np.ndarray:
        """Bin centres, unnormalized, ``(M, 1, du)``."""
        du = self._need("low").size
        t = _token_matrix("tokens", tokens, du)
        if t.size and (t.min() < 0 or t.max() >= self.bins):
            raise DimensionError(f"tokens: expected tokens in [0, {self.bins}), found range [{t.min()}, {t.max()}]")
        n = self.centers[np.clip(t, 0, self.bins - 2)]
        u = np.where(self._mask, _unnormalize(n, self.low, self.high), n)
        return u[:, None, :]

    @property
    def eps_bound(self) -> float:
        """Euclidean per-action error bound for in-range actions (data units)."""
        half = np.where(self._mask, np.abs(self.high - self._need("low")) / 2.0, 1.0)
        return float(np.sqrt(np.sum((half / (self.bins - 1) + _NORM_EPS) ** 2)))

    def to_dict(self) -> dict:
        """JSON-ready description."""
        return {"name": self.name, "chunk": 1, "bins": self.bins, "low_pct": self.low_pct,
                "high_pct": self.high_pct, "unnormalized": list(self.unnormalized),
                "low": None if self.low is None else self.low.tolist(),
                "high": None if self.high is None else self.high.tolist()}


# --- FAST -----------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class FASTTokenizer(_Base):
    r"""FAST's frequency-space chunk tokens without the lossless BPE stage.

    .. math::

        N = \mathrm{norm}(U),\quad T = \operatorname{round}(s\, \mathcal D N),\quad
        \hat U = \mathrm{norm}^{-1}\big(\mathcal D^{\top} T / s\big),

    with :math:`\mathcal D` the orthonormal DCT-II over time. ``D`` is orthonormal and each
    coefficient moves by at most ``1/(2s)``, so in normalized units the chunk error is at most
    ``sqrt(l du)/(2 s)`` in Frobenius norm, and per action in data units at most
    ``eps_bound = max_j (p_99 - p_1)_j / 2 * sqrt(l du)/(2 s)``, for chunks that decode.

    **Fallback.** The token row is flattened low frequency first (``T`` in row-major order). A row
    whose length is not ``l du`` or that holds a coefficient outside ``[min_token, max_token]`` (the
    alphabet of the fit split) cannot be decoded; as in the public decoder it becomes the all-zero
    coefficient chunk, whose actions are ``(p_1 + p_99)/2``: a jump a policy falls into by emitting one
    token too many or too few.

    Parameters
    ----------
    chunk : int
        Chunk length ``l`` (default 10).
    scale : float
        ``s`` (default 10).
    low_pct, high_pct : float
        Normalization percentiles (default 1 and 99).
    """

    chunk: int = 10
    scale: float = 10.0
    low_pct: float = 1.0
    high_pct: float = 99.0
    low: np.ndarray | None = field(default=None)
    high: np.ndarray | None = field(default=None)
    min_token: int | None = None
    max_token: int | None = None

    name = "fast"

    def __post_init__(self):
        object.__setattr__(self, "chunk", as_int("chunk", self.chunk, minimum=1))
        object.__setattr__(self, "scale", as_real("scale", self.scale, positive=True))
        lo, hi = _pct_params(self.low_pct, self.high_pct)
        object.__setattr__(self, "low_pct", lo)
        object.__setattr__(self, "high_pct", hi)

    def with_stats(self, low, high, min_token: int, max_token: int) -> "FASTTokenizer":
        """A copy with given percentiles ``(du,)`` and token alphabet ``[min_token, max_token]``."""
        low, high = np.atleast_1d(np.asarray(low, dtype=float)), np.atleast_1d(np.asarray(high, dtype=float))
        if low.shape != high.shape or low.ndim != 1:
            raise DimensionError(f"high: expected the shape of low {low.shape}, found {high.shape}")
        return replace(self, low=low, high=high, min_token=int(min_token), max_token=int(max_token))

    def _coefficients(self, u: np.ndarray) -> np.ndarray:
        n = _normalize(u, self.low, self.high)
        return np.rint(self.scale * scipy.fft.dct(n, type=2, norm="ortho", axis=1))

    def fit(self, chunks, states=None) -> "FASTTokenizer":
        """Percentiles of the fit actions and the alphabet of their integer coefficients."""
        u = _chunks("chunks", chunks, self.chunk)
        lo, hi = _percentiles(u.reshape(-1, u.shape[2]), self.low_pct, self.high_pct)
        fitted = replace(self, low=lo, high=hi)
        c = fitted._coefficients(u)
        return fitted.with_stats(lo, hi, int(c.min()), int(c.max()))

    def encode(self, chunks) -> np.ndarray:
        """Integer DCT coefficients, flattened low frequency first, ``(M, l du)``."""
        u = _chunks("chunks", chunks, self.chunk, self._need("low").size)
        c = self._coefficients(u)
        return c.reshape(c.shape[0], -1).astype(np.int64)

    def fallback(self, tokens) -> np.ndarray:
        """Rows that do not decode (wrong length, or a coefficient outside the fitted alphabet)."""
        t = _token_matrix("tokens", tokens)
        if t.shape[1] != self.chunk * self._need("low").size:
            return np.ones(t.shape[0], dtype=bool)
        return np.any((t < self.min_token) | (t > self.max_token), axis=1)

    def decode(self, tokens, states=None) -> np.ndarray:
        """Chunks ``(M, l, du)``; undecodable rows give the zero chunk (mid-range actions)."""
        du = self._need("low").size
        t = _token_matrix("tokens", tokens)
        bad = self.fallback(t)
        coef = np.zeros((t.shape[0], self.chunk, du))
        if t.shape[1] == self.chunk * du:
            coef = np.where(bad[:, None, None], 0.0, t.reshape(-1, self.chunk, du) / self.scale)
        n = scipy.fft.idct(coef, type=2, norm="ortho", axis=1)
        return _unnormalize(n, self.low, self.high)

    def in_range(self, chunks) -> np.ndarray:
        """Chunks that decode (no fallback), broadcast to ``(M, l)``."""
        ok = ~self.fallback(self.encode(chunks))
        return np.repeat(ok[:, None], self.chunk, axis=1)

    @property
    def zero_chunk_action(self) -> np.ndarray:
        """The action of the fallback chunk, ``(p_1 + p_99)/2``, shape ``(du,)``."""
        return _unnormalize(np.zeros(self._need("low").size), self.low, self.high)

    @property
    def eps_bound(self) -> float:
        """Per-action error bound in data units for chunks that decode."""
        half = np.abs(self._need("high") - self.low) / 2.0
        return float(half.max() * math.sqrt(self.chunk * self.low.size) / (2.0 * self.scale))

    def to_dict(self) -> dict:
        """JSON-ready description."""
        return {"name": self.name, "chunk": self.chunk, "scale": self.scale, "low_pct": self.low_pct,
                "high_pct": self.high_pct, "bpe": "left out (lossless: decoded actions are unchanged)",
                "min_token": self.min_token, "max_token": self.max_token,
                "low": None if self.low is None else self.low.tolist(),
                "high": None if self.high is None else self.high.tolist()}


# --- BEAST ----------------------------------------------------------------------------------------

def bspline_basis(length: int, n_ctrl: int, degree: int) -> np.ndarray:
    r"""Design matrix ``(length, n_ctrl)`` of the clamped uniform B-spline basis at ``t_i = i/(length-1)``.

    Knots: ``degree + 1`` copies of 0, ``n_ctrl - degree - 1`` uniform interior knots, ``degree + 1``
    copies of 1. The rows sum to 1 (partition of unity), so the curve is a convex combination of
    control points at every time.
    """
    length = as_int("chunk", length, minimum=2)
    degree = as_int("degree", degree, minimum=0)
    n_ctrl = as_int("n_ctrl", n_ctrl, minimum=degree + 1)
    inner = np.linspace(0.0, 1.0, n_ctrl - degree + 1)[1:-1]
    knots = np.concatenate([np.zeros(degree + 1), inner, np.ones(degree + 1)])
    t = np.linspace(0.0, 1.0, length)
    return scipy.interpolate.BSpline.design_matrix(t, knots, degree).toarray()


@dataclass(frozen=True, eq=False)
class BEASTTokenizer(_Base):
    r"""BEAST: least-squares B-spline control points, percentile-normalized, rounded to ``levels`` levels.

    .. math::

        C = \Phi^{+} U,\quad t = \operatorname{round}\Big(\frac{\operatorname{clip}(\mathrm{norm}(C), -1, 1) + 1}{2}
        (\mathrm{levels} - 1)\Big),\quad \hat U = \Phi\, \mathrm{norm}^{-1}\Big(\frac{2t}{\mathrm{levels} - 1} - 1\Big),

    ``Phi`` the clamped uniform basis (:func:`bspline_basis`). The error is the least-squares fit error
    (data dependent, so ``eps_bound`` is ``None``) plus the rounding of control points, at most
    ``(p_99 - p_1)_j/(2(levels - 1))`` per dimension (partition of unity); clipped control points void it.

    Parameters
    ----------
    chunk : int
        ``l >= 2`` (default 10).
    degree : int
        ``p`` (default 3).
    n_ctrl : int
        ``N >= p + 1`` control points (default 5).
    levels : int
        Quantization levels per control point (default 256).
    low_pct, high_pct : float
        Percentiles of the fit split's control points mapped to -1 and 1 (default 1 and 99).
    """

    chunk: int = 10
    degree: int = 3
    n_ctrl: int = 5
    levels: int = 256
    low_pct: float = 1.0
    high_pct: float = 99.0
    low: np.ndarray | None = field(default=None)
    high: np.ndarray | None = field(default=None)

    name = "beast"
    clips = True
    eps_bound = None

    def __post_init__(self):
        object.__setattr__(self, "chunk", as_int("chunk", self.chunk, minimum=2))
        object.__setattr__(self, "degree", as_int("degree", self.degree, minimum=0))
        object.__setattr__(self, "n_ctrl", as_int("n_ctrl", self.n_ctrl, minimum=self.degree + 1))
        object.__setattr__(self, "levels", as_int("levels", self.levels, minimum=2))
        lo, hi = _pct_params(self.low_pct, self.high_pct)
        object.__setattr__(self, "low_pct", lo)
        object.__setattr__(self, "high_pct", hi)

    @property
    def basis(self) -> np.ndarray:
        """``Phi``, shape ``(l, N)``."""
        return bspline_basis(self.chunk, self.n_ctrl, self.degree)

    def control_points(self, chunks) -> np.ndarray:
        """Least-squares control points ``(M, N, du)``."""
        u = _chunks("chunks", chunks, self.chunk)
        return np.einsum("nl,mld->mnd", np.linalg.pinv(self.basis), u)

    def with_stats(self, low, high) -> "BEASTTokenizer":
        """A copy with given control-point percentiles ``(du,)``."""
        low, high = np.atleast_1d(np.asarray(low, dtype=float)), np.atleast_1d(np.asarray(high, dtype=float))
        if low.shape != high.shape or low.ndim != 1:
            raise DimensionError(f"high: expected the shape of low {low.shape}, found {high.shape}")
        return replace(self, low=low, high=high)

    def fit(self, chunks, states=None) -> "BEASTTokenizer":
        """Percentiles of the fit split's control points per action dimension."""
        c = self.control_points(chunks)
        lo, hi = _percentiles(c.reshape(-1, c.shape[2]), self.low_pct, self.high_pct)
        return self.with_stats(lo, hi)

    def in_range(self, chunks) -> np.ndarray:
        """Chunks whose control points need no clipping, broadcast to ``(M, l)``."""
        self._need("low")
        n = _normalize(self.control_points(chunks), self.low, self.high)
        ok = np.all(np.abs(n) <= 1.0, axis=(1, 2))
        return np.repeat(ok[:, None], self.chunk, axis=1)

    def encode(self, chunks) -> np.ndarray:
        """Quantized control points, flattened ``(M, N du)``, in ``[0, levels - 1]``."""
        self._need("low")
        n = np.clip(_normalize(self.control_points(chunks), self.low, self.high), -1.0, 1.0)
        t = np.rint((n + 1.0) / 2.0 * (self.levels - 1)).astype(np.int64)
        return t.reshape(t.shape[0], -1)

    def decode(self, tokens, states=None) -> np.ndarray:
        """The B-spline of the dequantized control points, ``(M, l, du)``."""
        du = self._need("low").size
        t = _token_matrix("tokens", tokens, self.n_ctrl * du)
        if t.size and (t.min() < 0 or t.max() >= self.levels):
            raise DimensionError(f"tokens: expected tokens in [0, {self.levels}), found range [{t.min()}, {t.max()}]")
        c = _unnormalize(2.0 * t.reshape(-1, self.n_ctrl, du) / (self.levels - 1) - 1.0, self.low, self.high)
        return np.einsum("ln,mnd->mld", self.basis, c)

    def to_dict(self) -> dict:
        """JSON-ready description."""
        return {"name": self.name, "chunk": self.chunk, "degree": self.degree, "n_ctrl": self.n_ctrl,
                "levels": self.levels, "low_pct": self.low_pct, "high_pct": self.high_pct,
                "low": None if self.low is None else self.low.tolist(),
                "high": None if self.high is None else self.high.tolist()}


# --- VQ-BeT ---------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class VQBeTTokenizer(_Base):
    r"""VQ-BeT's residual VQ of flattened action chunks, with or without the continuous offset.

    .. math::

        \hat U = \sum_{s=1}^{S} c^{(s)}_{i_s}\quad(\text{offset} = 0),\qquad
        \hat U = \sum_{s=1}^{S} c^{(s)}_{i_s} + W x + b_{(i_1, \ldots, i_S)}\quad(\text{offset} = 1),

    the codebooks fitted by k-means stage by stage (:class:`~qbc_theory.model.quantizers.ResidualVQ`),
    ``W, b`` by least squares on the fit split's residuals ``U - sum_s c_{i_s}`` (the published method's
    offset head predicts this residual from the observation; here it is affine in the state ``x`` at
    the start of the chunk, with one intercept per token; tokens never seen in fitting get the common
    intercept). Learned: ``eps_bound`` is ``None``.

    Parameters
    ----------
    chunk : int
        ``l`` (default 5).
    stages : int
        Residual stages (default 2).
    codes : int
        Codes per stage (default 16).
    offset : int
        1 to add the offset head (default 0).
    seed : int
        k-means seed (stage s uses ``seed + s``) and seed of the fit subsample.
    max_fit : int
        The codebooks are fitted on at most this many fit chunks drawn at random (default 10000; 0:
        all); the offset head uses every fit chunk.
    """

    chunk: int = 5
    stages: int = 2
    codes: int = 16
    offset: int = 0
    seed: int = 0
    max_fit: int = 10_000
    rvq: ResidualVQ | None = field(default=None)
    head: np.ndarray | None = field(default=None)
    intercepts: np.ndarray | None = field(default=None)

    name = "vqbet"
    learned = True
    eps_bound = None

    def __post_init__(self):
        object.__setattr__(self, "chunk", as_int("chunk", self.chunk, minimum=1))
        object.__setattr__(self, "stages", as_int("stages", self.stages, minimum=1))
        object.__setattr__(self, "codes", as_int("codes", self.codes, minimum=1))
        off = as_int("offset", self.offset, minimum=0)
        if off > 1:
            raise DimensionError(f"offset: expected 0 or 1, found {off}")
        object.__setattr__(self, "offset", off)
        object.__setattr__(self, "seed", as_int("seed", self.seed, minimum=0))
        object.__setattr__(self, "max_fit", as_int("max_fit", self.max_fit, minimum=0))

    def with_codebooks(self, codebooks) -> "VQBeTTokenizer":
        """A copy with given codebooks ``(stages, codes, l du)`` and no offset head."""
        return replace(self, rvq=ResidualVQ(self.stages, self.codes, self.seed, codebooks=codebooks))

    def fit(self, chunks, states=None) -> "VQBeTTokenizer":
        """Residual k-means on the flattened fit chunks; the offset head when ``offset = 1``."""
        u = _chunks("chunks", chunks, self.chunk)
        y = u.reshape(u.shape[0], -1)
        if self.codes > y.shape[0]:
            raise DimensionError(f"codes: expected at most the {y.shape[0]} fit chunks, found {self.codes}")
        sample = y
        if self.max_fit and y.shape[0] > self.max_fit:
            pick = np.random.default_rng(np.random.SeedSequence(self.seed)).choice(y.shape[0], self.max_fit,
                                                                                   replace=False)
            sample = y[np.sort(pick)]
        fitted = replace(self, rvq=ResidualVQ(self.stages, self.codes, self.seed).fit(sample))
        if not self.offset:
            return fitted
        if states is None:
            raise DimensionError("states: the vqbet offset head needs the states of the fit chunks, found none")
        x = np.asarray(states, dtype=float)
        if x.ndim != 2 or x.shape[0] != y.shape[0]:
            raise DimensionError(f"states: expected shape ({y.shape[0]}, dx), found {x.shape}")
        tok = fitted.rvq.encode(y)
        resid = y - fitted.rvq.decode(tok)
        # y = W x + b_t: W from the within-token regression, b_t from the token means
        n_tok = fitted.rvq.n_tokens
        counts = np.bincount(tok, minlength=n_tok).astype(float)
        seen = counts > 0

        def token_means(a):
            s = np.zeros((n_tok, a.shape[1]))
            np.add.at(s, tok, a)
            s[seen] /= counts[seen, None]
            return s

        mx, mr = token_means(x), token_means(resid)
        W = np.linalg.lstsq(x - mx[tok], resid - mr[tok], rcond=None)[0]
        b = mr - mx @ W
        b[~seen] = (resid - x @ W).mean(axis=0)  # tokens never seen in fitting get the common intercept
        return replace(fitted, head=W, intercepts=b)

    @property
    def n_tokens(self) -> int:
        """Vocabulary of a whole chunk, ``codes ** stages``."""
        return self.codes**self.stages

    def encode(self, chunks) -> np.ndarray:
        """Per-stage codes ``(M, stages)``."""
        rvq = self._need("rvq")
        u = _chunks("chunks", chunks, self.chunk)
        flat = rvq.encode(u.reshape(u.shape[0], -1))
        return np.stack(np.unravel_index(flat, (self.codes,) * self.stages), axis=1).astype(np.int64)

    def decode(self, tokens, states=None) -> np.ndarray:
        """Sum of the codewords (plus the offset ``W x + b_t`` when ``offset = 1``), ``(M, l, du)``."""
        rvq = self._need("rvq")
        t = _token_matrix("tokens", tokens, self.stages)
        if t.size and (t.min() < 0 or t.max() >= self.codes):
            raise DimensionError(f"tokens: expected codes in [0, {self.codes}), found range [{t.min()}, {t.max()}]")
        flat = np.ravel_multi_index(tuple(t.T), (self.codes,) * self.stages)
        y = rvq.decode(flat)
        if self.offset:
            if states is None:
                raise DimensionError("states: the vqbet offset head needs the chunk's states, found none")
            x = np.asarray(states, dtype=float)
            if x.ndim != 2 or x.shape != (t.shape[0], self.head.shape[0]):
                raise DimensionError(f"states: expected shape ({t.shape[0]}, {self.head.shape[0]}), found {x.shape}")
            y = y + x @ self.head + self.intercepts[flat]
        return y.reshape(t.shape[0], self.chunk, -1)

    def to_dict(self) -> dict:
        """JSON-ready description."""
        return {"name": self.name, "chunk": self.chunk, "stages": self.stages, "codes": self.codes,
                "offset": bool(self.offset), "seed": self.seed, "max_fit": self.max_fit}


# --- FSQ ------------------------------------------------------------------------------------------

def fsq_bound(z, levels) -> np.ndarray:
    r"""FSQ's bounding map per latent coordinate, ``f(z) = h tanh(z + s) - o``.

    .. math::

        h = \frac{(L - 1)(1 - 10^{-3})}{2},\quad o = \tfrac12 \mathbb 1\{L \text{ even}\},\quad
        s = \tan(o / h),

    the published rule, so ``round(f(z))`` takes exactly ``L`` values, ``-floor(L/2), ..., ceil(L/2) - 1``,
    and ``round(f(0)) = 0``.
    """
    L = np.asarray(levels, dtype=float)
    h = (L - 1.0) * (1.0 - 1e-3) / 2.0
    o = np.where(np.asarray(levels) % 2 == 0, 0.5, 0.0)
    s = np.tan(o / h)  # as published (tan, not artanh): f(0) is then within 1e-3 of 0, and L = 2 works
    return h * np.tanh(np.asarray(z, dtype=float) + s) - o


def fsq_codes(z, levels) -> np.ndarray:
    """Integer tokens ``round(f(z)) + floor(L/2)`` in ``[0, L - 1]`` per coordinate, shape of ``z``."""
    half = np.asarray(levels) // 2
    return (np.rint(fsq_bound(z, levels)) + half).astype(np.int64)


@dataclass(frozen=True, eq=False)
class FSQTokenizer(_Base):
    r"""Finite scalar quantization of a PCA projection of the flattened chunk, with a linear decoder.

    .. math::

        z = \Sigma^{-1} P^{\top}(\mathrm{vec}\, U - \mu),\quad t = \operatorname{round}(f(z)) + \lfloor L/2\rfloor,\quad
        \mathrm{vec}\,\hat U = D \begin{bmatrix} (t - \lfloor L/2\rfloor)/\lfloor L/2\rfloor \\ 1\end{bmatrix},

    ``P`` the first ``len(levels)`` principal directions of the fit split, ``Sigma`` their standard
    deviations, ``f`` :func:`fsq_bound`, ``D`` the least-squares decoder on the fit split. The
    bounding ``tanh`` saturates instead of clipping, so every action counts as in range; learned:
    ``eps_bound`` is ``None``.

    Parameters
    ----------
    chunk : int
        ``l`` (default 5).
    levels : tuple of int
        ``L`` per latent coordinate (default ``(8, 5, 5, 5)``, 1000 codes).
    """

    chunk: int = 5
    levels: tuple = (8, 5, 5, 5)
    mean: np.ndarray | None = field(default=None)
    projection: np.ndarray | None = field(default=None)
    decoder: np.ndarray | None = field(default=None)

    name = "fsq"
    learned = True
    eps_bound = None

    def __post_init__(self):
        object.__setattr__(self, "chunk", as_int("chunk", self.chunk, minimum=1))
        lv = tuple(as_int("levels", v, minimum=2) for v in np.atleast_1d(self.levels).tolist())
        if not lv:
            raise DimensionError("levels: expected at least one level, found none")
        object.__setattr__(self, "levels", lv)

    def latent(self, chunks) -> np.ndarray:
        """``z``, shape ``(M, len(levels))``."""
        u = _chunks("chunks", chunks, self.chunk)
        return (u.reshape(u.shape[0], -1) - self._need("mean")) @ self.projection

    def fit(self, chunks, states=None) -> "FSQTokenizer":
        """PCA of the fit chunks (whitened projection) and the least-squares decoder."""
        u = _chunks("chunks", chunks, self.chunk)
        y = u.reshape(u.shape[0], -1)
        d = len(self.levels)
        if y.shape[1] < d:
            raise DimensionError(f"levels: expected at most l du = {y.shape[1]} latent coordinates, found {d}")
        mu = y.mean(axis=0)
        # principal directions from the covariance (l du is small; N can be large)
        cov = np.cov(y - mu, rowvar=False).reshape(y.shape[1], y.shape[1])
        vals, vecs = np.linalg.eigh(cov)
        order = np.argsort(vals)[::-1][:d]
        sd = np.sqrt(np.maximum(vals[order], 0.0))
        sd[sd == 0] = 1.0
        P = vecs[:, order] / sd
        fitted = replace(self, mean=mu, projection=P)
        codes = fitted._normalized_codes(fitted.encode(u))
        design = np.hstack([codes, np.ones((codes.shape[0], 1))])
        D = np.linalg.lstsq(design, y, rcond=None)[0]
        return replace(fitted, decoder=D)

    def _normalized_codes(self, t: np.ndarray) -> np.ndarray:
        half = np.asarray(self.levels) // 2
        return (t - half) / half

    def encode(self, chunks) -> np.ndarray:
        """FSQ tokens ``(M, len(levels))``, coordinate i in ``[0, levels[i] - 1]``."""
        return fsq_codes(self.latent(chunks), self.levels)

    def decode(self, tokens, states=None) -> np.ndarray:
        """The linear decoder's chunks, ``(M, l, du)``."""
        D = self._need("decoder")
        t = _token_matrix("tokens", tokens, len(self.levels))
        if t.size and (np.any(t < 0) or np.any(t >= np.asarray(self.levels))):
            raise DimensionError(f"tokens: expected coordinate i in [0, levels[i]), found range [{t.min()}, {t.max()}]")
        codes = self._normalized_codes(t)
        y = np.hstack([codes, np.ones((t.shape[0], 1))]) @ D
        return y.reshape(t.shape[0], self.chunk, -1)

    def to_dict(self) -> dict:
        """JSON-ready description."""
        return {"name": self.name, "chunk": self.chunk, "levels": list(self.levels),
                "n_tokens": int(np.prod(self.levels))}


# --- the quantizers of quantizers.py as chunk tokenizers ---------------------------------------------

@dataclass(frozen=True, eq=False)
class QuantizerTokenizer(_Base):
    r"""A quantizer of :mod:`qbc_theory.model.quantizers` behind the chunk interface.

    ``binning`` (:class:`UniformBinning`, centre decoding; ``low``/``high`` default to the fit split's
    per-dimension min/max), ``kmeans`` (:class:`KMeansQuantizer`), ``rvq`` (:class:`ResidualVQ`),
    ``trap`` (:class:`TrapLoopQuantizer`, scalar actions of the arctan expert) act per step; ``dct``
    (:class:`DCTBinning`) on chunks of its ``chunk``. Tokens: per-dimension bin indices for binning,
    the flat token otherwise, the integer coefficients for dct.

    Parameters
    ----------
    kind : {"binning", "kmeans", "rvq", "dct", "trap"}
    options : dict
        The quantizer's parameters (:data:`TOKENIZERS` lists them), validated by :func:`make_tokenizer`.
    quantizer : object, optional
        The built (and, for learned ones, fitted) quantizer; set by :meth:`fit`.
    chunk : int
        ``l`` (``dct`` only; 1 otherwise).
    """

    kind: str
    options: dict
    quantizer: object = None
    chunk: int = 1

    @property
    def name(self) -> str:
        """The tokenizer's name."""
        return self.kind

    @property
    def clips(self) -> bool:
        """Binning clips to its range."""
        return self.kind == "binning"

    @property
    def learned(self) -> bool:
        """k-means, RVQ and the trap quantizer have no sup error bound."""
        return self.kind in ("kmeans", "rvq", "trap")

    def fit(self, chunks, states=None) -> "QuantizerTokenizer":
        """Build (and fit, for learned quantizers) the quantizer on the fit actions."""
        u = _chunks("chunks", chunks, self.chunk)
        du = u.shape[2]
        o = self.options
        actions = u.reshape(-1, du)
        if self.kind in ("kmeans", "rvq") and o["codes"] > actions.shape[0]:
            raise DimensionError(f"codes: expected at most the {actions.shape[0]} fit actions, found {o['codes']}")
        if self.kind == "binning":
            low = actions.min(axis=0) if o.get("low") is None else o["low"]
            high = actions.max(axis=0) if o.get("high") is None else o["high"]
            q = UniformBinning(low, high, o["bins"], dim=du)
        elif self.kind == "kmeans":
            q = KMeansQuantizer(o["codes"], o["seed"]).fit(actions)
        elif self.kind == "rvq":
            q = ResidualVQ(o["stages"], o["codes"], o["seed"]).fit(actions)
        elif self.kind == "dct":
            q = DCTBinning(o["scale"], self.chunk, du)
        else:
            if du != 1:
                raise DimensionError(f"actions: the trap quantizer needs scalar actions (du = 1), found du={du}")
            q = TrapLoopQuantizer(o["A"], o["B"], o["k"], o["eps"], None if o["noisy"] else o["d"],
                                  "noisy" if o["noisy"] else "deterministic", o["c_delta"])
        return replace(self, quantizer=q)

    def in_range(self, chunks) -> np.ndarray:
        """Inside the binning range (everywhere for the others), ``(M, l)``."""
        u = _chunks("chunks", chunks, self.chunk)
        q = self._need("quantizer")
        if self.kind == "binning":
            return q.in_range(u)
        return np.ones(u.shape[:2], dtype=bool)

    def encode(self, chunks) -> np.ndarray:
        """Tokens ``(M, n)``."""
        q = self._need("quantizer")
        u = _chunks("chunks", chunks, self.chunk, q.dim)
        if self.kind == "binning":
            return q.bin_index(u[:, 0, :])
        if self.kind == "dct":
            return q.encode(u).reshape(u.shape[0], -1)
        return np.asarray(q.encode(u[:, 0, :]), dtype=np.int64)[:, None]

    def decode(self, tokens, states=None) -> np.ndarray:
        """Chunks ``(M, l, du)``."""
        q = self._need("quantizer")
        t = _token_matrix("tokens", tokens)
        if self.kind == "binning":
            t = _token_matrix("tokens", tokens, q.dim)
            if t.size and (t.min() < 0 or t.max() >= q.bins):
                raise DimensionError(f"tokens: expected bin indices in [0, {q.bins}), found [{t.min()}, {t.max()}]")
            return q.decode_index(t)[:, None, :]
        if self.kind == "dct":
            t = _token_matrix("tokens", tokens, self.chunk * q.dim)
            return q.decode(t.reshape(-1, self.chunk, q.dim))
        return np.asarray(q.decode(_token_matrix("tokens", tokens, 1)[:, 0]), dtype=float)[:, None, :]

    @property
    def eps_bound(self):
        """Binning: its in-range sup error; dct: its chunk bound (which bounds every action); else None."""
        q = self._need("quantizer")
        return q.eps_sup if self.kind in ("binning", "dct") else None

    def to_dict(self) -> dict:
        """JSON-ready description."""
        d = {"name": self.kind, "chunk": self.chunk}
        d.update({k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.options.items()})
        return d


# --- registry -------------------------------------------------------------------------------------

TOKENIZERS = {
    "openvla": {"bins": 256, "low_pct": 1.0, "high_pct": 99.0, "unnormalized": ()},
    "fast": {"chunk": 10, "scale": 10.0, "low_pct": 1.0, "high_pct": 99.0},
    "beast": {"chunk": 10, "degree": 3, "n_ctrl": 5, "levels": 256, "low_pct": 1.0, "high_pct": 99.0},
    "vqbet": {"chunk": 5, "stages": 2, "codes": 16, "offset": 0, "max_fit": 10_000},
    "fsq": {"chunk": 5, "levels": (8, 5, 5, 5)},
    "binning": {"bins": 16, "low": None, "high": None},
    "kmeans": {"codes": 16},
    "rvq": {"stages": 2, "codes": 16},
    "dct": {"scale": 10.0, "chunk": 1},
    "trap": {"A": 0.2, "B": 0.25, "k": 1.0, "d": 0.6, "eps": 0.01, "noisy": 0, "c_delta": 0.5},
}
"""Tokenizer name -> its parameters and their defaults (``make_tokenizer`` accepts exactly these keys)."""

_LISTS = {("openvla", "unnormalized"), ("fsq", "levels"), ("binning", "low"), ("binning", "high")}


def make_tokenizer(name: str, params: dict | None = None, *, seed: int = 0):
    """An unfitted tokenizer by name.

    Parameters
    ----------
    name : str
        A key of :data:`TOKENIZERS`.
    params : dict, optional
        Parameter overrides: numbers, or lists of numbers for ``openvla.unnormalized``, ``fsq.levels``,
        ``binning.low`` and ``binning.high``.
    seed : int
        Seed of the learned tokenizers (k-means initialisation).

    Raises
    ------
    SpecError
        Unknown name or parameter (the message names it).
    DimensionError
        A value of the wrong type, sign or range (the message names the parameter).
    """
    if name not in TOKENIZERS:
        raise SpecError(f"tokenizer: expected one of {', '.join(TOKENIZERS)}, found {name!r}")
    params = dict(params or {})
    allowed = TOKENIZERS[name]
    for key, value in params.items():
        if key not in allowed:
            raise SpecError(f"{key}: unknown parameter of the {name} tokenizer; expected one of "
                            f"{', '.join(allowed)}")
        is_list = isinstance(value, (list, tuple, np.ndarray))
        if is_list and (name, key) not in _LISTS:
            raise DimensionError(f"{key}: expected a number, found a list")
    p = {**allowed, **params}
    seed = as_int("seed", seed, minimum=0)
    if name == "openvla":
        dims = tuple(np.atleast_1d(p["unnormalized"]).tolist())
        return OpenVLATokenizer(p["bins"], p["low_pct"], p["high_pct"], dims)
    if name == "fast":
        return FASTTokenizer(p["chunk"], p["scale"], p["low_pct"], p["high_pct"])
    if name == "beast":
        return BEASTTokenizer(p["chunk"], p["degree"], p["n_ctrl"], p["levels"], p["low_pct"], p["high_pct"])
    if name == "vqbet":
        return VQBeTTokenizer(p["chunk"], p["stages"], p["codes"], p["offset"], seed, p["max_fit"])
    if name == "fsq":
        return FSQTokenizer(p["chunk"], tuple(np.atleast_1d(p["levels"]).tolist()))
    opts = dict(p)
    if name == "binning":
        opts["bins"] = as_int("bins", p["bins"], minimum=1)
    elif name in ("kmeans", "rvq"):
        opts["codes"] = as_int("codes", p["codes"], minimum=1)
        if name == "rvq":
            opts["stages"] = as_int("stages", p["stages"], minimum=1)
        opts["seed"] = seed
    elif name == "trap":
        opts["noisy"] = as_int("noisy", p["noisy"], minimum=0)
        if opts["noisy"] > 1:
            raise DimensionError(f"noisy: expected 0 or 1, found {opts['noisy']}")
    chunk = as_int("chunk", p["chunk"], minimum=1) if name == "dct" else 1
    if name == "dct":
        opts["scale"] = as_real("scale", p["scale"], positive=True)
        opts.pop("chunk")
    return QuantizerTokenizer(name, opts, None, chunk)
