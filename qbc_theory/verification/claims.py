r"""The catalog of verifiable claims and ``verify``, which runs it (``qbc verify``).

The claims themselves are defined next to the cells that measure them (:mod:`qbc_theory.verification.cells`)
with the classes of :mod:`qbc_theory.verification.verdicts` (re-exported here); this module orders them
(:data:`ORDER`, a contract), runs their experiments through :mod:`qbc_theory.verification.runner` and writes the
report.
"""

from __future__ import annotations

import dataclasses
import json
import time

import numpy as np

from ..model.validation import reject_unknown_kwargs
from ..model.errors import SpecError
from . import cells as _cells
from .runner import ResultTable, builtin_spec_paths, load_spec, run_specs
from .sequential import SeedingError, extend_seeds
from .sequential import futile as _futile
from .sequential import projected_ci as _projected_ci
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
    (ends closer by ``sqrt(seeds / budget)``) would still flip (:func:`~qbc_theory.verification.sequential.futile`: a slope
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
