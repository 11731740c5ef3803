r"""Smoothness of quantized policies: RTVC and TVC (Cao & Xie 2026, Definition 4).

For ``eps' >= 0`` the cost ``c_{eps'}(u, u') = 1{||u - u'|| > eps'}`` defines

.. math::

    W_{c_{\varepsilon'}}(P, Q) = \inf_{\text{couplings}} \Pr(\|U - U'\| > \varepsilon'),

which is total variation when ``eps' = 0``. A policy is ``eps'``-RTVC with modulus ``kappa`` when
``W_{c_eps'}(pi(.|x), pi(.|x')) <= kappa(||x - x'||)``. This module provides

- Proposition 5 for binning with a Lipschitz deterministic expert (:func:`binning_rtvc`);
- the Gaussian TVC modulus (:func:`gaussian_tvc`);
- ``W_{c_eps'}`` between two discrete distributions by a small linear program
  (:func:`threshold_wasserstein`);
- exact token probabilities of a Gaussian expert through binning (:func:`binned_gaussian`);
- an empirical modulus audit for any expert and quantizer (:func:`modulus_audit`), which reports
  the largest observed ``W_{c_eps'}`` as a function of ``r``, the number of pairs and a witness.

Comparisons ``||u - u'|| > eps'`` use a slack of ``1e-9 eps' + 1e-12`` so that round-off in the
representatives of a binning (which are exact multiples of the cell width in real arithmetic)
cannot flip a tie; every such comparison goes through :func:`_exceeds`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.optimize
import scipy.sparse
import scipy.special
import scipy.stats

from ..model.validation import as_int, as_matrix, as_real, as_vector, describe, reject_unknown_kwargs
from ..model.errors import AssumptionError, DimensionError, SolverError
from ..model.quantizers import UniformBinning
from ..model.quantizers import quantize_actions

__all__ = [
    "BinningRTVC",
    "binning_rtvc",
    "GaussianTVC",
    "gaussian_tvc",
    "threshold_wasserstein",
    "binned_gaussian",
    "ModulusAudit",
    "modulus_audit",
]

# Below this the H^2 condition needs k > (2 + L Gamma)/(1 - L Gamma); the automatic k takes this much more.
_K_MARGIN = 1.1
_DEFAULT_K = 3.0


def _exceeds(gap, eps_prime: float):
    """``gap > eps'`` up to round-off (see the module docstring)."""
    return np.asarray(gap) > eps_prime * (1.0 + 1e-9) + 1e-12


@dataclass(frozen=True)
class BinningRTVC:
    r"""Proposition 5 (ii) for a binning quantizer and an ``L``-Lipschitz deterministic expert.

    .. math::

        \varepsilon' = k\varepsilon_q,\quad \delta_0 = \frac{\varepsilon' - 2\varepsilon_q}{L},\quad
        \kappa(r) = \mathbb{1}\{r > \delta_0\};\qquad
        H^2 \text{ term of Theorem 3 vanishes iff } L\Gamma(k+1) < k - 2 .

    Attributes
    ----------
    L, eps_q, k, eps_prime : float
    delta0 : float
        ``inf`` when ``L = 0``.
    Gamma : float or None
        Max-type P-IISS gain used for the H^2 condition.
    h2_term_vanishes : bool or None
        ``kappa(Gamma (k+1) eps_q) = 0``, i.e. ``Gamma (k+1) eps_q <= delta0`` (``None`` without Gamma).
    margin : float or None
        ``(k - 2) - L Gamma (k + 1)``: positive iff the H^2 term vanishes (strictly).
    k_min : float or None
        ``(2 + L Gamma) / (1 - L Gamma)``, the infimum of the ``k`` that make it vanish (``None`` if
        ``L Gamma >= 1``: no ``k`` works).
    k_rule : str
        How ``k`` was chosen.

    References
    ----------
    Cao & Xie 2026, Proposition 5 and Theorem 3.
    """

    L: float
    eps_q: float
    k: float
    eps_prime: float
    delta0: float
    Gamma: float | None
    h2_term_vanishes: bool | None
    margin: float | None
    k_min: float | None
    k_rule: str

    def kappa(self, r):
        """The modulus ``1{r > delta0}`` (vectorised)."""
        return (np.asarray(r, dtype=float) > self.delta0).astype(float)

    def to_dict(self) -> dict:
        """JSON-ready (an infinite ``delta0`` becomes ``None``)."""
        d = dict(self.__dict__)
        d["delta0"] = self.delta0 if math.isfinite(self.delta0) else None
        d["delta0_infinite"] = not math.isfinite(self.delta0)
        return d


