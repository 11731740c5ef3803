"""Streaming estimators on the shared-noise coupling: returns, regret and quantization errors with CIs.

Part of :mod:`qbc_theory.engine.rollout` (its docstring states the noise and block conventions that
make these estimators bit-identical to explicit rollouts); import the names from there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.stats

from ...model.validation import as_int, as_real, reject_unknown_kwargs
from ...model.errors import DimensionError
from ...model.quantizers import per_step_quantizer
from .core import _BlockNoise, _zero_reward, _blocks, _caller, _check_policy, _check_reward, _check_system, _children, _simulate, _varying

__all__ = [
    "ReturnEstimate",
    "RegretEstimate",
    "ErrorEstimate",
    "evaluate",
    "regret",
    "in_distribution_error",
    "deployment_error",
    "action_error",
]


def _z_value(level: float) -> float:
    return float(scipy.stats.norm.ppf(0.5 + level / 2))


def _mean_se(values: np.ndarray) -> tuple[float, float]:
    n = values.size
    mean = float(values.mean())
    se = float(values.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0
    return mean, se


@dataclass(frozen=True)
class ReturnEstimate:
    r"""Monte Carlo estimate of ``J(pi) = E sum_h r_h``.

    .. math::

        \hat J = \frac{1}{N} \sum_{i=1}^{N} G_i, \qquad
        \mathrm{se} = \frac{s_G}{\sqrt{N}}, \qquad \mathrm{ci} = \hat J \pm z_{(1+\mathrm{level})/2}\, \mathrm{se}.

    Attributes
    ----------
    mean, se : float
        Sample mean of the returns and its standard error.
    ci : (float, float)
        Normal-approximation confidence interval at ``level``.
    level : float
    batch, horizon : int

    References
    ----------
    Cao & Xie 2026, Section 2 (return of a policy).
    """

    mean: float
    se: float
    ci: tuple[float, float]
    level: float
    batch: int
    horizon: int

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return {"mean": self.mean, "se": self.se, "ci": list(self.ci), "level": self.level,
                "batch": self.batch, "horizon": self.horizon}


@dataclass(frozen=True)
class ErrorEstimate:
    r"""Monte Carlo estimate of an average per-step quantization error.

    .. math::

        e = \frac{1}{H}\, \mathbb{E} \sum_{h=1}^{H} \|u^*_h - q(u^*_h)\|,

    with ``u*_h`` the expert's action at the visited state ``x_h``: along the expert's own
    trajectories this is the in-distribution error ``eps_q`` of a learned quantizer; along a
    learner's trajectories it is the deployment error.

    Attributes
    ----------
    mean, se : float
    ci : (float, float)
    level : float
    batch, horizon : int
    along : str
        ``"expert"`` (in distribution) or ``"learner"`` (deployment).
    """

    mean: float
    se: float
    ci: tuple[float, float]
    level: float
    batch: int
    horizon: int
    along: str

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return {"mean": self.mean, "se": self.se, "ci": list(self.ci), "level": self.level,
                "batch": self.batch, "horizon": self.horizon, "along": self.along}


@dataclass(frozen=True)
class RegretEstimate:
    r"""Monte Carlo estimate of the regret under the shared-noise coupling.

    .. math::

        J(\pi^*) - J(\hat\pi) \approx \frac{1}{N} \sum_{i=1}^{N} (G^*_i - \hat G_i),

    where run ``i`` of the expert and of the learner share ``x_1``, ``w_{1:H}`` and ``z_{1:H}``.
    ``se`` and ``ci`` come from the ``N`` paired differences (normal approximation); an exact
    learner has every difference exactly 0, hence ``mean = se = 0.0``.

    Attributes
    ----------
    mean, se : float
        Regret estimate and its standard error.
    ci : (float, float)
        Confidence interval at ``level``.
    level : float
    batch, horizon : int
    expert_return, learner_return : float
        Mean returns of the two coupled runs.
    expert_return_se, learner_return_se : float
    in_distribution_error, deployment_error : float or None
        Average per-step quantization error of the expert's action along the expert's and along
        the learner's trajectories (when a quantizer was given).
    in_distribution_error_se, deployment_error_se : float or None
    differences : (N,) ndarray
        Per-trajectory paired differences (not in :meth:`to_dict`).

    References
    ----------
    Cao & Xie 2026, Definition 3 and Theorem 1.
    """

    mean: float
    se: float
    ci: tuple[float, float]
    level: float
    batch: int
    horizon: int
    expert_return: float
    learner_return: float
    expert_return_se: float
    learner_return_se: float
    in_distribution_error: float | None = None
    in_distribution_error_se: float | None = None
    deployment_error: float | None = None
    deployment_error_se: float | None = None
    differences: np.ndarray = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        """A JSON-ready dict (without the per-trajectory differences)."""
        return {"regret": self.mean, "se": self.se, "ci": list(self.ci), "level": self.level,
                "batch": self.batch, "horizon": self.horizon, "expert_return": self.expert_return,
                "learner_return": self.learner_return, "expert_return_se": self.expert_return_se,
                "learner_return_se": self.learner_return_se,
                "in_distribution_error": self.in_distribution_error,
                "in_distribution_error_se": self.in_distribution_error_se,
                "deployment_error": self.deployment_error, "deployment_error_se": self.deployment_error_se}


def _estimate_args(horizon, batch, level):
    horizon = as_int("horizon", horizon, minimum=1)
    batch = as_int("batch", batch, minimum=2)
    level = as_real("level", level, low=0, high=1, open_low=True, open_high=True)
    return horizon, batch, level


def _stream(system, runs, reward, horizon, batch, rng, err=None):
    """Simulate ``runs`` in lockstep on a whole batch, one noise block at a time.

    Returns ``(returns, errors)``: lists with one ``(N,)`` array per run (errors ``None`` without
    ``err``). Memory: one block's states and one step's noise, plus the ``(N,)`` outputs.
    """
    du = int(system.du)
    returns = [np.empty(batch) for _ in runs]
    errors = [np.empty(batch) if err is not None else None for _ in runs]
    for (_, start, stop), g in zip(_blocks(batch), _children(rng, batch)):
        noise = _BlockNoise(system, horizon, stop - start, du, g)
        rets, errs = _simulate(system, runs, reward, horizon, noise.x0, noise, err=err)
        for k in range(len(runs)):
            returns[k][start:stop] = rets[k]
            if err is not None:
                errors[k][start:stop] = errs[k] / horizon
    return returns, errors


def _ci(mean: float, se: float, level: float) -> tuple[float, float]:
    half = _z_value(level) * se
    return (mean - half, mean + half)


def evaluate(system, policy, reward, horizon, batch, rng, *, level=0.95, **kwargs) -> ReturnEstimate:
    r"""Estimate the return ``J(pi)`` by streaming rollouts block by block.

    .. math::

        J(\pi) = \mathbb{E}\Big[\sum_{h=1}^{H} r_h(x_h, u_h)\Big].

    Parameters
    ----------
    system, policy, reward
        As in :func:`rollout`.
    horizon : int
    batch : int
        Number of trajectories ``N >= 2``.
    rng : numpy.random.Generator
        Noise as in :func:`draw_noise` (``du = system.du``).
    level : float
        Confidence level of ``ci``.

    Returns
    -------
    ReturnEstimate

    Raises
    ------
    DimensionError
        On bad sizes or shapes.

    References
    ----------
    Cao & Xie 2026, Section 2 (return of a policy).
    """
    reject_unknown_kwargs("evaluate", kwargs)
    _, du = _check_system(system)
    _check_policy("policy", policy, system)
    _check_reward(reward)
    horizon, batch, level = _estimate_args(horizon, batch, level)
    (returns,), _ = _stream(system, [policy], reward, horizon, batch, rng)
    mean, se = _mean_se(returns)
    return ReturnEstimate(mean, se, _ci(mean, se, level), level, batch, horizon)


def regret(system, expert, learner, reward, horizon, batch, rng, *, quantizer=None, level=0.95,
           **kwargs) -> RegretEstimate:
    r"""Estimate the regret ``J(pi*) - J(pi_hat)`` with the shared-noise coupling.

    .. math::

        \widehat{\mathrm{Reg}} = \frac{1}{N}\sum_{i=1}^{N}
        \Big[\sum_h r_h(x^{*,i}_h, u^{*,i}_h) - \sum_h r_h(\hat x^{i}_h, \hat u^{i}_h)\Big],

    where both runs of trajectory ``i`` use the same ``x_1``, process noise ``w_h`` and policy draws
    ``z_h``. This is the coupling of the paper's proofs and a variance reduction: a learner equal to
    the expert gives exactly 0.

    Parameters
    ----------
    system, reward
        As in :func:`rollout`.
    expert, learner : policies
    horizon : int
    batch : int
        Number of coupled trajectory pairs ``N >= 2``.
    rng : numpy.random.Generator
        Noise as in :func:`draw_noise` (``du = system.du``).
    quantizer : per-step quantizer, optional
        If given, also estimate the in-distribution error (along the expert's runs) and the
        deployment error (the expert's action quantized at the learner's states, same ``z``).
    level : float
        Confidence level of ``ci``.

    Returns
    -------
    RegretEstimate

    Raises
    ------
    DimensionError
        On bad sizes or shapes.
    TypeError
        On unknown keyword arguments.

    References
    ----------
    Cao & Xie 2026, Definition 3 (coupling), Theorems 1-3 and 6-9 (what the regret is held against).
    """
    reject_unknown_kwargs("regret", kwargs)
    _, du = _check_system(system)
    _check_policy("expert", expert, system)
    _check_policy("learner", learner, system)
    _check_reward(reward)
    horizon, batch, level = _estimate_args(horizon, batch, level)
    err = None
    if quantizer is not None:
        per_step_quantizer(quantizer)
        err = (expert, quantizer)
    (g_exp, g_lrn), (e_in, e_dep) = _stream(system, [expert, learner], reward, horizon, batch, rng, err)
    diff = g_exp - g_lrn
    mean, se = _mean_se(diff)
    m_exp, se_exp = _mean_se(g_exp)
    m_lrn, se_lrn = _mean_se(g_lrn)
    extra = {}
    if quantizer is not None:
        extra["in_distribution_error"], extra["in_distribution_error_se"] = _mean_se(e_in)
        extra["deployment_error"], extra["deployment_error_se"] = _mean_se(e_dep)
    diff.setflags(write=False)
    return RegretEstimate(mean, se, _ci(mean, se, level), level, batch, horizon, m_exp, m_lrn, se_exp, se_lrn,
                          differences=diff, **extra)


def _error_estimate(system, expert, policy, quantizer, horizon, batch, rng, level, along):
    _check_system(system)
    _check_policy("expert", expert, system)
    _check_policy("learner", policy, system)
    per_step_quantizer(quantizer)
    horizon, batch, level = _estimate_args(horizon, batch, level)
    _, (errs,) = _stream(system, [policy], _zero_reward, horizon, batch, rng, (expert, quantizer))
    mean, se = _mean_se(errs)
    return ErrorEstimate(mean, se, _ci(mean, se, level), level, batch, horizon, along)


def in_distribution_error(system, expert, quantizer, horizon, batch, rng, *, level=0.95,
                          **kwargs) -> ErrorEstimate:
    r"""The in-distribution quantization error of a quantizer on the expert's own trajectories.

    .. math::

        \varepsilon_q = \frac{1}{H}\, \mathbb{E}_{P^{\pi^*, T}} \Big[\sum_{h=1}^{H} \|u_h - q(u_h)\|\Big].

    Parameters
    ----------
    system : dynamics
    expert : policy
    quantizer : per-step quantizer
    horizon, batch : int
    rng : numpy.random.Generator
    level : float

    Returns
    -------
    ErrorEstimate
        With ``along = "expert"``.

    References
    ----------
    Cao & Xie 2026, Section 2 (learned-quantizer error) and Theorem 6.
    """
    reject_unknown_kwargs("in_distribution_error", kwargs)
    return _error_estimate(system, expert, expert, quantizer, horizon, batch, rng, level, "expert")


def deployment_error(system, expert, learner, quantizer, horizon, batch, rng, *, level=0.95,
                     **kwargs) -> ErrorEstimate:
    r"""The quantization error of the expert's action along the learner's own trajectories.

    .. math::

        e_{\mathrm{dep}} = \frac{1}{H}\, \mathbb{E}_{P^{\hat\pi, T}}
        \Big[\sum_{h=1}^{H} \|\pi^*(\hat x_h; z_h) - q(\pi^*(\hat x_h; z_h))\|\Big].

    For the trap quantizer of Theorem 6 this stays of order ``A`` however small ``eps`` is, while
    :func:`in_distribution_error` shrinks.

    Parameters
    ----------
    system : dynamics
    expert, learner : policies
    quantizer : per-step quantizer
    horizon, batch : int
    rng : numpy.random.Generator
    level : float

    Returns
    -------
    ErrorEstimate
        With ``along = "learner"``.

    References
    ----------
    Cao & Xie 2026, Theorem 6.
    """
    reject_unknown_kwargs("deployment_error", kwargs)
    return _error_estimate(system, expert, learner, quantizer, horizon, batch, rng, level, "learner")


def action_error(expert, quantizer, states, z=None, **kwargs) -> np.ndarray:
    r"""Per-trajectory average quantization error of the expert's action at given states.

    .. math::

        e_i = \frac{1}{H} \sum_{h=1}^{H} \|\pi^*(x^i_h; z^i_h) - q(\pi^*(x^i_h; z^i_h))\|.

    Parameters
    ----------
    expert : policy (time-invariant)
    quantizer : per-step quantizer
    states : (H, N, dx) array_like
        Visited states, e.g. ``Trajectories.states``.
    z : (H, N, du) array_like, optional
        The policy draws used along those states.

    Returns
    -------
    (N,) ndarray

    Raises
    ------
    DimensionError
        On wrong shapes.

    References
    ----------
    Cao & Xie 2026, Section 2 (in-distribution quantization error) and Theorem 6.
    """
    reject_unknown_kwargs("action_error", kwargs)
    states = np.asarray(states, dtype=float)
    if states.ndim != 3:
        raise DimensionError(f"states: expected shape (H, N, dx), found shape {states.shape}")
    q = per_step_quantizer(quantizer)
    act = _caller(expert.act, _varying(expert))
    total = np.zeros(states.shape[1])
    for i in range(states.shape[0]):
        u = act(states[i], None if z is None else np.asarray(z)[i], h=i + 1)
        total += np.linalg.norm(u - q(u), axis=-1)
    return total / states.shape[0]
