r"""Checks of the reduction steps: Proposition 5(ii)'s triangle inequality and Theorem 1's constants.

Each inequality step is decided by :func:`prove_le`, which hands it to the shared inequality checker
(:func:`qbc_theory.inequality.check_inequality`) when that module is available and otherwise uses
the sympy route documented there; the explicit bound of Theorem 1 comes from the bound library
(:func:`qbc_theory.bounds.get`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import sympy

from qbc_theory._validation import as_int, as_real
from qbc_theory.errors import DimensionError
from qbc_theory.experts import LinearExpert
from qbc_theory.quantizers import UniformBinning
from qbc_theory.symbols import sym

from ._result import CheckResult

__all__ = ["prove_le", "check_prop5_binning", "check_thm1_constants"]


def _sympy_le(lhs, rhs, domain: dict, rng: np.random.Generator, samples: int = 2000) -> tuple[str, str, dict | None]:
    """Decide ``lhs <= rhs`` with sympy: sign of the simplified difference, else a sampled witness.

    Box-constrained symbols ``t in [lo, hi]`` are written ``lo + (hi - lo)/(1 + v)`` with ``v >= 0``
    (the end ``t = lo`` is checked separately), so that sympy's sign inference sees only
    non-negative and positive symbols.
    """
    diff = sympy.simplify(lhs - rhs)
    subs, ends = {}, []
    for s, (lo, hi) in domain.items():
        v = sympy.Symbol(f"_v_{s.name}", nonnegative=True)
        subs[s] = lo + (hi - lo) / (1 + v)
        ends.append({s: lo})
    inner = sympy.factor(sympy.simplify(diff.subs(subs)))
    proved = inner.is_nonpositive and all(sympy.simplify(diff.subs(e)).is_nonpositive for e in ends)
    if proved:
        return "proved", f"sympy: lhs - rhs = {inner} <= 0 after writing each box variable as lo + (hi-lo)/(1+v)", None
    free = sorted(diff.free_symbols, key=lambda s: s.name)
    f = sympy.lambdify(free, diff, "numpy")
    vals = {}
    for s in free:
        if s in domain:
            lo, hi = (float(b) for b in domain[s])
            vals[s] = rng.uniform(lo, hi, samples)
        else:
            vals[s] = np.exp(rng.uniform(-4, 4, samples))
    out = np.broadcast_to(np.asarray(f(*[vals[s] for s in free]), dtype=float), (samples,))
    if np.any(out > 0):
        i = int(np.argmax(out))
        return "counterexample", f"lhs - rhs = {out[i]:.4g} > 0", {s.name: float(vals[s][i]) for s in free}
    return "verified-numerically", f"no violation at {samples} sampled points; sympy could not decide the sign", None


def prove_le(lhs, rhs, *, domain: dict | None = None, seed: int = 0) -> tuple[str, str, dict | None]:
    r"""Decide the claim ``lhs <= rhs`` for all admissible values of the symbols.

    .. math::

        \mathrm{lhs}(s) \le \mathrm{rhs}(s) \quad \forall s \text{ admissible}.

    Uses :func:`qbc_theory.inequality.check_inequality` when the module is importable, otherwise
    sympy's sign inference on the simplified difference plus a sampled search for a witness.

    Parameters
    ----------
    lhs, rhs : sympy expressions
        Symbols carry their assumptions (positive, ...).
    domain : dict, optional
        ``{symbol: (lo, hi)}`` boxes.
    seed : int
        Seed of the sampled search.

    Returns
    -------
    (status, detail, witness)
        ``status`` in {"proved", "verified-numerically", "counterexample"}.
    """
    domain = dict(domain or {})
    try:
        from qbc_theory.inequality import check_inequality
    except ImportError:
        return _sympy_le(lhs, rhs, domain, np.random.default_rng(seed))
    res = check_inequality(lhs, rhs, domain={s.name: b for s, b in domain.items()} or None)
    return res.status, f"{res.method}: {res.detail}", res.witness


def check_prop5_binning(
    delta0: Callable | None = None,
    K=((0.3, -0.4),),
    bins: int = 40,
    eps_prime_factor: float = 3.0,
    pairs: int = 20000,
    seed: int = 20260309,
) -> CheckResult:
    r"""Proposition 5(ii)'s triangle-inequality step, symbolically, and audited on the shipped binning.

    .. math::

        \|q(\pi(x)) - q(\pi(x'))\| \le \varepsilon_q + L\|x - x'\| + \varepsilon_q \le \varepsilon'
        \quad\text{for } \|x - x'\| \le \delta_0 = \frac{\varepsilon' - 2\varepsilon_q}{L},
        \ \varepsilon' > 2\varepsilon_q .

    Three steps: (1) ``2 eps_q + L t delta0 <= eps'`` for ``t in [0, 1]`` with ``eps' = 2 eps_q + s``,
    ``s > 0``; (2) the consequence ``L Gamma (k + 1) < k - 2  =>  Gamma (k + 1) eps_q <= delta0`` at
    ``eps' = k eps_q`` (an identity times the hypothesis' slack); (3) an audit of the shipped
    :class:`~qbc_theory.quantizers.UniformBinning` with a :class:`~qbc_theory.experts.LinearExpert`:
    random state pairs at distance ``<= delta0`` must have quantized actions within ``eps'``.

    Parameters
    ----------
    delta0 : callable, optional
        ``delta0(eps_q, eps_prime, L)`` (sympy-compatible); default ``(eps' - 2 eps_q)/L``.
    K : (du, dx) array_like
        Expert gain of the audit.
    bins : int
        Cells of the binning of ``[-2, 2]`` (centre decoding).
    eps_prime_factor : float
        ``eps' = factor * eps_q`` in the audit (> 2).
    pairs : int
        State pairs in the audit.
    seed : int

    Returns
    -------
    CheckResult
        ``proved`` when steps (1)-(2) are proved and the audit finds no violation; ``counterexample``
        with a witness otherwise.

    References
    ----------
    Cao & Xie 2026, Proposition 5 (ii).
    """
    eps_q, eps_prime, L, Gamma, k = (sym(n) for n in ("eps_q", "eps_prime", "L", "Gamma", "k"))
    s, t, m = sympy.Symbol("s", positive=True), sympy.Symbol("t", nonnegative=True), sympy.Symbol("m", positive=True)
    if delta0 is None:
        def delta0(eq, ep, lip):
            return (ep - 2 * eq) / lip
    d0 = delta0(eps_q, eps_prime, L)
    # (1) the triangle-inequality step, with eps' = 2 eps_q + s
    status1, how1, wit1 = prove_le((2 * eps_q + L * t * d0).subs(eps_prime, 2 * eps_q + s),
                                   eps_prime.subs(eps_prime, 2 * eps_q + s), domain={t: (0, 1)})
    # (2) consequence: delta0 - Gamma (k+1) eps_q = (eps_q / L) * slack, slack = (k - 2) - L Gamma (k+1) = m > 0
    gap = sympy.simplify(d0.subs(eps_prime, k * eps_q) - Gamma * (k + 1) * eps_q)
    identity = sympy.simplify(gap - eps_q / L * ((k - 2) - L * Gamma * (k + 1))) == 0
    # (3) audit of the shipped binning
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    expert = LinearExpert(np.asarray(K, dtype=float))
    q = UniformBinning(-2.0, 2.0, as_int("bins", bins, minimum=2))
    eq_num = float(q.eps_sup)
    ep_num = as_real("eps_prime_factor", eps_prime_factor, positive=True) * eq_num
    lip = float(expert.lipschitz)
    d0_num = float(d0.subs({eps_q: eq_num, eps_prime: ep_num, L: lip}))
    dx = expert.K.shape[1]
    x = rng.uniform(-1.0, 1.0, (pairs, dx)) * (1.9 / max(lip, 1e-12) / math.sqrt(dx))
    direction = rng.standard_normal((pairs, dx))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    x2 = x + direction * rng.uniform(0.0, d0_num, (pairs, 1))
    inside = np.all(np.abs(expert.mean(x2)) < 2.0, axis=1)
    gaps = np.linalg.norm(q(expert.mean(x)) - q(expert.mean(x2)), axis=1)[inside]
    audit_bad = int(np.sum(gaps > ep_num * (1 + 1e-12)))
    head = (f"delta0 = {d0}; step ||q(pi(x)) - q(pi(x'))|| <= 2 eps_q + L r <= eps' for r <= delta0: {status1} ({how1})"
            f"; consequence L Gamma (k+1) < k-2 => Gamma (k+1) eps_q <= delta0: "
            f"{'proved (delta0 - Gamma(k+1)eps_q = (eps_q/L)((k-2) - L Gamma(k+1)))' if identity else 'not an identity'}"
            f"; audit of UniformBinning(-2, 2, {bins}) (eps_q = {eq_num:g}) with u = Kx (L = {lip:g}), eps' = "
            f"{ep_num:g}, delta0 = {d0_num:g}: {audit_bad} of {int(inside.sum())} pairs violate, max gap {gaps.max():.4g}")
    if status1 == "counterexample" or audit_bad:
        return CheckResult("prop5.binning", "counterexample", head + (f"; witness {wit1}" if wit1 else ""))
    if not identity:
        return CheckResult("prop5.binning", "failed", head)
    return CheckResult("prop5.binning", "proved" if status1 == "proved" else "verified-numerically", head)


def check_thm1_constants(
    a: float = 0.5, b: float = 1.0, k: float = -0.25, noise_std: float = 0.1, bins: int = 200,
    eps_prime_factor: float = 6.0, H: int = 30, n: int = 4000, seed: int = 20260310,
    Gamma: float | None = None, bound_factor: float = 1.0,
) -> CheckResult:
    r"""Theorem 1's explicit-constant form, term by term, on a scalar linear instance.

    Instance: ``x+ = a x + b u + w``, deterministic expert ``u = k x``, uniform binning of
    ``[-2, 2]`` (sup error ``eps_q``), learner ``pi2 = q#pi*`` (infinite data: ``TV = 0``), tracking
    reward ``1 - min(1, |u - kx|)``; global P-IISS (``delta_iiss = 0``, ``p_far = 0``) with
    ``Gamma = sum_j |a^j b|``; ``eps' = factor * eps_q`` and Proposition 5's modulus
    ``kappa = 1{r > delta0}`` which is 0 at ``Gamma (eps_q + eps')`` (checked). Along shared-noise
    coupled trajectories:

    .. math::

        |u^0_h - u^2_h| \le \varepsilon_q + \varepsilon',\quad
        |x^0_h - x^2_h| \le \textstyle\sum_{j<h} |a^{h-1-j} b|\,|u^0_j - u^2_j|
        \le \Gamma \max_{j<h} |u^0_j - u^2_j| \le \Gamma(\varepsilon_q + \varepsilon'),

        |r^0_h - r^2_h| \le L_r(|x^0_h - x^2_h| + |u^0_h - u^2_h|),\quad
        |J(\pi_0) - J(\pi_2)| \le H L_r (\Gamma + 1)(\varepsilon_q + \varepsilon') .

    The last right side is the bound library's ``thm1`` explicit form evaluated with these values.

    Parameters
    ----------
    a, b, k, noise_std : float
        The instance.
    bins : int
        Binning cells.
    eps_prime_factor : float
    H, n : int
        Horizon and coupled trajectory pairs.
    seed : int
    Gamma : float, optional
        The gain used in the bound (default the exact ``|b|/(1 - |a|)``; a smaller value is a wrong input).
    bound_factor : float
        Multiplies the library's bound (default 1; below 1 is a wrong constant).

    Returns
    -------
    CheckResult
        ``verified-numerically`` when every step holds on every trajectory and the regret (mean +
        4 standard errors) is below the bound; ``counterexample`` naming the first failing step.

    References
    ----------
    Cao & Xie 2026, Theorem 1 and its proof.
    """
    from qbc_theory.bounds import get

    if not abs(a) < 1:
        raise DimensionError(f"a: expected |a| < 1 (global P-IISS), found {a:g}")
    H = as_int("H", H, minimum=1)
    n = as_int("n", n, minimum=10)
    gamma_true = abs(b) / (1 - abs(a))
    Gam = gamma_true if Gamma is None else as_real("Gamma", Gamma, positive=True)
    q = UniformBinning(-2.0, 2.0, as_int("bins", bins, minimum=2))
    eq = float(q.eps_sup)
    ep = eps_prime_factor * eq
    L = abs(k)
    L_r = math.sqrt(1 + L * L)
    delta0 = (ep - 2 * eq) / L
    kappa_zero = gamma_true * (eq + ep) <= delta0
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    x0 = rng.standard_normal(n)
    x2 = x0.copy()
    gain = np.zeros(n)  # sum_j |a^{h-1-j} b| |u0_j - u2_j|
    max_du = np.zeros(n)  # max_{j<h} |u0_j - u2_j|, the argument of the max-type gamma
    worst = {"action": 0.0, "state": 0.0, "gamma": 0.0, "reward": 0.0}
    lip_sum = np.zeros(n)
    ret0, ret2 = np.zeros(n), np.zeros(n)
    viol = []
    for h in range(H):
        u0 = k * x0
        u2 = q((k * x2)[:, None])[:, 0]
        if np.any(np.abs(k * x2) >= 2.0):
            raise DimensionError("bins: the learner's action left the binning range [-2, 2]; use a smaller noise_std")
        du, dxs = np.abs(u0 - u2), np.abs(x0 - x2)
        r0 = 1 - np.minimum(1, np.abs(u0 - k * x0))
        r2 = 1 - np.minimum(1, np.abs(u2 - k * x2))
        ret0 += r0
        ret2 += r2
        lip_sum += L_r * (dxs + du)
        checks = (("action gap |u0 - u2| <= eps_q + eps'", du, eq + ep),
                  ("state gap <= gamma", dxs, gain * (1 + 1e-12) + 1e-15),
                  ("state gap <= Gamma max_j |u0_j - u2_j|", dxs, Gam * max_du * (1 + 1e-12) + 1e-15),
                  ("Gamma max_j |u0_j - u2_j| <= Gamma (eps_q + eps')", Gam * max_du, Gam * (eq + ep) * (1 + 1e-12)),
                  ("reward gap <= L_r (state gap + action gap)", np.abs(r0 - r2), L_r * (dxs + du) * (1 + 1e-12) + 1e-15))
        for name, lhs, rhs in checks:
            bad = lhs > rhs
            if np.any(bad) and not viol:
                i = int(np.argmax(bad))
                viol.append(f"{name} fails at h={h + 1}: {float(lhs[i]):.4g} > {float(np.broadcast_to(rhs, lhs.shape)[i]):.4g}")
        for key, lhs, rhs in (("action", du, eq + ep), ("state", dxs, gain + 1e-300),
                              ("gamma", Gam * max_du, Gam * (eq + ep)), ("reward", np.abs(r0 - r2), L_r * (dxs + du) + 1e-300)):
            worst[key] = max(worst[key], float(np.max(lhs / rhs)))
        w = noise_std * rng.standard_normal(n)
        gain = abs(a) * gain + abs(b) * du
        max_du = np.maximum(max_du, du)
        x0 = a * x0 + b * u0 + w
        x2 = a * x2 + b * u2 + w
    # The zero terms (delta_iiss, tv, p_far, kappa) are outside the registry's open ranges that
    # evaluate() enforces, so the library's explicit expression is substituted directly.
    explicit = get("thm1", form="explicit").explicit
    values = dict(H=H, delta_iiss=0, tv=0, p_far=0, kappa=0, Gamma=Gam, eps_q=eq, eps_prime=ep, L_r=L_r)
    missing = sorted(x.name for x in explicit.free_symbols if x.name not in values)
    if missing:
        return CheckResult("thm1.constants", "failed", f"bounds.get('thm1') needs unexpected symbols {missing}")
    value = bound_factor * float(explicit.subs({x: values[x.name] for x in explicit.free_symbols}))
    diff = ret0 - ret2
    regret, se = float(abs(diff.mean())), float(diff.std(ddof=1) / math.sqrt(n))
    sum_term = H * L_r * (Gam + 1) * (eq + ep)
    if float(lip_sum.max()) > sum_term * (1 + 1e-12) and not viol:
        viol.append(f"sum_h L_r(state gap + action gap) = {float(lip_sum.max()):.4g} > H L_r (Gamma+1)(eps_q+eps') = {sum_term:.4g}")
    if regret - 4 * se > value and not viol:
        viol.append(f"regret {regret:.4g} (se {se:.2g}) > explicit bound {value:.4g}")
    detail = (f"x+ = {a:g} x + {b:g} u + w (std {noise_std:g}), u = {k:g} x, UniformBinning(-2, 2, {bins}) eps_q = {eq:g}, "
              f"eps' = {ep:g}, Gamma = {Gam:g} (exact {gamma_true:g}), L_r = {L_r:.4g}, H = {H}, {n} coupled pairs; "
              f"kappa(Gamma(eps_q + eps')) = 0 since Gamma(eps_q+eps') = {gamma_true * (eq + ep):.4g} <= delta0 = {delta0:.4g}: "
              f"{kappa_zero}; worst ratios lhs/rhs: action {worst['action']:.3f}, state/gamma {worst['state']:.3f}, "
              f"Gamma max|du|/Gamma(eps_q+eps') {worst['gamma']:.3f}, reward/Lipschitz {worst['reward']:.3f}; regret "
              f"{regret:.4g} (se {se:.2g}) vs bounds.get('thm1') explicit {value:.4g}")
    if viol:
        return CheckResult("thm1.constants", "counterexample", detail + "; " + viol[0])
    if not kappa_zero:
        return CheckResult("thm1.constants", "failed", detail + "; the instance does not make kappa vanish")
    return CheckResult("thm1.constants", "verified-numerically", detail)
