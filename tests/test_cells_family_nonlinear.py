"""The thm3.nonlinear cell (nonlinear draws of the thm3.binning family): it measures instances inside
Theorem 3's hypotheses only, its class is realizable, its bound uses the certificate's Gamma and the
class's L, and it refuses instances that break a hypothesis."""

import numpy as np
import pytest

from qbc_theory.checker.incremental import system_stability
from qbc_theory.engine import learning, rollout
from qbc_theory.model.dynamics import LureSystem
from qbc_theory.model.errors import AssumptionError, SpecError
from qbc_theory.model.experts import TanhExpert
from qbc_theory.model.quantizers import UniformBinning
from qbc_theory.theory import bounds
from qbc_theory.verification.cells import all_claims, family_nonlinear as fn

LURE = {"system": "lure", "A": [[0.5, 0.1], [0.0, 0.3]], "B": [[1.0], [0.5]], "G": [[0.4], [0.2]],
        "C": [[1.0, 0.0]], "phi": "tanh", "K": [[-0.3, -0.1]], "expert_scale": 0.5, "noise_std": 0.5, "x0": 1.0,
        "clip": 0.5, "eps_q": 0.5 / 16, "reward_scale": 10.0, "H": 10, "n": 16, "learner": "mle",
        "class_direction": [[1.0, 0.0]], "class_min_offset": 1e-6, "class_max_offset": 0.1, "class_per_side": 4,
        "class_scale_factors": [0.8, 1.0, 1.25], "delta": 0.05, "eval_quant": 64, "eval_min": 64, "eval_per_n": 0,
        "eval_bound": 64}


def _run(**changes):
    return fn.nonlinear_regret_cell({**LURE, **changes}, 2, np.random.SeedSequence(3))


def test_defines_no_claim_and_is_registered():
    assert fn.CLAIMS == ()
    assert not any(c.spec == "thm3.nonlinear" for c in all_claims())
    from qbc_theory.verification.runner import get_cell

    assert get_cell("thm3.nonlinear").func is fn.nonlinear_regret_cell


def test_class_contains_the_expert_and_is_fitted_by_log_loss():
    q = UniformBinning(-0.5, 0.5, 16)
    K = np.array([[-0.3, -0.1]])
    pc, offsets, factors = fn.tanh_offset_class(K, 0.5, [[1.0, 0.0]], 1e-6, 0.1, 4, [0.8, 1.0, 1.25], q)
    assert pc.size == 27 and offsets[pc.expert_index] == 0.0 and factors[pc.expert_index] == 1.0
    assert list(offsets[::3]) == sorted(offsets[::3], reverse=True)  # decreasing offsets, as offset_class
    system = LureSystem(LURE["A"], LURE["B"], LURE["G"], LURE["C"], "tanh", noise_std=0.5)
    expert = TanhExpert(K, 0.5)
    data = rollout.collect(system, expert, q, 64, 10, np.random.default_rng(0))
    fit = learning.fit_finite(pc, data.states, data.tokens)
    # realizable: q#pi* explains every token, so the maximiser has zero mismatches
    assert fit.scores[pc.expert_index] == 0.0 and fit.scores[fit.index] == 0.0
    assert np.array_equal(pc.candidate(pc.expert_index).tokens(data.states.reshape(-1, 2)), data.tokens.reshape(-1))
    # a class without the expert's saturation level is refused (not realizable)
    with pytest.raises(AssumptionError, match="class_scale_factors: expected a factor 1"):
        fn.tanh_offset_class(K, 0.5, [[1.0, 0.0]], 1e-6, 0.1, 4, [0.8, 1.25], q)


def test_bound_uses_the_certificate_gamma_and_the_class_lipschitz_constant():
    out = _run()
    st = system_stability(LureSystem(LURE["A"], LURE["B"], LURE["G"], LURE["C"], "tanh", noise_std=1.0),
                          rng=np.random.default_rng(0))
    assert st.globally_p_iiss and out["Gamma"] == pytest.approx(st.Gamma)
    assert out["C_cert"] == pytest.approx(st.C) and out["eta_cert"] == pytest.approx(st.eta)
    pc, _, _ = fn.tanh_offset_class(LURE["K"], 0.5, LURE["class_direction"], 1e-6, 0.1, 4, [0.8, 1.0, 1.25],
                                    UniformBinning(-0.5, 0.5, 16))
    L = max(np.linalg.norm(g, 2) for g in pc.gains)
    assert out["L"] == pytest.approx(L) and out["Pi"] == 27
    hp = bounds.get("thm3_binning").evaluate(H=10, n=16, delta=0.05, Pi=27, eps_q=out["eps_sup"], L=L,
                                             Gamma=st.Gamma, k=out["k"], L_r=out["L_r"])
    assert out["bound"] == pytest.approx(hp + 0.05 * 10)
    assert out["clip_exit"] == 0.0 and out["lure"] == 1.0
    assert len(out["regret"]) == 2 and all(np.isfinite(out["ratio_thm1_data"]))
    assert np.allclose(np.array(out["regret"]), np.array(out["regret_stat"]) + np.array(out["regret_quant"]))


def test_linear_system_with_tanh_expert_uses_the_exact_gain():
    out = _run(system="linear")
    # Gamma = sum_j ||A^j B|| of the linear part
    A, B = np.array(LURE["A"]), np.array(LURE["B"])
    gamma = sum(np.linalg.norm(np.linalg.matrix_power(A, j) @ B) for j in range(400))
    assert out["Gamma"] == pytest.approx(gamma, rel=1e-6) and out["lure"] == 0.0


def test_an_uncertified_lure_system_is_refused():
    # A + G C = 0.5 + 0.8 = 1.3 at the sector vertex s = 1: no certificate of this form exists
    with pytest.raises(AssumptionError, match="certified globally P-EIISS by the incremental sector LMI"):
        _run(A=[[0.5]], B=[[1.0]], G=[[0.8]], C=[[1.0]], K=[[-0.3]], class_direction=[[1.0]])
    # the same system with a weaker nonlinearity is certified and measured
    assert _run(A=[[0.5]], B=[[1.0]], G=[[0.3]], C=[[1.0]], K=[[-0.3]], class_direction=[[1.0]])["Gamma"] > 0


def test_hypothesis_violations_are_refused():
    with pytest.raises(AssumptionError, match=r"clip: expected clip >= expert_scale = 0.5"):
        _run(clip=0.25, eps_q=0.25 / 16)
    with pytest.raises(AssumptionError, match=r"A: expected rho\(A\) < 1"):
        _run(system="linear", A=[[1.05, 0.0], [0.0, 0.3]])
    with pytest.raises(SpecError, match="x0: expected a standard deviation"):
        _run(x0="stationary")
    with pytest.raises(SpecError, match="learner: expected 'mle'"):
        _run(learner="constant")
    with pytest.raises(SpecError, match="system: expected 'linear' or 'lure'"):
        _run(system="pendulum")
