r"""Diagnostic figures of ``qbc verify``: one figure per claim showing every test behind its verdict.

Each panel is one test (:mod:`qbc_theory.verification.claims`), first on the claim's experiment, then on its
negative control:

- a slope test shows the per-point means with their intervals, the fitted line with its slope and
  bootstrap interval, and a line of the predicted exponent through the fit's centre;
- a bound test shows the per-cell means with their intervals against the bound's values, one
  category per cell (points and short bars, no lines between cells).

The panels are drawn from :meth:`qbc_theory.verification.claims.ClaimResult.to_dict` only (plain numbers), so
they can be redrawn from a saved ``verify.<profile>.json`` without rerunning anything.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ..model.validation import describe
from ..model.errors import DimensionError
from .common import PlotResult
from .style import paper_style, save_figure, slope_text

__all__ = ["claim_plot", "write_claim_figures"]

_STATUS_MARK = {"consistent": "consistent", "violated": "VIOLATED", "inconclusive": "inconclusive"}


def _finite(v) -> bool:
    return v is not None and math.isfinite(float(v))


def _slope_panel(ax, test: dict) -> list:
    d = test["detail"]
    artists = []
    points = d.get("points") or []
    if not points:
        ax.text(0.5, 0.5, d.get("error", "no fit"), ha="center", va="center", transform=ax.transAxes, fontsize=6)
        return artists
    x = np.asarray(d["x"], dtype=float)
    mean = np.array([p["mean"] for p in points], dtype=float)
    lo = np.array([p["ci"][0] for p in points], dtype=float)
    hi = np.array([p["ci"][1] for p in points], dtype=float)
    used = np.asarray([p["x"] for p in points], dtype=float)
    semilog = d.get("scale") == "semilog"
    # the fit was made on exp(x - x0) for a semi-log test: map the fitted points back to the ladder
    xs = (np.log(used) + x[0]) if semilog else used
    yerr = np.vstack([np.clip(mean - lo, 0, None), np.clip(hi - mean, 0, None)])
    artists.append(ax.errorbar(xs, mean, yerr=yerr, fmt="o", ms=3, capsize=2, label="measured mean"))
    grid = np.linspace(xs.min(), xs.max(), 50)
    gfit = np.exp(grid - x[0]) if semilog else grid
    fit = np.exp(d["intercept"]) * gfit ** d["slope"]
    lo_ci, hi_ci = (float(c) if _finite(c) else sign * math.inf for c, sign in zip(d["ci"], (-1, 1)))
    artists += ax.plot(grid, fit, "-", lw=1, label=f"fit: slope {slope_text(d['slope'], lo_ci, hi_ci)}")
    centre = np.exp(np.mean(np.log(gfit)))
    anchor = np.exp(d["intercept"]) * centre ** d["slope"]
    pred = anchor * (gfit / centre) ** d["predicted"]
    artists += ax.plot(grid, pred, ":", lw=1, label=f"predicted {d['relation']} {d['predicted']:.3g}"
                                                     f" (tol {d.get('tol', 0):g})")
    ax.set_yscale("log")
    if not semilog:
        ax.set_xscale("log")
    ax.set_xlabel(str(d.get("parameter", "")), fontsize=6, labelpad=1)
    ax.set_ylabel("measured (mean over seeds)", fontsize=6)
    return artists


def _bound_panel(ax, test: dict) -> list:
    d = test["detail"]
    pts = d.get("points") or []
    idx = np.arange(len(pts))
    mean = np.array([p["mean"] for p in pts], dtype=float)
    lo = np.array([p["ci"][0] for p in pts], dtype=float)
    hi = np.array([p["ci"][1] for p in pts], dtype=float)
    bound = np.array([p["bound"] for p in pts], dtype=float)
    yerr = np.vstack([np.clip(mean - lo, 0, None), np.clip(hi - mean, 0, None)])
    artists = [ax.errorbar(idx, mean, yerr=yerr, fmt="o", ms=3, capsize=2, label="measured mean")]
    # the cells are categories, not a continuum: each bound is a short bar at its cell, never a line
    # joining cells (which would draw zigzags between unrelated grid points)
    kind = d.get("kind", "upper")
    artists += ax.plot(idx, bound, linestyle="none", marker="_", markersize=9, markeredgewidth=1.2,
                       color="black", label=f"{kind} bound")
    if np.all(mean > 0) and np.all(bound > 0):
        ax.set_yscale("log")
    ax.set_xticks(idx)
    ax.set_xticklabels(_point_labels([p["point"] for p in pts]), rotation=45, ha="right", fontsize=5)
    ax.set_ylabel("measured (mean over seeds)", fontsize=6)
    return artists


def _point_labels(points: list[dict]) -> list[str]:
    """Tick labels naming only the grid values that vary between the panel's cells."""
    keys = [k for k in (points[0] if points else {}) if len({repr(p[k]) for p in points}) > 1]
    fmt = lambda v: f"{v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)  # noqa: E731
    return [" ".join(f"{k}={fmt(p[k])}" for k in keys) for p in points]


