r"""How does regret grow? One parameter (horizon, data size or quantization error) on a ladder.

:func:`scan` runs :func:`~qbc_theory.engine.simulation.simulate` at every value of the ladder with
the **same root seed** (common random numbers: the data and evaluation noise of seed ``s`` are the
same draws at every value, so differences between values are not sampling noise between them),
reports each value's regret with its confidence interval, and fits the log-log slope

.. math::

    \log |\overline{R}(v)| \approx a + b \log v

by weighted least squares (:func:`loglog_slope`; on the absolute regret, which Theorem 1 bounds). The slope is the exponent the theorems predict:
in ``H`` (Theorem 3's ``H^2`` term against a linear one), in ``n`` (``-1`` for a deterministic
expert, ``-1/2`` for a stochastic one: Appendix A) and in ``eps_q``.

``vary = "eps_q"`` rescales a binning quantizer (:func:`rescale_binning`); other quantizers have
no single knob that sets ``eps_q`` and are refused.

References
----------
Cao & Xie 2026, Theorems 2 and 3 (the ``H`` and ``eps_q`` terms), Appendix A (the ``n`` rate).
"""

from __future__ import annotations

import math
import time
import types
from dataclasses import dataclass

import numpy as np
import scipy.stats

from ..model.errors import AssumptionError, DimensionError
from ..model.quantizers import UniformBinning
from ..model.validation import as_int, as_real, describe, reject_unknown_kwargs
from . import simulation

__all__ = ["VARY", "ScanPoint", "ScanResult", "scan", "loglog_slope", "rescale_binning"]

VARY = ("horizon", "n", "eps_q")
"""The parameters :func:`scan` can vary."""


def rescale_binning(quantizer: UniformBinning, eps_q) -> UniformBinning:
    r"""A uniform binning with sup error exactly ``eps_q``, centred like ``quantizer``, covering its range.

    Every cell width is multiplied by ``f = eps_q / quantizer.eps_sup`` (so ``eps_sup`` becomes
    ``eps_q``; the coordinate errors keep their proportions), the number of cells becomes
    ``ceil(bins / f)`` (``ceil((bins - 1) / f) + 1`` for ``decode="edge"``), raised by one if needed
    so that its parity is that of ``bins`` (the origin then keeps its place: a representative, or a
    cell edge), and the new range is centred on the old one. The clip range therefore never
    shrinks, and the in-range sup error is exactly ``eps_q``.

    Parameters
    ----------
    quantizer : UniformBinning
    eps_q : float
        Target sup error, positive.

    Returns
    -------
    UniformBinning

    Raises
    ------
    AssumptionError
        If ``quantizer`` is not a :class:`~qbc_theory.model.quantizers.UniformBinning`.
    DimensionError
        If ``eps_q`` is not positive, or the new binning has more than ``2**62`` tokens.

    References
    ----------
    Cao & Xie 2026, eq. (3).
    """
    if not isinstance(quantizer, UniformBinning):
        kind = getattr(quantizer, "kind", type(quantizer).__name__)
        raise AssumptionError(f"quantizer: --vary eps_q rescales a binning quantizer, found {kind!r} (its eps_q "
                              "has no single knob)")
    eps = as_real("eps_q", eps_q, positive=True)
    f = eps / quantizer.eps_sup
    centre = (quantizer.low + quantizer.high) / 2
    edge = quantizer.decode_mode == "edge"
    cells = quantizer.bins - 1 if edge else quantizer.bins
    new = max(1, math.ceil(cells / f - 1e-9))
    if (new - cells) % 2:
        new += 1
    half = new * quantizer.spacing * f / 2
    bins = new + 1 if edge else new
    return UniformBinning(centre - half, centre + half, bins, decode=quantizer.decode_mode)


