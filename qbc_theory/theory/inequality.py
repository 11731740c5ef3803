"""An inequality checker for symbolic bounds: a proof when sympy finds one, else a numeric search.

``check_inequality(lhs, rhs)`` claims ``lhs <= rhs`` for every admissible value of the free symbols
(their sympy assumptions and registry ranges, intersected with an optional box). It tries, in order:

1. **symbolic**: the sign of ``rhs - lhs`` after reparametrising every bounded symbol by a positive
   variable (``x = lo + t``, ``x = lo + (hi - lo) t/(1 + t)``) so that sympy's assumptions see the
   range, under a few rewritings (``cancel``, ``factor``, ``together``, ``expand``, ``simplify``);
2. **one-variable minimisation** (one free symbol): ``sympy.calculus.util.minimum`` over the interval;
3. **numeric search**: a log-spaced grid per symbol, random log-uniform points, then
   ``scipy.optimize.minimize`` from the worst points; a negative gap is confirmed at the witness
   with 30-digit sympy arithmetic before it is reported as a counterexample.

The result says which of these decided (``method``), with a witness for counterexamples.

References
----------
Used by the catalog's tests (Cao & Xie 2026: every lower bound <= the matching upper bound) and by
``proofs_check``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.optimize
import sympy
from sympy.calculus.util import minimum

from ..model.validation import as_int, reject_unknown_kwargs
from ..model.errors import DimensionError
from .symbols import SYMBOLS, info

__all__ = ["InequalityResult", "check_inequality"]

_STATUSES = ("proved", "verified-numerically", "counterexample")


@dataclass(frozen=True)
class InequalityResult:
    """Outcome of :func:`check_inequality`.

    Attributes
    ----------
    status : str
        ``"proved"``, ``"verified-numerically"`` or ``"counterexample"``.
    method : str
        What decided: ``"symbolic-sign"``, ``"one-variable-minimum"`` or ``"numeric-search"``.
    detail : str
        A sentence saying what was found (the rewriting that proved it, the minimum, the search size).
    witness : dict or None
        For a counterexample, symbol values where ``lhs > rhs``.
    min_gap : float or None
        Smallest ``rhs - lhs`` seen by the numeric search (or the exact minimum, when known).
    """

    status: str
    method: str
    detail: str
    witness: dict | None = None
    min_gap: float | None = None

    def __post_init__(self):
        if self.status not in _STATUSES:
            raise DimensionError(f"status: expected one of {', '.join(_STATUSES)}, found {self.status!r}")

    def to_dict(self) -> dict:
        """JSON-ready dict (plain floats, no NaN)."""
        gap = self.min_gap if self.min_gap is None or math.isfinite(self.min_gap) else None
        return {"status": self.status, "method": self.method, "detail": self.detail,
                "witness": None if self.witness is None else {k: float(v) for k, v in self.witness.items()},
                "min_gap": gap}


@dataclass(frozen=True)
class _Range:
    symbol: sympy.Symbol
    lo: float
    hi: float
    lo_open: bool
    hi_open: bool
    integer: bool


def _as_expr(side, name):
    from .bounds import Bound

    if isinstance(side, Bound):
        return side.expr, side.ranges
    if isinstance(side, (int, float)) and not isinstance(side, bool):
        return (sympy.Integer(side) if isinstance(side, int) else _rational(side)), ()
    if isinstance(side, sympy.Basic):
        return side, ()
    raise DimensionError(f"{name}: expected a sympy expression, a number or a Bound, found {type(side).__name__}")


def _ranges(free, domain, bound_ranges) -> list[_Range]:
    out = []
    narrowed = {r[0]: r[1:] for r in bound_ranges}
    for s in sorted(free, key=lambda s: s.name):
        if s.name in SYMBOLS and SYMBOLS[s.name] == s:
            i = info(s.name)
            lo, hi, lo_open, hi_open, integer = i.low, i.high, i.low_open, i.high_open, i.integer
            if integer:
                lo, lo_open = 1.0, False
        else:
            integer = bool(s.is_integer)
            if s.is_positive:
                lo, lo_open = 0.0, True
            elif s.is_nonnegative:
                lo, lo_open = 0.0, False
            else:
                lo, lo_open = -math.inf, True
            hi, hi_open = math.inf, True
        for box in (narrowed.get(s.name), (domain or {}).get(s.name)):
            if box is None:
                continue
            if len(box) == 2:
                box = (box[0], box[1], False, False)
            blo, bhi, blo_open, bhi_open = float(box[0]), float(box[1]), bool(box[2]), bool(box[3])
            if blo > lo or (blo == lo and blo_open):
                lo, lo_open = blo, blo_open
            if bhi < hi or (bhi == hi and bhi_open):
                hi, hi_open = bhi, bhi_open
        if lo > hi or (lo == hi and (lo_open or hi_open)):
            raise DimensionError(f"domain[{s.name!r}]: expected a non-empty range, found [{lo:g}, {hi:g}]")
        out.append(_Range(s, lo, hi, lo_open, hi_open, integer))
    return out


# ----- 1. symbolic sign -------------------------------------------------------------------------

def _rational(v: float):
    return sympy.Rational(repr(float(v)))


def _reparametrise(gap, ranges):
    """Substitute each bounded symbol by a map of a fresh variable t whose sign sympy knows.

    ``[lo, oo)`` -> ``lo + t`` (t >= 0), ``(lo, oo)`` -> ``lo + t`` (t > 0), ``[lo, hi)`` / ``(lo, hi)``
    -> ``lo + (hi - lo) t/(1 + t)``; a closed upper end is handled by :func:`_symbolic` separately.
    """
    repl = {}
    for r in ranges:
        t = sympy.Dummy(r.symbol.name, positive=True) if r.lo_open else sympy.Dummy(r.symbol.name, nonnegative=True)
        lo = _rational(r.lo) if math.isfinite(r.lo) else None
        hi = _rational(r.hi) if math.isfinite(r.hi) else None
        if lo is not None and hi is None:
            repl[r.symbol] = lo + t
        elif lo is not None and hi is not None:
            repl[r.symbol] = lo + (hi - lo) * t / (1 + t)
        elif lo is None and hi is not None:
            repl[r.symbol] = hi - sympy.Dummy(r.symbol.name, positive=True)
        else:
            return None
    return gap.xreplace(repl)


def _symbolic(gap, ranges):
    """The rewriting under which ``gap >= 0`` on the whole domain follows from sympy's assumptions."""
    for i, r in enumerate(ranges):
        # the maps above miss a closed finite upper end: prove the end point as a case of its own
        if math.isfinite(r.hi) and not r.hi_open and math.isfinite(r.lo) and r.lo < r.hi:
            rest = ranges[:i] + ranges[i + 1:]
            if _symbolic(gap.xreplace({r.symbol: _rational(r.hi)}), rest) is None:
                return None
    g = _reparametrise(gap, ranges)
    if g is None:
        return None
    rewrites = (("as given", lambda e: e), ("cancel", sympy.cancel), ("together", sympy.together),
                ("factor", sympy.factor), ("expand", sympy.expand), ("simplify", sympy.simplify))
    for label, f in rewrites:
        try:
            e = f(g)
        except (NotImplementedError, ValueError, TypeError, RecursionError):
            continue
        if e.is_nonnegative:
            return label
    return None


