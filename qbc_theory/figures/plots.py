r"""The plot functions of the paper figures and their data objects, under one name.

The figure room is split by concept; this module gathers its public names so that
``from qbc_theory.figures import plots as F`` reaches all of them:

=====  ==============================  =========================  ========================================
 fig   what                            plot function              module
=====  ==============================  =========================  ========================================
 1     regret vs n (log-log)           :func:`regret_vs_n_plot`   :mod:`qbc_theory.figures.scaling_plots`
 2     regret vs H (log-log)           :func:`regret_vs_h_plot`   :mod:`qbc_theory.figures.scaling_plots`
 3     regret vs eps_q (log-log)       :func:`regret_vs_eps_plot` :mod:`qbc_theory.figures.scaling_plots`
 4     RTVC audit kappa(r)             :func:`rtvc_audit_plot`    :mod:`qbc_theory.figures.certificate_plots`
 5     gain profile vs C eta^j         :func:`stability_plot`     :mod:`qbc_theory.figures.certificate_plots`
 6     Lipschitz blow-up vs TVC        :func:`blowup_plot`        :mod:`qbc_theory.figures.construction_plots`
 7     lower/upper bound sandwich      :func:`sandwich_plot`      :mod:`qbc_theory.figures.construction_plots`
=====  ==============================  =========================  ========================================

The data objects (:class:`ScalingData`, ...) live in :mod:`qbc_theory.verification.figdata`, which
computes them; the style, saving and the manifest in :mod:`qbc_theory.figures.style`. Every plot
function draws on ``ax`` when given and otherwise creates its own
:class:`matplotlib.figure.Figure` (not registered with pyplot), and returns a :class:`PlotResult`.
Draw and save inside :func:`paper_style` (or use :func:`render`, which does both).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ..verification.figdata import (BlowupData, BlowupFigure, BoundCurve, Certificate, Curve, GainProfileData,
                                    MeasuredSeries, ModulusCurve, PowerLawFit, RTVCAuditData, SandwichData,
                                    SandwichPanel, ScalingData)
from .certificate_plots import rtvc_audit_plot, stability_plot
from .common import REGRET_LABEL, X_LABELS, PlotResult
from .construction_plots import blowup_plot, draw_blowup_figure, draw_sandwich_figure, sandwich_plot
from .scaling_plots import regret_vs_eps_plot, regret_vs_h_plot, regret_vs_n_plot
from .style import (STYLE_FILE, ManifestEntry, code_version, panel_label, paper_style, save_figure, slope_text,
                    write_manifest)

__all__ = [
    "STYLE_FILE", "REGRET_LABEL", "X_LABELS", "FIGURES", "paper_style", "panel_label", "slope_text", "PlotResult",
    "PowerLawFit", "MeasuredSeries", "BoundCurve", "Curve", "ScalingData", "ModulusCurve", "RTVCAuditData",
    "Certificate", "GainProfileData", "BlowupData", "BlowupFigure", "SandwichPanel", "SandwichData",
    "regret_vs_n_plot", "regret_vs_h_plot", "regret_vs_eps_plot", "rtvc_audit_plot", "stability_plot",
    "blowup_plot", "sandwich_plot", "draw_blowup_figure", "draw_sandwich_figure",
    "save_figure", "render", "ManifestEntry", "code_version", "write_manifest",
]

FIGURES: dict[str, Callable[..., PlotResult]] = {
    "fig1_regret_vs_n": regret_vs_n_plot,
    "fig2_regret_vs_H": regret_vs_h_plot,
    "fig3_regret_vs_eps_q": regret_vs_eps_plot,
    "fig4_rtvc_audit": rtvc_audit_plot,
    "fig5_stability": stability_plot,
    "fig6_lipschitz_blowup": blowup_plot,
    "fig7_bound_sandwich": sandwich_plot,
}
"""The figure set: file stem (in ``paper_figs/``) to the plot function of its main panel, in order."""


def render(plot: Callable[..., PlotResult], data, stem: str, out_dir: str | os.PathLike, **style) -> list[Path]:
    """Draw ``plot(data, **style)`` in the paper style on a new figure and save it as PDF and PNG.

    Parameters
    ----------
    plot : callable
        One of the ``*_plot`` functions.
    data : dataclass
        The matching data object.
    stem : str
        File name without extension.
    out_dir : str or path-like
        Output directory.
    **style
        Passed to ``plot``.

    Returns
    -------
    list of pathlib.Path
        The PDF and PNG paths.
    """
    with paper_style():
        result = plot(data, **style)
        return save_figure(result.figure, stem, out_dir)
