r"""Theorem 7's coupling step: does Algorithm 1's real rollout have the law the proof assumes?

Scalar linear system ``x+ = a x + b u + w``, ``w ~ N(0, v_w)``, ``x_1 ~ N(0, v_0)``, deterministic
expert ``u = k x``, no quantization (``eps_q = 0``) and infinite data: the learner is the expert and
the learned model is the true transition (realizable, so the MLE's limit). Algorithm 1 rolls out the
auxiliary trajectory in the model with the model's own noise ``w^a`` and executes ``u^a`` open loop in
the real system, whose noise ``w`` is independent of ``w^a``. The proof glues ``w = w^a``.

Every quantity is a linear function of the Gaussian vector ``(x_1, w_1.., w^a_1..)``, so both laws
are Gaussian with covariances computed here in exact rationals.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np

from qbc_theory.model.validation import as_int
from qbc_theory.model.errors import DimensionError

from ._result import CheckResult

__all__ = ["rollout_coefficients", "covariance", "expected_clipped_abs", "check_thm7_coupling"]


def _exact(name: str, value) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (int, Fraction)):
        raise DimensionError(f"{name}: expected an int or a Fraction (exact), found {type(value).__name__}")
    return Fraction(value)


def rollout_coefficients(a, b, k, H: int, glued: bool) -> dict[str, list[list[Fraction]]]:
    r"""Coefficients of the states and actions on the base vector ``(x_1, w_1..w_{H-1}, w^a_1..w^a_{H-1})``.

    .. math::

        x^a_{h+1} = (a + b k) x^a_h + w^a_h,\quad u^a_h = k x^a_h,\quad
        x_{h+1} = a x_h + b u^a_h + w_h,\quad x^*_{h+1} = (a + bk) x^*_h + w_h .

    With ``glued`` the model noise is the real noise (``w^a = w``), the coupling the proof uses.

    Parameters
    ----------
    a, b, k : int or Fraction
    H : int
    glued : bool

    Returns
    -------
    dict
        ``"x"``, ``"u"`` (the real rollout of Algorithm 1), ``"x_star"``, ``"u_star"`` (the expert):
        ``H`` coefficient rows each, rows of length ``2H - 1``.
    """
    a, b, k = _exact("a", a), _exact("b", b), _exact("k", k)
    H = as_int("H", H, minimum=1)
    m = 2 * H - 1

    def unit(i):
        row = [Fraction(0)] * m
        row[i] = Fraction(1)
        return row

    def comb(*terms):
        return [sum((c * r[i] for c, r in terms), Fraction(0)) for i in range(m)]

    xa, x, xs = [unit(0)], [unit(0)], [unit(0)]
    ua, us = [], []
    for h in range(H):
        ua.append(comb((k, xa[h])))
        us.append(comb((k, xs[h])))
        if h == H - 1:
            break
        w = unit(1 + h)
        wa = w if glued else unit(H + h)
        xa.append(comb((a + b * k, xa[h]), (Fraction(1), wa)))
        x.append(comb((a, x[h]), (b, ua[h]), (Fraction(1), w)))
        xs.append(comb((a + b * k, xs[h]), (Fraction(1), w)))
    return {"x": x, "u": ua, "x_star": xs, "u_star": us}


def covariance(rows: list[list[Fraction]], variances: list[Fraction]) -> list[list[Fraction]]:
    """Exact covariance ``M D M^T`` of the linear combinations ``rows`` of independent variables."""
    return [[sum((r[i] * s[i] * variances[i] for i in range(len(variances))), Fraction(0)) for s in rows]
            for r in rows]


def expected_clipped_abs(variance: Fraction, scale: Fraction, dps: int = 30) -> mpmath.mpf:
    r"""``E[min(1, |Y|/s)]`` for ``Y ~ N(0, v)``.

    .. math::

        \mathbb{E}\min(1, |Y|/s) = \operatorname{erfc}\Bigl(\frac{s}{\tau\sqrt2}\Bigr)
        + \frac{\tau}{s}\sqrt{\frac{2}{\pi}}\bigl(1 - e^{-s^2/(2\tau^2)}\bigr),\quad \tau = \sqrt v .
    """
    if variance == 0:
        return mpmath.mpf(0)
    with mpmath.workdps(dps):
        tau = mpmath.sqrt(mpmath.mpf(variance.numerator) / variance.denominator)
        s = mpmath.mpf(scale.numerator) / scale.denominator
        return mpmath.erfc(s / (tau * mpmath.sqrt(2))) + tau / s * mpmath.sqrt(2 / mpmath.pi) * (
            1 - mpmath.exp(-s ** 2 / (2 * tau ** 2)))


def _tv_centered_normals(v1: Fraction, v2: Fraction) -> mpmath.mpf:
    r"""``TV(N(0, v1), N(0, v2))``: ``2 |Phi(t/s1) - Phi(t/s2)|`` at the density crossing ``t``."""
    if v1 == v2:
        return mpmath.mpf(0)
    with mpmath.workdps(30):
        a, b = (mpmath.mpf(v.numerator) / v.denominator for v in (v1, v2))
        t = mpmath.sqrt(a * b * mpmath.log(b / a) / (b - a))
        return abs(2 * (mpmath.ncdf(t / mpmath.sqrt(a)) - mpmath.ncdf(t / mpmath.sqrt(b))))


def _mc_cross_check(a, b, k, v0, vw, H, n, seed) -> tuple[float, float, float]:
    """Var(x_H) of Algorithm 1's real rollout by Monte Carlo through the library's ``open_loop``."""
    from qbc_theory.model.dynamics import LinearSystem
    from qbc_theory.engine.rollout import open_loop

    rng = np.random.default_rng(np.random.SeedSequence(seed))
    system = LinearSystem([[float(a)]], [[float(b)]], noise_std=float(vw) ** 0.5, x0_std=float(v0) ** 0.5)
    x1 = rng.standard_normal((n, 1)) * float(v0) ** 0.5
    wa = rng.standard_normal((H, n, 1)) * float(vw) ** 0.5
    w = rng.standard_normal((H, n, 1)) * float(vw) ** 0.5
    xa, actions = x1.copy(), np.empty((H, n, 1))
    for h in range(H):
        actions[h] = float(k) * xa
        xa = (float(a) + float(b) * float(k)) * xa + wa[h]
    traj = open_loop(system, actions, lambda x, u: np.zeros(x.shape[0]), x1, w)
    xH = traj.states[H - 1, :, 0]
    var = float(np.var(xH, ddof=1))
    # standard error of a Gaussian sample variance
    return var, var * (2 / (n - 1)) ** 0.5, float(np.mean(xH))


def check_thm7_coupling(
    a=Fraction(1, 2), b=Fraction(1), k=Fraction(-1, 4), v0=Fraction(1), vw=Fraction(1, 100),
    H: int = 20, scale=Fraction(1), mc_trajectories: int = 20000, seed: int = 20260308,
) -> CheckResult:
    r"""Compare the law of Algorithm 1's real rollout with the law Theorem 7's proof assumes.

    .. math::

        e_h = x_h - x^a_h,\quad e_{h+1} = a e_h + w_h - w^a_h,\quad
        u^a_h - k x_h = -k e_h \ne 0 \text{ when } v_w > 0 .

    With tracking reward ``r = 1 - min(1, |u - k x|/s)`` the expert's return is ``H`` and the
    regret of Algorithm 1 with infinite data and ``eps_q = 0`` is
    ``sum_h E min(1, |k e_h|/s) > 0``, while Theorem 7's bound ``H (sqrt(log(|Pi||M|/delta^2)/n) + eps_q)``
    tends to 0. The exact variance of ``x_H`` is cross-checked by Monte Carlo through the library's
    :func:`qbc_theory.engine.rollout.open_loop`.

    Parameters
    ----------
    a, b, k : int or Fraction
        System and expert gain (default a = 1/2, b = 1, k = -1/4: open loop and closed loop stable).
    v0, vw : int or Fraction
        Variances of ``x_1`` and of the transition noise (``vw = 0``: deterministic transitions).
    H : int
    scale : int or Fraction
        ``s`` of the tracking reward.
    mc_trajectories : int
        Monte Carlo trajectories for the cross-check (0 skips it).
    seed : int

    Returns
    -------
    CheckResult
        ``proved`` when the real rollout's law equals the expert's law exactly (deterministic
        transitions); ``counterexample`` when it does not, with the size of the difference;
        ``failed`` if the glued coupling does not reproduce the expert's law or the Monte Carlo
        cross-check disagrees with the exact variance.

    References
    ----------
    Cao & Xie 2026, Algorithm 1 and Theorem 7 (proof).
    """
    a, b, k, v0, vw, scale = (_exact(n, v) for n, v in
                              (("a", a), ("b", b), ("k", k), ("v0", v0), ("vw", vw), ("scale", scale)))
    if v0 < 0 or vw < 0 or scale <= 0:
        raise DimensionError(f"v0, vw, scale: expected v0, vw >= 0 and scale > 0, found {v0}, {vw}, {scale}")
    H = as_int("H", H, minimum=2)
    variances = [v0] + [vw] * (2 * (H - 1))
    glued = rollout_coefficients(a, b, k, H, glued=True)
    alg = rollout_coefficients(a, b, k, H, glued=False)
    cov = {name: covariance(c["x"] + c["u"], variances) for name, c in (("glued", glued), ("alg", alg))}
    expert_cov = covariance(alg["x_star"] + alg["u_star"], variances)
    if cov["glued"] != expert_cov:
        return CheckResult("thm7.coupling", "failed",
                           "the glued coupling (w^a = w) does not reproduce the expert's law; the construction is wrong")
    label = f"x+ = {a} x + {b} u + w, Var w = {vw}, x_1 ~ N(0, {v0}), expert u = {k} x, H = {H}, eps_q = 0, n = oo"
    if cov["alg"] == expert_cov:
        return CheckResult("thm7.coupling", "proved",
                           f"{label}: the real rollout of Algorithm 1 has exactly the expert's law "
                           f"(covariances equal in rationals), as the proof assumes")
    # residual e_h = x_h - x^a_h in the non-glued rollout: u^a_h - k x_h = -k e_h
    e_rows = [[u - k * x for u, x in zip(ur, xr)] for ur, xr in zip(alg["u"], alg["x"])]
    e_var = [covariance([r], variances)[0][0] for r in e_rows]
    regret = mpmath.fsum(expected_clipped_abs(v, scale) for v in e_var)
    reg_x = mpmath.fsum(expected_clipped_abs(cov["alg"][h][h], scale) - expected_clipped_abs(expert_cov[h][h], scale)
                        for h in range(H))
    var_real, var_star = cov["alg"][H - 1][H - 1], expert_cov[H - 1][H - 1]
    # Control: the same instance with deterministic transitions (short horizon) must give equal laws.
    det_vars = [v0] + [Fraction(0)] * (2 * (min(H, 5) - 1))
    det = rollout_coefficients(a, b, k, min(H, 5), glued=False)
    det_equal = covariance(det["x"] + det["u"], det_vars) == covariance(det["x_star"] + det["u_star"], det_vars)
    if not det_equal:
        return CheckResult("thm7.coupling", "failed",
                           "with deterministic transitions the open-loop rollout should reproduce the expert's law")
    detail = (f"{label}: the joint laws differ (with Var w = 0 they coincide exactly, checked); the expert's law lives on u = k x, the real rollout has "
              f"Var(u_h - k x_h) = k^2 Var(e_h) = {float(k * k * e_var[-1]):.4g} at h = H (> 0 from h = 2), so "
              f"TV(real, assumed) = 1; Var(x_H) = {float(var_real):.6g} (real) vs {float(var_star):.6g} (expert, "
              f"= the glued coupling), TV of the x_H marginals {float(_tv_centered_normals(var_real, var_star)):.4f}; regret with tracking reward 1 - min(1, |u - k x|/{scale}) = "
              f"{float(regret):.4g} = {float(regret) / H:.4g} H; with regulation reward 1 - min(1, |x|/{scale}) "
              f"= {float(reg_x):.4g}; Theorem 7's bound H (sqrt(log(|Pi||M|/delta^2)/n) + eps_q) -> 0 as n -> oo")
    if mc_trajectories:
        mc, se, _ = _mc_cross_check(a, b, k, v0, vw, H, as_int("mc_trajectories", mc_trajectories, minimum=100), seed)
        if abs(mc - float(var_real)) > 5 * se:
            return CheckResult("thm7.coupling", "failed",
                               detail + f"; Monte Carlo through rollout.open_loop gives Var(x_H) = {mc:.6g} "
                               f"(se {se:.2g}), inconsistent with the exact value")
        detail += f"; Monte Carlo through rollout.open_loop: Var(x_H) = {mc:.6g} (se {se:.2g}), consistent"
    return CheckResult("thm7.coupling", "counterexample", detail)
