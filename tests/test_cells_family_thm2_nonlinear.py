"""The thm2.nonlinear cell (nonlinear draws of the thm2.gaussian family): a Gaussian tanh expert on a
linear or Lur'e system; it measures instances inside Theorem 2's hypotheses only, its class is finite
and realizable, its bound is Theorem 2's explicit form at the instance's (C, eta), the class's kappa and
|Pi|, and it refuses instances that break a hypothesis."""

import math

import numpy as np
import pytest

from qbc_theory.checker.incremental import system_stability
from qbc_theory.checker.stability import analyze_stability
from qbc_theory.engine import learning, rollout
from qbc_theory.model.dynamics import LureSystem
from qbc_theory.model.errors import AssumptionError, SpecError
from qbc_theory.model.experts import TanhExpert
from qbc_theory.model.quantizers import UniformBinning
from qbc_theory.theory import bounds
from qbc_theory.verification.cells import all_claims, family_thm2_nonlinear as fm
from qbc_theory.verification.claims import get_claim

FACTORS = [0.9, 1.0, 1.1]
LURE = {"system": "lure", "A": [[0.5, 0.1], [0.0, 0.3]], "B": [[1.0], [0.5]], "G": [[0.4], [0.2]],
        "C": [[1.0, 0.0]], "phi": "tanh", "K": [[-0.3, -0.1]], "expert_scale": 0.5, "sigma": 0.3, "noise_std": 0.3,
        "x0_std": 1.0, "low": -2.9, "high": 2.9, "bins": 64, "reward": "regulation", "reward_scale": 4.0, "H": 8,
        "n": 16, "eval": 64, "learner": "mle", "class_direction": [[1.0, 0.0]], "class_min_offset": 1e-3,
        "class_max_offset": 0.3, "class_per_side": 3, "class_sigma_factors": FACTORS, "delta": 0.05}


def _run(**changes):
    return fm.thm2_nonlinear_cell({**LURE, **changes}, 2, np.random.SeedSequence(5))


def test_defines_no_claim_and_is_registered():
    assert fm.CLAIMS == ()
    from qbc_theory.verification.runner import get_cell

    assert get_cell("thm2.nonlinear").func is fm.thm2_nonlinear_cell


def test_produces_every_column_the_thm2_claims_read():
    out = _run()
    for cid in ("thm2.rate_n", "thm2.horizon"):
        for t in get_claim(cid).tests:
            for col in (getattr(t, "value", None), getattr(t, "bound", None)):
                if col is not None:
                    assert col in out, (cid, col)
    assert len(out["stat"]) == 2 and all(np.isfinite(out["ratio_thm1_data"]))
    assert all(r == pytest.approx(abs(s)) for r, s in zip(out["regret"], out["regret_signed"]))
    assert out["ratio_thm1_data"] == pytest.approx([r / b for r, b in zip(out["regret"], out["thm1_data"])])


def test_class_is_realizable_and_fitted_by_exact_log_loss():
    q = UniformBinning(-2.9, 2.9, 64)
    K = np.array([[-0.3, -0.1]])
    pc, offsets, factors = fm.gaussian_tanh_class(K, 0.5, 0.3, [[1.0, 0.0]], 1e-3, 0.3, 3, FACTORS, q)
    assert pc.size == 21 and offsets[pc.expert_index] == 0.0 and factors[pc.expert_index] == 1.0
    assert pc.noise_std[pc.expert_index] == 0.3 and np.array_equal(pc.gains[pc.expert_index], K)
    system = LureSystem(LURE["A"], LURE["B"], LURE["G"], LURE["C"], "tanh", noise_std=0.3, x0_std=1.0)
    expert = TanhExpert(K, 0.5, noise_std=0.3)
    data = rollout.collect(system, expert, q, 256, 8, np.random.default_rng(0))
    fit = learning.fit_finite(pc, data.states, data.tokens)
    # the scores are the exact quantized-Gaussian log-likelihoods of the candidates
    x = data.states.reshape(-1, 2)
    mu = 0.5 * np.tanh(x @ pc.gains[fit.index].T / 0.5)
    ll = learning.quantized_gaussian_logpmf(mu, pc.noise_std[fit.index], data.tokens.reshape(-1), q).sum()
    assert fit.scores[fit.index] == pytest.approx(ll) and fit.scores[fit.index] == fit.scores.max()
    # a class without the expert's noise level is refused (q#pi* not in Pi)
    with pytest.raises(AssumptionError, match="class_sigma_factors: expected a factor 1"):
        fm.gaussian_tanh_class(K, 0.5, 0.3, [[1.0, 0.0]], 1e-3, 0.3, 3, [0.9, 1.1], q)
    with pytest.raises(AssumptionError, match="class_sigma_factors: expected a factor 1"):
        _run(class_sigma_factors=[0.95, 1.05])


