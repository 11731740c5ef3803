r"""Checks of the Gaussian facts: TVC of a Gaussian policy and the Gaussian P-IISS proposition."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import sympy
from scipy import integrate, stats

from qbc_theory.model.validation import as_int, as_real
from qbc_theory.theory.bounds import get
from qbc_theory.model.errors import DimensionError
from qbc_theory.checker.stability import gaussian_piiss

from ._result import CheckResult

__all__ = [
    "gaussian_tv_quadrature",
    "check_tvc_gaussian",
    "CubicSystem",
    "piiss_event_rate",
    "check_piiss_gaussian",
]


def _paper_tv(r: float, sigma: float) -> float:
    return math.erf(r / (2.0 * math.sqrt(2.0) * sigma))


def _library_tv() -> Callable[[float, float], float]:
    """``(r, sigma) -> TV`` from the bound library's explicit ``tvc_gaussian`` form."""
    expr = get("tvc_gaussian", form="explicit").explicit
    names = {x.name: x for x in expr.free_symbols}
    if set(names) != {"L_mu", "r", "sigma_pi"}:
        raise DimensionError(f"tvc_gaussian: expected symbols L_mu, r, sigma_pi, found {sorted(names)}")
    f = sympy.lambdify([names["r"], names["sigma_pi"]], expr.subs(names["L_mu"], 1), modules="math")
    return lambda r, sigma: float(f(r, sigma))


def gaussian_tv_quadrature(mu1, mu2, sigma: float, *, width: float = 12.0) -> tuple[float, float]:
    r"""TV between ``N(mu1, sigma^2 I)`` and ``N(mu2, sigma^2 I)`` by adaptive quadrature (1 or 2 dims).

    .. math::

        \mathrm{TV} = \tfrac12 \int |p(x) - q(x)|\, dx .

    The integral of ``|p - q|/2`` is taken over the box ``[min mu - width sigma, max mu + width sigma]``
    per axis, with the kink of ``|p - q|`` (the bisector ``(x - m) . (mu1 - mu2) = 0``) passed to the
    inner integrals as a breakpoint. The mass outside the box is bounded and added to the error.

    Parameters
    ----------
    mu1, mu2 : (m,) array, m in {1, 2}
    sigma : float
    width : float
        Box half-width in units of sigma.

    Returns
    -------
    (float, float)
        The TV and a bound on its absolute error (quadrature estimates plus truncated mass).

    Raises
    ------
    DimensionError
        If the means are not of the same length 1 or 2.
    """
    mu1 = np.atleast_1d(np.asarray(mu1, dtype=float))
    mu2 = np.atleast_1d(np.asarray(mu2, dtype=float))
    if mu1.shape != mu2.shape or mu1.size not in (1, 2):
        raise DimensionError(f"mu1, mu2: expected two vectors of length 1 or 2, found {mu1.shape}, {mu2.shape}")
    sigma = as_real("sigma", sigma, positive=True)
    m = mu1.size
    lo = np.minimum(mu1, mu2) - width * sigma
    hi = np.maximum(mu1, mu2) + width * sigma
    # Mass of each Gaussian outside the box, per axis, summed (union bound), for both laws.
    tail = 2 * m * 2 * stats.norm.sf(width)
    mid = (mu1 + mu2) / 2
    dmu = mu1 - mu2
    norm = (2 * math.pi * sigma ** 2) ** (-m / 2)

    def half_abs(*x):
        x = np.asarray(x)
        return 0.5 * norm * abs(math.exp(-np.sum((x - mu1) ** 2) / (2 * sigma ** 2))
                                - math.exp(-np.sum((x - mu2) ** 2) / (2 * sigma ** 2)))

    if m == 1:
        pieces = [(lo[0], mid[0]), (mid[0], hi[0])]
        total, err = 0.0, 0.0
        for a, b in pieces:
            v, e = integrate.quad(half_abs, a, b, epsabs=1e-13, epsrel=1e-12, limit=200)
            total, err = total + v, err + e
        return total, err + tail

    errs = []

    def inner(x):
        if dmu[1] != 0:
            ystar = mid[1] - (x - mid[0]) * dmu[0] / dmu[1]
            cuts = [lo[1]] + ([ystar] if lo[1] < ystar < hi[1] else []) + [hi[1]]
        else:
            cuts = [lo[1], hi[1]]
        s = 0.0
        for a, b in zip(cuts[:-1], cuts[1:]):
            v, e = integrate.quad(lambda y: half_abs(x, y), a, b, epsabs=1e-12, epsrel=1e-11, limit=200)
            s += v
            errs.append(e)
        return s

    points = [mid[0]] if dmu[1] == 0 else None
    total, err = integrate.quad(inner, lo[0], hi[0], epsabs=1e-11, epsrel=1e-10, limit=200, points=points)
    return total, err + (hi[0] - lo[0]) * max(errs) + tail


