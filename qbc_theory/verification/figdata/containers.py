r"""The data objects of the paper figures: plain numbers, validated, JSON-ready.

Each paper figure is drawn from one of these frozen dataclasses, which hold plain numbers only
(tuples of floats, labels). The figure-data functions of :mod:`qbc_theory.verification.figdata`
fill them in from result tables (or from a direct computation); the drawing functions of
:mod:`qbc_theory.figures` read them. Every object checks its own shapes and ranges and raises
:class:`qbc_theory.model.errors.DimensionError` with a one-line message on bad input, and has a
``to_dict()`` that the manifest records ("the numbers plotted").

This module imports numpy and :mod:`qbc_theory.model` only (no matplotlib), so the verification
room can build figure data without loading a plotting library.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ...model.errors import DimensionError
from ...model.validation import as_real, as_vector, describe

__all__ = [
    "VARIABLES",
    "BOUND_KINDS",
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
    "BlowupFigure",
    "SandwichPanel",
    "SandwichData",
]

VARIABLES = ("n", "H", "eps_q")
"""The swept symbols a scaling figure or a sandwich panel may have on its x axis."""

BOUND_KINDS = ("upper", "lower")
"""Kinds of a :class:`BoundCurve`."""


# --------------------------------------------------------------------------------------------
# validation helpers


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
    x_low, x_high : (m,) array_like, optional
        When ``x`` is itself measured (the mean over seeds of a measured quantity, such as a
        quantizer's in-distribution error), its interval at each point, drawn as horizontal bars;
        give both or neither.

    Raises
    ------
    DimensionError
        On lengths that differ, non-finite values, ``ci_low > ci_high``, or only one of ``ci_low``
        and ``ci_high`` (or of ``x_low`` and ``x_high``).
    """

    label: str
    x: tuple[float, ...]
    mean: tuple[float, ...]
    ci_low: tuple[float, ...] | None = None
    ci_high: tuple[float, ...] | None = None
    ci_level: float = 0.95
    fit: PowerLawFit | None = None
    x_low: tuple[float, ...] | None = None
    x_high: tuple[float, ...] | None = None

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
        if (self.x_low is None) != (self.x_high is None):
            raise DimensionError("MeasuredSeries: expected both x_low and x_high or neither, found one")
        if self.x_low is not None:
            xlo = _floats("MeasuredSeries.x_low", self.x_low, len(x))
            xhi = _floats("MeasuredSeries.x_high", self.x_high, len(x))
            for i, (a, b) in enumerate(zip(xlo, xhi)):
                if not a <= b:
                    raise DimensionError(f"MeasuredSeries {self.label!r}: expected x_low <= x_high, "
                                         f"found {a:g} > {b:g} at index {i}")
            object.__setattr__(self, "x_low", xlo)
            object.__setattr__(self, "x_high", xhi)
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
        out = {"label": self.label, "x": list(self.x), "mean": list(self.mean), "ci": ci,
               "fit": None if self.fit is None else self.fit.to_dict()}
        if self.x_low is not None:
            out["x_ci"] = {"low": list(self.x_low), "high": list(self.x_high), "level": self.ci_level}
        return out


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
        if self.kind not in BOUND_KINDS:
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
    exact : bool, default False
        True for values computed in closed form (drawn as a line), False for measured values
        (drawn as markers).

    Raises
    ------
    DimensionError
        On lengths that differ or non-finite values.
    """

    label: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    exact: bool = False

    def __post_init__(self):
        _name("Curve.label", self.label)
        x = _floats("Curve.x", self.x)
        _ascending("Curve.x", x)
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", _floats("Curve.y", self.y, len(x)))
        if not isinstance(self.exact, (bool, np.bool_)):
            raise DimensionError(f"Curve.exact: expected True or False, found {describe(self.exact)}")
        object.__setattr__(self, "exact", bool(self.exact))

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"label": self.label, "x": list(self.x), "y": list(self.y), "exact": self.exact}


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
    witness : float, optional
        The smallest distance at which the audit found a pair with
        :math:`W_{c_{\varepsilon'}} = 1` (``ModulusAudit.min_radius_w1``), drawn as a marker: any valid
        modulus is 1 from there on.

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
    witness: float | None = None

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
        if self.witness is not None:
            object.__setattr__(self, "witness", as_real("ModulusCurve.witness", self.witness, nonnegative=True))

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
        return cls(label, r, w, delta0=delta0, witness=None if w1 is None else float(w1))

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"label": self.label, "r": list(self.r), "kappa": list(self.kappa), "delta0": self.delta0,
                "witness": self.witness}


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
        if self.variable not in VARIABLES:
            raise DimensionError(f"SandwichPanel.variable: expected one of {list(VARIABLES)}, "
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


@dataclass(frozen=True)
class BlowupFigure:
    """Figure 6's data: the state-gap panel and, when spec ``fig6.tvc`` was measured, the regret panel.

    Attributes
    ----------
    gap : BlowupData
    regret : ScalingData or None
    """

    gap: BlowupData
    regret: ScalingData | None = None

    def __post_init__(self):
        if not isinstance(self.gap, BlowupData):
            raise DimensionError(f"BlowupFigure.gap: expected BlowupData, found {describe(self.gap)}")
        if self.regret is not None and not isinstance(self.regret, ScalingData):
            raise DimensionError(f"BlowupFigure.regret: expected ScalingData or None, found {describe(self.regret)}")

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"gap": self.gap.to_dict(), "regret": None if self.regret is None else self.regret.to_dict()}
