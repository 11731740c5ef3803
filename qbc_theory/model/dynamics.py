"""Discrete-time systems: linear ``x+ = A x + B u + w``, Lur'e ``x+ = A x + B u + G phi(C x) + w``
(with the damped-pendulum preset), and any vectorised user step ``f(x, u, w)``.

Noise and initial states are drawn as explicit arrays so that two runs (the expert's and a
learner's) can share them: this is the shared-noise coupling of Cao & Xie 2026, Definition 3.
Every system here has ``dx``, ``du``, ``step(x, u, w)``, ``sample_x0(rng, batch)`` and
``sample_noise(rng, horizon, batch)`` (the dynamics protocol of :mod:`qbc_theory.engine.rollout`)
and a ``kind`` string.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .validation import MAX_PARAMETER, as_int, as_matrix, as_real, as_vector, describe
from .errors import DimensionError

__all__ = ["LinearSystem", "LureSystem", "CallableSystem", "PHI", "pendulum", "from_statespace",
           "DECLARED_LABEL", "check_declared"]

DECLARED_LABEL = "declared, not certified"
"""How reports label a constant the user declared for a callable system or expert."""


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


def _set_noise(obj, dx: int, noise_std, noise_cov, x0_std, x0_cov, x0_mean) -> None:
    """Validate and store ``noise_cov``, ``x0_cov``, ``x0_mean`` (and their factors) on ``obj``."""
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
    mean = np.zeros(dx) if x0_mean is None else as_vector("x0_mean", x0_mean, dx)
    if np.abs(mean).max(initial=0.0) > MAX_PARAMETER:
        raise DimensionError(f"x0_mean: expected entries of magnitude at most {MAX_PARAMETER:g}, found "
                             f"{np.abs(mean).max():g}")
    for name, arr in (("noise_cov", noise_cov), ("x0_cov", x0_cov), ("x0_mean", mean),
                      ("_noise_factor", _cov_factor(noise_cov).T.copy()), ("_x0_factor", _cov_factor(x0_cov).T.copy())):
        arr.setflags(write=False)
        object.__setattr__(obj, name, arr)


class _GaussianNoise:
    """Gaussian process noise ``w ~ N(0, noise_cov)`` and initial states ``x_1 ~ N(x0_mean, x0_cov)``.

    The draws consume the generator exactly as ``LinearSystem`` always has (one standard-normal
    array of shape ``(horizon, batch, dx)``, resp. ``(batch, dx)``), so a zero ``x0_mean`` reproduces
    earlier runs bit for bit.
    """

    @property
    def noisy(self) -> bool:
        """Whether the process noise is non-zero."""
        return bool(np.any(self.noise_cov != 0))

    def sample_noise(self, rng: np.random.Generator, horizon: int, batch: int) -> np.ndarray:
        """Process noise for ``horizon`` steps of ``batch`` trajectories, shape ``(horizon, batch, dx)``."""
        z = rng.standard_normal((horizon, batch, self.dx))
        return z @ self._noise_factor

    def sample_x0(self, rng: np.random.Generator, batch: int) -> np.ndarray:
        """Initial states ``N(x0_mean, x0_cov)``, shape ``(batch, dx)``."""
        z = rng.standard_normal((batch, self.dx))
        x = z @ self._x0_factor
        if np.any(self.x0_mean != 0):
            x += self.x0_mean
        return x

    def _noise_dict(self) -> dict:
        return {"noise_cov": self.noise_cov.tolist(), "x0_cov": self.x0_cov.tolist(),
                "x0_mean": self.x0_mean.tolist()}


@dataclass(frozen=True, eq=False)
class LinearSystem(_GaussianNoise):
    r"""A discrete-time linear system with additive Gaussian noise.

    .. math::

        x_{h+1} = A x_h + B u_h + w_h, \qquad w_h \sim N(0, \Sigma_w), \qquad x_1 \sim N(m_0, \Sigma_0).

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
    x0_mean : (dx,) array_like, optional
        Mean ``m_0`` of the initial state. Default 0.

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
    x0_mean: np.ndarray = field(default=None)

    kind = "linear"

    def __init__(self, A, B, noise_std=None, noise_cov=None, x0_std=None, x0_cov=None, x0_mean=None):
        A = as_matrix("A", A, max_abs=MAX_PARAMETER)
        if A.shape[0] != A.shape[1]:
            raise DimensionError(f"A: expected a square matrix, found shape {A.shape}")
        dx = A.shape[0]
        B = as_matrix("B", B, rows=dx, max_abs=MAX_PARAMETER)
        _set_noise(self, dx, noise_std, noise_cov, x0_std, x0_cov, x0_mean)
        for name, arr in (("A", A), ("B", B)):
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

    def jacobians(self, x=None) -> tuple[np.ndarray, np.ndarray]:
        """``(df/dx, df/du) = (A, B)`` (the same at every state)."""
        return self.A, self.B

    def step(self, x: np.ndarray, u: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
        """One transition for a batch: ``x (N, dx)``, ``u (N, du)``, ``w (N, dx)`` -> ``(N, dx)``."""
        nxt = x @ self.A.T + u @ self.B.T
        return nxt if w is None else nxt + w

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        return {"kind": self.kind, "A": self.A.tolist(), "B": self.B.tolist(), **self._noise_dict(),
                "spectral_radius": self.spectral_radius}


def _sat(s: np.ndarray) -> np.ndarray:
    return np.clip(s, -1.0, 1.0)


def _sat_slope(s: np.ndarray) -> np.ndarray:
    return (np.abs(s) < 1.0).astype(float)


PHI = {
    "tanh": (np.tanh, lambda s: 1.0 - np.tanh(s) ** 2, (0.0, 1.0)),
    "sat": (_sat, _sat_slope, (0.0, 1.0)),
    "sin": (np.sin, np.cos, (-1.0, 1.0)),
}
"""The nonlinearities of a Lur'e system: name -> (phi, phi', incremental sector [a, b]).

Each acts elementwise and satisfies ``a <= (phi(s) - phi(s')) / (s - s') <= b`` for all ``s != s'``
(THEORY.md section 8b): tanh and ``sat = clip(., -1, 1)`` in [0, 1], sin in [-1, 1]."""


@dataclass(frozen=True, eq=False)
class LureSystem(_GaussianNoise):
    r"""A discrete-time Lur'e system: linear dynamics in feedback with an elementwise nonlinearity.

    .. math::

        x_{h+1} = A x_h + B u_h + G\,\varphi(C x_h) + w_h, \qquad
        a \le \frac{\varphi(s) - \varphi(s')}{s - s'} \le b \quad (s \ne s'),

    with ``phi`` one of :data:`PHI` applied to each of the ``p`` entries of ``C x`` and ``[a, b]``
    its incremental slope sector. With shared noise, the increment of two runs obeys
    ``dx+ = A dx + G dphi + B du`` with ``dphi_i = s_i (C dx)_i``, ``s_i in [a, b]``: this is what the
    incremental circle criterion of THEORY.md section 8b certifies (in :mod:`qbc_theory.checker`).

    Parameters
    ----------
    A : (dx, dx) array_like
    B : (dx, du) array_like
    G : (dx, p) array_like
        How the nonlinearity enters the state.
    C : (p, dx) array_like
        What the nonlinearity sees.
    phi : {"tanh", "sat", "sin"}
    noise_std, noise_cov, x0_std, x0_cov, x0_mean
        As in :class:`LinearSystem`.

    Attributes
    ----------
    sector : (float, float)
        The incremental sector ``(a, b)`` of ``phi``.

    Raises
    ------
    DimensionError
        On non-finite entries, mismatched shapes or an unknown ``phi`` name.

    References
    ----------
    Cao & Xie 2026, Definition 3 (P-IISS, P-EIISS); THEORY.md section 8b.
    """

    A: np.ndarray
    B: np.ndarray
    G: np.ndarray
    C: np.ndarray
    phi: str
    noise_cov: np.ndarray = field(default=None)
    x0_cov: np.ndarray = field(default=None)
    x0_mean: np.ndarray = field(default=None)

    kind = "lure"

    def __init__(self, A, B, G, C, phi, noise_std=None, noise_cov=None, x0_std=None, x0_cov=None, x0_mean=None):
        if not isinstance(phi, str) or phi not in PHI:
            raise DimensionError(f"phi: expected one of {', '.join(PHI)}, found {describe(phi)}")
        A = as_matrix("A", A, max_abs=MAX_PARAMETER)
        if A.shape[0] != A.shape[1]:
            raise DimensionError(f"A: expected a square matrix, found shape {A.shape}")
        dx = A.shape[0]
        B = as_matrix("B", B, rows=dx, max_abs=MAX_PARAMETER)
        C = as_matrix("C", C, cols=dx, max_abs=MAX_PARAMETER)
        G = as_matrix("G", G, rows=dx, cols=C.shape[0], max_abs=MAX_PARAMETER)
        _set_noise(self, dx, noise_std, noise_cov, x0_std, x0_cov, x0_mean)
        for name, arr in (("A", A), ("B", B), ("G", G), ("C", C)):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "phi", phi)
        fn, slope, _ = PHI[phi]
        # transposed copies for the hot step: x @ A^T, u @ B^T, phi(x @ C^T) @ G^T
        object.__setattr__(self, "_At", np.ascontiguousarray(A.T))
        object.__setattr__(self, "_Bt", np.ascontiguousarray(B.T))
        object.__setattr__(self, "_Ct", np.ascontiguousarray(C.T))
        object.__setattr__(self, "_Gt", np.ascontiguousarray(G.T))
        object.__setattr__(self, "_fn", fn)
        object.__setattr__(self, "_slope", slope)

    @property
    def dx(self) -> int:
        """State dimension."""
        return self.A.shape[0]

    @property
    def du(self) -> int:
        """Action dimension."""
        return self.B.shape[1]

    @property
    def p(self) -> int:
        """Number of scalar nonlinearities (rows of ``C``)."""
        return self.C.shape[0]

    @property
    def sector(self) -> tuple[float, float]:
        """Incremental slope sector ``(a, b)`` of ``phi``."""
        return PHI[self.phi][2]

    def phi_fn(self, s: np.ndarray) -> np.ndarray:
        """``phi`` applied elementwise."""
        return self._fn(s)

    def jacobians(self, x=None) -> tuple[np.ndarray, np.ndarray]:
        """``(df/dx, df/du)`` at the state ``x (dx,)`` (default 0): ``(A + G diag(phi'(C x)) C, B)``."""
        x = np.zeros(self.dx) if x is None else as_vector("x", x, self.dx)
        return self.A + self.G @ (self._slope(self.C @ x)[:, None] * self.C), self.B

    def step(self, x: np.ndarray, u: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
        """One transition for a batch: ``x (N, dx)``, ``u (N, du)``, ``w (N, dx)`` -> ``(N, dx)``."""
        nxt = x @ self._At
        nxt += u @ self._Bt
        nxt += self._fn(x @ self._Ct) @ self._Gt
        if w is not None:
            nxt += w
        return nxt

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        return {"kind": self.kind, "A": self.A.tolist(), "B": self.B.tolist(), "G": self.G.tolist(),
                "C": self.C.tolist(), "phi": self.phi, "sector": list(self.sector), **self._noise_dict()}


def pendulum(dt, g_over_l, damping, gain, **noise) -> LureSystem:
    r"""The damped pendulum, discretised by semi-implicit (symplectic) Euler, as a Lur'e system.

    The continuous model, with ``theta = 0`` hanging down,

    .. math::

        \ddot\theta = -\frac{g}{l} \sin\theta - c\,\dot\theta + k\,u,

    is stepped with the velocity first and the angle with the new velocity:

    .. math::

        \omega_+ = (1 - c\,dt)\,\omega - dt\,\tfrac{g}{l} \sin\theta + dt\,k\,u, \qquad
        \theta_+ = \theta + dt\,\omega_+ ,

    which is ``x+ = A x + B u + G sin(C x) + w`` for ``x = (theta, omega)`` with

    .. math::

        A = \begin{pmatrix} 1 & dt (1 - c\,dt) \\ 0 & 1 - c\,dt \end{pmatrix}, \quad
        B = k \begin{pmatrix} dt^2 \\ dt \end{pmatrix}, \quad
        G = -\tfrac{g}{l} \begin{pmatrix} dt^2 \\ dt \end{pmatrix}, \quad
        C = (1 \;\; 0).

    Semi-implicit Euler keeps the undamped pendulum's phase-space area (``det`` of the linearisation
    is ``1 - c dt``) where explicit Euler would add energy at every step.

    Parameters
    ----------
    dt : float
        Step ``> 0`` (seconds).
    g_over_l : float
        ``g / l > 0`` (1/s^2).
    damping : float
        ``c >= 0`` (1/s), with ``c dt < 1``.
    gain : float
        Input gain ``k`` (torque per unit action over inertia, 1/s^2).
    **noise
        ``noise_std``, ``noise_cov``, ``x0_std``, ``x0_cov``, ``x0_mean`` as in :class:`LinearSystem`.

    Returns
    -------
    LureSystem
        With ``phi = "sin"`` (sector [-1, 1]); the upright equilibrium repels, so no global
        incremental certificate exists (THEORY.md section 8b).

    Raises
    ------
    DimensionError
        On a non-positive ``dt`` or ``g_over_l``, a negative ``damping``, ``damping * dt >= 1``, or an
        unknown noise keyword.
    """
    allowed = {"noise_std", "noise_cov", "x0_std", "x0_cov", "x0_mean"}
    unknown = sorted(set(noise) - allowed)
    if unknown:
        raise DimensionError(f"{unknown[0]}: unknown pendulum key; expected dt, g_over_l, damping, gain or one of "
                             f"{', '.join(sorted(allowed))}")
    dt = as_real("dt", dt, positive=True, high=MAX_PARAMETER)
    w2 = as_real("g_over_l", g_over_l, positive=True, high=MAX_PARAMETER)
    c = as_real("damping", damping, nonnegative=True, high=MAX_PARAMETER)
    k = as_real("gain", gain, high=MAX_PARAMETER, low=-MAX_PARAMETER)
    if c * dt >= 1.0:
        raise DimensionError(f"damping: expected damping * dt < 1 (a stable velocity update), found "
                             f"{c:g} * {dt:g} = {c * dt:g}")
    A = [[1.0, dt * (1.0 - c * dt)], [0.0, 1.0 - c * dt]]
    col = np.array([[dt * dt], [dt]])
    return LureSystem(A, k * col, -w2 * col, [[1.0, 0.0]], "sin", **noise)


_SYSTEM_DECLARED = {"C", "eta", "Gamma"}
_SYSTEM_DECLARED_HELP = "C (> 0), eta (in (0, 1)), Gamma (> 0)"


def check_declared(name: str, declared, allowed: set[str]) -> dict:
    """Validate a dict of user-declared constants.

    Parameters
    ----------
    name : str
        The argument's name in error messages (``declared``).
    declared : dict or None
        Constant name -> value.
    allowed : set of str
        The names this object accepts.

    Returns
    -------
    dict
        The constants as floats (``{}`` for None).

    Raises
    ------
    DimensionError
        On a name not in ``allowed``, a non-finite value, ``eta`` outside (0, 1) or another
        constant that is not positive.
    """
    if declared is None:
        return {}
    if not isinstance(declared, dict):
        raise DimensionError(f"{name}: expected a dict of constants, found {describe(declared)}")
    out = {}
    for key, value in declared.items():
        if key not in allowed:
            raise DimensionError(f"{name}.{key}: unknown constant; expected one of {', '.join(sorted(allowed))}")
        if key == "eta":
            out[key] = as_real(f"{name}.eta", value, low=0, high=1, open_low=True, open_high=True)
        else:
            out[key] = as_real(f"{name}.{key}", value, positive=True)
    return out


@dataclass(frozen=True, eq=False)
class CallableSystem(_GaussianNoise):
    r"""Any vectorised transition ``x+ = f(x, u, w)`` with Gaussian noise and initial state.

    .. math::

        x_{h+1} = f(x_h, u_h, w_h), \qquad w_h \sim N(0, \Sigma_w), \qquad x_1 \sim N(m_0, \Sigma_0).

    Nothing about ``f`` can be certified here: constants the user states (the P-EIISS pair ``C``,
    ``eta``, or a max-type gain ``Gamma``) are carried in :attr:`declared` and reported as
    :data:`DECLARED_LABEL`; the checker may only sample ``f`` for evidence against them.

    Parameters
    ----------
    step : callable
        ``step(x (N, dx), u (N, du), w (N, dx)) -> (N, dx)``, vectorised over the batch. Called with
        ``w = zeros`` when no noise is given.
    dx, du : int
        State and action dimensions.
    noise_std, noise_cov, x0_std, x0_cov, x0_mean
        As in :class:`LinearSystem` (``w`` is drawn from ``N(0, noise_cov)`` and handed to ``step``).
    declared : dict, optional
        User-declared constants, keys among ``C`` (> 0), ``eta`` (in (0, 1)), ``Gamma`` (> 0).

    Raises
    ------
    DimensionError
        If ``step`` is not callable, a dimension is not a positive integer, a declared constant is
        unknown or out of range; at run time, if ``step`` returns the wrong shape or a non-finite state.
    """

    func: object
    declared: dict
    noise_cov: np.ndarray = field(default=None)
    x0_cov: np.ndarray = field(default=None)
    x0_mean: np.ndarray = field(default=None)

    kind = "callable"
    declared_label = DECLARED_LABEL

    def __init__(self, step, dx, du, noise_std=None, noise_cov=None, x0_std=None, x0_cov=None, x0_mean=None,
                 declared=None):
        if not callable(step):
            raise DimensionError(f"step: expected a callable step(x, u, w), found {describe(step)}")
        dx = as_int("dx", dx, minimum=1)
        du = as_int("du", du, minimum=1)
        _set_noise(self, dx, noise_std, noise_cov, x0_std, x0_cov, x0_mean)
        object.__setattr__(self, "func", step)
        object.__setattr__(self, "_dims", (dx, du))
        object.__setattr__(self, "declared", check_declared("declared", declared, _SYSTEM_DECLARED))

    @property
    def dx(self) -> int:
        """State dimension."""
        return self._dims[0]

    @property
    def du(self) -> int:
        """Action dimension."""
        return self._dims[1]

    def step(self, x: np.ndarray, u: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
        """``f(x, u, w)`` for a batch, its shape and finiteness checked."""
        if w is None:
            w = np.zeros_like(x)
        out = np.asarray(self.func(x, u, w), dtype=float)
        if out.shape != x.shape:
            raise DimensionError(f"step: expected the callable to return shape {x.shape}, found {out.shape}")
        if not np.all(np.isfinite(out)):
            raise DimensionError("step: expected finite next states from the callable, found a non-finite one")
        return out

    def to_dict(self) -> dict:
        """A JSON-ready description (the callable itself is named, not serialised)."""
        return {"kind": self.kind, "dx": self.dx, "du": self.du,
                "step": getattr(self.func, "__qualname__", type(self.func).__name__),
                "declared": dict(self.declared), "declared_label": DECLARED_LABEL, **self._noise_dict()}


def from_statespace(sys, noise_std=None, noise_cov=None, x0_std=None, x0_cov=None, x0_mean=None) -> LinearSystem:
    """Build a :class:`LinearSystem` from a python-control ``StateSpace``.

    Parameters
    ----------
    sys : control.StateSpace
        A discrete-time system (``sys.dt`` is ``True`` or a positive number). Its ``C`` and ``D``
        matrices are ignored: the policies here act on the full state.
    noise_std, noise_cov, x0_std, x0_cov, x0_mean
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
                        x0_std=x0_std, x0_cov=x0_cov, x0_mean=x0_mean)
