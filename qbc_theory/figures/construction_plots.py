r"""Figures 6 and 7: the Lipschitz learner's blow-up against TVC learners, and the bound sandwich.

:func:`blowup_plot` and :func:`sandwich_plot` draw one panel kind each; :func:`draw_blowup_figure`
and :func:`draw_sandwich_figure` lay out the paper's figures 6 and 7 from them, with panel labels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from ..model.errors import DimensionError
from ..model.validation import describe
from ..verification.figdata import BlowupData, BlowupFigure, SandwichData
from .common import (BOUND_STYLE, REGRET_LABEL, X_LABELS, PlotResult, _drawable, _dropped_note, _fixed_title,
                     _grid_ticks,
                     _handles, _legend, _log_ticks, _measured, _new_axes, _style)
from .scaling_plots import regret_vs_h_plot
from .style import MARKERS, panel_label

__all__ = ["blowup_plot", "sandwich_plot", "draw_blowup_figure", "draw_sandwich_figure", "fraction_ticks"]


def blowup_plot(data: BlowupData, ax: Axes | None = None, **style) -> PlotResult:
    r"""Figure 6: the Lipschitz learner's geometric blow-up against a TVC learner (semilog-y).

    Measured curves are drawn as open markers (earlier curves larger, so coinciding ones stay
    visible), closed forms (``Curve.exact``) as black lines under them.

    Appendix example: :math:`x^+ = Ax + Bu`, expert :math:`Kx + \delta`, learner :math:`Kx`;
    the gap grows like :math:`\rho(A+BK)^H` when :math:`\rho(A+BK) > 1` although
    :math:`\rho(A) < 1`.

    .. math:: x_H - \hat{x}_H = \sum_{h<H} (A+BK)^{H-1-h} B \delta

    Parameters
    ----------
    data : BlowupData
        One curve per learner, the state gap against H.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when ``None``.
    **style
        ``legend`` ("right" (default), "above", "inside" or False).

    Returns
    -------
    PlotResult

    Raises
    ------
    DimensionError
        If ``data`` is not a :class:`BlowupData` or ``ax`` is not an Axes.
    TypeError
        On an unknown style keyword.

    References
    ----------
    Cao & Xie 2026, appendix example to Definition 4.
    """
    if not isinstance(data, BlowupData):
        raise DimensionError(f"blowup_plot: expected BlowupData, found {describe(data)}")
    opts = _style("blowup_plot", style, legend="right")
    (ax,) = _new_axes(ax)
    ax.set_yscale("log")
    drawn: list = []
    measured = [c for c in data.curves if not c.exact]
    base = mpl.rcParams["lines.markersize"]
    cycle = mpl.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, c in enumerate(data.curves):
        keep = _drawable(False, True, c.x, c.y)
        x, y = np.asarray(c.x)[keep], np.asarray(c.y)[keep]
        label = _dropped_note(c.label, keep)
        if c.exact:  # a closed form: a line under the markers
            drawn.extend(ax.plot(x, y, color="black", linewidth=0.8, linestyle="-", zorder=2, label=label))
            continue
        k = measured.index(c)
        # earlier series get larger markers, so coinciding values stay visible as nested markers
        size = base * (1.0 + 0.35 * (len(measured) - 1 - k))
        drawn.extend(ax.plot(x, y, marker=MARKERS[k % len(MARKERS)], markersize=size, markerfacecolor="white",
                             markeredgewidth=0.9, linestyle="none", color=cycle[i % len(cycle)], zorder=3,
                             label=label))
    _grid_ticks(ax.xaxis, [v for c in data.curves for v in c.x])
    ax.set_xlabel(X_LABELS["H"])
    ax.set_ylabel(r"mean state gap $\mathbb{E}\,|x^\star_{H+1} - \hat{x}_{H+1}|$", fontsize="small")
    leg = _legend(ax, opts["legend"], _fixed_title(data.fixed), _handles(drawn), ncols=2)
    return PlotResult(ax.figure, (ax,), tuple(drawn), () if leg is None else (leg,))



def sandwich_plot(data: SandwichData, ax: Axes | Sequence[Axes] | None = None, **style) -> PlotResult:
    r"""Figure 7: measured regret inside the band between a lower and an upper bound (log-log).

    One panel per :class:`SandwichPanel` (typically one along n at fixed eps_q and one along eps_q
    at fixed n): the band between the bounds is shaded, both bounds drawn as lines, and the
    measured regret drawn with its confidence intervals.

    .. math::
        c\,H\Big(\frac{1}{n} + \varepsilon_q\Big) \lesssim J(\pi^\star) - J(\hat\pi)
        \lesssim H\frac{\log(|\Pi|/\delta)}{n} + H\varepsilon_q

    Parameters
    ----------
    data : SandwichData
        The panels.
    ax : matplotlib.axes.Axes or sequence of Axes, optional
        One Axes per panel (a single Axes when there is one panel); a new figure with the panels
        stacked vertically when ``None``.
    **style
        ``legend`` ("right" (default), "above", "inside" or False); ``labels``
        (default True: panel labels (a), (b), ... when there are several panels); ``ylabel`` (default
        the regret).

    Returns
    -------
    PlotResult

    Raises
    ------
    DimensionError
        If ``data`` is not a :class:`SandwichData` or ``ax`` does not give one Axes per panel.
    TypeError
        On an unknown style keyword.

    References
    ----------
    Cao & Xie 2026, Theorems 3, 8 and 9.
    """
    if not isinstance(data, SandwichData):
        raise DimensionError(f"sandwich_plot: expected SandwichData, found {describe(data)}")
    opts = _style("sandwich_plot", style, legend="right", labels=True, ylabel=REGRET_LABEL)
    axes = _new_axes(ax, len(data.panels))
    drawn: list = []
    legends = []
    for index, (a, panel) in enumerate(zip(axes, data.panels)):
        a.set_xscale("log")
        a.set_yscale("log")
        x = np.asarray(panel.x)
        lower, upper = np.asarray(panel.lower), np.asarray(panel.upper)
        keep = _drawable(True, True, x, lower)
        band = a.fill_between(x[keep], lower[keep], upper[keep], color="0.85", linewidth=0, label="_nolegend_")
        items = _measured(a, panel.measured, MARKERS[0], True, True)
        items.extend(a.plot(x[keep], upper[keep], linestyle=BOUND_STYLE["upper"], color="0.25",
                            label=panel.upper_label))
        items.extend(a.plot(x[keep], lower[keep], linestyle=BOUND_STYLE["lower"], color="0.25",
                            label=_dropped_note(panel.lower_label, keep)))
        drawn.append(band)
        drawn.extend(items)
        _log_ticks(a.xaxis, panel.measured.x)
        a.set_xlabel(X_LABELS[panel.variable])
        if opts["labels"] and len(axes) > 1:
            panel_label(a, index)
        a.set_ylabel(opts["ylabel"])
        handles = _handles(items)
        leg = _legend(a, opts["legend"], _fixed_title(panel.fixed), handles, ncols=3)
        if leg is not None:
            legends.append(leg)
    return PlotResult(axes[0].figure, tuple(axes), tuple(drawn), tuple(legends))


def draw_blowup_figure(data: BlowupFigure) -> Figure:
    """Figure 6: the gap panel alone, or (a) the gap panel above (b) the regret panel.

    Parameters
    ----------
    data : BlowupFigure

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(data, BlowupFigure):
        raise DimensionError(f"draw_blowup_figure: expected BlowupFigure, found {describe(data)}")
    if data.regret is None:
        return blowup_plot(data.gap).figure
    width, height = mpl.rcParams["figure.figsize"]
    fig = Figure(figsize=(width, 2 * height))
    top, bottom = fig.subplots(2, 1)
    blowup_plot(data.gap, ax=top)
    regret_vs_h_plot(data.regret, ax=bottom, xscale="linear")
    for i, a in enumerate((top, bottom)):
        panel_label(a, i)
    return fig


