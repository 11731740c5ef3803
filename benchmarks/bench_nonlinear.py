"""Nonlinear step and expert throughput against bare numpy kernels timed in the same run, and a
``qbc scan`` of 6 horizons on a scalar instance.

- ``step``: :meth:`LureSystem.step` (``x+ = A x + B u + G tanh(C x) + w``) against the bare kernel
  ``x @ At + u @ Bt + np.tanh(x @ Ct) @ Gt + w`` on the same arrays (outputs checked equal), for a
  block of 1024 rows (the engine's unit of computation, ``rollout.NOISE_BLOCK``) and for 65,536
  rows, state dimension 2 and 8. ``ratio = bare_seconds / ours_seconds`` (target >= 0.5).
- ``expert``: :meth:`TanhExpert.act` and :meth:`MLPExpert.act` (2-16-1, tanh) against their bare
  kernels, same sizes, same ratio.
- ``rollout``: :func:`qbc_theory.engine.rollout.rollout` of the Lur'e system with the tanh expert
  against a bare closed loop on the same noise (returns checked equal); informational.
- ``scan``: :func:`qbc_theory.engine.scan.scan` with ``vary="horizon"``, values 8, 16, 32, 64, 128,
  256, 20,000 coupled evaluation trajectories per value, one seed, the default learner, on a scalar
  Lur'e instance with a tanh expert (target: under 30 s on 2 cores). Quick mode uses 2,000.
"""

from __future__ import annotations

import time

import numpy as np

from qbc_theory.engine.rollout import draw_noise, rollout
from qbc_theory.engine.scan import scan
from qbc_theory.model.dynamics import LureSystem
from qbc_theory.model.experts import MLPExpert, TanhExpert
from qbc_theory.model.instance import Instance
from qbc_theory.model.quantizers import UniformBinning
from qbc_theory.model.rewards import RegulationReward


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _system(dx: int, seed: int) -> LureSystem:
    r = np.random.default_rng(seed)
    A = 0.6 * np.eye(dx) + 0.1 * r.standard_normal((dx, dx))
    return LureSystem(A, r.standard_normal((dx, 1)), 0.2 * r.standard_normal((dx, dx)), r.standard_normal((dx, dx)),
                      "tanh", noise_std=0.1)


def _ratio_entry(ours, bare, rows: int, repeats: int) -> dict:
    a = ours()
    b = bare()
    if not np.allclose(a, b, rtol=1e-12, atol=1e-12):
        raise AssertionError("benchmark: the kernels disagree")
    t_ours = _best(ours, repeats)
    t_bare = _best(bare, repeats)
    return {"rows": rows, "ours_us": round(1e6 * t_ours, 2), "bare_us": round(1e6 * t_bare, 2),
            "ratio": round(t_bare / t_ours, 3)}


def _step(quick: bool) -> dict:
    out = []
    for dx in (2, 8):
        sys = _system(dx, dx)
        At, Bt, Ct, Gt = (np.ascontiguousarray(M.T) for M in (sys.A, sys.B, sys.C, sys.G))
        for rows in (1024, 65536):
            r = np.random.default_rng(rows)
            x, u, w = r.standard_normal((rows, dx)), r.standard_normal((rows, 1)), r.standard_normal((rows, dx))
            reps = (200 if rows == 1024 else 20) // (4 if quick else 1)

            def bare(x=x, u=u, w=w, At=At, Bt=Bt, Ct=Ct, Gt=Gt):
                return x @ At + u @ Bt + np.tanh(x @ Ct) @ Gt + w

            out.append({"dx": dx, **_ratio_entry(lambda: sys.step(x, u, w), bare, rows, reps)})
    return {"cases": out, "worst_ratio": min(c["ratio"] for c in out)}


