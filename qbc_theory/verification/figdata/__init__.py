r"""Figure data: the numbers of every paper figure, computed from result tables (or fixed seeds).

The verification room produces everything a figure shows; :mod:`qbc_theory.figures` only draws it.
A *figure-data function* takes the result tables of the built-in specs (``{spec id: ResultTable}``,
as the runner returns them, cached like any other cells) and returns ``(data, provenance, notes)``:

- ``data``: a frozen dataclass of :mod:`.containers` holding plain numbers (measured means with
  their t intervals, power-law fits with bootstrap intervals, bounds evaluated at the cells' own
  constants);
- ``provenance``: what the manifest records about where the numbers come from;
- ``notes``: what was left out and why.

A figure whose data is missing raises :class:`MissingDataError` naming what is missing; nothing is
drawn from invented numbers. The modules:

==================  ==========================================================================
:mod:`.containers`  the data objects (validated, JSON-ready; numpy only, no matplotlib)
:mod:`.tables`      measured series, per-cell columns, library bounds, bootstrap streams
:mod:`.regret`      figures 1-3: regret against n, H and eps_q
:mod:`.direct`      figures 4 and 5, computed from fixed seeds (RTVC audit, stability certificates)
:mod:`.extra`       figures 6 and 7: Lipschitz blow-up, bound sandwich
==================  ==========================================================================

This package may import every room below :mod:`qbc_theory.verification`; it never imports
:mod:`qbc_theory.figures` or matplotlib.
"""

from .containers import (BOUND_KINDS, VARIABLES, BlowupData, BlowupFigure, BoundCurve, Certificate, Curve,
                         GainProfileData, MeasuredSeries, ModulusCurve, PowerLawFit, RTVCAuditData, SandwichData,
                         SandwichPanel, ScalingData)
from .direct import RTVC_ENTROPY, gain_profile_data, rtvc_audit_data, rtvc_figure, stability_figure
from .extra import blowup_data, blowup_figure, blowup_regret_data, sandwich_data
from .regret import regret_vs_eps_data, regret_vs_h_data, regret_vs_n_data
from .tables import (BOOTSTRAP_ENTROPY, CI_LEVEL, FIGURE_STEMS, MissingDataError, bootstrap_rng, cell_values,
                     fixed_params, library_bound, measured_series, table_source)

__all__ = [
    "VARIABLES", "BOUND_KINDS", "PowerLawFit", "MeasuredSeries", "BoundCurve", "Curve", "ScalingData",
    "ModulusCurve", "RTVCAuditData", "Certificate", "GainProfileData", "BlowupData", "BlowupFigure",
    "SandwichPanel", "SandwichData",
    "MissingDataError", "FIGURE_STEMS", "BOOTSTRAP_ENTROPY", "CI_LEVEL", "RTVC_ENTROPY",
    "bootstrap_rng", "measured_series", "cell_values", "library_bound", "fixed_params", "table_source",
    "regret_vs_n_data", "regret_vs_h_data", "regret_vs_eps_data",
    "rtvc_audit_data", "gain_profile_data", "rtvc_figure", "stability_figure",
    "blowup_data", "blowup_regret_data", "blowup_figure", "sandwich_data",
]
