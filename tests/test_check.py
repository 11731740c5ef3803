"""The assumption checker: JSON shape, the issue's acceptance cases, and each verdict failing on a
wrong input."""

import json
import math
from pathlib import Path

import control as ct
import numpy as np
import pytest
import scipy.integrate
import scipy.stats

from qbc_theory import (
    Instance,
    LinearExpert,
    LinearSystem,
    TrackingReward,
    UniformBinning,
    instance_from_dict,
    load_instance,
)
from qbc_theory.checker.report import check, clip_exit_bound, quantization_error

INSTANCES = Path(__file__).resolve().parents[1] / "experiments" / "instances"

FAST = dict(trajectories=120, pairs=48)


def _instance(A, B, K, *, noise_std=0.0, low=-2.0, high=2.0, bins=64, H=30, x0_std=1.0):
    system = LinearSystem(A, B, x0_std=x0_std)
    expert = LinearExpert(K, noise_std=noise_std)
    q = UniformBinning(low, high, bins, dim=system.du)
    return Instance(system, expert, q, TrackingReward(expert), H, n=100, delta=0.05)


@pytest.fixture(scope="module")
def reports():
    return {name: check(load_instance(INSTANCES / f"{name}.toml"), **FAST)
            for name in ("gaussian_binning", "lqr_binning", "trap_loop")}


def test_json_shape_matches_design(reports):
    for rep in reports.values():
        d = json.loads(json.dumps(rep.to_dict(), allow_nan=False))
        assert {"instance", "stability", "expert", "quantizer", "smoothness", "theorems", "warnings"} <= set(d)
        assert {"spectral_radius", "globally_p_iiss", "gain_sum", "eta", "C", "method"} <= set(d["stability"])
        assert {"deterministic", "lipschitz", "closed_loop_spectral_radius"} <= set(d["expert"])
        assert {"kind", "eps_q", "eps_q_kind"} <= set(d["quantizer"])
        assert d["quantizer"]["eps_q_kind"] in ("sup", "in_distribution")
        assert {"tvc", "rtvc", "eps_prime", "delta0", "h2_term_vanishes"} <= set(d["smoothness"])
        assert {"thm2", "thm3", "thm6", "thm7"} <= set(d["theorems"])
        for t in d["theorems"].values():
            assert isinstance(t["applies"], bool) and all(isinstance(r, str) for r in t["reasons"])
            assert t["bound"] is None or isinstance(t["bound"], float)
        assert isinstance(d["smoothness"]["tvc"], bool) and isinstance(d["smoothness"]["rtvc"], bool)
        assert "upper bound applies" in rep.format_text()


def test_gaussian_expert_is_tvc_with_its_linear_modulus(reports):
    rep = reports["gaussian_binning"]
    inst = load_instance(INSTANCES / "gaussian_binning.toml")
    s = rep.smoothness
    assert s["tvc"] is True and s["rtvc"] is True
    expected = np.linalg.norm(inst.expert.K, 2) / (math.sqrt(2) * inst.expert.noise_std)
    assert s["kappa_slope"] == pytest.approx(expected, rel=1e-12)
    assert s["audit"]["violation"] is False
    assert rep.theorems["thm2"].applies and not rep.theorems["thm3"].applies
    assert rep.theorems["thm2"].bound is not None and rep.theorems["thm2"].bound > 0


def test_deterministic_binning_is_rtvc_with_proposition5_delta0(reports):
    rep = reports["lqr_binning"]
    inst = load_instance(INSTANCES / "lqr_binning.toml")
    s = rep.smoothness
    L, eps = inst.expert.lipschitz, inst.quantizer.eps_sup
    k = s["binning_rtvc"]["k"]
    assert s["rtvc"] is True and s["tvc"] is False
    assert s["eps_prime"] == pytest.approx(k * eps, rel=1e-12)
    assert s["delta0"] == pytest.approx((k - 2) * eps / L, rel=1e-12)
    Gamma = rep.stability.Gamma
    assert s["h2_term_vanishes"] is (L * Gamma * (k + 1) < k - 2)
    assert s["audit"]["violation"] is False
    assert rep.quantizer["eps_q_kind"] == "sup"
    assert rep.theorems["thm3"].applies and rep.theorems["thm7"].applies
    assert not rep.theorems["thm6"].applies
    assert rep.exit_code == 0


