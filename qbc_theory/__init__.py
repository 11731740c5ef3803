"""qbc-theory: a workbench for the theory of behavior cloning with quantized actions.

Cao & Xie 2026, *Understanding Behavior Cloning with Action Quantization*: bounds as symbolic
expressions, an assumption checker, Monte Carlo verification and exact checks of the proofs.

The entry points, all callables at the top level:

* an instance: :func:`load_instance` (a TOML file), :func:`instance_from_dict` (its parsed tables), or
  :class:`Instance` built from a system (:class:`LinearSystem`, :func:`from_statespace` for a
  python-control ``StateSpace``), an expert (:func:`lqr_expert`, ...), a quantizer and a reward;
* :func:`check`: the assumptions of Theorems 2, 3, 6 and 7 and the bounds that apply (``qbc check``);
* :func:`simulate`: train behavior cloning on expert data, deploy it, measure the regret (``qbc simulate``);
* :func:`verify`: the claim catalog (``qbc verify``); ``bounds.get(name)``: one theorem's bound.

The instance model (systems, experts, quantizers, rewards, instances) is imported eagerly; every
other public name, and every submodule (``qbc_theory.theory.bounds``, ``qbc_theory.figures.plots``, ...), is
imported on first use, so that ``import qbc_theory`` and the ``qbc`` command start quickly.
"""

import importlib

__version__ = "0.1.0"

from .model.dynamics import CallableSystem, LinearSystem, LureSystem, from_statespace, pendulum
from .model.errors import AssumptionError, DimensionError, QbcError, SolverError, SpecError
from .model.experts import ArctanExpert, CallableExpert, LinearExpert, MLPExpert, TanhExpert, lqr_expert, lqr_gain
from .model.instance import Instance, expert_actions, instance_from_dict, load_instance
from .model.quantizers import DCTBinning, KMeansQuantizer, ResidualVQ, TrapLoopQuantizer, UniformBinning, kmeans
from .model.rewards import RegulationReward, StateReward, TrackingReward

_LAZY = {
    "theory.symbols": ("SYMBOLS", "sym"),
    "theory.bounds": ("Bound",),
    "theory.inequality": ("InequalityResult", "check_inequality"),
    "checker.stability": ("analyze_stability", "gain_profile", "gain_sum", "peiiss_constant",
                          "lyapunov_certificate", "lmi_certificate", "verify_certificate", "gaussian_piiss",
                          "StabilityReport"),
    "checker.smoothness": ("binning_rtvc", "gaussian_tvc", "threshold_wasserstein", "modulus_audit",
                           "ModulusAudit"),
    "checker.report": ("check", "AssumptionReport", "quantization_error"),
    "engine.rollout": ("regret", "collect", "draw_noise", "open_loop", "QuantizedPolicy", "Dataset",
                       "RegretEstimate", "in_distribution_error", "deployment_error"),
    "engine.learning": ("QuantizedLinearPolicy", "LinearPolicyClass", "gain_grid", "fit_finite",
                        "fit_gaussian_mle", "fit_deterministic_mle", "fit_regression", "fit_algorithm1"),
    "engine.simulation": ("simulate", "SimulationResult"),
    "engine.scan": ("scan", "ScanResult"),
    "engine.export": ("expert_demonstrations",),
    "model.tokenizers": ("make_tokenizer", "TOKENIZERS"),
    "model.dataset": ("load_demonstrations", "demonstrations", "Demonstrations"),
    "checker.audit": ("audit", "AuditResult"),
    "checker.incremental": ("incremental_certificate", "IncrementalCertificate"),
    "checker.lipschitz": ("lipschitz_report", "LipschitzReport"),
    "engine.constructions": ("trap_loop", "theorem8", "theorem9", "lipschitz_example"),
    "verification.scaling": ("fit_slope", "compare_slope", "compare_bound", "SlopeFit"),
    "verification.runner": ("run_spec", "run_specs", "load_spec", "cell_function", "ResultTable"),
    "verification.claims": ("verify", "get_claim", "claim_ids", "VerifyReport"),
    "figures.paper": ("make_figures",),
}
# The rooms of the data flow, and the concept modules under their short names (``qbc_theory.bounds``
# is ``qbc_theory.theory.bounds``), so that ``from qbc_theory import bounds`` keeps working.
_SUBMODULES = {
    **{room: room for room in ("model", "theory", "checker", "engine", "verification", "figures", "cli")},
    **{name.rsplit(".", 1)[1]: name for name in _LAZY
       if name.rsplit(".", 1)[1] not in ("report", "claims", "scan", "audit")},
    "claims": "verification.claims",
    "cells": "verification.cells",
    "plots": "figures.plots",
    "verify_plots": "figures.verify_plots",
    **{name: f"model.{name}" for name in ("dynamics", "errors", "experts", "instance", "quantizers", "rewards",
                                         "validation")},
}
# ``check`` and ``verify`` are the functions (the checker room is ``qbc_theory.checker``, the verify room
# ``qbc_theory.verification``, reached with ``import qbc_theory.verification``); ``rollout`` is the module, the
# function being ``qbc_theory.engine.rollout.rollout``.
_WHERE = {name: module for module, names in _LAZY.items() for name in names}

__all__ = [
    "__version__",
    "QbcError",
    "DimensionError",
    "AssumptionError",
    "SpecError",
    "SolverError",
    "LinearSystem",
    "LureSystem",
    "CallableSystem",
    "pendulum",
    "from_statespace",
    "LinearExpert",
    "ArctanExpert",
    "TanhExpert",
    "MLPExpert",
    "CallableExpert",
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
    "StateReward",
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
        value = importlib.import_module(f".{_SUBMODULES[name]}", __name__)
    else:
        raise AttributeError(f"module 'qbc_theory' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_WHERE) | set(_SUBMODULES))
