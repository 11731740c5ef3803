"""Power, tightness and strict verdicts of the claim tests: each can fail on a wrong input."""

import json
import math

import numpy as np
import pytest

from qbc_theory.model.errors import DimensionError
from qbc_theory.verification.claims import BoundTest, Claim, SlopeTest, TestOutcome, VerifyReport, combine
from qbc_theory.verification.runner import ResultTable
from qbc_theory.verification.scaling import VACUOUS_TIGHTNESS, bound_tightness, slope_power


def _slope_table(xs, slope, noise=0.02, seeds=16, seed=3, spec_id="t"):
    rng = np.random.default_rng(seed)
    rows, cells = [], []
    for i, x in enumerate(xs):
        cells.append({"index": i, "key": str(i), "spawn_key": [i], "point": {"H": x}})
        for s in range(seeds):
            rows.append({"cell": i, "seed": s, "H": x, "y": x ** slope * math.exp(noise * rng.standard_normal())})
    return ResultTable(spec_id, "toy", "quick", 1, "v", {}, {"H": list(xs)}, seeds, ("y",), tuple(rows),
                       tuple(cells))


def _bound_table(values, bounds, spec_id="b"):
    rows, cells = [], []
    for i, (ys, b) in enumerate(zip(values, bounds)):
        cells.append({"index": i, "key": str(i), "spawn_key": [i], "point": {"n": i + 1}})
        rows += [{"cell": i, "seed": s, "n": i + 1, "y": y, "b": b} for s, y in enumerate(ys)]
    return ResultTable(spec_id, "toy", "quick", 1, "v", {"H": 5}, {"n": list(range(1, len(values) + 1))},
                       len(values[0]), ("y", "b"), tuple(rows), tuple(cells))


H = [8, 16, 32, 64, 128]
LINEAR = SlopeTest("y", "H", predicted=1.0, relation="<=", tol=0.1, label="linear in H")


def test_a_linear_in_H_test_fed_H_squared_is_violated_and_names_what_it_excludes():
    out = LINEAR.run(_slope_table(H, 2.0), np.random.default_rng(0))
    assert out.status == "violated" and out.strict_verdict == "violated"
    # the meaningful alternatives lie above 1.1; the interval sits on 2, so 1.5 (nearest) is excluded
    assert out.power["alternatives"] == [1.5, 2.0, 2.5, 3.0]
    assert out.power["nearest_excluded"] == 1.5 and out.power["text"] == "excludes 1.5 at 95%"
    assert 2.0 in out.power["not_excluded"]


def test_a_linear_in_H_test_on_linear_data_excludes_2():
    # the truth well inside the region: no flip, and H^2 is excluded
    out = LINEAR.run(_slope_table(H, 0.8), np.random.default_rng(0))
    assert out.status == out.strict_verdict == "consistent"
    assert 2.0 in out.power["excluded"] and out.power["text"] == "excludes 1.5 at 95%"
    assert out.power["half_width"] == pytest.approx((out.ci[1] - out.ci[0]) / 2)


def test_a_noisy_slope_test_says_it_excludes_nothing():
    out = LINEAR.run(_slope_table([8, 9, 10], 0.8, noise=2.0, seeds=4), np.random.default_rng(0))
    assert out.power["nearest_excluded"] is None
    assert out.power["text"].startswith("excludes none of 1.5, 2, 2.5, 3")
    assert out.status != "consistent"


def test_slope_power_alternatives_by_relation():
    # "==" with tol 0.1 around -1: both sides are meaningful, nearest excluded at equal distance -> smaller
    p = slope_power((-1.05, -0.95), -1.0, "==", tol=0.1)
    assert -1.5 in p["alternatives"] and -0.5 in p["alternatives"] and -1.0 not in p["alternatives"]
    assert p["nearest_excluded"] == -1.5
    # ">=" only lists alternatives below the region
    p = slope_power((0.9, 1.1), 1.0, ">=", tol=0.1)
    assert max(p["alternatives"]) < 0.9 and p["nearest_excluded"] == 0.5
    with pytest.raises(DimensionError, match="relation"):
        slope_power((0, 1), 1.0, "<")


def test_a_bound_1000_times_above_the_data_is_vacuous_not_consistent():
    ys = [[1.0, 1.1, 0.9]] * 3
    out = BoundTest("y", "b").run(_bound_table(ys, [1000.0, 2000.0, 4000.0]), None)
    assert out.status == "vacuous" and out.tightness == pytest.approx(1.0 / 1000.0)
    assert "looser" in out.note and out.strict_verdict == "vacuous"
    # the same data under a bound 50x above is informative
    out = BoundTest("y", "b").run(_bound_table(ys, [50.0, 2000.0, 4000.0]), None)
    assert out.status == "consistent" and out.tightness == pytest.approx(1 / 50)
    # a bound below the data is violated whatever its tightness says
    out = BoundTest("y", "b").run(_bound_table(ys, [0.5, 2000.0, 4000.0]), None)
    assert out.status == "violated" and out.tightness == pytest.approx(2.0)


