r"""From experiment results to the paper's seven figures (``qbc figs``).

:func:`make_figures` is the pipeline: it runs, through the runner's cache, exactly the built-in
experiment specs the figures need (after ``qbc verify`` with the same profile and results
directory nothing is recomputed), turns each result table into the figure's data object of
:mod:`qbc_theory.figures.plots`, renders every figure as PDF and PNG, and writes ``manifest.json``.

=============================  ==============================================================
figure                         source
=============================  ==============================================================
``fig1_regret_vs_n``           specs ``thm3.rate_n``, ``thm2.rate_n``; bound library
``fig2_regret_vs_H``           specs ``thm3.horizon``, ``thm2.horizon``, ``thm6.det``, ``thm7.det``
``fig3_regret_vs_eps_q``       specs ``thm3.eps`` and its control ``thm3.eps.control``
``fig4_rtvc_audit``            computed here: :func:`qbc_theory.checker.smoothness.modulus_audit`
``fig5_stability``             computed here: :mod:`qbc_theory.checker.stability` (exact and LMI)
``fig6_lipschitz_blowup``      spec ``lipschitz.exp``, its control ``lipschitz.exp.control``, ``fig6.tvc``
``fig7_bound_sandwich``        specs ``thm8.tight``, ``thm9.tight``, ``fig7.eps``
=============================  ==============================================================

Figures 4 and 5 need no Monte Carlo: they are computed directly from fixed seeds. The others are
built from the columns the claim catalog's cells write (see each ``*_data`` function). Measured
series carry the mean over seeds with a per-point Student-t interval (the interval the claim
catalog's bound tests use) and a power-law fit by :func:`qbc_theory.verification.scaling.fit_slope` with a
fixed bootstrap seed. A figure whose data is missing (a spec that does not exist yet, a column a
cell does not write) is **skipped** with a message saying exactly what is missing: nothing is ever
drawn from invented numbers. A figure missing only a secondary series (for example a lower bound)
is drawn without it and the report says what was left out.

Everything is deterministic: the same results and code give byte-identical PDF, PNG and manifest
files.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from . import plots as F
from ..model.validation import reject_unknown_kwargs
from ..model.errors import QbcError, SpecError
from ..verification.runner import PROFILES, ResultTable, builtin_spec_paths, load_spec, run_specs
from ..verification.scaling import fit_slope

__all__ = [
    "MissingDataError",
    "FigureOutcome",
    "FiguresReport",
    "FIGURE_SPECS",
    "BOOTSTRAP_ENTROPY",
    "RTVC_ENTROPY",
    "rtvc_audit_data",
    "gain_profile_data",
    "measured_series",
    "cell_values",
    "library_bound",
    "regret_vs_n_data",
    "regret_vs_h_data",
    "regret_vs_eps_data",
    "blowup_data",
    "blowup_regret_data",
    "BlowupFigure",
    "sandwich_data",
    "make_figures",
]

BOOTSTRAP_ENTROPY = 20260326
"""Root entropy of the slope-fit bootstraps (one spawned child per figure and series)."""

RTVC_ENTROPY = 5_772_156_649
"""Root entropy of figure 4's states, k-means initialisations and audit pairs."""

CI_LEVEL = 0.95
"""Level of the per-point intervals and of the slope intervals."""

_STEMS = tuple(F.FIGURES)


class MissingDataError(QbcError, LookupError):
    """The results a figure needs are not there (a spec, a column, a ladder value)."""


# --------------------------------------------------------------------------------------------
# report


@dataclass(frozen=True)
class FigureOutcome:
    """What happened to one figure.

    Attributes
    ----------
    figure : str
        File stem (``"fig1_regret_vs_n"``).
    status : {"built", "skipped"}
    specs : tuple of str
        Ids of the experiment specs the numbers come from (empty for figures 4 and 5).
    seeds : tuple of int
        Root entropies: of each spec, or of the direct computation.
    files : tuple of str
        The PDF and PNG written (empty when skipped).
    message : str
        For a skipped figure, exactly what is missing; for a built one, what was left out, if
        anything (else empty).
    """

    figure: str
    status: str
    specs: tuple = ()
    seeds: tuple = ()
    files: tuple = ()
    message: str = ""

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"figure": self.figure, "status": self.status, "specs": list(self.specs),
                "seeds": [int(s) for s in self.seeds], "files": list(self.files), "message": self.message}


@dataclass(frozen=True)
class FiguresReport:
    """The result of :func:`make_figures`.

    Attributes
    ----------
    out : str
        Output directory of the figures and the manifest.
    profile : str
        Experiment profile (``"quick"`` or ``"full"``).
    results : str
        Results directory (runner cache) used.
    figures : tuple of FigureOutcome
        In the order of :data:`qbc_theory.figures.plots.FIGURES`.
    manifest : str
        Path of ``manifest.json``.
    seconds : float
        Wall-clock time of the whole run.
    """

    out: str
    profile: str
    results: str
    figures: tuple
    manifest: str
    seconds: float

    @property
    def built(self) -> tuple:
        """Stems of the figures drawn."""
        return tuple(f.figure for f in self.figures if f.status == "built")

    @property
    def skipped(self) -> tuple:
        """Stems of the figures skipped for missing data."""
        return tuple(f.figure for f in self.figures if f.status == "skipped")

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"out": self.out, "profile": self.profile, "results": self.results,
                "figures": [f.to_dict() for f in self.figures], "manifest": self.manifest,
                "seconds": self.seconds}

    def format_text(self) -> str:
        """One line per figure, then the skip and omission messages."""
        lines = []
        for f in self.figures:
            src = ", ".join(f.specs) if f.specs else "computed directly"
            lines.append(f"{f.figure:<24} {f.status:<8} {src}")
        notes = [f for f in self.figures if f.message]
        if notes:
            lines.append("")
            lines.extend(f"{f.figure}: {f.message}" for f in notes)
        lines.append("")
        lines.append(f"{len(self.built)} of {len(self.figures)} figures written to {self.out} "
                     f"(profile {self.profile}, {self.seconds:.1f} s); manifest {self.manifest}")
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# figures computed directly (4 and 5)

# Figure 4 audits one policy, the scalar 1-Lipschitz expert arctan(x) of Theorem 6, through five
# quantizers of comparable resolution, so the curves differ only by the quantizer. The trap
# quantizer is defined for exactly this expert and system (x+ = 0.2 x + 0.25 u).
_F4_BINS = 32
_F4_EPS_Q = math.pi / (2 * _F4_BINS)  # binning of [-pi/2, pi/2] (arctan's range), centre decoding
_F4_K = 3.0  # eps' = k eps_q with k > 2 (Proposition 5 (ii))
_F4_TRAP = {"A": 0.2, "B": 0.25, "k": 1.0, "d": 0.6}
_F4_TRAJ, _F4_STEPS = 2048, 10
_F4_RADII = tuple(float(r) for r in np.geomspace(1e-6, 2.0, 26))
_F4_PAIRS = 256


