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

The package holds :mod:`.core` (protocols, noise, simulation, policies, data sets) and
:mod:`.estimates` (the streaming estimators).

References
----------
Cao & Xie 2026, Definition 3 (shared-noise coupling) and Theorems 1-3, 6-9 (regret).
"""

from __future__ import annotations

from .core import NOISE_BLOCK, Noise, Trajectories, Dataset, QuantizedPolicy, draw_noise, rollout, open_loop, collect
from .estimates import ReturnEstimate, RegretEstimate, ErrorEstimate, evaluate, regret, in_distribution_error, deployment_error, action_error

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
