r"""Random instances of a claim's hypothesis class, and the instance file of one (``qbc verify --family``).

The generators behind :mod:`qbc_theory.verification.family`: instance ``i`` of a claim's family is a
pure function of ``(claim, i)`` (:func:`draw_instance`); :func:`cell_of` names the cell that measures it
and :func:`instance_toml` writes it as an instance file (docs/instance-format.md) that ``qbc simulate``
runs. Running, judging and searching the families is :mod:`qbc_theory.verification.family`'s business.

Supported families (:data:`FAMILIES`):

``thm3.binning`` (claim ``thm3.rate_n``; Cao & Xie 2026, Theorem 3 with Proposition 5's binning
modulus). Instance ``i`` is of kind :func:`nonlinear_kind`: ``"linear"`` for even ``i``, ``"tanh"``
for ``i = 1 mod 4`` and ``"lure"`` for ``i = 3 mod 4`` (half the draws nonlinear). Hypotheses and
how every draw meets them:

- linear part :math:`x_{h+1} = A x_h + B u_h + w_h` with :math:`d_x \in \{1, \dots, 6\}`, one
  action (the cells' binning is scalar), :math:`A = r\, G / \rho(G)` with :math:`G` standard normal
  and spectral radius :math:`r \sim U[0.1, 0.95]`: globally P-IISS (:math:`\rho(A) \le 0.95 < 1`);
  :math:`B` standard normal; :math:`w \sim N(0, \sigma_w^2 I)`, :math:`\sigma_w \sim U[0.3, 1]`;
- a gain :math:`K = -c\, B^\top / \|B\|^2` plus a random perturbation, redrawn until the linear
  closed loop has :math:`\rho(A + BK) < 0.98` (:data:`_CLOSED_LOOP_RADIUS`; this fixes the action
  scale of every kind);
- ``"linear"``: deterministic expert :math:`u = K x`, ``x_1`` from the closed loop's stationary law;
  centre binning of :math:`[-a, a]` with :math:`a = 8 \times` the stationary standard deviation of
  the expert's action (so it leaves the range with probability :math:`\le 2 H \Phi(-8) \approx
  10^{-14}` per trajectory: the sup error :math:`\varepsilon_q = a / \text{bins}` holds); the
  claim's finite realizable class :math:`\{K + o\, D\}` (random unit direction :math:`D`, the claim's
  offsets; :math:`o = 0` is the expert); cell ``thm3.linear``, the claim's own;
- ``"tanh"``: the same linear system with the saturating expert :math:`u = a \tanh(K x / a)`
  (Lipschitz :math:`L^* = \|K\|`), :math:`a = s \times` the linear closed loop's stationary action
  sd, :math:`s \sim U[0.5, 2]`; ``x_1 \sim N(0, I)``;
- ``"lure"``: the Lur'e system :math:`x_{h+1} = A x_h + B u_h + G \tanh(C x_h) + w_h` with the same
  :math:`A, B`, :math:`p \in \{1, \min(2, d_x)\}` channels, :math:`C` and :math:`G/\|G\|` normal
  with unit spectral norm, :math:`\|G\| \sim U[0.1, 1]`, and the tanh expert above. Every Lur'e
  draw is **certified** globally P-EIISS by the incremental sector LMI
  (:func:`qbc_theory.checker.incremental.system_stability`, through the cell's
  :func:`~qbc_theory.verification.cells.family_nonlinear.certified_gain`) and **redrawn** from the
  same stream otherwise; the cell re-certifies and takes :math:`\Gamma = C/(1-\eta)` from the certificate;
- nonlinear kinds (cell ``thm3.nonlinear``, :mod:`.cells.family_nonlinear`): binning of
  :math:`[-a, a]`, which the expert's action :math:`|u| < a` never leaves (sup error with
  probability one); the finite realizable class :math:`\{q_\# f a \tanh((K + oD)x / (f a))\}` over
  the claim's offsets :math:`o` times :math:`f \in` :data:`CLASS_SCALE_FACTORS` (contains
  :math:`q_\#\pi^*`), learned by the same exact log-loss MLE; :math:`L = \max_j \|K_j\|`;
- bins :math:`\in \{8, 16, 32, 64, 128\}`; reward of the claim (tracking and regulation, scale
  :math:`s \sim U[5, 20]`).
The bound is the one the cells evaluate (``thm3_binning`` with the instance's :math:`\Gamma, L, k`),
with its :math:`H^2` term whenever :math:`L \Gamma (k+1) \ge k - 2`, which the draws allow. The
linear draws are exactly those drawn before the nonlinear kinds existed (same stream).

``thm2.gaussian`` (claims ``thm2.rate_n`` and ``thm2.horizon``; Theorem 2). The same random
:math:`A` (P-EIISS: the cell computes the exact :math:`(C, \eta)`), :math:`B` and expert gain (redrawn
until :math:`\rho(A + BK) < 0.98`); a Gaussian expert :math:`N(Kx, \sigma^2)` with
:math:`\sigma \sim U[0.2, 1]` (TVC);
:math:`x_1 \sim N(0, I)`; process noise sd :math:`U[0.05, 0.5]`; centre binning of :math:`\pm 8`
action standard deviations (under the larger of the initial and the stationary state law) with
:math:`2^6 \dots 2^{11}` cells, whose exit probability the cell adds to its bound; the claim's
realizable class, a box :math:`K \pm 1/2` per entry times :math:`\sigma \in [\sigma/2, 2\sigma]`
(its :math:`1/n`-grid is :math:`|\Pi|`); regulation reward of scale :math:`U[2, 8]`. These are the even
draws (cell ``thm2.regret``, the claims' own; identical to the draws made before the nonlinear kinds
existed). **Nonlinear kinds** (half the draws, :func:`nonlinear_kind`, as in ``thm3.binning``):
``"tanh"`` for ``i = 1 mod 4``, the Gaussian saturating expert :math:`N(a \tanh(K x / a), \sigma^2)` on
the same linear system, :math:`a = s \times` the linear closed loop's stationary action sd,
:math:`s \sim U[0.5, 2]`; ``"lure"`` for ``i = 3 mod 4``, the same expert on the Lur'e system drawn as
in ``thm3.binning``, certified globally P-EIISS by the incremental sector LMI and redrawn otherwise.
Both run the cell ``thm2.nonlinear`` (:mod:`.cells.family_thm2_nonlinear`): binning of
:math:`\pm(a + 8\sigma)` (the action leaves it with probability :math:`\le 2\Phi(-8)` per step
whatever the state; the cell adds :math:`H` times it to the bound), :math:`x_1 \sim N(0, I)`, the
finite realizable class :data:`THM2_CLASS` (gains :math:`K + oD` times noise levels :math:`f\sigma`,
221 candidates, :math:`q_\#\pi^*` among them) learned by the exact log-loss MLE; Theorem 2's bound with
:math:`|\Pi| = 221`, the class's :math:`\kappa = \max_j\|K_j\|/(\sqrt2 \min_j s_j)` and :math:`(C, \eta)`
exact (linear) or the certificate's (Lur'e), and the data-dependent Theorem 1 with the gain profile
:math:`\|A^jB\|` or :math:`C\eta^j`.
``thm2.rate_n`` has no bound test, so its worst-case search maximises the regret over the bound the
cell evaluates (Theorem 2's explicit form plus :math:`\delta H` and the exit term);
``thm2.horizon`` searches on its first bound test (the same bound).

Everything is reproducible: instance ``i`` of claim ``c`` is drawn from
``SeedSequence(FAMILY_ENTROPY, spawn_key=(crc32(c), i))`` and its experiment's entropy is drawn
from the same root; the search's candidates from ``spawn_key=(crc32(c), 10**6)``.
"""
from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ..model.errors import SpecError

