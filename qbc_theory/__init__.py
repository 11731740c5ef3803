"""qbc-theory: a workbench for the theory of behavior cloning with quantized actions.

Cao & Xie 2026, *Understanding Behavior Cloning with Action Quantization*: bounds as symbolic
expressions, an assumption checker, Monte Carlo verification and exact checks of the proofs.
"""

__version__ = "0.1.0"

from .dynamics import LinearSystem, from_statespace
from .errors import AssumptionError, DimensionError, QbcError, SolverError, SpecError
from .experts import ArctanExpert, LinearExpert, lqr_expert, lqr_gain
from .instance import Instance, expert_actions, instance_from_dict, load_instance
from .quantizers import DCTBinning, KMeansQuantizer, ResidualVQ, TrapLoopQuantizer, UniformBinning, kmeans
from .rewards import RegulationReward, TrackingReward

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
]
