"""Smoothness: W_c LP against total variation and hand-solved couplings, Proposition 5's modulus,
the Gaussian TVC modulus against quadrature, exact token laws against sampling, and the audit
finding (and not finding) violations."""

import math

import numpy as np
import pytest
import scipy.integrate
import scipy.stats

from qbc_theory import ArctanExpert, DCTBinning, LinearExpert, TrapLoopQuantizer, UniformBinning
from qbc_theory.model.errors import AssumptionError, DimensionError
from qbc_theory.model.quantizers import quantize_actions
from qbc_theory.checker.smoothness import (
    binned_gaussian,
    binning_rtvc,
    gaussian_tvc,
    modulus_audit,
    threshold_wasserstein,
)


def _tv(a, p, b, q):
    """Total variation of two discrete laws on the real line, computed on the union of atoms."""
    mass = {}
    for x, w in zip(a, p):
        mass[x] = mass.get(x, 0.0) + w
    for x, w in zip(b, q):
        mass[x] = mass.get(x, 0.0) - w
    return 0.5 * sum(abs(v) for v in mass.values())


def test_w_at_zero_threshold_is_total_variation(rng):
    for _ in range(20):
        m, k = rng.integers(1, 7, size=2)
        a = rng.integers(0, 6, size=m).astype(float)
        b = rng.integers(0, 6, size=k).astype(float)
        p = rng.dirichlet(np.ones(m))
        q = rng.dirichlet(np.ones(k))
        assert threshold_wasserstein(a, p, b, q, 0.0) == pytest.approx(_tv(a, p, b, q), abs=1e-9)


def test_w_hand_solved_couplings():
    a, b = [0.0, 1.0], [0.5, 1.5]
    half = [0.5, 0.5]
    assert threshold_wasserstein(a, half, b, half, 0.6) == pytest.approx(0.0, abs=1e-12)
    assert threshold_wasserstein(a, half, b, half, 0.4) == pytest.approx(1.0, abs=1e-12)
    # P = delta_0, Q = (0.7 delta_0.1 + 0.3 delta_2): only the mass at 2 is farther than 0.5
    assert threshold_wasserstein([0.0], [1.0], [0.1, 2.0], [0.7, 0.3], 0.5) == pytest.approx(0.3, abs=1e-12)
    # two-dimensional atoms use the Euclidean norm: ||(0,0) - (0.3,0.4)|| = 0.5
    assert threshold_wasserstein([[0.0, 0.0]], [1.0], [[0.3, 0.4]], [1.0], 0.49) == pytest.approx(1.0, abs=1e-12)
    assert threshold_wasserstein([[0.0, 0.0]], [1.0], [[0.3, 0.4]], [1.0], 0.51) == pytest.approx(0.0, abs=1e-12)


def _w_equality_lp(a, p, b, q, eps):
    """The textbook transport LP (equality marginals, 0/1 cost), solved independently."""
    import scipy.optimize

    m, k = len(a), len(b)
    cost = (np.abs(np.subtract.outer(a, b)) > eps).astype(float).ravel()
    A_eq = np.zeros((m + k, m * k))
    for i in range(m):
        A_eq[i, i * k:(i + 1) * k] = 1.0
    for j in range(k):
        A_eq[m + j, j::k] = 1.0
    res = scipy.optimize.linprog(cost, A_eq=A_eq, b_eq=np.concatenate([p, q]), bounds=(0, None), method="highs")
    return res.fun


def test_w_matches_the_equality_form_transport_lp(rng):
    for _ in range(15):
        m, k = rng.integers(1, 8, size=2)
        a, b = rng.normal(size=m), rng.normal(size=k)
        p, q = rng.dirichlet(np.ones(m)), rng.dirichlet(np.ones(k))
        eps = float(rng.uniform(0, 1.5))
        # the reference LP runs at HiGHS's default feasibility tolerance (1e-7)
        assert threshold_wasserstein(a, p, b, q, eps) == pytest.approx(_w_equality_lp(a, p, b, q, eps), abs=1e-6)


def test_w_is_monotone_and_below_tv(rng):
    a, b = rng.normal(size=8), rng.normal(size=5)
    p, q = rng.dirichlet(np.ones(8)), rng.dirichlet(np.ones(5))
    vals = [threshold_wasserstein(a, p, b, q, e) for e in (0.0, 0.1, 0.5, 1.0, 10.0)]
    assert all(x >= y - 1e-12 for x, y in zip(vals, vals[1:]))
    assert vals[-1] == pytest.approx(0.0, abs=1e-12)


def test_w_rejects_bad_weights():
    with pytest.raises(DimensionError, match="summing to 1"):
        threshold_wasserstein([0.0, 1.0], [0.5, 0.6], [0.0], [1.0], 0.1)
    with pytest.raises(DimensionError, match="non-negative"):
        threshold_wasserstein([0.0, 1.0], [1.5, -0.5], [0.0], [1.0], 0.1)
    with pytest.raises(TypeError, match="bogus"):
        threshold_wasserstein([0.0], [1.0], [0.0], [1.0], 0.1, bogus=1)


