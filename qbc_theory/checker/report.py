r"""The assumption checker: which of Theorems 2, 3, 6 and 7 apply to an instance, and why.

:func:`check` computes, for one :class:`~qbc_theory.model.instance.Instance`,

- stability (:mod:`qbc_theory.checker.stability`): spectral radius, certified Gamma, ``(C, eta)`` with the
  method that produced them, the expert's closed-loop spectral radius;
- the quantization error (:func:`quantization_error`): the sup error of binning and whether the
  expert ever leaves the clip range along its rollouts (which voids it), and the in-distribution
  error with a confidence interval;
- smoothness (:mod:`qbc_theory.checker.smoothness`): the Gaussian TVC modulus, Proposition 5's binning
  modulus, and an empirical modulus audit with a witness pair;
- for each theorem: whether it applies, the reasons with their numbers, and the bound's value at
  the instance's ``H, n, delta`` (from :mod:`qbc_theory.theory.bounds`).

The result's :meth:`AssumptionReport.to_dict` is the ``qbc check --json`` shape of DESIGN.md
section 5 (with extra keys).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.stats

from ..model.validation import as_int, as_real, reject_unknown_kwargs
from ..model.errors import QbcError
from ..model.experts import LinearExpert
from ..model.quantizers import DCTBinning, TrapLoopQuantizer, UniformBinning
from ..model.quantizers import quantize_actions
from .smoothness import binning_rtvc, gaussian_tvc, modulus_audit
from .stability import analyze_stability

__all__ = [
    "QuantizationError",
    "quantization_error",
    "clip_exit_bound",
    "TheoremVerdict",
    "AssumptionReport",
    "check",
]

_UPPER = ("thm2", "thm3", "thm7")
_THEOREM_NAMES = {"thm2": "Theorem 2", "thm3": "Theorem 3", "thm6": "Theorem 6", "thm7": "Theorem 7"}
# |Pi| and |M| default to the size of a radius-2 grid per free entry, the convention of
# learning.gain_grid's default class (5 candidates per entry of K, resp. of [A B]).
_GRID_PER_ENTRY = 5


def _finite(v):
    """A float for JSON, or ``None`` for ``None``/non-finite values."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _expert_rollouts(system, expert, horizon: int, trajectories: int, rng: np.random.Generator):
    """States ``(H, N, dx)`` and raw actions ``(H, N, du)`` of ``trajectories`` expert rollouts."""
    x = system.sample_x0(rng, trajectories)
    w = system.sample_noise(rng, horizon, trajectories)
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
    if not isinstance(expert, LinearExpert) or not isinstance(quantizer, UniformBinning):
        return None
    horizon = as_int("horizon", horizon, minimum=1)
    K, s2 = expert.K, expert.noise_std**2
    Acl = system.A + system.B @ K
    cov = np.array(system.x0_cov, dtype=float)
    total = 0.0
    for _ in range(horizon):
        S = K @ cov @ K.T + s2 * np.eye(K.shape[0])
        sd = np.sqrt(np.clip(np.diag(S), 0.0, None))
        with np.errstate(divide="ignore"):
            lo = np.where(sd > 0, scipy.stats.norm.cdf(quantizer.low / np.where(sd > 0, sd, 1.0)),
                          (quantizer.low > 0).astype(float))
            hi = np.where(sd > 0, scipy.stats.norm.sf(quantizer.high / np.where(sd > 0, sd, 1.0)),
                          (quantizer.high < 0).astype(float))
        total += float(lo.sum() + hi.sum())
        cov = Acl @ cov @ Acl.T + s2 * system.B @ system.B.T + system.noise_cov
    return min(total, 1.0)


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


