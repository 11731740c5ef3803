"""Tests of qbc_theory.verification.cells.figures_extra: the TVC learner of figure 6 and the eps_q panel of figure 7."""

import itertools
import math

import numpy as np
import pytest
import scipy.stats

from qbc_theory import bounds, constructions
from qbc_theory.verification.cells import figures_extra as fx
from qbc_theory.model.errors import AssumptionError, SpecError
from qbc_theory.verification.runner import builtin_spec_paths, load_spec

SPECS = {p.stem: p for p in builtin_spec_paths()}
EXAMPLE = dict(A=0.5, B=1.0, K=1.0, delta=0.01)


def _tvc(s, H, seeds=6, trajectories=4000, entropy=7, **over):
    params = dict(EXAMPLE, smoothing=s, H=H, trajectories=trajectories, reward_scale=1.0, **over)
    return fx.tvc_blowup_cell(params, seeds, np.random.SeedSequence(entropy))


def _mean_se(values):
    v = np.asarray(values, dtype=float)
    return v.mean(), v.std(ddof=1) / math.sqrt(v.size)


# --------------------------------------------------------------------------------------------
# closed forms


def test_folded_normal_mean_matches_scipy_and_the_degenerate_case():
    mu = np.array([-1.3, 0.0, 0.02, 4.0])
    sigma = np.array([0.7, 1.0, 0.1, 0.5])
    expected = scipy.stats.foldnorm.mean(np.abs(mu) / sigma, scale=sigma)
    np.testing.assert_allclose(fx.folded_normal_mean(mu, sigma), expected, rtol=1e-10, atol=0)
    np.testing.assert_allclose(fx.folded_normal_mean([-0.3, 2.0], [0.0, 0.0]), [0.3, 2.0], rtol=0, atol=1e-15)


def test_tvc_gap_law_by_the_variance_recursion():
    A, B, K, d, s, H = 0.5, 2.0, 0.6, 0.03, 0.2, 9
    M = A + B * K
    mean, var = 0.0, 0.0
    for _ in range(H):  # e+ = M e + B d - s B |K| z
        mean, var = M * mean + B * d, M * M * var + (s * B * K) ** 2
    got = fx.tvc_gap_law(A, B, K, d, s, H)
    assert got[0] == pytest.approx(mean, rel=1e-12)
    assert got[1] == pytest.approx(math.sqrt(var), rel=1e-12)
    c = constructions.lipschitz_example(A=[[A]], B=[[B]], K=[[K]], delta=[d])
    assert got[0] == pytest.approx(float(constructions.lipschitz_state_gap(c, H)[0]), rel=1e-12)
    assert fx.tvc_gap_law(A, B, K, d, 0.0, H)[1] == 0.0


def test_progress_regret_exact_by_hand():
    # x*_1 = 0 (no regret), x*_2 = B delta = 0.01, x*_3 = 1.5 * 0.01 + 0.01 = 0.025
    assert fx.progress_regret_exact(0.5, 1.0, 1.0, 0.01, 1.0, 1) == pytest.approx(0.0, abs=1e-15)
    assert fx.progress_regret_exact(0.5, 1.0, 1.0, 0.01, 1.0, 3) == pytest.approx(0.035, rel=1e-12)
    # the clip caps each step's regret at 1/2
    assert fx.progress_regret_exact(0.5, 1.0, 1.0, 10.0, 1.0, 5) == pytest.approx(2.0, rel=1e-12)


# --------------------------------------------------------------------------------------------
# figure 6 cell


