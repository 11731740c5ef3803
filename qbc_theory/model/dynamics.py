"""Discrete-time linear systems x_{h+1} = A x_h + B u_h + w_h.

Noise and initial states are drawn as explicit arrays so that two runs (the expert's and a
learner's) can share them: this is the shared-noise coupling of Cao & Xie 2026, Definition 3.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .validation import MAX_PARAMETER, as_matrix, as_real, describe
from .errors import DimensionError

__all__ = ["LinearSystem", "from_statespace"]


def _covariance(name: str, cov, dim: int) -> np.ndarray:
    cov = as_matrix(name, cov, dim, dim, max_abs=MAX_PARAMETER)
    if not np.allclose(cov, cov.T, rtol=0, atol=1e-12 * max(1.0, np.abs(cov).max())):
        raise DimensionError(f"{name}: expected a symmetric matrix, found an asymmetric one")
    lam = np.linalg.eigvalsh(cov)
    if lam.min() < -1e-12 * max(1.0, lam.max()):
        raise DimensionError(
            f"{name}: expected a positive semidefinite matrix, found smallest eigenvalue {lam.min():.3g}"
        )
    return cov


def _cov_factor(cov: np.ndarray) -> np.ndarray:
    """A matrix F with F F^T = cov (eigen-factor, valid for singular covariances)."""
    lam, vec = np.linalg.eigh(cov)
    return vec * np.sqrt(np.clip(lam, 0.0, None))


@dataclass(frozen=True, eq=False)
class LinearSystem:
    r"""A discrete-time linear system with additive Gaussian noise.

    .. math::

        x_{h+1} = A x_h + B u_h + w_h, \qquad w_h \sim N(0, \Sigma_w), \qquad x_1 \sim N(0, \Sigma_0).

    Parameters
    ----------
    A : (dx, dx) array_like
        State matrix.
    B : (dx, du) array_like
        Input matrix.
    noise_std : float, optional
        Standard deviation of isotropic process noise, ``Sigma_w = noise_std**2 I``. Default 0.
    noise_cov : (dx, dx) array_like, optional
        Full process-noise covariance; exclusive with ``noise_std``.
    x0_std : float, optional
        Standard deviation of the isotropic initial state. Default 1.
    x0_cov : (dx, dx) array_like, optional
        Full initial covariance; exclusive with ``x0_std``.

    Raises
    ------
    DimensionError
        On non-finite entries, mismatched shapes, a negative standard deviation, or a covariance
        that is not symmetric positive semidefinite.

    Notes
    -----
    The system is P-IISS with a horizon-free gain iff the spectral radius of ``A`` is below one
    (THEORY.md section 2); that property is certified by :mod:`qbc_theory.checker.stability`, not here.
    """

    A: np.ndarray
    B: np.ndarray
    noise_cov: np.ndarray = field(default=None)
    x0_cov: np.ndarray = field(default=None)

    def __init__(self, A, B, noise_std=None, noise_cov=None, x0_std=None, x0_cov=None):
        A = as_matrix("A", A, max_abs=MAX_PARAMETER)
        if A.shape[0] != A.shape[1]:
            raise DimensionError(f"A: expected a square matrix, found shape {A.shape}")
        dx = A.shape[0]
        B = as_matrix("B", B, rows=dx, max_abs=MAX_PARAMETER)
        if noise_std is not None and noise_cov is not None:
            raise DimensionError("noise_std, noise_cov: expected at most one of them, found both")
        if x0_std is not None and x0_cov is not None:
            raise DimensionError("x0_std, x0_cov: expected at most one of them, found both")
        if noise_cov is None:
            s = as_real("noise_std", 0.0 if noise_std is None else noise_std, nonnegative=True, high=MAX_PARAMETER)
            noise_cov = s**2 * np.eye(dx)
        else:
            noise_cov = _covariance("noise_cov", noise_cov, dx)
        if x0_cov is None:
            s = as_real("x0_std", 1.0 if x0_std is None else x0_std, nonnegative=True, high=MAX_PARAMETER)
            x0_cov = s**2 * np.eye(dx)
        else:
            x0_cov = _covariance("x0_cov", x0_cov, dx)
        for name, arr in (("A", A), ("B", B), ("noise_cov", noise_cov), ("x0_cov", x0_cov)):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def dx(self) -> int:
        """State dimension."""
        return self.A.shape[0]

    @property
    def du(self) -> int:
        """Action dimension."""
        return self.B.shape[1]

    @property
    def spectral_radius(self) -> float:
        """Spectral radius rho(A)."""
        return float(np.max(np.abs(np.linalg.eigvals(self.A))))

    @property
    def noisy(self) -> bool:
        """Whether the process noise is non-zero."""
        return bool(np.any(self.noise_cov != 0))

    def step(self, x: np.ndarray, u: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
        """One transition for a batch: ``x (N, dx)``, ``u (N, du)``, ``w (N, dx)`` -> ``(N, dx)``."""
        nxt = x @ self.A.T + u @ self.B.T
        return nxt if w is None else nxt + w

    def sample_noise(self, rng: np.random.Generator, horizon: int, batch: int) -> np.ndarray:
        """Process noise for ``horizon`` steps of ``batch`` trajectories, shape ``(horizon, batch, dx)``."""
        z = rng.standard_normal((horizon, batch, self.dx))
        return z @ _cov_factor(self.noise_cov).T

    def sample_x0(self, rng: np.random.Generator, batch: int) -> np.ndarray:
        """Initial states, shape ``(batch, dx)``."""
        z = rng.standard_normal((batch, self.dx))
        return z @ _cov_factor(self.x0_cov).T

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        return {
            "A": self.A.tolist(),
            "B": self.B.tolist(),
            "noise_cov": self.noise_cov.tolist(),
            "x0_cov": self.x0_cov.tolist(),
            "spectral_radius": self.spectral_radius,
        }


def from_statespace(sys, noise_std=None, noise_cov=None, x0_std=None, x0_cov=None) -> LinearSystem:
    """Build a :class:`LinearSystem` from a python-control ``StateSpace``.

    Parameters
    ----------
    sys : control.StateSpace
        A discrete-time system (``sys.dt`` is ``True`` or a positive number). Its ``C`` and ``D``
        matrices are ignored: the policies here act on the full state.
    noise_std, noise_cov, x0_std, x0_cov
        As in :class:`LinearSystem`.

    Raises
    ------
    DimensionError
        If ``sys`` is not a state-space object or is a continuous-time system.
    """
    if not all(hasattr(sys, attr) for attr in ("A", "B", "dt")):
        raise DimensionError(f"sys: expected a control.StateSpace, found {describe(sys)}")
    dt = sys.dt
    if dt is None or dt is False or (not isinstance(dt, bool) and dt == 0):
        raise DimensionError(
            f"sys.dt: expected a discrete-time system (dt=True or dt > 0), found dt={dt!r} "
            "(continuous or unspecified time); discretise it first, e.g. with control.c2d"
        )
    return LinearSystem(np.asarray(sys.A), np.asarray(sys.B), noise_std=noise_std, noise_cov=noise_cov,
                        x0_std=x0_std, x0_cov=x0_cov)
