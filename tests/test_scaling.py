"""Tests of qbc_theory.verification.scaling: log-log slope fits, bootstrap CIs, exponents and CI-based verdicts."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import sympy
from scipy import stats

from qbc_theory.model.errors import AssumptionError, DimensionError
from qbc_theory.verification.scaling import (
    SlopeFit,
    compare_bound,
    compare_slope,
    fit_slope,
    local_exponent,
    predicted_exponents,
)

LADDER = np.array([10.0, 20.0, 40.0, 80.0, 160.0])


def power_law_data(slope, *, seeds=16, sigma=0.3, scale=2.0, seed=1, ladder=LADDER):
    """Per-seed lognormal noise around ``scale * x**slope`` (the mean is exactly that power law)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    z = rng.standard_normal((seeds, ladder.size))
    return scale * ladder**slope * np.exp(sigma * z - sigma**2 / 2)


def test_exact_power_law_recovers_slope_intercept_and_degenerate_ci():
    y = np.tile(3.0 * LADDER**-0.5, (4, 1))
    fit = fit_slope(LADDER, y, rng=np.random.default_rng(0), n_boot=200, parameter="n")
    assert fit.slope == pytest.approx(-0.5, abs=1e-12)
    assert fit.intercept == pytest.approx(math.log(3.0), abs=1e-12)
    assert fit.r2 == pytest.approx(1.0, abs=1e-12)
    assert fit.ci[0] == pytest.approx(-0.5, abs=1e-12) and fit.ci[1] == pytest.approx(-0.5, abs=1e-12)
    np.testing.assert_allclose(fit.predict(LADDER), 3.0 * LADDER**-0.5, rtol=1e-12)
    assert fit.parameter == "n" and fit.dropped == () and fit.undefined_replicates == 0


def test_slope_and_r2_match_linregress_on_log_means():
    y = power_law_data(-1.0)
    fit = fit_slope(LADDER, y, rng=np.random.default_rng(1))
    ref = stats.linregress(np.log(LADDER), np.log(y.mean(axis=0)))
    assert fit.slope == pytest.approx(ref.slope, abs=1e-12)
    assert fit.intercept == pytest.approx(ref.intercept, abs=1e-12)
    assert fit.r2 == pytest.approx(ref.rvalue**2, abs=1e-12)
    np.testing.assert_allclose(fit.mean, y.mean(axis=0), rtol=1e-14)
    for m, (lo, hi) in zip(fit.mean, fit.point_ci):
        assert lo <= m <= hi


def test_bootstrap_ci_width_matches_delta_method():
    # log of a mean of S lognormals has sd ~ sqrt(exp(sigma^2) - 1) / sqrt(S); the OLS slope's sd is
    # that divided by sqrt(Sxx). The expanded percentile CI should be about 2 z' of it wide, with
    # z' = sqrt(S / (S - 1)) t_{S-1, 0.975}.
    sigma, seeds = 0.3, 64
    y = power_law_data(-1.0, seeds=seeds, sigma=sigma, seed=7)
    fit = fit_slope(LADDER, y, rng=np.random.default_rng(2), n_boot=4000)
    lx = np.log(LADDER)
    sd = math.sqrt(math.expm1(sigma**2) / seeds) / math.sqrt(np.sum((lx - lx.mean()) ** 2))
    width = fit.ci[1] - fit.ci[0]
    z = math.sqrt(seeds / (seeds - 1)) * stats.t.ppf(0.975, seeds - 1)
    assert width == pytest.approx(2 * z * sd, rel=0.2)


@pytest.mark.parametrize("seeds, level", [(8, 0.95), (24, 0.9)])
def test_ci_covers_true_slope_at_about_the_nominal_rate(seeds, level):
    # 400 independent synthetic sweeps; binomial sd <= 0.015, band 3 sd. With 8 seeds the plain
    # percentile interval covers only ~0.89 of the time at level 0.95 and fails this band.
    covered = 0
    reps = 400
    for r in range(reps):
        y = power_law_data(-0.5, seeds=seeds, sigma=0.5, seed=1000 + r)
        fit = fit_slope(LADDER, y, rng=np.random.default_rng(r), n_boot=1000, level=level)
        covered += fit.ci[0] <= -0.5 <= fit.ci[1]
    sd = math.sqrt(level * (1 - level) / reps)
    assert covered / reps == pytest.approx(level, abs=3 * sd)


