r"""Figure data of claim ``thm3.h2``: regret of ``q#pi*`` against H, bistable instance and its control.

One builder, :func:`h2_horizon_data`, reads the result tables of the built-in specs ``thm3.h2`` and
``thm3.h2.control`` (cell ``thm3.h2``, :mod:`qbc_theory.verification.cells.horizon_h2`) and returns
``(ScalingData, provenance, notes)`` in the form of the other figure-data modules: four measured series
(the regret :math:`R(H)` and the second-half regret :math:`D(H) = R(H) - R(H/2)` of each spec, mean over
seeds with its t interval, power-law fit with its bootstrap interval). ``D`` is the statistic the claim
tests (slope CI above 1.3 for the claim, entirely below for the control); ``R`` is drawn beside it.

References
----------
Cao & Xie 2026, Theorem 3 and Proposition 5.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..results import ResultTable
from .containers import ScalingData
from .tables import BOOTSTRAP_ENTROPY, MissingDataError, _fit_note, _span, _table, fixed_params, measured_series

__all__ = ["H2_STEM", "H2_SPECS", "h2_horizon_data"]

H2_STEM = "fig8_h2_horizon"
"""File stem of the figure."""

H2_SPECS = ("thm3.h2", "thm3.h2.control")
"""The built-in specs the figure reads (claim first)."""

_STREAM = 1008
"""Spawn key of the figure's bootstrap streams: fixed here, apart from the paper figures' positional keys
(0, 1, ... in :data:`~qbc_theory.verification.figdata.tables.FIGURE_STEMS`), so the numbers do not depend on
where the figure is listed."""


def _rng(series: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(BOOTSTRAP_ENTROPY, spawn_key=(_STREAM, series)))


def h2_horizon_data(tables: Mapping[str, ResultTable]) -> tuple[ScalingData, dict, list]:
    r"""Regret of ``q#pi*`` against H on the bistable instance (``K = 5``) and its control (``K = 0.5``).

    Measured, for each of the two specs: ``regret`` (:math:`R(H) = J_H(\pi^*) - J_H(q_\#\pi^*)`) and
    ``regret_second_half``

    .. math:: D(H) = R(H) - R(H/2) = \mathbb{E}\sum_{h=H/2+1}^{H} \big(r(x_h) - r(y_h)\big),

    along ``H``, each with a power-law fit :math:`y = c H^p` (bootstrap over seeds). The claim's test reads
    ``D``: slope CI above 1.3 on ``thm3.h2`` and entirely below it on the control. No bound is drawn:
    Theorem 3's bound (column ``thm3_bound``) is at least ``H``, the largest possible regret, at every
    cell of both specs (the ``H^2`` term on the claim, ``1.625 H`` on the control), which the notes record.

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
        If a spec or one of its columns is missing.

    References
    ----------
    Cao & Xie 2026, Theorem 3 and Proposition 5.
    """
    stem = H2_STEM
    rows = (("thm3.h2", "bistable, $K=5$ (Prop. 5 fails)"),
            ("thm3.h2.control", "control, $K=0.5$ (Prop. 5 holds)"))
    measured, notes, prov, used = [], [], {}, []
    for i, (sid, label) in enumerate(rows):
        t = _table(tables, sid, stem)
        for j, (column, what) in enumerate((("regret", "$R(H)$"), ("regret_second_half", "$D(H)=R(H)-R(H/2)$"))):
            series = measured_series(t, column, "H", label=f"{label}: {what}", rng=_rng(2 * i + j))
            measured.append(series)
            notes += _fit_note(series)
        if "thm3_bound_over_H" in t.columns:
            over = sorted({float(r["thm3_bound_over_H"]) for r in t.rows})
            notes.append(f"spec {sid!r}: Theorem 3's bound is {_span(over)} times H (the largest possible regret) at "
                         f"every cell, so it is not drawn")
        prov[sid] = {"measured_columns": ["regret", "regret_second_half"], "along": "H",
                     "fixed": fixed_params(t, ["bins", "noise_std", "eval"])}
        used.append(t)
    eps = {float(r["eps_q"]) for t in used for r in t.rows} if all("eps_q" in t.columns for t in used) else set()
    if len(eps) != 1:
        raise MissingDataError(f"{stem}: expected one sup error eps_q shared by {', '.join(H2_SPECS)}, found "
                               f"{sorted(eps) or 'none'}")
    fixed = {"eps_q": eps.pop()}
    return ScalingData(tuple(measured), (), fixed), prov, notes
