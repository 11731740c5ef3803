r"""Figure data computed directly from fixed seeds: figure 4 (RTVC audit) and figure 5 (stability).

Neither figure needs Monte Carlo over an experiment ladder: figure 4 audits one expert through five
quantizers with :func:`qbc_theory.checker.smoothness.modulus_audit` on states drawn from a fixed
entropy, and figure 5 draws a system's gain profile against its P-EIISS certificates from
:mod:`qbc_theory.checker.stability`. Both functions are deterministic: the same entropy and code
give the same numbers.

References
----------
Cao & Xie 2026, Definitions 3 and 4, Proposition 5 and Theorem 6.
"""

from __future__ import annotations

import math

import numpy as np

from .containers import Certificate, GainProfileData, ModulusCurve, RTVCAuditData
from .tables import MissingDataError

__all__ = ["RTVC_ENTROPY", "rtvc_audit_data", "gain_profile_data", "rtvc_figure", "stability_figure"]

RTVC_ENTROPY = 5_772_156_649
"""Root entropy of figure 4's states, k-means initialisations and audit pairs."""

# Figure 4 audits one policy, the scalar 1-Lipschitz expert arctan(x) of Theorem 6, through five
# quantizers of comparable resolution, so the curves differ only by the quantizer. The trap
# quantizer is defined for exactly this expert and system (x+ = 0.2 x + 0.25 u).
_F4_BINS = 32
_F4_EPS_Q = math.pi / (2 * _F4_BINS)  # binning of [-pi/2, pi/2] (arctan's range), centre decoding
_F4_K = 3.0  # eps' = k eps_q with k > 2 (Proposition 5 (ii))
_F4_TRAP = {"A": 0.2, "B": 0.25, "k": 1.0, "d": 0.6}
_F4_TRAJ, _F4_STEPS = 2048, 10
_F4_RADII = tuple(float(r) for r in np.geomspace(1e-6, 2.0, 26))
_F4_PAIRS = 256


def rtvc_audit_data(*, entropy: int = RTVC_ENTROPY) -> tuple[RTVCAuditData, dict]:
    r"""Figure 4: empirical RTVC moduli of one deterministic expert through five quantizers.

    The expert is :math:`\pi^\star(x) = \arctan x` (1-Lipschitz), its states those visited on the
    noiseless system :math:`x_{h+1} = 0.2 x_h + 0.25 \arctan x_h` from :math:`x_1 \sim N(0, 1)`
    (2048 trajectories, 10 steps). The quantizers: uniform binning of :math:`[-\pi/2, \pi/2]` into
    32 cells (:math:`\varepsilon_q = \pi/64`), k-means with 32 codes and residual VQ with 2 stages
    of 8 codes (both fitted on the expert's actions), the DCT tokenizer with chunk 1 and step
    :math:`2\varepsilon_q`, and Theorem 6's trap quantizer at scale :math:`\varepsilon = 0.05`. All
    are audited by :func:`qbc_theory.checker.smoothness.modulus_audit` at
    :math:`\varepsilon' = 3\varepsilon_q`; binning carries Proposition 5's threshold.

    .. math::

        \kappa_{\mathrm{bin}}(r) = 1\{r > \delta_0\}, \qquad \delta_0 = \frac{\varepsilon' - 2\varepsilon_q}{L}

    Parameters
    ----------
    entropy : int
        Root SeedSequence entropy (states, k-means initialisations and audit pairs).

    Returns
    -------
    data : RTVCAuditData
    provenance : dict
        The settings and each audit's summary (JSON-ready).

    References
    ----------
    Cao & Xie 2026, Definition 4, Proposition 5 and Theorem 6.
    """
    from ...engine.constructions import trap_loop
    from ...model.experts import ArctanExpert
    from ...model.quantizers import DCTBinning, KMeansQuantizer, ResidualVQ, UniformBinning
    from ...model.quantizers import quantize_actions
    from ...checker.smoothness import modulus_audit

    seq_states, seq_fit, seq_audit = np.random.SeedSequence(entropy).spawn(3)
    expert = ArctanExpert()
    trap = trap_loop(0.05, **_F4_TRAP)
    A, B = float(trap.system.A[0, 0]), float(trap.system.B[0, 0])
    x = np.random.default_rng(seq_states).standard_normal((_F4_TRAJ, 1))
    visited = [x]
    for _ in range(_F4_STEPS - 1):
        x = A * x + B * expert.mean(x)
        visited.append(x)
    states = np.concatenate(visited)
    actions = expert.mean(states)
    fit_seed = int(seq_fit.generate_state(1)[0])
    quantizers = {
        "binning": UniformBinning(-math.pi / 2, math.pi / 2, _F4_BINS),
        "k-means": KMeansQuantizer(_F4_BINS, seed=fit_seed).fit(actions),
        "residual VQ": ResidualVQ(2, 8, seed=fit_seed).fit(actions),
        "DCT (chunk 1)": DCTBinning(1.0 / (2 * _F4_EPS_Q), chunk=1, dim=1),
        "trap (Thm 6)": trap.quantizer,
    }
    eps_prime = _F4_K * _F4_EPS_Q
    delta0 = (eps_prime - 2 * _F4_EPS_Q) / expert.lipschitz
    curves, audits = [], {}
    for seq, (label, q) in zip(seq_audit.spawn(len(quantizers)), quantizers.items()):
        audit = modulus_audit(expert, q, states, np.random.default_rng(seq), eps_prime=eps_prime,
                              radii=_F4_RADII, pairs=_F4_PAIRS)
        d0 = delta0 if label == "binning" else None
        curves.append(ModulusCurve.from_audit(label, audit, delta0=d0))
        err = np.abs(quantize_actions(q, actions) - actions)[:, 0]
        audits[label] = {"min_radius_w1": audit.min_radius_w1, "total_pairs": audit.total_pairs,
                         "in_distribution_error": float(err.mean()), "max_error": float(err.max())}
    provenance = {"entropy": int(entropy), "expert": "arctan (L = 1)", "system": {"A": A, "B": B},
                  "states": {"trajectories": _F4_TRAJ, "steps": _F4_STEPS, "x1": "N(0, 1)"},
                  "eps_q_binning": _F4_EPS_Q, "eps_prime": eps_prime, "delta0": delta0,
                  "trap": {**_F4_TRAP, "eps": 0.05}, "pairs_per_radius": _F4_PAIRS, "audits": audits}
    return RTVCAuditData(tuple(curves), eps_prime), provenance


