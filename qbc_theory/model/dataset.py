r"""Logged demonstrations (``DATA.npz``): loading, validation, the episode split and action chunks.

Two layouts are accepted, the second being that of common robot-learning dataset exports:

- ``states (N, H, dx)`` and ``actions (N, H, du)``: ``N`` episodes of ``H`` steps;
- ``states (T, dx)``, ``actions (T, du)`` and ``episode_ends (E,)``: steps of all episodes one after
  the other, ``episode_ends`` the exclusive end index of each episode (strictly increasing, the last
  equal to ``T``).

Files are read with ``np.load(..., allow_pickle=False)``: object arrays are refused, nothing is
unpickled or evaluated. Every defect gives one :class:`~qbc_theory.model.errors.DimensionError` or
:class:`~qbc_theory.model.errors.SpecError` naming the array, what was expected and what was found.

References
----------
Cao & Xie 2026, Section 2 (expert data: trajectories of states and actions).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DimensionError, SpecError
from .validation import as_real

__all__ = ["Demonstrations", "load_demonstrations", "demonstrations", "split_episodes", "chunk_episodes"]


@dataclass(frozen=True, eq=False)
class Demonstrations:
    """Episodes of states and actions, stored flat.

    Attributes
    ----------
    states : (T, dx) ndarray
    actions : (T, du) ndarray
    episode_ends : (E,) int ndarray
        Exclusive end index of each episode; ``episode_ends[-1] == T``.
    layout : {"episodes", "flat"}
        The layout the data came in.
    """

    states: np.ndarray
    actions: np.ndarray
    episode_ends: np.ndarray
    layout: str = "flat"

    @property
    def n_episodes(self) -> int:
        """Number of episodes ``E``."""
        return int(self.episode_ends.size)

    @property
    def episode_starts(self) -> np.ndarray:
        """Start index of each episode."""
        return np.concatenate([[0], self.episode_ends[:-1]]).astype(np.int64)

    @property
    def dx(self) -> int:
        """State dimension."""
        return self.states.shape[1]

    @property
    def du(self) -> int:
        """Action dimension."""
        return self.actions.shape[1]

    def select(self, episodes) -> "Demonstrations":
        """The demonstrations of the given episode indices (in that order)."""
        episodes = np.asarray(episodes, dtype=np.int64)
        starts, ends = self.episode_starts[episodes], self.episode_ends[episodes]
        lengths = ends - starts
        idx = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths) + np.arange(lengths.sum())
        return Demonstrations(self.states[idx], self.actions[idx], np.cumsum(lengths), self.layout)

    def to_dict(self) -> dict:
        """JSON-ready summary."""
        lengths = np.diff(np.concatenate([[0], self.episode_ends]))
        return {"steps": int(self.states.shape[0]), "episodes": self.n_episodes, "dx": self.dx, "du": self.du,
                "layout": self.layout, "episode_length": {"min": int(lengths.min()), "max": int(lengths.max())}}


def _numeric(name: str, arr: np.ndarray) -> np.ndarray:
    if arr.dtype == object:
        raise DimensionError(f"{name}: expected a numeric array, found an object array (refused: allow_pickle=False)")
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)) \
            or arr.dtype == bool:
        raise DimensionError(f"{name}: expected a real numeric array, found dtype {arr.dtype}")
    return arr


def _finite(name: str, arr: np.ndarray) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise DimensionError(f"{name}: expected finite values, found {arr[where]} at index {where}")


def demonstrations(states, actions, episode_ends=None) -> Demonstrations:
    r"""Validate arrays of demonstrations (either layout, see the module docstring).

    Parameters
    ----------
    states : (N, H, dx) or (T, dx) array_like
    actions : (N, H, du) or (T, du) array_like
    episode_ends : (E,) array_like of int, optional
        Required with the flat layout, refused with the episode layout.

    Returns
    -------
    Demonstrations

    Raises
    ------
    DimensionError
        Naming the array: object or non-numeric dtype, wrong number of axes, mismatched lengths,
        NaN or inf, empty data, or bad ``episode_ends``.
    """
    s = _numeric("states", np.asarray(states))
    a = _numeric("actions", np.asarray(actions))
    if s.ndim not in (2, 3):
        raise DimensionError(f"states: expected shape (N, H, dx) or (T, dx), found shape {s.shape}")
    if a.ndim != s.ndim:
        want = "(N, H, du)" if s.ndim == 3 else "(T, du)"
        raise DimensionError(f"actions: expected shape {want} like states {s.shape}, found shape {a.shape}")
    if s.ndim == 3:
        if episode_ends is not None:
            raise DimensionError("episode_ends: expected none with states of shape (N, H, dx), found one")
        if a.shape[:2] != s.shape[:2]:
            raise DimensionError(f"actions: expected {s.shape[0]} episodes of {s.shape[1]} steps like states, "
                                 f"found shape {a.shape}")
        if 0 in s.shape or 0 in a.shape:
            raise DimensionError(f"states: expected non-empty arrays, found states {s.shape}, actions {a.shape}")
        n, h = s.shape[:2]
        ends = np.arange(1, n + 1, dtype=np.int64) * h
        s, a, layout = s.reshape(n * h, -1), a.reshape(n * h, -1), "episodes"
    else:
        if a.shape[0] != s.shape[0]:
            raise DimensionError(f"actions: expected {s.shape[0]} rows like states, found {a.shape[0]}")
        if 0 in s.shape or 0 in a.shape:
            raise DimensionError(f"states: expected non-empty arrays, found states {s.shape}, actions {a.shape}")
        if episode_ends is None:
            raise DimensionError("episode_ends: expected the end index of each episode with flat (T, dx) states, "
                                 "found none")
        e = np.asarray(episode_ends)
        if e.dtype == object or not np.issubdtype(e.dtype, np.integer) or e.ndim != 1 or e.size == 0:
            raise DimensionError(f"episode_ends: expected a non-empty 1-D integer array, found dtype {e.dtype} "
                                 f"and shape {e.shape}")
        if np.any(np.diff(e) <= 0) or e[0] <= 0:
            raise DimensionError("episode_ends: expected strictly increasing positive end indices, found "
                                 f"{e[np.argmax(np.diff(np.concatenate([[0], e])) <= 0)]} out of order")
        if int(e[-1]) != s.shape[0]:
            raise DimensionError(f"episode_ends: expected the last end to be T={s.shape[0]}, found {int(e[-1])}")
        ends, layout = e.astype(np.int64), "flat"
    _finite("states", s)
    _finite("actions", a)
    return Demonstrations(np.ascontiguousarray(s, dtype=float), np.ascontiguousarray(a, dtype=float), ends, layout)


def load_demonstrations(path) -> Demonstrations:
    """Load and validate ``DATA.npz`` (``states``, ``actions`` and, flat, ``episode_ends``).

    Other arrays in the file are ignored. Nothing is unpickled (``allow_pickle=False``).

    Raises
    ------
    SpecError
        The file cannot be read or is not an ``.npz`` archive, or an array is missing.
    DimensionError
        As :func:`demonstrations`.
    """
    p = Path(path)
    try:
        archive = np.load(p, allow_pickle=False)
    except FileNotFoundError:
        raise SpecError(f"{p}: cannot read the data file (no such file)") from None
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise SpecError(f"{p}: expected an .npz archive of numeric arrays, found an unreadable file ({exc})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise SpecError(f"{p}: expected an .npz archive with arrays states and actions, found a single array")
    with archive:
        names = sorted(archive.files)
        arrays = {}
        for key in ("states", "actions", "episode_ends"):
            if key not in archive.files:
                if key == "episode_ends":
                    continue
                raise SpecError(f"{key}: expected an array named {key!r} in {p.name}, found arrays "
                                f"{', '.join(names) if names else 'none'}")
            try:
                arrays[key] = archive[key]
            except ValueError:
                raise DimensionError(f"{key}: expected a numeric array, found an object array "
                                     "(refused: allow_pickle=False)") from None
            except (OSError, zipfile.BadZipFile, EOFError) as exc:
                raise SpecError(f"{key}: cannot read the array from {p.name} ({exc})") from None
    return demonstrations(arrays["states"], arrays["actions"], arrays.get("episode_ends"))


def split_episodes(demos: Demonstrations, fit_fraction, rng: np.random.Generator):
    """Split the episodes at random into a fit part and an audit part.

    Parameters
    ----------
    demos : Demonstrations
    fit_fraction : float
        In (0, 1); the fit part gets ``round(fit_fraction E)`` episodes, at least one and at most
        ``E - 1``.
    rng : numpy.random.Generator

    Returns
    -------
    (Demonstrations, Demonstrations)
        Fit and audit parts.

    Raises
    ------
    DimensionError
        Fewer than two episodes, or a fraction outside (0, 1).
    """
    f = as_real("fit_fraction", fit_fraction, low=0, high=1, open_low=True, open_high=True)
    E = demos.n_episodes
    if E < 2:
        raise DimensionError(f"episode_ends: expected at least 2 episodes to fit on one part and audit on the "
                             f"other, found {E}")
    n_fit = min(max(int(round(f * E)), 1), E - 1)
    perm = rng.permutation(E)
    return demos.select(np.sort(perm[:n_fit])), demos.select(np.sort(perm[n_fit:]))


def chunk_episodes(demos: Demonstrations, chunk: int):
    """Consecutive non-overlapping action chunks of each episode, with the state at their start.

    An episode of length ``H`` gives ``floor(H / l)`` chunks starting at ``0, l, 2l, ...``; the last
    ``H mod l`` steps of each episode are dropped (counted in the result).

    Returns
    -------
    states : (M, dx) ndarray
        ``x_h`` at the first step of each chunk.
    chunks : (M, l, du) ndarray
    dropped : int
        Steps left out at episode ends.
    """
    starts, ends = demos.episode_starts, demos.episode_ends
    counts = (ends - starts) // chunk
    total = int(counts.sum())
    first = np.repeat(starts, counts) + chunk * (np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts))
    idx = first[:, None] + np.arange(chunk)[None, :]
    return demos.states[first], demos.actions[idx], int(demos.states.shape[0] - total * chunk)
