"""The bound catalog: structure, evaluation, computed exponents, lower <= upper, monotonicity, CLI helpers."""

import json
import math

import numpy as np
import pytest
import sympy
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from qbc_theory import bounds as B
from qbc_theory import bounds
from qbc_theory.model.errors import AssumptionError, DimensionError
from qbc_theory.theory.symbols import info, sym

CONTRACT_NAMES = ["thm1", "thm2", "thm3", "thm3_binning", "prop4", "prop5", "thm6_det", "thm6_noisy",
                  "thm7", "thm8", "thm9", "mle", "piiss_gaussian", "tvc_gaussian"]


def example(b):
    ex = dict(b.example)
    return {k: ex[k] for k in b.symbols}


# ----- structure ------------------------------------------------------------------------------

def test_catalog_names():
    assert sorted(B.names()) == sorted(CONTRACT_NAMES)
    with pytest.raises(DimensionError, match="bound: expected one of"):
        B.get("thm42")
    with pytest.raises(DimensionError, match="form: expected"):
        B.get("thm2", "loose")


@pytest.mark.parametrize("name", CONTRACT_NAMES)
def test_every_bound_is_complete(name):
    for form in ("explicit", "rate"):
        b = B.get(name, form)
        assert b is B.get(name, form)
        assert b.kind in ("upper", "lower") and b.form == form
        assert b.expr == (b.explicit if form == "explicit" else b.rate)
        assert not b.expr.has(sympy.Piecewise)
        assert b.symbols and all(info(s).symbol in b.expr.free_symbols for s in b.symbols)
        v = b.evaluate(**{k: dict(b.example).get(k, 1.0) for k in b.symbols})
        assert math.isfinite(v) and v >= 0
        assert b.latex()
        json.dumps(b.to_dict(dict(b.example)), allow_nan=False)
    b = B.get(name)
    assert b.constants, f"{name}: no provenance line for its constants"
    assert b.with_form("rate") is B.get(name, "rate")


def test_rate_forms_carry_the_universal_constant():
    for name in ("thm1", "thm2", "thm3", "thm3_binning", "prop4", "thm6_det", "thm7", "thm8", "thm9", "mle"):
        assert sym("c") in B.get(name, "rate").expr.free_symbols, name


def test_constants_lines_come_from_docstrings():
    b = B.get("thm3")
    assert any(line.startswith("24 = 4 * 6") for line in b.constants)
    assert any("6 log(2|Pi|/delta)/n" in line for line in B.get("mle").constants)
    assert any("fixes no constant" in line for line in B.get("thm6_noisy").constants)


def test_theorem3_is_theorem1_specialised():
    """Theorem 3's explicit form is Theorem 1's with delta = 0, p_d = 0, eps' = k eps_q, TV <= 24 log(2|Pi|/delta)/n."""
    t1 = B.get("thm1").expr
    tv = 24 * sympy.log(2 * sym("Pi") / sym("delta")) / sym("n")
    spec = t1.subs({sym("delta_iiss"): 0, sym("p_far"): 0, sym("tv"): tv, sym("eps_prime"): sym("k") * sym("eps_q")})
    assert sympy.simplify(spec - B.get("thm3").expr) == 0
    # and a wrong specialisation is detected
    assert sympy.simplify(spec.subs(sym("k"), 2 * sym("k")) - B.get("thm3").expr) != 0


# ----- evaluation -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", [n for n in CONTRACT_NAMES if n != "thm6_det"])
def test_evaluate_matches_sympy_arithmetic(name):
    """lambdify (numpy) against sympy's own 30-digit evaluation at the example and a second point."""
    b = B.get(name)
    for scale in (1.0, 1.3):
        pt = {k: (v if info(k).integer or info(k).high < math.inf else v * scale) for k, v in example(b).items()}
        exact = b.expr.evalf(30, subs={sym(k): sympy.Rational(repr(float(v))) for k, v in pt.items()})
        assert b.evaluate(**pt) == pytest.approx(float(exact), rel=1e-10, abs=1e-300)


