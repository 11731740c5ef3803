r"""Theorem 3's ``H^2`` term attained: a bistable closed loop (claim ``thm3.h2`` and its control).

Claim ``thm3.h2`` of the catalog (:mod:`qbc_theory.verification.claims`). Every number below comes from the
spec's ``[params]``; the built-in specs use the values quoted here.

**The instance** satisfies every hypothesis of Theorem 3 but not Proposition 5's smallness condition:

* **System** ``x+ = 0.5 x + 0.5 u + w``, ``w ~ N(0, 0.2^2)``, ``x_1 ~ N(1, 0.1^2)``
  (:class:`~qbc_theory.model.dynamics.LinearSystem` with ``x0_mean``). ``rho(A) = 0.5``: globally P-IISS
  with the max-type gain ``Gamma = sum_j |A^j B| = 1`` (:func:`qbc_theory.checker.stability.analyze_stability`).
* **Expert** ``u = tanh(K x)``, ``K = 5``, deterministic (:class:`~qbc_theory.model.experts.TanhExpert`),
  ``L = 5``. The open loop is contracting but ``L Gamma = 5 > 1`` makes the *closed* loop bistable:
  ``0`` repels (slope ``A + B K = 3``) and there are attractors near ``+-1``.
* **Quantizer** centre binning of ``[-1, 1]`` into 8 cells (``eps_q = 0.125``; an even count, so 0 is a
  cell edge). In the ``+`` well the expert's action saturates near 1, which the binning decodes as the
  top-cell centre ``1 - eps_q``: a constant bias towards the barrier at 0.
* **Reward** ``r = clip(1 + x, 0, 1)`` (:class:`~qbc_theory.model.rewards.StateReward`, ``L_r = 1``): flat
  across the ``+`` well, about 0.1 in the ``-`` well.
* **Learner** ``q#pi*`` itself (:class:`qbc_theory.engine.rollout.QuantizedPolicy`, infinite data), so the
  regret is Theorem 3's quantization part alone.

Proposition 5: ``L Gamma (k+1) < k - 2`` fails for every ``k > 2`` because ``L Gamma >= 1``, so
``kappa(Gamma (k+1) eps_q) = 1`` and Theorem 3 keeps the term ``H^2``. The mechanism that attains it: the
quantized expert's attractor sits ``Gamma eps_q`` closer to the barrier, process noise makes rare escapes
over it, and the Gaussian escape rate is exponentially sensitive to that distance (the design study
estimated about ``1.5e-4`` per step for ``q#pi*`` against ``2.6e-5`` for ``pi*``; not measured by this cell). Under common random numbers the two runs agree
until the quantized one escapes alone, after which it earns about 0.8 less per step for the rest of the
horizon. Summing, ``R(H) ~ 0.4 (p_q - p) H^2`` while ``(p_q - p) H << 1``.

**The control** ``thm3.h2.control`` changes only the gain, ``K = 0.5``: ``L Gamma = 0.5 < 1``, so the
smallness condition holds for ``k > k_min = (2 + L Gamma)/(1 - L Gamma) = 5``, the closed loop contracts
(``A + B K = 0.75``, one attractor) and Theorem 3's ``H^2`` term vanishes: the regret must grow at most
linearly in ``H``.

**Measurement** (:func:`h2_regret_cell`): per cell one horizon ``H``; per seed ``eval`` coupled trajectory
pairs through :func:`qbc_theory.engine.rollout.regret` (same ``x_1``, same ``w_h`` for ``pi*`` and ``q#pi*``).
The claim's statistic is the regret collected in the second half of the horizon,

.. math::

    D(H) = R(H) - R(H/2) = \mathbb{E}\Big[\sum_{h = H/2 + 1}^{H} r(x_h) - r(y_h)\Big],

computed on the *same* trajectories as ``R(H)``: a second :func:`~qbc_theory.engine.rollout.regret` call of
horizon ``H/2`` on a twin generator draws exactly the first ``H/2`` steps' noise (the engine draws a
block's noise step by step), so ``D`` is an exact per-trajectory difference. A bounded initial transient
(early steps where ``q#pi*`` does as well as ``pi*`` or better) shifts ``R(H)`` by a constant, which bends
``log R`` at small ``H`` although the growth is linear; it cancels in ``D``. ``D ~ H`` for a linear regret
and ``D ~ H^2`` for a quadratic one. The ladder ``H = 32, ..., 1024`` starts after the relaxation of the
quantized loop's own transients; claim and control use the same statistic and ladder (docs/claims.md,
section thm3.h2, gives the sensitivity to both choices).

References
----------
Cao & Xie 2026, Theorem 3 and Proposition 5; THEORY.md section 8b (why a stable linear closed loop
cannot show the ``H^2`` term).
"""