@dataclass(frozen=True)
class TheoremVerdict:
    r"""Whether one theorem applies to an instance, why, and its bound's value.

    Attributes
    ----------
    key : str
        ``"thm2"``, ``"thm3"``, ``"thm6"`` or ``"thm7"``.
    kind : str
        ``"upper"`` or ``"lower"`` (Theorem 6 is a price, i.e. a lower bound on the regret).
    applies : bool
    reasons : tuple of str
        Every assumption, whether it holds or fails, with the numbers.
    bound : float or None
        The bound at the instance's ``H, n, delta`` with the constants filled in.
    bound_name : str or None
        Name in :mod:`qbc_theory.theory.bounds`.
    bound_note : str or None
        Why ``bound`` is ``None``, or how it was evaluated.
    values : dict
        The symbol values passed to the bound.

    References
    ----------
    Cao & Xie 2026, Theorems 2, 3, 6 and 7.
    """

    key: str
    kind: str
    applies: bool
    reasons: tuple
    bound: float | None
    bound_name: str | None
    bound_note: str | None
    values: dict

    def to_dict(self) -> dict:
        """JSON-ready: ``applies``, ``reasons``, ``bound`` plus details."""
        return {"applies": self.applies, "reasons": list(self.reasons), "bound": _finite(self.bound),
                "kind": self.kind, "bound_name": self.bound_name, "bound_note": self.bound_note,
                "values": {k: _finite(v) for k, v in self.values.items()}}