def loglog_slope(values, means, ses, level: float = 0.95) -> tuple:
    r"""Weighted least-squares slope of ``log |mean|`` on ``log value``, with a confidence interval.

    The fit is on the absolute regret, the quantity Theorem 1 bounds: a learner that beats the
    expert (negative regret, e.g. a quantized controller that regulates harder) still has a growth
    rate; the note names the values where the regret is negative. Point ``i`` has
    ``y_i = log |m_i|`` with the delta-method standard error ``s_i = se_i / |m_i|`` (a point
    indistinguishable from 0 gets a large ``s_i`` and little weight) and
    weight ``1 / s_i^2``; the slope's variance ``1 / sum_i w_i (x_i - xbar_w)^2`` is multiplied by the
    reduced chi-square ``chi2 / (k - 2)`` when that exceeds 1 (the points scatter around the line more
    than their Monte Carlo errors allow: curvature, or underestimated errors), and the quantile is
    then Student's t with ``k - 2`` degrees of freedom instead of the normal one. Points whose mean
    is exactly 0 (or not finite) have no logarithm and are left out (and named in the note). When some ``se_i``
    is 0 (a deterministic estimate), the fit is ordinary least squares with the residual-based
    interval of :func:`scipy.stats.linregress`.

    Parameters
    ----------
    values, means, ses : (k,) array_like
    level : float

    Returns
    -------
    slope : float or None
    ci : (float, float) or None
    method : str
    note : str
        Empty, or why points were left out / the slope or interval is missing.
    """
    v = np.asarray(values, dtype=float)
    m = np.asarray(means, dtype=float)
    s = np.asarray(ses, dtype=float)
    keep = (m != 0) & np.isfinite(m) & np.isfinite(s)
    notes = []
    if not keep.all():
        notes.append("left out (regret 0 or not finite): " + ", ".join(f"{x:g}" for x in v[~keep]))
    if np.any(keep & (m < 0)):
        notes.append("fitted on |regret|; negative at " + ", ".join(f"{x:g}" for x in v[keep & (m < 0)]))
    note = "; ".join(notes)
    a_m = np.abs(m[keep])
    x, y = np.log(v[keep]), np.log(a_m)
    k = x.size
    if k < 2 or np.ptp(x) == 0:
        return None, None, "none", (note + "; " if note else "") + "fewer than two distinct values with non-zero regret"
    sd = s[keep] / a_m
    if np.all(sd > 0):
        w = 1.0 / sd**2
        xw = np.sum(w * x) / w.sum()
        yw = np.sum(w * y) / w.sum()
        sxx = np.sum(w * (x - xw) ** 2)
        slope = float(np.sum(w * (x - xw) * (y - yw)) / sxx)
        var = 1.0 / sxx
        chi2 = float(np.sum(w * (y - yw - slope * (x - xw)) ** 2))
        method = "weighted least squares on log |regret| (delta-method weights)"
        if k > 2 and chi2 / (k - 2) > 1.0:
            var *= chi2 / (k - 2)
            q = float(scipy.stats.t.ppf(0.5 + level / 2, k - 2))
            method += f", variance scaled by the reduced chi-square {chi2 / (k - 2):.3g} (t, {k - 2} dof)"
        else:
            q = float(scipy.stats.norm.ppf(0.5 + level / 2))
        half = q * math.sqrt(var)
        return slope, (slope - half, slope + half), method, note
    fit = scipy.stats.linregress(x, y)
    method = "ordinary least squares on log |regret| (some points have zero standard error)"
    if k <= 2:
        return float(fit.slope), None, method, (note + "; " if note else "") + "two points: no interval"
    half = float(scipy.stats.t.ppf(0.5 + level / 2, k - 2)) * float(fit.stderr)
    return float(fit.slope), (float(fit.slope) - half, float(fit.slope) + half), method, note


@dataclass(frozen=True)
class ScanPoint:
    """One value of the ladder.

    Attributes
    ----------
    value : float
    regret, ci_low, ci_high, se : float
        As in :class:`~qbc_theory.engine.simulation.SimulationResult` (``ci_method`` says how).
    eps_q : float or None
        The quantizer's sup error at this value (binning quantizers).
    seconds : float
    """

    value: float
    regret: float
    ci_low: float
    ci_high: float
    se: float
    ci_method: str
    eps_q: float | None
    seconds: float

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        value = int(self.value) if float(self.value).is_integer() else self.value
        return {"value": value, "regret": self.regret, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "se": self.se, "ci_method": self.ci_method, "eps_q": self.eps_q, "seconds": self.seconds}


@dataclass(frozen=True)
class ScanResult:
    """The ladder, its regrets and the fitted log-log slope (the ``qbc scan --json`` object).

    References
    ----------
    Cao & Xie 2026, Theorems 2 and 3, Appendix A.
    """

    vary: str
    points: tuple
    slope: float | None
    slope_ci: tuple | None
    slope_method: str
    slope_note: str
    learner: str
    instance: str
    seeds: int
    eval_trajectories: int
    level: float
    seconds: float

    def to_dict(self) -> dict:
        """``{"vary", "points": [{"value", "regret", "ci_low", "ci_high", ...}], "slope", "slope_ci", ...}``."""
        return {"vary": self.vary, "points": [p.to_dict() for p in self.points], "slope": self.slope,
                "slope_ci": None if self.slope_ci is None else [self.slope_ci[0], self.slope_ci[1]],
                "slope_method": self.slope_method, "slope_note": self.slope_note, "learner": self.learner,
                "instance": self.instance, "seeds": self.seeds, "eval_trajectories": self.eval_trajectories,
                "level": self.level, "seconds": self.seconds}

    def format_text(self) -> str:
        """A small table and the slope."""
        pct = f"{100 * self.level:g}%"
        lines = [f"instance {self.instance}: regret vs {self.vary}, learner {self.learner}, {self.seeds} seed(s), "
                 f"{self.eval_trajectories} coupled evaluation runs per seed and value",
                 f"  {self.vary:>10}  {'regret':>11}  {pct + ' CI':>25}"]
        for p in self.points:
            lines.append(f"  {p.value:>10g}  {p.regret:>11.4g}  [{p.ci_low:>11.4g}, {p.ci_high:>11.4g}]")
        if self.slope is None:
            lines.append(f"  log-log slope: none ({self.slope_note})")
        else:
            ci = "no interval" if self.slope_ci is None else f"{pct} CI [{self.slope_ci[0]:.3f}, {self.slope_ci[1]:.3f}]"
            lines.append(f"  log-log slope d log|regret| / d log({self.vary}) = {self.slope:.3f}   {ci}")
            lines.append(f"    ({self.slope_method}{'; ' + self.slope_note if self.slope_note else ''})")
        lines.append(f"  time {self.seconds:.2f} s")
        return "\n".join(lines) + "\n"


