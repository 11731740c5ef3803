r"""Theorem 2 on nonlinear instances: a Gaussian tanh expert on a linear or a Lur'e system (cell ``thm2.nonlinear``).

The nonlinear draws of the ``thm2.gaussian`` family (:mod:`qbc_theory.verification.family`, claims
``thm2.rate_n`` and ``thm2.horizon``) run here; the linear draws run the claims' own cell
``thm2.regret`` (:mod:`.theorem2`). This module defines no claim (``CLAIMS = ()``): it measures the
claims' columns (``stat``, ``regret``, ``bound``, ``ratio_thm1_data``, ``one``) on instances that
Theorem 2 allows but ``thm2.regret`` cannot build.

The instance (every parameter from the spec; the family writes them):

* **System**, ``system = "linear"``: ``x+ = A x + B u + w``, globally P-EIISS iff ``rho(A) < 1``
  with the exact constants ``(C, eta)`` of :func:`~qbc_theory.checker.stability.analyze_stability`
  and the exact gain profile ``||A^j B||``. ``system = "lure"``: ``x+ = A x + B u + G tanh(C_phi x) + w``,
  globally P-EIISS when the incremental sector LMI certifies it
  (:func:`.family_nonlinear.certified_gain`: ``||dx_{t+1}|| <= sum_k C eta^{t-k} ||du_k||``, re-verified
  in numpy and cross-checked on sampled coupled runs); the certificate's ``(C, eta)`` enter the bound
  and the gain profile ``C eta^j`` the data-dependent Theorem 1. ``w ~ N(0, noise_std^2 I)``,
  ``x_1 ~ N(0, x0_std^2 I)``.
* **Expert** ``N(a tanh(K x / a), sigma^2)`` (:class:`~qbc_theory.model.experts.TanhExpert` with
  ``noise_std = sigma > 0``, one action): its mean is ``||K||``-Lipschitz, so it is TVC with the
  linear modulus ``kappa(r) = ||K|| r / (sqrt 2 sigma)`` (THEORY.md section 3).
* **Quantizer** centre binning of ``[low, high]`` with ``bins`` cells. The mean lies in ``(-a, a)``,
  so an action leaves the range at a step with probability at most
  ``Phi((low + a) / sigma) + 1 - Phi((high - a) / sigma)`` whatever the state; ``clip_exit`` is ``H``
  times that (union bound, exact for every state law) and is charged to the bound as ``H clip_exit``.
* **Class** (finite, realizable, :class:`~qbc_theory.engine.policy_classes.TanhPolicyClass`):
  ``q#N(a tanh(K' x / a), s'^2)`` with ``K' = K + o D`` for the geometric offsets ``o`` of
  :func:`.linear.offset_class` (``class_min_offset .. class_max_offset``, ``class_per_side`` per side,
  and 0) times ``s' = f sigma`` for ``f`` in ``class_sigma_factors`` (which must contain 1: the
  candidate ``(0, 1)`` is ``q#pi*``). Every member is TVC with ``kappa_j(r) = ||K'_j|| r / (sqrt 2 s'_j)``;
  the class's modulus is the largest slope, ``kappa = max_j ||K'_j|| / (sqrt 2 min_j s'_j)``. ``|Pi|``
  is the number of candidates (a genuinely finite class: no covering convention).
* **Learner** log-loss BC: the exact MLE over the class (:func:`qbc_theory.engine.learning.fit_finite`,
  exact quantized-Gaussian log-likelihoods of every candidate on every sample, ties to the lowest index).
* **Reward** ``regulation`` (``1 - min(1, ||x|| / s)``) or ``tracking`` of the expert's mean, scale
  ``reward_scale``.

**Bound** Theorem 2's explicit form ``bounds.get("thm2", form="explicit")`` at ``(H, n, delta, |Pi|,
eps_q, kappa, C, eta, L_r)`` of the instance, in expectation: ``+ delta H + H clip_exit``, as
``thm2.regret`` does. **Data-dependent Theorem 1** (:mod:`.data_bounds`): on ``eval`` expert
rollouts, the exact prefix trajectory TV between ``q#pi*`` and the learned candidate from their token
log-likelihood ratios (with its one-sided upper confidence bound), the learned candidate's exact TV
modulus ``erf(||K_hat|| r / (2 sqrt 2 s_hat))`` (the tanh mean is ``||K_hat||``-Lipschitz), the gain
profile above on the quantization errors met along the rollouts, ``p_far = clip_exit``.

**Refusals** (:class:`~qbc_theory.model.errors.AssumptionError`, one line): ``rho(A) >= 1`` or a Lur'e
system the LMI does not certify (no global P-EIISS), ``sigma = 0`` (Theorem 2 is about a stochastic
expert; Theorem 3 covers the deterministic one), a clip range the expert leaves with probability above
``1e-6`` over the horizon, ``class_sigma_factors`` without 1 (not realizable).

References
----------
Cao & Xie 2026, Theorem 2, Theorem 1 (data-dependent form), Definition 3, Definition 4, Appendix A;
THEORY.md sections 3, 4 and 8b.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special

from ...checker.stability import analyze_stability
from ...engine import learning, rollout
from ...engine.policy_classes import TanhPolicyClass
from ...model.errors import AssumptionError, SpecError
from ...model.experts import TanhExpert
from ...model.quantizers import UniformBinning
from ...model.rewards import RegulationReward, TrackingReward
from ...model.validation import as_int, as_real
from ..runner import cell_function
from . import data_bounds
from .family_nonlinear import certified_gain, offset_factor_grid, tanh_system

__all__ = ["gaussian_tanh_class", "thm2_nonlinear_instance", "exit_probability", "peiiss_constants",
           "thm2_nonlinear_cell", "CLAIMS", "MAX_CLIP_EXIT"]

CLAIMS: tuple = ()

MAX_CLIP_EXIT = 1e-6
"""Largest union bound on leaving the clip range over the horizon that the cell accepts (it charges it
to the bound; above this the binning's sup error is not a hypothesis the instance meets)."""


def gaussian_tanh_class(K, scale, sigma, direction, min_offset, max_offset, per_side, sigma_factors, quantizer):
    r"""A finite realizable class of Gaussian saturating policies: geometric gain offsets times noise levels.

    .. math::

        \Pi = \{ q_\# N\big(a \tanh((K + o D) x / a), (f\sigma)^2\big) : o \in O,\; f \in F \},
        \qquad O = \{o_{\max}, \dots, o_{\min}, 0, -o_{\min}, \dots, -o_{\max}\},

    listed offset-major in decreasing ``o`` and, inside one offset, in the order of ``F``. The
    candidate ``(o, f) = (0, 1)`` is ``q#pi*`` exactly (``K + 0 D`` is ``K``, ``1 sigma`` is ``sigma``).

    Parameters
    ----------
    K : (1, dx) array_like
    scale : float
        ``a > 0``, the saturation level (shared by every candidate).
    sigma : float
        The expert's noise standard deviation, ``> 0``.
    direction : (1, dx) array_like
        ``D``, non-zero.
    min_offset, max_offset : float
        ``0 < o_min < o_max``.
    per_side : int
        ``m >= 2``.
    sigma_factors : sequence of float
        ``F``, positive, containing 1 (realizability).
    quantizer : UniformBinning

    Returns
    -------
    policy_class : TanhPolicyClass
        ``|Pi| = (2 m + 1) |F|``, ``expert_index`` the candidate ``(0, 1)``.
    offsets, factors : (|Pi|,) ndarray

    Raises
    ------
    DimensionError
        On bad shapes, offsets or factors.
    AssumptionError
        If 1 is not among ``sigma_factors`` (the class would not contain ``q#pi*``).

    References
    ----------
    Cao & Xie 2026, Theorem 2 (finite realizable class) and Appendix A.
    """
    a = as_real("expert_scale", scale, positive=True)
    s = as_real("sigma", sigma, positive=True)
    gains, offsets, factors, expert_index = offset_factor_grid(K, direction, min_offset, max_offset, per_side,
                                                              sigma_factors, "class_sigma_factors")
    noise = factors * s
    noise[expert_index] = s
    return (TanhPolicyClass(gains, np.full((offsets.size, 1), a), quantizer, noise, expert_index), offsets,
            factors)


def exit_probability(scale: float, sigma: float, low: float, high: float, H: int) -> float:
    r"""Union bound on an action of ``N(mu, sigma^2)`` with ``|mu| < a`` leaving ``[low, high]`` in ``H`` steps.

    .. math::

        \Pr(\exists h:\; u_h \notin [\mathrm{low}, \mathrm{high}]) \le
        H \Big[\Phi\Big(\frac{\mathrm{low} + a}{\sigma}\Big) + 1 - \Phi\Big(\frac{\mathrm{high} - a}{\sigma}\Big)\Big],

    valid for every state law (the mean of a saturating expert lies in ``(-a, a)``), capped at 1.

    References
    ----------
    Cao & Xie 2026, eq. (3) (the binning's sup error holds on its range only).
    """
    per_step = scipy.special.ndtr((low + scale) / sigma) + scipy.special.ndtr(-(high - scale) / sigma)
    return float(min(1.0, H * per_step))


def thm2_nonlinear_instance(p: dict):
    """``(system, expert, quantizer, reward)`` of the cell's parameters (see the module docstring).

    Raises
    ------
    SpecError
        On an unknown ``system``, ``phi`` or ``reward``, a stationary ``x0_std``, or more than one action.
    AssumptionError
        If ``sigma = 0`` (Theorem 2's expert is stochastic).
    """
    system, K = tanh_system(p, "x0_std")
    sigma = as_real("sigma", p["sigma"], nonnegative=True)
    if sigma == 0.0:
        raise AssumptionError("sigma: expected a Gaussian expert (sigma > 0) for Theorem 2, found 0")
    expert = TanhExpert(K, as_real("expert_scale", p["expert_scale"], positive=True), noise_std=sigma)
    q = UniformBinning(p["low"], p["high"], p["bins"])
    rk = p.get("reward", "regulation")
    if rk == "regulation":
        reward = RegulationReward(p["reward_scale"])
    elif rk == "tracking":
        reward = TrackingReward(expert, p["reward_scale"])
    else:
        raise SpecError(f"reward: expected 'regulation' or 'tracking', found {rk!r}")
    return system, expert, q, reward


def peiiss_constants(system, H: int) -> tuple[float, float, np.ndarray]:
    r"""Theorem 2's global P-EIISS constants ``(C, eta)`` and the gain profile ``g_j`` (``j < H``).

    Linear: the exact constants of :func:`~qbc_theory.checker.stability.analyze_stability` and
    ``g_j = ||A^j B||``. Lur'e: the incremental certificate's ``(C, eta)`` and ``g_j = C eta^j``
    (:func:`.family_nonlinear.certified_gain`).

    Raises
    ------
    AssumptionError
        Without a global certificate (``rho(A) >= 1``, or the LMI fails, or sampled runs contradict it).
    """
    H = as_int("H", H, minimum=1)
    if system.kind == "linear":
        st = analyze_stability(system.A, system.B, lmi=False)
        if not (st.globally_p_iiss and st.C is not None and st.eta is not None):
            raise AssumptionError(f"A: expected rho(A) < 1 (Theorem 2's global P-EIISS), found {st.reason}")
        return float(st.C), float(st.eta), data_bounds.gain_profile(system.A, system.B, H)
    _, gains, info = certified_gain(system, H)
    return float(info["C_cert"]), float(info["eta_cert"]), gains


def _data_bound(system, expert, q, fit, policy_class, gains, L_r, H, N, rng, p_far) -> dict:
    """Theorem 1 with measured terms for the learned candidate, as :func:`.data_bounds.gaussian_thm1_data`
    with a tanh mean and the instance's gain profile."""
    states, tokens, errors = data_bounds.expert_rollouts(system, expert, q, H, N, rng)
    x = states.reshape(-1, system.dx)
    mu1 = fit.policy.mean(x).reshape(H, -1, 1)
    mu0 = expert.mean(x).reshape(H, -1, 1)
    lp1 = learning.quantized_gaussian_logpmf(mu1, fit.policy.noise_std, tokens, q)
    lp0 = learning.quantized_gaussian_logpmf(mu0, expert.noise_std, tokens, q)
    tv, _ = data_bounds.trajectory_tv((lp1 - lp0).T)
    _, tv_up = data_bounds.prefix_tv_sum((lp1 - lp0).T)
    k_hat = float(np.linalg.norm(policy_class.gains[fit.index], 2))
    terms = data_bounds.thm1_data_terms(H=H, tv=1.0, tv_sum=tv_up, p_far=p_far, errors=errors, gains=gains, L_r=L_r,
                                        kappa=data_bounds.gaussian_tv_modulus(k_hat, fit.policy.noise_std))
    return dict(terms, tv_mc=tv)


def _twins(ss: np.random.SeedSequence):
    """Two generators with identical streams."""
    return tuple(np.random.default_rng(np.random.SeedSequence(ss.entropy, spawn_key=ss.spawn_key)) for _ in range(2))


@cell_function("thm2.nonlinear", version="1")
def thm2_nonlinear_cell(params: dict, seeds: int, seed: np.random.SeedSequence) -> dict:
    r"""Regret of log-loss BC on a Gaussian saturating expert (linear or Lur'e system), as ``thm2.regret``.

    Per seed: collect ``n`` expert trajectories, fit the exact MLE over the finite class, and estimate on
    ``eval`` shared-noise trajectories

    .. math::

        J(\pi^*) - J(\hat\pi) = \underbrace{J(\pi^*) - J(q_\#\pi^*)}_{\text{quant}}
        + \underbrace{J(q_\#\pi^*) - J(\hat\pi)}_{\text{stat}}
        \;\le\; \texttt{bound} = \mathrm{thm2}(H, n, \delta, |\Pi|, \varepsilon_q, \kappa, C, \eta, L_r)
        + \delta H + H\,\texttt{clip\_exit}.

    Parameters
    ----------
    params : dict
        ``system`` (``"linear"`` or ``"lure"``), ``A, B`` (and ``G, C``, ``phi = "tanh"``), ``K``,
        ``expert_scale`` (``a``), ``sigma`` (``> 0``), ``noise_std``, ``x0_std``, ``low, high, bins``,
        ``reward`` and ``reward_scale``, ``H``, ``n``, ``eval``, ``delta``, ``learner`` (``"mle"`` only),
        ``class_direction``, ``class_min_offset``, ``class_max_offset``, ``class_per_side``,
        ``class_sigma_factors``. Other keys (the linear cell's ``box_K``, ``box_sigma``) are not read.
    seeds : int
    seed : numpy.random.SeedSequence

    Returns
    -------
    dict
        Per seed, as ``thm2.regret``: ``regret`` = ``|J(pi*) - J(pi_hat)|``, ``regret_signed``, ``stat``
        = ``|J(q#pi*) - J(pi_hat)|``, ``stat_signed``, ``stat_se``, ``quant``, ``offset`` and
        ``sigma_factor`` (the learned candidate), ``thm1_data``, ``thm1_data_tv``, ``thm1_data_quant``,
        ``tv_traj``, ``ratio_thm1_data``. Per cell: ``eps_q``, ``clip_exit``, ``Pi``, ``log_Pi``,
        ``L`` (largest ``||K'_j||``), ``kappa``, ``C``, ``eta``, ``bound``, ``one``, ``lure`` (1 or 0).

    Raises
    ------
    AssumptionError
        Outside Theorem 2's hypotheses (module docstring, "Refusals").
    SpecError
        On bad parameters.

    References
    ----------
    Cao & Xie 2026, Theorem 2 and Theorem 1.
    """
    system, expert, q, reward = thm2_nonlinear_instance(params)
    n = as_int("n", params["n"], minimum=1)
    H = as_int("H", params["H"], minimum=1)
    N = as_int("eval", params["eval"], minimum=2)
    if params.get("learner", "mle") != "mle":
        raise SpecError(f"learner: expected 'mle' (the thm2.nonlinear cell has no control learner), found "
                        f"{params['learner']!r}")
    delta = as_real("delta", params["delta"], low=0.0, high=1.0, open_low=True, open_high=True)
    a, sigma = float(expert.scale[0]), expert.noise_std
    exit_p = exit_probability(a, sigma, float(q.low[0]), float(q.high[0]), H)
    if exit_p > MAX_CLIP_EXIT:
        raise AssumptionError(f"low, high: expected a clip range the expert leaves with probability <= "
                              f"{MAX_CLIP_EXIT:g} over the horizon (mean in (-{a:g}, {a:g}), sd {sigma:g}), found "
                              f"{exit_p:.3g}")
    C, eta, gains = peiiss_constants(system, H)
    policy_class, offsets, factors = gaussian_tanh_class(
        expert.K, a, sigma, params["class_direction"], params["class_min_offset"], params["class_max_offset"],
        params["class_per_side"], params["class_sigma_factors"], q)
    qe = rollout.QuantizedPolicy(expert, q)
    out = {k: [] for k in ("regret", "regret_signed", "stat", "stat_signed", "stat_se", "quant", "offset",
                           "sigma_factor", "thm1_data", "thm1_data_tv", "thm1_data_quant", "tv_traj",
                           "ratio_thm1_data")}
    for child in seed.spawn(seeds):
        data_ss, eval_ss, tv_ss = child.spawn(3)
        data = rollout.collect(system, expert, q, n, H, np.random.default_rng(data_ss))
        fit = learning.fit_finite(policy_class, data.states, data.tokens)
        g1, g2 = _twins(eval_ss)
        total = rollout.regret(system, expert, fit.policy, reward, H, N, g1, quantizer=q)
        quant = rollout.regret(system, expert, qe, reward, H, N, g2)
        stat = total.differences - quant.differences
        out["regret"].append(abs(total.mean))
        out["regret_signed"].append(total.mean)
        out["stat"].append(abs(float(stat.mean())))
        out["stat_signed"].append(float(stat.mean()))
        out["stat_se"].append(float(stat.std(ddof=1) / math.sqrt(stat.size)))
        out["quant"].append(quant.mean)
        out["offset"].append(float(offsets[fit.index]))
        out["sigma_factor"].append(float(factors[fit.index]))
        d = _data_bound(system, expert, q, fit, policy_class, gains, reward.lipschitz, H, N,
                        np.random.default_rng(tv_ss), exit_p)
        out["thm1_data"].append(d["total"])
        out["thm1_data_tv"].append(d["tv"])
        out["thm1_data_quant"].append(d["kappa"] + d["lipschitz"])
        out["tv_traj"].append(d["tv_mc"])
        out["ratio_thm1_data"].append(abs(total.mean) / d["total"])
    L = float(np.max(np.linalg.norm(policy_class.gains, axis=(1, 2), ord=2)))
    kappa = L / (math.sqrt(2.0) * float(np.min(policy_class.noise_std)))
    # Imported here so that importing the claim catalog does not build the sympy bound library.
    from ...theory import bounds

    b = bounds.get("thm2", form="explicit").evaluate(H=H, n=n, delta=delta, Pi=policy_class.size, eps_q=q.eps_sup,
                                                     kappa=kappa, C=C, eta=eta, L_r=reward.lipschitz)
    out.update({"eps_q": float(q.eps_sup), "clip_exit": exit_p, "Pi": float(policy_class.size),
                "log_Pi": math.log(policy_class.size), "L": L, "kappa": kappa, "C": C, "eta": eta,
                "bound": float(b) + delta * H + H * exit_p, "one": 1.0, "lure": float(system.kind == "lure")})
    return out
