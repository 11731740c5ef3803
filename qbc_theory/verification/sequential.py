r"""Sequential seeds: extend a result table by more seeds, bit-identical to a larger run.

When a slope test's verdict differs between its slack and zero slack
(:class:`~qbc_theory.verification.verdicts.SlopeTest`), the table it ran on gets as many seeds again:
the new seeds are the spawned children that follow the existing ones (:class:`_SeedBatch`), so the
first seeds' results are unchanged and cached and the extended table equals a run with that many
seeds (:func:`extend_seeds`). :func:`futile` says when doubling cannot be expected to resolve a flip.
Used by :func:`qbc_theory.verification.claims.verify` (the catalog) and
:mod:`qbc_theory.verification.family` (the instances of a family).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np

from ..model.errors import SpecError
from .runner import Cell, ResultTable, Spec, code_version, run_specs

__all__ = ["SeedingError", "extend_seeds", "futile", "projected_ci"]


@dataclasses.dataclass(frozen=True)
class _SeedBatch(Spec):
    """Seeds ``offset .. offset + count - 1`` of every cell of a base spec (sequential seeding).

    Cell ``i`` of the base spec draws seed ``s`` from child ``s`` of its ``SeedSequence`` (the cell
    functions spawn their seeds in order). The batch hands the cell function the same sequence with
    ``n_children_spawned = offset``, so its ``count`` spawned children are exactly children
    ``offset, offset + 1, ...``: the results of the first seeds are untouched (and stay cached),
    and the extended table equals the one a run with ``offset + count`` seeds would give.
    """

    offset: int = 0
    count: int = 0
    base_id: str = ""

    def resolved(self, profile: str = "quick"):
        """The base spec's parameters and grid of ``profile``, with ``count`` seeds."""
        params, grid, _ = Spec.resolved(self, profile)
        return params, grid, self.count

    def cells(self, profile: str = "quick") -> list:
        """The base spec's cells, each with its sequence advanced by ``offset`` children and its own
        cache key (the base key's content plus ``seed_offset``)."""
        base = Spec(**_spec_fields(self)).cells(profile)
        version = code_version(self.cell)
        out = []
        for c in base:
            seed = np.random.SeedSequence(self.entropy, spawn_key=c.seed.spawn_key, n_children_spawned=self.offset)
            key = hashlib.sha256(json.dumps(
                {"spec": self.base_id, "cell": self.cell, "code_version": version, "params": c.params,
                 "seeds": self.count, "seed_offset": self.offset, "entropy": self.entropy,
                 "spawn_key": list(c.seed.spawn_key)},
                sort_keys=True, separators=(",", ":"), allow_nan=False).encode()).hexdigest()
            out.append(Cell(index=c.index, point=c.point, params=c.params, seeds=self.count, seed=seed, key=key))
        return out


def _spec_fields(spec) -> dict:
    return {f.name: getattr(spec, f.name) for f in dataclasses.fields(Spec)}


def _batch(spec: Spec, offset: int, count: int) -> _SeedBatch:
    fields = _spec_fields(spec)
    fields["id"] = f"{spec.id}.seeds{offset}-{offset + count}"
    return _SeedBatch(**fields, offset=offset, count=count, base_id=spec.id)


class SeedingError(SpecError):
    """A cell function does not draw its seeds as spawned children in order (sequential seeds refused)."""


def _merge(table: ResultTable, extra: ResultTable, offset: int) -> ResultTable:
    """The rows of ``table`` (seeds ``0 .. offset - 1``) followed, cell by cell, by ``extra``'s seeds."""
    if table.seeds != offset:
        raise SpecError(f"{table.spec_id}: expected {offset} seeds before the batch, found {table.seeds}")
    if extra.code_version != table.code_version:
        raise SeedingError(f"{table.spec_id}: expected the seed batch to run the code of the first seeds "
                           f"({table.code_version}), found {extra.code_version} (the library changed during the run)")
    if extra.columns != table.columns:
        raise SeedingError(f"{table.spec_id}: expected the measurements {list(table.columns)} in the seed batch, "
                        f"found {list(extra.columns)}")
    by_cell: dict = {}
    for r in table.rows:
        by_cell.setdefault(r["cell"], []).append(r)
    for r in extra.rows:
        by_cell.setdefault(r["cell"], []).append({**r, "seed": offset + r["seed"]})
    _check_fresh_seeds(table, extra)
    rows = tuple(r for cell in sorted(by_cell) for r in by_cell[cell])
    run = dict(table.run)
    run["seed_batches"] = [*table.run.get("seed_batches", []), {"offset": offset, "count": extra.seeds,
                                                               "computed": extra.run.get("computed", []),
                                                               "cached": extra.run.get("cached", [])}]
    return dataclasses.replace(table, seeds=offset + extra.seeds, rows=rows, run=run)


