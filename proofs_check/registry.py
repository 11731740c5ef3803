"""The catalog of checks (ids are a contract) and :func:`run_checks`."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from qbc_theory.model.errors import DimensionError

from ._result import CheckResult, ProofsReport
from .algorithm1 import check_thm7_coupling
from .gaussian import check_piiss_gaussian, check_tvc_gaussian
from .lower_bounds import check_thm8_hellinger, check_thm8_tv, check_thm9_constant, check_thm9_tv
from .reduction import check_prop5_binning, check_thm1_constants
from .trap_loop import check_thm6_conditions, check_thm6_in_distribution, check_thm6_loop

__all__ = ["CHECKS", "CHECK_IDS", "run_checks"]

#: Check id -> function returning a :class:`CheckResult` with the paper's claims as defaults.
CHECKS: dict[str, Callable[[], CheckResult]] = {
    "thm8.hellinger": check_thm8_hellinger,
    "thm8.tv": check_thm8_tv,
    "thm9.tv": check_thm9_tv,
    "thm9.constant": check_thm9_constant,
    "thm6.conditions": check_thm6_conditions,
    "thm6.loop": check_thm6_loop,
    "thm6.in_distribution": check_thm6_in_distribution,
    "prop5.binning": check_prop5_binning,
    "tvc.gaussian": check_tvc_gaussian,
    "piiss.gaussian": check_piiss_gaussian,
    "thm7.coupling": check_thm7_coupling,
    "thm1.constants": check_thm1_constants,
}

#: The check ids, in run order.
CHECK_IDS: tuple[str, ...] = tuple(CHECKS)


def run_checks(ids: Sequence[str] | None = None) -> ProofsReport:
    r"""Run the checks of the paper's proof steps and constructions.

    Parameters
    ----------
    ids : sequence of str, optional
        Which checks to run (default: all, in :data:`CHECK_IDS` order).

    Returns
    -------
    ProofsReport
        One :class:`CheckResult` per id. A check that raises is reported as ``failed`` with the
        error in its detail, so one broken check does not hide the others.

    Raises
    ------
    DimensionError
        If an id is unknown or ``ids`` is not a sequence of strings.

    References
    ----------
    Cao & Xie 2026, Theorems 1, 6, 7, 8, 9, Proposition 5 and the appendix P-IISS proposition.
    """
    if ids is None:
        ids = CHECK_IDS
    if isinstance(ids, str) or not all(isinstance(i, str) for i in ids):
        raise DimensionError(f"ids: expected a sequence of check ids, found {ids!r}")
    unknown = [i for i in ids if i not in CHECKS]
    if unknown:
        raise DimensionError(f"ids: expected ids among {', '.join(CHECK_IDS)}, found {unknown[0]!r}")
    results = []
    for i in ids:
        try:
            results.append(CHECKS[i]())
        except Exception as exc:  # a crashing check is a failed check, reported with its error
            results.append(CheckResult(i, "failed", f"the check raised {type(exc).__name__}: {exc}"))
    return ProofsReport(tuple(results))