def rtvc_audit_data(*, entropy: int = RTVC_ENTROPY) -> tuple[F.RTVCAuditData, dict]:
    r"""Figure 4: empirical RTVC moduli of one deterministic expert through five quantizers.

    The expert is :math:`\pi^\star(x) = \arctan x` (1-Lipschitz), its states those visited on the
    noiseless system :math:`x_{h+1} = 0.2 x_h + 0.25 \arctan x_h` from :math:`x_1 \sim N(0, 1)`
    (2048 trajectories, 10 steps). The quantizers: uniform binning of :math:`[-\pi/2, \pi/2]` into
    32 cells (:math:`\varepsilon_q = \pi/64`), k-means with 32 codes and residual VQ with 2 stages
    of 8 codes (both fitted on the expert's actions), the DCT tokenizer with chunk 1 and step
    :math:`2\varepsilon_q`, and Theorem 6's trap quantizer at scale :math:`\varepsilon = 0.05`. All
    are audited by :func:`qbc_theory.checker.smoothness.modulus_audit` at
    :math:`\varepsilon' = 3\varepsilon_q`; binning carries Proposition 5's threshold.

    .. math::

        \kappa_{\mathrm{bin}}(r) = 1\{r > \delta_0\}, \qquad \delta_0 = \frac{\varepsilon' - 2\varepsilon_q}{L}

    Parameters
    ----------
    entropy : int
        Root SeedSequence entropy (states, k-means initialisations and audit pairs).

    Returns
    -------
    data : RTVCAuditData
    provenance : dict
        The settings and each audit's summary (JSON-ready).

    References
    ----------
    Cao & Xie 2026, Definition 4, Proposition 5 and Theorem 6.
    """
    from ..engine.constructions import trap_loop
    from ..model.experts import ArctanExpert
    from ..model.quantizers import DCTBinning, KMeansQuantizer, ResidualVQ, UniformBinning
    from ..model.quantizers import quantize_actions
    from ..checker.smoothness import modulus_audit

    seq_states, seq_fit, seq_audit = np.random.SeedSequence(entropy).spawn(3)
    expert = ArctanExpert()
    trap = trap_loop(0.05, **_F4_TRAP)
    A, B = float(trap.system.A[0, 0]), float(trap.system.B[0, 0])
    x = np.random.default_rng(seq_states).standard_normal((_F4_TRAJ, 1))
    visited = [x]
    for _ in range(_F4_STEPS - 1):
        x = A * x + B * expert.mean(x)
        visited.append(x)
    states = np.concatenate(visited)
    actions = expert.mean(states)
    fit_seed = int(seq_fit.generate_state(1)[0])
    quantizers = {
        "binning": UniformBinning(-math.pi / 2, math.pi / 2, _F4_BINS),
        "k-means": KMeansQuantizer(_F4_BINS, seed=fit_seed).fit(actions),
        "residual VQ": ResidualVQ(2, 8, seed=fit_seed).fit(actions),
        "DCT (chunk 1)": DCTBinning(1.0 / (2 * _F4_EPS_Q), chunk=1, dim=1),
        "trap (Thm 6)": trap.quantizer,
    }
    eps_prime = _F4_K * _F4_EPS_Q
    delta0 = (eps_prime - 2 * _F4_EPS_Q) / expert.lipschitz
    curves, audits = [], {}
    for seq, (label, q) in zip(seq_audit.spawn(len(quantizers)), quantizers.items()):
        audit = modulus_audit(expert, q, states, np.random.default_rng(seq), eps_prime=eps_prime,
                              radii=_F4_RADII, pairs=_F4_PAIRS)
        d0 = delta0 if label == "binning" else None
        curves.append(F.ModulusCurve.from_audit(label, audit, delta0=d0))
        err = np.abs(quantize_actions(q, actions) - actions)[:, 0]
        audits[label] = {"min_radius_w1": audit.min_radius_w1, "total_pairs": audit.total_pairs,
                         "in_distribution_error": float(err.mean()), "max_error": float(err.max())}
    provenance = {"entropy": int(entropy), "expert": "arctan (L = 1)", "system": {"A": A, "B": B},
                  "states": {"trajectories": _F4_TRAJ, "steps": _F4_STEPS, "x1": "N(0, 1)"},
                  "eps_q_binning": _F4_EPS_Q, "eps_prime": eps_prime, "delta0": delta0,
                  "trap": {**_F4_TRAP, "eps": 0.05}, "pairs_per_radius": _F4_PAIRS, "audits": audits}
    return F.RTVCAuditData(tuple(curves), eps_prime), provenance


# Figure 5's system is non-normal, so its gain profile first grows (||A^j B|| peaks above ||B||)
# before it decays: the constant C of a certificate then matters, which a normal A would hide.
_F5_A = ((0.9, 0.5), (0.0, 0.8))
_F5_B = ((0.0,), (1.0,))
_F5_LAGS = 60


def gain_profile_data(A=_F5_A, B=_F5_B, *, lags: int = _F5_LAGS) -> tuple[F.GainProfileData, dict]:
    r"""Figure 5: the gain profile against the exact and the LMI P-EIISS certificates.

    The rate :math:`\eta` is the one :func:`qbc_theory.checker.stability.analyze_stability` reports (it
    minimises the exact :math:`C(\eta)/(1-\eta)` over its grid); both certificates are at that
    :math:`\eta`: the exact :math:`C(\eta) = \sup_j \|A^j B\|/\eta^j` and the LMI's
    :math:`\sqrt{\operatorname{cond} P}\,\|B\|`-type constant.

    .. math:: \|A^j B\|_2 \le C \eta^j \quad (j \ge 0)

    Parameters
    ----------
    A : (dx, dx) array_like
        Default: a non-normal stable matrix ``[[0.9, 0.5], [0, 0.8]]``.
    B : (dx, du) array_like
        Default ``[[0], [1]]``.
    lags : int
        Number of lags ``j = 0 .. lags - 1`` drawn.

    Returns
    -------
    data : GainProfileData
    provenance : dict
        The system, the certificates and their methods (JSON-ready).

    Raises
    ------
    MissingDataError
        If the system is not globally P-EIISS (no certificate exists) or the LMI failed.

    References
    ----------
    Cao & Xie 2026, Definition 3; THEORY.md section 8.
    """
    from ..checker.stability import analyze_stability, gain_profile

    A = np.asarray(A, dtype=float)
    B = np.asarray(B, dtype=float)
    report = analyze_stability(A, B)
    if not report.globally_p_iiss:
        raise MissingDataError(f"fig5: the system is not globally P-EIISS ({report.reason}); no certificate to draw")
    if report.lmi is None or report.lmi.C is None:
        raise MissingDataError(f"fig5: the LMI certificate is missing ({'; '.join(report.notes) or 'no detail'})")
    j = np.arange(lags)
    gain = gain_profile(A, B, lags)
    certs = (F.Certificate("exact", report.exact.C, report.eta), F.Certificate("LMI", report.lmi.C, report.eta))
    provenance = {"A": A.tolist(), "B": B.tolist(), "spectral_radius": report.spectral_radius,
                  "eta": report.eta, "C_exact": report.exact.C, "C_lmi": report.lmi.C,
                  "lmi_method": report.lmi.method, "lmi_cond": report.lmi.cond,
                  "Gamma": report.Gamma}
    return F.GainProfileData(j, gain, certs), provenance