def test_same_rng_seed_gives_identical_fit_and_different_seed_differs():
    y = power_law_data(1.0)
    a = fit_slope(LADDER, y, rng=np.random.SeedSequence(5))
    b = fit_slope(LADDER, y, rng=np.random.SeedSequence(5))
    c = fit_slope(LADDER, y, rng=np.random.SeedSequence(6))
    assert a == b
    assert a.ci != c.ci


def test_nonpositive_mean_raises_naming_the_ladder_point():
    y = power_law_data(-1.0)
    y[:, 2] = 0.0
    with pytest.raises(DimensionError, match=r"n=40 \(ladder point 2\)"):
        fit_slope(LADDER, y, rng=np.random.default_rng(0), parameter="n")


def test_nonpositive_mean_dropped_on_request_and_reported():
    y = power_law_data(-1.0)
    y[:, 2] = 0.0
    fit = fit_slope(LADDER, y, rng=np.random.default_rng(0), nonpositive="drop")
    keep = [0, 1, 3, 4]
    ref = stats.linregress(np.log(LADDER[keep]), np.log(y[:, keep].mean(axis=0)))
    assert fit.dropped == (40.0,)
    assert fit.x == tuple(LADDER[keep])
    assert fit.slope == pytest.approx(ref.slope, abs=1e-12)
    assert fit.to_dict()["dropped"] == [40.0]
    y[:, 1:] = 0.0
    with pytest.raises(DimensionError, match="at least 2 ladder points with a positive mean"):
        fit_slope(LADDER, y, rng=np.random.default_rng(0), nonpositive="drop")


def test_single_nonpositive_seeds_are_fine_when_the_mean_is_positive():
    y = power_law_data(-1.0, seeds=40)
    y[0, :] = -0.01  # e.g. a negative regret estimate from one seed
    fit = fit_slope(LADDER, y, rng=np.random.default_rng(0))
    assert np.all(np.array(fit.mean) > 0)
    assert math.isfinite(fit.ci[0]) and math.isfinite(fit.ci[1])


def test_undefined_bootstrap_replicates_make_the_ci_conservative():
    # At the last point, 3 seeds of 6 are -1 and 3 are +1.1: mean 0.05 > 0, but about half of the
    # resampled means are <= 0, so more than 2.5% of replicates are undefined on each side.
    y = np.tile(LADDER**-1.0, (6, 1))
    y[:, -1] = [-1.0, -1.0, -1.0, 1.1, 1.1, 1.1]
    fit = fit_slope(LADDER, y, rng=np.random.default_rng(0), n_boot=1000)
    assert fit.undefined_replicates > 25
    assert fit.ci == (-math.inf, math.inf)
    assert fit.to_dict()["ci"] == [None, None]
    assert compare_slope(fit, -1.0, "<=", tol=0.5) == "inconclusive"


def test_to_dict_is_json_ready():
    import json

    fit = fit_slope(LADDER, power_law_data(-1.0), rng=np.random.default_rng(0))
    d = json.loads(json.dumps(fit.to_dict(), allow_nan=False))
    assert d["slope"] == fit.slope and len(d["points"]) == LADDER.size
    assert set(d) >= {"slope", "intercept", "ci", "r2", "points", "n_seeds", "n_boot", "level"}


@pytest.mark.parametrize(
    "x, y, kwargs, match",
    [
        ([1.0], np.ones((3, 1)), {}, "at least 2 ladder points"),
        ([1.0, 2.0], np.ones((3, 3)), {}, "matching x"),
        ([1.0, 2.0], np.ones((1, 2)), {}, "at least 2 seeds"),
        ([2.0, 1.0], np.ones((3, 2)), {}, "strictly increasing"),
        ([0.0, 1.0], np.ones((3, 2)), {}, "positive ladder"),
        ([1.0, 2.0], [[1.0, np.nan], [1.0, 1.0]], {}, "finite"),
        ([1.0, 2.0], np.ones((3, 2)), {"nonpositive": "clip"}, "nonpositive"),
        ([1.0, 2.0], np.ones((3, 2)), {"n_boot": 10}, "n_boot"),
        ([1.0, 2.0], np.ones((3, 2)), {"level": 1.0}, "level"),
    ],
)
def test_bad_input_is_refused(x, y, kwargs, match):
    with pytest.raises(DimensionError, match=match):
        fit_slope(x, y, rng=np.random.default_rng(0), **kwargs)