def test_broadcasting_matches_scalar_calls():
    b = B.get("thm2")
    H = np.array([10, 20, 40])[:, None]
    n = np.array([100, 1000])[None, :]
    pt = example(b)
    pt.update(H=H, n=n)
    out = b.evaluate(**pt)
    assert out.shape == (3, 2)
    for i in range(3):
        for j in range(2):
            one = dict(pt, H=int(H[i, 0]), n=int(n[0, j]))
            assert out[i, j] == pytest.approx(b.evaluate(**one), rel=1e-14)
    # a symbol that does not vary still broadcasts to the full shape
    assert B.get("thm6_noisy").evaluate(H=np.arange(1, 6), eps_q=0.01, c=1.0).shape == (5,)


def test_evaluate_refuses_missing_unknown_and_bad_values():
    b = B.get("thm2")
    pt = example(b)
    with pytest.raises(TypeError, match="missing value.*eps_q"):
        b.evaluate(**{k: v for k, v in pt.items() if k != "eps_q"})
    with pytest.raises(TypeError, match="unexpected symbol.*Gamma"):
        b.evaluate(**pt, Gamma=1.0)
    with pytest.raises(DimensionError, match="^H: expected a positive integer"):
        b.evaluate(**dict(pt, H=2.5))
    with pytest.raises(DimensionError, match="^eta: expected"):
        b.evaluate(**dict(pt, eta=1.5))
    with pytest.raises(DimensionError, match=r"^eps_q: expected a number in \[0, 0\.5\]"):
        B.get("thm8").evaluate(H=10, n=10, eps_q=0.7)


def _trap_sum_loop(A, Bc, k, eps, H):
    """Independent reference: the sum term by term with math.erf (Phi(x) - 1/2 = erf(x/sqrt 2)/2)."""
    lam = A + Bc
    q0 = Bc / (1 - lam)
    total = 0.0
    for h in range(2, H + 1):
        t = h - 1
        rho = (k / 2 - q0 * (1 - lam ** (t - 1))) / lam ** (t - 1)
        Phi = 0.5 * (1 + math.erf(rho * eps / math.sqrt(2)))
        total += A * (Phi - 0.5)
    return total


@pytest.mark.parametrize("A, Bc, k, eps, H", [(0.2, 0.25, 1.0, 0.01, 7), (0.2, 0.25, 1.0, 0.01, 200),
                                              (0.2, 0.3, 2.0, 1e-4, 60), (0.1, 0.05, 1.5, 0.5, 3),
                                              (0.2, 0.25, 1.0, 0.01, 1)])
def test_trap_loop_sum_against_reference(A, Bc, k, eps, H):
    b = B.get("thm6_det")
    got = b.evaluate(A6=A, B6=Bc, k=k, eps_q=eps, H=H)
    assert got == pytest.approx(_trap_sum_loop(A, Bc, k, eps, H), rel=1e-12, abs=1e-15)
    if H <= 7:
        exact = b.expr.subs({sym("A6"): sympy.Rational(repr(A)), sym("B6"): sympy.Rational(repr(Bc)),
                             sym("k"): sympy.Rational(repr(k)), sym("eps_q"): sympy.Rational(repr(eps)),
                             sym("H"): H}).doit()
        assert got == pytest.approx(float(sympy.N(exact, 30)), rel=1e-12, abs=1e-15)


def test_trap_loop_sum_broadcasts_over_horizons():
    H = np.array([2, 5, 50, 300])
    got = B.trap_loop_sum(0.2, 0.25, 1.0, 0.01, H)
    ref = [_trap_sum_loop(0.2, 0.25, 1.0, 0.01, int(h)) for h in H]
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-15)


