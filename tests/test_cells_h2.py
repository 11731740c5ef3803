"""Cells and claim thm3.h2 (Theorem 3's H^2 term on a bistable closed loop) and its control."""

import dataclasses

import numpy as np
import pytest

from qbc_theory.engine import rollout
from qbc_theory.model.errors import DimensionError, SpecError
from qbc_theory.verification.cells import horizon_h2, linear
from qbc_theory.verification.claims import evaluate
from qbc_theory.verification.runner import builtin_spec_paths, load_spec, run_spec, spec_from_dict

LADDER = [32, 64, 128, 256]


def _claim():
    return {c.id: c for c in horizon_h2.CLAIMS}["thm3.h2"]


def _params(sid):
    paths = {p.stem: p for p in builtin_spec_paths()}
    return dict(load_spec(paths[sid]).params)


def _small(sid, params, seeds, ladder=LADDER):
    return spec_from_dict({"id": sid, "cell": "thm3.h2", "entropy": 20261204, "params": params,
                           "grid": {"H": list(ladder)},
                           "profiles": {"quick": {"seeds": seeds}, "full": {"seeds": seeds}}})


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """Claim and control on a short ladder, 6 seeds x 1000 pairs (about a second each)."""
    out = tmp_path_factory.mktemp("h2")
    res = {}
    for sid in ("thm3.h2", "thm3.h2.control"):
        params = dict(_params(sid), eval=1000)
        res[sid] = run_spec(_small(sid, params, 6), backend="serial", out=out, profile="quick", progress=False)
    return res


# --- the cell ----------------------------------------------------------------------------------------

def test_cell_columns_and_the_second_half_identity():
    params = dict(_params("thm3.h2"), eval=64, H=16)
    out = horizon_h2.h2_regret_cell(params, 3, np.random.SeedSequence(5))
    for key in ("regret", "regret_first_half", "regret_second_half", "regret_se"):
        assert len(out[key]) == 3
    np.testing.assert_allclose(out["regret_second_half"],
                               np.subtract(out["regret"], out["regret_first_half"]), atol=1e-12)
    # Theorem 3's constants come from the instance: L Gamma = 5, Proposition 5 fails, the bound is >= H
    assert out["L_Gamma"] == pytest.approx(5.0) and out["h2_vanishes"] == 0.0
    assert out["thm3_bound_over_H"] >= 1.0 and out["eps_q"] == pytest.approx(0.125)
    ctrl = horizon_h2.h2_regret_cell(dict(_params("thm3.h2.control"), eval=64, H=16), 2, np.random.SeedSequence(5))
    assert ctrl["L_Gamma"] == pytest.approx(0.5) and ctrl["h2_vanishes"] == 1.0
    again = horizon_h2.h2_regret_cell(params, 3, np.random.SeedSequence(5))
    assert again["regret"] == out["regret"]