from __future__ import annotations

import numpy as np

from ...checker.smoothness import binning_rtvc
from ...checker.stability import analyze_stability
from ...engine import rollout
from ...model.dynamics import LinearSystem
from ...model.errors import SpecError
from ...model.experts import TanhExpert
from ...model.quantizers import UniformBinning
from ...model.rewards import StateReward
from ...model.validation import as_int
from ..runner import cell_function
from ..verdicts import Claim, SlopeTest

__all__ = ["h2_instance", "h2_regret_cell", "CLAIMS", "SLOPE_THRESHOLD"]

SLOPE_THRESHOLD = 1.3
"""The exponent that separates "faster than linear" from "at most linear" in both tests (fixed before any
data: far enough above 1 that a linear regret's finite-ladder slope, measured between 0.9 and 1.15 over a
36-point neighbourhood of the control, stays below it, and far enough below 2 to leave the ``H^2`` regime
room for the transition from its early slope)."""

N_HUGE = 2**53
"""``n`` at which Theorem 3's bound is evaluated for the infinite-data learner ``q#pi*``: its statistical
term ``24 H log(2/delta)/n`` is then below ``1e-11``."""


def h2_instance(params: dict):
    r"""The system, expert, quantizer and reward of a ``thm3.h2`` spec's ``[params]``.

    Parameters
    ----------
    params : dict
        ``A, B`` (matrices), ``noise_std``, ``x0_mean`` (vector), ``x0_std``, ``K`` (matrix), ``scale``,
        ``low``, ``high``, ``bins``, ``reward_weights`` (vector), ``reward_offset``.

    Returns
    -------
    tuple
        ``(LinearSystem, TanhExpert, UniformBinning, StateReward)``.

    Raises
    ------
    SpecError
        On a missing key.
    DimensionError
        On a malformed value (raised by the model classes, naming the key).
    """
    need = ("A", "B", "noise_std", "x0_mean", "x0_std", "K", "scale", "low", "high", "bins", "reward_weights",
            "reward_offset")
    missing = [k for k in need if k not in params]
    if missing:
        raise SpecError(f"params: expected the keys {', '.join(need)}, missing {', '.join(missing)}")
    system = LinearSystem(params["A"], params["B"], noise_std=params["noise_std"], x0_std=params["x0_std"],
                          x0_mean=params["x0_mean"])
    expert = TanhExpert(params["K"], params["scale"])
    expert.check_system(system)
    quantizer = UniformBinning(params["low"], params["high"], params["bins"], dim=system.du)
    reward = StateReward(params["reward_weights"], params["reward_offset"])
    reward.check_system(system)
    return system, expert, quantizer, reward


def _second_half(regret_full, regret_first_half) -> np.ndarray:
    """``D = R(H) - R(H/2)`` per trajectory pair, from the paired differences of the two estimates."""
    return np.asarray(regret_full.differences) - np.asarray(regret_first_half.differences)