def binning_rtvc(L, eps_q, *, k=None, Gamma=None) -> BinningRTVC:
    r"""Proposition 5 (ii): binning makes a Lipschitz deterministic expert ``k eps_q``-RTVC.

    .. math::

        \|q(\pi(x)) - q(\pi(x'))\| \le 2\varepsilon_q + L\|x - x'\| \le \varepsilon'
        \quad\text{whenever}\quad \|x - x'\| \le \delta_0 = \frac{\varepsilon' - 2\varepsilon_q}{L}.

    Parameters
    ----------
    L : float
        Lipschitz constant of the expert, ``>= 0``.
    eps_q : float
        Sup error of the binning, ``> 0``.
    k : float, optional
        ``eps' = k eps_q``, ``k > 2``. Default: when ``Gamma`` is given and ``L Gamma < 1``,
        ``k = 1.1 k_min`` with ``k_min = (2 + L Gamma)/(1 - L Gamma)`` (the smallest ``k`` that makes the
        H^2 term vanish, with a 10% margin so the inequality is strict); otherwise ``k = 3``.
    Gamma : float, optional
        Max-type P-IISS gain (``gamma(r) = Gamma r``).

    Returns
    -------
    BinningRTVC

    Raises
    ------
    DimensionError
        On a non-positive ``eps_q``, negative ``L``, or ``k <= 2``.

    References
    ----------
    Cao & Xie 2026, Proposition 5 (ii) and Theorem 3.
    """
    L = as_real("L", L, nonnegative=True)
    eps_q = as_real("eps_q", eps_q, positive=True)
    G = None if Gamma is None else as_real("Gamma", Gamma, nonnegative=True)
    k_min = None
    if G is not None and L * G < 1:
        k_min = (2.0 + L * G) / (1.0 - L * G)
    if k is None:
        if k_min is not None:
            k, rule = _K_MARGIN * k_min, f"k = {_K_MARGIN:g} k_min, k_min = (2 + L Gamma)/(1 - L Gamma)"
        else:
            k, rule = _DEFAULT_K, f"default k = {_DEFAULT_K:g}"
    else:
        rule = "given"
    k = as_real("k", k)
    if not k > 2:
        raise DimensionError(f"k: Proposition 5 (ii) needs eps' = k eps_q with k > 2, found k={k:g}")
    eps_prime = k * eps_q
    delta0 = math.inf if L == 0 else (eps_prime - 2.0 * eps_q) / L
    vanish = margin = None
    if G is not None:
        margin = (k - 2.0) - L * G * (k + 1.0)
        vanish = bool(margin > 0)
    return BinningRTVC(L=L, eps_q=eps_q, k=k, eps_prime=eps_prime, delta0=delta0, Gamma=G, h2_term_vanishes=vanish,
                       margin=margin, k_min=k_min, k_rule=rule)


@dataclass(frozen=True)
class GaussianTVC:
    r"""TVC modulus of a Gaussian policy ``N(mu(x), sigma^2 I)`` with ``L_mu``-Lipschitz mean.

    .. math::

        \mathrm{TV} = \operatorname{erf}\Big(\frac{\|\mu(x)-\mu(x')\|}{2\sqrt2\,\sigma}\Big)
        \le \operatorname{erf}\Big(\frac{L_\mu r}{2\sqrt2\,\sigma}\Big) \le \frac{L_\mu r}{\sqrt2\,\sigma}.

    Any quantizer keeps it (TV cannot grow under a measurable map).

    Attributes
    ----------
    L_mu, sigma : float
    slope : float
        ``L_mu / (sqrt(2) sigma)``: the linear modulus ``kappa(r) = slope * r``.

    References
    ----------
    Cao & Xie 2026, Definition 4 and Theorem 2; THEORY.md sections 3 and 8.
    """

    L_mu: float
    sigma: float
    slope: float

    def erf_modulus(self, r):
        """``erf(L_mu r / (2 sqrt(2) sigma))`` (vectorised): the worst TV at distance ``r``."""
        return scipy.special.erf(self.L_mu * np.asarray(r, dtype=float) / (2.0 * math.sqrt(2.0) * self.sigma))

    def kappa(self, r):
        """The linear modulus ``slope * r`` (vectorised)."""
        return self.slope * np.asarray(r, dtype=float)

    def to_dict(self) -> dict:
        """JSON-ready description."""
        return {"L_mu": self.L_mu, "sigma": self.sigma, "slope": self.slope}


