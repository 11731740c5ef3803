r"""Data-dependent evaluation of Theorem 1: every term measured on the instance and the learned policy.

The a-priori (worst-case) explicit bounds of the catalog replace each quantity of Theorem 1 by its
worst case: the statistical term by the MLE guarantee ``H sqrt(6 log(2|Pi|/delta)/n)`` (or
``24 H log(2|Pi|/delta)/n``), the state deviation by the max-type gain ``Gamma`` times the *sup*
quantization error, the smoothness modulus by the class's steepest member. This module evaluates the
same inequality with the quantities of the run instead (Cao & Xie 2026, Theorem 1):

.. math::

    |J(\pi^*) - J(\hat\pi)| \le H^2 \delta_{IISS} + H\,\mathrm{TV}(\bar P^0, \bar P^1) + H p_d
      + H\,\mathbb E_{\bar P^0} \sum_{h=1}^{H} \Big[\kappa(\gamma_h)
      + \frac{L_r}{H}\big(\gamma_h + \|u^0_h - \tilde u^0_h\| + \varepsilon'\big)\Big],
    \qquad \gamma_h = \sum_{k<h} \|A^{h-1-k} B\| \big(\|u^0_k - \tilde u^0_k\| + \varepsilon'\big),

with ``(pi0, pi0~) = (pi*, q#pi*)`` and ``(pi1, pi1~) = (rho o pi_hat, pi_hat)``:

* ``TV`` is the total variation between the two extended trajectory laws. Both share the dynamics
  and the dequantization kernel, so their likelihood ratio on a trajectory of ``P-bar^0`` (an expert
  rollout with tokens ``t_h = q(u_h)``) is ``Lambda = prod_h pi_hat(t_h | x_h) / q#pi*(t_h | x_h)`` and
  ``TV = E_0[(1 - Lambda)_+]`` exactly (:func:`trajectory_tv`); a Monte Carlo mean over rollouts, to
  which the cells add two standard errors.
* ``gamma_h`` is the exact P-IISS gain of a linear system (the open-loop impulse response
  ``||A^j B||``, :func:`iiss_gamma`), applied to the quantization errors actually met along the
  expert's rollouts (not their supremum).
* ``kappa`` is the learned policy's own modulus (for a quantized Gaussian learner the exact TV modulus
  ``erf(||K_hat|| r / (2 sqrt 2 sigma_hat))``, for a deterministic binned one Proposition 5's
  ``1{r > (eps' - 2 eps_q) / L_hat}``).

Theorem 1 holds for every admissible ``(eps', kappa)`` and every coupling, so the minimum over a grid
of ``eps'`` (:func:`thm1_data_bound_binned`) is still a bound.

This module registers no cell and defines no claim (``CLAIMS = ()``); the cells of
:mod:`.theorem2`, :mod:`.reduction` and :mod:`.linear` call it.

References
----------
Cao & Xie 2026, Theorem 1 and its proof; Proposition 5 (binning modulus).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special

from ...engine import learning, rollout
from ...model.errors import DimensionError
from ...model.validation import as_int, as_real

__all__ = [
    "gain_profile",
    "iiss_gamma",
    "trajectory_tv",
    "thm1_data_terms",
    "thm1_data_bound_binned",
    "gaussian_tv_modulus",
    "expert_rollouts",
    "gaussian_thm1_data",
    "CLAIMS",
]

CLAIMS: tuple = ()


def gain_profile(A, B, H) -> np.ndarray:
    r"""The open-loop impulse response ``g_j = ||A^j B||_2`` for ``j = 0, ..., H - 1``.

    .. math::

        \|x^0_{t+1} - x^1_{t+1}\| \le \sum_{k \le t} g_{t-k}\, \|u^0_k - u^1_k\|
        \quad\text{(shared noise, } x^+ = A x + B u + w\text{)}.

    Parameters
    ----------
    A : (dx, dx) array_like
    B : (dx, du) array_like
    H : int

    Returns
    -------
    (H,) ndarray

    References
    ----------
    Cao & Xie 2026, Definition 3; THEORY.md section 8.
    """
    A = np.atleast_2d(np.asarray(A, dtype=float))
    B = np.atleast_2d(np.asarray(B, dtype=float))
    if A.shape[0] != A.shape[1] or B.shape[0] != A.shape[0]:
        raise DimensionError(f"A, B: expected (dx, dx) and (dx, du), found {A.shape} and {B.shape}")
    H = as_int("H", H, minimum=1)
    out = np.empty(H)
    M = B.copy()
    for j in range(H):
        out[j] = np.linalg.norm(M, 2)
        M = A @ M
    return out


def iiss_gamma(gains, gaps) -> np.ndarray:
    r"""The exact linear P-IISS modulus along each trajectory.

    .. math::

        \gamma_h = \sum_{k=1}^{h-1} g_{h-1-k}\, r_k, \qquad \gamma_1 = 0,

    for per-step action gaps ``r_k`` (here quantization error plus ``eps'``).

    Parameters
    ----------
    gains : (H,) array_like
        ``g_j`` from :func:`gain_profile`.
    gaps : (N, H) array_like
        ``r_k >= 0`` per trajectory and step.

    Returns
    -------
    (N, H) ndarray
        ``gamma_h``: the bound on the state gap at step ``h``.

    References
    ----------
    Cao & Xie 2026, Definition 3 and Theorem 1.
    """
    g = np.asarray(gains, dtype=float)
    r = np.asarray(gaps, dtype=float)
    if r.ndim != 2 or g.ndim != 1 or g.size < r.shape[1]:
        raise DimensionError(f"gaps: expected (N, H) with H <= {g.size} gains, found {r.shape}")
    H = r.shape[1]
    out = np.zeros_like(r)
    for h in range(1, H):
        out[:, h] = r[:, :h] @ g[h - 1::-1][:h]
    return out


def trajectory_tv(log_ratio) -> tuple[float, float]:
    r"""Total variation between two trajectory laws from per-step log likelihood ratios.

    Trajectories are drawn from ``P^0``; ``log_ratio[i, h] = log p^1_h(t_h | x_h) - log p^0_h(t_h | x_h)``
    for the policies' token laws (the dynamics and dequantization factors cancel). Then

    .. math::

        \mathrm{TV}(P^0, P^1) = \mathbb E_{P^0}\Big[\big(1 - \textstyle\prod_h \Lambda_h\big)_+\Big],

    estimated by the mean over the ``N`` trajectories, with its standard error. ``-inf`` entries
    (a token ``P^1`` cannot produce) contribute 1.

    Parameters
    ----------
    log_ratio : (N, H) array_like

    Returns
    -------
    tv, se : float
        Estimate in ``[0, 1]`` and its Monte Carlo standard error.

    References
    ----------
    Cao & Xie 2026, Theorem 1 (the TV term) and Appendix A.
    """
    lr = np.asarray(log_ratio, dtype=float)
    if lr.ndim != 2 or lr.shape[0] < 2 or np.any(np.isnan(lr)):
        raise DimensionError(f"log_ratio: expected an (N >= 2, H) array without NaN, found shape {lr.shape}")
    total = np.minimum(lr.sum(axis=1), 0.0)  # (1 - e^s)_+ only depends on min(s, 0)
    v = -np.expm1(total)
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size))


def gaussian_tv_modulus(gain_norm: float, sigma: float):
    r"""The exact TV modulus of a (quantized) Gaussian linear policy ``q#N(K x, sigma^2 I)``.

    .. math::

        \kappa(r) = \operatorname{erf}\Big(\frac{\|K\| r}{2\sqrt2\,\sigma}\Big)
        \ \ge\ \mathrm{TV}\big(N(Kx, \sigma^2 I), N(Kx', \sigma^2 I)\big) \quad (\|x - x'\| \le r),

    and a quantizer never increases TV. It is at most the linear modulus ``||K|| r / (sqrt 2 sigma)``.

    Returns
    -------
    callable
        Vectorised ``kappa``.

    References
    ----------
    Cao & Xie 2026, Definition 4; THEORY.md section 3.
    """
    k = as_real("gain_norm", gain_norm, nonnegative=True)
    s = as_real("sigma", sigma, positive=True)
    return lambda r: scipy.special.erf(k * np.asarray(r, dtype=float) / (2.0 * math.sqrt(2.0) * s))


def thm1_data_terms(*, H, tv, p_far, errors, gains, L_r, kappa, eps_prime=0.0, delta_iiss=0.0) -> dict:
    r"""Theorem 1's right-hand side with every term measured (see the module docstring).

    Parameters
    ----------
    H : int
    tv, p_far, delta_iiss : float
        In ``[0, 1]``.
    errors : (N, H) array_like
        Quantization errors ``||u^0_h - q(u^0_h)||`` along ``N`` expert rollouts.
    gains : (H,) array_like
        :func:`gain_profile` of the system.
    L_r : float
    kappa : callable
        The learner's ``eps'``-RTVC modulus (vectorised).
    eps_prime : float

    Returns
    -------
    dict
        ``iiss, tv, far, kappa, lipschitz`` and ``total``.

    References
    ----------
    Cao & Xie 2026, Theorem 1.
    """
    H = as_int("H", H, minimum=1)
    e = np.asarray(errors, dtype=float)
    if e.ndim != 2 or e.shape[1] != H:
        raise DimensionError(f"errors: expected shape (N, {H}), found {e.shape}")
    ep = as_real("eps_prime", eps_prime, nonnegative=True)
    gam = iiss_gamma(gains, e + ep)
    out = {
        "iiss": H * H * as_real("delta_iiss", delta_iiss, nonnegative=True),
        "tv": H * min(1.0, as_real("tv", tv, nonnegative=True)),
        "far": H * as_real("p_far", p_far, nonnegative=True),
        "kappa": H * float(np.minimum(1.0, kappa(gam)).sum(axis=1).mean()),
        "lipschitz": as_real("L_r", L_r, nonnegative=True) * float((gam + e + ep).sum(axis=1).mean()),
    }
    out["total"] = float(sum(out.values()))
    return out


def thm1_data_bound_binned(*, H, tv, p_far, errors, gains, L_r, lipschitz, eps_q, k_grid, cell_width=None) -> dict:
    r"""Theorem 1 for a deterministic learner ``q(pi_hat(x))`` through a binning, minimised over ``eps'``.

    By Proposition 5 (ii), for every ``eps' = k eps_q`` with ``k > 2`` the learner is ``eps'``-RTVC with
    ``kappa(r) = 1{r > (eps' - 2 eps_q) / L}``, ``L`` the learned map's Lipschitz constant. For a scalar
    uniform binning with cell width ``w`` the exact modulus is better: actions at most ``m w`` apart
    lie at most ``m`` cells apart, so ``|q(a) - q(b)| <= m w`` (clipping only shrinks the gap) and the
    learner is ``m w``-RTVC with ``kappa(r) = 1{r > m w / L}`` (``m = 1, 2, ...``; given ``cell_width``).
    Each choice gives a valid bound (:func:`thm1_data_terms`); the smallest is returned with its
    ``k = eps' / eps_q``.

    Parameters
    ----------
    H, tv, p_far, errors, gains, L_r
        As :func:`thm1_data_terms`.
    lipschitz : float
        ``L > 0``.
    eps_q : float
        The binning's sup error.
    k_grid : array_like
        Values of ``k > 2`` to try (Proposition 5 (ii)).
    cell_width : float, optional
        ``w`` of a scalar uniform binning: also try ``eps' = m w``, ``m = 1, ..., 12``, with the exact
        cell-count modulus.

    Returns
    -------
    dict
        The terms of the best ``k``, plus ``k``.

    References
    ----------
    Cao & Xie 2026, Theorem 1 and Proposition 5 (ii).
    """
    L = as_real("lipschitz", lipschitz, positive=True)
    eq = as_real("eps_q", eps_q, positive=True)
    choices = []  # (eps', radius below which the modulus is 0)
    for k in np.asarray(k_grid, dtype=float):
        if not k > 2:
            raise DimensionError(f"k_grid: expected values > 2 (Proposition 5 (ii)), found {k:g}")
        choices.append((k * eq, (k - 2.0) * eq / L))
    if cell_width is not None:
        w = as_real("cell_width", cell_width, positive=True)
        choices += [(m * w, m * w / L) for m in range(1, 13)]
    best = None
    for ep, d0 in choices:
        terms = thm1_data_terms(H=H, tv=tv, p_far=p_far, errors=errors, gains=gains, L_r=L_r,
                                kappa=lambda r, d0=d0: (np.asarray(r) > d0).astype(float), eps_prime=ep)
        if best is None or terms["total"] < best["total"]:
            best = dict(terms, k=float(ep / eq))
    return best


def expert_rollouts(system, expert, quantizer, H, N, rng) -> tuple:
    r"""``N`` expert rollouts of ``P-bar^0``: states, tokens ``t_h = q(u_h)`` and errors ``||u_h - q(u_h)||``.

    Parameters
    ----------
    system, expert, quantizer
        The instance (a per-step quantizer with flat tokens).
    H, N : int
    rng : numpy.random.Generator

    Returns
    -------
    states : (H, N, dx) ndarray
    tokens : (H, N) int ndarray
    errors : (N, H) ndarray

    References
    ----------
    Cao & Xie 2026, Theorem 1 (expectations under ``P-bar^0``).
    """
    noise = rollout.draw_noise(system, H, N, system.du, rng)
    traj = rollout.rollout(system, expert, lambda x, u: np.zeros(x.shape[0]), H, noise.x0, noise.w, noise.z)
    u = traj.actions.reshape(-1, system.du)
    tokens = np.asarray(quantizer.encode(u)).reshape(H, N)
    uq = np.asarray(quantizer.decode(tokens.reshape(-1)), dtype=float).reshape(u.shape)
    errors = np.linalg.norm(u - uq, axis=-1).reshape(H, N).T
    return traj.states, tokens, errors


def gaussian_thm1_data(system, expert, quantizer, K_hat, sigma_hat, L_r, H, N, rng, *, p_far=0.0) -> dict:
    r"""Theorem 1 with measured terms for a quantized Gaussian learner ``q#N(K_hat x, sigma_hat^2)``.

    On ``N`` expert rollouts (:func:`expert_rollouts`): the exact trajectory TV between
    ``q#pi*`` and the learner from the per-step token log-likelihood ratios
    (:func:`qbc_theory.engine.learning.quantized_gaussian_logpmf`, :func:`trajectory_tv`; two standard
    errors added), ``eps' = 0`` and the learner's exact TV modulus (:func:`gaussian_tv_modulus`), the
    exact linear gain (:func:`gain_profile`) on the measured quantization errors.

    Returns
    -------
    dict
        The terms of :func:`thm1_data_terms` plus ``tv`` (the estimate), ``tv_se``.

    References
    ----------
    Cao & Xie 2026, Theorem 1; Theorem 2's setting (stochastic quantized expert, TVC learner).
    """
    K_hat = np.atleast_2d(np.asarray(K_hat, dtype=float))
    states, tokens, errors = expert_rollouts(system, expert, quantizer, H, N, rng)
    lp1 = learning.quantized_gaussian_logpmf(states @ K_hat.T, sigma_hat, tokens, quantizer)
    lp0 = learning.quantized_gaussian_logpmf(states @ np.atleast_2d(expert.K).T, expert.noise_std, tokens, quantizer)
    tv, se = trajectory_tv((lp1 - lp0).T)
    terms = thm1_data_terms(H=H, tv=min(1.0, tv + 2.0 * se), p_far=p_far, errors=errors,
                            gains=gain_profile(system.A, system.B, H), L_r=L_r,
                            kappa=gaussian_tv_modulus(float(np.linalg.norm(K_hat, 2)), sigma_hat))
    return dict(terms, tv_mc=tv, tv_se=se)
