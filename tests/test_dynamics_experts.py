"""LinearSystem, experts and rewards, cross-checked against python-control where it applies."""

import numpy as np
import pytest

import control as ct
from qbc_theory import (
    ArctanExpert,
    DimensionError,
    LinearExpert,
    LinearSystem,
    RegulationReward,
    TrackingReward,
    from_statespace,
    lqr_expert,
    lqr_gain,
)

A = np.array([[0.9, 0.2], [0.0, 0.7]])
B = np.array([[0.0], [1.0]])


def test_step_matches_definition(rng):
    sys = LinearSystem(A, B, noise_std=0.1)
    x = rng.normal(size=(5, 2))
    u = rng.normal(size=(5, 1))
    w = rng.normal(size=(5, 2))
    expected = np.stack([A @ x[i] + B @ u[i] + w[i] for i in range(5)])
    assert np.allclose(sys.step(x, u, w), expected, rtol=0, atol=1e-14)


def test_noise_covariance_is_respected(rng):
    cov = np.array([[0.04, 0.01], [0.01, 0.09]])
    sys = LinearSystem(A, B, noise_cov=cov)
    w = sys.sample_noise(rng, 50, 4000).reshape(-1, 2)
    emp = np.cov(w.T)
    # standard error of a sample covariance entry is about sqrt((s_ii s_jj + s_ij^2)/N)
    se = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / w.shape[0])
    assert np.all(np.abs(emp - cov) <= 5 * se)


def test_from_statespace_matches_control():
    sysd = ct.ss(A, B, np.eye(2), np.zeros((2, 1)), True)
    ours = from_statespace(sysd, noise_std=0.0)
    assert np.array_equal(ours.A, A) and np.array_equal(ours.B, B)
    sysd2 = ct.ss(A, B, np.eye(2), np.zeros((2, 1)), 0.1)
    assert from_statespace(sysd2).dx == 2


def test_from_statespace_refuses_continuous_time():
    sysc = ct.ss(-np.eye(2), B, np.eye(2), np.zeros((2, 1)))
    with pytest.raises(DimensionError, match=r"sys\.dt: expected a discrete-time system.*found dt=0"):
        from_statespace(sysc)
    with pytest.raises(DimensionError, match="sys: expected a control.StateSpace"):
        from_statespace([[1.0]])


def test_lqr_gain_matches_control_dlqr():
    Q, R = np.diag([1.0, 2.0]), np.array([[10.0]])
    K_ct, _, _ = ct.dlqr(A, B, Q, R)
    K = lqr_gain(LinearSystem(A, B), Q, R)
    assert np.allclose(K, -np.asarray(K_ct), rtol=1e-9, atol=1e-12)
    expert = lqr_expert(LinearSystem(A, B), Q, R)
    assert expert.closed_loop_spectral_radius(LinearSystem(A, B)) < 1.0


def test_lqr_rejects_bad_weights():
    with pytest.raises(DimensionError, match="R: expected a positive definite"):
        lqr_gain(LinearSystem(A, B), np.eye(2), [[0.0]])
    with pytest.raises(DimensionError, match=r"Q: expected shape \(2, 2\)"):
        lqr_gain(LinearSystem(A, B), np.eye(3), [[1.0]])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(A=[[1.0, 2.0]], B=[[1.0]]), "A: expected a square matrix"),
        (dict(A=A, B=[[1.0, 0.0, 0.0]]), r"B: expected shape \(2, \*\)"),
        (dict(A=[[np.inf, 0], [0, 1]], B=B), "A: expected finite numbers"),
        (dict(A=A, B=B, noise_std=-1.0), "noise_std: expected a non-negative number"),
        (dict(A=A, B=B, noise_cov=[[1.0, 0.0], [0.5, 1.0]]), "noise_cov: expected a symmetric matrix"),
        (dict(A=A, B=B, noise_cov=[[1.0, 0.0], [0.0, -1.0]]), "noise_cov: expected a positive semidefinite"),
        (dict(A="[[1]]", B=B), "A: expected numbers"),
    ],
)
def test_linear_system_bad_input(kwargs, message):
    with pytest.raises(DimensionError, match=message):
        LinearSystem(**kwargs)


def test_gaussian_expert_moments(rng):
    e = LinearExpert([[0.5, -1.0]], noise_std=0.3)
    x = np.tile([[1.0, 2.0]], (20000, 1))
    u = e.act(x, rng.standard_normal((20000, 1)))
    assert abs(u.mean() - (-1.5)) <= 5 * 0.3 / np.sqrt(20000)
    assert not e.deterministic and e.lipschitz == pytest.approx(np.sqrt(1.25), rel=1e-12)
    with pytest.raises(DimensionError, match="z: expected standard-normal draws"):
        e.act(x)


def test_expert_system_mismatch():
    with pytest.raises(DimensionError, match=r"K: expected shape \(1, 2\)"):
        LinearExpert([[1.0, 2.0, 3.0]]).check_system(LinearSystem(A, B))
    with pytest.raises(DimensionError, match="arctan expert needs a scalar system"):
        ArctanExpert().check_system(LinearSystem(A, B))


def test_rewards_in_unit_interval_and_lipschitz(rng):
    e = LinearExpert([[0.5, -1.0]])
    for r in (TrackingReward(e, 0.5), RegulationReward(2.0)):
        x1, x2 = rng.normal(size=(2, 1000, 2)) * 3
        u1, u2 = rng.normal(size=(2, 1000, 1)) * 3
        v1, v2 = r(x1, u1), r(x2, u2)
        assert np.all((v1 >= 0) & (v1 <= 1))
        dist = np.sqrt(np.sum((x1 - x2) ** 2, -1) + np.sum((u1 - u2) ** 2, -1))
        assert np.all(np.abs(v1 - v2) <= r.lipschitz * dist + 1e-12)
    assert TrackingReward(e)(np.zeros((1, 2)), np.zeros((1, 1)))[0] == 1.0
