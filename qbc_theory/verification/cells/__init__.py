"""The measurements behind the claim catalog: one module per claim family.

Each module registers its cell functions with :func:`qbc_theory.verification.runner.cell_function` and defines
``CLAIMS``, the :class:`qbc_theory.verification.claims.Claim` entries that judge those measurements. The built-in
experiment specs that run the cells live in ``qbc_theory/data/experiments/<id>.toml``.
"""

from . import (constructions, family_nonlinear, family_thm2_nonlinear, figures_extra, horizon_h2, linear, lower_bounds,
               reduction, theorem2)

__all__ = ["all_claims"]

_FAMILIES = (linear, theorem2, reduction, constructions, lower_bounds, figures_extra, horizon_h2, family_nonlinear,
             family_thm2_nonlinear)


def all_claims() -> tuple:
    """Every claim defined by the cell modules (unordered; :mod:`qbc_theory.verification.claims` orders them)."""
    return tuple(c for m in _FAMILIES for c in m.CLAIMS)
