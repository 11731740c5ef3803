"""Cells and claims of the linear family: thm3.rate_n, thm3.horizon, thm3.eps (Theorem 3)."""

import dataclasses
import math

import numpy as np
import pytest

from qbc_theory import bounds, learning
from qbc_theory.verification.cells import linear
from qbc_theory.verification.claims import SlopeTest, evaluate, get_claim
from qbc_theory.model.errors import DimensionError, SpecError
from qbc_theory.model.quantizers import UniformBinning
from qbc_theory.verification.runner import builtin_spec_paths, load_spec, run_spec, spec_from_dict
from qbc_theory.verification.scaling import STATUSES

CLAIM_IDS = ("thm3.rate_n", "thm3.horizon", "thm3.eps")


def _claim(cid):
    """The family's own claim (independent of the other families' modules)."""
    return {c.id: c for c in linear.CLAIMS}[cid]

BASE = dict(A=[[0.5]], B=[[1.0]], K=[[-0.2]], noise_std=1.0, x0="stationary", clip=2.0, eps_q=0.05,
            reward_scale=10.0, n=6, H=5, learner="mle", class_direction=[[1.0]], class_min_offset=1e-6,
            class_max_offset=0.1, class_per_side=8, delta=0.05, eval_quant=64, eval_min=32, eval_per_n=2)


def _finite_lists(out, seeds, per_seed):
    for key in per_seed:
        assert len(out[key]) == seeds, key
        assert all(math.isfinite(v) for v in out[key]), key
    for key, v in out.items():
        if key not in per_seed:
            assert isinstance(v, float) and math.isfinite(v), key


# --- cells on tiny parameters -------------------------------------------------------------------

def test_linear_cell_mle_well_formed_and_decomposed():
    out = linear.linear_regret_cell(dict(BASE), 3, np.random.SeedSequence(1))
    per_seed = ("regret", "regret_stat", "regret_quant", "offset")
    data = ("thm1_data", "thm1_data_tv", "thm1_data_quant", "tv_traj", "k_data", "ratio_thm1_data")
    per_seed = per_seed + data
    assert set(out) == set(per_seed) | {"eps_sup", "bins", "clip_exit", "L_r", "Pi", "L", "Gamma", "k",
                                        "delta0", "h2_vanishes", "bound_hp", "bound", "one"}
    _finite_lists(out, 3, per_seed)
    # the data-dependent Theorem 1 bound holds per seed and is far below the a-priori one
    assert np.all(np.asarray(out["ratio_thm1_data"]) <= 1)
    assert np.all(np.asarray(out["thm1_data"]) < out["bound"])
    np.testing.assert_allclose(out["thm1_data"], np.add(out["thm1_data_tv"], out["thm1_data_quant"]), rtol=1e-12)
    np.testing.assert_allclose(out["regret"], np.add(out["regret_stat"], out["regret_quant"]), rtol=0, atol=1e-15)
    # the selected offset is one of the class's offsets, and the class contains the expert (offset 0)
    _, offsets = linear.offset_class([[-0.2]], [[1.0]], 1e-6, 0.1, 8, UniformBinning(-2, 2, 40))
    assert set(out["offset"]) <= set(offsets.tolist())
    assert out["Pi"] == 17.0 and out["bins"] == 40.0


def test_linear_cell_is_reproducible():
    a = linear.linear_regret_cell(dict(BASE), 2, np.random.SeedSequence(7))
    b = linear.linear_regret_cell(dict(BASE), 2, np.random.SeedSequence(7))
    assert a == b


def test_linear_cell_constant_and_unstable_variants():
    out = linear.linear_regret_cell(dict(BASE, learner="constant"), 2, np.random.SeedSequence(2))
    _finite_lists(out, 2, ("regret", "regret_stat", "regret_quant", "token"))
    assert "bound" not in out  # realizability fails for the state-blind class: no bound is claimed
    unstable = dict(BASE, A=[[1.5]], K=[[-1.2]], x0=1.5, clip=1.0, reward_scale=1000.0)
    out = linear.linear_regret_cell(unstable, 2, np.random.SeedSequence(3))
    _finite_lists(out, 2, ("regret", "regret_stat", "regret_quant", "offset"))
    assert "bound" not in out and "Gamma" not in out
    # gamma_H = sum_{j<H} 1.5^j computed by hand
    assert out["gamma_H"] == pytest.approx((1.5**5 - 1) / 0.5, rel=1e-12)