# Figure 5's system is non-normal, so its gain profile first grows (||A^j B|| peaks above ||B||)
# before it decays: the constant C of a certificate then matters, which a normal A would hide.
_F5_A = ((0.9, 0.5), (0.0, 0.8))
_F5_B = ((0.0,), (1.0,))
_F5_LAGS = 60


def gain_profile_data(A=_F5_A, B=_F5_B, *, lags: int = _F5_LAGS) -> tuple[GainProfileData, dict]:
    r"""Figure 5: the gain profile against the exact and the LMI P-EIISS certificates.

    The rate :math:`\eta` is the one :func:`qbc_theory.checker.stability.analyze_stability` reports (it
    minimises the exact :math:`C(\eta)/(1-\eta)` over its grid); both certificates are at that
    :math:`\eta`: the exact :math:`C(\eta) = \sup_j \|A^j B\|/\eta^j` and the LMI's
    :math:`\sqrt{\operatorname{cond} P}\,\|B\|`-type constant.

    .. math:: \|A^j B\|_2 \le C \eta^j \quad (j \ge 0)

    Parameters
    ----------
    A : (dx, dx) array_like
        Default: a non-normal stable matrix ``[[0.9, 0.5], [0, 0.8]]``.
    B : (dx, du) array_like
        Default ``[[0], [1]]``.
    lags : int
        Number of lags ``j = 0 .. lags - 1`` drawn.

    Returns
    -------
    data : GainProfileData
    provenance : dict
        The system, the certificates and their methods (JSON-ready).

    Raises
    ------
    MissingDataError
        If the system is not globally P-EIISS (no certificate exists) or the LMI failed.

    References
    ----------
    Cao & Xie 2026, Definition 3; THEORY.md section 8.
    """
    from ...checker.stability import analyze_stability, gain_profile

    A = np.asarray(A, dtype=float)
    B = np.asarray(B, dtype=float)
    report = analyze_stability(A, B)
    if not report.globally_p_iiss:
        raise MissingDataError(f"fig5: the system is not globally P-EIISS ({report.reason}); no certificate to draw")
    if report.lmi is None or report.lmi.C is None:
        raise MissingDataError(f"fig5: the LMI certificate is missing ({'; '.join(report.notes) or 'no detail'})")
    j = np.arange(lags)
    gain = gain_profile(A, B, lags)
    certs = (Certificate("exact", report.exact.C, report.eta), Certificate("LMI", report.lmi.C, report.eta))
    provenance = {"A": A.tolist(), "B": B.tolist(), "spectral_radius": report.spectral_radius,
                  "eta": report.eta, "C_exact": report.exact.C, "C_lmi": report.lmi.C,
                  "lmi_method": report.lmi.method, "lmi_cond": report.lmi.cond,
                  "Gamma": report.Gamma}
    return GainProfileData(j, gain, certs), provenance


def rtvc_figure(tables=None) -> tuple[RTVCAuditData, dict, list]:
    """Figure 4's data in the shape of every figure builder: ``(data, provenance, notes)`` (reads no table)."""
    data, prov = rtvc_audit_data()
    return data, prov, []


def stability_figure(tables=None) -> tuple[GainProfileData, dict, list]:
    """Figure 5's data in the shape of every figure builder: ``(data, provenance, notes)`` (reads no table)."""
    data, prov = gain_profile_data()
    return data, prov, []
