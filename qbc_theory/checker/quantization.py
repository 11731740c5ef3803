"""The quantization error of an instance: eps_q in distribution (along expert rollouts), the chunked
tokenizers' errors, and a bound on the probability that the expert leaves a binning quantizer's clip
range.

Part of the assumption checker (:mod:`qbc_theory.checker.report` re-exports every name).

References
----------
Cao & Xie 2026, eq. (3) (sup error) and Section 2 (in-distribution error).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.stats

from ..model.validation import as_int, as_real, reject_unknown_kwargs
from ..model.experts import LinearExpert
from ..model.quantizers import DCTBinning, UniformBinning
from ..model.quantizers import quantize_actions

__all__ = [
    "QuantizationError",
    "quantization_error",
    "clip_exit_bound",
]


def _finite(v):
    """A float for JSON, or ``None`` for ``None``/non-finite values."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _expert_rollouts(system, expert, horizon: int, trajectories: int, rng: np.random.Generator):
    """States ``(H, N, dx)`` and raw actions ``(H, N, du)`` of ``trajectories`` expert rollouts."""
    x = system.sample_x0(rng, trajectories)
    if getattr(system, "noisy", True):
        w = system.sample_noise(rng, horizon, trajectories)
    else:
        # zero noise: skip the (H N dx) x dx product with a zero factor, but draw the same normals so
        # the expert's draws z below are those of any other run with this seed
        rng.standard_normal((horizon, trajectories, system.dx))
        w = [None] * horizon
    z = rng.standard_normal((horizon, trajectories, system.du))
    states = np.empty((horizon, trajectories, system.dx))
    actions = np.empty((horizon, trajectories, system.du))
    # An unstable closed loop may overflow on long horizons; the caller checks finiteness.
    with np.errstate(over="ignore", invalid="ignore"):
        for h in range(horizon):
            states[h] = x
            actions[h] = expert.act(x, z[h])
            x = system.step(x, actions[h], w[h])
    return states, actions


def _is_chunked(quantizer) -> bool:
    return isinstance(quantizer, DCTBinning) and quantizer.chunk > 1


def _is_binning(quantizer) -> bool:
    """Binning in the sense of Theorem 3: a per-step quantizer with a sup error on its range."""
    return isinstance(quantizer, UniformBinning) or (isinstance(quantizer, DCTBinning) and quantizer.chunk == 1)