__all__ = ["FAMILIES", "FAMILY_ENTROPY", "NONLINEAR_FAMILIES", "NONLINEAR_PERIOD", "CLASS_SCALE_FACTORS",
           "NONLINEAR_X0_STD", "THM2_CLASS", "draw_instance", "nonlinear_kind", "cell_of", "instance_toml"]

FAMILY_ENTROPY = 20261204
"""Root entropy of every family draw (instances, their experiments' entropies, search candidates)."""

FAMILIES = {"thm3.rate_n": "thm3.binning", "thm2.rate_n": "thm2.gaussian", "thm2.horizon": "thm2.gaussian"}
"""Claim id -> the family it supports (a claim's ``family`` attribute, when set, takes precedence)."""

_CLIP_SDS = 8.0
_CLOSED_LOOP_RADIUS = 0.98
"""Every draw's linear closed loop ``A + B K`` has spectral radius below this (its stationary law, the
action scale and, for linear draws, ``x_1``'s law exist, with a mixing time of at most ~50 steps)."""


def _claim_index(claim_id: str) -> int:
    """A stable integer per claim id (CRC-32 of the id), the first element of its spawn keys."""
    return zlib.crc32(claim_id.encode())


# --------------------------------------------------------------------------------------------------
# thm3.binning: the generator


