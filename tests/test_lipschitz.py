"""Expert Lipschitz constants: certified upper bounds against closed forms, sampled lower estimates that
never exceed the truth and reach it for linear experts, and declared constants below the truth caught
with a witness pair that is re-checked here."""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qbc_theory.checker.lipschitz import lipschitz_report, mlp_lipschitz, tanh_lipschitz
from qbc_theory.model.errors import DimensionError


def spectral_norm(M):
    """||M||_2 from the eigenvalues of M^T M (independent of numpy's norm(., 2))."""
    return math.sqrt(max(np.linalg.eigvalsh(M.T @ M)[-1], 0.0))


def witness_ratio(fn, report):
    x, xp = np.array([report.witness["x"]]), np.array([report.witness["x_prime"]])
    return np.linalg.norm(fn(x) - fn(xp)) / np.linalg.norm(x - xp)


def test_linear_expert_upper_and_sampled_lower_coincide(rng):
    K = rng.standard_normal((2, 4))
    L = spectral_norm(K)
    assert tanh_lipschitz(K) == pytest.approx(L, rel=1e-12)
    rep = lipschitz_report(lambda X: X @ K.T, tanh_lipschitz(K), 4, rng)
    assert rep.status == "certified"
    assert rep.lower <= L * (1 + 1e-9)
    assert rep.lower == pytest.approx(L, rel=1e-7)
    assert rep.gap == pytest.approx(1.0, rel=1e-7)
    assert not rep.violation and rep.exceed_count == 0
    assert witness_ratio(lambda X: X @ K.T, rep) == pytest.approx(rep.lower, rel=1e-9)
    json.dumps(rep.to_dict())


def test_random_pairs_alone_stay_below_the_constant(rng):
    K = rng.standard_normal((3, 5))
    rep = lipschitz_report(lambda X: X @ K.T, None, 5, rng, probes=0, pairs=500)
    assert rep.status == "none" and rep.gap is None and not rep.violation
    assert 0 < rep.lower <= spectral_norm(K) * (1 + 1e-12)


def test_declared_constant_below_the_truth_is_caught_with_a_witness(rng):
    K = np.array([[1.5, -0.5], [0.2, 0.8]])
    fn = lambda X: 0.7 * np.tanh(X @ K.T / 0.7)  # noqa: E731
    truth = spectral_norm(K)
    declared = 0.8 * truth
    rep = lipschitz_report(fn, declared, 2, rng, declared=True)
    assert rep.status == "declared, not certified"
    assert rep.violation and rep.exceed_count >= 1
    assert witness_ratio(fn, rep) > declared
    assert "violates the declared constant" in rep.reason
    # the same expert with an honest declaration is not flagged
    ok = lipschitz_report(fn, 1.01 * truth, 2, rng, declared=True)
    assert not ok.violation and ok.status == "declared, not certified"


def test_a_wrong_certified_bound_is_contradicted(rng):
    W1, W2 = rng.standard_normal((8, 3)), rng.standard_normal((2, 8))
    fn = lambda X: np.tanh(X @ W1.T) @ W2.T  # noqa: E731
    wrong = spectral_norm(W2)  # forgets the first layer
    rep = lipschitz_report(fn, wrong, 3, rng)
    assert rep.violation and "contradicts the certified bound" in rep.reason


def test_tanh_expert_bound_is_tight_at_the_origin(rng):
    K = rng.standard_normal((2, 3))
    fn = lambda X: 2.0 * np.tanh(X @ K.T / 2.0)  # noqa: E731
    rep = lipschitz_report(fn, tanh_lipschitz(K), 3, rng, states=0.05 * rng.standard_normal((200, 3)))
    assert not rep.violation
    assert rep.lower <= spectral_norm(K) * (1 + 1e-9)
    assert rep.lower >= 0.99 * spectral_norm(K)


def test_mlp_product_of_layer_norms_bounds_the_sampled_ratio(rng):
    W1, W2, W3 = rng.standard_normal((16, 4)) / 2, rng.standard_normal((16, 16)) / 4, rng.standard_normal((2, 16)) / 4
    prod = spectral_norm(W1) * spectral_norm(W2) * spectral_norm(W3)
    assert mlp_lipschitz([W1, W2, W3]) == pytest.approx(prod, rel=1e-10)
    assert mlp_lipschitz([W1.T, W2.T, W3.T]) == pytest.approx(prod, rel=1e-10)  # x @ W orientation
    relu = lambda z: np.maximum(z, 0.0)  # noqa: E731
    for act in (np.tanh, relu):
        fn = lambda X, act=act: act(act(X @ W1.T) @ W2.T) @ W3.T  # noqa: E731
        rep = lipschitz_report(fn, mlp_lipschitz([W1, W2, W3]), 4, rng)
        assert not rep.violation
        assert 0 < rep.lower <= prod * (1 + 1e-9)
        assert rep.gap >= 1 - 1e-9


