r"""Cells and claims of the lower-bound family: Theorems 8 and 9 (tightness) and Proposition 5 (RTVC).

Three claims of the catalog are measured here:

- ``thm8.tight``: log-loss BC over the two-point class ``{pi^a, pi^b}`` of Theorem 8's construction
  (deterministic expert, ``Delta = 1/(3n)``) has an expected regret of order ``H/n``, above the
  theorem's lower bound;
- ``thm9.tight``: the same for Theorem 9's construction (stochastic state-independent expert,
  ``Delta = c/sqrt(n)``), order ``H/sqrt(n)``;
- ``prop5.rtvc``: the empirical RTVC audit finds no pair within ``delta_0`` whose quantized actions
  are more than ``eps'`` apart for binning (Proposition 5 (ii)), and finds such pairs for the trap
  quantizer of Theorem 6 (and for k-means, Proposition 5 (i)).

**The experts of the lower-bound proofs differ only at step 1.** :func:`qbc_theory.engine.constructions.theorem8`
and :func:`~qbc_theory.engine.constructions.theorem9` return stationary experts (the same policy at every
step). The return of both constructions depends only on the step-1 action, so stationarity does not
change any regret, but it changes the data: Theorem 8's stationary ``pi^b`` plays ``x = 1`` at every
later step where ``pi^a`` plays 0, so one trajectory identifies the instance; Theorem 9's stationary
Bernoulli expert gives ``H`` informative draws per trajectory instead of one. The proofs' laws
(and :mod:`proofs_check.lower_bounds`) have both experts play the same action, 0, at every step
``h >= 2``; :class:`FirstStepPolicy` builds exactly these experts, and they generate the data here.

**Le Cam is about the worse of two truths.** Each seed draws datasets under truth ``a`` and under
truth ``b`` (independently), fits the same learner with the same tie-breaking rule (the lowest
index, as :func:`qbc_theory.engine.learning.fit_finite`), and reports both regrets, their average and their
maximum. The tests use the average: it is an unbiased estimate of :math:`\tfrac12(\mathbb E_a + \mathbb E_b)`,
which is at most :math:`\max(\mathbb E_a, \mathbb E_b)` (so a lower bound found consistent for it holds
for the worse truth), and it is what the two-point argument bounds; the per-seed maximum of two
noisy estimates is biased upwards.

References
----------
Cao & Xie 2026, Theorems 8 and 9 (constructions and proofs), Proposition 5, Theorem 6.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import scipy.stats

from ...theory import bounds
from ...engine import rollout
from ...model.validation import as_int, as_real
from ...checker.report import quantization_error
from ..verdicts import BoundTest, Claim, SlopeTest, TestOutcome
from ...engine.constructions import FirstStepPolicy, theorem8, theorem9, trap_loop
from ...model.errors import AssumptionError, DimensionError
from ...model.quantizers import DCTBinning, KMeansQuantizer, UniformBinning
from ..runner import ResultTable, cell_function
from ...checker.smoothness import binning_rtvc, modulus_audit

__all__ = [
    "FirstStepPolicy",
    "log_loss_scores",
    "fit_two_point",
    "binomial_tv",
    "WitnessTest",
    "thm8_tight",
    "thm9_tight",
    "prop5_rtvc",
    "CLAIMS",
]

_TRUTHS = ("a", "b")
# Relative slack under which two log-likelihoods count as tied. Genuinely different scores of these
# classes differ by at least ~8 Delta (one token of Theorem 9) or by infinity (Theorem 8), far above it.
_TIE_RTOL = 1e-9


# --------------------------------------------------------------------------------------------------
# The proofs' experts and the two-point learner


def log_loss_scores(candidates, states, tokens, quantizer) -> np.ndarray:
    r"""Log-likelihood of each candidate on each of ``m`` datasets of quantized trajectories.

    .. math::

        \mathrm{score}_{k,j} = \sum_{i=1}^{n} \sum_{h=1}^{H} \log (q_\#\pi^j_h)\big(q(u^{k,i}_h) \mid x^{k,i}_h\big).

    Parameters
    ----------
    candidates : sequence of FirstStepPolicy
        The finite class, in its tie-breaking order.
    states : (m, n, H, 1) array_like
    tokens : (m, n, H) int array_like
    quantizer : per-step quantizer

    Returns
    -------
    (m, J) ndarray
        ``-inf`` for a deterministic candidate that mismatches some token.

    Raises
    ------
    DimensionError
        On mismatched shapes.

    References
    ----------
    Cao & Xie 2026, Section 2 (log-loss BC on quantized actions).
    """
    x = np.asarray(states, dtype=float)
    t = np.asarray(tokens)
    if x.ndim != 4 or x.shape[-1] != 1 or t.shape != x.shape[:3]:
        raise DimensionError(f"states, tokens: expected shapes (m, n, H, 1) and (m, n, H), found {x.shape} "
                             f"and {t.shape}")
    m, n, H, _ = x.shape
    scores = np.zeros((m, len(candidates)))
    for j, cand in enumerate(candidates):
        for h in range(1, H + 1):
            lp = cand.token_logpmf(x[:, :, h - 1].reshape(-1, 1), t[:, :, h - 1].reshape(-1), h, quantizer)
            scores[:, j] += lp.reshape(m, n).sum(axis=1)
    return scores


def fit_two_point(candidates, states, tokens, quantizer) -> np.ndarray:
    r"""Log-loss BC over a finite class on each of ``m`` datasets; ties go to the lowest index.

    .. math::

        \hat\jmath_k = \min\Big\{ j : \mathrm{score}_{k,j} \ge \max_{j'} \mathrm{score}_{k,j'}
        - 10^{-9} \max(1, |\max_{j'} \mathrm{score}_{k,j'}|) \Big\}

    (the rule of :func:`qbc_theory.engine.learning.fit_finite`, with ties up to round-off: two
    log-likelihoods that are equal in exact arithmetic, e.g. ``k log p + (n - k) log(1 - p)`` and its
    mirror at ``k = n/2``, can differ in the last bits, which must not decide the choice).

    Parameters
    ----------
    candidates, states, tokens, quantizer
        As in :func:`log_loss_scores`.

    Returns
    -------
    (m,) int ndarray
        The selected candidate per dataset.

    References
    ----------
    Cao & Xie 2026, Section 2 and Theorems 8, 9 (the learner the lower bounds are held against).
    """
    scores = log_loss_scores(candidates, states, tokens, quantizer)
    best = scores.max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        tied = scores >= best - _TIE_RTOL * np.maximum(1.0, np.abs(best))
    return np.argmax(tied, axis=1)


def _datasets(system, expert, quantizer, n: int, m: int, horizon: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """``m`` independent datasets of ``n`` expert trajectories: states (m, n, H, 1), tokens (m, n, H)."""
    data = rollout.collect(system, expert, quantizer, n * m, horizon, rng)
    return data.states.reshape(m, n, horizon, 1), data.tokens.reshape(m, n, horizon)


def _seed_rngs(seed: np.random.SeedSequence, seeds: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in seed.spawn(seeds)]


# --------------------------------------------------------------------------------------------------
# Theorem 8


def _thm8_regret(construction, expert, learner, horizon: int, rng) -> float:
    r"""``J(pi*) - J(learner)`` on Theorem 8's instance, stratified over the two atoms of ``T_0``.

    Given ``x_1`` the dynamics and both policies are deterministic, so each conditional regret is
    one coupled rollout (two are run; their standard error must be exactly 0), and the law of total
    expectation weighs them by ``T_0 = (1 - Delta) delta_0 + Delta delta_1`` with no sampling error.
    """
    total = 0.0
    delta = construction.system.p1
    for p1, weight in ((1.0, delta), (0.0, 1.0 - delta)):
        system = dataclasses.replace(construction.system, p1=p1)
        est = rollout.regret(system, expert, learner, construction.reward, horizon, 2, rng)
        if est.se != 0.0:
            raise AssumptionError(f"theorem8: expected deterministic returns given x_1, found a regret standard "
                                  f"error {est.se:g} at P(x_1 = 1) = {p1:g}")
        total += weight * est.mean
    return total


@cell_function("thm8.tight", version="1")
def thm8_tight(params: dict, seeds: int, seed: np.random.SeedSequence) -> dict:
    r"""Regret of log-loss BC on Theorem 8's construction under both truths, and the lower bounds.

    Instance (:func:`qbc_theory.engine.constructions.theorem8`, plain variant): ``X = U = [0, 1]``,
    ``T_0 = (1 - Delta) delta_0 + Delta delta_1`` with ``Delta = 1/(3 n_inst)``, edge binning with the
    representatives {0, 1} (exact on both experts' actions, so only the ``H/n`` term is in play).
    ``n_inst = n`` as in the proof (the instance changes with ``n``); the control freezes it at
    ``freeze_n`` (a fixed ``Delta`` fed more and more data). Experts: :class:`FirstStepPolicy`
    (``pi^a_1 = delta_0``, ``pi^b_1(x) = delta_x``, both 0 afterwards).

    Per seed and truth ``theta``: ``datasets`` independent datasets of ``n`` trajectories of
    ``pi^theta``; log-loss BC over ``(pi^a, pi^b)`` (ties to ``pi^a``); the regret of each class member
    under ``theta`` by coupled rollouts stratified over ``x_1`` (:func:`_thm8_regret`); the seed's
    value is the mean regret over its datasets.

    .. math::

        \tfrac12\big(\mathbb E_a[\mathrm{Reg}] + \mathbb E_b[\mathrm{Reg}]\big) \ge \frac{\Delta H}{4}\,
        \big(1 - \mathrm{TV}(P_a^n, P_b^n)\big), \qquad \mathrm{TV}(P_a^n, P_b^n) = 1 - (1 - \Delta)^n.

    The laws of one trajectory agree on the atom ``x_1 = 0`` (mass ``1 - Delta`` under both) and are
    disjoint elsewhere, hence the exact TV (checked by enumeration in
    :func:`proofs_check.lower_bounds.check_thm8_tv`).

    Parameters
    ----------
    params : dict
        ``H`` (horizon), ``n`` (trajectories per dataset), ``datasets`` (per seed), optional
        ``freeze_n``.
    seeds : int
    seed : numpy.random.SeedSequence

    Returns
    -------
    dict
        Per seed: ``regret_a``, ``regret_b``, ``regret_avg``, ``regret_worst`` (per-seed maximum),
        ``wrong_a``, ``wrong_b`` (fractions of datasets where BC picked the other expert). Per cell:
        ``bound`` (the bound library's ``thm8`` explicit form at ``eps_q = 0``: Hellinger TV and the
        outer 1/2 of combining with the ``eps_q`` construction), ``bound_lecam``
        (``(Delta H / 4)(1 - TV)`` with the exact TV), ``tv_exact``, ``Delta``.

    References
    ----------
    Cao & Xie 2026, Theorem 8 and its proof.
    """
    H = as_int("H", params["H"], minimum=1)
    n = as_int("n", params["n"], minimum=1)
    m = as_int("datasets", params["datasets"], minimum=1)
    n_inst = as_int("freeze_n", params.get("freeze_n", n), minimum=1)
    inst = {v: theorem8(n_inst, H, variant=v) for v in _TRUTHS}
    experts = [inst[v].expert for v in _TRUTHS]
    delta = inst["a"].params["Delta"]
    out = {f"{k}_{v}": [] for k in ("regret", "wrong") for v in _TRUTHS}
    for rng in _seed_rngs(seed, seeds):
        for i, v in enumerate(_TRUTHS):
            c = inst[v]
            states, tokens = _datasets(c.system, experts[i], c.quantizer, n, m, H, rng)
            chosen = fit_two_point(experts, states, tokens, c.quantizer)
            member = np.array([_thm8_regret(c, experts[i], cand, H, rng) for cand in experts])
            out[f"regret_{v}"].append(float(member[chosen].mean()))
            out[f"wrong_{v}"].append(float(np.mean(chosen != i)))
    tv = 1.0 - (1.0 - delta) ** n
    out["regret_avg"] = [(a + b) / 2 for a, b in zip(out["regret_a"], out["regret_b"])]
    out["regret_worst"] = [max(a, b) for a, b in zip(out["regret_a"], out["regret_b"])]
    out.update(bound=bounds.get("thm8").evaluate(H=H, n=n, eps_q=0.0), bound_lecam=delta * H / 4 * (1 - tv),
               tv_exact=tv, Delta=delta)
    return out


# --------------------------------------------------------------------------------------------------
# Theorem 9


def binomial_tv(n: int, p: float) -> float:
    r"""``TV(Bin(n, p), Bin(n, 1 - p))`` in floating point.

    .. math::

        \mathrm{TV} = \tfrac12 \sum_{k=0}^{n} \big|\tbinom{n}{k}(p^k q^{n-k} - q^k p^{n-k})\big|, \quad q = 1 - p.

    Parameters
    ----------
    n : int
    p : float in [0, 1]

    Returns
    -------
    float

    References
    ----------
    Cao & Xie 2026, Theorem 9 (the count of ``u_1 = 1`` is sufficient for the two laws).
    """
    k = np.arange(n + 1)
    return float(0.5 * np.abs(scipy.stats.binom.pmf(k, n, p) - scipy.stats.binom.pmf(k, n, 1 - p)).sum())


@cell_function("thm9.tight", version="1")
def thm9_tight(params: dict, seeds: int, seed: np.random.SeedSequence) -> dict:
    r"""Regret of log-loss BC on Theorem 9's construction under both truths, and the lower bounds.

    Instance (:func:`qbc_theory.engine.constructions.theorem9`): ``x_1 = 0``, ``f_1(x, u) = u``, the state
    frozen afterwards; experts :class:`FirstStepPolicy` of the Bernoulli laws
    ``pi^a_1 = (1/2 + Delta) delta_1 + (1/2 - Delta) delta_0`` and its mirror ``pi^b_1`` (0 afterwards),
    each with its own reward (``r^a_1 = u``, ``r^b_1 = 1 - u``; the matched pairs, for which every
    member of the class has regret ``>= 0``). ``Delta = c / sqrt(n_inst)`` with ``n_inst = n`` (the
    proof) or ``freeze_n`` (the control). Edge binning {0, 1} is exact on the support.

    Per seed and truth: ``datasets`` datasets of ``n`` trajectories, log-loss BC over
    ``(pi^a, pi^b)`` (exact Bernoulli likelihoods; ties to ``pi^a``), and the regret of each class
    member by :func:`qbc_theory.engine.rollout.regret` with shared noise on
    ``ceil(eval_hits / (2 Delta))`` trajectories (the coupled actions differ with probability
    ``2 Delta``, so about ``eval_hits`` trajectories carry the regret: relative error
    ``~ 1/sqrt(eval_hits)`` per seed).

    The tested bound, derived from the theorem's statement: for the matched pairs the regret is
    ``>= 0``, so Markov's inequality turns ``P(Reg >= t) >= p`` into ``E[Reg] >= t p``; the bound
    library's ``thm9`` gives ``t`` (its explicit form at ``eps_q = 0``) and ``p`` (its ``probability``),
    both for ``Delta = 1/(5 sqrt n)``:

    .. math::

        \tfrac12\big(\mathbb E_a[\mathrm{Reg}] + \mathbb E_b[\mathrm{Reg}]\big) \ge t\, p, \qquad
        \text{and with the exact TV: } \ge \frac{\Delta H}{4}\big(1 - \mathrm{TV}(\mathrm{Bin}(n, \tfrac12 + \Delta),
        \mathrm{Bin}(n, \tfrac12 - \Delta))\big).

    Parameters
    ----------
    params : dict
        ``H``, ``n``, ``c``, ``datasets``, ``eval_hits``, optional ``freeze_n``.
    seeds : int
    seed : numpy.random.SeedSequence

    Returns
    -------
    dict
        Per seed: ``regret_a``, ``regret_b``, ``regret_avg``, ``regret_worst``, ``wrong_a``,
        ``wrong_b``. Per cell: ``bound`` (``t p``), ``bound_lecam``, ``tv_exact``, ``Delta``,
        ``probability`` (``p``).

    Raises
    ------
    AssumptionError
        If ``c`` is not the bound library's constant (its bound would be about another instance).

    References
    ----------
    Cao & Xie 2026, Theorem 9 and its proof; THEORY.md section 9, slip 2 (the constant).
    """
    H = as_int("H", params["H"], minimum=1)
    n = as_int("n", params["n"], minimum=1)
    c = as_real("c", params["c"], positive=True)
    m = as_int("datasets", params["datasets"], minimum=1)
    hits = as_real("eval_hits", params["eval_hits"], positive=True)
    n_inst = as_int("freeze_n", params.get("freeze_n", n), minimum=1)
    inst = {v: theorem9(n_inst, H, expert=v, c=c) for v in _TRUTHS}
    experts = [inst[v].expert for v in _TRUTHS]
    delta = inst["a"].params["Delta"]
    lib = bounds.get("thm9")
    # The library's threshold at eps_q = 0 is Delta H / 2 for its own Delta = 1/(5 sqrt n); any other c
    # would test this instance against another instance's bound.
    if not math.isclose(2 * lib.evaluate(H=H, n=n_inst, eps_q=0.0, c=1.0), delta * H, rel_tol=1e-12):
        raise AssumptionError(f"c: the bound library's Theorem 9 bound is for its own Delta = c/sqrt(n), found "
                              f"c={c:g} (Delta={delta:g}) that does not match it")
    batch = max(2, math.ceil(hits / (2 * delta)))
    out = {f"{k}_{v}": [] for k in ("regret", "wrong") for v in _TRUTHS}
    for rng in _seed_rngs(seed, seeds):
        for i, v in enumerate(_TRUTHS):
            cons = inst[v]
            states, tokens = _datasets(cons.system, experts[i], cons.quantizer, n, m, H, rng)
            chosen = fit_two_point(experts, states, tokens, cons.quantizer)
            member = np.array([rollout.regret(cons.system, experts[i], cand, cons.reward, H, batch, rng).mean
                               for cand in experts])
            out[f"regret_{v}"].append(float(member[chosen].mean()))
            out[f"wrong_{v}"].append(float(np.mean(chosen != i)))
    tv = binomial_tv(n, 0.5 + delta)
    prob = lib.evaluate_aux(H=H, n=n, eps_q=0.0, c=1.0)["probability"]
    out["regret_avg"] = [(a + b) / 2 for a, b in zip(out["regret_a"], out["regret_b"])]
    out["regret_worst"] = [max(a, b) for a, b in zip(out["regret_a"], out["regret_b"])]
    out.update(bound=lib.evaluate(H=H, n=n, eps_q=0.0, c=1.0) * prob, bound_lecam=delta * H / 4 * (1 - tv),
               tv_exact=tv, Delta=delta, probability=prob)
    return out


# --------------------------------------------------------------------------------------------------
# Proposition 5: the RTVC audit


_QUANTIZERS = ("binning", "dct", "kmeans", "trap")


def _prop5_quantizer(name: str, construction, eps: float, actions: np.ndarray, rng: np.random.Generator):
    """The quantizer ``name`` at scale ``eps`` for the trap-loop system's arctan expert."""
    if name == "binning":
        # arctan maps onto (-pi/2, pi/2): a binning of that range never clips, so eps_sup holds everywhere.
        return UniformBinning(-math.pi / 2, math.pi / 2, math.ceil(math.pi / (2 * eps)), decode="center")
    if name == "dct":
        return DCTBinning(scale=1.0 / (2 * eps), chunk=1)
    if name == "kmeans":
        # as many codes as the binning has cells: the same vocabulary, fitted where the expert acts
        n_codes = math.ceil(math.pi / (2 * eps))
        return KMeansQuantizer(n_codes, seed=int(rng.integers(2**31))).fit(actions)
    if name == "trap":
        return construction.quantizer
    raise DimensionError(f"quantizer: expected one of {', '.join(_QUANTIZERS)}, found {name!r}")


@cell_function("prop5.rtvc", version="2")
def prop5_rtvc(params: dict, seeds: int, seed: np.random.SeedSequence) -> dict:
    r"""Audit of the ``eps'``-RTVC modulus of ``q # pi*`` for a deterministic Lipschitz expert.

    Instance: Theorem 6's system ``x+ = A x + B u`` with the expert ``pi*(x) = arctan(x)``
    (:func:`qbc_theory.engine.constructions.trap_loop`, ``L = 1``), ``x_1 ~ N(0, 1)``. Quantizers at scale
    ``eps``: centre binning of arctan's range with ``ceil(pi/(2 eps))`` cells, DCT rounding with chunk 1
    (step ``2 eps``; a binning with unbounded range), k-means with as many codes as the binning,
    fitted per seed on the expert's actions, and the trap quantizer of Theorem 6.

    ``eps_q`` is :func:`qbc_theory.checker.report.quantization_error`'s value: the sup error for binning and DCT
    (eq. 3), the in-distribution error for the learned quantizers (Section 2). With ``k > 2``,
    ``eps' = k eps_q`` and Proposition 5 (ii)'s radius ``delta_0 = (eps' - 2 eps_q)/L``
    (:func:`qbc_theory.checker.smoothness.binning_rtvc`) the audit (:func:`qbc_theory.checker.smoothness.modulus_audit`,
    pairs around the expert's visited states, ``W = 1`` pairs refined by bisection) tests

    .. math::

        W_{c_{\varepsilon'}}\big(q_\#\pi^*(\cdot|x), q_\#\pi^*(\cdot|x')\big) \le \mathbb 1\{\|x - x'\| > \delta_0\},

    i.e. ``||q(pi*(x)) - q(pi*(x'))|| <= eps'`` whenever ``||x - x'|| <= delta_0``: guaranteed for
    binning and DCT (Proposition 5 (ii)); the property Proposition 5 (i) says a learned quantizer can
    break. ``W`` is exact for a deterministic expert, so one violating pair is a counterexample.

    Parameters
    ----------
    params : dict
        ``quantizer`` (binning, dct, kmeans, trap), ``eps``, ``k``, ``horizon`` and ``trajectories``
        (expert rollouts whose states the pairs are drawn around), ``pairs`` (per radius),
        ``error_trajectories`` (rollouts for ``eps_q``).
    seeds : int
    seed : numpy.random.SeedSequence

    Returns
    -------
    dict
        Per seed: ``witness`` (1 if a pair within ``delta_0`` has ``W = 1``), ``pairs_below`` (sampled
        pairs within ``delta_0``), ``w_max_below``, ``min_r_w1_over_delta0`` (smallest distance with
        ``W = 1`` over ``delta_0``; the largest audited distance when none, see ``w1_found``),
        ``w1_found``, ``eps_q``, ``eps_prime``, ``delta0``, ``eps_q_sup_kind`` (1 when ``eps_q`` is a
        sup error). Per cell: ``one`` (the bound ``min_r_w1_over_delta0 >= 1`` is tested against).

    References
    ----------
    Cao & Xie 2026, Definition 4, Proposition 5 and Theorem 6.
    """
    name = params["quantizer"]
    eps = as_real("eps", params["eps"], positive=True)
    k = as_real("k", params["k"], positive=True)
    horizon = as_int("horizon", params["horizon"], minimum=1)
    trajectories = as_int("trajectories", params["trajectories"], minimum=1)
    n_pairs = as_int("pairs", params["pairs"], minimum=1)
    err_traj = as_int("error_trajectories", params["error_trajectories"], minimum=2)
    construction = trap_loop(eps)
    system, expert = construction.system, construction.expert
    L = float(expert.lipschitz)
    keys = ("witness", "pairs_below", "w_max_below", "min_r_w1_over_delta0", "w1_found", "eps_q", "eps_prime",
            "delta0", "eps_q_sup_kind")
    out = {key: [] for key in keys}
    for rng in _seed_rngs(seed, seeds):
        noise = rollout.draw_noise(system, horizon, trajectories, system.du, rng)
        traj = rollout.rollout(system, expert, construction.reward, horizon, noise.x0, noise.w, noise.z)
        states = traj.states.reshape(-1, system.dx)
        quantizer = _prop5_quantizer(name, construction, eps, traj.actions.reshape(-1, system.du), rng)
        qe = quantization_error(system, expert, quantizer, horizon, rng, trajectories=err_traj)
        mod = binning_rtvc(L, qe.value, k=k)
        # 13 radii up to just below delta_0 (the modulus is 0 there) and six above it (where it is 1),
        # dense enough between delta_0 and 3 delta_0 to locate a binning's first jump (near 2 delta_0)
        below = np.append(mod.delta0 * np.logspace(-6, 0, 13)[:-1], mod.delta0 * (1 - 1e-6))
        radii = np.concatenate([below, mod.delta0 * np.array([1.25, 1.5, 2.0, 2.5, math.sqrt(10.0), 10.0])])
        audit = modulus_audit(expert, quantizer, states, rng, eps_prime=mod.eps_prime, radii=radii, pairs=n_pairs,
                              kappa=mod.kappa, delta0=mod.delta0,
                              claimed=f"kappa(r) = 1{{r > {mod.delta0:.4g}}}")
        in_below = audit.radii <= mod.delta0
        found = audit.min_radius_w1 is not None
        out["witness"].append(float(bool(audit.violation)))
        out["pairs_below"].append(float(audit.pairs[in_below].sum()))
        out["w_max_below"].append(float(audit.max_w[in_below].max()))
        out["min_r_w1_over_delta0"].append((audit.min_radius_w1 if found else float(radii.max())) / mod.delta0)
        out["w1_found"].append(float(found))
        out["eps_q"].append(qe.value)
        out["eps_prime"].append(mod.eps_prime)
        out["delta0"].append(mod.delta0)
        out["eps_q_sup_kind"].append(float(qe.kind == "sup"))
    out["one"] = 1.0
    return out


# --------------------------------------------------------------------------------------------------
# A test for universal claims decided by exact witnesses


@dataclass(frozen=True)
class WitnessTest:
    r"""A universal claim ("no pair violates the modulus") judged by exact counterexamples.

    Each row of the table is one audit; ``value`` is 1 when the audit found a pair violating the
    claimed modulus (``W`` is exact for a deterministic expert, so such a pair is a counterexample,
    not a noisy estimate) and 0 otherwise; ``pairs`` counts the sampled pairs the audit examined in
    the region the claim is about. The status is

    .. math::

        \text{violated if } \textstyle\sum_{\text{rows}} \mathrm{value} > 0, \qquad
        \text{consistent if no witness and } \sum_{\text{rows}} \mathrm{pairs} \ge P_{\min},
        \qquad \text{inconclusive otherwise.}

    A mean-over-seeds interval (:class:`~qbc_theory.verification.claims.BoundTest`) would need several seeds to
    contradict a claim that a single exact pair refutes; :math:`P_{\min}` states the power a
    "consistent" needs: with no witness among :math:`P` pairs, a violation occurring for a fraction
    :math:`\ge 3/P` of the sampled pairs would have been seen with probability about 95% (rule of three).

    Parameters
    ----------
    value : str
        Column of witness indicators (0/1).
    pairs : str
        Column of examined pairs per audit.
    min_pairs : int
        :math:`P_{\min}`.
    where : tuple of pairs
        Values of ladders selecting the rows.
    level : float
        Level of the Clopper-Pearson interval of the fraction of audits with a witness.
    label : str

    References
    ----------
    Cao & Xie 2026, Definition 4 and Proposition 5.
    """

    __test__ = False

    value: str
    pairs: str
    min_pairs: int
    where: tuple = ()
    level: float = 0.95
    label: str = ""

    def run(self, table: ResultTable, rng: np.random.Generator) -> TestOutcome:
        """Count the witnesses and the examined pairs of the selected rows (``rng`` is unused)."""
        rows = [r for r in table.rows if all(r[k] == v for k, v in self.where)]
        words = self.label or f"no audit finds a witness in {self.value}"
        if not rows:
            return TestOutcome("witness", "inconclusive", float("nan"), (float("nan"), float("nan")), words,
                               {"error": f"no rows match {dict(self.where)}"})
        found = np.array([r[self.value] for r in rows], dtype=float)
        if np.any((found != 0) & (found != 1)):
            raise DimensionError(f"{self.value}: expected witness indicators 0 or 1, found {sorted(set(found))}")
        audits, witnesses = found.size, int(found.sum())
        examined = float(sum(r[self.pairs] for r in rows))
        alpha = 1.0 - self.level
        lo = 0.0 if witnesses == 0 else float(scipy.stats.beta.ppf(alpha / 2, witnesses, audits - witnesses + 1))
        hi = 1.0 if witnesses == audits else float(scipy.stats.beta.ppf(1 - alpha / 2, witnesses + 1,
                                                                      audits - witnesses))
        if witnesses > 0:
            status = "violated"
        elif examined >= self.min_pairs:
            status = "consistent"
        else:
            status = "inconclusive"
        per_point: dict = {}
        for r in rows:
            key = tuple((g, r[g]) for g in table.grid)
            entry = per_point.setdefault(key, {"point": dict(key), "audits": 0, "witnesses": 0, "pairs": 0.0})
            entry["audits"] += 1
            entry["witnesses"] += int(r[self.value])
            entry["pairs"] += float(r[self.pairs])
        detail = {"audits": audits, "witnesses": witnesses, "pairs": examined, "min_pairs": self.min_pairs,
                  "rule_of_three_rate": 3.0 / examined if examined > 0 else None, "level": self.level,
                  "points": list(per_point.values())}
        return TestOutcome("witness", status, witnesses / audits, (lo, hi), words, detail)


# --------------------------------------------------------------------------------------------------
# Claims

# The predicted exponents are the rates of the bound library's rate forms at eps_q = 0 (thm8: -1,
# thm9: -1/2; tests/test_cells_lower_bounds.py checks them against bounds.get(...).exponent("n")).
# tol = 0.1: the exact expected regret of this learner, (Delta H / 2)(1 - Delta)^n for Theorem 8 and
# Delta H (1 - TV_n) for Theorem 9, has a log-log slope within 0.002 of the rate on the ladders of the
# specs; 0.1 is the resolution at which a rate is called 1/n (resp. 1/sqrt(n)): it excludes
# log(n)/n (local slope -1 + 1/log(n) ~ -0.76 at n ~ 64) and the neighbouring power n^(-1/2) (n^(-1)).
_SLOPE_TOL = 0.1

_THM8_SLOPE = SlopeTest("regret_avg", "n", -1.0, "==", tol=_SLOPE_TOL,
                        label="slope of the two-truth average regret in n == -1 (tol 0.1)")
_THM9_SLOPE = SlopeTest("regret_avg", "n", -0.5, "==", tol=_SLOPE_TOL,
                        label="slope of the two-truth average regret in n == -1/2 (tol 0.1)")

# P_min = 20,000 sampled pairs within delta_0 per quantizer (rule of three: a violation rate of
# 1.5e-4 per pair or more would be seen with probability ~95%); the quick profile examines more.
_MIN_PAIRS = 20_000


def _witness(quantizer: str) -> WitnessTest:
    return WitnessTest("witness", "pairs_below", _MIN_PAIRS, where=(("quantizer", quantizer),),
                       label=f"{quantizer}: no pair within delta_0 with ||q(pi(x)) - q(pi(x'))|| > eps'")


def _critical_radius(quantizer: str) -> BoundTest:
    """The measured RTVC radius (smallest distance with ``W = 1``, bisection-refined) over ``delta_0``, >= 1.

    Proposition 5 (ii) says ``q#pi*`` keeps ``W = 0`` up to ``delta_0``; the audit measures where ``W``
    first reaches 1. For a binning the first jump of two cells needs an action gap above one cell
    width ``2 eps_q``, i.e. a distance ``2 eps_q / L = 2 delta_0`` at ``eps' = 3 eps_q`` (ratio about 2:
    the proposition is tight to a factor 2); a quantizer that is not RTVC jumps at any distance
    (ratio near 0). A lower bound on a continuous measurement, with its tightness, beside the
    witness count.
    """
    return BoundTest("min_r_w1_over_delta0", "one", "lower", along="eps", where=(("quantizer", quantizer),),
                     label=f"{quantizer}: measured RTVC radius (first W = 1) / delta_0 >= 1")


CLAIMS = (
    Claim(
        id="thm8.tight",
        theorem="Theorem 8",
        predicted="log-loss BC on Theorem 8's instance (Delta = 1/(3n)) has expected regret ~ H/n, above "
                  "the lower bound (Delta H/4)(1 - TV)",
        spec="thm8.tight",
        control_spec="thm8.tight.control",
        tests=(_THM8_SLOPE,
               BoundTest("regret_avg", "bound", "lower", along="n",
                         label="two-truth average regret >= bound library thm8 (eps_q = 0)"),
               BoundTest("regret_avg", "bound_lecam", "lower", along="n",
                         label="two-truth average regret >= (Delta H/4)(1 - TV exact)")),
        control="broken: the construction's scaling Delta = 1/(3n) (not a hypothesis of a theorem). The same "
                "instance with Delta frozen at its n = 8 value: the two experts become "
                "distinguishable and the regret decays like (1 - Delta)^n, faster than 1/n",
        control_tests=(_THM8_SLOPE,),
    ),
    Claim(
        id="thm9.tight",
        theorem="Theorem 9",
        predicted="log-loss BC on Theorem 9's instance (Delta = 1/(5 sqrt n)) has expected regret ~ H/sqrt(n), "
                  "above the lower bound",
        spec="thm9.tight",
        control_spec="thm9.tight.control",
        tests=(_THM9_SLOPE,
               BoundTest("regret_avg", "bound", "lower", along="n",
                         label="two-truth average regret >= t p (bound library thm9 threshold times its "
                               "probability, Markov)"),
               BoundTest("regret_avg", "bound_lecam", "lower", along="n",
                         label="two-truth average regret >= (Delta H/4)(1 - TV exact)")),
        control="broken: the construction's scaling Delta = c/sqrt(n) (not a hypothesis of a theorem). The same "
                "instance with Delta frozen at its n = 4 value: the test error decays exponentially "
                "in n, faster than 1/sqrt(n)",
        control_tests=(_THM9_SLOPE,),
    ),
    Claim(
        id="prop5.rtvc",
        theorem="Proposition 5",
        predicted="the RTVC audit finds no pair within delta_0 = (eps' - 2 eps_q)/L whose quantized actions differ "
                  "by more than eps' = 3 eps_q for binning and DCT rounding (chunk 1)",
        spec="prop5.rtvc",
        control_spec="prop5.rtvc.control",
        tests=(_witness("binning"), _witness("dct"), _critical_radius("binning"), _critical_radius("dct")),
        control="broken hypothesis: binning (a sup error eps_q). Theorem 6's trap quantizer and k-means "
                "(Proposition 5 (i)) on the same expert and audit, eps_q their in-distribution error: the audit "
                "finds violating pairs and their measured RTVC radius is far below delta_0",
        control_tests=(_witness("trap"), _witness("kmeans"), _critical_radius("trap"), _critical_radius("kmeans")),
    ),
)
