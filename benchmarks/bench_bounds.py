"""Evaluation speed of every catalog bound on 10^6 parameter points, against a plain Python loop.

For each bound (explicit form) the parameter points are the bound's example point with every
symbol varied independently (positive symbols times a factor in [1, 2], symbols in (0, 1) times a
factor in [0.5, 1], integers rounded), which keeps Theorem 6's conditions true.

- ``seconds``: best wall time of ``Bound.evaluate`` on all points (validation included); the first,
  compiling call is timed separately as ``first_call_seconds`` on a handful of points;
- ``reference``: the same expression lambdified for the ``math`` module and called point by point in
  a Python loop (Theorem 6's sum: a term-by-term loop with ``math.erf``), timed on a subset;
- ``speedup = reference seconds per point * points / seconds``; ``max_rel_diff`` compares the two on
  the subset.

Nothing here asserts a time.
"""

from __future__ import annotations

import math
import time

import numpy as np
import sympy

from qbc_theory import bounds as B
from qbc_theory.theory.symbols import info, sym


def _points(b, size, rng):
    ex = dict(b.example)
    out = {}
    for name in b.symbols:
        i = info(name)
        v = ex[name]
        if i.integer:
            out[name] = np.maximum(1.0, np.round(v * rng.uniform(1.0, 2.0, size)))
        elif math.isfinite(i.high):
            out[name] = v * rng.uniform(0.5, 1.0, size)
        else:
            out[name] = v * rng.uniform(1.0, 2.0, size)
    return out


def _math_funcs():
    def geomsum(base, count):
        return float(sum(base ** j for j in range(int(count))))

    return {"Indicator": lambda s: 1.0 if s >= 0 else 0.0, "IsPositive": lambda s: 1.0 if s > 0 else 0.0,
            "GeomSum": geomsum, "erf": math.erf}


def _trap_sum_loop(A6, B6, k, eps_q, H):
    lam = A6 + B6
    q0 = B6 / (1 - lam)
    total = 0.0
    for h in range(2, int(H) + 1):
        p = lam ** (h - 2)
        rho = (k / 2 - q0 * (1 - p)) / p
        total += A6 * 0.5 * math.erf(rho * eps_q / math.sqrt(2))
    return total


def _reference(b):
    if b.expr.has(sympy.Sum):
        return lambda **kw: _trap_sum_loop(**kw)
    f = sympy.lambdify([sym(n) for n in b.symbols], b.expr, modules=[_math_funcs(), "math"])
    return lambda **kw: f(*[kw[n] for n in b.symbols])


def _best(fn, repeats):
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def run(quick: bool) -> dict:
    """Time every bound's ``evaluate`` on 10^6 points (10^5 with ``quick``) against a Python loop."""
    size = 10 ** 5 if quick else 10 ** 6
    subset = 500 if quick else 3000
    repeats = 1 if quick else 3
    rng = np.random.default_rng(np.random.SeedSequence(20260326))
    rows = {}
    for name in B.names():
        b = B.get(name)
        pts = _points(b, size, rng)
        few = {k: v[:4] for k, v in pts.items()}
        t0 = time.perf_counter()
        b.evaluate(**few)
        first = time.perf_counter() - t0
        seconds = _best(lambda: b.evaluate(**pts), repeats)
        ref = _reference(b)
        sub = {k: v[:subset] for k, v in pts.items()}
        t0 = time.perf_counter()
        ref_vals = np.array([ref(**{k: float(v[i]) for k, v in sub.items()}) for i in range(subset)])
        ref_seconds = time.perf_counter() - t0
        ours = b.evaluate(**sub)
        denom = np.maximum(np.abs(ref_vals), 1e-300)
        rel = float(np.max(np.abs(ours - ref_vals) / denom))
        per_point = ref_seconds / subset
        rows[name] = {"points": size, "seconds": round(seconds, 6), "first_call_seconds": round(first, 4),
                      "reference_seconds_per_point": per_point, "reference_points": subset,
                      "speedup": round(per_point * size / seconds, 1), "max_rel_diff": rel}
    worst = max(rows.values(), key=lambda r: r["seconds"])
    return {"points": size, "bounds": rows,
            "worst_seconds": worst["seconds"],
            "worst_bound": [k for k, v in rows.items() if v is worst][0],
            "min_speedup": min(r["speedup"] for r in rows.values()),
            "max_rel_diff": max(r["max_rel_diff"] for r in rows.values())}


if __name__ == "__main__":
    import json
    import sys

    json.dump(run("--quick" in sys.argv), sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")