def gaussian_tvc(L_mu, sigma) -> GaussianTVC:
    r"""The linear TVC modulus of a Gaussian expert.

    .. math::

        \kappa(r) = \frac{L_\mu\, r}{\sqrt2\,\sigma}.

    Parameters
    ----------
    L_mu : float
        Lipschitz constant of the mean, ``>= 0``.
    sigma : float
        Standard deviation, ``> 0``.

    Returns
    -------
    GaussianTVC

    References
    ----------
    Cao & Xie 2026, Theorem 2; THEORY.md section 3.
    """
    L_mu = as_real("L_mu", L_mu, nonnegative=True)
    sigma = as_real("sigma", sigma, positive=True)
    return GaussianTVC(L_mu=L_mu, sigma=sigma, slope=L_mu / (math.sqrt(2.0) * sigma))


def _support(name: str, points, size: int | None = None) -> np.ndarray:
    arr = np.asarray(points, dtype=float) if not isinstance(points, str) else points
    if isinstance(arr, np.ndarray) and arr.ndim == 1:
        arr = arr[:, None]
    return as_matrix(name, arr, rows=size)


def _weights(name: str, w, size: int) -> np.ndarray:
    w = as_vector(name, w, size)
    if np.any(w < 0):
        raise DimensionError(f"{name}: expected non-negative weights, found {w.min():g}")
    return w


def threshold_wasserstein(support_p, p, support_q, q, eps_prime, **kwargs) -> float:
    r"""``W_{c_eps'}`` between two discrete distributions, by a linear program (HiGHS).

    .. math::

        W_{c_{\varepsilon'}}(P, Q) = \min_{\pi \ge 0,\; \pi 1 = p,\; \pi^\top 1 = q}
        \sum_{i,j} \pi_{ij}\, \mathbb{1}\{\|a_i - b_j\| > \varepsilon'\}
        = 1 - \max_{\pi \ge 0,\; \pi 1 \le p,\; \pi^\top 1 \le q}
        \sum_{\|a_i - b_j\| \le \varepsilon'} \pi_{ij};
        \qquad \varepsilon' = 0:\; W = \mathrm{TV}(P, Q).

    The second form (a maximum flow on the pairs within ``eps'``) is the one solved.

    Parameters
    ----------
    support_p : (m, du) or (m,) array_like
        Atoms ``a_i`` of ``P``.
    p : (m,) array_like
        Their weights (non-negative, summing to 1 within ``1e-9``).
    support_q : (k, du) or (k,) array_like
        Atoms ``b_j`` of ``Q``.
    q : (k,) array_like
        Their weights.
    eps_prime : float
        Threshold ``>= 0``.

    Returns
    -------
    float
        The optimal value, in ``[0, 1]``.

    Raises
    ------
    DimensionError
        On shape mismatches, negative weights, or weights that do not sum to 1.
    SolverError
        If HiGHS does not report an optimal solution.

    References
    ----------
    Cao & Xie 2026, Definition 4.
    """
    reject_unknown_kwargs("threshold_wasserstein", kwargs)
    a = _support("support_p", support_p)
    b = _support("support_q", support_q)
    if a.shape[1] != b.shape[1]:
        raise DimensionError(f"support_q: expected atoms of dimension {a.shape[1]}, found {b.shape[1]}")
    p = _weights("p", p, a.shape[0])
    q = _weights("q", q, b.shape[0])
    for name, w in (("p", p), ("q", q)):
        if abs(w.sum() - 1.0) > 1e-9:
            raise DimensionError(f"{name}: expected weights summing to 1, found sum {w.sum():.12g}")
    eps_prime = as_real("eps_prime", eps_prime, nonnegative=True)
    m, k = a.shape[0], b.shape[0]
    gap = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)
    # With a 0/1 cost, W = 1 - (largest mass a sub-coupling can put on pairs within eps'): a partial plan
    # on those pairs with marginals <= (p, q) completes to a coupling whose other pairs cost 1 each.
    # This form is always feasible (no equality constraints to meet exactly) and has one variable per
    # close pair only.
    rows, cols = np.nonzero(~_exceeds(gap, eps_prime))
    if rows.size == 0:
        return 1.0
    e = rows.size
    A_ub = scipy.sparse.vstack([
        scipy.sparse.csr_matrix((np.ones(e), (rows, np.arange(e))), shape=(m, e)),
        scipy.sparse.csr_matrix((np.ones(e), (cols, np.arange(e))), shape=(k, e)),
    ]).tocsr()
    res = scipy.optimize.linprog(-np.ones(e), A_ub=A_ub, b_ub=np.concatenate([p, q]), bounds=(0, None),
                                 method="highs", options={"primal_feasibility_tolerance": 1e-10,
                                                          "dual_feasibility_tolerance": 1e-10})
    if res.status != 0:
        raise SolverError(f"threshold_wasserstein: HiGHS did not solve the transport LP ({res.message})")
    return float(min(max(1.0 + res.fun, 0.0), 1.0))