def test_bad_rng_and_unknown_keyword():
    with pytest.raises(DimensionError, match="rng"):
        fit_slope([1.0, 2.0], np.ones((3, 2)), rng=0)
    with pytest.raises(TypeError):
        fit_slope([1.0, 2.0], np.ones((3, 2)), rng=np.random.default_rng(0), bootstrap=10)


# ----------------------------------------------------------------------------- compare_slope


def fitted(slope, **kw):
    return fit_slope(LADDER, power_law_data(slope, **kw), rng=np.random.default_rng(3))


def test_compare_decay_at_least_like_prediction():
    # regret decaying like 1/n^1.0 is consistent with "decays at least like n^(-1/2)" ...
    assert compare_slope(fitted(-1.0), -0.5, "<=") == "consistent"
    # ... while a regret decaying only like n^(-0.3) violates "decays at least like 1/n".
    fit = fitted(-0.3)
    assert fit.ci[0] > -1.0
    assert compare_slope(fit, -1.0, "<=") == "violated"


def test_compare_growth_at_least_and_equality_with_tolerance():
    assert compare_slope(fitted(1.0), 0.0, ">=") == "consistent"
    assert compare_slope(fitted(1.0), 2.0, ">=") == "violated"
    narrow = fitted(-0.5, seeds=200, sigma=0.1)
    assert narrow.ci[1] - narrow.ci[0] < 0.1
    assert compare_slope(narrow, -0.5, "==", tol=0.1) == "consistent"
    assert compare_slope(narrow, -1.0, "==", tol=0.1) == "violated"


def test_compare_wide_ci_is_inconclusive():
    wide = fitted(-1.0, seeds=6, sigma=2.5)
    assert wide.ci[1] - wide.ci[0] > 0.5
    assert compare_slope(wide, -1.0, "<=", tol=0.1) == "inconclusive"
    assert compare_slope(wide, -1.0, "==", tol=0.1) == "inconclusive"


@pytest.mark.parametrize(
    "ci, predicted, relation, tol, expected",
    [
        ((-1.2, -0.9), -1.0, "<=", 0.0, "inconclusive"),
        ((-1.2, -0.9), -1.0, "<=", 0.1, "consistent"),
        ((-0.8, -0.6), -1.0, "<=", 0.1, "violated"),
        ((-1.2, -1.0), -1.0, "<=", 0.0, "consistent"),
        ((1.1, 1.3), 1.0, ">=", 0.0, "consistent"),
        ((0.5, 0.8), 1.0, ">=", 0.1, "violated"),
        ((0.5, 1.2), 1.0, ">=", 0.1, "inconclusive"),
        ((-0.55, -0.45), -0.5, "==", 0.1, "consistent"),
        ((-0.55, -0.45), -0.5, "==", 0.0, "inconclusive"),
        ((-0.3, -0.2), -0.5, "==", 0.1, "violated"),
        ((-math.inf, math.inf), -0.5, "<=", 1.0, "inconclusive"),
    ],
)
def test_compare_rule_on_hand_made_intervals(ci, predicted, relation, tol, expected):
    assert compare_slope(SimpleNamespace(ci=ci), predicted, relation, tol=tol) == expected


def test_compare_refuses_bad_input():
    fit = SimpleNamespace(ci=(-1.0, 0.0))
    with pytest.raises(DimensionError, match="relation"):
        compare_slope(fit, -1.0, "<")
    with pytest.raises(DimensionError, match="tol"):
        compare_slope(fit, -1.0, "<=", tol=-0.1)
    with pytest.raises(DimensionError, match="lo <= hi"):
        compare_slope(SimpleNamespace(ci=(1.0, 0.0)), -1.0, "<=")
    with pytest.raises(DimensionError, match="fit"):
        compare_slope(object(), -1.0, "<=")


# ----------------------------------------------------------------------------- exponents


class FakeBound:
    """b = C H sqrt(log(n) / n): local exponent in n is -1/2 + 1/(2 log n), asymptotically -1/2."""

    name = "fake"

    def __init__(self):
        self.calls = []

    def exponent(self, symbol, at=None):
        self.calls.append((symbol, at))
        if symbol == "H":
            return sympy.Integer(1)
        if at is None:
            return sympy.Rational(-1, 2)
        if "n" not in at:
            return sympy.Symbol("n")
        return sympy.Rational(-1, 2) + 1 / (2 * sympy.log(sympy.Float(at["n"])))


