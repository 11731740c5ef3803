r"""Batched Monte Carlo rollouts, the shared-noise coupling, returns, regret and quantization errors.

Everything is vectorised across trajectories: states have shape ``(N, dx)``, and only the loop over
the ``H`` steps of the horizon runs in Python.

Protocols
---------
**Dynamics** (``system``): any object with integer attributes ``dx`` and ``du`` and the methods

- ``step(x (N, dx), u (N, du), w (N, dx) or None) -> (N, dx)``,
- ``sample_x0(rng, batch) -> (batch, dx)``,
- ``sample_noise(rng, horizon, batch) -> (horizon, batch, dx)``.

:class:`~qbc_theory.model.dynamics.LinearSystem` satisfies it; so do the constructions of
:mod:`qbc_theory.engine.constructions`, whose dynamics may be nonlinear.

**Policy**: any object with ``act(x (N, dx), z (N, du)) -> (N, du)``, the action executed in the
real system; ``z`` are standard normals, the policy's only source of randomness, so that two
coupled runs share them. The experts of :mod:`qbc_theory.model.experts` satisfy it.

**Reward**: any callable ``reward(x (N, dx), u (N, du)) -> (N,)`` with values in [0, 1].

**Time-dependent components.** The paper's rewards, dynamics and policies may depend on the step
``h`` (Theorems 8 and 9: ``f_1 != f_h``, ``r_1 != r_h``). A component declares this with a class
attribute ``time_varying = True``; the engine then calls it with the keyword ``h``, the paper's
1-based step number (``h = 1`` for the first action, ``h = H`` for the last):
``step(x, u, w, h=h)``, ``act(x, z, h=h)``, ``reward(x, u, h=h)``. Components without the attribute
(``LinearSystem``, ``TrackingReward``, ``RegulationReward``, the experts) are called without it,
unchanged.

Noise and blocks
----------------
A batch of ``N`` trajectories is cut into blocks of :data:`NOISE_BLOCK` consecutive trajectories
(the last block possibly shorter). Block ``b`` owns the ``b``-th child of ``rng.spawn(n_blocks)`` and
draws from it, in this order: ``x0 = system.sample_x0(g, m)``, then for ``h = 1, ..., H`` the process
noise ``w_h = system.sample_noise(g, 1, m)[0]`` and the policy draws ``z_h = g.standard_normal((m, du))``.
The noise of a trajectory therefore depends only on ``rng``, ``batch`` and its index.

Blocks are also the unit of computation: every entry point simulates one block at a time (all
the runs of a coupling in lockstep), so each matrix product always sees the same rows. This is
what makes results bit-identical between :func:`rollout` on the arrays of :func:`draw_noise` and
the streaming estimators (:func:`evaluate`, :func:`regret`, :func:`in_distribution_error`,
:func:`deployment_error`) given a generator in the same state; numpy's matrix product can round
the same row differently when the number of rows changes, so computing on differently sized
chunks would not be. There is therefore no ``chunk`` argument: the streaming estimators hold one
block's states and one step's noise, ``O(NOISE_BLOCK * (dx + du))`` memory, plus ``O(N)`` for
the per-trajectory outputs, whatever ``H`` and ``N`` are.

References
----------
Cao & Xie 2026, Definition 3 (shared-noise coupling) and Theorems 1-3, 6-9 (regret).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.stats

from ..model.validation import as_int, as_real, describe, reject_unknown_kwargs
from ..model.errors import DimensionError
from ..model.quantizers import encode_actions, per_step_quantizer, quantize_actions

__all__ = [
    "NOISE_BLOCK",
    "Noise",
    "Trajectories",
    "Dataset",
    "ReturnEstimate",
    "RegretEstimate",
    "ErrorEstimate",
    "QuantizedPolicy",
    "draw_noise",
    "rollout",
    "open_loop",
    "collect",
    "evaluate",
    "regret",
    "in_distribution_error",
    "deployment_error",
    "action_error",
]

NOISE_BLOCK = 1024
"""Trajectories per independently seeded noise block, also the unit of computation (see the module
docstring). 1024 rows amortise numpy's per-call overhead while the block stays in cache."""

# --- protocol helpers ---------------------------------------------------------------------------

