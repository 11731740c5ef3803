r"""Theorem 1's explicit form and Proposition 4 (the reduction), a-priori and data-dependent.

Claims ``thm1.explicit`` and ``prop4.regression`` of the catalog (:mod:`qbc_theory.verification.claims`),
split out of :mod:`.theorem2` (whose Theorem 2 instance ``thm1.explicit`` uses). The instances are
described in :mod:`.theorem2`; the data-dependent evaluation of Theorem 1 is :mod:`.data_bounds`.

**Negative controls.** Both claims use the appendix's Lipschitz example (:func:`lipschitz_reduction_cell`):
every hypothesis of Theorem 1 and Proposition 4 holds exactly except the **smoothness of the learner**
(a deterministic ``x -> K x`` is not TVC, and its ``eps'``-RTVC modulus ``1{r > eps'/L}`` does not
vanish at the state gaps the quantization error causes, since ``L Gamma > 1``). The bound evaluated
with that actual modulus is valid and holds (its ``kappa`` term is ``H (H - 1)``, above the largest
possible regret); the control tests that the regret exceeds the rest of the bound, i.e. that the
term the broken hypothesis would remove is the one carrying the inequality. A stable linear closed
loop cannot show such a term (THEORY.md section 8b). Measured on the claims' own instances (cells
:func:`thm1_greedy_cell`, the MLE decoded greedily, not TVC; :func:`prop4_unsmoothed_cell`, the
regression learner without smoothing, not TVC), breaking the smoothness does not make the regret exceed
the rest of the valid bound: ``L Gamma < 1`` there, so the learner is ``eps'``-RTVC with a modulus that
vanishes at the state gaps and the valid bound's kappa term is zero or small. Those cells are the
evidence for keeping the Lipschitz example as the controls (docs/claims.md, 3.14 and 3.15).

References
----------
Cao & Xie 2026, Theorem 1, Proposition 4, the appendix's Lipschitz example.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import scipy.special
import sympy

from ...theory import bounds
from ...engine import learning, rollout
from ...model.validation import as_int, as_real
from ...checker.report import clip_exit_bound
from ..verdicts import BoundTest, Claim
from ...engine.constructions import lipschitz_example
from ...model.dynamics import LinearSystem
from ...model.errors import SpecError
from ...model.experts import ArctanExpert, LinearExpert
from ...model.rewards import TrackingReward
from ..runner import cell_function
from ...checker.stability import gain_sum
from . import data_bounds
from .theorem2 import ProgressReward, _coupled_regrets, _linear_instance, _stability, gaussian_tv_1d

__all__ = [
    "thm1_terms",
    "thm1_terms_cell",
    "prop4_regression_cell",
    "lipschitz_reduction_cell",
    "thm1_greedy_cell",
    "prop4_unsmoothed_cell",
    "CLAIMS",
]


_THM1_LABELS = (("delta_iiss", "iiss"), ("tv", "tv"), ("p_far", "far"), ("kappa", "kappa"), ("L_r", "lipschitz"))


@functools.lru_cache(maxsize=None)
def _thm1_compiled():
    """The library's explicit Theorem 1 split by term (label -> numpy function of the sorted symbols).

    Each additive term is labelled by the first symbol of :data:`_THM1_LABELS` it contains; terms with
    the same label (should the library write one term as a sum) are added up.
    """
    expr = bounds.get("thm1", form="explicit").explicit
    syms = sorted(expr.free_symbols, key=lambda s: s.name)
    parts: dict[str, sympy.Expr] = {}
    for term in sympy.Add.make_args(expr):
        present = {s.name for s in term.free_symbols}
        label = next((lab for key, lab in _THM1_LABELS if key in present), None)
        if label is None:
            raise SpecError(f"thm1: expected every term to carry one of {[k for k, _ in _THM1_LABELS]}, "
                            f"found the term {term}")
        parts[label] = parts.get(label, sympy.S.Zero) + term
    terms = tuple((lab, sympy.lambdify(syms, parts.get(lab, sympy.S.Zero), "numpy")) for _, lab in _THM1_LABELS)
    return tuple(s.name for s in syms), terms


def thm1_terms(**values) -> dict:
    r"""Every additive term of Theorem 1's explicit form (from :mod:`qbc_theory.theory.bounds`) and their sum.

    .. math::

        |J(\pi_0) - J(\pi_2)| \le \underbrace{H^2 \delta_{IISS}}_{\text{iiss}}
        + \underbrace{H\,TV}_{\text{tv}} + \underbrace{H p_d}_{\text{far}}
        + \underbrace{H^2 \kappa \Gamma (\varepsilon_q + \varepsilon')}_{\text{kappa}}
        + \underbrace{H L_r (\Gamma + 1)(\varepsilon_q + \varepsilon')}_{\text{lipschitz}} .

    The terms are read off the library's expression (``bounds.get("thm1").explicit``), so a change
    there changes them here. Zero values of ``delta_iiss``, ``tv`` and ``p_far`` (global P-IISS, an
    exact learner) are accepted: the expression is evaluated directly, not through
    :meth:`~qbc_theory.theory.bounds.Bound.evaluate`, whose ranges for those symbols are open at 0.

    Parameters
    ----------
    **values : float
        One value for each symbol of the explicit form (``H, delta_iiss, tv, p_far, kappa, Gamma,
        eps_q, eps_prime, L_r``), all finite and non-negative.

    Returns
    -------
    dict
        ``{"iiss", "tv", "far", "kappa", "lipschitz", "total"}`` as floats.

    Raises
    ------
    TypeError
        On missing or unknown symbols.
    DimensionError
        On a negative or non-finite value.

    References
    ----------
    Cao & Xie 2026, Theorem 1.
    """
    names, terms = _thm1_compiled()
    missing = sorted(set(names) - set(values))
    unknown = sorted(set(values) - set(names))
    if missing or unknown:
        raise TypeError(f"thm1_terms: expected values for {', '.join(names)}; missing {missing}, unknown {unknown}")
    vals = [as_real(n, values[n], nonnegative=True) for n in names]
    out = {label: float(f(*vals)) for label, f in terms}
    out["total"] = float(sum(out[lab] for _, lab in _THM1_LABELS))
    return out


# --- cells -----------------------------------------------------------------------------------------

@cell_function("thm1.terms", version="3")
def thm1_terms_cell(params: dict, seeds: int, seed: np.random.SeedSequence) -> dict:
    r"""Every term of Theorem 1's explicit form for the learned policy, against ``|J(pi*) - J(pi_hat)|``.

    Theorem 1 with ``(pi0, pi0~) = (pi*, q#pi*)`` and ``(pi1, pi1~) = (rho o pi_hat, pi_hat)``, per seed:

    * ``delta_iiss = 0``: ``rho(A) < 1`` makes the system globally P-IISS with the max-type gain
      ``Gamma = sum_j ||A^j B||`` (:func:`qbc_theory.checker.stability.gain_sum`), so ``d = inf``;
    * ``p_far``: the only way a quantization error exceeds the binning's sup ``eps_q`` is an action
      leaving the clip range; its probability is bounded by :func:`qbc_theory.checker.report.clip_exit_bound`
      and charged like the proof's bad event (regret at most ``H`` on it);
    * ``tv``: ``TV(P-bar^0, P-bar^1) = TV(P^{q#pi*}, P^{pi_hat})`` (same dequantization kernel), bounded
      by the hybrid argument ``sum_h E_{P^0} TV(q#pi*(.|x_h), pi_hat(.|x_h))`` along the expert's own
      trajectories, and each step's TV of the quantized policies by that of the Gaussians before
      quantization (:func:`gaussian_tv_1d`; a map never increases TV). Capped at 1;
    * ``kappa = ||K_hat|| / (sqrt(2) sigma_hat)``: the learned policy is TVC (``eps' = 0``) with this
      linear modulus;
    * ``eps_q`` the binning's sup error, ``L_r`` the reward's Lipschitz constant.

    ``ratio_thm1`` is the measured ``|J(pi*) - J(pi_hat)|`` divided by the sum (Theorem 1 holds for every
    learned policy, so the ratio is at most 1 seed by seed, and so is its mean).

    Parameters
    ----------
    params : dict
        As :func:`thm2_regret_cell` (``learner``, ``box_*`` and ``delta`` are not used); the action
        must be scalar.
    seeds : int
    seed : numpy.random.SeedSequence

    Returns
    -------
    dict
        Per seed: ``regret``, ``regret_signed``, ``tv``, ``kappa``, ``thm1_iiss``, ``thm1_tv``,
        ``thm1_far``, ``thm1_kappa``, ``thm1_lipschitz``, ``thm1`` (their sum), ``ratio_thm1``,
        ``converged`` (of the MLE's optimiser); the data-dependent evaluation
        (:func:`.data_bounds.gaussian_thm1_data`: exact trajectory TV from likelihood ratios, measured
        quantization errors with the exact linear gain, the learner's exact TV modulus): ``thm1_data``,
        its parts ``thm1_data_tv`` and ``thm1_data_quant``, ``tv_traj`` (the TV estimate) and
        ``ratio_thm1_data``. Per cell: ``one`` (= 1, the bound of the ratios), ``Gamma``, ``eps_q``,
        ``clip_exit``, ``L_r``.

    Raises
    ------
    SpecError
        If ``rho(A) >= 1`` or the action is not scalar.

    References
    ----------
    Cao & Xie 2026, Theorem 1 and its proof.
    """
    system, expert, q, reward = _linear_instance(params)
    if system.du != 1:
        raise SpecError(f"B: expected a scalar action for the exact Gaussian TV, found du={system.du}")
    if not system.spectral_radius < 1:
        raise SpecError(f"A: expected rho(A) < 1 (global P-IISS), found {system.spectral_radius:g}")
    H = as_int("H", params["H"], minimum=1)
    n = as_int("n", params["n"], minimum=1)
    N = as_int("eval", params["eval"], minimum=2)
    Gamma = gain_sum(system.A, system.B).upper
    eps_q = float(q.eps_sup)
    exit_p = float(clip_exit_bound(system, expert, q, H))
    cols = ("regret", "regret_signed", "tv", "kappa", "thm1_iiss", "thm1_tv", "thm1_far", "thm1_kappa",
            "thm1_lipschitz", "thm1", "ratio_thm1", "converged", "thm1_data", "thm1_data_tv", "thm1_data_quant",
            "tv_traj", "ratio_thm1_data")
    out = {k: [] for k in cols}
    for child in seed.spawn(seeds):
        data_ss, eval_ss, tv_ss, traj_ss = child.spawn(4)
        data = rollout.collect(system, expert, q, n, H, np.random.default_rng(data_ss))
        fit = learning.fit_gaussian_mle(data.states, data.tokens, q)
        out["converged"].append(float(fit.converged))
        total, _, _, _, _ = _coupled_regrets(system, expert, q, fit.policy, reward, H, N, eval_ss)
        noise = rollout.draw_noise(system, H, N, system.du, np.random.default_rng(tv_ss))
        states = rollout.rollout(system, expert, reward, H, noise.x0, noise.w, noise.z).states
        per_step = gaussian_tv_1d(states @ expert.K[0], expert.noise_std, states @ fit.K[0], fit.noise_std)
        tv = float(min(1.0, per_step.mean(axis=1).sum()))
        kappa = float(np.linalg.norm(fit.K, 2) / (math.sqrt(2.0) * fit.noise_std))
        terms = thm1_terms(H=H, delta_iiss=0.0, tv=tv, p_far=exit_p, kappa=kappa, Gamma=Gamma, eps_q=eps_q,
                           eps_prime=0.0, L_r=reward.lipschitz)
        for key in ("iiss", "tv", "far", "kappa", "lipschitz"):
            out[f"thm1_{key}"].append(terms[key])
        out["thm1"].append(terms["total"])
        out["regret"].append(abs(total))
        out["regret_signed"].append(total)
        out["tv"].append(tv)
        out["kappa"].append(kappa)
        out["ratio_thm1"].append(abs(total) / terms["total"])
        d = data_bounds.gaussian_thm1_data(system, expert, q, fit.K, fit.noise_std, reward.lipschitz, H, N,
                                           np.random.default_rng(traj_ss), p_far=exit_p)
        out["thm1_data"].append(d["total"])
        out["thm1_data_tv"].append(d["tv"])
        out["thm1_data_quant"].append(d["kappa"] + d["lipschitz"])
        out["tv_traj"].append(d["tv_mc"])
        out["ratio_thm1_data"].append(abs(total) / d["total"])
    out.update(one=1.0, Gamma=Gamma, eps_q=eps_q, clip_exit=exit_p, L_r=reward.lipschitz)
    return out


def _expert_data(system, expert, n, H, rng):
    """States ``(n, H, dx)`` and raw actions ``(n, H, du)`` of ``n`` expert trajectories (no quantizer)."""
    noise = rollout.draw_noise(system, H, n, system.du, rng)
    traj = rollout.rollout(system, expert, _ZeroReward(), H, noise.x0, noise.w, noise.z)
    return traj.states.swapaxes(0, 1), traj.actions.swapaxes(0, 1)


def _training_error(system, expert, learner, H, N, rng) -> float:
    r"""``sum_h E_{P^{pi*}} ||u*_h - u_hat_h||``: the learner's action at the expert's states.

    Both policies act with the same standard normals ``z_h`` (a coupling of their action draws).
    """
    noise = rollout.draw_noise(system, H, N, system.du, rng)
    states = rollout.rollout(system, expert, _ZeroReward(), H, noise.x0, noise.w, noise.z).states
    total = 0.0
    for h in range(H):
        total += float(np.linalg.norm(expert.act(states[h], noise.z[h]) - learner.act(states[h], noise.z[h]),
                                      axis=-1).mean())
    return total


class _ZeroReward:
    def __call__(self, x, u):
        return np.zeros(x.shape[0])


def _prop4_instance(params: dict):
    """The instance of Proposition 4's cells: system, expert (arctan or linear), tracking reward, H, n, eval."""
    system = LinearSystem(params["A"], params["B"], noise_std=params["noise_std"], x0_std=params["x0_std"])
    kind = params.get("expert", "arctan")
    if kind == "arctan":
        expert = ArctanExpert()
    elif kind == "linear":
        expert = LinearExpert(params["K"])
    else:
        raise SpecError(f"expert: expected 'arctan' or 'linear', found {kind!r}")
    expert.check_system(system)
    reward = TrackingReward(expert, params["reward_scale"])
    H = as_int("H", params["H"], minimum=1)
    n = as_int("n", params["n"], minimum=1)
    N = as_int("eval", params["eval"], minimum=2)
    return system, expert, reward, H, n, N


def _global_stability(system):
    """The system's stability report, refusing a system that is not globally P-EIISS (rho(A) >= 1)."""
    st = _stability(system)
    if not st.globally_p_iiss:
        raise SpecError(f"A: expected rho(A) < 1 (global P-EIISS), found {st.spectral_radius:g}")
    return st


@cell_function("prop4.regression", version="1")
def prop4_regression_cell(params: dict, seeds: int, seed: np.random.SeedSequence) -> dict:
    r"""Regression BC with Gaussian state smoothing against Proposition 4's explicit bound.

    Per seed: ``n`` expert trajectories, least squares ``K_hat`` of the raw actions on the states
    (:func:`qbc_theory.engine.learning.fit_regression`), learner ``K_hat (x + xi)``, ``xi ~ N(0, s^2 I)``, TVC
    with ``kappa(r) = r / (2 s)``. Measured on ``eval`` trajectories: the regret (shared noise) and the
    training error ``eps_reg = (1/H) sum_h E_{P^{pi*}} ||u*_h - u_hat_h||`` (the smoothing draw is part
    of the learner's action). The bound

    .. math::

        J(\pi^*) - J(\hat\pi) \le \frac{\kappa C}{1-\eta} H^2 \varepsilon_{reg}
        + L_r\Big(1 + \frac{C}{1-\eta}\Big) H \varepsilon_{reg}

    is evaluated per seed with that seed's ``eps_reg`` (``bounds.get("prop4")``), ``(C, eta)`` from
    :func:`qbc_theory.checker.stability.analyze_stability`.

    Parameters
    ----------
    params : dict
        ``A, B, noise_std, x0_std``; ``expert`` (``"arctan"``, the scalar 1-Lipschitz
        :class:`~qbc_theory.model.experts.ArctanExpert`, or ``"linear"`` with ``K``); ``reward_scale``
        (action tracking of the expert's mean); ``H``, ``n``, ``smoothing`` (``s > 0``), ``eval``.
    seeds : int
    seed : numpy.random.SeedSequence

    Returns
    -------
    dict
        Per seed: ``regret`` (``|J(pi*) - J(pi_hat)|``), ``regret_signed``, ``eps_reg``, ``train_err``
        (``H eps_reg``), ``h_train`` (``H`` times it), ``bound``, ``ratio_prop4`` (``regret / bound``),
        ``ratio_h`` (``regret / h_train``), ``k_hat``. Per cell: ``one``, ``kappa``, ``C``, ``eta``, ``L_r``.

    References
    ----------
    Cao & Xie 2026, Proposition 4; Block et al. 2023, Lemma 3.1 (smoothing gives TVC).
    """
    system, expert, reward, H, n, N = _prop4_instance(params)
    s = as_real("smoothing", params["smoothing"], positive=True)
    st = _global_stability(system)
    kappa = 1.0 / (2.0 * s)
    prop4 = bounds.get("prop4", form="explicit")
    cols = ("regret", "regret_signed", "eps_reg", "train_err", "h_train", "bound", "ratio_prop4", "ratio_h", "k_hat")
    out = {k: [] for k in cols}
    for child in seed.spawn(seeds):
        data_ss, eval_ss, err_ss = child.spawn(3)
        states, actions = _expert_data(system, expert, n, H, np.random.default_rng(data_ss))
        learner = learning.fit_regression(states, actions, smoothing=s)
        reg = rollout.regret(system, expert, learner, reward, H, N, np.random.default_rng(eval_ss))
        train = _training_error(system, expert, learner, H, N, np.random.default_rng(err_ss))
        eps_reg = train / H
        b = float(prop4.evaluate(H=H, eps_reg=eps_reg, kappa=kappa, C=st.C, eta=st.eta, L_r=reward.lipschitz))
        out["regret"].append(abs(reg.mean))
        out["regret_signed"].append(reg.mean)
        out["eps_reg"].append(eps_reg)
        out["train_err"].append(train)
        out["h_train"].append(H * train)
        out["bound"].append(b)
        out["ratio_prop4"].append(abs(reg.mean) / b)
        out["ratio_h"].append(abs(reg.mean) / (H * train))
        out["k_hat"].append(float(np.linalg.norm(learner.K, 2)))
    out.update(one=1.0, kappa=kappa, C=st.C, eta=st.eta, L_r=reward.lipschitz)
    return out


@cell_function("reduction.lipschitz", version="2")
def lipschitz_reduction_cell(params: dict, seeds: int, seed: np.random.SeedSequence) -> dict:
    r"""The appendix's Lipschitz example against Theorem 1 (valid, with the learner's modulus) and without its kappa term.

    Instance (:func:`qbc_theory.engine.constructions.lipschitz_example`): ``x+ = A x + B u``,
    ``rho(A) < 1 < rho(A + BK)``, expert ``K x + delta``, learner ``K x`` (deterministic, no
    smoothing), reward :class:`ProgressReward` (the state gap shows in the regret). Every hypothesis
    of Theorem 1 and Proposition 4 holds exactly except the smoothness of the learner: ``TV = 0``
    (the dequantization kernel adds ``delta``, so both extended laws coincide),
    ``delta_iiss = p_far = 0`` (global P-IISS, ``Gamma = sum_j ||A^j B||``; P-EIISS with ``(C, eta)``),
    ``||u0_h - u~0_h|| = ||delta||`` exactly (the sup error and the regression error), ``eps' = 0``.
    ``K x`` is deterministic, so it is not TVC; it is ``eps'``-RTVC only with the modulus
    ``1{r > eps' / L}``, which does not vanish at ``Gamma (||delta|| + eps')`` since ``L Gamma > 1``.
    The cell returns

    * ``thm1_valid``: Theorem 1 evaluated with the learner's **actual** modulus ``1{r > eps'/L}``
      (:func:`.data_bounds.thm1_data_terms` with the exact linear gain and the exact action error
      ``||delta||``, minimised over ``eps'`` in ``||delta|| * {0, 10^-2, ..., 10^4}``), a valid bound,
      with its kappa term ``thm1_valid_kappa`` (``sum_{h=2..H} (H - h + 1) = H (H - 1) / 2`` here:
      ``gamma_h >= ||B|| (||delta|| + eps') > eps'/L`` from ``h = 2`` on, each failure weighted by the
      steps it can still cost) and ``ratio_thm1_valid``;
    * ``thm1``, ``ratio_thm1``: the rest of Theorem 1's explicit form, i.e. the bound without its kappa
      term (the term the learner's RTVC would remove; numerically the form at ``kappa = 0``);
    * ``prop4``, ``ratio_prop4``: Proposition 4's explicit form without its kappa term (``K x`` has no
      linear TV modulus at all, so the valid Proposition 4 bound is infinite), with the measured
      training error;
    * ``ratio_h``: the regret over ``H`` times the training error ``sum_h E||u*_h - u_hat_h||``
      (Proposition 4's rate with constant 1; reported, not tested).

    Parameters
    ----------
    params : dict
        ``A, B, K, delta, x0_std, noise_std``, ``reward_scale``, ``H``, ``eval``.
    seeds : int
    seed : numpy.random.SeedSequence

    Returns
    -------
    dict
        Per seed: ``regret``, ``train_err``, ``h_train``, ``thm1``, ``prop4``, ``ratio_thm1``,
        ``ratio_prop4``, ``ratio_h``, ``thm1_valid``, ``thm1_valid_kappa``, ``ratio_thm1_valid``. Per cell: ``one``, ``Gamma``, ``C``, ``eta``, ``L_r``,
        ``rho_closed_loop``.

    References
    ----------
    Cao & Xie 2026, Appendix (Lipschitz continuity is not enough), Theorem 1 and Proposition 4.
    """
    c = lipschitz_example(A=params["A"], B=params["B"], K=params["K"], delta=params["delta"],
                          x0_std=params["x0_std"], noise_std=params["noise_std"])
    system, expert, learner = c.system, c.expert, c.learner
    reward = ProgressReward(params["reward_scale"])
    H = as_int("H", params["H"], minimum=1)
    N = as_int("eval", params["eval"], minimum=2)
    st = _stability(system)
    Gamma = st.Gamma
    sup_err = float(np.linalg.norm(expert.offset))
    prop4 = bounds.get("prop4", form="explicit")
    cols = ("regret", "train_err", "h_train", "thm1", "prop4", "ratio_thm1", "ratio_prop4", "ratio_h", "thm1_valid",
            "thm1_valid_kappa", "ratio_thm1_valid")
    out = {k: [] for k in cols}
    L = float(np.linalg.norm(learner.K, 2))
    gains = data_bounds.gain_profile(system.A, system.B, H)
    errors = np.full((2, H), sup_err)  # the action error is ||delta|| at every step of every trajectory
    valid = None
    for ep in sup_err * np.concatenate([[0.0], np.logspace(-2, 4, 25)]):
        t = data_bounds.thm1_data_terms(H=H, tv=0.0, p_far=0.0, errors=errors, gains=gains, L_r=reward.lipschitz,
                                        kappa=lambda r, ep=ep: (np.asarray(r) > ep / L).astype(float),
                                        eps_prime=ep)
        valid = t if valid is None or t["total"] < valid["total"] else valid
    for child in seed.spawn(seeds):
        eval_ss, err_ss = child.spawn(2)
        reg = rollout.regret(system, expert, learner, reward, H, N, np.random.default_rng(eval_ss))
        train = _training_error(system, expert, learner, H, N, np.random.default_rng(err_ss))
        t1 = thm1_terms(H=H, delta_iiss=0.0, tv=0.0, p_far=0.0, kappa=0.0, Gamma=Gamma, eps_q=sup_err,
                        eps_prime=0.0, L_r=reward.lipschitz)["total"]
        p4 = float(prop4.evaluate(H=H, eps_reg=train / H, kappa=0.0, C=st.C, eta=st.eta, L_r=reward.lipschitz))
        out["regret"].append(abs(reg.mean))
        out["train_err"].append(train)
        out["h_train"].append(H * train)
        out["thm1"].append(t1)
        out["prop4"].append(p4)
        out["ratio_thm1"].append(abs(reg.mean) / t1)
        out["ratio_prop4"].append(abs(reg.mean) / p4)
        out["ratio_h"].append(abs(reg.mean) / (H * train))
        out["thm1_valid"].append(valid["total"])
        out["thm1_valid_kappa"].append(valid["kappa"])
        out["ratio_thm1_valid"].append(abs(reg.mean) / valid["total"])
    out.update(one=1.0, Gamma=Gamma, C=st.C, eta=st.eta, L_r=reward.lipschitz,
               rho_closed_loop=float(c.params["rho_closed_loop"]))
    return out


# --- claims ----------------------------------------------------------------------------------------

_PROP4_BOUND = BoundTest(value="ratio_prop4", bound="one", kind="upper",
                         label="|J(pi*) - J(pi_hat)| / Proposition 4's explicit bound <= 1 (a priori)")
_THM1_APRIORI = BoundTest(value="ratio_thm1", bound="one", kind="upper",
                          label="|J(pi*) - J(pi_hat)| / Theorem 1's explicit sum <= 1 (a priori: per-step TV "
                                "hybrid, sup error, class-free linear modulus)")
_THM1_DATA = BoundTest(value="ratio_thm1_data", bound="one", kind="upper",
                       label="|J(pi*) - J(pi_hat)| / Theorem 1 with measured terms <= 1 (data-dependent: exact "
                             "trajectory TV from likelihood ratios, quantization term along expert rollouts)")

CLAIMS = (
    Claim(
        id="prop4.regression",
        theorem="Proposition 4",
        predicted=("regret of Gaussian-smoothed regression BC <= kappa C/(1-eta) H^2 eps_reg + "
                   "L_r (1 + C/(1-eta)) H eps_reg (eps_reg the measured training error)"),
        spec="prop4.regression",
        control_spec="prop4.regression.control",
        tests=(_PROP4_BOUND,),
        control=("broken hypothesis: TVC of the learner. The appendix's Lipschitz example (P-EIISS holds, the "
                 "training error is exactly ||delta|| per step), learner K x without smoothing: it has no linear "
                 "TV modulus, so the valid Proposition 4 bound is infinite; the regret (compounding like "
                 "rho(A + BK)^H = 1.5^H) exceeds the rest of the bound, L_r (1 + C/(1-eta)) H eps_reg, i.e. the "
                 "kappa term the hypothesis controls is the one needed"),
        control_tests=(BoundTest(value="ratio_prop4", bound="one", kind="upper",
                                 label="|J(pi*) - J(pi_hat)| / Proposition 4's bound without its kappa term <= 1"),),
    ),
    Claim(
        id="thm1.explicit",
        theorem="Theorem 1",
        predicted=("|J(pi*) - J(pi_hat)| <= H^2 delta_iiss + H TV + H p_d + H^2 kappa Gamma (eps_q + eps') "
                   "+ H L_r (Gamma + 1)(eps_q + eps'), every term computed for the learned policy, a priori and "
                   "with measured terms (data-dependent)"),
        spec="thm1.explicit",
        control_spec="thm1.explicit.control",
        tests=(_THM1_APRIORI, _THM1_DATA),
        control=("broken hypothesis: RTVC of the learner (deterministic K x, L Gamma = 2 > 1). The appendix's "
                 "Lipschitz example, where every other hypothesis holds exactly (TV = 0, global P-IISS, action "
                 "error ||delta||). With the learner's actual modulus 1{r > eps'/L} the bound is valid and holds "
                 "only through its kappa term H(H-1) (column thm1_valid); the regret exceeds the rest of the "
                 "bound, the part that remains when RTVC holds"),
        control_tests=(BoundTest(value="ratio_thm1", bound="one", kind="upper",
                                 label="|J(pi*) - J(pi_hat)| / Theorem 1's bound without its kappa term <= 1"),),
    ),
)


# --- negative controls on the claims' own instances -------------------------------------------------

#: eps' = k eps_q choices of Proposition 5 (ii) tried for a deterministic binned learner (the cell-count
#: modulus ``eps' = m w`` is tried as well); every choice gives a valid Theorem 1 bound, the least is kept.
_K_GRID = (2.5, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 64.0)


@cell_function("thm1.greedy", version="1")
def thm1_greedy_cell(params: dict, seeds: int, seed: np.random.SeedSequence) -> dict:
    r"""Theorem 1 on the instance of ``thm1.explicit`` with the MLE decoded greedily (not TVC).

    The instance, the data and the fit are those of :func:`thm1_terms_cell`; the learner plays the
    most likely token of the fitted ``q#N(K_hat x, sigma_hat^2)``, i.e. ``q(K_hat x)`` (greedy
    decoding: the cell of the mean), a deterministic quantized policy. That breaks one hypothesis of
    Theorem 1 as the claim uses it, the **TVC (eps' = 0 RTVC) of the learner**: between point masses
    the TV is ``1{q(K_hat x) != q(K_hat x')}``, which does not vanish as ``x' -> x``. The theorem still
    holds with the learner's actual ``eps'``-RTVC modulus (Proposition 5 (ii) and the binning's
    cell-count modulus ``1{r > m w / |K_hat|}``, minimised over ``eps'``:
    :func:`.data_bounds.thm1_data_bound_binned`), with the quantization errors met along ``eval`` expert
    rollouts through the exact linear gain, ``p_far = P(clip exit)`` and ``TV = 1`` (a valid upper bound:
    the trajectory law of a deterministic policy and that of the stochastic ``q#pi*`` are nearly singular,
    their first step alone has TV ``1 - max_cell P(q#pi*)``, reported as ``tv_step1``).

    Returns
    -------
    dict
        Per seed: ``regret`` (``|J(pi*) - J(pi_hat)|``), ``regret_signed``, ``thm1_valid`` (the valid
        bound), ``thm1_valid_kappa`` (its kappa term), ``thm1_valid_tv`` (its ``H TV`` term),
        ``thm1`` (the bound without its kappa term: the part that remains when the learner's
        modulus vanishes), ``ratio_thm1`` = ``regret / thm1``, ``ratio_thm1_valid``, ``k`` (the chosen
        ``eps' / eps_q``), ``tv_step1``, ``k_hat``. Per cell: ``one``, ``Gamma``, ``eps_q``,
        ``clip_exit``, ``L_r``.

    References
    ----------
    Cao & Xie 2026, Theorem 1 and Proposition 5 (ii).
    """
    system, expert, q, reward = _linear_instance(params)
    if system.du != 1:
        raise SpecError(f"B: expected a scalar action, found du={system.du}")
    if not system.spectral_radius < 1:
        raise SpecError(f"A: expected rho(A) < 1 (global P-IISS), found {system.spectral_radius:g}")
    H = as_int("H", params["H"], minimum=1)
    n = as_int("n", params["n"], minimum=1)
    N = as_int("eval", params["eval"], minimum=2)
    Gamma = gain_sum(system.A, system.B).upper
    gains = data_bounds.gain_profile(system.A, system.B, H)
    eps_q = float(q.eps_sup)
    width = float(np.asarray(q.width).reshape(-1)[0])
    exit_p = float(clip_exit_bound(system, expert, q, H))
    cols = ("regret", "regret_signed", "thm1_valid", "thm1_valid_kappa", "thm1_valid_tv", "thm1", "ratio_thm1",
            "ratio_thm1_valid", "k", "tv_step1", "k_hat")
    out = {k: [] for k in cols}
    for child in seed.spawn(seeds):
        data_ss, eval_ss, traj_ss = child.spawn(3)
        data = rollout.collect(system, expert, q, n, H, np.random.default_rng(data_ss))
        fit = learning.fit_gaussian_mle(data.states, data.tokens, q)
        greedy = rollout.QuantizedPolicy(LinearExpert(fit.K), q)
        total, _, _, _, _ = _coupled_regrets(system, expert, q, greedy, reward, H, N, eval_ss)
        states, _, errors = data_bounds.expert_rollouts(system, expert, q, H, N, np.random.default_rng(traj_ss))
        L = max(float(np.linalg.norm(fit.K, 2)), 1e-12)
        best = data_bounds.thm1_data_bound_binned(H=H, tv=1.0, p_far=exit_p, errors=errors, gains=gains,
                                                  L_r=reward.lipschitz, lipschitz=L, eps_q=eps_q, k_grid=_K_GRID,
                                                  cell_width=width)
        # first step: P(q#pi* plays the greedy token) <= the largest cell mass of N(K x_1, sigma^2)
        top = float(scipy.special.erf(width / (2.0 * math.sqrt(2.0) * expert.noise_std)))
        rest = best["total"] - best["kappa"]
        out["regret"].append(abs(total))
        out["regret_signed"].append(total)
        out["thm1_valid"].append(best["total"])
        out["thm1_valid_kappa"].append(best["kappa"])
        out["thm1_valid_tv"].append(best["tv"])
        out["thm1"].append(rest)
        out["ratio_thm1"].append(abs(total) / rest)
        out["ratio_thm1_valid"].append(abs(total) / best["total"])
        out["k"].append(best["k"])
        out["tv_step1"].append(1.0 - top)
        out["k_hat"].append(L)
    out.update(one=1.0, Gamma=Gamma, eps_q=eps_q, clip_exit=exit_p, L_r=reward.lipschitz)
    return out


@cell_function("prop4.unsmoothed", version="1")
def prop4_unsmoothed_cell(params: dict, seeds: int, seed: np.random.SeedSequence) -> dict:
    r"""Proposition 4's instance with the regression learner left unsmoothed (not TVC).

    The instance, data and least-squares fit are those of :func:`prop4_regression_cell`, but the learner
    is ``K_hat x`` itself (``smoothing = 0``): deterministic, so it has no linear TV modulus (one
    hypothesis of Proposition 4 broken) and the proposition's bound is infinite. Theorem 1 (the route of
    the library's Proposition 4) still holds with the learner's actual ``eps'``-RTVC modulus
    ``1{r > eps'/|K_hat|}``, taking ``(pi0, pi0~) = (pi*, K_hat x)`` and ``(pi1, pi1~) = (pi*, K_hat x)``
    (both deterministic: ``TV = 0``), global P-IISS (``p_far = delta_iiss = 0``) and the action errors
    ``|pi*(x_h) - K_hat x_h|`` met along ``eval`` expert rollouts through the exact linear gain, minimised
    over ``eps'`` in ``mean error x {0, 10^-2, ..., 10^4}``.

    Returns
    -------
    dict
        Per seed: ``regret``, ``regret_signed``, ``eps_reg``, ``train_err``, ``prop4`` (Proposition 4's
        explicit form without its kappa term, ``L_r (1 + C/(1-eta)) H eps_reg``), ``ratio_prop4`` =
        ``regret / prop4``, ``thm1_valid``, ``thm1_valid_kappa``, ``ratio_thm1_valid``, ``k_hat``. Per cell:
        ``one``, ``C``, ``eta``, ``Gamma``, ``L_r``.

    References
    ----------
    Cao & Xie 2026, Proposition 4 and Theorem 1.
    """
    system, expert, reward, H, n, N = _prop4_instance(params)
    st = _global_stability(system)
    gains = data_bounds.gain_profile(system.A, system.B, H)
    prop4 = bounds.get("prop4", form="explicit")
    cols = ("regret", "regret_signed", "eps_reg", "train_err", "prop4", "ratio_prop4", "thm1_valid",
            "thm1_valid_kappa", "ratio_thm1_valid", "k_hat")
    out = {k: [] for k in cols}
    for child in seed.spawn(seeds):
        data_ss, eval_ss, err_ss = child.spawn(3)
        states, actions = _expert_data(system, expert, n, H, np.random.default_rng(data_ss))
        learner = learning.fit_regression(states, actions, smoothing=0.0)
        reg = rollout.regret(system, expert, learner, reward, H, N, np.random.default_rng(eval_ss))
        noise = rollout.draw_noise(system, H, N, system.du, np.random.default_rng(err_ss))
        xs = rollout.rollout(system, expert, _ZeroReward(), H, noise.x0, noise.w, noise.z).states
        errors = np.stack([np.linalg.norm(expert.act(xs[h], noise.z[h]) - learner.act(xs[h], noise.z[h]), axis=-1)
                           for h in range(H)], axis=1)
        eps_reg = float(errors.sum(axis=1).mean()) / H
        L = max(float(np.linalg.norm(learner.K, 2)), 1e-12)
        valid = None
        for ep in eps_reg * np.concatenate([[0.0], np.logspace(-2, 4, 25)]):
            t = data_bounds.thm1_data_terms(H=H, tv=0.0, p_far=0.0, errors=errors, gains=gains, L_r=reward.lipschitz,
                                            kappa=lambda r, ep=ep: (np.asarray(r) > ep / L).astype(float),
                                            eps_prime=ep)
            valid = t if valid is None or t["total"] < valid["total"] else valid
        p4 = float(prop4.evaluate(H=H, eps_reg=eps_reg, kappa=0.0, C=st.C, eta=st.eta, L_r=reward.lipschitz))
        out["regret"].append(abs(reg.mean))
        out["regret_signed"].append(reg.mean)
        out["eps_reg"].append(eps_reg)
        out["train_err"].append(eps_reg * H)
        out["prop4"].append(p4)
        out["ratio_prop4"].append(abs(reg.mean) / p4)
        out["thm1_valid"].append(valid["total"])
        out["thm1_valid_kappa"].append(valid["kappa"])
        out["ratio_thm1_valid"].append(abs(reg.mean) / valid["total"])
        out["k_hat"].append(L)
    out.update(one=1.0, C=st.C, eta=st.eta, Gamma=st.Gamma, L_r=reward.lipschitz)
    return out