@cell_function("thm3.h2", version="1")
def h2_regret_cell(params: dict, seeds: int, seed: np.random.SeedSequence) -> dict:
    r"""Regret of ``q#pi*`` at one horizon ``H`` and the part of it collected in ``(H/2, H]``.

    Per seed, ``eval`` coupled pairs (:func:`qbc_theory.engine.rollout.regret`, shared ``x_1`` and ``w``):

    .. math::

        R(H) = J_H(\pi^*) - J_H(q_\#\pi^*), \qquad D(H) = R(H) - R(\lfloor H/2 \rfloor),

    where ``R(H/2)`` is taken on the first ``H/2`` steps of the same trajectories (a twin generator).

    Per cell, the constants of Theorem 3 and Proposition 5 computed from the instance (never typed in):
    ``Gamma`` (:func:`~qbc_theory.checker.stability.analyze_stability`), ``L`` (the expert's certified
    constant ``||K||``), ``L_Gamma``, ``k`` (:func:`~qbc_theory.checker.smoothness.binning_rtvc`: ``1.1 k_min``
    when ``L Gamma < 1``, else 3), ``h2_vanishes`` (1 when ``L Gamma (k+1) < k - 2``), ``eps_q``, and
    Theorem 3's bound (``thm3_binning`` with ``Pi = {q#pi*}``, ``delta = 0.05``, at ``n = 2^53``: the
    infinite-data limit) as ``thm3_bound`` and ``thm3_bound_over_H``; a bound at or above ``H`` (the
    largest regret) says nothing.

    Parameters
    ----------
    params : dict
        The keys of :func:`h2_instance`, plus ``H`` (even, ``>= 2``) and ``eval`` (pairs per seed).
    seeds : int
    seed : numpy.random.SeedSequence

    Returns
    -------
    dict
        Per seed: ``regret`` (``R(H)``), ``regret_first_half`` (``R(H/2)``), ``regret_second_half``
        (``D(H)``), ``regret_se`` (the standard error of ``R(H)`` within the seed). Per cell: the constants
        above.

    Raises
    ------
    SpecError
        On a missing key or an odd ``H``.

    References
    ----------
    Cao & Xie 2026, Theorem 3 and Proposition 5.
    """
    system, expert, quantizer, reward = h2_instance(params)
    H = as_int("H", params.get("H"), minimum=2)
    if H % 2:
        raise SpecError(f"H: expected an even horizon (D(H) = R(H) - R(H/2)), found {H}")
    batch = as_int("eval", params.get("eval"), minimum=2)
    learner = rollout.QuantizedPolicy(expert, quantizer)
    out = {"regret": [], "regret_first_half": [], "regret_second_half": [], "regret_se": []}
    for child in seed.spawn(seeds):
        full = rollout.regret(system, expert, learner, reward, H, batch, np.random.default_rng(child))
        half = rollout.regret(system, expert, learner, reward, H // 2, batch, np.random.default_rng(child))
        out["regret"].append(full.mean)
        out["regret_se"].append(full.se)
        out["regret_first_half"].append(half.mean)
        out["regret_second_half"].append(float(_second_half(full, half).mean()))
    stab = analyze_stability(system.A, system.B, lmi=False)
    L = expert.lipschitz
    out.update({"eps_q": quantizer.eps_sup, "L": L, "L_r": reward.lipschitz})
    if stab.globally_p_iiss:
        # Imported here so that importing the claim catalog does not build the sympy bound library.
        from ...theory import bounds

        rtvc = binning_rtvc(L, quantizer.eps_sup, Gamma=stab.Gamma)
        bound = float(bounds.get("thm3_binning").evaluate(
            H=H, n=N_HUGE, delta=0.05, Pi=1, eps_q=quantizer.eps_sup, L=L, Gamma=stab.Gamma, k=rtvc.k,
            L_r=reward.lipschitz))
        out.update({"Gamma": stab.Gamma, "L_Gamma": L * stab.Gamma, "k": rtvc.k,
                    "h2_vanishes": float(bool(rtvc.h2_term_vanishes)), "thm3_bound": bound,
                    "thm3_bound_over_H": bound / H})
    return out


# --- claims ----------------------------------------------------------------------------------------

_H2_SLOPE = SlopeTest(
    value="regret_second_half", along="H", predicted=SLOPE_THRESHOLD, relation=">=", tol=0.0,
    label=f"slope of D(H) = R(H) - R(H/2) in H, H = 32..1024, >= {SLOPE_THRESHOLD:g} (CI entirely above: "
          f"faster than linear; the control's CI must lie entirely below)")

CLAIMS = (
    Claim(
        id="thm3.h2",
        theorem="Theorem 3",
        predicted=f"Theorem 3's H^2 kappa term is attained: with Proposition 5's L Gamma (k+1) < k - 2 failing "
                  f"(L Gamma = 5), the regret of q#pi* grows faster than linearly in H over H = 32..1024 (slope "
                  f"of the second-half regret D(H) = R(H) - R(H/2), CI above {SLOPE_THRESHOLD:g})",
        spec="thm3.h2",
        control_spec="thm3.h2.control",
        tests=(_H2_SLOPE,),
        control=f"no hypothesis of Theorem 3 broken; Proposition 5's smallness condition restored instead: the same "
                f"instance with the expert gain 5 -> 0.5 (L Gamma = 0.5, condition holds for k > 5), so the H^2 "
                f"term vanishes and the growth must be at most linear: the claim's test must come out violated "
                f"(slope CI of D(H) entirely below {SLOPE_THRESHOLD:g})",
    ),
)
