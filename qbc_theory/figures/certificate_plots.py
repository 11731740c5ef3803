r"""Figures 4 and 5: the empirical RTVC modulus of five quantizers, and P-EIISS certificates.

Both draw numbers computed by :mod:`qbc_theory.verification.figdata.direct`.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..model.errors import DimensionError
from ..model.validation import describe
from ..verification.figdata import GainProfileData, RTVCAuditData
from .common import (_ENVELOPE_RTOL, PlotResult, _check_ax, _drawable, _dropped_note, _fmt, _handles, _legend,
                     _new_axes,
                     _style)
from .style import LINESTYLES

__all__ = ["rtvc_audit_plot", "stability_plot"]


def rtvc_audit_plot(data: RTVCAuditData, ax: Axes | Sequence[Axes] | None = None, **style) -> PlotResult:
    r"""Figure 4: the empirical RTVC modulus :math:`\kappa(r)` of each quantized policy, one strip each.

    Each strip (labelled (a), (b), ... with the quantizer's name) shares the logarithmic axis of
    the state distance r and shows the smallest increasing modulus the audit allows (a step
    function, ``where="post"``), a star at the smallest distance where a pair with
    :math:`W_{c_{\varepsilon'}} = 1` was found (any valid modulus is 1 from there on), and, for a
    curve that carries one, Proposition 5's threshold :math:`\delta_0` as a thin vertical line.
    Strips keep curves that coincide (several at :math:`\kappa = 1`) apart.

    .. math::
        W_{c_{\varepsilon'}}\big(\pi(\cdot|x), \pi(\cdot|x')\big) \le \kappa(\|x - x'\|)

    Parameters
    ----------
    data : RTVCAuditData
        The curves and :math:`\varepsilon'`.
    ax : matplotlib.axes.Axes or sequence of Axes, optional
        One Axes per curve; a single Axes draws every curve on it (told apart by line style and the
        legend); a new figure with the strips stacked when ``None``.
    **style
        ``legend`` ("right" (default), "above", "inside" or False: the key to the star and the
        threshold line, on the first strip); ``xscale`` ("log" (default: audits span decades of
        distances; a distance 0 is left out, and the strip says so) or "linear").

    Returns
    -------
    PlotResult

    Raises
    ------
    DimensionError
        If ``data`` is not an :class:`RTVCAuditData` or ``ax`` does not give one Axes per curve.
    TypeError
        On an unknown style keyword.

    References
    ----------
    Cao & Xie 2026, Definition 4, Proposition 5.
    """
    if not isinstance(data, RTVCAuditData):
        raise DimensionError(f"rtvc_audit_plot: expected RTVCAuditData, found {describe(data)}")
    opts = _style("rtvc_audit_plot", style, legend="right", xscale="log")
    if opts["xscale"] not in ("log", "linear"):
        raise DimensionError(f"xscale: expected 'log' or 'linear', found {describe(opts['xscale'])}")
    xlog = opts["xscale"] == "log"
    n = len(data.curves)
    if ax is None:
        width, height = mpl.rcParams["figure.figsize"]
        fig = Figure(figsize=(width, 0.5 + 0.55 * n))
        axes = list(fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0])
    elif isinstance(ax, Axes):  # every curve on one Axes, told apart by line style and the legend
        axes = [ax] * n
    else:
        if isinstance(ax, np.ndarray):
            ax = list(ax.ravel())
        if isinstance(ax, (str, bytes)) or not isinstance(ax, Sequence):
            raise DimensionError(f"ax: expected a sequence of {n} Axes (one per curve) or None, found {describe(ax)}")
        axes = [_check_ax(a) for a in ax]
        if len(axes) != n:
            raise DimensionError(f"ax: expected {n} Axes (one per curve), found {len(axes)}")
    shared = len(set(map(id, axes))) == 1 and n > 1
    drawn: list = []
    key: list = []
    positive = [r for c in data.curves for r in c.r + ((c.witness,) if c.witness else ()) if r > 0]
    high = max(max(c.r) for c in data.curves)
    cycle = mpl.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (a, c) in enumerate(zip(axes, data.curves)):
        color = cycle[i % len(cycle)]
        a.set_xscale(opts["xscale"])
        keep = _drawable(xlog, False, c.r, c.kappa)
        lines = a.step(np.asarray(c.r)[keep], np.asarray(c.kappa)[keep], where="post", color=color,
                       linestyle=LINESTYLES[i % len(LINESTYLES)] if shared else "-",
                       label=_dropped_note(f"{c.label}: $\\hat\\kappa(r)$", keep))
        drawn.extend(lines)
        if shared:
            key.append(lines[0])
        if c.witness is not None and (c.witness > 0 or not xlog):
            star = a.plot([c.witness], [1.0], marker="*", markersize=7, linestyle="none", color=color,
                          markeredgecolor="black", markeredgewidth=0.4, zorder=3,
                          label="smallest $r$ with $W_{c_{\\varepsilon'}} = 1$")
            drawn.extend(star)
            if not any(k.get_marker() == "*" for k in key):  # the key shows the marker in grey
                key.insert(0, Line2D([], [], marker="*", markersize=7, linestyle="none", color="0.6",
                                     markeredgecolor="black", markeredgewidth=0.4, label=star[0].get_label()))
        if c.delta0 is not None and (c.delta0 > 0 or not xlog):
            line = a.axvline(c.delta0, color="black", linewidth=0.6, linestyle="--",
                             label="$\\delta_0 = (\\varepsilon' - 2\\varepsilon_q)/L$ (Prop. 5)")
            drawn.append(line)
            if not any(k.get_marker() != "*" and k.get_linestyle() == "--" and k.get_color() == "black" for k in key):
                key.append(line)
        a.set_ylim(-0.2, 1.2)
        a.set_yticks([0.0, 1.0])
        a.grid(axis="y", visible=False)
        if shared:
            continue
        text = _dropped_note(f"({chr(ord('a') + i)}) {c.label}", keep).replace("\n", " ")
        a.text(0.01, 0.5, text, transform=a.transAxes, ha="left", va="center",
               fontsize=mpl.rcParams["legend.fontsize"])
        if a is not axes[-1]:
            a.tick_params(labelbottom=False)
    if xlog and positive:
        axes[0].set_xlim(min(positive) / 5, high * 5)
    axes[-1].set_xlabel(r"state distance $r = \|x - x'\|$ (state units)")
    fig = axes[0].figure
    if ax is None:
        fig.supylabel(r"empirical modulus $\hat\kappa(r)$", fontsize=mpl.rcParams["axes.labelsize"])
    title = f"$\\varepsilon' = {_fmt(data.eps_prime)}$"
    leg = _legend(axes[0], opts["legend"], title, key, ncols=1) if key else None
    return PlotResult(fig, tuple(dict.fromkeys(axes)), tuple(drawn), () if leg is None else (leg,))


def stability_plot(data: GainProfileData, ax: Axes | None = None, **style) -> PlotResult:
    r"""Figure 5: the gain profile :math:`\|A^j B\|` against the envelopes :math:`C\eta^j` (semilog-y).

    A valid certificate's envelope lies on or above every marker; lags where the gain exceeds a
    certificate's envelope (relative tolerance ``1e-9``) are marked with crosses in its colour.

    .. math:: \|A^j B\| \le C \eta^j, \quad j \ge 0

    Parameters
    ----------
    data : GainProfileData
        Profile and certificates.
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
        If ``data`` is not a :class:`GainProfileData` or ``ax`` is not an Axes.
    TypeError
        On an unknown style keyword.

    References
    ----------
    Cao & Xie 2026, Definition 3 (P-EIISS).
    """
    if not isinstance(data, GainProfileData):
        raise DimensionError(f"stability_plot: expected GainProfileData, found {describe(data)}")
    opts = _style("stability_plot", style, legend="right")
    (ax,) = _new_axes(ax)
    ax.set_yscale("log")
    j = np.asarray(data.j, dtype=float)
    gain = np.asarray(data.gain)
    keep = _drawable(False, True, j, gain)
    drawn: list = ax.plot(j[keep], gain[keep], marker="o", linestyle="none", markerfacecolor="white",
                          markeredgewidth=0.9, label=_dropped_note(r"$\|A^j B\|$", keep))
    grid = np.linspace(j.min(), j.max(), 200)
    for i, c in enumerate(data.certificates):
        envelope = ax.plot(grid, c.C * c.eta ** grid, linestyle=LINESTYLES[(i + 1) % len(LINESTYLES)],
                           label=f"{c.label}: $C = {_fmt(c.C)}$, $\\eta = {_fmt(c.eta)}$")
        drawn.extend(envelope)
        # A certificate that does not hold is shown, not hidden: crosses on the lags it fails at.
        bad = keep & (gain > c.C * c.eta ** j * (1.0 + _ENVELOPE_RTOL))
        if bad.any():
            drawn.extend(ax.plot(j[bad], gain[bad], marker="x", linestyle="none", markersize=5,
                                 color=envelope[0].get_color(), zorder=3,
                                 label=f"above the {c.label} envelope ({int(bad.sum())})"))
    ax.set_xlabel(r"lag $j$ (steps)")
    ax.set_ylabel(r"gain $\|A^j B\|$")
    leg = _legend(ax, opts["legend"], None, _handles(drawn), ncols=2)
    return PlotResult(ax.figure, (ax,), tuple(drawn), () if leg is None else (leg,))
