"""The catalog: every result of Cao & Xie 2026 as a :class:`~qbc_theory.theory.bound.Bound`.

Each catalog entry is built by a function ``_b_<name>`` whose docstring has a ``Constants`` section:
one line per explicit constant saying which step of the proof it comes from, or that the proof
fixes none and a symbol is kept. :attr:`Bound.constants` is read from that section, so the
documentation and the object cannot drift apart. :func:`trap_loop_sum` is the numpy evaluator of
Theorem 6's explicit sum.

References
----------
Cao & Xie 2026, *Understanding Behavior Cloning with Action Quantization*, Theorems 1-9,
Propositions 4-5, Appendix A and the appendix P-IISS proposition.
"""

from __future__ import annotations

import functools
import inspect
import math
import re

import numpy as np
import scipy.special
import sympy
from sympy import Rational, sqrt

from ..model.errors import DimensionError
from .bound import Bound, Condition, GeomSum, Indicator, IsPositive, register
from .symbols import sym

__all__ = ["names", "get", "catalog", "trap_loop_sum"]


# --------------------------------------------------------------------------------------------
# Theorem 6's explicit sum (numpy evaluator)
# --------------------------------------------------------------------------------------------

_ERF_ONE = 6.0
assert scipy.special.erf(_ERF_ONE) == 1.0  # erfc(6) ~ 2e-17 is below half an ulp of 1


def trap_loop_sum(A6, B6, k, eps_q, H):
    r"""Theorem 6's explicit regret lower bound, evaluated with numpy broadcasting.

    .. math::

        \sum_{h=2}^{H} A\,\bigl(\Phi(\rho_{h-1}\,\varepsilon) - \tfrac12\bigr), \qquad
        \rho_t = \frac{k/2 - q_0 (1 - \lambda^{t-1})}{\lambda^{t-1}},\quad
        q_0 = \frac{B}{1-\lambda},\quad \lambda = A + B.

    Parameters
    ----------
    A6, B6, k, eps_q : array_like
        The construction's constants (``A6 + B6 < 1``) and scale; broadcast together with ``H``.
    H : array_like of int
        Horizon(s).

    Returns
    -------
    ndarray
        The sum, in the broadcast shape.

    Notes
    -----
    ``Phi(x) - 1/2 = erf(x / sqrt 2) / 2``. When ``k/2 > q0`` (the construction's condition) the
    ``rho_t`` increase in ``t``; from the first ``t`` with ``rho_t eps / sqrt 2 >= 6`` (found in closed
    form) ``erf`` is exactly 1.0 in double precision, so every later term equals ``A/2`` and those
    terms are added in closed form. This is exact, not an approximation, in double precision.
    Without that condition every term is computed.

    References
    ----------
    Cao & Xie 2026, Theorem 6 (deterministic trap-loop construction).
    """
    A6, B6, k, eps_q, H = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (A6, B6, k, eps_q, H)))
    lam = A6 + B6
    half_a = 0.5 * A6
    scale = eps_q / math.sqrt(2.0)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        q0 = B6 / (1.0 - lam)
        increasing = (k / 2.0 > q0) & (scale > 0)
        # first t with rho_t * scale >= 6, where erf is exactly 1.0 in double precision:
        # rho_t = q0 + (k/2 - q0) lambda^-(t-1) >= 6/scale  <=>  t - 1 >= log(ratio) / log(1/lambda)
        ratio = (_ERF_ONE / scale - q0) / (k / 2.0 - q0)
        t_sat = 1.0 + np.ceil(np.maximum(np.log(ratio), 0.0) / -np.log(lam))
        t_sat = np.where(increasing & np.isfinite(t_sat), t_sat, H)
    last = np.minimum(t_sat, H)  # terms t = 1 .. last - 1 are computed, t = last .. H - 1 equal A/2
    # rho_t eps / sqrt 2 = q0 scale + (k/2 - q0) scale lambda^-(t-1): two in-place operations per step
    shape = lam.shape
    base = (q0 * scale).ravel()
    slope = ((k / 2.0 - q0) * scale).ravel()
    inv_lam = (1.0 / lam).ravel()
    last_flat = last.ravel()
    grow = np.ones(base.shape)
    x = np.empty(base.shape)
    live = np.empty(base.shape, dtype=bool)
    acc = np.zeros(base.shape)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore", under="ignore"):
        for t in range(1, int(last.max()) if last.size else 1):
            np.multiply(slope, grow, out=x)
            x += base
            scipy.special.erf(x, out=x)
            np.less(t, last_flat, out=live)
            x *= live
            acc += x
            grow *= inv_lam
    total = half_a * acc.reshape(shape)
    total += half_a * np.maximum(H - last, 0.0)
    return total


