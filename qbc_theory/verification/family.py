r"""Instance families and a worst-case search for the claims (``qbc verify --family N``).

A claim of :mod:`qbc_theory.verification.claims` is verified on one or two hand-picked instances. A
*family* replaces the instance by ``N`` random draws from a seeded generator of the claim's
hypothesis class and runs the claim's own experiment (the same cell function, ladder, seeds and
tests) on each; then a budgeted **worst-case search** looks for the instance that maximises the
claim's measured/bound ratio at the ladder point that decides its bound test.

Supported families (:data:`FAMILIES`):

``thm3.binning`` (claim ``thm3.rate_n``; Cao & Xie 2026, Theorem 3 with Proposition 5's binning
modulus). Hypotheses and how every draw meets them:

- linear system :math:`x_{h+1} = A x_h + B u_h + w_h` with :math:`d_x \in \{1, \dots, 6\}`, one
  action (the cell's binning is scalar), :math:`A = r\, G / \rho(G)` with :math:`G` standard normal
  and spectral radius :math:`r \sim U[0.1, 0.95]`: globally P-IISS (:math:`\rho(A) < 1`);
  :math:`B` standard normal; :math:`w \sim N(0, \sigma_w^2 I)`, :math:`\sigma_w \sim U[0.3, 1]`;
- deterministic linear expert :math:`u = K x`, :math:`K = -c\, B^\top / \|B\|^2` plus a random
  perturbation, redrawn until :math:`\rho(A + BK) < 1` (``x_1`` from the closed loop's stationary law);
- centre binning of :math:`[-a, a]` with :math:`a = 8 \times` the stationary standard deviation of
  the expert's action (so it leaves the range with probability :math:`\le 2 H \Phi(-8) \approx
  10^{-14}` per trajectory: the sup error :math:`\varepsilon_q = a / \text{bins}` holds), bins
  :math:`\in \{8, 16, 32, 64, 128\}`;
- finite realizable class :math:`\{K + o\, D\}` with a random unit direction :math:`D` and the
  claim's offsets (the true gain :math:`o = 0` is in the class);
- reward of the claim (tracking and regulation, scale :math:`s \sim U[5, 20]`).
The bound is the one the cell evaluates (``thm3_binning`` with the instance's :math:`\Gamma, L, k`),
with its :math:`H^2` term whenever :math:`L \Gamma (k+1) \ge k - 2`, which the draws allow.
Nonlinear kinds are not drawn: the ``thm3.linear`` cell measures linear systems only.

``thm2.gaussian`` (claims ``thm2.rate_n`` and ``thm2.horizon``; Theorem 2). The same random
:math:`A` (P-EIISS: the cell computes the exact :math:`(C, \eta)`), :math:`B` and expert gain; a
Gaussian expert :math:`N(Kx, \sigma^2)` with :math:`\sigma \sim U[0.2, 1]` (TVC);
:math:`x_1 \sim N(0, I)`; process noise sd :math:`U[0.05, 0.5]`; centre binning of :math:`\pm 8`
action standard deviations (under the larger of the initial and the stationary state law) with
:math:`2^6 \dots 2^{11}` cells, whose exit probability the cell adds to its bound; the claim's
realizable class, a box :math:`K \pm 1/2` per entry times :math:`\sigma \in [\sigma/2, 2\sigma]`
(its :math:`1/n`-grid is :math:`|\Pi|`); regulation reward of scale :math:`U[2, 8]`.
``thm2.rate_n`` has no bound test, so its worst-case search maximises the regret over the bound the
cell evaluates (Theorem 2's explicit form plus :math:`\delta H` and the exit term);
``thm2.horizon`` searches on its first bound test (the same bound).

Each instance runs the claim's ladder with :data:`FAMILY_SEEDS` seeds per cell (at most the
profile's); its tests are the claim's, judged without sequential seeds (a flip is inconclusive).
Claims without a family report "family not supported". A claim is consistent over a family only if
no instance violates it; its family status is ``violated`` if some instance does, ``consistent`` if
every instance is, and ``inconclusive`` otherwise.

Everything is reproducible: instance ``i`` of claim ``c`` is drawn from
``SeedSequence(FAMILY_ENTROPY, spawn_key=(crc32(c), i))`` and its experiment's entropy is drawn
from the same root; the search's candidates from ``spawn_key=(crc32(c), 10**6)``.
"""

