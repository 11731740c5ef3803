"""Verification: experiments, their cells, scaling fits and the claim verdicts.

Owns the experiment runner with its cache and backends (:mod:`.runner`), the log-log fits and
comparisons (:mod:`.scaling`), the verdict vocabulary (:mod:`.verdicts`), the cells that measure
each claim (:mod:`.cells`), the claim catalog (:mod:`.claims`, ``qbc verify``) and the data behind
every figure (:mod:`.figdata`). It may import every room below it (model, theory, checker,
engine); it never imports :mod:`qbc_theory.figures` or the CLI.
"""

__all__: list[str] = []  # a room: its modules are imported by name, nothing is re-exported here
