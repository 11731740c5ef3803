r"""Audit a tokenizer on logged demonstrations: its error eps_q and the RTVC of the quantized expert.

The data are the expert's states and actions; the tokenizer is fitted on one part of the episodes and
audited on the other (``qbc audit``). Three questions are answered from the data alone:

1. **eps_q.** The per-action error ``e = ||q(U)_t - U_t||`` on the audit part: its sup, 99th
   percentile, mean (the in-distribution eps_q of a learned quantizer, Cao & Xie 2026, Section 2), the
   sup over in-range actions (where the tokenizer's own guarantee holds: no clipping, no fallback),
   the guaranteed bound ``eps_bound`` where the tokenizer has one, and the fraction of clipped actions.
2. **RTVC (Definition 4) of q#pi.** For a deterministic expert ``W_{c_eps'}`` between the point masses
   ``q(pi(x))`` and ``q(pi(x'))`` is ``1{||q(pi(x)) - q(pi(x'))|| > eps'}``. Over pairs of audited
   states (on at most ``budget`` states: every pair within ``r_max`` by ``scipy.spatial.cKDTree.query_pairs``,
   and each state with its nearest neighbours, which reach farther where the states are sparse)
   the audit reports the empirical modulus ``kappa(r)``, the fraction of pairs at distance ``<= r``
   whose decoded actions differ by more than ``eps' = k eps_q``, for ``k in {2, 3, 4}`` and ``eps_q`` taken
   as each of ``bound``, ``sup``, ``in_range_sup``, ``p99`` and ``mean``, and the closest such pair (a
   witness: any eps'-RTVC modulus has ``kappa = 1`` at its distance).
3. **Proposition 5's reading.** With ``L_hat = max ||u - u'|| / ||x - x'||`` over the same pairs (a lower
   bound on the expert's Lipschitz constant), binning with error ``eps_q`` keeps decoded gaps within
   ``eps'`` up to ``delta0 = (k - 2) eps_q / L_hat`` (Proposition 5 (ii)). A witness at a distance
   ``<= delta0`` shows the tokenizer is worse than binning there: q#pi is not eps'-RTVC with any modulus
   below 1 at that distance (Proposition 5 (i)). On these pairs ``||q(u) - q(u')|| <= e + e' + L_hat r``,
   so a witness below ``delta0`` needs an error above ``eps_q`` at one end: with ``eps_q`` the sup over the
   audit part no witness can appear (that basis is reported for completeness); the bound, the in-range
   sup, the 99th percentile and the mean have teeth.

**Chunks.** A chunked tokenizer (``l > 1``) emits ``l`` actions from the state at the chunk's start,
executed open loop. The audit reads it as the paper's per-step setting on the chunk-level process:
states ``x_h`` at ``h = 1, l + 1, 2l + 1, ...``, actions the chunks with the norm ``max_t ||U_t||``. The
per-action errors are pooled over the steps of the chunks, so eps_q is comparable across tokenizers.

Dynamics are not in the data: stability (P-IISS, Definition 3) is checked only when an instance is
given, through :func:`qbc_theory.checker.report.check`.

References
----------
Cao & Xie 2026, Definition 4, Proposition 5, Theorems 2, 3, 6 and 7.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.spatial

from ..model.dataset import Demonstrations, chunk_episodes, split_episodes
from ..model.errors import DimensionError
from ..model.validation import as_int, reject_unknown_kwargs

__all__ = ["AuditResult", "audit", "DEFAULT_BUDGET", "BASES", "K_VALUES"]

DEFAULT_BUDGET = 20_000
"""States (chunk starts) used for the pair search by default; a random subsample beyond this."""

K_VALUES = (2.0, 3.0, 4.0)
"""The multipliers ``k`` of ``eps' = k eps_q``."""

BASES = ("bound", "in_range_sup", "p99", "mean", "sup")
"""The eps_q that eps' is built on, in the order reported."""

