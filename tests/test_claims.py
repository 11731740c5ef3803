"""The verdict rule of the claim catalog: truth tables, intervals by hand, vacuous bounds."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from qbc_theory import claims
from qbc_theory.verification.claims import BoundTest, Claim, SlopeTest, TestOutcome, combine, control_status
from qbc_theory.verification.runner import ResultTable

S = ("consistent", "violated", "inconclusive")


def test_combine_truth_table():
    for a, b in itertools.product(S, S):
        got = combine([a, b])
        if "violated" in (a, b):
            assert got == "violated"
        elif a == b == "consistent":
            assert got == "consistent"
        else:
            assert got == "inconclusive"
    assert combine([]) == "inconclusive"


def test_control_is_violated_only_if_every_control_test_is():
    for a, b in itertools.product(S, S):
        got = control_status([a, b])
        if a == b == "violated":
            assert got == "violated"
        elif "consistent" in (a, b):
            assert got == "consistent"
        else:
            assert got == "inconclusive"


class _Fixed:
    """A test whose outcome is fixed per table (by spec id), to drive Claim.evaluate."""

    def __init__(self, by_spec):
        self.by_spec = by_spec

    def run(self, table, rng):
        st = self.by_spec[table.spec_id]
        return TestOutcome("slope", st, 0.0, (0.0, 0.0), "fixed", {})


def _empty(spec_id):
    return ResultTable(spec_id, "toy", "quick", 1, "v", {}, {"n": [1]}, 1, ("y",), (), ())


@pytest.mark.parametrize("exp", S)
@pytest.mark.parametrize("ctrl1", S)
@pytest.mark.parametrize("ctrl2", S)
def test_claim_status_truth_table(exp, ctrl1, ctrl2):
    t1 = _Fixed({"e": exp, "c": ctrl1})
    t2 = _Fixed({"e": "consistent", "c": ctrl2})
    claim = Claim("toy", "Theorem 0", "p", "e", "c", (t1, t2), "control")
    res = claim.evaluate(_empty("e"), _empty("c"), np.random.default_rng(0))
    if exp == "violated":
        expected = "violated"
    elif exp == "consistent" and ctrl1 == ctrl2 == "violated":
        expected = "consistent"
    else:
        expected = "inconclusive"
    assert res.status == expected


def test_tests_without_control_are_listed_and_do_not_need_teeth():
    strong, weak = _Fixed({"e": "consistent", "c": "violated"}), _Fixed({"e": "consistent", "c": "consistent"})
    with_weak = Claim("toy", "T", "p", "e", "c", (strong, weak), "control")
    assert with_weak.evaluate(_empty("e"), _empty("c"), None).status == "inconclusive"
    without_weak = Claim("toy", "T", "p", "e", "c", (strong, weak), "control", control_tests=(strong,))
    res = without_weak.evaluate(_empty("e"), _empty("c"), None)
    assert res.status == "consistent" and res.uncontrolled == ["fixed"]


def _table(values, bounds, H=5, spec_id="t"):
    rows, cells = [], []
    for i, (ys, b) in enumerate(zip(values, bounds)):
        cells.append({"index": i, "key": str(i), "spawn_key": [i], "point": {"n": i + 1}})
        rows += [{"cell": i, "seed": s, "n": i + 1, "y": y, "b": b} for s, y in enumerate(ys)]
    return ResultTable(spec_id, "toy", "quick", 1, "v", {"H": H}, {"n": list(range(1, len(values) + 1))},
                       len(values[0]), ("y", "b"), tuple(rows), tuple(cells))


def test_bound_test_interval_is_the_student_t_interval():
    ys = [0.9, 1.1, 1.3, 0.7]
    m, se = np.mean(ys), np.std(ys, ddof=1) / 2
    half = stats.t.ppf(0.975, 3) * se
    out = BoundTest("y", "b", "upper").run(_table([ys], [2.0]), None)
    assert out.detail["points"][0]["ci"] == pytest.approx([m - half, m + half], rel=1e-12)
    # the bound sits just above and just below the interval's upper end
    assert BoundTest("y", "b").run(_table([ys], [m + half + 1e-9]), None).status == "consistent"
    assert BoundTest("y", "b").run(_table([ys], [m + half - 1e-9]), None).status == "inconclusive"
    assert BoundTest("y", "b").run(_table([ys], [m - half - 1e-9]), None).status == "violated"
    assert BoundTest("y", "b", "lower").run(_table([ys], [m + half + 1e-9]), None).status == "violated"


def test_vacuous_upper_bounds_do_not_decide():
    ys = [[1.0, 1.2, 0.8]] * 2
    # both bounds at or above the cap H = 5: the test cannot fail, so it is inconclusive
    out = BoundTest("y", "b", cap="H").run(_table(ys, [5.0, 40.0]), None)
    assert out.status == "inconclusive" and out.detail["vacuous_points"] == 2
    # without the cap the same data would have counted as consistent
    assert BoundTest("y", "b").run(_table(ys, [5.0, 40.0]), None).status == "consistent"
    # one informative point decides alone
    out = BoundTest("y", "b", cap="H").run(_table(ys, [0.5, 40.0]), None)
    assert out.status == "violated" and out.detail["vacuous_points"] == 1


def test_missing_columns_and_empty_selections_are_inconclusive_not_crashes():
    t = _table([[1.0, 1.1]], [2.0])
    assert BoundTest("nope", "b").run(t, None).status == "inconclusive"
    assert BoundTest("y", "b", where=(("n", 99),)).run(t, None).status == "inconclusive"
    assert SlopeTest("nope", "n", -1.0, "<=").run(t, np.random.default_rng(0)).status == "inconclusive"


def _toy_slope_table(slope, noise, seeds=8, xs=(10, 20, 40, 80, 160), seed=3):
    rng = np.random.default_rng(seed)
    vals = [[x**slope * math.exp(noise * rng.standard_normal()) for _ in range(seeds)] for x in xs]
    rows, cells = [], []
    for i, (x, ys) in enumerate(zip(xs, vals)):
        cells.append({"index": i, "key": str(i), "spawn_key": [i], "point": {"n": x}})
        rows += [{"cell": i, "seed": s, "n": x, "y": y} for s, y in enumerate(ys)]
    return ResultTable("t", "toy", "quick", 1, "v", {}, {"n": list(xs)}, seeds, ("y",), tuple(rows), tuple(cells))


def test_slope_test_flips_with_the_prediction():
    t = _toy_slope_table(-1.0, 0.02)
    # a true slope at the prediction: the interval meets the zero-slack region and excludes the rival
    # -1/2, so the verdict is consistent with and without the slack (a tight theorem can pass)
    at_edge = SlopeTest("y", "n", -1.0, "<=", tol=0.1).run(t, np.random.default_rng(0))
    assert at_edge.ci[0] < -1.0 < at_edge.ci[1]
    assert at_edge.status == at_edge.strict_verdict == "consistent" and not at_edge.flipped
    assert at_edge.detail["rivals"] == [-0.5]
    # a slope significantly above the prediction but inside the slack: the slack alone passes it, so the
    # verdict flips (strict violated) and the test is inconclusive, never consistent
    near = SlopeTest("y", "n", -1.05, "<=", tol=0.1).run(t, np.random.default_rng(0))
    assert near.ci[0] > -1.05
    assert near.detail["slack_status"] == "consistent" and near.strict_verdict == "violated"
    assert near.status == "inconclusive" and near.flipped and "flips" in near.note
    inside = SlopeTest("y", "n", -0.5, "<=", tol=0.1).run(t, np.random.default_rng(0))
    assert inside.status == inside.strict_verdict == "consistent" and not inside.flipped
    assert SlopeTest("y", "n", -1.5, "<=", tol=0.1).run(t, np.random.default_rng(0)).status == "violated"
    assert SlopeTest("y", "n", -0.5, ">=", tol=0.1).run(t, np.random.default_rng(0)).status == "violated"
    # equality at its own exponent: consistent at zero slack (p in the interval, p +- 1/2 excluded)
    eq = SlopeTest("y", "n", -1.0, "==", tol=0.1).run(t, np.random.default_rng(0))
    assert eq.status == eq.strict_verdict == "consistent"
    assert SlopeTest("y", "n", -1.2, "==", tol=0.1).run(t, np.random.default_rng(0)).status == "violated"


def test_slope_test_without_power_is_not_consistent():
    # a noisy ladder: the interval contains the prediction -1 but also the rival -1/2, so the zero-slack
    # verdict is inconclusive; the slack verdict is inconclusive too (the interval leaves R)
    t = _toy_slope_table(-1.0, 1.5, seeds=4)
    out = SlopeTest("y", "n", -1.0, "<=", tol=0.1).run(t, np.random.default_rng(0))
    assert out.ci[0] < -1.0 and out.ci[1] > -0.5
    assert out.strict_verdict == "inconclusive" and out.status == "inconclusive"
    # a generous slack would pass the same interval (it lies inside (-inf, -1 + tol]); the zero-slack
    # power requirement is what keeps the verdict inconclusive
    wide = SlopeTest("y", "n", -1.0, "<=", tol=2.0).run(t, np.random.default_rng(0))
    assert wide.detail["slack_status"] == "consistent" and wide.strict_verdict == "inconclusive"
    assert wide.status == "inconclusive" and wide.flipped


def test_catalog_is_complete_and_ordered():
    assert claims.claim_ids() == list(claims.ORDER)
    for c in claims._catalog():
        assert c.spec != c.control_spec


# --- sequential seeds -----------------------------------------------------------------------------

from qbc_theory.verification import claims as claims_mod  # noqa: E402
from qbc_theory.verification.runner import cell_function, run_spec, spec_from_dict  # noqa: E402


@cell_function("test.claims_power_law", version="1")
def _power_law_cell(params, seeds, seed):
    """y = H^slope * lognormal noise, one spawned child per seed (the catalog's convention)."""
    out = []
    for child in seed.spawn(seeds):
        z = np.random.default_rng(child).standard_normal()
        out.append(params["H"] ** params["slope"] * math.exp(params["noise"] * z))
    return {"y": out}


@cell_function("test.unspawned", version="1")
def _unspawned_cell(params, seeds, seed):
    """A cell that seeds one generator from its sequence directly: new batches repeat the first seeds."""
    z = np.random.default_rng(seed).standard_normal(seeds)
    return {"y": list(params["H"] ** params["slope"] * np.exp(params["noise"] * z))}


def _toy_spec(spec_id, slope, cell="test.claims_power_law", noise=0.3, seeds=4):
    return spec_from_dict({"id": spec_id, "cell": cell, "entropy": 1234, "params": {"slope": slope, "noise": noise},
                           "grid": {"H": [8, 16, 32, 64]},
                           "profiles": {"quick": {"seeds": seeds}, "full": {"seeds": seeds}}})


def test_seed_batches_follow_the_first_seeds_bit_for_bit(tmp_path):
    spec = _toy_spec("toy.e", 0.9)
    small = run_spec(spec, backend="serial", out=tmp_path, progress=False)
    grown = claims_mod.extend_seeds({"k": small}, specs={"toy.e": spec}, backend="serial", out=tmp_path,
                                    progress=False)["k"]
    big = run_spec(_toy_spec("toy.e", 0.9, seeds=8), backend="serial", out=tmp_path / "b", progress=False)
    assert grown.seeds == 8 and grown.rows == big.rows
    assert grown.rows[:4] == small.rows[:4]  # the first seeds are unchanged


def test_a_cell_that_does_not_spawn_its_seeds_is_refused(tmp_path):
    spec = _toy_spec("toy.u", 0.9, cell="test.unspawned")
    small = run_spec(spec, backend="serial", out=tmp_path, progress=False)
    got = claims_mod.extend_seeds({"k": small}, specs={"toy.u": spec}, backend="serial", out=tmp_path,
                                  progress=False)["k"]
    assert isinstance(got, claims_mod.SeedingError) and "does not spawn" in str(got)


def _judge(tmp_path, slope, tol, max_seeds=None, noise=0.3, cell="test.claims_power_law", sequential=True):
    e, c = _toy_spec("toy.e", slope, cell=cell, noise=noise), _toy_spec("toy.c", 2.0, noise=noise)
    test = SlopeTest("y", "H", 1.0, "<=", tol=tol, label="linear")
    claim = Claim("toy", "T", "p", "toy.e", "toy.c", (test,), "control", max_seeds=max_seeds)
    base = {s.id: run_spec(s, backend="serial", out=tmp_path, progress=False) for s in (e, c)}
    (res,), tables = claims_mod.judge([claim], {"toy.e": e, "toy.c": c}, base, backend="serial", out=tmp_path,
                                      profile="quick", progress=False, sequential=sequential)
    return res, tables


def test_sequential_seeds_resolve_a_flip_when_the_truth_is_inside(tmp_path):
    # slope 1 against "<= 1" with tol 0.2 and noisy seeds: at 4 and 8 seeds the interval reaches above
    # 1.2 (slack inconclusive) while it meets (-inf, 1] and excludes the rival 1.5 (strict consistent);
    # 16 seeds narrow it until the two agree
    res, tables = _judge(tmp_path, 1.0, tol=0.2, max_seeds=32, noise=0.6)
    o = res.outcomes[0]
    assert res.seeds["experiment"] == 16 and not o.flipped and o.status == o.strict_verdict == "consistent"
    assert tables["toy.e"].seeds == res.seeds["experiment"]


def test_a_flip_that_more_seeds_cannot_resolve_is_inconclusive(tmp_path):
    # a slope significantly above the prediction but inside the slack (1.1 against "<= 1", tol 0.2):
    # the interval projected to the budget lies above 1 (strict violated, slack consistent), so no
    # seeds are spent and the test is inconclusive
    res, _ = _judge(tmp_path, 1.1, tol=0.2, max_seeds=16)
    o = res.outcomes[0]
    assert res.seeds["experiment"] == 4 and o.flipped and o.status == "inconclusive"
    assert res.status == "inconclusive" and any("more seeds cannot resolve" in r for r in res.reasons)
    # without sequential seeding the same claim is judged at the profile's 4 seeds
    res0, _ = _judge(tmp_path, 1.1, tol=0.2, max_seeds=16, sequential=False)
    assert res0.seeds["experiment"] == 4 and res0.outcomes[0].flipped


def test_a_flip_still_there_at_the_budget_is_inconclusive(tmp_path):
    # the resolvable case above with a budget of 8: the projection promises a resolution, the data at 8
    # seeds do not deliver
    res, _ = _judge(tmp_path, 1.0, tol=0.2, max_seeds=8, noise=0.6)
    o = res.outcomes[0]
    assert res.seeds["experiment"] == 8 and o.flipped and o.status == "inconclusive"
    assert any("still flips at 8 seeds per cell (budget 8)" in r for r in res.reasons)


def test_refused_sequential_seeds_are_reported(tmp_path):
    res, _ = _judge(tmp_path, 0.9, tol=0.1, max_seeds=64, cell="test.unspawned")
    assert res.outcomes[0].flipped
    assert res.seeds["experiment"] == 4 and res.status == "inconclusive"
    assert any("sequential seeds refused" in r for r in res.reasons)


@cell_function("test.pooled", version="1")
def _pooled_cell(params, seeds, seed):
    """A cell whose per-cell 'bound' is a mean over its seeds (it pools them)."""
    ys = [params["H"] ** params["slope"] * math.exp(params["noise"] * np.random.default_rng(c).standard_normal())
          for c in seed.spawn(seeds)]
    return {"y": ys, "pooled": float(np.mean(ys))}


def test_a_cell_that_pools_its_seeds_is_refused(tmp_path):
    spec = _toy_spec("toy.p", 0.9, cell="test.pooled")
    small = run_spec(spec, backend="serial", out=tmp_path, progress=False)
    got = claims_mod.extend_seeds({"k": small}, specs={"toy.p": spec}, backend="serial", out=tmp_path,
                                  progress=False)["k"]
    assert isinstance(got, claims_mod.SeedingError) and "pools its seeds" in str(got) and "pooled" in str(got)


def test_seed_batches_of_a_catalog_cell_equal_a_larger_run(tmp_path):
    # thm3.linear (Theorem 3's cell) with small sizes: 2 + 2 seeds == 4 seeds, row for row
    from qbc_theory.verification.runner import builtin_spec_paths, load_spec

    base = load_spec(next(p for p in builtin_spec_paths() if p.stem == "thm3.rate_n"))
    params = {**base.params, "eval_quant": 64, "eval_min": 64, "eval_per_n": 1, "class_per_side": 4, "H": 5}

    def spec(seeds):
        return spec_from_dict({"id": "small.thm3", "cell": base.cell, "entropy": base.entropy, "params": params,
                               "grid": {"n": [8, 16]}, "profiles": {"quick": {"seeds": seeds},
                                                                    "full": {"seeds": seeds}}})

    small = run_spec(spec(2), backend="serial", out=tmp_path, progress=False)
    grown = claims_mod.extend_seeds({"k": small}, specs={"small.thm3": spec(2)}, backend="serial", out=tmp_path,
                                    progress=False)["k"]
    big = run_spec(spec(4), backend="serial", out=tmp_path / "big", progress=False)
    assert grown.rows == big.rows
