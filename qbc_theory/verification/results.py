"""Result tables and the cell cache of :mod:`qbc_theory.verification.runner`.

* :class:`ResultTable`: the tidy results of one spec run, one row per (cell, seed), with JSON I/O.
* The cache: each finished cell is a JSON file ``OUT/cells/<key>.json`` (``key`` is the SHA-256 of the
  spec id, cell function name, cell parameters, number of seeds, root entropy, spawn key and code
  version), written to a temporary name and renamed with ``os.replace`` so a file is complete or absent.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..model.validation import describe
from ..model.errors import DimensionError, SpecError
from .specs import Cell

__all__ = ["ResultTable"]

_CELL_FORMAT = "qbc-cell/1"
_TABLE_FORMAT = "qbc-results/1"


# --------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class ResultTable:
    """Tidy results of one spec run: one row per (cell, seed).

    Attributes
    ----------
    spec_id, cell, profile : str
    entropy : int
        Entropy of the root SeedSequence (cell ``i`` used spawn key ``(i,)``).
    code_version : str
    params : dict
        The fixed parameters of the profile.
    grid : dict
        Ladder name -> list of values of the profile.
    seeds : int
    columns : tuple of str
        Measurement names.
    rows : tuple of dict
        ``{"cell": i, "seed": s, <ladder name>: value, ..., <measurement>: float, ...}``, in cell order
        then seed order.
    cells : tuple of dict
        ``{"index", "key", "spawn_key", "point"}`` per cell.
    run : dict
        How this table was produced (``backend``, ``computed`` and ``cached`` cell indices,
        ``seconds``, ``out``); not part of equality, since it differs between identical results.
    """

    spec_id: str
    cell: str
    profile: str
    entropy: int
    code_version: str
    params: dict
    grid: dict
    seeds: int
    columns: tuple
    rows: tuple
    cells: tuple
    run: dict = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict:
        """JSON-ready data (``format``: ``"qbc-results/1"``)."""
        return {"format": _TABLE_FORMAT, "spec_id": self.spec_id, "cell": self.cell, "profile": self.profile,
                "entropy": self.entropy, "code_version": self.code_version, "params": self.params,
                "grid": self.grid, "seeds": self.seeds, "columns": list(self.columns),
                "rows": [dict(r) for r in self.rows], "cells": [dict(c) for c in self.cells], "run": self.run}

    @classmethod
    def from_dict(cls, data: dict) -> "ResultTable":
        """Rebuild a table from :meth:`to_dict` output.

        Parameters
        ----------
        data : dict

        Returns
        -------
        ResultTable

        Raises
        ------
        SpecError
            If ``data`` is not a results table of this format.
        """
        if not isinstance(data, dict) or data.get("format") != _TABLE_FORMAT:
            raise SpecError(f"results: expected format {_TABLE_FORMAT!r}, found "
                            f"{describe(data.get('format') if isinstance(data, dict) else data)}")
        try:
            return cls(spec_id=data["spec_id"], cell=data["cell"], profile=data["profile"],
                       entropy=int(data["entropy"]), code_version=data["code_version"], params=data["params"],
                       grid=data["grid"], seeds=int(data["seeds"]), columns=tuple(data["columns"]),
                       rows=tuple(data["rows"]), cells=tuple(data["cells"]), run=data.get("run", {}))
        except KeyError as exc:
            raise SpecError(f"results.{exc.args[0]}: expected this key, found it missing") from None

    def to_json(self, path) -> Path:
        """Write :meth:`to_dict` to ``path`` atomically (temporary file, then ``os.replace``).

        Parameters
        ----------
        path : str or os.PathLike

        Returns
        -------
        pathlib.Path
        """
        path = Path(path)
        _atomic_write_json(path, self.to_dict())
        return path

    @classmethod
    def from_json(cls, path) -> "ResultTable":
        """Read a table written by :meth:`to_json`.

        Parameters
        ----------
        path : str or os.PathLike

        Returns
        -------
        ResultTable

        Raises
        ------
        SpecError
            If the file is missing, not JSON, or not a results table.
        """
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SpecError(f"results: expected a readable JSON file, found {path} "
                            f"({exc.__class__.__name__})") from None
        return cls.from_dict(data)

    def column(self, name: str) -> np.ndarray:
        """All rows' values of a column (a measurement, a ladder, ``cell`` or ``seed``).

        Parameters
        ----------
        name : str

        Returns
        -------
        (rows,) ndarray

        Raises
        ------
        DimensionError
            If there is no such column.
        """
        if self.rows and name not in self.rows[0]:
            raise DimensionError(f"column: expected one of {', '.join(self.rows[0])}, found {describe(name)}")
        return np.array([r[name] for r in self.rows])

    def pivot(self, value: str, along: str, where: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Measurements of ``value`` as a seeds x ladder matrix along one ladder, for :func:`fit_slope`.

        Parameters
        ----------
        value : str
            A measurement column.
        along : str
            A ladder of the grid (numeric).
        where : dict, optional
            Values of the other ladders; required for every other ladder with more than one value.

        Returns
        -------
        x : (P,) ndarray
            The ladder values, increasing.
        y : (seeds, P) ndarray
            ``y[s, i]`` = seed ``s``'s ``value`` at ``x[i]``.

        Raises
        ------
        DimensionError
            If a name is unknown, or if the selection leaves more than one cell per ladder value.
        """
        where = dict(where or {})
        if value not in self.columns:
            raise DimensionError(f"value: expected a measurement ({', '.join(self.columns)}), found {value!r}")
        if along not in self.grid:
            raise DimensionError(f"along: expected a ladder ({', '.join(self.grid)}), found {along!r}")
        for name, v in where.items():
            if name not in self.grid or name == along:
                raise DimensionError(f"where.{name}: expected another ladder of the grid, found {name!r}")
            if v not in self.grid[name]:
                raise DimensionError(f"where.{name}: expected one of {self.grid[name]}, found {v!r}")
        free = [n for n in self.grid if n != along and n not in where and len(self.grid[n]) > 1]
        if free:
            raise DimensionError(f"where: expected values for the other varying ladders, found none for "
                                 f"{', '.join(free)}")
        xs = sorted(self.grid[along])
        y = np.empty((self.seeds, len(xs)))
        filled = np.zeros((self.seeds, len(xs)), dtype=bool)
        for r in self.rows:
            if all(r[n] == v for n, v in where.items()):
                j = xs.index(r[along])
                y[r["seed"], j] = r[value]
                filled[r["seed"], j] = True
        if not filled.all():
            raise DimensionError(f"pivot: expected one row per seed and {along} value, found gaps")
        return np.asarray(xs, dtype=float), y


