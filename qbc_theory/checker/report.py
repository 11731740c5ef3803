r"""The assumption checker: which of Theorems 2, 3, 6 and 7 apply to an instance, and why.

:func:`check` computes, for one :class:`~qbc_theory.model.instance.Instance`,

- stability (:mod:`qbc_theory.checker.stability`): spectral radius, certified Gamma, ``(C, eta)`` with the
  method that produced them, the expert's closed-loop spectral radius;
- the quantization error (:func:`quantization_error`): the sup error of binning and whether the
  expert ever leaves the clip range along its rollouts (which voids it), and the in-distribution
  error with a confidence interval;
- smoothness (:mod:`qbc_theory.checker.smoothness`): the Gaussian TVC modulus, Proposition 5's binning
  modulus, and an empirical modulus audit with a witness pair;
- the policy and model class sizes (:mod:`qbc_theory.model.policy_class`, the class ``qbc simulate``
  learns over), carried as ``log |Pi|`` and ``log |M|`` in nats: nothing is enumerated that is only
  counted;
- for each theorem: whether it applies (and whether its bound is vacuous, at least ``H``), the
  reasons with their numbers, what our own measurements say about it (a caveat), and the bound's
  value at the instance's ``H, n, delta`` (from :mod:`qbc_theory.theory.bounds`).

Each section is one function (``_stability_section``, ``_quantizer_section``, ``_smoothness_section``,
``_thm2`` ... ``_thm7``) and prints through one text function (``_text_stability``, ...).

The result's :meth:`AssumptionReport.to_dict` is the ``qbc check --json`` shape of docs/design.md
section 4 (with extra keys); the quantization error and the clip-range bound are in
:mod:`qbc_theory.checker.quantization`.

Kept as one module (about 930 lines): the report is one concept, a section per function and a
verdict per theorem; the computations it reports live in the other checker modules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..model.validation import as_int, as_real, reject_unknown_kwargs
from ..model.errors import AssumptionError, DimensionError, QbcError
from ..model.policy_class import (
    ClassSize,
    class_size_from_count,
    class_size_from_log,
    model_class_size,
    policy_class_size,
)
from ..model.quantizers import TrapLoopQuantizer, UniformBinning
from .smoothness import binning_rtvc, gaussian_tvc, modulus_audit
from .incremental import DECLARED, system_stability
from .lipschitz import expert_lipschitz
from .stability import LMI_MAX_DIM, analyze_stability
# eps_q and the clip-range bound live in checker/quantization.py; every name is re-exported here
from .quantization import (  # noqa: F401
    QuantizationError, _chunk_errors, _error_from_actions, _expert_rollouts, _finite, _is_binning,
    _is_chunked, _psd_factor, clip_exit_bound, quantization_error)

__all__ = [
    "QuantizationError",
    "quantization_error",
    "clip_exit_bound",
    "TheoremVerdict",
    "AssumptionReport",
    "THM7_NOISY_CAVEAT",
    "check",
]

_UPPER = ("thm2", "thm3", "thm7")
_THEOREM_NAMES = {"thm2": "Theorem 2", "thm3": "Theorem 3", "thm6": "Theorem 6", "thm7": "Theorem 7"}


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
    caveat : str or None
        What our own measurements say about the theorem in this regime (e.g. a violated claim).
    horizon : float or None
        ``H``: an upper bound at least ``H`` is vacuous (the regret is at most ``H``).

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
    caveat: str | None = None
    horizon: float | None = None

    @property
    def vacuous(self) -> bool:
        """An applicable upper bound at least ``H`` (the trivial bound on a regret with rewards in [0, 1])."""
        return (self.kind == "upper" and self.applies and self.bound is not None and self.horizon is not None
                and self.bound >= self.horizon)

    @property
    def status(self) -> str:
        """``"applies"``, ``"applies but vacuous (bound >= H)"`` or ``"does not apply"``."""
        if not self.applies:
            return "does not apply"
        return "applies but vacuous (bound >= H)" if self.vacuous else "applies"

    def to_dict(self) -> dict:
        """JSON-ready: ``applies``, ``reasons``, ``bound`` plus details."""
        return {"applies": self.applies, "status": self.status, "vacuous": self.vacuous, "caveat": self.caveat,
                "reasons": list(self.reasons), "bound": _finite(self.bound), "kind": self.kind,
                "bound_name": self.bound_name, "bound_note": self.bound_note,
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
        ``tvc``, ``rtvc``, ``eps_prime``, ``delta0``, ``h2_term_vanishes`` (with ``h2_inequality``)
        and the audit.
    theorems : dict of str to TheoremVerdict
    warnings : tuple of str
    options : dict
        The options used (seed, trajectories, pairs, Pi, log_Pi, M, log_M, k, n, ...).
    classes : dict
        ``Pi`` and ``M``: :meth:`~qbc_theory.model.policy_class.ClassSize.to_dict` (``size`` is
        ``None`` beyond the float range, ``log_size`` in nats beside it).

    References
    ----------
    Cao & Xie 2026, Theorems 2, 3, 6 and 7; docs/design.md section 4.
    """

    instance: dict
    stability: object
    expert: dict
    quantizer: dict
    smoothness: dict
    theorems: dict
    warnings: tuple
    options: dict
    classes: dict = field(default_factory=dict)

    @property
    def upper_bound_applies(self) -> bool:
        """Whether the assumptions of at least one upper bound (Theorem 2, 3 or 7) hold."""
        return any(self.theorems[k].applies for k in _UPPER if k in self.theorems)

    @property
    def upper_bound_informative(self) -> bool:
        """Whether some applicable upper bound is below ``H`` (not vacuous)."""
        return any(self.theorems[k].applies and not self.theorems[k].vacuous for k in _UPPER if k in self.theorems)

    @property
    def exit_code(self) -> int:
        """``0`` if some upper bound applies, else ``1`` (the CLI contract of ``qbc check``)."""
        return 0 if self.upper_bound_applies else 1

    def to_dict(self) -> dict:
        """The ``qbc check --json`` object (docs/design.md section 4), JSON-ready."""
        return {"instance": self.instance, "stability": self.stability.to_dict(), "expert": dict(self.expert),
                "quantizer": dict(self.quantizer), "smoothness": dict(self.smoothness),
                "classes": dict(self.classes),
                "theorems": {k: v.to_dict() for k, v in self.theorems.items()},
                "upper_bound_applies": self.upper_bound_applies,
                "upper_bound_informative": self.upper_bound_informative, "warnings": list(self.warnings),
                "options": dict(self.options)}

    def format_text(self) -> str:
        """A human-readable table of the report, one block per section."""
        name = self.instance.get("name", "instance")
        blocks = [[f"qbc check: {name}"], _text_stability(self.stability, self.instance.get("horizon")),
                  _text_expert(self.expert), _text_quantizer(self.quantizer), _text_smoothness(self.smoothness),
                  _text_classes(self.classes), _text_theorems(self.theorems)]
        if self.warnings:
            blocks.append(["warnings"] + [f"  ! {w}" for w in self.warnings])
        blocks.append([_text_verdict(self)])
        return "\n\n".join("\n".join(b) for b in blocks if b) + "\n"