def _experts(quick: bool) -> dict:
    r = np.random.default_rng(0)
    K = r.standard_normal((1, 2))
    tanh = TanhExpert(K, scale=0.7)
    layers = [(r.standard_normal((16, 2)), r.standard_normal(16)), (r.standard_normal((1, 16)), r.standard_normal(1))]
    mlp = MLPExpert(layers, activation="tanh")
    Kt = np.ascontiguousarray(K.T)
    W1t, b1, W2t, b2 = np.ascontiguousarray(layers[0][0].T), layers[0][1], np.ascontiguousarray(layers[1][0].T), layers[1][1]
    out = []
    for rows in (1024, 65536):
        x = np.random.default_rng(rows).standard_normal((rows, 2))
        reps = (200 if rows == 1024 else 20) // (4 if quick else 1)
        out.append({"expert": "tanh", **_ratio_entry(lambda: tanh.act(x), lambda: 0.7 * np.tanh((x @ Kt) / 0.7),
                                                     rows, reps)})
        out.append({"expert": "mlp", **_ratio_entry(lambda: mlp.act(x), lambda: np.tanh(x @ W1t + b1) @ W2t + b2,
                                                    rows, reps)})
    return {"cases": out, "worst_ratio": min(c["ratio"] for c in out)}


def _rollout(quick: bool) -> dict:
    sys = _system(2, 2)
    expert = TanhExpert(np.array([[-0.3, -0.4]]), scale=0.5, noise_std=0.1)
    reward = RegulationReward(3.0)
    H, n = 50, (4096 if quick else 16384)
    nz = draw_noise(sys, H, n, 1, np.random.default_rng(0))
    At, Bt, Ct, Gt, Kt = (np.ascontiguousarray(M.T) for M in (sys.A, sys.B, sys.C, sys.G, expert.K))

    def bare():
        x, ret = nz.x0, np.zeros(n)
        for h in range(H):
            u = 0.5 * np.tanh((x @ Kt) / 0.5) + 0.1 * nz.z[h]
            ret = ret + (1.0 - np.minimum(1.0, np.linalg.norm(x, axis=-1) / 3.0))
            x = x @ At + u @ Bt + np.tanh(x @ Ct) @ Gt + nz.w[h]
        return ret

    def ours():
        return rollout(sys, expert, reward, H, nz.x0, nz.w, nz.z).returns

    if not np.allclose(ours(), bare(), rtol=1e-10, atol=1e-10):
        raise AssertionError("benchmark: rollout and bare loop disagree")
    t_ours, t_bare = _best(ours, 3), _best(bare, 3)
    return {"horizon": H, "trajectories": n, "ours_s": round(t_ours, 4), "bare_s": round(t_bare, 4),
            "ratio": round(t_bare / t_ours, 3), "trajectory_steps_per_s": round(H * n / t_ours)}


def _scan(quick: bool) -> dict:
    system = LureSystem([[0.8]], [[1.0]], [[0.15]], [[1.0]], "tanh", noise_std=0.1, x0_std=1.0)
    expert = TanhExpert([[-0.4]], scale=0.5)
    inst = Instance(system, expert, UniformBinning(-1.0, 1.0, 16), RegulationReward(3.0), 8, n=100, name="scalar_lure")
    values = [8, 16, 32, 64, 128, 256]
    trajectories = 2000 if quick else 20_000
    t0 = time.perf_counter()
    res = scan(inst, "horizon", values, seeds=1, eval_trajectories=trajectories)
    seconds = time.perf_counter() - t0
    return {"values": values, "eval_trajectories": trajectories, "learner": res.learner, "seconds": round(seconds, 3),
            "target_seconds": 30, "slope": res.slope, "slope_ci": res.slope_ci and list(res.slope_ci)}


def run(quick: bool) -> dict:
    """Every measurement above, as one JSON-ready dict."""
    return {"step": _step(quick), "expert": _experts(quick), "rollout": _rollout(quick), "scan": _scan(quick)}


if __name__ == "__main__":
    import json
    import sys

    json.dump(run("--quick" in sys.argv), sys.stdout, indent=2)
    sys.stdout.write("\n")