_NEIGHBOURS = 32  # r_max is at most the median distance to the 32nd neighbour of a probe state
_PAIRS_PER_STATE = 50  # cap on the pairs, per state in the search (r_max shrinks to meet it)
_PROBES = 500  # probe states for the choice of r_max
_PROBE_K = 64  # neighbours of each probe state
_KNN = 8  # every state is also paired with its 8 nearest neighbours, however far
_GRID = 14
_HIST_BINS = 40
_CHUNK_NOISE_RATIO = 10.0  # whole-chunk vs first-action Lipschitz estimates beyond this: a stochastic chunk


def _exceeds(gap, eps_prime: float):
    """``gap > eps'`` up to round-off (the rule of :mod:`qbc_theory.checker.smoothness`)."""
    return np.asarray(gap) > eps_prime * (1.0 + 1e-9) + 1e-12


def _num(v):
    return None if v is None or not math.isfinite(v) else float(v)


@dataclass(frozen=True)
class AuditResult:
    """What :func:`audit` found (``qbc audit --json`` is :meth:`to_dict`).

    Attributes
    ----------
    data, split, tokenizer : dict
    eps_q : dict
        ``sup``, ``p99``, ``mean``, ``in_range_sup``, ``bound`` (per action, data units).
    clipped_fraction, out_of_range_fraction : float
    histogram : dict
        ``edges`` and ``counts`` of the per-action errors.
    fallback : dict or None
        For tokenizers with an undecodable-sequence fallback: ``fraction``, ``jump``, ``zero_chunk_action``.
    pairs : dict
        The pair search: ``budget``, ``states``, ``states_available``, ``r_max`` (every pair within it is
        audited), ``r_top`` (the farthest nearest-neighbour pair), ``count``, ``cap``.
    expert : dict
        ``lipschitz_lower_bound`` (whole chunks), ``lipschitz_first_action`` and ``zero_distance_conflicts``
        (audited states that repeat an earlier state with a different action chunk: a stochastic expert or
        a state that misses something).
    rtvc : tuple of dict
        One entry per (basis, k).
    smoothness : dict
        The reading: ``primary``, ``verdict``, ``theorem``, ``notes``, ``unchecked``.
    stability : dict or None
        From the instance, when given.
    """

    data: dict
    split: dict
    tokenizer: dict
    eps_q: dict
    clipped_fraction: float
    out_of_range_fraction: float
    histogram: dict
    fallback: dict | None
    pairs: dict
    expert: dict
    rtvc: tuple
    smoothness: dict
    stability: dict | None

    def to_dict(self) -> dict:
        """JSON-ready (strict: no NaN or inf)."""
        return {"data": self.data, "split": self.split, "tokenizer": self.tokenizer, "eps_q": self.eps_q,
                "clipped_fraction": self.clipped_fraction, "out_of_range_fraction": self.out_of_range_fraction,
                "histogram": self.histogram, "fallback": self.fallback, "pairs": self.pairs,
                "expert": self.expert, "rtvc": list(self.rtvc), "smoothness": self.smoothness,
                "stability": self.stability}

    def format_text(self) -> str:
        """A human-readable report."""
        def num(v):
            return "-" if v is None else f"{v:.4g}"

        t, s, e = self.tokenizer, self.split, self.eps_q
        lines = [f"qbc audit: {t['name']} (chunk {t['chunk']}) on {self.data['steps']} steps, "
                 f"{self.data['episodes']} episodes, dx={self.data['dx']}, du={self.data['du']}",
                 f"  fit on {s['fit_episodes']} episodes ({s['fit_chunks']} chunks), audit on "
                 f"{s['audit_episodes']} ({s['audit_chunks']} chunks); {s['dropped_steps']} steps at episode "
                 "ends dropped", "",
                 "eps_q on the audit split (per action, ||q(u) - u||)",
                 f"  sup {num(e['sup'])}   p99 {num(e['p99'])}   mean {num(e['mean'])}   "
                 f"in-range sup {num(e['in_range_sup'])}   guaranteed bound {num(e['bound'])}",
                 f"  clipped fraction {self.clipped_fraction:.4g}   out of range {self.out_of_range_fraction:.4g}"]
        if self.fallback is not None:
            f = self.fallback
            lines.append(f"  fallback: {f['fraction']:.4g} of audit chunks decode to the zero chunk "
                         f"(action {[round(v, 4) for v in f['zero_chunk_action']]}); jump up to {num(f['jump'])}")
        p = self.pairs
        lines += ["", f"RTVC audit on {p['count']} pairs among {p['states']} of {p['states_available']} audit states "
                      f"(budget {p['budget']}): all pairs with r <= {num(p['r_max'])}, nearest neighbours up to "
                      f"r = {num(p['r_top'])}",
                  f"  expert: L_hat = {num(self.expert['lipschitz_lower_bound'])} (max ||u - u'||/||x - x'||, "
                  "a lower bound on L"
                  + ("" if t["chunk"] == 1 else f"; first actions of chunks only: "
                     f"{num(self.expert['lipschitz_first_action'])}") + ")",
                  f"  {'basis':<13}{'k':>3}{'eps_prime':>11}{'delta0':>11}{'kappa(delta0)':>15}"
                  f"{'kappa(r_top)':>14}  witness"]
        for r in self.rtvc:
            w = r["witness"]
            kd = r["kappa_at_delta0"]
            lines.append(f"  {r['basis']:<13}{r['k']:>3g}{num(r['eps_prime']):>11}{num(r['delta0']):>11}"
                         f"{num(kd):>15}{num(r['kappa'][-1][1] if r['kappa'] else None):>14}  "
                         + ("none" if w is None else f"r={w['distance']:.3g}, gap={w['gap']:.3g}"
                            + (" (below delta0)" if r["below_delta0"] else "")))
        sm = self.smoothness
        lines += ["", "reading", f"  {sm['verdict']}", f"  {sm['theorem']}"]
        lines += [f"  - {n}" for n in sm["notes"]]
        if self.stability is not None:
            st = self.stability
            lines += ["", f"stability (instance {st['instance']})",
                      f"  globally P-IISS {'yes' if st['globally_p_iiss'] else 'no'}, Gamma {num(st['Gamma'])}, "
                      f"C {num(st['C'])}, eta {num(st['eta'])}",
                      f"  {st['reason']}",
                      f"  L used {num(st['L'])} ({st['L_source']}); H^2 term of Theorem 3 vanishes at k = 3: "
                      f"{'-' if st['h2_term_vanishes'] is None else ('yes' if st['h2_term_vanishes'] else 'no')}"]
        lines += ["", "unchecked"] + [f"  - {u}" for u in sm["unchecked"]]
        return "\n".join(lines) + "\n"


