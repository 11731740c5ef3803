r"""Instance families and a worst-case search for the claims (``qbc verify --family N``).

A claim of :mod:`qbc_theory.verification.claims` is verified on one or two hand-picked instances. A
*family* replaces the instance by ``N`` random draws from a seeded generator of the claim's
hypothesis class and runs the claim's own experiment (the same cell function, ladder, seeds and
tests) on each; then a budgeted **worst-case search** looks for the instance that maximises the
claim's measured/bound ratio at the ladder point that decides its bound test.

The generators (hypotheses, how every draw meets them, the nonlinear kinds) and the instance files
are in :mod:`qbc_theory.verification.family_draws`; this module runs the families, judges their
instances and searches for the worst.

Each instance runs the claim's ladder with :data:`FAMILY_SEEDS` seeds per cell (at most the
profile's); its tests are the claim's. An instance whose slope test flips between its slack and zero
slack gets **sequential seeds** as in the catalog (:mod:`qbc_theory.verification.sequential`): its
seeds are doubled, bit-identically, up to :data:`FAMILY_SEED_FACTOR` times the first ones, unless the
interval projected to that budget would still flip; a flip that remains is inconclusive.
Claims without a family report "family not supported". A claim is consistent over a family only if
no instance violates it; its family status is ``violated`` if some instance does, ``consistent`` if
every instance is, and ``inconclusive`` otherwise. The report also gives the distribution per kind
(``distribution_by_kind`` in the JSON; ``[kind, count]`` lines in the text) when a family mixes kinds.

Everything is reproducible: instance ``i`` of claim ``c`` is drawn from
``SeedSequence(FAMILY_ENTROPY, spawn_key=(crc32(c), i))`` and its experiment's entropy is drawn
from the same root; the search's candidates from ``spawn_key=(crc32(c), 10**6)``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..model.errors import SpecError
from .family_draws import (CLASS_SCALE_FACTORS, FAMILIES, FAMILY_ENTROPY, NONLINEAR_FAMILIES, NONLINEAR_PERIOD,
                           NONLINEAR_X0_STD, THM2_CLASS, _box, _claim_index, _Draw, _params, _with, cell_of, draw_instance,
                           instance_toml, nonlinear_kind)
from .runner import ResultTable, builtin_spec_paths, load_spec, run_specs, spec_from_dict
from .sequential import SeedingError, extend_seeds, futile

__all__ = ["FAMILIES", "FAMILY_ENTROPY", "FAMILY_SEEDS", "FAMILY_SEED_FACTOR", "FamilyResult", "FamilyReport", "draw_instance",
           "run_families", "family_spec", "instance_toml", "supported", "cell_of", "nonlinear_kind",
           "NONLINEAR_FAMILIES", "NONLINEAR_PERIOD", "NONLINEAR_X0_STD", "CLASS_SCALE_FACTORS", "THM2_CLASS"]

FAMILY_SEED_FACTOR = 4
"""Sequential seeds of a family instance stop at this many times its first seeds (two doublings)."""

FAMILY_SEEDS = 8
"""First seeds per cell of a family instance (at most the profile's): a family spends its budget on
instances rather than on seeds, so an instance's intervals start about twice as wide as the claim's
(quick profile, 32 seeds); sequential seeds add more where a verdict flips."""


def supported(claim) -> str | None:
    """The family a claim supports, or None."""
    return getattr(claim, "family", None) or FAMILIES.get(claim.id)


def family_spec(base, spec_id: str, overrides: dict, entropy: int, profile: str, grid: dict | None = None,
                seeds: int | None = None, cell: str | None = None):
    """A spec running ``base``'s cell (or ``cell``) at ``base``'s ``profile`` with ``overrides`` and its own
    entropy (and ``seeds`` per cell instead of the profile's, when given)."""
    params, base_grid, prof_seeds = base.resolved(profile)
    seeds = prof_seeds if seeds is None else min(int(seeds), prof_seeds)
    params = {**params, **overrides}
    g = {k: list(v) for k, v in (grid or base_grid).items()}
    return spec_from_dict({"id": spec_id, "cell": cell or base.cell, "entropy": int(entropy), "params": params,
                           "grid": g,
                           "description": f"family instance of {base.id}",
                           "profiles": {"quick": {"seeds": seeds}, "full": {"seeds": seeds}}})


def _entropy(ss: np.random.SeedSequence) -> int:
    a, b = ss.generate_state(2, np.uint32)
    return int(a) << 32 | int(b)


# --------------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class FamilyResult:
    """One claim over its family: per instance outcomes, the distribution, the worst case."""

    claim_id: str
    family: str | None
    status: str
    instances: tuple = ()
    worst: dict | None = None
    search: dict | None = None
    note: str = ""

    def to_dict(self) -> dict:
        out = {"claim": self.claim_id, "family": self.family, "status": self.status, "note": self.note,
               "instances": list(self.instances), "worst": self.worst, "search": self.search}
        out["distribution"] = self.distribution()
        out["distribution_by_kind"] = {k: self.distribution(k) for k in self.kinds()}
        return out

    def kinds(self) -> list:
        """The dynamics/expert kinds among the instances, in order of appearance."""
        return list(dict.fromkeys(inst.get("kind", "linear") for inst in self.instances))

    def distribution(self, kind: str | None = None) -> dict:
        """Per test: quantiles (min, median, max) of tightness and of the fitted exponent over instances
        (over the instances of one ``kind``, ``"linear"``, ``"tanh"`` or ``"lure"``, when given)."""
        dist: dict = {}
        for inst in self.instances:
            if kind is not None and inst.get("kind", "linear") != kind:
                continue
            for j, t in enumerate(inst["tests"]):
                d = dist.setdefault(str(j), {"label": t["predicted"], "tightness": [], "exponent": [],
                                             "status": {}})
                if t.get("tightness") is not None:
                    d["tightness"].append(t["tightness"])
                if t["kind"] == "slope" and t.get("measured") is not None:
                    d["exponent"].append(t["measured"])
                d["status"][t["status"]] = d["status"].get(t["status"], 0) + 1
        for d in dist.values():
            for k in ("tightness", "exponent"):
                v = np.array(d[k], dtype=float)
                d[k] = ({"min": float(v.min()), "median": float(np.median(v)), "max": float(v.max()),
                         "values": v.tolist()} if v.size else None)
        return dist


@dataclass(frozen=True)
class FamilyReport:
    """All family results of one ``qbc verify --family N`` run."""

    results: tuple
    n: int
    seconds: float

    def to_dict(self) -> dict:
        return {"n": self.n, "seconds": self.seconds, "claims": [r.to_dict() for r in self.results]}

    def format_text(self) -> str:
        lines = [f"families ({self.n} random instances per claim, then a worst-case search; {self.seconds:.1f} s)"]
        for r in self.results:
            if r.family is None:
                lines.append(f"  {r.claim_id}: family not supported")
                continue
            lines.append(f"  {r.claim_id} [{r.family}]: {r.status} over {len(r.instances)} instances"
                         + (f" ({r.note})" if r.note else ""))
            kinds = r.kinds()
            groups = [(None, "")] + ([(k, f"[{k}, {sum(i.get('kind', 'linear') == k for i in r.instances)}] ")
                                      for k in kinds] if len(kinds) > 1 else [])
            for kind, tag in groups:
                for j, d in r.distribution(kind).items():
                    parts = [f"{k} {v}" for k, v in sorted(d["status"].items())]
                    if d["tightness"]:
                        t = d["tightness"]
                        parts.append(f"tightness min {t['min']:.3g} median {t['median']:.3g} max {t['max']:.3g}")
                    if d["exponent"]:
                        e = d["exponent"]
                        parts.append(f"exponent min {e['min']:.3g} median {e['median']:.3g} max {e['max']:.3g}")
                    lines.append(f"    - {tag}{d['label']}: " + "; ".join(parts))
            if r.worst:
                lines.append(f"    worst instance ({r.worst.get('kind', 'linear')}): measured/bound "
                             f"{r.worst['ratio']:.3g} at {r.worst['point']} ({r.worst['source']}), saved to "
                             f"{r.worst['toml']}")
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------
# running


def run_families(chosen, n: int, *, profile: str = "quick", out="qbc-out", backend: str = "processes",
                 workers=None, progress: bool = True, search_budget: int | None = None,
                 seeds: int | None = None, scheduler=None, connect_timeout: float = 5.0) -> FamilyReport:
    """Run each chosen claim that supports a family on ``n`` random instances, then search for the worst.

    Parameters
    ----------
    chosen : sequence of Claim
    n : int
        Instances per claim, ``>= 1``.
    profile : {"quick", "full"}
        The profile of the claim's spec whose ladder and seeds each instance runs.
    out : str or os.PathLike
        Cells are cached under ``out``; the report and the worst instances go to ``out/family/``.
    backend, workers, progress, scheduler, connect_timeout
        As in :func:`qbc_theory.verification.runner.run_specs`.
    search_budget : int, optional
        Candidates of the worst-case search per claim (default ``n``).
    seeds : int, optional
        Seeds per cell (default :data:`FAMILY_SEEDS`, at most the profile's).

    Returns
    -------
    FamilyReport

    Raises
    ------
    SpecError
        On ``n < 1``.
    """
    import time

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise SpecError(f"family: expected a number of instances >= 1, found {n!r}")
    t0 = time.perf_counter()
    out = Path(out)
    paths = {p.stem: p for p in builtin_spec_paths()}
    budget = n if search_budget is None else int(search_budget)
    run_kw = dict(backend=backend, out=out, profile="quick", progress=progress, workers=workers,
                  scheduler=scheduler, connect_timeout=connect_timeout)
    results = []
    if seeds is None:
        seeds = FAMILY_SEEDS
    for claim in chosen:
        fam = supported(claim)
        if fam is None:
            results.append(FamilyResult(claim.id, None, "not supported", note="family not supported"))
            continue
        results.append(_run_family(claim, n, budget, load_spec(paths[claim.spec]), profile, out, run_kw, seeds))
    report = FamilyReport(tuple(results), n, round(time.perf_counter() - t0, 3))
    path = out / "family" / f"family.{profile}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(report.to_dict(), indent=2, allow_nan=False, default=_json_default) + "\n")
    os.replace(tmp, path)
    return report


def _json_default(v):
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"not JSON: {type(v).__name__}")


def _bound_ratio(claim, table: ResultTable) -> tuple[float, dict | None]:
    """The largest mean/bound over the cells of the claim's first upper-bound test that can fail
    (without one: ``regret`` against the cell's ``bound`` column)."""
    from .verdicts import BoundTest

    tests = [t for t in claim.tests if isinstance(t, BoundTest) and t.kind == "upper"]
    if not tests:
        if "regret" not in table.columns or "bound" not in table.columns:
            return float("nan"), None
        # a claim without a bound test: the regret against the bound its cell evaluates
        tests = [BoundTest("regret", "bound", kind="upper", cap="H")]
    o = tests[0].run(table, None)
    points = [p for p in o.detail.get("points", []) if p["bound"] > 0]
    # the points that can fail decide; when every point is capped, the largest ratio among them
    informative = [p for p in points if not p["vacuous"]] or points
    best, where = -math.inf, None
    for p in informative:
        if p["mean"] / p["bound"] > best:
            best, where = p["mean"] / p["bound"], p["point"]
    return best, where


def _run_family(claim, n: int, budget: int, base, profile: str, out: Path, run_kw: dict, seeds) -> FamilyResult:
    ci = _claim_index(claim.id)
    draws, specs = [], []
    for i in range(n):
        d, p = draw_instance(claim.id, i, supported(claim))
        ss = np.random.SeedSequence(FAMILY_ENTROPY, spawn_key=(ci, i, 1))
        draws.append((d, p))
        specs.append(family_spec(base, f"{base.id}.family{i}", p, _entropy(ss), profile, seeds=seeds,
                                 cell=cell_of(d, base)))
    run_kw = {**run_kw, "profile": "quick"}
    tables = _sequential(claim, list(run_specs(specs, **run_kw)), specs, run_kw, ci)
    instances = []
    for i, ((d, p), (table, seeding, outcomes)) in enumerate(zip(draws, tables)):
        tests = [o.to_dict() for o in outcomes]
        ratio, point = _bound_ratio(claim, table)
        hyp = _hypotheses(table)
        instances.append({"index": i, "kind": d.nl, "dx": int(d.G.shape[0]), "rho_A": d.radius, "bins": d.bins,
                          "noise_std": d.noise_std, "reward_scale": d.reward_scale,
                          **({"sigma": d.sigma} if d.kind == "thm2.gaussian" else {}),
                          **_nonlinear_record(d, table),
                          "hypotheses": hyp, "tests": tests, "status": _combine([t["status"] for t in tests]),
                          "seeds": table.seeds, **({"seeding": seeding} if seeding else {}),
                          "ratio": _finite(ratio), "ratio_point": point})
    status = _combine([inst["status"] for inst in instances])
    # worst-case search: random candidates around the worst instance's scalar parameters, at the
    # ladder point that decided its bound test
    worst_i = max(range(n), key=lambda k: -math.inf if instances[k]["ratio"] is None else instances[k]["ratio"])
    worst = {"ratio": instances[worst_i]["ratio"], "point": instances[worst_i]["ratio_point"], "source":
             f"family instance {worst_i}", "params": draws[worst_i][1], "draw": draws[worst_i][0]}
    search = {"budget": budget, "method": "random search in a box around the worst instance (half-width 1/4 "
                                          "of each parameter's range), at its deciding ladder point",
              "candidates": []}
    if budget > 0 and worst["point"] is not None:
        rng = np.random.default_rng(np.random.SeedSequence(FAMILY_ENTROPY, spawn_key=(ci, 10**6)))
        d0 = draws[worst_i][0]
        box = _box(d0.kind, d0.nl)
        half = (box[:, 1] - box[:, 0]) / 4
        cands = []
        for j in range(budget):
            d = _with(d0, d0.vector() + rng.uniform(-half, half))
            p = _params(d)
            if p is None:
                continue
            ss = np.random.SeedSequence(FAMILY_ENTROPY, spawn_key=(ci, 10**6, j))
            grid = {k: [v] for k, v in worst["point"].items()}
            cands.append((d, p, family_spec(base, f"{base.id}.search{j}", p, _entropy(ss), profile, grid=grid,
                                            seeds=seeds, cell=cell_of(d, base))))
        if cands:
            ctabs = run_specs([c[2] for c in cands], **run_kw)
            for (d, p, _), t in zip(cands, ctabs):
                r, pt = _bound_ratio(claim, t)
                search["candidates"].append({"ratio": _finite(r), "kind": d.nl, "rho_A": d.radius, "gain": d.gain,
                                             "noise_std": d.noise_std, "bins": d.bins,
                                             "reward_scale": d.reward_scale, **_nonlinear_record(d, t)})
                if pt is not None and math.isfinite(r) and r > (worst["ratio"] or -math.inf):
                    worst = {"ratio": r, "point": pt, "source": "worst-case search", "params": p, "draw": d}
    toml_path = out / "family" / f"{claim.id}.worst.toml"
    if worst["point"] is not None:
        _write_toml(toml_path, instance_toml(claim.id, base, worst["params"], worst["point"], profile, worst))
        worst_out = {k: v for k, v in worst.items() if k != "draw"}
        worst_out["kind"] = worst["draw"].nl
        worst_out["toml"] = str(toml_path)
    else:
        worst_out = None
    note = ""
    if any(not inst["hypotheses"]["all"] for inst in instances):
        note = "some instances leave the hypothesis class (see hypotheses)"
    return FamilyResult(claim.id, supported(claim), status, tuple(instances), worst_out, search, note)


def _sequential(claim, tables: list, specs: list, run_kw: dict, ci: int) -> list:
    """``[(table, note, outcomes)]``: each instance's table after sequential seeds, and its test outcomes.

    A table whose slope tests flip is doubled (all such tables of the family in one run) while the
    doubled count stays within :data:`FAMILY_SEED_FACTOR` times its first seeds and some flip is not
    :func:`~qbc_theory.verification.sequential.futile`; ``note`` says why seeds were refused or what
    still flips, and is empty otherwise. Each table is judged once per size, with the instance's own
    bootstrap stream, and the outcomes on its final table are the instance's verdict (reproducible).
    """
    by_id = {s.id: s for s in specs}
    notes = [""] * len(tables)
    budgets = [FAMILY_SEED_FACTOR * t.seeds for t in tables]
    outcomes: list = [None] * len(tables)
    fresh = set(range(len(tables)))
    while fresh:
        requests = {}
        for i in sorted(fresh):
            table = tables[i]
            rng = np.random.default_rng(np.random.SeedSequence(FAMILY_ENTROPY, spawn_key=(ci, i, 2)))
            outcomes[i] = [t.run(table, rng) for t in claim.tests]
            flips = [o for o in outcomes[i] if o.flipped]
            notes[i] = ""
            if not flips:
                continue
            if 2 * table.seeds > budgets[i]:
                notes[i] = f"still flips at {table.seeds} seeds per cell (budget {budgets[i]})"
            elif all(futile(o, table.seeds, budgets[i]) for o in flips):
                notes[i] = f"more seeds cannot resolve the flip (projected to {budgets[i]} seeds)"
            else:
                requests[i] = table
        fresh = set()
        if not requests:
            break
        for i, grown in extend_seeds(requests, specs=by_id, **run_kw).items():
            if isinstance(grown, SeedingError):
                notes[i] = f"sequential seeds refused: {grown}"
            else:
                tables[i] = grown
                fresh.add(i)
    return list(zip(tables, notes, outcomes))


def _nonlinear_record(d: _Draw, table: ResultTable) -> dict:
    """The nonlinear parameters of a draw and the constants its cell certified (empty for a linear draw)."""
    if d.nl == "linear":
        return {}
    r = table.rows[0]
    if d.kind == "thm2.gaussian":  # cell thm2.nonlinear: Theorem 2's constants (C, eta from the certificate)
        rec = {"saturation": d.saturation, "L": r.get("L"), "kappa": r.get("kappa"), "C": r.get("C"),
               "eta": r.get("eta"), "Pi": r.get("Pi")}
        if d.nl == "lure":
            rec.update({"lure_strength": d.lure_strength, "p": int(d.Cl.shape[0])})
        return rec
    rec = {"saturation": d.saturation, "Gamma": r.get("Gamma"), "L": r.get("L"), "h2_vanishes": r.get("h2_vanishes")}
    if d.nl == "lure":
        rec.update({"lure_strength": d.lure_strength, "p": int(d.Cl.shape[0]), "C_cert": r.get("C_cert"),
                    "eta_cert": r.get("eta_cert")})
    return rec


def _hypotheses(table: ResultTable) -> dict:
    """The cell's own checks of the theorem's hypotheses on one instance (first row): global P-IISS
    (the cell evaluated the bound, which ``thm3.linear`` does only when rho(A) < 1 and
    ``thm3.nonlinear`` only with a certificate: it refuses the instance otherwise) and the binning's sup error
    (union bound on leaving the range below 1e-6; Theorem 2's cell adds H times it to its bound)."""
    r = table.rows[0]
    h = {"p_iiss": "bound" in r, "sup_error": r.get("clip_exit", 1.0) < 1e-6}
    if "h2_vanishes" in r:
        h["h2_vanishes"] = bool(r["h2_vanishes"])
    h["all"] = h["p_iiss"] and h["sup_error"]
    return h


def _finite(v) -> float | None:
    return float(v) if v is not None and math.isfinite(v) else None


def _combine(statuses) -> str:
    from .verdicts import combine

    return combine(statuses)


def _write_toml(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