@dataclass(frozen=True)
class AssumptionReport:
    r"""The assumption report of :func:`check` (``qbc check``).

    Attributes
    ----------
    instance : dict
    stability : StabilityReport
    expert : dict
        ``deterministic``, ``lipschitz``, ``closed_loop_spectral_radius``.
    quantizer : dict
        ``kind``, ``eps_q``, ``eps_q_kind`` and the details of :class:`QuantizationError`.
    smoothness : dict
        ``tvc``, ``rtvc``, ``eps_prime``, ``delta0``, ``h2_term_vanishes`` and the audit.
    theorems : dict of str to TheoremVerdict
    warnings : tuple of str
    options : dict
        The options used (seed, trajectories, pairs, Pi, M, k, ...).

    References
    ----------
    Cao & Xie 2026, Theorems 2, 3, 6 and 7; DESIGN.md section 5.
    """

    instance: dict
    stability: object
    expert: dict
    quantizer: dict
    smoothness: dict
    theorems: dict
    warnings: tuple
    options: dict

    @property
    def upper_bound_applies(self) -> bool:
        """Whether the assumptions of at least one upper bound (Theorem 2, 3 or 7) hold."""
        return any(self.theorems[k].applies for k in _UPPER if k in self.theorems)

    @property
    def exit_code(self) -> int:
        """``0`` if some upper bound applies, else ``1`` (the CLI contract of ``qbc check``)."""
        return 0 if self.upper_bound_applies else 1

    def to_dict(self) -> dict:
        """The ``qbc check --json`` object (DESIGN.md section 5), JSON-ready."""
        return {"instance": self.instance, "stability": self.stability.to_dict(), "expert": dict(self.expert),
                "quantizer": dict(self.quantizer), "smoothness": dict(self.smoothness),
                "theorems": {k: v.to_dict() for k, v in self.theorems.items()},
                "upper_bound_applies": self.upper_bound_applies, "warnings": list(self.warnings),
                "options": dict(self.options)}

    def format_text(self) -> str:
        """A human-readable table of the report."""
        st = self.stability
        name = self.instance.get("name", "instance")

        def num(v, fmt=".4g"):
            return "-" if v is None else (format(v, fmt) if isinstance(v, float) else str(v))

        lines = [f"qbc check: {name}", "", "stability"]
        lines.append(f"  spectral radius rho(A)      {num(st.spectral_radius)}")
        lines.append(f"  globally P-IISS             {'yes' if st.globally_p_iiss else 'no'}")
        lines.append(f"  Gamma = sum ||A^j B||       {num(st.Gamma)}"
                     + (f"  (tail bound {st.gain_sum.tail_bound:.2g})" if st.gain_sum else ""))
        if st.horizon_gain is not None:
            lines.append(f"  {'Gamma_H (H=%s)' % self.instance.get('horizon'):<28}{num(st.horizon_gain)}")
        lines.append(f"  C, eta                      {num(st.C)}, {num(st.eta)}   [{st.method}]")
        if st.exact is not None:
            lines.append(f"  C at this eta: exact {num(st.exact.C)}, LMI "
                         f"{num(None if st.lmi is None else st.lmi.C)}, Lyapunov {num(st.lyapunov.C)}")
        e = self.expert
        lines += ["", "expert",
                  f"  deterministic               {'yes' if e['deterministic'] else 'no'}",
                  f"  Lipschitz constant L        {num(e['lipschitz'])}",
                  f"  closed loop rho(A + BK)     {num(e['closed_loop_spectral_radius'])}"]
        q = self.quantizer
        lines += ["", "quantizer",
                  f"  kind                        {q['kind']}",
                  f"  eps_q                       {num(q['eps_q'])}  ({q['eps_q_kind']})",
                  f"  in-distribution error       {num(q['in_distribution'])}  "
                  f"CI [{num(q['ci'][0])}, {num(q['ci'][1])}]"]
        if q.get("out_of_range_fraction") is not None:
            lines.append(f"  actions out of clip range   {num(q['out_of_range_fraction'])}"
                         f"  (union bound {num(q.get('exit_bound'))})")
        s = self.smoothness
        lines += ["", "smoothness",
                  f"  TVC                         {'yes' if s['tvc'] else 'no'}"
                  + (f"  kappa(r) = {s['kappa_slope']:.4g} r" if s.get("kappa_slope") is not None else ""),
                  f"  RTVC                        {'yes' if s['rtvc'] else 'no'}  ({s.get('rtvc_status')})",
                  f"  eps', delta_0               {num(s['eps_prime'])}, {num(s['delta0'])}",
                  f"  H^2 term vanishes           {num(s['h2_term_vanishes'])}"]
        audit = s.get("audit")
        if audit:
            claimed = ("no modulus claimed" if audit["violation"] is None else
                       f"claimed modulus violated: {'yes' if audit['violation'] else 'no'}")
            lines.append(f"  audit                       {audit['total_pairs']} pairs, {claimed}, "
                         f"smallest r with W=1: {num(audit['min_radius_w1'])}")
            if audit.get("witness"):
                wt = audit["witness"]
                lines.append(f"  witness                     x={wt['x']}, x'={wt['x_prime']}, r={wt['r']:.3g}, "
                             f"W={wt['w']:.3g}")
        lines += ["", "theorems"]
        for key, v in self.theorems.items():
            tag = "applies" if v.applies else "does not apply"
            b = "" if v.bound is None else f"   bound {v.bound:.4g}"
            lines.append(f"  {_THEOREM_NAMES[key]} ({v.kind}): {tag}{b}")
            lines += [f"    - {r}" for r in v.reasons]
            if v.bound is None and v.bound_note:
                lines.append(f"    (bound: {v.bound_note})")
        if self.warnings:
            lines += ["", "warnings"] + [f"  ! {w}" for w in self.warnings]
        lines += ["", "upper bound applies: " + ("yes (exit 0)" if self.upper_bound_applies else "no (exit 1)")]
        return "\n".join(lines) + "\n"


# --- bound values --------------------------------------------------------------------------------

def _bound_value(name: str, values: dict):
    """``(value, note)`` of bound ``name`` from :mod:`qbc_theory.theory.bounds` at the given symbol values.

    Only the symbols the bound needs are passed; a missing symbol or a missing bound library gives
    ``None`` with the reason.
    """
    try:
        from ..theory import bounds
    except ImportError:
        return None, "the bound library qbc_theory.theory.bounds is not available"
    try:
        b = bounds.get(name, form="explicit")
    except (KeyError, ValueError, QbcError) as exc:
        return None, f"bound {name!r} not in the library ({exc})"
    missing = [s for s in b.symbols if s not in values or values[s] is None]
    if missing:
        return None, f"{name} needs {', '.join(missing)}, which the checker does not determine"
    try:
        val = float(np.asarray(b.evaluate(**{s: values[s] for s in b.symbols})))
    except (QbcError, ValueError, TypeError) as exc:
        return None, f"{name}: {exc}"
    return val, f"{name} (explicit form) at " + ", ".join(f"{s}={values[s]:.4g}" for s in b.symbols)


