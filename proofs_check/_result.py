"""The result types shared by every check: :class:`CheckResult` and :class:`ProofsReport`."""

from __future__ import annotations

from dataclasses import dataclass

from qbc_theory.model.errors import DimensionError

__all__ = ["RESULTS", "CheckResult", "ProofsReport"]

#: The four verdicts a check can return (docs/design.md section 4).
RESULTS = ("proved", "verified-numerically", "counterexample", "failed")


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check.

    Parameters
    ----------
    id : str
        The check id, e.g. ``"thm8.tv"``.
    result : {"proved", "verified-numerically", "counterexample", "failed"}
        ``proved``: established exactly (rationals, symbolic algebra or rigorous intervals).
        ``verified-numerically``: holds up to a stated numerical tolerance or Monte Carlo error.
        ``counterexample``: the statement under test is false on the instance given in ``detail``.
        ``failed``: the check could not establish the statement (e.g. inconclusive intervals).
    detail : str
        The numbers behind the verdict.

    Raises
    ------
    DimensionError
        If ``result`` is not one of the four verdicts or ``id``/``detail`` are not strings.
    """

    id: str
    result: str
    detail: str

    def __post_init__(self):
        if self.result not in RESULTS:
            raise DimensionError(f"result: expected one of {', '.join(RESULTS)}, found {self.result!r}")
        for name in ("id", "detail"):
            if not isinstance(getattr(self, name), str):
                raise DimensionError(f"{name}: expected a string, found {type(getattr(self, name)).__name__}")

    def to_dict(self) -> dict:
        """``{"id", "result", "detail"}``."""
        return {"id": self.id, "result": self.result, "detail": self.detail}


@dataclass(frozen=True)
class ProofsReport:
    """The results of a run of :func:`proofs_check.run_checks`.

    Parameters
    ----------
    checks : tuple of CheckResult
        In the order they were run.
    """

    checks: tuple[CheckResult, ...]

    def to_dict(self) -> dict:
        """``{"checks": [{"id", "result", "detail"}, ...]}`` (docs/design.md section 4)."""
        return {"checks": [c.to_dict() for c in self.checks]}

    def format_text(self) -> str:
        """A human-readable table: one row per check, the detail wrapped under it."""
        import textwrap

        width = max([len("id")] + [len(c.id) for c in self.checks])
        rwidth = max(len(r) for r in RESULTS)
        lines = [f"{'id':<{width}}  {'result':<{rwidth}}  detail", "-" * (width + rwidth + 60)]
        for c in self.checks:
            wrapped = textwrap.wrap(c.detail, 100) or [""]
            lines.append(f"{c.id:<{width}}  {c.result:<{rwidth}}  {wrapped[0]}")
            lines.extend(" " * (width + rwidth + 4) + w for w in wrapped[1:])
        return "\n".join(lines)