def test_no_warnings_at_branch_points():
    """Values where a Piecewise would divide by zero in its unselected branch (pytest: warnings are errors)."""
    b = B.get("piiss_gaussian")
    pt = dict(example(b), eta=0.5, C=1.0, L_mu=0.5)  # L_cl = eta + C L_mu = 1: A_H(1) = H
    H = pt["H"]
    arg = pt["rho_m"] / (2 * pt["sigma"] * H) - math.sqrt(pt["dx"])
    arg2 = pt["rho_m"] / (2 * pt["C"] * pt["sigma_pi"] * H) - math.sqrt(pt["du"])
    ref = H * math.exp(-max(arg, 0) ** 2 / 2) + H * math.exp(-max(arg2, 0) ** 2 / 2)
    assert b.evaluate(**pt) == pytest.approx(ref, rel=1e-12)
    assert B.get("prop5").evaluate(L=0.0, r=1.0, eps_q=0.01, eps_prime=0.04) == 0.0
    assert B.get("prop5").evaluate(L=1.0, r=1.0, eps_q=0.01, eps_prime=0.04) == 1.0


def test_geomsum_numeric():
    L = np.array([0.0, 0.5, 1.0, 1.0 + 1e-13, 2.0])
    got = B._np_geomsum(L, 5)
    ref = [sum(x ** j for j in range(5)) for x in L]
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=0)


def test_aux_quantities():
    ex = dict(B.get("thm9").example)
    p = B.get("thm9").evaluate_aux(**ex)["probability"]
    n = ex["n"]
    assert p == pytest.approx((1 - math.sqrt(1 - (1 - 4 / (25 * n)) ** n)) / 4, rel=1e-12)
    assert p > 1 / 8  # the corrected constant keeps the stated probability 1/8
    d0 = B.get("prop5").evaluate_aux(L=2.0, eps_q=0.01, eps_prime=0.05)["delta0"]
    assert d0 == pytest.approx(0.015, rel=1e-12)


# ----- exponents ------------------------------------------------------------------------------

EXPONENTS = [
    ("thm3", "n", -1, None), ("thm8", "n", -1, None), ("thm3_binning", "n", -1, None), ("mle", "n", -1, None),
    ("thm2", "n", -0.5, None), ("thm7", "n", -0.5, None), ("thm9", "n", -0.5, None),
    ("thm2", "H", 2, None), ("thm7", "H", 1, None), ("thm8", "H", 1, None), ("thm9", "H", 1, None),
    ("thm3", "H", 2, None), ("thm3", "H", 1, {"kappa": 0}),
    ("thm3_binning", "H", 1, {"L": 0.1, "Gamma": 2.0, "k": 4.0}),
    ("thm3_binning", "H", 2, {"L": 1.0, "Gamma": 2.0, "k": 4.0}),
    ("thm2", "eps_q", 1, None), ("thm3", "eps_q", 1, None), ("thm7", "eps_q", 1, None),
    ("thm8", "eps_q", 1, None), ("thm9", "eps_q", 1, None),
    ("thm6_det", "H", 1, None), ("thm6_det", "eps_q", 1, None), ("thm6_noisy", "H", 1, None), ("thm6_noisy", "eps_q", 0, None),
    ("prop4", "H", 2, None),
]


@pytest.mark.parametrize("name, symbol, expected, fixed", EXPONENTS)
def test_asymptotic_exponents_are_computed(name, symbol, expected, fixed):
    e = B.get(name).exponent_detail(symbol, fixed=fixed)
    assert e.kind == "asymptotic" and "limit" in e.method
    assert e.value == pytest.approx(expected, abs=1e-12)


def test_exponent_undefined_is_none():
    assert B.get("mle").exponent("H") is None
    assert B.get("tvc_gaussian").exponent("n") is None
    assert B.get("thm1").exponent("n") is None


def test_thm3_binning_eps_q_exponent_depends_on_the_regime():
    b = B.get("thm3_binning")
    assert b.exponent("eps_q", fixed={"L": 0.1, "Gamma": 2.0, "k": 4.0}) == pytest.approx(1, abs=1e-12)
    assert b.exponent("eps_q", fixed={"L": 1.0, "Gamma": 2.0, "k": 4.0}) == pytest.approx(0, abs=1e-12)