def test_lqr_instance_gain_matches_python_control():
    inst = load_instance(INSTANCES / "lqr_binning.toml")
    K, _, _ = ct.dlqr(inst.system.A, inst.system.B, np.eye(2), np.array([[10.0]]))
    assert np.allclose(inst.expert.K, -K, rtol=1e-8, atol=1e-10)


def test_trap_quantizer_violates_rtvc_with_a_witness(reports):
    rep = reports["trap_loop"]
    s = rep.smoothness
    assert s["rtvc"] is False and s["rtvc_status"] == "violated"
    wt = s["audit"]["witness"]
    assert wt["r"] < 1e-6 and wt["w"] == 1.0
    gap = abs(wt["actions"][0][0] - wt["actions"][1][0])
    assert gap > s["eps_prime"]
    assert rep.theorems["thm6"].applies and rep.theorems["thm6"].kind == "lower"
    assert not rep.theorems["thm3"].applies and not rep.theorems["thm2"].applies
    assert rep.theorems["thm7"].applies  # no smoothness needed
    assert rep.quantizer["eps_q_kind"] == "in_distribution"


def test_unstable_system_is_reported_not_raised_and_exits_1():
    inst = _instance([[1.02, 0.0], [0.0, 0.5]], [[0.0], [1.0]], [[-0.1, -0.1]], H=20)
    rep = check(inst, **FAST)
    assert rep.stability.globally_p_iiss is False
    d = rep.to_dict()
    assert d["stability"]["globally_p_iiss"] is False and d["stability"]["C"] is None
    for key in ("thm2", "thm3", "thm7"):
        assert not rep.theorems[key].applies
        assert any("1.02" in r for r in rep.theorems[key].reasons)
    assert rep.upper_bound_applies is False and rep.exit_code == 1
    json.dumps(d, allow_nan=False)
    assert "no (exit 1)" in rep.format_text()


def test_chunk_tokenizer_is_outside_the_per_step_theorems():
    doc = {"system": {"A": [[0.5, 0.1], [0.0, 0.9]], "B": [[0.0], [1.0]]},
           "expert": {"kind": "linear", "K": [[-0.1, -0.2]]},
           "quantizer": {"kind": "dct", "scale": 10.0, "chunk": 4}, "run": {"horizon": 20}}
    rep = check(instance_from_dict(doc), **FAST)
    for key in ("thm2", "thm3", "thm7"):
        assert not rep.theorems[key].applies
        assert any("chunk" in r for r in rep.theorems[key].reasons)
    assert rep.exit_code == 1
    doc["quantizer"]["chunk"] = 1  # per-step rounding is binning without a clip range
    one = check(instance_from_dict(doc), **FAST)
    assert one.theorems["thm3"].applies and one.quantizer["eps_q_kind"] == "sup"


def test_unstable_closed_loop_is_a_warning():
    inst = _instance([[0.5]], [[1.0]], [[1.0]], H=10, low=-1e4, high=1e4, bins=4096)  # A + BK = 1.5
    rep = check(inst, **FAST)
    assert rep.expert["closed_loop_spectral_radius"] == pytest.approx(1.5)
    assert any("closed loop" in w for w in rep.warnings)
    assert rep.stability.globally_p_iiss and rep.upper_bound_applies


def test_leaving_the_clip_range_voids_the_sup_error():
    inst = _instance([[0.5]], [[1.0]], [[-1.0]], low=-0.1, high=0.1, bins=8)
    rep = check(inst, **FAST)
    q = rep.quantizer
    assert q["left_range"] is True and q["out_of_range_fraction"] > 0
    assert q["eps_q_kind"] == "in_distribution" and q["eps_q"] == pytest.approx(q["in_distribution"])
    assert not rep.theorems["thm3"].applies
    assert any("void" in r for r in rep.theorems["thm3"].reasons)
    inside = check(_instance([[0.5]], [[1.0]], [[-1.0]], low=-10, high=10, bins=8), **FAST)
    assert inside.quantizer["eps_q_kind"] == "sup" and inside.theorems["thm3"].applies


