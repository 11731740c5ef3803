r"""Drawing helpers shared by the figure modules: axes, legends, measured series, bounds.

Conventions of every paper figure:

- a measured series is drawn as open markers at its means, its confidence interval as a light band
  of the same colour (and, when its x is itself measured, horizontal bars), its power-law fit as a
  thin line, with the slope and its interval in the legend (:func:`qbc_theory.figures.style.slope_text`);
- a bound is a dashed (upper) or dotted (lower) line in the colour of the series it bounds;
- the legend sits outside the axes (right by default), never over the data;
- on a logarithmic axis a point with a non-positive coordinate is left out, and the legend entry of
  its series says how many were left out (never moved or clipped).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib as mpl
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

from ..model.errors import DimensionError
from ..model.validation import describe, reject_unknown_kwargs
from ..verification.figdata import BoundCurve, MeasuredSeries
from .style import slope_text

__all__ = ["PlotResult", "REGRET_LABEL", "X_LABELS", "LEGEND_PLACES"]

# Axis labels, with the symbols of THEORY.md.
REGRET_LABEL = r"regret $J(\pi^\star) - J(\hat{\pi})$"
X_LABELS = {
    "n": r"$n$ (expert trajectories)",
    "H": r"horizon $H$ (steps)",
    "eps_q": r"quantization error $\varepsilon_q$ (action units)",
}
_SYMBOL_TEX = {
    "n": "n",
    "H": "H",
    "eps_q": r"\varepsilon_q",
    "eps_prime": r"\varepsilon'",
    "delta": r"\delta",
    "k": "k",
    "L": "L",
    "Gamma": r"\Gamma",
    "sigma": r"\sigma",
    "sigma_pi": r"\sigma_\pi",
    "C": "C",
    "eta": r"\eta",
}
BOUND_STYLE = {"upper": "--", "lower": ":"}
_ENVELOPE_RTOL = 1e-9  # round-off allowance when marking gains above a certificate's envelope


@dataclass(frozen=True, eq=False)
class PlotResult:
    """What a plot function drew.

    Attributes
    ----------
    figure : matplotlib.figure.Figure
        The figure holding the axes.
    axes : tuple of matplotlib.axes.Axes
        The axes drawn on (one, except for :func:`sandwich_plot` with several panels).
    artists : tuple of matplotlib.artist.Artist
        Every artist drawn (lines, interval bars, filled bands), in drawing order.
    legends : tuple of matplotlib.legend.Legend
        The legends added (empty when ``legend=False``).
    """

    figure: Figure
    axes: tuple[Axes, ...]
    artists: tuple[Artist, ...]
    legends: tuple[Legend, ...]


def _check_ax(ax) -> Axes:
    if not isinstance(ax, Axes):
        raise DimensionError(f"ax: expected a matplotlib Axes or None, found {describe(ax)}")
    return ax


def _new_axes(ax, nrows: int = 1) -> list[Axes]:
    if ax is None:
        width, height = mpl.rcParams["figure.figsize"]
        fig = Figure(figsize=(width, height * (0.5 + 0.5 * nrows)))
        axes = fig.subplots(nrows, 1, squeeze=False)[:, 0]
        return list(axes)
    if nrows == 1 and isinstance(ax, Axes):
        return [ax]
    if isinstance(ax, np.ndarray):  # what plt.subplots returns
        ax = list(ax.ravel())
    if isinstance(ax, Axes) or isinstance(ax, (str, bytes)) or not isinstance(ax, Sequence):
        raise DimensionError(f"ax: expected a sequence of {nrows} Axes or None, found {describe(ax)}")
    axes = [_check_ax(a) for a in ax]
    if len(axes) != nrows:
        raise DimensionError(f"ax: expected {nrows} Axes (one per panel), found {len(axes)}")
    return axes


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def _fixed_title(fixed: tuple[tuple[str, float], ...]) -> str | None:
    if not fixed:
        return None
    parts = []
    for k, v in fixed:
        sym = _SYMBOL_TEX.get(k)
        parts.append(f"${sym} = {_fmt(v)}$" if sym else f"{k} = {_fmt(v)}")
    return ", ".join(parts)


def _drawable(xlog: bool, ylog: bool, x, y) -> np.ndarray:
    """Mask of points that can be drawn on the axes' scales (log axes need positive coordinates)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.ones(x.shape, dtype=bool)
    if xlog:
        keep &= x > 0
    if ylog:
        keep &= y > 0
    return keep


def _dropped_note(label: str, keep: np.ndarray) -> str:
    dropped = int(np.count_nonzero(~keep))
    if not dropped:
        return label
    return f"{label}\n({dropped} pt{'s' if dropped > 1 else ''} $\\leq 0$ not shown)"


def _style(func_name: str, style: dict, **defaults) -> dict:
    unknown = {k: v for k, v in style.items() if k not in defaults}
    reject_unknown_kwargs(func_name, unknown)
    return {**defaults, **style}


def _grid_ticks(axis, values) -> None:
    """Tick a linear axis at the grid values themselves when they are few (4, 8, 12, 16, 20)."""
    grid = sorted({float(v) for v in values})
    if 2 <= len(grid) <= 8:
        axis.set_major_locator(FixedLocator(grid))
        axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))


