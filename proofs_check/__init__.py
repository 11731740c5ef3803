"""Exact and symbolic checks of the proof steps and constructions of Cao & Xie 2026.

``run_checks(ids=None) -> ProofsReport``; ``python -m proofs_check [--json]``.
"""

from ._result import RESULTS, CheckResult, ProofsReport
from .registry import CHECK_IDS, CHECKS, run_checks

__all__ = ["RESULTS", "CheckResult", "ProofsReport", "CHECK_IDS", "CHECKS", "run_checks"]