def test_lower_bound_tightness_is_the_smallest_bound_over_mean():
    assert bound_tightness([2.0, 4.0], [1.0, 1.0], "lower") == (0.25, 1)
    assert bound_tightness([2.0, 4.0], [1.0, 1.0], "upper") == (4.0, 1)
    # a lower bound far below the data is vacuous
    ys = [[1.0, 1.1, 0.9]] * 2
    out = BoundTest("y", "b", "lower").run(_bound_table(ys, [1e-4, 1e-5]), None)
    assert out.status == "vacuous" and out.tightness == pytest.approx(1e-5)
    # a non-positive mean under a positive lower bound: infinitely tight (it crosses)
    assert bound_tightness([0.0], [1.0], "lower")[0] == math.inf
    assert VACUOUS_TIGHTNESS == 0.01


def test_vacuous_tests_are_no_evidence():
    assert combine(["vacuous"]) == "inconclusive"
    assert combine(["vacuous", "vacuous"]) == "inconclusive"
    assert combine(["consistent", "vacuous"]) == "consistent"
    assert combine(["violated", "vacuous"]) == "violated"
    assert combine(["inconclusive", "vacuous"]) == "inconclusive"


def test_a_claim_whose_only_evidence_is_vacuous_is_inconclusive_and_says_why():
    ys = [[1.0, 1.1, 0.9]] * 2
    loose = BoundTest("y", "b", label="loose bound")
    claim = Claim("toy", "Theorem 0", "p", "e", "c", (loose,), "control",
                  control_tests=(BoundTest("y", "b", label="ctrl"),))
    res = claim.evaluate(_bound_table(ys, [1e3, 1e3], "e"), _bound_table(ys, [0.1, 0.1], "c"), None)
    assert res.outcomes[0].status == "vacuous" and res.control_status == "violated"
    assert res.status == "inconclusive"
    assert any("every test is vacuous" in r for r in res.reasons)


def test_every_test_in_the_json_has_tightness_power_and_strict_verdict():
    claim = Claim("toy", "Theorem 0", "p", "e", "c", (LINEAR, BoundTest("y", "missing")), "control")
    t = _slope_table(H, 0.8, spec_id="e")
    res = claim.evaluate(t, _slope_table(H, 2.0, spec_id="c"), np.random.default_rng(0))
    witness = TestOutcome("witness", "consistent", 0.0, (0.0, 0.2), "w", {"rule_of_three_rate": 1.5e-4})
    report = VerifyReport((res,), "quick", 0.0)
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    for test in data["claims"][0]["tests"] + data["claims"][0]["control_tests"] + [witness.to_dict()]:
        assert {"tightness", "power", "strict_verdict"} <= set(test)
    assert "0.00015 per examined pair" in witness.to_dict()["power"]["text"]
    text = report.format_text()
    assert "tightness" in text.splitlines()[0] and "power" in text.splitlines()[0]
    assert "excl 1.5" in text and "strict consistent" in text


# --- the zero-slack rule: falsification with a power requirement ------------------------------------

from types import SimpleNamespace  # noqa: E402

from qbc_theory.verification.scaling import rival_exponents, strict_slope_verdict  # noqa: E402


def test_rival_exponents_are_the_nearest_stated_alternatives_on_the_forbidden_side():
    assert rival_exponents(1.0, "<=") == [1.5]
    assert rival_exponents(-1.0, "<=") == [-0.5]
    assert rival_exponents(-0.5, "==") == [-1.0, 0.0]
    assert rival_exponents(1.3, ">=") == [1.0]  # the half-integer grid is nearer than p - 1/2
    with pytest.raises(DimensionError, match="relation"):
        rival_exponents(1.0, "<")


@pytest.mark.parametrize("ci, predicted, relation, expected", [
    ((0.99, 1.01), 1.0, "<=", "consistent"),      # a tight theorem: the interval straddles p
    ((1.01, 1.20), 1.0, "<=", "violated"),        # significantly above p
    ((0.90, 1.60), 1.0, "<=", "inconclusive"),    # reaches the rival 3/2
    ((-1.02, -0.96), -1.0, "==", "consistent"),
    ((-1.10, -1.02), -1.0, "==", "violated"),     # p outside the interval
    ((-1.60, -0.70), -1.0, "==", "inconclusive"), # reaches the rival -3/2
    ((1.90, 2.10), 1.3, ">=", "consistent"),
    ((0.90, 1.25), 1.3, ">=", "violated"),
    ((0.95, 2.00), 1.3, ">=", "inconclusive"),    # reaches the rival 1
])
def test_strict_slope_verdict(ci, predicted, relation, expected):
    assert strict_slope_verdict(SimpleNamespace(ci=ci), predicted, relation) == expected


def test_a_slope_inside_the_slack_but_off_the_prediction_is_not_consistent():
    # slope 1.05 with a tight interval against "<= 1 (+0.1)": the slack would pass it, zero slack
    # rejects it, so the test reports the flip as inconclusive
    out = LINEAR.run(_slope_table(H, 1.05, noise=0.005), np.random.default_rng(0))
    assert out.ci[0] > 1.0
    assert out.detail["slack_status"] == "consistent" and out.strict_verdict == "violated"
    assert out.status == "inconclusive" and out.flipped
