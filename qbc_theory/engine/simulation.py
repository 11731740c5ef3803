r"""Train log-loss BC on one instance, deploy it with the shared-noise coupling, measure regret.

:func:`simulate` is what ``qbc simulate FILE.toml`` runs: for each seed it collects ``n`` expert
trajectories seen through the instance's quantizer, trains a learner on the tokens, and estimates
the regret ``J(pi*) - J(pi_hat)`` on ``eval_trajectories`` coupled runs (same ``x_1``, process noise
and policy draws for the expert and the learner), together with the quantization error of the
expert's action along the expert's trajectories (in distribution) and along the learner's
(deployment).

References
----------
Cao & Xie 2026, Theorems 2, 3, 6 and 7 (what the measured regret is held against).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.stats

from . import learning, policy_classes, rollout
from ..model.validation import as_int, as_real, describe, reject_unknown_kwargs
from ..model.errors import AssumptionError, DimensionError
from ..model.dynamics import LinearSystem
from ..model.experts import ArctanExpert, LinearExpert
from ..model.policy_class import GRID_STEP, MAX_CANDIDATES, NOISE_SCALES, policy_class_size

__all__ = ["LEARNERS", "SimulationResult", "SeedResult", "simulate", "default_policy_class"]

LEARNERS = ("auto", "finite", "parametric", "regression", "expert", "algorithm1")
"""Learner names accepted by :func:`simulate`."""

_DEFAULT_MAX_CANDIDATES = MAX_CANDIDATES

_TRAINED_ON = {
    "finite": "tokens q(u) (log-loss over the finite class Pi)",
    "parametric": "tokens q(u) (log-loss over continuous gains)",
    "algorithm1": "tokens q(u) and next states (log-loss over the policy class and a linear-Gaussian model)",
}
"""What each token learner trains on (the regression and expert learners say it in their summary)."""


def _root_seed(rng, default: int) -> np.random.SeedSequence:
    """A fresh SeedSequence (spawning from it never mutates the caller's object)."""
    if rng is None:
        return np.random.SeedSequence(default)
    if isinstance(rng, np.random.SeedSequence):
        return np.random.SeedSequence(rng.entropy, spawn_key=rng.spawn_key)
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return np.random.SeedSequence(int(rng))
    raise DimensionError(f"rng: expected None, a non-negative integer seed or a numpy.random.SeedSequence, "
                         f"found {describe(rng)}")


def default_policy_class(instance, **options) -> learning.LinearPolicyClass:
    r"""The realizable finite class ``simulate`` uses: a lattice of gains around the expert's.

    For a linear expert ``N(K x, sigma^2 I)`` the candidates are ``q#N(K', s^2 I)`` with ``K'`` on
    :func:`~qbc_theory.engine.learning.gain_grid` around ``K`` and, for a Gaussian expert,
    ``s in sigma (1 + 0.1 {-2, ..., 2})``; for the arctan expert of Theorem 6 they are
    ``q(arctan(g x))`` with ``g`` on a lattice around 1. The expert's own quantized policy is
    always a candidate, so the class is realizable: ``q#pi* in Pi``.

    Parameters
    ----------
    instance : Instance
    grid_step : float, optional
        Lattice spacing of the gain entries (default 0.05).
    grid_radius : int, optional
        Offsets per entry; by default the largest ``r <= 3`` with ``(2r+1)^{du dx} <= max_candidates``.
    max_candidates : int, optional
        Default 10,000.

    Returns
    -------
    LinearPolicyClass

    Raises
    ------
    AssumptionError
        If even ``r = 1`` gives more than ``max_candidates`` candidates, or the expert is not linear
        or arctan.

    References
    ----------
    Cao & Xie 2026, Appendix A (finite realizable class: ``q#pi* in Pi``).
    """
    step = as_real("grid_step", options.pop("grid_step", GRID_STEP), positive=True)
    radius = options.pop("grid_radius", None)
    max_candidates = as_int("max_candidates", options.pop("max_candidates", _DEFAULT_MAX_CANDIDATES), minimum=1)
    reject_unknown_kwargs("default_policy_class", options)
    expert = instance.expert
    if isinstance(expert, policy_classes.NONLINEAR_EXPERTS):
        # tanh gains x scales, or output-layer perturbations (engine/policy_classes.py)
        return policy_classes.nonlinear_policy_class(expert, instance.quantizer, grid_step=step,
                                                     grid_radius=radius, max_candidates=max_candidates)
    if isinstance(expert, ArctanExpert):
        center, link = np.ones((1, 1)), "arctan"
    elif isinstance(expert, LinearExpert):
        center, link = expert.K, "linear"
    else:
        raise AssumptionError(f"expert: a finite class is built for linear or arctan experts, found "
                              f"{describe(expert)}")
    # the one definition of the class (its size is what qbc check prints too)
    size = policy_class_size(expert, grid_radius=radius, max_candidates=max_candidates, grid_step=step)
    if radius is None and not size.enumerable:
        p = center.size
        raise AssumptionError(f"grid_radius: a lattice with radius 1 over {p} gain entries has 3^{p} "
                              f"candidates, above max_candidates={max_candidates}; use a Gaussian expert "
                              "with learner='parametric' or raise max_candidates")
    gains, _ = learning.gain_grid(center, step, size.radius, max_candidates=max_candidates)
    if expert.deterministic:
        return learning.LinearPolicyClass(gains, instance.quantizer, 0.0, link)
    scales = expert.noise_std * NOISE_SCALES
    return learning.LinearPolicyClass.product(gains, scales, instance.quantizer, link)


@dataclass(frozen=True)
class SeedResult:
    """What one seed produced.

    Attributes
    ----------
    regret, regret_se : float
        Coupled Monte Carlo estimate of ``J(pi*) - J(pi_hat)`` for this seed's learner and its
        standard error (over evaluation trajectories, the data held fixed).
    in_distribution_error, deployment_error : float
        Average per-step ``||u* - q(u*)||`` along the expert's and along the learner's runs.
    learner : dict
        The fitted learner's summary (``to_dict`` of the fit), plus ``gain_error`` (operator
        2-norm of ``K_hat - K*``) for linear experts where it applies.
    data_in_distribution_error : float
        The same error measured on the training data.

    References
    ----------
    Cao & Xie 2026, Definition 3 (coupling).
    """

    regret: float
    regret_se: float
    in_distribution_error: float
    deployment_error: float
    learner: dict
    data_in_distribution_error: float

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return {"regret": self.regret, "regret_se": self.regret_se,
                "in_distribution_error": self.in_distribution_error, "deployment_error": self.deployment_error,
                "data_in_distribution_error": self.data_in_distribution_error, "learner": self.learner}


@dataclass(frozen=True)
class SimulationResult:
    r"""Regret of log-loss BC on one instance, over ``seeds`` independent data sets.

    ``regret`` is the mean over seeds of the per-seed coupled estimates. ``ci``: with two or more
    seeds, a Student-t interval over the per-seed estimates (it covers the randomness of the data
    and of the evaluation); with one seed, the normal interval of that seed's evaluation (the data
    held fixed). ``ci_method`` says which.

    Attributes
    ----------
    regret : float
    ci : (float, float)
    se : float
    level : float
    ci_method : str
        ``"t over seeds"`` or ``"normal over evaluation trajectories"``.
    in_distribution_error, deployment_error : float
        Means over seeds.
    n, seeds, horizon, eval_trajectories : int
    learner : str
        The learner actually used (``auto`` resolved).
    seconds : float
        Wall-clock time of the whole simulation.
    instance : str
    entropy : int
        Root seed entropy, to reproduce the run.
    per_seed : tuple of SeedResult

    References
    ----------
    Cao & Xie 2026, Definition 3 (coupling) and Theorems 2, 3, 6, 7.
    """

    regret: float
    ci: tuple[float, float]
    se: float
    level: float
    ci_method: str
    in_distribution_error: float
    deployment_error: float
    n: int
    seeds: int
    horizon: int
    eval_trajectories: int
    learner: str
    seconds: float
    instance: str
    entropy: int
    per_seed: tuple
    policy_class: dict | None = None
    trained_on: str = "tokens q(u) (log-loss)"
    quantization_entered: bool = True

    def to_dict(self) -> dict:
        """The ``qbc simulate --json`` object (docs/design.md section 4) plus diagnostics.

        ``policy_class`` is :func:`qbc_theory.model.policy_class.policy_class_size` (``size`` is
        ``None`` beyond the float range, ``log_size`` in nats) with ``used``: whether this learner
        searched that class. The two quantization errors are measured along the runs whatever the
        learner; ``quantization_entered`` says whether the quantizer entered training at all.
        """
        return {"regret": self.regret, "ci": [self.ci[0], self.ci[1]],
                "in_distribution_error": self.in_distribution_error, "deployment_error": self.deployment_error,
                "n": self.n, "seeds": self.seeds, "seconds": self.seconds, "se": self.se, "level": self.level,
                "ci_method": self.ci_method, "horizon": self.horizon, "eval_trajectories": self.eval_trajectories,
                "learner": self.learner, "instance": self.instance, "entropy": self.entropy,
                "policy_class": self.policy_class, "trained_on": self.trained_on,
                "quantization_entered": self.quantization_entered,
                "per_seed": [s.to_dict() for s in self.per_seed]}

    def format_text(self) -> str:
        """A short human summary."""
        lo, hi = self.ci
        lines = [
            f"instance {self.instance}: learner {self.learner}, n={self.n} trajectories, H={self.horizon}, "
            f"{self.seeds} seed(s), {self.eval_trajectories} coupled evaluation runs per seed",
            f"  trained on {self.trained_on}",
            f"  regret J(pi*) - J(pi_hat) = {self.regret:.4g}   {100 * self.level:g}% CI [{lo:.4g}, {hi:.4g}] "
            f"({self.ci_method})",
        ]
        if self.quantization_entered:
            lines.append(f"  quantization error  in distribution {self.in_distribution_error:.4g}   "
                         f"in deployment {self.deployment_error:.4g}")
        else:
            lines.append("  quantization error  not shown: the quantizer entered neither training nor the learner's "
                         "actions")
        pc = self.policy_class
        if pc is not None:
            if pc.get("log_size") is None:
                lines.append(f"  policy class        {pc.get('description')}")
            else:
                count = (f"|Pi| = {pc['exact']}" if pc.get("exact") is not None and pc["log_size"] < 34.5
                         else f"|Pi| ~ 10^{pc['log10_size']:.1f}")
                used = "searched by this learner" if pc.get("used") else "not used by this learner"
                lines.append(f"  policy class        log|Pi| = {pc['log_size']:.4g} nats ({count}), "
                             f"{pc['description']}; {used}")
        lines.append(f"  time {self.seconds:.2f} s")
        return "\n".join(lines) + "\n"


def _resolve(learner: str, instance) -> str:
    if learner not in LEARNERS:
        raise DimensionError(f"learner: expected one of {', '.join(LEARNERS)}, found {describe(learner)}")
    if learner != "auto":
        return learner
    if isinstance(instance.expert, policy_classes.NONLINEAR_EXPERTS):
        return "finite"  # the parametric classes are linear; the finite ones contain q#pi*
    return "finite" if _deterministic(instance.expert) else "parametric"


def _deterministic(expert) -> bool:
    return bool(getattr(expert, "deterministic", False))


def _gain_error(instance, K, link: str = "linear") -> float | None:
    """``||K_hat - K*||_2`` when the learner's family contains the expert (else None)."""
    if isinstance(instance.expert, LinearExpert) and link == "linear":
        return float(np.linalg.norm(np.asarray(K) - instance.expert.K, 2))
    if isinstance(instance.expert, ArctanExpert) and link == "arctan":
        return float(abs(np.asarray(K).item() - 1.0))
    return None


def _train(kind: str, instance, data, options: dict):
    """The fitted policy (or Algorithm 1 learner) and a JSON-ready summary."""
    if kind == "expert":
        return rollout.QuantizedPolicy(instance.expert, instance.quantizer), {
            "kind": "expert", "trained_on": "nothing: the expert's quantized policy q#pi* itself"}
    if kind == "regression":
        raw = options["regression_actions"] == "raw"
        actions = data.actions if raw else data.quantized
        pol = learning.fit_regression(data.states, actions, smoothing=options["smoothing"])
        summary = pol.to_dict() | {"gain_error": _gain_error(instance, pol.K)}
        summary["trained_on"] = ("raw expert actions u (least squares; the quantizer entered neither training "
                                 "nor the executed actions)" if raw else
                                 "decoded quantized actions q(u) (least squares; executes unquantized K x)")
        summary["quantization_entered"] = not raw
        return pol, summary
    if kind == "parametric" and _deterministic(instance.expert):
        if not isinstance(instance.expert, LinearExpert):
            raise AssumptionError("learner: the parametric class of deterministic policies is linear, "
                                  f"found a {instance.expert.to_dict()['kind']} expert; use 'finite'")
        fit = learning.fit_deterministic_mle(data.states, data.tokens, instance.quantizer, extent=True)
        summary = {"kind": "parametric"} | fit.to_dict()
        summary["gain_error"] = _gain_error(instance, fit.K)
        return fit.policy, summary
    if kind == "parametric" or (kind == "algorithm1" and not _deterministic(instance.expert)):
        policy_class = "gaussian"
    else:
        policy_class = default_policy_class(instance, grid_step=options["grid_step"],
                                            grid_radius=options["grid_radius"],
                                            max_candidates=options["max_candidates"])
    if kind == "algorithm1":
        if not isinstance(instance.expert, LinearExpert) or not isinstance(instance.system, LinearSystem):
            # the linear-Gaussian model regresses x' on (x, decoded token); the true T o rho here is
            # x' = A x + B pi*(x), outside that class, and Algorithm 1 then plans with a wrong model
            raise AssumptionError("learner: Algorithm 1's linear-Gaussian model class contains T o rho only "
                                  "for a linear expert on a linear system (Theorem 7 needs T o rho in M), found "
                                  f"the {instance.expert.to_dict()['kind']} expert; the claim thm7.det uses a "
                                  "realizable model class for the arctan expert")
        fit = learning.fit_algorithm1(data.states, data.tokens, data.next_states, policy_class=policy_class,
                                      quantizer=instance.quantizer)
        summary = {"kind": "algorithm1"} | fit.to_dict()
        summary["gain_error"] = _gain_error(instance, fit.learner.policy.K, fit.learner.policy.link)
        return fit.learner, summary
    if policy_class == "gaussian":
        fit = learning.fit_gaussian_mle(data.states, data.tokens, instance.quantizer)
        summary = {"kind": "parametric"} | fit.to_dict()
        true_std = getattr(instance.expert, "noise_std", None)
        summary["noise_std_error"] = None if true_std is None else abs(fit.noise_std - float(true_std))
    else:
        fit = learning.fit_finite(policy_class, data.states, data.tokens)
        summary = {"kind": "finite"} | fit.to_dict()
    summary["gain_error"] = _gain_error(instance, getattr(fit.policy, "K", None), getattr(fit.policy, "link", None))
    if getattr(policy_class, "expert_index", None) is not None:
        summary["selected_expert"] = bool(fit.index == policy_class.expert_index)
    return fit.policy, summary


def _evaluate_open_loop(instance, learner, horizon, batch, rng):
    """Coupled regret of Algorithm 1: the expert in closed loop, the plan executed open loop."""
    system, expert, reward, q = instance.system, instance.expert, instance.reward, instance.quantizer
    noise_rng, model_rng = rng.spawn(2)
    nz = rollout.draw_noise(system, horizon, batch, system.du, noise_rng)
    xi = model_rng.standard_normal((horizon, batch, system.dx))
    plan = learner.plan(nz.x0, nz.z, xi)
    exp_traj = rollout.rollout(system, expert, reward, horizon, nz.x0, nz.w, nz.z)
    lrn_traj = rollout.open_loop(system, plan, reward, nz.x0, nz.w)
    diff = exp_traj.returns - lrn_traj.returns
    e_in = rollout.action_error(expert, q, exp_traj.states, nz.z)
    e_dep = rollout.action_error(expert, q, lrn_traj.states, nz.z)
    return float(diff.mean()), float(diff.std(ddof=1) / math.sqrt(batch)), float(e_in.mean()), float(e_dep.mean())


def simulate(instance, n=None, seeds=1, rng=None, learner="auto", eval_trajectories=2000, horizon=None,
             **options) -> SimulationResult:
    r"""Train log-loss BC on ``instance``, deploy it, and estimate its regret with a confidence interval.

    For each seed: collect ``n`` expert trajectories through ``instance.quantizer``
    (:func:`qbc_theory.engine.rollout.collect`), fit the learner on the tokens, then estimate

    .. math::

        J(\pi^*) - J(\hat\pi), \qquad
        \frac1H \mathbb{E}_{P^{\pi^*}} \sum_h \|u^*_h - q(u^*_h)\|, \qquad
        \frac1H \mathbb{E}_{P^{\hat\pi}} \sum_h \|u^*_h - q(u^*_h)\|

    on ``eval_trajectories`` coupled runs (:func:`qbc_theory.engine.rollout.regret`).

    Learners (``learner=``):

    - ``"finite"``: exact MLE over :func:`default_policy_class` (a lattice of gains containing the
      expert's; ties to the lowest index);
    - ``"parametric"``: continuous gains: :func:`~qbc_theory.engine.learning.fit_gaussian_mle` for a
      Gaussian expert, :func:`~qbc_theory.engine.learning.fit_deterministic_mle` (Chebyshev centre of the
      consistent gains, with their extent) for a deterministic linear one; binning or a scalar
      k-means / residual-VQ codebook;
    - ``"auto"``: ``"finite"`` for a deterministic expert, ``"parametric"`` for a Gaussian one;
    - ``"regression"``: least squares on the raw (or, with ``regression_actions="quantized"``, the
      decoded) actions, optionally smoothed (Proposition 4's baseline; not trained on tokens);
    - ``"expert"``: ``q#pi*`` itself, the infinite-data learner of Theorem 6;
    - ``"algorithm1"``: the policy as above plus a least-squares linear-Gaussian model, deployed by
      an auxiliary rollout executed open loop.

    Parameters
    ----------
    instance : Instance, or any object with ``system``, ``expert``, ``quantizer`` and ``reward``
        (e.g. :func:`qbc_theory.engine.constructions.trap_loop`); ``horizon``, ``n``, ``seed`` and
        ``name`` are read from it when present.
    n : int, optional
        Expert trajectories per seed (default ``instance.n``).
    seeds : int
        Independent data sets (default 1).
    rng : None, int or numpy.random.SeedSequence
        Root seed; default ``instance.seed``. Seed ``s`` uses the ``s``-th spawned child, so the
        same root gives bit-identical results.
    learner : str
        One of :data:`LEARNERS`.
    eval_trajectories : int
        Coupled evaluation runs per seed (``>= 2``, default 2000).
    horizon : int, optional
        Horizon ``H`` (default ``instance.horizon``).
    level : float, optional
        Confidence level (default 0.95).
    grid_step, grid_radius, max_candidates
        Passed to :func:`default_policy_class`.
    smoothing : float, optional
        Regression learner's state smoothing (default 0).
    regression_actions : {"raw", "quantized"}, optional
        Regression targets (default "raw").

    Returns
    -------
    SimulationResult

    Raises
    ------
    DimensionError
        On bad sizes or an unknown learner.
    AssumptionError
        When the chosen learner does not fit the instance (e.g. the parametric class with the
        arctan expert, or with a quantizer whose cells have no exact form here).
    TypeError
        On unknown keyword arguments.

    References
    ----------
    Cao & Xie 2026, Section 2 (log-loss BC), Definition 3 (coupling), Theorems 2, 3, 6 and 7.
    """
    start = time.perf_counter()
    level = as_real("level", options.pop("level", 0.95), low=0, high=1, open_low=True, open_high=True)
    train_options = {
        "grid_step": options.pop("grid_step", 0.05),
        "grid_radius": options.pop("grid_radius", None),
        "max_candidates": options.pop("max_candidates", _DEFAULT_MAX_CANDIDATES),
        "smoothing": options.pop("smoothing", 0.0),
        "regression_actions": options.pop("regression_actions", "raw"),
    }
    reject_unknown_kwargs("simulate", options)
    if train_options["regression_actions"] not in ("raw", "quantized"):
        raise DimensionError(f"regression_actions: expected 'raw' or 'quantized', found "
                             f"{describe(train_options['regression_actions'])}")
    for attr in ("system", "expert", "quantizer", "reward"):
        if getattr(instance, attr, None) is None:
            raise DimensionError(f"instance: expected an Instance or a construction with a {attr}, found "
                                 f"{describe(instance)} without one")
    H = getattr(instance, "horizon", None) if horizon is None else horizon
    if H is None:
        raise DimensionError("horizon: expected a horizon (the instance has none), found None")
    H = as_int("horizon", H, minimum=1)
    n = getattr(instance, "n", None) if n is None else n
    if n is None:
        raise DimensionError("n: expected a number of trajectories (the instance has none), found None")
    n = as_int("n", n, minimum=1)
    seeds = as_int("seeds", seeds, minimum=1)
    eval_trajectories = as_int("eval_trajectories", eval_trajectories, minimum=2)
    kind = _resolve(learner, instance)
    root = _root_seed(rng, int(getattr(instance, "seed", 0)))
    system, expert, q = instance.system, instance.expert, instance.quantizer
    results = []
    for child in root.spawn(seeds):
        data_ss, eval_ss = child.spawn(2)
        data = rollout.collect(system, expert, q, n, H, np.random.default_rng(data_ss))
        policy, summary = _train(kind, instance, data, train_options)
        eval_rng = np.random.default_rng(eval_ss)
        if kind == "algorithm1":
            reg, se, e_in, e_dep = _evaluate_open_loop(instance, policy, H, eval_trajectories, eval_rng)
        else:
            est = rollout.regret(system, expert, policy, instance.reward, H, eval_trajectories, eval_rng,
                                 quantizer=q, level=level)
            reg, se, e_in, e_dep = est.mean, est.se, est.in_distribution_error, est.deployment_error
        results.append(SeedResult(reg, se, e_in, e_dep, summary, data.in_distribution_error))
    # the finite class of Appendix A (the one qbc check counts), and whether this learner searched it
    uses_class = kind == "finite" or (kind == "algorithm1" and _deterministic(expert))
    try:
        size = policy_class_size(expert, grid_radius=train_options["grid_radius"],
                                 max_candidates=train_options["max_candidates"], grid_step=train_options["grid_step"])
        pclass = size.to_dict() | {"exact": size.size if size.log_size < 34.5 else None}
    except AssumptionError as exc:
        pclass = {"size": None, "log_size": None, "description": f"no finite class: {exc}"}
    if isinstance(expert, policy_classes.NONLINEAR_EXPERTS):
        # the class is built in engine/policy_classes.py (the model room cannot size it)
        try:
            pc = default_policy_class(instance, grid_step=train_options["grid_step"],
                                      grid_radius=train_options["grid_radius"],
                                      max_candidates=train_options["max_candidates"])
            pclass = {"size": float(pc.size), "log_size": math.log(pc.size), "log10_size": math.log10(pc.size),
                      "exact": pc.size, "description": pc.description}
        except AssumptionError as exc:
            pclass = {"size": None, "log_size": None, "description": f"no finite class: {exc}"}
    pclass["used"] = uses_class
    first = results[0].learner
    regrets = np.array([r.regret for r in results])
    mean = float(regrets.mean())
    if seeds >= 2:
        se = float(regrets.std(ddof=1) / math.sqrt(seeds))
        half = float(scipy.stats.t.ppf(0.5 + level / 2, seeds - 1)) * se
        method = "t over seeds"
    else:
        se = results[0].regret_se
        half = float(scipy.stats.norm.ppf(0.5 + level / 2)) * se
        method = "normal over evaluation trajectories"
    return SimulationResult(
        regret=mean, ci=(mean - half, mean + half), se=se, level=level, ci_method=method,
        in_distribution_error=float(np.mean([r.in_distribution_error for r in results])),
        deployment_error=float(np.mean([r.deployment_error for r in results])),
        n=n, seeds=seeds, horizon=H, eval_trajectories=eval_trajectories, learner=kind,
        seconds=time.perf_counter() - start, instance=str(getattr(instance, "name", "instance")),
        entropy=int(root.entropy), per_seed=tuple(results), policy_class=pclass,
        trained_on=first.get("trained_on", _TRAINED_ON.get(kind, "tokens q(u) (log-loss)")),
        quantization_entered=bool(first.get("quantization_entered", True)))