def test_bound_equals_theorem_2_at_the_certificate_constants():
    out = _run()
    st = system_stability(LureSystem(LURE["A"], LURE["B"], LURE["G"], LURE["C"], "tanh", noise_std=1.0),
                          rng=np.random.default_rng(0))
    assert st.globally_p_iiss and out["C"] == pytest.approx(st.C) and out["eta"] == pytest.approx(st.eta)
    q = UniformBinning(-2.9, 2.9, 64)
    pc, _, _ = fm.gaussian_tanh_class(LURE["K"], 0.5, 0.3, LURE["class_direction"], 1e-3, 0.3, 3, FACTORS, q)
    L = max(np.linalg.norm(g, 2) for g in pc.gains)
    kappa = L / (math.sqrt(2) * 0.3 * 0.9)
    assert out["Pi"] == 21 and out["kappa"] == pytest.approx(kappa) and out["eps_q"] == pytest.approx(q.eps_sup)
    exit_p = 8 * 2 * 0.5 * math.erfc((2.9 - 0.5) / 0.3 / math.sqrt(2))
    assert out["clip_exit"] == pytest.approx(exit_p)
    b = bounds.get("thm2", form="explicit").evaluate(H=8, n=16, delta=0.05, Pi=21, eps_q=q.eps_sup, kappa=kappa,
                                                     C=st.C, eta=st.eta, L_r=0.25)
    assert out["bound"] == pytest.approx(b + 0.05 * 8 + 8 * exit_p)
    # a wrong constant would show: the bound at the linear part's constants differs
    lin = analyze_stability(np.array(LURE["A"]), np.array(LURE["B"]), lmi=False)
    b_lin = bounds.get("thm2", form="explicit").evaluate(H=8, n=16, delta=0.05, Pi=21, eps_q=q.eps_sup, kappa=kappa,
                                                         C=lin.C, eta=lin.eta, L_r=0.25)
    assert out["bound"] != pytest.approx(b_lin + 0.05 * 8 + 8 * exit_p)
    assert out["lure"] == 1.0


def test_linear_system_uses_the_exact_constants():
    out = _run(system="linear")
    st = analyze_stability(np.array(LURE["A"]), np.array(LURE["B"]), lmi=False)
    assert out["C"] == pytest.approx(st.C) and out["eta"] == pytest.approx(st.eta) and out["lure"] == 0.0


def test_an_uncertified_lure_system_is_refused():
    one = dict(A=[[0.5]], B=[[1.0]], C=[[1.0]], K=[[-0.3]], class_direction=[[1.0]])
    # A + G C = 0.5 + 0.8 = 1.3 at the sector vertex s = 1: no certificate of this form exists
    with pytest.raises(AssumptionError, match="certified globally P-EIISS by the incremental sector LMI"):
        _run(G=[[0.8]], **one)
    assert _run(G=[[0.3]], **one)["C"] > 0


def test_hypothesis_violations_are_refused():
    # the clip range a + 8 sigma is safe; a + 2 sigma is left with probability ~ H * 2 Phi(-2)
    with pytest.raises(AssumptionError, match=r"low, high: expected a clip range the expert leaves"):
        _run(low=-1.1, high=1.1)
    with pytest.raises(AssumptionError, match=r"sigma: expected a Gaussian expert"):
        _run(sigma=0.0)
    with pytest.raises(AssumptionError, match=r"A: expected rho\(A\) < 1"):
        _run(system="linear", A=[[1.05, 0.0], [0.0, 0.3]])
    with pytest.raises(SpecError, match="x0_std: expected a standard deviation"):
        _run(x0_std="stationary")
    with pytest.raises(SpecError, match="learner: expected 'mle'"):
        _run(learner="blind")
    with pytest.raises(SpecError, match="system: expected 'linear' or 'lure'"):
        _run(system="pendulum")
    assert not any(c.spec == "thm2.nonlinear" for c in all_claims())