# --------------------------------------------------------------------------------------------
# The catalog
# --------------------------------------------------------------------------------------------

def _s(*names):
    return [sym(n) for n in names]


def _constants_of(builder) -> tuple[str, ...]:
    doc = inspect.getdoc(builder) or ""
    m = re.search(r"Constants\n-+\n(.*?)(?:\n\n|\Z)", doc, re.S)
    if not m:
        return ()
    lines, cur = [], ""
    for line in m.group(1).splitlines():
        if line.startswith("* "):
            if cur:
                lines.append(cur)
            cur = line[2:].strip()
        else:
            cur += " " + line.strip()
    if cur:
        lines.append(cur)
    return tuple(lines)


_STAT_DET = "24 log(2|Pi|/delta)/n"


def _b_mle():
    r"""MLE guarantee for a finite realizable class (Appendix A).

    .. math:: D_H^2(P^{q\#\pi^*}, P^{\hat\pi}) \le \frac{6 \log(2|\Pi|/\delta)}{n}

    Constants
    ---------
    * 6 and 2 in 6 log(2|Pi|/delta)/n: Appendix A's finite-class MLE bound as stated there, with
      probability >= 1 - delta (squared Hellinger without the factor 1/2).
    """
    H_, n, delta, Pi, c = _s("H", "n", "delta", "Pi", "c")
    return dict(theorem="Appendix A (MLE)", kind="upper", quantity="D_H^2(P^{q#pi*}, P^{pi_hat})",
                holds="with probability >= 1 - delta",
                rate=c * sympy.log(Pi / delta) / n, explicit=6 * sympy.log(2 * Pi / delta) / n,
                conditions=(Condition("finite policy class, realizable: q#pi* in Pi"),),
                example=dict(n=1000, delta=0.05, Pi=100))


def _b_thm1():
    r"""General reduction (Theorem 1) with linear moduli and a sup quantization error.

    .. math::

        |J(\pi_0) - J(\pi_2)| \le H^2 \delta_{IISS} + H\,TV + H p_d
        + H^2 \kappa \Gamma (\varepsilon_q + \varepsilon')
        + H L_r (\Gamma + 1)(\varepsilon_q + \varepsilon')

    Here gamma(r) = Gamma max_k r_k, kappa(r) = kappa r and ||u0_h - u~0_h|| <= eps_q (sup error),
    so gamma((||u0_k - u~0_k|| + eps')_k) <= Gamma (eps_q + eps').

    Constants
    ---------
    * 1 on H^2 delta_iiss: union bound of the P-IISS failure over the H steps (each <= delta_iiss),
      regret bounded by H on that event.
    * 1 on H TV: the proof couples the two extended laws; they differ with probability TV, and the
      regret there is at most H.
    * 1 on H p_d: the event some ||u~_h - u0_h|| > d - eps' leaves the local P-IISS region; regret <= H on it.
    * 1 on H^2 kappa Gamma (eps_q + eps'): at each of the H steps the RTVC coupling fails with
      probability <= kappa(gamma(...)); each failure costs at most H (bad-event sum).
    * 1 on H L_r (Gamma + 1)(eps_q + eps'): on the good event |r(x0,u0) - r(x2,u2)| <= L_r (||x0 - x2|| +
      ||u0 - u2||) <= L_r (gamma(...) + ||u0_h - u~0_h|| + eps'), summed over H steps.
    """
    H, delta_iiss, tv, p_far, kappa, Gamma, eps_q, eps_prime, L_r, c = _s(
        "H", "delta_iiss", "tv", "p_far", "kappa", "Gamma", "eps_q", "eps_prime", "L_r", "c")
    e = eps_q + eps_prime
    explicit = H ** 2 * delta_iiss + H * tv + H * p_far + H ** 2 * kappa * Gamma * e + H * L_r * (Gamma + 1) * e
    return dict(theorem="Theorem 1", kind="upper", quantity="|J(pi0) - J(pi2)|", holds="always",
                rate=c * explicit, explicit=explicit,
                conditions=(Condition("P^{pi0,T} is (gamma, delta_iiss)-d-locally P-IISS, gamma(r) = Gamma max r"),
                            Condition("pi1~ is eps'-RTVC with modulus kappa(r) = kappa r"),
                            Condition("reward in [0,1] and L_r-Lipschitz"),
                            Condition("sup_h ||u0_h - u~0_h|| <= eps_q")),
                example=dict(H=50, delta_iiss=0.001, tv=0.01, p_far=0.001, kappa=0.5, Gamma=2.0,
                             eps_q=0.01, eps_prime=0.02, L_r=1.0))


