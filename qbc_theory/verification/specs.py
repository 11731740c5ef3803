"""Experiment specs and the registry of cell functions (the input side of :mod:`qbc_theory.verification.runner`).

An experiment spec (a TOML file, format in ``experiments/README.md``) names a *cell function* from the
registry of this module, fixed parameters, a grid (the cartesian product of named ladders), the
number of seeds per cell and the "quick" and "full" profile sizes. Cell functions are registered by
name with :func:`cell_function`; a spec can only name a registered function (nothing from the file is
ever imported or evaluated). :func:`code_version` is the version string that enters every cell's
cache key.

The built-in specs are package data under ``qbc_theory/data/experiments/`` (found by
:func:`builtin_spec_paths` from any working directory and in non-editable installs).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.metadata
import importlib.resources
import importlib.util
import itertools
import json
import math
import numbers
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..model.validation import describe
from ..model.errors import QbcError, SpecError

__all__ = [
    "BACKENDS",
    "PROFILES",
    "BUILTIN_CELL_MODULES",
    "MissingExtraError",
    "CellFunction",
    "cell_function",
    "registered_cells",
    "get_cell",
    "code_version",
    "Profile",
    "Spec",
    "Cell",
    "spec_from_dict",
    "load_spec",
    "builtin_spec_paths",
]

BACKENDS = ("serial", "processes", "dask")
PROFILES = ("quick", "full")
#: Modules imported (when they exist) the first time an unregistered cell name is looked up, so that
#: ``qbc run`` finds the project's own cell functions without the caller importing them first.
BUILTIN_CELL_MODULES = ("qbc_theory.verification.claims",)

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]*$")
_RESERVED_COLUMNS = ("cell", "seed")


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
