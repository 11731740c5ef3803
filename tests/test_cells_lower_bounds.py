"""Cells and claims of the lower-bound family: thm8.tight, thm9.tight (Theorems 8, 9) and prop5.rtvc."""

import dataclasses
import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from proofs_check.lower_bounds import binomial_tv_exact
from qbc_theory import bounds, learning, rollout
from qbc_theory.verification.cells import lower_bounds as lb
from qbc_theory.verification.claims import BoundTest, SlopeTest, evaluate, get_claim
from qbc_theory.engine.constructions import theorem8, theorem9
from qbc_theory.model.errors import AssumptionError, DimensionError
from qbc_theory.model.quantizers import encode_actions
from qbc_theory.verification.runner import ResultTable, builtin_spec_paths, load_spec, run_spec, spec_from_dict

CLAIM_IDS = ("thm8.tight", "thm9.tight", "prop5.rtvc")
REGRET_KEYS = ("regret_a", "regret_b", "regret_avg", "regret_worst", "wrong_a", "wrong_b")


def _check_output(out, seeds, per_seed):
    for key in per_seed:
        assert len(out[key]) == seeds, key
        assert all(math.isfinite(v) for v in out[key]), key
    for key, v in out.items():
        if key not in per_seed:
            assert isinstance(v, float) and math.isfinite(v), key


# --- the proofs' experts and the learner -----------------------------------------------------------

def test_first_step_policy_plays_first_then_later():
    inst = theorem8(4, variant="b")
    pol = inst.expert
    x = np.array([[0.0], [1.0], [0.3]])
    np.testing.assert_array_equal(pol.act(x, None, h=1), x)
    np.testing.assert_array_equal(pol.act(x, None, h=2), np.zeros((3, 1)))
    assert pol.deterministic and pol.time_varying


