r"""The paper's constructions as simulable instances (Cao & Xie 2026, Theorems 6, 8, 9 and the
appendix's Lipschitz-learner example; THEORY.md sections 3, 5 and 6).

Each builder returns a :class:`Construction`: a dynamics object satisfying the protocol of
:mod:`qbc_theory.engine.rollout` (``dx``, ``du``, ``step(x, u, w)``, ``sample_x0``, ``sample_noise``), the
expert, the reward, the quantizer, and the comparison learner the theorem is about, so that
:func:`qbc_theory.engine.rollout.regret` runs them directly.

Time-dependent parts (Theorems 8 and 9 have ``f_1 != f_h`` and ``r_1 != r_h``) declare
``time_varying = True`` and take the keyword ``h``, the paper's 1-based step (see
:mod:`qbc_theory.engine.rollout`). The foundation's ``LinearSystem``, ``TrackingReward`` and
``RegulationReward`` are used unchanged where they fit (Theorem 6, the Lipschitz example).

Assumptions made where the paper's text (as restated in THEORY.md) is silent are stated in the
docstring of the builder that makes them.

Kept as one module (about 830 lines): the constructions are the paper's lower-bound instances and
share their policies and rewards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.stats

from . import rollout
from ..model.validation import as_int, as_matrix, as_real, as_vector, describe, reject_unknown_kwargs
from ..model.dynamics import LinearSystem
from ..model.errors import AssumptionError, DimensionError
from ..model.experts import ArctanExpert, LinearExpert
from ..model.quantizers import TrapLoopQuantizer, UniformBinning, encode_actions
from ..model.rewards import TrackingReward
from .rollout import QuantizedPolicy

__all__ = [
    "Construction",
    "StepDynamics",
    "StepReward",
    "TargetPolicy",
    "BernoulliPolicy",
    "OffsetLinearPolicy",
    "FirstStepPolicy",
    "trap_loop",
    "trap_loop_lower_bound",
    "theorem8",
    "theorem9",
    "lipschitz_example",
    "lipschitz_state_gap",
]


@dataclass(frozen=True, eq=False)
class Construction:
    """One simulable instance of a construction.

    Attributes
    ----------
    name : str
        ``"thm6_det"``, ``"thm6_noisy"``, ``"thm8"``, ``"thm8_binned"``, ``"thm9"`` or ``"lipschitz"``.
    system : dynamics
        Satisfies the protocol of :mod:`qbc_theory.engine.rollout`.
    expert : policy
    reward : reward
    quantizer : per-step quantizer
    learner : policy or None
        The policy the theorem compares with the expert (``q # pi*`` for Theorem 6, ``K x`` for the
        Lipschitz example); ``None`` where the theorem is about every learner (Theorems 8, 9).
    params : dict
        The construction's constants (JSON-ready).

    References
    ----------
    Cao & Xie 2026, Theorems 6, 8, 9 and the appendix's Lipschitz-learner example.
    """

    name: str
    system: object
    expert: object
    reward: object
    quantizer: object
    learner: object = None
    params: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        return {"name": self.name, "params": dict(self.params),
                "quantizer": self.quantizer.to_dict() if self.quantizer is not None else None}


# --- generic parts of the step-dependent constructions ------------------------------------------

@dataclass(frozen=True, eq=False)
class StepDynamics:
    r"""Scalar deterministic dynamics on an interval with a different map at step 1.

    .. math::

        x_{h+1} = \begin{cases} g(x_1, \Pi_U(u_1)) & h = 1,\\ x_h & h \ge 2, \end{cases}

    where :math:`\Pi_U` projects the action onto ``U = [u_low, u_high]`` (actions outside the action
    set are not admissible; projecting them keeps every state in ``X``). The initial law is
    ``T_0 = (1 - p1) delta_{x_a} + p1 delta_{x_b}``.

    Parameters
    ----------
    first : callable
        ``g(x (N,), u (N,)) -> (N,)``, the step-1 map.
    p1 : float
        Probability of the initial state ``x_b``.
    x_a, x_b : float
        Support of ``T_0``.
    u_low, u_high : float
        The action set.

    Notes
    -----
    ``time_varying = True``: :meth:`step` takes the paper's step ``h``. The dynamics are noiseless;
    :meth:`sample_noise` returns zeros and consumes no randomness.

    References
    ----------
    Cao & Xie 2026, Theorems 8 and 9 (constructions).
    """

    first: object
    p1: float
    x_a: float
    x_b: float
    u_low: float
    u_high: float

    time_varying = True
    dx = 1
    du = 1

    def step(self, x: np.ndarray, u: np.ndarray, w: np.ndarray | None = None, *, h: int) -> np.ndarray:
        """Next states ``(N, 1)`` for ``x (N, 1)``, ``u (N, 1)`` at step ``h``."""
        if h == 1:
            return self.first(x[:, 0], np.clip(u[:, 0], self.u_low, self.u_high))[:, None]
        return np.array(x, dtype=float, copy=True)

    def sample_x0(self, rng: np.random.Generator, batch: int) -> np.ndarray:
        """Initial states ``(batch, 1)``: ``x_b`` with probability ``p1``, else ``x_a``."""
        hit = rng.random(batch) < self.p1
        return np.where(hit, self.x_b, self.x_a)[:, None]

    def sample_noise(self, rng: np.random.Generator, horizon: int, batch: int) -> np.ndarray:
        """Zeros ``(horizon, batch, 1)`` (noiseless)."""
        return np.zeros((horizon, batch, 1))


@dataclass(frozen=True, eq=False)
class StepReward:
    r"""A reward with a step-1 form and a state-only form afterwards, clipped to [0, 1].

    .. math::

        r_1(x, u) = \mathrm{clip}(g_1(x, \Pi_U(u)), 0, 1), \qquad
        r_h(x, u) = \mathrm{clip}(g_2(x), 0, 1)\quad (h \ge 2).

    Parameters
    ----------
    first : callable
        ``g_1(x (N,), u (N,)) -> (N,)``.
    later : callable
        ``g_2(x (N,)) -> (N,)``.
    u_low, u_high : float
        The action set (actions are projected onto it, as in :class:`StepDynamics`).
    lipschitz : float
        ``L_r`` of the unclipped forms.

    Notes
    -----
    ``time_varying = True``: the engine calls ``reward(x, u, h=h)`` with the paper's 1-based step.

    References
    ----------
    Cao & Xie 2026, Theorems 8 and 9 (constructions).
    """

    first: object
    later: object
    u_low: float
    u_high: float
    lipschitz: float = 1.0

    time_varying = True

    def __call__(self, x: np.ndarray, u: np.ndarray, *, h: int) -> np.ndarray:
        """Rewards ``(N,)`` at step ``h`` for ``x (N, 1)``, ``u (N, 1)``."""
        if h == 1:
            r = self.first(x[:, 0], np.clip(u[:, 0], self.u_low, self.u_high))
        else:
            r = self.later(x[:, 0])
        return np.clip(r, 0.0, 1.0)

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        return {"kind": "step", "lipschitz": self.lipschitz}


@dataclass(frozen=True, eq=False)
class TargetPolicy:
    r"""A deterministic scalar policy ``u = t(x)`` (the same at every step).

    .. math::

        \pi_h(x) = \delta_{t(x)}, \qquad h = 1, \dots, H.

    Parameters
    ----------
    target : callable
        ``t(x (N,)) -> (N,)``.
    lipschitz : float
        Lipschitz constant of ``t``.
    label : str
        Name used by :meth:`to_dict`.

    References
    ----------
    Cao & Xie 2026, Theorem 8 (the experts ``pi^a``, ``pi^b``).
    """

    target: object
    lipschitz: float
    label: str = "target"

    deterministic = True
    noise_std = 0.0
    dx = 1
    du = 1

    def mean(self, x: np.ndarray) -> np.ndarray:
        """``t(x)``, shape ``(N, 1)``."""
        return self.target(np.asarray(x, dtype=float)[:, 0])[:, None]

    def act(self, x: np.ndarray, z: np.ndarray | None = None) -> np.ndarray:
        """``t(x)``, shape ``(N, 1)`` (``z`` is ignored)."""
        return self.mean(x)

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        return {"kind": self.label, "lipschitz": self.lipschitz, "noise_std": 0.0}


@dataclass(frozen=True, eq=False)
class BernoulliPolicy:
    r"""A state-independent two-point policy ``p delta_high + (1 - p) delta_low`` driven by ``z``.

    .. math::

        u = \text{high if } z < \Phi^{-1}(p) \text{ else low}, \qquad z \sim N(0, 1),

    so ``P(u = high) = p`` exactly, and two such policies given the same ``z`` are coupled
    monotonically (the shared-noise coupling of the policy draws).

    Parameters
    ----------
    p : float
        Probability of ``high``, in [0, 1].
    high, low : float
        The two actions.

    References
    ----------
    Cao & Xie 2026, Theorem 9 (the experts ``pi^a``, ``pi^b``).
    """

    p: float
    high: float = 1.0
    low: float = 0.0

    deterministic = False
    dx = 1
    du = 1

    def __post_init__(self):
        object.__setattr__(self, "p", as_real("p", self.p, low=0, high=1))

    @property
    def threshold(self) -> float:
        """``Phi^{-1}(p)`` (``+-inf`` at ``p`` in {0, 1})."""
        return float(scipy.stats.norm.ppf(self.p))

    def act(self, x: np.ndarray, z: np.ndarray | None = None) -> np.ndarray:
        """Actions ``(N, 1)`` from standard normals ``z (N, 1)``."""
        if z is None:
            raise DimensionError("z: expected standard-normal draws for a stochastic policy, found None")
        return np.where(np.asarray(z)[:, :1] < self.threshold, self.high, self.low)

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        return {"kind": "bernoulli", "p": self.p, "high": self.high, "low": self.low}


@dataclass(frozen=True, eq=False)
class OffsetLinearPolicy:
    r"""Linear feedback with a constant offset, ``u = K x + delta`` (the appendix's expert).

    .. math::

        \pi(x) = K x + \delta, \qquad \|\pi(x) - \pi(x')\| \le \|K\|\, \|x - x'\|.

    Parameters
    ----------
    K : (du, dx) array_like
    offset : (du,) array_like
        The constant ``delta``.

    References
    ----------
    Cao & Xie 2026, Appendix (Lipschitz-learner example).
    """

    K: np.ndarray
    offset: np.ndarray

    deterministic = True
    noise_std = 0.0

    def __init__(self, K, offset):
        K = as_matrix("K", K)
        offset = as_vector("offset", offset, size=K.shape[0])
        K.setflags(write=False)
        offset.setflags(write=False)
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "offset", offset)

    @property
    def lipschitz(self) -> float:
        """``||K||_2`` (the offset does not change it)."""
        return float(np.linalg.norm(self.K, 2))

    def mean(self, x: np.ndarray) -> np.ndarray:
        """``K x + delta`` for ``x (N, dx)``."""
        return x @ self.K.T + self.offset

    def act(self, x: np.ndarray, z: np.ndarray | None = None) -> np.ndarray:
        """Same as :meth:`mean` (deterministic)."""
        return self.mean(x)

    def check_system(self, system) -> None:
        """Raise :class:`DimensionError` unless ``K`` has shape ``(du, dx)`` of ``system``."""
        if self.K.shape != (system.du, system.dx):
            raise DimensionError(f"K: expected shape ({system.du}, {system.dx}), found {self.K.shape}")

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        return {"kind": "offset_linear", "K": self.K.tolist(), "offset": self.offset.tolist(),
                "lipschitz": self.lipschitz}


# --- Theorem 6 ------------------------------------------------------------------------------------

def trap_loop(eps, *, A=0.2, B=0.25, k=1.0, d=0.6, noisy=False, sigma_w=None, c_delta=0.5, x0_std=1.0,
              **kwargs) -> Construction:
    r"""Theorem 6's trap loop: a non-smooth learned quantizer that traps ``q # pi*``.

    Scalar system ``x+ = A x + B u (+ w)``, expert ``pi*(x) = arctan x``, reward
    ``r(x, u) = 1 - |u - arctan x|`` clipped to [0, 1] (:class:`~qbc_theory.model.rewards.TrackingReward`
    with scale 1), ``x_1 ~ N(0, x0_std^2)``, quantizer :class:`~qbc_theory.model.quantizers.TrapLoopQuantizer`.
    The learner is ``q # pi*`` itself (infinite data). The theorem claims

    .. math::

        J(\pi^*) - J(q_\#\pi^*) = H\,\Omega(1) \text{ (noiseless)}, \qquad
        H\,\Omega(1/|\log \varepsilon_q|) \text{ (Gaussian noise)},

    while the in-distribution error of ``q`` is small.

    Parameters
    ----------
    eps : float
        The quantization scale.
    A, B, k, d : float
        Constants with ``d > k/2 > B/(1 - A - B)``, ``A k < 1`` (defaults are a valid choice: the
        paper's printed example violates its own condition, THEORY.md section 9, slip 1).
    noisy : bool
        Use the Gaussian-noise variant (``d`` is then not used).
    sigma_w : float, optional
        Process-noise standard deviation of the noisy variant; default ``eps**2`` (our choice of a
        ``sigma_w = o(eps)``).
    c_delta : float
        Fallback-binning half-width of the noisy variant, in units of ``eps``.
    x0_std : float
        Standard deviation of ``x_1`` (1 in the paper).

    Returns
    -------
    Construction
        ``name`` ``"thm6_det"`` or ``"thm6_noisy"``; ``learner`` is ``q # pi*``.

    Raises
    ------
    AssumptionError
        If the constants violate the theorem's conditions or ``eps`` is too large.

    References
    ----------
    Cao & Xie 2026, Theorem 6 and its proof.
    """
    reject_unknown_kwargs("trap_loop", kwargs)
    eps = as_real("eps", eps, positive=True)
    A = as_real("A", A)
    B = as_real("B", B)
    if noisy:
        sigma = eps**2 if sigma_w is None else as_real("sigma_w", sigma_w, nonnegative=True)
        quantizer = TrapLoopQuantizer(A, B, k, eps, variant="noisy", c_delta=c_delta)
    else:
        if sigma_w is not None:
            raise AssumptionError(f"sigma_w: the deterministic trap loop is noiseless, found sigma_w={sigma_w!r}")
        sigma = 0.0
        quantizer = TrapLoopQuantizer(A, B, k, eps, d=d)
    system = LinearSystem([[A]], [[B]], noise_std=sigma, x0_std=x0_std)
    expert = ArctanExpert()
    params = {"A": A, "B": B, "k": quantizer.k, "eps": eps, "sigma_w": sigma, "x0_std": float(x0_std)}
    if not noisy:
        params["d"] = quantizer.d
    else:
        params["c_delta"] = quantizer.c_delta
    return Construction("thm6_noisy" if noisy else "thm6_det", system, expert, TrackingReward(expert, 1.0),
                        quantizer, QuantizedPolicy(expert, quantizer), params)


def trap_loop_lower_bound(construction: Construction, horizon, **kwargs) -> float:
    r"""The proof's lower bound on the regret of ``q # pi*`` in the noiseless trap loop.

    With ``lambda = A + B``, ``q0 = B / (1 - lambda)`` and
    ``rho_t = (k/2 - q0 (1 - lambda^{t-1})) / lambda^{t-1}``,

    .. math::

        J(\pi^*) - J(q_\#\pi^*) \ge \sum_{h=2}^{H} A\, \big(\Phi(\rho_{h-1}\,\varepsilon / \sigma_0) - 1/2\big),

    where ``sigma_0`` is the standard deviation of ``x_1`` (1 in the paper).

    Parameters
    ----------
    construction : Construction
        From :func:`trap_loop` with ``noisy=False``.
    horizon : int

    Returns
    -------
    float

    Raises
    ------
    DimensionError
        If the construction is not the noiseless trap loop.

    References
    ----------
    Cao & Xie 2026, Theorem 6 (proof, deterministic case).
    """
    reject_unknown_kwargs("trap_loop_lower_bound", kwargs)
    if construction.name != "thm6_det":
        raise DimensionError(f"construction: expected the noiseless trap loop 'thm6_det', found {construction.name!r}")
    horizon = as_int("horizon", horizon, minimum=1)
    p = construction.params
    A, B, k, eps, s0 = p["A"], p["B"], p["k"], p["eps"], p["x0_std"]
    lam = A + B
    q0 = B / (1 - lam)
    t = np.arange(1, horizon)  # rho_{h-1} for h = 2..H
    rho = (k / 2 - q0 * (1 - lam ** (t - 1))) / lam ** (t - 1)
    if s0 == 0:
        return float(A * np.sum(np.where(rho > 0, 0.5, 0.0)))
    return float(A * np.sum(scipy.stats.norm.cdf(rho * eps / s0) - 0.5))


# --- Theorem 8 ------------------------------------------------------------------------------------

_VARIANTS = ("a", "b")


def _variant(name: str, value) -> str:
    if value not in _VARIANTS:
        raise DimensionError(f"{name}: expected 'a' or 'b', found {value!r}")
    return value


@dataclass(frozen=True, eq=False)
class FirstStepPolicy:
    r"""A scalar policy that follows ``first`` at step 1 and plays a fixed action afterwards.

    .. math::

        \pi_1(\cdot \mid x) = \mathrm{first}(\cdot \mid x), \qquad
        \pi_h(\cdot \mid x) = \delta_{u_{\mathrm{later}}} \quad (h \ge 2).

    These are the experts of Theorems 8 and 9 as their proofs use them: the two instances differ
    only at step 1 (see the module docstring).

    Parameters
    ----------
    first : policy
        ``act(x (N, 1), z (N, 1)) -> (N, 1)``; a :class:`~qbc_theory.engine.constructions.TargetPolicy`
        (deterministic) or a :class:`~qbc_theory.engine.constructions.BernoulliPolicy`.
    later : float
        The action at every step ``h >= 2``.

    Notes
    -----
    ``time_varying = True``: the engine calls ``act(x, z, h=h)`` with the paper's 1-based step.

    References
    ----------
    Cao & Xie 2026, Theorems 8 and 9 (proofs).
    """

    first: object
    later: float = 0.0

    time_varying = True
    dx = 1
    du = 1

    @property
    def deterministic(self) -> bool:
        """Whether the step-1 policy is deterministic."""
        return bool(getattr(self.first, "deterministic", False))

    def act(self, x: np.ndarray, z: np.ndarray | None = None, *, h: int) -> np.ndarray:
        """Actions ``(N, 1)`` at step ``h`` for states ``x (N, 1)`` and draws ``z (N, 1)``."""
        if h == 1:
            return self.first.act(x, z)
        return np.full((np.shape(x)[0], 1), float(self.later))

    def token_logpmf(self, x: np.ndarray, tokens: np.ndarray, h: int, quantizer) -> np.ndarray:
        r"""Exact ``log (q # pi_h)(t | x)`` of observed tokens.

        .. math::

            \log (q_\#\pi_h)(t \mid x) = \log \pi_h\big(q^{-1}(t) \mid x\big).

        Parameters
        ----------
        x : (N, 1) ndarray
            States.
        tokens : (N,) int ndarray
            Observed tokens of ``quantizer``.
        h : int
            Step (1-based).
        quantizer : per-step quantizer

        Returns
        -------
        (N,) ndarray
            ``0`` or ``-inf`` at deterministic steps; ``log p`` / ``log(1 - p)`` for the two actions
            of a Bernoulli step (``-inf`` for any other token).

        Raises
        ------
        AssumptionError
            If the step-1 policy is neither deterministic nor a BernoulliPolicy.
        """
        if h > 1 or self.deterministic:
            pred = encode_actions(quantizer, self.act(x, None, h=h))
            return np.where(pred == tokens, 0.0, -np.inf)
        if not isinstance(self.first, BernoulliPolicy):
            raise AssumptionError(f"first: expected a deterministic policy or a BernoulliPolicy, found "
                                  f"{describe(self.first)}")
        b = self.first
        t_high, t_low = encode_actions(quantizer, np.array([[b.high], [b.low]]))
        with np.errstate(divide="ignore"):
            lp_high, lp_low = np.log(b.p), np.log1p(-b.p)
        return np.where(tokens == t_high, lp_high, np.where(tokens == t_low, lp_low, -np.inf))


def theorem8(n, horizon=None, *, variant="a", bins=None, shift=None, **kwargs) -> Construction:
    r"""Theorem 8's hard instance for a deterministic expert (lower bound ``H (1/n + eps_q)``).

    ``X = U = [0, 1]``, ``T_0 = (1 - Delta) delta_0 + Delta delta_1`` with ``Delta = 1/(3n)``.
    Step 1 is the only decision; the next state is the step-1 reward and it stays there, so the
    return is ``H r_1``. The experts differ only at step 1 and both play 0 afterwards
    (:class:`FirstStepPolicy`), as the proof needs: experts that also differed at later steps would
    be told apart by every trajectory at step 2 (where ``x_2 = 1`` always), and the lower bound
    would be void.

    .. math::

        x_2 = r_1(x_1, u_1), \quad x_{h+1} = x_h\ (h \ge 2), \quad r_h(x, u) = x\ (h \ge 2).

    **Plain** (``bins=None``): expert ``a`` is ``delta_0`` with ``r^a_1 = 1 - u``; expert ``b`` is
    ``delta_x`` with ``r^b_1 = x u + (1 - x)(1 - u)``. The quantizer is edge binning of [0, 1] with
    two bins (representatives {0, 1}), exact on every expert action: the ``1/n`` term alone.

    **Binned** (``bins=K``): uniform centre binning of [0, 1] into ``K`` cells, ``eps_q = 1/(2K)``,
    and with ``s = shift`` (default ``eps_q``, required ``0 <= s < 1/K``) the experts
    ``pi^a = delta_0`` and ``pi^b(x) = x delta_{1-s} + (1 - x) delta_s`` (for ``x`` in {0, 1};
    ``t_b(x) = s + (1 - 2s) x`` in general), each with the reward peaked at its own action,
    ``r_1(x, u) = 1 - |u - t(x)|``. At ``x = 0`` both experts' actions fall in the first cell, so
    the two quantized experts coincide there and, for any action ``u``,

    .. math::

        [r^a_1(0, 0) - r^a_1(0, u)] + [r^b_1(0, s) - r^b_1(0, u)] = |u| + |u - s| \ge s,

    so the two regrets sum to at least ``(1 - Delta) H s``. The paper's text (THEORY.md section 6)
    names these experts but not their rewards; the peaked rewards are our choice (1-Lipschitz).

    Parameters
    ----------
    n : int
        Number of expert trajectories the learner gets; sets ``Delta = 1/(3n)``.
    horizon : int, optional
        Recorded in ``params`` only (the instance works for any horizon).
    variant : {"a", "b"}
        Which of the two indistinguishable instances.
    bins : int, optional
        ``K >= 2`` for the binned variant.
    shift : float, optional
        ``s`` of the binned variant.

    Returns
    -------
    Construction
        ``name`` ``"thm8"`` or ``"thm8_binned"``; ``learner`` is ``None``.

    Raises
    ------
    DimensionError, AssumptionError
        On bad parameters.

    References
    ----------
    Cao & Xie 2026, Theorem 8 and its proof.
    """
    reject_unknown_kwargs("theorem8", kwargs)
    n = as_int("n", n, minimum=1)
    variant = _variant("variant", variant)
    delta = 1.0 / (3 * n)
    params = {"n": n, "Delta": delta, "variant": variant}
    if horizon is not None:
        params["horizon"] = as_int("horizon", horizon, minimum=1)
    if bins is None:
        if shift is not None:
            raise AssumptionError("shift: only the binned variant (bins=K) uses a shift, found bins=None")
        quantizer = UniformBinning(0.0, 1.0, 2, decode="edge")
        if variant == "a":
            expert = FirstStepPolicy(TargetPolicy(lambda x: np.zeros_like(x), 0.0, "thm8_a"))
            first = lambda x, u: 1.0 - u  # noqa: E731
        else:
            expert = FirstStepPolicy(TargetPolicy(lambda x: np.clip(x, 0.0, 1.0), 1.0, "thm8_b"))
            first = lambda x, u: x * u + (1.0 - x) * (1.0 - u)  # noqa: E731
        name = "thm8"
    else:
        bins = as_int("bins", bins, minimum=2)
        quantizer = UniformBinning(0.0, 1.0, bins, decode="center")
        s = quantizer.eps_sup if shift is None else as_real("shift", shift, nonnegative=True)
        if not s < 1.0 / bins:
            raise AssumptionError(f"shift: expected s < 1/K = {1.0 / bins:g} so that 0 and s share a cell, found {s:g}")
        if variant == "a":
            target = lambda x: np.zeros_like(x)  # noqa: E731
            lip = 0.0
        else:
            target = lambda x: s + (1.0 - 2.0 * s) * x  # noqa: E731
            lip = 1.0 - 2.0 * s
        expert = FirstStepPolicy(TargetPolicy(target, lip, f"thm8_binned_{variant}"))
        first = lambda x, u: 1.0 - np.abs(u - target(x))  # noqa: E731
        params.update(bins=bins, shift=float(s), eps_q=quantizer.eps_sup)
        name = "thm8_binned"
    system = StepDynamics(first, delta, 0.0, 1.0, 0.0, 1.0)
    reward = StepReward(first, lambda x: x, 0.0, 1.0, lipschitz=1.0)
    return Construction(name, system, expert, reward, quantizer, None, params)


# --- Theorem 9 ------------------------------------------------------------------------------------

def theorem9(n, horizon=None, *, expert="a", reward=None, c=0.2, **kwargs) -> Construction:
    r"""Theorem 9's hard instance for a stochastic, state-independent expert (lower bound ``H/sqrt(n)``).

    ``X = U = [-1, 2]``, ``f_1(x, u) = u``, ``f_h(x, u) = x`` for ``h >= 2``, ``x_1 = 0`` (the
    paper leaves ``T_0`` free: the expert ignores the state and ``f_1`` forgets it). With
    ``Delta = c / sqrt(n)``,

    .. math::

        \pi^a_1 = (\tfrac12 + \Delta)\,\delta_1 + (\tfrac12 - \Delta)\,\delta_0, \qquad
        \pi^b_1 = (\tfrac12 - \Delta)\,\delta_1 + (\tfrac12 + \Delta)\,\delta_0,

        r^a_1 = u,\ r^a_h = x; \qquad r^b_1 = 1 - u,\ r^b_h = 1 - x \quad (h \ge 2),

    so the return is ``H r_1`` and ``J = H (1/2 + Delta)`` for a matched (expert, reward) pair.
    Rewards are clipped to [0, 1] (they leave it only for actions outside {0, 1}). The expert plays
    its law at step 1 and the action 0 afterwards (:class:`FirstStepPolicy`): later actions do not
    change the return, and the proof's two instances differ only at step 1. ``c`` defaults to 1/5: with the
    paper's 3/5 the displayed route gives probability 1/32, not 1/8 (THEORY.md section 9, slip 2).
    The eps_q perturbation ("shift the supports by +-eps_q inside one bin") is not implemented: the
    restated text does not fix the rewards of the shifted pair.

    Parameters
    ----------
    n : int
        Number of expert trajectories; sets ``Delta``.
    horizon : int, optional
        Recorded in ``params`` only.
    expert : {"a", "b"}
    reward : {"a", "b"}, optional
        Default: the same as ``expert`` (the four (policy, reward) pairs of the proof's reduction).
    c : float
        ``Delta = c / sqrt(n)``, with ``Delta <= 1/2``.

    Returns
    -------
    Construction
        ``name`` ``"thm9"``; ``learner`` is ``None``; the quantizer is edge binning of [0, 1] with
        two bins (exact on the support {0, 1}).

    Raises
    ------
    DimensionError, AssumptionError

    References
    ----------
    Cao & Xie 2026, Theorem 9 and its proof.
    """
    reject_unknown_kwargs("theorem9", kwargs)
    n = as_int("n", n, minimum=1)
    expert = _variant("expert", expert)
    reward = expert if reward is None else _variant("reward", reward)
    c = as_real("c", c, positive=True)
    delta = c / math.sqrt(n)
    if delta > 0.5:
        raise AssumptionError(f"c: expected Delta = c/sqrt(n) <= 1/2, found Delta={delta:g}")
    p = 0.5 + delta if expert == "a" else 0.5 - delta
    policy = FirstStepPolicy(BernoulliPolicy(p, 1.0, 0.0))
    system = StepDynamics(lambda x, u: u, 0.0, 0.0, 0.0, -1.0, 2.0)
    if reward == "a":
        rew = StepReward(lambda x, u: u, lambda x: x, -1.0, 2.0)
    else:
        rew = StepReward(lambda x, u: 1.0 - u, lambda x: 1.0 - x, -1.0, 2.0)
    params = {"n": n, "c": c, "Delta": delta, "expert": expert, "reward": reward, "p_high": p}
    if horizon is not None:
        params["horizon"] = as_int("horizon", horizon, minimum=1)
    return Construction("thm9", system, policy, rew, UniformBinning(0.0, 1.0, 2, decode="edge"), None, params)


# --- the appendix's Lipschitz-learner example --------------------------------------------------------

def lipschitz_example(*, A=0.5, B=1.0, K=1.0, delta=0.01, x0_std=1.0, noise_std=0.0, **kwargs) -> Construction:
    r"""The appendix's example: a Lipschitz learner that compounds exponentially although ``rho(A) < 1``.

    ``x+ = A x + B u (+ w)``, expert ``u = K x + delta``, learner ``u = K x``. The training error is
    ``||delta||`` per step, but with shared noise the state gap after ``H`` steps is

    .. math::

        x^*_{H+1} - \hat x_{H+1} = \sum_{h=0}^{H-1} (A + BK)^{H-1-h} B\, \delta,

    exponential in ``H`` when ``rho(A + BK) > 1`` even though ``rho(A) < 1`` makes the system
    P-IISS. With ``rho(A + BK) < 1`` (a control) the gap stays bounded.

    Parameters
    ----------
    A : (dx, dx) array_like
        ``rho(A) < 1`` is required.
    B : (dx, du) array_like
    K : (du, dx) array_like
    delta : (du,) array_like
        The expert's offset.
    x0_std, noise_std : float
        Initial-state and process-noise standard deviations (the gap does not depend on them).

    Returns
    -------
    Construction
        ``name`` ``"lipschitz"``; ``expert`` is :class:`OffsetLinearPolicy`, ``learner`` the
        :class:`~qbc_theory.model.experts.LinearExpert` ``K x``, ``reward`` action tracking of the expert,
        ``quantizer`` ``None``. ``params`` holds both spectral radii.

    Raises
    ------
    AssumptionError
        If ``rho(A) >= 1``.

    References
    ----------
    Cao & Xie 2026, Appendix (Lipschitz continuity is not enough); THEORY.md section 3.
    """
    reject_unknown_kwargs("lipschitz_example", kwargs)
    system = LinearSystem(A, B, noise_std=noise_std, x0_std=x0_std)
    if system.spectral_radius >= 1:
        raise AssumptionError(f"A: the example needs rho(A) < 1, found rho(A)={system.spectral_radius:g}")
    learner = LinearExpert(as_matrix("K", K, system.du, system.dx))
    expert = OffsetLinearPolicy(learner.K, as_vector("delta", delta, size=system.du))
    rho_cl = learner.closed_loop_spectral_radius(system)
    params = {"A": system.A.tolist(), "B": system.B.tolist(), "K": learner.K.tolist(),
              "delta": expert.offset.tolist(), "rho_A": system.spectral_radius, "rho_closed_loop": rho_cl}
    return Construction("lipschitz", system, expert, TrackingReward(expert, 1.0), None, learner, params)


def lipschitz_state_gap(construction: Construction, horizon, **kwargs) -> np.ndarray:
    r"""The closed-form state gap of the Lipschitz example after ``horizon`` steps.

    .. math::

        g_H = \sum_{h=0}^{H-1} (A + BK)^{H-1-h} B\, \delta \in \mathbb{R}^{dx}.

    Parameters
    ----------
    construction : Construction
        From :func:`lipschitz_example`.
    horizon : int

    Returns
    -------
    (dx,) ndarray

    Raises
    ------
    DimensionError
        If ``construction`` is not the Lipschitz example.

    References
    ----------
    Cao & Xie 2026, Appendix (Lipschitz-learner example).
    """
    reject_unknown_kwargs("lipschitz_state_gap", kwargs)
    if construction.name != "lipschitz":
        raise DimensionError(f"construction: expected the 'lipschitz' example, found {construction.name!r}")
    horizon = as_int("horizon", horizon, minimum=1)
    system = construction.system
    M = system.A + system.B @ construction.learner.K
    b = system.B @ construction.expert.offset
    gap = np.zeros(system.dx)
    # Horner form of sum_j M^j b, j = 0..H-1
    for _ in range(horizon):
        gap = M @ gap + b
    return gap