def _subsample(m: int, budget: int, rng: np.random.Generator) -> np.ndarray:
    if m <= budget:
        return np.arange(m)
    return np.sort(rng.choice(m, size=budget, replace=False))


def _pairs(S: np.ndarray, rng: np.random.Generator):
    """Every pair of states within ``r_max`` and each state with its ``_KNN`` nearest neighbours.

    ``r_max`` starts at the median distance to the ``_NEIGHBOURS``-th neighbour of probe states. Clustered
    states (a closed loop converging to an equilibrium) can put far more pairs within it than the median
    suggests, so the probe's ``_PROBE_K`` nearest neighbours estimate the count first,
    ``m/2 mean_probe #{within r}``, where a probe with all its neighbours within ``r`` is extrapolated
    with its local dimension, and ``r_max`` shrinks until the estimate meets the cap
    (``_PAIRS_PER_STATE`` per state); if the pairs found still exceed it, the closest are kept. The
    nearest-neighbour pairs reach beyond ``r_max`` where the states are sparse.
    """
    m = S.shape[0]
    if m < 2:
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0), 0.0
    tree = scipy.spatial.cKDTree(S)
    kp = min(_PROBE_K, m - 1)
    d = tree.query(S[_subsample(m, _PROBES, rng)], k=kp + 1)[0][:, 1:]
    r_max = float(np.median(d[:, min(_NEIGHBOURS, kp) - 1]))
    if r_max <= 0:
        r_max = float(d.max())
    cap = _PAIRS_PER_STATE * m

    # a probe with all its kp neighbours within r: extrapolate its count with the local dimension
    # p = log 2 / log(d_kp / d_kp/2) (count ~ r^p), so a tight cluster (d_kp ~ d_kp/2) counts as all m
    with np.errstate(divide="ignore", invalid="ignore"):
        p_loc = np.log(2.0) / np.log(d[:, -1] / d[:, kp // 2 - 1])
    p_loc = np.where(np.isfinite(p_loc) & (p_loc > 0), p_loc, np.inf)

    def estimate(r):
        within = (d <= r).sum(axis=1)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            extra = np.where(d[:, -1] > 0, kp * (r / d[:, -1]) ** p_loc, np.inf)
        count = np.where(within >= kp, np.minimum(np.nan_to_num(extra, nan=np.inf), m - 1), within)
        return m / 2.0 * count.mean()

    if estimate(r_max) > cap:
        radii = r_max * np.geomspace(1e-9, 1.0, 91)
        ok = [r for r in radii if estimate(r) <= cap]
        r_max = float(ok[-1]) if ok else float(radii[0])
    P = tree.query_pairs(r_max, output_type="ndarray").reshape(-1, 2)
    if P.shape[0] > cap:
        dist = np.linalg.norm(S[P[:, 0]] - S[P[:, 1]], axis=1)
        P = P[np.argpartition(dist, cap - 1)[:cap]]
        r_max = float(dist[np.argpartition(dist, cap - 1)[:cap]].max())
    # each state's nearest neighbours: pairs beyond r_max where the states are sparse
    k = min(_KNN, m - 1)
    nn = tree.query(S, k=k + 1)[1][:, 1:]
    Q = np.stack([np.repeat(np.arange(m), k), nn.ravel()], axis=1)
    Q = Q[Q[:, 1] < m]
    both = np.concatenate([P, np.sort(Q, axis=1)])
    both = np.unique(both[:, 0].astype(np.int64) * m + both[:, 1])
    P = np.stack([both // m, both % m], axis=1)
    dist = np.linalg.norm(S[P[:, 0]] - S[P[:, 1]], axis=1)
    return P, dist, r_max


def _gap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``max_t ||a_t - b_t||`` for chunks ``(P, l, du)``."""
    return np.linalg.norm(a - b, axis=-1).max(axis=-1)


def _pair_gap(X: np.ndarray, P: np.ndarray, block: int = 65536) -> np.ndarray:
    """``_gap`` of the chunks of every pair, in blocks of pairs (the gathered chunks would be large)."""
    out = np.empty(P.shape[0])
    for s in range(0, P.shape[0], block):
        out[s:s + block] = _gap(X[P[s:s + block, 0]], X[P[s:s + block, 1]])
    return out


def _witness(i, j, dist, gap, S, raw, dec, tokens) -> dict:
    return {"distance": float(dist), "gap": float(gap), "states": [S[i].tolist(), S[j].tolist()],
            "actions": [dec[i].tolist(), dec[j].tolist()], "raw_actions": [raw[i].tolist(), raw[j].tolist()],
            "tokens": [tokens[i].tolist(), tokens[j].tolist()]}


def audit(demos: Demonstrations, tokenizer, **options) -> AuditResult:
    r"""Fit ``tokenizer`` on part of the episodes and audit its error and RTVC on the rest.

    .. math::

        \hat\kappa(r) = \frac{\#\{(i, j): \|x_i - x_j\| \le r,\ \max_t \|q(U_i)_t - q(U_j)_t\| > k\varepsilon_q\}}
        {\#\{(i, j): \|x_i - x_j\| \le r\}},\qquad \delta_0 = \frac{(k - 2)\varepsilon_q}{\hat L}.

    Parameters
    ----------
    demos : Demonstrations
    tokenizer : an unfitted tokenizer of :mod:`qbc_theory.model.tokenizers`
    fit_fraction : float
        Share of the episodes the tokenizer is fitted on (default 0.5).
    seed : int
        Seed of the split and of the pair subsample (default 0).
    budget : int
        Largest number of audited states in the pair search (default :data:`DEFAULT_BUDGET`).
    instance : Instance, optional
        The system the data came from: its stability is checked (``check``) and its expert's
        Lipschitz constant is used with ``L_hat``.

    Returns
    -------
    AuditResult

    Raises
    ------
    DimensionError
        Too few episodes or chunks, or an instance whose dimensions do not match the data.

    References
    ----------
    Cao & Xie 2026, Definition 4, Proposition 5, Theorems 2, 3, 6, 7.
    """
    fit_fraction = options.pop("fit_fraction", 0.5)
    seed = as_int("seed", options.pop("seed", 0), minimum=0)
    budget = as_int("budget", options.pop("budget", DEFAULT_BUDGET), minimum=2)
    instance = options.pop("instance", None)
    reject_unknown_kwargs("audit", options)
    if instance is not None and (instance.system.dx, instance.system.du) != (demos.dx, demos.du):
        raise DimensionError(f"instance: expected dx={demos.dx}, du={demos.du} like the data, found "
                             f"dx={instance.system.dx}, du={instance.system.du}")
    rng_split, rng_pairs = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    fit, aud = split_episodes(demos, fit_fraction, rng_split)
    l = tokenizer.chunk
    fx, fu, fdrop = chunk_episodes(fit, l)
    ax, au, adrop = chunk_episodes(aud, l)
    for part, m in (("fit", fx.shape[0]), ("audit", ax.shape[0])):
        if m == 0:
            raise DimensionError(f"chunk: expected episodes of at least chunk={l} steps in the {part} split, "
                                 "found none")
    tok = tokenizer.fit(fu, fx)
    tokens = tok.encode(au)
    dec = tok.decode(tokens, ax)
    err = np.linalg.norm(dec - au, axis=-1)                      # (M, l)
    inr = tok.in_range(au)
    flat = err.ravel()
    in_flat = flat[inr.ravel()]
    bound = tok.eps_bound
    eps = {"sup": float(flat.max()), "p99": float(np.percentile(flat, 99)), "mean": float(flat.mean()),
           "in_range_sup": float(in_flat.max()) if in_flat.size else None,
           "bound": None if bound is None else float(bound)}
    out_frac = float(1.0 - inr.mean())
    clipped = out_frac if tok.clips else 0.0
    counts, edges = np.histogram(flat, bins=_HIST_BINS)
    fb = None
    if hasattr(tok, "zero_chunk_action"):
        bad = tok.fallback(tokens)
        zero = np.broadcast_to(tok.zero_chunk_action, dec.shape)
        fb = {"fraction": float(bad.mean()), "jump": float(_gap(dec, zero).max()),
              "zero_chunk_action": tok.zero_chunk_action.tolist(),
              "rule": "a token sequence of the wrong length or with a coefficient outside the fitted alphabet "
                      "decodes to the zero chunk; jump = max over audit chunks of max_t ||q(U)_t - zero_t||"}

    # pair search
    sub = _subsample(ax.shape[0], budget, rng_pairs)
    # identical states are one state: a pair at distance 0 says nothing of a modulus, and a deterministic
    # expert plays one action there (conflicts are counted, they point to a stochastic expert)
    _, first, inverse = np.unique(ax[sub], axis=0, return_index=True, return_inverse=True)
    rep = sub[first[inverse.ravel()]]
    conflicts = int(np.sum(np.any(au[sub] != au[rep], axis=(1, 2))))
    sub = sub[np.sort(first)]
    S, raw, D, T = ax[sub], au[sub], dec[sub], tokens[sub]
    P, dist, r_max = _pairs(S, rng_pairs)
    gap_dec, gap_raw = _pair_gap(D, P), _pair_gap(raw, P)
    L_hat = float(np.max(gap_raw / dist)) if dist.size else None
    first = np.linalg.norm(raw[P[:, 0], 0] - raw[P[:, 1], 0], axis=-1) if dist.size else np.zeros(0)
    L_first = float(np.max(first / dist)) if dist.size else None
    order = np.argsort(dist, kind="stable")
    ds = dist[order]
    positive = ds[ds > 0]
    r_top = float(ds[-1]) if ds.size else r_max
    r_lo = float(np.quantile(positive, 0.01)) if positive.size else r_top
    grid = np.geomspace(max(r_lo, r_top * 1e-12), r_top, _GRID) if r_top > 0 else np.array([r_top])
    within = np.searchsorted(ds, grid, side="right")

    entries = []
    for basis in BASES:
        e = eps[basis]
        if e is None or not e > 0:
            continue
        for k in K_VALUES:
            ep = k * e
            ex = _exceeds(gap_dec, ep)
            cum = np.concatenate([[0], np.cumsum(ex[order])])
            kappa = [[float(r), (float(cum[w] / w) if w else None)] for r, w in zip(grid, within)]
            if L_hat is None:
                delta0 = None
            elif L_hat == 0:
                delta0 = math.inf
            else:
                delta0 = (k - 2.0) * e / L_hat
            kd = None
            if delta0 is not None:
                w0 = int(np.searchsorted(ds, delta0, side="right"))
                kd = float(cum[w0] / w0) if w0 else None
            wit, below = None, False
            if ex.any():
                i = int(np.flatnonzero(ex)[np.argmin(dist[ex])])
                wit = _witness(P[i, 0], P[i, 1], dist[i], gap_dec[i], S, raw, D, T)
                below = delta0 is not None and dist[i] <= delta0
            entries.append({"basis": basis, "eps_q": e, "k": k, "eps_prime": ep, "delta0": _num(delta0),
                            "delta0_infinite": delta0 == math.inf,
                            "delta0_covered": delta0 is not None and delta0 <= r_max, "kappa": kappa,
                            "pairs_within": within.tolist(), "kappa_at_delta0": kd, "witness": wit,
                            "below_delta0": bool(below)})

    learned = bound is None
    primary = "mean" if learned else "bound"
    smooth = _reading(tok, entries, primary, clipped, out_frac, fb, L_hat, l, r_max, L_first)
    L_for_h2 = L_first if smooth["stochastic_chunks"] else L_hat
    stab = _stability(instance, L_for_h2, smooth["stochastic_chunks"]) if instance is not None else None
    if stab is not None:
        smooth["unchecked"] = [u for u in smooth["unchecked"] if not u.startswith("stability")]
    return AuditResult(
        data=demos.to_dict(),
        split={"fit_fraction": float(fit_fraction), "seed": seed, "fit_episodes": fit.n_episodes,
               "audit_episodes": aud.n_episodes, "fit_chunks": int(fx.shape[0]), "audit_chunks": int(ax.shape[0]),
               "dropped_steps": fdrop + adrop},
        tokenizer={**tok.to_dict(), "chunk": l, "family": "learned" if learned else "binning-type"},
        eps_q=eps, clipped_fraction=clipped, out_of_range_fraction=out_frac,
        histogram={"edges": edges.tolist(), "counts": counts.tolist()}, fallback=fb,
        pairs={"budget": budget, "states": int(S.shape[0]), "states_available": int(ax.shape[0]),
               "r_max": float(r_max), "r_top": r_top, "count": int(P.shape[0]),
               "cap": _PAIRS_PER_STATE * int(S.shape[0]),
               "duplicates_removed": int(min(budget, ax.shape[0]) - S.shape[0]),
               "rule": f"every pair within r_max (cKDTree.query_pairs) and every state with its {_KNN} nearest "
                       f"neighbours (cKDTree.query), up to r_top; r_max = median distance to the neighbour of "
                       f"rank {_NEIGHBOURS} of {_PROBES} probe states, shrunk until an estimate from their "
                       f"{_PROBE_K} nearest neighbours allows at most {_PAIRS_PER_STATE} pairs per state (the "
                       "closest kept beyond); states beyond the budget are subsampled at random; identical "
                       "states are merged"},
        expert={"lipschitz_lower_bound": _num(L_hat), "lipschitz_first_action": _num(L_first),
                "zero_distance_conflicts": conflicts},
        rtvc=tuple(entries), smoothness=smooth, stability=stab)


def _reading(tok, entries, primary, clipped, out_frac, fb, L_hat, l, r_max, L_first) -> dict:
    """Proposition 5's reading of the primary entry (k = 3) and which theorem it bears on."""
    main = next((r for r in entries if r["basis"] == primary and r["k"] == 3.0), None)
    notes, unchecked = [], []
    if main is None:
        verdict = f"no RTVC reading: eps_q ({primary}) is zero or undefined on the audit split"
    elif main["below_delta0"]:
        w = main["witness"]
        verdict = (f"witness: q#pi is not eps'-RTVC with a modulus below 1 at r = {w['distance']:.3g} "
                   f"(eps' = 3 x {primary} eps_q = {main['eps_prime']:.4g}; decoded gap {w['gap']:.4g}); binning "
                   f"with the same eps_q keeps gaps within eps' up to delta0 = {main['delta0']:.3g} (Proposition 5)")
    else:
        extra = "" if main["witness"] is None else \
            f"; the closest pair beyond eps' is at r = {main['witness']['distance']:.3g} > delta0"
        d0 = "inf" if main["delta0_infinite"] else ("-" if main["delta0"] is None else f"{main['delta0']:.3g}")
        cover = "" if main["delta0_covered"] else \
            f"; all pairs are audited only up to r_max = {r_max:.3g} < delta0 (beyond, nearest neighbours only)"
        verdict = (f"consistent with binning's modulus 1{{r > delta0}} at k = 3 on {primary} eps_q "
                   f"(eps' = {main['eps_prime']:.4g}, delta0 = {d0}){extra}{cover}")
    stochastic_chunks = (l > 1 and L_hat is not None and L_first is not None
                         and L_hat > _CHUNK_NOISE_RATIO * max(L_first, 1e-300))
    if stochastic_chunks:
        verdict = "inconclusive, the chunk-level expert is stochastic (see the notes): " + verdict
    witnessed = main is not None and main["below_delta0"]
    if tok.learned or tok.eps_bound is None:
        if witnessed:
            theorem = ("Theorem 3 does not apply (it needs a binning quantizer and RTVC): this is Theorem 6's "
                       "failure mode, where a non-RTVC learned tokenizer can cost H Omega(1) even with a small "
                       "in-distribution eps_q; Theorem 7 (Algorithm 1) needs no smoothness")
        else:
            theorem = ("no witness below delta0: q#pi looks RTVC on the audited pairs, but Theorem 3 needs a "
                       "binning quantizer with a sup error bound, which a learned tokenizer does not have; "
                       "Theorem 7 (Algorithm 1) needs no smoothness")
        notes.append("eps_q of a learned tokenizer is its in-distribution mean error (Cao & Xie 2026, Section 2); "
                     "the primary reading uses it")
    else:
        if witnessed:
            theorem = ("Theorem 3's smoothness hypothesis (k eps_q-RTVC with Proposition 5's binning modulus) is "
                       "contradicted on these data at k = 3")
        else:
            theorem = ("Theorem 3's smoothness hypothesis (k eps_q-RTVC with Proposition 5's binning modulus, "
                       "k = 3, eps_q = the guaranteed bound) is consistent with the data")
        if clipped > 0:
            notes.append(f"{clipped:.3g} of audit actions were clipped: there the error exceeds the bound and "
                         "eq. (3) of Cao & Xie 2026 (sup ||q(u) - u|| <= eps_q) fails; Theorem 3 then holds only "
                         "with eps_q = the sup over all actions")
        if fb is not None and fb["fraction"] > 0:
            notes.append(f"{fb['fraction']:.3g} of audit chunks fall outside the fitted alphabet and decode to the "
                         "zero chunk: the tokenizer's sup bound fails there")
    if fb is not None:
        notes.append(f"the decoder's fallback is a discontinuity of size up to {fb['jump']:.4g}: a sampled token "
                     "sequence one token too long or short decodes to the zero chunk")
    if L_hat is None:
        notes.append("no pair at positive distance: the expert's Lipschitz constant cannot be estimated")
    if l > 1:
        notes.append(f"chunk {l}: read at chunk level (states at chunk starts, chunks executed open loop, "
                     "norm max_t ||U_t||); Theorem 3's per-step hypotheses are checked on that process")
        if stochastic_chunks:
            notes.append(f"the logged chunks are not a Lipschitz function of their start state (L_hat {L_hat:.3g} "
                         f"over whole chunks, {L_first:.3g} over first actions): later actions depend on what "
                         "happened within the chunk (process noise), so the chunk-level expert is stochastic, "
                         "delta0 is tiny and Proposition 5's deterministic reading says little")
    notes.append("Theorem 2 (a stochastic expert, TVC with a linear modulus) cannot be checked from one logged "
                 "action per state; a deterministic expert's q#pi is TVC only where it is locally constant")
    unchecked.append("stability (P-IISS, Definition 3): the dynamics are not in the data (give --instance)")
    unchecked.append("L_hat is a lower bound on the expert's Lipschitz constant (delta0 can only shrink with the "
                     "true L); the pairs are all those within r_max among the budgeted states, and nearest "
                     "neighbours beyond")
    unchecked.append("realizability and the policy class (|Pi|) of the learner")
    return {"primary": primary, "k": 3.0, "verdict": verdict, "witness_below_delta0": witnessed,
            "stochastic_chunks": bool(stochastic_chunks),
            "theorem": theorem, "notes": notes, "unchecked": unchecked}


def _stability(instance, L_hat, first_actions: bool = False) -> dict:
    """Stability of the instance's system (``check``) and Theorem 3's H^2 condition at k = 3."""
    from .report import check

    rep = check(instance, audit=False, trajectories=20, lmi=False)
    st = rep.stability
    L_inst = rep.expert.get("lipschitz")
    candidates = [v for v in (L_inst, L_hat) if v is not None and math.isfinite(v)]
    L = max(candidates) if candidates else None
    tag = "L_hat of first actions (the chunks are stochastic)" if first_actions else "L_hat"
    src = f"max of the instance's expert and {tag}" if len(candidates) == 2 else (
        "instance's expert" if L_inst is not None else tag)
    G = st.Gamma if st.globally_p_iiss else None
    k = 3.0
    vanish = None if (G is None or L is None) else bool(L * G * (k + 1) < k - 2)
    return {"instance": instance.name, "globally_p_iiss": bool(st.globally_p_iiss), "Gamma": _num(G),
            "C": _num(st.C), "eta": _num(st.eta), "spectral_radius": _num(st.spectral_radius), "reason": st.reason,
            "L": _num(L), "L_source": src, "h2_term_vanishes": vanish,
            "h2_condition": "L Gamma (k + 1) < k - 2 at k = 3 (Proposition 5 with Theorem 3)"}
