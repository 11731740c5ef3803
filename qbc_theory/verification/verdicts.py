r"""Claims, their tests and the verdict rule (the vocabulary of ``qbc verify``).

A **claim** holds one result of Cao & Xie 2026 against Monte Carlo measurements. It names

- the experiment (a built-in spec, run by :mod:`qbc_theory.verification.runner`) whose cells measure it;
- the **tests** that decide it from the measurements: a :class:`SlopeTest` (a fitted log-log or
  semi-log slope against a predicted exponent, :func:`qbc_theory.verification.scaling.compare_slope`) and/or a
  :class:`BoundTest` (measured means against a bound computed in the same cells,
  :func:`qbc_theory.verification.scaling.compare_bound`);
- a **negative control**: a second experiment on which *every* test run there must come out
  ``violated``. A test that the control passes has no teeth, and one strong test cannot vouch for
  a weak one.

The status of a claim is computed from the data of the same run, never written by hand:

========================  ==========================  =============
tests on the experiment   tests on the control        claim status
========================  ==========================  =============
``violated``              any                         ``violated``
``consistent``            all ``violated``            ``consistent``
``consistent``            some not ``violated``       ``inconclusive`` (a test without teeth)
``inconclusive``          any                         ``inconclusive``
========================  ==========================  =============

Tests on the experiment combine as: ``violated`` if any is violated, ``consistent`` if all are
consistent, ``inconclusive`` otherwise (:func:`combine`). A bound test with tightness below 1/100 is
``vacuous`` (no evidence): it is listed but does not count, so a claim whose only evidence is vacuous
is ``inconclusive``; a claim keeps the three statuses above and says why in ``reasons``. Every test
also reports its verdict at zero slack (``strict_verdict``); a slope test whose verdict depends on the
slack is ``inconclusive`` unless more seeds (sequential, see :func:`qbc_theory.verification.claims.verify`)
make the two agree. The control's status is ``violated`` only
if every control test is violated (:func:`control_status`). A claim may run only some of its tests
on the control (``control_tests``): the others (e.g. a bound that assumes what the control breaks)
are listed in the report as tests without a control.

The cell functions that produce the measurements are registered in :mod:`qbc_theory.verification.cells`;
the catalog that orders the claims and runs them is :mod:`qbc_theory.verification.claims`. This module
imports neither, so the cell modules can define their claims with these classes without an import
circle.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from ..model.validation import reject_unknown_kwargs
from ..model.errors import SpecError
from .runner import ResultTable
from .scaling import (STATUSES, VACUOUS_TIGHTNESS, bound_tightness, compare_bound, compare_slope, fit_slope,
                      rival_exponents, slope_power, strict_slope_verdict)

__all__ = [
    "SlopeTest",
    "BoundTest",
    "TestOutcome",
    "Claim",
    "ClaimResult",
    "VerifyReport",
    "combine",
    "control_status",
    "TEST_STATUSES",
]

TEST_STATUSES = (*STATUSES, "vacuous")
"""Statuses of a single test: a claim's are :data:`~qbc_theory.verification.scaling.STATUSES`."""


def control_status(statuses) -> str:
    """The control's status: violated only if every control test is, consistent if any test is
    consistent or vacuous (a control that passes a bound, however loosely, does not fail it)."""
    statuses = list(statuses)
    if statuses and all(st == "violated" for st in statuses):
        return "violated"
    if "consistent" in statuses or "vacuous" in statuses:
        return "consistent"
    return "inconclusive"


def combine(statuses) -> str:
    """Combine test statuses: violated if any is; consistent if every test that is not ``vacuous`` is
    consistent and at least one is; else inconclusive.

    A ``vacuous`` test (a bound more than 100 times above the data, see :class:`BoundTest`) is no
    evidence either way: it neither spoils nor supports a verdict, so a claim whose only evidence is
    vacuous is ``inconclusive``.
    """
    statuses = list(statuses)
    if "violated" in statuses:
        return "violated"
    informative = [s for s in statuses if s != "vacuous"]
    if informative and all(s == "consistent" for s in informative):
        return "consistent"
    return "inconclusive"