# --- the checker ---------------------------------------------------------------------------------

def _stability_reason(st) -> str:
    if st.globally_p_iiss:
        return (f"globally P-EIISS holds: rho(A)={st.spectral_radius:.4g} < 1, ||A^j B|| <= C eta^j with "
                f"C={st.C:.4g}, eta={st.eta:.4g} ({st.method})")
    return st.reason


def check(instance, **options) -> AssumptionReport:
    r"""Check the assumptions of Theorems 2, 3, 6 and 7 for an instance.

    .. math::

        \text{Thm 2: } H\sqrt{\log(|\Pi|/\delta)/n} + H^2\varepsilon_q,\quad
        \text{Thm 3: } H\log(|\Pi|/\delta)/n + H^2\kappa(\gamma((k+1)\varepsilon_q)) + H(\ldots),\quad
        \text{Thm 7: } H\big[\sqrt{(\log(|\Pi|/\delta) + \log(|M|/\delta))/n} + \varepsilon_q\big].

    Parameters
    ----------
    instance : Instance
    trajectories : int
        Expert rollouts for ``eps_q`` and the audit's states (default 400).
    pairs : int
        Audit pairs per radius (default 128).
    audit : bool
        Run the empirical modulus audit (default True).
    k : float, optional
        RTVC multiplier ``eps' = k eps_q`` (default: Proposition 5's automatic choice for binning,
        3 otherwise).
    Pi, M : int, optional
        ``|Pi|`` and ``|M|``; default ``5^(du dx)`` and ``5^(dx (dx + du))`` (a radius-2 grid per free
        entry, as :func:`qbc_theory.engine.learning.gain_grid`), stated in the reasons.
    eta : float, optional
        Fix the P-EIISS rate (default: chosen by :func:`~qbc_theory.checker.stability.analyze_stability`).
    stability_method : {"exact", "lmi", "lyapunov"}
        Which constant is reported as C (default ``"exact"``).
    lmi : bool
        Also solve the LMI (default True).
    seed : int, optional
        Root seed (default ``instance.seed``); rollouts and audit use spawned children.
    level : float
        CI level for ``eps_q`` (default 0.95).

    Returns
    -------
    AssumptionReport
        Unstable or marginal systems are reported, never raised.

    Raises
    ------
    TypeError
        On unknown options.
    DimensionError
        On invalid option values.

    References
    ----------
    Cao & Xie 2026, Theorems 2, 3, 6, 7, Proposition 5 and Definitions 3-4.
    """
    trajectories = as_int("trajectories", options.pop("trajectories", 400), minimum=2)
    pairs = as_int("pairs", options.pop("pairs", 128), minimum=1)
    do_audit = bool(options.pop("audit", True))
    k_opt = options.pop("k", None)
    Pi = options.pop("Pi", None)
    M = options.pop("M", None)
    eta = options.pop("eta", None)
    method = options.pop("stability_method", "exact")
    use_lmi = bool(options.pop("lmi", True))
    seed = as_int("seed", options.pop("seed", instance.seed), minimum=0)
    level = as_real("level", options.pop("level", 0.95), low=0, high=1, open_low=True, open_high=True)
    reject_unknown_kwargs("check", options)

    system, expert, quantizer = instance.system, instance.expert, instance.quantizer
    H, n, delta = instance.horizon, instance.n, instance.delta
    dx, du = system.dx, system.du
    warnings: list[str] = []
    pi_assumed = Pi is None
    Pi = _GRID_PER_ENTRY ** (du * dx) if Pi is None else as_int("Pi", Pi, minimum=1)
    m_assumed = M is None
    M = _GRID_PER_ENTRY ** (dx * (dx + du)) if M is None else as_int("M", M, minimum=1)
    rng_roll, rng_audit = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))

    # stability
    st = analyze_stability(system.A, system.B, H=H, eta=eta, method=method, lmi=use_lmi)
    warnings += list(st.notes)
    rho_cl = float(expert.closed_loop_spectral_radius(system))
    if not rho_cl < 1:
        warnings.append(f"the expert's closed loop is not stable: rho(A + BK)={rho_cl:.4g} >= 1 (its states grow; "
                        "P-IISS is open-loop and does not depend on it, but rollouts and eps_q do)")
    expert_d = {"deterministic": bool(expert.deterministic), "lipschitz": float(expert.lipschitz),
                "closed_loop_spectral_radius": _finite(rho_cl), "noise_std": float(expert.noise_std),
                "kind": expert.to_dict().get("kind")}

    # quantization error
    states, actions = _expert_rollouts(system, expert, H, trajectories, rng_roll)
    # Magnitudes beyond 1e100 count as overflow: quantizing them would overflow in the cell arithmetic.
    with np.errstate(invalid="ignore"):
        ok_steps = (np.all(np.abs(actions) < 1e100, axis=(1, 2)) & np.all(np.abs(states) < 1e100, axis=(1, 2)))
    if not ok_steps.all():
        first_bad = int(np.argmin(ok_steps))
        warnings.append(f"the expert's rollouts overflow at step {first_bad + 1} of H={H} (rho(A + BK)={rho_cl:.4g}); "
                        f"eps_q and the audit use the first {first_bad} steps only")
        states, actions = states[:first_bad], actions[:first_bad]
    qe = _error_from_actions(quantizer, actions, system, expert, level)
    if qe.left_range:
        warnings.append(f"the expert leaves the binning's clip range in {qe.out_of_range_fraction:.3%} of rollout "
                        f"steps (largest error {qe.max_error:.4g} > sup {qe.sup:.4g}): the sup error is void, "
                        "eps_q is the in-distribution error")
    elif qe.exit_bound is not None and qe.exit_bound > 0:
        warnings.append(f"no rollout left the clip range, but a linear expert's Gaussian actions are unbounded: "
                        f"P(leave within H) <= {qe.exit_bound:.3g} (union bound)")
    eps_q = qe.value
    quant_d = {"kind": getattr(quantizer, "kind", type(quantizer).__name__), "eps_q": eps_q, "eps_q_kind": qe.kind,
               **{k: v for k, v in qe.to_dict().items() if k not in ("value", "kind")}}

    # smoothness
    chunked = _is_chunked(quantizer)
    binning = _is_binning(quantizer)
    L = float(expert.lipschitz)
    flat_states = states.reshape(-1, dx)
    smooth = {"tvc": False, "rtvc": False, "eps_prime": None, "delta0": None, "h2_term_vanishes": None,
              "kappa_slope": None, "rtvc_status": "not-checked", "tvc_reason": "", "rtvc_reason": "",
              "audit": None, "binning_rtvc": None}
    audit = None
    prop5 = None
    if chunked:
        smooth["rtvc_reason"] = smooth["tvc_reason"] = (
            f"chunk tokenizer (chunk {quantizer.chunk}): Definition 4 is for per-step policies; not checked")
        warnings.append(smooth["rtvc_reason"])
    elif not expert.deterministic:
        tvc = gaussian_tvc(L, expert.noise_std)
        smooth.update(tvc=True, rtvc=True, eps_prime=0.0, kappa_slope=tvc.slope, rtvc_status="certified",
                      tvc_reason=(f"Gaussian expert: TV <= erf(L r/(2 sqrt2 sigma)) <= kappa r with "
                                  f"kappa = L/(sqrt2 sigma) = {tvc.slope:.4g} (L={L:.4g}, sigma={expert.noise_std:.4g});"
                                  " any quantizer keeps it"),
                      rtvc_reason="TVC implies eps'-RTVC for every eps' >= 0")
        if do_audit and isinstance(quantizer, UniformBinning):
            audit = modulus_audit(expert, quantizer, flat_states, rng_audit, eps_prime=0.0, pairs=pairs,
                                  kappa=tvc.kappa, claimed=f"kappa(r) = {tvc.slope:.4g} r")
            if audit.violation:
                smooth.update(tvc=False, rtvc=False, rtvc_status="violated")
                warnings.append("the audit found a pair violating the Gaussian TVC modulus: "
                                f"{audit.witness}")
    else:
        if binning:
            Gamma = st.Gamma
            prop5 = binning_rtvc(L, quantizer.eps_sup, k=k_opt, Gamma=Gamma)
            smooth.update(rtvc=True, eps_prime=prop5.eps_prime, delta0=_finite(prop5.delta0),
                          h2_term_vanishes=prop5.h2_term_vanishes, rtvc_status="certified",
                          binning_rtvc=prop5.to_dict(),
                          rtvc_reason=(f"Proposition 5 (ii): binning with cell error {quantizer.eps_sup:.4g} and an "
                                       f"L={L:.4g} Lipschitz expert is eps'-RTVC with eps' = k eps_q = "
                                       f"{prop5.eps_prime:.4g} (k={prop5.k:.4g}, {prop5.k_rule}), kappa(r) = 1{{r > "
                                       f"delta0}}, delta0 = {prop5.delta0:.4g}"))
            if L == 0:
                smooth.update(tvc=True, kappa_slope=0.0, tvc_reason="constant expert: q#pi* is constant")
            else:
                smooth["tvc_reason"] = ("deterministic expert: q#pi* jumps by a cell at every token boundary "
                                        "(TV = 1 at arbitrarily small distances), no linear TVC modulus")
            if do_audit:
                audit = modulus_audit(expert, quantizer, flat_states, rng_audit, eps_prime=prop5.eps_prime,
                                      pairs=pairs, kappa=prop5.kappa, delta0=prop5.delta0,
                                      claimed=f"kappa(r) = 1{{r > {prop5.delta0:.4g}}}")
                if audit.violation:
                    smooth.update(rtvc=False, rtvc_status="violated")
                    warnings.append(f"the audit contradicts Proposition 5's modulus: {audit.witness}")
        else:
            k = 3.0 if k_opt is None else as_real("k", k_opt, positive=True)
            eps_prime = k * eps_q
            smooth.update(eps_prime=eps_prime, rtvc_status="not-certified",
                          tvc_reason="deterministic expert through a learned quantizer: no TVC guarantee",
                          rtvc_reason=(f"learned quantizer: Proposition 5 (i) says a general learned quantizer "
                                       f"applied to a deterministic expert breaks RTVC; eps' = {k:g} eps_q = "
                                       f"{eps_prime:.4g}"))
            if do_audit:
                audit = modulus_audit(expert, quantizer, flat_states, rng_audit, eps_prime=eps_prime, pairs=pairs)
                if audit.min_radius_w1 is not None:
                    smooth.update(rtvc_status="violated")
                    smooth["rtvc_reason"] += (f"; the audit found W = 1 at distance r = {audit.min_radius_w1:.3g} "
                                              f"(actions {audit.witness['actions']}), so no eps'-RTVC modulus has "
                                              f"kappa < 1 beyond r = {audit.min_radius_w1:.3g}")
                else:
                    smooth["rtvc_reason"] += (f"; the audit found no pair with W = 1 among {audit.total_pairs} "
                                              "pairs (not a proof of RTVC)")
    if audit is not None:
        smooth["audit"] = audit.to_dict()

    # theorems
    values = {"H": float(H), "n": float(n), "delta": float(delta), "eps_q": float(eps_q), "Pi": float(Pi),
              "M": float(M), "C": st.C, "eta": st.eta, "Gamma": st.Gamma, "L": L,
              "L_r": float(instance.reward.lipschitz), "kappa": smooth["kappa_slope"],
              "sigma_pi": float(expert.noise_std) if expert.noise_std > 0 else None,
              "k": prop5.k if prop5 is not None else None, "eps_prime": smooth["eps_prime"], "dx": float(dx),
              "du": float(du)}
    pi_note = (f"|Pi| = {Pi} assumed (5 candidates per entry of K, as learning.gain_grid; pass Pi=)" if pi_assumed
               else f"|Pi| = {Pi}")
    m_note = (f"|M| = {M} assumed (5 candidates per entry of [A B]; pass M=)" if m_assumed else f"|M| = {M}")
    stab = _stability_reason(st)
    per_step_note = (f"the chunk tokenizer (chunk {quantizer.chunk}) is not a per-step quantizer; the theorem is "
                     "stated for per-step quantized policies") if chunked else None
    eps_note = (f"eps_q = {eps_q:.4g} ({qe.kind}"
                + (f"; in-distribution {qe.mean:.4g}, {level:.0%} CI [{qe.ci[0]:.4g}, {qe.ci[1]:.4g}])"
                   if qe.kind == "in_distribution" else ")"))
    theorems = {}

    def verdict(key, kind, conds, reasons_extra, bound_name, vals):
        ok = all(c for c, _ in conds)
        reasons = tuple(("holds: " if c else "fails: ") + r for c, r in conds) + tuple(reasons_extra)
        bound, note = (None, None)
        if bound_name is not None and ok:
            bound, note = _bound_value(bound_name, vals)
            if bound is not None and kind == "upper" and bound >= H:
                reasons += (f"the bound {bound:.4g} is at least H = {H}, the trivial bound on the regret (vacuous "
                            "at these H, n, eps_q)",)
        elif bound_name is not None:
            note = "not evaluated: the theorem's assumptions do not hold"
        theorems[key] = TheoremVerdict(key=key, kind=kind, applies=bool(ok), reasons=reasons, bound=bound,
                                       bound_name=bound_name, bound_note=note, values=vals)

    # Theorem 2
    conds = [(st.globally_p_iiss, stab),
             (smooth["tvc"], ("q#pi* is TVC with a linear modulus: " if smooth["tvc"]
                              else "q#pi* must be TVC with a linear modulus: ") + smooth["tvc_reason"])]
    if chunked:
        conds.append((False, per_step_note))
    verdict("thm2", "upper", conds,
            (eps_note, pi_note, "assumed: q#pi* in Pi and every policy in Pi is TVC with a linear modulus "
             "(a property of the learner's class)"), "thm2", values)

    # Theorem 3
    sup_ok = binning and qe.kind == "sup"
    conds = [(binning, "q is a binning quantizer" if binning else
              f"q must be a binning quantizer, found {quant_d['kind']}"),
             (sup_ok or not binning, f"sup error eps_q = {qe.sup:.4g} holds along all {trajectories} rollouts"
              if sup_ok else (f"the sup error is void: {qe.out_of_range_fraction:.3%} of rollout actions leave the "
                              "clip range" if binning else "no sup error for this quantizer")),
             (expert.deterministic, "the expert is deterministic" if expert.deterministic else
              f"Theorem 3 is for a deterministic quantized expert, found a Gaussian expert (sigma="
              f"{expert.noise_std:g}; use Theorem 2)"),
             (st.globally_p_iiss, (f"globally P-IISS with max-type gamma(r) = Gamma r, Gamma = {st.Gamma:.4g}"
                                   if st.globally_p_iiss else st.reason)),
             (smooth["rtvc"] and prop5 is not None,
              smooth["rtvc_reason"] if prop5 is not None or expert.deterministic else
              "q#pi* must be k eps_q-RTVC through Proposition 5 (a deterministic expert and binning)")]
    conds = [c for i, c in enumerate(conds) if i != 1 or binning]
    extra = [pi_note, "assumed: q#pi* in Pi and every policy in Pi is k eps_q-RTVC"]
    thm3_vals = dict(values)
    if prop5 is not None and st.globally_p_iiss:
        k3 = prop5.k
        r3 = st.Gamma * (k3 + 1) * prop5.eps_q
        kap = float(prop5.kappa(r3))
        thm3_vals["kappa_at_gamma"] = kap
        extra.insert(0, (f"H^2 term {'vanishes' if prop5.h2_term_vanishes else 'does not vanish'}: "
                         f"L Gamma (k+1) = {L * st.Gamma * (k3 + 1):.4g} vs k - 2 = {k3 - 2:.4g}; "
                         f"kappa(Gamma (k+1) eps_q) = kappa({r3:.4g}) = {kap:g} (delta0 = {prop5.delta0:.4g})"
                         + ("" if prop5.k_min is not None else f"; L Gamma = {L * st.Gamma:.4g} >= 1, so no k makes it "
                            "vanish")))
    if chunked:
        conds.append((False, per_step_note))
    # With Proposition 5's modulus kappa(r) = 1{r > delta0} the H^2 coefficient is the indicator of
    # L Gamma (k+1) >= k - 2, which is what the library's thm3_binning encodes; "thm3" wants a linear modulus.
    verdict("thm3", "upper", conds, extra, "thm3_binning" if prop5 is not None else "thm3", thm3_vals)

    # Theorem 6
    trap = isinstance(quantizer, TrapLoopQuantizer)
    learned = getattr(quantizer, "eps_sup", None) is None
    violated = smooth["rtvc_status"] == "violated"
    conds = [(expert.deterministic, "deterministic Lipschitz expert" if expert.deterministic
              else "Theorem 6 concerns a deterministic expert, found a Gaussian one"),
             (learned, f"learned quantizer without a sup error ({quant_d['kind']})" if learned else
              f"{quant_d['kind']} has a sup error: Proposition 5 makes it RTVC, Theorem 6's failure needs a "
              "non-smooth quantizer"),
             (violated, (f"q#pi* violates RTVC: W = 1 at r = {audit.min_radius_w1:.3g}, witness "
                         f"{audit.witness['x']} vs {audit.witness['x_prime']}") if violated and audit is not None
              else "no RTVC violation was found"),
             (st.globally_p_iiss, stab),
             # Theorem 6 shows that such instances exist; an RTVC violation alone does not give its price
             # (a nearest-codeword k-means jumps by its codeword spacing at every cell boundary, so it always
             # fails RTVC at eps' = 3 x its average error, yet its regret can be of order H eps_q)
             (trap, "the instance is Theorem 6's construction (the trap quantizer)" if trap else
              "Theorem 6's lower bound is proved for its construction (the trap quantizer), not for every "
              "quantizer that fails RTVC: a price of that kind is possible here but not implied")]
    extra = [eps_note, "Theorem 6 is a price (lower bound on J(pi*) - J(q#pi*) with infinite data), not an upper "
             "bound"]
    thm6_vals = dict(values)
    thm6_name = None
    if trap:
        thm6_name = "thm6_det" if quantizer.variant == "deterministic" else "thm6_noisy"
        # The construction's bound is in its own scale eps (the trap intervals), not the measured eps_q.
        thm6_vals.update(A6=quantizer.A, B6=quantizer.B, k=quantizer.k, eps_q=quantizer.eps)
        extra.append(f"trap-loop construction: A={quantizer.A:g}, B={quantizer.B:g}, k={quantizer.k:g}, "
                     f"eps={quantizer.eps:g}" + (f", d={quantizer.d:g}" if quantizer.d is not None else "")
                     + "; the bound is evaluated at the construction's eps")
    verdict("thm6", "lower", conds, extra, thm6_name, thm6_vals)

    # Theorem 7
    conds = [(st.globally_p_iiss, stab)]
    if chunked:
        conds.append((False, per_step_note))
    verdict("thm7", "upper", conds,
            (eps_note, pi_note, m_note, "assumed: q#pi* in Pi and T o rho in M (realizable policy and model classes)",
             "no smoothness needed; the statement does not restrict the transition noise"), "thm7", values)

    opts = {"seed": seed, "trajectories": trajectories, "pairs": pairs, "audit": do_audit, "k": k_opt, "Pi": Pi,
            "M": M, "stability_method": method, "lmi": use_lmi, "level": level}
    return AssumptionReport(instance=instance.to_dict(), stability=st, expert=expert_d, quantizer=quant_d,
                            smoothness=smooth, theorems=theorems, warnings=tuple(warnings), options=opts)