@dataclass(frozen=True)
class _Draw:
    """The free parameters of one instance (the worst-case search moves the scalar ones)."""

    kind: str              # the family
    G: np.ndarray          # (dx, dx) direction of A
    B: np.ndarray          # (dx, 1)
    P: np.ndarray          # (1, dx) perturbation of the expert gain
    D: np.ndarray          # (1, dx) unit class direction (thm3.binning)
    v: np.ndarray          # scalars, see _BOXES (then _NL_BOXES for a nonlinear draw)
    nl: str = "linear"     # thm3.binning: "linear", "tanh" (tanh expert) or "lure" (Lur'e system, tanh expert)
    Gl: np.ndarray | None = None   # (dx, p) unit-norm direction of the Lur'e G (scaled by lure_strength)
    Cl: np.ndarray | None = None   # (p, dx) unit-norm Lur'e C

    @property
    def radius(self) -> float:
        return float(self.v[0])

    @property
    def gain(self) -> float:
        return float(self.v[1])

    @property
    def noise_std(self) -> float:
        return float(self.v[2])

    @property
    def bins(self) -> int:
        return int(2 ** round(float(self.v[3])))

    @property
    def reward_scale(self) -> float:
        return float(self.v[4])

    @property
    def sigma(self) -> float:
        return float(self.v[5])

    @property
    def saturation(self) -> float:
        """The tanh expert's saturation level in units of the linear closed loop's action sd."""
        return float(self.v[6])

    @property
    def lure_strength(self) -> float:
        """``||G||`` of a Lur'e draw."""
        return float(self.v[7])

    def vector(self) -> np.ndarray:
        return np.array(self.v, dtype=float)


_BOXES = {
    # rho(A), gain c, process noise sd, log2 bins, reward scale, expert sd (unused by thm3.binning)
    "thm3.binning": np.array([[0.1, 0.95], [0.05, 0.9], [0.3, 1.0], [3.0, 7.0], [5.0, 20.0], [0.0, 0.0]]),
    "thm2.gaussian": np.array([[0.1, 0.95], [0.05, 0.9], [0.05, 0.5], [6.0, 11.0], [2.0, 8.0], [0.2, 1.0]]),
}
"""Ranges of the scalar parameters of each family (the generator draws uniformly in them)."""

_NL_BOXES = {
    # saturation level / action sd of the linear closed loop; ||G|| of the Lur'e nonlinearity
    "tanh": np.array([[0.5, 2.0]]),
    "lure": np.array([[0.5, 2.0], [0.1, 1.0]]),
}
"""Ranges of the extra scalar parameters of the nonlinear draws of ``thm3.binning``."""

NONLINEAR_PERIOD = {1: "tanh", 3: "lure"}
"""Nonlinear draws of ``thm3.binning`` and ``thm2.gaussian``: instance ``i`` is of kind
``NONLINEAR_PERIOD.get(i % 4, "linear")`` (half the draws nonlinear: a quarter tanh experts on linear
systems, a quarter Lur'e systems; Gaussian tanh experts in ``thm2.gaussian``)."""

NONLINEAR_FAMILIES = ("thm3.binning", "thm2.gaussian")
"""Families with nonlinear draws (:func:`nonlinear_kind`)."""

THM2_CLASS = {"class_min_offset": 1e-3, "class_max_offset": 0.5, "class_per_side": 8,
              "class_sigma_factors": [float(math.exp(-v)) for v in np.geomspace(0.4, 0.005, 6)] + [1.0]
              + [float(math.exp(v)) for v in np.geomspace(0.005, 0.4, 6)]}
