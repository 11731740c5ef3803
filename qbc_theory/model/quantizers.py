r"""Action quantizers (tokenizers).

Every quantizer has ``encode(u) -> integer tokens``, ``decode(tokens) -> actions``,
``__call__(u) = decode(encode(u))`` and ``eps_sup``: the sup bound on ``||q(u) - u||`` (Euclidean)
where one exists, else ``None`` (learned quantizers; their error is measured in distribution,
THEORY.md section 1).

Per-step quantizers (:class:`UniformBinning`, :class:`KMeansQuantizer`, :class:`ResidualVQ`,
:class:`TrapLoopQuantizer`) take actions of shape ``(..., du)`` and give one flat token per action,
shape ``(...)``, so a token is an index into a finite vocabulary of ``n_tokens`` representatives.
:class:`DCTBinning` acts on a whole chunk of actions, shape ``(..., T, D)``, and gives one integer per
DCT coefficient, shape ``(..., T, D)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.fft

from .validation import as_int, as_matrix, as_real, as_vector, describe
from .errors import AssumptionError, DimensionError, SolverError

__all__ = [
    "UniformBinning",
    "KMeansQuantizer",
    "ResidualVQ",
    "DCTBinning",
    "TrapLoopQuantizer",
    "kmeans",
    "quantize_actions",
    "encode_actions",
]


def _actions(name: str, u, dim: int) -> np.ndarray:
    u = np.asarray(u, dtype=float)
    if u.ndim == 0 or u.shape[-1] != dim:
        raise DimensionError(f"{name}: expected actions of shape (..., {dim}), found shape {u.shape}")
    return u


def _tokens(name: str, tokens, n_tokens: int | None) -> np.ndarray:
    t = np.asarray(tokens)
    if not np.issubdtype(t.dtype, np.integer):
        raise DimensionError(f"{name}: expected integer tokens, found dtype {t.dtype}")
    if n_tokens is not None and t.size and (t.min() < 0 or t.max() >= n_tokens):
        raise DimensionError(f"{name}: expected tokens in [0, {n_tokens}), found range [{t.min()}, {t.max()}]")
    return t


_DECODES = ("center", "edge", "left")
_MAX_TOKENS = 2**62  # flat tokens are int64


@dataclass(frozen=True, eq=False)
class UniformBinning:
    r"""Per-dimension uniform binning of a box ``[low, high]`` (RT-2 style action tokens).

    Each coordinate is cut into ``bins`` equal cells of width ``w = (high - low) / bins`` and
    decoded at a representative point:

    - ``"center"``: the cell's midpoint; per-coordinate error ``<= w / 2``;
    - ``"left"``: the cell's left end (a floor); per-coordinate error ``< w``;
    - ``"edge"``: rounding to the nearest of ``bins`` equally spaced points that include both
      ends of the range, spacing ``w' = (high - low) / (bins - 1)``; per-coordinate error ``<= w' / 2``.

    .. math::

        \sup_{u \in [\mathrm{low}, \mathrm{high}]} \|q(u) - u\|_2 \le \varepsilon_q
        = \Big(\sum_{j=1}^{m} e_j^2\Big)^{1/2}, \qquad e_j \text{ the coordinate bound above}.

    **Outside the range** the action is clipped to the box before it is binned, so the error is
    ``||u - clip(u)||`` plus at most the in-range error: it grows without bound and ``eps_sup``
    no longer holds. Use :meth:`in_range` to find such actions (the checker reports them, since
    they void the sup bound of eq. 3 in Cao & Xie 2026).

    Parameters
    ----------
    low, high : float or (m,) array_like
        Clip range per coordinate, ``low < high``.
    bins : int
        Cells per coordinate (``>= 2`` for ``decode="edge"``).
    decode : {"center", "edge", "left"}
        Representative of each cell.
    dim : int, optional
        Action dimension when ``low`` and ``high`` are scalars (default 1).

    References
    ----------
    Cao & Xie 2026, eq. (3) and Proposition 5.
    """

    low: np.ndarray
    high: np.ndarray
    bins: int
    decode_mode: str = "center"

    def __init__(self, low, high, bins, decode="center", dim=None):
        bins = as_int("bins", bins, minimum=1)
        if decode not in _DECODES:
            raise DimensionError(f"decode: expected one of {', '.join(_DECODES)}, found {decode!r}")
        if decode == "edge" and bins < 2:
            raise DimensionError(f"bins: expected at least 2 for decode='edge', found {bins}")
        low = np.asarray(low, dtype=float) if not isinstance(low, str) else low
        high = np.asarray(high, dtype=float) if not isinstance(high, str) else high
        if dim is not None:
            dim = as_int("dim", dim, minimum=1)
        lo = as_vector("low", low)
        hi = as_vector("high", high)
        m = dim if dim is not None else max(lo.size, hi.size)
        if lo.size == 1:
            lo = np.full(m, lo[0])
        if hi.size == 1:
            hi = np.full(m, hi[0])
        if lo.size != m or hi.size != m:
            raise DimensionError(f"low, high: expected length {m}, found lengths {lo.size} and {hi.size}")
        if np.any(hi <= lo):
            j = int(np.argmax(hi <= lo))
            raise DimensionError(f"high: expected high > low in every coordinate, found low={lo[j]:g}, "
                                 f"high={hi[j]:g} in coordinate {j}")
        if bins**m > _MAX_TOKENS:
            raise DimensionError(f"bins: expected bins**dim <= 2**62 (flat int64 tokens), found {bins}**{m}")
        lo.setflags(write=False)
        hi.setflags(write=False)
        object.__setattr__(self, "low", lo)
        object.__setattr__(self, "high", hi)
        object.__setattr__(self, "bins", bins)
        object.__setattr__(self, "decode_mode", decode)

    kind = "binning"

    @property
    def dim(self) -> int:
        """Action dimension m."""
        return self.low.size

    @property
    def width(self) -> np.ndarray:
        """Cell width per coordinate, ``(high - low) / bins``."""
        return (self.high - self.low) / self.bins

    @property
    def spacing(self) -> np.ndarray:
        """Distance between neighbouring representatives per coordinate."""
        if self.decode_mode == "edge":
            return (self.high - self.low) / (self.bins - 1)
        return self.width

    @property
    def coordinate_error(self) -> np.ndarray:
        """Per-coordinate sup error inside the range."""
        return self.width if self.decode_mode == "left" else self.spacing / 2

    @property
    def eps_sup(self) -> float:
        """Euclidean sup error for actions inside the range (see the class docstring for outside)."""
        return float(np.sqrt(np.sum(self.coordinate_error**2)))

    @property
    def n_tokens(self) -> int:
        """Vocabulary size ``bins ** dim``."""
        return self.bins**self.dim

    def in_range(self, u) -> np.ndarray:
        """Boolean array ``(...)``: whether each action lies inside the clip range."""
        u = _actions("u", u, self.dim)
        return np.all((u >= self.low) & (u <= self.high), axis=-1)

    def bin_index(self, u) -> np.ndarray:
        """Per-coordinate cell indices, integer array ``(..., dim)`` (after clipping to the range)."""
        u = _actions("u", u, self.dim)
        if self.decode_mode == "edge":
            idx = np.rint((u - self.low) / self.spacing)
        else:
            idx = np.floor((u - self.low) / self.width)
        return np.clip(idx, 0, self.bins - 1).astype(np.int64)

    def representatives(self) -> np.ndarray:
        """Representative values per coordinate, shape ``(dim, bins)``."""
        i = np.arange(self.bins)
        if self.decode_mode == "center":
            return self.low[:, None] + (i + 0.5) * self.width[:, None]
        if self.decode_mode == "left":
            return self.low[:, None] + i * self.width[:, None]
        return self.low[:, None] + i * self.spacing[:, None]

    def encode(self, u) -> np.ndarray:
        """Flat tokens ``(...)``: the row-major index of the cell of each action."""
        idx = self.bin_index(u)
        return np.ravel_multi_index(tuple(np.moveaxis(idx, -1, 0)), (self.bins,) * self.dim)

    def decode(self, tokens) -> np.ndarray:
        """Representative actions ``(..., dim)`` of flat tokens ``(...)``."""
        t = _tokens("tokens", tokens, self.n_tokens)
        idx = np.stack(np.unravel_index(t, (self.bins,) * self.dim), axis=-1)
        return self.decode_index(idx)

    def decode_index(self, idx) -> np.ndarray:
        """Representative actions ``(..., dim)`` of per-coordinate indices ``(..., dim)``."""
        idx = np.asarray(idx)
        if self.decode_mode == "center":
            return self.low + (idx + 0.5) * self.width
        if self.decode_mode == "left":
            return self.low + idx * self.width
        return self.low + idx * self.spacing

    def __call__(self, u) -> np.ndarray:
        """``q(u)``, shape ``(..., dim)``."""
        return self.decode_index(self.bin_index(u))

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        return {"kind": self.kind, "low": self.low.tolist(), "high": self.high.tolist(), "bins": self.bins,
                "decode": self.decode_mode, "eps_sup": self.eps_sup}


def _sq_dists(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances ``(N, K)`` between rows of x and rows of c."""
    d = (x * x).sum(1)[:, None] - 2.0 * x @ c.T + (c * c).sum(1)[None, :]
    return np.maximum(d, 0.0)