def test_binning_rtvc_proposition5_numbers():
    res = binning_rtvc(0.5, 0.1, k=4.0, Gamma=1.0)
    assert res.eps_prime == pytest.approx(0.4)
    assert res.delta0 == pytest.approx((0.4 - 0.2) / 0.5)
    # L Gamma (k+1) = 2.5 > k - 2 = 2: the H^2 term stays
    assert res.h2_term_vanishes is False and res.margin == pytest.approx(2 - 2.5)
    assert binning_rtvc(0.5, 0.1, k=4.0, Gamma=0.5).h2_term_vanishes is True  # 1.25 < 2
    auto = binning_rtvc(0.5, 0.1, Gamma=1.0)
    assert auto.k_min == pytest.approx((2 + 0.5) / (1 - 0.5)) and auto.h2_term_vanishes
    assert binning_rtvc(2.0, 0.1, Gamma=1.0).k_min is None  # L Gamma >= 1: no k works
    assert binning_rtvc(0.0, 0.1).delta0 == math.inf
    with pytest.raises(DimensionError, match="k > 2"):
        binning_rtvc(0.5, 0.1, k=2.0)


def test_proposition5_modulus_holds_on_random_pairs(rng):
    # ||q(Kx) - q(Kx')|| <= eps' whenever ||x - x'|| <= delta0, for center binning in 2-D
    q = UniformBinning(-2.0, 2.0, 16, dim=2)
    K = np.array([[0.8, -0.3], [0.2, 0.5]])
    L = np.linalg.norm(K, 2)
    res = binning_rtvc(L, q.eps_sup, k=3.0)
    x = rng.uniform(-1, 1, size=(20000, 2))
    v = rng.normal(size=(20000, 2))
    xp = x + res.delta0 * rng.uniform(0, 1, size=(20000, 1)) * v / np.linalg.norm(v, axis=1, keepdims=True)
    gap = np.linalg.norm(q(x @ K.T) - q(xp @ K.T), axis=1)
    assert gap.max() <= res.eps_prime * (1 + 1e-12)


def test_gaussian_tv_matches_quadrature():
    mod = gaussian_tvc(L_mu=1.0, sigma=0.3)
    for gap in (0.01, 0.2, 1.0):
        tv, _ = scipy.integrate.quad(lambda u: 0.5 * abs(scipy.stats.norm.pdf(u, 0, 0.3)
                                                          - scipy.stats.norm.pdf(u, gap, 0.3)), -5, 6, points=[gap / 2])
        assert float(mod.erf_modulus(gap)) == pytest.approx(tv, abs=1e-8)
        assert float(mod.kappa(gap)) >= tv
    assert mod.slope == pytest.approx(1.0 / (math.sqrt(2) * 0.3))


def test_binned_gaussian_matches_sampling(rng):
    q = UniformBinning(-1.0, 1.0, 8)
    mean, sigma = np.array([[0.3]]), 0.5
    probs = binned_gaussian(mean, sigma, q)[0, 0]
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)
    draws = q.encode((mean[0, 0] + sigma * rng.standard_normal(200000))[:, None])
    freq = np.bincount(draws, minlength=8) / draws.size
    se = np.sqrt(probs * (1 - probs) / draws.size)
    assert np.all(np.abs(freq - probs) <= 5 * se + 1e-12)


def test_binned_gaussian_tv_equals_lp_in_two_dimensions():
    q = UniformBinning(-1.0, 1.0, 6, dim=2)
    P = binned_gaussian(np.array([[0.1, -0.2]]), 0.4, q)[0]
    Q = binned_gaussian(np.array([[0.3, 0.1]]), 0.4, q)[0]
    joint_p = np.outer(P[0], P[1]).ravel()
    joint_q = np.outer(Q[0], Q[1]).ravel()
    reps = q.representatives()
    atoms = np.stack(np.meshgrid(reps[0], reps[1], indexing="ij"), -1).reshape(-1, 2)
    lp = threshold_wasserstein(atoms, joint_p, atoms, joint_q, 0.0)
    assert lp == pytest.approx(0.5 * np.abs(joint_p - joint_q).sum(), abs=1e-9)


def _trap_states(rng, quantizer, n=300, horizon=40):
    x = rng.standard_normal((n, 1))
    out = []
    for _ in range(horizon):
        out.append(x)
        x = quantizer.A * x + quantizer.B * np.arctan(x)
    return np.concatenate(out)


