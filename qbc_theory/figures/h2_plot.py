r"""Drawing of claim ``thm3.h2``: regret of ``q#pi*`` against H (log-log), bistable instance and control.

Draws the :class:`~qbc_theory.verification.figdata.containers.ScalingData` of
:func:`qbc_theory.verification.figdata.h2.h2_horizon_data`; computes nothing. Each spec (claim ``K = 5``,
control ``K = 0.5``) has one colour; the regret :math:`R(H)` is drawn with filled markers and a solid fit,
the tested statistic :math:`D(H) = R(H) - R(H/2)` with open markers and a dashed fit. Every legend entry
quotes the fitted slope with its bootstrap interval; the claim's threshold (slope 1.3) is in the title.

References
----------
Cao & Xie 2026, Theorem 3 and Proposition 5.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..model.errors import DimensionError
from ..verification.figdata.containers import ScalingData

__all__ = ["h2_horizon_plot", "draw_h2_figure"]

_COLORS = ("#b2182b", "#2166ac")  # claim, control
_SYMBOLS = {"eps_q": r"\varepsilon_q"}


def _slope(fit) -> str:
    def end(v):
        return r"$\infty$" if math.isinf(v) else f"{v:.2f}"
    return f"slope {fit.slope:.2f} [{end(fit.ci_low)}, {end(fit.ci_high)}]"


def h2_horizon_plot(data: ScalingData, ax: Axes | None = None, *, threshold: float = 1.3) -> Axes:
    """Draw the four series of ``data`` (two specs x {R, D}) on log-log axes.

    Parameters
    ----------
    data : ScalingData
        Four measured series in the order claim R, claim D, control R, control D.
    ax : matplotlib.axes.Axes, optional
        Default: a new figure's axes.
    threshold : float
        The claim's slope threshold, quoted in the title.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    DimensionError
        If ``data`` is not a ScalingData of four series.
    """
    if not isinstance(data, ScalingData) or len(data.measured) != 4:
        raise DimensionError(f"data: expected the ScalingData of h2_horizon_data (four series), found "
                             f"{type(data).__name__} with {len(getattr(data, 'measured', ()))} series")
    if ax is None:
        fig = Figure(figsize=(6.4, 4.4), layout="constrained")
        ax = fig.add_subplot()
    for i, series in enumerate(data.measured):
        color, second = _COLORS[i // 2], bool(i % 2)
        x, y = np.asarray(series.x), np.asarray(series.mean)
        keep = (x > 0) & (y > 0)
        label = series.label + (f"\n{_slope(series.fit)}" if series.fit is not None else "\n(no fit)")
        if not keep.all():
            label += f" ({int((~keep).sum())} pts <= 0 not shown)"
        ax.plot(x[keep], y[keep], marker="s" if second else "o", linestyle="none", color=color,
                markerfacecolor="white" if second else color, markersize=5, label=label, zorder=3)
        if series.ci_low is not None:
            lo, hi = np.asarray(series.ci_low), np.asarray(series.ci_high)
            vis = hi > 0
            # a lower end at or below 0 cannot be drawn on a log axis: the bar then runs two decades down
            ax.vlines(x[vis], np.where(lo[vis] > 0, lo[vis], hi[vis] * 1e-2), hi[vis], color=color,
                      linewidth=0.8, zorder=2.5)
        if series.fit is not None and keep.any():
            grid = np.geomspace(x[keep].min(), x.max(), 64)
            ax.plot(grid, series.fit.prefactor * grid ** series.fit.slope, color=color,
                    linestyle="--" if second else "-", linewidth=0.9, zorder=2)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("horizon $H$")
    ax.set_ylabel(r"regret of $q_\#\pi^\star$")
    ticks = sorted({float(v) for s in data.measured for v in s.x})
    ax.set_xticks(ticks, [f"{v:g}" for v in ticks])
    ax.minorticks_off()
    fixed = ", ".join(f"${_SYMBOLS.get(k, k)} = {v:g}$" for k, v in data.fixed)
    ax.set_title(f"thm3.h2: $D(H)$ slope CI above {threshold:g} (claim), below {threshold:g} (control)"
                 + (f"; {fixed}" if fixed else ""), fontsize="medium")
    ax.grid(True, which="major", linewidth=0.3, alpha=0.5)
    ax.legend(loc="upper left", fontsize="small", frameon=False)
    return ax


def draw_h2_figure(data: ScalingData) -> Figure:
    """The figure of :func:`h2_horizon_plot` (the ``draw`` of the figure pipeline).

    Parameters
    ----------
    data : ScalingData

    Returns
    -------
    matplotlib.figure.Figure
    """
    return h2_horizon_plot(data).figure
