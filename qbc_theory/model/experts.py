"""Expert policies: linear state feedback (deterministic or Gaussian), LQR designs, the scalar
arctan expert of Theorem 6, saturating feedback ``s tanh(K x / s)``, multilayer perceptrons loaded
from ``.npz`` weights, and any vectorised user policy ``pi(x, z)``.

Every expert has ``dx``, ``du``, ``deterministic``, ``noise_std``, ``mean(x)``, ``act(x, z)``,
``lipschitz`` (= ``lipschitz_upper()``, a certified upper bound on the Lipschitz constant of the
mean action, ``inf`` when none is known), ``declared`` (user-declared constants, empty unless the
expert is a :class:`CallableExpert`), ``check_system(system)`` and ``to_dict()``.

A policy maps a batch of states ``x (N, dx)`` to actions ``(N, du)``. Randomness is passed in as
an explicit standard-normal array ``z (N, du)`` so that two rollouts can share it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

import math
from pathlib import Path
from types import MappingProxyType

from .validation import MAX_PARAMETER, as_int, as_matrix, as_real, as_vector, describe
from .dynamics import DECLARED_LABEL, LinearSystem, check_declared
from .errors import DimensionError, SolverError, SpecError

__all__ = ["LinearExpert", "ArctanExpert", "TanhExpert", "MLPExpert", "CallableExpert", "load_mlp_weights",
           "MLP_ACTIVATIONS", "lqr_expert", "lqr_gain"]


def _closed_loop_radius(system, jac_policy: np.ndarray) -> float:
    """Spectral radius of ``df/dx + df/du dpi/dx`` at the origin: from ``system.jacobians()``, else
    from the matrices ``A``, ``B`` of a system that has them, else nan."""
    jac = getattr(system, "jacobians", None)
    if callable(jac):
        fx, fu = jac()
    elif hasattr(system, "A") and hasattr(system, "B"):
        fx, fu = np.asarray(system.A, dtype=float), np.asarray(system.B, dtype=float)
    else:
        return float("nan")
    return float(np.max(np.abs(np.linalg.eigvals(fx + fu @ jac_policy))))


def _check_gain(K: np.ndarray, system) -> None:
    if K.shape != (system.du, system.dx):
        raise DimensionError(f"K: expected shape ({system.du}, {system.dx}) to match the system, found {K.shape}")


def _add_noise(u: np.ndarray, noise_std: float, z) -> np.ndarray:
    if noise_std > 0.0:
        if z is None:
            raise DimensionError("z: expected standard-normal draws for a Gaussian expert, found None")
        u = u + noise_std * z
    return u


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

    declared = MappingProxyType({})

    @property
    def lipschitz(self) -> float:
        """Lipschitz constant of the mean action, ``||K||_2``."""
        return float(np.linalg.norm(self.K, 2))

    def lipschitz_upper(self) -> float:
        """Certified Lipschitz constant of the mean action, ``||K||_2`` (exact)."""
        return self.lipschitz

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
        """Spectral radius of ``A + B K`` (of the linearisation at 0 for a nonlinear system, nan
        when it has none): where the expert's states live, not P-IISS itself."""
        self.check_system(system)
        return _closed_loop_radius(system, self.K)

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

    declared = MappingProxyType({})

    @property
    def lipschitz(self) -> float:
        """Lipschitz constant of arctan, 1."""
        return 1.0

    def lipschitz_upper(self) -> float:
        """Certified Lipschitz constant, 1 (exact)."""
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
        return _closed_loop_radius(system, np.ones((1, 1)))

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