def _check_fresh_seeds(table: ResultTable, extra: ResultTable) -> None:
    """Refuse a batch that is not the continuation of the first seeds.

    Two ways a cell can break sequential seeding, both detected from the data: a per-cell value
    (the same in every seed's row, e.g. a bound) that changes with the batch, so the cell pools its
    seeds and a larger run would give different per-cell values; and a batch that repeats the first
    seeds' values (a cell that seeds a generator from its sequence directly instead of spawning its
    seeds hands back the same numbers).
    """
    first = {(r["cell"], r["seed"]): r for r in table.rows}
    varying = [c for c in table.columns
               if any(len({r[c] for r in table.rows if r["cell"] == i}) > 1 for i in {r["cell"] for r in table.rows})]
    cells = sorted({r["cell"] for r in table.rows})
    for c in table.columns:
        if c in varying:
            continue
        base = {r["cell"]: r[c] for r in table.rows}
        new = {r["cell"]: r[c] for r in extra.rows}
        diff = [i for i in cells if i in new and new[i] != base[i]]
        if diff:
            raise SeedingError(f"cell function {table.cell!r}: expected per-cell values that do not depend on the "
                               f"seeds, found {c} = {base[diff[0]]:.6g} on the first {table.seeds} seeds and "
                               f"{new[diff[0]]:.6g} on the new ones in cell {diff[0]} (it pools its seeds): "
                               f"sequential seeds are not available for {table.spec_id}")
    if not varying:
        return
    repeats = all(all(r[c] == first[(r["cell"], r["seed"])][c] for c in varying)
                  for r in extra.rows if (r["cell"], r["seed"]) in first)
    if repeats:
        raise SeedingError(f"cell function {table.cell!r}: expected new seeds from spawned children "
                           f"{table.seeds}.., found the first seeds' values again (it does not spawn its seeds "
                           f"with seed.spawn(seeds)): sequential seeds are not available for {table.spec_id}")


def extend_seeds(requests, *, specs: dict, backend: str = "processes", out="qbc-out", profile: str = "quick",
                 scheduler=None, progress: bool = True, workers=None, connect_timeout: float = 5.0) -> dict:
    """Double the seeds of several tables in one run (sequential seeding).

    Parameters
    ----------
    requests : dict
        ``{key: ResultTable}``: tables to extend from ``S`` to ``2 S`` seeds per cell.
    specs : dict
        Spec id -> :class:`Spec` of each table.
    backend, out, profile, scheduler, progress, workers, connect_timeout
        As in :func:`qbc_theory.verification.runner.run_specs` (the new seeds are cached like any cell).

    Returns
    -------
    dict
        ``{key: ResultTable or SeedingError}``: the extended tables (bit-identical to a run with
        ``2 S`` seeds) or the reason a table could not be extended.
    """
    batches, where = [], {}
    for key, table in requests.items():
        b = _batch(specs[table.spec_id], table.seeds, table.seeds)
        if b.id not in where:
            batches.append(b)
            where[b.id] = len(batches) - 1
    if not batches:
        return {}
    extra = run_specs(batches, backend=backend, out=out, profile=profile, scheduler=scheduler, progress=progress,
                      workers=workers, connect_timeout=connect_timeout)
    result = {}
    for key, table in requests.items():
        b = _batch(specs[table.spec_id], table.seeds, table.seeds)
        try:
            result[key] = _merge(table, extra[where[b.id]], table.seeds)
        except SeedingError as exc:
            result[key] = exc
    return result


def projected_ci(outcome, seeds: int, budget: int) -> tuple[float, float]:
    """The slope interval expected at ``budget`` seeds: each end's distance from the estimate shrinks
    like ``sqrt(seeds / budget)`` (the standard error of a mean over seeds)."""
    f = (seeds / budget) ** 0.5
    lo, hi = outcome.ci
    m = outcome.measured
    return m - (m - lo) * f, m + (hi - m) * f


def futile(outcome, seeds: int, budget: int) -> bool:
    """True when a flipping slope test would still flip at the budget's seeds if its slope estimate
    stayed where it is (then doubling cannot be expected to resolve it: a slope significantly off the
    prediction but inside the slack, an interval that stays too wide to exclude the rival)."""
    from types import SimpleNamespace

    from .scaling import compare_slope, strict_slope_verdict

    d = outcome.detail
    lo, hi = projected_ci(outcome, seeds, budget)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return False
    ci = SimpleNamespace(ci=(lo, hi))
    slack = compare_slope(ci, d["predicted"], d["relation"], tol=d["tol"])
    strict = strict_slope_verdict(ci, d["predicted"], d["relation"])
    return slack != strict
