"""The Monte Carlo engine: shared-noise coupling, exact zeros, chunk invariance, reproducibility."""

import math

import numpy as np
import pytest

from qbc_theory.model.dynamics import LinearSystem
from qbc_theory.model.errors import DimensionError
from qbc_theory.model.experts import LinearExpert
from qbc_theory.model.quantizers import DCTBinning, UniformBinning
from qbc_theory.model.rewards import RegulationReward, TrackingReward
from qbc_theory.engine.rollout import (
    NOISE_BLOCK,
    Dataset,
    QuantizedPolicy,
    action_error,
    collect,
    deployment_error,
    draw_noise,
    evaluate,
    in_distribution_error,
    open_loop,
    regret,
    rollout,
)

SYSTEM = LinearSystem([[0.9, 0.2], [0.0, 0.7]], [[0.0], [1.0]], noise_std=0.1)
K = [[-0.1, -0.3]]
GAUSS = LinearExpert(K, noise_std=0.2)
DET = LinearExpert(K)
Q = UniformBinning(-2.0, 2.0, 16)


def gen(seed=7):
    return np.random.default_rng(np.random.SeedSequence(seed))


# --- exact zero and the coupling ---------------------------------------------------------------

@pytest.mark.parametrize("learner", [GAUSS, LinearExpert(K, noise_std=0.2)], ids=["same-object", "equal-copy"])
def test_exact_learner_has_regret_exactly_zero(learner):
    est = regret(SYSTEM, GAUSS, learner, TrackingReward(GAUSS), 15, 3000, gen())
    assert est.mean == 0.0 and est.se == 0.0
    assert est.ci == (0.0, 0.0)
    assert np.all(est.differences == 0.0)


def test_a_different_learner_has_nonzero_regret():
    # the control for the exact-zero test: a slightly different gain is detected
    est = regret(SYSTEM, DET, LinearExpert([[-0.1, -0.4]]), TrackingReward(DET), 15, 3000, gen())
    assert est.mean > 5 * est.se > 0.0
    assert np.all(est.differences >= 0.0)


def test_regret_is_the_paired_difference_of_rollouts_on_shared_noise():
    learner = QuantizedPolicy(GAUSS, Q)
    reward = TrackingReward(GAUSS)
    est = regret(SYSTEM, GAUSS, learner, reward, 12, 2500, gen())
    noise = draw_noise(SYSTEM, 12, 2500, 1, gen())
    te = rollout(SYSTEM, GAUSS, reward, 12, noise.x0, noise.w, noise.z)
    tl = rollout(SYSTEM, learner, reward, 12, noise.x0, noise.w, noise.z)
    assert np.array_equal(est.differences, te.returns - tl.returns)
    assert est.expert_return == te.returns.mean() and est.learner_return == tl.returns.mean()
    # both runs start from the same x_1 and see the same policy draws: at step 1 the learner's
    # action is exactly the quantized expert action
    assert np.array_equal(te.states[0], tl.states[0])
    assert np.array_equal(tl.actions[0], Q(te.actions[0]))


def test_coupling_reduces_variance_against_independent_noise():
    learner = LinearExpert([[-0.1, -0.32]], noise_std=0.2)
    reward = TrackingReward(GAUSS, scale=5.0)
    coupled = regret(SYSTEM, GAUSS, learner, reward, 15, 4000, gen(1))
    indep_e = evaluate(SYSTEM, GAUSS, reward, 15, 4000, gen(2))
    indep_l = evaluate(SYSTEM, learner, reward, 15, 4000, gen(3))
    se_indep = math.hypot(indep_e.se, indep_l.se)
    assert coupled.se < se_indep / 5


def test_regret_matches_an_exact_value_within_standard_errors():
    # Tracking reward with a large scale is linear in |u - Kx|: a deterministic learner K x scores
    # 1 per step, the Gaussian expert 1 - sigma sqrt(2/pi)/s per step, so
    # J(pi*) - J(K x) = -H sigma sqrt(2/pi) / s exactly.
    s, sigma, horizon = 100.0, 1.0, 10
    expert = LinearExpert(K, noise_std=sigma)
    est = regret(SYSTEM, expert, DET, TrackingReward(expert, scale=s), horizon, 20000, gen())
    exact = -horizon * sigma * math.sqrt(2 / math.pi) / s
    assert est.mean == pytest.approx(exact, abs=4 * est.se)
    lo, hi = est.ci
    assert (hi - lo) / 2 == pytest.approx(1.959963984540054 * est.se, rel=1e-12)