# --- text sections -------------------------------------------------------------------------------

def _num(v, fmt=".4g") -> str:
    return "-" if v is None else (format(v, fmt) if isinstance(v, float) else str(v))


def _yes_no(v) -> str:
    return "-" if v is None else ("yes" if v else "no")


def _text_stability(st, horizon) -> list:
    if hasattr(st, "format_lines"):  # Lur'e or callable system (checker.incremental)
        lines = ["stability"] + st.format_lines()
        if st.horizon_gain is not None:
            lines.append(f"  {'Gamma_H (H=%s)' % horizon:<28}{_num(st.horizon_gain)}")
        return lines
    lines = ["stability",
             f"  spectral radius rho(A)      {_num(st.spectral_radius)}",
             f"  globally P-IISS             {_yes_no(st.globally_p_iiss)}",
             f"  Gamma = sum ||A^j B||       {_num(st.Gamma)}"
             + (f"  (tail bound {st.gain_sum.tail_bound:.2g})" if st.gain_sum else "")]
    if st.horizon_gain is not None:
        lines.append(f"  {'Gamma_H (H=%s)' % horizon:<28}{_num(st.horizon_gain)}")
    lines.append(f"  C, eta                      {_num(st.C)}, {_num(st.eta)}   [{st.method}]")
    if st.exact is not None:
        lmi = "skipped" if st.lmi is None else _num(st.lmi.C)
        lines.append(f"  C at this eta: exact {_num(st.exact.C)}, LMI {lmi}, Lyapunov {_num(st.lyapunov.C)}")
    return lines


def _text_expert(e: dict) -> list:
    lines = ["expert",
             f"  deterministic               {_yes_no(e['deterministic'])}",
             f"  Lipschitz constant L        {_num(e['lipschitz'])}",
             f"  closed loop rho(A + BK)     {_num(e['closed_loop_spectral_radius'])}"]
    if e.get("lipschitz_evidence"):
        lines.append(f"  L: bound vs sample          {e['lipschitz_evidence']['reason']}")
    return lines


def _text_quantizer(q: dict) -> list:
    lines = ["quantizer",
             f"  kind                        {q['kind']}",
             f"  eps_q                       {_num(q['eps_q'])}  ({q['eps_q_kind']})",
             f"  in-distribution error       {_num(q['in_distribution'])}  CI [{_num(q['ci'][0])}, {_num(q['ci'][1])}]"]
    if q.get("out_of_range_fraction") is not None:
        lines.append(f"  actions out of clip range   {_num(q['out_of_range_fraction'])}"
                     f"  (union bound {_num(q.get('exit_bound'))})")
    if q.get("log_codes") is not None:
        lines.append(f"  log|U_q| (codes)            {q['log_codes']:.4g} nats")
    return lines


def _text_h2(s: dict) -> str:
    ineq = s.get("h2_inequality")
    if s.get("h2_term_vanishes") is None or ineq is None:
        if s.get("binning_rtvc") is not None:
            if (s.get("proposition5") or {}).get("system_kind", "linear") != "linear":
                return "- (no finite Gamma certified or declared: see the Proposition 5 line)"
            return "- (no finite Gamma: the system is not globally P-IISS)"
        return "- (Proposition 5's modulus needs a deterministic expert and binning)"
    lhs, rhs = ineq["lhs"], ineq["rhs"]
    if s["h2_term_vanishes"]:
        return f"yes: L Gamma (k+1) = {lhs:.4g} < k - 2 = {rhs:.4g}"
    return f"no: L Gamma (k+1) = {lhs:.4g} >= k - 2 = {rhs:.4g}"


