"""Execute an experiment spec's grid: serial, in processes, or on Dask, resumably.

An experiment spec (a TOML file, format in ``experiments/README.md``) names a *cell function* from the
registry of this module, fixed parameters, a grid (the cartesian product of named ladders), the
number of seeds per cell and the "quick" and "full" profile sizes. :func:`run_spec` evaluates the cell
function once per grid point:

* **Randomness.** One root ``SeedSequence(entropy)`` per spec (the entropy is written in the spec and
  recorded in the results); cell ``i`` of the fixed cell order gets the ``i``-th spawned child. The cell
  function receives that child and nothing else random, and every cell runs with one BLAS thread
  (:mod:`qbc_theory.verification.backends`), so the results are bit-identical whatever the backend, the
  number of workers or the order in which cells finish.
* **Cache.** Each finished cell is written as JSON under ``OUT/cells/<key>.json``, where ``key`` is the
  SHA-256 of the spec id, cell function name, cell parameters, number of seeds, root entropy, spawn key
  and a code-version string. Files are written to a temporary name and renamed with ``os.replace``, so
  a file is either complete or absent. A run that was interrupted and started again loads every
  finished cell and computes only the missing ones.
* **Registry.** Cell functions are registered by name with :func:`cell_function`; a spec can only name
  a registered function (nothing from the file is ever imported or evaluated).

The built-in specs are package data under ``qbc_theory/data/experiments/`` (found by
:func:`builtin_spec_paths` from any working directory and in non-editable installs).

The pieces live in :mod:`~qbc_theory.verification.specs` (registry, spec loading, code version),
:mod:`~qbc_theory.verification.results` (:class:`ResultTable`, the cell cache) and
:mod:`~qbc_theory.verification.backends` (serial, processes, Dask); every name is importable from here.
"""

from __future__ import annotations

import math
import numbers
import time
from pathlib import Path

from ..model.validation import describe
from ..model.errors import DimensionError, QbcError, SpecError
from .backends import (BACKEND_RUNNERS, BrokenProcessPool, _CellFailed, _distributed, _Progress, _Task, _workers,
                       close_session, open_session)
from .results import _CELL_FORMAT, ResultTable, _atomic_write_json, _cell_path, _clean_values, _load_cached
from .specs import (BACKENDS, BUILTIN_CELL_MODULES, PROFILES, _REGISTRY, _RESERVED_COLUMNS, Cell, CellFunction,
                    MissingExtraError, Profile, Spec, builtin_spec_paths, cell_function, code_version, get_cell,
                    load_spec, registered_cells, spec_from_dict)

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

# private names that tests reach through this module (runner._REGISTRY, runner._clean_values, ...)
_PRIVATE_REEXPORTS = (_REGISTRY, _clean_values, _distributed)


def run_spec(spec, *, backend: str = "processes", out="qbc-out", profile: str = "quick", scheduler=None,
             progress: bool = True, workers: int | None = None, connect_timeout: float = 5.0) -> ResultTable:
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
    connect_timeout : float
        Seconds to wait for the Dask scheduler at ``scheduler`` (default 5) before failing with a
        :class:`SpecError` naming the address.

    Returns
    -------
    ResultTable
        Identical (``==``, and bit for bit in its values) whatever the backend, the workers and how
        many cells came from the cache.

    Raises
    ------
    SpecError
        On a bad spec, backend, profile, scheduler, workers or connect_timeout value, two specs with the
        same id, or a scheduler that does not answer within ``connect_timeout``.
    MissingExtraError
        If ``backend="dask"`` and dask is not installed.
    DimensionError
        If a cell function returns malformed measurements.
    RuntimeError
        If a cell function raises (naming the spec and cell; the cells finished before stay cached).
    """
    return run_specs([spec], backend=backend, out=out, profile=profile, scheduler=scheduler,
                     progress=progress, workers=workers, connect_timeout=connect_timeout)[0]


def run_specs(specs, *, backend: str = "processes", out="qbc-out", profile: str = "quick", scheduler=None,
              progress: bool = True, workers: int | None = None, connect_timeout: float = 5.0) -> list[ResultTable]:
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
    connect_timeout : float
        Seconds to wait for the Dask scheduler at ``scheduler`` (default 5) before failing with a
        :class:`SpecError` naming the address.

    Returns
    -------
    list of ResultTable
        In the order of ``specs``; each identical whatever the backend, the workers and the cache.

    Raises
    ------
    SpecError
        On a bad spec, backend, profile, scheduler, workers or connect_timeout value, two specs with the
        same id, or a scheduler that does not answer within ``connect_timeout``.
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
    if (isinstance(connect_timeout, bool) or not isinstance(connect_timeout, numbers.Real)
            or not math.isfinite(connect_timeout) or connect_timeout <= 0):
        raise SpecError(f"connect_timeout: expected a positive number of seconds, found {describe(connect_timeout)}")
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
    # a Dask client first: an unreachable scheduler fails before any progress is shown
    session = open_session(backend, len(tasks), n_workers, scheduler, connect_timeout)
    try:
        bar = _Progress(label, total, total - len(tasks), progress, name_specs=len(specs) > 1)
    except BaseException:
        close_session(session)
        raise

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
                BACKEND_RUNNERS[backend](tasks, on_done, n_workers, session)
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
        close_session(session)
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