@dataclass(frozen=True)
class TestOutcome:
    """The result of one test on one experiment's table.

    Attributes
    ----------
    kind : str
        ``"slope"``, ``"bound"`` (or ``"witness"`` for tests defined with the cells).
    status : str
        ``"consistent"``, ``"violated"``, ``"inconclusive"`` or (bound tests) ``"vacuous"``.
    measured : float
        The fitted slope, or the largest measured-to-bound ratio (upper bounds) / the smallest
        (lower bounds).
    ci : (float, float)
        The slope's bootstrap interval, or the interval of the ratio at the decisive point.
    predicted : str
        What the test expected, in words.
    detail : dict
        The numbers behind the verdict (JSON-ready).
    tightness : float, optional
        Bound tests: the largest mean/bound over the points that can fail (upper bounds), the
        smallest bound/mean (lower bounds); 1 is tight. None for other tests.
    power : dict, optional
        Slope tests: :func:`~qbc_theory.verification.scaling.slope_power` (the interval's half-width and
        the nearest alternative exponent excluded at 95%).
    strict_status : str, optional
        The verdict at zero slack (None: the test grants no slack, so it is ``status``).
    note : str
        Why the status is what it is, when that is not plain (a flip between slack and zero slack,
        a vacuous bound).
    """

    __test__ = False  # not a pytest test class despite the name

    kind: str
    status: str
    measured: float
    ci: tuple
    predicted: str
    detail: dict
    tightness: float | None = None
    power: dict | None = None
    strict_status: str | None = None
    note: str = ""

    @property
    def strict_verdict(self) -> str:
        """The verdict at zero slack (the test's own status when it grants no slack)."""
        return self.strict_status or self.status

    @property
    def flipped(self) -> bool:
        """True when the verdict at the test's slack and at zero slack differ (see :class:`SlopeTest`)."""
        return bool(self.detail.get("flip"))

    def power_dict(self) -> dict | None:
        """``power`` for the JSON; a witness test's power is its rule-of-three rate."""
        if self.power is not None:
            return self.power
        if self.kind == "witness":
            rate = self.detail.get("rule_of_three_rate")
            text = (f"a violation rate >= {rate:.3g} per examined pair would have shown a witness with "
                    f"probability ~95%" if rate else "no pairs examined: no power")
            return {"rule_of_three_rate": rate, "text": text}
        return None

    def to_dict(self) -> dict:
        """A JSON-ready dict (with ``tightness``, ``power`` and ``strict_verdict``)."""
        return {"kind": self.kind, "status": self.status, "measured": _f(self.measured),
                "ci": [_f(self.ci[0]), _f(self.ci[1])], "predicted": self.predicted,
                "tightness": _f(self.tightness), "power": self.power_dict(),
                "strict_verdict": self.strict_verdict, "note": self.note, "detail": self.detail}


