"""Negative controls of thm2.horizon, thm1.explicit and prop4.regression on the claims' own instances.

Each control breaks one named hypothesis; these tests pin what the measurement shows (including the
findings that a control is *not* violated on the claim's own instance) and show that the same check
fails on an instance where the broken hypothesis does carry the inequality.
"""

import math
import tomllib
from importlib import resources

import numpy as np
import pytest

from qbc_theory.model.errors import SpecError
from qbc_theory.verification.cells import reduction as red
from qbc_theory.verification.cells import theorem2 as t2


def _spec(name):
    path = resources.files("qbc_theory") / "data" / "experiments" / f"{name}.toml"
    return tomllib.loads(path.read_text())


def _slope(cell_params, Hs=(4, 32), seeds=4, eval_n=600):
    regrets = []
    for H in Hs:
        out = t2.thm2_regret_cell(dict(cell_params, H=H, eval=eval_n), seeds, np.random.SeedSequence(7))
        regrets.append(float(np.mean(out["regret"])))
    return math.log(regrets[1] / regrets[0]) / math.log(Hs[1] / Hs[0]), out


def test_thm2_horizon_control_is_the_claims_instance_with_only_A_changed():
    exp, ctl = _spec("thm2.horizon"), _spec("thm2.horizon.control")
    changed = {k for k in exp["params"] if exp["params"][k] != ctl["params"].get(k)}
    assert changed == {"A"} and set(ctl["params"]) == set(exp["params"])
    assert exp["grid"] == ctl["grid"]
    a, b, k = ctl["params"]["A"][0][0], ctl["params"]["B"][0][0], ctl["params"]["K"][0][0]
    assert abs(a) > 1 > abs(a + b * k)  # P-EIISS broken, the expert's closed loop still stable


def test_thm2_horizon_claim_names_one_broken_hypothesis():
    claim = next(c for c in t2.CLAIMS if c.id == "thm2.horizon")
    assert claim.control_spec == "thm2.horizon.control"
    assert claim.control.count("broken hypothesis") == 1 and "global P-EIISS" in claim.control


def test_thm2_horizon_control_slope_stays_below_two_finding():
    # finding: with only A unstable the closed loops stay stable and the slope test is not violated
    slope, out = _slope(_spec("thm2.horizon.control")["params"])
    assert out["rho_A"] > 1 and "bound" not in out
    assert out["clip_exit"] < 1e-3
    assert slope < 2.0 + t2._HORIZON_TOL


def test_thm2_horizon_slope_check_fails_on_a_saturating_escape():
    # the same check has teeth: unstable A plus a clip range the quantized learner saturates at
    p = dict(_spec("thm2.horizon.control")["params"], A=[[1.5]], K=[[-1.0]], low=-0.5, high=0.5, bins=250,
             reward_scale=1e7)
    slope, out = _slope(p)
    assert slope > 2.0 + t2._HORIZON_TOL


def _thm1_params(**kw):
    return dict(_spec("thm1.explicit")["params"], n=256, eval=600, **kw)


def test_thm1_greedy_valid_bound_holds_through_tv_not_kappa_finding():
    p = _thm1_params()
    out = red.thm1_greedy_cell(p, 2, np.random.SeedSequence(3))
    H = p["H"]
    assert np.allclose(out["thm1_valid_tv"], H)  # TV of a deterministic vs the stochastic q#pi*: bounded by 1
    assert min(out["tv_step1"]) > 0.99  # and it is essentially 1 already at the first step
    assert max(out["thm1_valid_kappa"]) == 0.0  # L Gamma < 1: the eps'-RTVC modulus vanishes at the gaps
    assert max(out["ratio_thm1"]) < 1.0  # finding: the regret does not exceed the rest of the bound
    assert max(out["regret_signed"]) < 0  # greedy decoding regulates better than the noisy expert


def test_thm1_greedy_rejects_an_unstable_system():
    with pytest.raises(SpecError, match="rho"):
        red.thm1_greedy_cell(_thm1_params(A=[[1.5]]), 1, np.random.SeedSequence(0))


def test_prop4_unsmoothed_regret_below_rest_of_bound_finding():
    p = dict(_spec("prop4.regression")["params"], eval=600)
    out = red.prop4_unsmoothed_cell(p, 2, np.random.SeedSequence(4))
    assert max(out["ratio_prop4"]) < 1.0  # finding: not violated on the claim's own instance
    assert max(out["ratio_thm1_valid"]) <= 1.0
    assert all(k < v for k, v in zip(out["thm1_valid_kappa"], out["thm1_valid"]))
    assert out["Gamma"] * min(out["k_hat"]) < 1.0  # why: L Gamma < 1


def test_lipschitz_controls_still_violated():
    # the controls kept for thm1.explicit and prop4.regression: the kappa term carries the inequality
    for name in ("thm1.explicit.control", "prop4.regression.control"):
        spec = _spec(name)
        out = red.lipschitz_reduction_cell(dict(spec["params"], H=16), 1, np.random.SeedSequence(1))
        assert out["ratio_thm1"][0] > 1 and out["ratio_prop4"][0] > 1
        assert out["ratio_thm1_valid"][0] <= 1  # the valid bound (actual modulus) holds