def _text_smoothness(s: dict) -> list:
    lines = ["smoothness",
             f"  TVC                         {_yes_no(s['tvc'])}"
             + (f"  kappa(r) = {s['kappa_slope']:.4g} r" if s.get("kappa_slope") is not None else ""),
             f"  RTVC                        {_yes_no(s['rtvc'])}  ({s.get('rtvc_status')})",
             f"  eps', delta_0               {_num(s['eps_prime'])}, {_num(s['delta0'])}",
             f"  H^2 term vanishes           {_text_h2(s)}"]
    if s.get("proposition5"):
        lines.append(f"  Proposition 5 condition     {s['proposition5']['reason']}")
    audit = s.get("audit")
    if audit:
        claimed = ("no modulus claimed" if audit["violation"] is None else
                   f"claimed modulus violated: {_yes_no(audit['violation'])}")
        lines.append(f"  audit                       {audit['total_pairs']} pairs, {claimed}, "
                     f"smallest r with W=1: {_num(audit['min_radius_w1'])}")
        if audit.get("witness"):
            wt = audit["witness"]
            lines.append(f"  witness                     x={wt['x']}, x'={wt['x_prime']}, r={wt['r']:.3g}, "
                         f"W={wt['w']:.3g}")
    return lines


def _text_classes(classes: dict) -> list:
    if not classes:
        return []
    lines = ["classes"]
    for key, label in (("Pi", "policy class Pi"), ("M", "model class M")):
        c = classes.get(key)
        if c is None:
            continue
        if c.get("log_size") is None:
            lines.append(f"  {label:<28}{c.get('description')}")
        else:
            lines.append(f"  {label:<28}{c['text']}, {c['description']}"
                         + (f"; counted, not enumerable (qbc simulate's finite learner takes at most "
                            f"{c['max_candidates']} gains)" if c.get("source") == "default"
                            and c.get("max_candidates") and not c.get("enumerable") else ""))
    return lines


def _text_theorems(theorems: dict) -> list:
    lines = ["theorems"]
    for key, v in theorems.items():
        b = "" if v.bound is None else f"   bound {v.bound:.4g}"
        lines.append(f"  {_THEOREM_NAMES[key]} ({v.kind}): {v.status}{b}")
        if v.caveat:
            lines.append(f"    ! {v.caveat}")
        lines += [f"    - {r}" for r in v.reasons]
        if v.bound is None and v.bound_note:
            lines.append(f"    (bound: {v.bound_note})")
    return lines


def _text_verdict(report) -> str:
    if not report.upper_bound_applies:
        return "upper bound applies: no (exit 1)"
    if report.upper_bound_informative:
        return "upper bound applies: yes (exit 0)"
    H = report.instance.get("horizon")
    return f"upper bound applies: applies but vacuous (every applicable upper bound >= H = {H}) (exit 0)"


# --- bound values --------------------------------------------------------------------------------

def _bound_value(name: str, values: dict, log_counts: dict | None = None):
    """``(value, note)`` of bound ``name`` from :mod:`qbc_theory.theory.bounds` at the given symbol values.

    Only the symbols the bound needs are passed; a missing symbol or a missing bound library gives
    ``None`` with the reason. A class size beyond the float range (``values[s] is None`` with
    ``log_counts[s]`` given) is substituted as ``exp(log)`` in exact arithmetic: the bounds use it
    only through ``log |Pi|``.
    """
    try:
        from ..theory import bounds
    except ImportError:
        return None, "the bound library qbc_theory.theory.bounds is not available"
    try:
        b = bounds.get(name, form="explicit")
    except (KeyError, ValueError, QbcError) as exc:
        return None, f"bound {name!r} not in the library ({exc})"
    logs = {s: v for s, v in (log_counts or {}).items()
            if s in b.symbols and values.get(s) is None and v is not None}
    missing = [s for s in b.symbols if (s not in values or values[s] is None) and s not in logs]
    if missing:
        return None, f"{name} needs {', '.join(missing)}, which the checker does not determine"
    try:
        if logs:
            val = _evaluate_with_logs(b, values, logs)
        else:
            val = float(np.asarray(b.evaluate(**{s: values[s] for s in b.symbols})))
    except (QbcError, ValueError, TypeError) as exc:
        return None, f"{name}: {exc}"
    at = ", ".join(f"log|{s}|={logs[s]:.4g}" if s in logs else f"{s}={values[s]:.4g}" for s in b.symbols)
    return val, f"{name} (explicit form) at {at}"


def _evaluate_with_logs(b, values: dict, logs: dict) -> float:
    """The explicit form with ``s = exp(logs[s])`` substituted exactly (sympy Floats have no overflow)."""
    import sympy

    syms = {x.name: x for x in b.expr.free_symbols}
    subs = {}
    for s in b.symbols:
        if s in logs:
            subs[syms[s]] = sympy.exp(sympy.Float(logs[s], 30))
        else:
            b.check_value(s, values[s])
            subs[syms[s]] = sympy.Float(float(values[s]), 30)
    out = b.expr.xreplace(subs).evalf(30)
    if not out.is_real:
        raise ValueError(f"the explicit form did not evaluate to a real number ({out})")
    return float(out)


# --- the checker: one function per section --------------------------------------------------------

@dataclass
class _Options:
    trajectories: int
    pairs: int
    audit: bool
    k: object
    eta: object
    method: str
    lmi: bool
    lmi_max_dim: int
    seed: int
    level: float
    n: int | None
    pi: ClassSize | None
    m: ClassSize
    pi_note: str


def _given_size(symbol: str, count, log_size) -> ClassSize | None:
    """A class size the user gave as a count or as a log (not both)."""
    if count is not None and log_size is not None:
        raise DimensionError(f"{symbol}, log_{symbol}: expected at most one of them, found both")
    if count is not None:
        return class_size_from_count(count, description=f"|{symbol}| given")
    if log_size is not None:
        return class_size_from_log(log_size, description=f"log|{symbol}| given")
    return None