def _cell_edges(qz: UniformBinning) -> np.ndarray:
    """Inner cell boundaries per coordinate, shape ``(dim, bins - 1)`` (clipping absorbs the tails)."""
    i = np.arange(1, qz.bins)
    if qz.decode_mode == "edge":
        return qz.low[:, None] + (i - 0.5) * qz.spacing[:, None]
    return qz.low[:, None] + i * qz.width[:, None]


def binned_gaussian(mean, sigma, quantizer: UniformBinning) -> np.ndarray:
    r"""Exact per-coordinate token probabilities of ``q(N(mean, sigma^2 I))`` for a binning ``q``.

    .. math::

        \Pr(\text{cell } i \text{ in coordinate } c) = \Phi\Big(\frac{b_{c,i+1} - m_c}{\sigma}\Big)
        - \Phi\Big(\frac{b_{c,i} - m_c}{\sigma}\Big),\qquad b_{c,0} = -\infty,\; b_{c,\mathrm{bins}} = +\infty,

    the outer cells absorbing the tails because the quantizer clips to its range. The joint law
    is the product over coordinates.

    Parameters
    ----------
    mean : (N, du) array_like
        Means of the Gaussian actions.
    sigma : float
        Standard deviation, ``> 0``.
    quantizer : UniformBinning

    Returns
    -------
    (N, du, bins) ndarray
        Probabilities (each ``[n, c, :]`` sums to 1).

    References
    ----------
    Cao & Xie 2026, Theorem 2 (a Gaussian expert through a binning quantizer).
    """
    if not isinstance(quantizer, UniformBinning):
        raise DimensionError(f"quantizer: expected a UniformBinning, found {describe(quantizer)}")
    mean = as_matrix("mean", mean, cols=quantizer.dim)
    sigma = as_real("sigma", sigma, positive=True)
    z = (_cell_edges(quantizer)[None, :, :] - mean[:, :, None]) / sigma
    cdf = scipy.stats.norm.cdf(z)
    n, c = mean.shape
    full = np.concatenate([np.zeros((n, c, 1)), cdf, np.ones((n, c, 1))], axis=2)
    return np.diff(full, axis=2)


def _joint(probs: np.ndarray, reps: np.ndarray, keep: float):
    """Joint law of independent coordinates as (atoms (K, du), weights (K,)), atoms with mass > keep."""
    atoms = np.zeros((1, 0))
    weights = np.ones(1)
    for c in range(probs.shape[0]):
        idx = np.nonzero(probs[c] > keep)[0]
        atoms = np.concatenate([np.repeat(atoms, idx.size, axis=0),
                                np.tile(reps[c, idx][:, None], (atoms.shape[0], 1))], axis=1)
        weights = (weights[:, None] * probs[c, idx][None, :]).ravel()
    return atoms, weights


