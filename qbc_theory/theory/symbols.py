"""The one registry of sympy symbols used by every bound.

Every symbol is created once, here, with the "old" sympy assumptions (``positive``,
``nonnegative``, ``integer``), so that all bounds share identical symbol objects: two symbols with
the same name but different assumptions are different objects to sympy. Ranges that a sympy
assumption cannot express (``0 < eta < 1``) are kept next to the symbol as :class:`SymbolInfo` and
checked numerically by :func:`check_value`.

The names are the contract of docs/design.md section 4 (they are also the ``qbc bound`` flags).

References
----------
Cao & Xie 2026, *Understanding Behavior Cloning with Action Quantization*, sections 2-6.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import sympy

from ..model.errors import DimensionError

__all__ = ["SymbolInfo", "SYMBOLS", "sym", "info", "names", "latex_names", "check_value"]


@dataclass(frozen=True)
class SymbolInfo:
    """What a registry symbol means and which values it admits.

    Attributes
    ----------
    name : str
        Registry name (also the command-line flag ``--name``).
    symbol : sympy.Symbol
        The shared symbol, with its sympy assumptions.
    latex : str
        LaTeX used when printing bounds.
    description : str
        One line saying what the symbol stands for.
    integer : bool
        Whether only integers are admissible.
    low, high : float
        Admissible range; ``high`` is ``inf`` when unbounded.
    low_open, high_open : bool
        Whether the range excludes its end points.
    asymptote : str
        ``"oo"``, ``"0"`` or ``"1"``: the end of the range the asymptotic exponent of this symbol refers to.
    """

    name: str
    symbol: sympy.Symbol
    latex: str
    description: str
    integer: bool
    low: float
    high: float
    low_open: bool
    high_open: bool
    asymptote: str

    def range_text(self) -> str:
        """The admissible range in words, e.g. ``"a number in (0, 1)"``."""
        if self.integer:
            return "a positive integer" if self.low_open and self.low == 0 else f"an integer >= {self.low:g}"
        if math.isinf(self.high):
            return "a positive number" if self.low_open else "a non-negative number"
        lo = "(" if self.low_open else "["
        hi = ")" if self.high_open else "]"
        return f"a number in {lo}{self.low:g}, {self.high:g}{hi}"

    def to_dict(self) -> dict:
        """JSON-ready description (``high`` is ``None`` when unbounded)."""
        return {"name": self.name, "description": self.description, "integer": self.integer,
                "low": self.low, "high": None if math.isinf(self.high) else self.high,
                "low_open": self.low_open, "high_open": self.high_open, "range": self.range_text()}


# kind: "posint" positive integer, "pos" > 0, "nonneg" >= 0, "unit" in (0, 1).
_SPEC = [
    ("H", r"H", "posint", "horizon (number of steps per episode)", "oo"),
    ("n", r"n", "posint", "number of expert trajectories", "oo"),
    ("delta", r"\delta", "unit", "confidence parameter: the bound holds with probability >= 1 - delta", "0"),
    ("eps_q", r"\varepsilon_q", "nonneg", "quantization error (sup for binning, in-distribution average otherwise)", "0"),
    ("Pi", r"|\Pi|", "posint", "size of the finite policy class |Pi|", "oo"),
    ("M", r"|\mathcal{M}|", "posint", "size of the finite transition-model class |M| (Algorithm 1)", "oo"),
    ("C", r"C", "pos", "P-EIISS gain: gamma((r_k)) = sum_k C eta^(t-k) r_k", "oo"),
    ("eta", r"\eta", "unit", "P-EIISS contraction rate, in (0, 1)", "1"),
    ("Gamma", r"\Gamma", "pos", "slope of the max-type P-IISS gain gamma(r) = Gamma r", "oo"),
    ("L", r"L", "nonneg", "Lipschitz constant of the deterministic expert", "oo"),
    ("L_r", r"L_r", "nonneg", "Lipschitz constant of the reward", "oo"),
    ("k", r"k", "pos", "RTVC radius multiplier (eps' = k eps_q); in Theorem 6 the trap-interval width k", "oo"),
    ("eps_prime", r"\varepsilon'", "nonneg", "RTVC radius eps'", "0"),
    ("d", r"d", "pos", "P-IISS locality radius d", "oo"),
    ("sigma", r"\sigma", "pos", "standard deviation of the Gaussian transition noise", "oo"),
    ("sigma_pi", r"\sigma_\pi", "pos", "standard deviation of the Gaussian expert", "oo"),
    ("c", r"c", "pos", "universal constant of a rate form (or a constant the proof does not fix)", "oo"),
    ("A6", r"A", "unit", "Theorem 6: state coefficient A of x+ = A x + B u", "1"),
    ("B6", r"B", "unit", "Theorem 6: action coefficient B of x+ = A x + B u", "1"),
    ("kappa", r"\kappa", "nonneg", "slope of a linear smoothness modulus kappa(r) = kappa r", "oo"),
    ("delta_iiss", r"\delta_{\mathrm{IISS}}", "unit", "failure probability of local P-IISS (Theorem 1)", "0"),
    ("tv", r"\mathrm{TV}", "unit", "TV distance between the two extended trajectory laws (Theorem 1)", "0"),
    ("p_far", r"p_{d}", "unit", "probability that some quantization error exceeds d - eps' (Theorem 1)", "0"),
    ("eps_reg", r"\varepsilon_{\mathrm{reg}}", "nonneg",
     "regression error (1/H) sum_h E||u*_h - u_hat_h|| on expert states (Proposition 4)", "0"),
    ("r", r"r", "nonneg", "distance ||x - x'|| between two states (smoothness moduli)", "oo"),
    ("L_mu", r"L_\mu", "nonneg", "Lipschitz constant of the Gaussian expert's mean", "oo"),
    ("rho_m", r"\rho_m", "pos", "margin: the nominal trajectory stays 2 rho_m inside S", "oo"),
    ("dx", r"d_x", "posint", "state dimension", "oo"),
    ("du", r"d_u", "posint", "action dimension", "oo"),
]


def _make(name, latex, kind, description, asymptote) -> SymbolInfo:
    if kind == "posint":
        s = sympy.Symbol(name, positive=True, integer=True)
        return SymbolInfo(name, s, latex, description, True, 0.0, math.inf, True, False, asymptote)
    if kind == "pos":
        s = sympy.Symbol(name, positive=True)
        return SymbolInfo(name, s, latex, description, False, 0.0, math.inf, True, False, asymptote)
    if kind == "nonneg":
        s = sympy.Symbol(name, nonnegative=True)
        return SymbolInfo(name, s, latex, description, False, 0.0, math.inf, False, False, asymptote)
    s = sympy.Symbol(name, positive=True)
    return SymbolInfo(name, s, latex, description, False, 0.0, 1.0, True, True, asymptote)


_INFO: dict[str, SymbolInfo] = {spec[0]: _make(*spec) for spec in _SPEC}

#: name -> sympy Symbol, for every registry symbol (docs/design.md section 4).
SYMBOLS: dict[str, sympy.Symbol] = {name: i.symbol for name, i in _INFO.items()}


def names() -> list[str]:
    """All registry names, in registry order."""
    return list(_INFO)


def sym(name: str) -> sympy.Symbol:
    """The registry symbol called ``name``.

    Raises
    ------
    DimensionError
        If ``name`` is not a registry symbol.
    """
    return info(name).symbol


def info(name: str) -> SymbolInfo:
    """The :class:`SymbolInfo` of ``name``.

    Raises
    ------
    DimensionError
        If ``name`` is not a registry symbol.
    """
    try:
        return _INFO[name]
    except (KeyError, TypeError):
        raise DimensionError(f"symbol: expected one of {', '.join(_INFO)}, found {name!r}") from None


def latex_names() -> dict[sympy.Symbol, str]:
    """Symbol -> LaTeX name, for ``sympy.latex(expr, symbol_names=...)``."""
    return {i.symbol: i.latex for i in _INFO.values()}


def check_value(name: str, value, *, low=None, high=None, low_open=False, high_open=False):
    """Check a value (scalar or array) against the symbol's sign, integrality and range.

    Parameters
    ----------
    name : str
        Registry name.
    value : float or array_like
        The value(s); arrays are checked element-wise.
    low, high : float, optional
        A narrower range than the registry's (a bound may need ``eps_q < 1``, say).
    low_open, high_open : bool
        Whether ``low`` / ``high`` are excluded.

    Returns
    -------
    float or ndarray of float
        ``value`` as a float (scalar input) or a float array.

    Raises
    ------
    DimensionError
        Naming the symbol, if a value is not a finite real number, has the wrong sign, is not an
        integer where one is needed, or lies outside the range.
    """
    i = info(name)
    if isinstance(value, (bool, str, bytes)) or (
            not isinstance(value, (numbers.Real, np.ndarray, list, tuple))):
        raise DimensionError(f"{name}: expected {i.range_text()}, found {type(value).__name__}")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise DimensionError(f"{name}: expected {i.range_text()}, found a non-numeric value") from None
    scalar = arr.ndim == 0

    def bad(mask, what):
        first = arr[mask].flat[0] if arr.ndim else float(arr)
        raise DimensionError(f"{name}: expected {what}, found {first:g}")

    finite = np.isfinite(arr)
    if not finite.all():
        bad(~finite, f"a finite number ({i.range_text()})")
    lo, lo_open = (i.low, i.low_open) if low is None else (max(low, i.low), low_open)
    hi, hi_open = (i.high, i.high_open) if high is None else (min(high, i.high), high_open)
    below = arr <= lo if lo_open else arr < lo
    above = arr >= hi if hi_open else arr > hi
    if i.integer:
        frac = arr != np.floor(arr)
        if frac.any():
            bad(frac, i.range_text())
    if below.any() or above.any():
        what = i.range_text()
        if low is not None or high is not None:
            what = (f"a number in {'(' if lo_open else '['}{lo:g}, "
                    f"{'inf' if math.isinf(hi) else format(hi, 'g')}{')' if hi_open else ']'}")
        bad(below | above, what)
    return float(arr) if scalar else arr
