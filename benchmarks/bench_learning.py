"""Exact MLE over a finite class of quantized policies, against a per-candidate loop in the same run.

Data: ``10^5`` (state, token) samples from ``n = 2000`` trajectories of horizon 50 of a stable
2-state system with a linear expert (one action), tokenized by a 64-bin uniform binning.
Class: 1,000 candidate gains on a 40 x 25 lattice that contains the expert's.

- ``deterministic``: :meth:`qbc_theory.engine.learning.LinearPolicyClass.scores` (minus mismatch counts) and
  :func:`~qbc_theory.engine.learning.fit_finite` on all 1,000 candidates (target: under 2 s);
- ``gaussian``: the same lattice with a Gaussian expert (exact normal-CDF token probabilities);
- ``parametric``: :func:`~qbc_theory.engine.learning.fit_gaussian_mle` on the Gaussian data;
- the reference :func:`~qbc_theory.engine.learning.finite_scores_loop` scores one candidate at a time
  (each vectorised over the samples) on a subset of candidates; its time is extrapolated to the
  whole class, and its scores are compared with the vectorised ones on that subset.

Timings use numpy's default threading; the products involved are ``(samples x 2) @ (2 x candidates)``,
too thin for BLAS threads to matter.
"""

from __future__ import annotations

import time

import numpy as np

from qbc_theory.model.dynamics import LinearSystem
from qbc_theory.model.experts import LinearExpert
from qbc_theory.engine.learning import LinearPolicyClass, finite_scores_loop, fit_finite, fit_gaussian_mle
from qbc_theory.model.quantizers import UniformBinning
from qbc_theory.engine.rollout import collect

K_EXPERT = np.array([[-0.1, -0.3]])


def _best_time(fn, repeats: int):
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _lattice() -> tuple[np.ndarray, int]:
    a = np.arange(-20, 20)
    b = np.arange(-12, 13)
    oa, ob = np.meshgrid(a, b, indexing="ij")
    gains = K_EXPERT + 0.01 * np.stack([oa.ravel(), ob.ravel()], axis=-1)[:, None, :]
    truth = int(np.flatnonzero((oa.ravel() == 0) & (ob.ravel() == 0))[0])
    return gains, truth


def _data(noise_std: float, trajectories: int, seed: int):
    system = LinearSystem([[0.9, 0.2], [0.0, 0.7]], [[0.0], [1.0]], noise_std=0.05, x0_std=1.0)
    q = UniformBinning(-2.0, 2.0, 64)
    data = collect(system, LinearExpert(K_EXPERT, noise_std), q, trajectories, 50,
                   np.random.default_rng(np.random.SeedSequence(seed)))
    return data.states.reshape(-1, 2), data.tokens.reshape(-1), q


def _case(cls: LinearPolicyClass, x, t, truth: int, subset: int, repeats: int) -> dict:
    vec_time, fit = _best_time(lambda: fit_finite(cls, x, t), repeats)
    idx = np.linspace(0, cls.size - 1, subset).astype(int)
    sub = LinearPolicyClass(cls.gains[idx], cls.quantizer, cls.noise_std[idx], cls.link)
    loop_time, ref = _best_time(lambda: finite_scores_loop(sub, x, t), 1)
    diff = float(np.max(np.abs(ref - fit.scores[idx])))
    loop_full = loop_time * cls.size / subset
    return {"candidates": cls.size, "samples": int(x.shape[0]), "seconds": vec_time,
            "pairs_per_second": cls.size * x.shape[0] / vec_time,
            "loop_subset_candidates": subset, "loop_subset_seconds": loop_time,
            "loop_seconds_extrapolated": loop_full, "speedup_vs_loop": loop_full / vec_time,
            "max_abs_score_difference_vs_loop": diff, "selected_index": fit.index, "true_index": truth,
            "n_maximisers": fit.n_maximisers}


def run(quick: bool) -> dict:
    """Time exact finite-class MLE (deterministic and Gaussian) and the parametric MLE.

    Parameters
    ----------
    quick : bool
        Smaller Gaussian case and fewer repeats.

    Returns
    -------
    dict
        JSON-ready timings; ``deterministic.seconds`` is the 1,000 x 10^5 target (under 2 s).
    """
    gains, truth = _lattice()
    repeats = 1 if quick else 3
    x, t, q = _data(0.0, 2000, 1)
    det = _case(LinearPolicyClass(gains, q), x, t, truth, 20 if quick else 50, repeats)
    xg, tg, _ = _data(0.2, 2000, 2)
    n_gauss = 10_000 if quick else 100_000
    gcls = LinearPolicyClass(gains, q, 0.2)
    gauss = _case(gcls, xg[:n_gauss], tg[:n_gauss], truth, 10 if quick else 20, 1)
    p_time, pfit = _best_time(lambda: fit_gaussian_mle(xg, tg, q), repeats)
    return {
        "deterministic": det,
        "gaussian": gauss,
        "parametric": {"samples": int(xg.shape[0]), "seconds": p_time, "iterations": pfit.iterations,
                       "converged": pfit.converged, "K": pfit.K.tolist(), "K_se": pfit.K_se.tolist(),
                       "noise_std": pfit.noise_std, "noise_std_se": pfit.noise_std_se},
        "target_seconds": 2.0,
        "meets_target": bool(det["seconds"] < 2.0),
    }