def clip_exit_bound(system, expert, quantizer, horizon: int) -> float | None:
    r"""Union bound on the probability that a linear expert's action ever leaves a binning's range.

    For ``x+ = A x + B u + w``, ``u = K x + sigma z`` and ``x_1 ~ N(0, Sigma_1)`` the action at step
    ``h`` is ``N(0, S_h)`` with ``S_h = K Sigma_h K^T + sigma^2 I`` and
    ``Sigma_{h+1} = (A + BK) Sigma_h (A + BK)^T + sigma^2 B B^T + Sigma_w``, so

    .. math::

        \Pr(\exists h, c:\; u_{h,c} \notin [\mathrm{low}_c, \mathrm{high}_c]) \le
        \sum_{h=1}^{H}\sum_{c} \Big[\Phi\Big(\frac{\mathrm{low}_c}{s_{h,c}}\Big)
        + 1 - \Phi\Big(\frac{\mathrm{high}_c}{s_{h,c}}\Big)\Big].

    Parameters
    ----------
    system : LinearSystem
    expert : LinearExpert
    quantizer : UniformBinning
    horizon : int

    Returns
    -------
    float or None
        The bound (capped at 1), or ``None`` when the expert is not linear or the quantizer has no
        clip range.

    References
    ----------
    Cao & Xie 2026, eq. (3) (binning's sup error holds on its range only).
    """
    if (not isinstance(expert, LinearExpert) or not isinstance(quantizer, UniformBinning)
            or getattr(system, "kind", "linear") != "linear"):
        return None
    horizon = as_int("horizon", horizon, minimum=1)
    # diag(S_h) from G_i = K (A + BK)^i and factors F F^T of Sigma_1 and of the per-step input
    # Q = sigma^2 B B^T + Sigma_w: diag(S_h) = rows|G_{h-1} F_1|^2 + sum_{i<h-1} rows|G_i F_Q|^2 + sigma^2,
    # so each step costs (du x dx) products instead of propagating the dx x dx covariance.
    K, s2 = expert.K, expert.noise_std**2
    Acl = system.A + system.B @ K
    F1 = _psd_factor(np.asarray(system.x0_cov, dtype=float))
    FQ = np.hstack([expert.noise_std * system.B, _psd_factor(np.asarray(system.noise_cov, dtype=float))])
    variances = np.empty((horizon, K.shape[0]))
    acc = np.zeros(K.shape[0])
    G = K
    for h in range(horizon):
        variances[h] = np.sum((G @ F1) ** 2, axis=1) + acc + s2
        acc = acc + np.sum((G @ FQ) ** 2, axis=1)
        G = G @ Acl
    sd = np.sqrt(np.clip(variances, 0.0, None))
    pos = sd > 0
    safe = np.where(pos, sd, 1.0)
    lo = np.where(pos, scipy.stats.norm.cdf(quantizer.low / safe), (quantizer.low > 0).astype(float))
    hi = np.where(pos, scipy.stats.norm.sf(quantizer.high / safe), (quantizer.high < 0).astype(float))
    return min(float(lo.sum() + hi.sum()), 1.0)


def _psd_factor(S: np.ndarray) -> np.ndarray:
    """``F`` with ``F F^T = S`` for a symmetric positive semidefinite ``S`` (zero columns dropped)."""
    lam, vec = np.linalg.eigh((S + S.T) / 2)
    keep = lam > 0
    return vec[:, keep] * np.sqrt(lam[keep])


@dataclass(frozen=True)
class QuantizationError:
    r"""The quantization error ``eps_q`` of a quantizer for an expert.

    .. math::

        \varepsilon_q^{\sup} = \sup_u \|q(u) - u\| \;\text{(binning, on its range)},\qquad
        \varepsilon_q^{\mathrm{in}} = \frac1H\,\mathbb{E}\sum_{h=1}^H \|u_h - q(u_h)\|.

    Attributes
    ----------
    sup : float or None
        The quantizer's sup error on its range (``None`` for learned quantizers).
    mean, se : float
        In-distribution error from expert rollouts and its standard error (over trajectories).
    ci : (float, float)
        Normal-approximation confidence interval at ``level``.
    level : float
    trajectories, horizon : int
    max_error : float
        Largest per-step ``||u_h - q(u_h)||`` seen.
    out_of_range_fraction : float or None
        Fraction of rollout actions outside a binning's clip range (``None`` without a range).
    exit_bound : float or None
        :func:`clip_exit_bound` (linear experts and UniformBinning only).
    kind : str
        ``"sup"`` when the sup error holds along every rollout, else ``"in_distribution"``.
    value : float
        The ``eps_q`` used downstream: ``sup`` if ``kind == "sup"``, else ``mean``.

    References
    ----------
    Cao & Xie 2026, eq. (3) and Section 2.
    """

    sup: float | None
    mean: float
    se: float
    ci: tuple
    level: float
    trajectories: int
    horizon: int
    max_error: float
    out_of_range_fraction: float | None
    exit_bound: float | None
    kind: str
    value: float

    @property
    def left_range(self) -> bool | None:
        """Whether some rollout action left the clip range (``None`` without a range)."""
        return None if self.out_of_range_fraction is None else self.out_of_range_fraction > 0

    def to_dict(self) -> dict:
        """JSON-ready description."""
        return {"value": self.value, "kind": self.kind, "sup": self.sup, "in_distribution": self.mean,
                "se": self.se, "ci": list(self.ci), "level": self.level, "trajectories": self.trajectories,
                "horizon": self.horizon, "max_error": self.max_error,
                "out_of_range_fraction": self.out_of_range_fraction, "left_range": self.left_range,
                "exit_bound": self.exit_bound}


