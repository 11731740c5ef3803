r"""Paper figures: the style, the plot functions, reproducible saving and the manifest.

The plot layer never reads experiment internals. Each figure of the set (``qbc figs``) is drawn
by one ``*_plot(data, ax=None, **style)`` function from a small frozen dataclass defined here,
holding plain numbers only; the runner and the claim catalog fill these dataclasses in.

=====  ==============================  =========================  ===========================
 fig   what                            plot function              data
=====  ==============================  =========================  ===========================
 1     regret vs n (log-log)           :func:`regret_vs_n_plot`   :class:`ScalingData`
 2     regret vs H (log-log)           :func:`regret_vs_h_plot`   :class:`ScalingData`
 3     regret vs eps_q (log-log)       :func:`regret_vs_eps_plot` :class:`ScalingData`
 4     RTVC audit kappa(r)             :func:`rtvc_audit_plot`    :class:`RTVCAuditData`
 5     gain profile vs C eta^j         :func:`stability_plot`     :class:`GainProfileData`
 6     Lipschitz blow-up vs TVC        :func:`blowup_plot`        :class:`BlowupData`
 7     lower/upper bound sandwich      :func:`sandwich_plot`      :class:`SandwichData`
=====  ==============================  =========================  ===========================

Every plot function draws on ``ax`` when given and otherwise creates its own
:class:`matplotlib.figure.Figure` (not registered with pyplot), and returns a :class:`PlotResult`
holding the artists it drew. Draw and save inside :func:`paper_style` (or use :func:`render`, which
does both) so the figure gets the paper's size, fonts and palette. :func:`save_figure` writes PDF
and PNG files that are byte-identical when the same figure is saved again, and
:func:`write_manifest` records, per figure, the experiment spec, the seeds, the code version and
the numbers plotted.

On logarithmic axes a point with a non-positive coordinate cannot be drawn (a measured regret can
be negative when the learner matches the expert and the Monte Carlo noise dominates). Such points
are left out and the legend entry of their series says how many were left out; they are never
moved or clipped to a positive value (the part of a confidence interval above 0 is still drawn).
They stay in :meth:`to_dict`, hence in the manifest.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import json
import logging
import math
import numbers
import os
import re
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib as mpl
import matplotlib.style  # binds mpl.style, which "import matplotlib" alone does not
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

from ..model.validation import as_int, as_real, as_vector, describe, reject_unknown_kwargs
from ..model.errors import DimensionError

__all__ = [
    "STYLE_FILE",
    "FIGURES",
    "paper_style",
    "PlotResult",
    "PowerLawFit",
    "MeasuredSeries",
    "BoundCurve",
    "Curve",
    "ScalingData",
    "ModulusCurve",
    "RTVCAuditData",
    "Certificate",
    "GainProfileData",
    "BlowupData",
    "SandwichPanel",
    "SandwichData",
    "regret_vs_n_plot",
    "regret_vs_h_plot",
    "regret_vs_eps_plot",
    "rtvc_audit_plot",
    "stability_plot",
    "blowup_plot",
    "sandwich_plot",
    "save_figure",
    "render",
    "ManifestEntry",
    "code_version",
    "write_manifest",
]

STYLE_FILE = "paper.mplstyle"
"""Name of the style file shipped inside the package (package data)."""

# Axis labels, with the symbols of THEORY.md.
REGRET_LABEL = r"regret $J(\pi^\star) - J(\hat{\pi})$"
_X_LABELS = {
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
_BOUND_STYLE = {"upper": "--", "lower": ":"}
_ENVELOPE_RTOL = 1e-9  # round-off allowance when marking gains above a certificate's envelope
_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
_LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 2)), (0, (6, 2)))


# --------------------------------------------------------------------------------------------
# style


@contextlib.contextmanager
def paper_style() -> Iterator[None]:
    """Apply the paper style (``paper.mplstyle``) for the duration of a ``with`` block.

    Single-column size (3.4 x 2.4 in), 8 pt fonts, constrained layout, 300 dpi PNGs, TrueType
    font embedding (no Type 3) and the Okabe-Ito colour-blind-safe palette. The global
    ``matplotlib.rcParams`` are restored on exit, also when the block raises.

    Yields
    ------
    None

    Examples
    --------
    >>> with paper_style():
    ...     result = regret_vs_n_plot(data)
    ...     save_figure(result.figure, "regret_vs_n", "paper_figs")
    """
    resource = importlib.resources.files("qbc_theory.figures").joinpath(STYLE_FILE)
    with importlib.resources.as_file(resource) as path, mpl.style.context(str(path)):
        yield


# --------------------------------------------------------------------------------------------
# data containers


def _name(name: str, value) -> str:
    if not isinstance(value, str) or not value:
        raise DimensionError(f"{name}: expected a non-empty string, found {describe(value)}")
    return value


def _floats(name: str, value, size: int | None = None) -> tuple[float, ...]:
    arr = as_vector(name, value, size)
    if arr.size == 0:
        raise DimensionError(f"{name}: expected at least one value, found none")
    return tuple(float(v) + 0.0 for v in arr)


def _ascending(name: str, values: tuple[float, ...]) -> None:
    if any(b <= a for a, b in zip(values, values[1:])):
        raise DimensionError(f"{name}: expected strictly increasing values, found {list(values)}")


def _tuple_of(name: str, value, cls) -> tuple:
    if isinstance(value, cls):
        value = (value,)
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise DimensionError(f"{name}: expected a sequence of {cls.__name__}, found {describe(value)}")
    items = tuple(value)
    for i, item in enumerate(items):
        if not isinstance(item, cls):
            raise DimensionError(f"{name}[{i}]: expected a {cls.__name__}, found {describe(item)}")
    return items


def _fixed(name: str, value) -> tuple[tuple[str, float], ...]:
    if value is None:
        return ()
    if isinstance(value, tuple) and all(isinstance(p, tuple) and len(p) == 2 for p in value):
        value = dict(value)
    if not isinstance(value, Mapping):
        raise DimensionError(f"{name}: expected a mapping of symbol name to value, found {describe(value)}")
    return tuple(sorted((_name(f"{name} key", k), as_real(f"{name}[{k!r}]", v)) for k, v in value.items()))


def _interval_end(name: str, value, infinity: float) -> float:
    if value is None:
        return infinity
    if isinstance(value, (numbers.Real, np.floating)) and not isinstance(value, bool) and float(value) == infinity:
        return infinity
    return as_real(name, value)


def _unique_labels(name: str, items) -> None:
    labels = [item.label for item in items]
    dupes = sorted({lab for lab in labels if labels.count(lab) > 1})
    if dupes:
        raise DimensionError(f"{name}: expected distinct labels, found repeated {dupes}")


@dataclass(frozen=True)
class PowerLawFit:
    r"""A fitted power law ``y = prefactor * x**slope`` with a confidence interval on the slope.

    .. math:: y = c\, x^{p}, \qquad p \in [p_{\mathrm{lo}}, p_{\mathrm{hi}}]

    Parameters
    ----------
    slope : float
        Fitted exponent (the slope in log-log coordinates).
    ci_low, ci_high : float
        Confidence interval of the slope, ``ci_low <= ci_high`` (a percentile bootstrap interval
        need not contain the point estimate, so that is not required). An end may be infinite
        (``-inf`` / ``inf``, or ``None``) when the interval is unbounded, as a bootstrap interval is
        when too many replicates have no defined slope.
    prefactor : float
        Positive prefactor, so that the fitted line is ``prefactor * x**slope`` (independent of the
        logarithm's base used in the fit).
    ci_level : float, default 0.95
        Confidence level of the interval, in (0, 1).

    Raises
    ------
    DimensionError
        If the slope is not finite, ``ci_low > ci_high``, or the prefactor is not positive.
    """

    slope: float
    ci_low: float
    ci_high: float
    prefactor: float
    ci_level: float = 0.95

    def __post_init__(self):
        slope = as_real("PowerLawFit.slope", self.slope)
        lo = _interval_end("PowerLawFit.ci_low", self.ci_low, -math.inf)
        hi = _interval_end("PowerLawFit.ci_high", self.ci_high, math.inf)
        if not lo <= hi:
            raise DimensionError(f"PowerLawFit: expected ci_low <= ci_high, found {lo:g} > {hi:g}")
        object.__setattr__(self, "slope", slope)
        object.__setattr__(self, "ci_low", lo)
        object.__setattr__(self, "ci_high", hi)
        object.__setattr__(self, "prefactor", as_real("PowerLawFit.prefactor", self.prefactor, positive=True))
        object.__setattr__(self, "ci_level", as_real("PowerLawFit.ci_level", self.ci_level, low=0.0, high=1.0,
                                                     open_low=True, open_high=True))

    @classmethod
    def from_fit(cls, fit) -> PowerLawFit:
        """Convert a fit with ``slope``, natural-log ``intercept``, ``ci = (lo, hi)`` and ``level``.

        This is the shape of :class:`qbc_theory.verification.scaling.SlopeFit` (read by attribute, not imported).

        Raises
        ------
        DimensionError
            If an attribute is missing or invalid.
        """
        try:
            slope, intercept, (lo, hi), level = fit.slope, fit.intercept, fit.ci, fit.level
        except (AttributeError, TypeError, ValueError):
            raise DimensionError(f"fit: expected an object with slope, intercept, ci = (lo, hi) and level, "
                                 f"found {describe(fit)}") from None
        return cls(slope, lo, hi, prefactor=math.exp(as_real("fit.intercept", intercept)), ci_level=level)

    def to_dict(self) -> dict:
        """JSON-ready fields (an infinite interval end becomes ``None``)."""
        ci = [None if math.isinf(v) else v for v in (self.ci_low, self.ci_high)]
        return {"slope": self.slope, "ci": ci, "prefactor": self.prefactor, "ci_level": self.ci_level}


@dataclass(frozen=True)
class MeasuredSeries:
    r"""Measured means with a confidence interval at each grid point, optionally with a slope fit.

    Parameters
    ----------
    label : str
        Legend label (for example ``"deterministic expert (Thm 3)"``).
    x : (m,) array_like
        Grid values of the swept parameter (``n``, ``H`` or ``eps_q``), strictly increasing.
    mean : (m,) array_like
        Measured mean regret :math:`J(\pi^\star) - J(\hat\pi)` at each grid point.
    ci_low, ci_high : (m,) array_like, optional
        Confidence interval of the mean at each point, ``ci_low <= ci_high`` (a percentile bootstrap
        interval need not contain the mean, so that is not required); give both or neither (then no
        error bars are drawn).
    ci_level : float, default 0.95
        Level of the intervals, in (0, 1).
    fit : PowerLawFit, optional
        A power-law fit of ``mean`` against ``x``, drawn as a line and quoted in the legend.

    Raises
    ------
    DimensionError
        On lengths that differ, non-finite values, ``ci_low > ci_high``, or only one of ``ci_low``
        and ``ci_high``.
    """

    label: str
    x: tuple[float, ...]
    mean: tuple[float, ...]
    ci_low: tuple[float, ...] | None = None
    ci_high: tuple[float, ...] | None = None
    ci_level: float = 0.95
    fit: PowerLawFit | None = None

    def __post_init__(self):
        _name("MeasuredSeries.label", self.label)
        x = _floats("MeasuredSeries.x", self.x)
        _ascending("MeasuredSeries.x", x)
        mean = _floats("MeasuredSeries.mean", self.mean, len(x))
        if (self.ci_low is None) != (self.ci_high is None):
            raise DimensionError("MeasuredSeries: expected both ci_low and ci_high or neither, found one")
        if self.ci_low is not None:
            lo = _floats("MeasuredSeries.ci_low", self.ci_low, len(x))
            hi = _floats("MeasuredSeries.ci_high", self.ci_high, len(x))
            for i, (a, b) in enumerate(zip(lo, hi)):
                if not a <= b:
                    raise DimensionError(f"MeasuredSeries {self.label!r}: expected ci_low <= ci_high, "
                                         f"found {a:g} > {b:g} at index {i}")
            object.__setattr__(self, "ci_low", lo)
            object.__setattr__(self, "ci_high", hi)
        if self.fit is not None and not isinstance(self.fit, PowerLawFit):
            raise DimensionError(f"MeasuredSeries.fit: expected a PowerLawFit or None, found {describe(self.fit)}")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "ci_level", as_real("MeasuredSeries.ci_level", self.ci_level, low=0.0, high=1.0,
                                                     open_low=True, open_high=True))

    @classmethod
    def from_fit(cls, label: str, fit) -> MeasuredSeries:
        """The series a slope fit was made from, with its per-point intervals and the fit itself.

        Reads ``x``, ``mean``, ``point_ci`` (pairs ``(lo, hi)``), ``slope``, ``intercept``, ``ci`` and
        ``level``: the shape of :class:`qbc_theory.verification.scaling.SlopeFit` (read by attribute, not imported).
        Points the fit dropped are not in it, so they are not in the series either.

        Raises
        ------
        DimensionError
            If an attribute is missing or invalid.
        """
        try:
            x, mean, point_ci, level = fit.x, fit.mean, np.asarray(fit.point_ci, dtype=float), fit.level
        except (AttributeError, TypeError, ValueError):
            raise DimensionError(f"fit: expected an object with x, mean, point_ci and level, "
                                 f"found {describe(fit)}") from None
        if point_ci.ndim != 2 or point_ci.shape[1:] != (2,):
            raise DimensionError(f"fit.point_ci: expected (lo, hi) pairs, found an array of shape {point_ci.shape}")
        return cls(label, x, mean, point_ci[:, 0], point_ci[:, 1], ci_level=level, fit=PowerLawFit.from_fit(fit))

    def to_dict(self) -> dict:
        """JSON-ready fields (``ci`` and ``fit`` are ``None`` when absent)."""
        ci = None if self.ci_low is None else {"low": list(self.ci_low), "high": list(self.ci_high),
                                                "level": self.ci_level}
        return {"label": self.label, "x": list(self.x), "mean": list(self.mean), "ci": ci,
                "fit": None if self.fit is None else self.fit.to_dict()}


@dataclass(frozen=True)
class BoundCurve:
    r"""A theorem's bound evaluated on a grid, drawn as a line (dashed: upper, dotted: lower).

    Parameters
    ----------
    label : str
        Legend label (for example ``"Thm 3 upper (explicit)"``).
    x : (m,) array_like
        Grid, strictly increasing.
    y : (m,) array_like
        Bound values (for example ``bounds.get("thm3").evaluate(n=x, ...)``).
    kind : {"upper", "lower"}
        Upper or lower bound.
    match : str, optional
        Label of a :class:`MeasuredSeries` of the same plot whose colour the curve takes, so a
        bound is read against the measurements it bounds.

    Raises
    ------
    DimensionError
        On lengths that differ, non-finite values or an unknown ``kind``.
    """

    label: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    kind: str = "upper"
    match: str | None = None

    def __post_init__(self):
        _name("BoundCurve.label", self.label)
        x = _floats("BoundCurve.x", self.x)
        _ascending("BoundCurve.x", x)
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", _floats("BoundCurve.y", self.y, len(x)))
        if self.kind not in _BOUND_STYLE:
            raise DimensionError(f"BoundCurve.kind: expected 'upper' or 'lower', found {describe(self.kind)}")
        if self.match is not None:
            _name("BoundCurve.match", self.match)

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"label": self.label, "x": list(self.x), "y": list(self.y), "kind": self.kind,
                "match": self.match}


@dataclass(frozen=True)
class Curve:
    """A plain labelled curve ``y(x)``.

    Parameters
    ----------
    label : str
        Legend label.
    x, y : (m,) array_like
        Grid (strictly increasing) and values.

    Raises
    ------
    DimensionError
        On lengths that differ or non-finite values.
    """

    label: str
    x: tuple[float, ...]
    y: tuple[float, ...]

    def __post_init__(self):
        _name("Curve.label", self.label)
        x = _floats("Curve.x", self.x)
        _ascending("Curve.x", x)
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", _floats("Curve.y", self.y, len(x)))

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"label": self.label, "x": list(self.x), "y": list(self.y)}


@dataclass(frozen=True)
class ScalingData:
    r"""Data of a scaling figure (1: regret vs n, 2: regret vs H, 3: regret vs eps_q).

    Parameters
    ----------
    measured : sequence of MeasuredSeries
        The measured regret curves (one per expert, quantizer or learner), distinct labels.
    bounds : sequence of BoundCurve, default ()
        Upper and lower bounds on the same axis. A bound's ``match`` must name a measured series.
    fixed : mapping of str to float, optional
        The parameters held fixed along the sweep, by symbol name (``{"H": 20, "eps_q": 0.05}``);
        shown as the legend's title.

    Raises
    ------
    DimensionError
        On an empty ``measured``, repeated labels or a ``match`` that names no measured series.
    """

    measured: tuple[MeasuredSeries, ...]
    bounds: tuple[BoundCurve, ...] = ()
    fixed: tuple[tuple[str, float], ...] = ()

    def __post_init__(self):
        measured = _tuple_of("ScalingData.measured", self.measured, MeasuredSeries)
        if not measured:
            raise DimensionError("ScalingData.measured: expected at least one series, found none")
        bounds = _tuple_of("ScalingData.bounds", self.bounds, BoundCurve)
        _unique_labels("ScalingData", measured + bounds)
        labels = {s.label for s in measured}
        for b in bounds:
            if b.match is not None and b.match not in labels:
                raise DimensionError(f"BoundCurve {b.label!r}.match: expected one of {sorted(labels)}, "
                                     f"found {b.match!r}")
        object.__setattr__(self, "measured", measured)
        object.__setattr__(self, "bounds", bounds)
        object.__setattr__(self, "fixed", _fixed("ScalingData.fixed", self.fixed))

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"measured": [s.to_dict() for s in self.measured], "bounds": [b.to_dict() for b in self.bounds],
                "fixed": dict(self.fixed)}


@dataclass(frozen=True)
class ModulusCurve:
    r"""An empirical RTVC modulus :math:`\kappa(r)` of one quantized policy.

    Parameters
    ----------
    label : str
        Quantizer name (for example ``"binning"``, ``"k-means"``, ``"trap"``).
    r : (m,) array_like
        State distances :math:`r = \|x - x'\|`, strictly increasing, non-negative.
    kappa : (m,) array_like
        Empirical modulus, values in [0, 1]: the largest observed
        :math:`W_{c_{\varepsilon'}}(\pi(\cdot|x), \pi(\cdot|x'))` at each distance, or its running
        maximum (the smallest increasing modulus the audit allows; see :meth:`from_audit`).
    delta0 : float, optional
        A predicted threshold (Proposition 5 (ii): :math:`\kappa(r) = 1\{r > \delta_0\}`,
        :math:`\delta_0 = (\varepsilon' - 2\varepsilon_q)/L`), drawn as a vertical line.

    Raises
    ------
    DimensionError
        On lengths that differ, negative distances or values outside [0, 1].

    References
    ----------
    Cao & Xie 2026, Definition 4 and Proposition 5.
    """

    label: str
    r: tuple[float, ...]
    kappa: tuple[float, ...]
    delta0: float | None = None

    def __post_init__(self):
        _name("ModulusCurve.label", self.label)
        r = _floats("ModulusCurve.r", self.r)
        _ascending("ModulusCurve.r", r)
        if r[0] < 0:
            raise DimensionError(f"ModulusCurve.r: expected non-negative distances, found {r[0]:g}")
        kappa = _floats("ModulusCurve.kappa", self.kappa, len(r))
        bad = [k for k in kappa if not 0.0 <= k <= 1.0]
        if bad:
            raise DimensionError(f"ModulusCurve.kappa: expected values in [0, 1], found {bad[0]:g}")
        object.__setattr__(self, "r", r)
        object.__setattr__(self, "kappa", kappa)
        if self.delta0 is not None:
            object.__setattr__(self, "delta0", as_real("ModulusCurve.delta0", self.delta0, nonnegative=True))

    @classmethod
    def from_audit(cls, label: str, audit, *, envelope: bool = True, delta0: float | None = None) -> ModulusCurve:
        r"""The curve of an audit with ``radii``, ``max_w`` and ``min_radius_w1``.

        This is the shape of :class:`qbc_theory.checker.smoothness.ModulusAudit` (read by attribute, not
        imported). With ``envelope=True`` the curve is the smallest increasing function above every
        observation: the running maximum of ``max_w`` over the radii, with the refined witness
        ``(min_radius_w1, 1)`` added, since a modulus is increasing and any valid one is at least
        that. With ``envelope=False`` the per-radius maxima are returned as observed.

        .. math:: \hat\kappa(r) = \max_{r' \le r} \max_{\|x - x'\| = r'} W_{c_{\varepsilon'}}

        Raises
        ------
        DimensionError
            If an attribute is missing or invalid.
        """
        try:
            r = np.asarray(audit.radii, dtype=float)
            w = np.asarray(audit.max_w, dtype=float)
            w1 = audit.min_radius_w1
        except (AttributeError, TypeError, ValueError):
            raise DimensionError(f"audit: expected an object with radii, max_w and min_radius_w1, "
                                 f"found {describe(audit)}") from None
        if r.shape != w.shape or r.ndim != 1:
            raise DimensionError(f"audit: expected radii and max_w of one length, found shapes {r.shape}, {w.shape}")
        if envelope:
            if w1 is not None:
                r = np.append(r, as_real("audit.min_radius_w1", w1, nonnegative=True))
                w = np.append(w, 1.0)
            order = np.argsort(r, kind="stable")
            r, w = r[order], np.maximum.accumulate(w[order])
            last = np.append(r[1:] != r[:-1], True)  # at a repeated radius keep the last (largest) value
            r, w = r[last], w[last]
        return cls(label, r, w, delta0=delta0)

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"label": self.label, "r": list(self.r), "kappa": list(self.kappa), "delta0": self.delta0}


@dataclass(frozen=True)
class RTVCAuditData:
    r"""Data of figure 4: empirical moduli :math:`\kappa(r)` of several quantizers at one :math:`\varepsilon'`.

    Parameters
    ----------
    curves : sequence of ModulusCurve
        One curve per quantizer, distinct labels.
    eps_prime : float
        The tolerance :math:`\varepsilon' \ge 0` of the cost :math:`c_{\varepsilon'}`.

    References
    ----------
    Cao & Xie 2026, Definition 4.
    """

    curves: tuple[ModulusCurve, ...]
    eps_prime: float

    def __post_init__(self):
        curves = _tuple_of("RTVCAuditData.curves", self.curves, ModulusCurve)
        if not curves:
            raise DimensionError("RTVCAuditData.curves: expected at least one curve, found none")
        _unique_labels("RTVCAuditData", curves)
        object.__setattr__(self, "curves", curves)
        object.__setattr__(self, "eps_prime", as_real("RTVCAuditData.eps_prime", self.eps_prime, nonnegative=True))

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"curves": [c.to_dict() for c in self.curves], "eps_prime": self.eps_prime}


@dataclass(frozen=True)
class Certificate:
    r"""A P-EIISS certificate :math:`\|A^j B\| \le C \eta^j` found by one method.

    Parameters
    ----------
    label : str
        Method name (``"exact"``, ``"LMI"``).
    C : float
        Positive constant.
    eta : float
        Rate in (0, 1).

    References
    ----------
    Cao & Xie 2026, Definition 3 (P-EIISS).
    """

    label: str
    C: float
    eta: float

    def __post_init__(self):
        _name("Certificate.label", self.label)
        object.__setattr__(self, "C", as_real("Certificate.C", self.C, positive=True))
        object.__setattr__(self, "eta", as_real("Certificate.eta", self.eta, low=0.0, high=1.0,
                                                open_low=True, open_high=True))

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"label": self.label, "C": self.C, "eta": self.eta}


@dataclass(frozen=True)
class GainProfileData:
    r"""Data of figure 5: the gain profile :math:`g_j = \|A^j B\|` and certificates :math:`C \eta^j`.

    Parameters
    ----------
    j : (m,) array_like of int
        Lags, strictly increasing, non-negative.
    gain : (m,) array_like
        :math:`\|A^j B\|` (operator 2-norm), non-negative. Zeros (nilpotent ``A``) are not drawn.
    certificates : sequence of Certificate
        One per method, distinct labels.

    .. math:: \|A^j B\| \le C \eta^j \quad \text{for all } j \ge 0

    References
    ----------
    Cao & Xie 2026, Definition 3.
    """

    j: tuple[int, ...]
    gain: tuple[float, ...]
    certificates: tuple[Certificate, ...] = ()

    def __post_init__(self):
        j = _floats("GainProfileData.j", self.j)
        if any(v != math.floor(v) or v < 0 for v in j):
            raise DimensionError(f"GainProfileData.j: expected non-negative integers, found {list(j)}")
        _ascending("GainProfileData.j", j)
        gain = _floats("GainProfileData.gain", self.gain, len(j))
        if min(gain) < 0:
            raise DimensionError(f"GainProfileData.gain: expected non-negative norms, found {min(gain):g}")
        certificates = _tuple_of("GainProfileData.certificates", self.certificates, Certificate)
        _unique_labels("GainProfileData", certificates)
        object.__setattr__(self, "j", tuple(int(v) for v in j))
        object.__setattr__(self, "gain", gain)
        object.__setattr__(self, "certificates", certificates)

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"j": list(self.j), "gain": list(self.gain),
                "certificates": [c.to_dict() for c in self.certificates]}


@dataclass(frozen=True)
class BlowupData:
    r"""Data of figure 6: state gap against the horizon for a Lipschitz and a TVC learner.

    Parameters
    ----------
    curves : sequence of Curve
        ``x`` the horizons H, ``y`` the state gap :math:`\|x_H - \hat{x}_H\|` (or its mean over
        runs) of each learner against the expert, distinct labels.
    fixed : mapping of str to float, optional
        Parameters of the example shown as the legend's title (for example ``{"delta": 0.01}``).

    References
    ----------
    Cao & Xie 2026, appendix example after Definition 4 (Lipschitz continuity is not enough).
    """

    curves: tuple[Curve, ...]
    fixed: tuple[tuple[str, float], ...] = ()

    def __post_init__(self):
        curves = _tuple_of("BlowupData.curves", self.curves, Curve)
        if not curves:
            raise DimensionError("BlowupData.curves: expected at least one curve, found none")
        _unique_labels("BlowupData", curves)
        object.__setattr__(self, "curves", curves)
        object.__setattr__(self, "fixed", _fixed("BlowupData.fixed", self.fixed))

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"curves": [c.to_dict() for c in self.curves], "fixed": dict(self.fixed)}


@dataclass(frozen=True)
class SandwichPanel:
    r"""One panel of figure 7: measured regret between a lower and an upper bound along one variable.

    Parameters
    ----------
    variable : {"n", "eps_q", "H"}
        The swept symbol (x axis).
    x : (m,) array_like
        Grid of the bounds, strictly increasing.
    lower, upper : (m,) array_like
        Lower and upper bound on the grid, ``lower <= upper`` pointwise.
    measured : MeasuredSeries
        The measured regret along the same variable.
    lower_label, upper_label : str
        Legend labels of the bounds (for example ``"Thm 8 lower"``, ``"Thm 3 upper"``).
    fixed : mapping of str to float, optional
        The other parameters, shown as the legend's title.

    .. math:: \text{lower}(x) \le J(\pi^\star) - J(\hat\pi) \le \text{upper}(x)

    Raises
    ------
    DimensionError
        On an unknown variable, lengths that differ, or ``lower > upper`` somewhere (the bounds
        themselves would then contradict each other; that is a finding for the claim catalog,
        not something to draw as a band).

    References
    ----------
    Cao & Xie 2026, Theorems 3, 8 and 9.
    """

    variable: str
    x: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    measured: MeasuredSeries
    lower_label: str = "lower bound"
    upper_label: str = "upper bound"
    fixed: tuple[tuple[str, float], ...] = ()

    def __post_init__(self):
        if self.variable not in _X_LABELS:
            raise DimensionError(f"SandwichPanel.variable: expected one of {sorted(_X_LABELS)}, "
                                 f"found {describe(self.variable)}")
        x = _floats("SandwichPanel.x", self.x)
        _ascending("SandwichPanel.x", x)
        lower = _floats("SandwichPanel.lower", self.lower, len(x))
        upper = _floats("SandwichPanel.upper", self.upper, len(x))
        for i, (a, b) in enumerate(zip(lower, upper)):
            if a > b:
                raise DimensionError(f"SandwichPanel: expected lower <= upper, found {a:g} > {b:g} at index {i}")
        if not isinstance(self.measured, MeasuredSeries):
            raise DimensionError(f"SandwichPanel.measured: expected a MeasuredSeries, found {describe(self.measured)}")
        _name("SandwichPanel.lower_label", self.lower_label)
        _name("SandwichPanel.upper_label", self.upper_label)
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "lower", lower)
        object.__setattr__(self, "upper", upper)
        object.__setattr__(self, "fixed", _fixed("SandwichPanel.fixed", self.fixed))

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"variable": self.variable, "x": list(self.x), "lower": list(self.lower), "upper": list(self.upper),
                "lower_label": self.lower_label, "upper_label": self.upper_label,
                "measured": self.measured.to_dict(), "fixed": dict(self.fixed)}


@dataclass(frozen=True)
class SandwichData:
    """Data of figure 7: one or more :class:`SandwichPanel` (typically along n and along eps_q)."""

    panels: tuple[SandwichPanel, ...]

    def __post_init__(self):
        panels = _tuple_of("SandwichData.panels", self.panels, SandwichPanel)
        if not panels:
            raise DimensionError("SandwichData.panels: expected at least one panel, found none")
        object.__setattr__(self, "panels", panels)

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"panels": [p.to_dict() for p in self.panels]}


# --------------------------------------------------------------------------------------------
# plotting helpers


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


def _end(v: float) -> str:
    if math.isinf(v):
        return r"$-\infty$" if v < 0 else r"$\infty$"
    return f"{v:.2f}"


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


def _legend(ax: Axes, where, title: str | None, handles: list, ncols: int = 1) -> Legend | None:
    """Legend of ``handles`` in drawing order (matplotlib's default lists lines before error bars)."""
    if where is False or where is None:
        return None
    if where == "above":
        # Above the axes: never covers data, and constrained layout makes room for it. Fewer columns
        # when the legend would be wider than the figure less the y axis labels (about 0.6 in).
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
        raise DimensionError(f"legend: expected 'above', 'inside' or False, found {describe(where)}")
    if title:
        leg.set_alignment("left")
    return leg


def _style(func_name: str, style: dict, **defaults) -> dict:
    unknown = {k: v for k, v in style.items() if k not in defaults}
    reject_unknown_kwargs(func_name, unknown)
    return {**defaults, **style}


def _log_ticks(axis, values) -> None:
    """Label a log axis at the grid values themselves when they are few, plainly (25, 50, 100)."""
    grid = sorted({float(v) for v in values if v > 0})
    if 2 <= len(grid) <= 8:
        axis.set_major_locator(FixedLocator(grid))
        axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _measured(ax: Axes, series: MeasuredSeries, marker: str, xlog: bool, ylog: bool) -> list:
    x = np.asarray(series.x)
    mean = np.asarray(series.mean)
    keep = _drawable(xlog, ylog, x, mean)
    label = series.label
    if series.fit is not None:
        f = series.fit
        label = f"{label}\nslope {f.slope:.2f} [{_end(f.ci_low)}, {_end(f.ci_high)}]"
    label = _dropped_note(label, keep)
    drawn = ax.plot(x[keep], mean[keep], marker=marker, linestyle="none", label=label, markerfacecolor="white",
                    markeredgewidth=0.9, zorder=3)
    color = drawn[0].get_color()
    if series.ci_low is not None:
        lo, hi = np.asarray(series.ci_low), np.asarray(series.ci_high)
        # An interval is drawn whenever part of it is visible, also when its mean is not (mean <= 0 on
        # a log axis); a lower end at or below 0 on a log axis runs down to the axes' edge.
        bars = _drawable(xlog, ylog, x, hi)
        drawn.append(ax.vlines(x[bars], lo[bars], hi[bars], color=color, linewidth=0.7, zorder=2.5,
                               label="_nolegend_"))
    if series.fit is not None:
        lo, hi = float(x[keep].min()) if keep.any() else float(x.min()), float(x.max())
        grid = np.geomspace(lo, hi, 64) if xlog and lo > 0 else np.linspace(lo, hi, 64)
        drawn.extend(ax.plot(grid, series.fit.prefactor * grid ** series.fit.slope, color=color,
                             linewidth=0.8, label="_nolegend_"))
    return drawn


def _bound(ax: Axes, curve: BoundCurve, colors: dict, xlog: bool, ylog: bool) -> list:
    keep = _drawable(xlog, ylog, curve.x, curve.y)
    kwargs = {"color": colors[curve.match]} if curve.match is not None else {}
    return ax.plot(np.asarray(curve.x)[keep], np.asarray(curve.y)[keep], linestyle=_BOUND_STYLE[curve.kind],
                   label=_dropped_note(curve.label, keep), **kwargs)


def _scaling(func_name: str, data: ScalingData, variable: str, ax, style: dict) -> PlotResult:
    if not isinstance(data, ScalingData):
        raise DimensionError(f"{func_name}: expected ScalingData, found {describe(data)}")
    opts = _style(func_name, style, legend="above", xscale="log", yscale="log")
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
        items = _measured(ax, series, _MARKERS[i % len(_MARKERS)], xlog, ylog)
        colors[series.label] = items[0].get_color()
        drawn.extend(items)
    for curve in data.bounds:
        drawn.extend(_bound(ax, curve, colors, xlog, ylog))
    if xlog:
        _log_ticks(ax.xaxis, [v for s in data.measured for v in s.x])
    ax.set_xlabel(_X_LABELS[variable])
    ax.set_ylabel(REGRET_LABEL)
    handles = [item for item in drawn if item.get_label() != "_nolegend_"]
    title = _fixed_title(data.fixed)
    levels = sorted({s.fit.ci_level for s in data.measured if s.fit is not None})
    if levels:
        note = "slope [" + "/".join(f"{100 * v:.3g}%" for v in levels) + " CI]"
        title = note if title is None else f"{title}; {note}"
    leg = _legend(ax, opts["legend"], title, handles, ncols=2)
    return PlotResult(ax.figure, (ax,), tuple(drawn), () if leg is None else (leg,))


# --------------------------------------------------------------------------------------------
# the figure set


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
        ``legend``: "above" (default; above the axes, never over the data), "inside" or False;
        ``xscale``, ``yscale``: "log" (default) or "linear". Other keywords raise ``TypeError``.

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
        ``legend``: "above" (default; above the axes, never over the data), "inside" or False;
        ``xscale``, ``yscale``: "log" (default) or "linear". Other keywords raise ``TypeError``.

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
        ``legend``: "above" (default; above the axes, never over the data), "inside" or False;
        ``xscale``, ``yscale``: "log" (default) or "linear". Other keywords raise ``TypeError``.

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


def rtvc_audit_plot(data: RTVCAuditData, ax: Axes | None = None, **style) -> PlotResult:
    r"""Figure 4: the empirical RTVC modulus :math:`\kappa(r)` of several quantized policies.

    Each curve is a step function (``where="post"``) of the state distance r; distinct line
    styles keep coinciding curves (for example several at :math:`\kappa = 1`) apart. A predicted
    threshold :math:`\delta_0` is drawn as a thin vertical line in the curve's colour.

    .. math::
        W_{c_{\varepsilon'}}\big(\pi(\cdot|x), \pi(\cdot|x')\big) \le \kappa(\|x - x'\|)

    Parameters
    ----------
    data : RTVCAuditData
        The curves and :math:`\varepsilon'`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when ``None``.
    **style
        ``legend`` ("above" (default), "inside" or False), ``xscale`` ("log" (default: audits
        span decades of distances; a distance 0 is left out) or "linear").

    Returns
    -------
    PlotResult

    Raises
    ------
    DimensionError
        If ``data`` is not an :class:`RTVCAuditData` or ``ax`` is not an Axes.
    TypeError
        On an unknown style keyword.

    References
    ----------
    Cao & Xie 2026, Definition 4, Proposition 5.
    """
    if not isinstance(data, RTVCAuditData):
        raise DimensionError(f"rtvc_audit_plot: expected RTVCAuditData, found {describe(data)}")
    opts = _style("rtvc_audit_plot", style, legend="above", xscale="log")
    if opts["xscale"] not in ("log", "linear"):
        raise DimensionError(f"xscale: expected 'log' or 'linear', found {describe(opts['xscale'])}")
    (ax,) = _new_axes(ax)
    xlog = opts["xscale"] == "log"
    ax.set_xscale(opts["xscale"])
    drawn: list = []
    for i, c in enumerate(data.curves):
        keep = _drawable(xlog, False, c.r, c.kappa)
        lines = ax.step(np.asarray(c.r)[keep], np.asarray(c.kappa)[keep], where="post",
                        linestyle=_LINESTYLES[i % len(_LINESTYLES)], label=_dropped_note(c.label, keep))
        drawn.extend(lines)
        if c.delta0 is not None and (c.delta0 > 0 or not xlog):
            drawn.append(ax.axvline(c.delta0, color=lines[0].get_color(), linewidth=0.5,
                                    label=f"{c.label}: $\\delta_0$ (Prop. 5)"))
    ax.set_ylim(-0.04, 1.06)
    ax.set_xlabel(r"state distance $r = \|x - x'\|$ (state units)")
    ax.set_ylabel(r"empirical modulus $\kappa(r)$")
    title = f"$\\varepsilon' = {_fmt(data.eps_prime)}$"
    handles = [item for item in drawn if item.get_label() != "_nolegend_"]
    leg = _legend(ax, opts["legend"], title, handles, ncols=1 if len(data.curves) <= 2 else 3)
    return PlotResult(ax.figure, (ax,), tuple(drawn), () if leg is None else (leg,))


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
        ``legend`` ("above" (default), "inside" or False).

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
    opts = _style("stability_plot", style, legend="above")
    (ax,) = _new_axes(ax)
    ax.set_yscale("log")
    j = np.asarray(data.j, dtype=float)
    gain = np.asarray(data.gain)
    keep = _drawable(False, True, j, gain)
    drawn: list = ax.plot(j[keep], gain[keep], marker="o", linestyle="none", markerfacecolor="white",
                          markeredgewidth=0.9, label=_dropped_note(r"$\|A^j B\|$", keep))
    grid = np.linspace(j.min(), j.max(), 200)
    for i, c in enumerate(data.certificates):
        envelope = ax.plot(grid, c.C * c.eta ** grid, linestyle=_LINESTYLES[(i + 1) % len(_LINESTYLES)],
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
    leg = _legend(ax, opts["legend"], None, drawn, ncols=2)
    return PlotResult(ax.figure, (ax,), tuple(drawn), () if leg is None else (leg,))


def blowup_plot(data: BlowupData, ax: Axes | None = None, **style) -> PlotResult:
    r"""Figure 6: the Lipschitz learner's geometric blow-up against a TVC learner (semilog-y).

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
        ``legend`` ("above" (default), "inside" or False).

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
    opts = _style("blowup_plot", style, legend="above")
    (ax,) = _new_axes(ax)
    ax.set_yscale("log")
    drawn: list = []
    for i, c in enumerate(data.curves):
        keep = _drawable(False, True, c.x, c.y)
        drawn.extend(ax.plot(np.asarray(c.x)[keep], np.asarray(c.y)[keep], marker=_MARKERS[i % len(_MARKERS)],
                             markerfacecolor="white", markeredgewidth=0.9, linestyle=_LINESTYLES[i % len(_LINESTYLES)],
                             label=_dropped_note(c.label, keep)))
    ax.set_xlabel(_X_LABELS["H"])
    ax.set_ylabel(r"state gap $\|x_H - \hat{x}_H\|$ (state units)")
    leg = _legend(ax, opts["legend"], _fixed_title(data.fixed), drawn, ncols=2)
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
        ``legend`` ("above" (default), "inside" or False).

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
    opts = _style("sandwich_plot", style, legend="above")
    axes = _new_axes(ax, len(data.panels))
    drawn: list = []
    legends = []
    for a, panel in zip(axes, data.panels):
        a.set_xscale("log")
        a.set_yscale("log")
        x = np.asarray(panel.x)
        lower, upper = np.asarray(panel.lower), np.asarray(panel.upper)
        keep = _drawable(True, True, x, lower)
        band = a.fill_between(x[keep], lower[keep], upper[keep], color="0.85", linewidth=0, label="_nolegend_")
        items = _measured(a, panel.measured, _MARKERS[0], True, True)
        items.extend(a.plot(x[keep], upper[keep], linestyle=_BOUND_STYLE["upper"], color="0.25",
                            label=panel.upper_label))
        items.extend(a.plot(x[keep], lower[keep], linestyle=_BOUND_STYLE["lower"], color="0.25",
                            label=_dropped_note(panel.lower_label, keep)))
        drawn.append(band)
        drawn.extend(items)
        _log_ticks(a.xaxis, panel.measured.x)
        a.set_xlabel(_X_LABELS[panel.variable])
        a.set_ylabel(REGRET_LABEL)
        handles = [item for item in items if item.get_label() != "_nolegend_"]
        leg = _legend(a, opts["legend"], _fixed_title(panel.fixed), handles, ncols=3)
        if leg is not None:
            legends.append(leg)
    return PlotResult(axes[0].figure, tuple(axes), tuple(drawn), tuple(legends))


FIGURES: dict[str, Callable[..., PlotResult]] = {
    "fig1_regret_vs_n": regret_vs_n_plot,
    "fig2_regret_vs_H": regret_vs_h_plot,
    "fig3_regret_vs_eps_q": regret_vs_eps_plot,
    "fig4_rtvc_audit": rtvc_audit_plot,
    "fig5_stability": stability_plot,
    "fig6_lipschitz_blowup": blowup_plot,
    "fig7_bound_sandwich": sandwich_plot,
}
"""The figure set: file stem (in ``paper_figs/``) to plot function, in the issue's order."""


# --------------------------------------------------------------------------------------------
# saving


_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
# Without these fields the files carry no time stamp or tool version, so a rerun is byte-identical.
_PDF_METADATA = {"CreationDate": None, "Creator": None, "Producer": None}
_PNG_METADATA = {"Software": None}


def _stem(stem) -> str:
    if not isinstance(stem, str) or not _STEM.fullmatch(stem):
        raise DimensionError(f"stem: expected a file name stem of letters, digits, '_', '.', '-', "
                             f"found {describe(stem)}")
    return stem


class _DropHeadTimestampWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "timestamp seems very low" not in record.getMessage()


@contextlib.contextmanager
def _quiet_font_subsetter() -> Iterator[None]:
    """Silence fontTools' complaint about the bundled DejaVu fonts' zero time stamps while subsetting.

    The message is harmless (the stamps are read, not rewritten: saving stays byte-identical) but
    would be printed on every ``qbc figs`` run. Other fontTools messages still get through.
    """
    logger = logging.getLogger("fontTools.ttLib.tables._h_e_a_d")
    flt = _DropHeadTimestampWarning()
    logger.addFilter(flt)
    try:
        yield
    finally:
        logger.removeFilter(flt)


def save_figure(fig: Figure, stem: str, out_dir: str | os.PathLike) -> list[Path]:
    """Write ``fig`` as ``<out_dir>/<stem>.pdf`` and ``<out_dir>/<stem>.png``.

    Both files are written under the paper style's save settings (TrueType font embedding,
    300 dpi) and without time stamps or tool versions, so saving the same figure again gives
    byte-identical files. Each file is written to a temporary name and renamed into place.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    stem : str
        File name without extension (letters, digits, ``_``, ``.``, ``-``; no directories).
    out_dir : str or path-like
        Output directory, created if missing.

    Returns
    -------
    list of pathlib.Path
        The PDF and the PNG path, in that order.

    Raises
    ------
    DimensionError
        If ``fig`` is not a Figure or ``stem`` is not a plain file name stem.
    """
    if not isinstance(fig, Figure):
        raise DimensionError(f"fig: expected a matplotlib Figure, found {describe(fig)}")
    stem = _stem(stem)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    with paper_style(), _quiet_font_subsetter():
        for ext, metadata in (("pdf", _PDF_METADATA), ("png", _PNG_METADATA)):
            path = out / f"{stem}.{ext}"
            tmp = out / f".{stem}.{ext}.tmp"
            fig.savefig(tmp, format=ext, metadata=metadata)
            os.replace(tmp, path)
            paths.append(path)
    return paths


def render(plot: Callable[..., PlotResult], data, stem: str, out_dir: str | os.PathLike, **style) -> list[Path]:
    """Draw ``plot(data, **style)`` in the paper style on a new figure and save it as PDF and PNG.

    Parameters
    ----------
    plot : callable
        One of the ``*_plot`` functions of this module.
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


# --------------------------------------------------------------------------------------------
# manifest


@dataclass(frozen=True)
class ManifestEntry:
    """One figure's provenance for ``manifest.json``.

    Parameters
    ----------
    figure : str
        The figure's file stem (for example ``"fig1_regret_vs_n"``).
    spec : str
        Identifier of the experiment spec(s) the numbers come from (for example
        ``"experiments/rates_n.toml"`` or a spec hash).
    seeds : sequence of int
        Root seed entropy of the runs (non-negative integers; SeedSequence entropy may exceed 64 bits).
    data : object with ``to_dict()`` or a mapping
        The numbers plotted; normally the figure's data object.

    Raises
    ------
    DimensionError
        On an invalid stem, a negative or non-integer seed, or data that is not JSON-ready.
    """

    figure: str
    spec: str
    seeds: tuple[int, ...]
    data: object

    def __post_init__(self):
        _stem(self.figure)
        _name("ManifestEntry.spec", self.spec)
        if isinstance(self.seeds, (str, bytes)) or not isinstance(self.seeds, Sequence):
            raise DimensionError(f"ManifestEntry.seeds: expected a sequence of integers, found {describe(self.seeds)}")
        object.__setattr__(self, "seeds", tuple(as_int("ManifestEntry.seeds", s, minimum=0) for s in self.seeds))
        _jsonable("ManifestEntry.data", self.data)

    def to_dict(self) -> dict:
        """JSON-ready fields (without the code version, which :func:`write_manifest` adds)."""
        return {"spec": self.spec, "seeds": list(self.seeds), "data": _jsonable("data", self.data),
                "files": [f"{self.figure}.pdf", f"{self.figure}.png"]}


def _jsonable(name: str, value):
    """``value`` as plain JSON types: finite floats, ints, str, bool, None, lists and str-keyed dicts."""
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return _jsonable(name, value.to_dict())
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    if isinstance(value, str):
        return value
    if isinstance(value, (numbers.Integral, np.integer)):
        return int(value)
    if isinstance(value, (numbers.Real, np.floating)):
        x = float(value)
        if not math.isfinite(x):
            raise DimensionError(f"{name}: expected finite numbers, found {x}")
        return x + 0.0  # folds -0.0 into 0.0
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise DimensionError(f"{name}: expected string keys, found {describe(k)}")
            out[k] = _jsonable(f"{name}[{k!r}]", v)
        return out
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_jsonable(f"{name}[{i}]", v) for i, v in enumerate(value)]
    raise DimensionError(f"{name}: expected JSON-ready data, found {describe(value)}")


def _git(root: Path, *args: str) -> str | None:
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10,
                              env=env, check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def code_version(root: str | os.PathLike | None = None) -> dict:
    """The code version recorded in the manifest.

    Parameters
    ----------
    root : path-like, optional
        Directory expected to be the top of a git checkout holding this package; by default the
        parent of the installed ``qbc_theory`` directory.

    Returns
    -------
    dict
        ``{"qbc_theory": __version__}``, plus ``"git_commit"`` (the HEAD commit) and
        ``"git_dirty"`` (tracked files modified) when ``root`` is the top of a git checkout;
        without git, or for an installed copy outside a checkout, only the version.
    """
    from .. import __version__

    root = Path(__file__).resolve().parents[2] if root is None else Path(root).resolve()
    out: dict = {"qbc_theory": __version__}
    top = _git(root, "rev-parse", "--show-toplevel")
    # Only a checkout whose top is root counts: an installed copy inside some other repository does not.
    if top is None or Path(top.strip()).resolve() != root:
        return out
    commit = _git(root, "rev-parse", "--verify", "HEAD")
    if commit is None or not re.fullmatch(r"[0-9a-f]{40,64}", commit.strip()):
        return out
    out["git_commit"] = commit.strip()
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    if status is not None:
        out["git_dirty"] = bool(status.strip())
    return out


def write_manifest(entries: Sequence[ManifestEntry], out_dir: str | os.PathLike) -> Path:
    """Write ``<out_dir>/manifest.json``: per figure, the spec, seeds, code version and numbers plotted.

    The output is deterministic: keys sorted, figures keyed by stem whatever the order of
    ``entries``, floats written as their shortest round-trip repr, ``-0.0`` written as ``0.0``,
    no time stamps. The file is written to a temporary name and renamed into place.

    Parameters
    ----------
    entries : sequence of ManifestEntry
        One per figure, distinct ``figure`` stems.
    out_dir : str or path-like
        Output directory, created if missing.

    Returns
    -------
    pathlib.Path
        The manifest's path.

    Raises
    ------
    DimensionError
        If an entry is not a :class:`ManifestEntry` or two entries name the same figure.
    """
    entries = _tuple_of("entries", entries, ManifestEntry)
    version = code_version()
    figures = {}
    for e in entries:
        if e.figure in figures:
            raise DimensionError(f"entries: expected distinct figure stems, found {e.figure!r} twice")
        figures[e.figure] = {**e.to_dict(), "code_version": version}
    text = json.dumps({"figures": figures}, sort_keys=True, indent=2, allow_nan=False, ensure_ascii=True) + "\n"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "manifest.json"
    tmp = out / ".manifest.json.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