def test_audit_finds_the_trap_quantizers_violation(rng):
    trap = TrapLoopQuantizer(0.2, 0.25, 1.0, 0.01, d=0.6)
    expert = ArctanExpert()
    audit = modulus_audit(expert, trap, _trap_states(rng, trap), rng, eps_prime=0.05, pairs=128)
    assert audit.min_radius_w1 is not None and audit.min_radius_w1 < 1e-6
    wt = audit.witness
    x, xp = np.array(wt["x"]), np.array(wt["x_prime"])
    # the witness is a real pair: recompute its quantized actions independently
    a = trap(np.arctan(x)[None, :])[0]
    b = trap(np.arctan(xp)[None, :])[0]
    assert np.linalg.norm(a - b) > 0.05
    # it sits on an edge of I_P or I_T1
    edges = [e for iv in trap.intervals[:2] for e in iv]
    assert min(abs(x[0] - e) for e in edges) < 1e-6
    # against a claimed nontrivial modulus the audit reports a violation
    claimed = modulus_audit(expert, trap, _trap_states(rng, trap), rng, eps_prime=0.05, pairs=128,
                            kappa=lambda r: np.minimum(1.0, 1e3 * np.asarray(r)))
    assert claimed.violation is True and claimed.witness["w"] == 1.0


def test_audit_reports_no_violation_for_binning_below_delta0(rng):
    q = UniformBinning(-2.0, 2.0, 64)
    expert = LinearExpert([[-0.3, -0.4]])
    res = binning_rtvc(expert.lipschitz, q.eps_sup, k=3.0)
    states = rng.normal(size=(3000, 2))
    audit = modulus_audit(expert, q, states, rng, eps_prime=res.eps_prime, pairs=256, kappa=res.kappa,
                          delta0=res.delta0)
    assert audit.violation is False
    assert np.any(np.isclose(audit.radii, res.delta0, rtol=1e-5))
    # the same audit fails a wrong claim: a modulus that is zero up to 5 delta0
    wrong = modulus_audit(expert, q, states, rng, eps_prime=res.eps_prime, pairs=256,
                          kappa=lambda r: (np.asarray(r) > 5 * res.delta0).astype(float),
                          radii=[0.5 * res.delta0, 2 * res.delta0, 4 * res.delta0])
    assert wrong.violation is True and wrong.witness["r"] <= 5 * res.delta0


def test_audit_dct_rounding_is_binning(rng):
    q = DCTBinning(scale=10.0)
    expert = LinearExpert([[0.7]])
    res = binning_rtvc(0.7, q.eps_sup, k=3.0)
    audit = modulus_audit(expert, q, rng.normal(size=(500, 1)), rng, eps_prime=res.eps_prime, pairs=128,
                          kappa=res.kappa, delta0=res.delta0)
    assert audit.violation is False
    assert np.allclose(quantize_actions(q, np.array([[0.123]])), [[0.1]], atol=1e-12)


def test_audit_gaussian_expert_respects_linear_modulus_and_catches_a_wrong_one(rng):
    q = UniformBinning(-3.0, 3.0, 32)
    expert = LinearExpert([[0.5, -0.5]], noise_std=0.3)
    mod = gaussian_tvc(expert.lipschitz, 0.3)
    states = rng.normal(size=(500, 2))
    audit = modulus_audit(expert, q, states, rng, eps_prime=0.0, pairs=32, kappa=mod.kappa)
    assert audit.violation is False and audit.exact
    assert np.all(audit.max_w <= mod.kappa(audit.radii) + 1e-12)
    wrong = modulus_audit(expert, q, states, rng, eps_prime=0.0, pairs=32, kappa=lambda r: 0.1 * mod.kappa(r))
    assert wrong.violation is True
    with pytest.raises(AssumptionError, match="binning"):
        modulus_audit(expert, DCTBinning(scale=4.0), states, rng, eps_prime=0.0)
    with pytest.raises(TypeError, match="eps_prime"):
        modulus_audit(expert, q, states, rng)


def test_audit_two_dimensional_gaussian_total_variation(rng):
    q = UniformBinning(-2.0, 2.0, 12, dim=2)
    expert = LinearExpert([[0.6, 0.0], [0.2, -0.4]], noise_std=0.25)
    mod = gaussian_tvc(expert.lipschitz, 0.25)
    audit = modulus_audit(expert, q, rng.normal(size=(200, 2)), rng, eps_prime=0.0, pairs=8, kappa=mod.kappa,
                          radii=[0.01, 0.1, 0.5])
    assert audit.violation is False
    # the worst pair's TV, recomputed through the LP on the joint grid
    wt = audit.worst[-1]
    P = binned_gaussian(np.array([wt["actions"][0]]), 0.25, q)[0]
    Q = binned_gaussian(np.array([wt["actions"][1]]), 0.25, q)[0]
    reps = q.representatives()
    atoms = np.stack(np.meshgrid(reps[0], reps[1], indexing="ij"), -1).reshape(-1, 2)
    lp = threshold_wasserstein(atoms, np.outer(P[0], P[1]).ravel(), atoms, np.outer(Q[0], Q[1]).ravel(), 0.0)
    assert wt["w"] == pytest.approx(lp, abs=1e-9)
