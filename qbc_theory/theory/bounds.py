"""Every result of Cao & Xie 2026 as a sympy expression: print it, evaluate it, read its exponents.

A :class:`Bound` holds two forms of one result: ``rate`` (the theorem as stated, with the hidden
constant written as the universal symbol ``c``) and ``explicit`` (constants traced through the proof).
Each catalog entry is built by a function ``_b_<name>`` whose docstring has a ``Constants`` section:
one line per explicit constant saying which step of the proof it comes from, or that the proof
fixes none and a symbol is kept. :attr:`Bound.constants` is read from that section, so the
documentation and the object cannot drift apart.

Conventions
-----------
* Symbols come from :mod:`qbc_theory.theory.symbols` (one registry, sympy assumptions).
* ``evaluate`` lambdifies once per bound (cached, ``modules="numpy"``) and broadcasts. No bound uses
  ``Piecewise`` (``numpy.select`` would evaluate every branch): indicators are the function
  :class:`Indicator` (``1{s >= 0}``), geometric sums the function :class:`GeomSum`, and the explicit
  sum of Theorem 6 is a sympy ``Sum`` evaluated by a documented numpy routine that broadcasts.
* ``exponent(symbol)`` is the limit of the log-derivative ``x b'(x) / b(x)``, computed by sympy;
  for ``n`` the quantization error is set to 0 first (the statistical part), for ``eps_q`` the limit
  ``n -> oo`` is taken first (the quantization part), as DESIGN.md section 5 defines them.
  Symbols that are not fixed are treated by sympy as generic (non-zero) values.

References
----------
Cao & Xie 2026, *Understanding Behavior Cloning with Action Quantization*, Theorems 1-9,
Propositions 4-5, Appendix A and the appendix P-IISS proposition.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable

import numpy as np
import scipy.special
import sympy
from sympy import Rational, S, sqrt

from ..model.validation import reject_unknown_kwargs
from ..model.errors import AssumptionError, DimensionError
from .symbols import check_value, info, latex_names, sym

__all__ = [
    "Indicator",
    "IsPositive",
    "GeomSum",
    "Condition",
    "Exponent",
    "Bound",
    "names",
    "get",
    "catalog",
    "bound_report",
    "format_bound_text",
    "format_list_text",
    "list_report",
    "parse_symbol_value",
    "trap_loop_sum",
]


# --------------------------------------------------------------------------------------------
# Helper functions that replace Piecewise
# --------------------------------------------------------------------------------------------

class Indicator(sympy.Function):
    r"""The indicator :math:`\mathbb{1}\{s \ge 0\}` as a sympy function (no ``Piecewise``).

    It evaluates to 0 or 1 as soon as the sign of its argument is known, has derivative 0 (it is
    piecewise constant) and is evaluated in numpy as ``where(s >= 0, 1, 0)``.
    """

    is_real = True
    is_nonnegative = True

    @classmethod
    def eval(cls, s):
        if s.is_extended_nonnegative:
            return S.One
        if s.is_extended_negative:
            return S.Zero
        return None

    def fdiff(self, argindex=1):
        return S.Zero

    def _latex(self, printer):
        return r"\mathbb{1}\left\{%s \ge 0\right\}" % printer._print(self.args[0])


def _np_indicator(s):
    return np.where(np.asarray(s) >= 0, 1.0, 0.0)


class IsPositive(sympy.Function):
    r"""The strict indicator :math:`\mathbb{1}\{s > 0\}` (no ``Piecewise``); see :class:`Indicator`."""

    is_real = True
    is_nonnegative = True

    @classmethod
    def eval(cls, s):
        if s.is_extended_positive:
            return S.One
        if s.is_extended_nonpositive:
            return S.Zero
        return None

    def fdiff(self, argindex=1):
        return S.Zero

    def _latex(self, printer):
        return r"\mathbb{1}\left\{%s > 0\right\}" % printer._print(self.args[0])


def _np_is_positive(s):
    return np.where(np.asarray(s) > 0, 1.0, 0.0)


class GeomSum(sympy.Function):
    r"""The geometric sum :math:`A_H(L) = \sum_{j=0}^{H-1} L^j` (appendix P-IISS proposition).

    Written as a function so that ``L = 1`` needs no ``Piecewise``: numerically it is
    ``expm1(H log L) / (L - 1)``, and ``H`` where ``L`` is 1 to 12 digits.
    """

    is_real = True
    is_positive = True

    @classmethod
    def eval(cls, base, count):
        if base == 1 or (base.is_Number and float(base) == 1.0):
            return count
        if base.is_Number and count.is_Number and float(count).is_integer():
            # term by term only for short sums: (L**H - 1)/(L - 1) is as exact and O(1) in H
            if count <= 64 and count.is_Integer:
                return sum(base ** j for j in range(int(count)))
            return (base ** count - 1) / (base - 1)
        return None

    def closed_form(self):
        """``(L**H - 1) / (L - 1)``, valid for ``L != 1`` (used for limits and derivatives)."""
        base, count = self.args
        return (base ** count - 1) / (base - 1)

    def fdiff(self, argindex=1):
        return sympy.diff(self.closed_form(), self.args[argindex - 1])

    def _latex(self, printer):
        return r"A_{%s}\left(%s\right)" % (printer._print(self.args[1]), printer._print(self.args[0]))


def _np_geomsum(base, count):
    base = np.asarray(base, dtype=float)
    count = np.asarray(count, dtype=float)
    near = np.abs(base - 1.0) < 1e-12
    safe = np.where(near | (base <= 0), 2.0, base)
    with np.errstate(over="ignore"):
        closed = np.expm1(count * np.log(safe)) / (safe - 1.0)
    zero_base = np.where(count >= 1, 1.0, 0.0)
    return np.where(near, count, np.where(base <= 0, zero_base, closed))


_NUMPY_FUNCS = {"Indicator": _np_indicator, "IsPositive": _np_is_positive, "GeomSum": _np_geomsum, "erf": scipy.special.erf}


def _closed(expr):
    """Replace :class:`GeomSum` by its closed form (for sympy limits)."""
    return expr.replace(lambda e: isinstance(e, GeomSum), lambda e: e.closed_form())


# --------------------------------------------------------------------------------------------
# The Bound object
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Condition:
    """A hypothesis of a result: words, and a sympy relation when it can be checked on numbers.

    Attributes
    ----------
    text : str
        The hypothesis in words.
    relation : sympy relational or None
        True exactly when the hypothesis holds (``None`` for structural hypotheses).
    """

    text: str
    relation: object = None

    def holds(self, values: dict) -> bool | None:
        """Whether the relation holds at ``values`` (``None`` if it has none or lacks a value)."""
        if self.relation is None:
            return None
        free = {s.name for s in self.relation.free_symbols}
        if not free <= set(values):
            return None
        subs = {sym(k): _exact(v) for k, v in values.items() if k in free}
        return bool(self.relation.subs(subs))

    def to_dict(self) -> dict:
        rel = None if self.relation is None else sympy.latex(self.relation, symbol_names=latex_names())
        return {"text": self.text, "relation": rel}


@dataclass(frozen=True)
class Exponent:
    """An exponent of a bound in one symbol.

    Attributes
    ----------
    symbol : str
        The symbol.
    value : float or None
        The exponent, or ``None`` when it is not defined (the bound does not depend on the symbol,
        the relevant part is zero, or the limit does not exist or could not be computed).
    exact : str or None
        The sympy result as text (``"-1/2"``), when symbolic.
    kind : str
        ``"asymptotic"`` (a limit) or ``"local"`` (the log-derivative at a point).
    method : str
        How it was obtained.
    """

    symbol: str
    value: float | None
    exact: str | None
    kind: str
    method: str

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Bound:
    r"""One result of the paper in two forms, evaluable and differentiable.

    Attributes
    ----------
    name : str
        Catalog name (``thm3``).
    theorem : str
        The result it encodes (``"Theorem 3"``).
    kind : str
        ``"upper"`` or ``"lower"``.
    form : str
        ``"rate"`` or ``"explicit"``: which of the two expressions is :attr:`expr`.
    rate, explicit : sympy.Expr
        The theorem as stated with the universal constant ``c``, and the constant-traced version.
    conditions : tuple of Condition
        Hypotheses of the result.
    quantity : str
        What is bounded (``"J(pi*) - J(pi_hat)"``).
    holds : str
        In which sense (``"with probability >= 1 - delta"``, ``"in expectation"``).
    constants : tuple of str
        Provenance of each explicit constant (read from the builder's docstring).
    aux : tuple of (str, sympy.Expr)
        Companion quantities (the probability of a high-probability lower bound, a radius, ...).
    ranges : tuple of (name, low, high, low_open, high_open)
        Ranges narrower than the registry's that this result needs.
    example : tuple of (name, value)
        A valid parameter point (used by tests, benchmarks and local exponents).
    numeric : callable or None
        Numpy evaluator of the explicit form, for expressions lambdify cannot broadcast (a sum
        whose upper limit is a symbol). Called with keyword arrays.

    References
    ----------
    Cao & Xie 2026 (the result named by :attr:`theorem`).
    """

    name: str
    theorem: str
    kind: str
    form: str
    rate: sympy.Expr
    explicit: sympy.Expr
    conditions: tuple = ()
    quantity: str = ""
    holds: str = ""
    constants: tuple = ()
    aux: tuple = ()
    ranges: tuple = ()
    example: tuple = ()
    numeric: Callable | None = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        if self.kind not in ("upper", "lower"):
            raise DimensionError(f"kind: expected 'upper' or 'lower', found {self.kind!r}")
        if self.form not in ("rate", "explicit"):
            raise DimensionError(f"form: expected 'rate' or 'explicit', found {self.form!r}")

    # ----- structure -------------------------------------------------------------------------
    @property
    def expr(self) -> sympy.Expr:
        """The expression of the current :attr:`form`."""
        return self.explicit if self.form == "explicit" else self.rate

    @property
    def symbols(self) -> tuple[str, ...]:
        """Names of the registry symbols :attr:`expr` needs, sorted."""
        return tuple(sorted(s.name for s in self.expr.free_symbols))

    def with_form(self, form: str) -> "Bound":
        """The same result in the other form (``"rate"`` or ``"explicit"``); catalog objects stay cached."""
        if form == self.form:
            return self
        if self.name in _BUILDERS and get(self.name, self.form) == self:
            return get(self.name, form)
        return dataclasses.replace(self, form=form)

    def latex(self) -> str:
        """LaTeX of :attr:`expr` with the registry's symbol names."""
        return sympy.latex(self.expr, symbol_names=latex_names())

    def check_conditions(self, **values) -> list[str]:
        """Texts of the conditions whose relation is violated at ``values`` (scalars)."""
        return [c.text for c in self.conditions if c.holds(values) is False]

    # ----- evaluation ------------------------------------------------------------------------
    @functools.cached_property
    def _compiled(self):
        args = [sym(n) for n in self.symbols]
        # log(2 |Pi| / delta) as log 2 + log |Pi| - log delta: the product overflows for |Pi|/delta > 1e308
        expr = sympy.expand_log(self.expr, force=True)
        return sympy.lambdify(args, expr, modules=[_NUMPY_FUNCS, "numpy"], cse=True)

    def _validated(self, values: dict, where: str) -> list:
        need = set(self.symbols)
        unknown = sorted(set(values) - need)
        missing = sorted(need - set(values))
        if unknown:
            raise TypeError(f"{where}() got unexpected symbol(s) for {self.name}: {', '.join(unknown)} "
                            f"(its symbols: {', '.join(self.symbols)})")
        if missing:
            raise TypeError(f"{where}() missing value(s) for {self.name}: {', '.join(missing)}")
        return [self.check_value(n, values[n]) for n in self.symbols]

    def check_value(self, name: str, value):
        """Check one value against the registry and this result's narrower range (see :attr:`ranges`).

        Raises
        ------
        DimensionError
            Naming the symbol, if the value is outside the admissible range.
        """
        for r in self.ranges:
            if r[0] == name:
                return check_value(name, value, low=r[1], high=r[2], low_open=r[3], high_open=r[4])
        return check_value(name, value)

    def _raw(self, arrays: list):
        """Evaluate on already-validated arrays, in the order of :attr:`symbols`."""
        if self.form == "explicit" and self.numeric is not None:
            out = self.numeric(**dict(zip(self.symbols, arrays)))
        else:
            out = self._compiled(*arrays)
        shape = np.broadcast_shapes(*(np.shape(a) for a in arrays)) if arrays else ()
        out = np.asarray(out, dtype=float)
        if out.shape != shape:
            out = np.array(np.broadcast_to(out, shape))
        return out

    def evaluate(self, **values):
        r"""Evaluate :attr:`expr` with numpy broadcasting.

        Parameters
        ----------
        **values : float or array_like
            One value or array for each name in :attr:`symbols`; arrays broadcast together.

        Returns
        -------
        float or ndarray
            A float when every value is a scalar, otherwise an array of the broadcast shape.

        Raises
        ------
        TypeError
            If a symbol is missing or a name is not a symbol of this bound (both named).
        DimensionError
            If a value has the wrong sign, is not an integer where one is needed, or is outside the
            range the result needs (the message names the symbol).
        """
        arrays = self._validated(values, "evaluate")
        out = self._raw(arrays)
        return float(out) if out.ndim == 0 else out

    def evaluate_aux(self, **values) -> dict:
        """Evaluate the companion quantities :attr:`aux` whose symbols all have scalar values."""
        out = {}
        for label, e in self.aux:
            need = sorted(s.name for s in e.free_symbols)
            if set(need) <= set(values):
                f = sympy.lambdify([sym(n) for n in need], e, modules=[_NUMPY_FUNCS, "numpy"])
                out[label] = float(f(*[float(values[n]) for n in need]))
        return out

    # ----- exponents -------------------------------------------------------------------------
    def exponent(self, symbol: str, at: dict | None = None, fixed: dict | None = None) -> float | None:
        r"""Scaling exponent of the bound in ``symbol``.

        .. math::

            e(x) = \lim_{x \to x_\infty} \frac{x\, b'(x)}{b(x)}
            \quad\text{or, with ``at``,}\quad \frac{x\, b'(x)}{b(x)}\Big|_{\text{at}}

        Parameters
        ----------
        symbol : str
            Registry name.
        at : dict, optional
            A point (every symbol of the bound): return the local exponent there instead.
        fixed : dict, optional
            Values substituted before the limit (as exact rationals); others stay generic.

        Returns
        -------
        float or None
            ``None`` when the exponent is not defined (see :class:`Exponent`).
        """
        return self.exponent_detail(symbol, at=at, fixed=fixed).value

    def exponent_detail(self, symbol: str, at: dict | None = None, fixed: dict | None = None) -> Exponent:
        """Like :meth:`exponent`, returning the :class:`Exponent` with its method."""
        info(symbol)
        if at is not None:
            return self._local_exponent(symbol, dict(at))
        fixed_items = tuple(sorted((k, float(v)) for k, v in (fixed or {}).items()))
        return _asymptotic_exponent(self.name, self.form, self.expr, symbol, fixed_items, self.example)

    def _local_exponent(self, symbol: str, at: dict) -> Exponent:
        if symbol not in self.symbols:
            return Exponent(symbol, None, None, "local", f"{self.name} does not depend on {symbol}")
        arrays = self._validated(at, "exponent")
        i = self.symbols.index(symbol)
        x = float(arrays[i])
        b0 = float(self._raw(arrays))
        if info(symbol).integer and self.expr.has(sympy.Sum):
            if x < 2:
                return Exponent(symbol, None, None, "local", "needs an integer point >= 2")
            up, down = list(arrays), list(arrays)
            up[i], down[i] = x + 1, x - 1
            bu, bd = float(self._raw(up)), float(self._raw(down))
            if not (bu > 0 and bd > 0):
                return Exponent(symbol, None, None, "local", "bound is not positive near the point")
            val = (math.log(bu) - math.log(bd)) / (math.log(x + 1) - math.log(x - 1))
            return Exponent(symbol, val, None, "local", "symmetric difference over integer neighbours")
        if self.form == "explicit" and self.numeric is not None:
            h = 1e-5
            up, down = list(arrays), list(arrays)
            up[i], down[i] = x * math.exp(h), x * math.exp(-h)
            bu, bd = float(self._raw(up)), float(self._raw(down))
            if not (bu > 0 and bd > 0):
                return Exponent(symbol, None, None, "local", "bound is not positive near the point")
            return Exponent(symbol, (math.log(bu) - math.log(bd)) / (2 * h), None, "local",
                            "central difference in log x (numeric evaluator)")
        if not b0 > 0:
            return Exponent(symbol, None, None, "local", "bound is zero at the point")
        deriv = _local_derivative(self.name, self.form, self.expr, symbol)
        val = float(deriv(*arrays)) * x / b0
        return Exponent(symbol, val, None, "local", "sympy derivative evaluated at the point")

    # ----- export ----------------------------------------------------------------------------
    def to_dict(self, values: dict | None = None) -> dict:
        """JSON-ready description; with ``values`` for every symbol, also ``value`` and ``aux``."""
        d = {"name": self.name, "theorem": self.theorem, "kind": self.kind, "form": self.form,
             "quantity": self.quantity, "holds": self.holds, "latex": self.latex(),
             "expr": str(self.expr), "rate": str(self.rate), "explicit": str(self.explicit),
             "symbols": list(self.symbols), "conditions": [c.to_dict() for c in self.conditions],
             "constants": list(self.constants)}
        if values is not None:
            if set(self.symbols) <= set(values):
                d["value"] = _finite(self.evaluate(**{k: values[k] for k in self.symbols}))
            d["aux"] = {k: _finite(v) for k, v in self.evaluate_aux(**values).items()}
        return d


def _finite(x):
    x = float(x)
    return x if math.isfinite(x) else None


def _exact(v) -> sympy.Expr:
    """A float as the exact rational of its shortest decimal representation."""
    f = float(v)
    if f == int(f) and abs(f) < 2 ** 53:
        return sympy.Integer(int(f))
    return Rational(repr(f))


@functools.lru_cache(maxsize=None)
def _local_derivative(name, form, expr, symbol):
    args = [sym(n) for n in sorted(s.name for s in expr.free_symbols)]
    d = sympy.diff(_closed(expr), sym(symbol))
    return sympy.lambdify(args, d, modules=[_NUMPY_FUNCS, "numpy"], cse=True)


def _as_number(value) -> tuple[float | None, str | None]:
    """A sympy limit result as (float, exact text), or (None, text) when not a finite real."""
    if value is None:
        return None, None
    value = sympy.simplify(value)
    if not value.is_number:
        return None, str(value)
    f = complex(value.evalf(30))
    if abs(f.imag) > 1e-12 or not math.isfinite(f.real):
        return None, str(value)
    frac = Fraction(f.real).limit_denominator(24)
    if abs(float(frac) - f.real) < 1e-12:
        return float(frac), str(sympy.Rational(frac.numerator, frac.denominator))
    return f.real, str(value)


def _target(symbol):
    a = info(symbol).asymptote
    return {"oo": sympy.oo, "0": S.Zero, "1": S.One}[a]


def _resolve_indicators(expr, x, target):
    """Remove the non-smooth pieces whose branch is decided near the limit point.

    Every limit here approaches its end point through positive values, so an indicator whose
    argument has a known sign for every positive ``x`` is constant near the limit (``1{eps_q > 0}``
    as eps_q -> 0+), and ``max(0, a)`` equals ``a`` or 0 near the limit when ``a``'s limit is
    positive or negative.
    """
    d = sympy.Dummy(positive=True)
    repl = {}
    for f in expr.atoms(Indicator, IsPositive):
        if f.args[0].has(x):
            v = type(f)(f.args[0].xreplace({x: d}))
            if v.is_Number:
                repl[f] = v
    for m in expr.atoms(sympy.Max):
        others = [a for a in m.args if a != 0]
        if m.has(x) and len(m.args) == 2 and len(others) == 1:
            try:
                lim = sympy.limit(others[0], x, target, "+" if target == 0 else "-")
            except (NotImplementedError, ValueError, TypeError):
                continue
            if lim.is_extended_positive:
                repl[m] = others[0]
            elif lim.is_extended_negative:
                repl[m] = S.Zero
    return expr.xreplace(repl)


def _stolz_cesaro(expr, x):
    """Replace each ``Sum(a(h), (h, lo, x))`` by ``a_inf * x`` when ``a(h) -> a_inf`` in (0, oo).

    Stolz-Cesaro: a sum of terms with a positive finite limit grows like ``a_inf * x``, so the
    log-derivative of the sum tends to 1 (with the other factors handled by ``limit``).
    Returns ``None`` when some sum's terms do not have such a limit.
    """
    sums = [s for s in expr.atoms(sympy.Sum) if s.limits[0][2].has(x)]
    repl = {}
    for s in sums:
        h, _lo, hi = s.limits[0]
        a_inf = sympy.limit(s.function, h, sympy.oo)
        if not (a_inf.is_number and a_inf.is_positive and a_inf.is_finite):
            return None
        repl[s] = a_inf * hi
    return expr.xreplace(repl)


@functools.lru_cache(maxsize=None)
def _asymptotic_exponent(name, form, expr, symbol, fixed_items, example) -> Exponent:
    x = sym(symbol)
    fixed = dict(fixed_items)
    method = []
    # 30-digit floats, not exact rationals: an exact (29999/30000)**10000 makes sympy expand a rational
    # with tens of thousands of digits before it even starts the limit
    b = expr.xreplace({sym(k): sympy.Float(float(v), 30) for k, v in fixed.items() if k != symbol})
    if symbol == "n" and b.has(sym("eps_q")):
        b = b.xreplace({sym("eps_q"): S.Zero})
        method.append("eps_q = 0")
    if symbol == "eps_q" and b.has(sym("n")):
        b = sympy.limit(b, sym("n"), sympy.oo)
        method.append("n -> oo first")
    if not b.has(x):
        return Exponent(symbol, None, None, "asymptotic",
                        f"{name} ({'; '.join(method) or 'as given'}) does not depend on {symbol}")
    if b.has(sympy.Sum):
        if any(s.limits[0][2].has(x) for s in b.atoms(sympy.Sum)):
            # the terms' limit needs the other parameters: use given values, else the example point
            point = {k: v for k, v in dict(example).items() if k not in fixed and k != symbol}
            b_pt = b.xreplace({sym(k): _exact(v) for k, v in point.items()})
            try:
                replaced = _stolz_cesaro(b_pt, x)
            except (NotImplementedError, ValueError, TypeError):
                replaced = None
            if replaced is None:
                return Exponent(symbol, None, None, "asymptotic", "sum terms have no positive finite limit")
            b = replaced
            method.append("Stolz-Cesaro on the summand" + (f" at {point}" if point else ""))
        elif isinstance(b, sympy.Sum) and len(b.limits) == 1:
            # a finite sum of positive terms that all scale like x^p scales like x^p
            h = b.limits[0][0]
            term = _closed(b.function)
            try:
                p = sympy.limit(x * sympy.diff(term, x) / term, x, _target(symbol),
                                "+" if _target(symbol) == 0 else "-")
            except (NotImplementedError, ValueError, TypeError, ZeroDivisionError) as exc:
                return Exponent(symbol, None, None, "asymptotic", f"sympy limit failed: {type(exc).__name__}")
            if p.has(h):
                return Exponent(symbol, None, str(p), "asymptotic", "terms of the sum scale differently")
            value, exact = _as_number(p)
            method.append(f"termwise limit of x a_h'(x)/a_h(x) as {symbol} -> {info(symbol).asymptote} "
                          "(every term has the same exponent)")
            return Exponent(symbol, value, exact, "asymptotic", "; ".join(method))
        else:
            return Exponent(symbol, None, None, "asymptotic", "unsupported sum structure")
    b = _resolve_indicators(_closed(b), x, _target(symbol))
    if b == 0:
        return Exponent(symbol, None, None, "asymptotic", "the relevant part of the bound is zero")
    logderiv = x * sympy.diff(b, x) / b
    try:
        lim = sympy.limit(logderiv, x, _target(symbol), "+" if _target(symbol) == 0 else "-")
    except (NotImplementedError, ValueError, TypeError, ZeroDivisionError) as exc:
        return Exponent(symbol, None, None, "asymptotic", f"sympy limit failed: {type(exc).__name__}")
    value, exact = _as_number(lim)
    method.append(f"limit of x b'(x)/b(x) as {symbol} -> {info(symbol).asymptote}")
    return Exponent(symbol, value, exact, "asymptotic", "; ".join(method))


# --------------------------------------------------------------------------------------------
# Theorem 6's explicit sum (numpy evaluator)
# --------------------------------------------------------------------------------------------

_ERF_ONE = 6.0
assert scipy.special.erf(_ERF_ONE) == 1.0  # erfc(6) ~ 2e-17 is below half an ulp of 1


def trap_loop_sum(A6, B6, k, eps_q, H):
    r"""Theorem 6's explicit regret lower bound, evaluated with numpy broadcasting.

    .. math::

        \sum_{h=2}^{H} A\,\bigl(\Phi(\rho_{h-1}\,\varepsilon) - \tfrac12\bigr), \qquad
        \rho_t = \frac{k/2 - q_0 (1 - \lambda^{t-1})}{\lambda^{t-1}},\quad
        q_0 = \frac{B}{1-\lambda},\quad \lambda = A + B.

    Parameters
    ----------
    A6, B6, k, eps_q : array_like
        The construction's constants (``A6 + B6 < 1``) and scale; broadcast together with ``H``.
    H : array_like of int
        Horizon(s).

    Returns
    -------
    ndarray
        The sum, in the broadcast shape.

    Notes
    -----
    ``Phi(x) - 1/2 = erf(x / sqrt 2) / 2``. When ``k/2 > q0`` (the construction's condition) the
    ``rho_t`` increase in ``t``; from the first ``t`` with ``rho_t eps / sqrt 2 >= 6`` (found in closed
    form) ``erf`` is exactly 1.0 in double precision, so every later term equals ``A/2`` and those
    terms are added in closed form. This is exact, not an approximation, in double precision.
    Without that condition every term is computed.

    References
    ----------
    Cao & Xie 2026, Theorem 6 (deterministic trap-loop construction).
    """
    A6, B6, k, eps_q, H = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (A6, B6, k, eps_q, H)))
    lam = A6 + B6
    half_a = 0.5 * A6
    scale = eps_q / math.sqrt(2.0)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        q0 = B6 / (1.0 - lam)
        increasing = (k / 2.0 > q0) & (scale > 0)
        # first t with rho_t * scale >= 6, where erf is exactly 1.0 in double precision:
        # rho_t = q0 + (k/2 - q0) lambda^-(t-1) >= 6/scale  <=>  t - 1 >= log(ratio) / log(1/lambda)
        ratio = (_ERF_ONE / scale - q0) / (k / 2.0 - q0)
        t_sat = 1.0 + np.ceil(np.maximum(np.log(ratio), 0.0) / -np.log(lam))
        t_sat = np.where(increasing & np.isfinite(t_sat), t_sat, H)
    last = np.minimum(t_sat, H)  # terms t = 1 .. last - 1 are computed, t = last .. H - 1 equal A/2
    # rho_t eps / sqrt 2 = q0 scale + (k/2 - q0) scale lambda^-(t-1): two in-place operations per step
    shape = lam.shape
    base = (q0 * scale).ravel()
    slope = ((k / 2.0 - q0) * scale).ravel()
    inv_lam = (1.0 / lam).ravel()
    last_flat = last.ravel()
    grow = np.ones(base.shape)
    x = np.empty(base.shape)
    live = np.empty(base.shape, dtype=bool)
    acc = np.zeros(base.shape)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore", under="ignore"):
        for t in range(1, int(last.max()) if last.size else 1):
            np.multiply(slope, grow, out=x)
            x += base
            scipy.special.erf(x, out=x)
            np.less(t, last_flat, out=live)
            x *= live
            acc += x
            grow *= inv_lam
    total = half_a * acc.reshape(shape)
    total += half_a * np.maximum(H - last, 0.0)
    return total