def _check_system(system) -> tuple[int, int]:
    for attr in ("dx", "du", "step", "sample_x0", "sample_noise"):
        if not hasattr(system, attr):
            raise DimensionError(
                f"system: expected an object with dx, du, step, sample_x0 and sample_noise, found "
                f"{describe(system)} without {attr!r}"
            )
    return int(system.dx), int(system.du)


def _check_policy(name: str, policy, system) -> None:
    if not callable(getattr(policy, "act", None)):
        raise DimensionError(f"{name}: expected a policy with act(x, z), found {describe(policy)}")
    check = getattr(policy, "check_system", None)
    if callable(check):
        check(system)


def _check_reward(reward) -> None:
    if not callable(reward):
        raise DimensionError(f"reward: expected a callable reward(x, u), found {describe(reward)}")


def _varying(obj) -> bool:
    return bool(getattr(obj, "time_varying", False))


def _caller(fn, varying: bool):
    """``fn`` called with the step keyword ``h`` when the component is time-varying."""
    if varying:
        return lambda *args, h: fn(*args, h=h)
    return lambda *args, h: fn(*args)


# --- noise ----------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Noise:
    """Everything random in a batch of rollouts, shared by coupled runs.

    Attributes
    ----------
    x0 : (N, dx) ndarray
        Initial states.
    w : (H, N, dx) ndarray
        Process noise; ``w[h - 1]`` enters the transition after step ``h``.
    z : (H, N, du) ndarray
        Standard normals of the policies, ``z[h - 1]`` used at step ``h``.

    References
    ----------
    Cao & Xie 2026, Definition 3 (shared-noise coupling).
    """

    x0: np.ndarray
    w: np.ndarray
    z: np.ndarray

    @property
    def batch(self) -> int:
        """Number of trajectories N."""
        return self.x0.shape[0]

    @property
    def horizon(self) -> int:
        """Horizon H."""
        return self.w.shape[0]

    def slice(self, start: int, stop: int) -> "Noise":
        """The noise of trajectories ``start`` to ``stop - 1``."""
        return Noise(self.x0[start:stop], self.w[:, start:stop], self.z[:, start:stop])

    def to_dict(self) -> dict:
        """A JSON-ready summary (shapes only)."""
        return {"batch": self.batch, "horizon": self.horizon, "dx": self.x0.shape[1], "du": self.z.shape[2]}


class _BlockNoise:
    """The noise of one block, drawn in the documented order from the block's own generator:
    ``x0`` first, then ``(w_h, z_h)`` step by step (so only one step is held in memory)."""

    def __init__(self, system, horizon: int, m: int, du: int, g: np.random.Generator):
        self.system, self.horizon, self.m, self.du, self.g = system, horizon, m, du, g
        self.x0 = _checked("system.sample_x0", system.sample_x0(g, m), (m, int(system.dx)))

    def step(self, i: int):
        w = self.system.sample_noise(self.g, 1, self.m)
        if i == 0:
            w = _checked("system.sample_noise", w, (1, self.m, int(self.system.dx)))
        return np.asarray(w, dtype=float)[0], self.g.standard_normal((self.m, self.du))


class _ArrayNoise:
    """Given noise arrays, served step by step like :class:`_BlockNoise`."""

    def __init__(self, w, z):
        self.w, self.z = w, z

    def step(self, i: int):
        return (None if self.w is None else self.w[i]), (None if self.z is None else self.z[i])


def _checked(name: str, value, shape) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.shape != shape:
        raise DimensionError(f"{name}: expected an array of shape {shape}, found shape {arr.shape}")
    return arr


def _blocks(batch: int):
    """``(b, start, stop)`` of the noise blocks of a batch."""
    for b, start in enumerate(range(0, batch, NOISE_BLOCK)):
        yield b, start, min(start + NOISE_BLOCK, batch)