# ----- 2. one variable --------------------------------------------------------------------------

def _interval(r):
    lo = _rational(r.lo) if math.isfinite(r.lo) else -sympy.oo
    hi = _rational(r.hi) if math.isfinite(r.hi) else sympy.oo
    return sympy.Interval(lo, hi, left_open=r.lo_open or not math.isfinite(r.lo),
                          right_open=r.hi_open or not math.isfinite(r.hi))


def _one_variable(gap, r):
    if r.integer:
        return None
    try:
        m = minimum(gap, r.symbol, _interval(r))
    except (NotImplementedError, ValueError, TypeError, AttributeError):
        return None
    if m is sympy.S.NegativeInfinity:
        return m  # unbounded below: the claim fails
    if m is None or not m.is_number or m.has(sympy.nan) or not m.is_real:
        return None
    return m


# ----- 3. numeric search ------------------------------------------------------------------------

def _sample(r: _Range, u):
    """Map u in [0, 1] into the range: log-uniform over 1e-300..1e300 on unbounded sides (so that
    claims failing only at very small or very large values are found), uniform on bounded ranges."""
    lo, hi = r.lo, r.hi
    if math.isfinite(lo) and math.isfinite(hi):
        if lo >= 0 and hi > 0 and (lo == 0 or hi / lo > 100):
            a = math.log10(lo) if lo > 0 else math.log10(hi) - 8
            x = 10.0 ** (a + (math.log10(hi) - a) * u)
        else:
            x = lo + (hi - lo) * u
    elif math.isfinite(lo):  # [lo, oo)
        a = math.log10(lo) if lo > 0 else -300.0
        x = 10.0 ** (a + (300.0 - a) * u) if lo > 0 else lo + 10.0 ** (-300.0 + 600.0 * u)
    elif math.isfinite(hi):  # (-oo, hi]: u = 1 lands next to hi
        x = hi - 10.0 ** (300.0 - 600.0 * u)
    else:  # (-oo, oo): magnitude log-uniform, sign from the half of [0, 1]
        v = 2.0 * u - 1.0
        x = np.sign(v) * 10.0 ** (-300.0 + 600.0 * np.abs(v))
    eps = 1e-12 * max(1.0, abs(hi - lo) if math.isfinite(hi - lo) else 1.0)
    x = np.clip(x, lo + (eps if r.lo_open else 0.0), hi - (eps if r.hi_open else 0.0))
    # closed finite ends are sampled exactly (the grid contains u = 0 and u = 1)
    if math.isfinite(r.lo) and not r.lo_open:
        x = np.where(u == 0.0, r.lo, x)
    if math.isfinite(r.hi) and not r.hi_open:
        x = np.where(u == 1.0, r.hi, x)
    if r.integer:
        x = np.clip(np.round(x), math.ceil(lo), math.floor(hi) if math.isfinite(hi) else None)
        if r.lo_open:
            x = np.where(x <= lo, math.floor(lo) + 1, x)
    return x