def test_clip_exit_bound_matches_exact_single_step_probability():
    # H = 1: u = K x_1 with x_1 ~ N(0, I), so P(exit) = 2 Phi(-c / ||K||) exactly
    inst = _instance([[0.5, 0.0], [0.0, 0.5]], [[1.0], [0.0]], [[0.3, 0.4]], low=-0.6, high=0.6, H=1)
    p = clip_exit_bound(inst.system, inst.expert, inst.quantizer, 1)
    assert p == pytest.approx(2 * scipy.stats.norm.cdf(-0.6 / 0.5), rel=1e-12)


def test_in_distribution_error_matches_quadrature(rng):
    # A = B = 0 and x_1 = 0: the expert's actions are i.i.d. N(0, s^2), so eps_q = E|u - q(u)| exactly
    s = 0.3
    inst = _instance([[0.0]], [[0.0]], [[0.0]], noise_std=s, low=-1.0, high=1.0, bins=5, x0_std=0.0, H=5)
    q = inst.quantizer
    exact, _ = scipy.integrate.quad(lambda u: abs(u - q(np.array([[u]]))[0, 0]) * scipy.stats.norm.pdf(u, 0, s),
                                    -3, 3, points=list(np.linspace(-1, 1, 6)), limit=200)
    exact += 2 * scipy.integrate.quad(lambda u: (u - 0.8) * scipy.stats.norm.pdf(u, 0, s), 3, 8)[0]
    est = quantization_error(inst.system, inst.expert, q, 5, rng, trajectories=4000)
    assert abs(est.mean - exact) <= 5 * est.se
    assert est.ci[0] < est.mean < est.ci[1]
    assert est.kind == "in_distribution" and est.left_range is True  # a Gaussian leaves [-1, 1] sometimes


def test_check_is_reproducible_and_rejects_unknown_options():
    inst = load_instance(INSTANCES / "trap_loop.toml")
    a = check(inst, **FAST).to_dict()
    b = check(inst, **FAST).to_dict()
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    with pytest.raises(TypeError, match="bogus"):
        check(inst, bogus=True)


def test_bound_values_use_the_checkers_constants(reports):
    rep = reports["lqr_binning"]
    t7 = rep.theorems["thm7"]
    v = t7.values
    assert v["C"] == rep.stability.C and v["eta"] == rep.stability.eta and v["eps_q"] == rep.quantizer["eps_q"]
    if t7.bound is not None:
        # Theorem 7's quantization term alone is H L_r eps_q (C/(1 - eta) + 1) in the library's explicit form
        assert t7.bound >= v["H"] * rep.quantizer["eps_q"]


def test_overflowing_closed_loop_is_truncated_with_a_warning_not_an_error():
    inst = _instance([[0.5]], [[1.0]], [[9.5]], H=400)  # A + BK = 10: |x_h| ~ 10^h
    rep = check(inst, trajectories=20, pairs=8)
    assert any("overflow at step" in w for w in rep.warnings)
    assert rep.quantizer["eps_q_kind"] == "in_distribution" and rep.quantizer["horizon"] < 400
    assert rep.stability.globally_p_iiss  # P-IISS is open-loop: rho(A) = 0.5
    json.dumps(rep.to_dict(), allow_nan=False)


def test_kmeans_fails_rtvc_but_theorem6_does_not_apply():
    """A nearest-codeword k-means jumps by its spacing at every cell edge, so the audit finds W = 1, but
    Theorem 6's price is proved for its construction only: no false alarm for ordinary tokenizers."""
    from qbc_theory import instance_from_dict

    inst = instance_from_dict({
        "system": {"A": [[0.9]], "B": [[1.0]]},
        "expert": {"kind": "linear", "K": [[-0.3]]},
        "quantizer": {"kind": "kmeans", "n_codes": 64, "seed": 1},
        "run": {"horizon": 20},
    })
    rep = check(inst, trajectories=200, pairs=64)
    assert rep.smoothness["rtvc_status"] == "violated"
    thm6 = rep.theorems["thm6"]
    assert not thm6.applies
    assert any("not implied" in r for r in thm6.reasons)


# --- reports that say what the numbers say -----------------------------------------------------------

