r"""The figure of ``qbc audit --plot``: eps_q distribution, kappa(r) curves and the witness pair.

Drawing only: the input is the JSON-ready dictionary of an audit
(:meth:`qbc_theory.checker.audit.AuditResult.to_dict`), passed in by the command line.

References
----------
Cao & Xie 2026, Definition 4 and Proposition 5.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ..model.errors import DimensionError

__all__ = ["audit_figure", "save_audit_figure"]

_STYLES = {"bound": "-", "in_range_sup": "--", "p99": "-.", "mean": ":", "sup": (0, (1, 3))}
_COLOURS = {2.0: "#0072B2", 3.0: "#D55E00", 4.0: "#009E73"}


def _require(doc: dict, key: str):
    if not isinstance(doc, dict) or key not in doc:
        raise DimensionError(f"audit: expected an audit result with key {key!r}, found none")
    return doc[key]


def audit_figure(doc: dict) -> Figure:
    r"""Three panels from an audit result.

    (a) Histogram of the per-action errors ``||q(u) - u||`` on the audit split, with the sup, the
    in-range sup, the 99th percentile, the mean and the guaranteed bound marked. (b) The empirical
    modulus ``kappa(r)`` for each basis of eps_q (line style) and ``k`` (colour), with ``delta0`` of the
    primary basis at ``k = 3`` marked. (c) The witness pair of the primary reading (or of the first
    entry with one): raw and decoded actions of both states over the chunk, per action dimension.

    Parameters
    ----------
    doc : dict
        ``AuditResult.to_dict()``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    hist, eps, rtvc = _require(doc, "histogram"), _require(doc, "eps_q"), _require(doc, "rtvc")
    smooth, tok = _require(doc, "smoothness"), _require(doc, "tokenizer")
    fig = Figure(figsize=(11.0, 3.4), layout="constrained")
    ax1, ax2, ax3 = fig.subplots(1, 3)

    edges, counts = np.asarray(hist["edges"]), np.asarray(hist["counts"])
    ax1.stairs(counts, edges, fill=True, color="#999999")
    ax1.set_yscale("symlog", linthresh=1)
    for key, colour in (("mean", "#009E73"), ("p99", "#0072B2"), ("in_range_sup", "#E69F00"), ("sup", "#D55E00"),
                        ("bound", "black")):
        if eps.get(key) is not None:
            ax1.axvline(eps[key], color=colour, ls="--" if key == "bound" else "-", lw=1, label=f"{key} {eps[key]:.3g}")
    ax1.set_xlabel(r"$\|q(u) - u\|$ per action (audit split)")
    ax1.set_ylabel("actions")
    ax1.set_title(f"(a) eps_q of {tok['name']}; clipped {doc.get('clipped_fraction', 0):.3g}", fontsize=9)
    ax1.legend(fontsize=7)

    for r in rtvc:
        pts = [(a, b) for a, b in r["kappa"] if b is not None]
        if not pts:
            continue
        x, y = np.asarray(pts).T
        ax2.plot(x, y, ls=_STYLES.get(r["basis"], "-"), color=_COLOURS.get(r["k"], "grey"), lw=1.2,
                 label=f"{r['basis']}, k={r['k']:g}")
    main = next((r for r in rtvc if r["basis"] == smooth["primary"] and r["k"] == 3.0), None)
    if main is not None and main["delta0"] is not None:
        ax2.axvline(main["delta0"], color="black", lw=0.8, ls="--", label=f"delta0 ({smooth['primary']}, k=3)")
    ax2.set_xscale("log")
    ax2.set_xlabel(r"$r$ (state distance)")
    ax2.set_ylabel(r"$\hat\kappa(r)$: share of pairs with gap $> k\,\varepsilon_q$")
    ax2.set_title(f"(b) RTVC audit, {doc['pairs']['count']} pairs", fontsize=9)
    ax2.legend(fontsize=6, ncol=2)

    entry = main if (main is not None and main["witness"] is not None) else \
        next((r for r in rtvc if r["witness"] is not None), None)
    if entry is None:
        ax3.text(0.5, 0.5, "no witness pair", ha="center", va="center", transform=ax3.transAxes)
        ax3.set_axis_off()
    else:
        w = entry["witness"]
        dec, raw = np.asarray(w["actions"]), np.asarray(w["raw_actions"])   # (2, l, du)
        l, du = dec.shape[1], dec.shape[2]
        t = np.arange(l * du)
        for s, (colour, tag) in enumerate((("#0072B2", "x"), ("#D55E00", "x'"))):
            ax3.plot(t, raw[s].T.ravel(), "o", mfc="none", color=colour, ms=4, label=f"raw u({tag})")
            ax3.plot(t, dec[s].T.ravel(), "x" if l == 1 else "-", color=colour, ms=5, lw=1,
                     label=f"decoded q(u({tag}))")
        for j in range(1, du):
            ax3.axvline(j * l - 0.5, color="#cccccc", lw=0.5)
        ax3.set_xticks(t if t.size <= 20 else t[::max(1, t.size // 10)])
        ax3.set_xlabel("action dimension" if l == 1 else f"action dimension x step (chunk {l})")
        ax3.set_ylabel("action")
        ax3.set_title(f"(c) witness ({entry['basis']}, k={entry['k']:g})\nr={w['distance']:.2g}, "
                      f"gap={w['gap']:.3g} > eps'={entry['eps_prime']:.3g}", fontsize=9)
        ax3.legend(fontsize=6)
    return fig


def save_audit_figure(doc: dict, path) -> Path:
    """Draw :func:`audit_figure` and write it to ``path`` (``.png`` or ``.pdf``, by its suffix)."""
    p = Path(path)
    if p.suffix.lower() not in (".png", ".pdf"):
        raise DimensionError(f"plot: expected a .png or .pdf file name, found {str(p)!r}")
    fig = audit_figure(doc)
    try:
        fig.savefig(p, dpi=150, metadata={"Software": None} if p.suffix.lower() == ".png" else {"Creator": None})
    except OSError as exc:
        raise DimensionError(f"plot: cannot write {str(p)!r} ({exc.strerror or exc})") from None
    return p
