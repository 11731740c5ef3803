"""The theory: the paper's bounds as symbolic expressions with their constants.

Owns the symbol registry (:mod:`.symbols`), the catalog of bounds (:mod:`.bounds`) and the inequality
checker (:mod:`.inequality`). It may import :mod:`qbc_theory.model` only; it never imports the
checker or the engine: bounds consume constants by name, they never simulate or certify.
"""

__all__: list[str] = []  # a room: its modules are imported by name, nothing is re-exported here
