r"""Figure data of the scaling figures: regret against n (figure 1), H (figure 2) and eps_q (figure 3).

Each builder reads the result tables of the built-in specs it names and returns
``(ScalingData, provenance, notes)``: the measured series (mean over seeds, t interval, power-law
fit with its bootstrap interval), the bounds that apply to the measured instance (a per-cell column
or a bound of the library at the cells' own constants), the provenance recorded in the manifest,
and notes saying what was left out.

References
----------
Cao & Xie 2026, Theorems 2, 3, 6 and 7.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..results import ResultTable
from .containers import BoundCurve, ScalingData
from .tables import (MissingDataError, _common_fixed, _fit_note, _smallest, _span, _table, bootstrap_rng,
                     cell_values, fixed_params, library_bound, measured_series)

__all__ = ["regret_vs_n_data", "regret_vs_h_data", "regret_vs_eps_data"]

_TEX = {"eps": r"\varepsilon", "eps_q": r"\varepsilon_q"}


def regret_vs_n_data(tables: Mapping[str, ResultTable]) -> tuple[ScalingData, dict, list]:
    r"""Figure 1: statistical regret against n for a deterministic and a stochastic expert.

    Measured: the statistical part :math:`J(q_\#\pi^\star) - J(\hat\pi)` of the regret (the part the
    n-rates are about; total over the H steps, like every regret here), column ``regret_stat`` of
    spec ``thm3.rate_n`` and ``stat`` of spec ``thm2.rate_n`` (the latter is its absolute value per
    seed, as that cell reports it), with slope fits. Bounds: each experiment's explicit upper bound
    (``thm3_binning``, ``thm2``) at the cells' own constants with :math:`\varepsilon_q = 0` (its
    statistical part) plus :math:`\delta H` (the cells' conversion of the high-probability bound into
    one on the mean over data).

    .. math::

        J(q_\#\pi^\star) - J(\hat\pi) \;\le\; 24 H \frac{\log(2|\Pi|/\delta)}{n} + \delta H

    Theorems 8 and 9 are *not* drawn: they are minimax lower bounds (there is an instance, built for
    the given n, on which every learner pays that much), not bounds on these instances. Drawn here
    they lay 10^2 to 10^3 times above the measured regret (same units, total regret over H): the
    learners of ``thm3.rate_n`` and ``thm2.rate_n`` face much easier instances than the two-point
    constructions. Their values at these H are reported in the notes and the provenance, and
    figure 7 draws them against BC on their own constructions.

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
        If ``thm3.rate_n`` or a column is missing (``thm2.rate_n`` is optional).

    References
    ----------
    Cao & Xie 2026, Theorems 2, 3, 8 and 9.
    """
    stem = "fig1_regret_vs_n"
    rows = (("thm3.rate_n", "regret_stat", "deterministic expert (Thm 3)", "thm3_binning", "Thm 3 upper", "thm8"),
            ("thm2.rate_n", "stat", "Gaussian expert (Thm 2)", "thm2", "Thm 2 upper", "thm9"))
    measured, curves, used, notes, worst = [], [], [], [], {}
    for i, (sid, column, label, upper, upper_label, lower) in enumerate(rows):
        if sid not in tables and i > 0:
            continue  # optional series; the pipeline notes the missing spec
        t = _table(tables, sid, stem)
        try:
            series = measured_series(t, column, "n", label=label, rng=bootstrap_rng(stem, i))
            delta_h = fixed_params(t, ["delta", "H"])
            if set(delta_h) != {"delta", "H"}:
                raise MissingDataError(f"{stem}: spec {sid!r} does not fix delta and H")
            xu, yu = library_bound(t, upper, "n", overrides={"eps_q": 0.0}, figure=stem)
            _, yl = library_bound(t, lower, "n", overrides={"eps_q": 0.0}, figure=stem)
        except MissingDataError as exc:
            if i == 0:
                raise
            notes.append(f"{label!r} left out: {exc}")
            continue
        measured.append(series)
        notes += _fit_note(series)
        curves.append(BoundCurve(f"{upper_label} ($\\varepsilon_q=0$)", xu, yu + delta_h["delta"] * delta_h["H"],
                                 "upper", match=label))
        worst[sid] = {"bound": lower, "values": yl.tolist()}
        notes.append(f"{label!r}: the worst-case lower bound {lower} at H = {delta_h['H']:g} is {_span(yl)} along n, "
                     f"the measured regret {_span(series.mean)}; a minimax bound is not a bound on this instance, so it "
                     f"is not drawn (figure 7 draws it on its own construction)")
        used.append(t)
    fixed = _common_fixed(used, ["H", "eps_q"], [{}] * len(used))
    prov = {"measured_column": {r[0]: r[1] for r in rows},
            "bounds": {r[0]: r[3] for r in rows},
            "bound_overrides": {"eps_q": 0.0}, "upper_plus_delta_H": True,
            "worst_case_lower_bounds_not_drawn": worst}
    return ScalingData(tuple(measured), tuple(curves), fixed), prov, notes


def regret_vs_h_data(tables: Mapping[str, ResultTable]) -> tuple[ScalingData, dict, list]:
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
            ("thm7.det", "Alg. 1 on the trap (Thm 7)", "bound", "upper", "Thm 7 upper"))
    measured, curves, notes, prov = [], [], [], {}
    for i, (sid, label, column, kind, bound_label) in enumerate(rows):
        if sid not in tables and i > 0:
            continue  # optional series; the pipeline notes the missing spec
        t = _table(tables, sid, stem)
        where = {**_smallest(t, "eps"), **_smallest(t, "eps_q")}
        label += "".join(f", ${_TEX[k]} = {v:g}$" for k, v in where.items())
        try:
            series = measured_series(t, "regret", "H", label=label, rng=bootstrap_rng(stem, i), where=where)
            x, y = cell_values(t, column, "H", where=where, figure=stem)
        except MissingDataError as exc:
            if i == 0:
                raise
            notes.append(f"{label!r} left out: {exc}")
            continue
        measured.append(series)
        notes += _fit_note(series)
        curves.append(BoundCurve(bound_label, x, y, kind, match=label))
        prov[sid] = {"where": where, "measured_column": "regret", "bound_column": column}
    return ScalingData(tuple(measured), tuple(curves)), prov, notes


def regret_vs_eps_data(tables: Mapping[str, ResultTable]) -> tuple[ScalingData, dict, list]:
    r"""Figure 3: regret against the quantization error eps_q, for binning and for the trap quantizer.

    Measured ``regret`` of spec ``thm3.eps`` (binning, n = 256) and of spec
    ``fig3.trap`` (Theorem 6's trap quantizer, learner :math:`q_\#\pi^\star`), each against
    the quantity that *is* :math:`\varepsilon_q` for its kind of quantizer (Cao & Xie 2026, eq. 3 and
    Section 2):

    - binning: the sup error :math:`\sup_u \|q(u) - u\|`, the cells' measured ``eps_sup`` column
      (equal to the ladder, which the builder checks);
    - trap quantizer (learned): the **measured in-distribution error**
      :math:`\frac1H \mathbb E \sum_h \|u_h - q(u_h)\|` on the expert's runs (column ``eps_in``, mean
      over seeds with its t interval as a horizontal bar), not the construction's scale
      :math:`\varepsilon` that the spec's ladder sweeps.

    Bounds at the same x: binning's Theorem 3 explicit bound (column ``bound``), the trap's
    proof bound (column ``lower_bound``). The slope fits are against the plotted x.

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
        If either spec or a column is missing, or binning's ``eps_sup`` differs from its ladder.

    References
    ----------
    Cao & Xie 2026, Theorems 3 and 6.
    """
    stem = "fig3_regret_vs_eps_q"
    rows = (("thm3.eps", "binning (Thm 3)", None, "bound", "upper", "Thm 3 upper"),
            ("fig3.trap", "trap (Thm 6)", "eps_in", "lower_bound", "lower", "Thm 6 lower"))
    measured, curves, notes, prov, used = [], [], [], {}, []
    for i, (sid, label, x_column, column, kind, bound_label) in enumerate(rows):
        t = _table(tables, sid, stem)
        hn = fixed_params(t, ["H", "n"])
        label += "".join(f", ${k}={hn[k]:g}$" for k in ("H", "n") if k in hn)
        label += "\n$\\varepsilon_q$ = measured in-distribution error" if x_column else "\n$\\varepsilon_q$ = sup error"
        series = measured_series(t, "regret", "eps_q", label=label, rng=bootstrap_rng(stem, i), x_column=x_column)
        ladder, y = cell_values(t, column, "eps_q", figure=stem)
        if x_column is None:
            _, sup = cell_values(t, "eps_sup", "eps_q", figure=stem)
            if not np.allclose(sup, ladder, rtol=1e-9, atol=0.0):
                raise MissingDataError(f"{stem}: spec {sid!r} measured a sup error (eps_sup) {_span(sup)} that differs "
                                       f"from its eps_q ladder {_span(ladder)}")
        measured.append(series)
        notes += _fit_note(series)
        curves.append(BoundCurve(bound_label, series.x, y, kind, match=label))
        prov[sid] = {"measured_column": "regret", "bound_column": column, "x_column": x_column or "eps_sup",
                     "ladder_eps_q": ladder.tolist()}
        if x_column is not None:
            notes.append(f"the series of spec {sid!r} is drawn at its measured in-distribution error (column {x_column}), "
                         f"{_span(series.x)}, for the construction's scales eps = {_span(ladder)}")
        used.append(t)
    return ScalingData(tuple(measured), tuple(curves)), prov, notes