# --------------------------------------------------------------------------------------------
# The catalog
# --------------------------------------------------------------------------------------------

def _s(*names):
    return [sym(n) for n in names]


def _constants_of(builder) -> tuple[str, ...]:
    doc = inspect.getdoc(builder) or ""
    m = re.search(r"Constants\n-+\n(.*?)(?:\n\n|\Z)", doc, re.S)
    if not m:
        return ()
    lines, cur = [], ""
    for line in m.group(1).splitlines():
        if line.startswith("* "):
            if cur:
                lines.append(cur)
            cur = line[2:].strip()
        else:
            cur += " " + line.strip()
    if cur:
        lines.append(cur)
    return tuple(lines)


_STAT_DET = "24 log(2|Pi|/delta)/n"


def _b_mle():
    r"""MLE guarantee for a finite realizable class (Appendix A).

    .. math:: D_H^2(P^{q\#\pi^*}, P^{\hat\pi}) \le \frac{6 \log(2|\Pi|/\delta)}{n}

    Constants
    ---------
    * 6 and 2 in 6 log(2|Pi|/delta)/n: Appendix A's finite-class MLE bound as stated there, with
      probability >= 1 - delta (squared Hellinger without the factor 1/2).
    """
    H_, n, delta, Pi, c = _s("H", "n", "delta", "Pi", "c")
    return dict(theorem="Appendix A (MLE)", kind="upper", quantity="D_H^2(P^{q#pi*}, P^{pi_hat})",
                holds="with probability >= 1 - delta",
                rate=c * sympy.log(Pi / delta) / n, explicit=6 * sympy.log(2 * Pi / delta) / n,
                conditions=(Condition("finite policy class, realizable: q#pi* in Pi"),),
                example=dict(n=1000, delta=0.05, Pi=100))


