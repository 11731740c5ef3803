"""Execute an experiment spec's grid: serial, in processes, or on Dask, resumably.

An experiment spec (a TOML file, format in ``experiments/README.md``) names a *cell function* from the
registry of this module, fixed parameters, a grid (the cartesian product of named ladders), the
number of seeds per cell and the "quick" and "full" profile sizes. :func:`run_spec` evaluates the cell
function once per grid point:

* **Randomness.** One root ``SeedSequence(entropy)`` per spec (the entropy is written in the spec and
  recorded in the results); cell ``i`` of the fixed cell order gets the ``i``-th spawned child. The cell
  function receives that child and nothing else random, so the results are bit-identical whatever the
  backend, the number of workers or the order in which cells finish.
* **Cache.** Each finished cell is written as JSON under ``OUT/cells/<key>.json``, where ``key`` is the
  SHA-256 of the spec id, cell function name, cell parameters, number of seeds, root entropy, spawn key
  and a code-version string. Files are written to a temporary name and renamed with ``os.replace``, so
  a file is either complete or absent. A run that was interrupted and started again loads every
  finished cell and computes only the missing ones.
* **Registry.** Cell functions are registered by name with :func:`cell_function`; a spec can only name
  a registered function (nothing from the file is ever imported or evaluated).

The built-in specs are package data under ``qbc_theory/data/experiments/`` (found by
:func:`builtin_spec_paths` from any working directory and in non-editable installs).
"""

from __future__ import annotations

import concurrent.futures as cf
from concurrent.futures.process import BrokenProcessPool
import copy
import functools
import hashlib
import importlib
import importlib.metadata
import importlib.resources
import importlib.util
import itertools
import json
import math
import multiprocessing
import numbers
import os
import re
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..model.validation import describe
from ..model.errors import DimensionError, QbcError, SpecError

__all__ = [
    "BACKENDS",
    "PROFILES",
    "BUILTIN_CELL_MODULES",
    "MissingExtraError",
    "CellFunction",
    "cell_function",
    "registered_cells",
    "get_cell",
    "Profile",
    "Spec",
    "Cell",
    "ResultTable",
    "load_spec",
    "spec_from_dict",
    "run_spec",
    "run_specs",
    "builtin_spec_paths",
    "code_version",
]

BACKENDS = ("serial", "processes", "dask")
PROFILES = ("quick", "full")
#: Modules imported (when they exist) the first time an unregistered cell name is looked up, so that
#: ``qbc run`` finds the project's own cell functions without the caller importing them first.
BUILTIN_CELL_MODULES = ("qbc_theory.verification.claims",)

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]*$")
_RESERVED_COLUMNS = ("cell", "seed")
_CELL_FORMAT = "qbc-cell/1"
_TABLE_FORMAT = "qbc-results/1"


class MissingExtraError(QbcError, ImportError):
    """An optional dependency (an extra of the distribution) is needed but not installed."""


# --------------------------------------------------------------------------------------------------
# Registry of cell functions


@dataclass(frozen=True)
class CellFunction:
    """A registered cell function.

    Attributes
    ----------
    name : str
        The name specs use in their ``cell`` key.
    func : callable
        ``func(params: dict, seeds: int, seed: numpy.random.SeedSequence) -> dict`` (see
        :func:`cell_function`).
    version : str
        Part of the cache key: bump it when the function's results change.
    """

    name: str
    func: Callable
    version: str


_REGISTRY: dict[str, CellFunction] = {}


