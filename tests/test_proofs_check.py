"""Tests of proofs_check: every check passes on the paper's (valid) inputs and flips on a wrong one."""

import json
import math
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

import proofs_check
from proofs_check import CHECK_IDS, CheckResult, ProofsReport, run_checks
from proofs_check.algorithm1 import check_thm7_coupling, covariance, expected_clipped_abs, rollout_coefficients
from proofs_check.gaussian import check_piiss_gaussian, check_tvc_gaussian, gaussian_tv_quadrature
from proofs_check.lower_bounds import (
    Thm8Construction,
    binomial_tv_exact,
    binomial_tv_interval,
    check_thm8_hellinger,
    check_thm8_tv,
    check_thm9_constant,
    check_thm9_tv,
    thm8_law,
    thm9_law,
)
from proofs_check.trap_loop import (
    PRINTED_EXAMPLE,
    VALID_EXAMPLES,
    check_thm6_conditions,
    check_thm6_in_distribution,
    check_thm6_loop,
    loop_images,
    thm6_conditions,
    trap_intervals,
)
from qbc_theory.model.errors import DimensionError
from qbc_theory.model.quantizers import TrapLoopQuantizer, UniformBinning

F = Fraction


def test_contract_ids():
    assert CHECK_IDS == ("thm8.hellinger", "thm8.tv", "thm9.tv", "thm9.constant", "thm6.conditions", "thm6.loop",
                         "thm6.in_distribution", "prop5.binning", "tvc.gaussian", "piiss.gaussian", "thm7.coupling",
                         "thm1.constants")
    for name in proofs_check.__all__:
        assert hasattr(proofs_check, name)


def test_result_types():
    r = CheckResult("x", "proved", "d")
    assert r.to_dict() == {"id": "x", "result": "proved", "detail": "d"}
    with pytest.raises(DimensionError):
        CheckResult("x", "maybe", "d")
    rep = ProofsReport((r, CheckResult("y", "counterexample", "long " * 50)))
    assert rep.to_dict() == {"checks": [r.to_dict(), {"id": "y", "result": "counterexample", "detail": ("long " * 50)}]}
    text = rep.format_text()
    assert "counterexample" in text and text.count("\n") >= 3


def test_run_checks_rejects_unknown_id():
    with pytest.raises(DimensionError, match="ids"):
        run_checks(["thm99.nothing"])
    with pytest.raises(DimensionError):
        run_checks("thm8.tv")


def test_run_checks_subset_and_json_shape():
    rep = run_checks(["thm6.conditions", "thm8.hellinger"])
    d = rep.to_dict()
    assert [c["id"] for c in d["checks"]] == ["thm6.conditions", "thm8.hellinger"]
    assert set(d["checks"][0]) == {"id", "result", "detail"}
    json.dumps(d)