def _numeric(gap, lhs, rhs, ranges, n_random, grid, seed):
    syms = [r.symbol for r in ranges]
    f = sympy.lambdify(syms, gap, modules=[_numpy_funcs(), "numpy"])
    scale_f = sympy.lambdify(syms, sympy.Abs(lhs) + sympy.Abs(rhs), modules=[_numpy_funcs(), "numpy"])
    d = len(ranges)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    per_axis = np.linspace(0.0, 1.0, grid)
    cols = []
    if d > 0 and grid ** d <= 4 * n_random:
        mesh = np.meshgrid(*([per_axis] * d), indexing="ij")
        cols = [m.ravel() for m in mesh]
    u = rng.random((n_random, d))
    if cols:
        u = np.vstack([np.column_stack(cols), u])
    pts = [_sample(r, u[:, j]) for j, r in enumerate(ranges)]

    def gap_at(points):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            g = np.broadcast_to(np.asarray(f(*points), dtype=float), np.shape(points[0]) if d else ())
            s = np.broadcast_to(np.asarray(scale_f(*points), dtype=float), np.shape(points[0]) if d else ())
            rel = g / (1.0 + s)  # inf/inf where values overflow: discarded just below
        return np.where(np.isfinite(rel), rel, np.inf), g

    rel, g = gap_at(pts)
    n_eval = int(np.size(rel))
    order = np.argsort(rel.ravel())[:5] if d else np.array([0])
    best_rel = float(np.min(rel))
    best_point = [float(p[order[0]]) for p in pts] if d else []
    # local refinement in u-space (continuous coordinates; integers are rounded by _sample)
    if d:
        def objective(v):
            v = np.clip(v, 0.0, 1.0)
            pt = [_sample(r, np.array([v[j]]))[0] for j, r in enumerate(ranges)]
            val = float(gap_at([np.array([x]) for x in pt])[0][0])
            return val if math.isfinite(val) else 1e300  # Powell's line search needs finite values

        for idx in order:
            with np.errstate(all="ignore"):
                res = scipy.optimize.minimize(objective, u[idx], method="Powell",
                                              bounds=[(0.0, 1.0)] * d, options={"maxfev": 400, "xtol": 1e-6})
            n_eval += int(res.nfev)
            if res.fun < best_rel:
                best_rel = float(res.fun)
                v = np.clip(res.x, 0.0, 1.0)
                best_point = [float(_sample(r, np.array([v[j]]))[0]) for j, r in enumerate(ranges)]
    return best_rel, dict(zip([s.name for s in syms], best_point)), n_eval


def _numpy_funcs():
    from .bounds import _NUMPY_FUNCS

    return _NUMPY_FUNCS


def _exact_gap(gap, ranges, witness):
    subs = {r.symbol: sympy.Rational(repr(float(witness[r.symbol.name]))) for r in ranges}
    try:
        # evalf with subs works in 30-digit floats; exact rational powers like (1 - 1/(3n))^n would not scale
        v = gap.doit().evalf(30, subs=subs)
    except (TypeError, ValueError):
        return None
    return float(v) if v.is_real and v.is_finite else None