def test_linear_cell_bound_column_recomputed_independently():
    out = linear.linear_regret_cell(dict(BASE), 2, np.random.SeedSequence(4))
    gamma = 1.0 / (1.0 - 0.5)  # sum_j 0.5^j |B|
    L = 0.2 + 0.1  # largest |K + o| over the class
    eps_q = (4.0 / 40) / 2  # centre binning of [-2, 2] in 40 cells: half a cell width
    L_r = 0.5 * (math.sqrt(1 + 0.2**2) + 1) / 10.0
    k = 1.1 * (2 + L * gamma) / (1 - L * gamma)
    assert out["Gamma"] == pytest.approx(gamma, rel=1e-9)
    assert out["L"] == pytest.approx(L, rel=1e-12)
    assert out["eps_sup"] == pytest.approx(eps_q, rel=1e-12)
    assert out["L_r"] == pytest.approx(L_r, rel=1e-12)
    assert out["k"] == pytest.approx(k, rel=1e-9)
    assert out["delta0"] == pytest.approx((k - 2) * eps_q / L, rel=1e-9)
    # Proposition 5: kappa(Gamma (k+1) eps_q) = 0 since Gamma (k+1) eps_q <= delta0
    assert out["h2_vanishes"] == 1.0 and gamma * (k + 1) * eps_q <= out["delta0"]
    # the H^2 term vanishes, so Theorem 3 + Proposition 5 reads 24 H log(2|Pi|/delta)/n + H L_r (Gamma+1)(k+1) eps_q
    H, n, Pi, delta = 5, 6, 17, 0.05
    hp = 24 * H * math.log(2 * Pi / delta) / n + H * L_r * (gamma + 1) * (k + 1) * eps_q
    assert out["bound_hp"] == pytest.approx(hp, rel=1e-8)
    assert out["bound"] == pytest.approx(hp + delta * H, rel=1e-8)


def test_linear_cell_clip_exit_is_negligible_on_the_builtin_instance():
    out = linear.linear_regret_cell(dict(BASE, H=20), 2, np.random.SeedSequence(5))
    # sd of the action is 0.2 / sqrt(1 - 0.3^2) ~ 0.21, the range is +-2: ~9.5 sd
    assert out["clip_exit"] < 1e-15


def test_linear_cell_refuses_bad_params():
    with pytest.raises(SpecError, match="eps_q"):
        linear.linear_regret_cell(dict(BASE, eps_q=0.03), 1, np.random.SeedSequence(0))
    with pytest.raises(SpecError, match="learner"):
        linear.linear_regret_cell(dict(BASE, learner="oracle"), 1, np.random.SeedSequence(0))
    with pytest.raises(SpecError, match="stationary"):
        linear.linear_regret_cell(dict(BASE, K=[[1.0]]), 1, np.random.SeedSequence(0))
    with pytest.raises(SpecError, match="reward"):
        linear.linear_regret_cell(dict(BASE, reward="tracking"), 1, np.random.SeedSequence(0))


def test_data_bound_tv_is_the_disagreement_probability():
    """For deterministic policies the trajectory TV is P(some token differs along an expert run)."""
    out = linear.linear_regret_cell(dict(BASE, n=4, eval_bound=20000), 2, np.random.SeedSequence(9))
    inst = linear._instance(BASE)
    cls, offsets = linear.offset_class([[-0.2]], [[1.0]], 1e-6, 0.1, 8, inst.quantizer)
    # recompute seed 0's TV by brute force on fresh expert runs: |tv - tv'| within Monte Carlo error
    from qbc_theory.engine import rollout
    j = list(offsets).index(out["offset"][0])
    runs = rollout.collect(inst.system, inst.expert, inst.quantizer, 20000, 5, np.random.default_rng(1))
    learned = inst.quantizer.encode(runs.states.reshape(-1, 1) @ cls.gains[j].T).reshape(runs.tokens.shape)
    p = float(np.mean(np.any(learned != runs.tokens, axis=1)))
    assert abs(out["tv_traj"][0] - p) < 5 * math.sqrt(max(p, 1e-4) / 20000) + 1e-3


def test_regulation_reward_variant():
    out = linear.linear_regret_cell(dict(BASE, reward="regulation"), 2, np.random.SeedSequence(3))
    assert out["L_r"] == pytest.approx(1 / 10.0)