def _b_thm2():
    r"""Theorem 2 (stochastic quantized expert, TVC class, global P-EIISS).

    .. math::

        J(\pi^*) - J(\hat\pi) \le H\sqrt{\frac{6\log(2|\Pi|/\delta)}{n}}
        + \frac{\kappa C}{1-\eta} H^2 \varepsilon_q + L_r\Bigl(1 + \frac{C}{1-\eta}\Bigr) H \varepsilon_q

    Constants
    ---------
    * H sqrt(6 log(2|Pi|/delta)/n): Theorem 1's H TV term with TV <= sqrt(D_H^2) (stochastic expert,
      Hellinger without the factor 1/2) and Appendix A's D_H^2 <= 6 log(2|Pi|/delta)/n.
    * kappa C/(1 - eta) on H^2 eps_q: Theorem 1's kappa term with eps' = 0 and the P-EIISS gain;
      sum_h sum_{k<h} C eta^(h-1-k) e_k <= C/(1 - eta) sum_k e_k = C/(1 - eta) H eps_q (in-distribution eps_q),
      times H for the regret on each coupling failure.
    * L_r (1 + C/(1 - eta)) on H eps_q: Theorem 1's Lipschitz term, sum_h L_r (gamma(...) + e_h) with the same
      geometric-series step.
    """
    H, n, delta, Pi, eps_q, kappa, C, eta, L_r, c = _s("H", "n", "delta", "Pi", "eps_q", "kappa", "C", "eta", "L_r", "c")
    g = C / (1 - eta)
    explicit = H * sqrt(6 * sympy.log(2 * Pi / delta) / n) + kappa * g * H ** 2 * eps_q + L_r * (1 + g) * H * eps_q
    rate = c * (H * sqrt(sympy.log(Pi / delta) / n) + H ** 2 * eps_q)
    return dict(theorem="Theorem 2", kind="upper", quantity="J(pi*) - J(pi_hat)",
                holds="with probability >= 1 - delta", rate=rate, explicit=explicit,
                conditions=(Condition("every policy in Pi is TVC with kappa(r) = kappa r"),
                            Condition("q#pi* in Pi (realizable), finite Pi"),
                            Condition("P^{pi*,T} globally P-EIISS with (C, eta)"),
                            Condition("reward in [0,1] and L_r-Lipschitz")),
                example=dict(H=50, n=1000, delta=0.05, Pi=100, eps_q=0.01, kappa=0.5, C=1.5, eta=0.5, L_r=1.0))


def _b_thm3():
    r"""Theorem 3 (deterministic quantized expert, binning, k eps_q-RTVC class, max-type gamma).

    .. math::

        J(\pi^*) - J(\hat\pi) \le \frac{24 H\log(2|\Pi|/\delta)}{n}
        + H^2 \kappa\Gamma(k+1)\varepsilon_q + H L_r(\Gamma+1)(k+1)\varepsilon_q

    with gamma(r) = Gamma r (max-type) and kappa(r) = kappa r.

    Constants
    ---------
    * 24 = 4 * 6: Theorem 1's H TV term with TV <= 4 D_H^2 for a deterministic quantized expert
      (Foster et al. 2024) and Appendix A's D_H^2 <= 6 log(2|Pi|/delta)/n.
    * 1 on H^2 kappa Gamma (k+1) eps_q: Theorem 1's kappa term with eps' = k eps_q and
      ||u - q(u)|| <= eps_q, so the argument of gamma is <= (k+1) eps_q at every step; H steps, regret <= H.
    * 1 on H L_r (Gamma+1)(k+1) eps_q: Theorem 1's Lipschitz term, L_r (gamma((k+1) eps_q) + (k+1) eps_q) per step.
    """
    H, n, delta, Pi, eps_q, kappa, Gamma, k, L_r, c = _s("H", "n", "delta", "Pi", "eps_q", "kappa", "Gamma", "k", "L_r", "c")
    explicit = (24 * H * sympy.log(2 * Pi / delta) / n + H ** 2 * kappa * Gamma * (k + 1) * eps_q
                + H * L_r * (Gamma + 1) * (k + 1) * eps_q)
    rate = c * (H * sympy.log(Pi / delta) / n + H ** 2 * kappa * Gamma * (k + 1) * eps_q
                + H * (Gamma + 1) * (k + 1) * eps_q)
    return dict(theorem="Theorem 3", kind="upper", quantity="J(pi*) - J(pi_hat)",
                holds="with probability >= 1 - delta", rate=rate, explicit=explicit,
                conditions=(Condition("q is binning with sup error eps_q"),
                            Condition("every policy in Pi is k eps_q-RTVC with kappa(r) = kappa r"),
                            Condition("q#pi* deterministic and in Pi, finite Pi"),
                            Condition("P^{pi*,T} gamma-globally P-IISS, gamma(r) = Gamma max_t r_t"),
                            Condition("reward in [0,1] and L_r-Lipschitz")),
                example=dict(H=50, n=1000, delta=0.05, Pi=100, eps_q=0.01, kappa=0.5, Gamma=2.0, k=3.0, L_r=1.0))