from __future__ import annotations

import json
import math
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.linalg
from scipy import stats

from ..model.errors import SpecError
from .runner import ResultTable, builtin_spec_paths, load_spec, run_specs, spec_from_dict

__all__ = ["FAMILIES", "FAMILY_ENTROPY", "FAMILY_SEEDS", "FamilyResult", "FamilyReport", "draw_instance",
           "run_families", "family_spec", "instance_toml", "supported"]

FAMILY_ENTROPY = 20261204
"""Root entropy of every family draw (instances, their experiments' entropies, search candidates)."""

FAMILIES = {"thm3.rate_n": "thm3.binning", "thm2.rate_n": "thm2.gaussian", "thm2.horizon": "thm2.gaussian"}
"""Claim id -> the family it supports (a claim's ``family`` attribute, when set, takes precedence)."""

FAMILY_SEEDS = 8
"""Seeds per cell of a family instance (at most the profile's): a family spends its budget on
instances rather than on seeds, so an instance's intervals are about twice as wide as the claim's
(quick profile, 32 seeds) and more of its tests come out inconclusive, never more consistent."""
_CLIP_SDS = 8.0


def supported(claim) -> str | None:
    """The family a claim supports, or None."""
    return getattr(claim, "family", None) or FAMILIES.get(claim.id)


def _claim_index(claim_id: str) -> int:
    """A stable integer per claim id (CRC-32 of the id), the first element of its spawn keys."""
    return zlib.crc32(claim_id.encode())


# --------------------------------------------------------------------------------------------------
# thm3.binning: the generator


@dataclass(frozen=True)
class _Draw:
    """The free parameters of one instance (the worst-case search moves the scalar ones)."""

    kind: str              # the family
    G: np.ndarray          # (dx, dx) direction of A
    B: np.ndarray          # (dx, 1)
    P: np.ndarray          # (1, dx) perturbation of the expert gain
    D: np.ndarray          # (1, dx) unit class direction (thm3.binning)
    v: np.ndarray          # scalars, see _BOXES

    @property
    def radius(self) -> float:
        return float(self.v[0])

    @property
    def gain(self) -> float:
        return float(self.v[1])

    @property
    def noise_std(self) -> float:
        return float(self.v[2])

    @property
    def bins(self) -> int:
        return int(2 ** round(float(self.v[3])))

    @property
    def reward_scale(self) -> float:
        return float(self.v[4])

    @property
    def sigma(self) -> float:
        return float(self.v[5])

    def vector(self) -> np.ndarray:
        return np.array(self.v, dtype=float)


_BOXES = {
    # rho(A), gain c, process noise sd, log2 bins, reward scale, expert sd (unused by thm3.binning)
    "thm3.binning": np.array([[0.1, 0.95], [0.05, 0.9], [0.3, 1.0], [3.0, 7.0], [5.0, 20.0], [0.0, 0.0]]),
    "thm2.gaussian": np.array([[0.1, 0.95], [0.05, 0.9], [0.05, 0.5], [6.0, 11.0], [2.0, 8.0], [0.2, 1.0]]),
}
"""Ranges of the scalar parameters of each family (the generator draws uniformly in them)."""


def _draw(kind: str, rng: np.random.Generator) -> _Draw:
    dx = int(rng.integers(1, 7))
    G = rng.standard_normal((dx, dx))
    B = rng.standard_normal((dx, 1))
    P = 0.1 * rng.standard_normal((1, dx))
    D = rng.standard_normal((1, dx))
    D = D / np.linalg.norm(D)
    box = _BOXES[kind]
    return _Draw(kind, G, B, P, D, rng.uniform(box[:, 0], box[:, 1]))