def test_h2_term_is_printed_in_words_with_its_inequality():
    # L Gamma < 1 here (Gamma = 0.1 / (1 - 0.5) = 0.2, L = 0.1): Proposition 5's k makes the H^2 term vanish
    small = check(_instance([[0.5]], [[0.1]], [[-0.1]], bins=64), **FAST)
    s = small.smoothness
    L, G, k = 0.1, small.stability.Gamma, s["binning_rtvc"]["k"]
    assert s["h2_term_vanishes"] is True
    assert s["h2_inequality"]["lhs"] == pytest.approx(L * G * (k + 1), rel=1e-12)
    assert s["h2_inequality"]["rhs"] == pytest.approx(k - 2, rel=1e-12)
    text = small.format_text()
    assert f"H^2 term vanishes           yes: L Gamma (k+1) = {L * G * (k + 1):.4g} < k - 2 = {k - 2:.4g}" in text
    big = check(load_instance(INSTANCES / "lqr_binning.toml"), **FAST)
    text = big.format_text()
    assert "H^2 term vanishes           no: L Gamma (k+1) = " in text and " >= k - 2 = " in text
    assert not any(w in line for line in text.splitlines() for w in (" True", " False", " None"))
    unstable = check(_instance([[1.02, 0.0], [0.0, 0.5]], [[0.0], [1.0]], [[-0.1, -0.1]], H=20), **FAST)
    assert "H^2 term vanishes           - (no finite Gamma: the system is not globally P-IISS)" in unstable.format_text()


def test_vacuous_upper_bounds_are_called_vacuous():
    inst = load_instance(INSTANCES / "lqr_binning.toml")
    rep = check(inst, **FAST)
    applicable = [rep.theorems[k] for k in ("thm2", "thm3", "thm7") if rep.theorems[k].applies]
    assert applicable and all(t.bound >= inst.horizon for t in applicable)
    assert all(t.status == "applies but vacuous (bound >= H)" and t.vacuous for t in applicable)
    assert rep.exit_code == 0 and rep.upper_bound_applies and not rep.upper_bound_informative
    text = rep.format_text()
    assert "upper bound applies: applies but vacuous (every applicable upper bound >= H = 50) (exit 0)" in text
    assert "upper bound applies: yes" not in text
    d = rep.to_dict()
    assert d["theorems"]["thm7"]["vacuous"] is True and d["upper_bound_informative"] is False
    # with enough data Theorem 7's statistical term shrinks below H: the same instance is informative
    many = check(inst, n=10**9, **FAST)
    assert many.theorems["thm7"].bound < inst.horizon and many.theorems["thm7"].status == "applies"
    assert many.upper_bound_informative and "upper bound applies: yes (exit 0)" in many.format_text()


def test_theorem7_on_noisy_transitions_carries_the_measured_violation():
    from qbc_theory.checker.report import THM7_NOISY_CAVEAT
    from qbc_theory.verification.claims import get_claim

    doc = {"system": {"A": [[0.9, 0.2], [0.0, 0.7]], "B": [[0.0], [1.0]], "noise_std": 0.1},
           "expert": {"kind": "linear", "K": [[-0.1, -0.2]]},
           "quantizer": {"kind": "binning", "low": -2.0, "high": 2.0, "bins": 64}, "run": {"horizon": 20}}
    noisy = check(instance_from_dict(doc), **FAST)
    t7 = noisy.theorems["thm7"]
    assert t7.applies and t7.caveat == THM7_NOISY_CAVEAT
    assert "stated for noisy transitions; violated in our measurement (claim thm7.noisy)" in noisy.format_text()
    assert noisy.to_dict()["theorems"]["thm7"]["caveat"].startswith("stated for noisy transitions")
    doc["system"]["noise_std"] = 0.0
    clean = check(instance_from_dict(doc), **FAST)
    assert clean.theorems["thm7"].caveat is None and "violated in our measurement" not in clean.format_text()
    # the caveat names a real claim about Theorem 7 (its verdict on small data is asserted in
    # tests/test_cells_constructions.py::test_thm7_noisy_finding_on_small_data)
    assert get_claim("thm7.noisy").theorem == "Theorem 7"
