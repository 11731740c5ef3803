"""Rollouts: the protocols, noise blocks, batched simulation, quantized policies and data sets.

Part of :mod:`qbc_theory.engine.rollout` (its docstring states the protocols and the noise and
block conventions); import the names from there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...model.validation import as_int, describe, reject_unknown_kwargs
from ...model.errors import DimensionError
from ...model.quantizers import encode_actions, per_step_quantizer, quantize_actions

__all__ = [
    "NOISE_BLOCK",
    "Noise",
    "Trajectories",
    "Dataset",
    "QuantizedPolicy",
    "draw_noise",
    "rollout",
    "open_loop",
    "collect",
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


def _zero_reward(x, u):
    return np.zeros(x.shape[0])


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
