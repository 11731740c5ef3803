"""Speed of the assumption checker.

Two parts, each against a reference timed in the same run:

- ``lmi``: on a 10-state system, the minimum-condition-number LMI (cvxpy) against the closed-form
  scipy Lyapunov certificate, and a full ``check``: the price of the LMI (time) and its payoff
  (a smaller C) side by side.
- ``scale``: ``check`` at real state dimensions (issue 13's goal: dx=100, du=10 under 2 s and
  dx=300 under 20 s on 2 cores), on a dense random ``A`` with spectral radius 0.95, an LQR expert
  and binning: seconds of ``check`` with its default options, the same through ``qbc check FILE
  --json`` in a fresh process (imports and TOML parsing included), and peak traced memory
  (tracemalloc, a second run). The reference is one ``scipy.linalg.solve_discrete_lyapunov`` at
  the same size, the irreducible ``dx^3`` step of any certificate, so ``check_over_reference`` is
  roughly machine-independent. The 1-minute load average is recorded: on a shared machine the
  wall time of small BLAS calls grows with it (``check_cpu_seconds`` counts every BLAS thread).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import scipy.linalg

from qbc_theory import Instance, LinearExpert, LinearSystem, TrackingReward, UniformBinning
from qbc_theory.checker.report import check
from qbc_theory.checker.stability import analyze_stability, lmi_certificate, lyapunov_certificate, peiiss_constant
from qbc_theory.model.experts import lqr_gain

GOALS = {100: 2.0, 300: 20.0}
"""Issue 13's goal in seconds for ``qbc check`` at each dx (du = 10)."""


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


def _lmi_part(quick: bool) -> dict:
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


def dense_instance(dx: int, du: int = 10, rho: float = 0.95, seed: int = 20261204) -> Instance:
    """Issue 13's instance: dense random ``A`` with spectral radius ``rho``, LQR expert, binning."""
    A, B = _system(dx, du, rho, seed)
    system = LinearSystem(A, B, x0_std=1.0)
    expert = LinearExpert(lqr_gain(system, np.eye(dx), np.eye(du)))
    return Instance(system, expert, UniformBinning(-5.0, 5.0, 64, dim=du), TrackingReward(expert), 50, n=200,
                    delta=0.05, name=f"dense{dx}")


def _write_toml(inst: Instance, path: Path) -> Path:
    s = inst.system
    path.write_text(
        f'name = "{inst.name}"\n[system]\nA = {json.dumps(s.A.tolist())}\nB = {json.dumps(s.B.tolist())}\n'
        f'x0_std = 1.0\n[expert]\nkind = "linear"\nK = {json.dumps(inst.expert.K.tolist())}\n'
        f'[quantizer]\nkind = "binning"\nlow = -5.0\nhigh = 5.0\nbins = 64\n[reward]\nkind = "tracking"\n'
        f"[run]\nhorizon = 50\nn = 200\ndelta = 0.05\n", encoding="utf-8")
    return path


def _scale_case(dx: int, du: int, tmp: Path) -> dict:
    inst = dense_instance(dx, du)
    A = inst.system.A
    t_ref, _ = _best(lambda: scipy.linalg.solve_discrete_lyapunov((A / 0.97).T, np.eye(dx)), 2)
    load_before = os.getloadavg()[0]
    cpu = time.process_time()
    t_check, rep = _best(lambda: check(inst), 1)
    cpu = time.process_time() - cpu
    tracemalloc.start()
    check(inst)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    path = _write_toml(inst, tmp / f"dense{dx}.toml")
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "qbc_theory.cli", "check", str(path), "--json"],
                          capture_output=True, text=True, check=False)
    t_cli = time.perf_counter() - t
    cli_ok = proc.returncode in (0, 1) and proc.stderr == ""
    d = rep.to_dict()
    return {
        "dx": dx, "du": du, "goal_seconds": GOALS.get(dx),
        "check_seconds": t_check, "check_cpu_seconds": cpu, "load_average_1min": load_before,
        "blas_threads_env": os.environ.get("OPENBLAS_NUM_THREADS"), "cli_seconds": t_cli, "cli_exit": proc.returncode, "cli_ok": cli_ok,
        "within_goal": t_check < GOALS[dx] if dx in GOALS else None,
        "cli_within_goal": t_cli < GOALS[dx] if dx in GOALS else None,
        "peak_traced_mb": peak / 2**20,
        "reference_dlyap_seconds": t_ref, "check_over_reference": t_check / t_ref,
        "log_Pi": d["classes"]["Pi"]["log_size"], "log_M": d["classes"]["M"]["log_size"],
        "thm7_bound": d["theorems"]["thm7"]["bound"], "lmi_skipped": rep.stability.lmi is None,
        "stability_C": rep.stability.C, "stability_eta": rep.stability.eta,
    }


def run(quick: bool) -> dict:
    """The LMI comparison at dx=10 and ``check`` at dx=100 and dx=300 (du=10)."""
    out = {"lmi": _lmi_part(quick)}
    with tempfile.TemporaryDirectory() as tmp:
        out["scale"] = [_scale_case(dx, 10, Path(tmp)) for dx in (100, 300)]
    return out


if __name__ == "__main__":
    print(json.dumps(run(quick=True), indent=2))