@dataclass(frozen=True)
class ModulusAudit:
    r"""Empirical RTVC modulus of a quantized expert: the largest ``W_{c_eps'}`` seen at each radius.

    .. math::

        \hat\kappa(r) = \max_{\text{pairs } \|x - x'\| = r} W_{c_{\varepsilon'}}\big(q\#\pi(\cdot|x),\, q\#\pi(\cdot|x')\big)
        \;\le\; \kappa(r) \text{ for every valid modulus } \kappa.

    Attributes
    ----------
    eps_prime : float
    radii : (R,) ndarray
    max_w : (R,) ndarray
        Largest observed ``W`` per radius.
    pairs : (R,) int ndarray
        Number of pairs tried per radius.
    worst : tuple of dict
        Per radius, the pair attaining ``max_w`` (``x``, ``x_prime``, ``w``, ``actions``).
    refined : int
        Pairs produced by bisection refinement (deterministic experts).
    min_radius_w1 : float or None
        Smallest distance at which ``W = 1`` was observed (sampled or refined pairs): any
        ``eps'``-RTVC modulus has ``kappa(r) = 1`` there.
    claimed : str or None
        Description of the modulus tested against, if any.
    violation : bool or None
        Whether some pair has ``W > kappa(r)`` (``None`` if no modulus was claimed).
    witness : dict or None
        The violating pair at the smallest distance (``x``, ``x_prime``, ``r``, ``w``, ``kappa``,
        ``actions``), or the ``W = 1`` pair at ``min_radius_w1`` when nothing was claimed.
    exact : bool
        Whether every ``W`` was computed exactly (point masses or exact token probabilities).
    dropped_mass : float
        Largest probability mass dropped when truncating a Gaussian's tokens (bounds the error in ``W``).

    References
    ----------
    Cao & Xie 2026, Definition 4 and Proposition 5.
    """

    eps_prime: float
    radii: np.ndarray
    max_w: np.ndarray
    pairs: np.ndarray
    worst: tuple
    refined: int
    min_radius_w1: float | None
    claimed: str | None
    violation: bool | None
    witness: dict | None
    exact: bool
    dropped_mass: float

    @property
    def total_pairs(self) -> int:
        """Sampled plus refined pairs."""
        return int(self.pairs.sum()) + self.refined

    def to_dict(self) -> dict:
        """JSON-ready description."""
        return {"eps_prime": self.eps_prime, "radii": self.radii.tolist(), "max_w": self.max_w.tolist(),
                "pairs": self.pairs.tolist(), "total_pairs": self.total_pairs, "refined": self.refined,
                "worst": list(self.worst), "min_radius_w1": self.min_radius_w1, "claimed": self.claimed,
                "violation": self.violation, "witness": self.witness, "exact": self.exact,
                "dropped_mass": self.dropped_mass}


def _pair_dict(x, xp, w, a=None, b=None, kappa=None) -> dict:
    d = {"x": np.asarray(x, dtype=float).tolist(), "x_prime": np.asarray(xp, dtype=float).tolist(),
         "r": float(np.linalg.norm(np.asarray(x) - np.asarray(xp))), "w": float(w)}
    if a is not None:
        d["actions"] = [np.asarray(a, dtype=float).tolist(), np.asarray(b, dtype=float).tolist()]
    if kappa is not None:
        d["kappa"] = float(kappa)
    return d


class _Deterministic:
    """W between the point masses q(pi(x)) and q(pi(x'))."""

    exact = True
    dropped = 0.0

    def __init__(self, expert, quantizer, eps_prime):
        self.expert, self.quantizer, self.eps_prime = expert, quantizer, eps_prime

    def actions(self, x):
        return quantize_actions(self.quantizer, self.expert.mean(x))

    def w(self, x, xp):
        a, b = self.actions(x), self.actions(xp)
        return _exceeds(np.linalg.norm(a - b, axis=-1), self.eps_prime).astype(float), a, b