def _with(draw: _Draw, v: np.ndarray) -> _Draw:
    box = _BOXES[draw.kind]
    return _Draw(draw.kind, draw.G, draw.B, draw.P, draw.D, np.clip(v, box[:, 0], box[:, 1]))


def _system(draw: _Draw):
    rho_g = float(np.max(np.abs(np.linalg.eigvals(draw.G))))
    A = draw.G * (draw.radius / rho_g) if rho_g > 0 else np.zeros_like(draw.G)
    B = draw.B
    K = -draw.gain * B.T / float((B.T @ B)[0, 0]) + draw.P
    return A, B, K


def _params(draw: _Draw) -> dict | None:
    """The cell parameters of a draw, or None when the expert's closed loop is not stable."""
    A, B, K = _system(draw)
    Acl = A + B @ K
    if not np.max(np.abs(np.linalg.eigvals(Acl))) < 0.98:
        return None
    dx = A.shape[0]
    if draw.kind == "thm3.binning":
        S = scipy.linalg.solve_discrete_lyapunov(Acl, draw.noise_std**2 * np.eye(dx))
        sd_u = float(np.sqrt((K @ S @ K.T)[0, 0]))
        clip = float(f"{_CLIP_SDS * sd_u:.6g}")
        return {"A": A.tolist(), "B": B.tolist(), "K": K.tolist(), "noise_std": draw.noise_std, "x0": "stationary",
                "clip": clip, "eps_q": clip / draw.bins, "reward_scale": draw.reward_scale,
                "class_direction": draw.D.tolist()}
    # thm2.gaussian: x_1 ~ N(0, I), Gaussian expert N(K x, sigma^2); the range covers 8 sd of the
    # action under the larger of the initial and the stationary state covariance
    S = scipy.linalg.solve_discrete_lyapunov(Acl, draw.noise_std**2 * np.eye(dx) + draw.sigma**2 * (B @ B.T))
    var_x = max(float((K @ S @ K.T)[0, 0]), float((K @ K.T)[0, 0]))
    clip = float(f"{_CLIP_SDS * math.sqrt(var_x + draw.sigma**2):.6g}")
    k = K.ravel()
    return {"A": A.tolist(), "B": B.tolist(), "K": K.tolist(), "noise_std": draw.noise_std, "x0_std": 1.0,
            "sigma": draw.sigma, "low": -clip, "high": clip, "bins": draw.bins, "reward": "regulation",
            "reward_scale": draw.reward_scale, "box_K": [[float(a - 0.5), float(a + 0.5)] for a in k],
            "box_sigma": [draw.sigma / 2, 2 * draw.sigma]}


def draw_instance(claim_id: str, i: int, kind: str | None = None) -> tuple[_Draw, dict]:
    """Instance ``i`` of the family of ``claim_id``: the draw and the cell parameters it overrides.

    Redraws (from the same stream) until the expert's closed loop is stable; the draw is a pure
    function of ``(claim_id, i, kind)``.

    Parameters
    ----------
    claim_id : str
    i : int
    kind : str, optional
        The family (one of the values of :data:`FAMILIES`); default: the claim's entry there.

    Raises
    ------
    SpecError
        If the claim supports no family or ``kind`` is unknown.
    """
    kind = kind or FAMILIES.get(claim_id)
    if kind is None:
        raise SpecError(f"family: expected a claim with a family ({', '.join(FAMILIES)}), found {claim_id!r}")
    if kind not in _BOXES:
        raise SpecError(f"family: expected one of {', '.join(_BOXES)}, found {kind!r}")
    rng = np.random.default_rng(np.random.SeedSequence(FAMILY_ENTROPY, spawn_key=(_claim_index(claim_id), i)))
    for _ in range(1000):
        d = _draw(kind, rng)
        p = _params(d)
        if p is not None:
            return d, p
    raise SpecError(f"family {claim_id}: no stable closed loop in 1000 draws")  # pragma: no cover


