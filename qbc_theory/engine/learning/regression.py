"""Regression behavior cloning on raw actions (Proposition 4).

Part of :mod:`qbc_theory.engine.learning` (see its docstring for the estimator and the
conventions); import the names from there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...model.errors import DimensionError
from ...model.quantizers import quantize_actions
from ...model.validation import as_matrix, as_real, reject_unknown_kwargs
from ._data import _flat_actions, _flat_states

__all__ = [
    "RegressionPolicy",
    "fit_regression",
]


@dataclass(frozen=True, eq=False)
class RegressionPolicy:
    r"""A linear policy fitted by least squares, optionally smoothed over the state.

    With smoothing scale ``s > 0`` the policy plays ``K (x + xi)``, ``xi ~ N(0, s^2 I)``, which is
    TVC with modulus ``kappa(r) = r / (2 s)`` (THEORY.md section 3). Because ``K`` is linear,
    ``K xi ~ N(0, s^2 K K^T)`` and it is drawn as ``s F z`` with ``F F^T = K K^T`` from the
    rollout's standard normals ``z (N, du)``: the smoothing needs no randomness of its own and
    couples with the expert's noise.

    .. math::

        \mathrm{TV}(\hat\pi(\cdot \mid x), \hat\pi(\cdot \mid x')) \le \frac{\|x - x'\|}{2 s}.

    Parameters
    ----------
    K : (du, dx) array_like
    smoothing : float
        ``s >= 0``.
    quantizer : quantizer, optional
        If given, the executed action is ``q(K (x + xi))``.

    References
    ----------
    Cao & Xie 2026, Proposition 4; Block et al. 2023, Lemma 3.1 (smoothing gives TVC).
    """

    K: np.ndarray
    smoothing: float = 0.0
    quantizer: object = None

    def __init__(self, K, smoothing=0.0, quantizer=None):
        K = as_matrix("K", K).copy()
        K.setflags(write=False)
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "smoothing", as_real("smoothing", smoothing, nonnegative=True))
        object.__setattr__(self, "quantizer", quantizer)
        lam, vec = np.linalg.eigh(K @ K.T)
        factor = vec * np.sqrt(np.clip(lam, 0.0, None))
        factor.setflags(write=False)
        object.__setattr__(self, "_factor", factor)

    @property
    def deterministic(self) -> bool:
        """Whether the smoothing scale is 0."""
        return self.smoothing == 0.0

    def tvc_modulus(self, r):
        """``kappa(r) = min(1, r / (2 s))`` (``None`` for an unsmoothed, deterministic policy)."""
        if self.deterministic:
            return None
        return np.minimum(1.0, np.asarray(r, dtype=float) / (2.0 * self.smoothing))

    def mean(self, x) -> np.ndarray:
        """``K x``, shape ``(N, du)``."""
        return np.asarray(x, dtype=float) @ self.K.T

    def act(self, x, z=None) -> np.ndarray:
        """``K (x + xi)`` (quantized if a quantizer was given), shape ``(N, du)``."""
        u = self.mean(x)
        if self.smoothing > 0.0:
            if z is None:
                raise DimensionError("z: expected standard-normal draws for a smoothed policy, found None")
            u = u + self.smoothing * (np.asarray(z, dtype=float) @ self._factor.T)
        return u if self.quantizer is None else quantize_actions(self.quantizer, u)

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        return {"kind": "regression", "K": self.K.tolist(), "smoothing": self.smoothing,
                "tvc_slope": None if self.deterministic else 1.0 / (2.0 * self.smoothing),
                "quantizer": None if self.quantizer is None else self.quantizer.to_dict()}


def fit_regression(states, actions, **options) -> RegressionPolicy:
    r"""Regression BC: least squares of actions on states, the baseline of Proposition 4.

    .. math::

        \hat K = \arg\min_K \sum_{i,h} \|u_h^i - K x_h^i\|^2, \qquad
        J(\pi^*) - J(\hat\pi) \lesssim H \sum_h E_{\pi^*}\|u^*_h - \hat u_h\|
        \text{ (P-EIISS, TVC learner)}.

    Parameters
    ----------
    states : (n, H, dx) or (N, dx) array_like
    actions : (n, H, du) or (N, du) array_like
        Raw expert actions, or the decoded quantized ones (``Dataset.quantized``).
    smoothing : float, optional
        State-smoothing scale ``s >= 0`` (default 0); ``s > 0`` makes the learner TVC.
    quantizer : quantizer, optional
        Quantize the learner's executed action.

    Returns
    -------
    RegressionPolicy

    Raises
    ------
    DimensionError
        On mismatched shapes.
    TypeError
        On unknown keyword arguments.

    References
    ----------
    Cao & Xie 2026, Proposition 4.
    """
    smoothing = options.pop("smoothing", 0.0)
    quantizer = options.pop("quantizer", None)
    reject_unknown_kwargs("fit_regression", options)
    x = _flat_states("states", states)
    u = _flat_actions("actions", actions, x.shape[0])
    coef, *_ = np.linalg.lstsq(x, u, rcond=None)
    return RegressionPolicy(coef.T, smoothing, quantizer)