@pytest.mark.parametrize("name, symbol", [("thm2", "n"), ("thm2", "H"), ("thm3", "eps_q"), ("thm8", "n"),
                                          ("thm6_det", "eps_q"), ("thm6_det", "H"), ("piiss_gaussian", "H")])
def test_local_exponent_matches_finite_differences(name, symbol):
    b = B.get(name)
    pt = example(b)
    local = b.exponent(symbol, at=pt)
    x = pt[symbol]
    if info(symbol).integer:
        up, down = dict(pt, **{symbol: x + 1}), dict(pt, **{symbol: x - 1})
        fd = (math.log(b.evaluate(**up)) - math.log(b.evaluate(**down))) / math.log((x + 1) / (x - 1))
        # the integer neighbours' slope differs from the derivative by O(curvature / x^2)
        assert local == pytest.approx(fd, rel=0.02, abs=1e-3)
    else:
        h = 1e-4
        fd = (math.log(b.evaluate(**dict(pt, **{symbol: x * math.exp(h)})))
              - math.log(b.evaluate(**dict(pt, **{symbol: x * math.exp(-h)})))) / (2 * h)
        assert local == pytest.approx(fd, abs=1e-6)


def test_local_and_asymptotic_exponents_differ_where_other_terms_matter():
    b = B.get("thm2")
    pt = example(b)
    assert b.exponent("n") == pytest.approx(-0.5, abs=1e-12)
    local = b.exponent("n", at=pt)
    assert -0.5 < local < 0  # the eps_q terms flatten the local slope


# ----- property tests: lower <= upper, monotonicity -------------------------------------------

def _scalar(name, low=None, high=None):
    i = info(name)
    if i.integer:
        return st.integers(1, {"H": 2000, "n": 10 ** 6, "Pi": 10 ** 6, "M": 10 ** 6}.get(name, 10))
    lo = i.low if low is None else low
    hi = i.high if high is None else high
    if math.isinf(hi):
        hi = 1e3 if name != "eps_q" else 0.5
    if i.low_open:
        lo = max(lo, 1e-6)
    if i.high_open and hi == i.high:
        hi = hi - 1e-6
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@st.composite
def params(draw, b):
    ranges = {r[0]: r[1:] for r in b.ranges}
    out = {}
    if b.name == "thm6_det":
        A = draw(st.floats(0.01, 0.6))
        Bc = draw(st.floats(0.01, 0.9 * (1 - A)))
        q0 = Bc / (1 - A - Bc)
        lo, hi = 2 * q0 * 1.001, min(1 / A, 2 * q0 + 10) * 0.999
        assume(lo < hi)
        out.update(A6=A, B6=Bc, k=draw(st.floats(lo, hi)))
    for s in b.symbols:
        if s in out:
            continue
        if s in ranges:
            lo, hi, lo_open, hi_open = ranges[s]
            hi = min(hi, 0.5) if math.isinf(hi) else hi
            out[s] = draw(st.floats(lo + (1e-6 if lo_open else 0), hi - (1e-6 if hi_open else 0)))
        else:
            out[s] = draw(_scalar(s))
    return out


DIRECTIONS = {"H": +1, "n": -1, "eps_q": +1}


def _violations(b, symbol, pt, direction):
    """Points where b moves against ``direction`` when ``symbol`` increases (empty if monotone)."""
    x = pt[symbol]
    if info(symbol).integer:
        xs = [x, x + 1, 2 * x + 3]
    else:
        top = {r[0]: r[2] for r in b.ranges}.get(symbol, math.inf)
        xs = [x, min(x * 1.5 + 1e-3, (x + top) / 2 if math.isfinite(top) else x * 1.5 + 1e-3)]
    vals = [b.evaluate(**dict(pt, **{symbol: v})) for v in xs]
    bad = []
    for (x1, v1), (x2, v2) in zip(zip(xs, vals), zip(xs[1:], vals[1:])):
        if direction * (v2 - v1) < -1e-12 * max(abs(v1), abs(v2)):
            bad.append((x1, x2, v1, v2))
    return bad