def _b_thm3_binning():
    r"""Theorem 3 with Proposition 5's binning modulus (deterministic L-Lipschitz expert).

    .. math::

        J(\pi^*) - J(\hat\pi) \le \frac{24 H\log(2|\Pi|/\delta)}{n}
        + H^2\, \mathbb{1}\{L\Gamma(k+1) \ge k-2\}\,\mathbb{1}\{\varepsilon_q > 0\}
        + H L_r(\Gamma+1)(k+1)\varepsilon_q

    kappa(r) = 1{r > delta_0}, delta_0 = (k - 2) eps_q / L, so kappa(Gamma (k+1) eps_q) is 0 when
    L Gamma (k+1) < k - 2 and at most 1 otherwise. The indicators are the sympy functions
    :class:`Indicator` (``1{s >= 0}``) and :class:`IsPositive` (``1{s > 0}``), no Piecewise. The first
    is 1 at equality, which is conservative (Proposition 5's modulus is 0 there). The factor
    1{eps_q > 0} is Proposition 5 at eps_q = 0 (then delta_0 = 0 and kappa(0) = 0): without
    quantization there is no H^2 term. For k <= 2 Proposition 5 does not apply and kappa <= 1
    trivially; the indicator is then 1 automatically.

    Constants
    ---------
    * 24 = 4 * 6: as in Theorem 3 (TV <= 4 D_H^2, Appendix A's 6 log(2|Pi|/delta)/n).
    * 1 on H^2 1{...}: Theorem 1's kappa term, H steps, regret <= H, with kappa in {0, 1}.
    * 1 on H L_r (Gamma+1)(k+1) eps_q: Theorem 1's Lipschitz term as in Theorem 3.
    """
    H, n, delta, Pi, eps_q, L, Gamma, k, L_r, c = _s("H", "n", "delta", "Pi", "eps_q", "L", "Gamma", "k", "L_r", "c")
    ind = Indicator(L * Gamma * (k + 1) - (k - 2)) * IsPositive(eps_q)
    explicit = 24 * H * sympy.log(2 * Pi / delta) / n + H ** 2 * ind + H * L_r * (Gamma + 1) * (k + 1) * eps_q
    rate = c * (H * sympy.log(Pi / delta) / n + H ** 2 * ind + H * (Gamma + 1) * (k + 1) * eps_q)
    return dict(theorem="Theorem 3 + Proposition 5", kind="upper", quantity="J(pi*) - J(pi_hat)",
                holds="with probability >= 1 - delta", rate=rate, explicit=explicit,
                conditions=(Condition("q is binning with sup error eps_q; eps' = k eps_q"),
                            Condition("expert deterministic and L-Lipschitz; q#pi* in Pi, finite Pi"),
                            Condition("P^{pi*,T} gamma-globally P-IISS, gamma(r) = Gamma max_t r_t")),
                # L Gamma (k+1) < k - 2 is not a hypothesis: it decides whether the H^2 term is present,
                # and the indicator in the formula covers both cases.
                example=dict(H=50, n=1000, delta=0.05, Pi=100, eps_q=0.01, L=0.1, Gamma=2.0, k=4.0, L_r=1.0))


def _b_prop4():
    r"""Proposition 4 (regression BC, no quantization; P-EIISS, TVC learner).

    .. math::

        J(\pi^*) - J(\hat\pi) \le \frac{\kappa C}{1-\eta} H^2 \varepsilon_{reg}
        + L_r\Bigl(1 + \frac{C}{1-\eta}\Bigr) H \varepsilon_{reg}

    with eps_reg = (1/H) sum_h E||u*_h - u_hat_h|| on expert states.

    Constants
    ---------
    * Both: Theorem 1 applied with (pi0, pi0~) = (pi*, learner's action on expert states) and
      (pi1, pi1~) = (pi*, pi_hat), so the two extended laws coincide (TV = 0), eps' = 0, delta = 0;
      then the geometric-series step of Theorem 2 (sum of P-EIISS gains <= C/(1 - eta)).
      This route is ours: THEORY.md states only the rate H sum_h E||u* - u_hat||.
    """
    H, eps_reg, kappa, C, eta, L_r, c = _s("H", "eps_reg", "kappa", "C", "eta", "L_r", "c")
    g = C / (1 - eta)
    explicit = kappa * g * H ** 2 * eps_reg + L_r * (1 + g) * H * eps_reg
    return dict(theorem="Proposition 4", kind="upper", quantity="J(pi*) - J(pi_hat)", holds="always",
                rate=c * H ** 2 * eps_reg, explicit=explicit,
                conditions=(Condition("P^{pi*,T} globally P-EIISS with (C, eta)"),
                            Condition("pi_hat TVC with kappa(r) = kappa r"),
                            Condition("reward in [0,1] and L_r-Lipschitz")),
                example=dict(H=50, eps_reg=0.01, kappa=0.5, C=1.5, eta=0.5, L_r=1.0))