def _chunk_errors(quantizer: DCTBinning, actions: np.ndarray) -> np.ndarray:
    """Per-trajectory ``(1/H) sum_chunks ||U_c - q(U_c)||_F`` for a chunk tokenizer (H a multiple of T)."""
    H, N, du = actions.shape
    T = quantizer.chunk
    usable = (H // T) * T
    chunks = actions[:usable].reshape(H // T, T, N, du).transpose(0, 2, 1, 3)
    err = np.linalg.norm((chunks - quantizer(chunks)).reshape(H // T, N, -1), axis=-1)
    return err.sum(axis=0) / H, err


def _error_from_actions(quantizer, actions: np.ndarray, system, expert, level: float) -> QuantizationError:
    H, N, _ = actions.shape
    if _is_chunked(quantizer):
        per_traj, steps = _chunk_errors(quantizer, actions)
    else:
        steps = np.linalg.norm(actions - quantize_actions(quantizer, actions), axis=-1)
        per_traj = steps.mean(axis=0)
    mean = float(per_traj.mean())
    se = float(per_traj.std(ddof=1) / math.sqrt(N)) if N > 1 else 0.0
    zq = float(scipy.stats.norm.ppf(0.5 + level / 2))
    out = None
    if isinstance(quantizer, UniformBinning):
        out = float(1.0 - quantizer.in_range(actions).mean())
    sup = getattr(quantizer, "eps_sup", None)
    kind = "sup" if sup is not None and not (out is not None and out > 0) else "in_distribution"
    return QuantizationError(sup=sup, mean=mean, se=se, ci=(mean - zq * se, mean + zq * se), level=level,
                             trajectories=N, horizon=H, max_error=float(steps.max()), out_of_range_fraction=out,
                             exit_bound=clip_exit_bound(system, expert, quantizer, H), kind=kind,
                             value=float(sup) if kind == "sup" else mean)


def quantization_error(system, expert, quantizer, horizon, rng, **options) -> QuantizationError:
    r"""Sup and in-distribution quantization error of ``quantizer`` for ``expert`` on ``system``.

    .. math::

        \varepsilon_q = \frac1H\,\mathbb{E}_{P^{\pi^*,T}}\Big[\sum_{h=1}^H \|u_h - q(u_h)\|\Big]
        \quad\text{(estimated over expert rollouts, CI over trajectories)}.

    The sup error of a binning holds only on its clip range: if any rollout action leaves it, the
    result's ``kind`` is ``"in_distribution"`` and the sup value is not used.

    Parameters
    ----------
    system : LinearSystem
    expert : LinearExpert or ArctanExpert
    quantizer : a quantizer of :mod:`qbc_theory.model.quantizers`
        A DCT tokenizer with ``chunk > 1`` is measured per chunk (Frobenius norm, divided by ``H``).
    horizon : int
    rng : numpy.random.Generator
    trajectories : int
        Expert rollouts (default 500).
    level : float
        CI level (default 0.95).

    Returns
    -------
    QuantizationError

    References
    ----------
    Cao & Xie 2026, eq. (3) and Section 2.
    """
    trajectories = as_int("trajectories", options.pop("trajectories", 500), minimum=2)
    level = as_real("level", options.pop("level", 0.95), low=0, high=1, open_low=True, open_high=True)
    reject_unknown_kwargs("quantization_error", options)
    horizon = as_int("horizon", horizon, minimum=1)
    _, actions = _expert_rollouts(system, expert, horizon, trajectories, rng)
    return _error_from_actions(quantizer, actions, system, expert, level)
