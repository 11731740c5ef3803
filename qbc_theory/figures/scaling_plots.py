r"""The scaling figures: regret against n (figure 1), H (figure 2) and eps_q (figure 3), log-log.

Each function draws a :class:`qbc_theory.verification.figdata.ScalingData`: measured series (open
markers, interval band, fitted power law with its slope and interval in the legend) and the
bounds that apply to them (dashed upper, dotted lower, in the colour of the series they bound).
"""

from __future__ import annotations

import matplotlib as mpl
from matplotlib.axes import Axes

from ..model.errors import DimensionError
from ..model.validation import describe
from ..verification.figdata import ScalingData
from .common import (REGRET_LABEL, X_LABELS, PlotResult, _bound, _fixed_title, _grid_ticks, _handles, _legend,
                     _log_ticks,
                     _measured, _new_axes, _style)
from .style import MARKERS

__all__ = ["regret_vs_n_plot", "regret_vs_h_plot", "regret_vs_eps_plot"]


def _scaling(func_name: str, data: ScalingData, variable: str, ax, style: dict) -> PlotResult:
    if not isinstance(data, ScalingData):
        raise DimensionError(f"{func_name}: expected ScalingData, found {describe(data)}")
    opts = _style(func_name, style, legend="right", xscale="log", yscale="log", ylabel=REGRET_LABEL)
    (ax,) = _new_axes(ax)
    for key in ("xscale", "yscale"):
        if opts[key] not in ("log", "linear"):
            raise DimensionError(f"{key}: expected 'log' or 'linear', found {describe(opts[key])}")
    xlog, ylog = opts["xscale"] == "log", opts["yscale"] == "log"
    ax.set_xscale(opts["xscale"])
    ax.set_yscale(opts["yscale"])
    drawn: list = []
    colors = {}
    for i, series in enumerate(data.measured):
        # earlier series get larger markers, so coinciding means stay visible as nested markers
        size = mpl.rcParams["lines.markersize"] * (1.0 + 0.3 * (len(data.measured) - 1 - i))
        items = _measured(ax, series, MARKERS[i % len(MARKERS)], xlog, ylog, markersize=size)
        colors[series.label] = items[0].get_color()
        drawn.extend(items)
    for curve in data.bounds:
        drawn.extend(_bound(ax, curve, colors, xlog, ylog))
    if xlog:
        _log_ticks(ax.xaxis, [v for s in data.measured for v in s.x])
    else:
        _grid_ticks(ax.xaxis, [v for s in data.measured for v in s.x])
    ax.set_xlabel(X_LABELS[variable])
    ax.set_ylabel(opts["ylabel"])
    handles = _handles(drawn)
    title = _fixed_title(data.fixed)
    levels = sorted({s.fit.ci_level for s in data.measured if s.fit is not None})
    if levels:
        note = "slope [" + "/".join(f"{100 * v:.3g}%" for v in levels) + " CI]"
        title = note if title is None else f"{title}\n{note}"
    leg = _legend(ax, opts["legend"], title, handles, ncols=2)
    return PlotResult(ax.figure, (ax,), tuple(drawn), () if leg is None else (leg,))


def regret_vs_n_plot(data: ScalingData, ax: Axes | None = None, **style) -> PlotResult:
    r"""Figure 1: regret against the number of expert trajectories n, log-log.

    Measured means as open markers with their confidence intervals as bars, the fitted power law of
    each series as a solid line with its slope and slope CI in the legend, upper bounds dashed and
    lower bounds dotted. Theory: a deterministic quantized expert (Theorem 3) decays like 1/n down
    to the quantization floor, a stochastic one (Theorem 2) like :math:`1/\sqrt{n}`.

    .. math::
        H\Big(\frac{1}{n} + \varepsilon_q\Big) \lesssim \mathbb{E}[J(\pi^\star) - J(\hat\pi)]
        \lesssim H \frac{\log(|\Pi|/\delta)}{n} + H \varepsilon_q

    Parameters
    ----------
    data : ScalingData
        Series and bounds over ``n``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; when ``None`` a new :class:`~matplotlib.figure.Figure` is created with the
        current rcParams' size (use inside :func:`paper_style`).
    **style
        ``legend``: "right" (default; right of the axes, never over the data), "above", "inside" or False;
        ``xscale``, ``yscale``: "log" (default) or "linear"; ``ylabel``: the y axis label (default
        the regret). Other keywords raise ``TypeError``.

    Returns
    -------
    PlotResult
        The figure, the axes and every artist drawn: per measured series a marker line (the
        means), a line collection (the intervals) and a line (the fit, if any); one line per bound.

    Raises
    ------
    DimensionError
        If ``data`` is not a :class:`ScalingData` or ``ax`` is not an Axes.
    TypeError
        On an unknown style keyword.

    References
    ----------
    Cao & Xie 2026, Theorems 2, 3, 8 and 9.
    """
    return _scaling("regret_vs_n_plot", data, "n", ax, style)