def test_trap_cell_well_formed():
    params = dict(eps_q=0.01, H=8, A6=0.2, B6=0.25, k6=1.0, d6=0.6, x0_std=1.0, eval=64)
    out = linear.trap_regret_cell(params, 2, np.random.SeedSequence(6))
    _finite_lists(out, 2, ("regret", "eps_in"))
    assert out["lower_bound"] > 0


# --- instance parts -----------------------------------------------------------------------------

def test_reward_in_unit_interval_and_lipschitz(rng):
    from qbc_theory.model.experts import LinearExpert

    r = linear.TrackRegulateReward(LinearExpert([[-0.2]]), 2.0)
    x, u = rng.normal(0, 3, (4000, 1)), rng.normal(0, 3, (4000, 1))
    v = r(x, u)
    assert np.all((v >= 0) & (v <= 1))
    x2, u2 = x + rng.normal(0, 0.1, x.shape), u + rng.normal(0, 0.1, u.shape)
    gap = np.hypot(np.linalg.norm(x - x2, axis=1), np.linalg.norm(u - u2, axis=1))
    assert np.all(np.abs(r(x2, u2) - v) <= r.lipschitz * gap + 1e-12)
    # the constant is attained along u = 0, x = t (both parts move at their full rates): not loose
    t = np.array([[0.5], [0.6]])
    slope = abs(r(t[1:], np.zeros((1, 1)))[0] - r(t[:1], np.zeros((1, 1)))[0]) / 0.1
    assert slope == pytest.approx(0.5 * (0.2 + 1) / 2.0, rel=1e-9)
    assert slope <= r.lipschitz


def test_fit_constant_token_most_frequent_lowest_on_ties():
    q = UniformBinning(-1, 1, 4)
    assert linear.fit_constant_token(np.array([[3, 1, 1], [3, 2, 0]]), q).token == 1
    assert linear.fit_constant_token(np.array([2, 3, 3, 2]), q).token == 2
    pol = linear.fit_constant_token(np.array([0, 0, 1]), q)
    np.testing.assert_array_equal(pol.act(np.zeros((3, 1))), np.full((3, 1), -0.75))
    with pytest.raises(DimensionError, match="tokens"):
        linear.fit_constant_token(np.array([0, 4]), q)
    with pytest.raises(DimensionError, match="tokens"):
        linear.fit_constant_token(np.array([0.5]), q)


def test_offset_class_selects_the_largest_consistent_gain(rng):
    q = UniformBinning(-2, 2, 40)
    cls, offsets = linear.offset_class([[-0.2]], [[1.0]], 1e-5, 0.1, 60, q)
    assert cls.size == 121 and offsets[60] == 0.0 and np.all(np.diff(offsets) < 0)
    x = rng.normal(0, 1, (300, 1))
    tokens = q.encode(x * -0.2)
    fit = learning.fit_finite(cls, x, tokens)
    # brute force: every candidate that reproduces all tokens, then the largest offset among them
    consistent = [j for j in range(cls.size) if np.array_equal(q.encode(x * cls.gains[j, 0, 0]), tokens)]
    assert 60 in consistent
    assert offsets[fit.index] == max(offsets[consistent])
    assert offsets[fit.index] > 0
    with pytest.raises(DimensionError, match="direction"):
        linear.offset_class([[-0.2]], [[0.0]], 1e-5, 0.1, 4, q)
    with pytest.raises(DimensionError, match="max_offset"):
        linear.offset_class([[-0.2]], [[1.0]], 0.1, 0.1, 4, q)


# --- specs and claims ---------------------------------------------------------------------------

def test_the_catalog_serves_the_familys_claims():
    assert [get_claim(cid) for cid in CLAIM_IDS] == [_claim(cid) for cid in CLAIM_IDS]


def test_builtin_specs_load_and_match_the_claims():
    paths = {p.stem: p for p in builtin_spec_paths()}
    for cid in CLAIM_IDS:
        claim = _claim(cid)
        assert claim.id == cid
        for sid in (claim.spec, claim.control_spec):
            spec = load_spec(paths[sid])
            assert spec.id == sid
            assert spec.cell in ("thm3.linear", "thm3.trap", "thm3.h2")
    entropies = [load_spec(paths[s]).entropy for c in CLAIM_IDS
                 for s in (_claim(c).spec, _claim(c).control_spec)]
    assert len(set(entropies)) == len(entropies)