def test_local_exponent_is_taken_at_the_geometric_mean():
    bound = FakeBound()
    p = local_exponent(bound, "n", [10, 100, 1000], values={"H": 5.0})
    assert p == pytest.approx(-0.5 + 1 / (2 * math.log(100.0)), abs=1e-12)
    symbol, at = bound.calls[-1]
    assert symbol == "n" and at["H"] == 5.0 and at["n"] == 100 and isinstance(at["n"], int)


def test_integer_ladder_centre_is_rounded_and_real_ladder_is_not():
    bound = FakeBound()
    local_exponent(bound, "n", [10, 20, 50])  # geometric mean 21.54
    assert bound.calls[-1][1]["n"] == 22 and isinstance(bound.calls[-1][1]["n"], int)
    local_exponent(bound, "n", [0.1, 0.2, 0.5])
    assert bound.calls[-1][1]["n"] == pytest.approx(0.2154434690031884, rel=1e-12)


def test_undefined_exponent_is_refused():
    class Undefined:
        name = "undef"

        def exponent(self, symbol, at=None):
            return None

    with pytest.raises(AssumptionError, match="undef: expected an exponent in n at its centre, found none"):
        local_exponent(Undefined(), "n", [10, 20])


def test_predicted_exponents_local_and_asymptotic():
    pred = predicted_exponents(FakeBound(), "n", [16, 64, 256])
    assert pred.centre == pytest.approx(64.0, rel=1e-12)
    assert pred.asymptotic == pytest.approx(-0.5, abs=1e-15)
    assert pred.local == pytest.approx(-0.5 + 1 / (2 * math.log(64.0)), abs=1e-12)
    assert pred.to_dict()["local"] == pred.local
    assert predicted_exponents(FakeBound(), "H", [1, 4]).local == pytest.approx(1.0, abs=1e-15)


def test_symbolic_exponent_is_refused_with_the_missing_names():
    class Symbolic:
        name = "sym"

        def exponent(self, symbol, at=None):
            return sympy.Symbol("eta") * 2

    with pytest.raises(AssumptionError, match="pass values for eta"):
        local_exponent(Symbolic(), "n", [10, 20])
    with pytest.raises(DimensionError, match="ladder"):
        local_exponent(FakeBound(), "n", [0, 10])


def test_slopefit_is_frozen():
    fit = fitted(-1.0)
    assert isinstance(fit, SlopeFit)
    with pytest.raises(AttributeError):
        fit.slope = 0.0


# ----------------------------------------------------------------------------- compare_bound


@pytest.mark.parametrize(
    "ci, bound, kind, expected",
    [
        ([[0.1, 0.2], [0.05, 0.1]], [0.3, 0.2], "upper", "consistent"),
        ([[0.1, 0.2], [0.05, 0.25]], [0.3, 0.2], "upper", "inconclusive"),
        ([[0.1, 0.2], [0.21, 0.25]], [0.3, 0.2], "upper", "violated"),
        ([[0.1, 0.2], [0.05, 0.1]], 0.2, "upper", "consistent"),
        ([[0.1, 0.2], [0.05, 0.1]], [0.05, 0.05], "lower", "consistent"),
        ([[0.1, 0.2], [0.05, 0.1]], [0.05, 0.06], "lower", "inconclusive"),
        ([[0.1, 0.2], [0.05, 0.1]], [0.05, 0.11], "lower", "violated"),
    ],
)
def test_compare_bound_rule(ci, bound, kind, expected):
    assert compare_bound(ci, bound, kind) == expected


def test_compare_bound_on_a_fit_with_a_known_mean():
    fit = fitted(-1.0, seeds=64, sigma=0.2)
    true_mean = 2.0 * LADDER**-1.0
    assert compare_bound(fit.point_ci, 1.5 * true_mean, "upper") == "consistent"
    assert compare_bound(fit.point_ci, 0.5 * true_mean, "upper") == "violated"
    assert compare_bound(fit.point_ci, 0.5 * true_mean, "lower") == "consistent"
    assert compare_bound(fit.point_ci, 1.5 * true_mean, "lower") == "violated"


def test_compare_bound_refuses_bad_input():
    with pytest.raises(DimensionError, match="bound: expected length 2"):
        compare_bound([[0.0, 1.0], [0.0, 1.0]], [1.0, 2.0, 3.0])
    with pytest.raises(DimensionError, match="lo <= hi"):
        compare_bound([[1.0, 0.0]], 1.0)
    with pytest.raises(DimensionError, match="kind"):
        compare_bound([[0.0, 1.0]], 1.0, "both")
    with pytest.raises(DimensionError, match="finite"):
        compare_bound([[0.0, 1.0]], np.inf)