@dataclass(frozen=True, eq=False)
class TanhExpert:
    r"""Saturating state feedback: a linear gain squashed elementwise by tanh.

    .. math::

        \mu(x) = s \odot \tanh\big((K x) \oslash s\big), \qquad
        \pi^*(\cdot \mid x) = N(\mu(x), \sigma^2 I) \;(\sigma > 0), \qquad \pi^*(x) = \mu(x) \;(\sigma = 0).

    Near the origin ``mu(x) ~ K x``; far from it each action saturates at ``+-s_i``. The Jacobian
    is ``diag(1 - tanh^2) K``, so ``||K||_2`` is a certified Lipschitz constant (attained at the
    origin, hence tight).

    Parameters
    ----------
    K : (du, dx) array_like
        Gain.
    scale : float or (du,) array_like
        Saturation levels ``s > 0`` (one for all actions, or one per action).
    noise_std : float, optional
        ``sigma >= 0`` (default 0, deterministic).

    Raises
    ------
    DimensionError
        On non-finite entries, a non-positive scale, or a scale vector whose length is not ``du``.

    References
    ----------
    Cao & Xie 2026, Theorem 3 and Proposition 5 (the expert enters through its Lipschitz constant);
    THEORY.md section 8b.
    """

    K: np.ndarray
    scale: np.ndarray
    noise_std: float = 0.0

    declared = MappingProxyType({})

    def __init__(self, K, scale=1.0, noise_std=0.0):
        K = as_matrix("K", K, max_abs=MAX_PARAMETER)
        s = as_vector("scale", scale)
        if s.size == 1:
            s = np.full(K.shape[0], s[0])
        if s.size != K.shape[0]:
            raise DimensionError(f"scale: expected a number or a vector of length du = {K.shape[0]}, found length "
                                 f"{s.size}")
        if np.any(s <= 0) or np.any(s > MAX_PARAMETER):
            raise DimensionError(f"scale: expected positive numbers, found {s.min():g}")
        for name, arr in (("K", K), ("scale", s)):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "noise_std", as_real("noise_std", noise_std, nonnegative=True, high=MAX_PARAMETER))
        object.__setattr__(self, "_Kt", np.ascontiguousarray(K.T))

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
        """Whether ``noise_std == 0``."""
        return self.noise_std == 0.0

    def lipschitz_upper(self) -> float:
        """Certified Lipschitz constant of the mean, ``||K||_2`` (tight: the Jacobian at 0 is ``K``)."""
        return float(np.linalg.norm(self.K, 2))

    @property
    def lipschitz(self) -> float:
        """Same as :meth:`lipschitz_upper`."""
        return self.lipschitz_upper()

    def mean(self, x: np.ndarray) -> np.ndarray:
        """``s tanh(K x / s)`` for a batch ``x (N, dx)``, shape ``(N, du)``."""
        return self.scale * np.tanh((x @ self._Kt) / self.scale)

    def act(self, x: np.ndarray, z: np.ndarray | None = None) -> np.ndarray:
        """Actions for a batch; ``z (N, du)`` are standard normals (ignored when deterministic)."""
        return _add_noise(self.mean(x), self.noise_std, z)

    def jacobian(self, x=None) -> np.ndarray:
        """``d mu / dx`` at ``x (dx,)`` (default 0): ``diag(1 - tanh^2(K x / s)) K``."""
        x = np.zeros(self.dx) if x is None else as_vector("x", x, self.dx)
        return (1.0 - np.tanh(self.K @ x / self.scale) ** 2)[:, None] * self.K

    def closed_loop_spectral_radius(self, system) -> float:
        """Spectral radius of the closed loop linearised at the origin (nan if the system has no Jacobians)."""
        self.check_system(system)
        return _closed_loop_radius(system, self.K)

    def check_system(self, system) -> None:
        """Raise :class:`DimensionError` unless ``K`` has shape ``(du, dx)`` of ``system``."""
        _check_gain(self.K, system)

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        return {"kind": "tanh", "K": self.K.tolist(), "scale": self.scale.tolist(), "noise_std": self.noise_std,
                "lipschitz": self.lipschitz, "lipschitz_certified": True}


MLP_ACTIVATIONS = {"tanh": np.tanh, "relu": lambda a: np.maximum(a, 0.0)}
"""Hidden activations of :class:`MLPExpert` (both 1-Lipschitz)."""


