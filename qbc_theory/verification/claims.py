r"""The catalog of verifiable claims and ``verify``, which runs it (``qbc verify``).

The claims themselves are defined next to the cells that measure them (:mod:`qbc_theory.verification.cells`)
with the classes of :mod:`qbc_theory.verification.verdicts` (re-exported here); this module orders them
(:data:`ORDER`, a contract), runs their experiments through :mod:`qbc_theory.verification.runner` and writes the
report.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time

import numpy as np

from ..model.validation import reject_unknown_kwargs
from ..model.errors import SpecError
from . import cells as _cells
from .runner import Cell, ResultTable, Spec, builtin_spec_paths, code_version, load_spec, run_specs
from .verdicts import (BoundTest, Claim, ClaimResult, SlopeTest, TestOutcome, VerifyReport, combine,
                       control_status)

__all__ = [
    "SlopeTest",
    "BoundTest",
    "TestOutcome",
    "Claim",
    "ClaimResult",
    "VerifyReport",
    "ORDER",
    "claim_ids",
    "get_claim",
    "combine",
    "control_status",
    "evaluate",
    "verify",
    "judge",
    "extend_seeds",
    "SeedingError",
]


ORDER = (
    "thm3.rate_n", "thm3.horizon", "thm3.eps", "thm2.rate_n", "thm2.horizon", "prop5.rtvc",
    "thm6.det", "thm6.noisy", "thm7.det", "thm7.noisy", "thm8.tight", "thm9.tight",
    "lipschitz.exp", "prop4.regression", "thm1.explicit", "thm3.h2",
)
"""The claim ids (a contract), in report order."""


def _catalog() -> tuple[Claim, ...]:
    found = {c.id: c for c in _cells.all_claims()}
    if set(found) != set(ORDER):
        raise SpecError(f"catalog: expected the claims {', '.join(ORDER)}, found "
                        f"{', '.join(sorted(found)) or 'none'}")
    return tuple(found[i] for i in ORDER)


def claim_ids() -> list[str]:
    """Ids of the claims in the catalog, in report order."""
    return [c.id for c in _catalog()]


def get_claim(claim_id: str) -> Claim:
    """The claim with this id.

    Raises
    ------
    SpecError
        Naming the known ids.
    """
    for c in _catalog():
        if c.id == claim_id:
            return c
    raise SpecError(f"claim: expected one of {', '.join(claim_ids())}, found {claim_id!r}")


def _builtin_specs() -> dict:
    return {p.stem: p for p in builtin_spec_paths()}


_BOOTSTRAP_ENTROPY = 20260320


def _claim_rng(claim_id: str) -> np.random.Generator:
    index = ORDER.index(claim_id) if claim_id in ORDER else len(ORDER)
    return np.random.default_rng(np.random.SeedSequence(_BOOTSTRAP_ENTROPY, spawn_key=(index,)))


def evaluate(claim: Claim, table: ResultTable, control_table: ResultTable, rng=None) -> ClaimResult:
    """Evaluate one claim on given result tables (``rng`` seeds the bootstrap; default: the claim's
    own stream, as :func:`verify` uses)."""
    rng = _claim_rng(claim.id) if rng is None else rng
    return claim.evaluate(table, control_table, rng)


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


def _projected_ci(outcome, seeds: int, budget: int) -> tuple[float, float]:
    """The slope interval expected at ``budget`` seeds: each end's distance from the estimate shrinks
    like ``sqrt(seeds / budget)`` (the standard error of a mean over seeds)."""
    f = (seeds / budget) ** 0.5
    lo, hi = outcome.ci
    m = outcome.measured
    return m - (m - lo) * f, m + (hi - m) * f


def _futile(outcome, seeds: int, budget: int) -> bool:
    """True when a flipping slope test would still flip at the budget's seeds if its slope estimate
    stayed where it is (then doubling cannot be expected to resolve it: a slope significantly off the
    prediction but inside the slack, an interval that stays too wide to exclude the rival)."""
    from types import SimpleNamespace

    from .scaling import compare_slope, strict_slope_verdict

    d = outcome.detail
    lo, hi = _projected_ci(outcome, seeds, budget)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return False
    ci = SimpleNamespace(ci=(lo, hi))
    slack = compare_slope(ci, d["predicted"], d["relation"], tol=d["tol"])
    strict = strict_slope_verdict(ci, d["predicted"], d["relation"])
    return slack != strict


def judge(chosen, specs: dict, base: dict, *, sequential: bool = True, **run_kw):
    """Judge claims on their tables, doubling the seeds of tables whose slope tests flip (see :func:`verify`).

    Parameters
    ----------
    chosen : sequence of Claim
    specs : dict
        Spec id -> :class:`Spec` (for the seed batches).
    base : dict
        Spec id -> :class:`ResultTable` at the profile's seeds.
    sequential : bool
    **run_kw
        ``backend``, ``out``, ``profile``, ``scheduler``, ``progress``, ``workers``, ``connect_timeout``
        for the batches.

    Returns
    -------
    results : tuple of ClaimResult
    tables : dict
        Spec id -> the largest table a claim was judged on.
    """
    # one bootstrap stream per claim, keyed by its place in ORDER: a claim's intervals do not depend
    # on which other claims were run
    views = {c.id: {"e": base[c.spec], "c": base[c.control_spec]} for c in chosen}
    refused: dict = {}
    futile: dict = {}
    results = {}
    pending = list(chosen)
    while pending:
        requests = {}
        for c in pending:
            res = c.evaluate(views[c.id]["e"], views[c.id]["c"], _claim_rng(c.id))
            results[c.id] = res
            if not sequential:
                continue
            for side, outs in (("e", res.outcomes), ("c", res.control_outcomes)):
                table = views[c.id][side]
                budget = c.seed_budget(base[table.spec_id].seeds)
                flips = [o for o in outs if o.flipped]
                if not flips or 2 * table.seeds > budget or (c.id, side) in refused:
                    continue
                hopeless = [o for o in flips if _futile(o, table.seeds, budget)]
                if len(hopeless) == len(flips):
                    futile[(c.id, side)] = hopeless
                    continue
                futile.pop((c.id, side), None)
                requests[(c.id, side)] = table
        if not requests:
            break
        grown = extend_seeds(requests, specs=specs, **run_kw)
        for (cid, side), t in grown.items():
            if isinstance(t, SeedingError):
                refused[(cid, side)] = str(t)
            else:
                views[cid][side] = t
        pending = [c for c in chosen if any(k[0] == c.id for k in requests)]
    final = []
    for c in chosen:
        res = results[c.id]
        notes = [f"sequential seeds refused: {refused[(c.id, s)]}" for s in ("e", "c") if (c.id, s) in refused]
        for side, outs in (("e", res.outcomes), ("c", res.control_outcomes)):
            t = views[c.id][side]
            where = "experiment" if side == "e" else "control"
            budget = c.seed_budget(base[t.spec_id].seeds)
            if not sequential or not any(o.flipped for o in outs) or (c.id, side) in refused:
                continue
            if (c.id, side) in futile:
                for o in futile[(c.id, side)]:
                    lo, hi = _projected_ci(o, t.seeds, budget)
                    notes.append(f"{where}: more seeds cannot resolve the flip of '{o.predicted}': at the budget of "
                                 f"{budget} seeds per cell its interval would be about [{lo:.4g}, {hi:.4g}] if the "
                                 f"slope stays at {o.measured:.3g}, which still flips; judged at {t.seeds} seeds: "
                                 f"inconclusive")
            else:
                notes.append(f"{where}: still flips at {t.seeds} seeds per cell (budget {budget}): inconclusive")
        if notes:
            res = dataclasses.replace(res, reasons=(*res.reasons, *notes))
        final.append(res)
    tables = dict(base)
    for c in chosen:
        for side, sid in (("e", c.spec), ("c", c.control_spec)):
            if views[c.id][side].seeds > tables[sid].seeds:
                tables[sid] = views[c.id][side]
    return tuple(final), tables


def verify(profile: str = "quick", *, backend: str = "processes", out="qbc-out", claims=None,
           progress: bool = True, scheduler=None, workers=None, sequential: bool = True, family: int = 0,
           connect_timeout: float = 5.0, **kwargs) -> VerifyReport:
    """Run the experiments of the claim catalog (reusing cached cells) and judge every claim.

    **Sequential seeds.** When a slope test's verdict differs between its slack and zero slack
    (:class:`SlopeTest`), the table it ran on (experiment or control) is extended by as many seeds
    again (spawned children following the existing ones, so the first seeds' results are unchanged
    and cached) and the claim is judged again; doubling stops when nothing flips, when the next
    doubling would exceed the claim's budget (:meth:`Claim.seed_budget`), or when it cannot be
    expected to help: if the interval shrunk to the budget's seeds around the same slope estimate
    (ends closer by ``sqrt(seeds / budget)``) would still flip (:func:`_futile`: a slope
    significantly off the prediction but inside the slack). A test that still flips is
    ``inconclusive`` and its ``note`` says so. Each claim keeps its own tables, so its verdict does
    not depend on which other claims were run; all is reproducible from the specs' entropies.

    Parameters
    ----------
    profile : {"quick", "full"}
    backend, out, scheduler, workers, progress, connect_timeout
        As in :func:`qbc_theory.verification.runner.run_specs`; results are cached under ``out``. The
        sequential seed batches and the family runs use the same backend and scheduler.
    claims : list of str, optional
        Only these claim ids (default: the whole catalog).
    sequential : bool
        Add seeds to resolve slack flips (default True).
    family : int
        With ``family = N > 0``, also run each claim that supports it on ``N`` random instances of
        its hypothesis class and a worst-case search (:mod:`qbc_theory.verification.family`); the
        outcome is in ``report.families`` and ``out/family/``.

    Returns
    -------
    VerifyReport
        Also written to ``out/verify.<profile>.json``.

    Raises
    ------
    SpecError
        On an unknown claim id or profile.
    """
    reject_unknown_kwargs("verify", kwargs)
    if profile not in ("quick", "full"):
        raise SpecError(f"profile: expected 'quick' or 'full', found {profile!r}")
    if isinstance(family, bool) or not isinstance(family, int) or family < 0:
        raise SpecError(f"family: expected a number of instances >= 0, found {family!r}")
    chosen = [get_claim(c) for c in claims] if claims else list(_catalog())
    paths = _builtin_specs()
    needed = []
    for c in chosen:
        for sid in (c.spec, c.control_spec):
            if sid not in paths:
                raise SpecError(f"claim {c.id}: expected a built-in spec {sid!r}, found none")
            if sid not in needed:
                needed.append(sid)
    t0 = time.perf_counter()
    specs = {s: load_spec(paths[s]) for s in needed}
    run_kw = dict(backend=backend, out=out, profile=profile, scheduler=scheduler, progress=progress, workers=workers,
                  connect_timeout=connect_timeout)
    base = dict(zip(needed, run_specs([specs[s] for s in needed], **run_kw)))
    results, tables = judge(chosen, specs, base, sequential=sequential, **run_kw)
    families = None
    if family:
        from .family import run_families

        families = run_families(chosen, family, profile=profile, out=out, backend=backend, workers=workers,
                                progress=progress, scheduler=scheduler, connect_timeout=connect_timeout)
    report = VerifyReport(results, profile, round(time.perf_counter() - t0, 3), tables, families=families)
    _write(out, profile, report)
    return report


def _write(out, profile: str, report: VerifyReport) -> None:
    import json
    import os
    from pathlib import Path

    path = Path(out) / f"verify.{profile}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n")
    os.replace(tmp, path)
