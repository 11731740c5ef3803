"""Expert policies: linear state feedback (deterministic or Gaussian), LQR designs, and the
scalar arctan expert of Theorem 6.

A policy maps a batch of states ``x (N, dx)`` to actions ``(N, du)``. Randomness is passed in as
an explicit standard-normal array ``z (N, du)`` so that two rollouts can share it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from .validation import MAX_PARAMETER, as_matrix, as_real
from .dynamics import LinearSystem
from .errors import DimensionError, SolverError

__all__ = ["LinearExpert", "ArctanExpert", "lqr_expert", "lqr_gain"]


@dataclass(frozen=True, eq=False)
class LinearExpert:
    r"""Linear state feedback, deterministic or Gaussian.

    .. math::

        \pi^*_h(\cdot \mid x) = N(K x, \sigma^2 I)\quad(\sigma > 0), \qquad
        \pi^*_h(x) = K x \quad(\sigma = 0).

    Parameters
    ----------
    K : (du, dx) array_like
        Feedback gain, ``u = K x``.
    noise_std : float, optional
        Standard deviation ``sigma`` of the Gaussian expert; 0 (default) gives a deterministic one.

    Notes
    -----
    The Lipschitz constant of the mean is the operator 2-norm ``||K||``. A Gaussian expert is TVC
    with ``kappa(r) <= ||K|| r / (sqrt(2) sigma)`` (THEORY.md section 3).
    """

    K: np.ndarray
    noise_std: float = 0.0

    def __init__(self, K, noise_std=0.0):
        K = as_matrix("K", K, max_abs=MAX_PARAMETER)
        K.setflags(write=False)
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "noise_std", as_real("noise_std", noise_std, nonnegative=True, high=MAX_PARAMETER))

    @property
    def dx(self) -> int:
        """State dimension."""
        return self.K.shape[1]

    @property
    def du(self) -> int:
        """Action dimension."""
        return self.K.shape[0]

    @property
    def deterministic(self) -> bool:
        """Whether the expert is a deterministic policy (``noise_std == 0``)."""
        return self.noise_std == 0.0

    @property
    def lipschitz(self) -> float:
        """Lipschitz constant of the mean action, ``||K||_2``."""
        return float(np.linalg.norm(self.K, 2))

    def mean(self, x: np.ndarray) -> np.ndarray:
        """Mean action ``K x`` for a batch ``x (N, dx)``."""
        return x @ self.K.T

    def act(self, x: np.ndarray, z: np.ndarray | None = None) -> np.ndarray:
        """Actions for a batch; ``z (N, du)`` are standard normals (ignored when deterministic)."""
        u = self.mean(x)
        if self.noise_std > 0.0:
            if z is None:
                raise DimensionError("z: expected standard-normal draws for a Gaussian expert, found None")
            u = u + self.noise_std * z
        return u

    def closed_loop_spectral_radius(self, system: LinearSystem) -> float:
        """Spectral radius of ``A + B K``: where the expert's states live, not P-IISS itself."""
        self.check_system(system)
        return float(np.max(np.abs(np.linalg.eigvals(system.A + system.B @ self.K))))

    def check_system(self, system: LinearSystem) -> None:
        """Raise :class:`DimensionError` unless ``K`` fits ``system`` (shape ``(du, dx)``)."""
        if self.K.shape != (system.du, system.dx):
            raise DimensionError(
                f"K: expected shape ({system.du}, {system.dx}) to match the system, found {self.K.shape}"
            )

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        return {"kind": "linear", "K": self.K.tolist(), "noise_std": self.noise_std,
                "lipschitz": self.lipschitz}


@dataclass(frozen=True, eq=False)
class ArctanExpert:
    r"""The scalar expert ``pi*(x) = arctan(x)`` of Theorem 6 (1-Lipschitz, deterministic).

    References
    ----------
    Cao & Xie 2026, Theorem 6 (deterministic construction).
    """

    @property
    def dx(self) -> int:
        """State dimension (1)."""
        return 1

    @property
    def du(self) -> int:
        """Action dimension (1)."""
        return 1

    @property
    def deterministic(self) -> bool:
        """Always ``True``."""
        return True

    @property
    def noise_std(self) -> float:
        """Always 0."""
        return 0.0

    @property
    def lipschitz(self) -> float:
        """Lipschitz constant of arctan, 1."""
        return 1.0

    def mean(self, x: np.ndarray) -> np.ndarray:
        """``arctan(x)`` for a batch ``x (N, 1)``."""
        return np.arctan(x)

    def act(self, x: np.ndarray, z: np.ndarray | None = None) -> np.ndarray:
        """Same as :meth:`mean` (the expert is deterministic)."""
        return np.arctan(x)

    def closed_loop_spectral_radius(self, system: LinearSystem) -> float:
        """Spectral radius of the linearisation ``A + B`` at the origin (arctan'(0) = 1)."""
        self.check_system(system)
        return float(np.max(np.abs(np.linalg.eigvals(system.A + system.B))))

    def check_system(self, system: LinearSystem) -> None:
        """Raise :class:`DimensionError` unless ``system`` is scalar."""
        if (system.dx, system.du) != (1, 1):
            raise DimensionError(
                f"expert: the arctan expert needs a scalar system (dx = du = 1), found dx={system.dx}, "
                f"du={system.du}"
            )

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        return {"kind": "arctan", "lipschitz": 1.0, "noise_std": 0.0}


def lqr_gain(system: LinearSystem, Q, R) -> np.ndarray:
    r"""Discrete-time LQR gain ``K`` for ``u = K x`` (note the sign: ``K = -(R + B^T S B)^{-1} B^T S A``).

    .. math::

        S = A^\top S A - A^\top S B (R + B^\top S B)^{-1} B^\top S A + Q.

    Parameters
    ----------
    system : LinearSystem
    Q : (dx, dx) array_like
        State weight, symmetric positive semidefinite.
    R : (du, du) array_like
        Action weight, symmetric positive definite.

    Returns
    -------
    (du, dx) ndarray

    Raises
    ------
    DimensionError
        On wrong shapes or a ``R`` that is not positive definite.
    SolverError
        If the Riccati equation has no stabilising solution.
    """
    Q = as_matrix("Q", Q, system.dx, system.dx)
    R = as_matrix("R", R, system.du, system.du)
    if np.linalg.eigvalsh((R + R.T) / 2).min() <= 0:
        raise DimensionError("R: expected a positive definite matrix, found one with a non-positive eigenvalue")
    if np.linalg.eigvalsh((Q + Q.T) / 2).min() < -1e-12:
        raise DimensionError("Q: expected a positive semidefinite matrix, found a negative eigenvalue")
    A, B = system.A, system.B
    try:
        S = scipy.linalg.solve_discrete_are(A, B, Q, R)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise SolverError(f"lqr: the discrete Riccati equation has no stabilising solution ({exc})") from None
    return -np.linalg.solve(R + B.T @ S @ B, B.T @ S @ A)


def lqr_expert(system: LinearSystem, Q, R, noise_std: float = 0.0) -> LinearExpert:
    """A :class:`LinearExpert` with the LQR gain of :func:`lqr_gain`."""
    return LinearExpert(lqr_gain(system, Q, R), noise_std=noise_std)
