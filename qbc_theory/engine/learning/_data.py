"""Shared input checks and small helpers of the learners.

Part of :mod:`qbc_theory.engine.learning` (see its docstring for the estimator and the
conventions); import the names from there.
"""

from __future__ import annotations

import numpy as np

from ...model.errors import DimensionError
from ...model.validation import as_int

__all__: list[str] = []


_LINKS = {"linear": None, "arctan": np.arctan}

# Elements per temporary (samples x candidates x coordinates) array: 8 MB of float64, which
# measured faster than larger chunks (the temporaries stay in cache).
_CHUNK_ELEMENTS = 1 << 20


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