def test_bernoulli_token_logpmf_is_a_law():
    inst = theorem9(16, expert="a")
    pol = inst.expert
    x = np.zeros((2, 1))
    lp = pol.token_logpmf(x, np.array([0, 1]), 1, inst.quantizer)
    np.testing.assert_allclose(np.exp(lp).sum(), 1.0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(np.exp(lp[1]), inst.params["p_high"], rtol=1e-15, atol=0)
    # later steps: a point mass at 0
    np.testing.assert_array_equal(pol.token_logpmf(x, np.array([0, 1]), 2, inst.quantizer), [0.0, -np.inf])


def test_log_loss_scores_refuses_bad_shapes():
    inst = theorem8(4)
    with pytest.raises(DimensionError, match="states, tokens"):
        lb.log_loss_scores([inst.expert], np.zeros((2, 3, 1)), np.zeros((2, 3), int),
                           inst.quantizer)


def test_thm8_learner_matches_fit_finite_on_step_one():
    # The two experts agree at steps h >= 2, so only step 1 decides; there they are the linear gains 0
    # and 1, and learning.fit_finite (lowest index on ties) must make the same choice.
    rng = np.random.default_rng(11)
    inst = theorem8(3, 4, variant="b")
    experts = [theorem8(3, variant=v).expert for v in "ab"]
    states, tokens = lb._datasets(inst.system, experts[1], inst.quantizer, 3, 40, 4, rng)
    chosen = lb.fit_two_point(experts, states, tokens, inst.quantizer)
    cls = learning.LinearPolicyClass(np.array([[[0.0]], [[1.0]]]), inst.quantizer)
    ref = [learning.fit_finite(cls, states[k, :, 0], tokens[k, :, 0]).index for k in range(40)]
    np.testing.assert_array_equal(chosen, ref)
    assert 0 < chosen.sum() < 40  # both outcomes occur, so the comparison is not vacuous


def test_thm9_learner_is_the_majority_vote_with_ties_to_a():
    rng = np.random.default_rng(12)
    n = 10
    inst = theorem9(n, 3, expert="b")
    experts = [theorem9(n, expert=v).expert for v in "ab"]
    states, tokens = lb._datasets(inst.system, experts[1], inst.quantizer, n, 200, 3, rng)
    ones = tokens[:, :, 0].sum(axis=1)
    expected = np.where(ones >= n / 2, 0, 1)  # pi^a puts more mass on 1; n/2 is a tie
    np.testing.assert_array_equal(lb.fit_two_point(experts, states, tokens, inst.quantizer), expected)
    assert np.any(ones == n / 2) and np.any(expected == 1)


# --- Theorem 8 cell ---------------------------------------------------------------------------------

def test_thm8_stratified_regret_matches_plain_monte_carlo():
    rng = np.random.default_rng(13)
    inst = theorem8(2, 4, variant="b")  # Delta = 1/6, so x_1 = 1 is frequent
    experts = [theorem8(2, variant=v).expert for v in "ab"]
    exact = lb._thm8_regret(inst, experts[1], experts[0], 4, rng)
    assert exact == pytest.approx(4 * inst.params["Delta"], rel=1e-15)
    mc = rollout.regret(inst.system, experts[1], experts[0], inst.reward, 4, 20000, rng)
    assert abs(mc.mean - exact) <= 4 * mc.se


def test_thm8_cell_well_formed_and_its_defining_properties():
    H, n, m, seeds = 3, 6, 400, 3
    out = lb.thm8_tight({"H": H, "n": n, "datasets": m}, seeds, np.random.SeedSequence(1))
    _check_output(out, seeds, REGRET_KEYS)
    delta = out["Delta"]
    assert delta == pytest.approx(1 / (3 * n), rel=1e-15)
    # truth a: pi^a is always consistent and wins ties, so BC never errs
    assert out["wrong_a"] == [0.0] * seeds and out["regret_a"] == [0.0] * seeds
    # truth b: BC errs exactly when no trajectory starts at x_1 = 1, with probability (1 - Delta)^n,
    # and then loses H on the x_1 = 1 atom
    p = (1 - delta) ** n
    wrong = np.mean(out["wrong_b"])
    assert abs(wrong - p) <= 4 * math.sqrt(p * (1 - p) / (m * seeds))
    np.testing.assert_allclose(out["regret_b"], H * delta * np.array(out["wrong_b"]), rtol=1e-12, atol=0)
    np.testing.assert_allclose(out["regret_avg"], np.array(out["regret_b"]) / 2, rtol=1e-15, atol=0)
    assert out["bound"] == pytest.approx(bounds.get("thm8").evaluate(H=H, n=n, eps_q=0.0), rel=1e-15)
    assert out["bound_lecam"] == pytest.approx(delta * H / 4 * (1 - out["tv_exact"]), rel=1e-15)


def _product_tv(pa: dict, pb: dict, n: int) -> Fraction:
    total = Fraction(0)
    for combo in itertools.product(set(pa) | set(pb), repeat=n):
        a = math.prod((pa.get(t, Fraction(0)) for t in combo), start=Fraction(1))
        b = math.prod((pb.get(t, Fraction(0)) for t in combo), start=Fraction(1))
        total += abs(a - b)
    return total / 2


@pytest.mark.parametrize("n", [1, 2, 4])
def test_thm8_tv_matches_enumeration_of_the_experts_laws(n):
    # Laws of one observed trajectory of the FirstStepPolicy experts, by running them from each atom.
    H = 3
    delta = Fraction(1, 3 * n)
    laws = {}
    for v in "ab":
        inst = theorem8(n, H, variant=v)
        expert = inst.expert
        law = {}
        for x1, p in ((0.0, 1 - delta), (1.0, delta)):
            noise = rollout.Noise(np.array([[x1]]), np.zeros((H, 1, 1)), np.zeros((H, 1, 1)))
            traj = rollout.rollout(inst.system, expert, inst.reward, H, noise.x0, noise.w, noise.z)
            key = tuple(traj.states.ravel()) + tuple(encode_actions(inst.quantizer, traj.actions).ravel())
            law[key] = law.get(key, Fraction(0)) + p
        laws[v] = law
    exact = _product_tv(laws["a"], laws["b"], n)
    out = lb.thm8_tight({"H": H, "n": n, "datasets": 1}, 2, np.random.SeedSequence(0))
    assert out["tv_exact"] == pytest.approx(float(exact), rel=1e-14)


def test_thm8_frozen_instance_keeps_delta():
    out = lb.thm8_tight({"H": 2, "n": 16, "datasets": 4, "freeze_n": 4}, 2, np.random.SeedSequence(3))
    assert out["Delta"] == pytest.approx(1 / 12, rel=1e-15)
    assert out["tv_exact"] == pytest.approx(1 - (11 / 12) ** 16, rel=1e-14)


def test_thm8_cell_is_reproducible():
    params = {"H": 2, "n": 5, "datasets": 8}
    a = lb.thm8_tight(params, 2, np.random.SeedSequence(5))
    b = lb.thm8_tight(params, 2, np.random.SeedSequence(5))
    assert a == b


# --- Theorem 9 cell ---------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [16, 25, 100])
def test_binomial_tv_matches_exact_rationals(n):
    p = Fraction(1, 2) + Fraction(1, 5) / math.isqrt(n)
    assert lb.binomial_tv(n, float(p)) == pytest.approx(float(binomial_tv_exact(n, p)), rel=1e-12)


def test_thm9_cell_well_formed_and_its_defining_properties():
    H, n, m, seeds = 2, 16, 300, 3
    params = {"H": H, "n": n, "c": 0.2, "datasets": m, "eval_hits": 2000}
    out = lb.thm9_tight(params, seeds, np.random.SeedSequence(2))
    _check_output(out, seeds, REGRET_KEYS)
    delta = out["Delta"]
    assert delta == pytest.approx(0.05, rel=1e-15)
    # BC errs under a when fewer than n/2 of the step-1 draws are 1, under b when at least n/2 are
    pa = stats.binom.cdf(math.ceil(n / 2) - 1, n, 0.5 + delta)
    pb = stats.binom.sf(math.ceil(n / 2) - 1, n, 0.5 - delta)
    for got, p in ((out["wrong_a"], pa), (out["wrong_b"], pb)):
        assert abs(np.mean(got) - p) <= 4 * math.sqrt(p * (1 - p) / (m * seeds))
    # the optimal test's errors sum to 1 - TV (the identity the expectation bounds rest on)
    assert pa + pb == pytest.approx(1 - out["tv_exact"], rel=1e-12)
    # each wrong choice costs 2 Delta H, estimated on ~eval_hits differing trajectories per seed
    per_wrong = np.array(out["regret_a"]) / np.array(out["wrong_a"])
    np.testing.assert_allclose(per_wrong, 2 * delta * H, rtol=4 / math.sqrt(2000))
    lib = bounds.get("thm9")
    prob = lib.evaluate_aux(H=H, n=n, eps_q=0.0, c=1.0)["probability"]
    assert out["probability"] == pytest.approx(prob, rel=1e-15)
    assert out["bound"] == pytest.approx(delta * H / 2 * prob, rel=1e-12)


def test_thm9_cell_refuses_a_constant_the_bound_library_is_not_about():
    with pytest.raises(AssumptionError, match="c: the bound library"):
        lb.thm9_tight({"H": 2, "n": 16, "c": 0.25, "datasets": 2, "eval_hits": 10}, 2, np.random.SeedSequence(0))


def test_predicted_exponents_are_the_bound_librarys_rates():
    claims = {c.id: c for c in lb.CLAIMS}
    for cid, name in (("thm8.tight", "thm8"), ("thm9.tight", "thm9")):
        slope = next(t for t in claims[cid].tests if isinstance(t, SlopeTest))
        rate = bounds.get(name, form="rate").exponent("n", fixed={"eps_q": 0})
        assert slope.predicted == pytest.approx(rate, abs=1e-12)


# --- Proposition 5 cell -------------------------------------------------------------------------------

P5 = {"eps": 0.05, "k": 3.0, "horizon": 10, "trajectories": 20, "pairs": 16, "error_trajectories": 20}
P5_KEYS = ("witness", "pairs_below", "w_max_below", "min_r_w1_over_delta0", "w1_found", "eps_q", "eps_prime",
           "delta0", "eps_q_sup_kind")


@pytest.mark.parametrize("quantizer", ["binning", "dct", "kmeans", "trap"])
def test_prop5_cell_well_formed(quantizer):
    out = lb.prop5_rtvc(dict(P5, quantizer=quantizer), 2, np.random.SeedSequence(4))
    _check_output(out, 2, P5_KEYS)
    sup = quantizer in ("binning", "dct")
    assert out["eps_q_sup_kind"] == [float(sup)] * 2
    # delta0 = (eps' - 2 eps_q)/L with L = 1 and eps' = 3 eps_q
    np.testing.assert_allclose(out["delta0"], out["eps_q"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(out["eps_prime"], 3 * np.array(out["eps_q"]), rtol=1e-15, atol=0)
    assert out["pairs_below"] == [13.0 * 16] * 2
    # a witness is a W = 1 pair below delta0; without one, W = 1 happens (if at all) beyond delta0
    for w, r, wmax in zip(out["witness"], out["min_r_w1_over_delta0"], out["w_max_below"]):
        assert (w == 1.0) == (r <= 1.0)
        assert wmax <= w


def test_prop5_binning_is_clean_and_trap_is_not():
    clean = lb.prop5_rtvc(dict(P5, quantizer="binning"), 2, np.random.SeedSequence(6))
    trap = lb.prop5_rtvc(dict(P5, quantizer="trap"), 2, np.random.SeedSequence(6))
    assert clean["witness"] == [0.0, 0.0] and clean["w_max_below"] == [0.0, 0.0]
    assert trap["witness"] == [1.0, 1.0]
    assert max(trap["min_r_w1_over_delta0"]) < 1e-6  # the refined jump is at a tiny distance
    # binning's first W = 1 needs an action gap above one cell (2 eps_q): at least 2 delta_0, found by 2.5 delta_0
    assert all(2.0 <= r <= 2.5 + 1e-9 for r in clean["min_r_w1_over_delta0"])
    assert clean["one"] == 1.0


def test_prop5_cell_refuses_unknown_quantizer():
    with pytest.raises(DimensionError, match="quantizer"):
        lb.prop5_rtvc(dict(P5, quantizer="rvq"), 1, np.random.SeedSequence(0))


# --- the witness test ---------------------------------------------------------------------------------

def _table(witness, pairs, quantizer="binning"):
    rows = [{"cell": 0, "seed": s, "quantizer": quantizer, "witness": w, "pairs_below": p}
            for s, (w, p) in enumerate(zip(witness, pairs))]
    return ResultTable.from_dict({
        "format": "qbc-results/1", "spec_id": "t", "cell": "prop5.rtvc", "profile": "quick", "entropy": 0,
        "code_version": "test", "params": {}, "grid": {"quantizer": [quantizer]}, "seeds": len(rows),
        "columns": ["witness", "pairs_below"], "rows": rows,
        "cells": [{"index": 0, "key": "k", "spawn_key": [0], "point": {"quantizer": quantizer}}], "run": {}})


def test_witness_test_statuses():
    t = lb.WitnessTest("witness", "pairs_below", 100, where=(("quantizer", "binning"),))
    rng = np.random.default_rng(0)
    ok = t.run(_table([0, 0, 0], [50, 50, 50]), rng)
    assert ok.status == "consistent" and ok.measured == 0.0 and ok.ci[0] == 0.0
    assert ok.ci[1] == pytest.approx(1 - 0.025 ** (1 / 3), rel=1e-9)  # Clopper-Pearson with no success
    # one exact counterexample among many clean audits refutes the claim
    bad = t.run(_table([0, 0, 1, 0], [50, 50, 50, 50]), rng)
    assert bad.status == "violated" and bad.measured == pytest.approx(0.25, abs=1e-15)
    weak = t.run(_table([0, 0], [10, 10]), rng)
    assert weak.status == "inconclusive"
    none = t.run(_table([0], [500], quantizer="dct"), rng)
    assert none.status == "inconclusive"
    with pytest.raises(DimensionError, match="witness indicators"):
        t.run(_table([0.5], [500]), rng)


# --- specs and claims ------------------------------------------------------------------------------------

SPEC_IDS = [s for c in CLAIM_IDS for s in (c, c + ".control")]


def test_specs_are_builtin_with_fresh_entropy():
    paths = {p.stem: p for p in builtin_spec_paths()}
    entropies = set()
    for sid in SPEC_IDS:
        spec = load_spec(paths[sid])
        assert spec.id == sid and spec.cell == sid.removesuffix(".control")
        entropies.add(spec.entropy)
    assert len(entropies) == len(SPEC_IDS)


def test_claims_are_in_the_catalog():
    for cid in CLAIM_IDS:
        claim = get_claim(cid)
        assert claim.spec == cid and claim.control_spec == cid + ".control"


def test_cell_output_passes_the_runner(tmp_path):
    spec = spec_from_dict({"id": "tiny.thm9", "cell": "thm9.tight", "entropy": 5,
                           "params": {"H": 2, "c": 0.2, "datasets": 4, "eval_hits": 20},
                           "grid": {"n": [16, 64]}, "profiles": {"quick": {"seeds": 2}, "full": {"seeds": 2}}})
    table = run_spec(spec, backend="serial", out=tmp_path, profile="quick", progress=False)
    assert set(REGRET_KEYS) <= set(table.columns) and len(table.rows) == 4


@pytest.fixture(scope="module")
def quick_tables(tmp_path_factory):
    """The quick profiles of the six built-in specs (a few CPU-seconds in total)."""
    out = tmp_path_factory.mktemp("quick")
    paths = {p.stem: p for p in builtin_spec_paths()}
    return {sid: run_spec(load_spec(paths[sid]), backend="serial", out=out, profile="quick", progress=False)
            for sid in SPEC_IDS}


@pytest.mark.parametrize("cid", CLAIM_IDS)
def test_quick_profile_verdicts(cid, quick_tables):
    claim = get_claim(cid)
    result = evaluate(claim, quick_tables[claim.spec], quick_tables[claim.control_spec])
    assert result.control_status == "violated"
    # consistent with the catalog's slack; a test whose slack and zero-slack verdicts differ is inconclusive
    # (the verdict machinery then calls it inconclusive unless more seeds settle it)
    for o in result.outcomes:
        assert o.status == "consistent" or (o.status == "inconclusive"
                                            and o.detail.get("slack_status") == "consistent"), o.to_dict()
    assert result.status in ("consistent", "inconclusive")


@pytest.mark.parametrize("cid, wrong", [("thm8.tight", -0.5), ("thm9.tight", -1.0)])
def test_a_wrong_rate_is_violated(cid, wrong, quick_tables):
    table = quick_tables[cid]
    outcome = SlopeTest("regret_avg", "n", wrong, "==", tol=0.1).run(table, np.random.default_rng(0))
    assert outcome.status == "violated"


@pytest.mark.parametrize("cid", ["thm8.tight", "thm9.tight"])
def test_the_lower_bound_read_as_an_upper_bound_is_violated(cid, quick_tables):
    # The measured regret exceeds the Le Cam bound by a factor 2 (Theorem 8) or 4 (Theorem 9): claiming
    # it is an upper bound must fail.
    outcome = BoundTest("regret_avg", "bound_lecam", "upper", along="n").run(quick_tables[cid],
                                                                            np.random.default_rng(0))
    assert outcome.status == "violated"


def test_the_rtvc_claim_on_the_control_table_is_violated(quick_tables):
    # The experiment's own tests, run on the trap/k-means table with the quantizer names swapped in.
    table = quick_tables["prop5.rtvc.control"]
    for name in ("trap", "kmeans"):
        test = lb.WitnessTest("witness", "pairs_below", 1, where=(("quantizer", name),))
        assert test.run(table, np.random.default_rng(0)).status == "violated"
    claim = get_claim("prop5.rtvc")
    for name in ("trap", "kmeans"):
        # the claim's own tests (written for binning and DCT) fed the non-RTVC quantizer's rows
        rows = tuple(dict(r, quantizer="binning" if r["quantizer"] == name else "other") for r in table.rows)
        fed = dataclasses.replace(table, rows=rows)
        outcomes = [t.run(fed, np.random.default_rng(0)) for t in claim.tests
                    if dict(t.where).get("quantizer") == "binning"]
        assert len(outcomes) == 2 and all(o.status == "violated" for o in outcomes), name


def test_the_critical_radius_test(quick_tables):
    """Proposition 5's radius against the measured one: about half of it for binning (tight to a factor
    2), consistent; a wrong, larger delta_0 (three times) makes it fail."""
    table = quick_tables["prop5.rtvc"]
    test = next(t for t in get_claim("prop5.rtvc").tests if isinstance(t, BoundTest))
    got = test.run(table, np.random.default_rng(0))
    assert got.status == "consistent" and 1.9 <= got.measured <= 2.6
    wrong = dataclasses.replace(table, rows=tuple(dict(r, min_r_w1_over_delta0=r["min_r_w1_over_delta0"] / 3)
                                                  for r in table.rows))
    assert test.run(wrong, np.random.default_rng(0)).status == "violated"