def _b_prop5():
    r"""Proposition 5 (ii): RTVC modulus of q#pi for binning and a deterministic L-Lipschitz expert.

    .. math::

        W_{c_{\varepsilon'}}\bigl(q\#\pi(x), q\#\pi(x')\bigr) \le \kappa(r)
        = \mathbb{1}\{L r > \varepsilon' - 2\varepsilon_q\}, \qquad r = \|x - x'\|,

    i.e. kappa(r) = 1{r > delta_0} with delta_0 = (eps' - 2 eps_q) / L, written without division so
    that L = 0 needs no special case. aux ``delta0`` gives the radius.

    Constants
    ---------
    * 2 in eps' - 2 eps_q: two quantization errors, ||q(pi(x)) - pi(x)|| and ||q(pi(x')) - pi(x')||,
      each <= eps_q (triangle inequality); no other constant.
    """
    L, r, eps_q, eps_prime = _s("L", "r", "eps_q", "eps_prime")
    explicit = IsPositive(L * r - (eps_prime - 2 * eps_q))
    return dict(theorem="Proposition 5", kind="upper", quantity="W_{c_eps'}(q#pi(x), q#pi(x'))", holds="always",
                rate=explicit, explicit=explicit,
                conditions=(Condition("q binning with sup error eps_q; expert deterministic, L-Lipschitz"),
                            Condition("eps' > 2 eps_q", sympy.Gt(eps_prime, 2 * eps_q))),
                aux=(("delta0", (eps_prime - 2 * eps_q) / L),),
                example=dict(L=1.0, r=0.01, eps_q=0.01, eps_prime=0.04))


def _b_thm6_det():
    r"""Theorem 6, deterministic dynamics: price of a non-smooth learned quantizer (trap loop).

    .. math::

        J(\pi^*) - J(q\#\pi^*) \ge \sum_{h=2}^{H} A\bigl(\Phi(\rho_{h-1}\varepsilon_q) - \tfrac12\bigr)

    with rho_t = (k/2 - q0 (1 - lambda^(t-1))) / lambda^(t-1), q0 = B/(1 - lambda), lambda = A + B,
    and the construction's scale eps written eps_q (the paper's identification; THEORY.md section 9.3
    notes the measured in-distribution error behaves like c1 eps + c2/H instead). Symbols A6, B6, k.
    The sum is a sympy ``Sum``; :func:`trap_loop_sum` evaluates it with broadcasting.

    Constants
    ---------
    * A per step: in the I_T1 <-> I_T2 cycle the action error, hence the per-step regret, is at least A.
    * Phi(rho_{h-1} eps) - 1/2: probability that x_h is in the trap (x_1 ~ N(0, 1) lands in I_P's
      capture region), from the construction's capture argument.
    """
    H, k, eps_q, A6, B6, c = _s("H", "k", "eps_q", "A6", "B6", "c")
    h = sympy.Symbol("h", integer=True, positive=True)
    lam = A6 + B6
    q0 = B6 / (1 - lam)
    t = h - 1
    rho = (k / 2 - q0 * (1 - lam ** (t - 1))) / lam ** (t - 1)
    summand = A6 * sympy.erf(rho * eps_q / sqrt(2)) / 2
    explicit = sympy.Sum(summand, (h, 2, H))
    return dict(theorem="Theorem 6 (deterministic)", kind="lower", quantity="J(pi*) - J(q#pi*)",
                holds="exactly (infinite data)", rate=c * H, explicit=explicit,
                conditions=(Condition("lambda = A + B < 1", sympy.Lt(A6 + B6, 1)),
                            Condition("k/2 > B/(1 - lambda)", sympy.Gt(k / 2, q0)),
                            Condition("A k < 1", sympy.Lt(A6 * k, 1)),
                            Condition("d > k/2 (interval I_T1 = [d eps, (d+1) eps])")),
                ranges=(("eps_q", 0.0, math.inf, True, False),),
                example=dict(H=50, k=1.0, eps_q=0.01, A6=0.2, B6=0.25),
                numeric=lambda A6, B6, k, eps_q, H: trap_loop_sum(A6, B6, k, eps_q, H))