def _parse_options(instance, options: dict) -> _Options:
    trajectories = as_int("trajectories", options.pop("trajectories", 400), minimum=2)
    pairs = as_int("pairs", options.pop("pairs", 128), minimum=1)
    do_audit = bool(options.pop("audit", True))
    k_opt = options.pop("k", None)
    if k_opt is not None:
        k_opt = as_real("k", k_opt, positive=True)
    pi_count, log_pi = options.pop("Pi", None), options.pop("log_Pi", None)
    m_count, log_m = options.pop("M", None), options.pop("log_M", None)
    eta = options.pop("eta", None)
    method = options.pop("stability_method", "exact")
    use_lmi = bool(options.pop("lmi", True))
    lmi_max_dim = as_int("lmi_max_dim", options.pop("lmi_max_dim", LMI_MAX_DIM), minimum=1)
    seed = as_int("seed", options.pop("seed", instance.seed), minimum=0)
    level = as_real("level", options.pop("level", 0.95), low=0, high=1, open_low=True, open_high=True)
    n = options.pop("n", None)
    if n is not None:
        n = as_int("n", n, minimum=1)
    reject_unknown_kwargs("check", options)
    system = instance.system
    pi = _given_size("Pi", pi_count, log_pi)
    pi_note = "given"
    if pi is None:
        try:
            pi = policy_class_size(instance.expert)
            pi_note = "the finite class of qbc simulate; --Pi-size or --log-Pi for another"
        except AssumptionError as exc:
            pi, pi_note = None, str(exc)
    m = _given_size("M", m_count, log_m)
    if m is None:
        m = model_class_size(system.dx, system.du)
    return _Options(trajectories=trajectories, pairs=pairs, audit=do_audit, k=k_opt, eta=eta, method=method,
                    lmi=use_lmi, lmi_max_dim=lmi_max_dim, seed=seed, level=level, n=n, pi=pi, m=m,
                    pi_note=pi_note)


def _class_entry(size: ClassSize | None, symbol: str, note: str) -> dict:
    if size is None:
        return {"size": None, "log_size": None, "description": f"not determined: {note}"}
    return size.to_dict() | {"text": size.format(f"|{symbol}|"), "note": note}


def _stability_section(system, H: int, opt: _Options, warnings: list):
    if getattr(system, "kind", "linear") != "linear":
        # Lur'e: incremental sector certificate; callable: declared constants, sampled (THEORY.md 8b)
        st = system_stability(system, H=H, eta=opt.eta,
                              rng=np.random.default_rng(np.random.SeedSequence(opt.seed).spawn(3)[2]))
        warnings += list(st.notes)
        return st
    st = analyze_stability(system.A, system.B, H=H, eta=opt.eta, method=opt.method, lmi=opt.lmi,
                           lmi_max_dim=opt.lmi_max_dim)
    warnings += list(st.notes)
    return st


def _expert_section(system, expert, warnings: list) -> dict:
    rho_cl = float(expert.closed_loop_spectral_radius(system))
    if math.isfinite(rho_cl) and not rho_cl < 1:
        warnings.append(f"the expert's closed loop is not stable: rho(A + BK)={rho_cl:.4g} >= 1 (its states grow; "
                        "P-IISS is open-loop and does not depend on it, but rollouts and eps_q do)")
    return {"deterministic": bool(expert.deterministic), "lipschitz": _finite(float(expert.lipschitz)),
            "closed_loop_spectral_radius": _finite(rho_cl), "noise_std": float(expert.noise_std),
            "kind": expert.to_dict().get("kind")}


def _log_codes(quantizer) -> float | None:
    """``log |U_q|`` (nats) of a per-dimension binning: ``du log(bins)``, never the count itself."""
    if isinstance(quantizer, UniformBinning):
        return quantizer.dim * math.log(quantizer.bins)
    return None


def _quantizer_section(system, expert, quantizer, H: int, opt: _Options, rng, rho_cl, warnings: list):
    """``(QuantizationError, quantizer dict, rollout states)``."""
    states, actions = _expert_rollouts(system, expert, H, opt.trajectories, rng)
    # Magnitudes beyond 1e100 count as overflow: quantizing them would overflow in the cell arithmetic.
    with np.errstate(invalid="ignore"):
        ok_steps = (np.all(np.abs(actions) < 1e100, axis=(1, 2)) & np.all(np.abs(states) < 1e100, axis=(1, 2)))
    if not ok_steps.all():
        first_bad = int(np.argmin(ok_steps))
        warnings.append(f"the expert's rollouts overflow at step {first_bad + 1} of H={H} (rho(A + BK)={rho_cl:.4g}); "
                        f"eps_q and the audit use the first {first_bad} steps only")
        states, actions = states[:first_bad], actions[:first_bad]
    qe = _error_from_actions(quantizer, actions, system, expert, opt.level)
    if qe.left_range:
        warnings.append(f"the expert leaves the binning's clip range in {qe.out_of_range_fraction:.3%} of rollout "
                        f"steps (largest error {qe.max_error:.4g} > sup {qe.sup:.4g}): the sup error is void, "
                        "eps_q is the in-distribution error")
    elif qe.exit_bound is not None and qe.exit_bound > 0:
        warnings.append(f"no rollout left the clip range, but a linear expert's Gaussian actions are unbounded: "
                        f"P(leave within H) <= {qe.exit_bound:.3g} (union bound)")
    quant_d = {"kind": getattr(quantizer, "kind", type(quantizer).__name__), "eps_q": qe.value, "eps_q_kind": qe.kind,
               **{k: v for k, v in qe.to_dict().items() if k not in ("value", "kind")},
               "log_codes": _log_codes(quantizer)}
    return qe, quant_d, states