class _GaussianBinning:
    """W between exact token laws of a Gaussian expert through binning (TV closed form, else the LP)."""

    exact = True
    _KEEP = 1e-13

    def __init__(self, expert, quantizer, eps_prime):
        self.expert, self.quantizer, self.eps_prime = expert, quantizer, eps_prime
        self.reps = quantizer.representatives()
        self.dropped = 0.0

    def actions(self, x):
        return self.expert.mean(x)

    def w(self, x, xp):
        sigma = self.expert.noise_std
        P = binned_gaussian(self.expert.mean(x), sigma, self.quantizer)
        Q = binned_gaussian(self.expert.mean(xp), sigma, self.quantizer)
        out = np.empty(x.shape[0])
        full_grid = self.quantizer.bins ** self.quantizer.dim <= 2**20
        for i in range(x.shape[0]):
            if self.eps_prime == 0.0 and full_grid:
                # W at eps' = 0 is total variation; both laws live on the same grid of representatives.
                jp, jq = P[i, 0], Q[i, 0]
                for c in range(1, P.shape[1]):
                    jp, jq = np.multiply.outer(jp, P[i, c]).ravel(), np.multiply.outer(jq, Q[i, c]).ravel()
                out[i] = 0.5 * float(np.abs(jp - jq).sum())
                continue
            a, p = _joint(P[i], self.reps, self._KEEP)
            b, q = _joint(Q[i], self.reps, self._KEEP)
            self.dropped = max(self.dropped, 1.0 - p.sum(), 1.0 - q.sum())
            out[i] = threshold_wasserstein(a, p / p.sum(), b, q / q.sum(), self.eps_prime)
        return out, self.actions(x), self.actions(xp)


