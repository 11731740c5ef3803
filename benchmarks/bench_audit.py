"""Speed and peak memory of ``qbc audit`` on a robot-arm-sized data set (dx = 10, du = 7).

``run(quick)`` audits 10^6 state-action pairs (10^5 with ``quick``: 1000 or 100 episodes of 1000 steps)
with ``openvla`` and ``vqbet``, each in a fresh Python process so that its peak resident memory
(``ru_maxrss``) is its own. Each child also times, on the same data, two simple references: the
bare per-dimension binning of every action with ``np.digitize`` (the least any binned audit does),
and a brute-force pair search (all pairwise distances, in blocks) against ``cKDTree.query_pairs`` on
the same 5000 states. The pair search of the audit uses its default budget of 20000 states. Wall and
CPU seconds are both reported: on a shared machine the wall time also counts other processes.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _data(episodes: int, steps: int, dx: int = 10, du: int = 7, seed: int = 20260326):
    """A stable linear system driven by a noisy linear expert (states (E, H, dx), actions (E, H, du))."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    # the closed loop x+ = (A + B K) x + B e + w is built stable (spectral radius 0.95), A = A_cl - B K
    A_cl = rng.standard_normal((dx, dx)) / np.sqrt(dx)
    A_cl *= 0.95 / np.max(np.abs(np.linalg.eigvals(A_cl)))
    B = rng.standard_normal((dx, du)) / np.sqrt(dx)
    K = rng.standard_normal((du, dx)) / np.sqrt(dx)
    A = A_cl - B @ K
    x = rng.standard_normal((episodes, dx))
    states = np.empty((episodes, steps, dx))
    actions = np.empty((episodes, steps, du))
    for h in range(steps):
        u = x @ K.T + 0.05 * rng.standard_normal((episodes, du))
        states[:, h], actions[:, h] = x, u
        x = x @ A.T + u @ B.T + 0.1 * rng.standard_normal((episodes, dx))
    return states, actions


def _brute_pairs(S: np.ndarray, r: float, block: int = 500) -> int:
    n = 0
    sq = (S * S).sum(1)
    for i in range(0, S.shape[0], block):
        d2 = sq[i:i + block, None] - 2 * S[i:i + block] @ S.T + sq[None, :]
        idx = np.arange(i, min(i + block, S.shape[0]))[:, None]
        n += int(np.sum((d2 <= r * r) & (np.arange(S.shape[0])[None, :] > idx)))
    return n


def _child(name: str, episodes: int, steps: int) -> dict:
    import scipy.spatial

    from qbc_theory.checker.audit import audit
    from qbc_theory.model.dataset import demonstrations
    from qbc_theory.model.tokenizers import make_tokenizer

    states, actions = _data(episodes, steps)
    demos = demonstrations(states, actions)
    del states, actions
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t, c = time.perf_counter(), time.process_time()
    res = audit(demos, make_tokenizer(name), seed=0)
    audit_s, audit_cpu = time.perf_counter() - t, time.process_time() - c
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # reference 1: bare binning of every action
    t = time.perf_counter()
    lo, hi = np.percentile(demos.actions, [1, 99], axis=0)
    n = np.clip(2 * (demos.actions - lo) / (hi - lo + 1e-8) - 1, -1, 1)
    edges = np.linspace(-1, 1, 256)
    _ = ((edges[:-1] + edges[1:]) / 2)[np.clip(np.digitize(n, edges) - 1, 0, 254)]
    digitize_s = time.perf_counter() - t
    # reference 2: brute-force pair search vs cKDTree on 5000 states at the audit's radius
    S = demos.states[np.random.default_rng(0).choice(demos.states.shape[0], 5000, replace=False)]
    r = res.pairs["r_max"]
    t = time.perf_counter()
    n_brute = _brute_pairs(S, r)
    brute_s = time.perf_counter() - t
    t = time.perf_counter()
    n_tree = scipy.spatial.cKDTree(S).query_pairs(r, output_type="ndarray").shape[0]
    tree_s = time.perf_counter() - t
    return {"tokenizer": name, "pairs_audited": int(demos.states.shape[0]),
            "audit_seconds": audit_s, "audit_cpu_seconds": audit_cpu,
            "peak_rss_mb": rss_peak / 1024, "rss_after_data_mb": rss_data / 1024,
            "eps_q": res.eps_q, "clipped_fraction": res.clipped_fraction,
            "pair_search": {k: v for k, v in res.pairs.items() if k != "rule"},
            "verdict": res.smoothness["verdict"],
            "reference_digitize_seconds": digitize_s,
            "reference_brute_pairs_5000_seconds": brute_s, "ckdtree_pairs_5000_seconds": tree_s,
            "pairs_5000_agree": n_brute == n_tree}


def run(quick: bool) -> dict:
    """Audit 10^6 (quick: 10^5) pairs with openvla and vqbet, each in its own process."""
    episodes, steps = (100, 1000) if quick else (1000, 1000)
    out = {"dx": 10, "du": 7, "episodes": episodes, "steps": steps, "targets_seconds": {"openvla": 20, "vqbet": 60}}
    for name in ("openvla", "vqbet"):
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", name, str(episodes),
                               str(steps)], capture_output=True, text=True, check=True)
        out[name] = json.loads(proc.stdout)
    return out


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        json.dump(_child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])), sys.stdout)
    else:
        json.dump(run("--quick" in sys.argv), sys.stdout, indent=2)
        sys.stdout.write("\n")