def _smoothness_section(expert, quantizer, st, qe, states, opt: _Options, rng, warnings: list):
    """``(smoothness dict, Proposition 5 result or None, audit or None)``."""
    chunked, binning = _is_chunked(quantizer), _is_binning(quantizer)
    L = float(expert.lipschitz)
    flat_states = states.reshape(-1, states.shape[-1])
    smooth = {"tvc": False, "rtvc": False, "eps_prime": None, "delta0": None, "h2_term_vanishes": None,
              "h2_inequality": None, "kappa_slope": None, "rtvc_status": "not-checked", "tvc_reason": "",
              "rtvc_reason": "", "audit": None, "binning_rtvc": None}
    audit = prop5 = None
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
        if opt.audit and isinstance(quantizer, UniformBinning):
            audit = modulus_audit(expert, quantizer, flat_states, rng, eps_prime=0.0, pairs=opt.pairs,
                                  kappa=tvc.kappa, claimed=f"kappa(r) = {tvc.slope:.4g} r")
            if audit.violation:
                smooth.update(tvc=False, rtvc=False, rtvc_status="violated")
                warnings.append(f"the audit found a pair violating the Gaussian TVC modulus: {audit.witness}")
    elif binning and not math.isfinite(L):
        smooth.update(rtvc_status="not-certified",
                      tvc_reason="deterministic expert through binning: no TVC guarantee",
                      rtvc_reason=("Proposition 5 (ii) needs the expert's Lipschitz constant L: none is certified "
                                   "or declared (a callable expert can declare L)"))
    elif binning:
        prop5 = binning_rtvc(L, quantizer.eps_sup, k=opt.k, Gamma=st.Gamma)
        smooth.update(rtvc=True, eps_prime=prop5.eps_prime, delta0=_finite(prop5.delta0),
                      h2_term_vanishes=prop5.h2_term_vanishes, rtvc_status="certified",
                      binning_rtvc=prop5.to_dict(),
                      rtvc_reason=(f"Proposition 5 (ii): binning with cell error {quantizer.eps_sup:.4g} and an "
                                   f"L={L:.4g} Lipschitz expert is eps'-RTVC with eps' = k eps_q = "
                                   f"{prop5.eps_prime:.4g} (k={prop5.k:.4g}, {prop5.k_rule}), kappa(r) = 1{{r > "
                                   f"delta0}}, delta0 = {prop5.delta0:.4g}"))
        if prop5.h2_term_vanishes is not None and st.Gamma is not None:
            smooth["h2_inequality"] = {"lhs": L * st.Gamma * (prop5.k + 1), "rhs": prop5.k - 2,
                                       "text": "L Gamma (k+1) < k - 2"}
        if L == 0:
            smooth.update(tvc=True, kappa_slope=0.0, tvc_reason="constant expert: q#pi* is constant")
        else:
            smooth["tvc_reason"] = ("deterministic expert: q#pi* jumps by a cell at every token boundary "
                                    "(TV = 1 at arbitrarily small distances), no linear TVC modulus")
        if opt.audit:
            audit = modulus_audit(expert, quantizer, flat_states, rng, eps_prime=prop5.eps_prime,
                                  pairs=opt.pairs, kappa=prop5.kappa, delta0=prop5.delta0,
                                  claimed=f"kappa(r) = 1{{r > {prop5.delta0:.4g}}}")
            if audit.violation:
                smooth.update(rtvc=False, rtvc_status="violated")
                warnings.append(f"the audit contradicts Proposition 5's modulus: {audit.witness}")
    else:
        k = 3.0 if opt.k is None else opt.k
        eps_prime = k * qe.value
        smooth.update(eps_prime=eps_prime, rtvc_status="not-certified",
                      tvc_reason="deterministic expert through a learned quantizer: no TVC guarantee",
                      rtvc_reason=(f"learned quantizer: Proposition 5 (i) says a general learned quantizer "
                                   f"applied to a deterministic expert breaks RTVC; eps' = {k:g} eps_q = "
                                   f"{eps_prime:.4g}"))
        if opt.audit:
            audit = modulus_audit(expert, quantizer, flat_states, rng, eps_prime=eps_prime, pairs=opt.pairs)
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
    return smooth, prop5, audit


def _lipschitz_section(expert, states, opt: _Options, warnings: list):
    """The expert's certified (or declared) Lipschitz constant beside a sampled lower estimate."""
    flat = states.reshape(-1, states.shape[-1])
    if flat.shape[0] == 0:
        return None
    rng = np.random.default_rng(np.random.SeedSequence(opt.seed).spawn(4)[3])
    lip = expert_lipschitz(expert, flat, rng)
    if lip.violation:
        warnings.append(f"the sampled Lipschitz ratio contradicts the expert's constant: {lip.reason}")
    return lip