# --------------------------------------------------------------------------------------------
# from result tables to figure data


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


def _rng(stem: str, series: int) -> np.random.Generator:
    """The bootstrap generator of one series of one figure (independent of the other figures)."""
    return np.random.default_rng(np.random.SeedSequence(BOOTSTRAP_ENTROPY, spawn_key=(_STEMS.index(stem), series)))


def measured_series(table: ResultTable, value: str, along: str, *, label: str, rng=None,
                    where: Mapping | None = None, fit: bool = True) -> F.MeasuredSeries:
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

    Returns
    -------
    MeasuredSeries

    Raises
    ------
    MissingDataError
        If the column, the ladder or a ``where`` value is not in the table.

    References
    ----------
    Cao & Xie 2026, Theorems 2, 3 and 7 (the rates the fits are read against).
    """
    _require(table, [value], label)
    _ladder(table, along, label)
    try:
        x, y = table.pivot(value, along, dict(where or {}))
    except QbcError as exc:
        raise MissingDataError(f"{label}: cannot select {value!r} along {along!r} in spec {table.spec_id!r}: {exc}") \
            from None
    mean = y.mean(axis=0)
    lo = hi = None
    if y.shape[0] > 1:
        half = stats.t.ppf(0.5 + CI_LEVEL / 2, y.shape[0] - 1) * y.std(axis=0, ddof=1) / math.sqrt(y.shape[0])
        lo, hi = mean - half, mean + half
    power = None
    if fit and y.shape[0] > 1 and np.count_nonzero(mean > 0) >= 2:
        if rng is None:
            raise TypeError("measured_series: rng is required when fit=True")
        slope = fit_slope(x, y, rng=rng, level=CI_LEVEL, nonpositive="drop", parameter=along)
        power = F.PowerLawFit.from_fit(slope)
    return F.MeasuredSeries(label, x, mean, lo, hi, ci_level=CI_LEVEL, fit=power)


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


def _fixed_params(table: ResultTable, names: Sequence[str], where: Mapping | None = None) -> dict:
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


def _source(table: ResultTable) -> dict:
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
    from ..theory import bounds, symbols

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
            fixed = _fixed_params(table, [sym], where)
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
    fixed = [_fixed_params(t, names, w) for t, w in zip(tables, wheres)]
    return {k: v for k, v in fixed[0].items() if all(f.get(k) == v for f in fixed[1:])}


def _fit_note(series: F.MeasuredSeries) -> list:
    return [] if series.fit is not None else [f"{series.label!r}: no slope fit (fewer than 2 seeds or fewer than "
                                              f"2 points with a positive mean)"]


def regret_vs_n_data(tables: Mapping[str, ResultTable]) -> tuple[F.ScalingData, dict, list]:
    r"""Figure 1: statistical regret against n for a deterministic and a stochastic expert.

    Measured: the statistical part :math:`J(q_\#\pi^\star) - J(\hat\pi)` of the regret (the part the
    n-rates are about), column ``regret_stat`` of spec ``thm3.rate_n`` and ``stat`` of spec
    ``thm2.rate_n`` (the latter is its absolute value per seed, as that cell reports it), with slope
    fits. Bounds: each
    experiment's explicit upper bound (``thm3_binning``, ``thm2``) at the cells' own constants with
    :math:`\varepsilon_q = 0` (its statistical part) plus :math:`\delta H` (the cells' conversion of
    the high-probability bound into one on the mean over data), and the worst-case lower bounds of
    Theorems 8 and 9 at the same H with :math:`\varepsilon_q = 0`.

    .. math::

        \frac{H}{24 n}\Big(1 - \sqrt{2(1 - (1 - \tfrac{1}{3n})^n)}\Big) \;\lesssim\;
        J(q_\#\pi^\star) - J(\hat\pi) \;\le\; 24 H \frac{\log(2|\Pi|/\delta)}{n} + \delta H

    Parameters
    ----------
    tables : mapping of spec id to ResultTable

    Returns
    -------
    data : ScalingData
    provenance : dict
    notes : list of str
        What was left out.

    Raises
    ------
    MissingDataError
        If ``thm3.rate_n`` or ``thm2.rate_n`` or a column is missing.

    References
    ----------
    Cao & Xie 2026, Theorems 2, 3, 8 and 9.
    """
    stem = "fig1_regret_vs_n"
    rows = (("thm3.rate_n", "regret_stat", "deterministic expert (Thm 3)", "thm3_binning", "Thm 3 upper", "thm8",
             "Thm 8 lower"),
            ("thm2.rate_n", "stat", "Gaussian expert (Thm 2)", "thm2", "Thm 2 upper", "thm9", "Thm 9 lower"))
    measured, curves, used, notes = [], [], [], []
    for i, (sid, column, label, upper, upper_label, lower, lower_label) in enumerate(rows):
        if sid not in tables and i > 0:
            continue  # optional series; the pipeline notes the missing spec
        t = _table(tables, sid, stem)
        try:
            series = measured_series(t, column, "n", label=label, rng=_rng(stem, i))
            delta_h = _fixed_params(t, ["delta", "H"])
            if set(delta_h) != {"delta", "H"}:
                raise MissingDataError(f"{stem}: spec {sid!r} does not fix delta and H")
            xu, yu = library_bound(t, upper, "n", overrides={"eps_q": 0.0}, figure=stem)
            xl, yl = library_bound(t, lower, "n", overrides={"eps_q": 0.0}, figure=stem)
        except MissingDataError as exc:
            if i == 0:
                raise
            notes.append(f"{label!r} left out: {exc}")
            continue
        measured.append(series)
        notes += _fit_note(series)
        curves.append(F.BoundCurve(f"{upper_label} ($\\varepsilon_q=0$)", xu, yu + delta_h["delta"] * delta_h["H"],
                                   "upper", match=label))
        curves.append(F.BoundCurve(f"{lower_label} (worst case)", xl, yl, "lower"))
        used.append(t)
    fixed = _common_fixed(used, ["H", "eps_q"], [{}] * len(used))
    prov = {"measured_column": {r[0]: r[1] for r in rows},
            "bounds": {r[0]: [r[3], r[5]] for r in rows},
            "bound_overrides": {"eps_q": 0.0}, "upper_plus_delta_H": True}
    return F.ScalingData(tuple(measured), tuple(curves), fixed), prov, notes


def regret_vs_h_data(tables: Mapping[str, ResultTable]) -> tuple[F.ScalingData, dict, list]:
    r"""Figure 2: regret against H for binning, the trap quantizer and Algorithm 1.

    Measured ``regret`` along ``H``: spec ``thm3.horizon`` (deterministic expert, binning, with its
    Theorem 3 ``bound`` column), and when present ``thm2.horizon`` (Gaussian expert, Theorem 2
    ``bound``), ``thm6.det`` (the trap quantizer's :math:`q_\#\pi^\star`, with its Theorem 6
    ``lower_bound``) and ``thm7.det`` (Algorithm 1 on the trap instance, Theorem 7 ``bound``), the
    last two at the smallest swept :math:`\varepsilon`.

    .. math::

        J(\pi^\star) - J(\hat\pi) \lesssim H\,\varepsilon_q \;(\text{Thm 3, 7}), \quad H^2 \varepsilon_q
        \;(\text{Thm 2}), \qquad J(\pi^\star) - J(q_\#\pi^\star) = H\,\Omega(1) \;(\text{Thm 6})

    Parameters
    ----------
    tables : mapping of spec id to ResultTable

    Returns
    -------
    data : ScalingData
    provenance : dict
    notes : list of str

    Raises
    ------
    MissingDataError
        If ``thm3.horizon`` or one of its columns is missing.

    References
    ----------
    Cao & Xie 2026, Theorems 2, 3, 6 and 7.
    """
    stem = "fig2_regret_vs_H"
    rows = (("thm3.horizon", "binning (Thm 3)", "bound", "upper", "Thm 3 upper"),
            ("thm2.horizon", "Gaussian expert (Thm 2)", "bound", "upper", "Thm 2 upper"),
            ("thm6.det", "trap quantizer (Thm 6)", "lower_bound", "lower", "Thm 6 lower"),
            ("thm7.det", "Alg. 1, trap instance (Thm 7)", "bound", "upper", "Thm 7 upper"))
    measured, curves, notes, prov = [], [], [], {}
    for i, (sid, label, column, kind, bound_label) in enumerate(rows):
        if sid not in tables and i > 0:
            continue  # optional series; the pipeline notes the missing spec
        t = _table(tables, sid, stem)
        where = {**_smallest(t, "eps"), **_smallest(t, "eps_q")}
        try:
            series = measured_series(t, "regret", "H", label=label, rng=_rng(stem, i), where=where)
            x, y = cell_values(t, column, "H", where=where, figure=stem)
        except MissingDataError as exc:
            if i == 0:
                raise
            notes.append(f"{label!r} left out: {exc}")
            continue
        measured.append(series)
        notes += _fit_note(series)
        curves.append(F.BoundCurve(bound_label, x, y, kind, match=label))
        prov[sid] = {"where": where, "measured_column": "regret", "bound_column": column}
    return F.ScalingData(tuple(measured), tuple(curves)), prov, notes


def regret_vs_eps_data(tables: Mapping[str, ResultTable]) -> tuple[F.ScalingData, dict, list]:
    r"""Figure 3: regret against eps_q for binning and for the trap quantizer.

    Measured ``regret`` along ``eps_q``: spec ``thm3.eps`` (binning, large n, with its Theorem 3
    ``bound`` column) and its negative control ``thm3.eps.control`` (Theorem 6's trap quantizer,
    with the proof's ``lower_bound`` column). Binning's regret vanishes with eps_q, the trap's does not.
    The trap's ladder is the construction's scale :math:`\varepsilon`; its measured in-distribution
    error (column ``eps_in``) is reported in the notes and the manifest.

    .. math::

        J(\pi^\star) - J(\hat\pi) \lesssim H\frac{\log|\Pi|}{n} + H\varepsilon_q \;(\text{binning}),
        \qquad J(\pi^\star) - J(q_\#\pi^\star) = H\,\Omega(1) \;(\text{trap})

    Parameters
    ----------
    tables : mapping of spec id to ResultTable

    Returns
    -------
    data : ScalingData
    provenance : dict
    notes : list of str

    Raises
    ------
    MissingDataError
        If either spec or a column is missing.

    References
    ----------
    Cao & Xie 2026, Theorems 3 and 6.
    """
    stem = "fig3_regret_vs_eps_q"
    rows = (("thm3.eps", "binning (Thm 3)", "bound", "upper", "Thm 3 upper"),
            ("thm3.eps.control", "trap quantizer (Thm 6)", "lower_bound", "lower", "Thm 6 lower"))
    measured, curves, notes, prov, used = [], [], [], {}, []
    for i, (sid, label, column, kind, bound_label) in enumerate(rows):
        t = _table(tables, sid, stem)
        hs = _fixed_params(t, ["H"])
        if "H" in hs:
            label = f"{label}, $H={hs['H']:g}$"
        series = measured_series(t, "regret", "eps_q", label=label, rng=_rng(stem, i))
        x, y = cell_values(t, column, "eps_q", figure=stem)
        measured.append(series)
        notes += _fit_note(series)
        curves.append(F.BoundCurve(bound_label, x, y, kind, match=label))
        prov[sid] = {"measured_column": "regret", "bound_column": column}
        if "eps_in" in t.columns:
            _, eps_in = t.pivot("eps_in", "eps_q")
            prov[sid]["in_distribution_error_mean"] = eps_in.mean(axis=0).tolist()
            notes.append(f"{label!r} is drawn at the construction's scale eps (the ladder); its measured "
                         f"in-distribution error (column eps_in) is {_span(eps_in.mean(axis=0))}")
        used.append(t)
    return F.ScalingData(tuple(measured), tuple(curves), _common_fixed(used, ["H", "n"], [{}, {}])), prov, notes


def _span(values) -> str:
    return f"{min(values):.3g} to {max(values):.3g}"



def blowup_data(tables: Mapping[str, ResultTable]) -> tuple[F.BlowupData, dict, list]:
    r"""Figure 6 (state-gap panel): the appendix's Lipschitz learner, its control and TVC learners against H.

    Spec ``lipschitz.exp`` (:math:`\rho(A) < 1 < \rho(A+BK)`, learner :math:`Kx` against the expert
    :math:`Kx + \delta`) and its control ``lipschitz.exp.control`` (the same with
    :math:`\rho(A+BK) < 1`): the measured coupled gap (column ``gap``, mean over seeds) and, for the
    first, the closed form (column ``gap_closed_form``) as a check of the simulation. The learners'
    spectral radii come from the ``rho_closed_loop`` column. When spec ``fig6.tvc`` is there (it must
    be the same example: ``A``, ``B``, ``K``, ``delta``), one curve per smoothing scale ``s`` of the TVC
    learner :math:`K(x + \xi)`, :math:`\xi \sim N(0, s^2)`: smoothing leaves :math:`A + BK` unchanged, so
    its gap grows at the same geometric rate (the closed form of its mean absolute value is in the
    manifest and the notes).

    .. math::

        x^\star_{H+1} - \hat x_{H+1} = \sum_{h<H} (A+BK)^{H-1-h} B (\delta - s|K| z_h),
        \qquad z_h \sim N(0, 1) \;(s = 0 \text{ for } Kx)

    Parameters
    ----------
    tables : mapping of spec id to ResultTable

    Returns
    -------
    data : BlowupData
    provenance : dict
    notes : list of str

    Raises
    ------
    MissingDataError
        If a needed spec or a column is missing.

    References
    ----------
    Cao & Xie 2026, Appendix (Lipschitz continuity is not enough); Proposition 4 (TVC learners).
    """
    stem = "fig6_lipschitz_blowup"
    curves, prov, notes = [], {}, []
    for sid, what in (("lipschitz.exp", "Lipschitz learner"), ("lipschitz.exp.control", "control")):
        t = _table(tables, sid, stem)
        _, rho = cell_values(t, "rho_closed_loop", "H", figure=stem)
        label = f"{what}, $\\rho(A+BK) = {rho[0]:.3g}$"
        series = measured_series(t, "gap", "H", label=label, fit=False)
        curves.append(F.Curve(label, series.x, series.mean))
        if sid == "lipschitz.exp":
            x, closed = cell_values(t, "gap_closed_form", "H", figure=stem)
            curves.append(F.Curve(f"closed form, $\\rho(A+BK) = {rho[0]:.3g}$", x, closed))
        prov[sid] = {"measured_column": "gap", "rho_closed_loop": float(rho[0]),
                     "ci": {"low": list(series.ci_low or ()), "high": list(series.ci_high or ()),
                            "level": CI_LEVEL}}
    fixed = _fixed_params(tables["lipschitz.exp"], ["delta"])
    tvc = tables.get("fig6.tvc")
    try:
        if tvc is None:
            raise MissingDataError(f"{stem}: spec 'fig6.tvc' has no results")
        _same_example(tables["lipschitz.exp"], tvc, stem)
        _require(tvc, ["gap", "gap_closed_form", "rho_closed_loop"], stem)
        _ladder(tvc, "smoothing", stem)
        tvc_curves, tvc_prov = [], {"measured_column": "gap", "closed_form_column": "gap_closed_form", "by_s": {}}
        for s in sorted(tvc.grid["smoothing"]):
            where = {"smoothing": s}
            _, rho = cell_values(tvc, "rho_closed_loop", "H", where=where, figure=stem)
            label = f"TVC learner $K(x+\\xi)$, $s = {s:g}$, $\\rho(A+BK) = {rho[0]:.3g}$"
            series = measured_series(tvc, "gap", "H", label=label, where=where, fit=False)
            _, closed = cell_values(tvc, "gap_closed_form", "H", where=where, figure=stem)
            tvc_curves.append(F.Curve(label, series.x, series.mean))
            dev = np.abs(np.asarray(series.mean) / closed - 1.0)
            tvc_prov["by_s"][f"{s:g}"] = {"H": list(series.x), "gap": list(series.mean),
                                           "gap_closed_form": closed.tolist(),
                                           "ci": {"low": list(series.ci_low or ()), "high": list(series.ci_high or ()),
                                                  "level": CI_LEVEL}}
            notes.append(f"TVC learner s = {s:g}: measured mean gap {_span(series.mean)} along H, within "
                         f"{100 * dev.max():.2g}% of its closed form E|N(mean, sd^2)|; rho(A+BK) = {rho[0]:.3g} "
                         f"as for the Lipschitz learner")
    except MissingDataError as exc:
        notes.append(f"no TVC learner drawn: {exc}; the comparison curve is the spec's negative control "
                     f"(a Lipschitz learner with a stable closed loop)")
    else:
        curves.extend(tvc_curves)
        prov["fig6.tvc"] = tvc_prov
        notes.append("spec 'fig6.tvc' runs noiseless from x_1 = 0: with shared noise x_1 and w cancel from the gap, "
                     "so its law is the one of lipschitz.exp's noisy runs")
    return F.BlowupData(tuple(curves), fixed), prov, notes


_EXAMPLE_PARAMS = ("A", "B", "K", "delta")


def _same_example(reference: ResultTable, other: ResultTable, figure: str) -> None:
    """Refuse a spec whose example differs from ``reference``'s (its curves would not be comparable)."""
    differ = [f"{k}: {other.params.get(k)!r} vs {reference.params.get(k)!r}" for k in _EXAMPLE_PARAMS
              if other.params.get(k) != reference.params.get(k)]
    if differ:
        raise MissingDataError(f"{figure}: spec {other.spec_id!r} is not the example of spec {reference.spec_id!r} "
                               f"({'; '.join(differ)})")


def blowup_regret_data(tables: Mapping[str, ResultTable]) -> tuple[F.ScalingData, dict, list]:
    r"""Figure 6 (regret panel): regret of the Lipschitz and the TVC learners with a reward that sees the state.

    Spec ``fig6.tvc`` (noiseless example from :math:`x_1 = 0`, reward
    :math:`r(x) = \mathrm{clip}(1/2 + x/c, 0, 1)`): measured ``regret`` of each TVC learner and
    ``regret_lipschitz`` of :math:`Kx` on the same draws, with per-point intervals; bounds: each TVC
    learner's Proposition 4 explicit bound (column ``prop4``, mean over seeds: it uses each seed's
    measured training error) and the trivial bound :math:`H` (rewards lie in [0, 1]).

    .. math::

        J(\pi^\star) - J(\hat\pi) \le \min\Big(H,\; \frac{\kappa C}{1-\eta} H^2 \varepsilon_{reg}
        + L_r\Big(1 + \frac{C}{1-\eta}\Big) H \varepsilon_{reg}\Big), \qquad \kappa = \frac{1}{2s}

    Parameters
    ----------
    tables : mapping of spec id to ResultTable

    Returns
    -------
    data : ScalingData
    provenance : dict
    notes : list of str

    Raises
    ------
    MissingDataError
        If spec ``fig6.tvc`` or a column is missing.

    References
    ----------
    Cao & Xie 2026, Proposition 4 and the appendix example.
    """
    stem = "fig6_lipschitz_blowup"
    t = _table(tables, "fig6.tvc", stem)
    _require(t, ["regret", "regret_lipschitz", "prop4", "regret_closed_form"], stem)
    _ladder(t, "smoothing", stem)
    smoothing = sorted(t.grid["smoothing"])
    first = {"smoothing": smoothing[0]}
    lip = measured_series(t, "regret_lipschitz", "H", label="Lipschitz learner $Kx$", where=first, fit=False)
    measured, bounds, notes = [lip], [], []
    for s in smoothing:
        where = {"smoothing": s}
        label = f"TVC learner, $s = {s:g}$"
        series = measured_series(t, "regret", "H", label=label, where=where, fit=False)
        x, p4 = t.pivot("prop4", "H", where)
        measured.append(series)
        bounds.append(F.BoundCurve(f"Prop 4 upper, $s = {s:g}$", x, p4.mean(axis=0), "upper", match=label))
        notes.append(f"Proposition 4's explicit bound for the TVC learner s = {s:g} is {_span(p4.mean(axis=0))} "
                     f"along H = {_span(x)}: valid (P-EIISS, TVC) but above the trivial bound H at every H")
    x, closed = cell_values(t, "regret_closed_form", "H", where=first, figure=stem)
    bounds.append(F.BoundCurve("trivial upper ($H$)", x, x, "upper"))
    notes.append(f"regret of both learners in expectation (closed form): {_span(closed)} along H; measured "
                 f"Lipschitz {_span(lip.mean)}, TVC " + ", ".join(f"s = {s:g}: {_span(m.mean)}"
                                                               for s, m in zip(smoothing, measured[1:])))
    prov = {"spec": "fig6.tvc", "measured_columns": ["regret", "regret_lipschitz"], "bound_column": "prop4",
            "regret_closed_form": closed.tolist(), "reward": "clip(1/2 + x / reward_scale, 0, 1)"}
    return F.ScalingData(tuple(measured), tuple(bounds), _fixed_params(t, ["delta"])), prov, notes


@dataclass(frozen=True)
class BlowupFigure:
    """Figure 6's data: the state-gap panel and, when spec ``fig6.tvc`` was measured, the regret panel.

    Attributes
    ----------
    gap : qbc_theory.figures.plots.BlowupData
    regret : qbc_theory.figures.plots.ScalingData or None
    """

    gap: F.BlowupData
    regret: F.ScalingData | None = None

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"gap": self.gap.to_dict(), "regret": None if self.regret is None else self.regret.to_dict()}


def _fig6(tables):
    gap, prov, notes = blowup_data(tables)
    regret = None
    if "fig6.tvc" in prov:
        try:
            regret, rprov, rnotes = blowup_regret_data(tables)
        except MissingDataError as exc:
            notes = notes + [f"regret panel left out: {exc}"]
        else:
            prov = {**prov, "regret_panel": rprov}
            notes = notes + rnotes
    return BlowupFigure(gap, regret), prov, notes


def _draw_fig6(data: BlowupFigure):
    """The gap panel alone, or the gap panel above the regret panel."""
    import matplotlib as mpl
    from matplotlib.figure import Figure

    if data.regret is None:
        return F.blowup_plot(data.gap).figure
    width, height = mpl.rcParams["figure.figsize"]
    fig = Figure(figsize=(width, 2 * height))
    top, bottom = fig.subplots(2, 1)
    F.blowup_plot(data.gap, ax=top)
    F.regret_vs_h_plot(data.regret, ax=bottom, xscale="linear")
    return fig


def sandwich_data(tables: Mapping[str, ResultTable]) -> tuple[F.SandwichData, dict, list]:
    r"""Figure 7: measured regret between a lower and an upper bound, on the lower bounds' own instances.

    One panel along n per lower-bound construction: spec ``thm8.tight`` (deterministic expert) and
    ``thm9.tight`` (stochastic expert). Measured: ``regret_avg``, log-loss BC over the proof's
    two-point class averaged over the two truths (at most the worse truth's regret, which the lower
    bound is about). Lower: the cells' ``bound`` column (the bound library's Theorem 8 / Theorem 9
    form). Upper: the statistical part (:math:`\varepsilon_q = 0`) of Theorem 3's explicit bound
    (deterministic) or Theorem 2's (stochastic) for the two-point class (:math:`|\Pi| = 2`) at
    :math:`\delta = 0.05`, plus :math:`\delta H` (a bound on the mean over data).

    .. math::

        c\,\frac{H}{n} \lesssim J(\pi^\star) - J(\hat\pi) \le 24 H\frac{\log(2|\Pi|/\delta)}{n} + \delta H,
        \qquad c\,\frac{H}{\sqrt n} \lesssim J(\pi^\star) - J(\hat\pi)
        \le \sqrt 6 H \sqrt{\frac{\log(2|\Pi|/\delta)}{n}} + \delta H

    One panel along :math:`\varepsilon_q` from spec ``fig7.eps`` (Theorem 8's binned construction,
    where the two experts collide in one bin): measured ``regret_avg``; lower: its ``bound`` column
    (the bound library's Theorem 8 at the cell's :math:`(H, n, \varepsilon_q)`); upper: the trivial
    bound :math:`H` (column ``upper_trivial``), or the smaller of it and Theorem 3's explicit bound
    (column ``upper_thm3``) where that is below :math:`H` (on the built-in spec it is above :math:`H`
    on the whole ladder); the notes give Theorem 3's values.

    .. math::

        \frac{H\varepsilon_q}{4} + \frac{H}{24 n}(1 - \mathrm{TV}_H) \le
        \tfrac12\big(\mathbb E_a + \mathbb E_b\big)[J(\pi^\star) - J(\hat\pi)] \le H

    Parameters
    ----------
    tables : mapping of spec id to ResultTable

    Returns
    -------
    data : SandwichData
    provenance : dict
    notes : list of str

    Raises
    ------
    MissingDataError
        If ``thm8.tight`` or a column is missing.

    References
    ----------
    Cao & Xie 2026, Theorems 2, 3, 8 and 9.
    """
    stem = "fig7_bound_sandwich"
    rows = (("thm8.tight", "deterministic expert (Thm 8 instance)", "thm3", "Thm 3 upper", "Thm 8 lower"),
            ("thm9.tight", "stochastic expert (Thm 9 instance)", "thm2", "Thm 2 upper", "Thm 9 lower"))
    panels, prov, notes = [], {}, []
    for i, (sid, label, upper, upper_label, lower_label) in enumerate(rows):
        if sid not in tables and i > 0:
            continue  # optional panel; the pipeline notes the missing spec
        t = _table(tables, sid, stem)
        try:
            series = measured_series(t, "regret_avg", "n", label=label, rng=_rng(stem, i))
            x, lo = cell_values(t, "bound", "n", figure=stem)
            over = {"eps_q": 0.0, "Pi": 2.0, "delta": _SANDWICH_DELTA}
            _, up = library_bound(t, upper, "n", overrides=over, figure=stem)
            H = _fixed_params(t, ["H"])["H"]
        except (MissingDataError, KeyError) as exc:
            if i == 0:
                raise MissingDataError(f"{stem}: {exc}") from None
            notes.append(f"panel {label!r} left out: {exc}")
            continue
        panels.append(F.SandwichPanel("n", x, lo, up + _SANDWICH_DELTA * H, series, lower_label,
                                      f"{upper_label} ($\\varepsilon_q=0$)", fixed={"H": H}))
        prov[sid] = {"measured_column": "regret_avg", "lower_column": "bound", "upper_bound": upper,
                     "upper_overrides": over, "upper_plus_delta_H": True}
    if "fig7.eps" in tables:
        try:
            panel, prov["fig7.eps"], eps_notes = _sandwich_eps_panel(tables["fig7.eps"], stem)
        except MissingDataError as exc:
            notes.append(f"no panel along eps_q: {exc}")
        else:
            panels.append(panel)
            notes.extend(eps_notes)
    else:
        notes.append("no panel along eps_q: spec 'fig7.eps' (BC on Theorem 8's binned construction) has no results")
    return F.SandwichData(tuple(panels)), prov, notes


_SANDWICH_DELTA = 0.05  # confidence parameter of the upper bounds turned into bounds on the mean


def _sandwich_eps_panel(t: ResultTable, stem: str) -> tuple[F.SandwichPanel, dict, list]:
    """Figure 7's panel along eps_q from spec ``fig7.eps`` (see :func:`sandwich_data`)."""
    label = "deterministic expert (Thm 8 binned instance)"
    _require(t, ["regret_avg", "bound", "upper_trivial", "upper_thm3", "bound_lecam", "regret_avg_exact"], stem)
    series = measured_series(t, "regret_avg", "eps_q", label=label, rng=_rng(stem, 2))
    x, lo = cell_values(t, "bound", "eps_q", figure=stem)
    _, up = cell_values(t, "upper_trivial", "eps_q", figure=stem)
    _, thm3 = cell_values(t, "upper_thm3", "eps_q", figure=stem)
    _, lecam = cell_values(t, "bound_lecam", "eps_q", figure=stem)
    _, exact = cell_values(t, "regret_avg_exact", "eps_q", figure=stem)
    fixed = _fixed_params(t, ["H", "n"])
    vacuous = bool(np.all(thm3 >= up))
    upper, upper_label = (up, "trivial upper ($H$)") if vacuous else (np.minimum(thm3, up), "min(Thm 3, $H$) upper")
    notes = [f"panel along eps_q: Theorem 3's explicit bound on this instance (Gamma = 1, L = 1 - 2 eps_q, |Pi| = 2, "
             f"k = {_fixed_params(t, ['k']).get('k', float('nan')):g}, plus delta H) is {_span(thm3)}, "
             + ("above H on the whole ladder: the upper bound drawn is the trivial H" if vacuous
                else "below H somewhere: the upper bound drawn is the smaller of it and H"),
             f"panel along eps_q: measured two-truth average regret {_span(series.mean)}, exact expectation of this "
             f"learner {_span(exact)}, instance's exact-TV Le Cam bound {_span(lecam)}, library Theorem 8 bound "
             f"{_span(lo)}"]
    notes += _fit_note(series)
    prov = {"measured_column": "regret_avg", "lower_column": "bound", "upper_column": "upper_trivial",
            "upper_thm3": thm3.tolist(), "bound_lecam": lecam.tolist(), "regret_avg_exact": exact.tolist()}
    panel = F.SandwichPanel("eps_q", x, lo, upper, series, "Thm 8 lower", upper_label, fixed=fixed)
    return panel, prov, notes


def _draw_fig7(data: F.SandwichData):
    """The sandwich panels stacked, three quarters of a single-panel figure's height each; eps_q ticks as fractions.

    The ladder of the eps_q panel is ``1/(2K)``; its decimal expansions (0.0078125, ...) would overlap.
    """
    import matplotlib as mpl
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    width, height = mpl.rcParams["figure.figsize"]
    fig = Figure(figsize=(width, height * (0.25 + 0.75 * len(data.panels))))
    axes = fig.subplots(len(data.panels), 1, squeeze=False)[:, 0]
    F.sandwich_plot(data, ax=list(axes))
    for ax, panel in zip(axes, data.panels):
        if panel.variable == "eps_q":
            ax.xaxis.set_major_formatter(FuncFormatter(_fraction))
    return fig


def _fraction(v: float, _pos=None) -> str:
    """``1/m`` when ``v`` is the reciprocal of an integer, else ``v`` plainly."""
    m = round(1.0 / v) if v > 0 else 0
    return f"1/{m}" if m >= 1 and math.isclose(v * m, 1.0, rel_tol=1e-9) else f"{v:g}"


# --------------------------------------------------------------------------------------------
# the pipeline


@dataclass(frozen=True)
class _Figure:
    """How one figure is made: the specs it reads and the function that builds its data."""

    stem: str
    specs: tuple  # needed: without them the figure is skipped
    optional: tuple  # secondary series: without them the figure is drawn without those series
    build: Callable  # (tables) -> (data, provenance: dict, notes: list[str])
    ylabel: str | None = None  # replaces the plot function's y label (the quantity plotted differs)
    draw: Callable | None = None  # (data) -> Figure, for a figure made of several plot functions' panels


def _fig4(tables):
    data, prov = rtvc_audit_data()
    return data, prov, []


def _fig5(tables):
    data, prov = gain_profile_data()
    return data, prov, []


def _registry() -> dict:
    figs = (
        _Figure("fig1_regret_vs_n", ("thm3.rate_n",), ("thm2.rate_n",), lambda t: regret_vs_n_data(t),
                ylabel=r"$J(q_\#\pi^\star) - J(\hat{\pi})$"),
        _Figure("fig2_regret_vs_H", ("thm3.horizon",), ("thm2.horizon", "thm6.det", "thm7.det"),
                lambda t: regret_vs_h_data(t)),
        _Figure("fig3_regret_vs_eps_q", ("thm3.eps", "thm3.eps.control"), (), lambda t: regret_vs_eps_data(t)),
        _Figure("fig4_rtvc_audit", (), (), _fig4),
        _Figure("fig5_stability", (), (), _fig5),
        _Figure("fig6_lipschitz_blowup", ("lipschitz.exp", "lipschitz.exp.control"), ("fig6.tvc",), _fig6,
                draw=_draw_fig6),
        _Figure("fig7_bound_sandwich", ("thm8.tight",), ("thm9.tight", "fig7.eps"), lambda t: sandwich_data(t),
                draw=_draw_fig7),
    )
    return {f.stem: f for f in figs}


FIGURE_SPECS: dict = {f.stem: f.specs + f.optional for f in _registry().values()}
"""Figure stem -> ids of the built-in specs it reads (needed ones first, then optional ones)."""


def _run_tables(spec_ids, *, profile, backend, results, progress, workers, scheduler) -> tuple[dict, dict]:
    """Run the built-in specs (cached cells are loaded, not recomputed); failures are reported per spec."""
    paths = {p.stem: p for p in builtin_spec_paths()}
    ids = [s for s in spec_ids if s in paths]
    failures = {s: f"no built-in spec {s}.toml" for s in spec_ids if s not in paths}
    if not ids:
        return {}, failures
    specs = [load_spec(paths[s]) for s in ids]
    kwargs = dict(backend=backend, out=results, profile=profile, progress=progress, workers=workers,
                  scheduler=scheduler)
    try:
        return dict(zip(ids, run_specs(specs, **kwargs))), failures
    except RuntimeError:
        pass
    # One spec's failing cell aborts a joint run; run them one by one (finished cells stay cached)
    # so the figures of the other specs are still made.
    tables = {}
    for spec in specs:
        try:
            tables[spec.id] = run_specs([spec], **kwargs)[0]
        except RuntimeError as exc:
            failures[spec.id] = f"its run failed: {exc}"
    return tables, failures


def _write_manifest(entries, skipped: dict, out: Path, profile: str, chosen: Sequence[str]) -> Path:
    """``manifest.json`` through :func:`figures.write_manifest`, plus the skipped figures and the profile.

    Entries of figures not made in this run (a run with ``figures=``) are kept from the previous
    manifest when their files are still there.
    """
    path = out / "manifest.json"
    previous = {}
    if path.exists():
        try:
            previous = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            previous = {}
    path = F.write_manifest(entries, out)
    doc = json.loads(path.read_text(encoding="utf-8"))
    for stem, entry in dict(previous.get("figures", {})).items():
        kept = all((out / f).exists() for f in entry.get("files", ()))
        if stem not in chosen and stem not in doc["figures"] and kept:
            doc["figures"][stem] = entry
    for stem, entry in dict(previous.get("skipped", {})).items():
        if stem not in chosen and stem not in doc["figures"]:
            skipped.setdefault(stem, entry)
    doc["skipped"] = skipped
    doc["profile"] = profile
    text = json.dumps(doc, sort_keys=True, indent=2, allow_nan=False, ensure_ascii=True) + "\n"
    tmp = out / ".manifest.json.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def make_figures(out="paper_figs", profile: str = "quick", backend: str = "processes", results="qbc-out",
                 progress: bool = True, **options) -> FiguresReport:
    """Regenerate the paper figures from experiment results (``qbc figs``).

    Runs the built-in specs the figures need through the runner's cache (cells already in
    ``results/cells`` are loaded, not recomputed; ``qbc verify`` with the same ``profile`` and
    ``results`` fills the same cache), builds each figure's data, renders it with
    :func:`qbc_theory.figures.plots.render` as ``out/<stem>.pdf`` and ``out/<stem>.png``, and writes
    ``out/manifest.json``: per figure the spec ids, the seeds (root entropies), the code version
    and the numbers plotted, plus the skipped figures with their reasons. A figure whose data is
    missing is skipped, never drawn from invented numbers; its files from an earlier run are
    removed so the directory never shows a stale figure.

    Parameters
    ----------
    out : str or path-like
        Output directory of the figures and the manifest.
    profile : {"quick", "full"}
        Experiment profile.
    backend : {"serial", "processes", "dask"}
        Runner backend for the cells not in the cache.
    results : str or path-like
        The runner's output directory (cache and result tables).
    progress : bool
        Show the runner's progress on stderr.
    figures : sequence of str, optional
        Only these figure stems (default: all of :data:`qbc_theory.figures.plots.FIGURES`).
    workers : int, optional
        Worker processes for the runner (default: all cores).
    scheduler : str, optional
        Address of a Dask scheduler (``backend="dask"`` only).

    Returns
    -------
    FiguresReport

    Raises
    ------
    SpecError
        On an unknown profile or figure stem.
    TypeError
        On an unknown keyword argument.

    Notes
    -----
    With ``backend="processes"`` the runner starts workers with ``spawn``: call this from the
    ``qbc`` command or from a script guarded by ``if __name__ == "__main__":``.

    Examples
    --------
    >>> report = make_figures("paper_figs", profile="quick")   # doctest: +SKIP
    >>> print(report.format_text())                            # doctest: +SKIP
    """
    only = options.pop("figures", None)
    workers = options.pop("workers", None)
    scheduler = options.pop("scheduler", None)
    reject_unknown_kwargs("make_figures", options)
    if profile not in PROFILES:
        raise SpecError(f"profile: expected one of {', '.join(PROFILES)}, found {profile!r}")
    registry = _registry()
    if only is None:
        chosen = list(registry)
    else:
        if isinstance(only, str):
            only = [only]
        unknown = [s for s in only if s not in registry]
        if unknown:
            raise SpecError(f"figures: expected stems among {', '.join(registry)}, "
                            f"found {', '.join(map(str, unknown))}")
        chosen = [s for s in registry if s in only]
    t0 = time.perf_counter()
    out = Path(out)
    spec_ids = list(dict.fromkeys(s for stem in chosen for s in FIGURE_SPECS[stem]))
    tables, failures = _run_tables(spec_ids, profile=profile, backend=backend, results=results,
                                   progress=progress, workers=workers, scheduler=scheduler)
    outcomes, entries, skipped = [], [], {}
    for stem in chosen:
        fig = registry[stem]
        missing = [s for s in fig.specs if s not in tables]
        if missing:
            message = "; ".join(f"spec {s!r}: {failures.get(s, 'no results')}" for s in missing)
            outcome = _skip(stem, fig, out, f"missing data: {message}")
        else:
            try:
                data, provenance, notes = fig.build(tables)
            except MissingDataError as exc:
                outcome = _skip(stem, fig, out, f"missing data: {exc}")
            except QbcError as exc:
                # e.g. a sandwich whose lower bound exceeds its upper bound: a finding, not a band to draw
                outcome = _skip(stem, fig, out, f"data rejected by the figure: {exc}")
            else:
                used = [s for s in fig.specs + fig.optional if s in tables]
                notes = list(notes) + [f"spec {s!r} left out: {failures.get(s, 'no results')}"
                                       for s in fig.optional if s not in tables]
                files = _render(stem, data, out, fig.ylabel, fig.draw)
                seeds = tuple(tables[s].entropy for s in used)
                if "entropy" in provenance:
                    seeds += (int(provenance["entropy"]),)
                sources = {"specs": [_source(tables[s]) for s in used], "computed": provenance,
                           "bootstrap_entropy": BOOTSTRAP_ENTROPY if used else None, "notes": notes}
                entries.append(F.ManifestEntry(stem, ", ".join(used) or f"computed in qbc_theory.figures.paper ({stem})",
                                               seeds, {"plotted": data, "sources": sources}))
                outcome = FigureOutcome(stem, "built", tuple(used), seeds, tuple(str(p) for p in files),
                                        "; ".join(notes))
        if outcome.status == "skipped":
            skipped[stem] = {"reason": outcome.message, "specs": list(fig.specs + fig.optional)}
        outcomes.append(outcome)
    manifest = _write_manifest(entries, skipped, out, profile, chosen)
    return FiguresReport(str(out), profile, str(results), tuple(outcomes), str(manifest),
                         round(time.perf_counter() - t0, 3))


def _render(stem: str, data, out: Path, ylabel: str | None, draw: Callable | None = None) -> list:
    if draw is not None:
        with F.paper_style():
            return F.save_figure(draw(data), stem, out)
    if ylabel is None:
        return F.render(F.FIGURES[stem], data, stem, out)
    with F.paper_style():
        result = F.FIGURES[stem](data)
        for ax in result.axes:
            ax.set_ylabel(ylabel)
        return F.save_figure(result.figure, stem, out)


def _skip(stem: str, fig: _Figure, out: Path, message: str) -> FigureOutcome:
    """Skip a figure, removing its files of an earlier run (they would show numbers no longer backed)."""
    for ext in ("pdf", "png"):
        stale = out / f"{stem}.{ext}"
        if stale.exists():
            stale.unlink()
    return FigureOutcome(stem, "skipped", fig.specs + fig.optional, (), (), message)
