"""The Monte Carlo engine: rollouts, learners and the paper's constructions.

Owns batched rollouts with the shared-noise coupling (:mod:`.rollout`), log-loss and regression
behavior cloning and Algorithm 1 (:mod:`.learning`), ``qbc simulate`` (:mod:`.simulation`) and the
lower-bound and counterexample instances (:mod:`.constructions`). It may import
:mod:`qbc_theory.model` only; it never imports the theory or the checker, so that a measurement
never depends on the bound it is compared with.
"""

__all__: list[str] = []  # a room: its modules are imported by name, nothing is re-exported here