def _proposition5(L: float, lip, st, prop5) -> dict:
    r"""Proposition 5's smallness condition ``L Gamma (k+1) < k - 2``, its numbers and where L and Gamma come from.

    With a binning quantizer and an ``L``-Lipschitz deterministic expert, ``q#pi*`` is ``k eps_q``-RTVC
    with ``kappa(r) = 1{r > delta0}``; ``kappa(Gamma (k+1) eps_q) = 0``, i.e. the ``H^2`` term of
    Theorem 3 can be dropped, iff the condition holds (for some ``k`` iff ``L Gamma < 1``).

    .. math::

        L\,\Gamma\,(k + 1) < k - 2 .

    References
    ----------
    Cao & Xie 2026, Proposition 5 and Theorem 3; THEORY.md sections 3 and 8b.
    """
    L_status = "certified" if lip is None else lip.status
    G_status = getattr(st, "status", "certified" if st.globally_p_iiss else "not certified")
    out = {"condition": "L Gamma (k+1) < k - 2", "L": _finite(L), "L_status": L_status, "Gamma": _finite(st.Gamma),
           "Gamma_status": G_status, "system_kind": getattr(st, "kind", "linear"), "k": None, "lhs": None, "rhs": None, "holds": None,
           "h2_term_droppable": False, "reason": ""}
    if prop5 is None:
        out["reason"] = ("not evaluated: Proposition 5 (ii) needs a deterministic expert with a Lipschitz constant "
                         "and a binning quantizer")
        return out
    if st.Gamma is None:
        out["reason"] = (f"cannot be evaluated: no max-type gain Gamma (stability {G_status}), so the H^2 term of "
                         "Theorem 3 cannot be dropped")
        return out
    k, G = prop5.k, st.Gamma
    lhs, rhs = L * G * (k + 1), k - 2
    holds = bool(lhs < rhs)
    refuted = lip is not None and lip.violation
    droppable = holds and not refuted
    reason = (f"L Gamma (k+1) = {L:.4g} x {G:.4g} x {k + 1:.4g} = {lhs:.4g} {'<' if holds else '>='} k - 2 = "
              f"{rhs:.4g}: the H^2 term of Theorem 3 {'can' if droppable else 'cannot'} be dropped")
    if not holds:
        reason += (f"; L Gamma = {L * G:.4g} >= 1, so no k makes it hold" if prop5.k_min is None
                   else f"; it holds for k > {prop5.k_min:.4g}")
    declared = [name for name, status in (("L", L_status), ("Gamma", G_status)) if status.startswith("declared")]
    if declared:
        reason += f" (rests on {' and '.join(declared)} {DECLARED})"
    if refuted:
        reason += "; but a sampled ratio exceeds L (see the expert section)"
    out.update(k=k, lhs=lhs, rhs=rhs, holds=holds, h2_term_droppable=droppable, reason=reason)
    return out


@dataclass
class _Context:
    """What the theorem sections read."""

    instance: object
    H: int
    st: object
    qe: QuantizationError
    quant_d: dict
    smooth: dict
    prop5: object
    audit: object
    opt: _Options
    values: dict
    log_counts: dict
    pi_note: str
    m_note: str
    stab: str
    eps_note: str
    chunked: bool
    binning: bool

    @property
    def per_step_note(self) -> str:
        q = self.instance.quantizer
        return (f"the chunk tokenizer (chunk {q.chunk}) is not a per-step quantizer; the theorem is stated for "
                "per-step quantized policies")


def _verdict(ctx: _Context, key: str, kind: str, conds, extra, bound_name, vals, caveat=None) -> TheoremVerdict:
    ok = all(c for c, _ in conds)
    reasons = tuple(("holds: " if c else "fails: ") + r for c, r in conds) + tuple(extra)
    bound, note = None, None
    if bound_name is not None and ok:
        bound, note = _bound_value(bound_name, vals, ctx.log_counts)
        if bound is not None and kind == "upper" and bound >= ctx.H:
            reasons += (f"the bound {bound:.4g} is at least H = {ctx.H}, the trivial bound on the regret (vacuous "
                        "at these H, n, eps_q)",)
    elif bound_name is not None:
        note = "not evaluated: the theorem's assumptions do not hold"
    return TheoremVerdict(key=key, kind=kind, applies=bool(ok), reasons=reasons, bound=bound, bound_name=bound_name,
                          bound_note=note, values=vals, caveat=caveat, horizon=float(ctx.H))


def _thm2(ctx: _Context) -> TheoremVerdict:
    """Theorem 2: P-IISS and a TVC quantized expert."""
    s = ctx.smooth
    conds = [(ctx.st.globally_p_iiss, ctx.stab),
             (s["tvc"], ("q#pi* is TVC with a linear modulus: " if s["tvc"]
                         else "q#pi* must be TVC with a linear modulus: ") + s["tvc_reason"])]
    if ctx.chunked:
        conds.append((False, ctx.per_step_note))
    return _verdict(ctx, "thm2", "upper", conds,
                    (ctx.eps_note, ctx.pi_note, "assumed: q#pi* in Pi and every policy in Pi is TVC with a linear "
                     "modulus (a property of the learner's class)"), "thm2", ctx.values)