def _log_ticks(axis, values) -> None:
    """Label a log axis at the grid values themselves when they are few, plainly (25, 50, 100).

    A value closer than a factor 1.5 to the previous labelled one is left unlabelled, so labels of
    two ladders on one axis (50 and 64) do not run into each other.
    """
    grid = sorted({float(v) for v in values if v > 0})
    if 2 <= len(grid) <= 8:
        kept = [grid[0]]
        for v in grid[1:]:
            if v / kept[-1] >= 1.5:
                kept.append(v)
        axis.set_major_locator(FixedLocator(kept))
        axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


LEGEND_PLACES = ("right", "above", "inside")
"""Where a legend may go (``legend=False`` draws none)."""


def _legend(ax: Axes, where, title: str | None, handles: list, ncols: int = 1) -> Legend | None:
    """Legend of ``handles`` in drawing order, outside the axes unless ``where="inside"``.

    ``"right"``: one column to the right of the axes (constrained layout narrows the axes to make
    room); ``"above"``: above the axes in at most ``ncols`` columns, fewer when it would be wider
    than the figure less the y axis labels; ``"inside"``: matplotlib's best place inside the axes.
    """
    if where is False or where is None:
        return None
    if where == "right":
        leg = ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), title=title,
                        borderaxespad=0.0)
    elif where == "above":
        fig = ax.get_figure(root=True)
        room = fig.bbox.width - 0.6 * fig.dpi
        # A renderer of our own for measuring: asking a canvas-less figure for one would reset its dpi.
        renderer = RendererAgg(int(fig.bbox.width), int(fig.bbox.height), fig.dpi)
        for cols in range(max(ncols, 1), 0, -1):
            leg = ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.01), ncols=cols,
                            title=title, borderaxespad=0.0, columnspacing=1.2)
            if cols == 1 or leg.get_window_extent(renderer).width <= room:
                break
    elif where == "inside":
        leg = ax.legend(handles=handles, loc="best", title=title)
    else:
        raise DimensionError(f"legend: expected one of {', '.join(map(repr, LEGEND_PLACES))} or False, "
                             f"found {describe(where)}")
    if title:
        leg.set_alignment("left")
    return leg


def _handles(drawn: list) -> list:
    return [item for item in drawn if not item.get_label().startswith("_")]


def _measured(ax: Axes, series: MeasuredSeries, marker: str, xlog: bool, ylog: bool, *,
              markersize: float | None = None, band: bool = True) -> list:
    """Markers at the means, the interval as a band (and x bars), the fit as a line; slope in the label."""
    x = np.asarray(series.x)
    mean = np.asarray(series.mean)
    keep = _drawable(xlog, ylog, x, mean)
    label = series.label
    if series.fit is not None:
        f = series.fit
        label = f"{label}\nslope {slope_text(f.slope, f.ci_low, f.ci_high)}"
    label = _dropped_note(label, keep)
    size = mpl.rcParams["lines.markersize"] if markersize is None else markersize
    drawn = ax.plot(x[keep], mean[keep], marker=marker, linestyle="none", label=label, markerfacecolor="white",
                    markeredgewidth=0.9, markersize=size, zorder=3)
    color = drawn[0].get_color()
    if series.ci_low is not None:
        lo, hi = np.asarray(series.ci_low), np.asarray(series.ci_high)
        # An interval is drawn wherever part of it is visible, also when its mean is not (mean <= 0 on
        # a log axis); a lower end at or below 0 on a log axis runs down to the axes' edge.
        vis = _drawable(xlog, ylog, x, hi)
        if band and vis.sum() >= 2:
            drawn.append(ax.fill_between(x[vis], lo[vis], hi[vis], color=color, alpha=0.18, linewidth=0,
                                         zorder=1.5, label="_nolegend_"))
        drawn.append(ax.vlines(x[vis], lo[vis], hi[vis], color=color, linewidth=0.7, zorder=2.5,
                               label="_nolegend_"))
    if series.x_low is not None:
        xl, xh = np.asarray(series.x_low), np.asarray(series.x_high)
        vis = keep & _drawable(xlog, False, xh, mean)
        drawn.append(ax.hlines(mean[vis], xl[vis], xh[vis], color=color, linewidth=0.7, zorder=2.5,
                               label="_nolegend_"))
    if series.fit is not None:
        lo, hi = float(x[keep].min()) if keep.any() else float(x.min()), float(x.max())
        grid = np.geomspace(lo, hi, 64) if xlog and lo > 0 else np.linspace(lo, hi, 64)
        drawn.extend(ax.plot(grid, series.fit.prefactor * grid ** series.fit.slope, color=color,
                             linewidth=0.8, zorder=2, label="_nolegend_"))
    return drawn


def _bound(ax: Axes, curve: BoundCurve, colors: dict, xlog: bool, ylog: bool) -> list:
    keep = _drawable(xlog, ylog, curve.x, curve.y)
    kwargs = {"color": colors[curve.match]} if curve.match is not None else {"color": "0.35"}
    return ax.plot(np.asarray(curve.x)[keep], np.asarray(curve.y)[keep], linestyle=BOUND_STYLE[curve.kind],
                   label=_dropped_note(curve.label, keep), zorder=2, **kwargs)


def new_figure(rows: int = 1, *, height: float | None = None, sharex: bool = False) -> tuple[Figure, list]:
    """A figure of the style's width with ``rows`` stacked axes, each ``height`` inches (default: the style's)."""
    width, h = mpl.rcParams["figure.figsize"]
    fig = Figure(figsize=(width, (h if height is None else height) * rows))
    axes = fig.subplots(rows, 1, squeeze=False, sharex=sharex)[:, 0]
    return fig, list(axes)
