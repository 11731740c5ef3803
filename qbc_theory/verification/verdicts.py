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
consistent, ``inconclusive`` otherwise (:func:`combine`). The control's status is ``violated`` only
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
from .scaling import STATUSES, compare_bound, compare_slope, fit_slope

__all__ = [
    "SlopeTest",
    "BoundTest",
    "TestOutcome",
    "Claim",
    "ClaimResult",
    "VerifyReport",
    "combine",
    "control_status",
]


def control_status(statuses) -> str:
    """The control's status: violated only if every control test is, consistent if any test is."""
    statuses = list(statuses)
    if statuses and all(st == "violated" for st in statuses):
        return "violated"
    if "consistent" in statuses:
        return "consistent"
    return "inconclusive"


def combine(statuses) -> str:
    """Combine test statuses: violated if any is, consistent if all are, else inconclusive."""
    statuses = list(statuses)
    if not statuses:
        return "inconclusive"
    if "violated" in statuses:
        return "violated"
    if all(s == "consistent" for s in statuses):
        return "consistent"
    return "inconclusive"


@dataclass(frozen=True)
class TestOutcome:
    """The result of one test on one experiment's table.

    Attributes
    ----------
    kind : str
        ``"slope"`` or ``"bound"``.
    status : str
        ``"consistent"``, ``"violated"`` or ``"inconclusive"``.
    measured : float
        The fitted slope, or the largest measured-to-bound ratio (upper bounds) / the smallest
        (lower bounds).
    ci : (float, float)
        The slope's bootstrap interval, or the interval of the ratio at the decisive point.
    predicted : str
        What the test expected, in words.
    detail : dict
        The numbers behind the verdict (JSON-ready).
    """

    __test__ = False  # not a pytest test class despite the name

    kind: str
    status: str
    measured: float
    ci: tuple
    predicted: str
    detail: dict

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return {"kind": self.kind, "status": self.status, "measured": _f(self.measured),
                "ci": [_f(self.ci[0]), _f(self.ci[1])], "predicted": self.predicted, "detail": self.detail}


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
        status = compare_slope(fit, self.predicted, self.relation, tol=self.tol)
        detail = fit.to_dict()
        detail.update({"x": x.tolist(), "scale": self.scale, "tol": self.tol, "relation": self.relation,
                       "predicted": self.predicted})
        return TestOutcome("slope", status, fit.slope, fit.ci, words, detail)


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
        ratios = m_arr / b_arr
        lo_r, hi_r = ci_arr[:, 0] / b_arr, ci_arr[:, 1] / b_arr
        j = int(np.argmax(ratios) if self.kind == "upper" else np.argmin(ratios))
        return TestOutcome("bound", status, float(ratios[j]), (float(lo_r[j]), float(hi_r[j])), words, detail)

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
    """

    id: str
    theorem: str
    predicted: str
    spec: str
    control_spec: str
    tests: tuple
    control: str
    control_tests: tuple | None = None

    def evaluate(self, table: ResultTable, control_table: ResultTable, rng: np.random.Generator) -> "ClaimResult":
        """Run the tests on both tables and derive the status (see the module docstring)."""
        outcomes = tuple(t.run(table, rng) for t in self.tests)
        control_outcomes = tuple(t.run(control_table, rng) for t in (self.control_tests or self.tests))
        main = combine(o.status for o in outcomes)
        ctrl = control_status(o.status for o in control_outcomes)
        if main == "violated":
            status = "violated"
        elif main == "consistent" and ctrl == "violated":
            status = "consistent"
        else:
            status = "inconclusive"
        return ClaimResult(self, status, main, ctrl, outcomes, control_outcomes)


@dataclass(frozen=True)
class ClaimResult:
    """A claim's verdict with the outcomes of its tests and of its control's tests."""

    claim: Claim
    status: str
    experiment_status: str
    control_status: str
    outcomes: tuple
    control_outcomes: tuple

    @property
    def uncontrolled(self) -> list[str]:
        """Labels of the experiment's tests that the control does not run."""
        if self.claim.control_tests is None:
            return []
        return [o.predicted for t, o in zip(self.claim.tests, self.outcomes) if t not in self.claim.control_tests]

    def to_dict(self) -> dict:
        """The JSON of DESIGN.md section 5 (``qbc verify --json``), plus the tests' details."""
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

    def to_dict(self) -> dict:
        """``{"claims": [...], "seconds": float, "profile": str}``."""
        return {"claims": [r.to_dict() for r in self.results], "seconds": self.seconds,
                "profile": self.profile}

    def format_text(self) -> str:
        """The verdict table."""
        head = f"{'claim':<18} {'theorem':<14} {'status':<13} {'measured':>10} {'CI':>22}  control"
        lines = [head, "-" * len(head)]
        for r in self.results:
            first = r.outcomes[0]
            ci = f"[{_fmt(first.ci[0])}, {_fmt(first.ci[1])}]"
            lines.append(f"{r.claim.id:<18} {r.claim.theorem:<14} {r.status:<13} {_fmt(first.measured):>10} "
                         f"{ci:>22}  {r.control_status}")
        lines.append("")
        for r in self.results:
            lines.append(f"{r.claim.id}: predicted {r.claim.predicted}; control: {r.claim.control}")
            for o in r.outcomes:
                lines.append(f"  - {o.predicted}: {o.status} (measured {_fmt(o.measured)}, "
                             f"CI [{_fmt(o.ci[0])}, {_fmt(o.ci[1])}])")
            for o in r.control_outcomes:
                lines.append(f"  - control, {o.predicted}: {o.status} (measured {_fmt(o.measured)})")
            for label in r.uncontrolled:
                lines.append(f"  - no control for: {label}")
        counts = {s: sum(r.status == s for r in self.results) for s in STATUSES}
        lines.append("")
        lines.append(f"{len(self.results)} claims: " + ", ".join(f"{v} {k}" for k, v in counts.items())
                     + f" ({self.seconds:.1f} s, profile {self.profile})")
        return "\n".join(lines) + "\n"


def _fmt(v) -> str:
    if v is None or not math.isfinite(float(v)):
        return "-"
    v = float(v)
    return f"{v:.3g}"
