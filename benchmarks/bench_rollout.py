"""Rollout throughput of the Monte Carlo engine against two references timed in the same run.

For state dimension 2, 4 and 8 (one action), a stable noisy linear system, a Gaussian linear expert
and the state-regulation reward:

- ``engine``: :func:`qbc_theory.engine.rollout.rollout` on pre-drawn noise (trajectory-steps per second);
- ``engine_streaming``: :func:`qbc_theory.engine.rollout.evaluate`, which also draws the noise;
- ``bare``: the same closed loop written as a bare vectorised numpy kernel on the whole batch at
  once, on the same noise, recording the same arrays (its returns are checked against the engine's);
- ``loop``: a plain per-trajectory Python loop (numpy on one state vector at a time), timed on a
  subset of the trajectories.

``speedup_vs_loop = engine / loop`` (target >= 50) and ``ratio_to_bare = bare / engine`` (target
<= 2) are reported per dimension and, at the top level, as the worst case over dimensions.
"""

from __future__ import annotations

import time

import numpy as np

from qbc_theory.model.dynamics import LinearSystem
from qbc_theory.model.experts import LinearExpert
from qbc_theory.model.rewards import RegulationReward
from qbc_theory.engine.rollout import draw_noise, evaluate, rollout


def _best_time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _instance(dx: int):
    r = np.random.default_rng(dx)
    A = 0.6 * np.eye(dx) + 0.1 * r.standard_normal((dx, dx))
    B = r.standard_normal((dx, 1))
    system = LinearSystem(A, B, noise_std=0.1)
    expert = LinearExpert(-0.1 * B.T / np.linalg.norm(B), noise_std=0.1)
    return system, expert, RegulationReward(5.0)


def _bare(A, B, K, sigma, scale, x0, w, z):
    """The closed loop as one vectorised kernel on the whole batch, with the same outputs as
    :func:`rollout` (states, actions, rewards, returns) and the same formulas."""
    At, Bt, Kt = A.T, B.T, K.T
    horizon, n = w.shape[0], x0.shape[0]
    states = np.empty((horizon, n, x0.shape[1]))
    actions = np.empty((horizon, n, K.shape[0]))
    rewards = np.empty((horizon, n))
    x = x0
    for h in range(horizon):
        u = x @ Kt + sigma * z[h]
        r = 1.0 - np.minimum(1.0, np.linalg.norm(x, axis=-1) / scale)
        states[h], actions[h], rewards[h] = x, u, r
        x = x @ At + u @ Bt + w[h]
    return rewards.sum(axis=0)


def _loop(A, B, K, sigma, scale, x0, w, z):
    out = np.zeros(x0.shape[0])
    for i in range(x0.shape[0]):
        x = x0[i]
        total = 0.0
        for h in range(w.shape[0]):
            u = K @ x + sigma * z[h, i]
            total += 1.0 - min(1.0, float(np.linalg.norm(x)) / scale)
            x = A @ x + B @ u + w[h, i]
        out[i] = total
    return out


def run(quick: bool) -> dict:
    """Measure rollout throughput; see the module docstring. Returns a JSON-ready dict."""
    batch, horizon, loop_batch, repeats = (16384, 20, 100, 2) if quick else (65536, 50, 300, 3)
    dims = {}
    for dx in (2, 4, 8):
        system, expert, reward = _instance(dx)
        noise = draw_noise(system, horizon, batch, 1, np.random.default_rng(0))
        steps = batch * horizon
        args = (system.A, system.B, expert.K, expert.noise_std, reward.scale)
        t_engine = _best_time(lambda: rollout(system, expert, reward, horizon, noise.x0, noise.w, noise.z),
                              repeats)
        t_stream = _best_time(lambda: evaluate(system, expert, reward, horizon, batch, np.random.default_rng(0)),
                              repeats)
        t_bare = _best_time(lambda: _bare(*args, noise.x0, noise.w, noise.z), repeats)
        sub = slice(0, loop_batch)
        t_loop = _best_time(lambda: _loop(*args, noise.x0[sub], noise.w[:, sub], noise.z[:, sub]), repeats)
        # the references compute the same returns (up to rounding) as the engine
        engine_returns = rollout(system, expert, reward, horizon, noise.x0, noise.w, noise.z).returns
        bare_err = float(np.max(np.abs(_bare(*args, noise.x0, noise.w, noise.z) - engine_returns)))
        loop_err = float(np.max(np.abs(_loop(*args, noise.x0[sub], noise.w[:, sub], noise.z[:, sub])
                                       - engine_returns[sub])))
        engine = steps / t_engine
        loop = loop_batch * horizon / t_loop
        bare = steps / t_bare
        dims[f"dx{dx}"] = {
            "engine_steps_per_s": round(engine),
            "engine_streaming_steps_per_s": round(steps / t_stream),
            "bare_kernel_steps_per_s": round(bare),
            "loop_steps_per_s": round(loop),
            "speedup_vs_loop": round(engine / loop, 1),
            "ratio_to_bare": round(bare / engine, 2),
            "max_abs_return_difference_bare": bare_err,
            "max_abs_return_difference_loop": loop_err,
        }
    return {
        "batch": batch,
        "horizon": horizon,
        "loop_batch": loop_batch,
        "dims": dims,
        "speedup_vs_loop": min(d["speedup_vs_loop"] for d in dims.values()),
        "ratio_to_bare": max(d["ratio_to_bare"] for d in dims.values()),
        "targets": {"speedup_vs_loop": ">= 50", "ratio_to_bare": "<= 2"},
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(quick=True), indent=2))