def _children(rng, batch: int) -> list:
    return _rng(rng).spawn(-(-batch // NOISE_BLOCK))


def _rng(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise DimensionError(f"rng: expected a numpy.random.Generator, found {describe(rng)}")
    return rng


def draw_noise(system, horizon, batch, du, rng, **kwargs) -> Noise:
    r"""Draw the initial states, process noise and policy draws of ``batch`` trajectories.

    Two runs given the same :class:`Noise` are coupled with shared noise: same ``x_1``, same
    ``w_h``, same policy draws ``z_h``:

    .. math::

        x^0_1 = x^1_1 = x_1, \qquad x^j_{h+1} = f_h(x^j_h, u^j_h, w_h), \qquad
        u^j_h = \pi^j_h(x^j_h; z_h), \quad j \in \{0, 1\}.

    Parameters
    ----------
    system : dynamics (see the module docstring)
    horizon : int
        ``H >= 1``.
    batch : int
        Number of trajectories ``N >= 1``.
    du : int
        Columns of the policy draws ``z`` (normally ``system.du``).
    rng : numpy.random.Generator
        Source of randomness; children are spawned from it per block of :data:`NOISE_BLOCK`
        trajectories, so the same generator state gives bit-identical noise.

    Returns
    -------
    Noise
        ``x0 (N, dx)``, ``w (H, N, dx)``, ``z (H, N, du)``.

    Raises
    ------
    DimensionError
        On a non-protocol system, bad sizes, or a system whose samplers return wrong shapes.

    References
    ----------
    Cao & Xie 2026, Definition 3 (shared-noise coupling).
    """
    reject_unknown_kwargs("draw_noise", kwargs)
    dx, _ = _check_system(system)
    horizon = as_int("horizon", horizon, minimum=1)
    batch = as_int("batch", batch, minimum=1)
    du = as_int("du", du, minimum=1)
    x0 = np.empty((batch, dx))
    w = np.empty((horizon, batch, dx))
    z = np.empty((horizon, batch, du))
    for (b, start, stop), g in zip(_blocks(batch), _children(rng, batch)):
        block = _BlockNoise(system, horizon, stop - start, du, g)
        x0[start:stop] = block.x0
        for i in range(horizon):
            w[i, start:stop], z[i, start:stop] = block.step(i)
    return Noise(x0, w, z)


# --- trajectories ---------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Trajectories:
    r"""A batch of rollouts, time-major.

    Attributes
    ----------
    states : (H, N, dx) ndarray
        ``states[h - 1]`` is ``x_h``, the state at which the ``h``-th action is taken.
    actions : (H, N, du) ndarray
        Actions executed in the system.
    rewards : (H, N) ndarray
        ``r_h(x_h, u_h)``.
    returns : (N,) ndarray
        ``sum_h r_h``.
    final_states : (N, dx) ndarray
        ``x_{H+1}``.

    .. math::

        G = \sum_{h=1}^{H} r_h(x_h, u_h).
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    returns: np.ndarray
    final_states: np.ndarray

    @property
    def horizon(self) -> int:
        """Horizon H."""
        return self.states.shape[0]

    @property
    def batch(self) -> int:
        """Number of trajectories N."""
        return self.states.shape[1]

    def to_dict(self) -> dict:
        """A JSON-ready summary: sizes and the mean return with its standard error."""
        n = self.batch
        se = float(self.returns.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0
        return {"horizon": self.horizon, "batch": n, "mean_return": float(self.returns.mean()),
                "se_return": se}


def _as_noise_arrays(system, horizon, x0, w, z, du):
    dx, _ = _check_system(system)
    horizon = as_int("horizon", horizon, minimum=1)
    x0 = np.asarray(x0, dtype=float)
    if x0.ndim != 2 or x0.shape[1] != dx:
        raise DimensionError(f"x0: expected shape (N, {dx}), found shape {x0.shape}")
    n = x0.shape[0]
    if w is not None:
        w = np.asarray(w, dtype=float)
        if w.shape != (horizon, n, dx):
            raise DimensionError(f"w: expected shape ({horizon}, {n}, {dx}), found shape {w.shape}")
    if z is not None:
        z = np.asarray(z, dtype=float)
        if z.shape != (horizon, n, du):
            raise DimensionError(f"z: expected shape ({horizon}, {n}, {du}), found shape {z.shape}")
    return horizon, x0, w, z


def _simulate(system, runs, reward, horizon, x0, noise, *, out=None, err=None):
    """The time loop shared by every entry point: several runs in lockstep on one noise block.

    ``runs`` lists policies, or ``(H, m, du)`` arrays of actions played open loop; all runs start
    from ``x0 (m, dx)`` and share ``(w_h, z_h) = noise.step(h - 1)``, so each step's noise is drawn
    once. With ``err = (expert, quantizer)`` each run also accumulates ``sum_h ||u*_h - q(u*_h)||``,
    ``u*_h`` the expert's action at that run's state with the shared draw ``z_h``. With ``out`` (a
    :class:`Trajectories` of views for this block, one run only) states, actions and rewards are
    written into it. Returns ``(returns (m,) per run, error sums (m,) per run or None)``.
    """
    m, du = x0.shape[0], int(system.du)
    step = _caller(system.step, _varying(system))
    rew = _caller(reward, _varying(reward))
    acts = [r if isinstance(r, np.ndarray) else _caller(r.act, _varying(r)) for r in runs]
    if err is not None:
        expert, quantizer = err
        q = per_step_quantizer(quantizer)
        expert_act = _caller(expert.act, _varying(expert))
    xs = [x0] * len(runs)
    returns = [np.zeros(m) for _ in runs] if out is None else [out.returns]
    errors = [np.zeros(m) for _ in runs] if err is not None else None
    for i in range(horizon):
        h = i + 1
        w, z = noise.step(i)
        for k, act in enumerate(acts):
            x = xs[k]
            if isinstance(act, np.ndarray):
                u = act[i]
            else:
                u = act(x, z, h=h)
                if i == 0:
                    u = _checked("policy.act", u, (m, du))
            r = rew(x, u, h=h)
            if i == 0:
                r = _checked("reward", r, (m,))
            returns[k] += r
            if err is not None:
                ue = u if runs[k] is expert else expert_act(x, z, h=h)
                errors[k] += np.linalg.norm(ue - q(ue), axis=-1)
            if out is not None:
                out.states[i], out.actions[i], out.rewards[i] = x, u, r
            xs[k] = step(x, u, w, h=h)
    if out is not None:
        out.final_states[...] = xs[0]
    return returns, errors


def _rollout_blocks(system, run, reward, horizon, x0, w, z) -> Trajectories:
    """Simulate given noise block by block, so rows are grouped exactly as in the estimators."""
    n, dx, du = x0.shape[0], x0.shape[1], int(system.du)
    traj = Trajectories(np.empty((horizon, n, dx)), np.empty((horizon, n, du)), np.empty((horizon, n)),
                        np.zeros(n), np.empty((n, dx)))
    for _, start, stop in _blocks(n):
        rows = slice(start, stop)
        this = run[:, rows] if isinstance(run, np.ndarray) else run
        noise = _ArrayNoise(None if w is None else w[:, rows], None if z is None else z[:, rows])
        view = Trajectories(traj.states[:, rows], traj.actions[:, rows], traj.rewards[:, rows],
                            traj.returns[rows], traj.final_states[rows])
        _simulate(system, [this], reward, horizon, x0[rows], noise, out=view)
    return traj


def rollout(system, policy, reward, horizon, x0, w, z, **kwargs) -> Trajectories:
    r"""Roll ``policy`` out in ``system`` from given initial states and noise.

    .. math::

        u_h = \pi_h(x_h; z_h), \qquad x_{h+1} = f_h(x_h, u_h, w_h), \qquad
        G = \sum_{h=1}^{H} r_h(x_h, u_h).

    Parameters
    ----------
    system : dynamics (see the module docstring)
    policy : policy with ``act(x (N, dx), z (N, du)) -> (N, du)``
    reward : callable ``reward(x (N, dx), u (N, du)) -> (N,)``
    horizon : int
        ``H >= 1``.
    x0 : (N, dx) array_like
        Initial states.
    w : (H, N, dx) array_like or None
        Process noise (``None``: noiseless transitions).
    z : (H, N, du) array_like or None
        Standard-normal policy draws (``None`` only for deterministic policies).

    Returns
    -------
    Trajectories
        ``states (H, N, dx)``, ``actions (H, N, du)``, ``rewards (H, N)``, ``returns (N,)``,
        ``final_states (N, dx)``.

    Raises
    ------
    DimensionError
        On wrong shapes of the inputs or of what the policy or reward returns.
    TypeError
        On unknown keyword arguments.

    References
    ----------
    Cao & Xie 2026, Section 2 (trajectory law ``P^{pi, T}``).
    """
    reject_unknown_kwargs("rollout", kwargs)
    _, du = _check_system(system)
    _check_policy("policy", policy, system)
    _check_reward(reward)
    horizon, x0, w, z = _as_noise_arrays(system, horizon, x0, w, z, du)
    return _rollout_blocks(system, policy, reward, horizon, x0, w, z)


def open_loop(system, actions, reward, x0, w, **kwargs) -> Trajectories:
    r"""Execute a fixed action sequence open loop in the real system (Algorithm 1's deployment).

    .. math::

        x_{h+1} = f_h(x_h, u^a_h, w_h), \qquad G = \sum_{h=1}^{H} r_h(x_h, u^a_h),

    where ``u^a`` was produced beforehand (by the auxiliary rollout in the learned model) and does
    not react to the real states.

    Parameters
    ----------
    system : dynamics
    actions : (H, N, du) array_like
        The actions ``u^a_h`` of each trajectory.
    reward : callable ``reward(x, u) -> (N,)``
    x0 : (N, dx) array_like
        Real initial states (the same ``x_1`` the auxiliary rollout started from).
    w : (H, N, dx) array_like or None
        Real process noise.

    Returns
    -------
    Trajectories

    Raises
    ------
    DimensionError
        On wrong shapes.

    References
    ----------
    Cao & Xie 2026, Algorithm 1 and Theorem 7.
    """
    reject_unknown_kwargs("open_loop", kwargs)
    _, du = _check_system(system)
    _check_reward(reward)
    actions = np.asarray(actions, dtype=float)
    if actions.ndim != 3 or actions.shape[2] != du:
        raise DimensionError(f"actions: expected shape (H, N, {du}), found shape {actions.shape}")
    horizon = actions.shape[0]
    horizon, x0, w, _ = _as_noise_arrays(system, horizon, x0, w, None, du)
    if actions.shape[1] != x0.shape[0]:
        raise DimensionError(f"actions: expected {x0.shape[0]} trajectories to match x0, found {actions.shape[1]}")
    return _rollout_blocks(system, actions, reward, horizon, x0, w, None)


# --- policies -------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class QuantizedPolicy:
    r"""The pushforward policy ``q # pi``: play the representative ``q(u)`` of ``u ~ pi(.|x)``.

    .. math::

        (q_\# \pi)_h(\tilde u \mid x) = \pi_h(q^{-1}(\tilde u) \mid x).

    With ``policy`` the expert this is the infinite-data learner of Theorem 6.

    Parameters
    ----------
    policy : policy with ``act(x, z)``
    quantizer : per-step quantizer

    References
    ----------
    Cao & Xie 2026, Section 2 (pushforward policy) and Theorem 6.
    """

    policy: object
    quantizer: object

    def __post_init__(self):
        if not callable(getattr(self.policy, "act", None)):
            raise DimensionError(f"policy: expected a policy with act(x, z), found {describe(self.policy)}")
        per_step_quantizer(self.quantizer)

    @property
    def time_varying(self) -> bool:
        """Whether the wrapped policy depends on the step."""
        return _varying(self.policy)

    @property
    def deterministic(self) -> bool:
        """Whether the wrapped policy is deterministic (then so is ``q # pi``)."""
        return bool(getattr(self.policy, "deterministic", False))

    def act(self, x: np.ndarray, z: np.ndarray | None = None, h: int | None = None) -> np.ndarray:
        """``q(pi(x; z))``, shape ``(N, du)``; ``h`` is passed on to a time-varying policy."""
        u = self.policy.act(x, z, h=h) if self.time_varying else self.policy.act(x, z)
        return quantize_actions(self.quantizer, u)

    def check_system(self, system) -> None:
        """Delegate the shape check to the wrapped policy when it has one."""
        check = getattr(self.policy, "check_system", None)
        if callable(check):
            check(system)

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        inner = self.policy.to_dict() if hasattr(self.policy, "to_dict") else {"kind": type(self.policy).__name__}
        quant = self.quantizer.to_dict() if hasattr(self.quantizer, "to_dict") else {}
        return {"kind": "quantized", "policy": inner, "quantizer": quant}


# --- data sets ------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Dataset:
    """Expert demonstrations seen through a quantizer, trajectory-major.

    Attributes
    ----------
    states : (n, H, dx) ndarray
        ``x_h`` of each trajectory.
    actions : (n, H, du) ndarray
        Raw expert actions ``u_h`` (never seen by a learner on quantized data; kept for
        regression BC and for measuring the quantization error).
    tokens : (n, H) int ndarray
        ``encode(u_h)``, the learner's labels.
    quantized : (n, H, du) ndarray
        ``q(u_h)``.
    next_states : (n, H, dx) ndarray
        ``x_{h+1}`` (for transition models, Algorithm 1).

    References
    ----------
    Cao & Xie 2026, Section 2 (data) and Algorithm 1.
    """

    states: np.ndarray
    actions: np.ndarray
    tokens: np.ndarray
    quantized: np.ndarray
    next_states: np.ndarray

    def __post_init__(self):
        n, horizon, dx = self.states.shape
        du = self.actions.shape[2]
        for name, shape in (("actions", (n, horizon, du)), ("tokens", (n, horizon)),
                            ("quantized", (n, horizon, du)), ("next_states", (n, horizon, dx))):
            got = getattr(self, name).shape
            if got != shape:
                raise DimensionError(f"{name}: expected shape {shape}, found {got}")
        for name in ("states", "actions", "tokens", "quantized", "next_states"):
            getattr(self, name).setflags(write=False)

    @property
    def n(self) -> int:
        """Number of trajectories."""
        return self.states.shape[0]

    @property
    def horizon(self) -> int:
        """Horizon H."""
        return self.states.shape[1]

    @property
    def in_distribution_error(self) -> float:
        r"""``(1/H) E sum_h ||u_h - q(u_h)||`` estimated on the data (Cao & Xie 2026, Section 2)."""
        return float(np.linalg.norm(self.actions - self.quantized, axis=-1).mean())

    def to_dict(self) -> dict:
        """A JSON-ready summary."""
        return {"n": self.n, "horizon": self.horizon, "dx": self.states.shape[2], "du": self.actions.shape[2],
                "in_distribution_error": self.in_distribution_error}


def collect(system, expert, quantizer, n, horizon, rng, **kwargs) -> Dataset:
    r"""Collect ``n`` expert trajectories and quantize their actions.

    .. math::

        x_1 \sim T_0,\quad u_h \sim \pi^*_h(\cdot \mid x_h),\quad x_{h+1} \sim T_h(\cdot \mid x_h, u_h),
        \quad \text{label } \tilde u_h = q(u_h).

    Parameters
    ----------
    system : dynamics
    expert : policy
    quantizer : per-step quantizer
    n : int
        Number of trajectories.
    horizon : int
        ``H >= 1``.
    rng : numpy.random.Generator
        Noise is drawn as in :func:`draw_noise` (with ``du = system.du``).

    Returns
    -------
    Dataset
        Arrays of shape ``(n, H, ...)``.

    Raises
    ------
    DimensionError
        On bad sizes, or a quantizer without flat tokens.

    References
    ----------
    Cao & Xie 2026, Section 2 (data are seen only through q).
    """
    reject_unknown_kwargs("collect", kwargs)
    dx, du = _check_system(system)
    _check_policy("expert", expert, system)
    n = as_int("n", n, minimum=1)
    horizon = as_int("horizon", horizon, minimum=1)
    noise = draw_noise(system, horizon, n, du, rng)
    traj = _rollout_blocks(system, expert, _zero_reward, horizon, noise.x0, noise.w, noise.z)
    actions = np.ascontiguousarray(traj.actions.swapaxes(0, 1))
    states = np.ascontiguousarray(traj.states.swapaxes(0, 1))
    next_states = np.concatenate([states[:, 1:], traj.final_states[:, None]], axis=1)
    tokens = encode_actions(quantizer, actions)
    quantized = quantize_actions(quantizer, actions)
    return Dataset(states, actions, np.asarray(tokens, dtype=np.int64), quantized, next_states)


# --- estimates ------------------------------------------------------------------------------------

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


def _zero_reward(x, u):
    return np.zeros(x.shape[0])


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
