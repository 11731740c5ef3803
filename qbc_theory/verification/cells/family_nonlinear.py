r"""Theorem 3 on nonlinear instances: a tanh expert on a linear or a Lur'e system (cell ``thm3.nonlinear``).

The nonlinear draws of the ``thm3.binning`` family (:mod:`qbc_theory.verification.family`, claim
``thm3.rate_n``) run here; the linear draws run the claim's own cell ``thm3.linear``
(:mod:`.linear`). This module defines no claim (``CLAIMS = ()``): it measures the claim's columns on
an instance that Theorem 3 allows but ``thm3.linear`` cannot build.

The instance (every parameter from the spec; the family writes them):

* **System**, ``system = "linear"``: ``x+ = A x + B u + w``, globally P-IISS iff ``rho(A) < 1`` with
  the max-type gain ``Gamma = sum_j ||A^j B||`` (:func:`~qbc_theory.checker.stability.analyze_stability`).
  ``system = "lure"``: ``x+ = A x + B u + G phi(C x) + w`` with ``phi = tanh`` (incremental sector
  ``[0, 1]``), globally P-EIISS when the incremental sector LMI of
  :func:`~qbc_theory.checker.incremental.system_stability` certifies it: ``||dx_{t+1}|| <= sum_k C eta^{t-k}
  ||du_k||`` with ``Gamma = C / (1 - eta)`` from the certificate (re-verified in numpy, and cross-checked
  on sampled coupled runs). ``w ~ N(0, noise_std^2 I)``, ``x_1 ~ N(0, x0^2 I)`` (a nonlinear closed
  loop has no closed-form stationary law).
* **Expert** ``u = a tanh(K x / a)`` (:class:`~qbc_theory.model.experts.TanhExpert`, one action,
  deterministic), Lipschitz with ``L* = ||K||``; its action lies in ``(-a, a)``.
* **Quantizer** centre binning of ``[-clip, clip]`` with ``clip >= a``: the expert never leaves the
  range, so the sup error ``eps_q = clip / bins`` holds with probability one (``clip_exit = 0``).
* **Class** (finite, realizable): ``q#(s' tanh(K' x / s'))`` with ``K' = K + o D`` for the geometric
  offsets of :func:`.linear.offset_class` (decreasing) times the saturation levels ``s' = f a`` for
  ``f`` in ``class_scale_factors`` (which must contain 1, so ``q#pi*`` is a candidate), a
  :class:`~qbc_theory.engine.policy_classes.TanhPolicyClass`. Every candidate is ``L``-Lipschitz with
  ``L = max_j ||K'_j||`` (the saturation does not change it) and stays so after clipping to the range,
  so by Proposition 5 (ii) every ``q#pi_j`` is ``k eps_q``-RTVC with ``kappa(r) = 1{r > (k-2) eps_q / L}``.
* **Learner** log-loss BC, exact MLE over the class (:func:`qbc_theory.engine.learning.fit_finite`, ties
  to the lowest index), as in ``thm3.linear``.
* **Reward** :class:`.linear.TrackRegulateReward` (tracking the expert's action, regulating the state).

**Bound** Theorem 3 with Proposition 5's binning modulus (``bounds.get("thm3_binning")``) at the
instance's ``Gamma`` (above), ``L``, ``k`` (:func:`~qbc_theory.checker.smoothness.binning_rtvc`),
``eps_q``, ``|Pi|``, ``L_r``, ``delta``; plus ``delta H`` for the expectation over data. The
data-dependent Theorem 1 of :mod:`.data_bounds` uses the exact impulse response ``||A^j B||`` (linear)
or the certified profile ``C eta^j`` (Lur'e) on the quantization errors met along expert rollouts.

**Refusals** (:class:`~qbc_theory.model.errors.AssumptionError`, one line): a system without a
global P-IISS certificate (``rho(A) >= 1``, or a Lur'e system the LMI does not certify, or whose
sampled increments refute the certificate), ``clip < a`` (the sup error could fail), a class whose
saturation levels miss the expert's (not realizable). The cell measures instances inside Theorem 3's
hypotheses only.

References
----------
Cao & Xie 2026, Theorem 3, Proposition 5, Definition 3, Appendix A; THEORY.md sections 8 and 8b.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ...checker.incremental import system_stability
from ...checker.smoothness import binning_rtvc
from ...checker.stability import analyze_stability
from ...engine import learning, rollout
from ...engine.policy_classes import TanhPolicyClass
from ...model.dynamics import LinearSystem, LureSystem
from ...model.errors import AssumptionError, DimensionError, SpecError
from ...model.experts import TanhExpert
from ...model.quantizers import UniformBinning
from ...model.validation import as_int, as_matrix, as_real, as_vector
from ..runner import cell_function
from . import data_bounds
from .linear import TrackRegulateReward

__all__ = ["tanh_offset_class", "nonlinear_instance", "certified_gain", "nonlinear_regret_cell", "CLAIMS"]

CLAIMS: tuple = ()


def tanh_offset_class(K, scale, direction, min_offset, max_offset, per_side, scale_factors, quantizer):
    r"""A finite realizable class of saturating gains: geometric offsets along ``D`` times saturation levels.

    .. math::

        \Pi = \{ q_\#\big(x \mapsto f a \tanh((K + o D) x / (f a))\big) : o \in O,\; f \in F \},
        \qquad O = \{o_{\max}, \dots, o_{\min}, 0, -o_{\min}, \dots, -o_{\max}\},

    with ``O`` the geometric offsets of :func:`.linear.offset_class`, listed offset-major in
    *decreasing* order of ``o`` and, inside one offset, in the order of ``F``. The candidate
    ``(o, f) = (0, 1)`` is the expert (``K + 0 D`` is ``K`` exactly): :attr:`TanhPolicyClass.expert_index`.

    Parameters
    ----------
    K : (1, dx) array_like
    scale : float
        The expert's saturation level ``a > 0``.
    direction : (1, dx) array_like
        ``D``, non-zero.
    min_offset, max_offset : float
        ``0 < o_min < o_max``.
    per_side : int
        ``m >= 2``.
    scale_factors : sequence of float
        ``F``, positive, containing 1 (realizability).
    quantizer : UniformBinning

    Returns
    -------
    policy_class : TanhPolicyClass
        ``|Pi| = (2 m + 1) |F|``.
    offsets, factors : (|Pi|,) ndarray
        Each candidate's ``o`` and ``f``.

    Raises
    ------
    DimensionError
        On bad shapes or offsets.
    AssumptionError
        If ``1`` is not among the scale factors (the class would not contain ``q#pi*``).

    References
    ----------
    Cao & Xie 2026, Theorem 3 (finite realizable class) and Appendix A.
    """
    a = as_real("expert_scale", scale, positive=True)
    gains, offsets, factors, expert_index = offset_factor_grid(K, direction, min_offset, max_offset, per_side,
                                                              scale_factors, "class_scale_factors")
    scales = (factors * a)[:, None]
    scales[expert_index] = a
    return TanhPolicyClass(gains, scales, quantizer, np.zeros(offsets.size), expert_index), offsets, factors


def offset_factor_grid(K, direction, min_offset, max_offset, per_side, factors, name: str):
    r"""The grid of a finite realizable class: gains ``K + o D`` times factors ``f`` (one of them 1).

    ``o`` runs over ``m`` geometric offsets per side of 0 (``[o_max ... o_min, 0, -o_min ... -o_max]``) and
    ``f`` over ``factors``; candidate ``(o, f) = (0, 1)`` is the expert (``expert_index``), so the class
    contains ``q#pi*``. Shared by the nonlinear family cells (a saturation level per ``f`` here, a noise
    level in :mod:`.family_thm2_nonlinear`).

    Returns
    -------
    gains : (|Pi|, du, dx) ndarray
    offsets, factors : (|Pi|,) ndarray
    expert_index : int

    Raises
    ------
    DimensionError
        On bad shapes, offsets or factors (``name`` names the factors' key).
    AssumptionError
        If 1 is not among the factors (the class would not contain ``q#pi*``).
    """
    K = as_matrix("K", K)
    D = as_matrix("class_direction", direction, rows=K.shape[0], cols=K.shape[1])
    if not np.any(D != 0):
        raise DimensionError("class_direction: expected a non-zero matrix, found all zeros")
    lo = as_real("class_min_offset", min_offset, positive=True)
    hi = as_real("class_max_offset", max_offset, positive=True)
    if not hi > lo:
        raise DimensionError(f"class_max_offset: expected class_max_offset > class_min_offset = {lo:g}, found {hi:g}")
    m = as_int("class_per_side", per_side, minimum=2)
    F = as_vector(name, factors)
    if np.any(F <= 0):
        raise DimensionError(f"{name}: expected positive factors, found {F.min():g}")
    ones = np.flatnonzero(F == 1.0)
    if ones.size == 0:
        raise AssumptionError(f"{name}: expected a factor 1 (q#pi* in Pi, realizability), found {F.tolist()}")
    side = np.geomspace(lo, hi, m)
    o = np.concatenate([side[::-1], [0.0], -side])
    offsets = np.repeat(o, F.size)
    tiled = np.tile(F, o.size)
    gains = K[None] + offsets[:, None, None] * D[None]
    return gains, offsets, tiled, m * F.size + int(ones[0])


def tanh_system(p: dict, x0_key: str):
    """``(system, K)``: the linear or Lur'e (``phi = tanh``) system and the expert gain of a nonlinear cell.

    Raises
    ------
    SpecError
        On an unknown ``system`` or ``phi``, a stationary initial law (``p[x0_key]`` a string: a
        nonlinear closed loop has no closed-form stationary law), or more than one action.
    """
    A = as_matrix("A", p["A"])
    B = as_matrix("B", p["B"], rows=A.shape[0])
    K = as_matrix("K", p["K"], rows=B.shape[1], cols=A.shape[0])
    if B.shape[1] != 1:
        raise SpecError(f"B: expected one action (the clip range is scalar), found du={B.shape[1]}")
    noise_std = as_real("noise_std", p["noise_std"], nonnegative=True)
    if isinstance(p.get(x0_key), str):
        raise SpecError(f"{x0_key}: expected a standard deviation (a nonlinear closed loop has no closed-form "
                        f"stationary law), found {p[x0_key]!r}")
    x0 = as_real(x0_key, p[x0_key], nonnegative=True)
    kind = p.get("system", "linear")
    if kind == "linear":
        return LinearSystem(A, B, noise_std=noise_std, x0_std=x0), K
    if kind == "lure":
        if p.get("phi", "tanh") != "tanh":
            raise SpecError(f"phi: expected 'tanh', found {p.get('phi')!r}")
        return LureSystem(A, B, p["G"], p["C"], "tanh", noise_std=noise_std, x0_std=x0), K
    raise SpecError(f"system: expected 'linear' or 'lure', found {kind!r}")


def nonlinear_instance(p: dict):
    """``(system, expert, quantizer, reward)`` of the cell's parameters (see the module docstring).

    Raises
    ------
    SpecError
        On an unknown ``system`` or ``phi``, ``x0 = "stationary"``, a clip range that is not a whole
        number of bins, or more than one action.
    AssumptionError
        If ``clip < expert_scale`` (the binning's sup error could fail).
    """
    system, K = tanh_system(p, "x0")
    a = as_real("expert_scale", p["expert_scale"], positive=True)
    expert = TanhExpert(K, a)
    clip = as_real("clip", p["clip"], positive=True)
    if clip < a:
        raise AssumptionError(f"clip: expected clip >= expert_scale = {a:g} (the expert's actions lie in (-a, a), so "
                              f"the binning's sup error holds), found {clip:g}")
    eps_q = as_real("eps_q", p["eps_q"], positive=True)
    ratio = clip / eps_q
    bins = int(round(ratio))
    if bins < 1 or abs(bins - ratio) > 1e-9 * ratio:
        raise SpecError(f"eps_q: expected clip / eps_q to be a whole number of bins, found {clip:g} / {eps_q:g} = "
                        f"{ratio:g}")
    q = UniformBinning(-clip, clip, bins)
    return system, expert, q, TrackRegulateReward(expert, p["reward_scale"])


def certified_gain(system, H: int) -> tuple[float, np.ndarray, dict]:
    r"""Theorem 3's max-type gain ``Gamma`` and the gain profile ``g_j`` (``j < H``) of a linear or Lur'e system.

    Linear: ``Gamma = sum_j ||A^j B||`` and ``g_j = ||A^j B||`` (exact). Lur'e: the incremental
    certificate's ``Gamma = C / (1 - eta)`` and ``g_j = C eta^j``
    (:func:`~qbc_theory.checker.incremental.system_stability`, ``objective="input"``; a certificate that
    sampled coupled runs contradict is refused as well).

    Returns
    -------
    Gamma : float
    gains : (H,) ndarray
    info : dict
        ``C_cert``, ``eta_cert`` (Lur'e) for the cell's columns.

    Raises
    ------
    AssumptionError
        Without a global certificate (the message gives the checker's reason).
    """
    H = as_int("H", H, minimum=1)
    if system.kind == "linear":
        stab = analyze_stability(system.A, system.B, lmi=False)
        if not stab.globally_p_iiss:
            raise AssumptionError(f"A: expected rho(A) < 1 (Theorem 3's global P-IISS), found {stab.reason}")
        return float(stab.Gamma), data_bounds.gain_profile(system.A, system.B, H), {}
    C, eta, Gamma = _lure_certificate(system.A.tobytes(), system.B.tobytes(), system.G.tobytes(),
                                      system.C.tobytes(), system.A.shape, system.G.shape)
    return Gamma, C * eta ** np.arange(H), {"C_cert": C, "eta_cert": eta}


@functools.lru_cache(maxsize=64)
def _lure_certificate(a, b, g, c, shape, gshape) -> tuple[float, float, float]:
    """The certificate of one Lur'e system, cached per process (the cells of one instance share it)."""
    dx, p = shape[0], gshape[1]
    A = np.frombuffer(a).reshape(shape)
    B = np.frombuffer(b).reshape(dx, -1)
    G = np.frombuffer(g).reshape(gshape)
    C = np.frombuffer(c).reshape(p, dx)
    st = system_stability(LureSystem(A, B, G, C, "tanh", noise_std=1.0), rng=np.random.default_rng(0))
    if not st.globally_p_iiss:
        raise AssumptionError(f"system: expected a Lur'e system certified globally P-EIISS by the incremental sector "
                              f"LMI (Theorem 3), found {st.reason}")
    if st.notes:
        raise AssumptionError(f"system: the incremental certificate is contradicted by sampled runs: {st.notes[0]}")
    return float(st.C), float(st.eta), float(st.Gamma)


def _data_bound(system, expert, q, reward, policy_class, fits, gains, H, N, rngs) -> dict:
    """Theorem 1 with measured terms per seed, as :func:`.linear._data_bound` with the instance's gain profile."""
    cols = {k: [] for k in ("thm1_data", "thm1_data_tv", "thm1_data_quant", "tv_traj", "k_data")}
    for fit, g in zip(fits, rngs):
        states, tokens, errors = data_bounds.expert_rollouts(system, expert, q, H, N, g)
        x = states.reshape(-1, system.dx)
        learned = np.asarray(fit.policy.tokens(x)).reshape(tokens.shape)
        differ = np.any(learned != tokens, axis=0).astype(float)
        tv = float(differ.mean() + 2.0 * differ.std(ddof=1) / math.sqrt(differ.size))
        best = data_bounds.thm1_data_bound_binned(
            H=H, tv=min(1.0, tv), p_far=0.0, errors=errors, gains=gains, L_r=reward.lipschitz,
            lipschitz=max(float(np.linalg.norm(policy_class.gains[fit.index], 2)), 1e-12), eps_q=q.eps_sup,
            k_grid=np.linspace(2.25, 12.0, 40), cell_width=float(np.max(q.width)))
        cols["thm1_data"].append(best["total"])
        cols["thm1_data_tv"].append(best["tv"])
        cols["thm1_data_quant"].append(best["kappa"] + best["lipschitz"])
        cols["tv_traj"].append(float(differ.mean()))
        cols["k_data"].append(best["k"])
    return cols


@cell_function("thm3.nonlinear", version="1")
def nonlinear_regret_cell(params: dict, seeds: int, seed: np.random.SeedSequence) -> dict:
    r"""Regret of log-loss BC on a tanh expert (linear or Lur'e system), split as in ``thm3.linear``.

    .. math::

        \underbrace{J(\pi^*) - J(\hat\pi)}_{\texttt{regret}}
        = \underbrace{J(\pi^*) - J(q_\#\pi^*)}_{\texttt{regret\_quant}}
        + \underbrace{J(q_\#\pi^*) - J(\hat\pi)}_{\texttt{regret\_stat}}
        \;\le\; \texttt{bound} = \mathrm{thm3\_binning}(H, n, \delta, |\Pi|, \varepsilon_q, L, \Gamma, k, L_r)
        + \delta H .

    Parameters
    ----------
    params : dict
        ``system`` (``"linear"`` or ``"lure"``), ``A, B`` (and ``G, C``, ``phi = "tanh"`` for Lur'e),
        ``K``, ``expert_scale`` (``a``), ``noise_std``, ``x0`` (a standard deviation), ``clip``
        (``>= a``), ``eps_q``, ``reward_scale``, ``n``, ``H``, ``learner`` (``"mle"`` only),
        ``class_direction``, ``class_min_offset``, ``class_max_offset``, ``class_per_side``,
        ``class_scale_factors`` (default ``[0.8, 1, 1.25]``), ``delta``, ``eval_quant``, ``eval_min``,
        ``eval_per_n``, ``eval_bound`` (default 4096).
    seeds : int
    seed : numpy.random.SeedSequence

    Returns
    -------
    dict
        The columns of ``thm3.linear`` with ``learner = "mle"``: per seed ``regret``, ``regret_stat``,
        ``regret_quant``, ``offset``, ``scale_factor`` and the data-dependent Theorem 1 (``thm1_data``,
        ``ratio_thm1_data``, ...); per cell ``eps_sup``, ``bins``, ``clip_exit`` (0: the action is
        bounded by ``a <= clip``), ``L_r``, ``Pi``, ``L``, ``Gamma``, ``k``, ``delta0``,
        ``h2_vanishes``, ``bound_hp``, ``bound``, ``one``, ``lure`` (1 or 0) and, for Lur'e,
        ``C_cert``, ``eta_cert``.

    Raises
    ------
    AssumptionError
        Outside Theorem 3's hypotheses (module docstring, "Refusals").
    SpecError
        On bad parameters.

    References
    ----------
    Cao & Xie 2026, Theorem 3, Proposition 5, Appendix A.
    """
    system, expert, q, reward = nonlinear_instance(params)
    n = as_int("n", params["n"], minimum=1)
    H = as_int("H", params["H"], minimum=1)
    if params.get("learner", "mle") != "mle":
        raise SpecError(f"learner: expected 'mle' (the thm3.nonlinear cell has no control learner), found "
                        f"{params['learner']!r}")
    delta = as_real("delta", params["delta"], low=0.0, high=1.0, open_low=True, open_high=True)
    Gamma, gains, info = certified_gain(system, H)
    policy_class, offsets, factors = tanh_offset_class(
        expert.K, float(expert.scale[0]), params["class_direction"], params["class_min_offset"],
        params["class_max_offset"], params["class_per_side"], params.get("class_scale_factors", [0.8, 1.0, 1.25]), q)
    qe = rollout.QuantizedPolicy(expert, q)
    n_quant = as_int("eval_quant", params["eval_quant"], minimum=2)
    n_stat = max(as_int("eval_min", params["eval_min"], minimum=2),
                 as_int("eval_per_n", params["eval_per_n"], minimum=0) * n)
    out = {"regret": [], "regret_stat": [], "regret_quant": [], "offset": [], "scale_factor": []}
    fits, data_rngs = [], []
    for child in seed.spawn(seeds):
        s_data, s_stat, s_quant, s_bound = (np.random.default_rng(c) for c in child.spawn(4))
        data = rollout.collect(system, expert, q, n, H, s_data)
        fit = learning.fit_finite(policy_class, data.states, data.tokens)
        fits.append(fit)
        data_rngs.append(s_bound)
        out["offset"].append(float(offsets[fit.index]))
        out["scale_factor"].append(float(factors[fit.index]))
        stat = rollout.regret(system, qe, fit.policy, reward, H, n_stat, s_stat).mean
        quant = rollout.regret(system, expert, qe, reward, H, n_quant, s_quant).mean
        out["regret_stat"].append(stat)
        out["regret_quant"].append(quant)
        out["regret"].append(stat + quant)
    L = float(np.max(np.linalg.norm(policy_class.gains, axis=(1, 2), ord=2)))
    # Imported here so that importing the claim catalog does not build the sympy bound library.
    from ...theory import bounds

    rtvc = binning_rtvc(L, q.eps_sup, Gamma=Gamma)
    hp = bounds.get("thm3_binning").evaluate(H=H, n=n, delta=delta, Pi=policy_class.size, eps_q=q.eps_sup, L=L,
                                             Gamma=Gamma, k=rtvc.k, L_r=reward.lipschitz)
    out.update({"eps_sup": q.eps_sup, "bins": float(q.bins), "clip_exit": 0.0, "L_r": reward.lipschitz,
                "Pi": float(policy_class.size), "L": L, "Gamma": Gamma, "k": rtvc.k, "delta0": rtvc.delta0,
                "h2_vanishes": float(bool(rtvc.h2_term_vanishes)), "bound_hp": float(hp),
                "bound": float(hp) + delta * H, "lure": float(system.kind == "lure"), **info})
    n_bound = as_int("eval_bound", params.get("eval_bound", 4096), minimum=2)
    out.update(_data_bound(system, expert, q, reward, policy_class, fits, gains, H, n_bound, data_rngs))
    out["ratio_thm1_data"] = [r / b for r, b in zip(out["regret"], out["thm1_data"])]
    out["one"] = 1.0
    return out