"""The finite realizable class of a nonlinear ``thm2.gaussian`` draw
(:func:`~qbc_theory.verification.cells.family_thm2_nonlinear.gaussian_tanh_class`): gains ``K + o D``
with 8 geometric offsets in ``[1e-3, 0.5]`` per side and 0, times noise levels ``f sigma`` with
``f = exp(+-v)``, ``v`` 6 geometric values in ``[0.005, 0.4]``, and ``f = 1``: ``|Pi| = 17 x 13 = 221``."""

CLASS_SCALE_FACTORS = (0.8, 1.0, 1.25)
"""Saturation levels of a nonlinear draw's class, in units of the expert's (1 keeps it realizable)."""

NONLINEAR_X0_STD = 1.0
"""``x_1 ~ N(0, I)`` for a nonlinear draw (its closed loop has no closed-form stationary law)."""


def nonlinear_kind(kind: str, i: int) -> str:
    """The dynamics/expert kind of instance ``i`` of family ``kind`` (``"linear"`` outside
    :data:`NONLINEAR_FAMILIES`)."""
    return NONLINEAR_PERIOD.get(i % 4, "linear") if kind in NONLINEAR_FAMILIES else "linear"


def _box(kind: str, nl: str) -> np.ndarray:
    return np.vstack([_BOXES[kind], _NL_BOXES[nl]]) if nl in _NL_BOXES else _BOXES[kind]


def _draw(kind: str, rng: np.random.Generator, nl: str = "linear") -> _Draw:
    dx = int(rng.integers(1, 7))
    G = rng.standard_normal((dx, dx))
    B = rng.standard_normal((dx, 1))
    P = 0.1 * rng.standard_normal((1, dx))
    D = rng.standard_normal((1, dx))
    D = D / np.linalg.norm(D)
    box = _BOXES[kind]
    v = rng.uniform(box[:, 0], box[:, 1])
    if nl == "linear":  # the linear draws consume the stream exactly as before the nonlinear kinds existed
        return _Draw(kind, G, B, P, D, v)
    extra = _NL_BOXES[nl]
    v = np.concatenate([v, rng.uniform(extra[:, 0], extra[:, 1])])
    Gl = Cl = None
    if nl == "lure":
        p = int(rng.integers(1, min(dx, 2) + 1))
        Gl = rng.standard_normal((dx, p))
        Gl = Gl / np.linalg.norm(Gl, 2)
        Cl = rng.standard_normal((p, dx))
        Cl = Cl / np.linalg.norm(Cl, 2)
    return _Draw(kind, G, B, P, D, v, nl, Gl, Cl)


def _with(draw: _Draw, v: np.ndarray) -> _Draw:
    box = _box(draw.kind, draw.nl)
    return _Draw(draw.kind, draw.G, draw.B, draw.P, draw.D, np.clip(v, box[:, 0], box[:, 1]), draw.nl, draw.Gl,
                 draw.Cl)


def _system(draw: _Draw):
    rho_g = float(np.max(np.abs(np.linalg.eigvals(draw.G))))
    A = draw.G * (draw.radius / rho_g) if rho_g > 0 else np.zeros_like(draw.G)
    B = draw.B
    K = -draw.gain * B.T / float((B.T @ B)[0, 0]) + draw.P
    return A, B, K


