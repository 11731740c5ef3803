r"""Bounded Lipschitz rewards in [0, 1] (THEORY.md section 1), vectorised over a batch."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import DimensionError
from .validation import MAX_PARAMETER, as_real, as_vector

__all__ = ["TrackingReward", "RegulationReward", "StateReward"]


@dataclass(frozen=True, eq=False)
class TrackingReward:
    r"""Action tracking: reward for playing the expert's (mean) action.

    .. math::

        r(x, u) = 1 - \min\big(1, \|u - \mu^*(x)\| / s\big),

    where :math:`\mu^*` is the expert's mean action. It is Lipschitz in ``(x, u)`` with
    ``L_r = sqrt(1 + L_mu^2) / s``. With ``s = 1`` and the arctan expert this is Theorem 6's reward
    ``1 - |u - arctan x|`` (clipped at 0 so that it stays in [0, 1]).

    Parameters
    ----------
    expert : LinearExpert or ArctanExpert
        Provides ``mean(x)`` and ``lipschitz``.
    scale : float
        Distance ``s > 0`` at which the reward reaches 0.
    """

    expert: object
    scale: float = 1.0

    kind = "tracking"

    def __post_init__(self):
        object.__setattr__(self, "scale", as_real("scale", self.scale, positive=True))

    @property
    def lipschitz(self) -> float:
        """``L_r = sqrt(1 + L_mu^2) / s``."""
        return math.sqrt(1.0 + self.expert.lipschitz**2) / self.scale

    def __call__(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Rewards ``(N,)`` for states ``(N, dx)`` and actions ``(N, du)``."""
        gap = np.linalg.norm(u - self.expert.mean(x), axis=-1)
        return 1.0 - np.minimum(1.0, gap / self.scale)

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        return {"kind": self.kind, "scale": self.scale, "lipschitz": self.lipschitz}


@dataclass(frozen=True, eq=False)
class RegulationReward:
    r"""State regulation: reward for staying near the origin.

    .. math::

        r(x, u) = 1 - \min\big(1, \|x\| / s\big), \qquad L_r = 1 / s.

    Parameters
    ----------
    scale : float
        Distance ``s > 0`` at which the reward reaches 0.
    """

    scale: float = 1.0

    kind = "regulation"

    def __post_init__(self):
        object.__setattr__(self, "scale", as_real("scale", self.scale, positive=True))

    @property
    def lipschitz(self) -> float:
        """``L_r = 1 / s``."""
        return 1.0 / self.scale

    def __call__(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Rewards ``(N,)`` for states ``(N, dx)`` (actions are ignored)."""
        return 1.0 - np.minimum(1.0, np.linalg.norm(x, axis=-1) / self.scale)

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        return {"kind": self.kind, "scale": self.scale, "lipschitz": self.lipschitz}


@dataclass(frozen=True, eq=False)
class StateReward:
    r"""An affine function of the state, clipped to [0, 1].

    .. math::

        r(x, u) = \min\big(1, \max(0,\; c + w^\top x)\big), \qquad L_r = \|w\|_2 .

    Clipping is 1-Lipschitz, so ``||w||_2`` is a Lipschitz constant in ``(x, u)`` (tight wherever
    ``0 < c + w.x < 1``). With ``x = (theta, omega)`` of the pendulum and ``w = (-k, 0)``,
    ``c = 1``, it rewards staying near the bottom.

    Parameters
    ----------
    weights : (dx,) array_like
        ``w``.
    offset : float, optional
        ``c`` (default 0).

    Raises
    ------
    DimensionError
        On non-finite entries.
    """

    weights: np.ndarray
    offset: float = 0.0

    kind = "state"

    def __post_init__(self):
        w = as_vector("weights", self.weights)
        if np.abs(w).max() > MAX_PARAMETER:
            raise DimensionError(f"weights: expected entries of magnitude at most {MAX_PARAMETER:g}, found "
                                 f"{np.abs(w).max():g}")
        w.setflags(write=False)
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "offset", as_real("offset", self.offset, low=-MAX_PARAMETER, high=MAX_PARAMETER))

    @property
    def lipschitz(self) -> float:
        """``L_r = ||w||_2``."""
        return float(np.linalg.norm(self.weights))

    def check_system(self, system) -> None:
        """Raise :class:`DimensionError` unless ``weights`` has length ``system.dx``."""
        if self.weights.size != system.dx:
            raise DimensionError(f"weights: expected length {system.dx} (the state dimension), found "
                                 f"{self.weights.size}")

    def __call__(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Rewards ``(N,)`` for states ``(N, dx)`` (actions are ignored)."""
        return np.clip(self.offset + x @ self.weights, 0.0, 1.0)

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        return {"kind": self.kind, "weights": self.weights.tolist(), "offset": self.offset,
                "lipschitz": self.lipschitz}