def test_zero_layer_and_single_layer():
    assert mlp_lipschitz([np.zeros((2, 3)), np.ones((1, 2))]) == 0.0
    assert mlp_lipschitz([np.array([[3.0, 4.0]])]) == pytest.approx(5.0, rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_sampled_lower_never_exceeds_the_norm_of_a_linear_expert(du, dx, seed):
    r = np.random.default_rng(seed)
    K = r.standard_normal((du, dx))
    rep = lipschitz_report(lambda X: X @ K.T, tanh_lipschitz(K), dx, r, pairs=50, probes=2)
    assert rep.lower <= spectral_norm(K) * (1 + 1e-9) + 1e-12
    assert not rep.violation


def test_bad_inputs_name_the_argument(rng):
    with pytest.raises(DimensionError, match="weights"):
        mlp_lipschitz([np.ones((4, 3)), np.ones((2, 5))])
    with pytest.raises(DimensionError, match="weights"):
        mlp_lipschitz([])
    with pytest.raises(DimensionError, match=r"weights\[1\]"):
        mlp_lipschitz([np.ones((4, 3)), np.full((2, 4), np.nan)])
    with pytest.raises(DimensionError, match="K"):
        tanh_lipschitz(np.ones((2, 2, 2)))
    with pytest.raises(DimensionError, match="expert_fn"):
        lipschitz_report(lambda X: X[:, :1].T, 1.0, 2, rng)
    with pytest.raises(DimensionError, match="expert_fn"):
        lipschitz_report(lambda X: np.full((X.shape[0], 1), np.nan), 1.0, 2, rng)
    with pytest.raises(DimensionError, match="expert_fn"):
        lipschitz_report(lambda X: X @ np.ones((3, 1)), 1.0, 2, rng)
    with pytest.raises(DimensionError, match="expert_fn"):
        lipschitz_report("tanh", 1.0, 2, rng)
    with pytest.raises(DimensionError, match="states"):
        lipschitz_report(lambda X: X, 1.0, 2, rng, states=np.ones((5, 3)))
    with pytest.raises(DimensionError, match="L_upper"):
        lipschitz_report(lambda X: X, -1.0, 2, rng)
    with pytest.raises(TypeError, match="bogus"):
        lipschitz_report(lambda X: X, 1.0, 2, rng, bogus=True)


# --- the model's experts ------------------------------------------------------------------------

from qbc_theory.checker.lipschitz import expert_lipschitz  # noqa: E402
from qbc_theory.model.experts import CallableExpert, LinearExpert, MLPExpert, TanhExpert  # noqa: E402


def test_expert_lipschitz_of_the_models_experts(rng):
    S = rng.standard_normal((300, 3))
    K = rng.standard_normal((2, 3))
    tanh = expert_lipschitz(TanhExpert(K, scale=[0.5, 2.0]), S, rng)
    assert tanh.status == "certified" and tanh.upper == pytest.approx(spectral_norm(K), rel=1e-12)
    assert not tanh.violation and tanh.lower <= tanh.upper * (1 + 1e-9)
    lin = expert_lipschitz(LinearExpert(K, noise_std=0.3), S, rng)  # the mean K x is sampled, not the noise
    assert lin.lower == pytest.approx(spectral_norm(K), rel=1e-7)
    layers = [(rng.standard_normal((6, 3)), rng.standard_normal(6)), (rng.standard_normal((2, 6)), np.zeros(2))]
    mlp = expert_lipschitz(MLPExpert(layers, activation="relu"), S, rng)
    assert mlp.upper == pytest.approx(spectral_norm(layers[0][0]) * spectral_norm(layers[1][0]), rel=1e-10)
    assert not mlp.violation and mlp.gap >= 1


def test_expert_lipschitz_of_a_callable_expert(rng):
    S = rng.standard_normal((300, 2))

    def act(x, z):
        return np.sin(3.0 * x[:, :1])

    low = expert_lipschitz(CallableExpert(act, 1, declared={"L": 2.0}), S, rng)
    assert low.status == "declared, not certified" and low.violation
    assert witness_ratio(lambda X: act(X, None), low) > 2.0
    ok = expert_lipschitz(CallableExpert(act, 1, declared={"L": 3.0}), S, rng)
    assert ok.status == "declared, not certified" and not ok.violation
    none = expert_lipschitz(CallableExpert(act, 1), S, rng)
    assert none.status == "none" and none.upper is None and none.lower > 2.9


def test_gradient_probes_are_skipped_above_max_probe_dim(rng):
    K = rng.standard_normal((1, 3))
    rep = lipschitz_report(lambda X: X @ K.T, tanh_lipschitz(K), 3, rng, pairs=50, max_probe_dim=2)
    assert rep.probes == 0 and rep.witness["kind"] == "random pair"
    assert rep.lower <= spectral_norm(K) * (1 + 1e-12)