def _thm3(ctx: _Context) -> TheoremVerdict:
    """Theorem 3: binning, a deterministic expert, P-IISS and Proposition 5's RTVC."""
    st, qe, prop5, expert = ctx.st, ctx.qe, ctx.prop5, ctx.instance.expert
    binning = ctx.binning
    sup_ok = binning and qe.kind == "sup"
    conds = [(binning, "q is a binning quantizer" if binning else
              f"q must be a binning quantizer, found {ctx.quant_d['kind']}")]
    if binning:
        conds.append((sup_ok, f"sup error eps_q = {qe.sup:.4g} holds along all {ctx.opt.trajectories} rollouts"
                      if sup_ok else f"the sup error is void: {qe.out_of_range_fraction:.3%} of rollout actions "
                      "leave the clip range"))
    conds += [(expert.deterministic, "the expert is deterministic" if expert.deterministic else
               f"Theorem 3 is for a deterministic quantized expert, found a Gaussian expert (sigma="
               f"{expert.noise_std:g}; use Theorem 2)"),
              (st.globally_p_iiss, (f"globally P-IISS with max-type gamma(r) = Gamma r, Gamma = {st.Gamma:.4g}"
                                    + (f" ({st.status})" if hasattr(st, "status") else "")
                                    if st.globally_p_iiss else st.reason)),
              (ctx.smooth["rtvc"] and prop5 is not None,
               ctx.smooth["rtvc_reason"] if prop5 is not None or expert.deterministic else
               "q#pi* must be k eps_q-RTVC through Proposition 5 (a deterministic expert and binning)")]
    extra = [ctx.pi_note, "assumed: q#pi* in Pi and every policy in Pi is k eps_q-RTVC"]
    vals = dict(ctx.values)
    if prop5 is not None and st.globally_p_iiss:
        L, k3 = float(expert.lipschitz), prop5.k
        r3 = st.Gamma * (k3 + 1) * prop5.eps_q
        kap = float(prop5.kappa(r3))
        vals["kappa_at_gamma"] = kap
        lhs, rhs = L * st.Gamma * (k3 + 1), k3 - 2
        word = "yes" if prop5.h2_term_vanishes else "no"
        rel = "<" if prop5.h2_term_vanishes else ">="
        extra.insert(0, (f"H^2 term vanishes: {word}, L Gamma (k+1) = {lhs:.4g} {rel} k - 2 = {rhs:.4g}; "
                         f"kappa(Gamma (k+1) eps_q) = kappa({r3:.4g}) = {kap:g} (delta0 = {prop5.delta0:.4g})"
                         + ("" if prop5.k_min is not None else f"; L Gamma = {L * st.Gamma:.4g} >= 1, so no k makes it "
                            "vanish")))
    if ctx.chunked:
        conds.append((False, ctx.per_step_note))
    # With Proposition 5's modulus kappa(r) = 1{r > delta0} the H^2 coefficient is the indicator of
    # L Gamma (k+1) >= k - 2, which is what the library's thm3_binning encodes; "thm3" wants a linear modulus.
    return _verdict(ctx, "thm3", "upper", conds, extra, "thm3_binning" if prop5 is not None else "thm3", vals)


def _thm6(ctx: _Context) -> TheoremVerdict:
    """Theorem 6: the price of a non-smooth learned quantizer (a lower bound)."""
    quantizer, expert, audit = ctx.instance.quantizer, ctx.instance.expert, ctx.audit
    kind = ctx.quant_d["kind"]
    trap = isinstance(quantizer, TrapLoopQuantizer)
    learned = getattr(quantizer, "eps_sup", None) is None
    violated = ctx.smooth["rtvc_status"] == "violated"
    conds = [(expert.deterministic, "deterministic Lipschitz expert" if expert.deterministic
              else "Theorem 6 concerns a deterministic expert, found a Gaussian one"),
             (learned, f"learned quantizer without a sup error ({kind})" if learned else
              f"{kind} has a sup error: Proposition 5 makes it RTVC, Theorem 6's failure needs a "
              "non-smooth quantizer"),
             (violated, (f"q#pi* violates RTVC: W = 1 at r = {audit.min_radius_w1:.3g}, witness "
                         f"{audit.witness['x']} vs {audit.witness['x_prime']}") if violated and audit is not None
              else "no RTVC violation was found"),
             (ctx.st.globally_p_iiss, ctx.stab),
             # Theorem 6 shows that such instances exist; an RTVC violation alone does not give its price
             # (a nearest-codeword k-means jumps by its codeword spacing at every cell boundary, so it always
             # fails RTVC at eps' = 3 x its average error, yet its regret can be of order H eps_q)
             (trap, "the instance is Theorem 6's construction (the trap quantizer)" if trap else
              "Theorem 6's lower bound is proved for its construction (the trap quantizer), not for every "
              "quantizer that fails RTVC: a price of that kind is possible here but not implied")]
    extra = [ctx.eps_note, "Theorem 6 is a price (lower bound on J(pi*) - J(q#pi*) with infinite data), not an "
             "upper bound"]
    vals = dict(ctx.values)
    name = None
    if trap:
        name = "thm6_det" if quantizer.variant == "deterministic" else "thm6_noisy"
        # The construction's bound is in its own scale eps (the trap intervals), not the measured eps_q.
        vals.update(A6=quantizer.A, B6=quantizer.B, k=quantizer.k, eps_q=quantizer.eps)
        extra.append(f"trap-loop construction: A={quantizer.A:g}, B={quantizer.B:g}, k={quantizer.k:g}, "
                     f"eps={quantizer.eps:g}" + (f", d={quantizer.d:g}" if quantizer.d is not None else "")
                     + "; the bound is evaluated at the construction's eps")
    return _verdict(ctx, "thm6", "lower", conds, extra, name, vals)


THM7_NOISY_CAVEAT = ("stated for noisy transitions; violated in our measurement (claim thm7.noisy): with noisy "
                     "transitions Algorithm 1 executes open loop a plan made with independent model noise, and its "
                     "regret exceeded the explicit bound (about c sigma H even with infinite data)")
"""The caveat :func:`check` attaches to Theorem 7 when the transitions are noisy (``qbc verify``'s
``thm7.noisy`` finding; tests/test_check_scale.py ties it to that claim)."""


def _noisy_transitions(system) -> bool:
    cov = getattr(system, "noise_cov", None)
    return cov is not None and bool(np.any(np.asarray(cov) != 0))


def _thm7(ctx: _Context) -> TheoremVerdict:
    """Theorem 7: P-IISS only (no smoothness), realizable policy and model classes."""
    conds = [(ctx.st.globally_p_iiss, ctx.stab)]
    if ctx.chunked:
        conds.append((False, ctx.per_step_note))
    noisy = _noisy_transitions(ctx.instance.system)
    noise = ("no smoothness needed; the transitions are noisy: see the caveat" if noisy else
             "no smoothness needed; deterministic transitions (where our measurement agrees with the bound: "
             "claims thm7.det and thm7.noisy at sigma = 0)")
    return _verdict(ctx, "thm7", "upper", conds,
                    (ctx.eps_note, ctx.pi_note, ctx.m_note,
                     "assumed: q#pi* in Pi and T o rho in M (realizable policy and model classes)", noise),
                    "thm7", ctx.values, caveat=THM7_NOISY_CAVEAT if noisy else None)