def _params(draw: _Draw) -> dict | None:
    """The cell parameters of a draw, or None when the draw is refused: the linear closed loop
    ``A + B K`` has spectral radius ``>= 0.98`` (every kind: it sets the action scale), or a Lur'e
    draw that the incremental sector LMI does not certify (the cell's own
    :func:`~qbc_theory.verification.cells.family_nonlinear.certified_gain`)."""
    A, B, K = _system(draw)
    Acl = A + B @ K
    if not np.max(np.abs(np.linalg.eigvals(Acl))) < _CLOSED_LOOP_RADIUS:
        return None
    dx = A.shape[0]
    if draw.kind == "thm3.binning" and draw.nl != "linear":
        return _nonlinear_params(draw, A, B, K)
    if draw.kind == "thm2.gaussian" and draw.nl != "linear":
        return _thm2_nonlinear_params(draw, A, B, K)
    if draw.kind == "thm3.binning":
        S = scipy.linalg.solve_discrete_lyapunov(Acl, draw.noise_std**2 * np.eye(dx))
        sd_u = float(np.sqrt((K @ S @ K.T)[0, 0]))
        clip = float(f"{_CLIP_SDS * sd_u:.6g}")
        return {"A": A.tolist(), "B": B.tolist(), "K": K.tolist(), "noise_std": draw.noise_std, "x0": "stationary",
                "clip": clip, "eps_q": clip / draw.bins, "reward_scale": draw.reward_scale,
                "class_direction": draw.D.tolist()}
    # thm2.gaussian: x_1 ~ N(0, I), Gaussian expert N(K x, sigma^2); the range covers 8 sd of the
    # action under the larger of the initial and the stationary state covariance
    S = scipy.linalg.solve_discrete_lyapunov(Acl, draw.noise_std**2 * np.eye(dx) + draw.sigma**2 * (B @ B.T))
    var_x = max(float((K @ S @ K.T)[0, 0]), float((K @ K.T)[0, 0]))
    clip = float(f"{_CLIP_SDS * math.sqrt(var_x + draw.sigma**2):.6g}")
    k = K.ravel()
    return {"A": A.tolist(), "B": B.tolist(), "K": K.tolist(), "noise_std": draw.noise_std, "x0_std": 1.0,
            "sigma": draw.sigma, "low": -clip, "high": clip, "bins": draw.bins, "reward": "regulation",
            "reward_scale": draw.reward_scale, "box_K": [[float(a - 0.5), float(a + 0.5)] for a in k],
            "box_sigma": [draw.sigma / 2, 2 * draw.sigma]}


def _nonlinear_params(draw: _Draw, A, B, K) -> dict | None:
    """The ``thm3.nonlinear`` cell parameters of a tanh or Lur'e draw (None: a Lur'e draw not certified)."""
    from ..model.dynamics import LureSystem
    from ..model.errors import AssumptionError
    from .cells.family_nonlinear import certified_gain

    dx = A.shape[0]
    S = scipy.linalg.solve_discrete_lyapunov(A + B @ K, draw.noise_std**2 * np.eye(dx))
    sd_u = float(np.sqrt((K @ S @ K.T)[0, 0]))
    a = float(f"{draw.saturation * sd_u:.6g}")
    p = {"system": "linear", "A": A.tolist(), "B": B.tolist(), "K": K.tolist(), "expert_scale": a,
         "noise_std": draw.noise_std, "x0": NONLINEAR_X0_STD, "clip": a, "eps_q": a / draw.bins,
         "reward_scale": draw.reward_scale, "class_direction": draw.D.tolist(),
         "class_scale_factors": list(CLASS_SCALE_FACTORS)}
    if draw.nl == "lure":
        G = draw.lure_strength * draw.Gl
        try:
            certified_gain(LureSystem(A, B, G, draw.Cl, "tanh"), 1)
        except AssumptionError:
            return None
        p.update({"system": "lure", "G": G.tolist(), "C": draw.Cl.tolist(), "phi": "tanh"})
    return p


def _thm2_nonlinear_params(draw: _Draw, A, B, K) -> dict | None:
    """The ``thm2.nonlinear`` cell parameters of a Gaussian tanh draw of ``thm2.gaussian`` (None: a Lur'e
    draw the incremental sector LMI does not certify).

    The expert is ``N(a tanh(K x / a), sigma^2)`` with ``a`` the draw's saturation times the linear
    closed loop's stationary action sd (as the linear draws' covariance, with the expert's noise); the
    binning covers ``[-(a + 8 sigma), a + 8 sigma]``, which the action leaves with probability at most
    ``2 Phi(-8) ~ 1.2e-15`` per step whatever the state (the cell charges ``H`` times it to the bound).
    """
    from ..model.dynamics import LureSystem
    from ..model.errors import AssumptionError
    from .cells.family_nonlinear import certified_gain

    dx = A.shape[0]
    S = scipy.linalg.solve_discrete_lyapunov(A + B @ K, draw.noise_std**2 * np.eye(dx) + draw.sigma**2 * (B @ B.T))
    sd_u = float(np.sqrt((K @ S @ K.T)[0, 0]))
    a = float(f"{draw.saturation * sd_u:.6g}")
    clip = float(f"{a + _CLIP_SDS * draw.sigma:.6g}")
    p = {"system": "linear", "A": A.tolist(), "B": B.tolist(), "K": K.tolist(), "expert_scale": a,
         "noise_std": draw.noise_std, "x0_std": NONLINEAR_X0_STD, "sigma": draw.sigma, "low": -clip, "high": clip,
         "bins": draw.bins, "reward": "regulation", "reward_scale": draw.reward_scale,
         "class_direction": draw.D.tolist(), **THM2_CLASS}
    if draw.nl == "lure":
        G = draw.lure_strength * draw.Gl
        try:
            certified_gain(LureSystem(A, B, G, draw.Cl, "tanh"), 1)
        except AssumptionError:
            return None
        p.update({"system": "lure", "G": G.tolist(), "C": draw.Cl.tolist(), "phi": "tanh"})
    return p


