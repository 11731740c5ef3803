r"""Theorem 2, Theorem 1's explicit form and Proposition 4 on stable linear systems.

Claims ``thm2.rate_n`` and ``thm2.horizon`` of the catalog (:mod:`qbc_theory.verification.claims`);
``thm1.explicit`` and ``prop4.regression`` live in :mod:`.reduction` (they share the instance and helpers). Every number below comes from the spec's ``[params]``; the built-in specs
use the values quoted here.

**The Theorem 2 instance** (cells ``thm2.regret`` and ``thm1.terms``), chosen so that every hypothesis
of Theorem 2 holds and can be computed:

* **System** ``x+ = a x + b u + w``, scalar, ``a = 0.5``, ``b = 1``, ``w ~ N(0, 0.1^2)``,
  ``x_1 ~ N(0, 1)``. ``rho(A) < 1``: globally P-EIISS, ``(C, eta)`` and ``Gamma`` from
  :func:`qbc_theory.checker.stability.analyze_stability` (never typed in).
* **Expert** ``N(k x, sigma^2)``, ``k = -0.4``, ``sigma = 0.5`` (stochastic: Theorem 2's case).
* **Quantizer** centre binning of ``[-4, 4]`` with 2000 cells (``eps_q = 0.002``). The expert's
  action has standard deviation below 0.7, so leaving the clip range is a > 5.7-sigma event; the
  union bound :func:`qbc_theory.checker.report.clip_exit_bound` (about ``4e-10``) is reported with every cell
  and charged to the bounds as ``H * P(exit)`` (the regret is at most ``H`` on that event).
* **Reward** state regulation ``1 - min(1, |x| / 4)`` (``L_r = 1/4``). The expert is not optimal for
  it, so the statistical part of the regret is *first order* in the parameter error
  ``(k_hat - k, sigma_hat - sigma)`` (measured: a fixed linear functional of it) and of random sign.
  Theorem 1 bounds ``|J(pi*) - J(pi_hat)|``, so the cells report the absolute value per seed
  (``regret``, ``stat``), the signed values next to it.
* **Class** ``Pi = {q#N(K x, s^2) : K in [-1, 0], s in [0.25, 1]}``, realizable. It is not finite;
  ``|Pi|`` is taken as the number of points of the grid of spacing ``1/n`` on that box, the
  covering number at resolution ``1/n`` that the MLE analysis of a parametric class replaces
  ``|Pi|`` with (a convention, stated with every bound). Every member is TVC with
  ``kappa(r) = |K| r / (sqrt(2) s)``; the class's modulus is the largest, at ``|K| = 1, s = 0.25``.
* **Learner** log-loss BC: the exact quantized-Gaussian MLE (:func:`qbc_theory.engine.learning.fit_gaussian_mle`).

**Monte Carlo.** The three returns ``J(pi*)``, ``J(q#pi*)`` and ``J(pi_hat)`` are estimated on the same
``eval`` shared-noise trajectories (two :func:`qbc_theory.engine.rollout.regret` calls on twin generators).
The coupled difference of two nearby quantized Gaussian policies has a per-trajectory spread
proportional to the parameter error, so its Monte Carlo error (reported as ``stat_se``) stays within
a few percent of the effect at every ``n`` (0.5% to 2% in the built-in specs): the upward bias of
``|estimate|`` is negligible.

**Theorem 1's terms** (cell ``thm1.terms``) are computed for each learned policy on the same instance;
see :func:`thm1_terms_cell` for how each term is obtained.

**The Proposition 4 instance** (cell ``prop4.regression``): the arctan expert (1-Lipschitz,
deterministic) on the weakly actuated ``x+ = 0.5 x + 0.05 u + w``, ``w ~ N(0, 0.3^2)``, action tracking
of scale 1, regression BC on ``n = 20`` trajectories (misspecified: a linear fit of arctan, so the
training error is not only the smoothing's), learner ``K_hat (x + xi)`` with ``xi ~ N(0, s^2)``. The
smoothing that makes the learner TVC with ``kappa = 1/(2 s)`` adds about ``0.8 |K_hat| s`` to the
training error ``eps_reg``, so the bound's ``H^2`` term ``kappa C/(1-eta) H^2 eps_reg`` is at least
about ``0.4 |K_hat| C/(1-eta) H^2`` whatever ``s`` is; the explicit bound stays below ``H`` only when
``C/(1-eta) |K_hat| H`` is small, hence the weak actuation (``C/(1-eta) = 0.1``).

**Negative controls.** ``thm2.rate_n``: the state-blind learner (:func:`fit_state_blind`).
``thm2.horizon``: the claim's own instance with ``A = 1.3`` (global P-EIISS broken, nothing else
changed); its slope test is not violated (a finding, see the spec). ``thm1.explicit`` and
``prop4.regression``: the appendix's Lipschitz example, tested against the bound without its kappa
term while the valid bound with the learner's actual modulus is reported
(:func:`.reduction.lipschitz_reduction_cell`); their own-instance controls are measured by the specs
``thm1.explicit.own_control`` and ``prop4.regression.own_control`` (not violated).

References
----------
Cao & Xie 2026, Theorems 1 and 2, Proposition 4, Appendix A and the appendix's Lipschitz example.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.special

from ...theory import bounds
from ...engine import learning, rollout
from ...model.validation import as_int, as_real, describe
from ...checker.report import clip_exit_bound
from ..verdicts import BoundTest, Claim, SlopeTest
from ...model.dynamics import LinearSystem
from ...model.errors import DimensionError, SpecError
from ...model.experts import LinearExpert
from ...model.quantizers import UniformBinning, quantize_actions
from ...model.rewards import RegulationReward, TrackingReward
from ..runner import cell_function
from . import data_bounds
from ...checker.stability import analyze_stability

__all__ = [
    "StateBlindGaussianPolicy",
    "ProgressReward",
    "fit_state_blind",
    "grid_class_size",
    "gaussian_tv_1d",
    "thm2_regret_cell",
    "CLAIMS",
]


# --- learners and helpers --------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class StateBlindGaussianPolicy:
    r"""A quantized Gaussian policy that ignores the state, ``q#N(m, s^2 I)``.

    .. math::

        \hat\pi_h(\cdot \mid x) = q_\# N(m, s^2 I) \quad \text{for all } x, h.

    Parameters
    ----------
    mean : (du,) array_like
    noise_std : float
        ``s > 0``.
    quantizer : per-step quantizer

    References
    ----------
    Cao & Xie 2026, Section 2 (a quantized policy; here a deliberately state-blind one, the
    negative control of Theorem 2's rate).
    """

    mean: np.ndarray
    noise_std: float
    quantizer: object

    def __init__(self, mean, noise_std, quantizer):
        m = np.asarray(mean, dtype=float).reshape(-1)
        if m.size != quantizer.dim or not np.all(np.isfinite(m)):
            raise DimensionError(f"mean: expected {quantizer.dim} finite numbers, found {describe(mean)}")
        m.setflags(write=False)
        object.__setattr__(self, "mean", m)
        object.__setattr__(self, "noise_std", as_real("noise_std", noise_std, positive=True))
        object.__setattr__(self, "quantizer", quantizer)

    deterministic = False

    def act(self, x: np.ndarray, z: np.ndarray | None = None) -> np.ndarray:
        """``q(m + s z)`` for each of the ``N`` states, shape ``(N, du)``."""
        if z is None:
            raise DimensionError("z: expected standard-normal draws for a Gaussian policy, found None")
        return quantize_actions(self.quantizer, self.mean + self.noise_std * np.asarray(z, dtype=float))

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        return {"kind": "state_blind_gaussian", "mean": self.mean.tolist(), "noise_std": self.noise_std}


def fit_state_blind(tokens, quantizer) -> StateBlindGaussianPolicy:
    r"""Log-loss BC over the state-blind class ``{q#N(m, s^2 I)}``: the MLE on a constant feature.

    .. math::

        (\hat m, \hat s) \in \arg\max_{m, s} \sum_{i,h} \log (q_\# N(m, s^2 I))(\tilde u^i_h),

    computed by :func:`qbc_theory.engine.learning.fit_gaussian_mle` with every state replaced by the
    constant feature 1 (so its gain is the mean ``m``).

    Parameters
    ----------
    tokens : (n, H) or (N,) int array_like
    quantizer : UniformBinning, or a scalar KMeansQuantizer or ResidualVQ

    Returns
    -------
    StateBlindGaussianPolicy

    References
    ----------
    Cao & Xie 2026, Section 2 (log-loss BC) and Theorem 2.
    """
    return _blind_fit(tokens, quantizer)[0]


def _blind_fit(tokens, quantizer):
    """The state-blind policy and the :class:`~qbc_theory.engine.learning.ParametricFit` behind it."""
    t = np.asarray(tokens).reshape(-1)
    fit = learning.fit_gaussian_mle(np.ones((t.size, 1)), t, quantizer)
    return StateBlindGaussianPolicy(fit.K[:, 0], fit.noise_std, quantizer), fit


def grid_class_size(ranges, n) -> int:
    r"""Points of the grid of spacing ``1/n`` on a box: the ``|Pi|`` used for a parametric class.

    .. math::

        |\Pi_n| = \prod_{i=1}^{p} \big(\lfloor n\, (\mathrm{hi}_i - \mathrm{lo}_i) \rfloor + 1\big).

    Parameters
    ----------
    ranges : sequence of (lo, hi)
        The box of the ``p`` parameters, ``lo < hi``.
    n : int
        Number of expert trajectories.

    Returns
    -------
    int

    Raises
    ------
    DimensionError
        On an empty box or ``lo >= hi``.

    References
    ----------
    Cao & Xie 2026, Appendix A (the MLE bound in ``log |Pi|``; a continuous class enters through a
    covering number, here at resolution ``1/n``).
    """
    n = as_int("n", n, minimum=1)
    size = 1
    for i, pair in enumerate(ranges):
        lo, hi = (float(v) for v in pair)
        if not hi > lo:
            raise DimensionError(f"ranges[{i}]: expected lo < hi, found ({lo:g}, {hi:g})")
        size *= int(math.floor(n * (hi - lo))) + 1
    return size


def gaussian_tv_1d(m1, s1, m2, s2) -> np.ndarray:
    r"""Total variation between ``N(m1, s1^2)`` and ``N(m2, s2^2)``, exactly, element-wise.

    .. math::

        \mathrm{TV} = \sup_A |P_1(A) - P_2(A)| = P_1(S) - P_2(S), \qquad S = \{p_1 > p_2\},

    where ``S`` is the set where the quadratic ``log p1 - log p2`` is positive: an interval or the
    complement of one (between its two roots) when ``s1 != s2``, a half-line when ``s1 = s2`` (then
    ``TV = erf(|m1 - m2| / (2 sqrt(2) s))``).

    Parameters
    ----------
    m1, m2 : array_like
        Means (broadcast together).
    s1, s2 : float
        Positive standard deviations.

    Returns
    -------
    ndarray
        Values in ``[0, 1]``, shape of the broadcast means.

    References
    ----------
    Cao & Xie 2026, Theorem 1 (the TV term) and THEORY.md section 3 (Gaussian TV).
    """
    m1, m2 = np.broadcast_arrays(np.asarray(m1, dtype=float), np.asarray(m2, dtype=float))
    s1 = as_real("s1", s1, positive=True)
    s2 = as_real("s2", s2, positive=True)
    if abs(s1 - s2) <= 1e-9 * max(s1, s2):
        s = 0.5 * (s1 + s2)
        return scipy.special.erf(np.abs(m1 - m2) / (2.0 * math.sqrt(2.0) * s))
    # log p1 - log p2 = a x^2 + b x + c
    a = 0.5 / s2**2 - 0.5 / s1**2
    b = m1 / s1**2 - m2 / s2**2
    c = -0.5 * m1**2 / s1**2 + 0.5 * m2**2 / s2**2 - math.log(s1 / s2)
    disc = np.sqrt(np.maximum(b * b - 4.0 * a * c, 0.0))
    r1, r2 = np.sort(np.stack([(-b - disc) / (2 * a), (-b + disc) / (2 * a)]), axis=0)
    cdf = scipy.special.ndtr

    def inside(m, s):
        return cdf((r2 - m) / s) - cdf((r1 - m) / s)

    # a > 0 (s1 > s2): p1 > p2 outside the roots; a < 0: inside them
    tv = inside(m2, s2) - inside(m1, s1) if a > 0 else inside(m1, s1) - inside(m2, s2)
    return np.clip(tv, 0.0, 1.0)


# --- instance construction from spec parameters ----------------------------------------------------

def _linear_instance(p: dict):
    """System, Gaussian expert, binning and reward of a Theorem 2 cell."""
    system = LinearSystem(p["A"], p["B"], noise_std=p["noise_std"], x0_std=p["x0_std"])
    expert = LinearExpert(p["K"], p["sigma"])
    expert.check_system(system)
    if expert.deterministic:
        raise SpecError(f"sigma: expected a Gaussian expert (sigma > 0) for Theorem 2, found {p['sigma']}")
    q = UniformBinning(p["low"], p["high"], p["bins"], dim=system.du)
    return system, expert, q, _reward(p, expert)


def _reward(p: dict, expert):
    kind = p.get("reward", "regulation")
    if kind == "regulation":
        return RegulationReward(p["reward_scale"])
    if kind == "tracking":
        return TrackingReward(expert, p["reward_scale"])
    raise SpecError(f"reward: expected 'regulation' or 'tracking', found {kind!r}")


def _twins(ss: np.random.SeedSequence):
    """Two generators with identical streams (and identical spawned children)."""
    return tuple(np.random.default_rng(np.random.SeedSequence(ss.entropy, spawn_key=ss.spawn_key))
                 for _ in range(2))


def _fit(p: dict, data, q):
    """The learner of the spec and whether its optimiser converged."""
    kind = p.get("learner", "mle")
    if kind == "mle":
        fit = learning.fit_gaussian_mle(data.states, data.tokens, q)
        return fit.policy, fit.converged
    if kind == "blind":
        policy, fit = _blind_fit(data.tokens, q)
        return policy, fit.converged
    raise SpecError(f"learner: expected 'mle' or 'blind', found {kind!r}")


def _coupled_regrets(system, expert, q, learner, reward, H, N, ss):
    """``J(pi*) - J(pi_hat)``, ``J(pi*) - J(q#pi*)`` and ``J(q#pi*) - J(pi_hat)`` on shared noise.

    Returns ``(total, quant, stat, stat_se, eps_in)``: the means of the per-trajectory differences,
    the standard error of the statistical part and the in-distribution quantization error.
    """
    g1, g2 = _twins(ss)
    total = rollout.regret(system, expert, learner, reward, H, N, g1, quantizer=q)
    quant = rollout.regret(system, expert, rollout.QuantizedPolicy(expert, q), reward, H, N, g2)
    stat = total.differences - quant.differences
    se = float(stat.std(ddof=1) / math.sqrt(stat.size))
    return total.mean, quant.mean, float(stat.mean()), se, total.in_distribution_error


def _stability(system):
    """Spectral radius, Gamma and exact P-EIISS constants (the LMI is not needed for them)."""
    return analyze_stability(system.A, system.B, lmi=False)


def _class_kappa(p: dict) -> float:
    """The largest TVC slope ``||K|| / (sqrt(2) s)`` over the class's box (per-entry ranges)."""
    kmax = math.sqrt(sum(max(abs(float(lo)), abs(float(hi))) ** 2 for lo, hi in p["box_K"]))
    return kmax / (math.sqrt(2.0) * float(p["box_sigma"][0]))


def _class_size(p: dict, n: int) -> int:
    return grid_class_size(list(p["box_K"]) + [p["box_sigma"]], n)


# --- cells -----------------------------------------------------------------------------------------

@cell_function("thm2.regret", version="3")
def thm2_regret_cell(params: dict, seeds: int, seed: np.random.SeedSequence) -> dict:
    r"""Regret of log-loss BC on a quantized Gaussian expert, split into quantization and statistics.

    Per seed: collect ``n`` expert trajectories, fit the learner, and estimate on ``eval``
    shared-noise trajectories

    .. math::

        J(\pi^*) - J(\hat\pi) = \underbrace{J(\pi^*) - J(q_\#\pi^*)}_{\text{quant}}
        + \underbrace{J(q_\#\pi^*) - J(\hat\pi)}_{\text{stat}} .

    With ``rho(A) < 1`` the cell also returns Theorem 2's explicit bound for the class of the spec
    (``box_K``, ``box_sigma``; ``|Pi|`` its ``1/n``-grid, :func:`grid_class_size`), converted to a bound
    in expectation: ``b(delta) + delta H`` (regret at most ``H`` on the failure event) ``+ H P(exit)``
    (the binning's sup error holds unless an action leaves the clip range,
    :func:`qbc_theory.checker.report.clip_exit_bound`).

    Parameters
    ----------
    params : dict
        ``A, B, noise_std, x0_std`` (system), ``K, sigma`` (Gaussian expert), ``low, high, bins``
        (binning), ``reward`` (``"regulation"`` or ``"tracking"``) and ``reward_scale``, ``H``, ``n``,
        ``eval`` (evaluation trajectories), ``learner`` (``"mle"``: the quantized-Gaussian MLE;
        ``"blind"``: the state-blind MLE :func:`fit_state_blind`), ``box_K`` (a ``[lo, hi]`` per entry
        of ``K``), ``box_sigma`` (``[lo, hi]``) and ``delta``.
    seeds : int
    seed : numpy.random.SeedSequence

    Returns
    -------
    dict
        Per seed: ``regret`` = ``|J(pi*) - J(pi_hat)|``, ``regret_signed``, ``stat`` =
        ``|J(q#pi*) - J(pi_hat)|``, ``stat_signed``, ``stat_se`` (its Monte Carlo standard error),
        ``quant`` = ``J(pi*) - J(q#pi*)``, ``eps_in`` (in-distribution quantization error along the
        expert), ``k_err`` (``||K_hat - K||``; the blind learner has gain 0), ``sigma_hat``,
        ``converged`` (1 if the MLE's optimiser converged, else 0). Per cell: ``eps_q`` (sup error),
        ``clip_exit``, ``rho_A``, ``one`` and, when ``rho(A) < 1``, ``C``, ``eta``, ``kappa``, ``log_Pi``,
        ``bound``. Data-dependent (per seed, MLE learner, ``rho(A) < 1``): ``thm1_data`` (Theorem 1 with
        measured terms, :func:`.data_bounds.gaussian_thm1_data`), its ``thm1_data_tv`` (``H TV``) and
        ``thm1_data_quant`` (kappa and Lipschitz terms) parts, ``tv_traj`` (the exact trajectory TV between
        ``q#pi*`` and ``pi_hat``, Monte Carlo estimate), ``ratio_thm1_data`` = ``regret / thm1_data``.

    References
    ----------
    Cao & Xie 2026, Theorem 2 (and Theorem 1 for the absolute value and the data-dependent bound).
    """
    system, expert, q, reward = _linear_instance(params)
    H = as_int("H", params["H"], minimum=1)
    n = as_int("n", params["n"], minimum=1)
    N = as_int("eval", params["eval"], minimum=2)
    out = {k: [] for k in ("regret", "regret_signed", "stat", "stat_signed", "stat_se", "quant", "eps_in",
                           "k_err", "sigma_hat", "converged")}
    eps_q = float(q.eps_sup)
    exit_p = float(clip_exit_bound(system, expert, q, H))
    rho = system.spectral_radius
    # Theorem 1 with measured terms (cells.data_bounds): for the MLE on a globally P-IISS system
    data_bound = rho < 1 and params.get("learner", "mle") == "mle"
    if data_bound:
        for k in ("thm1_data", "thm1_data_tv", "thm1_data_quant", "tv_traj", "ratio_thm1_data"):
            out[k] = []
    for child in seed.spawn(seeds):
        data_ss, eval_ss, tv_ss = child.spawn(3)
        data = rollout.collect(system, expert, q, n, H, np.random.default_rng(data_ss))
        learner, converged = _fit(params, data, q)
        out["converged"].append(float(converged))
        total, quant, stat, se, eps_in = _coupled_regrets(system, expert, q, learner, reward, H, N, eval_ss)
        out["regret"].append(abs(total))
        out["regret_signed"].append(total)
        out["stat"].append(abs(stat))
        out["stat_signed"].append(stat)
        out["stat_se"].append(se)
        out["quant"].append(quant)
        out["eps_in"].append(eps_in)
        K_hat = learner.K if hasattr(learner, "K") else np.zeros_like(expert.K)
        out["k_err"].append(float(np.linalg.norm(K_hat - expert.K)))
        out["sigma_hat"].append(float(learner.noise_std))
        if data_bound:
            d = data_bounds.gaussian_thm1_data(system, expert, q, learner.K, learner.noise_std, reward.lipschitz, H,
                                               N, np.random.default_rng(tv_ss), p_far=exit_p)
            out["thm1_data"].append(d["total"])
            out["thm1_data_tv"].append(d["tv"])
            out["thm1_data_quant"].append(d["kappa"] + d["lipschitz"])
            out["tv_traj"].append(d["tv_mc"])
            out["ratio_thm1_data"].append(abs(total) / d["total"])
    out.update(eps_q=eps_q, clip_exit=exit_p, rho_A=rho, one=1.0)
    if rho < 1:
        st = _stability(system)
        delta = as_real("delta", params["delta"], low=0, high=1, open_low=True, open_high=True)
        Pi = _class_size(params, n)
        kappa = _class_kappa(params)
        b = bounds.get("thm2", form="explicit").evaluate(
            H=H, n=n, delta=delta, Pi=Pi, eps_q=eps_q, kappa=kappa, C=st.C, eta=st.eta, L_r=reward.lipschitz)
        out.update(C=st.C, eta=st.eta, kappa=kappa, log_Pi=math.log(Pi),
                   bound=float(b) + delta * H + H * exit_p)
    return out


@dataclass(frozen=True, eq=False)
class ProgressReward:
    r"""A reward increasing in the first state coordinate, clipped to [0, 1].

    .. math::

        r(x, u) = \min\big(1, \max\big(0, \tfrac12 + x_1 / s\big)\big), \qquad L_r = 1 / s.

    With shared noise, two runs' rewards differ by their state gap divided by ``s`` (until the
    clip), so the regret sees the compounding of the state gap; a reward tracking the expert's
    action at the run's own state would not (in the Lipschitz example it differs by ``||delta||``
    whatever the states).

    Parameters
    ----------
    scale : float
        ``s > 0``.

    References
    ----------
    Cao & Xie 2026, Section 2 (rewards in [0, 1], ``L_r``-Lipschitz) and the appendix's Lipschitz
    example.
    """

    scale: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "scale", as_real("scale", self.scale, positive=True))

    @property
    def lipschitz(self) -> float:
        """``L_r = 1 / s``."""
        return 1.0 / self.scale

    def __call__(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Rewards ``(N,)`` for states ``(N, dx)`` (actions are ignored)."""
        return np.clip(0.5 + x[:, 0] / self.scale, 0.0, 1.0)

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        return {"kind": "progress", "scale": self.scale, "lipschitz": self.lipschitz}


# --- claims ----------------------------------------------------------------------------------------

# thm2.rate_n: Theorem 2's statistical term is H sqrt(6 log(2|Pi|/delta) / n). With |Pi| the 1/n-grid of
# the p = 2 parameters its log-log slope in n is -1/2 + p / (2 log(2|Pi|/delta)), between -0.39 (n = 16)
# and -0.44 (n = 1024), -0.42 at the quick ladder's centre: 0.08 of slack above -1/2 is the bound's own
# logarithmic factor. The other 0.07 allows for the curvature of the measured regret at the smallest n
# (a first-order functional of the parameter error plus a second-order remainder whose relative size
# is that of the relative parameter error, about 0.1 with n H = 160 samples).
_RATE_N_TOL = 0.15
# thm2.horizon: the regret of the first steps includes the transient of x_1 ~ N(0, 1) towards the closed
# loop's stationary law (rate |a + b k| = 0.1 per step), so the per-step regret is not yet constant at
# H = 4; 0.25 of slack above the exponent 2 covers that transient at the small end of the ladder.
_HORIZON_TOL = 0.25

CLAIMS = (
    Claim(
        id="thm2.rate_n",
        theorem="Theorem 2",
        predicted="|J(q#pi*) - J(pi_hat)| (the statistical part) decays at least like n^(-1/2)",
        spec="thm2.rate_n",
        control_spec="thm2.rate_n.control",
        tests=(SlopeTest(value="stat", along="n", predicted=-0.5, relation="<=", tol=_RATE_N_TOL,
                         label="slope of |J(q#pi*) - J(pi_hat)| in n <= -1/2 (+0.15)"),),
        control="broken hypothesis: realizability (q#pi* in Pi). State-blind learner q#N(m, s^2) on the same data: "
                "its regret tends to a positive constant",
    ),
    Claim(
        id="thm2.horizon",
        theorem="Theorem 2",
        predicted="|J(pi*) - J(pi_hat)| grows at most like H^2 and stays below Theorem 2's explicit bound",
        spec="thm2.horizon",
        control_spec="thm2.horizon.control",
        tests=(SlopeTest(value="regret", along="H", predicted=2.0, relation="<=", tol=_HORIZON_TOL,
                         label=f"slope of |J(pi*) - J(pi_hat)| in H <= 2 (+{_HORIZON_TOL:g})"),
               BoundTest(value="regret", bound="bound", kind="upper", along="H", cap="H",
                         label="|J(pi*) - J(pi_hat)| <= Theorem 2's explicit bound (in expectation; a priori)"),
               BoundTest(value="ratio_thm1_data", bound="one", kind="upper", along="H",
                         label="|J(pi*) - J(pi_hat)| / Theorem 1 with measured terms <= 1 (data-dependent: exact "
                               "trajectory TV from likelihood ratios, quantization term along expert rollouts)")),
        control=("broken hypothesis: global P-EIISS, a property of (A, B) alone, so the control is thm2.horizon's "
                 "own instance with A = 1.3 instead of 0.5 and nothing else changed (B, expert N(-0.4 x, 0.5^2), "
                 "binning of [-4, 4], reward, MLE, n, ladder): rho(A) = 1.3, no (C, eta), the bound is not "
                 "evaluated; the expert's closed loop stays stable (0.9), actions stay in the clip range, the "
                 "class stays realizable and TVC. Finding: the regret's slope stays near 1, the slope test is not "
                 "violated on this instance (a stable closed loop cannot compound, THEORY.md 8b)"),
        control_tests=(SlopeTest(value="regret", along="H", predicted=2.0, relation="<=", tol=_HORIZON_TOL,
                                 label=f"slope of |J(pi*) - J(pi_hat)| in H <= 2 (+{_HORIZON_TOL:g})"),),
    ),
)
