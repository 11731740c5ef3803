"""Exception classes of qbc-theory.

Every error the library raises on purpose derives from :class:`QbcError` and also from the
builtin it refines, so ``except ValueError`` keeps working for callers that do not know ours.
The command line turns any :class:`QbcError` into a one-line message and exit code 2.
"""

__all__ = ["QbcError", "DimensionError", "AssumptionError", "SpecError", "SolverError"]


class QbcError(Exception):
    """Base class of every error raised on purpose by qbc-theory."""


class DimensionError(QbcError, ValueError):
    """An array has the wrong shape, or a value the wrong type, sign or range."""


class AssumptionError(QbcError, ValueError):
    """Parameters violate the conditions a construction or theorem needs."""


class SpecError(QbcError, ValueError):
    """An instance file or experiment spec is malformed (unknown key, missing section, ...)."""


class SolverError(QbcError, RuntimeError):
    """A numerical solver failed, or its answer did not survive re-verification."""