def test_tvc_gap_matches_its_closed_form_and_not_a_wrong_one():
    H, s = 12, 0.1
    out = _tvc(s, H)
    m, se = _mean_se(out["gap"])
    assert abs(m - out["gap_closed_form"]) <= 4 * se
    # the same check against the law of another smoothing scale fails: it has teeth
    wrong = float(fx.folded_normal_mean(*fx.tvc_gap_law(0.5, 1.0, 1.0, 0.01, 2 * s, H)))
    assert abs(m - wrong) > 4 * se
    # the gap grows at the closed loop's rate whatever the smoothing: over 4 more steps by ~ 1.5^4
    later = _tvc(s, H + 4, entropy=8)
    m4, se4 = _mean_se(later["gap"])
    assert later["gap_closed_form"] / out["gap_closed_form"] == pytest.approx(1.5**4, rel=0.01)
    ratio_se = (m4 / m) * math.hypot(se / m, se4 / m4)
    assert abs(m4 / m - later["gap_closed_form"] / out["gap_closed_form"]) <= 4 * ratio_se
    assert out["rho_closed_loop"] == pytest.approx(1.5, rel=1e-12)
    assert out["gap_lipschitz"] == pytest.approx(2 * 0.01 * (1.5**H - 1), rel=1e-12)


def test_tvc_regret_equals_the_lipschitz_learners_and_prop4_is_evaluated_from_eps_reg():
    H, s = 10, 0.1
    out = _tvc(s, H)
    np.testing.assert_allclose(out["regret_lipschitz"], out["regret_closed_form"], rtol=1e-12, atol=1e-12)
    m, se = _mean_se(out["regret"])
    assert se > 0 and abs(m - out["regret_closed_form"]) <= 4 * se
    # the training error: E|delta - s z| per step, on the expert's states
    e, e_se = _mean_se(out["eps_reg"])
    assert abs(e - float(fx.folded_normal_mean(0.01, s))) <= 4 * e_se
    g = out["C"] / (1 - out["eta"])
    expected = [out["kappa"] * g * H**2 * v + out["L_r"] * (1 + g) * H * v for v in out["eps_reg"]]
    np.testing.assert_allclose(out["prop4"], expected, rtol=1e-12, atol=0)
    assert out["kappa"] == pytest.approx(1 / (2 * s), rel=1e-15)
    # valid and vacuous: kappa eps_reg >= E|z|/2 ~ 0.4, so the H^2 term alone exceeds H
    assert min(out["prop4"]) > H


def test_tvc_cell_is_deterministic_and_refuses_bad_instances():
    a, b = _tvc(0.05, 4, seeds=2, trajectories=50), _tvc(0.05, 4, seeds=2, trajectories=50)
    assert a == b
    assert _tvc(0.05, 4, seeds=2, trajectories=50, entropy=8)["gap"] != a["gap"]
    with pytest.raises(AssumptionError, match="rho"):
        fx.tvc_blowup_cell(dict(EXAMPLE, A=1.2, smoothing=0.1, H=4, trajectories=10, reward_scale=1.0), 2,
                           np.random.SeedSequence(0))
    with pytest.raises(SpecError, match="scalar"):
        fx.tvc_blowup_cell(dict(EXAMPLE, A=[[0.5]], smoothing=0.1, H=4, trajectories=10, reward_scale=1.0), 2,
                           np.random.SeedSequence(0))
    with pytest.raises(SpecError, match="reward_scale"):
        fx.tvc_blowup_cell(dict(EXAMPLE, smoothing=0.1, H=4, trajectories=10), 2, np.random.SeedSequence(0))
    with pytest.raises(ValueError, match="smoothing"):
        fx.tvc_blowup_cell(dict(EXAMPLE, smoothing=0.0, H=4, trajectories=10, reward_scale=1.0), 2,
                           np.random.SeedSequence(0))


# --------------------------------------------------------------------------------------------
# figure 7 cell


def _eps(eps_q, n=64, H=5, seeds=8, datasets=16, entropy=3):
    params = dict(eps_q=eps_q, H=H, n=n, datasets=datasets, k=3.0, delta=0.05)
    return fx.thm8_eps_cell(params, seeds, np.random.SeedSequence(entropy))