def _b_thm1():
    r"""General reduction (Theorem 1) with linear moduli and a sup quantization error.

    .. math::

        |J(\pi_0) - J(\pi_2)| \le H^2 \delta_{IISS} + H\,TV + H p_d
        + H^2 \kappa \Gamma (\varepsilon_q + \varepsilon')
        + H L_r (\Gamma + 1)(\varepsilon_q + \varepsilon')

    Here gamma(r) = Gamma max_k r_k, kappa(r) = kappa r and ||u0_h - u~0_h|| <= eps_q (sup error),
    so gamma((||u0_k - u~0_k|| + eps')_k) <= Gamma (eps_q + eps').

    Constants
    ---------
    * 1 on H^2 delta_iiss: union bound of the P-IISS failure over the H steps (each <= delta_iiss),
      regret bounded by H on that event.
    * 1 on H TV: the proof couples the two extended laws; they differ with probability TV, and the
      regret there is at most H.
    * 1 on H p_d: the event some ||u~_h - u0_h|| > d - eps' leaves the local P-IISS region; regret <= H on it.
    * 1 on H^2 kappa Gamma (eps_q + eps'): at each of the H steps the RTVC coupling fails with
      probability <= kappa(gamma(...)); each failure costs at most H (bad-event sum).
    * 1 on H L_r (Gamma + 1)(eps_q + eps'): on the good event |r(x0,u0) - r(x2,u2)| <= L_r (||x0 - x2|| +
      ||u0 - u2||) <= L_r (gamma(...) + ||u0_h - u~0_h|| + eps'), summed over H steps.
    """
    H, delta_iiss, tv, p_far, kappa, Gamma, eps_q, eps_prime, L_r, c = _s(
        "H", "delta_iiss", "tv", "p_far", "kappa", "Gamma", "eps_q", "eps_prime", "L_r", "c")
    e = eps_q + eps_prime
    explicit = H ** 2 * delta_iiss + H * tv + H * p_far + H ** 2 * kappa * Gamma * e + H * L_r * (Gamma + 1) * e
    return dict(theorem="Theorem 1", kind="upper", quantity="|J(pi0) - J(pi2)|", holds="always",
                rate=c * explicit, explicit=explicit,
                conditions=(Condition("P^{pi0,T} is (gamma, delta_iiss)-d-locally P-IISS, gamma(r) = Gamma max r"),
                            Condition("pi1~ is eps'-RTVC with modulus kappa(r) = kappa r"),
                            Condition("reward in [0,1] and L_r-Lipschitz"),
                            Condition("sup_h ||u0_h - u~0_h|| <= eps_q")),
                example=dict(H=50, delta_iiss=0.001, tv=0.01, p_far=0.001, kappa=0.5, Gamma=2.0,
                             eps_q=0.01, eps_prime=0.02, L_r=1.0))