def check_tvc_gaussian(
    cases: Sequence[tuple] = (((0.3,), (0.0,), 1.0), ((1.0,), (-0.5,), 0.5), ((0.05,), (0.0,), 0.2),
                              ((0.4, -0.7), (0.0, 0.0), 1.0), ((1.5, 0.2), (-0.3, 0.9), 0.6),
                              ((0.0, 0.3), (0.0, -0.1), 0.25)),
    claimed: Callable[[float, float], float] | None = None,
    tol: float = 1e-7,
) -> CheckResult:
    r"""TV between two Gaussians with equal covariance against ``erf(||dmu|| / (2 sqrt 2 sigma))``.

    .. math::

        \mathrm{TV}\bigl(N(\mu, \sigma^2 I), N(\mu', \sigma^2 I)\bigr)
        = \operatorname{erf}\Bigl(\frac{\|\mu - \mu'\|}{2\sqrt2\,\sigma}\Bigr)
        \le \frac{\|\mu - \mu'\|}{\sqrt2\,\sigma}.

    Parameters
    ----------
    cases : sequence of (mu1, mu2, sigma)
        Means of length 1 or 2.
    claimed : callable, optional
        ``claimed(r, sigma)``, the formula under test. Default: the bound library's
        ``bounds.get("tvc_gaussian")`` explicit form with ``L_mu = 1``, ``sigma_pi = sigma``, which
        must also agree with the erf formula written here.
    tol : float
        Allowed discrepancy on top of the quadrature's error bound.

    Returns
    -------
    CheckResult
        ``verified-numerically`` when every case agrees within ``tol`` plus the error bound and the
        linear modulus bound holds; ``counterexample`` naming the first case that does not.

    References
    ----------
    Cao & Xie 2026, Section 3 (Gaussian policies are TVC; Definition 4).
    """
    tol = as_real("tol", tol, positive=True)
    source = "the given formula"
    if claimed is None:
        claimed, source = _library_tv(), "bounds.get('tvc_gaussian') (explicit, L_mu = 1)"
        for r, sigma in ((0.3, 1.0), (2.0, 0.5)):
            if not math.isclose(claimed(r, sigma), _paper_tv(r, sigma), rel_tol=1e-12, abs_tol=1e-15):
                return CheckResult("tvc.gaussian", "counterexample",
                                   f"{source} gives {claimed(r, sigma):.10f} at r={r:g}, sigma={sigma:g}, "
                                   f"the erf formula {_paper_tv(r, sigma):.10f}")
    rows, worst = [], 0.0
    for mu1, mu2, sigma in cases:
        tv, err = gaussian_tv_quadrature(mu1, mu2, sigma)
        r = float(np.linalg.norm(np.subtract(mu1, mu2)))
        formula = float(claimed(r, sigma))
        gap = abs(tv - formula)
        worst = max(worst, gap)
        label = f"{len(np.atleast_1d(mu1))}-d r={r:.4g} sigma={sigma:g}"
        if gap > tol + err:
            return CheckResult("tvc.gaussian", "counterexample",
                               f"{label}: quadrature TV = {tv:.10f} (error <= {err:.1e}) vs claimed {formula:.10f}, "
                               f"gap {gap:.2e} > {tol:.0e}")
        if tv > r / (math.sqrt(2) * sigma) + err:
            return CheckResult("tvc.gaussian", "counterexample",
                               f"{label}: quadrature TV = {tv:.10f} exceeds the linear modulus r/(sqrt 2 sigma) = "
                               f"{r / (math.sqrt(2) * sigma):.10f}")
        rows.append(f"{label}: {tv:.8f}")
    return CheckResult("tvc.gaussian", "verified-numerically",
                       f"adaptive quadrature of |p - q|/2 (1-d and 2-d, error bound incl. truncated tails) equals "
                       f"{source} = erf(||dmu||/(2 sqrt 2 sigma)) within {worst:.1e} (tolerance {tol:.0e}) and stays below "
                       f"||dmu||/(sqrt 2 sigma): " + "; ".join(rows))


