"""The symbol registry: contract names, sympy assumptions, value checks that name the symbol."""

import numpy as np
import pytest
import sympy

from qbc_theory.model.errors import DimensionError
from qbc_theory.theory.symbols import SYMBOLS, check_value, info, latex_names, names, sym

CONTRACT = ["H", "n", "delta", "eps_q", "Pi", "M", "C", "eta", "Gamma", "L", "L_r", "k", "eps_prime",
            "d", "sigma", "sigma_pi", "c", "A6", "B6"]


def test_contract_names_present_and_shared():
    for name in CONTRACT:
        assert name in SYMBOLS
        assert sym(name) is SYMBOLS[name]
        assert SYMBOLS[name].name == name
    assert names() == list(SYMBOLS)


def test_sympy_assumptions():
    for name in ("H", "n", "Pi", "M", "dx", "du"):
        assert sym(name).is_integer and sym(name).is_positive
    for name in ("eps_q", "L", "L_r", "eps_prime", "kappa"):
        assert sym(name).is_nonnegative and sym(name).is_positive is None
    for name in ("delta", "eta", "C", "Gamma", "sigma", "A6"):
        assert sym(name).is_positive
    # the registry's symbol differs from a fresh one without assumptions: sharing matters
    assert sym("H") != sympy.Symbol("H")


@pytest.mark.parametrize("name, value", [("H", 50), ("n", 1e3), ("eta", 0.5), ("eps_q", 0.0),
                                         ("delta", 1e-9), ("L", 0.0), ("k", 3.0)])
def test_valid_values_pass(name, value):
    assert check_value(name, value) == pytest.approx(float(value), rel=0, abs=0)


@pytest.mark.parametrize("name, value", [("H", 2.5), ("H", 0), ("n", -3), ("eta", 1.0), ("eta", 0.0),
                                         ("delta", 1.5), ("eps_q", -1e-3), ("C", 0.0), ("Pi", 0.5),
                                         ("sigma", float("nan")), ("k", float("inf")), ("eps_q", "0.1"),
                                         ("H", True)])
def test_invalid_values_name_the_symbol(name, value):
    with pytest.raises(DimensionError, match=rf"^{name}: expected"):
        check_value(name, value)


def test_arrays_checked_elementwise():
    out = check_value("eta", [0.1, 0.5, 0.9])
    np.testing.assert_array_equal(out, [0.1, 0.5, 0.9])
    with pytest.raises(DimensionError, match=r"eta: expected .*found 1\.2"):
        check_value("eta", np.array([0.1, 1.2, 0.3]))
    with pytest.raises(DimensionError, match="n: expected a positive integer"):
        check_value("n", np.array([10.0, 10.5]))


def test_narrowed_range():
    assert check_value("eps_q", 0.4, high=0.5) == 0.4
    with pytest.raises(DimensionError, match=r"eps_q: expected a number in \[0, 0\.5\]"):
        check_value("eps_q", 0.6, high=0.5)


def test_unknown_symbol():
    with pytest.raises(DimensionError, match="symbol: expected one of"):
        sym("nope")
    with pytest.raises(DimensionError):
        info("x")


def test_latex_names_cover_registry_and_json():
    ln = latex_names()
    assert set(ln) == set(SYMBOLS.values())
    assert ln[sym("eps_q")] == r"\varepsilon_q"
    d = info("eta").to_dict()
    assert d["low"] == 0.0 and d["high"] == 1.0 and d["low_open"] and d["high_open"]
    assert info("H").to_dict()["high"] is None
