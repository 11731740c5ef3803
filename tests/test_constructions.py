"""The paper's constructions reproduce their own laws and mechanisms in simulation."""

import math

import numpy as np
import pytest

from qbc_theory.engine.constructions import (
    BernoulliPolicy,
    TargetPolicy,
    lipschitz_example,
    lipschitz_state_gap,
    theorem8,
    theorem9,
    trap_loop,
    trap_loop_lower_bound,
)
from qbc_theory.model.errors import AssumptionError, DimensionError
from qbc_theory.model.quantizers import UniformBinning
from qbc_theory.engine.rollout import (
    QuantizedPolicy,
    collect,
    deployment_error,
    draw_noise,
    in_distribution_error,
    regret,
    rollout,
)


def gen(seed=11):
    return np.random.default_rng(np.random.SeedSequence(seed))


# --- Theorem 6 ------------------------------------------------------------------------------------

@pytest.mark.parametrize("noisy", [False, True], ids=["deterministic", "noisy"])
def test_trap_loop_cycles_in_the_noiseless_dynamics(noisy):
    c = trap_loop(0.01, noisy=noisy)
    ip, t1, t2 = c.quantizer.intervals
    # noisy variant: the left end of I_T2 maps exactly onto the left end of I_P, so rounding can
    # push that single point out; the interior of I_P is used there
    shrink = 0.95 if noisy else 1.0
    x0 = np.linspace(shrink * ip[0], shrink * ip[1], 41)[:, None]
    traj = rollout(c.system, c.learner, c.reward, 12, x0, None, None)
    regions = c.quantizer.region(traj.states[..., 0])
    # deterministic: I_P -> I_T1 -> I_T2 -> I_T1 -> ...; noisy: I_P -> I_T1 -> I_T2 -> I_P -> ...
    if noisy:
        expected = [h % 3 for h in range(12)]
    else:
        expected = [0] + [1 + (h - 1) % 2 for h in range(1, 12)]
    assert np.all(regions == np.array(expected)[:, None])
    # the expert, by contrast, is never trapped from I_P (its states contract towards 0)
    expert_traj = rollout(c.system, c.expert, c.reward, 12, x0, None, None)
    assert np.all(c.quantizer.region(expert_traj.states[1:, :, 0]) != 1)


def test_trap_quantizer_deployment_error_stays_large_while_in_distribution_error_shrinks():
    horizon, batch = 100, 2000
    ins, deps = [], []
    for eps in (0.1, 0.01, 0.001):
        c = trap_loop(eps)
        est = regret(c.system, c.expert, c.learner, c.reward, horizon, batch, gen(), quantizer=c.quantizer)
        ins.append((est.in_distribution_error, est.in_distribution_error_se))
        deps.append((est.deployment_error, est.deployment_error_se))
        # the proof's explicit lower bound holds in simulation
        assert est.mean >= trap_loop_lower_bound(c, horizon) - 4 * est.se
    # in distribution: shrinks by well over 5x over two decades of eps (c1 eps + c2/H, THEORY.md slip 3)
    assert ins[-1][0] + 4 * ins[-1][1] < ins[0][0] / 5
    # deployment: at least A = 0.2 per step on average, whatever eps
    for mean, se in deps:
        assert mean - 4 * se > 0.2
    # the control: a binning quantizer of the same resolution has deployment error O(eps)
    for eps in (0.1, 0.01, 0.001):
        c = trap_loop(eps)
        q = UniformBinning(-math.pi / 2, math.pi / 2, int(math.ceil(math.pi / eps)))
        dep = deployment_error(c.system, c.expert, QuantizedPolicy(c.expert, q), q, horizon, 500, gen())
        assert dep.mean <= q.eps_sup + 1e-12


def test_noisy_trap_loop_regret_is_linear_in_h():
    # the noisy variant traps a constant fraction of the time: regret / H does not fall with H
    c = trap_loop(0.001, noisy=True)
    per_step = []
    for horizon in (50, 200):
        est = regret(c.system, c.expert, c.learner, c.reward, horizon, 1000, gen(), quantizer=c.quantizer)
        per_step.append((est.mean / horizon, est.se / horizon))
        assert est.in_distribution_error < 0.05
    assert per_step[1][0] > per_step[0][0] - 4 * math.hypot(per_step[0][1], per_step[1][1])
    assert per_step[1][0] > 0.1


def test_trap_loop_rejects_the_papers_printed_constants():
    # THEORY.md section 9, slip 1: (A, B, k, d) = (0.2, 0.3, 1, 0.6) violates k/2 > B/(1 - lambda)
    with pytest.raises(AssumptionError, match="k/2"):
        trap_loop(0.01, A=0.2, B=0.3, k=1.0, d=0.6)
    trap_loop(0.01, A=0.2, B=0.3, k=2.0, d=1.2)
    with pytest.raises(AssumptionError, match="sigma_w"):
        trap_loop(0.01, sigma_w=0.1)
    with pytest.raises(DimensionError):
        trap_loop_lower_bound(trap_loop(0.01, noisy=True), 10)


