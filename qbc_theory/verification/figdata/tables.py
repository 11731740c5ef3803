r"""From result tables to figure numbers: means with intervals, slope fits, per-cell bounds.

The helpers every figure-data function uses. A measured series is the mean over seeds at each
ladder point with a Student-t interval and, when asked, a power-law fit by
:func:`qbc_theory.verification.scaling.fit_slope` with a fixed bootstrap stream per figure and
series; a bound is either a per-cell column the cells wrote or a bound of
:mod:`qbc_theory.theory.bounds` evaluated at the experiment's own constants. A figure whose data
is missing raises :class:`MissingDataError` naming exactly what is missing: nothing is drawn from
invented numbers.

References
----------
Cao & Xie 2026, Theorems 2, 3 and 7 (the rates the fits are read against).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

from ...model.errors import QbcError
from ..results import ResultTable
from ..scaling import fit_slope
from .containers import MeasuredSeries, PowerLawFit

__all__ = [
    "MissingDataError",
    "FIGURE_STEMS",
    "BOOTSTRAP_ENTROPY",
    "CI_LEVEL",
    "bootstrap_rng",
    "measured_series",
    "cell_values",
    "library_bound",
    "fixed_params",
    "table_source",
]

BOOTSTRAP_ENTROPY = 20260326
"""Root entropy of the slope-fit bootstraps (one spawned child per figure and series)."""

CI_LEVEL = 0.95
"""Level of the per-point intervals and of the slope intervals."""

FIGURE_STEMS = ("fig1_regret_vs_n", "fig2_regret_vs_H", "fig3_regret_vs_eps_q", "fig4_rtvc_audit",
                "fig5_stability", "fig6_lipschitz_blowup", "fig7_bound_sandwich", "fig8_h2_horizon")
"""The paper figures' file stems, in order. A new figure is appended (its position keys its bootstrap
stream, so appending leaves the other figures' numbers unchanged)."""


class MissingDataError(QbcError, LookupError):
    """The results a figure needs are not there (a spec, a column, a ladder value)."""


def _table(tables: Mapping[str, ResultTable], spec_id: str, figure: str) -> ResultTable:
    table = tables.get(spec_id)
    if table is None:
        raise MissingDataError(f"{figure}: needs the results of spec {spec_id!r}, found none "
                               f"(no built-in spec {spec_id}.toml, or its run failed)")
    return table


