r"""Expert demonstrations from an instance, in the layout ``qbc audit`` reads (``qbc export``).

References
----------
Cao & Xie 2026, Section 2 (n i.i.d. expert trajectories of horizon H).
"""

from __future__ import annotations

import numpy as np

from ..model.instance import MAX_TRAJECTORIES
from ..model.validation import as_int
from ..model.errors import DimensionError
from .rollout import draw_noise, rollout

__all__ = ["expert_demonstrations", "MAX_EXPORT_STEPS"]

MAX_EXPORT_STEPS = 50_000_000
"""Largest ``n H`` exported (the arrays are held in memory)."""


def expert_demonstrations(instance, n, rng: np.random.Generator, *, flat: bool = False) -> dict:
    r"""Roll the instance's expert out ``n`` times and return its states and raw actions.

    .. math::

        x_1 \sim T_0,\quad u_h \sim \pi^*_h(\cdot \mid x_h),\quad x_{h+1} = f(x_h, u_h, w_h),\qquad h = 1, \ldots, H.

    The noise is drawn by :func:`~qbc_theory.engine.rollout.draw_noise` and the rollout is
    :func:`~qbc_theory.engine.rollout.rollout` with the instance's reward, so the data are those of
    the engine's other estimators for the same generator state. The instance's quantizer is not
    applied: the exported actions are the expert's raw actions, for a tokenizer to be audited on.

    Parameters
    ----------
    instance : Instance
    n : int
        Number of episodes, ``1 <= n <= 10^7`` and ``n H <= 5 10^7``.
    rng : numpy.random.Generator
    flat : bool
        ``False``: ``states (n, H, dx)``, ``actions (n, H, du)``; ``True``: ``states (n H, dx)``,
        ``actions (n H, du)`` and ``episode_ends (n,)``.

    Returns
    -------
    dict of ndarray

    Raises
    ------
    DimensionError
        On a bad ``n``.
    """
    n = as_int("n", n, minimum=1)
    H = instance.horizon
    if n > MAX_TRAJECTORIES or n * H > MAX_EXPORT_STEPS:
        raise DimensionError(f"n: expected n <= {MAX_TRAJECTORIES} and n H <= {MAX_EXPORT_STEPS}, found n={n}, "
                             f"H={H}")
    system = instance.system
    noise = draw_noise(system, H, n, system.du, rng)
    traj = rollout(system, instance.expert, instance.reward, H, noise.x0, noise.w, noise.z)
    states = np.ascontiguousarray(traj.states.swapaxes(0, 1))
    actions = np.ascontiguousarray(traj.actions.swapaxes(0, 1))
    if not flat:
        return {"states": states, "actions": actions}
    return {"states": states.reshape(n * H, -1), "actions": actions.reshape(n * H, -1),
            "episode_ends": np.arange(1, n + 1, dtype=np.int64) * H}
