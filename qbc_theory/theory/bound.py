"""The :class:`Bound` object: one result of Cao & Xie 2026 as sympy expressions, evaluated and differentiated.

A :class:`Bound` holds two forms of one result: ``rate`` (the theorem as stated, with the hidden
constant written as the universal symbol ``c``) and ``explicit`` (constants traced through the proof).
The results themselves (the 14 bounds) are in :mod:`qbc_theory.theory.catalog`; the command-line
support and the historical import path are :mod:`qbc_theory.theory.bounds`.

Conventions
-----------
* Symbols come from :mod:`qbc_theory.theory.symbols` (one registry, sympy assumptions).
* ``evaluate`` lambdifies once per bound (cached, ``modules="numpy"``) and broadcasts. No bound uses
  ``Piecewise`` (``numpy.select`` would evaluate every branch): indicators are the function
  :class:`Indicator` (``1{s >= 0}``), geometric sums the function :class:`GeomSum`, and the explicit
  sum of Theorem 6 is a sympy ``Sum`` evaluated by a documented numpy routine that broadcasts.
* ``exponent(symbol)`` is the limit of the log-derivative ``x b'(x) / b(x)``, computed by sympy;
  for ``n`` the quantization error is set to 0 first (the statistical part), for ``eps_q`` the limit
  ``n -> oo`` is taken first (the quantization part), as docs/design.md section 4 defines them.
  Symbols that are not fixed are treated by sympy as generic (non-zero) values.

References
----------
Cao & Xie 2026, *Understanding Behavior Cloning with Action Quantization*, Theorems 1-9,
Propositions 4-5, Appendix A and the appendix P-IISS proposition.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable

import numpy as np
import scipy.special
import sympy
from sympy import Rational, S

from ..model.errors import DimensionError
from .symbols import check_value, info, latex_names, sym

__all__ = ["Indicator", "IsPositive", "GeomSum", "Condition", "Exponent", "Bound", "register"]

_CATALOG: dict[tuple[str, str], "Bound"] = {}
"""(name, form) -> the catalog's Bound object, filled by :func:`register` (so :meth:`Bound.with_form`
returns the cached object of the other form)."""


def register(*bounds_: "Bound") -> None:
    """Record catalog bounds, so that :meth:`Bound.with_form` hands back the cached object of the other form."""
    for b in bounds_:
        _CATALOG[(b.name, b.form)] = b


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
        if _CATALOG.get((self.name, self.form)) == self and (self.name, form) in _CATALOG:
            return _CATALOG[(self.name, form)]
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
