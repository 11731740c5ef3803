"""simulate(): train on quantized expert data, deploy with the shared-noise coupling, report regret."""

import json

import numpy as np
import pytest

from qbc_theory import learning as L
from qbc_theory import rollout
from qbc_theory.model.errors import AssumptionError, DimensionError
from qbc_theory.model.instance import instance_from_dict
from qbc_theory.engine.simulation import simulate

CONTRACT_KEYS = {"regret", "ci", "in_distribution_error", "deployment_error", "n", "seeds", "seconds"}


def _linear(quantizer=None, expert_noise=0.0, system_noise=0.0, horizon=20, n=60):
    return instance_from_dict({
        "system": {"A": [[0.9, 0.2], [0.0, 0.7]], "B": [[0.0], [1.0]], "noise_std": system_noise, "x0_std": 1.0},
        "expert": {"kind": "linear", "K": [[-0.1, -0.3]], "noise_std": expert_noise},
        "quantizer": quantizer or {"kind": "binning", "low": -2.0, "high": 2.0, "bins": 32},
        "reward": {"kind": "tracking", "scale": 1.0},
        "run": {"horizon": horizon, "n": n, "seed": 5},
    }, name="test_linear")


def _trap(eps, horizon=30):
    return instance_from_dict({
        "system": {"A": [[0.2]], "B": [[0.25]], "noise_std": 0.0, "x0_std": 1.0},
        "expert": {"kind": "arctan"},
        "quantizer": {"kind": "trap", "variant": "deterministic", "k": 1.0, "d": 0.6, "eps": eps},
        "run": {"horizon": horizon, "n": 40},
    }, name="test_trap")


def _strip_time(d):
    return {k: v for k, v in d.items() if k != "seconds"}


def test_json_has_the_contract_keys_and_is_strict_json():
    res = simulate(_linear(), seeds=2, eval_trajectories=200)
    d = res.to_dict()
    assert CONTRACT_KEYS <= set(d)
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert isinstance(back["n"], int) and back["n"] == 60 and back["seeds"] == 2
    assert len(back["ci"]) == 2 and back["ci"][0] <= back["regret"] <= back["ci"][1]
    assert back["seconds"] > 0
    assert "regret" in res.format_text() and "CI" in res.format_text()


def test_same_seed_is_bit_identical_and_another_seed_differs():
    inst = _linear(expert_noise=0.2, system_noise=0.05)
    a = simulate(inst, n=30, seeds=2, rng=11, eval_trajectories=100)
    b = simulate(inst, n=30, seeds=2, rng=11, eval_trajectories=100)
    c = simulate(inst, n=30, seeds=2, rng=12, eval_trajectories=100)
    assert json.dumps(_strip_time(a.to_dict())) == json.dumps(_strip_time(b.to_dict()))
    assert a.regret != c.regret
    ss = np.random.SeedSequence(99)
    first = simulate(inst, n=30, rng=ss, eval_trajectories=100)
    again = simulate(inst, n=30, rng=ss, eval_trajectories=100)  # the caller's SeedSequence is not consumed
    assert first.regret == again.regret