# --- Theorem 8 ------------------------------------------------------------------------------------

def test_theorem8_initial_law_and_returns():
    n, horizon, batch = 4, 6, 40000
    c = theorem8(n, variant="b")
    delta = 1 / (3 * n)
    noise = draw_noise(c.system, horizon, batch, 1, gen())
    freq = noise.x0[:, 0].mean()
    assert set(np.unique(noise.x0)) <= {0.0, 1.0}
    assert freq == pytest.approx(delta, abs=4 * math.sqrt(delta * (1 - delta) / batch))
    traj = rollout(c.system, c.expert, c.reward, horizon, noise.x0, noise.w, noise.z)
    # the expert is optimal: r_1 = 1, the state becomes 1 and stays, the return is H
    np.testing.assert_array_equal(traj.returns, np.full(batch, float(horizon)))
    np.testing.assert_array_equal(traj.states[1:], np.ones((horizon - 1, batch, 1)))


def test_theorem8_learner_that_never_saw_x1_pays_delta_h():
    # a learner that plays 0 everywhere (what it sees at x = 0) is exact on instance a and loses
    # H at x = 1 on instance b: regret H Delta
    n, horizon, batch = 5, 7, 40000
    zero = TargetPolicy(lambda x: np.zeros_like(x), 0.0)
    a, b = theorem8(n, variant="a"), theorem8(n, variant="b")
    ra = regret(a.system, a.expert, zero, a.reward, horizon, batch, gen())
    rb = regret(b.system, b.expert, zero, b.reward, horizon, batch, gen())
    assert ra.mean == 0.0
    delta = 1 / (3 * n)
    assert rb.mean == pytest.approx(horizon * delta, abs=4 * rb.se)
    assert rb.se == pytest.approx(horizon * math.sqrt(delta * (1 - delta) / batch), rel=0.05)


def test_theorem8_data_differ_only_through_x1_equal_one():
    n, reps = 6, 3000
    a, b = theorem8(n, variant="a"), theorem8(n, variant="b")
    da = collect(a.system, a.expert, a.quantizer, n * reps, 3, gen())
    db = collect(b.system, b.expert, b.quantizer, n * reps, 3, gen())
    x1 = da.states[:, 0, 0]
    np.testing.assert_array_equal(x1, db.states[:, 0, 0])
    same = da.tokens[:, 0] == db.tokens[:, 0]
    np.testing.assert_array_equal(same, x1 == 0.0)
    # a data set of n trajectories reveals the instance iff some x_1 = 1, so the two data laws are at
    # total variation exactly 1 - (1 - Delta)^n
    seen = (x1.reshape(reps, n) == 1.0).any(axis=1).mean()
    exact = 1 - (1 - 1 / (3 * n)) ** n
    assert seen == pytest.approx(exact, abs=4 * math.sqrt(exact * (1 - exact) / reps))
    # the proof's Hellinger bound sqrt(2) sqrt(1 - (1 - Delta)^n) is above it and, at this n, below the
    # paper's 0.8 (at n = 1 it is sqrt(2/3) > 0.8: the 0.8 is a large-n statement)
    assert exact < math.sqrt(2 * exact) <= 0.8


def test_theorem8_binned_pair_is_indistinguishable_at_zero_and_costs_h_eps_q():
    n, bins, horizon, batch = 10, 8, 5, 4000
    a = theorem8(n, variant="a", bins=bins)
    b = theorem8(n, variant="b", bins=bins)
    s = a.params["shift"]
    assert s == pytest.approx(1 / (2 * bins), rel=1e-15)
    x = np.array([[0.0], [1.0]])
    ta, tb = a.quantizer.encode(a.expert.act(x, h=1)), b.quantizer.encode(b.expert.act(x, h=1))
    assert ta[0] == tb[0] and ta[1] != tb[1]
    for u in (0.0, s / 3, s, 1 / (2 * bins), 0.3):
        learner = TargetPolicy(lambda v, u=u: np.full_like(v, u), 0.0)
        ra = regret(a.system, a.expert, learner, a.reward, horizon, batch, gen())
        rb = regret(b.system, b.expert, learner, b.reward, horizon, batch, gen())
        x1 = draw_noise(a.system, horizon, batch, 1, gen()).x0[:, 0]
        # per trajectory: regret_a + regret_b >= H s on x_1 = 0, whatever the action
        assert np.all(ra.differences + rb.differences >= horizon * s * (x1 == 0.0) - 1e-12)
    # control: a learner that can tell the instances apart (the expert itself) pays nothing
    assert regret(a.system, a.expert, a.expert, a.reward, horizon, batch, gen()).mean == 0.0
    with pytest.raises(AssumptionError, match="shift"):
        theorem8(n, bins=bins, shift=1 / bins)