def _require(table: ResultTable, columns: Sequence[str], figure: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise MissingDataError(f"{figure}: spec {table.spec_id!r} has no column(s) {', '.join(map(repr, missing))} "
                               f"(its columns: {', '.join(table.columns) or 'none'})")


def _ladder(table: ResultTable, along: str, figure: str) -> None:
    if along not in table.grid:
        raise MissingDataError(f"{figure}: spec {table.spec_id!r} does not sweep {along!r} "
                               f"(its ladders: {', '.join(table.grid) or 'none'})")


def bootstrap_rng(stem: str, series: int) -> np.random.Generator:
    """The bootstrap generator of one series of one figure (independent of the other figures).

    Parameters
    ----------
    stem : str
        A stem of :data:`FIGURE_STEMS`.
    series : int
        Index of the series within the figure.

    Returns
    -------
    numpy.random.Generator
    """
    return np.random.default_rng(np.random.SeedSequence(BOOTSTRAP_ENTROPY,
                                                        spawn_key=(FIGURE_STEMS.index(stem), series)))


def _t_interval(y: np.ndarray) -> tuple:
    """Mean over rows and its Student-t interval at :data:`CI_LEVEL` (``None`` ends with one row)."""
    mean = y.mean(axis=0)
    if y.shape[0] < 2:
        return mean, None, None
    half = stats.t.ppf(0.5 + CI_LEVEL / 2, y.shape[0] - 1) * y.std(axis=0, ddof=1) / math.sqrt(y.shape[0])
    return mean, mean - half, mean + half


def measured_series(table: ResultTable, value: str, along: str, *, label: str, rng=None,
                    where: Mapping | None = None, fit: bool = True, x_column: str | None = None) -> MeasuredSeries:
    r"""A measured series of a figure: mean over seeds with a t interval, and a power-law fit.

    At each ladder point the mean of the ``seeds`` values gets the Student-t interval

    .. math:: \bar y \pm t_{S-1,\,(1+\ell)/2}\, \frac{s}{\sqrt{S}}, \qquad \ell = 0.95,

    and the power law is :func:`qbc_theory.verification.scaling.fit_slope` on the same values (bootstrap over
    seeds; ladder points with a non-positive mean are left out of the fit, and the plot says so).

    Parameters
    ----------
    table : ResultTable
    value : str
        Measurement column.
    along : str
        Ladder (the x axis).
    label : str
        Legend label.
    rng : numpy.random.Generator, optional
        Bootstrap generator; required when ``fit`` is true.
    where : mapping, optional
        Values of the table's other varying ladders.
    fit : bool
        Fit a power law (needs at least 2 seeds and 2 points with a positive mean; otherwise the
        series is drawn without a fit).
    x_column : str, optional
        Plot against a measured quantity instead of the ladder: the x of each point is the mean over
        seeds of this column (for example a quantizer's measured in-distribution error), with its
        t interval as ``x_low``/``x_high``, and the power law is fitted against these means.

    Returns
    -------
    MeasuredSeries

    Raises
    ------
    MissingDataError
        If the column, the ladder or a ``where`` value is not in the table, or the means of
        ``x_column`` do not increase strictly along the ladder.

    References
    ----------
    Cao & Xie 2026, Theorems 2, 3 and 7 (the rates the fits are read against).
    """
    _require(table, [value] + ([x_column] if x_column else []), label)
    _ladder(table, along, label)
    try:
        x, y = table.pivot(value, along, dict(where or {}))
        xs = None if x_column is None else table.pivot(x_column, along, dict(where or {}))[1]
    except QbcError as exc:
        raise MissingDataError(f"{label}: cannot select {value!r} along {along!r} in spec {table.spec_id!r}: {exc}") \
            from None
    mean, lo, hi = _t_interval(y)
    x_lo = x_hi = None
    if xs is not None:
        x, x_lo, x_hi = _t_interval(xs)
        if np.any(np.diff(x) <= 0):
            raise MissingDataError(f"{label}: the mean of {x_column!r} in spec {table.spec_id!r} does not increase "
                                   f"along {along!r} ({', '.join(f'{v:.3g}' for v in x)}), so it cannot be the x axis")
    power = None
    if fit and y.shape[0] > 1 and np.count_nonzero(mean > 0) >= 2:
        if rng is None:
            raise TypeError("measured_series: rng is required when fit=True")
        slope = fit_slope(x, y, rng=rng, level=CI_LEVEL, nonpositive="drop", parameter=along)
        power = PowerLawFit.from_fit(slope)
    return MeasuredSeries(label, x, mean, lo, hi, ci_level=CI_LEVEL, fit=power, x_low=x_lo, x_high=x_hi)


def cell_values(table: ResultTable, column: str, along: str, *, where: Mapping | None = None,
                figure: str = "figure") -> tuple[np.ndarray, np.ndarray]:
    """A per-cell column (the same in every seed's row, e.g. a bound) along one ladder.

    Parameters
    ----------
    table : ResultTable
    column : str
    along : str
    where : mapping, optional
        Values of the other varying ladders.
    figure : str
        For messages.

    Returns
    -------
    x : (P,) ndarray
        Ladder values, increasing.
    values : (P,) ndarray

    Raises
    ------
    MissingDataError
        If the column or ladder is missing, or the column differs between seeds of one cell.
    """
    _require(table, [column], figure)
    _ladder(table, along, figure)
    try:
        x, y = table.pivot(column, along, dict(where or {}))
    except QbcError as exc:
        raise MissingDataError(f"{figure}: cannot select {column!r} along {along!r} in spec "
                               f"{table.spec_id!r}: {exc}") from None
    if not np.all(y == y[:1]):
        raise MissingDataError(f"{figure}: column {column!r} of spec {table.spec_id!r} differs between seeds of "
                               f"one cell, so it is not a per-cell bound")
    return x, y[0]


def fixed_params(table: ResultTable, names: Sequence[str], where: Mapping | None = None) -> dict:
    """Values of ``names`` held fixed in the table: its params, single-valued ladders and ``where``."""
    out = {}
    where = dict(where or {})
    for name in names:
        if name in where:
            out[name] = where[name]
        elif name in table.grid and len(table.grid[name]) == 1:
            out[name] = table.grid[name][0]
        elif name in table.params and isinstance(table.params[name], (int, float)) \
                and not isinstance(table.params[name], bool):
            out[name] = table.params[name]
    return {k: float(v) for k, v in out.items()}


def table_source(table: ResultTable) -> dict:
    """Provenance of one table for the manifest (no timings: the manifest must be reproducible)."""
    return {"spec": table.spec_id, "cell": table.cell, "profile": table.profile, "entropy": table.entropy,
            "seeds": table.seeds, "code_version": table.code_version, "grid": table.grid, "params": table.params,
            "columns": list(table.columns)}


def library_bound(table: ResultTable, name: str, along: str, *, where: Mapping | None = None,
                  overrides: Mapping | None = None, figure: str = "figure") -> tuple[np.ndarray, np.ndarray]:
    r"""A bound of :mod:`qbc_theory.theory.bounds` evaluated at an experiment's own constants, along a ladder.

    Each symbol of the bound takes, in this order, its value from ``overrides``, from the ladder
    being swept, from a per-cell column of the table (the constants the cells compute, such as
    ``Gamma``, ``Pi``, ``L``, ``k``, ``L_r``, ``eps_q``), from a single-valued ladder or ``where``,
    or from the spec's parameters.

    .. math:: b(x_i) = \mathrm{bound}\big(\text{symbols at ladder point } x_i\big)

    Parameters
    ----------
    table : ResultTable
    name : str
        Bound name (``bounds.names()``), explicit form.
    along : str
        Ladder.
    where : mapping, optional
        Values of the other varying ladders.
    overrides : mapping, optional
        Symbol values that take precedence (e.g. ``{"eps_q": 0}`` for the statistical part).
    figure : str
        For messages.

    Returns
    -------
    x : (P,) ndarray
    values : (P,) ndarray

    Raises
    ------
    MissingDataError
        Naming the symbols the table does not provide.

    References
    ----------
    Cao & Xie 2026, Theorems 2, 3, 7, 8 and 9.
    """
    from ...theory import bounds, symbols

    bound = bounds.get(name, form="explicit")
    overrides = dict(overrides or {})
    where = dict(where or {})
    _ladder(table, along, figure)
    xs = sorted(table.grid[along])
    first = {}
    for r in table.rows:
        if r["seed"] == 0 and all(r[k] == v for k, v in where.items()):
            first.setdefault(r[along], r)
    if len(first) != len(xs):
        raise MissingDataError(f"{figure}: spec {table.spec_id!r} has no cell for some {along} values "
                               f"with {where}")
    # Symbols that the overrides remove from the expression (a term multiplied by eps_q = 0) do not
    # change the value; when the table does not provide them they get a placeholder inside every
    # symbol's domain, and the bound is evaluated with two placeholders to prove they do not matter.
    reduced = bound.expr.subs({symbols.sym(k): v for k, v in overrides.items() if k in bound.symbols})
    needed = {str(s) for s in reduced.free_symbols}
    values, missing, placeholders = {}, [], []
    for sym in bound.symbols:
        aliases = [(col, f) for col, f in _ALIASES.get(sym, ()) if col in table.columns]
        if sym in overrides:
            values[sym] = np.full(len(xs), float(overrides[sym]))
        elif sym == along:
            values[sym] = np.asarray(xs, dtype=float)
        elif sym in table.columns:
            values[sym] = np.array([float(first[x][sym]) for x in xs])
        elif aliases:
            col, f = aliases[0]
            values[sym] = np.array([f(float(first[x][col])) for x in xs])
        else:
            fixed = fixed_params(table, [sym], where)
            if sym in fixed:
                values[sym] = np.full(len(xs), fixed[sym])
            elif sym not in needed:
                placeholders.append(sym)
            else:
                missing.append(sym)
    if missing:
        raise MissingDataError(f"{figure}: bound {name!r} needs {', '.join(missing)}, which spec "
                               f"{table.spec_id!r} does not provide (columns: {', '.join(table.columns)}; "
                               f"params: {', '.join(table.params)})")
    results = [np.asarray(bound.evaluate(**values, **{p: np.full(len(xs), fill) for p in placeholders}),
                          dtype=float) * np.ones(len(xs)) for fill in (0.5, 0.25)]
    if not np.array_equal(results[0], results[1]):
        raise MissingDataError(f"{figure}: bound {name!r} depends on {', '.join(placeholders)}, which spec "
                               f"{table.spec_id!r} does not provide")
    return np.asarray(xs, dtype=float), results[0]


# Symbols a cell may write under another column name, with the map back to the symbol (the runner
# reserves ladder names, so a cell sweeping eps_q reports the quantizer's sup error as eps_sup).
_ALIASES = {"eps_q": (("eps_sup", float),), "Pi": (("log_Pi", lambda v: float(round(math.exp(v)))),)}


def _smallest(table: ResultTable, name: str) -> dict:
    """``{name: smallest value}`` when ``name`` is a varying ladder of the table, else ``{}``."""
    values = table.grid.get(name, [])
    return {name: min(values)} if len(values) > 1 else {}


def _common_fixed(tables: Sequence[ResultTable], names: Sequence[str], wheres: Sequence[Mapping]) -> dict:
    """The parameters with the same value in every table (the legend title of a shared axis)."""
    fixed = [fixed_params(t, names, w) for t, w in zip(tables, wheres)]
    return {k: v for k, v in fixed[0].items() if all(f.get(k) == v for f in fixed[1:])}


def _fit_note(series: MeasuredSeries) -> list:
    return [] if series.fit is not None else [f"{series.label!r}: no slope fit (fewer than 2 seeds or fewer than "
                                              f"2 points with a positive mean)"]


def _span(values) -> str:
    return f"{min(values):.3g} to {max(values):.3g}"