def _b_thm2():
    r"""Theorem 2 (stochastic quantized expert, TVC class, global P-EIISS).

    .. math::

        J(\pi^*) - J(\hat\pi) \le H\sqrt{\frac{6\log(2|\Pi|/\delta)}{n}}
        + \frac{\kappa C}{1-\eta} H^2 \varepsilon_q + L_r\Bigl(1 + \frac{C}{1-\eta}\Bigr) H \varepsilon_q

    Constants
    ---------
    * H sqrt(6 log(2|Pi|/delta)/n): Theorem 1's H TV term with TV <= sqrt(D_H^2) (stochastic expert,
      Hellinger without the factor 1/2) and Appendix A's D_H^2 <= 6 log(2|Pi|/delta)/n.
    * kappa C/(1 - eta) on H^2 eps_q: Theorem 1's kappa term with eps' = 0 and the P-EIISS gain;
      sum_h sum_{k<h} C eta^(h-1-k) e_k <= C/(1 - eta) sum_k e_k = C/(1 - eta) H eps_q (in-distribution eps_q),
      times H for the regret on each coupling failure.
    * L_r (1 + C/(1 - eta)) on H eps_q: Theorem 1's Lipschitz term, sum_h L_r (gamma(...) + e_h) with the same
      geometric-series step.
    """
    H, n, delta, Pi, eps_q, kappa, C, eta, L_r, c = _s("H", "n", "delta", "Pi", "eps_q", "kappa", "C", "eta", "L_r", "c")
    g = C / (1 - eta)
    explicit = H * sqrt(6 * sympy.log(2 * Pi / delta) / n) + kappa * g * H ** 2 * eps_q + L_r * (1 + g) * H * eps_q
    rate = c * (H * sqrt(sympy.log(Pi / delta) / n) + H ** 2 * eps_q)
    return dict(theorem="Theorem 2", kind="upper", quantity="J(pi*) - J(pi_hat)",
                holds="with probability >= 1 - delta", rate=rate, explicit=explicit,
                conditions=(Condition("every policy in Pi is TVC with kappa(r) = kappa r"),
                            Condition("q#pi* in Pi (realizable), finite Pi"),
                            Condition("P^{pi*,T} globally P-EIISS with (C, eta)"),
                            Condition("reward in [0,1] and L_r-Lipschitz")),
                example=dict(H=50, n=1000, delta=0.05, Pi=100, eps_q=0.01, kappa=0.5, C=1.5, eta=0.5, L_r=1.0))


