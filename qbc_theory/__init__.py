"""qbc-theory: a workbench for the theory of behavior cloning with quantized actions.

Cao & Xie 2026, *Understanding Behavior Cloning with Action Quantization*: bounds as symbolic
expressions, an assumption checker, Monte Carlo verification and exact checks of the proofs.

The instance model (systems, experts, quantizers, rewards, instances) is imported eagerly; every
other public name, and every submodule (``qbc_theory.bounds``, ``qbc_theory.figures``, ...), is
imported on first use, so that ``import qbc_theory`` and the ``qbc`` command start quickly.
"""

import importlib

__version__ = "0.1.0"

from .dynamics import LinearSystem, from_statespace
from .errors import AssumptionError, DimensionError, QbcError, SolverError, SpecError
from .experts import ArctanExpert, LinearExpert, lqr_expert, lqr_gain
from .instance import Instance, expert_actions, instance_from_dict, load_instance
from .quantizers import DCTBinning, KMeansQuantizer, ResidualVQ, TrapLoopQuantizer, UniformBinning, kmeans
from .rewards import RegulationReward, TrackingReward

_LAZY = {
    "symbols": ("SYMBOLS", "sym"),
    "bounds": ("Bound",),
    "inequality": ("InequalityResult", "check_inequality"),
    "stability": ("analyze_stability", "gain_profile", "gain_sum", "peiiss_constant", "lyapunov_certificate",
                  "lmi_certificate", "verify_certificate", "gaussian_piiss", "StabilityReport"),
    "smoothness": ("binning_rtvc", "gaussian_tvc", "threshold_wasserstein", "modulus_audit", "ModulusAudit"),
    "check": ("AssumptionReport", "quantization_error"),
    "rollout": ("regret", "collect", "draw_noise", "open_loop", "QuantizedPolicy", "Dataset",
                "RegretEstimate", "in_distribution_error", "deployment_error"),
    "learning": ("QuantizedLinearPolicy", "LinearPolicyClass", "gain_grid", "fit_finite", "fit_gaussian_mle",
                 "fit_deterministic_mle", "fit_regression", "fit_algorithm1"),
    "simulation": ("simulate", "SimulationResult"),
    "constructions": ("trap_loop", "theorem8", "theorem9", "lipschitz_example"),
    "scaling": ("fit_slope", "compare_slope", "compare_bound", "SlopeFit"),
    "runner": ("run_spec", "run_specs", "load_spec", "cell_function", "ResultTable"),
    "claims": ("verify", "get_claim", "claim_ids", "VerifyReport"),
    "paper": ("make_figures",),
}
_SUBMODULES = tuple(_LAZY) + ("figures", "verify_plots", "cells", "cli", "dynamics", "errors", "experts", "instance",
                              "quantizers", "rewards")
# A top-level name equal to a submodule's name would shadow the submodule (``from . import rollout``
# could return the function), so ``check`` and ``rollout`` are reached as ``qbc_theory.check.check``
# and ``qbc_theory.rollout.rollout``.
_WHERE = {name: module for module, names in _LAZY.items() for name in names}

__all__ = [
    "__version__",
    "QbcError",
    "DimensionError",
    "AssumptionError",
    "SpecError",
    "SolverError",
    "LinearSystem",
    "from_statespace",
    "LinearExpert",
    "ArctanExpert",
    "lqr_expert",
    "lqr_gain",
    "UniformBinning",
    "KMeansQuantizer",
    "ResidualVQ",
    "DCTBinning",
    "TrapLoopQuantizer",
    "kmeans",
    "TrackingReward",
    "RegulationReward",
    "Instance",
    "load_instance",
    "instance_from_dict",
    "expert_actions",
    *_WHERE,
]


def __getattr__(name):
    if name in _WHERE:
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'qbc_theory' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_WHERE) | set(_SUBMODULES))
