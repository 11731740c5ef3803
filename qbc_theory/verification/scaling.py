"""Log-log slope fits with bootstrap confidence intervals, and their comparison with a bound's exponent.

A sweep measures a quantity ``y`` (a regret, an error) at a ladder of values ``x_1 < ... < x_P`` of one
parameter (``n``, ``H`` or ``eps_q``), with ``S`` independent seeds per ladder point. The theory predicts a
power law ``E[y] ~ x^p``. :func:`fit_slope` regresses the logarithm of the per-point mean on ``log x``
and resamples seeds to give a confidence interval for the slope; :func:`predicted_exponents` reads the
predicted exponent off a bound, at the centre of the sweep as well as asymptotically; and
:func:`compare_slope` turns the two into ``"consistent"``, ``"violated"`` or ``"inconclusive"``.

Logarithms are taken of the **mean over seeds** at each ladder point, never of single seeds: the theorems
bound an expectation, and single-seed estimates of a regret may legitimately be zero or negative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..model.validation import as_int, as_matrix, as_real, as_vector, describe
from ..model.errors import AssumptionError, DimensionError

__all__ = [
    "SlopeFit",
    "ExponentPrediction",
    "fit_slope",
    "local_exponent",
    "predicted_exponents",
    "compare_slope",
    "compare_bound",
    "slope_power",
    "rival_exponents",
    "strict_slope_verdict",
    "bound_tightness",
    "VACUOUS_TIGHTNESS",
    "RELATIONS",
    "STATUSES",
]

RELATIONS = ("<=", ">=", "==")
STATUSES = ("consistent", "violated", "inconclusive")

VACUOUS_TIGHTNESS = 0.01
"""A bound test whose tightness (:func:`bound_tightness`) is below this is ``vacuous``: the bound is more
than 100 times looser than the data at every point that could fail, so "consistent" says nothing."""


def _json_float(value: float) -> float | None:
    """A finite float, or None for an infinite end of an interval (JSON has no infinity)."""
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class SlopeFit:
    """A least-squares power law ``mean(y) ~ exp(intercept) * x**slope`` with a bootstrap CI.

    Attributes
    ----------
    parameter : str
        Name of the swept parameter (``"n"``, ``"H"``, ``"eps_q"``, ...), for reports.
    x : tuple of float, length P
        The ladder points used in the fit (increasing).
    mean : tuple of float, length P
        Mean over seeds at each ladder point (all positive).
    point_ci : tuple of (float, float), length P
        Expanded percentile bootstrap interval of each mean, at ``level``.
    slope, intercept : float
        Ordinary least squares of ``log mean`` on ``log x``.
    ci : (float, float)
        Expanded percentile bootstrap interval of the slope at ``level``, resampling seeds (rows)
        jointly across ladder points. An end is ``inf`` (``None`` in :meth:`to_dict`) when too many
        bootstrap replicates had a non-positive mean (see :func:`fit_slope`).
    r2 : float
        Coefficient of determination of the log-log fit (1 for two points).
    n_seeds, n_boot : int
    level : float
        Confidence level of both intervals.
    dropped : tuple of float
        Ladder points left out because their mean was not positive (only with ``nonpositive="drop"``).
    undefined_replicates : int
        Bootstrap replicates with a non-positive resampled mean at some used ladder point.
    """

    parameter: str
    x: tuple
    mean: tuple
    point_ci: tuple
    slope: float
    intercept: float
    ci: tuple
    r2: float
    n_seeds: int
    n_boot: int
    level: float
    dropped: tuple = ()
    undefined_replicates: int = 0

    def predict(self, x) -> np.ndarray:
        """The fitted power law ``exp(intercept) * x**slope``.

        Parameters
        ----------
        x : array_like
            Positive values of the swept parameter.

        Returns
        -------
        ndarray
            Same shape as ``x``.
        """
        return np.exp(self.intercept) * np.asarray(x, dtype=float) ** self.slope

    def to_dict(self) -> dict:
        """A JSON-ready description (infinite interval ends become ``None``)."""
        return {
            "parameter": self.parameter,
            "slope": self.slope,
            "intercept": self.intercept,
            "ci": [_json_float(self.ci[0]), _json_float(self.ci[1])],
            "r2": self.r2,
            "level": self.level,
            "n_seeds": self.n_seeds,
            "n_boot": self.n_boot,
            "points": [{"x": x, "mean": m, "ci": [lo, hi]}
                       for x, m, (lo, hi) in zip(self.x, self.mean, self.point_ci)],
            "dropped": list(self.dropped),
            "undefined_replicates": self.undefined_replicates,
        }


def _ols(lx: np.ndarray, ly: np.ndarray):
    """Slopes and intercepts of ``ly[..., :]`` on ``lx`` (vectorised over leading axes of ``ly``)."""
    xc = lx - lx.mean()
    sxx = float(xc @ xc)
    slope = (ly - ly.mean(axis=-1, keepdims=True)) @ xc / sxx
    intercept = ly.mean(axis=-1) - slope * lx.mean()
    return slope, intercept


def _expanded_tail(alpha: float, n: int) -> float:
    """Tail probability of the expanded percentile interval for ``n`` resampled units.

    The plain percentile bootstrap of a mean behaves like ``mean +- z sd/sqrt(n)`` with the biased
    ``sd``, which under-covers for few seeds. The expanded interval (Hesterberg 2015) takes the
    bootstrap quantiles at ``Phi(-sqrt(n / (n - 1)) * t_{n-1, 1 - alpha/2})`` instead of ``alpha / 2``,
    which makes it the t interval for a mean of normal data.
    """
    t = stats.t.ppf(1.0 - alpha / 2, df=n - 1)
    return float(stats.norm.cdf(-math.sqrt(n / (n - 1)) * t))


def fit_slope(x, y, *, rng, n_boot: int = 2000, level: float = 0.95, nonpositive: str = "raise",
              parameter: str = "x") -> SlopeFit:
    r"""Fit a power law to per-seed measurements on a ladder and bootstrap the slope over seeds.

    The fitted model is

    .. math::

        \log \bar y_i = a + p \log x_i + e_i, \qquad \bar y_i = \frac{1}{S}\sum_{s=1}^S y_{s,i},

    by ordinary least squares over the ladder points ``i``. The slope's interval is a bootstrap over
    seeds: draw ``S`` seeds (rows) with replacement, the same draw for every ladder point (so seeds
    paired across points by common random numbers stay paired), recompute the means and the slope;
    repeat ``n_boot`` times. The interval is the *expanded percentile* interval (Hesterberg 2015, "What
    teachers should know about the bootstrap"): the replicates' quantiles at

    .. math::

        \tfrac{\alpha'}{2} = \Phi\Big(-\sqrt{\tfrac{S}{S-1}}\; t_{S-1,\,1-\alpha/2}\Big)
        \quad\text{and}\quad 1 - \tfrac{\alpha'}{2}, \qquad \alpha = 1 - \text{level},

    instead of :math:`\alpha/2`, which corrects the plain percentile interval's under-coverage with few
    seeds (it is the t interval for a mean of normal data). The per-point intervals of the means are
    computed the same way.

    Treatment of values that cannot be logged. Single seeds may be zero or negative (a regret estimate
    can be); only the per-point means are logged. If the mean at a ladder point is not positive:

    * ``nonpositive="raise"`` (default) refuses, with an error naming the ladder point: a power law
      through a zero mean has no finite slope, and silently removing the point would bias the fit;
    * ``nonpositive="drop"`` fits the remaining points and lists the removed ones in
      :attr:`SlopeFit.dropped` (at least two positive points must remain).

    A bootstrap replicate whose resampled mean is not positive at a used point has an undefined
    slope. Such a replicate is counted as ``-inf`` when computing the lower end of the interval and as
    ``+inf`` when computing the upper end, so the interval is conservative: it widens to infinity when
    more than a fraction :math:`\alpha'/2` of the replicates are undefined, and is unchanged when there
    are none.

    With fewer than about 8 seeds even the expanded interval under-covers (a 95% interval covered
    the true slope of lognormal synthetic data in 87% of sweeps with 4 seeds, 94% with 8 or more);
    use at least 8 seeds for a verdict.

    Parameters
    ----------
    x : (P,) array_like
        Ladder of the swept parameter, positive and strictly increasing, ``P >= 2``.
    y : (S, P) array_like
        ``y[s, i]`` is seed ``s``'s measurement at ladder point ``x[i]``; finite; ``S >= 2``.
    rng : numpy.random.Generator or numpy.random.SeedSequence
        Source of the bootstrap draws (keyword-only). Same seed, bit-identical interval.
    n_boot : int
        Number of bootstrap replicates, ``>= 100``.
    level : float
        Confidence level in (0, 1).
    nonpositive : {"raise", "drop"}
        What to do with a ladder point whose mean is not positive (see above).
    parameter : str
        Name of the swept parameter, recorded in the result.

    Returns
    -------
    SlopeFit

    Raises
    ------
    DimensionError
        If shapes or values are invalid (a non-finite measurement, a non-increasing ladder, fewer than
        two seeds), or if a mean is not positive and ``nonpositive="raise"``, or fewer than two
        positive points remain with ``nonpositive="drop"``.

    References
    ----------
    Cao & Xie 2026, Theorems 2, 3, 7, 8 and 9 (the rates whose exponents the slopes are compared with).
    """
    x = as_vector("x", x)
    y = as_matrix("y", y)
    if x.shape[0] < 2:
        raise DimensionError(f"x: expected at least 2 ladder points, found {x.shape[0]}")
    if y.shape[1] != x.shape[0]:
        raise DimensionError(f"y: expected shape (seeds, {x.shape[0]}) matching x, found shape {y.shape}")
    if y.shape[0] < 2:
        raise DimensionError(f"y: expected at least 2 seeds (rows) to bootstrap over, found {y.shape[0]}")
    if np.any(x <= 0):
        i = int(np.argmax(x <= 0))
        raise DimensionError(f"x: expected positive ladder values, found {x[i]:g} at index {i}")
    if np.any(np.diff(x) <= 0):
        raise DimensionError(f"x: expected a strictly increasing ladder, found {x.tolist()}")
    n_boot = as_int("n_boot", n_boot, minimum=100)
    level = as_real("level", level, low=0, high=1, open_low=True, open_high=True)
    if nonpositive not in ("raise", "drop"):
        raise DimensionError(f"nonpositive: expected 'raise' or 'drop', found {describe(nonpositive)}")
    if isinstance(rng, np.random.SeedSequence):
        rng = np.random.default_rng(rng)
    if not isinstance(rng, np.random.Generator):
        raise DimensionError(f"rng: expected a numpy Generator or SeedSequence, found {describe(rng)}")

    mean = y.mean(axis=0)
    bad = mean <= 0
    if np.any(bad) and nonpositive == "raise":
        i = int(np.argmax(bad))
        raise DimensionError(
            f"y: expected a positive mean over seeds at every ladder point to take its logarithm, found "
            f"mean {mean[i]:g} at {parameter}={x[i]:g} (ladder point {i}); pass nonpositive='drop' to "
            f"fit only the points with a positive mean")
    keep = ~bad
    if keep.sum() < 2:
        raise DimensionError(f"y: expected at least 2 ladder points with a positive mean, found "
                             f"{int(keep.sum())} (means {mean.tolist()})")
    xs, ys, ms = x[keep], y[:, keep], mean[keep]
    lx, ly = np.log(xs), np.log(ms)
    slope, intercept = _ols(lx, ly)
    resid = ly - (intercept + slope * lx)
    sst = float(np.sum((ly - ly.mean()) ** 2))
    r2 = 1.0 - float(resid @ resid) / sst if sst > 0 else 1.0

    n_seeds = ys.shape[0]
    idx = rng.integers(0, n_seeds, size=(n_boot, n_seeds))
    boot_means = ys[idx].mean(axis=1)  # (n_boot, P)
    defined = np.all(boot_means > 0, axis=1)
    # Undefined replicates get a placeholder log and are then replaced by -inf / +inf below.
    boot_slopes, _ = _ols(lx, np.log(np.where(boot_means > 0, boot_means, 1.0)))
    tail = _expanded_tail(1.0 - level, n_seeds)
    # inverted_cdf picks order statistics, so the infinite placeholders are never interpolated.
    lo = float(np.quantile(np.where(defined, boot_slopes, -np.inf), tail, method="inverted_cdf"))
    hi = float(np.quantile(np.where(defined, boot_slopes, np.inf), 1 - tail, method="inverted_cdf"))
    point_lo = np.quantile(boot_means, tail, axis=0, method="inverted_cdf")
    point_hi = np.quantile(boot_means, 1 - tail, axis=0, method="inverted_cdf")

    return SlopeFit(
        parameter=str(parameter),
        x=tuple(float(v) for v in xs),
        mean=tuple(float(v) for v in ms),
        point_ci=tuple((float(a), float(b)) for a, b in zip(point_lo, point_hi)),
        slope=float(slope),
        intercept=float(intercept),
        ci=(lo, hi),
        r2=float(r2),
        n_seeds=int(n_seeds),
        n_boot=n_boot,
        level=level,
        dropped=tuple(float(v) for v in x[bad]),
        undefined_replicates=int(n_boot - defined.sum()),
    )


def _exponent_value(bound, symbol: str, at) -> float:
    raw = bound.exponent(symbol, at=at)
    where = "at its centre" if at is not None else "asymptotically"
    if raw is None:
        raise AssumptionError(f"{getattr(bound, 'name', 'bound')}: expected an exponent in {symbol} {where}, "
                              f"found none (the bound reports it undefined)")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        free = sorted(str(s) for s in getattr(raw, "free_symbols", ()))
        raise AssumptionError(
            f"{getattr(bound, 'name', 'bound')}: expected a numeric exponent in {symbol} {where}, found "
            f"{raw!s}" + (f" (pass values for {', '.join(free)})" if free else "")) from None
    if math.isnan(value):
        raise AssumptionError(f"{getattr(bound, 'name', 'bound')}: the exponent in {symbol} is undefined "
                              f"(NaN) at {at}")
    return value


def local_exponent(bound, symbol: str, ladder, values=None) -> float:
    r"""The bound's log-log slope in ``symbol`` at the centre of a sweep.

    .. math::

        p_{\mathrm{loc}} = \left.\frac{\partial \log b}{\partial \log s}\right|_{s = s_c},
        \qquad s_c = \Big(\prod_{i=1}^P x_i\Big)^{1/P},

    the geometric mean of the ladder (rounded to the nearest integer, and passed as an ``int``, when every
    ladder value is an integer: ``n`` and ``H`` are integer symbols), with every other symbol at
    ``values``. Logarithmic factors make
    this differ from the asymptotic exponent (e.g. :math:`\sqrt{\log(n)/n}` has local exponent
    :math:`-1/2 + 1/(2\log n)`), so a fitted slope is compared with both.

    Parameters
    ----------
    bound : object with ``exponent(symbol, at=None)``
        A :class:`qbc_theory.theory.bounds.Bound` or anything with that method; ``at`` receives a dict of
        symbol name to value and the method returns a number (or a sympy number).
    symbol : str
        The swept symbol (``"n"``, ``"H"``, ``"eps_q"``, ...).
    ladder : (P,) array_like
        The sweep's ladder, positive.
    values : dict, optional
        Values of the other symbols the exponent depends on.

    Returns
    -------
    float

    Raises
    ------
    DimensionError
        If the ladder is not positive.
    AssumptionError
        If the exponent still depends on symbols without values, or is undefined.

    References
    ----------
    Cao & Xie 2026, Theorems 2, 3, 7 (the rate forms whose exponents are read off).
    """
    centre = _centre(ladder)
    at = dict(values or {})
    at[symbol] = centre
    return _exponent_value(bound, symbol, at)


def _centre(ladder):
    """Geometric mean of a positive ladder; the nearest int when every value is an integer."""
    values = as_vector("ladder", ladder)
    if np.any(values <= 0):
        raise DimensionError(f"ladder: expected positive values, found {values.tolist()}")
    centre = float(np.exp(np.mean(np.log(values))))
    # Integer symbols (n, H) are refused as floats by the bounds, and a sweep over them uses integers.
    if np.all(values == np.round(values)):
        return int(round(centre))
    return centre


@dataclass(frozen=True)
class ExponentPrediction:
    """A bound's exponent in one symbol: at the sweep's centre and as the symbol tends to its limit.

    Attributes
    ----------
    symbol : str
    centre : float
        Geometric mean of the ladder (nearest integer for an integer ladder).
    local : float
        Log-log slope of the bound at ``centre``.
    asymptotic : float
        ``bound.exponent(symbol)`` (the limit exponent of docs/design.md section 4).
    """

    symbol: str
    centre: float
    local: float
    asymptotic: float

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"symbol": self.symbol, "centre": self.centre, "local": self.local,
                "asymptotic": self.asymptotic}


def predicted_exponents(bound, symbol: str, ladder, values=None) -> ExponentPrediction:
    r"""Local (:func:`local_exponent`) and asymptotic exponents of ``bound`` in ``symbol``.

    .. math::

        p_{\infty} = \lim \frac{\partial \log b}{\partial \log s}
        \quad (s \to \infty \text{ for } n, H; \; s \to 0 \text{ for } \varepsilon_q).

    Parameters
    ----------
    bound : object with ``exponent(symbol, at=None)``
    symbol : str
    ladder : (P,) array_like
        Positive ladder of the sweep.
    values : dict, optional
        Values of the other symbols, used for the local exponent.

    Returns
    -------
    ExponentPrediction

    Raises
    ------
    DimensionError, AssumptionError
        As :func:`local_exponent`.

    References
    ----------
    Cao & Xie 2026, Theorems 2, 3, 7, 8, 9.
    """
    local = local_exponent(bound, symbol, ladder, values)
    return ExponentPrediction(symbol=str(symbol), centre=float(_centre(ladder)), local=local,
                              asymptotic=_exponent_value(bound, symbol, None))


def compare_slope(fit, predicted, relation: str, *, tol: float = 0.0) -> str:
    r"""Decide a predicted relation between a fitted slope and an exponent from the slope's CI.

    With the slope's interval :math:`[\ell, u]` (``fit.ci``), the prediction :math:`p` and a
    tolerance :math:`\tau \ge 0` for finite-size effects, the allowed region :math:`R` of the true
    slope is

    .. math::

        R_{\le} = (-\infty, p + \tau], \qquad R_{\ge} = [p - \tau, \infty), \qquad
        R_{=} = [p - \tau, p + \tau],

    and the status is

    * ``"consistent"`` when :math:`[\ell, u] \subseteq R` (every slope the data allow is allowed),
    * ``"violated"`` when :math:`[\ell, u] \cap R = \emptyset` (no slope the data allow is allowed),
    * ``"inconclusive"`` otherwise (the interval straddles an edge of :math:`R`: too wide to decide).

    For ``"=="`` this is the two one-sided tests rule of equivalence testing. The relation is about the
    slope itself. An upper bound :math:`y \lesssim x^p` in the limit :math:`x \to \infty` (``n``,
    ``H``: "decays at least like" / "grows at most like" :math:`x^p`) is ``"<="``; an upper bound in the
    limit :math:`x \to 0` (``eps_q``: "vanishes at least like" :math:`\varepsilon_q^p`) is ``">="``;
    lower bounds swap the two. With ``tol=0`` a true slope
    exactly at :math:`p` typically gives ``"inconclusive"`` for ``"<="`` and ``">="`` and always for
    ``"=="``: the data cannot tell a slope from its own boundary, and ``tol`` states how much
    slack the claim grants.

    Parameters
    ----------
    fit : SlopeFit or object with ``ci`` = (lo, hi)
    predicted : float
        The predicted exponent :math:`p`.
    relation : {"<=", ">=", "=="}
    tol : float
        :math:`\tau \ge 0`.

    Returns
    -------
    str
        One of ``"consistent"``, ``"violated"``, ``"inconclusive"``.

    Raises
    ------
    DimensionError
        If ``relation`` is unknown, ``predicted`` not finite, ``tol`` negative, or the CI malformed.

    References
    ----------
    Cao & Xie 2026, Theorems 2, 3, 7, 8, 9 (the predicted exponents).
    """
    if relation not in RELATIONS:
        raise DimensionError(f"relation: expected one of {', '.join(RELATIONS)}, found {describe(relation)}")
    p = as_real("predicted", predicted)
    tol = as_real("tol", tol, nonnegative=True)
    try:
        lo, hi = (float(v) for v in fit.ci)
    except (AttributeError, TypeError, ValueError):
        raise DimensionError(f"fit: expected an object with ci = (lo, hi), found {describe(fit)}") from None
    if math.isnan(lo) or math.isnan(hi) or lo > hi:
        raise DimensionError(f"fit.ci: expected lo <= hi, found ({lo}, {hi})")
    r_lo = -math.inf if relation == "<=" else p - tol
    r_hi = math.inf if relation == ">=" else p + tol
    if r_lo <= lo and hi <= r_hi:
        return "consistent"
    if hi < r_lo or lo > r_hi:
        return "violated"
    return "inconclusive"


def compare_bound(ci, bound, kind: str = "upper") -> str:
    r"""Decide whether measured quantities respect a bound, point by point, from their CIs.

    With intervals :math:`[\ell_i, u_i]` for the measured means (e.g. ``SlopeFit.point_ci``) and bound
    values :math:`b_i` at the same ladder points, an upper bound (:math:`\mathbb{E} y_i \le b_i`) is

    .. math::

        \text{violated if } \exists i:\ \ell_i > b_i, \qquad
        \text{consistent if } \forall i:\ u_i \le b_i, \qquad \text{inconclusive otherwise;}

    a lower bound (:math:`\mathbb{E} y_i \ge b_i`) swaps the roles: violated if some :math:`u_i < b_i`,
    consistent if every :math:`\ell_i \ge b_i`. The intervals are taken as given: with ``P`` points
    at level :math:`1 - \alpha` each, a bound that holds with equality is declared violated with
    probability up to :math:`P\alpha/2`; use per-point level :math:`1 - \alpha/P` for family-wise
    control.

    Parameters
    ----------
    ci : (P, 2) array_like
        Lower and upper ends of each measured mean's interval.
    bound : (P,) array_like or float
        The bound's value at each point (a float applies to every point).
    kind : {"upper", "lower"}

    Returns
    -------
    str
        ``"consistent"``, ``"violated"`` or ``"inconclusive"``.

    Raises
    ------
    DimensionError
        If shapes disagree, a value is not finite, an interval has ``lo > hi``, or ``kind`` is unknown.

    References
    ----------
    Cao & Xie 2026, Theorems 1, 2, 3, 7 (upper bounds) and 8, 9 (lower bounds).
    """
    ci = as_matrix("ci", ci, cols=2)
    b = np.asarray(bound, dtype=float)
    b = as_vector("bound", np.full(ci.shape[0], float(b)) if b.ndim == 0 else b, size=ci.shape[0])
    if kind not in ("upper", "lower"):
        raise DimensionError(f"kind: expected 'upper' or 'lower', found {describe(kind)}")
    lo, hi = ci[:, 0], ci[:, 1]
    if np.any(lo > hi):
        i = int(np.argmax(lo > hi))
        raise DimensionError(f"ci: expected lo <= hi, found ({lo[i]:g}, {hi[i]:g}) at point {i}")
    if kind == "upper":
        if np.any(lo > b):
            return "violated"
        return "consistent" if np.all(hi <= b) else "inconclusive"
    if np.any(hi < b):
        return "violated"
    return "consistent" if np.all(lo >= b) else "inconclusive"



def _alternatives(predicted: float) -> list[float]:
    """The stated set of alternative exponents: ``p +- 0.5``, ``p +- 1`` and the halves in [-3, 3]."""
    alts = {round(predicted + d, 12) for d in (-1.0, -0.5, 0.5, 1.0)}
    alts |= {k / 2 for k in range(-6, 7)}
    return sorted(alts)


def slope_power(ci, predicted, relation: str, *, tol: float = 0.0, level: float = 0.95) -> dict:
    r"""What a slope test can tell apart: its interval's half-width and the alternatives it excludes.

    The **alternatives** are a fixed set stated before any data is seen: :math:`p \pm 1/2`,
    :math:`p \pm 1` and the halves :math:`-3, -5/2, \dots, 3` (so the integers 0, 1, 2 and the
    half-integers of the rates :math:`1/n`, :math:`1/\sqrt n`, :math:`H`, :math:`H^2`). The
    **meaningful** ones are those outside the claim's allowed region :math:`R` (see
    :func:`compare_slope`): an alternative inside :math:`R` is not a competing hypothesis. The test
    *excludes* an alternative :math:`a` at ``level`` when :math:`a \notin [\ell, u]`, the slope's
    interval; the nearest excluded meaningful alternative (smallest :math:`|a - p|`) is the one
    reported, e.g. "excludes 2 at 95%" for a claim "linear in H". A test that excludes none of the
    meaningful alternatives cannot tell the predicted rate from its neighbours at this sample size.

    Parameters
    ----------
    ci : (float, float)
        The slope's interval at ``level``.
    predicted : float
    relation : {"<=", ">=", "=="}
    tol : float
        The claim's slack (the allowed region is widened by it, as in :func:`compare_slope`).
    level : float
        Confidence level of ``ci``, for the words.

    Returns
    -------
    dict
        ``half_width``, ``alternatives`` (meaningful), ``excluded``, ``not_excluded``,
        ``nearest_excluded`` (None when none is excluded) and ``text``.

    Raises
    ------
    DimensionError
        On an unknown relation or a non-finite prediction.

    References
    ----------
    Cao & Xie 2026, Theorems 2, 3, 7, 8, 9 (the rates whose neighbours are the alternatives).
    """
    if relation not in RELATIONS:
        raise DimensionError(f"relation: expected one of {', '.join(RELATIONS)}, found {describe(relation)}")
    p = as_real("predicted", predicted)
    tol = as_real("tol", tol, nonnegative=True)
    lo, hi = (float(v) for v in ci)
    pct = f"{100 * level:g}%"
    r_lo = -math.inf if relation == "<=" else p - tol
    r_hi = math.inf if relation == ">=" else p + tol
    meaningful = [a for a in _alternatives(p) if a < r_lo or a > r_hi]
    if math.isnan(lo) or math.isnan(hi):
        return {"half_width": None, "alternatives": meaningful, "excluded": [], "not_excluded": meaningful,
                "nearest_excluded": None, "text": "no interval: excludes nothing"}
    excluded = [a for a in meaningful if a < lo or a > hi]
    kept = [a for a in meaningful if lo <= a <= hi]
    nearest = min(excluded, key=lambda a: (abs(a - p), a)) if excluded else None
    half = (hi - lo) / 2 if math.isfinite(hi - lo) else math.inf
    if nearest is not None:
        text = f"excludes {nearest:g} at {pct}"
    else:
        text = ("excludes none of " + ", ".join(f"{a:g}" for a in meaningful) + f" at {pct}") if meaningful \
            else "no meaningful alternative in the stated set"
    return {"half_width": _json_float(half), "alternatives": meaningful, "excluded": excluded,
            "not_excluded": kept, "nearest_excluded": nearest, "text": text}


def rival_exponents(predicted, relation: str) -> list[float]:
    r"""The rival exponents a slope test must exclude before it may call a prediction consistent.

    From the stated alternatives of :func:`slope_power` (:math:`p \pm 1/2`, :math:`p \pm 1` and the
    halves in :math:`[-3, 3]`), the nearest one on each side the relation forbids: above :math:`p`
    for ``"<="``, below for ``">="``, on both sides for ``"=="``. It lies at most :math:`1/2` from
    :math:`p`: :math:`3/2` for "grows at most linearly in :math:`H`" (excluding it excludes
    :math:`H^2` too), :math:`-1/2` for "decays at least like :math:`1/n`", :math:`p \pm 1/2` for
    an equality.

    Parameters
    ----------
    predicted : float
    relation : {"<=", ">=", "=="}

    Returns
    -------
    list of float
        One rival (``"<="``, ``">="``) or two (``"=="``), ascending.
    """
    if relation not in RELATIONS:
        raise DimensionError(f"relation: expected one of {', '.join(RELATIONS)}, found {describe(relation)}")
    p = as_real("predicted", predicted)
    alts = _alternatives(p)
    above = min(a for a in alts if a > p)
    below = max(a for a in alts if a < p)
    return {"<=": [above], ">=": [below], "==": [below, above]}[relation]


def strict_slope_verdict(fit, predicted, relation: str) -> str:
    r"""The verdict of a slope test at zero slack: a falsification test with a power requirement.

    At zero slack the allowed region of the true slope is :math:`R_0 = (-\infty, p]`,
    :math:`[p, \infty)` or :math:`\{p\}` (``"<="``, ``">="``, ``"=="``). The rule of
    :func:`compare_slope` with ``tol = 0`` asks the interval :math:`[\ell, u]` to lie *inside*
    :math:`R_0`; a true slope exactly at :math:`p` (a tight theorem) fails that at every sample size,
    and for ``"=="`` it fails always. At zero slack the question is instead whether the data
    contradict the prediction, and whether they could have:

    * ``"violated"`` when :math:`[\ell, u] \cap R_0 = \emptyset` (every slope the data allow breaks
      the prediction);
    * ``"consistent"`` when the interval meets :math:`R_0` **and** excludes every rival of
      :func:`rival_exponents` (the test had the power to tell the prediction from its nearest
      competing rate, e.g. :math:`H` from :math:`H^{3/2}` and :math:`H^2`);
    * ``"inconclusive"`` otherwise (the interval reaches a rival: too wide to tell).

    :class:`~qbc_theory.verification.verdicts.SlopeTest` compares this verdict with the slack verdict
    (:func:`compare_slope` at the claim's ``tol``) and calls a flip ``inconclusive``, so a slope that
    is significantly off :math:`p` but within the slack (:math:`\ell > p` for ``"<="``) is not
    consistent, and a consistent test must pass both rules.

    Parameters
    ----------
    fit : SlopeFit or object with ``ci`` = (lo, hi)
    predicted : float
    relation : {"<=", ">=", "=="}

    Returns
    -------
    str
        One of ``"consistent"``, ``"violated"``, ``"inconclusive"``.

    Raises
    ------
    DimensionError
        As :func:`compare_slope`.

    References
    ----------
    Cao & Xie 2026, Theorems 2, 3, 7, 8, 9 (the predicted exponents).
    """
    if compare_slope(fit, predicted, relation, tol=0.0) == "violated":
        return "violated"
    lo, hi = (float(v) for v in fit.ci)
    rivals = rival_exponents(predicted, relation)
    if all(a < lo or a > hi for a in rivals):
        return "consistent"
    return "inconclusive"


def bound_tightness(mean, bound, kind: str = "upper") -> tuple[float, int]:
    r"""How close measured means come to a bound: 1 is tight, small is loose.

    For an upper bound :math:`\mathbb E y_i \le b_i` the tightness is :math:`\max_i \bar y_i / b_i`;
    for a lower bound :math:`\mathbb E y_i \ge b_i` it is :math:`\min_i b_i / \bar y_i`. A value above 1
    means the means cross the bound (whether that is significant is :func:`compare_bound`'s
    business). A mean at or below zero under a positive lower bound gives ``inf``; a lower bound at or
    below zero gives a tightness at or below zero (it says nothing about a positive quantity).

    Parameters
    ----------
    mean, bound : (P,) array_like
    kind : {"upper", "lower"}

    Returns
    -------
    tightness : float
    index : int
        The point attaining it.

    Raises
    ------
    DimensionError
        On shapes that differ, an empty input or an unknown ``kind``.

    References
    ----------
    Cao & Xie 2026, Theorems 1, 2, 3, 7 (upper bounds) and 8, 9 (lower bounds).
    """
    m = as_vector("mean", mean)
    b = as_vector("bound", bound, size=m.shape[0])
    if kind not in ("upper", "lower"):
        raise DimensionError(f"kind: expected 'upper' or 'lower', found {describe(kind)}")
    num, den = (m, b) if kind == "upper" else (b, m)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.where(num > 0, np.inf, 0.0))
    j = int(np.argmax(r) if kind == "upper" else np.argmin(r))
    return float(r[j]), j