def draw_instance(claim_id: str, i: int, kind: str | None = None) -> tuple[_Draw, dict]:
    """Instance ``i`` of the family of ``claim_id``: the draw and the cell parameters it overrides.

    Redraws (from the same stream) until the draw is accepted by :func:`_params`: the expert's linear
    closed loop has spectral radius below 0.98 and, for a Lur'e draw, the incremental sector LMI
    certifies global P-EIISS. The draw is a pure function of
    ``(claim_id, i, kind)``; its dynamics/expert kind is :func:`nonlinear_kind` of ``(kind, i)``.

    Parameters
    ----------
    claim_id : str
    i : int
    kind : str, optional
        The family (one of the values of :data:`FAMILIES`); default: the claim's entry there.

    Raises
    ------
    SpecError
        If the claim supports no family or ``kind`` is unknown.
    """
    kind = kind or FAMILIES.get(claim_id)
    if kind is None:
        raise SpecError(f"family: expected a claim with a family ({', '.join(FAMILIES)}), found {claim_id!r}")
    if kind not in _BOXES:
        raise SpecError(f"family: expected one of {', '.join(_BOXES)}, found {kind!r}")
    rng = np.random.default_rng(np.random.SeedSequence(FAMILY_ENTROPY, spawn_key=(_claim_index(claim_id), i)))
    nl = nonlinear_kind(kind, i)
    for _ in range(1000):
        d = _draw(kind, rng, nl)
        p = _params(d)
        if p is not None:
            return d, p
    raise SpecError(f"family {claim_id}: no accepted draw in 1000 tries")  # pragma: no cover


def cell_of(draw: _Draw, base) -> str:
    """The cell that measures a draw: ``thm3.nonlinear`` (``thm2.nonlinear`` in ``thm2.gaussian``) for a
    nonlinear draw, else the claim's own."""
    if draw.nl == "linear":
        return base.cell
    return "thm2.nonlinear" if draw.kind == "thm2.gaussian" else "thm3.nonlinear"


