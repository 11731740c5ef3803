"""The engine on nonlinear instances: protocol rollouts with common random numbers, the finite
classes of engine/policy_classes.py (realizable, vectorised scores equal a loop), and simulate."""

import numpy as np
import pytest

from conftest import INSTANCES
from qbc_theory.engine import rollout
from qbc_theory.engine.learning import fit_finite, quantized_gaussian_logpmf
from qbc_theory.engine.policy_classes import OutputPolicyClass, TanhPolicyClass, nonlinear_policy_class
from qbc_theory.engine.simulation import default_policy_class, simulate
from qbc_theory.model.dynamics import CallableSystem, LureSystem, pendulum
from qbc_theory.model.errors import AssumptionError
from qbc_theory.model.experts import CallableExpert, MLPExpert, TanhExpert
from qbc_theory.model.instance import load_instance
from qbc_theory.model.quantizers import UniformBinning, encode_actions
from qbc_theory.model.rewards import RegulationReward, StateReward

Q = UniformBinning(-1.0, 1.0, 16)
SYS = LureSystem([[0.9, 0.2], [0.0, 0.7]], [[0.0], [1.0]], [[0.0], [0.3]], [[1.0, 0.0]], "tanh",
                 noise_std=0.05, x0_mean=[1.0, 0.0], x0_std=0.3)