def _f(v) -> float | None:
    """JSON-safe float: infinities and NaN become None."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


@dataclass(frozen=True)
class SlopeTest:
    r"""A fitted scaling exponent against a prediction.

    With ``scale="loglog"`` the fit is :math:`\log \bar y = a + p \log x`
    (:func:`qbc_theory.verification.scaling.fit_slope`); with ``scale="semilog"`` it is
    :math:`\log \bar y = a + p\, x`, a geometric growth rate per unit of ``x`` (used for the
    exponential compounding of the appendix example). The verdict is
    :func:`qbc_theory.verification.scaling.compare_slope` of the bootstrap interval against ``predicted`` with
    ``relation`` and the slack ``tol``, which is fixed in the catalog before any data is seen.

    The verdict is also computed at zero slack (``strict_verdict``,
    :func:`qbc_theory.verification.scaling.strict_slope_verdict`): violated when the interval lies
    entirely outside the zero-slack region, consistent when it meets it and excludes the rival
    exponents (:func:`~qbc_theory.verification.scaling.rival_exponents`, e.g. 3/2 for "at most linear
    in H"), inconclusive otherwise. When the two verdicts differ, the slack and not the data decides,
    so the test reports ``inconclusive`` and marks the flip;
    :func:`qbc_theory.verification.claims.verify` then doubles the seeds (up to the claim's
    ``max_seeds``) and judges again, and a test that still flips stays ``inconclusive`` with the
    reason in ``note``. The outcome's ``power``
    (:func:`qbc_theory.verification.scaling.slope_power`) names the nearest alternative exponent the
    interval excludes.

    Parameters
    ----------
    value : str
        Measurement column.
    along : str
        Ladder of the grid to fit along.
    predicted : float
        The predicted exponent (or growth rate).
    relation : {"<=", ">=", "=="}
    tol : float
        Slack for finite-size effects (see :func:`qbc_theory.verification.scaling.compare_slope`).
    where : dict
        Values of the other ladders (a tuple of pairs, to stay hashable).
    scale : {"loglog", "semilog"}
    nonpositive : {"raise", "drop"}
        Treatment of ladder points whose mean is not positive (see :func:`fit_slope`).
    label : str
        Words for the report.
    """

    __test__ = False

    value: str
    along: str
    predicted: float
    relation: str
    tol: float = 0.0
    where: tuple = ()
    scale: str = "loglog"
    nonpositive: str = "raise"
    label: str = ""

    def run(self, table: ResultTable, rng: np.random.Generator) -> TestOutcome:
        """Fit and compare; a fit that cannot be made (e.g. all means zero) is ``inconclusive``."""
        words = self.label or f"slope of {self.value} in {self.along} {self.relation} {self.predicted:g}"
        try:
            x, y = table.pivot(self.value, self.along, dict(self.where))
        except ValueError as exc:
            return TestOutcome("slope", "inconclusive", float("nan"), (float("nan"), float("nan")), words,
                               {"error": f"no data for this test: {exc}"})
        xfit = np.exp(x - x[0]) if self.scale == "semilog" else x
        try:
            fit = fit_slope(xfit, y, rng=rng, nonpositive=self.nonpositive, parameter=self.along)
        except (ValueError, ArithmeticError) as exc:
            return TestOutcome("slope", "inconclusive", float("nan"), (float("nan"), float("nan")), words,
                               {"error": str(exc), "x": x.tolist(), "mean": y.mean(axis=0).tolist()})
        slack = compare_slope(fit, self.predicted, self.relation, tol=self.tol)
        strict = strict_slope_verdict(fit, self.predicted, self.relation)
        power = slope_power(fit.ci, self.predicted, self.relation, tol=self.tol, level=fit.level)
        detail = fit.to_dict()
        detail.update({"x": x.tolist(), "scale": self.scale, "tol": self.tol, "relation": self.relation,
                       "predicted": self.predicted, "slack_status": slack,
                       "rivals": rival_exponents(self.predicted, self.relation)})
        status, note = slack, ""
        if slack != strict:
            # the slack decides the verdict: more seeds (claims.verify) or inconclusive
            status = "inconclusive"
            detail["flip"] = True
            note = (f"the verdict flips between the slack tol={self.tol:g} ({slack}) and zero slack ({strict}) "
                    f"at {fit.n_seeds} seeds")
        return TestOutcome("slope", status, fit.slope, fit.ci, words, detail, power=power, strict_status=strict,
                           note=note)


@dataclass(frozen=True)
class BoundTest:
    r"""Measured means against a bound computed in the same cells.

    At each ladder point the mean of ``value`` over seeds gets a Student-t interval at ``level``
    (per point; with ``P`` points the family-wise level is at least ``1 - P (1 - level)``), and
    :func:`qbc_theory.verification.scaling.compare_bound` decides: an upper bound is violated when some interval
    lies entirely above the bound, consistent when every interval lies below it; a lower bound the
    other way round.

    An upper bound at or above ``cap`` (the largest value the measurement can take, e.g. ``H`` for
    a regret with rewards in [0, 1]) cannot be violated: such points are reported as vacuous and do
    not decide the verdict, and a test whose points are all vacuous is ``inconclusive``.

    **Tightness** (:func:`qbc_theory.verification.scaling.bound_tightness`) over the points that can
    fail: :math:`\max_i \bar y_i / b_i` for an upper bound, :math:`\min_i b_i / \bar y_i` for a lower
    one; 1 is tight. A test that would be ``consistent`` with tightness below 1/100
    (:data:`~qbc_theory.verification.scaling.VACUOUS_TIGHTNESS`) is reported ``vacuous``: the data could
    not have come near the bound, so passing it is no evidence (:func:`combine`). A bound test grants
    no slack, so its verdict at zero slack is its verdict.

    Parameters
    ----------
    value : str
        Measurement column.
    bound : str
        Column holding the bound's value at each cell (the same in every seed's row).
    kind : {"upper", "lower"}
    along : str
        Ladder to report along.
    where : tuple of pairs
        Values of the other ladders; with no ``where``, every cell is used.
    level : float
    label : str
    cap : str, optional
        A grid value, parameter or column holding the measurement's largest possible value.
    """

    __test__ = False

    value: str
    bound: str
    kind: str = "upper"
    along: str = ""
    where: tuple = ()
    level: float = 0.95
    label: str = ""
    cap: str | None = None

    def run(self, table: ResultTable, rng: np.random.Generator) -> TestOutcome:
        """Compare per-point intervals with the bound."""
        rel = "<=" if self.kind == "upper" else ">="
        words = self.label or f"{self.value} {rel} {self.bound}"
        nan2 = (float("nan"), float("nan"))
        missing = [k for k in (self.value, self.bound) if k not in table.columns]
        missing += [k for k, _ in self.where if k not in table.grid]
        if missing:
            return TestOutcome("bound", "inconclusive", float("nan"), nan2, words,
                               {"error": f"no column or ladder named {', '.join(missing)}"})
        groups: dict[int, list] = {}
        for r in table.rows:
            if all(r[k] == v for k, v in self.where):
                groups.setdefault(r["cell"], []).append(r)
        if not groups:
            return TestOutcome("bound", "inconclusive", float("nan"), nan2, words,
                               {"error": f"no cell matches {dict(self.where)}"})
        cis, bounds, means, points, caps = [], [], [], [], []
        for cell in sorted(groups):
            rows = groups[cell]
            if len({r[self.bound] for r in rows}) != 1:
                raise ValueError(f"{self.bound}: expected one bound value per cell, found several in cell {cell}")
            y = np.array([r[self.value] for r in rows], dtype=float)
            m = float(y.mean())
            se = float(y.std(ddof=1) / math.sqrt(y.size)) if y.size > 1 else 0.0
            half = float(stats.t.ppf(0.5 + self.level / 2, max(y.size - 1, 1))) * se
            cis.append((m - half, m + half))
            bounds.append(float(rows[0][self.bound]))
            means.append(m)
            points.append({k: rows[0][k] for k in table.grid})
            caps.append(self._cap(table, rows[0]))
        vacuous = np.array([self.kind == "upper" and c is not None and b >= c for b, c in zip(bounds, caps)])
        detail = {"points": [{"point": p, "mean": m, "ci": list(c), "bound": b, "vacuous": bool(v)}
                             for p, m, c, b, v in zip(points, means, cis, bounds, vacuous)],
                  "kind": self.kind, "level": self.level, "cap": self.cap, "vacuous_points": int(vacuous.sum())}
        keep = ~vacuous
        if not keep.any():
            detail["error"] = f"every bound is at least the cap {self.cap}: the test cannot fail"
            return TestOutcome("bound", "inconclusive", float("nan"), nan2, words, detail)
        ci_arr, b_arr, m_arr = np.array(cis)[keep], np.array(bounds)[keep], np.array(means)[keep]
        status = compare_bound(ci_arr, b_arr, self.kind)
        tight, _ = bound_tightness(m_arr, b_arr, self.kind)
        detail["tightness"] = _f(tight)
        note = ""
        if status == "consistent" and tight < VACUOUS_TIGHTNESS:
            status = "vacuous"
            note = (f"tightness {tight:.3g} < {VACUOUS_TIGHTNESS:g}: the bound is more than "
                    f"{1 / VACUOUS_TIGHTNESS:g} times looser than the data at every point that can fail")
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = m_arr / b_arr
            lo_r, hi_r = ci_arr[:, 0] / b_arr, ci_arr[:, 1] / b_arr
        j = int(np.argmax(ratios) if self.kind == "upper" else np.argmin(ratios))
        return TestOutcome("bound", status, float(ratios[j]), (float(lo_r[j]), float(hi_r[j])), words, detail,
                           tightness=tight, note=note)

    def _cap(self, table: ResultTable, row: dict):
        if self.cap is None:
            return None
        if self.cap in row:
            return float(row[self.cap])
        if self.cap in table.params:
            return float(table.params[self.cap])
        raise ValueError(f"cap: expected a ladder, parameter or column named {self.cap!r}, found none")


@dataclass(frozen=True)
class Claim:
    """One verifiable claim of the catalog.

    Attributes
    ----------
    id : str
        The claim id (a contract, e.g. ``"thm3.rate_n"``).
    theorem : str
        The result it verifies, e.g. ``"Theorem 3"``.
    predicted : str
        The predicted relation in words.
    spec : str
        Id of the built-in experiment spec.
    control_spec : str
        Id of the built-in spec of the negative control.
    tests : tuple of SlopeTest / BoundTest
        Applied to the experiment's table.
    control_tests : tuple, optional
        Applied to the control's table (default: ``tests``).
    control : str
        What the control is, in words.
    max_seeds : int, optional
        Budget of sequential seeds: when a slope test's verdict flips between its slack and zero
        slack, :func:`qbc_theory.verification.claims.verify` doubles the seeds of the table it ran on
        (experiment or control), keeping the first seeds' cached results, while the total stays at
        most ``max_seeds`` per cell. Default (None): four times the profile's seeds (two doublings).
    family : str, optional
        Name of the instance family the claim supports in ``qbc verify --family``
        (:mod:`qbc_theory.verification.family`); None: "family not supported".
    """

    id: str
    theorem: str
    predicted: str
    spec: str
    control_spec: str
    tests: tuple
    control: str
    control_tests: tuple | None = None
    max_seeds: int | None = None
    family: str | None = None

    def seed_budget(self, profile_seeds: int) -> int:
        """The most seeds per cell sequential testing may reach from ``profile_seeds``."""
        return int(self.max_seeds) if self.max_seeds is not None else 4 * int(profile_seeds)

    def evaluate(self, table: ResultTable, control_table: ResultTable, rng: np.random.Generator) -> "ClaimResult":
        """Run the tests on both tables and derive the status (see the module docstring)."""
        outcomes = tuple(t.run(table, rng) for t in self.tests)
        control_outcomes = tuple(t.run(control_table, rng) for t in (self.control_tests or self.tests))
        main = combine(o.status for o in outcomes)
        ctrl = control_status(o.status for o in control_outcomes)
        reasons = []
        if main == "violated":
            status = "violated"
        elif main == "consistent" and ctrl == "violated":
            status = "consistent"
        else:
            status = "inconclusive"
            if main == "consistent":
                reasons.append(f"the control is {ctrl}, not violated: a test without teeth")
        if outcomes and all(o.status == "vacuous" for o in outcomes):
            reasons.append("every test is vacuous (tightness < 1/100): the data could not have come near the "
                           "bounds")
        for o in outcomes:
            if o.status == "vacuous" and main != "violated":
                reasons.append(f"vacuous, not counted: {o.predicted}")
            if o.flipped:
                reasons.append(f"{o.predicted}: {o.note}")
        for o in control_outcomes:
            if o.flipped:
                reasons.append(f"control, {o.predicted}: {o.note}")
        seeds = {"experiment": getattr(table, "seeds", None), "control": getattr(control_table, "seeds", None)}
        return ClaimResult(self, status, main, ctrl, outcomes, control_outcomes, tuple(reasons), seeds)


@dataclass(frozen=True)
class ClaimResult:
    """A claim's verdict with the outcomes of its tests and of its control's tests.

    ``reasons`` says, in words, what made the status (vacuous tests not counted, slack flips that
    more seeds did not resolve, a control that is not violated); ``seeds`` the seeds per cell the
    experiment and the control were judged on (more than the profile's after sequential seeding).
    """

    claim: Claim
    status: str
    experiment_status: str
    control_status: str
    outcomes: tuple
    control_outcomes: tuple
    reasons: tuple = ()
    seeds: dict = field(default_factory=dict)

    @property
    def uncontrolled(self) -> list[str]:
        """Labels of the experiment's tests that the control does not run."""
        if self.claim.control_tests is None:
            return []
        return [o.predicted for t, o in zip(self.claim.tests, self.outcomes) if t not in self.claim.control_tests]

    @property
    def tightness(self) -> float | None:
        """The largest tightness among the claim's bound tests (None without bound tests)."""
        vals = [o.tightness for o in self.outcomes if o.tightness is not None and math.isfinite(o.tightness)]
        return max(vals) if vals else None

    @property
    def power_text(self) -> str:
        """Short power of the first slope test: ``"excl 2"``, ``"excl none"`` or ``"-"``."""
        for o in self.outcomes:
            if o.kind == "slope" and o.power is not None:
                a = o.power.get("nearest_excluded")
                return f"excl {a:g}" if a is not None else "excl none"
        return "-"

    def to_dict(self) -> dict:
        """The JSON of docs/design.md section 4 (``qbc verify --json``), plus the tests' details."""
        first = self.outcomes[0]
        return {
            "id": self.claim.id,
            "theorem": self.claim.theorem,
            "status": self.status,
            "predicted": self.claim.predicted,
            "measured": _f(first.measured),
            "ci": [_f(first.ci[0]), _f(first.ci[1])],
            "control": {"id": self.claim.control_spec, "status": self.control_status,
                        "description": self.claim.control},
            "experiment_status": self.experiment_status,
            "reasons": list(self.reasons),
            "seeds": dict(self.seeds),
            "tightness": _f(self.tightness),
            "tests_without_control": self.uncontrolled,
            "tests": [o.to_dict() for o in self.outcomes],
            "control_tests": [o.to_dict() for o in self.control_outcomes],
        }


@dataclass(frozen=True)
class VerifyReport:
    """All claim verdicts of one ``qbc verify`` run."""

    results: tuple
    profile: str
    seconds: float
    tables: dict = field(default_factory=dict, compare=False, repr=False)
    families: object = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict:
        """``{"claims": [...], "seconds": float, "profile": str}`` (and ``"families"`` after
        ``verify(..., family=N)``)."""
        out = {"claims": [r.to_dict() for r in self.results], "seconds": self.seconds, "profile": self.profile}
        if self.families is not None:
            out["families"] = self.families.to_dict()
        return out

    def format_text(self) -> str:
        """The verdict table: status, first test, tightness of the bound tests, power of the first slope
        test, control; then every test with its strict verdict, tightness and power."""
        head = (f"{'claim':<18} {'theorem':<14} {'status':<13} {'measured':>10} {'CI':>22} {'tightness':>9} "
                f"{'power':>10}  control")
        lines = [head, "-" * len(head)]
        for r in self.results:
            first = r.outcomes[0]
            ci = f"[{_fmt(first.ci[0])}, {_fmt(first.ci[1])}]"
            lines.append(f"{r.claim.id:<18} {r.claim.theorem:<14} {r.status:<13} {_fmt(first.measured):>10} "
                         f"{ci:>22} {_fmt(r.tightness):>9} {r.power_text:>10}  {r.control_status}")
        lines.append("")
        for r in self.results:
            seeds = r.seeds or {}
            lines.append(f"{r.claim.id}: predicted {r.claim.predicted}; control: {r.claim.control}"
                         + (f" [seeds {seeds.get('experiment')}/{seeds.get('control')}]" if seeds else ""))
            for o in r.outcomes:
                lines.append(f"  - {o.predicted}: {o.status} (measured {_fmt(o.measured)}, "
                             f"CI [{_fmt(o.ci[0])}, {_fmt(o.ci[1])}]{_extras(o)})")
            for o in r.control_outcomes:
                lines.append(f"  - control, {o.predicted}: {o.status} (measured {_fmt(o.measured)}{_extras(o)})")
            for label in r.uncontrolled:
                lines.append(f"  - no control for: {label}")
            for why in r.reasons:
                lines.append(f"  ! {why}")
        counts = {s: sum(r.status == s for r in self.results) for s in STATUSES}
        lines.append("")
        lines.append(f"{len(self.results)} claims: " + ", ".join(f"{v} {k}" for k, v in counts.items())
                     + f" ({self.seconds:.1f} s, profile {self.profile})")
        if self.families is not None:
            lines.append("")
            lines.append(self.families.format_text().rstrip("\n"))
        return "\n".join(lines) + "\n"


def _extras(o: TestOutcome) -> str:
    """", strict X, tightness T, power P" for a test line (only the parts the test has)."""
    parts = [f"strict {o.strict_verdict}"]
    if o.tightness is not None:
        parts.append(f"tightness {_fmt(o.tightness)}")
    power = o.power_dict()
    if power is not None:
        hw = power.get("half_width")
        parts.append(("half-width " + _fmt(hw) + ", " if hw is not None else "") + power["text"])
    return "; " + "; ".join(parts)


def _fmt(v) -> str:
    if v is None or not math.isfinite(float(v)):
        return "-"
    v = float(v)
    return f"{v:.3g}"
