r"""Log-loss behavior cloning on quantized actions, regression BC, and Algorithm 1.

The estimator everywhere is the maximum-likelihood (log-loss) estimator of THEORY.md section 1,

.. math::

    \hat\pi \in \arg\max_{\pi \in \Pi} \sum_{i=1}^{n} \sum_{h=1}^{H} \log \pi_h(q(u_h^i) \mid x_h^i),

over a class :math:`\Pi` of *quantized* policies: a candidate is a (deterministic or Gaussian)
policy pushed through the quantizer ``q``, and it is scored by the probability it gives to the
observed tokens. The classes here are stationary (the same policy at every step ``h``), so the
data enter as flat samples: ``states (n, H, dx)`` and ``tokens (n, H)`` (or already flattened,
``(N, dx)`` and ``(N,)``).

A fitted learner is a policy in the sense of :mod:`qbc_theory.engine.rollout`: ``act(x (N, dx), z (N, du))``
returns the action executed in the real system, which for a quantized learner is the decoded
representative ``u~`` of the token it draws. A Gaussian learner draws its token by quantizing
``K x + sigma z``: using the expert's ``z`` gives the shared-noise coupling.

References
----------
Cao & Xie 2026, Section 2 (log-loss BC), Appendix A (MLE guarantee), Proposition 4 (regression BC),
Algorithm 1 and Theorem 7.
"""

from __future__ import annotations

from .tokens import binning_cell_edges, quantized_gaussian_logpmf
from .finite import QuantizedLinearPolicy, LinearPolicyClass, gain_grid, FiniteFit, fit_finite, finite_scores_loop
from .parametric import ParametricFit, fit_gaussian_mle, DeterministicFit, fit_deterministic_mle
from .regression import RegressionPolicy, fit_regression
from .algorithm1 import LinearGaussianModel, LinearModelClass, ModelFit, fit_model_finite, fit_model_gaussian, Algorithm1Learner, Algorithm1Fit, fit_algorithm1

__all__ = [
    "QuantizedLinearPolicy",
    "LinearPolicyClass",
    "gain_grid",
    "FiniteFit",
    "fit_finite",
    "finite_scores_loop",
    "binning_cell_edges",
    "quantized_gaussian_logpmf",
    "ParametricFit",
    "fit_gaussian_mle",
    "DeterministicFit",
    "fit_deterministic_mle",
    "RegressionPolicy",
    "fit_regression",
    "LinearGaussianModel",
    "LinearModelClass",
    "ModelFit",
    "fit_model_finite",
    "fit_model_gaussian",
    "Algorithm1Learner",
    "Algorithm1Fit",
    "fit_algorithm1",
]