@pytest.mark.parametrize("name", [n for n in CONTRACT_NAMES if n != "tvc_gaussian"])
def test_bounds_are_monotone_in_the_theory_direction(name):
    b = B.get(name)
    syms = [s for s in DIRECTIONS if s in b.symbols]
    assert syms

    @settings(max_examples=25, deadline=None)
    @given(params(b))
    def check(pt):
        for s in syms:
            assert not _violations(b, s, pt, DIRECTIONS[s]), (s, pt)

    check()


def test_monotonicity_check_can_fail():
    b = B.get("thm2")
    pt = example(b)
    assert _violations(b, "H", pt, -1)
    assert _violations(b, "n", pt, +1)
    assert not _violations(b, "H", pt, +1)


# Lower bound -> upper bounds of the same regime. The lower-bound instances have 1-Lipschitz
# rewards (L_r = 1); Theorem 9 holds with probability aux 'probability' (> 1/8), so the comparison
# with a 1 - delta upper bound needs delta < 1/8; its eps_q part keeps the symbol c, compared for c <= 1.
PAIRS = [("thm8", "thm3", {"L_r": 1.0}), ("thm8", "thm3_binning", {"L_r": 1.0}), ("thm8", "thm7", {"L_r": 1.0}),
         ("thm9", "thm2", {"L_r": 1.0}), ("thm9", "thm7", {"L_r": 1.0})]


@pytest.mark.parametrize("lower, upper, pinned", PAIRS)
def test_lower_bounds_below_upper_bounds(lower, upper, pinned):
    lo_b, up_b = B.get(lower), B.get(upper)
    assert lo_b.kind == "lower" and up_b.kind == "upper"
    merged = dataclass_union(lo_b, up_b)

    @settings(max_examples=40, deadline=None)
    @given(params(merged))
    def check(pt):
        pt = dict(pt, **pinned)
        if "delta" in pt and lower == "thm9":
            pt["delta"] = min(pt["delta"], 0.12)
        if "c" in pt:
            pt["c"] = min(pt["c"], 1.0)
        pt["eps_q"] = min(pt["eps_q"], 0.5)
        lo = lo_b.evaluate(**{k: pt[k] for k in lo_b.symbols})
        up = up_b.evaluate(**{k: pt[k] for k in up_b.symbols})
        assert lo <= up, (pt, lo, up)

    check()


def dataclass_union(a, b):
    """A throwaway Bound whose symbols are the union of two bounds' (for drawing shared parameters)."""
    import dataclasses

    return dataclasses.replace(a, explicit=a.explicit + b.explicit, ranges=a.ranges + b.ranges, numeric=None)


def test_lower_upper_comparison_can_fail():
    """Negative control: the Theorem 8 lower bound exceeds Theorem 3 when L_r is far below the instance's 1
    and kappa = 0 with a tiny Gamma and k (upper's eps_q term ~ L_r eps_q H, lower's H eps_q / 4)."""
    pt = dict(H=100, n=10 ** 6, eps_q=0.5, delta=0.5, Pi=1, kappa=0.0, Gamma=1e-3, k=1e-3, L_r=0.01)
    lo = B.get("thm8").evaluate(H=100, n=10 ** 6, eps_q=0.5)
    up = B.get("thm3").evaluate(**{k: pt[k] for k in B.get("thm3").symbols})
    assert lo > up


def test_thm6_below_trivial_regret_bound():
    b = B.get("thm6_det")

    @settings(max_examples=40, deadline=None)
    @given(params(b))
    def check(pt):
        v = b.evaluate(**pt)
        assert 0 <= v <= (pt["H"] - 1) * pt["A6"] / 2 * (1 + 1e-12) + 1e-15
        assert v <= pt["H"]  # rewards in [0, 1]

    check()