def _b_thm6_noisy():
    r"""Theorem 6, Gaussian-noise dynamics: H Omega(1/|log eps_q|).

    .. math:: J(\pi^*) - J(q\#\pi^*) \ge \frac{c H}{|\log \varepsilon_q|}

    Constants
    ---------
    * c: the proof as restated in THEORY.md fixes no constant (the return time to the loop is
      Theta(log(1/eps)) "with constant probability"), so the symbol c is kept; the explicit form
      equals the rate form.
    """
    H, eps_q, c = _s("H", "eps_q", "c")
    e = c * H / sympy.Abs(sympy.log(eps_q))
    return dict(theorem="Theorem 6 (Gaussian noise)", kind="lower", quantity="J(pi*) - J(q#pi*)",
                holds="exactly (infinite data)", rate=e, explicit=e,
                conditions=(Condition("noise std sigma_w = o(eps_q)"), Condition("eps_q < 1", sympy.Lt(eps_q, 1))),
                ranges=(("eps_q", 0.0, 1.0, True, True),),
                example=dict(H=50, eps_q=0.01, c=1.0))


def _b_thm7():
    r"""Theorem 7 (Algorithm 1: log-loss BC with an auxiliary model rollout, open-loop deployment).

    .. math::

        J(\pi^*) - J(\mathrm{alg}) \le H\sqrt{\frac{6\log(2|\Pi||\mathcal M|/\delta)}{n}}
        + L_r\Bigl(1 + \frac{C}{1-\eta}\Bigr) H \varepsilon_q

    Constants
    ---------
    * 6 and 2|Pi||M|: Appendix A's MLE bound on the product class Pi x M (size |Pi||M|) for the joint
      law of (x_h, q(u_h)), and TV <= sqrt(D_H^2); regret <= H where the auxiliary rollout and the
      expert's quantized trajectory are not coupled. This gives log(2|Pi||M|/delta), smaller than
      the statement's log(|Pi|/delta) + log(|M|/delta) for delta < 1/2.
    * L_r (1 + C/(1 - eta)): on the coupled event the executed actions are q(u_h); with shared noise the
      state gap is gamma(errors) (P-EIISS), summed with the action errors and the geometric series
      C/(1 - eta), times L_r. The statement prints no constant (written "<="); this route is ours.
    """
    H, n, delta, Pi, M, eps_q, C, eta, L_r, c = _s("H", "n", "delta", "Pi", "M", "eps_q", "C", "eta", "L_r", "c")
    explicit = H * sqrt(6 * sympy.log(2 * Pi * M / delta) / n) + L_r * (1 + C / (1 - eta)) * H * eps_q
    rate = c * H * (sqrt((sympy.log(Pi / delta) + sympy.log(M / delta)) / n) + eps_q)
    return dict(theorem="Theorem 7", kind="upper", quantity="J(pi*) - J(alg)",
                holds="with probability >= 1 - delta", rate=rate, explicit=explicit,
                conditions=(Condition("P^{pi*,T} globally P-EIISS with (C, eta)"),
                            Condition("q#pi* in Pi and T o rho in M, both finite"),
                            Condition("reward in [0,1] and L_r-Lipschitz")),
                example=dict(H=50, n=1000, delta=0.05, Pi=100, M=100, eps_q=0.01, C=1.5, eta=0.5, L_r=1.0))


def _b_thm8():
    r"""Theorem 8 (lower bound, deterministic expert): E[regret] >~ H (1/n + eps_q).

    .. math::

        \mathbb E[J(\pi^*) - J(\hat\pi)] \ge \frac12\left[\frac{H}{12 n}
        \Bigl(1 - \sqrt{2\bigl(1 - (1 - \tfrac{1}{3n})^n\bigr)}\Bigr) + \frac{H\varepsilon_q}{2}\right]

    Constants
    ---------
    * 1/(12 n) = Delta/4 with Delta = 1/(3n): Le Cam's step, max regret >= (Delta H / 4)(1 - TV).
    * sqrt(2 (1 - (1 - 1/(3n))^n)): TV(P_a^n, P_b^n) <= sqrt 2 sqrt(1 - (1 - D_H^2/2)^n) with
      1 - D_H^2/2 = 1 - Delta; it decreases in n from sqrt(2/3) ~ 0.816 at n = 1 towards
      sqrt(2 (1 - e^{-1/3})) ~ 0.753, so the paper's "TV <= 0.8" holds from n = 2 on (proofs_check
      thm8.tv); the formula keeps the exact n-dependent value, positive for every n.
    * 1/2 on H eps_q: the two colliding experts' regrets sum to >= H eps_q, so the larger is >= H eps_q / 2.
    * outer 1/2: the two constructions are combined by max(a, b) >= (a + b)/2 (the instance is chosen
      knowing n and eps_q); a smooth sum keeps sympy's limits simple.
    """
    H, n, eps_q, c = _s("H", "n", "eps_q", "c")
    tv = sqrt(2 * (1 - (1 - 1 / (3 * n)) ** n))
    explicit = (H * (1 - tv) / (12 * n) + H * eps_q / 2) / 2
    return dict(theorem="Theorem 8", kind="lower", quantity="E[J(pi*) - J(pi_hat)]", holds="in expectation",
                rate=c * H * (1 / n + eps_q), explicit=explicit, numeric=_thm8_numeric,
                conditions=(Condition("binning of [0, 1]: eps_q <= 1/2", sympy.Le(eps_q, Rational(1, 2))),
                            Condition("non-anticipatory offline learner on quantized data")),
                ranges=(("eps_q", 0.0, 0.5, False, False),),
                example=dict(H=50, n=1000, eps_q=0.01))


