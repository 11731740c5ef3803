"""Speed of the assumption checker on a 10-state system: the minimum-condition-number LMI (cvxpy)
against the closed-form scipy Lyapunov certificate timed in the same run, and a full ``check``.

``run(quick)`` returns seconds and the constants each method certifies at the same rate, so the
price of the LMI (time) and its payoff (a smaller C) are read side by side.
"""

from __future__ import annotations

import time

import numpy as np

from qbc_theory import Instance, LinearExpert, LinearSystem, TrackingReward, UniformBinning
from qbc_theory.checker.report import check
from qbc_theory.checker.stability import analyze_stability, lmi_certificate, lyapunov_certificate, peiiss_constant


def _system(dx: int = 10, du: int = 2, rho: float = 0.9, seed: int = 20260326):
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    A = rng.standard_normal((dx, dx)) / np.sqrt(dx)
    A *= rho / np.max(np.abs(np.linalg.eigvals(A)))
    B = rng.standard_normal((dx, du)) / np.sqrt(dx)
    return A, B


def _best(fn, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def run(quick: bool) -> dict:
    """Time the LMI and the Lyapunov closed form on a 10-state system, and a full check."""
    repeats = 2 if quick else 5
    A, B = _system()
    rho = float(np.max(np.abs(np.linalg.eigvals(A))))
    eta = rho + 0.3 * (1 - rho)
    t_lmi, lmi = _best(lambda: lmi_certificate(A, eta, B), repeats)
    t_lyap, lyap = _best(lambda: lyapunov_certificate(A, eta, B), repeats)
    t_exact, exact = _best(lambda: peiiss_constant(A, B, eta), repeats)
    t_sweep, sweep = _best(lambda: analyze_stability(A, B, method="lmi"), 1)
    system = LinearSystem(A, B, x0_std=1.0)
    expert = LinearExpert(np.zeros((B.shape[1], A.shape[0])))
    inst = Instance(system, expert, UniformBinning(-2.0, 2.0, 32, dim=B.shape[1]), TrackingReward(expert), 50)
    t_check, rep = _best(lambda: check(inst, trajectories=100 if quick else 400, pairs=32 if quick else 128), 1)
    return {
        "dx": int(A.shape[0]), "du": int(B.shape[1]), "spectral_radius": rho, "eta": eta,
        "lmi_seconds": t_lmi, "lyapunov_seconds": t_lyap, "exact_C_seconds": t_exact,
        "lmi_over_lyapunov_time": t_lmi / t_lyap,
        "lmi_method": lmi.method, "C_lmi": lmi.C, "C_lyapunov": lyap.C, "C_exact": exact.C,
        "cond_lmi": lmi.cond, "cond_lyapunov": lyap.cond,
        "lmi_eta_sweep_seconds": t_sweep, "lmi_eta_sweep_eta": sweep.eta, "lmi_eta_sweep_C": sweep.C,
        "check_seconds": t_check, "check_upper_bound_applies": rep.upper_bound_applies,
        "repeats": repeats,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(quick=True), indent=2))
