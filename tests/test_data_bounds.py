"""Tests of the data-dependent Theorem 1 bound (qbc_theory.verification.cells.data_bounds)."""

import math

import numpy as np
import pytest
import scipy.stats

from qbc_theory.model.errors import DimensionError
from qbc_theory.verification.cells import data_bounds as db


def _exact_instance(H=12, a=0.6, e=0.05, s=4.0):
    """Noiseless x+ = a x + u, x_1 = 0, constant expert u* = 0.3, its quantized copy plays 0.3 + e.

    The learner is q#pi* itself (TV = 0; a constant policy is 0-RTVC with kappa = 0). Reward
    r(x, u) = 1/2 + x / s (never clipped here), L_r = 1 / s. The regret is exact: the state gap at step
    h is sum_{k<h} a^(h-1-k) e, and the reward gap is that gap over s.
    """
    gaps = np.array([sum(a ** (h - 1 - k) * e for k in range(h)) for h in range(H)])
    regret = float(gaps.sum() / s)
    gains = db.gain_profile([[a]], [[1.0]], H)
    errors = np.full((3, H), e)
    return H, regret, gains, errors, 1.0 / s


def test_bound_is_above_the_exact_regret_on_a_small_instance():
    H, regret, gains, errors, L_r = _exact_instance()
    t = db.thm1_data_terms(H=H, tv=0.0, p_far=0.0, errors=errors, gains=gains, L_r=L_r,
                           kappa=lambda r: 0.0 * np.asarray(r))
    assert regret > 0
    assert regret <= t["total"]
    # the Lipschitz term alone carries it: its state part is exactly the regret here
    assert t["lipschitz"] >= regret


def test_a_wrongly_tightened_bound_fails():
    H, regret, gains, errors, L_r = _exact_instance()
    t = db.thm1_data_terms(H=H, tv=0.0, p_far=0.0, errors=errors, gains=gains, L_r=L_r,
                           kappa=lambda r: 0.0 * np.asarray(r))
    wrong = t["total"] - t["lipschitz"]  # drop the Lipschitz term
    assert wrong == 0.0 or regret / wrong > 1
    # halving it (an invented constant) also fails on this instance
    assert regret / (0.5 * t["total"]) > 1


def test_horizon_weights_are_at_most_the_statement_and_exact_for_a_sure_failure():
    H = 6
    errors = np.full((2, H), 0.1)
    gains = np.ones(H)
    t = db.thm1_data_terms(H=H, tv=0.0, p_far=0.0, errors=errors, gains=gains, L_r=0.0,
                           kappa=lambda r: (np.asarray(r) > 0).astype(float))
    # kappa = 1 from step 2 on: weights H - h + 1 for h = 2..H
    assert t["kappa"] == pytest.approx(sum(H - h + 1 for h in range(2, H + 1)))
    assert t["kappa"] <= H * (H - 1)


def test_upper_confidence_rule_of_three_and_clopper_pearson():
    n = 1000
    zero = db.upper_confidence(np.zeros(n))
    assert zero == pytest.approx(1 - 0.05 ** (1 / n), rel=1e-9)
    assert 2.9 / n < zero < 3.1 / n  # mean + 2 SE would be 0 here
    k = np.zeros(n)
    k[:7] = 1
    assert db.upper_confidence(k) == pytest.approx(scipy.stats.beta.ppf(0.95, 8, n - 7))
    assert db.upper_confidence(np.ones(5)) == 1.0


def test_upper_confidence_covers_for_bounded_values():
    rng = np.random.default_rng(3)
    p = 0.05
    misses = 0
    reps = 300
    for _ in range(reps):
        v = rng.beta(0.5, 9.5, 60)  # mean 0.05, values in [0, 1], not binary
        misses += db.upper_confidence(v) < p
    assert misses / reps <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / reps)


def test_upper_confidence_rejects_values_outside_unit_interval():
    with pytest.raises(DimensionError, match="values"):
        db.upper_confidence([0.2, 1.5])
    with pytest.raises(DimensionError, match="values"):
        db.upper_confidence([])


def test_prefix_tv_sum_exact_on_deterministic_ratios_and_below_h_tv():
    H = 5
    lr = np.zeros((4, H))
    lr[0, 1] = -np.inf  # first disagreement at step 2: contributes 4 prefixes
    lr[1, 4] = -np.inf  # at step 5: 1 prefix
    est, up = db.prefix_tv_sum(lr)
    assert est == pytest.approx((4 + 1) / 4)
    tv, _ = db.trajectory_tv(lr)
    assert est <= H * tv + 1e-12
    assert up >= est
    rng = np.random.default_rng(0)
    g = rng.normal(-0.05, 0.3, (2000, H))
    est_g, up_g = db.prefix_tv_sum(g)
    assert est_g <= H * db.trajectory_tv(g)[0] + 1e-12 and up_g >= est_g
    with pytest.raises(DimensionError, match="log_ratio"):
        db.prefix_tv_sum(np.zeros(3))


def test_zero_observed_disagreements_still_give_a_positive_tv_bound():
    est, up = db.prefix_tv_sum(np.zeros((500, 10)))
    assert est == 0.0 and up > 0.0