def load_mlp_weights(path) -> list[tuple[np.ndarray, np.ndarray]]:
    """Read the layers ``(W1, b1), (W2, b2), ...`` of an MLP from an ``.npz`` file.

    The file is read with ``allow_pickle=False``: it must hold plain numeric arrays named ``W1``,
    ``b1``, ``W2``, ``b2``, ... with consecutive numbers and nothing else. Shapes are checked by
    :class:`MLPExpert`.

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    list of (W, b)

    Raises
    ------
    SpecError
        If the file cannot be read as an ``.npz`` archive, holds an object array, an array with an
        unexpected name, or misses ``W1``, or some ``b_i`` / ``W_i`` (the message names the array).
    """
    p = Path(path)
    try:
        archive = np.load(p, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        reason = getattr(exc, "strerror", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
        raise SpecError(f"{p}: cannot read the weights as an .npz archive ({reason})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise SpecError(f"{p}: expected an .npz archive of arrays W1, b1, W2, b2, ..., found a single .npy array")
    with archive:
        names = set(archive.files)
        layers = []
        i = 1
        while f"W{i}" in names or f"b{i}" in names:
            for key in (f"W{i}", f"b{i}"):
                if key not in names:
                    raise SpecError(f"{p}: array {key}: expected it (layer {i} has "
                                    f"{'b' if key[0] == 'W' else 'W'}{i}), found none")
            pair = []
            for key in (f"W{i}", f"b{i}"):
                try:
                    pair.append(archive[key])
                except ValueError:
                    raise SpecError(f"{p}: array {key}: expected a numeric array, found an object array "
                                    "(pickled data is never loaded)") from None
            layers.append(tuple(pair))
            i += 1
        extra = sorted(names - {f"{c}{j}" for j in range(1, i) for c in "Wb"})
        if not layers:
            raise SpecError(f"{p}: array W1: expected arrays W1, b1, W2, b2, ..., found "
                            f"{', '.join(sorted(names)) or 'none'}")
        if extra:
            raise SpecError(f"{p}: array {extra[0]}: unexpected name; expected W1, b1, ..., W{i - 1}, b{i - 1} "
                            "(consecutive layers)")
    return layers


@dataclass(frozen=True, eq=False)
class MLPExpert:
    r"""A multilayer perceptron policy with a linear output layer.

    .. math::

        h_0 = x, \quad h_i = \sigma(W_i h_{i-1} + b_i) \;(i < L), \quad
        \mu(x) = W_L h_{L-1} + b_L, \qquad u = \mu(x) + \sigma_\pi z,

    with ``sigma`` = tanh or relu (both 1-Lipschitz), so
    ``Lip(mu) <= prod_i ||W_i||_2`` (certified, usually loose; the checker samples a lower estimate).

    Parameters
    ----------
    layers : sequence of (W, b)
        ``W_i (h_i, h_{i-1})``, ``b_i (h_i,)``; ``h_0 = dx``, ``h_L = du``.
    activation : {"tanh", "relu"}
    noise_std : float, optional
        ``sigma_pi >= 0`` (default 0, deterministic).
    source : str, optional
        Where the weights came from (reported by :meth:`to_dict`).

    Raises
    ------
    DimensionError
        Naming the array (``W2``, ``b1``, ...) on a shape mismatch between layers, a non-finite entry
        or a non-numeric array; on an unknown activation.

    References
    ----------
    Cao & Xie 2026, Theorem 3 and Proposition 5; THEORY.md section 8b.
    """

    layers: tuple
    activation: str = "tanh"
    noise_std: float = 0.0
    source: str | None = None

    declared = MappingProxyType({})

    def __init__(self, layers, activation="tanh", noise_std=0.0, source=None):
        if activation not in MLP_ACTIVATIONS:
            raise DimensionError(f"activation: expected one of {', '.join(MLP_ACTIVATIONS)}, found "
                                 f"{describe(activation)}")
        if isinstance(layers, (str, bytes)) or len(layers) == 0:
            raise DimensionError(f"layers: expected a non-empty list of (W, b) pairs, found {describe(layers)}")
        checked = []
        prev = None
        for i, pair in enumerate(layers, start=1):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise DimensionError(f"layers[{i - 1}]: expected a pair (W{i}, b{i}), found {describe(pair)}")
            W_raw, b_raw = pair
            for key, raw in ((f"W{i}", W_raw), (f"b{i}", b_raw)):
                arr = np.asarray(raw)
                if arr.dtype.kind not in "iuf":
                    raise DimensionError(f"{key}: expected a real numeric array, found dtype {arr.dtype}")
            W = as_matrix(f"W{i}", W_raw, max_abs=MAX_PARAMETER)
            if prev is not None and W.shape[1] != prev:
                raise DimensionError(f"W{i}: expected {prev} columns (the rows of W{i - 1}), found shape {W.shape}")
            b = np.asarray(b_raw, dtype=float)
            if b.shape != (W.shape[0],):
                raise DimensionError(f"b{i}: expected shape ({W.shape[0]},) (the rows of W{i}), found shape {b.shape}")
            b = as_vector(f"b{i}", b, W.shape[0])
            W, b = W.copy(), b.copy()
            W.setflags(write=False)
            b.setflags(write=False)
            checked.append((W, b))
            prev = W.shape[0]
        object.__setattr__(self, "layers", tuple(checked))
        object.__setattr__(self, "activation", activation)
        object.__setattr__(self, "noise_std", as_real("noise_std", noise_std, nonnegative=True, high=MAX_PARAMETER))
        object.__setattr__(self, "source", None if source is None else str(source))
        object.__setattr__(self, "_act", MLP_ACTIVATIONS[activation])
        object.__setattr__(self, "_t", tuple((np.ascontiguousarray(W.T), b) for W, b in checked))

    @classmethod
    def from_npz(cls, path, activation="tanh", noise_std=0.0) -> "MLPExpert":
        """Load the weights with :func:`load_mlp_weights` (``allow_pickle=False``) and build the expert.

        Raises
        ------
        SpecError
            On an unreadable file or a missing, extra, mis-shaped or non-finite array (named).
        """
        layers = load_mlp_weights(path)
        try:
            return cls(layers, activation=activation, noise_std=noise_std, source=str(path))
        except DimensionError as exc:
            raise SpecError(f"{Path(path)}: array {exc}") from None

    @property
    def dx(self) -> int:
        """State dimension (columns of ``W1``)."""
        return self.layers[0][0].shape[1]

    @property
    def du(self) -> int:
        """Action dimension (rows of ``W_L``)."""
        return self.layers[-1][0].shape[0]

    @property
    def deterministic(self) -> bool:
        """Whether ``noise_std == 0``."""
        return self.noise_std == 0.0

    def lipschitz_upper(self) -> float:
        """Certified Lipschitz constant of the mean: ``prod_i ||W_i||_2`` (activations are 1-Lipschitz)."""
        return float(math.prod(float(np.linalg.norm(W, 2)) for W, _ in self.layers))

    @property
    def lipschitz(self) -> float:
        """Same as :meth:`lipschitz_upper`."""
        return self.lipschitz_upper()

    def features(self, x: np.ndarray) -> np.ndarray:
        """The last hidden layer ``h_{L-1}`` for a batch ``x (N, dx)`` (``x`` itself for one layer)."""
        h = x
        for Wt, b in self._t[:-1]:
            h = self._act(h @ Wt + b)
        return h

    def mean(self, x: np.ndarray) -> np.ndarray:
        """``mu(x)`` for a batch ``x (N, dx)``, shape ``(N, du)``."""
        Wt, b = self._t[-1]
        return self.features(x) @ Wt + b

    def act(self, x: np.ndarray, z: np.ndarray | None = None) -> np.ndarray:
        """Actions for a batch; ``z (N, du)`` are standard normals (ignored when deterministic)."""
        return _add_noise(self.mean(x), self.noise_std, z)

    def jacobian(self, x=None) -> np.ndarray:
        """``d mu / dx`` at ``x (dx,)`` (default 0), by the chain rule (relu'(0) taken as 0)."""
        h = np.zeros(self.dx) if x is None else as_vector("x", x, self.dx)
        J = np.eye(self.dx)
        for W, b in self.layers[:-1]:
            a = W @ h + b
            d = 1.0 - np.tanh(a) ** 2 if self.activation == "tanh" else (a > 0).astype(float)
            J = d[:, None] * (W @ J)
            h = self._act(a)
        return self.layers[-1][0] @ J

    def closed_loop_spectral_radius(self, system) -> float:
        """Spectral radius of the closed loop linearised at the origin (nan if the system has no
        Jacobians); meaningful as an equilibrium only when ``mu(0)`` is small."""
        self.check_system(system)
        return _closed_loop_radius(system, self.jacobian())

    def check_system(self, system) -> None:
        """Raise :class:`DimensionError` unless ``W1`` has ``dx`` columns and ``W_L`` has ``du`` rows."""
        if self.dx != system.dx:
            raise DimensionError(f"W1: expected {system.dx} columns (the state dimension), found {self.dx}")
        if self.du != system.du:
            raise DimensionError(f"W{len(self.layers)}: expected {system.du} rows (the action dimension), "
                                 f"found {self.du}")

    def to_dict(self) -> dict:
        """A JSON-ready description (shapes and norms, not the weights)."""
        return {"kind": "mlp", "activation": self.activation, "noise_std": self.noise_std, "source": self.source,
                "widths": [self.dx] + [W.shape[0] for W, _ in self.layers],
                "layer_norms": [float(np.linalg.norm(W, 2)) for W, _ in self.layers],
                "lipschitz": self.lipschitz, "lipschitz_certified": True}


@dataclass(frozen=True, eq=False)
class CallableExpert:
    r"""Any vectorised policy ``u = pi(x, z)`` with user-declared constants.

    .. math::

        u_h = \pi(x_h, z_h), \qquad z_h \sim N(0, I_{du}).

    Nothing about ``pi`` is certified: a declared Lipschitz constant ``L`` is carried in
    :attr:`declared` and reported as :data:`~qbc_theory.model.dynamics.DECLARED_LABEL`;
    :meth:`lipschitz_upper` is ``inf`` (no certificate) and :attr:`lipschitz` is the declared
    ``L`` when there is one (``inf`` otherwise).

    Parameters
    ----------
    act : callable
        ``act(x (N, dx), z (N, du)) -> (N, du)``; ``z`` is the policy's only randomness (shared by
        coupled runs).
    du : int
        Action dimension.
    dx : int, optional
        State dimension; by default any (checked against the system only when given).
    deterministic : bool, optional
        Whether ``act`` ignores ``z`` (default True). :meth:`mean` is ``act(x, 0)``.
    declared : dict, optional
        ``{"L": value}``, a declared Lipschitz constant of ``x -> act(x, z)`` (> 0).

    Raises
    ------
    DimensionError
        If ``act`` is not callable, a dimension is not a positive integer or a declared constant is
        unknown or not positive; at run time, if ``act`` returns the wrong shape or a non-finite action.
    """

    func: object
    declared: dict
    deterministic: bool = True

    kind = "callable"
    declared_label = DECLARED_LABEL

    def __init__(self, act, du, dx=None, deterministic=True, declared=None):
        if not callable(act):
            raise DimensionError(f"act: expected a callable act(x, z), found {describe(act)}")
        if not isinstance(deterministic, bool):
            raise DimensionError(f"deterministic: expected True or False, found {describe(deterministic)}")
        object.__setattr__(self, "func", act)
        object.__setattr__(self, "_du", as_int("du", du, minimum=1))
        object.__setattr__(self, "_dx", None if dx is None else as_int("dx", dx, minimum=1))
        object.__setattr__(self, "deterministic", deterministic)
        object.__setattr__(self, "declared", check_declared("declared", declared, {"L"}))

    @property
    def du(self) -> int:
        """Action dimension."""
        return self._du

    @property
    def dx(self) -> int | None:
        """State dimension when given, else None."""
        return self._dx

    @property
    def noise_std(self) -> float:
        """0 for a deterministic expert, nan otherwise (the law of ``act(x, z)`` is the user's)."""
        return 0.0 if self.deterministic else float("nan")

    def lipschitz_upper(self) -> float:
        """``inf``: a callable has no certified Lipschitz constant (see :attr:`declared`)."""
        return math.inf

    @property
    def lipschitz(self) -> float:
        """The declared ``L`` (:data:`~qbc_theory.model.dynamics.DECLARED_LABEL`), ``inf`` if none."""
        return float(self.declared.get("L", math.inf))

    def act(self, x: np.ndarray, z: np.ndarray | None = None) -> np.ndarray:
        """``pi(x, z)`` for a batch (``z = 0`` when None), its shape and finiteness checked."""
        x = np.asarray(x, dtype=float)
        if z is None:
            z = np.zeros((x.shape[0], self.du))
        u = np.asarray(self.func(x, z), dtype=float)
        if u.shape != (x.shape[0], self.du):
            raise DimensionError(f"act: expected the callable to return shape {(x.shape[0], self.du)}, found "
                                 f"{u.shape}")
        if not np.all(np.isfinite(u)):
            raise DimensionError("act: expected finite actions from the callable, found a non-finite one")
        return u

    def mean(self, x: np.ndarray) -> np.ndarray:
        """``pi(x, 0)`` (the mean for location families such as ``m(x) + s z``)."""
        return self.act(x, None)

    def closed_loop_spectral_radius(self, system) -> float:
        """nan: a callable expert has no Jacobian here."""
        self.check_system(system)
        return float("nan")

    def check_system(self, system) -> None:
        """Raise :class:`DimensionError` unless ``du`` (and ``dx`` when given) match ``system``."""
        if self.du != system.du:
            raise DimensionError(f"du: expected {system.du} (the system's action dimension), found {self.du}")
        if self._dx is not None and self._dx != system.dx:
            raise DimensionError(f"dx: expected {system.dx} (the system's state dimension), found {self._dx}")

    def to_dict(self) -> dict:
        """A JSON-ready description (the callable is named, not serialised)."""
        return {"kind": "callable", "du": self.du, "dx": self._dx, "deterministic": self.deterministic,
                "act": getattr(self.func, "__qualname__", type(self.func).__name__),
                "declared": dict(self.declared), "declared_label": DECLARED_LABEL,
                "lipschitz": None if math.isinf(self.lipschitz) else self.lipschitz,
                "lipschitz_certified": False}


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