def regret_vs_h_plot(data: ScalingData, ax: Axes | None = None, **style) -> PlotResult:
    r"""Figure 2: regret against the horizon H, log-log.

    Expected series: binning (Theorem 3, linear in H when its H^2 term vanishes), the trap
    quantizer (Theorem 6, :math:`H\,\Omega(1)`), Algorithm 1 on the trap instance (Theorem 7,
    linear in H), with the Theorem 2/3/7 bounds as dashed lines. Drawn as in
    :func:`regret_vs_n_plot`.

    .. math::
        J(\pi^\star) - J(\mathrm{alg}) \le H \Big[\sqrt{\tfrac{\log(|\Pi|/\delta) + \log(|M|/\delta)}{n}}
        + \varepsilon_q\Big]

    Parameters
    ----------
    data : ScalingData
        Series and bounds over ``H``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; when ``None`` a new :class:`~matplotlib.figure.Figure` is created with the
        current rcParams' size (use inside :func:`paper_style`).
    **style
        ``legend``: "right" (default; right of the axes, never over the data), "above", "inside" or False;
        ``xscale``, ``yscale``: "log" (default) or "linear"; ``ylabel``: the y axis label (default
        the regret). Other keywords raise ``TypeError``.

    Returns
    -------
    PlotResult
        The figure, the axes and every artist drawn: per measured series a marker line (the
        means), a line collection (the intervals) and a line (the fit, if any); one line per bound.

    Raises
    ------
    DimensionError
        If ``data`` is not a :class:`ScalingData` or ``ax`` is not an Axes.
    TypeError
        On an unknown style keyword.

    References
    ----------
    Cao & Xie 2026, Theorems 2, 3, 6 and 7.
    """
    return _scaling("regret_vs_h_plot", data, "H", ax, style)


def regret_vs_eps_plot(data: ScalingData, ax: Axes | None = None, **style) -> PlotResult:
    r"""Figure 3: regret against the quantization error eps_q, log-log (binning vs the trap quantizer).

    Drawn as in :func:`regret_vs_n_plot`.

    .. math::
        J(\pi^\star) - J(\hat\pi) \lesssim H\frac{\log(|\Pi|/\delta)}{n} + H \varepsilon_q
        \ \text{(binning)}, \qquad J(\pi^\star) - J(q_\#\pi^\star) = H\,\Omega(1) \ \text{(trap)}

    Parameters
    ----------
    data : ScalingData
        Series and bounds over ``eps_q``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; when ``None`` a new :class:`~matplotlib.figure.Figure` is created with the
        current rcParams' size (use inside :func:`paper_style`).
    **style
        ``legend``: "right" (default; right of the axes, never over the data), "above", "inside" or False;
        ``xscale``, ``yscale``: "log" (default) or "linear"; ``ylabel``: the y axis label (default
        the regret). Other keywords raise ``TypeError``.

    Returns
    -------
    PlotResult
        The figure, the axes and every artist drawn: per measured series a marker line (the
        means), a line collection (the intervals) and a line (the fit, if any); one line per bound.

    Raises
    ------
    DimensionError
        If ``data`` is not a :class:`ScalingData` or ``ax`` is not an Axes.
    TypeError
        On an unknown style keyword.

    References
    ----------
    Cao & Xie 2026, Theorems 3 and 6.
    """
    return _scaling("regret_vs_eps_plot", data, "eps_q", ax, style)