def family_spec(base, spec_id: str, overrides: dict, entropy: int, profile: str, grid: dict | None = None,
                seeds: int | None = None):
    """A spec running ``base``'s cell at ``base``'s ``profile`` with ``overrides`` and its own entropy
    (and ``seeds`` per cell instead of the profile's, when given)."""
    params, base_grid, prof_seeds = base.resolved(profile)
    seeds = prof_seeds if seeds is None else min(int(seeds), prof_seeds)
    params = {**params, **overrides}
    g = {k: list(v) for k, v in (grid or base_grid).items()}
    return spec_from_dict({"id": spec_id, "cell": base.cell, "entropy": int(entropy), "params": params, "grid": g,
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
        return out

    def distribution(self) -> dict:
        """Per test: quantiles (min, median, max) of tightness and of the fitted exponent over instances."""
        dist: dict = {}
        for inst in self.instances:
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
            for j, d in r.distribution().items():
                parts = [f"{k} {v}" for k, v in sorted(d["status"].items())]
                if d["tightness"]:
                    t = d["tightness"]
                    parts.append(f"tightness min {t['min']:.3g} median {t['median']:.3g} max {t['max']:.3g}")
                if d["exponent"]:
                    e = d["exponent"]
                    parts.append(f"exponent min {e['min']:.3g} median {e['median']:.3g} max {e['max']:.3g}")
                lines.append(f"    - {d['label']}: " + "; ".join(parts))
            if r.worst:
                lines.append(f"    worst instance: measured/bound {r.worst['ratio']:.3g} at {r.worst['point']} "
                             f"({r.worst['source']}), saved to {r.worst['toml']}")
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------
# running


def run_families(chosen, n: int, *, profile: str = "quick", out="qbc-out", backend: str = "processes",
                 workers=None, progress: bool = True, search_budget: int | None = None,
                 seeds: int | None = None) -> FamilyReport:
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
    backend, workers, progress
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
    run_kw = dict(backend=backend, out=out, profile="quick", progress=progress, workers=workers)
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


def _judge_instance(claim, table: ResultTable, rng) -> list:
    return [t.run(table, rng).to_dict() for t in claim.tests]


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
        specs.append(family_spec(base, f"{base.id}.family{i}", p, _entropy(ss), profile, seeds=seeds))
    run_kw = {**run_kw, "profile": "quick"}
    tables = run_specs(specs, **run_kw)
    instances = []
    for i, ((d, p), table) in enumerate(zip(draws, tables)):
        rng = np.random.default_rng(np.random.SeedSequence(FAMILY_ENTROPY, spawn_key=(ci, i, 2)))
        tests = _judge_instance(claim, table, rng)
        ratio, point = _bound_ratio(claim, table)
        hyp = _hypotheses(table)
        instances.append({"index": i, "dx": int(d.G.shape[0]), "rho_A": d.radius, "bins": d.bins,
                          "noise_std": d.noise_std, "reward_scale": d.reward_scale,
                          **({"sigma": d.sigma} if d.kind == "thm2.gaussian" else {}),
                          "hypotheses": hyp, "tests": tests, "status": _combine([t["status"] for t in tests]),
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
        box = _BOXES[d0.kind]
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
                                            seeds=seeds)))
        if cands:
            ctabs = run_specs([c[2] for c in cands], **run_kw)
            for (d, p, _), t in zip(cands, ctabs):
                r, pt = _bound_ratio(claim, t)
                search["candidates"].append({"ratio": _finite(r), "rho_A": d.radius, "gain": d.gain,
                                             "noise_std": d.noise_std, "bins": d.bins,
                                             "reward_scale": d.reward_scale})
                if pt is not None and math.isfinite(r) and r > (worst["ratio"] or -math.inf):
                    worst = {"ratio": r, "point": pt, "source": "worst-case search", "params": p, "draw": d}
    toml_path = out / "family" / f"{claim.id}.worst.toml"
    if worst["point"] is not None:
        _write_toml(toml_path, instance_toml(claim.id, base, worst["params"], worst["point"], profile, worst))
        worst_out = {k: v for k, v in worst.items() if k != "draw"}
        worst_out["toml"] = str(toml_path)
    else:
        worst_out = None
    note = ""
    if any(not inst["hypotheses"]["all"] for inst in instances):
        note = "some instances leave the hypothesis class (see hypotheses)"
    return FamilyResult(claim.id, supported(claim), status, tuple(instances), worst_out, search, note)


def _hypotheses(table: ResultTable) -> dict:
    """The cell's own checks of the theorem's hypotheses on one instance (first row): global P-IISS
    (the cell evaluated the bound, which it does only when rho(A) < 1) and the binning's sup error
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


# --------------------------------------------------------------------------------------------------
# the worst instance as an instance file


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_toml_value(x) for x in (v.tolist() if isinstance(v, np.ndarray) else v)) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def instance_toml(claim_id: str, base, params: dict, point: dict, profile: str, worst: dict) -> str:
    """An instance file (docs/instance-format.md) of a family instance, for ``qbc simulate``.

    The system, expert, binning, initial law, horizon, ``n`` and ``delta`` are those of the measured
    instance (``thm3.binning``: ``x_1`` from the closed loop's stationary law, written as ``x0_cov``).
    ``thm2.gaussian`` uses the instance format's ``regulation`` reward, as its cell does. The
    ``thm3.linear`` cell's reward (the mean of action tracking and state regulation) is not an
    instance reward kind: the file uses ``tracking`` at the same scale, so ``qbc simulate`` reproduces
    the instance and its learner there, not the cell's regret number; neither file carries the cell's
    policy class (``qbc simulate`` builds its own).
    """
    full, _, _ = base.resolved(profile)
    p = {**full, **params, **point}
    A, B, K = (np.array(p[k], dtype=float) for k in ("A", "B", "K"))
    desc = (f"worst instance of the {claim_id} family ({worst['source']}): measured/bound {worst['ratio']:.6g} "
            f"at {point}; regenerate with qbc verify --family")
    system = ["[system]", f"A = {_toml_value(A)}", f"B = {_toml_value(B)}",
              f"noise_std = {_toml_value(float(p['noise_std']))}"]
    if "clip" in p:  # thm3.binning
        S = scipy.linalg.solve_discrete_lyapunov(A + B @ K, p["noise_std"] ** 2 * np.eye(A.shape[0]))
        system.append(f"x0_cov = {_toml_value((S + S.T) / 2)}")
        expert = ["[expert]", 'kind = "linear"', f"K = {_toml_value(K)}"]
        quant = ["[quantizer]", 'kind = "binning"', f"low = {_toml_value(-float(p['clip']))}",
                 f"high = {_toml_value(float(p['clip']))}", f"bins = {int(round(p['clip'] / p['eps_q']))}"]
        reward = ["# the cell's reward averages action tracking and state regulation (not an instance kind)",
                  "[reward]", 'kind = "tracking"', f"scale = {_toml_value(float(p['reward_scale']))}"]
    else:  # thm2.gaussian
        system.append(f"x0_std = {_toml_value(float(p['x0_std']))}")
        expert = ["[expert]", 'kind = "linear"', f"K = {_toml_value(K)}",
                  f"noise_std = {_toml_value(float(p['sigma']))}"]
        quant = ["[quantizer]", 'kind = "binning"', f"low = {_toml_value(float(p['low']))}",
                 f"high = {_toml_value(float(p['high']))}", f"bins = {int(p['bins'])}"]
        reward = ["[reward]", f"kind = {_toml_value(p.get('reward', 'regulation'))}",
                  f"scale = {_toml_value(float(p['reward_scale']))}"]
    run = ["[run]", f"horizon = {int(p['H'])}", f"n = {int(p['n'])}", f"delta = {_toml_value(float(p['delta']))}",
           "seed = 0"]
    lines = [f"name = {_toml_value(claim_id + '.worst')}", f"description = {_toml_value(desc)}", ""]
    for block in (system, expert, quant, reward, run):
        lines += block + [""]
    return "\n".join(lines)


def _write_toml(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