def _values(vary: str, values) -> list:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or len(values) == 0:
        raise DimensionError(f"values: expected a non-empty list of numbers, found {describe(values)}")
    if vary in ("horizon", "n"):
        out = [as_int(vary, v, minimum=1) for v in values]
    else:
        out = [as_real("eps_q", v, positive=True) for v in values]
    if len(set(out)) != len(out):
        raise DimensionError(f"values: expected distinct values, found a repeated one in {out}")
    return out


def scan(instance, vary, values, seeds=1, learner="auto", eval_trajectories=2000, rng=None, *, progress=None,
         **options) -> ScanResult:
    r"""Regret of log-loss BC at each value of ``horizon``, ``n`` or ``eps_q``, and its log-log slope.

    Parameters
    ----------
    instance : Instance or an object accepted by :func:`~qbc_theory.engine.simulation.simulate`
    vary : {"horizon", "n", "eps_q"}
    values : sequence
        Positive integers (``horizon``, ``n``) or positive reals (``eps_q``), distinct.
    seeds : int
        Independent data sets per value (the same root seed at every value).
    learner : str
        As in :func:`~qbc_theory.engine.simulation.simulate`.
    eval_trajectories : int
        Coupled evaluation runs per seed and value.
    rng : None, int or numpy.random.SeedSequence
        Root seed (default ``instance.seed``).
    progress : callable, optional
        Called with one line of text after each value.
    level : float, optional
        Confidence level of the intervals (default 0.95).
    **options
        Other keywords of :func:`~qbc_theory.engine.simulation.simulate` (``grid_step``, ...).

    Returns
    -------
    ScanResult

    Raises
    ------
    DimensionError
        On an unknown ``vary`` or bad values.
    AssumptionError
        For ``vary="eps_q"`` with a quantizer that is not a binning.

    References
    ----------
    Cao & Xie 2026, Theorems 2 and 3, Appendix A.
    """
    start = time.perf_counter()
    if vary not in VARY:
        raise DimensionError(f"vary: expected one of {', '.join(VARY)}, found {describe(vary)}")
    ladder = _values(vary, values)
    level = as_real("level", options.pop("level", 0.95), low=0, high=1, open_low=True, open_high=True)
    if "horizon" in options or "n" in options:
        reject_unknown_kwargs("scan", {k: options[k] for k in ("horizon", "n") if k in options})
    if progress is not None and not callable(progress):
        raise DimensionError(f"progress: expected a callable or None, found {describe(progress)}")
    if vary == "eps_q":
        rescale_binning(getattr(instance, "quantizer", None), 1.0)  # refuse other quantizers before any work
    root = simulation._root_seed(rng, int(getattr(instance, "seed", 0)))
    points, used = [], None
    for i, v in enumerate(ladder):
        t0 = time.perf_counter()
        kwargs = dict(options, level=level)
        inst = instance
        if vary == "horizon":
            kwargs["horizon"] = v
        elif vary == "n":
            kwargs["n"] = v
        else:
            inst = types.SimpleNamespace(**{a: getattr(instance, a) for a in
                                            ("system", "expert", "reward", "horizon", "n", "seed", "name")
                                            if hasattr(instance, a)})
            inst.quantizer = rescale_binning(instance.quantizer, v)
        res = simulation.simulate(inst, seeds=seeds, rng=root, learner=learner,
                                  eval_trajectories=eval_trajectories, **kwargs)
        used = res.learner
        q = inst.quantizer
        eps = float(q.eps_sup) if isinstance(q, UniformBinning) else None
        points.append(ScanPoint(float(v), res.regret, res.ci[0], res.ci[1], res.se, res.ci_method, eps,
                                time.perf_counter() - t0))
        if progress is not None:
            progress(f"[{i + 1}/{len(ladder)}] {vary}={v:g}: regret {res.regret:.4g} "
                     f"[{res.ci[0]:.4g}, {res.ci[1]:.4g}] ({time.perf_counter() - t0:.1f} s)")
    slope, ci, method, note = loglog_slope([p.value for p in points], [p.regret for p in points],
                                           [p.se for p in points], level)
    return ScanResult(vary, tuple(points), slope, ci, method, note, used,
                      str(getattr(instance, "name", "instance")), as_int("seeds", seeds, minimum=1),
                      as_int("eval_trajectories", eval_trajectories, minimum=2), level,
                      time.perf_counter() - start)