def test_thm8_eps_regret_matches_the_exact_expectation():
    H, n, eps_q = 5, 64, 1 / 16
    out = _eps(eps_q, n=n, H=H)
    # truth a: BC never picks pi^b and plays q(0) = eps_q at both atoms
    np.testing.assert_allclose(out["regret_a"], H * eps_q, rtol=1e-12, atol=0)
    assert all(w == 0.0 for w in out["wrong_a"])
    m, se = _mean_se(out["regret_avg"])
    assert se > 0 and abs(m - out["regret_avg_exact"]) <= 4 * se
    # BC errs under truth b exactly when no trajectory starts at x_1 = 1
    w, w_se = _mean_se(out["wrong_b"])
    assert abs(w - (1 - 1 / (3 * n)) ** n) <= 4 * w_se
    assert out["bins"] == 8.0 and out["eps_sup"] == pytest.approx(eps_q, rel=1e-12)


def test_thm8_binned_lecam_by_brute_force_and_the_bounds_order():
    H, n = 5, 64
    d = 1 / (3 * n)
    grid = np.linspace(0.0, 1.0, 401)
    for K in (2, 8, 32):
        s = 1 / (2 * K)
        u0, u1 = np.meshgrid(grid, grid)
        total = H * ((1 - d) * (np.abs(u0) + np.abs(u0 - s)) + d * (np.abs(u1) + np.abs(u1 - (1 - s))))
        brute = (1 - d) ** n * total.min() / 2  # overlap (1 - TV) times the smallest sum, halved
        assert fx.thm8_binned_lecam(H, n, s) == pytest.approx(brute, rel=1e-9)
    out = _eps(1 / 32, seeds=2)
    assert out["bound"] == pytest.approx(float(bounds.get("thm8").evaluate(H=5, n=64, eps_q=1 / 32)), rel=1e-12)
    assert out["bound"] <= out["bound_lecam"] <= out["regret_avg_exact"] <= out["upper_trivial"] == 5.0
    # Theorem 3 on this instance: L Gamma (k + 1) >= k - 2, so its H^2 term is on and it exceeds H
    assert out["upper_thm3"] > 5.0**2


def test_thm8_eps_refuses_an_eps_q_that_is_not_half_a_bin():
    with pytest.raises(AssumptionError, match="1/\\(2K\\)"):
        _eps(0.3, seeds=1)
    with pytest.raises(AssumptionError, match="1/\\(2K\\)"):
        _eps(1 / 30 + 1e-6, seeds=1)
    with pytest.raises(AssumptionError):
        _eps(0.5, seeds=1)  # K = 1: a single bin, the experts never separate


# --------------------------------------------------------------------------------------------
# the built-in specs


def test_builtin_specs_are_the_figures_instances():
    tvc, lip = load_spec(SPECS["fig6.tvc"]), load_spec(SPECS["lipschitz.exp"])
    assert tvc.cell == "figures.tvc_blowup" and tvc.grid["H"] == lip.grid["H"]
    for k in ("A", "B", "K", "delta"):
        assert tvc.params[k] == lip.params[k]
    assert all(s > 0 for s in tvc.grid["smoothing"])
    eps = load_spec(SPECS["fig7.eps"])
    assert eps.cell == "figures.thm8_eps"
    for v in eps.grid["eps_q"]:
        K = round(1 / (2 * v))
        assert K >= 2 and math.isclose(1 / (2 * K), v, rel_tol=1e-12)
    assert fx.CLAIMS == ()


def test_every_cell_of_the_specs_runs_at_tiny_size():
    for sid in ("fig6.tvc", "fig7.eps"):
        spec = load_spec(SPECS[sid])
        names = list(spec.grid)
        for values in itertools.islice(itertools.product(*(spec.grid[k] for k in names)), 2):
            params = dict(spec.params, **dict(zip(names, values)))
            cell = fx.tvc_blowup_cell if sid == "fig6.tvc" else fx.thm8_eps_cell
            params.update({"trajectories": 20} if sid == "fig6.tvc" else {"datasets": 2})
            out = cell(params, 2, np.random.SeedSequence(1))
            assert all(np.all(np.isfinite(v)) for v in out.values())