def test_lure_rollout_equals_a_hand_loop_on_the_same_noise():
    expert = TanhExpert([[-0.3, -0.4]], scale=0.5, noise_std=0.1)
    reward = StateReward([-0.5, 0.0], 0.5)
    nz = rollout.draw_noise(SYS, 20, 300, 1, np.random.default_rng(3))
    traj = rollout.rollout(SYS, expert, reward, 20, nz.x0, nz.w, nz.z)
    x, ret = nz.x0.copy(), np.zeros(300)
    for h in range(20):
        u = 0.5 * np.tanh((x @ np.array([[-0.3], [-0.4]])) / 0.5) + 0.1 * nz.z[h]
        ret += np.clip(0.5 - 0.5 * x[:, 0], 0, 1)
        x = x @ SYS.A.T + u @ SYS.B.T + np.tanh(x @ SYS.C.T) @ SYS.G.T + nz.w[h]
    np.testing.assert_allclose(traj.returns, ret, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("system", [SYS, pendulum(0.05, 9.81, 0.5, 5.0, noise_std=0.05, x0_mean=[1.0, 0.0]),
                                    CallableSystem(lambda x, u, w: 0.8 * np.sin(x) + u + w, 1, 1, noise_std=0.1)])
def test_common_random_numbers_make_identical_policies_tie_exactly(system):
    du, dx = system.du, system.dx
    expert = TanhExpert(-0.3 * np.ones((du, dx)), scale=0.5, noise_std=0.2)
    twin = TanhExpert(-0.3 * np.ones((du, dx)), scale=0.5, noise_std=0.2)
    est = rollout.regret(system, expert, twin, RegulationReward(2.0), 15, 2048, np.random.default_rng(0))
    assert est.mean == 0.0 and est.se == 0.0
    # without the coupling the same two policies differ run by run: the check above can fail
    a = rollout.evaluate(system, expert, RegulationReward(2.0), 15, 2048, np.random.default_rng(0))
    b = rollout.evaluate(system, twin, RegulationReward(2.0), 15, 2048, np.random.default_rng(1))
    assert a.mean != b.mean


def _expert_data(system, expert, n=40, H=20, seed=0):
    return rollout.collect(system, expert, Q, n, H, np.random.default_rng(seed))


@pytest.mark.parametrize("noise_std", [0.0, 0.1])
def test_tanh_class_contains_the_expert_and_its_scores_equal_a_loop(noise_std):
    expert = TanhExpert([[-0.3, -0.4]], scale=0.5, noise_std=noise_std)
    pc = TanhPolicyClass.around(expert, Q, grid_radius=1, scale_radius=1)
    j = pc.expert_index
    x = np.random.default_rng(1).normal(size=(500, 2))
    z = np.random.default_rng(2).normal(size=(500, 1))
    np.testing.assert_array_equal(pc.candidate(j).act(x, z), Q(expert.act(x, z)))
    data = _expert_data(SYS, expert)
    scores = pc.scores(data.states, data.tokens, chunk=97)
    states = data.states.reshape(-1, 2)
    tokens = data.tokens.reshape(-1)
    for k in range(pc.size):
        cand = pc.candidate(k)
        if noise_std == 0:
            want = -np.count_nonzero(encode_actions(Q, cand.mean(states)) != tokens)
        else:
            want = quantized_gaussian_logpmf(cand.mean(states), cand.noise_std, tokens, Q).sum()
        assert scores[k] == pytest.approx(want, rel=1e-10, abs=1e-9)
    fit = fit_finite(pc, data.states, data.tokens)
    if noise_std == 0:
        assert scores[j] == 0 and fit.scores[fit.index] == 0  # realizable: q#pi* reproduces every token
    else:
        assert scores[j] >= scores.max() - 50  # the expert is near the top of the likelihood


def test_a_class_without_the_expert_mismatches():
    expert = TanhExpert([[-0.3, -0.4]], scale=0.5)
    far = TanhPolicyClass.around(TanhExpert([[0.3, 0.4]], scale=0.5), Q, grid_radius=1, scale_radius=1)
    data = _expert_data(SYS, expert)
    assert far.scores(data.states, data.tokens).max() < 0


@pytest.mark.parametrize("noise_std", [0.0, 0.1])
def test_output_class_for_an_mlp_contains_the_expert(noise_std):
    inst = load_instance(INSTANCES / "mlp_sat.toml")
    expert = MLPExpert(inst.expert.layers, noise_std=noise_std)
    q = inst.quantizer
    pc = OutputPolicyClass.around(expert, q, grid_radius=1)
    data = rollout.collect(inst.system, expert, q, 30, 20, np.random.default_rng(5))
    scores = pc.scores(data.states, data.tokens, chunk=50)
    states, tokens = data.states.reshape(-1, 2), data.tokens.reshape(-1)
    for k in range(0, pc.size, 7):
        cand = pc.candidate(k)
        want = (-np.count_nonzero(encode_actions(q, cand.mean(states)) != tokens) if noise_std == 0 else
                quantized_gaussian_logpmf(cand.mean(states), cand.noise_std, tokens, q).sum())
        assert scores[k] == pytest.approx(want, rel=1e-10, abs=1e-9)
    if noise_std == 0:
        assert scores[pc.expert_index] == 0
        assert np.count_nonzero(scores == 0) < pc.size  # other candidates do mismatch


def test_callable_expert_classes():
    det = CallableExpert(lambda x, z: -0.5 * np.tanh(x @ np.array([[1.0], [0.5]])), 1, dx=2)
    pc = nonlinear_policy_class(det, Q, grid_radius=1)
    data = _expert_data(SYS, det)
    assert pc.scores(data.states, data.tokens)[pc.expert_index] == 0
    sto = CallableExpert(lambda x, z: -0.5 * x[:, :1] + z, 1, deterministic=False)
    with pytest.raises(AssumptionError, match="stochastic callable"):
        nonlinear_policy_class(sto, Q)


def test_simulate_uses_the_finite_class_and_reproduces():
    inst = load_instance(INSTANCES / "lure_tanh.toml")
    pc = default_policy_class(inst)
    assert isinstance(pc, TanhPolicyClass)
    a = simulate(inst, seeds=2, eval_trajectories=500)
    b = simulate(inst, seeds=2, eval_trajectories=500)
    assert a.learner == "finite" and a.regret == b.regret
    assert all(s.learner["mismatches"] == 0 for s in a.per_seed)  # the MLE is consistent with every token
    mlp = load_instance(INSTANCES / "mlp_sat.toml")
    r = simulate(mlp, eval_trajectories=500)
    assert r.learner == "finite" and r.per_seed[0].learner["mismatches"] == 0


def test_simulate_learner_expert_on_the_pendulum():
    inst = load_instance(INSTANCES / "pendulum_tanh.toml")
    r = simulate(inst, learner="expert", eval_trajectories=500)
    assert np.isfinite(r.regret) and r.ci[0] <= r.regret <= r.ci[1]


def test_simulate_reports_the_class_it_searched():
    inst = load_instance(INSTANCES / "lure_tanh.toml")
    r = simulate(inst, eval_trajectories=100).to_dict()["policy_class"]
    assert r["exact"] == default_policy_class(inst).size == 7**2 * 5 and r["used"]
    assert "contains q#pi*" in r["description"]


@pytest.mark.parametrize("path", ["lure_tanh.toml", "pendulum_tanh.toml", "mlp_sat.toml"])
def test_checker_counts_the_class_the_engine_builds(path):
    """One definition of Pi: model.policy_class counts exactly the class engine.policy_classes builds."""
    from pathlib import Path

    from qbc_theory.engine.policy_classes import nonlinear_policy_class
    from qbc_theory.model.instance import load_instance
    from qbc_theory.model.policy_class import policy_class_size

    inst = load_instance(Path(__file__).resolve().parents[1] / "experiments" / "instances" / path)
    built = nonlinear_policy_class(inst.expert, inst.quantizer)
    counted = policy_class_size(inst.expert)
    assert counted.size == built.size and counted.enumerable
    # a different cap changes both the same way
    cap = built.size - 1
    small = nonlinear_policy_class(inst.expert, inst.quantizer, max_candidates=cap)
    assert policy_class_size(inst.expert, max_candidates=cap).size == small.size < built.size