# --------------------------------------------------------------------------------------------------
# the worst instance as an instance file


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_toml_value(x) for x in (v.tolist() if isinstance(v, np.ndarray) else v)) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def instance_toml(claim_id: str, base, params: dict, point: dict, profile: str, worst: dict) -> str:
    """An instance file (docs/instance-format.md) of a family instance, for ``qbc simulate``.

    The system, expert, binning, initial law, horizon, ``n`` and ``delta`` are those of the measured
    instance (``thm3.binning``: ``x_1`` from the closed loop's stationary law, written as ``x0_cov``; a
    nonlinear draw writes ``x0_std``, its tanh expert as ``kind = "tanh"`` with ``K`` and ``scale`` and a
    Lur'e system as ``kind = "lure"`` with ``G``, ``C``, ``phi = "tanh"``).
    ``thm2.gaussian`` uses the instance format's ``regulation`` reward, as its cells do; its nonlinear
    draws write the Gaussian tanh expert as ``kind = "tanh"`` with ``K``, ``scale`` and ``noise_std``. The
    ``thm3.linear`` cell's reward (the mean of action tracking and state regulation) is not an
    instance reward kind: the file uses ``tracking`` at the same scale, so ``qbc simulate`` reproduces
    the instance and its learner there, not the cell's regret number; neither file carries the cell's
    policy class (``qbc simulate`` builds its own).
    """
    full, _, _ = base.resolved(profile)
    p = {**full, **params, **point}
    A, B, K = (np.array(p[k], dtype=float) for k in ("A", "B", "K"))
    desc = (f"worst instance of the {claim_id} family ({worst['source']}): measured/bound {worst['ratio']:.6g} "
            f"at {point}; regenerate with qbc verify --family")
    system = ["[system]", f"A = {_toml_value(A)}", f"B = {_toml_value(B)}",
              f"noise_std = {_toml_value(float(p['noise_std']))}"]
    if "expert_scale" in p and "low" in p:  # thm2.gaussian, nonlinear draw (cell thm2.nonlinear)
        if p.get("system") == "lure":
            system = ["[system]", 'kind = "lure"', *system[1:3], f"G = {_toml_value(np.array(p['G'], dtype=float))}",
                      f"C = {_toml_value(np.array(p['C'], dtype=float))}", f"phi = {_toml_value(p['phi'])}",
                      system[3]]
        system.append(f"x0_std = {_toml_value(float(p['x0_std']))}")
        expert = ["[expert]", 'kind = "tanh"', f"K = {_toml_value(K)}",
                  f"scale = {_toml_value(float(p['expert_scale']))}", f"noise_std = {_toml_value(float(p['sigma']))}"]
        quant = ["[quantizer]", 'kind = "binning"', f"low = {_toml_value(float(p['low']))}",
                 f"high = {_toml_value(float(p['high']))}", f"bins = {int(p['bins'])}"]
        reward = ["[reward]", f"kind = {_toml_value(p.get('reward', 'regulation'))}",
                  f"scale = {_toml_value(float(p['reward_scale']))}"]
    elif "expert_scale" in p:  # thm3.binning, nonlinear draw (cell thm3.nonlinear)
        if p.get("system") == "lure":
            system = ["[system]", 'kind = "lure"', *system[1:3], f"G = {_toml_value(np.array(p['G'], dtype=float))}",
                      f"C = {_toml_value(np.array(p['C'], dtype=float))}", f"phi = {_toml_value(p['phi'])}",
                      system[3]]
        system.append(f"x0_std = {_toml_value(float(p['x0']))}")
        expert = ["[expert]", 'kind = "tanh"', f"K = {_toml_value(K)}",
                  f"scale = {_toml_value(float(p['expert_scale']))}"]
        quant = ["[quantizer]", 'kind = "binning"', f"low = {_toml_value(-float(p['clip']))}",
                 f"high = {_toml_value(float(p['clip']))}", f"bins = {int(round(p['clip'] / p['eps_q']))}"]
        reward = ["# the cell's reward averages action tracking and state regulation (not an instance kind)",
                  "[reward]", 'kind = "tracking"', f"scale = {_toml_value(float(p['reward_scale']))}"]
    elif "clip" in p:  # thm3.binning
        S = scipy.linalg.solve_discrete_lyapunov(A + B @ K, p["noise_std"] ** 2 * np.eye(A.shape[0]))
        system.append(f"x0_cov = {_toml_value((S + S.T) / 2)}")
        expert = ["[expert]", 'kind = "linear"', f"K = {_toml_value(K)}"]
        quant = ["[quantizer]", 'kind = "binning"', f"low = {_toml_value(-float(p['clip']))}",
                 f"high = {_toml_value(float(p['clip']))}", f"bins = {int(round(p['clip'] / p['eps_q']))}"]
        reward = ["# the cell's reward averages action tracking and state regulation (not an instance kind)",
                  "[reward]", 'kind = "tracking"', f"scale = {_toml_value(float(p['reward_scale']))}"]
    else:  # thm2.gaussian
        system.append(f"x0_std = {_toml_value(float(p['x0_std']))}")
        expert = ["[expert]", 'kind = "linear"', f"K = {_toml_value(K)}",
                  f"noise_std = {_toml_value(float(p['sigma']))}"]
        quant = ["[quantizer]", 'kind = "binning"', f"low = {_toml_value(float(p['low']))}",
                 f"high = {_toml_value(float(p['high']))}", f"bins = {int(p['bins'])}"]
        reward = ["[reward]", f"kind = {_toml_value(p.get('reward', 'regulation'))}",
                  f"scale = {_toml_value(float(p['reward_scale']))}"]
    run = ["[run]", f"horizon = {int(p['H'])}", f"n = {int(p['n'])}", f"delta = {_toml_value(float(p['delta']))}",
           "seed = 0"]
    lines = [f"name = {_toml_value(claim_id + '.worst')}", f"description = {_toml_value(desc)}", ""]
    for block in (system, expert, quant, reward, run):
        lines += block + [""]
    return "\n".join(lines)
