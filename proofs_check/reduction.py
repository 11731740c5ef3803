r"""Checks of the reduction steps: Proposition 5(ii)'s triangle inequality and Theorem 1's constants.

Each inequality step is decided by the shared inequality checker
(:func:`qbc_theory.theory.inequality.check_inequality`, through :func:`prove_le`); the explicit bounds come
from the bound library (:func:`qbc_theory.theory.bounds.get`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import sympy

from qbc_theory.model.validation import as_int, as_real
from qbc_theory.theory.bounds import get
from qbc_theory.model.errors import DimensionError
from qbc_theory.model.experts import LinearExpert
from qbc_theory.theory.inequality import check_inequality
from qbc_theory.model.quantizers import UniformBinning
from qbc_theory.theory.symbols import sym

from ._result import CheckResult

__all__ = ["prove_le", "thm1_terms_from_proof", "check_prop5_binning", "check_thm1_constants"]


def prove_le(lhs, rhs, *, domain: dict | None = None, seed: int = 0) -> tuple[str, str, dict | None]:
    r"""Decide the claim ``lhs <= rhs`` for all admissible values of the symbols.

    .. math::

        \mathrm{lhs}(s) \le \mathrm{rhs}(s) \quad \forall s \text{ admissible}.

    A thin wrapper of the shared checker :func:`qbc_theory.theory.inequality.check_inequality` that takes
    the box ``domain`` keyed by symbols.

    Parameters
    ----------
    lhs, rhs : sympy expressions
        Symbols carry their assumptions (positive, ...).
    domain : dict, optional
        ``{symbol: (lo, hi)}`` boxes (closed) or ``(lo, hi, lo_open, hi_open)``.
    seed : int
        Seed of the checker's numeric search.

    Returns
    -------
    (status, detail, witness)
        ``status`` in {"proved", "verified-numerically", "counterexample"}.
    """
    domain = dict(domain or {})
    res = check_inequality(lhs, rhs, domain={s.name: b for s, b in domain.items()} or None, seed=seed)
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
    ``eps' = k eps_q`` (hypothesis written as ``P = L Gamma in (0, 1)``, ``k = (2 + P + m)/(1 - P)``,
    ``m > 0``); steps (1) and (2) go to the shared inequality checker; (3) an audit of the shipped
    :class:`~qbc_theory.model.quantizers.UniformBinning` with a :class:`~qbc_theory.model.experts.LinearExpert`:
    random state pairs at distance ``<= delta0`` must have quantized actions within ``eps'``.

    Parameters
    ----------
    delta0 : callable, optional
        ``delta0(eps_q, eps_prime, L)`` (sympy-compatible); default the bound library's
        ``bounds.get("prop5")`` aux ``delta0``, checked to equal ``(eps' - 2 eps_q)/L``; the library's
        modulus must vanish on every audited radius.
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
    bound = get("prop5", form="explicit")
    if delta0 is None:
        d0, source = dict(bound.aux)["delta0"], "bounds.get('prop5') aux"
        own = (eps_prime - 2 * eps_q) / L
        if sympy.simplify(d0 - own) != 0:
            return CheckResult("prop5.binning", "counterexample",
                               f"the bound library's delta0 = {d0} differs from (eps' - 2 eps_q)/L")
    else:
        d0, source = delta0(eps_q, eps_prime, L), "given"
    # (1) the triangle-inequality step, with eps' = 2 eps_q + s
    status1, how1, wit1 = prove_le((2 * eps_q + L * t * d0).subs(eps_prime, 2 * eps_q + s),
                                   eps_prime.subs(eps_prime, 2 * eps_q + s), domain={t: (0, 1)})
    # (2) consequence at eps' = k eps_q: write the hypothesis L Gamma (k+1) < k - 2 as P = L Gamma in
    # (0, 1), k = (2 + P + m)/(1 - P) with slack m > 0, and check Gamma (k+1) eps_q <= delta0.
    P = sympy.Symbol("P", positive=True)
    k_h = (2 + P + m) / (1 - P)
    status2, how2, wit2 = prove_le(Gamma * (k_h + 1) * eps_q, d0.subs(eps_prime, k * eps_q).subs({k: k_h, L: P / Gamma}),
                                   domain={P: (0, 1, True, True)})
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
    # the library's modulus kappa(r) = 1{L r > eps' - 2 eps_q} must vanish on the audited radii
    radii = np.linalg.norm(x2 - x, axis=1)[inside]
    radii = radii[radii > 0]
    kappa = np.asarray(bound.evaluate(L=lip, r=radii, eps_q=eq_num, eps_prime=ep_num))
    kappa_bad = int(np.sum(kappa != 0))
    head = (f"delta0 = {d0} ({source}); step ||q(pi(x)) - q(pi(x'))|| <= 2 eps_q + L r <= eps' for r <= delta0: {status1} ({how1})"
            f"; consequence L Gamma (k+1) < k-2 => Gamma (k+1) eps_q <= delta0 (eps' = k eps_q): {status2} ({how2})"
            f"; audit of UniformBinning(-2, 2, {bins}) (eps_q = {eq_num:g}) with u = Kx (L = {lip:g}), eps' = "
            f"{ep_num:g}, delta0 = {d0_num:g}: {audit_bad} of {int(inside.sum())} pairs violate, max gap "
            f"{gaps.max() if gaps.size else 0.0:.4g}; "
            f"bounds.get('prop5') modulus is 0 on {radii.size - kappa_bad} of {radii.size} audited radii")
    if "counterexample" in (status1, status2) or audit_bad:
        witness = wit1 or wit2
        return CheckResult("prop5.binning", "counterexample", head + (f"; witness {witness}" if witness else ""))
    if delta0 is None and kappa_bad:
        return CheckResult("prop5.binning", "failed", head)
    return CheckResult("prop5.binning", "proved" if status1 == status2 == "proved" else "verified-numerically", head)


#: Theorem 1's terms and the symbol that identifies each in the explicit form.
_THM1_KEYS = ("delta_iiss", "tv", "p_far", "kappa", "L_r")


def thm1_terms_from_proof() -> dict[str, sympy.Expr]:
    r"""Theorem 1's five terms as the proof produces them, with a max-type gamma and a linear kappa.

    .. math::

        H^2\delta_{IISS},\quad H\,TV,\quad H p_d,\quad
        H \sum_{h=1}^{H} \kappa\,\Gamma(\varepsilon_q + \varepsilon'),\quad
        H \sum_{h=1}^{H} \frac{L_r}{H}\bigl(\Gamma(\varepsilon_q + \varepsilon') + \varepsilon_q + \varepsilon'\bigr),

    using ``gamma((||u0_k - u~0_k|| + eps')_k) <= Gamma (eps_q + eps')`` and ``||u0_h - u~0_h|| <= eps_q``.

    Returns
    -------
    dict
        Term name (the symbol that identifies it) to its sympy expression.
    """
    H, delta_iiss, tv, p_far, kappa, Gamma, eps_q, eps_prime, L_r = (
        sym(n) for n in ("H", "delta_iiss", "tv", "p_far", "kappa", "Gamma", "eps_q", "eps_prime", "L_r"))
    e = eps_q + eps_prime
    gamma = Gamma * e
    return {"delta_iiss": H ** 2 * delta_iiss, "tv": H * tv, "p_far": H * p_far,
            "kappa": H * H * kappa * gamma, "L_r": H * H * (L_r / H) * (gamma + eps_q + eps_prime)}


def _thm1_symbolic(explicit: sympy.Expr) -> tuple[str, str]:
    """Compare the library's explicit form with :func:`thm1_terms_from_proof`, term by term."""
    terms = {}
    for term in sympy.Add.make_args(explicit):
        keys = [k for k in _THM1_KEYS if any(x.name == k for x in term.free_symbols)]
        if len(keys) != 1:
            return "failed", f"cannot attribute the term {term} of the explicit form to one of {_THM1_KEYS}"
        terms[keys[0]] = terms.get(keys[0], 0) + term
    mine = thm1_terms_from_proof()
    missing = [k for k in _THM1_KEYS if k not in terms]
    if missing:
        return "counterexample", f"the explicit form has no {missing} term"
    parts, status = [], "proved"
    for k in _THM1_KEYS:
        covers = prove_le(mine[k], terms[k])
        tight = prove_le(terms[k], mine[k])
        if covers[0] == "counterexample":
            return "counterexample", (f"term {k}: the proof needs {mine[k]} but the explicit form has {terms[k]} "
                                      f"({covers[1]}; witness {covers[2]})")
        if covers[0] != "proved":
            status = "verified-numerically"
        parts.append(f"{k}: {terms[k]} {'=' if tight[0] == 'proved' else '>='} proof's {mine[k]} ({covers[0]})")
    return status, "; ".join(parts)


def check_thm1_constants(
    a: float = 0.5, b: float = 1.0, k: float = -0.25, noise_std: float = 0.1, bins: int = 200,
    eps_prime_factor: float = 6.0, H: int = 30, n: int = 4000, seed: int = 20260310,
    Gamma: float | None = None, bound_factor: float = 1.0, explicit: sympy.Expr | None = None,
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
    Before the simulation, each of the explicit form's five terms is compared symbolically with the
    term the proof produces (:func:`thm1_terms_from_proof`).

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
    explicit : sympy.Expr, optional
        The explicit form under test (default ``bounds.get("thm1").explicit``). Its five terms are
        first compared symbolically with the proof's (:func:`thm1_terms_from_proof`) by the
        inequality checker: each must be at least the proof's term for all admissible values.

    Returns
    -------
    CheckResult
        ``verified-numerically`` when every step holds on every trajectory and the regret (mean +
        4 standard errors) is below the bound; ``counterexample`` naming the first failing step.

    References
    ----------
    Cao & Xie 2026, Theorem 1 and its proof.
    """
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
            raise DimensionError(f"noise_std: expected the learner's actions to stay in the binning range [-2, 2], "
                                 f"found |k x| = {float(np.max(np.abs(k * x2))):g} at h={h + 1}")
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
    explicit = get("thm1", form="explicit").explicit if explicit is None else explicit
    sym_status, sym_detail = _thm1_symbolic(explicit)
    if sym_status in ("counterexample", "failed"):
        return CheckResult("thm1.constants", sym_status, f"explicit form {explicit}: {sym_detail}")
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
    detail = f"symbolic, term by term (inequality checker): {sym_detail}; numerically on " + detail
    if viol:
        return CheckResult("thm1.constants", "counterexample", detail + "; " + viol[0])
    if not kappa_zero:
        return CheckResult("thm1.constants", "failed", detail + "; the instance does not make kappa vanish")
    return CheckResult("thm1.constants", "verified-numerically", detail)