def test_main_bad_input_exit_2():
    proc = subprocess.run([sys.executable, "-m", "proofs_check", "--frobnicate"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stdout == "" and len(proc.stderr.strip().splitlines()) == 1


def test_main_json_subset():
    proc = subprocess.run([sys.executable, "-m", "proofs_check", "--json", "--only", "thm6.conditions"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["checks"][0]["id"] == "thm6.conditions"
    assert out["checks"][0]["result"] == "counterexample"


# ---- Theorem 8 ---------------------------------------------------------------------------------

def test_thm8_law_is_a_distribution_and_overlaps_only_at_zero():
    pa, pb = thm8_law("a", F(1, 6)), thm8_law("b", F(1, 6))
    assert sum(pa.values()) == 1 and sum(pb.values()) == 1
    common = set(pa) & set(pb)
    assert len(common) == 1 and next(iter(common))[0] == 0


def test_thm8_hellinger_proved_and_flips_on_wrong_claim():
    assert check_thm8_hellinger(ns=range(1, 6)).result == "proved"
    bad = check_thm8_hellinger(ns=range(1, 6), claimed_affinity=lambda d: 1 - d / 2)
    assert bad.result == "counterexample" and "n=1" in bad.detail


def test_thm8_hellinger_flips_on_tampered_construction():
    # expert b differs at later steps too: the laws no longer overlap at all
    tampered = Thm8Construction(horizon=3, late_action_b=F(1))
    assert check_thm8_hellinger(ns=(2,), construction=tampered).result == "counterexample"


def test_thm8_tv_default_and_wrong_delta():
    r = check_thm8_tv(ns=range(1, 6))
    assert r.result == "proved"
    assert "1/18" in r.detail and "from n=2" in r.detail
    # Delta = 2/n: TV -> 1 - e^{-2} = 0.865 > 0.8
    bad = check_thm8_tv(ns=range(3, 6), delta_of_n=lambda n: F(2, n))
    assert bad.result == "counterexample"
    assert check_thm8_tv(ns=(1, 2), claimed_tv=F(1, 5)).result == "counterexample"


def test_thm8_tv_matches_closed_form_independently():
    # 1 - (1 - Delta)^n at n = 2, Delta = 1/6
    assert "n=2: 11/36" in check_thm8_tv(ns=(1, 2)).detail


# ---- Theorem 9 ---------------------------------------------------------------------------------

def test_binomial_tv_exact_against_direct_sum():
    from scipy.stats import binom
    n, p = 9, F(7, 10)
    k = np.arange(n + 1)
    direct = 0.5 * np.sum(np.abs(binom.pmf(k, n, 0.7) - binom.pmf(k, n, 0.3)))
    assert float(binomial_tv_exact(n, p)) == pytest.approx(direct, rel=1e-12, abs=1e-15)


def test_binomial_tv_interval_contains_exact_value():
    lo, hi = binomial_tv_interval(16, F(3, 5))
    exact = binomial_tv_exact(16, F(1, 2) + F(3, 20))
    assert lo <= exact <= hi and hi - lo < F(1, 10 ** 25)


def test_thm9_law_mirror():
    pa, pb = thm9_law("a", F(1, 5)), thm9_law("b", F(1, 5))
    assert sum(pa.values()) == 1 and set(pa) == set(pb)


def test_thm9_tv_verified_and_flips_on_wrong_delta():
    r = check_thm9_tv(n_max=40)
    assert r.result == "verified-numerically"
    # Delta = 1/sqrt(n): normal limit 2 Phi(2) - 1 = 0.954 > 7/8
    bad = check_thm9_tv(n_max=40, c=F(1))
    assert bad.result == "counterexample"
    assert check_thm9_tv(n_max=10, claimed_tv=F(3, 4)).result == "counterexample"


def test_thm9_constant_finds_the_slip_and_a_valid_delta():
    r = check_thm9_constant(n_max=20)
    assert r.result == "counterexample" and "1/32" in r.detail
    assert "Delta = (1/4)/sqrt(n)" in r.detail
    # the displayed route is valid for a constant it does yield
    assert check_thm9_constant(stated=F(1, 32), n_max=20).result == "proved"
    assert check_thm9_constant(stated=F(1, 31), n_max=20).result == "counterexample"


def test_thm9_valid_delta_really_gives_tv_at_most_half():
    # independent of the search: Delta = 1/(4 sqrt n) at perfect squares, exact TV <= 1/2
    for m in range(1, 8):
        assert binomial_tv_exact(m * m, F(1, 2) + F(1, 4 * m)) <= F(1, 2)


# ---- Theorem 6 ---------------------------------------------------------------------------------

def test_thm6_conditions_printed_example_is_a_counterexample():
    r = check_thm6_conditions()
    assert r.result == "counterexample"
    assert "k/2 > B/(1 - lambda) (0.5 vs 0.6)" in r.detail


def test_thm6_conditions_valid_pass_and_each_violation_is_named():
    assert check_thm6_conditions(params=VALID_EXAMPLES).result == "proved"
    for params, name in (((F(1, 5), F(1, 4), 1, F(2, 5)), "d > k/2"),
                         ((F(1, 2), F(1, 10), 3, 2), "A k < 1"),
                         ((F(3, 5), F(1, 2), 1, 1), "lambda = A + B < 1")):
        r = check_thm6_conditions(params=(params,))
        assert r.result == "counterexample" and name in r.detail


def test_thm6_conditions_exact_values():
    conds = {c[0]: c for c in thm6_conditions(*PRINTED_EXAMPLE)}
    assert conds["k/2 > B/(1 - lambda)"][2:] == (F(1, 2), F(3, 5))


def test_trap_loop_images_by_hand():
    # (A, B, k, d, eps) = (1/5, 1/4, 1, 3/5, 1/100): I_P image = [A(-k eps/2) + (d + 1/2) eps, ...]
    iv, acts = trap_intervals(F(1, 5), F(1, 4), 1, F(3, 5), F(1, 100))
    imgs = loop_images(F(1, 5), F(1, 4), iv, acts)
    assert imgs[0]["image"] == (F(-1, 1000) + F(11, 1000), F(1, 1000) + F(11, 1000))
    assert imgs[1]["image"] == iv[2]  # I_T1 maps onto I_T2 exactly
    assert imgs[2]["image"][1] == iv[1][1]  # the I_T2 image ends at (d + 1) eps
    assert all(m["contained"] for m in imgs)


def test_thm6_loop_on_shipped_quantizer():
    r = check_thm6_loop(steps=50)
    assert r.result in ("proved", "verified-numerically")
    assert "shipped" in r.detail


class _TamperedTrap(TrapLoopQuantizer):
    @property
    def trap_actions(self):
        a_p, one, a_t2 = super().trap_actions
        return (1.5 * a_p, one, a_t2)


class _TamperedCall(TrapLoopQuantizer):
    def __call__(self, u):
        out = super().__call__(u)
        return np.where(np.abs(out - 1.0) < 1e-12, 0.9, out)


def test_thm6_loop_flips_on_tampered_quantizer():
    for factory in (_TamperedTrap, _TamperedCall):
        r = check_thm6_loop(quantizer_factory=factory, steps=20)
        assert r.result == "counterexample", r.detail


def test_thm6_loop_flips_on_violated_condition():
    # A k = 3/2 > 1: the image of I_P overshoots I_T1 (exact formulas; the library would refuse it)
    r = check_thm6_loop(params=(F(1, 2), F(1, 10), 3, 2), eps_values=(F(1, 100),),
                        quantizer_factory=lambda **kw: TrapLoopQuantizer(A=0.2, B=0.25, k=1.0, eps=kw["eps"], d=0.6))
    assert r.result == "counterexample" and "exact formulas" in r.detail


def test_thm6_in_distribution_c2_positive_and_binning_control():
    r = check_thm6_in_distribution(eps_values=(0.02, 0.01, 0.005), horizons=(40, 80, 160), n_traj=4000)
    assert r.result == "counterexample"
    # control: a plain binning of width eps has no 1/H component
    ctrl = check_thm6_in_distribution(eps_values=(0.02, 0.01, 0.005), horizons=(40, 80, 160), n_traj=4000,
                                      quantizer_factory=lambda e: UniformBinning(-2.0, 2.0, int(round(4 / e))))
    assert ctrl.result == "verified-numerically", ctrl.detail


# ---- Gaussian ----------------------------------------------------------------------------------

def test_gaussian_tv_quadrature_against_erf():
    tv, err = gaussian_tv_quadrature((0.2, 0.1), (-0.1, 0.5), 0.7)
    r = math.hypot(0.3, 0.4)
    assert tv == pytest.approx(math.erf(r / (2 * math.sqrt(2) * 0.7)), abs=1e-8 + err)


def test_tvc_gaussian_verified_and_flips_on_wrong_constant():
    assert check_tvc_gaussian().result == "verified-numerically"
    bad = check_tvc_gaussian(claimed=lambda r, s: math.erf(r / (2 * s)))
    assert bad.result == "counterexample"


def test_piiss_gaussian_verified_and_flips_on_wrong_eta():
    r = check_piiss_gaussian(n=20000)
    assert r.result == "verified-numerically"
    bad = check_piiss_gaussian(n=20000, eta=0.3, sigmas=(0.004,))
    assert bad.result == "counterexample"


# ---- Theorem 7 ---------------------------------------------------------------------------------

def test_thm7_coupling_noisy_is_counterexample_deterministic_is_proved():
    r = check_thm7_coupling(H=6, mc_trajectories=2000)
    assert r.result == "counterexample" and "TV(real, assumed) = 1" in r.detail
    assert check_thm7_coupling(H=6, vw=0, mc_trajectories=0).result == "proved"


def test_thm7_residual_variance_by_hand():
    # e_2 = w_1 - w^a_1: Var = 2 v_w; e_3 = a e_2 + w_2 - w^a_2: Var = 2 v_w (a^2 + 1)
    a, vw = F(1, 2), F(1, 100)
    c = rollout_coefficients(a, 1, F(-1, 4), 3, glued=False)
    var = [F(1)] + [vw] * 4
    e = [[u - F(-1, 4) * x for u, x in zip(ur, xr)] for ur, xr in zip(c["u"], c["x"])]
    ev = [covariance([row], var)[0][0] / F(1, 16) for row in e]
    assert ev == [0, 2 * vw, 2 * vw * (a * a + 1)]


def test_expected_clipped_abs_against_quadrature():
    from scipy import integrate
    v, s = F(1, 4), F(1, 2)
    tau = 0.5
    direct = integrate.quad(lambda y: min(1.0, abs(y) / 0.5) * math.exp(-y * y / (2 * tau ** 2))
                            / (tau * math.sqrt(2 * math.pi)), -10, 10, points=[-0.5, 0.0, 0.5])[0]
    assert float(expected_clipped_abs(v, s)) == pytest.approx(direct, abs=1e-9)


# ---- Proposition 5 and Theorem 1 ---------------------------------------------------------------

def test_prop5_binning_proved_and_flips_on_wrong_radius():
    from proofs_check.reduction import check_prop5_binning
    r = check_prop5_binning(pairs=4000)
    assert r.result == "proved"
    # forgetting one quantization error: the step fails symbolically
    bad = check_prop5_binning(delta0=lambda eq, ep, lip: (ep - eq) / lip, pairs=4000)
    assert bad.result == "counterexample"
    # forgetting both: the shipped binning itself shows the violation
    worse = check_prop5_binning(delta0=lambda eq, ep, lip: ep / lip, pairs=4000)
    import re
    violations = int(re.search(r"(\d+) of \d+ pairs violate", worse.detail).group(1))
    assert worse.result == "counterexample" and violations > 0


def test_prove_le_decides_simple_cases():
    import sympy
    from proofs_check.reduction import prove_le
    x = sympy.Symbol("x", positive=True)
    t = sympy.Symbol("t", nonnegative=True)
    assert prove_le(x * t, x, domain={t: (0, 1)})[0] == "proved"
    status, _, witness = prove_le(x * t, x, domain={t: (0, 2)})
    assert status == "counterexample" and witness["t"] > 1


def test_thm1_constants_verified_and_flips_on_wrong_constants():
    from proofs_check.reduction import check_thm1_constants
    r = check_thm1_constants(H=10, n=500)
    assert r.result == "verified-numerically"
    assert check_thm1_constants(H=10, n=500, Gamma=0.5).result == "counterexample"
    assert check_thm1_constants(H=10, n=500, bound_factor=1e-3).result == "counterexample"


def test_tv_centered_normals_against_quadrature():
    from scipy import integrate, stats
    from proofs_check.algorithm1 import _tv_centered_normals
    direct = integrate.quad(lambda x: 0.5 * abs(stats.norm.pdf(x, 0, 1) - stats.norm.pdf(x, 0, 2)), -30, 30,
                            points=[-1.5, 0.0, 1.5], limit=200)[0]
    assert float(_tv_centered_normals(F(1), F(4))) == pytest.approx(direct, abs=1e-8)
    assert float(_tv_centered_normals(F(1, 3), F(1, 3))) == 0.0


@pytest.mark.slow
def test_full_run_completes_without_failures():
    rep = run_checks()
    assert [c.id for c in rep.checks] == list(CHECK_IDS)
    assert all(c.result != "failed" for c in rep.checks), rep.format_text()
    json.dumps(rep.to_dict())


def test_thm1_symbolic_terms_flip_on_a_dropped_constant():
    from proofs_check.reduction import check_thm1_constants, thm1_terms_from_proof
    from qbc_theory.theory.symbols import sym
    terms = thm1_terms_from_proof()
    # the Lipschitz term without the "+ 1" (the ||u0 - u~0|| + eps' part of the proof)
    H, Gamma, eps_q, eps_prime, L_r = (sym(n) for n in ("H", "Gamma", "eps_q", "eps_prime", "L_r"))
    tampered = sum(v for k, v in terms.items() if k != "L_r") + H * L_r * Gamma * (eps_q + eps_prime)
    r = check_thm1_constants(H=5, n=200, explicit=tampered)
    assert r.result == "counterexample" and "term L_r" in r.detail
    # the proof's own terms pass the symbolic comparison
    assert check_thm1_constants(H=5, n=200, explicit=sum(terms.values())).result == "verified-numerically"