def _b_thm3():
    r"""Theorem 3 (deterministic quantized expert, binning, k eps_q-RTVC class, max-type gamma).

    .. math::

        J(\pi^*) - J(\hat\pi) \le \frac{24 H\log(2|\Pi|/\delta)}{n}
        + H^2 \kappa\Gamma(k+1)\varepsilon_q + H L_r(\Gamma+1)(k+1)\varepsilon_q

    with gamma(r) = Gamma r (max-type) and kappa(r) = kappa r.

    Constants
    ---------
    * 24 = 4 * 6: Theorem 1's H TV term with TV <= 4 D_H^2 for a deterministic quantized expert
      (Foster et al. 2024) and Appendix A's D_H^2 <= 6 log(2|Pi|/delta)/n.
    * 1 on H^2 kappa Gamma (k+1) eps_q: Theorem 1's kappa term with eps' = k eps_q and
      ||u - q(u)|| <= eps_q, so the argument of gamma is <= (k+1) eps_q at every step; H steps, regret <= H.
    * 1 on H L_r (Gamma+1)(k+1) eps_q: Theorem 1's Lipschitz term, L_r (gamma((k+1) eps_q) + (k+1) eps_q) per step.
    """
    H, n, delta, Pi, eps_q, kappa, Gamma, k, L_r, c = _s("H", "n", "delta", "Pi", "eps_q", "kappa", "Gamma", "k", "L_r", "c")
    explicit = (24 * H * sympy.log(2 * Pi / delta) / n + H ** 2 * kappa * Gamma * (k + 1) * eps_q
                + H * L_r * (Gamma + 1) * (k + 1) * eps_q)
    rate = c * (H * sympy.log(Pi / delta) / n + H ** 2 * kappa * Gamma * (k + 1) * eps_q
                + H * (Gamma + 1) * (k + 1) * eps_q)
    return dict(theorem="Theorem 3", kind="upper", quantity="J(pi*) - J(pi_hat)",
                holds="with probability >= 1 - delta", rate=rate, explicit=explicit,
                conditions=(Condition("q is binning with sup error eps_q"),
                            Condition("every policy in Pi is k eps_q-RTVC with kappa(r) = kappa r"),
                            Condition("q#pi* deterministic and in Pi, finite Pi"),
                            Condition("P^{pi*,T} gamma-globally P-IISS, gamma(r) = Gamma max_t r_t"),
                            Condition("reward in [0,1] and L_r-Lipschitz")),
                example=dict(H=50, n=1000, delta=0.05, Pi=100, eps_q=0.01, kappa=0.5, Gamma=2.0, k=3.0, L_r=1.0))


def _b_thm3_binning():
    r"""Theorem 3 with Proposition 5's binning modulus (deterministic L-Lipschitz expert).

    .. math::

        J(\pi^*) - J(\hat\pi) \le \frac{24 H\log(2|\Pi|/\delta)}{n}
        + H^2\, \mathbb{1}\{L\Gamma(k+1) \ge k-2\}\,\mathbb{1}\{\varepsilon_q > 0\}
        + H L_r(\Gamma+1)(k+1)\varepsilon_q

    kappa(r) = 1{r > delta_0}, delta_0 = (k - 2) eps_q / L, so kappa(Gamma (k+1) eps_q) is 0 when
    L Gamma (k+1) < k - 2 and at most 1 otherwise. The indicators are the sympy functions
    :class:`Indicator` (``1{s >= 0}``) and :class:`IsPositive` (``1{s > 0}``), no Piecewise. The first
    is 1 at equality, which is conservative (Proposition 5's modulus is 0 there). The factor
    1{eps_q > 0} is Proposition 5 at eps_q = 0 (then delta_0 = 0 and kappa(0) = 0): without
    quantization there is no H^2 term. For k <= 2 Proposition 5 does not apply and kappa <= 1
    trivially; the indicator is then 1 automatically.

    Constants
    ---------
    * 24 = 4 * 6: as in Theorem 3 (TV <= 4 D_H^2, Appendix A's 6 log(2|Pi|/delta)/n).
    * 1 on H^2 1{...}: Theorem 1's kappa term, H steps, regret <= H, with kappa in {0, 1}.
    * 1 on H L_r (Gamma+1)(k+1) eps_q: Theorem 1's Lipschitz term as in Theorem 3.
    """
    H, n, delta, Pi, eps_q, L, Gamma, k, L_r, c = _s("H", "n", "delta", "Pi", "eps_q", "L", "Gamma", "k", "L_r", "c")
    ind = Indicator(L * Gamma * (k + 1) - (k - 2)) * IsPositive(eps_q)
    explicit = 24 * H * sympy.log(2 * Pi / delta) / n + H ** 2 * ind + H * L_r * (Gamma + 1) * (k + 1) * eps_q
    rate = c * (H * sympy.log(Pi / delta) / n + H ** 2 * ind + H * (Gamma + 1) * (k + 1) * eps_q)
    return dict(theorem="Theorem 3 + Proposition 5", kind="upper", quantity="J(pi*) - J(pi_hat)",
                holds="with probability >= 1 - delta", rate=rate, explicit=explicit,
                conditions=(Condition("q is binning with sup error eps_q; eps' = k eps_q"),
                            Condition("expert deterministic and L-Lipschitz; q#pi* in Pi, finite Pi"),
                            Condition("P^{pi*,T} gamma-globally P-IISS, gamma(r) = Gamma max_t r_t"),
                            Condition("H^2 term vanishes: L Gamma (k+1) < k - 2",
                                      sympy.Lt(L * Gamma * (k + 1), k - 2))),
                example=dict(H=50, n=1000, delta=0.05, Pi=100, eps_q=0.01, L=0.1, Gamma=2.0, k=4.0, L_r=1.0))