def test_first_half_is_the_prefix_of_the_same_trajectories():
    """R(H/2) of the twin generator equals the first H/2 steps of the full run, trajectory by trajectory."""
    system, expert, q, reward = horizon_h2.h2_instance(_params("thm3.h2"))
    learner = rollout.QuantizedPolicy(expert, q)
    H, N = 12, 50
    seq = np.random.SeedSequence(9)
    half = rollout.regret(system, expert, learner, reward, H // 2, N, np.random.default_rng(seq))
    noise = rollout.draw_noise(system, H, N, system.du, np.random.default_rng(seq))
    a = rollout.rollout(system, expert, reward, H, noise.x0, noise.w, noise.z)
    b = rollout.rollout(system, learner, reward, H, noise.x0, noise.w, noise.z)
    prefix = (a.rewards[: H // 2] - b.rewards[: H // 2]).sum(axis=0)
    np.testing.assert_allclose(half.differences, prefix, atol=1e-12)


def test_bad_params_are_one_line_errors():
    params = dict(_params("thm3.h2"), eval=8)
    with pytest.raises(SpecError, match="H: expected an even horizon"):
        horizon_h2.h2_regret_cell(dict(params, H=7), 1, np.random.SeedSequence(0))
    bad = dict(params, H=8)
    del bad["reward_offset"]
    with pytest.raises(SpecError, match="missing reward_offset"):
        horizon_h2.h2_regret_cell(bad, 1, np.random.SeedSequence(0))
    with pytest.raises(DimensionError, match="weights"):
        horizon_h2.h2_regret_cell(dict(params, H=8, reward_weights=[1.0, 2.0]), 1, np.random.SeedSequence(0))


# --- the claim ---------------------------------------------------------------------------------------

def test_claim_is_consistent_and_its_control_violated(tables):
    result = evaluate(_claim(), tables["thm3.h2"], tables["thm3.h2.control"], np.random.default_rng(0))
    assert result.status == "consistent", result.to_dict()
    assert result.control_status == "violated"
    assert result.outcomes[0].ci[0] > horizon_h2.SLOPE_THRESHOLD
    assert result.control_outcomes[0].ci[1] < horizon_h2.SLOPE_THRESHOLD


def test_control_data_fed_as_the_claim_is_violated(tables):
    """A linear regret in place of the bistable one: the claim's test fails, so the claim can fail."""
    ctrl = tables["thm3.h2.control"]
    result = evaluate(_claim(), ctrl, ctrl, np.random.default_rng(0))
    assert result.experiment_status == "violated" and result.status == "violated"


def test_claim_data_fed_as_the_control_leaves_the_claim_without_teeth(tables):
    """The control must be violated: an H^2 control makes the claim inconclusive, not consistent."""
    claim = tables["thm3.h2"]
    result = evaluate(_claim(), claim, claim, np.random.default_rng(0))
    assert result.control_status == "consistent" and result.status == "inconclusive"


def test_a_planted_offset_does_not_fool_the_second_half_statistic(tables):
    """A constant added to R(H) (an initial transient) bends log R but cancels in D(H): the control's
    R with a large negative offset fitted directly looks superlinear, its D does not move."""
    ctrl = tables["thm3.h2.control"]
    shift = dataclasses.replace(ctrl, rows=tuple(dict(r, regret=r["regret"] - 0.06,
                                                     regret_first_half=r["regret_first_half"] - 0.06)
                                                for r in ctrl.rows))
    from qbc_theory.verification.verdicts import SlopeTest
    on_r = SlopeTest(value="regret", along="H", predicted=1.3, relation=">=").run(shift, np.random.default_rng(0))
    assert on_r.measured > 1.1
    assert _claim().tests[0].run(shift, np.random.default_rng(0)).status == "violated"


def test_linear_horizon_test_of_thm3_horizon_is_violated_by_the_h2_data(tables):
    """Issue 15: the "linear in H" test of claim thm3.horizon, fed the thm3.h2 regret, must fail."""
    test = {c.id: c for c in linear.CLAIMS}["thm3.horizon"].tests[0]
    out = test.run(tables["thm3.h2"], np.random.default_rng(0))
    assert out.status == "violated" and out.ci[0] > 1.5
    # and the control's (linear) regret does not violate it, so it is the data that decides
    assert test.run(tables["thm3.h2.control"], np.random.default_rng(0)).status != "violated"


@pytest.mark.slow
def test_quick_profile_verdict(tmp_path):
    """The built-in quick profiles, judged as `qbc verify --quick` does."""
    paths = {p.stem: p for p in builtin_spec_paths()}
    claim = _claim()
    table = run_spec(paths[claim.spec], backend="serial", out=tmp_path, profile="quick", progress=False)
    control = run_spec(paths[claim.control_spec], backend="serial", out=tmp_path, profile="quick", progress=False)
    result = evaluate(claim, table, control)
    assert result.status == "consistent" and result.control_status == "violated"


# --- figure data and drawing -------------------------------------------------------------------------

def test_figure_data_has_the_four_series_and_refuses_missing_specs(tables):
    from qbc_theory.figures import h2_plot
    from qbc_theory.verification.figdata import MissingDataError
    from qbc_theory.verification.figdata.h2 import h2_horizon_data

    data, prov, notes = h2_horizon_data(tables)
    assert len(data.measured) == 4 and dict(data.fixed) == {"eps_q": 0.125}
    claim_d, control_d = data.measured[1].fit, data.measured[3].fit
    assert claim_d.ci_low > horizon_h2.SLOPE_THRESHOLD > control_d.ci_high
    assert any("not drawn" in n for n in notes)
    assert h2_plot.draw_h2_figure(data).axes
    with pytest.raises(MissingDataError, match="thm3.h2.control"):
        h2_horizon_data({"thm3.h2": tables["thm3.h2"]})
    with pytest.raises(DimensionError, match="four series"):
        h2_plot.h2_horizon_plot(dataclasses.replace(data, measured=data.measured[:2]))