def fraction_ticks(v: float, _pos=None) -> str:
    """``1/m`` when ``v`` is the reciprocal of an integer, else ``v`` plainly (a tick formatter)."""
    m = round(1.0 / v) if v > 0 else 0
    return f"1/{m}" if m >= 1 and math.isclose(v * m, 1.0, rel_tol=1e-9) else f"{v:g}"


def draw_sandwich_figure(data: SandwichData) -> Figure:
    """Figure 7: the sandwich panels stacked, labelled (a), (b), ...; eps_q ticks as fractions.

    The ladder of the eps_q panel is ``1/(2K)``; its decimal expansions (0.0078125, ...) would overlap.

    Parameters
    ----------
    data : SandwichData

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(data, SandwichData):
        raise DimensionError(f"draw_sandwich_figure: expected SandwichData, found {describe(data)}")
    width, height = mpl.rcParams["figure.figsize"]
    fig = Figure(figsize=(width, height * 0.8 * len(data.panels)))
    axes = fig.subplots(len(data.panels), 1, squeeze=False)[:, 0]
    # the lower-bound constructions' regret is averaged over their two truths (at most the worse one's)
    sandwich_plot(data, ax=list(axes), ylabel=r"mean regret (two truths)")
    for ax, panel in zip(axes, data.panels):
        if panel.variable == "eps_q":
            ax.xaxis.set_major_formatter(FuncFormatter(fraction_ticks))
    return fig