def _witness_panel(ax, test: dict) -> list:
    """Counts of audits with a witness of a non-smooth quantizer, per audited cell."""
    pts = test["detail"].get("points") or []
    idx = np.arange(len(pts))
    audits = np.array([p["audits"] for p in pts], dtype=float)
    found = np.array([p["witnesses"] for p in pts], dtype=float)
    artists = list(ax.bar(idx - 0.2, audits, width=0.4, label="audits"))
    artists += list(ax.bar(idx + 0.2, found, width=0.4, label="audits with a witness"))
    ax.set_xticks(idx)
    ax.set_xticklabels(_point_labels([p["point"] for p in pts]), rotation=45, ha="right", fontsize=5)
    return artists


def _text_panel(ax, test: dict) -> list:
    ax.set_axis_off()
    return [ax.text(0.02, 0.5, f"measured {test['measured']}, CI {test['ci']}", transform=ax.transAxes, fontsize=6)]


_PANELS = {"slope": _slope_panel, "bound": _bound_panel, "witness": _witness_panel}


def claim_plot(result: dict, axes=None) -> PlotResult:
    """Draw every test of one claim (experiment, then control), one panel per test.

    Parameters
    ----------
    result : dict
        One entry of ``VerifyReport.to_dict()["claims"]`` (:meth:`ClaimResult.to_dict`).
    axes : sequence of matplotlib Axes, optional
        One per test; a new figure is made when ``None``.

    Returns
    -------
    PlotResult

    Raises
    ------
    DimensionError
        If ``result`` is not a claim dict or the number of axes does not match the tests.

    References
    ----------
    Cao & Xie 2026: the result named in ``result["theorem"]``.
    """
    if not isinstance(result, dict) or "tests" not in result or "control_tests" not in result:
        raise DimensionError(f"result: expected a claim dict from VerifyReport.to_dict(), found {describe(result)}")
    tests = [("experiment", t) for t in result["tests"]] + [("control", t) for t in result["control_tests"]]
    if axes is None:
        fig = Figure(figsize=(3.4, 1.9 * len(tests) + 0.4), layout="constrained")
        axes = fig.subplots(len(tests), 1, squeeze=False)[:, 0]
    elif len(axes) != len(tests):
        raise DimensionError(f"axes: expected {len(tests)} axes (one per test), found {len(axes)}")
    artists, legends = [], []
    for ax, (where, test) in zip(axes, tests):
        drawn = _PANELS.get(test["kind"], _text_panel)(ax, test)
        artists += drawn
        # wrapped: a test's description can be wider than the panel
        ax.set_title(textwrap.fill(f"{where}: {test['predicted']}", 80)
                     + f"\n{_STATUS_MARK.get(test['status'], test['status'])}", fontsize=6)
        if drawn:
            legends.append(ax.legend(fontsize=5, loc="best"))
    fig = axes[0].figure
    fig.suptitle(f"{result['id']} ({result['theorem']}): {result['status']}", fontsize=7)
    return PlotResult(fig, tuple(axes), tuple(artists), tuple(legends))


def write_claim_figures(report: dict, out_dir) -> list[Path]:
    """Write ``<out_dir>/<claim id>.pdf`` and ``.png`` for every claim of a verify report.

    Parameters
    ----------
    report : dict
        ``VerifyReport.to_dict()`` (or the JSON ``qbc verify`` saved).
    out_dir : str or path-like

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    DimensionError
        If ``report`` is not a verify report.
    """
    if not isinstance(report, dict) or not isinstance(report.get("claims"), list):
        raise DimensionError(f"report: expected VerifyReport.to_dict(), found {describe(report)}")
    files: list[Path] = []
    with paper_style():
        for claim in report["claims"]:
            res = claim_plot(claim)
            files += save_figure(res.figure, claim["id"], out_dir)
    return files