def _nearest(x: np.ndarray, c: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Index of the nearest row of c for each row of x (ties to the lowest index), in chunks."""
    out = np.empty(x.shape[0], dtype=np.int64)
    for s in range(0, x.shape[0], chunk):
        out[s:s + chunk] = np.argmin(_sq_dists(x[s:s + chunk], c), axis=1)
    return out


def kmeans(x, n_codes: int, seed: int = 0, max_iter: int = 300) -> np.ndarray:
    """Lloyd's k-means with k-means++ seeding, deterministic given ``seed``.

    Parameters
    ----------
    x : (N, m) array_like
        Points to cluster, ``N >= n_codes``.
    n_codes : int
        Number of centres.
    seed : int
        Seed of the k-means++ initialisation.
    max_iter : int
        Iteration cap; iteration stops earlier when the assignment no longer changes.

    Returns
    -------
    (n_codes, m) ndarray
        The centres. A centre that loses all its points is moved to the point farthest from its
        current centre, so no centre is left empty.
    """
    x = as_matrix("x", x)
    n_codes = as_int("n_codes", n_codes, minimum=1)
    if x.shape[0] < n_codes:
        raise DimensionError(f"x: expected at least n_codes={n_codes} points, found {x.shape[0]}")
    rng = np.random.default_rng(seed)
    centres = np.empty((n_codes, x.shape[1]))
    centres[0] = x[rng.integers(x.shape[0])]
    d2 = _sq_dists(x, centres[:1])[:, 0]
    for j in range(1, n_codes):
        total = d2.sum()
        i = rng.choice(x.shape[0], p=d2 / total) if total > 0 else rng.integers(x.shape[0])
        centres[j] = x[i]
        d2 = np.minimum(d2, _sq_dists(x, centres[j:j + 1])[:, 0])
    labels = None
    for _ in range(max_iter):
        new = _nearest(x, centres)
        if labels is not None and np.array_equal(new, labels):
            break
        labels = new
        counts = np.bincount(labels, minlength=n_codes)
        sums = np.zeros_like(centres)
        np.add.at(sums, labels, x)
        filled = counts > 0
        centres[filled] = sums[filled] / counts[filled, None]
        if not filled.all():
            far = np.argsort(-_sq_dists(x, centres).min(axis=1))
            centres[~filled] = x[far[: int((~filled).sum())]]
    return centres


@dataclass(frozen=True, eq=False)
class KMeansQuantizer:
    r"""A learned codebook: k-means on expert actions, decoding to the nearest centre.

    Construct it unfitted, then call :meth:`fit` on expert actions; the result is deterministic
    given ``seed``. It has no sup error bound (``eps_sup is None``): its error is small only where
    the expert's actions were during fitting, which is what makes learned quantizers able to fail
    silently (Cao & Xie 2026, Proposition 5(i) and Theorem 6).

    Parameters
    ----------
    n_codes : int
        Codebook size.
    seed : int
        Seed of the k-means++ initialisation.
    codebook : (n_codes, m) array_like, optional
        A given codebook (skips fitting).
    """

    n_codes: int
    seed: int = 0
    codebook: np.ndarray | None = field(default=None)

    kind = "kmeans"
    eps_sup = None

    def __post_init__(self):
        object.__setattr__(self, "n_codes", as_int("n_codes", self.n_codes, minimum=1))
        object.__setattr__(self, "seed", as_int("seed", self.seed, minimum=0))
        if self.codebook is not None:
            cb = as_matrix("codebook", self.codebook, rows=self.n_codes)
            cb.setflags(write=False)
            object.__setattr__(self, "codebook", cb)

    def fit(self, actions) -> "KMeansQuantizer":
        """A fitted copy, with the k-means codebook of ``actions (N, m)``."""
        return replace(self, codebook=kmeans(actions, self.n_codes, self.seed))

    def _fitted(self) -> np.ndarray:
        if self.codebook is None:
            raise SolverError("KMeansQuantizer: expected a fitted codebook, found none (call fit first)")
        return self.codebook

    @property
    def dim(self) -> int:
        """Action dimension."""
        return self._fitted().shape[1]

    @property
    def n_tokens(self) -> int:
        """Vocabulary size."""
        return self.n_codes

    def encode(self, u) -> np.ndarray:
        """Index of the nearest centre, shape ``(...)``."""
        cb = self._fitted()
        u = _actions("u", u, cb.shape[1])
        return _nearest(u.reshape(-1, cb.shape[1]), cb).reshape(u.shape[:-1])

    def decode(self, tokens) -> np.ndarray:
        """Centres of the tokens, shape ``(..., m)``."""
        return self._fitted()[_tokens("tokens", tokens, self.n_codes)]

    def __call__(self, u) -> np.ndarray:
        """``q(u)``, the nearest centre."""
        return self.decode(self.encode(u))

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        return {"kind": self.kind, "n_codes": self.n_codes, "seed": self.seed, "eps_sup": None}


@dataclass(frozen=True, eq=False)
class ResidualVQ:
    r"""Residual vector quantization: ``stages`` k-means codebooks, each fitted on the residual
    the previous stages left.

    .. math::

        q(u) = \sum_{s=1}^{S} c^{(s)}_{i_s}, \qquad
        i_s = \arg\min_i \Big\| u - \sum_{t<s} c^{(t)}_{i_t} - c^{(s)}_i \Big\|.

    The flat token is the row-major index of ``(i_1, ..., i_S)``; ``n_tokens = n_codes ** stages``.
    Learned, so ``eps_sup is None``.

    Parameters
    ----------
    stages : int
        Number of codebooks.
    n_codes : int
        Size of each codebook.
    seed : int
        Seed; stage s uses ``seed + s``.
    codebooks : (stages, n_codes, m) array_like, optional
        Given codebooks (skips fitting).
    """

    stages: int
    n_codes: int
    seed: int = 0
    codebooks: np.ndarray | None = field(default=None)

    kind = "rvq"
    eps_sup = None

    def __post_init__(self):
        object.__setattr__(self, "stages", as_int("stages", self.stages, minimum=1))
        object.__setattr__(self, "n_codes", as_int("n_codes", self.n_codes, minimum=1))
        object.__setattr__(self, "seed", as_int("seed", self.seed, minimum=0))
        if self.n_codes**self.stages > _MAX_TOKENS:
            raise DimensionError(f"stages: expected n_codes**stages <= 2**62 (flat int64 tokens), found "
                                 f"{self.n_codes}**{self.stages}")
        if self.codebooks is not None:
            cb = np.asarray(self.codebooks, dtype=float)
            if cb.ndim != 3 or cb.shape[:2] != (self.stages, self.n_codes):
                raise DimensionError(f"codebooks: expected shape ({self.stages}, {self.n_codes}, m), "
                                     f"found {cb.shape}")
            cb.setflags(write=False)
            object.__setattr__(self, "codebooks", cb)

    def fit(self, actions) -> "ResidualVQ":
        """A fitted copy: stage s clusters the residuals of stages before it."""
        r = as_matrix("actions", actions).copy()
        books = []
        for s in range(self.stages):
            cb = kmeans(r, self.n_codes, self.seed + s)
            r -= cb[_nearest(r, cb)]
            books.append(cb)
        return replace(self, codebooks=np.stack(books))

    def _fitted(self) -> np.ndarray:
        if self.codebooks is None:
            raise SolverError("ResidualVQ: expected fitted codebooks, found none (call fit first)")
        return self.codebooks

    @property
    def dim(self) -> int:
        """Action dimension."""
        return self._fitted().shape[2]

    @property
    def n_tokens(self) -> int:
        """Vocabulary size ``n_codes ** stages``."""
        return self.n_codes**self.stages

    def encode(self, u) -> np.ndarray:
        """Flat tokens ``(...)`` of the greedy stage-by-stage codes."""
        books = self._fitted()
        u = _actions("u", u, books.shape[2])
        r = u.reshape(-1, books.shape[2]).copy()
        codes = []
        for cb in books:
            i = _nearest(r, cb)
            r -= cb[i]
            codes.append(i)
        flat = np.ravel_multi_index(tuple(codes), (self.n_codes,) * self.stages)
        return flat.reshape(u.shape[:-1])

    def decode(self, tokens) -> np.ndarray:
        """Sum of the stage codewords, shape ``(..., m)``."""
        books = self._fitted()
        t = _tokens("tokens", tokens, self.n_tokens)
        codes = np.unravel_index(t, (self.n_codes,) * self.stages)
        return sum(books[s][codes[s]] for s in range(self.stages))

    def __call__(self, u) -> np.ndarray:
        """``q(u)``."""
        return self.decode(self.encode(u))

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        return {"kind": self.kind, "stages": self.stages, "n_codes": self.n_codes, "seed": self.seed,
                "eps_sup": None}


@dataclass(frozen=True, eq=False)
class DCTBinning:
    r"""FAST-style chunk tokenizer: orthonormal DCT-II along time, scale, round to integers.

    For a chunk ``U`` of ``T`` actions of dimension ``D`` (shape ``(T, D)``),

    .. math::

        \mathrm{tokens} = \mathrm{round}(s\, \mathcal{D} U), \qquad
        q(U) = \mathcal{D}^{\top}(\mathrm{tokens} / s),

    with :math:`\mathcal{D}` the orthonormal DCT-II over the time axis. Rounding moves each of the
    ``T D`` coefficients by at most ``1/(2 s)`` and :math:`\mathcal{D}` is orthonormal, so

    .. math::

        \|q(U) - U\|_F \le \frac{\sqrt{T D}}{2 s}.

    ``eps_sup`` is this chunk bound. With ``T = 1`` the tokenizer is uniform rounding of each
    action with step ``1/s`` (an unbounded-range binning). The byte-pair compression FAST adds on
    top of the integers is lossless and does not change the error.

    Parameters
    ----------
    scale : float
        Multiplier ``s > 0`` before rounding.
    chunk : int
        Chunk length ``T``.
    dim : int
        Action dimension ``D``.
    """

    scale: float
    chunk: int = 1
    dim: int = 1

    kind = "dct"

    def __post_init__(self):
        object.__setattr__(self, "scale", as_real("scale", self.scale, positive=True))
        object.__setattr__(self, "chunk", as_int("chunk", self.chunk, minimum=1))
        object.__setattr__(self, "dim", as_int("dim", self.dim, minimum=1))

    @property
    def eps_sup(self) -> float:
        """Frobenius sup error of a chunk, ``sqrt(T D) / (2 s)``."""
        return math.sqrt(self.chunk * self.dim) / (2.0 * self.scale)

    n_tokens = None

    def _chunks(self, u) -> np.ndarray:
        u = np.asarray(u, dtype=float)
        if u.ndim < 2 or u.shape[-2:] != (self.chunk, self.dim):
            raise DimensionError(f"u: expected action chunks of shape (..., {self.chunk}, {self.dim}), "
                                 f"found shape {u.shape}")
        return u

    def encode(self, u) -> np.ndarray:
        """Integer DCT coefficients, shape ``(..., T, D)``."""
        coef = scipy.fft.dct(self._chunks(u), type=2, norm="ortho", axis=-2)
        return np.rint(self.scale * coef).astype(np.int64)

    def decode(self, tokens) -> np.ndarray:
        """Action chunks ``(..., T, D)`` from integer coefficients."""
        t = _tokens("tokens", tokens, None)
        if t.ndim < 2 or t.shape[-2:] != (self.chunk, self.dim):
            raise DimensionError(f"tokens: expected shape (..., {self.chunk}, {self.dim}), found {t.shape}")
        return scipy.fft.idct(t / self.scale, type=2, norm="ortho", axis=-2)

    def __call__(self, u) -> np.ndarray:
        """``q(U)`` for chunks ``(..., T, D)``."""
        return self.decode(self.encode(u))

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        return {"kind": self.kind, "scale": self.scale, "chunk": self.chunk, "dim": self.dim,
                "eps_sup": self.eps_sup}


_VARIANTS = ("deterministic", "noisy")


@dataclass(frozen=True, eq=False)
class TrapLoopQuantizer:
    r"""The non-smooth learned quantizer of Theorem 6 for the scalar system
    ``x+ = A x + B u (+ w)`` with expert ``u = arctan(x)``.

    The quantizer is defined through the state ``x = tan(u)`` at which the expert plays ``u``.
    **Deterministic variant** (conditions ``d > k/2 > B/(1 - lambda)``, ``A k < 1``, ``lambda = A + B < 1``):

    .. math::

        I_P = [-k\varepsilon/2, k\varepsilon/2],\;
        I_{T1} = [d\varepsilon, (d+1)\varepsilon],\;
        I_{T2} = [A d\varepsilon + B, A(d+1)\varepsilon + B],

        q = \tfrac{d + 1/2}{B}\varepsilon \text{ on } I_P,\quad 1 \text{ on } I_{T1},\quad
        \tfrac{(d+1)(1-A^2)}{B}\varepsilon - A \text{ on } I_{T2},

    and elsewhere ``q(u) = u + delta`` with ``delta`` in ``[-eps/2, 0)`` (a floor-type binning of
    width ``eps/2``, so ``|delta| < eps`` and ``delta < 0``). On the noiseless system this maps
    ``I_P`` into ``I_T1``, ``I_T1`` into ``I_T2`` and ``I_T2`` back into ``I_T1``.

    **Noisy variant** (for ``x+ = A x + B u + w``, ``sigma_w = o(eps)``; same conditions, ``d`` unused):

    .. math::

        I_P = [-k\varepsilon, k\varepsilon],\;
        I_{T1} = [2k\varepsilon, (2k + 2Ak)\varepsilon],\;
        I_{T2} = [B + 2Ak\varepsilon, B + A(2k + 2Ak)\varepsilon],

        q = \tfrac{(2 + A)k\varepsilon}{B} \text{ on } I_P,\quad 1 \text{ on } I_{T1},\quad
        -\tfrac{(1 + 2A^2)k\varepsilon}{B} - A \text{ on } I_{T2},

    elsewhere centre binning of width ``2 c_delta eps`` (``|delta| <= c_delta eps``). The noiseless
    loop is ``I_P -> I_T1 -> I_T2 -> I_P``.

    Parameters
    ----------
    A, B : float
        The scalar system, ``A, B > 0``, ``A + B < 1``.
    k : float
        Width parameter of ``I_P``.
    eps : float
        Quantization scale ``eps > 0``; it must be small enough that the intervals are disjoint.
    d : float, optional
        Offset of ``I_T1`` (deterministic variant only).
    variant : {"deterministic", "noisy"}
    c_delta : float
        Noisy variant: half-width of the fallback binning in units of ``eps`` (default 1/2).

    Raises
    ------
    AssumptionError
        Naming the first violated condition and its numbers.

    References
    ----------
    Cao & Xie 2026, Theorem 6 and its proof.
    """

    A: float
    B: float
    k: float
    eps: float
    d: float | None = None
    variant: str = "deterministic"
    c_delta: float = 0.5

    kind = "trap"
    eps_sup = None
    dim = 1

    def __post_init__(self):
        A = as_real("A", self.A)
        B = as_real("B", self.B)
        k = as_real("k", self.k, positive=True)
        eps = as_real("eps", self.eps, positive=True)
        c_delta = as_real("c_delta", self.c_delta, positive=True)
        if self.variant not in _VARIANTS:
            raise DimensionError(f"variant: expected one of {', '.join(_VARIANTS)}, found {self.variant!r}")
        for name, value in (("A", A), ("B", B), ("k", k), ("eps", eps), ("c_delta", c_delta)):
            object.__setattr__(self, name, value)
        if A <= 0 or B <= 0:
            raise AssumptionError(f"A, B: Theorem 6 needs A > 0 and B > 0, found A={A:g}, B={B:g}")
        lam = A + B
        if lam >= 1:
            raise AssumptionError(f"A, B: Theorem 6 needs lambda = A + B < 1, found lambda={lam:g}")
        q0 = B / (1 - lam)
        if self.variant == "deterministic":
            if self.d is None:
                raise AssumptionError("d: the deterministic trap quantizer needs d, found none")
            d = as_real("d", self.d)
            object.__setattr__(self, "d", d)
            if not d > k / 2:
                raise AssumptionError(f"d: Theorem 6 needs d > k/2, found d={d:g}, k/2={k / 2:g}")
        elif self.d is not None:
            raise AssumptionError(f"d: the noisy trap quantizer does not use d, found d={self.d!r}")
        if not k / 2 > q0:
            raise AssumptionError(
                f"k: Theorem 6 needs k/2 > B/(1 - lambda), found k/2={k / 2:g}, B/(1 - lambda)={q0:g}"
            )
        if not A * k < 1:
            raise AssumptionError(f"A, k: Theorem 6 needs A k < 1, found A k={A * k:g}")
        ip, t1, t2 = self.intervals
        if not (ip[1] < t1[0] and t1[1] < t2[0]):
            raise AssumptionError(
                f"eps: the intervals I_P={ip}, I_T1={t1}, I_T2={t2} must be disjoint and ordered; "
                f"found eps={eps:g} too large"
            )

    @property
    def lam(self) -> float:
        """``lambda = A + B``."""
        return self.A + self.B

    @property
    def intervals(self) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float]]:
        """``(I_P, I_T1, I_T2)`` as closed intervals ``(lo, hi)``."""
        A, B, k, e = self.A, self.B, self.k, self.eps
        if self.variant == "deterministic":
            d = self.d
            return ((-k * e / 2, k * e / 2), (d * e, (d + 1) * e), (A * d * e + B, A * (d + 1) * e + B))
        return ((-k * e, k * e), (2 * k * e, (2 * k + 2 * A * k) * e),
                (B + 2 * A * k * e, B + A * (2 * k + 2 * A * k) * e))

    @property
    def trap_actions(self) -> tuple[float, float, float]:
        """The quantized actions on ``(I_P, I_T1, I_T2)``."""
        A, B, k, e = self.A, self.B, self.k, self.eps
        if self.variant == "deterministic":
            d = self.d
            return ((d + 0.5) / B * e, 1.0, (d + 1) * (1 - A**2) / B * e - A)
        return ((2 + A) * k * e / B, 1.0, -(1 + 2 * A**2) * k * e / B - A)

    @property
    def fallback_width(self) -> float:
        """Width of the binning used outside the three intervals."""
        return self.eps / 2 if self.variant == "deterministic" else 2 * self.c_delta * self.eps

    @property
    def _offset(self) -> int:
        return int(math.ceil(math.pi / self.fallback_width)) + 2

    @property
    def n_tokens(self) -> int:
        """Three trap tokens plus the fallback bins covering ``(-pi/2, pi/2)``."""
        return 3 + 2 * self._offset

    def region(self, x) -> np.ndarray:
        """For states ``x`` (any shape): 0 on I_P, 1 on I_T1, 2 on I_T2, -1 elsewhere."""
        x = np.asarray(x, dtype=float)
        out = np.full(x.shape, -1, dtype=np.int64)
        for j, (lo, hi) in enumerate(self.intervals):
            out[(x >= lo) & (x <= hi)] = j
        return out

    def _fallback_index(self, u: np.ndarray) -> np.ndarray:
        w = self.fallback_width
        if self.variant == "deterministic":
            i = np.ceil(u / w) - 1
        else:
            i = np.floor(u / w)
        return i.astype(np.int64)

    def encode(self, u) -> np.ndarray:
        """Tokens ``(...)`` for actions ``(..., 1)``: 0-2 for the trap values, 3+ for fallback bins."""
        u = _actions("u", u, 1)[..., 0]
        if np.any(np.abs(u) >= np.pi / 2):
            raise DimensionError("u: expected actions of the arctan expert, in (-pi/2, pi/2), found "
                                 f"{u[np.abs(u) >= np.pi / 2].ravel()[0]:g}")
        reg = self.region(np.tan(u))
        fallback = 3 + self._fallback_index(u) + self._offset
        return np.where(reg >= 0, reg, fallback)

    def decode(self, tokens) -> np.ndarray:
        """Actions ``(..., 1)`` of tokens ``(...)``."""
        t = _tokens("tokens", tokens, self.n_tokens)
        i = (t - 3 - self._offset).astype(float)
        w = self.fallback_width
        fb = i * w if self.variant == "deterministic" else (i + 0.5) * w
        out = np.where(t <= 2, np.asarray(self.trap_actions)[np.minimum(t, 2)], fb)
        return out[..., None]

    def __call__(self, u) -> np.ndarray:
        """``q(u)``, shape ``(..., 1)``."""
        return self.decode(self.encode(u))

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        return {"kind": self.kind, "variant": self.variant, "A": self.A, "B": self.B, "k": self.k,
                "d": self.d, "eps": self.eps, "intervals": [list(i) for i in self.intervals],
                "eps_sup": None}


# --- applying a quantizer to batches of actions -------------------------------------------------

def per_step_quantizer(quantizer):
    """``u (N, du) -> q(u) (N, du)`` for a per-step quantizer (a DCT tokenizer only with chunk 1)."""
    if not callable(quantizer) or not hasattr(quantizer, "encode"):
        raise DimensionError(f"quantizer: expected a quantizer with encode/decode, found {describe(quantizer)}")
    chunk = getattr(quantizer, "chunk", None)
    if chunk is None:
        return quantizer
    if chunk != 1:
        raise DimensionError(
            f"quantizer: expected a per-step quantizer (DCT chunk 1), found a DCT tokenizer with chunk {chunk}"
        )
    return lambda u: quantizer(u[..., None, :])[..., 0, :]


def quantize_actions(quantizer, u) -> np.ndarray:
    r"""``q(u)`` for actions ``u (..., du)`` with any per-step quantizer, shape ``(..., du)``.

    .. math::

        \|q(u) - u\| \le \varepsilon_q \text{ (binning, inside its range)}.

    Parameters
    ----------
    quantizer : a quantizer of :mod:`qbc_theory.model.quantizers`
        Per-step; a :class:`~qbc_theory.model.quantizers.DCTBinning` is accepted only with ``chunk = 1``.
    u : (..., du) array_like

    Raises
    ------
    DimensionError
        For a chunk tokenizer with ``chunk > 1`` or actions of the wrong dimension.

    References
    ----------
    Cao & Xie 2026, Section 2 (a quantized action is played as its representative).
    """
    return per_step_quantizer(quantizer)(np.asarray(u, dtype=float))


def encode_actions(quantizer, u) -> np.ndarray:
    """Flat integer tokens ``(...)`` of actions ``u (..., du)`` (the learner's training labels).

    For a DCT tokenizer with ``chunk = 1`` and ``dim = 1`` the token is the integer coefficient.

    Raises
    ------
    DimensionError
        For a chunk tokenizer with ``chunk > 1`` or ``dim > 1`` (no flat token exists).

    References
    ----------
    Cao & Xie 2026, Section 2 (log-loss BC on the tokens ``q(u_h)``).
    """
    u = np.asarray(u, dtype=float)
    chunk = getattr(quantizer, "chunk", None)
    if chunk is None:
        return np.asarray(quantizer.encode(u))
    if chunk != 1 or u.shape[-1] != 1:
        raise DimensionError(
            f"quantizer: expected a per-step scalar tokenizer for flat tokens, found a DCT tokenizer with "
            f"chunk {chunk} and dim {u.shape[-1]}"
        )
    return np.asarray(quantizer.encode(u[..., None, :]))[..., 0, 0]