# --- reproducibility and chunking ---------------------------------------------------------------

def test_same_seed_bit_identical_and_other_seed_differs():
    learner = QuantizedPolicy(GAUSS, Q)
    a = regret(SYSTEM, GAUSS, learner, TrackingReward(GAUSS), 10, 1500, gen(5), quantizer=Q)
    b = regret(SYSTEM, GAUSS, learner, TrackingReward(GAUSS), 10, 1500, gen(5), quantizer=Q)
    c = regret(SYSTEM, GAUSS, learner, TrackingReward(GAUSS), 10, 1500, gen(6), quantizer=Q)
    assert a.to_dict() == b.to_dict() and np.array_equal(a.differences, b.differences)
    assert a.mean != c.mean


@pytest.mark.parametrize("dx", [2, 40])
def test_streaming_estimators_equal_rollouts_on_drawn_noise_bit_for_bit(dx):
    # several blocks, the last one short; dx = 40 is where numpy's matrix product rounds a row
    # differently for different row counts, which block-wise computation must neutralise
    batch, horizon = 2 * NOISE_BLOCK + 77, 4
    r = np.random.default_rng(3)
    system = LinearSystem(0.5 * np.eye(dx) + 0.05 * r.standard_normal((dx, dx)), r.standard_normal((dx, 1)),
                          noise_std=0.1)
    expert = LinearExpert(-0.05 * system.B.T, noise_std=0.2)
    learner = QuantizedPolicy(expert, Q)
    reward = TrackingReward(expert)
    est = regret(system, expert, learner, reward, horizon, batch, gen(), quantizer=Q)
    noise = draw_noise(system, horizon, batch, 1, gen())
    te = rollout(system, expert, reward, horizon, noise.x0, noise.w, noise.z)
    tl = rollout(system, learner, reward, horizon, noise.x0, noise.w, noise.z)
    assert np.array_equal(est.differences, te.returns - tl.returns)
    assert est.learner_return == tl.returns.mean()
    assert evaluate(system, learner, reward, horizon, batch, gen()).mean == tl.returns.mean()
    dep = deployment_error(system, expert, learner, Q, horizon, batch, gen())
    assert dep.mean == action_error(expert, Q, tl.states, noise.z).mean()


def test_noise_of_a_trajectory_depends_on_its_block_only():
    small = draw_noise(SYSTEM, 6, NOISE_BLOCK + 5, 1, gen())
    large = draw_noise(SYSTEM, 6, 3 * NOISE_BLOCK, 1, gen())
    head = slice(0, NOISE_BLOCK)
    assert np.array_equal(small.x0[head], large.x0[head])
    assert np.array_equal(small.w[:, head], large.w[:, head])
    assert np.array_equal(small.z[:, head], large.z[:, head])
    # distinct blocks come from distinct child generators
    assert not np.array_equal(large.z[:, :NOISE_BLOCK], large.z[:, NOISE_BLOCK:2 * NOISE_BLOCK])


def test_draw_noise_has_the_system_laws():
    system = LinearSystem([[0.5, 0.0], [0.0, 0.5]], [[1.0], [0.0]], noise_cov=[[0.04, 0.01], [0.01, 0.09]],
                          x0_std=2.0)
    noise = draw_noise(system, 3, 20000, 2, gen())
    assert noise.x0.shape == (20000, 2) and noise.w.shape == (3, 20000, 2) and noise.z.shape == (3, 20000, 2)
    n = 20000
    # sample covariance entries have standard error about sqrt(2/n) times the scale
    np.testing.assert_allclose(np.cov(noise.x0.T), 4.0 * np.eye(2), atol=4 * 4.0 * math.sqrt(2 / n))
    np.testing.assert_allclose(np.cov(noise.w[1].T), system.noise_cov, atol=4 * 0.09 * math.sqrt(2 / n))
    np.testing.assert_allclose(np.cov(noise.z[2].T), np.eye(2), atol=4 * math.sqrt(2 / n))


