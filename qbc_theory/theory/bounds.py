"""Every result of Cao & Xie 2026 as a sympy expression: print it, evaluate it, read its exponents.

The import path of the bounds library, and the ``qbc bound`` support (reports, value parsing, text).
The pieces live in two modules: :mod:`qbc_theory.theory.bound` (the :class:`Bound` object: evaluation,
exponents) and :mod:`qbc_theory.theory.catalog` (the 14 results, :func:`get`, :func:`names`,
:func:`catalog`); every name is importable from here as before.

References
----------
Cao & Xie 2026, *Understanding Behavior Cloning with Action Quantization*, Theorems 1-9,
Propositions 4-5, Appendix A and the appendix P-IISS proposition.
"""

from __future__ import annotations

import math
import re

import sympy

from ..model.errors import AssumptionError, DimensionError
from ..model.validation import reject_unknown_kwargs
from .bound import Bound, Condition, Exponent, GeomSum, Indicator, IsPositive, _finite
from .bound import _NUMPY_FUNCS, _np_geomsum  # noqa: F401  (read by theory.inequality and the tests)
from .catalog import catalog, get, names, trap_loop_sum
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
    "parse_log_count",
    "substituted_latex",
    "evaluate_with_log_counts",
    "trap_loop_sum",
]


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


def evaluate_with_log_counts(bound: Bound, values: dict, log_counts: dict) -> float | None:
    r"""The bound at ``values``, with counts beyond the float range given by their logarithms.

    A count ``s`` (``Pi``, ``M``) with ``log_counts[s] = L`` is substituted as :math:`e^{L}` in sympy's
    arbitrary-precision arithmetic (30 digits), so ``log(2 |Pi| / delta) = log 2 + L - log delta`` is
    exact where ``|Pi| = e^{L}`` would overflow a float (``L > 709``).

    Parameters
    ----------
    bound : Bound
    values : dict of str -> float
        Checked values of the other symbols.
    log_counts : dict of str -> float
        Natural logarithms of counts (checked: finite, >= 0).

    Returns
    -------
    float or None
        The value (``None`` if it is not a finite real number).
    """
    syms = {x.name: x for x in bound.expr.free_symbols}
    subs = {syms[k]: sympy.exp(sympy.Float(float(v), 30)) for k, v in log_counts.items()}
    subs.update({syms[k]: sympy.Float(float(v), 30) for k, v in values.items()})
    out = bound.expr.xreplace(subs).doit().evalf(30)
    return _finite(float(out)) if out.is_real and out.is_finite else None


def _checked_log_counts(b: Bound, name: str, values: dict, log_counts: dict) -> dict:
    counts = [s for s in b.symbols if info(s).integer and s not in ("H", "n", "dx", "du")]
    out = {}
    for k, v in log_counts.items():
        if k not in counts:
            raise DimensionError(f"log_{k}: expected the log of a count of {name} "
                                 f"({', '.join('log_' + c for c in counts) or 'none'}), found log_{k}")
        if k in values:
            raise DimensionError(f"log_{k}: expected {k} or log_{k}, found both")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise DimensionError(f"log_{k}: expected a finite number >= 0 (the natural log of {k}), found {v!r}")
        out[k] = float(v)
    return out


def parse_log_count(name: str, text: str) -> float:
    """Parse ``--log_Pi VALUE`` (the natural log of a count) as a plain finite number >= 0.

    Raises
    ------
    DimensionError
        Naming ``log_<name>``, if ``name`` is not an integer registry symbol or ``text`` is not a plain
        number >= 0.
    """
    if not info(name).integer:
        raise DimensionError(f"log_{name}: expected the log of a count (log_Pi, log_M), found log_{name}")
    if not isinstance(text, str) or not _NUMBER.match(text.strip()) or float(text) < 0:
        raise DimensionError(f"log_{name}: expected a number >= 0 (the natural log of {name}), found {text!r}")
    return float(text.strip())


def bound_report(name: str, values: dict, form: str = "explicit", *, log_counts: dict | None = None,
                 **kwargs) -> dict:
    """The JSON object of ``qbc bound NAME --json`` (docs/design.md section 4).

    Parameters
    ----------
    name : str
        Catalog name.
    values : dict of str -> float
        Symbol values (typically from :func:`parse_symbol_value`). Values of symbols the bound does
        not use are refused.
    form : {"explicit", "rate"}
    log_counts : dict of str -> float, optional
        Natural logarithms of counts (``{"M": 1689.9}``) too large for a float; the value is then
        computed by :func:`evaluate_with_log_counts`, and the report has ``log_counts``.

    Returns
    -------
    dict
        ``{"name", "theorem", "kind", "form", "latex", "value", "exponents": {"n", "H", "eps_q"}}``;
        ``value`` only when every symbol has a value, else ``missing``: the symbols without a value (in
        :attr:`Bound.symbols` order); when some but not all have values, ``latex_at_values`` is the
        formula with the given values substituted (its free symbols are ``missing``). Exponents follow docs/design.md: ``n`` with
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
    logs = _checked_log_counts(b, name, values, log_counts or {})
    bad = b.check_conditions(**values)
    if bad:
        raise AssumptionError(f"{name}: expected {bad[0]}, found values that violate it")
    report = {"name": b.name, "theorem": b.theorem, "kind": b.kind, "form": b.form, "latex": b.latex()}
    missing = [s for s in b.symbols if s not in values and s not in logs]
    if logs:
        report["log_counts"] = logs
    if not missing:
        report["value"] = evaluate_with_log_counts(b, values, logs) if logs else _finite(b.evaluate(**values))
    else:
        report["missing"] = missing
        if values:
            report["latex_at_values"] = substituted_latex(b, values)
    exps = {}
    for s in ("n", "H", "eps_q"):
        fixed = {k: v for k, v in values.items() if k != s and not (s == "n" and k == "eps_q")
                 and not (s == "eps_q" and k == "n")}
        exps[s] = b.exponent(s, fixed=fixed)
    report["exponents"] = exps
    return report


def substituted_latex(bound: Bound, values: dict) -> str:
    """LaTeX of ``bound``'s expression with the given symbol values substituted (6 significant digits).

    Parameters
    ----------
    bound : Bound
    values : dict of str -> float
        Values of some of :attr:`Bound.symbols` (already checked); the others stay free symbols.

    Returns
    -------
    str
    """
    subs = {}
    for k, v in values.items():
        v = float(v)
        subs[sym(k)] = sympy.Integer(int(v)) if info(k).integer or v == int(v) else sympy.Float(format(v, ".6g"))
    return sympy.latex(bound.expr.subs(subs), symbol_names=latex_names())


def format_bound_text(report: dict) -> str:
    """Human-readable text of a :func:`bound_report` result."""
    lines = [f"{report['name']}: {report['theorem']}, {report['kind']} bound, {report['form']} form",
             f"  formula  {report['latex']}"]
    if report.get("log_counts"):
        logs = ", ".join(f"log {k} = {v:.6g}" for k, v in report["log_counts"].items())
        lines.append(f"  counts given as logs  {logs}")
    if "latex_at_values" in report:
        lines.append(f"  at the given values  {report['latex_at_values']}")
    if report.get("missing"):
        lines.append(f"  free symbols  {', '.join(report['missing'])}")
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