def _thm8_numeric(H, n, eps_q):
    """thm8's explicit form with ``1 - (1 - 1/(3n))^n = -expm1(n log1p(-1/(3n)))``: the plain power
    rounds to 1 in double precision from n ~ 1e16 on, which would drop TV and overstate the bound 4x."""
    n = np.asarray(n, dtype=float)
    tv = np.sqrt(2.0 * -np.expm1(n * np.log1p(-1.0 / (3.0 * n))))
    return (np.asarray(H, dtype=float) * (1.0 - tv) / (12.0 * n) + np.asarray(H, dtype=float) * eps_q / 2.0) / 2.0


def _b_thm9():
    r"""Theorem 9 (lower bound, stochastic state-independent expert), high probability.

    .. math::

        \Pr\Bigl(J(\pi^*) - J(\hat\pi) \ge \tfrac12\Bigl(\frac{H}{5\sqrt n} + c H \varepsilon_q\Bigr)\Bigr)
        \ge \frac14\Bigl(1 - \sqrt{1 - (1 - \tfrac{4}{25 n})^n}\Bigr) \;(\ge 0.15)

    The probability is aux ``probability``.

    Constants
    ---------
    * 1/5 = Delta sqrt(n): the paper's Delta = (3/5)/sqrt(n) gives TV <= 7/8 and probability
      (1 - 7/8)/4 = 1/32, not the stated 1/8 (THEORY.md section 9.2); Delta = 1/(5 sqrt n) keeps the
      rate with probability >= (1 - sqrt(1 - e^{-4/25}))/4 > 1/8.
    * 1/4 in the probability: the reduction to testing over the four (policy, reward) pairs.
    * c on H eps_q: the eps_q part shifts supports by +-eps_q inside one bin; THEORY.md fixes no constant,
      so the symbol c is kept.
    * outer 1/2: max(a, b) >= (a + b)/2 over the two constructions.
    """
    H, n, eps_q, c = _s("H", "n", "eps_q", "c")
    explicit = (H / (5 * sqrt(n)) + c * H * eps_q) / 2
    prob = (1 - sqrt(1 - (1 - Rational(4, 25) / n) ** n)) / 4
    return dict(theorem="Theorem 9", kind="lower", quantity="J(pi*) - J(pi_hat)",
                holds="with probability >= aux 'probability'",
                rate=c * H * (1 / sqrt(n) + eps_q), explicit=explicit,
                conditions=(Condition("eps_q <= 1/2", sympy.Le(eps_q, Rational(1, 2))),
                            Condition("non-anticipatory offline learner on quantized data")),
                aux=(("probability", prob),),
                ranges=(("eps_q", 0.0, 0.5, False, False),),
                example=dict(H=50, n=1000, eps_q=0.01, c=1.0))


def _b_piiss_gaussian():
    r"""Appendix proposition: Gaussian dynamics and expert are (gamma, delta)-d-P-IISS.

    .. math::

        \delta = H e^{-\frac12\left(\frac{\rho_m}{2\sigma A_H(L_{cl})} - \sqrt{d_x}\right)_+^2}
        + H e^{-\frac12\left(\frac{\rho_m}{2 C\sigma_\pi A_H(L_{cl})} - \sqrt{d_u}\right)_+^2},
        \quad L_{cl} = \eta + C L_\mu,\quad d = \frac{\rho_m}{C A_H(\eta)}

    gamma_t((a_k)) = sum_k C eta^(t-k) a_k. aux ``d`` gives the radius.

    Constants
    ---------
    * All constants (1/2 in the exponent, 2 in 2 sigma, the union factor H) are the proposition's as
      stated: a Gaussian norm tail P(||w|| > sqrt(dim) + s) <= e^{-s^2/2} and a union bound over H steps.
    """
    H, C, eta, L_mu, rho_m, sigma, sigma_pi, dx, du = _s("H", "C", "eta", "L_mu", "rho_m", "sigma", "sigma_pi", "dx", "du")
    a = GeomSum(eta + C * L_mu, H)
    t1 = H * sympy.exp(-sympy.Max(rho_m / (2 * sigma * a) - sqrt(dx), 0) ** 2 / 2)
    t2 = H * sympy.exp(-sympy.Max(rho_m / (2 * C * sigma_pi * a) - sqrt(du), 0) ** 2 / 2)
    return dict(theorem="Appendix P-IISS proposition", kind="upper", quantity="delta (P-IISS failure probability)",
                holds="always", rate=t1 + t2, explicit=t1 + t2,
                conditions=(Condition("f is eta-contractive in x and C-Lipschitz in u on S, eta < 1"),
                            Condition("expert mean L_mu-Lipschitz on S; Gaussian noise and expert"),
                            Condition("nominal trajectory 2 rho_m inside S")),
                aux=(("d", rho_m / (C * GeomSum(eta, H))),),
                example=dict(H=20, C=1.0, eta=0.5, L_mu=0.3, rho_m=5.0, sigma=0.05, sigma_pi=0.05, dx=2, du=1))