def test_ci_method_depends_on_the_number_of_seeds():
    inst = _linear(expert_noise=0.2, system_noise=0.05)
    one = simulate(inst, n=30, seeds=1, eval_trajectories=300)
    assert one.ci_method.startswith("normal")
    np.testing.assert_allclose(one.ci[1] - one.regret, 1.959964 * one.per_seed[0].regret_se, rtol=1e-5, atol=0)
    three = simulate(inst, n=30, seeds=3, eval_trajectories=300)
    assert three.ci_method.startswith("t")
    regrets = np.array([s.regret for s in three.per_seed])
    np.testing.assert_allclose(three.regret, regrets.mean(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(three.ci[1] - three.regret, 4.302653 * regrets.std(ddof=1) / np.sqrt(3),
                               rtol=1e-5, atol=1e-15)


def test_deterministic_expert_with_binning_has_deployment_error_of_order_eps_q():
    """The learned quantized policy's executed action stays within eps_q of the expert's action at
    the states it visits (the fit recovers the expert's gain), for every bin width."""
    gaps, eps = [], []
    for bins in (16, 64, 256):
        inst = _linear({"kind": "binning", "low": -2.0, "high": 2.0, "bins": bins})
        q = inst.quantizer
        res = simulate(inst, eval_trajectories=300)
        assert res.deployment_error <= q.eps_sup + 1e-12
        assert res.per_seed[0].learner["gain_error"] == pytest.approx(0.0, abs=1e-12)
        data = rollout.collect(inst.system, inst.expert, q, inst.n, inst.horizon, np.random.default_rng(1))
        fit = L.fit_finite(L.LinearPolicyClass(L.gain_grid(inst.expert.K, 0.05, 3)[0], q), data.states, data.tokens)
        nz = rollout.draw_noise(inst.system, inst.horizon, 300, 1, np.random.default_rng(2))
        traj = rollout.rollout(inst.system, fit.policy, inst.reward, inst.horizon, nz.x0, nz.w, nz.z)
        gap = np.linalg.norm(traj.actions - traj.states @ inst.expert.K.T, axis=-1).max()
        assert gap <= q.eps_sup + 1e-12
        gaps.append(gap)
        eps.append(q.eps_sup)
    assert gaps[0] > gaps[1] > gaps[2]


def test_trap_quantizer_deployment_error_stays_large_while_in_distribution_error_shrinks():
    """Theorem 6: the learned quantizer is accurate on the expert's states but the deployed
    quantized expert is trapped in I_T1 / I_T2, where the action error is at least A = 0.2."""
    coarse = simulate(_trap(0.04), eval_trajectories=400)
    fine = simulate(_trap(0.005), eval_trajectories=400)
    for res in (coarse, fine):
        assert res.per_seed[0].learner["gain_error"] == pytest.approx(0.0, abs=1e-12)
        assert res.deployment_error > 0.1
        assert res.regret > 0.1 * res.horizon
    assert fine.in_distribution_error < coarse.in_distribution_error
    assert fine.deployment_error > 5 * fine.in_distribution_error
    # control: with the same eps, an ordinary binning of the arctan expert has no such gap
    binned = simulate(instance_from_dict({
        "system": {"A": [[0.2]], "B": [[0.25]], "x0_std": 1.0}, "expert": {"kind": "arctan"},
        "quantizer": {"kind": "binning", "low": -1.6, "high": 1.6, "bins": 320}, "run": {"horizon": 30, "n": 40},
    }), eval_trajectories=400)
    assert binned.deployment_error <= binned.in_distribution_error * 2 + 1e-3


@pytest.mark.parametrize("quantizer", [
    {"kind": "kmeans", "n_codes": 16, "fit_trajectories": 50},
    {"kind": "rvq", "stages": 2, "n_codes": 4, "fit_trajectories": 50},
    {"kind": "binning", "low": -2.0, "high": 2.0, "bins": 33, "decode": "edge"},
])
def test_learned_quantizers_work_with_the_finite_class(quantizer):
    inst = _linear(quantizer)
    res = simulate(inst, eval_trajectories=200, learner="finite")
    summary = res.per_seed[0].learner
    assert summary["kind"] == "finite" and summary["mismatches"] == 0
    # the expert's own quantized policy reproduces every token, so the fit has log-likelihood 0
    assert summary["log_likelihood"] == 0.0
    expert_q = simulate(inst, eval_trajectories=200, learner="expert")
    if summary["gain_error"] == 0.0:
        assert res.regret == expert_q.regret


def test_parametric_learner_on_a_gaussian_expert_is_within_standard_errors():
    inst = _linear(expert_noise=0.2, system_noise=0.05, n=100)
    res = simulate(inst, seeds=2, eval_trajectories=200)
    assert res.learner == "parametric"
    for s in res.per_seed:
        K_hat = np.array(s.learner["K"])
        se = np.array(s.learner["K_se"], dtype=float)
        assert np.all(np.abs(K_hat - inst.expert.K) <= 4 * se)
        assert abs(s.learner["noise_std"] - 0.2) <= 4 * s.learner["noise_std_se"]


def test_gaussian_expert_through_a_scalar_kmeans_codebook_uses_the_parametric_class():
    inst = _linear({"kind": "kmeans", "n_codes": 12, "fit_trajectories": 50}, expert_noise=0.2, n=100)
    res = simulate(inst, eval_trajectories=200)
    s = res.per_seed[0].learner
    assert res.learner == "parametric" and s["converged"]
    assert np.all(np.abs(np.array(s["K"]) - inst.expert.K) <= 4 * np.array(s["K_se"], dtype=float))


def test_parametric_learner_on_a_deterministic_expert_returns_a_consistent_gain():
    inst = _linear()
    res = simulate(inst, learner="parametric", eval_trajectories=200)
    s = res.per_seed[0].learner
    assert s["mismatches"] == 0 and s["margin"] > 0
    ext = np.array(s["extent"], dtype=float)
    assert np.all((ext[..., 0] <= inst.expert.K) & (inst.expert.K <= ext[..., 1]))
    assert s["gain_error"] <= np.linalg.norm(ext[..., 1] - ext[..., 0])


def test_constructions_are_accepted_with_a_horizon():
    from qbc_theory.engine.constructions import trap_loop

    c = trap_loop(0.02, noisy=True)
    res = simulate(c, n=30, horizon=25, eval_trajectories=200)
    assert res.horizon == 25 and res.n == 30 and res.learner == "finite"
    assert res.per_seed[0].learner["mismatches"] == 0
    with pytest.raises(DimensionError, match="horizon"):
        simulate(c, n=30)
    with pytest.raises(DimensionError, match="n:"):
        simulate(c, horizon=10)


def test_other_learners_run():
    inst = _linear(expert_noise=0.2, system_noise=0.05)
    reg = simulate(inst, learner="regression", smoothing=0.1, eval_trajectories=200)
    assert reg.per_seed[0].learner["tvc_slope"] == pytest.approx(5.0, rel=1e-12)
    alg = simulate(_linear(), learner="algorithm1", eval_trajectories=200)
    assert np.isfinite(alg.regret) and alg.per_seed[0].learner["kind"] == "algorithm1"
    exact = simulate(_linear(), learner="expert", eval_trajectories=200)
    fin = simulate(_linear(), learner="finite", eval_trajectories=200)
    assert fin.per_seed[0].learner["gain_error"] == 0.0
    assert fin.regret == exact.regret  # the fit is q#pi* itself: identical coupled runs


def test_bad_requests_raise():
    inst = _linear()
    with pytest.raises(DimensionError, match="learner"):
        simulate(inst, learner="bogus")
    with pytest.raises(AssumptionError, match="arctan"):
        simulate(_trap(0.04), learner="parametric", eval_trajectories=10)
    gauss_dct = _linear({"kind": "dct", "scale": 10.0}, expert_noise=0.2)
    with pytest.raises(AssumptionError, match="dct"):
        simulate(gauss_dct, eval_trajectories=10)
    with pytest.raises(TypeError, match="bogus"):
        simulate(inst, bogus=1)
    with pytest.raises(DimensionError, match="rng"):
        simulate(inst, rng="seed")
    with pytest.raises(DimensionError, match="eval_trajectories"):
        simulate(inst, eval_trajectories=1)
