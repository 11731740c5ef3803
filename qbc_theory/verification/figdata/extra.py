r"""Figure data of figure 6 (Lipschitz blow-up against TVC learners) and figure 7 (bound sandwich).

Builders of the shape ``(data, provenance, notes)`` from the result tables of specs
``lipschitz.exp``, ``lipschitz.exp.control`` and ``fig6.tvc`` (figure 6) and ``thm8.tight``,
``thm9.tight`` and ``fig7.eps`` (figure 7).

References
----------
Cao & Xie 2026, Proposition 4, Theorems 2, 3, 8 and 9, and the appendix's Lipschitz example.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..results import ResultTable
from .containers import BlowupData, BlowupFigure, BoundCurve, Curve, SandwichData, SandwichPanel, ScalingData
from .tables import (CI_LEVEL, MissingDataError, _fit_note, _ladder, _require, _span, _table, bootstrap_rng,
                     cell_values, fixed_params, library_bound, measured_series)

__all__ = ["blowup_data", "blowup_regret_data", "blowup_figure", "sandwich_data"]


def blowup_data(tables: Mapping[str, ResultTable]) -> tuple[BlowupData, dict, list]:
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
    for sid, what in (("lipschitz.exp", "Lipschitz learner $Kx$"), ("lipschitz.exp.control", "control $Kx$")):
        t = _table(tables, sid, stem)
        _, rho = cell_values(t, "rho_closed_loop", "H", figure=stem)
        label = f"{what}, $\\rho(A+BK) = {rho[0]:.3g}$"
        series = measured_series(t, "gap", "H", label=label, fit=False)
        curves.append(Curve(label, series.x, series.mean))
        if sid == "lipschitz.exp":
            x, closed = cell_values(t, "gap_closed_form", "H", figure=stem)
            curves.append(Curve(f"closed form, $\\rho(A+BK) = {rho[0]:.3g}$", x, closed, exact=True))
        prov[sid] = {"measured_column": "gap", "rho_closed_loop": float(rho[0]),
                     "ci": {"low": list(series.ci_low or ()), "high": list(series.ci_high or ()),
                            "level": CI_LEVEL}}
    fixed = fixed_params(tables["lipschitz.exp"], ["delta"])
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
            label = f"TVC learner, $s = {s:g}$, $\\rho(A+BK) = {rho[0]:.3g}$"
            series = measured_series(tvc, "gap", "H", label=label, where=where, fit=False)
            _, closed = cell_values(tvc, "gap_closed_form", "H", where=where, figure=stem)
            tvc_curves.append(Curve(label, series.x, series.mean))
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
    return BlowupData(tuple(curves), fixed), prov, notes


_EXAMPLE_PARAMS = ("A", "B", "K", "delta")


def _same_example(reference: ResultTable, other: ResultTable, figure: str) -> None:
    """Refuse a spec whose example differs from ``reference``'s (its curves would not be comparable)."""
    differ = [f"{k}: {other.params.get(k)!r} vs {reference.params.get(k)!r}" for k in _EXAMPLE_PARAMS
              if other.params.get(k) != reference.params.get(k)]
    if differ:
        raise MissingDataError(f"{figure}: spec {other.spec_id!r} is not the example of spec {reference.spec_id!r} "
                               f"({'; '.join(differ)})")


def blowup_regret_data(tables: Mapping[str, ResultTable]) -> tuple[ScalingData, dict, list]:
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
        bounds.append(BoundCurve(f"Prop 4 upper, $s = {s:g}$", x, p4.mean(axis=0), "upper", match=label))
        notes.append(f"Proposition 4's explicit bound for the TVC learner s = {s:g} is {_span(p4.mean(axis=0))} "
                     f"along H = {_span(x)}: valid (P-EIISS, TVC) but above the trivial bound H at every H")
    x, closed = cell_values(t, "regret_closed_form", "H", where=first, figure=stem)
    bounds.append(BoundCurve("trivial upper ($H$)", x, x, "upper"))
    notes.append(f"regret of both learners in expectation (closed form): {_span(closed)} along H; measured "
                 f"Lipschitz {_span(lip.mean)}, TVC " + ", ".join(f"s = {s:g}: {_span(m.mean)}"
                                                               for s, m in zip(smoothing, measured[1:])))
    prov = {"spec": "fig6.tvc", "measured_columns": ["regret", "regret_lipschitz"], "bound_column": "prop4",
            "regret_closed_form": closed.tolist(), "reward": "clip(1/2 + x / reward_scale, 0, 1)"}
    return ScalingData(tuple(measured), tuple(bounds), fixed_params(t, ["delta"])), prov, notes