def test_predicted_exponents_are_the_bound_librarys():
    """The claims' exponents are Theorem 3's (Proposition 5 form) at the built-in instance's constants."""
    out = linear.linear_regret_cell(dict(BASE, class_min_offset=1e-8, class_per_side=500), 1,
                                    np.random.SeedSequence(8))
    fixed = {"L": out["L"], "Gamma": out["Gamma"], "k": out["k"]}
    b = bounds.get("thm3_binning")
    by_symbol = {"n": b.exponent("n", fixed=fixed), "H": b.exponent("H", fixed=fixed),
                 "eps_q": b.exponent("eps_q", fixed=fixed)}
    for cid in CLAIM_IDS:
        test = _claim(cid).tests[0]
        assert test.predicted == pytest.approx(by_symbol[test.along], abs=1e-12)


def _holds_with_slack(outcome):
    """Not violated, and the whole interval inside the slack-widened region (the verdict at zero slack
    may be inconclusive for a slope exactly at the predicted boundary, as a linear regret is)."""
    return outcome.status in ("consistent", "inconclusive") and outcome.ci[1] <= 1.1


def _small(sid, cell, params, grid, seeds):
    return spec_from_dict({"id": sid, "cell": cell, "entropy": 12345, "params": params, "grid": grid,
                           "profiles": {"quick": {"seeds": seeds}, "full": {"seeds": seeds}}})


@pytest.fixture(scope="module")
def small_tables(tmp_path_factory):
    """Every spec of the family on small ladders (a few seconds in total)."""
    out = tmp_path_factory.mktemp("linear")
    paths = {p.stem: p for p in builtin_spec_paths()}
    shrink = {
        "thm3.rate_n": ({"n": [8, 64, 512]}, 12, {"eval_per_n": 8}),
        "thm3.rate_n.control": ({"n": [8, 64, 512]}, 6, {}),
        "thm3.horizon": ({"H": [4, 16, 64]}, 4, {"n": 32, "eval_quant": 512}),
        "thm3.horizon.control": ({"H": [2, 6, 12]}, 4, {"n": 32, "eval_quant": 512}),
        "thm3.h2": ({"H": [32, 128, 512]}, 4, {"eval": 1000}),
        "thm3.eps": ({"eps_q": [0.03125, 0.0625, 0.125]}, 4, {"n": 32, "eval_quant": 16384}),
        "thm3.eps.control": ({"eps_q": [0.03125, 0.0625, 0.125]}, 4, {"n": 32, "eval_quant": 16384}),
    }
    tables = {}
    for sid, (grid, seeds, overrides) in shrink.items():
        base = load_spec(paths[sid])
        params = dict(base.params)
        params.update(overrides)
        spec = _small(sid, base.cell, params, grid, seeds)
        tables[sid] = run_spec(spec, backend="serial", out=out, profile="quick", progress=False)
    return tables


@pytest.mark.parametrize("cid", CLAIM_IDS)
def test_claims_evaluate_on_small_data_and_controls_are_violated(small_tables, cid):
    claim = _claim(cid)
    result = evaluate(claim, small_tables[claim.spec], small_tables[claim.control_spec])
    assert result.status in STATUSES and result.experiment_status in STATUSES
    assert result.control_status == "violated"
    d = result.to_dict()
    assert d["id"] == cid and d["control"]["status"] == "violated"


def test_verdicts_can_fail_on_the_same_tables(small_tables):
    rng = np.random.default_rng(0)
    wrong = [
        ("thm3.rate_n", SlopeTest("regret_stat", "n", predicted=-3.0, relation="<=", tol=0.2)),
        ("thm3.horizon", SlopeTest("regret", "H", predicted=0.5, relation="<=", tol=0.1)),
        ("thm3.eps", SlopeTest("regret", "eps_q", predicted=3.0, relation=">=", tol=0.1)),
    ]
    for sid, test in wrong:
        assert test.run(small_tables[sid], rng).status == "violated", sid
    # the same bound test against a bound a million times smaller
    table = small_tables["thm3.rate_n"]
    shrunk = dataclasses.replace(table, rows=tuple(dict(r, bound=r["bound"] * 1e-6) for r in table.rows))
    bound_test = _claim("thm3.rate_n").tests[1]
    assert bound_test.run(table, rng).status in ("consistent", "vacuous")  # ~500x above the regret
    assert bound_test.run(shrunk, rng).status == "violated"
    # the data-dependent bound: consistent, and violated when the bound is 1000x smaller
    data_test = _claim("thm3.rate_n").tests[2]
    assert data_test.run(table, rng).status == "consistent"
    wrong = dataclasses.replace(table, rows=tuple(dict(r, ratio_thm1_data=1e3 * r["ratio_thm1_data"])
                                                  for r in table.rows))
    assert data_test.run(wrong, rng).status == "violated"