def _b_tvc_gaussian():
    r"""TV modulus of a Gaussian policy N(mu(x), sigma_pi^2 I) with L_mu-Lipschitz mean.

    .. math::

        TV \le \operatorname{erf}\Bigl(\frac{L_\mu r}{2\sqrt2\,\sigma_\pi}\Bigr)
        \le \frac{L_\mu r}{\sqrt{2\pi}\,\sigma_\pi} \le \frac{L_\mu r}{\sqrt2\,\sigma_\pi}

    aux ``linear`` is THEORY.md's linear modulus L_mu r / (sqrt 2 sigma_pi); aux ``linear_tight`` uses
    erf(x) <= 2x/sqrt(pi).

    Constants
    ---------
    * 2 sqrt 2: TV(N(a, s^2 I), N(b, s^2 I)) = 2 Phi(||a - b|| / (2 s)) - 1 = erf(||a - b|| / (2 sqrt 2 s)), exact.
    """
    L_mu, r, sigma_pi, c = _s("L_mu", "r", "sigma_pi", "c")
    explicit = sympy.erf(L_mu * r / (2 * sqrt(2) * sigma_pi))
    return dict(theorem="Section 3 (Gaussian TVC)", kind="upper", quantity="TV(pi(x), pi(x'))", holds="always",
                rate=c * L_mu * r / sigma_pi, explicit=explicit,
                conditions=(Condition("Gaussian policy with L_mu-Lipschitz mean"),),
                aux=(("linear", L_mu * r / (sqrt(2) * sigma_pi)),
                     ("linear_tight", L_mu * r / (sqrt(2 * sympy.pi) * sigma_pi))),
                example=dict(L_mu=1.0, r=0.1, sigma_pi=0.2, c=1.0))


_BUILDERS = {
    "thm1": _b_thm1, "thm2": _b_thm2, "thm3": _b_thm3, "thm3_binning": _b_thm3_binning,
    "prop4": _b_prop4, "prop5": _b_prop5, "thm6_det": _b_thm6_det, "thm6_noisy": _b_thm6_noisy,
    "thm7": _b_thm7, "thm8": _b_thm8, "thm9": _b_thm9, "mle": _b_mle,
    "piiss_gaussian": _b_piiss_gaussian, "tvc_gaussian": _b_tvc_gaussian,
}


@functools.lru_cache(maxsize=None)
def _build(name: str) -> dict[str, Bound]:
    """Both forms of catalog entry ``name``, built once and registered (so ``with_form`` finds them)."""
    spec = _BUILDERS[name]()
    example = tuple(sorted(spec.pop("example").items()))
    constants = _constants_of(_BUILDERS[name])
    forms = {form: Bound(name=name, form=form, constants=constants, example=example, **spec)
             for form in ("explicit", "rate")}
    register(*forms.values())
    return forms


def names() -> list[str]:
    """Names of every bound in the catalog."""
    return list(_BUILDERS)


def get(name: str, form: str = "explicit") -> Bound:
    """The catalog bound ``name`` in ``form`` (the same object on every call, so caches persist).

    Raises
    ------
    DimensionError
        If ``name`` or ``form`` is unknown.
    """
    if name not in _BUILDERS:
        raise DimensionError(f"bound: expected one of {', '.join(_BUILDERS)}, found {name!r}")
    if form not in ("rate", "explicit"):
        raise DimensionError(f"form: expected 'rate' or 'explicit', found {form!r}")
    return _build(name)[form]


def catalog(form: str = "explicit") -> list[Bound]:
    """Every catalog bound in ``form``."""
    return [get(n, form) for n in names()]