def modulus_audit(expert, quantizer, states, rng, **options) -> ModulusAudit:
    r"""Empirical ``eps'``-RTVC modulus of ``q # pi`` over pairs of states at given distances.

    Pairs are ``(x, x + r v)`` with ``x`` drawn from ``states`` (e.g. the expert's visited states)
    and ``v`` uniform on the unit sphere. For a deterministic expert ``W`` is the indicator
    ``1{||q(pi(x)) - q(pi(x'))|| > eps'}``; for a Gaussian expert through binning it is computed
    from the exact token probabilities (total variation in closed form for ``eps' = 0`` and a
    scalar action, otherwise :func:`threshold_wasserstein`). For deterministic experts every
    sampled pair with ``W = 1`` is then refined by bisection (keep the half of the segment with the
    larger action gap) to find jumps at much smaller distances; refined pairs are evaluated
    directly, so a reported witness is always a real pair.

    .. math::

        \text{violation} \iff \exists\,(x, x'):\; W_{c_{\varepsilon'}}(q\#\pi(\cdot|x), q\#\pi(\cdot|x'))
        > \kappa(\|x - x'\|) + \text{tol}.

    Parameters
    ----------
    expert : LinearExpert or ArctanExpert
        Needs ``mean``, ``deterministic`` and (Gaussian) ``noise_std``.
    quantizer : per-step quantizer
    states : (N, dx) array_like
        States around which pairs are drawn.
    rng : numpy.random.Generator
    eps_prime : float
        Threshold ``>= 0`` (0 audits TVC).
    radii : (R,) array_like, optional
        Distances; default ``s * logspace(-6, 0, 13)`` with ``s`` the root-mean-square norm of
        ``states`` (1 if that is 0), plus ``0.999999 delta0`` when ``delta0`` is given.
    pairs : int
        Pairs per radius (default 256).
    kappa : callable, optional
        Claimed modulus ``kappa(r)`` (vectorised); the audit reports whether it is violated.
    claimed : str, optional
        Description of ``kappa`` for the report.
    delta0 : float, optional
        Adds a radius just below ``delta0`` (for Proposition 5's modulus).
    refine_steps : int
        Bisection halvings for deterministic experts (default 30; 0 disables refinement).
    tol : float
        Slack in the comparison with ``kappa`` (default ``1e-9``).

    Returns
    -------
    ModulusAudit

    Raises
    ------
    AssumptionError
        For a Gaussian expert with a non-binning quantizer (no exact token law; such a policy is
        TVC with the Gaussian modulus anyway, by the data-processing inequality).
    DimensionError
        On bad shapes or options.

    References
    ----------
    Cao & Xie 2026, Definition 4, Proposition 5 and Theorem 6.
    """
    eps_prime = as_real("eps_prime", options.pop("eps_prime"), nonnegative=True) if "eps_prime" in options \
        else None
    if eps_prime is None:
        raise TypeError("modulus_audit() missing required keyword argument: eps_prime")
    radii = options.pop("radii", None)
    n_pairs = as_int("pairs", options.pop("pairs", 256), minimum=1)
    kappa = options.pop("kappa", None)
    claimed = options.pop("claimed", None)
    delta0 = options.pop("delta0", None)
    refine_steps = as_int("refine_steps", options.pop("refine_steps", 30), minimum=0)
    tol = as_real("tol", options.pop("tol", 1e-9), nonnegative=True)
    reject_unknown_kwargs("modulus_audit", options)
    states = as_matrix("states", states, cols=expert.dx)
    if expert.deterministic:
        engine = _Deterministic(expert, quantizer, eps_prime)
    elif isinstance(quantizer, UniformBinning):
        engine = _GaussianBinning(expert, quantizer, eps_prime)
    else:
        raise AssumptionError(
            f"quantizer: exact token laws of a Gaussian expert need a binning quantizer, found "
            f"{getattr(quantizer, 'kind', describe(quantizer))}; a Gaussian expert is TVC through any quantizer "
            "with kappa(r) = L r/(sqrt(2) sigma) (data-processing inequality)")
    if radii is None:
        scale = float(np.sqrt(np.mean(np.sum(states**2, axis=1))))
        scale = scale if scale > 0 else 1.0
        radii = list(scale * np.logspace(-6, 0, 13))
        if delta0 is not None and math.isfinite(float(delta0)) and float(delta0) > 0:
            radii.append(float(delta0) * (1 - 1e-6))
        radii = np.sort(np.asarray(radii))
    radii = as_vector("radii", radii)
    if np.any(radii <= 0):
        raise DimensionError(f"radii: expected positive distances, found {radii.min():g}")
    dx = states.shape[1]
    max_w = np.zeros(radii.size)
    worst = []
    all_x, all_xp, all_w = [], [], []
    for j, r in enumerate(radii):
        x = states[rng.integers(states.shape[0], size=n_pairs)]
        v = rng.standard_normal((n_pairs, dx))
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        xp = x + r * v
        w, a, b = engine.w(x, xp)
        i = int(np.argmax(w))
        max_w[j] = w[i]
        worst.append(_pair_dict(x[i], xp[i], w[i], a[i], b[i]))
        all_x.append(x)
        all_xp.append(xp)
        all_w.append(w)
    X, XP, W = np.concatenate(all_x), np.concatenate(all_xp), np.concatenate(all_w)
    refined = 0
    if isinstance(engine, _Deterministic) and refine_steps > 0 and np.any(W >= 1):
        lo, hi = X[W >= 1].copy(), XP[W >= 1].copy()
        for _ in range(refine_steps):
            mid = (lo + hi) / 2
            a, m, b = engine.actions(lo), engine.actions(mid), engine.actions(hi)
            left = np.linalg.norm(a - m, axis=-1) >= np.linalg.norm(m - b, axis=-1)
            hi = np.where(left[:, None], mid, hi)
            lo = np.where(left[:, None], lo, mid)
        wr, _, _ = engine.w(lo, hi)
        refined = lo.shape[0]
        X, XP, W = np.concatenate([X, lo]), np.concatenate([XP, hi]), np.concatenate([W, wr])
    R = np.linalg.norm(X - XP, axis=1)
    ones = W >= 1.0 - 1e-12
    min_r1 = float(R[ones].min()) if ones.any() else None
    violation = witness = None
    if kappa is not None:
        k_vals = np.asarray(kappa(R), dtype=float)
        bad = W > k_vals + tol
        violation = bool(bad.any())
        if violation:
            i = int(np.flatnonzero(bad)[np.argmin(R[bad])])
            witness = _pair_dict(X[i], XP[i], W[i], engine.actions(X[i:i + 1])[0], engine.actions(XP[i:i + 1])[0],
                                 k_vals[i])
    elif ones.any():
        i = int(np.flatnonzero(ones)[np.argmin(R[ones])])
        witness = _pair_dict(X[i], XP[i], W[i], engine.actions(X[i:i + 1])[0], engine.actions(XP[i:i + 1])[0])
    return ModulusAudit(eps_prime=eps_prime, radii=radii, max_w=max_w, pairs=np.full(radii.size, n_pairs),
                        worst=tuple(worst), refined=refined, min_radius_w1=min_r1, claimed=claimed,
                        violation=violation, witness=witness, exact=engine.exact, dropped_mass=engine.dropped)