# --- rollout, open loop, data ---------------------------------------------------------------------

def test_rollout_follows_the_recursion():
    noise = draw_noise(SYSTEM, 5, 40, 1, gen())
    t = rollout(SYSTEM, GAUSS, RegulationReward(3.0), 5, noise.x0, noise.w, noise.z)
    x = noise.x0
    for h in range(5):
        u = x @ np.asarray(K).T + 0.2 * noise.z[h]
        np.testing.assert_allclose(t.states[h], x, rtol=0, atol=1e-12)
        np.testing.assert_allclose(t.actions[h], u, rtol=0, atol=1e-12)
        np.testing.assert_allclose(t.rewards[h], 1 - np.minimum(1, np.linalg.norm(x, axis=1) / 3), atol=1e-12)
        x = x @ SYSTEM.A.T + u @ SYSTEM.B.T + noise.w[h]
    np.testing.assert_allclose(t.final_states, x, atol=1e-12)
    np.testing.assert_allclose(t.returns, t.rewards.sum(0), atol=1e-12)


def test_open_loop_replays_a_closed_loop_run_exactly():
    reward = TrackingReward(GAUSS)
    noise = draw_noise(SYSTEM, 8, 300, 1, gen())
    closed = rollout(SYSTEM, GAUSS, reward, 8, noise.x0, noise.w, noise.z)
    replay = open_loop(SYSTEM, closed.actions, reward, noise.x0, noise.w)
    assert np.array_equal(replay.states, closed.states)
    assert np.array_equal(replay.returns, closed.returns)
    # with other real noise the open-loop states drift away (it does not react to them)
    other = draw_noise(SYSTEM, 8, 300, 1, gen(99))
    moved = open_loop(SYSTEM, closed.actions, reward, noise.x0, other.w)
    assert np.abs(moved.final_states - closed.final_states).max() > 0.1


def test_collect_builds_a_consistent_dataset():
    data = collect(SYSTEM, DET, Q, 30, 9, gen())
    assert isinstance(data, Dataset)
    assert data.states.shape == (30, 9, 2) and data.tokens.shape == (30, 9) and data.tokens.dtype == np.int64
    np.testing.assert_array_equal(data.next_states[:, :-1], data.states[:, 1:])
    np.testing.assert_allclose(data.actions, data.states @ np.asarray(K).T, atol=1e-12)
    np.testing.assert_array_equal(data.quantized, Q(data.actions))
    np.testing.assert_array_equal(Q.decode(data.tokens), data.quantized)
    # the last next state follows the dynamics (deterministic part plus some noise)
    pred = data.states[:, -1] @ SYSTEM.A.T + data.actions[:, -1] @ SYSTEM.B.T
    assert np.abs(data.next_states[:, -1] - pred).max() < 6 * 0.1
    with pytest.raises(ValueError):
        data.states[0, 0, 0] = 1.0


def test_collect_uses_the_documented_noise():
    data = collect(SYSTEM, GAUSS, Q, 50, 6, gen())
    noise = draw_noise(SYSTEM, 6, 50, 1, gen())
    t = rollout(SYSTEM, GAUSS, TrackingReward(GAUSS), 6, noise.x0, noise.w, noise.z)
    np.testing.assert_array_equal(data.actions, t.actions.swapaxes(0, 1))


def test_quantized_policy_plays_the_representative():
    x = gen().standard_normal((100, 2))
    z = gen(1).standard_normal((100, 1))
    np.testing.assert_array_equal(QuantizedPolicy(GAUSS, Q).act(x, z), Q(GAUSS.act(x, z)))
    dct = DCTBinning(8.0)
    np.testing.assert_allclose(QuantizedPolicy(DET, dct).act(x, z), np.rint(8 * DET.act(x)) / 8, atol=1e-12)
    with pytest.raises(DimensionError):
        QuantizedPolicy(DET, DCTBinning(8.0, chunk=4))