def blowup_figure(tables: Mapping[str, ResultTable]) -> tuple[BlowupFigure, dict, list]:
    """Figure 6: the state-gap panel (:func:`blowup_data`) and, with spec ``fig6.tvc``, the regret panel.

    Parameters
    ----------
    tables : mapping of spec id to ResultTable

    Returns
    -------
    data : BlowupFigure
    provenance : dict
    notes : list of str

    Raises
    ------
    MissingDataError
        If the gap panel's data is missing (a missing regret panel is only noted).
    """
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


def sandwich_data(tables: Mapping[str, ResultTable]) -> tuple[SandwichData, dict, list]:
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
            series = measured_series(t, "regret_avg", "n", label=label, rng=bootstrap_rng(stem, i))
            x, lo = cell_values(t, "bound", "n", figure=stem)
            over = {"eps_q": 0.0, "Pi": 2.0, "delta": _SANDWICH_DELTA}
            _, up = library_bound(t, upper, "n", overrides=over, figure=stem)
            H = fixed_params(t, ["H"])["H"]
        except (MissingDataError, KeyError) as exc:
            if i == 0:
                raise MissingDataError(f"{stem}: {exc}") from None
            notes.append(f"panel {label!r} left out: {exc}")
            continue
        panels.append(SandwichPanel("n", x, lo, up + _SANDWICH_DELTA * H, series, lower_label,
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
    return SandwichData(tuple(panels)), prov, notes


_SANDWICH_DELTA = 0.05  # confidence parameter of the upper bounds turned into bounds on the mean


def _sandwich_eps_panel(t: ResultTable, stem: str) -> tuple[SandwichPanel, dict, list]:
    """Figure 7's panel along eps_q from spec ``fig7.eps`` (see :func:`sandwich_data`)."""
    label = "deterministic expert (Thm 8 binned instance)"
    _require(t, ["regret_avg", "bound", "upper_trivial", "upper_thm3", "bound_lecam", "regret_avg_exact"], stem)
    series = measured_series(t, "regret_avg", "eps_q", label=label, rng=bootstrap_rng(stem, 2))
    x, lo = cell_values(t, "bound", "eps_q", figure=stem)
    _, up = cell_values(t, "upper_trivial", "eps_q", figure=stem)
    _, thm3 = cell_values(t, "upper_thm3", "eps_q", figure=stem)
    _, lecam = cell_values(t, "bound_lecam", "eps_q", figure=stem)
    _, exact = cell_values(t, "regret_avg_exact", "eps_q", figure=stem)
    fixed = fixed_params(t, ["H", "n"])
    vacuous = bool(np.all(thm3 >= up))
    upper, upper_label = (up, "trivial upper ($H$)") if vacuous else (np.minimum(thm3, up), "min(Thm 3, $H$) upper")
    notes = [f"panel along eps_q: Theorem 3's explicit bound on this instance (Gamma = 1, L = 1 - 2 eps_q, |Pi| = 2, "
             f"k = {fixed_params(t, ['k']).get('k', float('nan')):g}, plus delta H) is {_span(thm3)}, "
             + ("above H on the whole ladder: the upper bound drawn is the trivial H" if vacuous
                else "below H somewhere: the upper bound drawn is the smaller of it and H"),
             f"panel along eps_q: measured two-truth average regret {_span(series.mean)}, exact expectation of this "
             f"learner {_span(exact)}, instance's exact-TV Le Cam bound {_span(lecam)}, library Theorem 8 bound "
             f"{_span(lo)}"]
    notes += _fit_note(series)
    prov = {"measured_column": "regret_avg", "lower_column": "bound", "upper_column": "upper_trivial",
            "upper_thm3": thm3.tolist(), "bound_lecam": lecam.tolist(), "regret_avg_exact": exact.tolist()}
    panel = SandwichPanel("eps_q", x, lo, upper, series, "Thm 8 lower", upper_label, fixed=fixed)
    return panel, prov, notes