def _stability_reason(st) -> str:
    if getattr(st, "kind", "linear") != "linear":
        return st.reason
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

    Class sizes are carried as logs (nats): ``|Pi| = 3^1000`` is counted, never enumerated, and
    the bounds, which use it only through ``log |Pi|``, are evaluated from the log.

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
    Pi, log_Pi : int or float, optional
        ``|Pi|`` (an integer of any size) or ``log |Pi|`` in nats, at most one. Default: the finite
        class of ``qbc simulate``, :func:`qbc_theory.model.policy_class.policy_class_size`.
    M, log_M : int or float, optional
        ``|M|`` or ``log |M|``; default :func:`~qbc_theory.model.policy_class.model_class_size`
        (5 candidates per entry of ``[A B]``).
    n : int, optional
        Number of expert trajectories the bounds are evaluated at (default ``instance.n``).
    eta : float, optional
        Fix the P-EIISS rate (default: chosen by :func:`~qbc_theory.checker.stability.analyze_stability`).
    stability_method : {"exact", "lmi", "lyapunov"}
        Which constant is reported as C (default ``"exact"``).
    lmi : bool
        Also solve the comparison LMI (default True; skipped with a note above ``lmi_max_dim``).
    lmi_max_dim : int
        Default :data:`~qbc_theory.checker.stability.LMI_MAX_DIM`.
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
        On invalid option values (both ``Pi`` and ``log_Pi``, a negative ``log_Pi``, ...).

    References
    ----------
    Cao & Xie 2026, Theorems 2, 3, 6, 7, Proposition 5 and Definitions 3-4; Appendix A (log |Pi|).
    """
    opt = _parse_options(instance, options)
    system, expert, quantizer = instance.system, instance.expert, instance.quantizer
    H, delta = instance.horizon, instance.delta
    n = instance.n if opt.n is None else opt.n
    warnings: list[str] = []
    rng_roll, rng_audit = (np.random.default_rng(s) for s in np.random.SeedSequence(opt.seed).spawn(2))

    st = _stability_section(system, H, opt, warnings)
    expert_d = _expert_section(system, expert, warnings)
    qe, quant_d, states = _quantizer_section(system, expert, quantizer, H, opt, rng_roll,
                                             expert_d["closed_loop_spectral_radius"], warnings)
    smooth, prop5, audit = _smoothness_section(expert, quantizer, st, qe, states, opt, rng_audit, warnings)
    lip = _lipschitz_section(expert, states, opt, warnings)
    if lip is not None:
        expert_d["lipschitz_evidence"] = lip.to_dict()
    smooth["proposition5"] = _proposition5(float(expert.lipschitz), lip, st, prop5)

    pi, m = opt.pi, opt.m
    pi_note = (f"|Pi| not determined ({opt.pi_note})" if pi is None
               else f"{pi.format()}: {pi.description}" + ("" if pi.source == "given" else f" ({opt.pi_note})"))
    m_note = f"{m.format('|M|')}: {m.description}" + ("" if m.source == "given" else " (M= or log_M= in the Python API)")
    values = {"H": float(H), "n": float(n), "delta": float(delta), "eps_q": float(qe.value),
              "Pi": None if pi is None else pi.size_float, "log_Pi": None if pi is None else pi.log_size,
              "M": m.size_float, "log_M": m.log_size, "C": st.C, "eta": st.eta, "Gamma": st.Gamma,
              "L": float(expert.lipschitz), "L_r": float(instance.reward.lipschitz), "kappa": smooth["kappa_slope"],
              "sigma_pi": float(expert.noise_std) if expert.noise_std > 0 else None,
              "k": prop5.k if prop5 is not None else None, "eps_prime": smooth["eps_prime"],
              "dx": float(system.dx), "du": float(system.du)}
    eps_note = (f"eps_q = {qe.value:.4g} ({qe.kind}"
                + (f"; in-distribution {qe.mean:.4g}, {opt.level:.0%} CI [{qe.ci[0]:.4g}, {qe.ci[1]:.4g}])"
                   if qe.kind == "in_distribution" else ")"))
    ctx = _Context(instance=instance, H=H, st=st, qe=qe, quant_d=quant_d, smooth=smooth, prop5=prop5, audit=audit,
                   opt=opt, values=values,
                   log_counts={"Pi": values["log_Pi"], "M": values["log_M"]}, pi_note=pi_note, m_note=m_note,
                   stab=_stability_reason(st), eps_note=eps_note, chunked=_is_chunked(quantizer),
                   binning=_is_binning(quantizer))
    theorems = {"thm2": _thm2(ctx), "thm3": _thm3(ctx), "thm6": _thm6(ctx), "thm7": _thm7(ctx)}

    classes = {"Pi": _class_entry(pi, "Pi", opt.pi_note), "M": _class_entry(m, "M", "" if m.source == "given"
                                                                          else "default model class")}
    opts = {"seed": opt.seed, "trajectories": opt.trajectories, "pairs": opt.pairs, "audit": opt.audit, "k": opt.k,
            "Pi": values["Pi"], "log_Pi": values["log_Pi"], "M": values["M"], "log_M": values["log_M"], "n": n,
            "stability_method": opt.method, "lmi": opt.lmi, "lmi_max_dim": opt.lmi_max_dim, "level": opt.level}
    return AssumptionReport(instance=instance.to_dict(), stability=st, expert=expert_d, quantizer=quant_d,
                            smoothness=smooth, theorems=theorems, warnings=tuple(warnings), options=opts,
                            classes=classes)