def test_horizon_test_rejects_a_quadratic_regret(small_tables):
    """'Linear in H' must exclude H^2: the claim's test fed a regret growing like H^2 comes out violated."""
    table = small_tables["thm3.horizon"]
    quad = dataclasses.replace(table, rows=tuple(dict(r, regret=r["regret"] * r["H"]) for r in table.rows))
    test = _claim("thm3.horizon").tests[0]
    assert _holds_with_slack(test.run(table, np.random.default_rng(0)))
    out = test.run(quad, np.random.default_rng(0))
    assert out.status == "violated" and out.ci[0] > 1.5


def test_eps_test_is_not_an_identity_of_the_reward(small_tables):
    """Under the regulation reward the regret is not H eps_q / (4 s): it is of second order in eps_q,
    and the eps test is violated by the control's regret floor (clipping error that does not shrink)."""
    table = small_tables["thm3.eps"]
    fit = SlopeTest("regret", "eps_q", predicted=1.0, relation=">=").run(table, np.random.default_rng(0))
    assert fit.measured > 1.5
    ctrl = small_tables["thm3.eps.control"]
    assert all(r["clip_exit"] > 0.5 for r in ctrl.rows) and all(r["clip_exit"] < 1e-15 for r in table.rows)
    assert _claim("thm3.eps").tests[0].run(ctrl, np.random.default_rng(0)).status == "violated"


def test_the_two_hypothesis_horizon_control_is_violated_too(small_tables):
    """The kept spec thm3.horizon.control (global P-IISS and the sup error broken) also violates the horizon test."""
    out = _claim("thm3.horizon").tests[0].run(small_tables["thm3.horizon.control"], np.random.default_rng(0))
    assert out.status == "violated"


def test_horizon_control_needs_the_cap(tmp_path):
    """The reason the horizon control is violated: remove the cap and the same unstable A grows linearly.

    With a clip range the expert never leaves, the learner's error dynamics are those of the stable
    closed loop A + BK, so the regret stays linear in H although rho(A) = 1.5 (no global P-IISS).
    """
    paths = {p.stem: p for p in builtin_spec_paths()}
    base = load_spec(paths["thm3.horizon.control"])
    params = dict(base.params, clip=5.0, eps_q=0.125, x0="stationary", reward_scale=10.0, n=32, eval_quant=512)
    table = run_spec(_small("uncapped", base.cell, params, {"H": [4, 16, 64]}, 4), backend="serial",
                     out=tmp_path, profile="quick", progress=False)
    assert all(r["clip_exit"] < 1e-9 for r in table.rows)
    test = _claim("thm3.horizon").tests[0]
    assert _holds_with_slack(test.run(table, np.random.default_rng(0)))


def test_horizon_control_needs_the_instability(tmp_path):
    """...and the cap alone (the sup error broken, rho(A) = 0.5) does not make the regret superlinear either:
    on a linear system no single broken hypothesis of the horizon claim shows the H^2 term."""
    paths = {p.stem: p for p in builtin_spec_paths()}
    base = load_spec(paths["thm3.horizon"])
    params = dict(base.params, clip=0.25, n=32, eval_quant=512)
    table = run_spec(_small("capped-stable", base.cell, params, {"H": [4, 16, 64]}, 4), backend="serial",
                     out=tmp_path, profile="quick", progress=False)
    assert all(r["clip_exit"] > 0.5 for r in table.rows)
    assert _holds_with_slack(_claim("thm3.horizon").tests[0].run(table, np.random.default_rng(0)))


@pytest.mark.slow
def test_quick_profile_verdicts(tmp_path):
    """The quick profiles of the family's six specs, judged as `qbc verify --quick` does."""
    paths = {p.stem: p for p in builtin_spec_paths()}
    for cid in CLAIM_IDS:
        claim = _claim(cid)
        table = run_spec(paths[claim.spec], backend="serial", out=tmp_path, profile="quick", progress=False)
        control = run_spec(paths[claim.control_spec], backend="serial", out=tmp_path, profile="quick",
                           progress=False)
        result = evaluate(claim, table, control)
        assert result.control_status == "violated", cid
        assert result.status in STATUSES