def _b_prop4():
    r"""Proposition 4 (regression BC, no quantization; P-EIISS, TVC learner).

    .. math::

        J(\pi^*) - J(\hat\pi) \le \frac{\kappa C}{1-\eta} H^2 \varepsilon_{reg}
        + L_r\Bigl(1 + \frac{C}{1-\eta}\Bigr) H \varepsilon_{reg}

    with eps_reg = (1/H) sum_h E||u*_h - u_hat_h|| on expert states.

    Constants
    ---------
    * Both: Theorem 1 applied with (pi0, pi0~) = (pi*, learner's action on expert states) and
      (pi1, pi1~) = (pi*, pi_hat), so the two extended laws coincide (TV = 0), eps' = 0, delta = 0;
      then the geometric-series step of Theorem 2 (sum of P-EIISS gains <= C/(1 - eta)).
      This route is ours: THEORY.md states only the rate H sum_h E||u* - u_hat||.
    """
    H, eps_reg, kappa, C, eta, L_r, c = _s("H", "eps_reg", "kappa", "C", "eta", "L_r", "c")
    g = C / (1 - eta)
    explicit = kappa * g * H ** 2 * eps_reg + L_r * (1 + g) * H * eps_reg
    return dict(theorem="Proposition 4", kind="upper", quantity="J(pi*) - J(pi_hat)", holds="always",
                rate=c * H ** 2 * eps_reg, explicit=explicit,
                conditions=(Condition("P^{pi*,T} globally P-EIISS with (C, eta)"),
                            Condition("pi_hat TVC with kappa(r) = kappa r"),
                            Condition("reward in [0,1] and L_r-Lipschitz")),
                example=dict(H=50, eps_reg=0.01, kappa=0.5, C=1.5, eta=0.5, L_r=1.0))


def _b_prop5():
    r"""Proposition 5 (ii): RTVC modulus of q#pi for binning and a deterministic L-Lipschitz expert.

    .. math::

        W_{c_{\varepsilon'}}\bigl(q\#\pi(x), q\#\pi(x')\bigr) \le \kappa(r)
        = \mathbb{1}\{L r > \varepsilon' - 2\varepsilon_q\}, \qquad r = \|x - x'\|,

    i.e. kappa(r) = 1{r > delta_0} with delta_0 = (eps' - 2 eps_q) / L, written without division so
    that L = 0 needs no special case. aux ``delta0`` gives the radius.

    Constants
    ---------
    * 2 in eps' - 2 eps_q: two quantization errors, ||q(pi(x)) - pi(x)|| and ||q(pi(x')) - pi(x')||,
      each <= eps_q (triangle inequality); no other constant.
    """
    L, r, eps_q, eps_prime = _s("L", "r", "eps_q", "eps_prime")
    explicit = IsPositive(L * r - (eps_prime - 2 * eps_q))
    return dict(theorem="Proposition 5", kind="upper", quantity="W_{c_eps'}(q#pi(x), q#pi(x'))", holds="always",
                rate=explicit, explicit=explicit,
                conditions=(Condition("q binning with sup error eps_q; expert deterministic, L-Lipschitz"),
                            Condition("eps' > 2 eps_q", sympy.Gt(eps_prime, 2 * eps_q))),
                aux=(("delta0", (eps_prime - 2 * eps_q) / L),),
                example=dict(L=1.0, r=0.01, eps_q=0.01, eps_prime=0.04))


def _b_thm6_det():
    r"""Theorem 6, deterministic dynamics: price of a non-smooth learned quantizer (trap loop).

    .. math::

        J(\pi^*) - J(q\#\pi^*) \ge \sum_{h=2}^{H} A\bigl(\Phi(\rho_{h-1}\varepsilon_q) - \tfrac12\bigr)

    with rho_t = (k/2 - q0 (1 - lambda^(t-1))) / lambda^(t-1), q0 = B/(1 - lambda), lambda = A + B,
    and the construction's scale eps written eps_q (the paper's identification; THEORY.md section 9.3
    notes the measured in-distribution error behaves like c1 eps + c2/H instead). Symbols A6, B6, k.
    The sum is a sympy ``Sum``; :func:`trap_loop_sum` evaluates it with broadcasting.

    Constants
    ---------
    * A per step: in the I_T1 <-> I_T2 cycle the action error, hence the per-step regret, is at least A.
    * Phi(rho_{h-1} eps) - 1/2: probability that x_h is in the trap (x_1 ~ N(0, 1) lands in I_P's
      capture region), from the construction's capture argument.
    """
    H, k, eps_q, A6, B6, c = _s("H", "k", "eps_q", "A6", "B6", "c")
    h = sympy.Symbol("h", integer=True, positive=True)
    lam = A6 + B6
    q0 = B6 / (1 - lam)
    t = h - 1
    rho = (k / 2 - q0 * (1 - lam ** (t - 1))) / lam ** (t - 1)
    summand = A6 * sympy.erf(rho * eps_q / sqrt(2)) / 2
    explicit = sympy.Sum(summand, (h, 2, H))
    return dict(theorem="Theorem 6 (deterministic)", kind="lower", quantity="J(pi*) - J(q#pi*)",
                holds="exactly (infinite data)", rate=c * H, explicit=explicit,
                conditions=(Condition("lambda = A + B < 1", sympy.Lt(A6 + B6, 1)),
                            Condition("k/2 > B/(1 - lambda)", sympy.Gt(k / 2, q0)),
                            Condition("A k < 1", sympy.Lt(A6 * k, 1)),
                            Condition("d > k/2 (interval I_T1 = [d eps, (d+1) eps])")),
                ranges=(("eps_q", 0.0, math.inf, True, False),),
                example=dict(H=50, k=1.0, eps_q=0.01, A6=0.2, B6=0.25),
                numeric=lambda A6, B6, k, eps_q, H: trap_loop_sum(A6, B6, k, eps_q, H))


def _b_thm6_noisy():
    r"""Theorem 6, Gaussian-noise dynamics: H Omega(1/|log eps_q|).

    .. math:: J(\pi^*) - J(q\#\pi^*) \ge \frac{c H}{|\log \varepsilon_q|}

    Constants
    ---------
    * c: the proof as restated in THEORY.md fixes no constant (the return time to the loop is
      Theta(log(1/eps)) "with constant probability"), so the symbol c is kept; the explicit form
      equals the rate form.
    """
    H, eps_q, c = _s("H", "eps_q", "c")
    e = c * H / sympy.Abs(sympy.log(eps_q))
    return dict(theorem="Theorem 6 (Gaussian noise)", kind="lower", quantity="J(pi*) - J(q#pi*)",
                holds="exactly (infinite data)", rate=e, explicit=e,
                conditions=(Condition("noise std sigma_w = o(eps_q)"), Condition("eps_q < 1", sympy.Lt(eps_q, 1))),
                ranges=(("eps_q", 0.0, 1.0, True, True),),
                example=dict(H=50, eps_q=0.01, c=1.0))