class CubicSystem:
    r"""A scalar locally contractive system for the Gaussian P-IISS proposition.

    .. math::

        f(x, u) = a x + b\,\mathrm{sat}(x)^3 + c u, \quad \mathrm{sat}(x) = \max(-s, \min(s, x)),
        \quad w \sim N(0, \sigma^2),\ u \sim N(-\kappa x, \sigma_\pi^2),\ x_1 = 0.

    On ``S = [-R, R]`` (``R <= s``): ``|f(x,u) - f(x',u')| <= (a + 3 b R^2)|x - x'| + c|u - u'|``,
    so (A1) holds with ``eta = a + 3 b R^2`` and ``C = c``; (A2) with ``L_mu = kappa``; the nominal
    trajectory is 0, at distance ``R`` from the complement of ``S``, so (A3) holds with
    ``rho_m = R/2``. Outside ``S`` the cubic term expands (slope up to ``a + 3 b s^2``).

    Parameters
    ----------
    a, b, c, R, kappa, s : float
    """

    def __init__(self, a: float = 0.3, b: float = 1.0, c: float = 1.0, R: float = 0.4, kappa: float = 0.1,
                 s: float = 2.0):
        self.a, self.b, self.c = (as_real(n, v, positive=True) for n, v in (("a", a), ("b", b), ("c", c)))
        self.R = as_real("R", R, positive=True)
        self.kappa = as_real("kappa", kappa, nonnegative=True)
        self.s = as_real("s", s, positive=True)
        if self.R > self.s:
            raise DimensionError(f"R: expected R <= s = {self.s:g}, found {self.R:g}")

    @property
    def eta(self) -> float:
        """Contraction factor on S, ``a + 3 b R^2``."""
        return self.a + 3 * self.b * self.R ** 2

    def f(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """The noiseless map, vectorised."""
        return self.a * x + self.b * np.clip(x, -self.s, self.s) ** 3 + self.c * u

    def __repr__(self) -> str:
        return (f"f(x,u) = {self.a:g} x + {self.b:g} sat_{self.s:g}(x)^3 + {self.c:g} u, "
                f"S = [-{self.R:g}, {self.R:g}], mu(x) = -{self.kappa:g} x")


def piiss_event_rate(system: CubicSystem, *, sigma: float, sigma_pi: float, H: int, d: float, eta: float,
                     C: float, n: int, rng: np.random.Generator) -> tuple[int, int]:
    r"""Monte Carlo count of ``Phi_h and not Psi_h``, maximised over ``h``, under a shared-noise coupling.

    Policy 0 is the expert ``N(-kappa x, sigma_pi^2)``; policy 1 is ``N(-kappa x + (d/2) sign(x),
    sigma_pi^2)``, a push away from the origin. Both share the transition noise and the action noise.

    .. math::

        \Phi_h = \{|u^0_t - u^1_t| \le d,\ t \le h\},\quad
        \Psi_h = \{|x^0_{t+1} - x^1_{t+1}| \le \textstyle\sum_{k \le t} C \eta^{t-k} |u^0_k - u^1_k|,\ t \le h\}.

    Parameters
    ----------
    system : CubicSystem
    sigma, sigma_pi, d, eta, C : float
    H, n : int
    rng : numpy.random.Generator

    Returns
    -------
    (int, int)
        The largest count over ``h`` and the number of coupled pairs ``n``.
    """
    x0 = np.zeros(n)
    x1 = np.zeros(n)
    gain = np.zeros(n)
    phi = np.ones(n, dtype=bool)
    psi = np.ones(n, dtype=bool)
    worst = 0
    for _ in range(H):
        z = rng.standard_normal(n)
        w = sigma * rng.standard_normal(n)
        u0 = -system.kappa * x0 + sigma_pi * z
        u1 = -system.kappa * x1 + sigma_pi * z + 0.5 * d * np.sign(x1)
        du = np.abs(u0 - u1)
        phi &= du <= d
        gain = eta * gain + C * du
        x0 = system.f(x0, u0) + w
        x1 = system.f(x1, u1) + w
        # relative slack for the floating-point recursion of both sides
        psi &= np.abs(x0 - x1) <= gain * (1 + 1e-12) + 1e-15
        worst = max(worst, int(np.sum(phi & ~psi)))
    return worst, n


def check_piiss_gaussian(
    system: CubicSystem | None = None,
    sigmas: Sequence[float] = (0.004, 0.01, 0.04, 0.08),
    H: int = 10,
    n: int = 100_000,
    seed: int = 20260307,
    eta: float | None = None,
    level: float = 1e-3,
) -> CheckResult:
    r"""The Gaussian P-IISS proposition's ``delta`` against a Monte Carlo estimate of ``mu(Phi_h, not Psi_h)``.

    .. math::

        \delta = H e^{-\frac12(\frac{\rho_m}{2\sigma A_H(L_{cl})} - \sqrt{d_x})_+^2}
               + H e^{-\frac12(\frac{\rho_m}{2 C\sigma_\pi A_H(L_{cl})} - \sqrt{d_u})_+^2}
        \ \ge\ \max_h \mu(\Phi_h \cap \Psi_h^c).

    ``delta`` and ``d`` come from :func:`qbc_theory.checker.stability.gaussian_piiss` (the library under
    test), cross-checked against the bound catalog's ``piiss_gaussian`` and a direct evaluation of
    the formula. The system is
    :class:`CubicSystem` (default ``f = 0.3 x + sat(x)^3 + u``, ``S = [-0.4, 0.4]``, ``eta = 0.78``,
    ``mu(x) = -0.1 x``), with ``sigma_pi = sigma``.

    Parameters
    ----------
    system : CubicSystem, optional
    sigmas : sequence of float
        Noise levels (``sigma = sigma_pi``).
    H, n : int
        Horizon and coupled pairs per level.
    seed : int
        Root of the ``SeedSequence`` (one child per level).
    eta : float, optional
        Contraction factor fed to the proposition and to ``gamma``; default the system's true one
        (a smaller value is a wrong input).
    level : float
        One-sided level of the Clopper-Pearson bounds.

    Returns
    -------
    CheckResult
        ``counterexample`` if at some level the estimate's lower bound exceeds ``delta``;
        ``failed`` if the two library versions of ``delta`` or ``d`` disagree with the formula; else
        ``verified-numerically``.

    References
    ----------
    Cao & Xie 2026, appendix proposition (sufficient condition for local P-IISS).
    """
    system = CubicSystem() if system is None else system
    H = as_int("H", H, minimum=1)
    n = as_int("n", n, minimum=100)
    eta = system.eta if eta is None else as_real("eta", eta, positive=True)
    if not eta < 1:
        raise DimensionError(f"eta: expected eta < 1 on S, found {eta:g}")
    rho_m, C = system.R / 2, system.c
    children = np.random.SeedSequence(seed).spawn(len(sigmas))
    rows = []
    for sigma, child in zip(sigmas, children):
        prop = gaussian_piiss(eta=eta, C=C, L_mu=system.kappa, sigma=sigma, sigma_pi=sigma, rho_m=rho_m,
                              H=H, dx=1, du=1)
        L_cl = eta + C * system.kappa
        a_cl = sum(L_cl ** j for j in range(H))
        direct = sum(H * math.exp(-0.5 * max(rho_m / (2 * sc * a_cl) - 1.0, 0.0) ** 2) for sc in (sigma, C * sigma))
        catalog = get("piiss_gaussian", form="explicit")
        values = dict(H=H, C=C, eta=eta, L_mu=system.kappa, rho_m=rho_m, sigma=sigma, sigma_pi=sigma, dx=1, du=1)
        from_bounds = float(catalog.evaluate(**values))
        d_bounds = catalog.evaluate_aux(**values)["d"]
        if not (math.isclose(direct, prop.delta, rel_tol=1e-9) and math.isclose(direct, from_bounds, rel_tol=1e-9)
                and math.isclose(prop.d, d_bounds, rel_tol=1e-12)):
            return CheckResult("piiss.gaussian", "failed",
                               f"sigma={sigma:g}: stability.gaussian_piiss delta {prop.delta:.6g} (d {prop.d:.6g}), "
                               f"bounds.get('piiss_gaussian') {from_bounds:.6g} (d {d_bounds:.6g}), formula {direct:.6g}")
        count, total = piiss_event_rate(system, sigma=sigma, sigma_pi=sigma, H=H, d=prop.d, eta=eta, C=C, n=n,
                                        rng=np.random.default_rng(child))
        lo = stats.beta.ppf(level, count, total - count + 1) if count > 0 else 0.0
        hi = stats.beta.ppf(1 - level, count + 1, total - count) if count < total else 1.0
        rows.append((sigma, prop.delta, prop.d, count / total, lo, hi))
        if lo > prop.delta:
            return CheckResult("piiss.gaussian", "counterexample",
                               f"system {system!r}, eta={eta:g}, H={H}: at sigma = sigma_pi = {sigma:g} the Monte Carlo "
                               f"max_h mu(Phi_h and not Psi_h) = {count / total:.4g} (CP lower {lo:.3g}) > delta = "
                               f"{prop.delta:.4g} (d = {prop.d:.4g}, {total} coupled pairs)")
    table = "; ".join(f"sigma={s:g}: delta={dl:.3g}{' (vacuous)' if dl >= 1 else ''}, MC {p:.2e} "
                      f"[<= {hi:.2e}]" for s, dl, _, p, _, hi in rows)
    return CheckResult("piiss.gaussian", "verified-numerically",
                       f"system {system!r}, eta={eta:g}, C={C:g}, L_mu={system.kappa:g}, rho_m={rho_m:g}, H={H}, "
                       f"d={rows[0][2]:.4g}, alternative policy pushes by d/2 away from 0, {n} coupled pairs per level: "
                       f"{table}; the estimate never exceeds delta (one-sided level {level:g}); delta and d agree between "
                       f"stability.gaussian_piiss, bounds.get('piiss_gaussian') and the formula")