# ----- CLI helpers ----------------------------------------------------------------------------

def test_bound_report_shape_and_values():
    b = B.get("thm3")
    rep = B.bound_report("thm3", example(b))
    assert set(rep) == {"name", "theorem", "kind", "form", "latex", "value", "exponents"}
    assert set(rep["exponents"]) == {"n", "H", "eps_q"}
    assert rep["value"] == pytest.approx(b.evaluate(**example(b)), rel=1e-14)
    assert rep["exponents"]["n"] == pytest.approx(-1, abs=1e-12)
    json.dumps(rep, allow_nan=False)
    partial = B.bound_report("thm3", {"H": 10}, form="rate")
    assert "value" not in partial and partial["form"] == "rate"
    rep0 = B.bound_report("thm3", {"kappa": 0.0})
    assert rep0["exponents"]["H"] == pytest.approx(1, abs=1e-12)
    text = B.format_bound_text(rep)
    assert "thm3" in text and "Theorem 3" in text and f"{rep['value']:.6g}" in text
    assert "thm6_det" in B.format_list_text()
    listing = B.list_report()
    assert [d["name"] for d in listing] == B.names()
    assert listing[B.names().index("thm9")]["symbols"]["explicit"] == ["H", "c", "eps_q", "n"]
    json.dumps(listing)


def test_bound_report_refuses_bad_input():
    with pytest.raises(DimensionError, match="^Gamma: expected a symbol of thm2"):
        B.bound_report("thm2", {"Gamma": 1.0})
    with pytest.raises(DimensionError, match="^eta: expected"):
        B.bound_report("thm2", {"eta": 2.0})
    with pytest.raises(DimensionError, match=r"^eps_q: expected a number in \[0, 0\.5\]"):
        B.bound_report("thm8", {"eps_q": 0.7})
    with pytest.raises(AssumptionError, match="lambda = A \\+ B < 1"):
        B.bound_report("thm6_det", {"A6": 0.6, "B6": 0.5})
    with pytest.raises(TypeError):
        B.bound_report("thm2", {}, bogus=1)


def test_theorem6_printed_example_violates_its_condition():
    """THEORY.md 9.1: (A, B, k) = (0.2, 0.3, 1) breaks k/2 > B/(1 - A - B); (0.2, 0.25, 1) and (0.2, 0.3, 2) do not."""
    with pytest.raises(AssumptionError, match="k/2 > B/"):
        B.bound_report("thm6_det", {"A6": 0.2, "B6": 0.3, "k": 1.0})
    for A, Bc, k in ((0.2, 0.25, 1.0), (0.2, 0.3, 2.0)):
        rep = B.bound_report("thm6_det", {"A6": A, "B6": Bc, "k": k, "eps_q": 0.01, "H": 100})
        assert rep["value"] > 0 and rep["exponents"]["H"] == pytest.approx(1, abs=1e-12)


@pytest.mark.parametrize("name, text, value", [("H", "200", 200.0), ("n", "1e3", 1000.0), ("eta", "0.5", 0.5),
                                               ("eps_q", "0", 0.0), ("delta", ".05", 0.05)])
def test_parse_symbol_value_accepts_numbers(name, text, value):
    assert B.parse_symbol_value(name, text) == value


@pytest.mark.parametrize("name, text", [("H", "2.5"), ("H", "-3"), ("eps_q", "-0.1"), ("eta", "1"),
                                        ("n", "1+1"), ("n", "10**3"), ("delta", "nan"), ("C", "inf"),
                                        ("L", "__import__('os')"), ("k", "")])
def test_parse_symbol_value_refuses(name, text):
    with pytest.raises(DimensionError, match=rf"^{name}: expected"):
        B.parse_symbol_value(name, text)
    with pytest.raises(DimensionError, match="symbol: expected one of"):
        B.parse_symbol_value("zeta", "1")