def _atomic_write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, allow_nan=False, separators=(",", ":"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _clean_values(cell_name: str, values, seeds: int, reserved) -> dict:
    """Check a cell function's output and convert it to ``{name: [float] * seeds}``."""
    where = f"cell function {cell_name!r}"
    if not isinstance(values, dict) or not values:
        raise DimensionError(f"{where}: expected a non-empty dict of measurements, found {describe(values)}")
    out = {}
    for name, v in values.items():
        if not isinstance(name, str) or name in reserved:
            raise DimensionError(f"{where}: expected measurement names other than {', '.join(reserved)}, "
                                 f"found {name!r}")
        try:
            if isinstance(v, (str, bytes)):
                raise TypeError
            arr = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            raise DimensionError(f"{where}: {name}: expected numbers, found {describe(v)}") from None
        if arr.ndim == 0:
            arr = np.full(seeds, float(arr))
        if arr.shape != (seeds,):
            raise DimensionError(f"{where}: {name}: expected one number or {seeds} (one per seed), found "
                                 f"{describe(v)}")
        if not np.all(np.isfinite(arr)):
            raise DimensionError(f"{where}: {name}: expected finite numbers, found {arr.tolist()}")
        out[name] = [float(a) for a in arr]
    return out


# --------------------------------------------------------------------------------------------------
# Cache


def _cell_path(out: Path, key: str) -> Path:
    return out / "cells" / f"{key}.json"


def _load_cached(out: Path, cell: Cell, cell_name: str, reserved) -> dict | None:
    """The cached values of ``cell``, or None when absent or unreadable (then it is recomputed)."""
    path = _cell_path(out, cell.key)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != _CELL_FORMAT or data.get("key") != cell.key:
            return None
        return _clean_values(cell_name, data["values"], cell.seeds, reserved)
    except (OSError, ValueError, KeyError, AttributeError):
        return None
