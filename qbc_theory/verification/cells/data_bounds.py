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
  ``TV = E_0[(1 - Lambda)_+]`` exactly (:func:`trajectory_tv`); the cells use the sharper
  ``sum_h TV_h`` over prefixes (:func:`prefix_tv_sum`, :func:`thm1_data_terms`) with a one-sided
  Clopper-Pearson / Chernoff-KL upper confidence bound (:func:`upper_confidence`).
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
import scipy.optimize
import scipy.special
import scipy.stats

from ...engine import learning, rollout
from ...model.errors import DimensionError
from ...model.validation import as_int, as_real

__all__ = [
    "gain_profile",
    "iiss_gamma",
    "trajectory_tv",
    "upper_confidence",
    "prefix_tv_sum",
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


def upper_confidence(values, level: float = 0.95) -> float:
    r"""A valid one-sided upper confidence bound for the mean of i.i.d. values in ``[0, 1]``.

    Binary values (a measured probability, ``k`` successes in ``N``): the Clopper-Pearson bound

    .. math::

        p^+ = \mathrm{Beta}^{-1}(\text{level};\, k + 1,\, N - k) \quad (k < N), \qquad p^+ = 1 \quad (k = N),

    which at ``k = 0`` is ``1 - (1 - level)^{1/N} ~ 3/N`` (the rule of three). Other values in
    ``[0, 1]``: the Chernoff-Hoeffding (KL) bound ``p^+ = sup{p >= mean: N kl(mean, p) <= log(1/(1 - level))}``,
    valid for any law on ``[0, 1]`` because a Bernoulli law of the same mean dominates its exponential
    moments (Hoeffding 1963, Theorem 3); at mean 0 it is the same ``1 - (1 - level)^{1/N}``.
    ``mean + 2 SE``, which this replaces, is 0 when no event was observed.

    Parameters
    ----------
    values : (N,) array_like
        In ``[0, 1]``, ``N >= 1``.
    level : float
        Confidence in ``(0, 1)``.

    Returns
    -------
    float
        In ``[mean, 1]``.

    Raises
    ------
    DimensionError
        On an empty array or values outside ``[0, 1]``.

    References
    ----------
    Clopper & Pearson 1934; Hoeffding 1963. Used for the measured probabilities of Theorem 1's terms
    (Cao & Xie 2026, Theorem 1).
    """
    v = np.asarray(values, dtype=float).ravel()
    if v.size < 1 or np.any(~np.isfinite(v)) or np.any(v < 0) or np.any(v > 1):
        raise DimensionError(f"values: expected a non-empty array in [0, 1], found size {v.size}, range "
                             f"[{np.min(v) if v.size else float('nan'):g}, {np.max(v) if v.size else float('nan'):g}]")
    a = 1.0 - as_real("level", level, low=0.0, high=1.0, open_low=True, open_high=True)
    n, m = v.size, float(v.mean())
    if np.all((v == 0) | (v == 1)):
        k = int(v.sum())
        return 1.0 if k == n else float(scipy.stats.beta.ppf(1.0 - a, k + 1, n - k))
    if m >= 1.0:
        return 1.0
    target = math.log(1.0 / a) / n

    def kl(p):
        out = (1.0 - m) * math.log((1.0 - m) / (1.0 - p))
        return out + (m * math.log(m / p) if m > 0 else 0.0) - target

    hi = 1.0 - 1e-15
    if kl(hi) <= 0:
        return 1.0
    return float(scipy.optimize.brentq(kl, m, hi, xtol=1e-14))


def prefix_tv_sum(log_ratio, level: float = 0.95) -> tuple[float, float]:
    r"""``sum_h TV(P^0_{<=h}, P^1_{<=h})``: the TV term of Theorem 1 with its exact horizon weights.

    The proof of Theorem 1 bounds ``|J(pi0) - J(pi1)| = |sum_h (E_0 - E_1) r_h(x_h, u_h)|``, and
    ``r_h in [0, 1]`` depends on the trajectory up to step ``h`` only, so

    .. math::

        |J(\pi^0) - J(\pi^1)| \le \sum_{h=1}^{H} \mathrm{TV}\big(\bar P^0_{\le h}, \bar P^1_{\le h}\big)
        = \mathbb E_{\bar P^0}\Big[\sum_{h=1}^{H} \big(1 - \textstyle\prod_{k \le h} \Lambda_k\big)_+\Big]
        \ \le\ H\, \mathrm{TV}(\bar P^0, \bar P^1),

    each prefix TV exact from the per-step likelihood ratios (as :func:`trajectory_tv`). The per-trajectory
    sum divided by ``H`` lies in ``[0, 1]``; its mean gets the one-sided bound :func:`upper_confidence`
    (Clopper-Pearson when every ratio is 0 or 1, i.e. a deterministic learner and expert).

    Parameters
    ----------
    log_ratio : (N, H) array_like
        ``log p^1_h(t_h | x_h) - log p^0_h(t_h | x_h)`` on ``N`` trajectories of ``P^0``.
    level : float

    Returns
    -------
    estimate, upper : float
        The Monte Carlo estimate of the sum and its upper confidence bound (both in ``[0, H]``).

    References
    ----------
    Cao & Xie 2026, Theorem 1 (the TV term and the step ``|J(pi0) - J(pi1)| <= H TV`` of its proof).
    """
    lr = np.asarray(log_ratio, dtype=float)
    if lr.ndim != 2 or lr.shape[0] < 1 or np.any(np.isnan(lr)):
        raise DimensionError(f"log_ratio: expected an (N >= 1, H) array without NaN, found shape {lr.shape}")
    H = lr.shape[1]
    with np.errstate(invalid="ignore"):
        cum = np.minimum(np.cumsum(lr, axis=1), 0.0)  # -inf stays -inf: the prefix contributes 1
    v = np.clip(-np.expm1(cum), 0.0, 1.0).sum(axis=1) / H
    upper = _binary_prefix_upper(lr, level) if _is_binary_prefix(lr) else upper_confidence(v, level)
    return float(H * v.mean()), float(H * upper)


def _is_binary_prefix(lr) -> bool:
    """Whether every per-step ratio is 1 or 0 (log 0 or -inf): a deterministic learner and expert."""
    return bool(np.all((lr == 0.0) | np.isneginf(lr)))


def _binary_prefix_upper(lr, level) -> float:
    r"""Upper bound on ``(1/H) sum_h P(tau <= h)`` for the first disagreement ``tau`` (binary ratios).

    ``(1/H) sum_h 1{tau <= h} = (H - tau + 1)_+ / H`` is not binary, so :func:`upper_confidence` would
    use the KL bound; here the event ``{tau <= H}`` is binary and ``(H - tau + 1)/H <= 1``: the bound is
    the smaller of the KL bound on the weighted mean and the Clopper-Pearson bound on ``P(tau <= H)``.
    """
    H = lr.shape[1]
    cum = np.cumsum(lr, axis=1)
    ever = np.isneginf(cum)
    v = ever.sum(axis=1) / H
    return min(upper_confidence(v, level), upper_confidence(ever[:, -1].astype(float), level))


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


def thm1_data_terms(*, H, tv, p_far, errors, gains, L_r, kappa, eps_prime=0.0, delta_iiss=0.0, tv_sum=None) -> dict:
    r"""Theorem 1's right-hand side with every term measured and each bad event weighted by the steps it can cost.

    .. math::

        H^2 \delta_{IISS} + T + H p_d
        + \mathbb E_{\bar P^0} \sum_{h=1}^{H} \Big[(H - h + 1)\,\min\{1, \kappa(\gamma_h)\}
        + \min\Big\{1,\ L_r \sqrt{\gamma_h^2 + (\|u^0_h - \tilde u^0_h\| + \varepsilon')^2}\Big\}\Big],

    ``gamma_h`` as in the module docstring, ``T = tv_sum`` (:func:`prefix_tv_sum`) when given, else
    ``H tv``. Each change from the statement's ``H TV + H E sum_h [kappa + (L_r/H)(...)]`` is a step of
    its proof evaluated exactly (Cao & Xie 2026, Theorem 1, proof):

    * TV: ``|J(pi0) - J(pi1)| <= sum_h |E_0 r_h - E_1 r_h| <= sum_h TV(P^0_{<=h}, P^1_{<=h}) <= H TV``
      (``r_h in [0, 1]`` is a function of the prefix up to ``h``);
    * kappa: the RTVC coupling of step ``h`` fails with probability at most ``kappa(gamma_h)`` given no
      earlier failure; after a first failure at ``h`` only the rewards of steps ``h, ..., H`` can differ,
      by at most 1 each, so the failure costs ``H - h + 1 <= H``;
    * Lipschitz: before the first failure the step-``h`` reward gap is at most
      ``L_r ||(x^0_h - x^2_h, u^0_h - u^2_h)||_2 <= L_r sqrt(gamma_h^2 + (||u^0_h - u~^0_h|| + eps')^2)``
      (the reward is ``L_r``-Lipschitz in the Euclidean norm of the pair ``(x, u)``, the convention of
      :mod:`qbc_theory.model.rewards`), and at most 1 since ``r_h in [0, 1]``.

    Every right-hand side is at most the old one term by term, so the bound stays valid wherever the
    statement is.

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
    tv_sum : float, optional
        An upper bound on ``sum_h TV(P^0_{<=h}, P^1_{<=h})`` in ``[0, H]``; replaces ``H tv``.

    Returns
    -------
    dict
        ``iiss, tv, far, kappa, lipschitz`` and ``total``.

    References
    ----------
    Cao & Xie 2026, Theorem 1 and its proof.
    """
    H = as_int("H", H, minimum=1)
    e = np.asarray(errors, dtype=float)
    if e.ndim != 2 or e.shape[1] != H:
        raise DimensionError(f"errors: expected shape (N, {H}), found {e.shape}")
    ep = as_real("eps_prime", eps_prime, nonnegative=True)
    lr = as_real("L_r", L_r, nonnegative=True)
    gam = iiss_gamma(gains, e + ep)
    weights = H - np.arange(H, dtype=float)  # H - h + 1 for h = 1, ..., H
    if tv_sum is None:
        tv_term = H * min(1.0, as_real("tv", tv, nonnegative=True))
    else:
        tv_term = min(float(H), as_real("tv_sum", tv_sum, nonnegative=True))
    out = {
        "iiss": H * H * as_real("delta_iiss", delta_iiss, nonnegative=True),
        "tv": tv_term,
        "far": H * as_real("p_far", p_far, nonnegative=True),
        "kappa": float((np.minimum(1.0, kappa(gam)) @ weights).mean()),
        "lipschitz": float(np.minimum(1.0, lr * np.hypot(gam, e + ep)).sum(axis=1).mean()),
    }
    out["total"] = float(sum(out.values()))
    return out


def thm1_data_bound_binned(*, H, tv, p_far, errors, gains, L_r, lipschitz, eps_q, k_grid, cell_width=None,
                           tv_sum=None) -> dict:
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
    H, tv, p_far, errors, gains, L_r, tv_sum
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
                                kappa=lambda r, d0=d0: (np.asarray(r) > d0).astype(float), eps_prime=ep,
                                tv_sum=tv_sum)
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
    (:func:`qbc_theory.engine.learning.quantized_gaussian_logpmf`), summed over the prefixes with its
    one-sided upper confidence bound (:func:`prefix_tv_sum`), ``eps' = 0`` and the learner's exact TV modulus (:func:`gaussian_tv_modulus`), the
    exact linear gain (:func:`gain_profile`) on the measured quantization errors.

    Returns
    -------
    dict
        The terms of :func:`thm1_data_terms` (``tv`` is the upper bound on ``sum_h TV_h``) plus ``tv_mc``
        (the whole-trajectory TV estimate), ``tv_se`` and ``tv_sum_mc`` (the estimate of ``sum_h TV_h``).

    References
    ----------
    Cao & Xie 2026, Theorem 1; Theorem 2's setting (stochastic quantized expert, TVC learner).
    """
    K_hat = np.atleast_2d(np.asarray(K_hat, dtype=float))
    states, tokens, errors = expert_rollouts(system, expert, quantizer, H, N, rng)
    lp1 = learning.quantized_gaussian_logpmf(states @ K_hat.T, sigma_hat, tokens, quantizer)
    lp0 = learning.quantized_gaussian_logpmf(states @ np.atleast_2d(expert.K).T, expert.noise_std, tokens, quantizer)
    tv, se = trajectory_tv((lp1 - lp0).T)
    tv_est, tv_up = prefix_tv_sum((lp1 - lp0).T)
    terms = thm1_data_terms(H=H, tv=1.0, tv_sum=tv_up, p_far=p_far, errors=errors,
                            gains=gain_profile(system.A, system.B, H), L_r=L_r,
                            kappa=gaussian_tv_modulus(float(np.linalg.norm(K_hat, 2)), sigma_hat))
    return dict(terms, tv_mc=tv, tv_se=se, tv_sum_mc=tv_est)