def check_inequality(lhs, rhs, *, domain=None, n_random: int = 20000, grid: int = 9, seed: int = 0,
                     rtol: float = 1e-9, **kwargs) -> InequalityResult:
    r"""Check the claim ``lhs <= rhs`` for every admissible value of the free symbols.

    .. math:: \forall\, \theta \in \Theta:\quad \mathrm{lhs}(\theta) \le \mathrm{rhs}(\theta)

    where :math:`\Theta` is given by each symbol's registry range or sympy assumptions (positive,
    nonnegative, integer), a bound's own narrower ranges, and the optional box ``domain``.

    Parameters
    ----------
    lhs, rhs : sympy.Expr, Bound or float
        The two sides. A :class:`~qbc_theory.theory.bounds.Bound` contributes its current expression and
        its ranges. Expressions with a ``Sum`` whose limit is a symbol are not supported.
    domain : dict of str -> (lo, hi) or (lo, hi, lo_open, hi_open), optional
        Box restricting some symbols (closed ends unless stated).
    n_random : int
        Number of random points of the numeric search (plus a grid of ``grid`` points per axis when
        ``grid ** d <= 4 n_random``).
    grid : int
        Grid points per symbol.
    seed : int
        Seed of the numeric search (same seed, same result).
    rtol : float
        A point is a counterexample when ``(rhs - lhs) / (1 + |lhs| + |rhs|) < -rtol`` and the gap is
        confirmed negative with 30-digit arithmetic at that point.

    Returns
    -------
    InequalityResult

    Raises
    ------
    DimensionError
        If a side is not an expression, a box is empty, or ``rtol`` is not positive.
    TypeError
        On unknown keyword arguments.

    References
    ----------
    Cao & Xie 2026 (the catalog's lower <= upper claims).
    """
    reject_unknown_kwargs("check_inequality", kwargs)
    n_random = as_int("n_random", n_random, minimum=1)
    grid = as_int("grid", grid, minimum=2)
    if not (isinstance(rtol, (int, float)) and rtol > 0):
        raise DimensionError(f"rtol: expected a positive number, found {rtol!r}")
    lhs_e, lhs_r = _as_expr(lhs, "lhs")
    rhs_e, rhs_r = _as_expr(rhs, "rhs")
    if lhs_e.has(sympy.Sum) or rhs_e.has(sympy.Sum):
        lhs_e, rhs_e = lhs_e.doit(), rhs_e.doit()
        if lhs_e.has(sympy.Sum) or rhs_e.has(sympy.Sum):
            raise DimensionError("lhs/rhs: expected expressions without a symbolic-limit Sum, found one")
    gap = rhs_e - lhs_e
    ranges = _ranges(gap.free_symbols, domain, lhs_r + rhs_r)
    unknown = sorted(set((domain or {})) - {r.symbol.name for r in ranges})
    if unknown:
        raise DimensionError(f"domain: expected names of free symbols, found {', '.join(unknown)}")

    how = _symbolic(gap, ranges)
    if how is not None:
        return InequalityResult("proved", "symbolic-sign",
                                f"rhs - lhs is nonnegative by sympy's assumptions ({how}, bounded symbols "
                                "reparametrised by positive variables)", None, None)

    m = _one_variable(gap, ranges[0]) if len(ranges) == 1 else None
    if m is not None and float(m) >= 0:
        return InequalityResult("proved", "one-variable-minimum",
                                f"min of rhs - lhs over {_interval(ranges[0])} is {m}", None, float(m))

    best_rel, point, n_eval = _numeric(gap, lhs_e, rhs_e, ranges, n_random, grid, seed)
    if best_rel < -rtol:
        exact = _exact_gap(gap, ranges, point)
        if exact is not None and exact < 0:
            return InequalityResult("counterexample", "numeric-search",
                                    f"rhs - lhs = {exact:.6g} < 0 at the witness (30-digit check); "
                                    f"{n_eval} evaluations", point, exact)
    if m is not None and float(m) < 0:
        return InequalityResult("counterexample", "one-variable-minimum",
                                f"min of rhs - lhs over {_interval(ranges[0])} is {m}", point, float(m))
    return InequalityResult("verified-numerically", "numeric-search",
                            f"no point with lhs > rhs among {n_eval} evaluations (grid, random, Powell); "
                            f"smallest relative gap {best_rel:.3g}", None, best_rel)