def test_thm8_lower_bound_keeps_its_tv_term_at_huge_n():
    """(1 - 1/(3n))^n rounds to 1 in double precision from n ~ 1e16: the bound must not jump 4x."""
    b = bounds.get("thm8")
    ratio = [b.evaluate(H=10, n=n, eps_q=0.0) * n for n in (10**12, 10**15, 10**16, 10**19)]
    assert np.allclose(ratio, ratio[0], rtol=1e-6, atol=0)


def test_log_of_large_class_sizes_does_not_overflow():
    val = bounds.get("mle").evaluate(n=1000, Pi=1e300, delta=1e-9)
    assert val == pytest.approx(6 * (np.log(2) + np.log(1e300) - np.log(1e-9)) / 1000, rel=1e-12)


def test_geomsum_closed_form_for_long_sums_matches_short_sums():
    from sympy import Rational

    from qbc_theory.theory.bounds import GeomSum

    for count in (3, 64, 65, 200):
        exact = sum(Rational(4, 5) ** j for j in range(count))
        assert GeomSum(Rational(4, 5), count) == exact
    assert float(GeomSum(Rational(4, 5), 100_000)) == pytest.approx(5.0, rel=1e-12)


def test_exponent_with_large_fixed_n_finishes():
    report = bounds.bound_report("thm8", {"n": 10000.0, "H": 10.0, "eps_q": 0.01})
    assert report["exponents"]["H"] == 1 and report["value"] > 0


def test_bound_report_evaluates_thm3_binning_in_its_h2_regime():
    """Regression: L Gamma (k+1) < k - 2 was a checkable 'condition', so the H^2 regime was refused."""
    vals = {"H": 50, "n": 200, "delta": 0.05, "Pi": 25, "eps_q": 0.03125, "L": 0.2, "Gamma": 8.7, "k": 3.0, "L_r": 1.0}
    rep = B.bound_report("thm3_binning", vals)
    assert rep["value"] == pytest.approx(float(B.get("thm3_binning").evaluate(**vals)), rel=1e-12)
    assert rep["value"] > 50 ** 2 and "missing" not in rep


def test_bound_report_names_missing_symbols_and_substitutes_the_given_ones():
    rep = B.bound_report("thm8", {"H": 10})
    assert "value" not in rep and rep["missing"] == ["eps_q", "n"]
    assert "varepsilon_q" in rep["latex_at_values"] and "H" not in rep["latex_at_values"]
    assert "latex_at_values" not in B.bound_report("thm8", {})


def test_log_counts_give_the_float_value_and_go_beyond_it():
    vals = {"H": 50, "n": 200, "delta": 0.05, "eps_q": 0.03125, "Pi": 49, "C": 1.0, "eta": 0.902, "L_r": 1.02}
    direct = B.bound_report("thm7", {**vals, "M": 15625})["value"]
    via_log = B.bound_report("thm7", vals, log_counts={"M": math.log(15625)})
    assert via_log["value"] == pytest.approx(direct, rel=1e-12) and via_log["log_counts"] == {"M": math.log(15625)}
    huge = B.bound_report("thm7", vals, log_counts={"M": 1689.9})["value"]  # |M| = e^1689.9 overflows a float
    stat = math.sqrt(6) * 50 * math.sqrt((math.log(2) + 1689.9 + math.log(49) - math.log(0.05)) / 200)
    assert huge == pytest.approx(50 * 1.02 * 0.03125 * (1 / 0.098 + 1) + stat, rel=1e-12)
    with pytest.raises(DimensionError, match="expected M or log_M, found both"):
        B.bound_report("thm7", {**vals, "M": 5}, log_counts={"M": 2.0})
    with pytest.raises(DimensionError, match="log_H: expected the log of a count"):
        B.bound_report("thm7", vals, log_counts={"H": 2.0})
    with pytest.raises(DimensionError, match="log_M: expected a finite number >= 0"):
        B.bound_report("thm7", vals, log_counts={"M": -1.0})