def _b_thm7():
    r"""Theorem 7 (Algorithm 1: log-loss BC with an auxiliary model rollout, open-loop deployment).

    .. math::

        J(\pi^*) - J(\mathrm{alg}) \le H\sqrt{\frac{6\log(2|\Pi||\mathcal M|/\delta)}{n}}
        + L_r\Bigl(1 + \frac{C}{1-\eta}\Bigr) H \varepsilon_q

    Constants
    ---------
    * 6 and 2|Pi||M|: Appendix A's MLE bound on the product class Pi x M (size |Pi||M|) for the joint
      law of (x_h, q(u_h)), and TV <= sqrt(D_H^2); regret <= H where the auxiliary rollout and the
      expert's quantized trajectory are not coupled. This gives log(2|Pi||M|/delta), smaller than
      the statement's log(|Pi|/delta) + log(|M|/delta) for delta < 1/2.
    * L_r (1 + C/(1 - eta)): on the coupled event the executed actions are q(u_h); with shared noise the
      state gap is gamma(errors) (P-EIISS), summed with the action errors and the geometric series
      C/(1 - eta), times L_r. The statement prints no constant (written "<="); this route is ours.
    """
    H, n, delta, Pi, M, eps_q, C, eta, L_r, c = _s("H", "n", "delta", "Pi", "M", "eps_q", "C", "eta", "L_r", "c")
    explicit = H * sqrt(6 * sympy.log(2 * Pi * M / delta) / n) + L_r * (1 + C / (1 - eta)) * H * eps_q
    rate = c * H * (sqrt((sympy.log(Pi / delta) + sympy.log(M / delta)) / n) + eps_q)
    return dict(theorem="Theorem 7", kind="upper", quantity="J(pi*) - J(alg)",
                holds="with probability >= 1 - delta", rate=rate, explicit=explicit,
                conditions=(Condition("P^{pi*,T} globally P-EIISS with (C, eta)"),
                            Condition("q#pi* in Pi and T o rho in M, both finite"),
                            Condition("reward in [0,1] and L_r-Lipschitz")),
                example=dict(H=50, n=1000, delta=0.05, Pi=100, M=100, eps_q=0.01, C=1.5, eta=0.5, L_r=1.0))


def _b_thm8():
    r"""Theorem 8 (lower bound, deterministic expert): E[regret] >~ H (1/n + eps_q).

    .. math::

        \mathbb E[J(\pi^*) - J(\hat\pi)] \ge \frac12\left[\frac{H}{12 n}
        \Bigl(1 - \sqrt{2\bigl(1 - (1 - \tfrac{1}{3n})^n\bigr)}\Bigr) + \frac{H\varepsilon_q}{2}\right]

    Constants
    ---------
    * 1/(12 n) = Delta/4 with Delta = 1/(3n): Le Cam's step, max regret >= (Delta H / 4)(1 - TV).
    * sqrt(2 (1 - (1 - 1/(3n))^n)): TV(P_a^n, P_b^n) <= sqrt 2 sqrt(1 - (1 - D_H^2/2)^n) with
      1 - D_H^2/2 = 1 - Delta; it decreases in n from sqrt(2/3) ~ 0.816 at n = 1 towards
      sqrt(2 (1 - e^{-1/3})) ~ 0.753, so the paper's "TV <= 0.8" holds from n = 2 on (proofs_check
      thm8.tv); the formula keeps the exact n-dependent value, positive for every n.
    * 1/2 on H eps_q: the two colliding experts' regrets sum to >= H eps_q, so the larger is >= H eps_q / 2.
    * outer 1/2: the two constructions are combined by max(a, b) >= (a + b)/2 (the instance is chosen
      knowing n and eps_q); a smooth sum keeps sympy's limits simple.
    """
    H, n, eps_q, c = _s("H", "n", "eps_q", "c")
    tv = sqrt(2 * (1 - (1 - 1 / (3 * n)) ** n))
    explicit = (H * (1 - tv) / (12 * n) + H * eps_q / 2) / 2
    return dict(theorem="Theorem 8", kind="lower", quantity="E[J(pi*) - J(pi_hat)]", holds="in expectation",
                rate=c * H * (1 / n + eps_q), explicit=explicit, numeric=_thm8_numeric,
                conditions=(Condition("binning of [0, 1]: eps_q <= 1/2", sympy.Le(eps_q, Rational(1, 2))),
                            Condition("non-anticipatory offline learner on quantized data")),
                ranges=(("eps_q", 0.0, 0.5, False, False),),
                example=dict(H=50, n=1000, eps_q=0.01))


def _thm8_numeric(H, n, eps_q):
    """thm8's explicit form with ``1 - (1 - 1/(3n))^n = -expm1(n log1p(-1/(3n)))``: the plain power
    rounds to 1 in double precision from n ~ 1e16 on, which would drop TV and overstate the bound 4x."""
    n = np.asarray(n, dtype=float)
    tv = np.sqrt(2.0 * -np.expm1(n * np.log1p(-1.0 / (3.0 * n))))
    return (np.asarray(H, dtype=float) * (1.0 - tv) / (12.0 * n) + np.asarray(H, dtype=float) * eps_q / 2.0) / 2.0


def _b_thm9():
    r"""Theorem 9 (lower bound, stochastic state-independent expert), high probability.

    .. math::

        \Pr\Bigl(J(\pi^*) - J(\hat\pi) \ge \tfrac12\Bigl(\frac{H}{5\sqrt n} + c H \varepsilon_q\Bigr)\Bigr)
        \ge \frac14\Bigl(1 - \sqrt{1 - (1 - \tfrac{4}{25 n})^n}\Bigr) \;(\ge 0.15)

    The probability is aux ``probability``.

    Constants
    ---------
    * 1/5 = Delta sqrt(n): the paper's Delta = (3/5)/sqrt(n) gives TV <= 7/8 and probability
      (1 - 7/8)/4 = 1/32, not the stated 1/8 (THEORY.md section 9.2); Delta = 1/(5 sqrt n) keeps the
      rate with probability >= (1 - sqrt(1 - e^{-4/25}))/4 > 1/8.
    * 1/4 in the probability: the reduction to testing over the four (policy, reward) pairs.
    * c on H eps_q: the eps_q part shifts supports by +-eps_q inside one bin; THEORY.md fixes no constant,
      so the symbol c is kept.
    * outer 1/2: max(a, b) >= (a + b)/2 over the two constructions.
    """
    H, n, eps_q, c = _s("H", "n", "eps_q", "c")
    explicit = (H / (5 * sqrt(n)) + c * H * eps_q) / 2
    prob = (1 - sqrt(1 - (1 - Rational(4, 25) / n) ** n)) / 4
    return dict(theorem="Theorem 9", kind="lower", quantity="J(pi*) - J(pi_hat)",
                holds="with probability >= aux 'probability'",
                rate=c * H * (1 / sqrt(n) + eps_q), explicit=explicit,
                conditions=(Condition("eps_q <= 1/2", sympy.Le(eps_q, Rational(1, 2))),
                            Condition("non-anticipatory offline learner on quantized data")),
                aux=(("probability", prob),),
                ranges=(("eps_q", 0.0, 0.5, False, False),),
                example=dict(H=50, n=1000, eps_q=0.01, c=1.0))


def _b_piiss_gaussian():
    r"""Appendix proposition: Gaussian dynamics and expert are (gamma, delta)-d-P-IISS.

    .. math::

        \delta = H e^{-\frac12\left(\frac{\rho_m}{2\sigma A_H(L_{cl})} - \sqrt{d_x}\right)_+^2}
        + H e^{-\frac12\left(\frac{\rho_m}{2 C\sigma_\pi A_H(L_{cl})} - \sqrt{d_u}\right)_+^2},
        \quad L_{cl} = \eta + C L_\mu,\quad d = \frac{\rho_m}{C A_H(\eta)}

    gamma_t((a_k)) = sum_k C eta^(t-k) a_k. aux ``d`` gives the radius.

    Constants
    ---------
    * All constants (1/2 in the exponent, 2 in 2 sigma, the union factor H) are the proposition's as
      stated: a Gaussian norm tail P(||w|| > sqrt(dim) + s) <= e^{-s^2/2} and a union bound over H steps.
    """
    H, C, eta, L_mu, rho_m, sigma, sigma_pi, dx, du = _s("H", "C", "eta", "L_mu", "rho_m", "sigma", "sigma_pi", "dx", "du")
    a = GeomSum(eta + C * L_mu, H)
    t1 = H * sympy.exp(-sympy.Max(rho_m / (2 * sigma * a) - sqrt(dx), 0) ** 2 / 2)
    t2 = H * sympy.exp(-sympy.Max(rho_m / (2 * C * sigma_pi * a) - sqrt(du), 0) ** 2 / 2)
    return dict(theorem="Appendix P-IISS proposition", kind="upper", quantity="delta (P-IISS failure probability)",
                holds="always", rate=t1 + t2, explicit=t1 + t2,
                conditions=(Condition("f is eta-contractive in x and C-Lipschitz in u on S, eta < 1"),
                            Condition("expert mean L_mu-Lipschitz on S; Gaussian noise and expert"),
                            Condition("nominal trajectory 2 rho_m inside S")),
                aux=(("d", rho_m / (C * GeomSum(eta, H))),),
                example=dict(H=20, C=1.0, eta=0.5, L_mu=0.3, rho_m=5.0, sigma=0.05, sigma_pi=0.05, dx=2, du=1))


