"""The inequality checker: proofs on true claims, counterexamples with witnesses on false ones."""

import json
import math

import pytest
import sympy

from qbc_theory import bounds as B
from qbc_theory.model.errors import DimensionError
from qbc_theory.theory.inequality import InequalityResult, check_inequality
from qbc_theory.theory.symbols import sym

x = sympy.Symbol("x", positive=True)


def test_false_sqrt_below_identity_gives_counterexample():
    r = check_inequality(sympy.sqrt(x), x)
    assert r.status == "counterexample"
    w = r.witness["x"]
    assert 0 < w < 1 and math.sqrt(w) > w  # the witness really violates the claim
    assert r.min_gap < 0


def test_true_one_variable_claim_is_proved():
    r = check_inequality(sympy.log(1 + x), x)
    assert r.status == "proved" and r.method == "one-variable-minimum"
    assert r.min_gap == pytest.approx(0.0, abs=1e-15)


def test_true_symbolic_claims_are_proved():
    H, eps = sym("H"), sym("eps_q")
    r = check_inequality(H * eps, H ** 2 * eps + H * eps)
    assert (r.status, r.method) == ("proved", "symbolic-sign")
    # needs the registry range eta < 1, which a sympy assumption cannot express
    r = check_inequality(sym("C"), sym("C") / (1 - sym("eta")))
    assert (r.status, r.method) == ("proved", "symbolic-sign")


def test_the_range_decides():
    # sqrt(x) <= x is true on [1, 100] and false on (0, oo)
    assert check_inequality(sympy.sqrt(x), x, domain={"x": (1, 100)}).status == "proved"
    # without eta < 1 the claim C <= C/(1 - eta) would be false: give eta a range beyond the registry's
    y = sympy.Symbol("y", positive=True)
    r = check_inequality(sym("C"), sym("C") / (1 - y), domain={"y": (0.0, 0.5)})
    assert r.status == "proved"
    r = check_inequality(sym("C"), sym("C") / (1 - y), domain={"y": (1.5, 3.0)})
    assert r.status == "counterexample" and r.witness["y"] > 1


def test_closed_end_points_are_not_skipped():
    """1 <= 1{eps_q > 0} fails only at the closed end eps_q = 0: no proof, and the grid finds it."""
    eps = sym("eps_q")
    r = check_inequality(1, B.IsPositive(eps))
    assert r.status == "counterexample" and r.witness["eps_q"] == 0.0
    # a closed upper end: x <= 1/2 on [0, 1/2] is proved, x < 1/2 written as 1{1/2 - x > 0} >= 1 is not
    assert check_inequality(eps, sympy.Rational(1, 2), domain={"eps_q": (0, 0.5)}).status == "proved"
    r = check_inequality(1, B.IsPositive(sympy.Rational(1, 2) - eps), domain={"eps_q": (0, 0.5)})
    assert r.status == "counterexample" and r.witness["eps_q"] == 0.5


def test_lower_bound_above_upper_bound_is_refuted():
    """The false claim 'Theorem 3's upper bound <= Theorem 8's lower bound' has a checkable witness."""
    up, lo = B.get("thm3"), B.get("thm8")
    r = check_inequality(up, lo, n_random=4000)
    assert r.status == "counterexample"
    w = r.witness
    upv = up.evaluate(**{k: w[k] for k in up.symbols})
    lov = lo.evaluate(**{k: w[k] for k in lo.symbols})
    assert upv > lov


def test_lower_bound_below_upper_bound_survives():
    lo = B.get("thm8").expr
    up = B.get("thm3").expr.subs(sym("L_r"), 1)
    r = check_inequality(lo, up, n_random=4000)
    assert r.status in ("proved", "verified-numerically")
    assert r.witness is None


def test_bound_ranges_are_respected():
    # thm6_noisy needs eps_q < 1; c H / |log eps_q| >= 0 must not be refuted outside that range
    r = check_inequality(0, B.get("thm6_noisy"), n_random=2000)
    assert r.status in ("proved", "verified-numerically")


def test_integer_symbols_are_sampled_as_integers():
    H = sym("H")
    # H^2 >= H holds on the integers >= 1 but not on (0, 1): the checker must not report a counterexample
    r = check_inequality(H, H ** 2, n_random=2000)
    assert r.status in ("proved", "verified-numerically")
    z = sympy.Symbol("z", positive=True)
    assert check_inequality(z, z ** 2).status == "counterexample"


def test_deterministic_and_json():
    a = check_inequality(sympy.sqrt(x), x, seed=3)
    b = check_inequality(sympy.sqrt(x), x, seed=3)
    assert a == b
    d = a.to_dict()
    json.dumps(d, allow_nan=False)
    assert set(d) == {"status", "method", "detail", "witness", "min_gap"}


def test_bad_input():
    with pytest.raises(TypeError, match="unexpected keyword"):
        check_inequality(x, x, tolerance=1)
    with pytest.raises(DimensionError, match="domain: expected names of free symbols"):
        check_inequality(x, x + 1, domain={"nope": (0, 1)})
    with pytest.raises(DimensionError, match="lhs: expected"):
        check_inequality("x", x)
    with pytest.raises(DimensionError, match="empty range"):
        check_inequality(x, 2 * x, domain={"x": (2, 1)})
    with pytest.raises(DimensionError, match="status"):
        InequalityResult("maybe", "m", "d")


@pytest.mark.parametrize("lhs, rhs", [
    (sympy.Symbol("x", positive=True), sympy.Float(1e7)),
    (sympy.log(sympy.Symbol("x", positive=True)), sympy.Integer(20)),
    (-sympy.log(sympy.Symbol("x", positive=True)), sympy.Integer(20)),
])
def test_claims_failing_only_far_out_are_found(lhs, rhs):
    """Counterexamples beyond 1e6 or below 1e-8 used to be missed by the numeric search."""
    assert check_inequality(lhs, rhs).status == "counterexample"
