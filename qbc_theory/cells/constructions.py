"""Cells and claims: see qbc_theory/cells/__init__.py."""

CLAIMS: tuple = ()