def _b_tvc_gaussian():
    r"""TV modulus of a Gaussian policy N(mu(x), sigma_pi^2 I) with L_mu-Lipschitz mean.

    .. math::

        TV \le \operatorname{erf}\Bigl(\frac{L_\mu r}{2\sqrt2\,\sigma_\pi}\Bigr)
        \le \frac{L_\mu r}{\sqrt{2\pi}\,\sigma_\pi} \le \frac{L_\mu r}{\sqrt2\,\sigma_\pi}

    aux ``linear`` is THEORY.md's linear modulus L_mu r / (sqrt 2 sigma_pi); aux ``linear_tight`` uses
    erf(x) <= 2x/sqrt(pi).

    Constants
    ---------
    * 2 sqrt 2: TV(N(a, s^2 I), N(b, s^2 I)) = 2 Phi(||a - b|| / (2 s)) - 1 = erf(||a - b|| / (2 sqrt 2 s)), exact.
    """
    L_mu, r, sigma_pi, c = _s("L_mu", "r", "sigma_pi", "c")
    explicit = sympy.erf(L_mu * r / (2 * sqrt(2) * sigma_pi))
    return dict(theorem="Section 3 (Gaussian TVC)", kind="upper", quantity="TV(pi(x), pi(x'))", holds="always",
                rate=c * L_mu * r / sigma_pi, explicit=explicit,
                conditions=(Condition("Gaussian policy with L_mu-Lipschitz mean"),),
                aux=(("linear", L_mu * r / (sqrt(2) * sigma_pi)),
                     ("linear_tight", L_mu * r / (sqrt(2 * sympy.pi) * sigma_pi))),
                example=dict(L_mu=1.0, r=0.1, sigma_pi=0.2, c=1.0))


_BUILDERS = {
    "thm1": _b_thm1, "thm2": _b_thm2, "thm3": _b_thm3, "thm3_binning": _b_thm3_binning,
    "prop4": _b_prop4, "prop5": _b_prop5, "thm6_det": _b_thm6_det, "thm6_noisy": _b_thm6_noisy,
    "thm7": _b_thm7, "thm8": _b_thm8, "thm9": _b_thm9, "mle": _b_mle,
    "piiss_gaussian": _b_piiss_gaussian, "tvc_gaussian": _b_tvc_gaussian,
}


@functools.lru_cache(maxsize=None)
def _build(name: str, form: str) -> Bound:
    spec = _BUILDERS[name]()
    example = tuple(sorted(spec.pop("example").items()))
    return Bound(name=name, form=form, constants=_constants_of(_BUILDERS[name]), example=example, **spec)


def names() -> list[str]:
    """Names of every bound in the catalog."""
    return list(_BUILDERS)


def get(name: str, form: str = "explicit") -> Bound:
    """The catalog bound ``name`` in ``form`` (the same object on every call, so caches persist).

    Raises
    ------
    DimensionError
        If ``name`` or ``form`` is unknown.
    """
    if name not in _BUILDERS:
        raise DimensionError(f"bound: expected one of {', '.join(_BUILDERS)}, found {name!r}")
    if form not in ("rate", "explicit"):
        raise DimensionError(f"form: expected 'rate' or 'explicit', found {form!r}")
    return _build(name, form)


def catalog(form: str = "explicit") -> list[Bound]:
    """Every catalog bound in ``form``."""
    return [get(n, form) for n in names()]


# --------------------------------------------------------------------------------------------
# Command-line support
# --------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_symbol_value(name: str, text: str) -> float:
    """Parse a command-line value for symbol ``name`` as a plain number (never an expression).

    Parameters
    ----------
    name : str
        Registry name.
    text : str
        Decimal or scientific notation (``"200"``, ``"0.05"``, ``"1e-3"``).

    Returns
    -------
    float

    Raises
    ------
    DimensionError
        If ``name`` is not a registry symbol, ``text`` is not a plain finite number, or the value
        violates the symbol's sign, integrality or range (the message names the symbol).
    """
    i = info(name)
    if not isinstance(text, str) or not _NUMBER.match(text.strip()):
        raise DimensionError(f"{name}: expected {i.range_text()}, found {text!r}")
    return check_value(name, float(text.strip()))


def bound_report(name: str, values: dict, form: str = "explicit", **kwargs) -> dict:
    """The JSON object of ``qbc bound NAME --json`` (DESIGN.md section 5).

    Parameters
    ----------
    name : str
        Catalog name.
    values : dict of str -> float
        Symbol values (typically from :func:`parse_symbol_value`). Values of symbols the bound does
        not use are refused.
    form : {"explicit", "rate"}

    Returns
    -------
    dict
        ``{"name", "theorem", "kind", "form", "latex", "value", "exponents": {"n", "H", "eps_q"}}``;
        ``value`` only when every symbol has a value. Exponents follow DESIGN.md: ``n`` with
        ``eps_q = 0``, ``eps_q`` with ``n -> oo``, ``H`` as ``H -> oo``; the given values of the other
        symbols are substituted first; ``None`` where not defined.

    Raises
    ------
    DimensionError
        Unknown bound or form, a value outside its symbol's range, or a symbol the bound does not use.
    AssumptionError
        If the values violate a checkable condition of the result (e.g. A6 + B6 >= 1).
    """
    reject_unknown_kwargs("bound_report", kwargs)
    b = get(name, form)
    extra = sorted(set(values) - set(b.symbols))
    if extra:
        raise DimensionError(f"{extra[0]}: expected a symbol of {name} ({', '.join(b.symbols)}), found {extra[0]}")
    values = {k: b.check_value(k, v) for k, v in values.items()}
    bad = b.check_conditions(**values)
    if bad:
        raise AssumptionError(f"{name}: expected {bad[0]}, found values that violate it")
    report = {"name": b.name, "theorem": b.theorem, "kind": b.kind, "form": b.form, "latex": b.latex()}
    if set(b.symbols) <= set(values):
        report["value"] = _finite(b.evaluate(**values))
    exps = {}
    for s in ("n", "H", "eps_q"):
        fixed = {k: v for k, v in values.items() if k != s and not (s == "n" and k == "eps_q")
                 and not (s == "eps_q" and k == "n")}
        exps[s] = b.exponent(s, fixed=fixed)
    report["exponents"] = exps
    return report


def format_bound_text(report: dict) -> str:
    """Human-readable text of a :func:`bound_report` result."""
    lines = [f"{report['name']}: {report['theorem']}, {report['kind']} bound, {report['form']} form",
             f"  formula  {report['latex']}"]
    if "value" in report:
        v = report["value"]
        lines.append(f"  value    {'undefined' if v is None else format(v, '.6g')}")
    ex = ", ".join(f"{k} {'-' if v is None else format(v, 'g')}" for k, v in report["exponents"].items())
    lines.append(f"  exponents ({ex})")
    return "\n".join(lines) + "\n"


def list_report() -> list[dict]:
    """The JSON of ``qbc bound --list --json``: name, theorem, kind and symbols of each bound.

    Returns
    -------
    list of dict
        ``[{"name", "theorem", "kind", "symbols": {"explicit": [...], "rate": [...]}}]``.
    """
    return [{"name": b.name, "theorem": b.theorem, "kind": b.kind,
             "symbols": {"explicit": list(b.symbols), "rate": list(b.with_form("rate").symbols)}}
            for b in catalog()]


def format_list_text() -> str:
    """The text of ``qbc bound --list``: one line per bound with its symbols."""
    lines = []
    for b in catalog():
        lines.append(f"{b.name:15s} {b.theorem:30s} {b.kind:6s} symbols: {' '.join(b.symbols)}")
    return "\n".join(lines) + "\n"