def cell_function(name: str, *, version: str = "1"):
    r"""Register a function as the cell function ``name`` (a decorator).

    The function is called once per grid cell as ``func(params, seeds=S, seed=ss)`` where ``params``
    is a dict of the spec's fixed parameters merged with this cell's grid values, ``S >= 1`` the
    number of seeds and ``ss`` the cell's :class:`numpy.random.SeedSequence` (its only source of
    randomness: use ``np.random.default_rng(ss)`` or ``ss.spawn(S)``). It returns a mapping from
    measurement names to either a sequence of ``S`` finite numbers (one per seed) or one finite
    number (a per-cell value such as a bound, repeated in every seed's row).

    For the ``processes`` backend the function must be importable by its module and name (defined at
    module level), because worker processes are started with ``spawn``.

    Parameters
    ----------
    name : str
        Letters, digits, ``_ . -``, starting with a letter.
    version : str
        A version of the function's results, part of the cache key.

    Returns
    -------
    callable
        The decorator; it returns the function unchanged.

    Raises
    ------
    SpecError
        If the name is malformed or already registered for a different function.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise SpecError(f"cell_function: expected a name of letters, digits, '_', '.', '-', found "
                        f"{describe(name)}")

    def decorate(func):
        existing = _REGISTRY.get(name)
        if existing is not None and _origin(existing.func) != _origin(func):
            raise SpecError(f"cell_function: expected a new name, found {name!r} already registered for "
                            f"{'.'.join(_origin(existing.func))}")
        _REGISTRY[name] = CellFunction(name=name, func=func, version=str(version))
        return func

    return decorate


def _origin(func) -> tuple[str, str]:
    return (getattr(func, "__module__", "?"), getattr(func, "__qualname__", repr(func)))


def registered_cells() -> list[str]:
    """Names of the registered cell functions (after importing :data:`BUILTIN_CELL_MODULES`).

    Returns
    -------
    list of str
        Sorted names.
    """
    _import_builtin_cells()
    return sorted(_REGISTRY)


@functools.cache
def _import_builtin_cells() -> None:
    for module in BUILTIN_CELL_MODULES:
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)


def get_cell(name: str) -> CellFunction:
    """The registered cell function ``name``.

    Parameters
    ----------
    name : str

    Returns
    -------
    CellFunction

    Raises
    ------
    SpecError
        If no cell function of that name is registered; the message lists the registered names.
    """
    if name not in _REGISTRY:
        _import_builtin_cells()
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise SpecError(f"cell: expected a registered cell function ({known}), found {describe(name)}")
    return _REGISTRY[name]


@functools.cache
def _package_version() -> str:
    try:
        return importlib.metadata.version("qbc-theory")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@functools.cache
def _source_digest() -> str:
    """SHA-256 (first 12 hex digits) of the library's Python sources, in a fixed file order.

    Cells compute bounds, rollouts and fits through the whole library, so a change anywhere in it
    may change their results: the digest makes such a change invalidate the cached cells.
    """
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def code_version(cell: str) -> str:
    """The code-version string of cell function ``cell`` that enters the cache key.

    It combines the installed qbc-theory version, a digest of the library's sources and the version
    given to :func:`cell_function`, so upgrading the package, changing any library code or bumping a
    cell's version invalidates the cached cells.

    Parameters
    ----------
    cell : str
        A registered cell function name.

    Returns
    -------
    str
        ``"qbc-theory <package version> (source <digest>); <cell> v<cell version>"``.

    Raises
    ------
    SpecError
        If ``cell`` is not registered.
    """
    return f"qbc-theory {_package_version()} (source {_source_digest()}); {cell} v{get_cell(cell).version}"


# --------------------------------------------------------------------------------------------------
# Specs


@dataclass(frozen=True)
class Profile:
    """The size of a run: seeds per cell and overrides of the base parameters and ladders.

    Attributes
    ----------
    seeds : int
        Seeds per cell, ``>= 1``.
    params : dict
        Replacements for keys of the spec's ``params``.
    grid : dict
        Replacements for ladders of the spec's ``grid`` (name -> tuple of values).
    """

    seeds: int
    params: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Cell:
    """One grid point of a resolved spec.

    Attributes
    ----------
    index : int
        Position in the fixed cell order (cartesian product, last ladder varying fastest).
    point : dict
        This cell's grid values (ladder name -> value).
    params : dict
        What the cell function receives: the fixed parameters updated with ``point``.
    seeds : int
    seed : numpy.random.SeedSequence
        Child ``index`` spawned from the spec's root ``SeedSequence(entropy)``.
    key : str
        SHA-256 content address of the cell in the cache.
    """

    index: int
    point: dict
    params: dict
    seeds: int
    seed: np.random.SeedSequence
    key: str


@dataclass(frozen=True)
class Spec:
    """A validated experiment spec (see ``experiments/README.md`` for the TOML format).

    Attributes
    ----------
    id : str
    cell : str
        Name of a registered cell function.
    entropy : int
        Entropy of the root ``SeedSequence``.
    params : dict
        Fixed parameters passed to every cell.
    grid : dict
        Ladder name -> tuple of values, in file order.
    profiles : dict
        ``"quick"`` and ``"full"`` -> :class:`Profile`.
    description : str
    source : str
        The file the spec was loaded from, or ``"<dict>"``.
    """

    id: str
    cell: str
    entropy: int
    params: dict
    grid: dict
    profiles: dict
    description: str = ""
    source: str = "<dict>"

    def resolved(self, profile: str = "quick") -> tuple[dict, dict, int]:
        """Parameters, grid and seeds of ``profile`` (base values with the profile's overrides).

        Parameters
        ----------
        profile : {"quick", "full"}

        Returns
        -------
        params : dict
        grid : dict
            Ladder name -> tuple of values.
        seeds : int

        Raises
        ------
        SpecError
            If ``profile`` is not one of :data:`PROFILES`.
        """
        if profile not in self.profiles:
            raise SpecError(f"profile: expected one of {', '.join(PROFILES)}, found {describe(profile)}")
        prof = self.profiles[profile]
        params = {**self.params, **prof.params}
        grid = {name: tuple(prof.grid.get(name, ladder)) for name, ladder in self.grid.items()}
        return params, grid, prof.seeds

    def cells(self, profile: str = "quick") -> list[Cell]:
        """The grid cells of ``profile`` in the fixed order, each with its spawned seed and cache key.

        Parameters
        ----------
        profile : {"quick", "full"}

        Returns
        -------
        list of Cell
            ``prod(len(ladder))`` cells; the last ladder varies fastest.
        """
        params, grid, seeds = self.resolved(profile)
        names = list(grid)
        points = [dict(zip(names, values)) for values in itertools.product(*grid.values())]
        children = np.random.SeedSequence(self.entropy).spawn(len(points))
        version = code_version(self.cell)
        cells = []
        for index, (point, child) in enumerate(zip(points, children)):
            cell_params = {**params, **point}
            key = _hash({"spec": self.id, "cell": self.cell, "code_version": version, "params": cell_params,
                         "seeds": seeds, "entropy": self.entropy, "spawn_key": list(child.spawn_key)})
            cells.append(Cell(index=index, point=point, params=cell_params, seeds=seeds, seed=child, key=key))
        return cells

    def to_dict(self) -> dict:
        """The spec as JSON-ready data (the same shape as the TOML file)."""
        return {"id": self.id, "cell": self.cell, "entropy": self.entropy, "description": self.description,
                "params": self.params, "grid": {k: list(v) for k, v in self.grid.items()},
                "profiles": {name: {"seeds": p.seeds, "params": p.params,
                                    "grid": {k: list(v) for k, v in p.grid.items()}}
                             for name, p in self.profiles.items()}}


def _hash(obj) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


_TOP_KEYS = ("id", "cell", "entropy", "description", "params", "grid", "profiles")
_PROFILE_KEYS = ("seeds", "params", "grid")


def _check_keys(where: str, table: dict, allowed) -> None:
    for key in table:
        if key not in allowed:
            raise SpecError(f"{where}{key}: unknown key, expected one of {', '.join(allowed) or '(none)'}")


def _check_value(where: str, value):
    """A JSON-representable TOML value (no dates, no inf/nan), returned as plain Python data."""
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        if not math.isfinite(value):
            raise SpecError(f"{where}: expected a finite number, found {value}")
        return float(value)
    if isinstance(value, list):
        return [_check_value(f"{where}[{i}]", v) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {str(k): _check_value(f"{where}.{k}", v) for k, v in value.items()}
    raise SpecError(f"{where}: expected a number, string, boolean, array or table, found "
                    f"{type(value).__name__}")


def _check_table(where: str, value) -> dict:
    if not isinstance(value, dict):
        raise SpecError(f"{where}: expected a table, found {describe(value)}")
    return value


def _check_ladder(where: str, value) -> tuple:
    if not isinstance(value, list) or not value:
        raise SpecError(f"{where}: expected a non-empty array of ladder values, found {describe(value)}")
    ladder = []
    for i, v in enumerate(value):
        if isinstance(v, (list, dict)):
            raise SpecError(f"{where}[{i}]: expected a number, string or boolean, found {describe(v)}")
        ladder.append(_check_value(f"{where}[{i}]", v))
    seen = set()
    for v in ladder:
        tag = (type(v).__name__, v)
        if tag in seen:
            raise SpecError(f"{where}: expected distinct values, found {v!r} twice")
        seen.add(tag)
    return tuple(ladder)


def _check_int(where: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise SpecError(f"{where}: expected an integer, found {describe(value)}")
    if value < minimum:
        raise SpecError(f"{where}: expected an integer >= {minimum}, found {value}")
    return int(value)


def _check_str(where: str, value, pattern: re.Pattern | None = None) -> str:
    if not isinstance(value, str):
        raise SpecError(f"{where}: expected a string, found {describe(value)}")
    if pattern is not None and not pattern.match(value):
        raise SpecError(f"{where}: expected letters, digits, '_', '.', '-' starting with a letter, "
                        f"found {value!r}")
    return value


def spec_from_dict(data: dict, *, source: str = "<dict>") -> Spec:
    """Validate parsed spec data (the TOML file's content as a dict) and build a :class:`Spec`.

    Parameters
    ----------
    data : dict
        Keys ``id``, ``cell``, ``entropy``, ``params`` (optional), ``grid``, ``profiles``,
        ``description`` (optional); see ``experiments/README.md``.
    source : str
        Shown at the start of error messages (a file name).

    Returns
    -------
    Spec

    Raises
    ------
    SpecError
        Naming the offending key: an unknown key, a missing key, a value of the wrong type, an
        unknown cell function, an empty grid or ladder, a ladder also set in ``params``, a profile
        overriding a key that the base spec does not have, a missing profile.
    """
    pre = f"{source}: " if source else ""
    data = _check_table(f"{pre}spec", data)
    _check_keys(pre, data, _TOP_KEYS)
    for key in ("id", "cell", "entropy", "grid", "profiles"):
        if key not in data:
            raise SpecError(f"{pre}{key}: expected this key, found it missing")
    spec_id = _check_str(f"{pre}id", data["id"], _NAME)
    cell = _check_str(f"{pre}cell", data["cell"], _NAME)
    try:
        get_cell(cell)
    except SpecError as exc:
        raise SpecError(f"{pre}{exc}") from None
    entropy = _check_int(f"{pre}entropy", data["entropy"], 0)
    description = _check_str(f"{pre}description", data.get("description", ""))
    params = _check_value(f"{pre}params", _check_table(f"{pre}params", data.get("params", {})))
    grid_table = _check_table(f"{pre}grid", data["grid"])
    if not grid_table:
        raise SpecError(f"{pre}grid: expected at least one ladder, found an empty table")
    grid = {}
    for name, ladder in grid_table.items():
        _check_str(f"{pre}grid.{name}", name, _NAME)
        if name in params:
            raise SpecError(f"{pre}grid.{name}: expected a name not also in params, found params.{name}")
        if name in _RESERVED_COLUMNS:
            raise SpecError(f"{pre}grid.{name}: expected a name other than {', '.join(_RESERVED_COLUMNS)}")
        grid[name] = _check_ladder(f"{pre}grid.{name}", ladder)
    prof_table = _check_table(f"{pre}profiles", data["profiles"])
    _check_keys(f"{pre}profiles.", prof_table, PROFILES)
    profiles = {}
    for name in PROFILES:
        where = f"{pre}profiles.{name}"
        if name not in prof_table:
            raise SpecError(f"{where}: expected this table, found it missing")
        table = _check_table(where, prof_table[name])
        _check_keys(f"{where}.", table, _PROFILE_KEYS)
        if "seeds" not in table:
            raise SpecError(f"{where}.seeds: expected this key, found it missing")
        seeds = _check_int(f"{where}.seeds", table["seeds"], 1)
        over_params = _check_table(f"{where}.params", table.get("params", {}))
        _check_keys(f"{where}.params.", over_params, tuple(params))
        over_grid = _check_table(f"{where}.grid", table.get("grid", {}))
        _check_keys(f"{where}.grid.", over_grid, tuple(grid))
        profiles[name] = Profile(
            seeds=seeds,
            params=_check_value(f"{where}.params", over_params),
            grid={k: _check_ladder(f"{where}.grid.{k}", v) for k, v in over_grid.items()},
        )
    return Spec(id=spec_id, cell=cell, entropy=entropy, params=params, grid=grid, profiles=profiles,
                description=description, source=source or "<dict>")


def load_spec(path) -> Spec:
    """Read and validate an experiment spec from a TOML file.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    Spec

    Raises
    ------
    SpecError
        If the file is missing, is not valid TOML, or fails :func:`spec_from_dict`'s checks; the
        message starts with the file name and names the key.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"spec: expected a readable TOML file, found {path} "
                        f"({exc.__class__.__name__})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path.name}: expected valid TOML, found an error: {exc}") from None
    return spec_from_dict(data, source=str(path))


def builtin_spec_paths() -> list[Path]:
    """Paths of the built-in experiment specs, shipped as package data.

    They live in ``qbc_theory/data/experiments/*.toml`` inside the installed package, so they are found
    from any working directory, with or without an editable install.

    Returns
    -------
    list of pathlib.Path
        Sorted by file name.
    """
    root = importlib.resources.files("qbc_theory").joinpath("data").joinpath("experiments")
    if not root.is_dir():
        return []
    return sorted((Path(str(p)) for p in root.iterdir() if p.name.endswith(".toml")), key=lambda p: p.name)


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
# Execution


def _execute(func, params: dict, seeds: int, seed: np.random.SeedSequence):
    """Run one cell (in whichever process the backend chose); returns the raw values and seconds."""
    t0 = time.perf_counter()
    # A deep copy, so a cell that mutates its (nested) params cannot affect the next cell in serial runs,
    # just as it cannot in worker processes.
    values = func(copy.deepcopy(params), seeds=seeds, seed=seed)
    return values, time.perf_counter() - t0


@functools.cache
def _distributed():
    """The ``distributed`` module, probed once, with an install hint when missing."""
    if importlib.util.find_spec("distributed") is None:
        raise MissingExtraError("backend: expected the dask extra for backend 'dask', found it not installed; "
                                "install it with: pip install 'qbc-theory[dask]'")
    return importlib.import_module("distributed")


@functools.cache
def _tqdm():
    """tqdm's class if installed, else None (probed once)."""
    if importlib.util.find_spec("tqdm") is None:
        return None
    return importlib.import_module("tqdm").tqdm


class _Progress:
    """A tqdm bar on a terminal, plain lines on stderr otherwise, or nothing."""

    def __init__(self, label: str, total: int, cached: int, enabled: bool, name_specs: bool):
        self.label, self.total, self.done, self.enabled = label, total, cached, enabled
        self.name_specs = name_specs
        self.bar = None
        if not enabled:
            return
        tqdm = _tqdm()
        if tqdm is not None and sys.stderr.isatty():
            self.bar = tqdm(total=total, initial=cached, desc=label, unit="cell", file=sys.stderr)
        else:
            print(f"{label}: {total} cells, {cached} cached, {total - cached} to compute", file=sys.stderr,
                  flush=True)

    def update(self, task: "_Task", seconds: float) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        elif self.enabled:
            point = ", ".join(f"{k}={v}" for k, v in task.cell.point.items())
            spec = f"{task.spec.id} " if self.name_specs else ""
            print(f"{self.label}: {spec}cell {task.cell.index} ({point}) done in {seconds:.2f} s "
                  f"[{self.done}/{self.total}]", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


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


def _workers(workers) -> int:
    if workers is None:
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 1:
        raise SpecError(f"workers: expected a positive integer, found {describe(workers)}")
    return int(workers)


@dataclass(frozen=True)
class _Task:
    """One cell still to compute: the spec it belongs to, the cell and the function to call."""

    spec: Spec
    cell: Cell
    func: Callable

    def submit_args(self):
        return (self.func, self.cell.params, self.cell.seeds, self.cell.seed)


class _CellFailed(Exception):
    """A cell function raised; carries the task so the error can name the cell."""

    def __init__(self, task: _Task):
        super().__init__(task.cell.index)
        self.task = task


def _result(task: _Task, get):
    try:
        return get()
    except BrokenProcessPool:
        raise  # the pool failed, not this cell
    except Exception as exc:
        raise _CellFailed(task) from exc


def _run_serial(tasks, on_done, workers, scheduler):
    for i, task in enumerate(tasks):
        on_done(i, *_result(task, lambda: _execute(*task.submit_args())))


def _run_processes(tasks, on_done, workers, scheduler):
    # spawn (not fork): safe with threads in the parent and identical on every platform.
    ctx = multiprocessing.get_context("spawn")
    pool = cf.ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=ctx)
    try:
        futures = {pool.submit(_execute, *t.submit_args()): i for i, t in enumerate(tasks)}
        for fut in cf.as_completed(futures):
            i = futures[fut]
            on_done(i, *_result(tasks[i], fut.result))
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _run_dask(tasks, on_done, workers, scheduler):
    distributed = _distributed()
    cluster = None
    if scheduler is None:
        cluster = distributed.LocalCluster(n_workers=min(workers, len(tasks)), threads_per_worker=1,
                                           processes=True, dashboard_address=None)
        client = distributed.Client(cluster)
    else:
        client = distributed.Client(scheduler)
    try:
        futures = {client.submit(_execute, *t.submit_args(), pure=False): i for i, t in enumerate(tasks)}
        for fut in distributed.as_completed(list(futures)):
            i = futures[fut]
            on_done(i, *_result(tasks[i], fut.result))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


_BACKEND_RUNNERS = {"serial": _run_serial, "processes": _run_processes, "dask": _run_dask}

def run_spec(spec, *, backend: str = "processes", out="qbc-out", profile: str = "quick", scheduler=None,
             progress: bool = True, workers: int | None = None) -> ResultTable:
    """Run every cell of a spec's grid, reusing cached cells, and return the tidy results.

    Parameters
    ----------
    spec : Spec, str or os.PathLike
        A spec or the path of a spec TOML file.
    backend : {"serial", "processes", "dask"}
        ``processes`` uses a ``ProcessPoolExecutor`` (spawn) with ``workers`` processes; ``dask`` a
        ``distributed.LocalCluster`` with ``workers`` single-threaded workers, or the existing cluster
        at ``scheduler``.
    out : str or os.PathLike
        Output directory: cells are cached in ``out/cells/<key>.json`` and each table is written to
        ``out/<spec id>.<profile>.json``.
    profile : {"quick", "full"}
    scheduler : str, optional
        Address of a Dask scheduler (``"tcp://HOST:PORT"``); only with ``backend="dask"``.
    progress : bool
        Show progress on stderr (a tqdm bar on a terminal when tqdm is installed, else plain lines).
    workers : int, optional
        Worker processes for ``processes`` and a local Dask cluster; default: all available cores.

    Returns
    -------
    ResultTable
        Identical (``==``, and bit for bit in its values) whatever the backend, the workers and how
        many cells came from the cache.

    Raises
    ------
    SpecError
        On a bad spec, backend, profile, scheduler or workers value, or two specs with the same id.
    MissingExtraError
        If ``backend="dask"`` and dask is not installed.
    DimensionError
        If a cell function returns malformed measurements.
    RuntimeError
        If a cell function raises (naming the spec and cell; the cells finished before stay cached).
    """
    return run_specs([spec], backend=backend, out=out, profile=profile, scheduler=scheduler,
                     progress=progress, workers=workers)[0]


def run_specs(specs, *, backend: str = "processes", out="qbc-out", profile: str = "quick", scheduler=None,
              progress: bool = True, workers: int | None = None) -> list[ResultTable]:
    """Run the grids of several specs in one pool of workers, reusing cached cells.

    All missing cells of all specs are submitted together, so a pool (or a local Dask cluster) starts
    once and the cells of different specs share the workers. Each spec's results are exactly those
    :func:`run_spec` gives for it alone.

    Parameters
    ----------
    specs : sequence of Spec, str or os.PathLike
        Specs with distinct ids.
    backend : {"serial", "processes", "dask"}
        ``processes`` uses a ``ProcessPoolExecutor`` (spawn) with ``workers`` processes; ``dask`` a
        ``distributed.LocalCluster`` with ``workers`` single-threaded workers, or the existing cluster
        at ``scheduler``.
    out : str or os.PathLike
        Output directory: cells are cached in ``out/cells/<key>.json`` and each table is written to
        ``out/<spec id>.<profile>.json``.
    profile : {"quick", "full"}
    scheduler : str, optional
        Address of a Dask scheduler (``"tcp://HOST:PORT"``); only with ``backend="dask"``.
    progress : bool
        Show progress on stderr (a tqdm bar on a terminal when tqdm is installed, else plain lines).
    workers : int, optional
        Worker processes for ``processes`` and a local Dask cluster; default: all available cores.

    Returns
    -------
    list of ResultTable
        In the order of ``specs``; each identical whatever the backend, the workers and the cache.

    Raises
    ------
    SpecError
        On a bad spec, backend, profile, scheduler or workers value, or two specs with the same id.
    MissingExtraError
        If ``backend="dask"`` and dask is not installed.
    DimensionError
        If a cell function returns malformed measurements.
    RuntimeError
        If a cell function raises (naming the spec and cell; the cells finished before stay cached).
    """
    t0 = time.perf_counter()
    specs = [s if isinstance(s, Spec) else load_spec(s) for s in specs]
    if not specs:
        raise SpecError("specs: expected at least one spec, found none")
    ids = [s.id for s in specs]
    for spec_id in ids:
        if ids.count(spec_id) > 1:
            raise SpecError(f"specs: expected distinct ids, found {spec_id!r} {ids.count(spec_id)} times")
    if backend not in BACKENDS:
        raise SpecError(f"backend: expected one of {', '.join(BACKENDS)}, found {describe(backend)}")
    if scheduler is not None and backend != "dask":
        raise SpecError(f"scheduler: expected only with backend 'dask', found backend {backend!r}")
    if scheduler is not None and not isinstance(scheduler, str):
        raise SpecError(f"scheduler: expected an address such as 'tcp://HOST:PORT', found "
                        f"{describe(scheduler)}")
    n_workers = _workers(workers)
    out = Path(out)

    plans = []
    tasks: list[_Task] = []
    for spec in specs:
        params, grid, seeds = spec.resolved(profile)
        plan = {"spec": spec, "params": params, "grid": grid, "seeds": seeds, "cells": spec.cells(profile),
                "reserved": (*_RESERVED_COLUMNS, *grid), "version": code_version(spec.cell), "values": {}}
        func = get_cell(spec.cell).func
        for cell in plan["cells"]:
            cached = _load_cached(out, cell, spec.cell, plan["reserved"])
            if cached is None:
                tasks.append(_Task(spec=spec, cell=cell, func=func))
            else:
                plan["values"][cell.index] = cached
        plan["cached"] = sorted(plan["values"])
        plans.append(plan)
    by_id = {plan["spec"].id: plan for plan in plans}
    label = f"{specs[0].id} [{profile}]" if len(specs) == 1 else f"{len(specs)} specs [{profile}]"
    total = sum(len(p["cells"]) for p in plans)
    bar = _Progress(label, total, total - len(tasks), progress, name_specs=len(specs) > 1)

    def on_done(i: int, raw, seconds: float) -> None:
        task = tasks[i]
        spec, cell, plan = task.spec, task.cell, by_id[task.spec.id]
        clean = _clean_values(spec.cell, raw, cell.seeds, plan["reserved"])
        _atomic_write_json(_cell_path(out, cell.key), {
            "format": _CELL_FORMAT, "key": cell.key, "spec": spec.id, "cell": spec.cell,
            "code_version": plan["version"], "params": cell.params, "seeds": cell.seeds,
            "entropy": spec.entropy, "spawn_key": list(cell.seed.spawn_key), "values": clean,
            "seconds": seconds})
        plan["values"][cell.index] = clean
        bar.update(task, seconds)

    try:
        if tasks:
            try:
                _BACKEND_RUNNERS[backend](tasks, on_done, n_workers, scheduler)
            except _CellFailed as failed:
                cause, task = failed.__cause__, failed.task
                point = ", ".join(f"{k}={v}" for k, v in task.cell.point.items())
                where = f"{task.spec.id}: cell {task.cell.index} ({point}) of {task.spec.cell!r}"
                if isinstance(cause, KeyError):
                    # a cell reads its parameters by name: a missing key is a spec without that parameter
                    raise SpecError(f"{where}: expected a parameter {cause}, found none in [params] or "
                                    "[grid]") from cause
                if isinstance(cause, QbcError):
                    # the cell refused its parameters (a bad value in the spec), not a bug in the cell
                    raise SpecError(f"{where}: {cause}") from cause
                raise RuntimeError(f"{where} failed: {cause.__class__.__name__}: {cause}") from cause
            except BrokenProcessPool as exc:
                raise RuntimeError(
                    "backend 'processes': a worker process died (killed, out of memory, or the main script "
                    "runs work at import time: guard it with `if __name__ == \"__main__\":`, workers are "
                    "started with spawn); finished cells are cached, run again to resume") from exc
    finally:
        bar.close()
    seconds = time.perf_counter() - t0
    tables = []
    for plan in plans:
        table = _assemble(plan, profile, {"backend": backend, "computed": sorted(set(plan["values"]) -
                                                                               set(plan["cached"])),
                                          "cached": plan["cached"], "seconds": seconds, "out": str(out)})
        table.to_json(out / f"{table.spec_id}.{profile}.json")
        tables.append(table)
    return tables


def _assemble(plan: dict, profile: str, run: dict) -> ResultTable:
    spec, values, seeds = plan["spec"], plan["values"], plan["seeds"]
    columns = tuple(values[0])
    rows = []
    for cell in plan["cells"]:
        vals = values[cell.index]
        if tuple(vals) != columns:
            raise DimensionError(f"cell function {spec.cell!r}: expected the measurements {list(columns)} in "
                                 f"every cell, found {list(vals)} in cell {cell.index}")
        for s in range(seeds):
            rows.append({"cell": cell.index, "seed": s, **cell.point, **{k: v[s] for k, v in vals.items()}})
    return ResultTable(
        spec_id=spec.id, cell=spec.cell, profile=profile, entropy=spec.entropy, code_version=plan["version"],
        params=plan["params"], grid={k: list(v) for k, v in plan["grid"].items()}, seeds=seeds,
        columns=columns, rows=tuple(rows),
        cells=tuple({"index": c.index, "key": c.key, "spawn_key": list(c.seed.spawn_key), "point": c.point}
                    for c in plan["cells"]),
        run=run)