# --- Theorem 9 ------------------------------------------------------------------------------------

def test_theorem9_expert_laws_and_returns():
    n, horizon, batch = 16, 5, 40000
    c = theorem9(n, expert="a")
    delta = 0.2 / math.sqrt(n)
    noise = draw_noise(c.system, horizon, batch, 1, gen())
    traj = rollout(c.system, c.expert, c.reward, horizon, noise.x0, noise.w, noise.z)
    u1 = traj.actions[0, :, 0]
    assert set(np.unique(u1)) <= {0.0, 1.0}
    p = 0.5 + delta
    se = math.sqrt(p * (1 - p) / batch)
    assert u1.mean() == pytest.approx(p, abs=4 * se)
    # the state copies the first action and the return is H u_1 (H (1 - u_1) for reward b)
    np.testing.assert_array_equal(traj.states[1:, :, 0], np.broadcast_to(u1, (horizon - 1, batch)))
    np.testing.assert_array_equal(traj.returns, horizon * u1)
    mismatched = theorem9(n, expert="a", reward="b")
    tm = rollout(mismatched.system, mismatched.expert, mismatched.reward, horizon, noise.x0, noise.w, noise.z)
    np.testing.assert_array_equal(tm.returns, horizon * (1 - u1))
    # the mirror expert, on the same draws, is coupled monotonically below expert a
    b = theorem9(n, expert="b")
    ub = rollout(b.system, b.expert, b.reward, horizon, noise.x0, noise.w, noise.z).actions[0, :, 0]
    assert np.all(ub <= u1)
    assert ub.mean() == pytest.approx(0.5 - delta, abs=4 * se)


def test_theorem9_regret_between_mismatched_experts_is_2_delta_h():
    n, horizon, batch = 9, 6, 40000
    a, b = theorem9(n, expert="a"), theorem9(n, expert="b")
    est = regret(a.system, a.expert, b.expert, a.reward, horizon, batch, gen())
    delta = a.params["Delta"]
    assert est.mean == pytest.approx(2 * delta * horizon, abs=4 * est.se)
    with pytest.raises(AssumptionError):
        theorem9(1, c=0.9)
    with pytest.raises(DimensionError):
        BernoulliPolicy(0.5).act(np.zeros((2, 1)), None)


# --- the Lipschitz-learner example -----------------------------------------------------------------

def _simulated_gaps(c, horizons):
    gaps = []
    for horizon in horizons:
        noise = draw_noise(c.system, horizon, 50, 1, gen())
        te = rollout(c.system, c.expert, c.reward, horizon, noise.x0, noise.w, noise.z)
        tl = rollout(c.system, c.learner, c.reward, horizon, noise.x0, noise.w, noise.z)
        gap = te.final_states - tl.final_states
        np.testing.assert_allclose(gap, np.broadcast_to(lipschitz_state_gap(c, horizon), gap.shape), rtol=1e-9,
                                   atol=1e-12)
        gaps.append(np.linalg.norm(gap[0]))
    return np.array(gaps)


def test_lipschitz_example_state_gap_grows_geometrically():
    c = lipschitz_example(noise_std=0.1)
    assert c.params["rho_A"] < 1 < c.params["rho_closed_loop"]
    horizons = np.arange(10, 41, 5)
    gaps = _simulated_gaps(c, horizons)
    slope = np.polyfit(horizons, np.log(gaps), 1)[0]
    assert slope == pytest.approx(math.log(c.params["rho_closed_loop"]), abs=0.01)
    # yet the training error is delta per step: the tracking regret is exactly H delta
    est = regret(c.system, c.expert, c.learner, c.reward, 20, 100, gen())
    assert est.mean == pytest.approx(20 * 0.01, abs=1e-12)


def test_lipschitz_example_control_with_a_stable_closed_loop_stays_bounded():
    c = lipschitz_example(K=-0.2, noise_std=0.1)
    assert c.params["rho_closed_loop"] < 1
    horizons = np.arange(10, 41, 5)
    gaps = _simulated_gaps(c, horizons)
    slope = np.polyfit(horizons, np.log(gaps), 1)[0]
    assert abs(slope) < 1e-3
    M = c.system.A + c.system.B @ c.learner.K
    limit = np.linalg.norm(np.linalg.solve(np.eye(1) - M, c.system.B @ c.expert.offset))
    assert np.all(gaps <= limit + 1e-12)


def test_lipschitz_example_needs_a_stable_open_loop():
    with pytest.raises(AssumptionError, match="rho"):
        lipschitz_example(A=1.1)
    with pytest.raises(TypeError):
        lipschitz_example(gain=1.0)