def test_time_varying_components_get_the_paper_step():
    seen = []

    class Probe:
        time_varying = True

        def __call__(self, x, u, *, h):
            seen.append(h)
            return np.zeros(x.shape[0])

    noise = draw_noise(SYSTEM, 4, 3, 1, gen())
    rollout(SYSTEM, DET, Probe(), 4, noise.x0, noise.w, noise.z)
    assert seen == [1, 2, 3, 4]


# --- quantization errors ----------------------------------------------------------------------------

def test_in_distribution_error_matches_the_dataset_estimate():
    est = in_distribution_error(SYSTEM, GAUSS, Q, 9, 400, gen())
    data = collect(SYSTEM, GAUSS, Q, 400, 9, gen())
    assert est.mean == pytest.approx(data.in_distribution_error, rel=1e-12)
    assert est.along == "expert"


def test_deployment_error_is_the_expert_error_along_the_learner_states():
    learner = QuantizedPolicy(GAUSS, Q)
    est = deployment_error(SYSTEM, GAUSS, learner, Q, 7, 500, gen())
    noise = draw_noise(SYSTEM, 7, 500, 1, gen())
    t = rollout(SYSTEM, learner, TrackingReward(GAUSS), 7, noise.x0, noise.w, noise.z)
    assert est.mean == pytest.approx(action_error(GAUSS, Q, t.states, noise.z).mean(), rel=1e-12)
    via_regret = regret(SYSTEM, GAUSS, learner, TrackingReward(GAUSS), 7, 500, gen(), quantizer=Q)
    assert via_regret.deployment_error == pytest.approx(est.mean, rel=1e-12)


def test_binning_deployment_error_is_order_eps_q():
    # deterministic expert, binning with centre decoding, learner q#pi*: the deployment error is at
    # most the sup error (all actions stay in range) and scales like eps_q down a ladder
    system = LinearSystem([[0.8, 0.1], [0.0, 0.6]], [[0.0], [1.0]], x0_std=0.5)
    ratios = []
    for bins in (8, 32, 128, 512):
        q = UniformBinning(-4.0, 4.0, bins)
        est = deployment_error(system, DET, QuantizedPolicy(DET, q), q, 20, 500, gen())
        assert est.mean <= q.eps_sup + 1e-12
        ratios.append(est.mean / q.eps_sup)
    assert min(ratios) > 0.2 and max(ratios) <= 1.0 + 1e-12


# --- bad input -------------------------------------------------------------------------------------

def test_bad_input_is_refused():
    noise = draw_noise(SYSTEM, 3, 5, 1, gen())
    with pytest.raises(TypeError):
        regret(SYSTEM, DET, DET, RegulationReward(), 3, 10, gen(), chunks=3)
    with pytest.raises(TypeError):
        rollout(SYSTEM, DET, RegulationReward(), 3, noise.x0, noise.w, noise.z, extra=1)
    with pytest.raises(DimensionError, match="w: expected shape"):
        rollout(SYSTEM, DET, RegulationReward(), 3, noise.x0, noise.w[:2], noise.z)
    with pytest.raises(DimensionError, match="x0"):
        rollout(SYSTEM, DET, RegulationReward(), 3, noise.x0[:, :1], noise.w, noise.z)
    with pytest.raises(DimensionError, match="rng"):
        regret(SYSTEM, DET, DET, RegulationReward(), 3, 10, 42)
    with pytest.raises(DimensionError, match="batch"):
        regret(SYSTEM, DET, DET, RegulationReward(), 3, 1, gen())
    with pytest.raises(DimensionError, match="system"):
        draw_noise(object(), 3, 5, 1, gen())
    with pytest.raises(DimensionError, match="K"):
        regret(SYSTEM, LinearExpert([[1.0]]), DET, RegulationReward(), 3, 10, gen())
    with pytest.raises(DimensionError, match="actions"):
        open_loop(SYSTEM, np.zeros((3, 5, 2)), RegulationReward(), noise.x0, noise.w)
