r"""Lipschitz constants of experts: a certified upper bound beside a sampled lower estimate.

A deterministic expert enters Theorem 3 only through its Lipschitz constant ``L`` (Proposition 5:
``delta_0 = (eps' - 2 eps_q) / L``, and the H^2 term vanishes when ``L Gamma (k+1) < k - 2``). This
module puts two numbers side by side so the user sees how tight the constant is:

- an **upper bound**, certified from the expert's structure (:func:`tanh_lipschitz`,
  :func:`mlp_lipschitz`) or only declared by the user (a callable expert), then labelled
  ``"declared, not certified"``;
- a **sampled lower estimate**: the largest ratio ``||pi(x) - pi(x')|| / ||x - x'||`` over random pairs
  and over pairs placed along the top singular direction of a finite-difference Jacobian. Every
  reported ratio is the ratio of an actual pair, so it is a true lower bound on the Lipschitz
  constant of the function as evaluated (no estimate is extrapolated).

.. math::

    \max_{\text{sampled } (x, x')} \frac{\|\pi(x) - \pi(x')\|}{\|x - x'\|} \;\le\; L_{\pi} \;\le\; L_{\text{upper}} .

A sampled ratio above the upper bound contradicts it: for a declared constant it is a violation
witness; for a certified one it means the expert is not the function that was certified.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..model.errors import DimensionError, QbcError
from ..model.validation import as_int, as_matrix, as_real, reject_unknown_kwargs

__all__ = [
    "tanh_lipschitz",
    "mlp_lipschitz",
    "LipschitzReport",
    "lipschitz_report",
    "expert_lipschitz",
]


def tanh_lipschitz(K) -> float:
    r"""Certified Lipschitz constant of ``u = s tanh(K x / s)`` (elementwise tanh): ``||K||_2``.

    .. math::

        D\pi(x) = \operatorname{diag}\big(1 - \tanh^2((Kx)_i / s)\big)\,K,\qquad
        \|D\pi(x)\|_2 \le \|K\|_2 ,

    with equality at ``x = 0``, so the bound is tight. It does not depend on the scale ``s``.

    Parameters
    ----------
    K : (du, dx) array_like

    Returns
    -------
    float

    Raises
    ------
    DimensionError
        If ``K`` is not a finite matrix.

    References
    ----------
    Cao & Xie 2026, Proposition 5 (the ``L`` of a deterministic expert); THEORY.md section 8b.
    """
    K = as_matrix("K", K)
    return float(np.linalg.norm(K, 2))


def mlp_lipschitz(weights) -> float:
    r"""Certified Lipschitz constant of an MLP with 1-Lipschitz activations: the product of layer norms.

    For ``pi = W_m o sigma o W_{m-1} o ... o sigma o W_1`` (biases do not matter, ``sigma`` = tanh or
    ReLU acts elementwise and is 1-Lipschitz),

    .. math::

        \mathrm{Lip}(\pi) \le \prod_{i=1}^{m} \|W_i\|_2 .

    The bound can be loose (the activations' slopes and the layers' alignment are ignored); the
    sampled estimate of :func:`lipschitz_report` shows by how much.

    Parameters
    ----------
    weights : sequence of 2-D array_like
        The layer matrices in order of application. Either orientation is accepted (``W_i @ x`` or
        ``x @ W_i``) as long as consecutive shapes chain; the spectral norm does not depend on it.

    Returns
    -------
    float

    Raises
    ------
    DimensionError
        If ``weights`` is empty, a layer is not a finite matrix, or consecutive shapes do not chain.

    References
    ----------
    Cao & Xie 2026, Proposition 5; THEORY.md section 8b.
    """
    if isinstance(weights, np.ndarray) or not hasattr(weights, "__len__") or len(weights) == 0:
        raise DimensionError("weights: expected a non-empty sequence of layer matrices, found "
                             f"{type(weights).__name__}")
    mats = [as_matrix(f"weights[{i}]", w) for i, w in enumerate(weights)]
    column = all(mats[i + 1].shape[1] == mats[i].shape[0] for i in range(len(mats) - 1))
    row = all(mats[i + 1].shape[0] == mats[i].shape[1] for i in range(len(mats) - 1))
    if not (column or row):
        shapes = ", ".join(str(m.shape) for m in mats)
        raise DimensionError(f"weights: expected layer shapes that chain (W2 @ W1 or W1 @ W2 ...), found {shapes}")
    log_total = 0.0
    for m in mats:
        s = float(np.linalg.norm(m, 2))
        if s == 0.0:
            return 0.0
        log_total += math.log(s)
    return math.exp(log_total) if log_total < 709.0 else math.inf


@dataclass(frozen=True)
class LipschitzReport:
    r"""An expert's Lipschitz constant: upper bound (certified or declared) beside a sampled lower estimate.

    .. math::

        \text{lower} = \max_{\text{pairs}} \frac{\|\pi(x) - \pi(x')\|}{\|x - x'\|} \le L \le \text{upper}.

    Attributes
    ----------
    upper : float or None
        The upper bound (``None`` when none is known).
    status : str
        ``"certified"``, ``"declared, not certified"`` or ``"none"``.
    source : str
        Where ``upper`` comes from (e.g. ``"||K||_2 (tanh expert)"``).
    lower : float
        Largest sampled ratio (a true lower bound on the Lipschitz constant of the evaluated function).
    witness : dict
        The pair attaining ``lower``: ``x``, ``x_prime``, ``ratio``, ``kind`` (``"random pair"`` or
        ``"gradient probe"``).
    gap : float or None
        ``upper / lower`` (``None`` when either is missing or ``lower = 0``).
    violation : bool
        ``lower > upper (1 + rtol)``: the sample contradicts the upper bound.
    exceed_count : int
        Number of sampled pairs whose ratio exceeds ``upper (1 + rtol)``.
    pairs, probes : int
        Number of random pairs and of gradient probes.
    rtol : float
        Relative tolerance of the comparison (finite-difference round-off).
    reason : str
        One line for the report.

    References
    ----------
    Cao & Xie 2026, Proposition 5; THEORY.md section 8b.
    """

    upper: float | None
    status: str
    source: str
    lower: float
    witness: dict
    gap: float | None
    violation: bool
    exceed_count: int
    pairs: int
    probes: int
    rtol: float
    reason: str

    def to_dict(self) -> dict:
        """JSON-ready description (non-finite numbers as ``None``)."""
        def fin(v):
            return None if v is None or not math.isfinite(v) else float(v)

        return {"upper": fin(self.upper), "status": self.status, "source": self.source, "lower": self.lower,
                "gap": fin(self.gap), "violation": self.violation, "exceed_count": self.exceed_count,
                "witness": dict(self.witness), "pairs": self.pairs, "probes": self.probes, "rtol": self.rtol,
                "reason": self.reason}


def _evaluate(expert_fn, X: np.ndarray) -> np.ndarray:
    """``expert_fn(X)`` as a finite ``(N, du)`` array, or a one-line DimensionError naming ``expert_fn``."""
    try:
        out = np.asarray(expert_fn(X), dtype=float)
    except QbcError:
        raise
    except (TypeError, ValueError, ArithmeticError, IndexError) as exc:
        raise DimensionError(f"expert_fn: failed on states of shape {X.shape}: {exc}") from None
    if out.ndim == 1 and X.shape[0] == out.shape[0]:
        out = out[:, None]
    if out.ndim != 2 or out.shape[0] != X.shape[0]:
        raise DimensionError(f"expert_fn: expected an array of shape ({X.shape[0]}, du) for {X.shape[0]} states, "
                             f"found shape {out.shape}")
    if not np.all(np.isfinite(out)):
        raise DimensionError("expert_fn: expected finite actions, found NaN or inf")
    return out


def _ratios(fa: np.ndarray, fb: np.ndarray, Xa: np.ndarray, Xb: np.ndarray) -> np.ndarray:
    den = np.linalg.norm(Xa - Xb, axis=1)
    num = np.linalg.norm(fa - fb, axis=1)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def lipschitz_report(expert_fn, L_upper, dx, rng, **options) -> LipschitzReport:
    r"""Upper bound on an expert's Lipschitz constant beside a sampled lower estimate, and their gap.

    .. math::

        \underline{L} = \max\Big(\max_{i \le \text{pairs}} \frac{\|\pi(x_i) - \pi(x_i')\|}{\|x_i - x_i'\|},\;
        \max_{j \le \text{probes}} \frac{\|\pi(x_j + h v_j) - \pi(x_j - h v_j)\|}{2h}\Big),

    where ``x_i`` are drawn from ``states`` (or ``N(0, spread^2 I)``), ``x_i'`` is ``x_i`` moved by a
    random direction at a log-uniform distance in ``[1e-3, 1] x spread`` (half of the pairs) or another
    drawn state (the other half), and ``v_j`` is the top right singular vector of a central-difference
    Jacobian at ``x_j`` (the probes start from the mean state, the centres of the largest random
    ratios, and drawn states).

    Parameters
    ----------
    expert_fn : callable
        Deterministic, vectorised: ``(N, dx)`` states to ``(N, du)`` actions (for a Gaussian expert
        pass its mean).
    L_upper : float or None
        The upper bound to compare with (certified, e.g. from :func:`tanh_lipschitz`, or declared).
    dx : int
        State dimension.
    rng : numpy.random.Generator
    declared : bool
        ``L_upper`` is only declared by the user: labelled ``"declared, not certified"`` (default False).
    source : str
        Where ``L_upper`` comes from, for the report.
    states : (N, dx) array_like, optional
        Where to sample (e.g. expert rollout states). Default ``N(0, spread^2 I)`` draws.
    spread : float
        Scale of the default states and of the pair distances (default 1; with ``states``, their RMS norm).
    pairs : int
        Random pairs (default 2000).
    probes : int
        Gradient probes (default 16).
    rtol : float
        Relative tolerance before a sampled ratio counts as exceeding ``L_upper`` (default ``1e-6``,
        the finite-difference round-off).
    max_probe_dim : int
        Above this state dimension the gradient probes (``2 dx`` evaluations each) are skipped
        (default 2000).

    Returns
    -------
    LipschitzReport

    Raises
    ------
    DimensionError
        On bad arguments, or if ``expert_fn`` returns a wrongly shaped or non-finite array.
    TypeError
        On unknown options.

    References
    ----------
    Cao & Xie 2026, Proposition 5 and Theorem 3; THEORY.md section 8b.
    """
    declared = bool(options.pop("declared", False))
    source = str(options.pop("source", "declared by the user" if declared else "given"))
    states = options.pop("states", None)
    spread = options.pop("spread", None)
    pairs = as_int("pairs", options.pop("pairs", 2000), minimum=2)
    probes = as_int("probes", options.pop("probes", 16), minimum=0)
    rtol = as_real("rtol", options.pop("rtol", 1e-6), nonnegative=True)
    max_probe_dim = as_int("max_probe_dim", options.pop("max_probe_dim", 2000), minimum=1)
    reject_unknown_kwargs("lipschitz_report", options)
    if not callable(expert_fn):
        raise DimensionError(f"expert_fn: expected a callable, found {type(expert_fn).__name__}")
    dx = as_int("dx", dx, minimum=1)
    upper = None if L_upper is None else as_real("L_upper", L_upper, nonnegative=True)
    if not isinstance(rng, np.random.Generator):
        raise DimensionError(f"rng: expected a numpy.random.Generator, found {type(rng).__name__}")
    if states is not None:
        S = as_matrix("states", states, cols=dx)
        spread = as_real("spread", spread, positive=True) if spread is not None else \
            max(float(np.sqrt(np.mean(np.sum(S**2, axis=1)))), 1e-3)
    else:
        spread = 1.0 if spread is None else as_real("spread", spread, positive=True)
        S = spread * rng.standard_normal((max(pairs, 64), dx))

    # random pairs: half local (random direction, log-uniform distance), half between drawn states
    n_local = pairs // 2
    Xa = S[rng.integers(0, S.shape[0], pairs)]
    V = rng.standard_normal((n_local, dx))
    V /= np.maximum(np.linalg.norm(V, axis=1, keepdims=True), 1e-300)
    dist = spread * 10.0 ** rng.uniform(-3.0, 0.0, n_local)
    Xb = np.concatenate([Xa[:n_local] + dist[:, None] * V, S[rng.integers(0, S.shape[0], pairs - n_local)]])
    f = _evaluate(expert_fn, np.concatenate([Xa, Xb]))
    r_pairs = _ratios(f[:pairs], f[pairs:], Xa, Xb)

    # gradient probes: central-difference Jacobian, then the genuine pair along its top singular vector
    # (2 dx evaluations per probe; above max_probe_dim states the probes are skipped)
    r_probe = np.zeros(0)
    if dx > max_probe_dim:
        probes = 0
    if probes:
        top = np.argsort(r_pairs)[::-1][: probes // 2]
        centres = np.concatenate([S.mean(axis=0, keepdims=True), Xa[top],
                                  S[rng.integers(0, S.shape[0], max(probes - 1 - top.size, 0))]])[:probes]
        h = 1e-5 * np.maximum(1.0, np.linalg.norm(centres, axis=1))
        E = np.eye(dx)
        v = np.empty((probes, dx))
        for j in range(probes):
            fp = _evaluate(expert_fn, np.concatenate([centres[j] + h[j] * E, centres[j] - h[j] * E]))
            J = (fp[:dx] - fp[dx:]) / (2.0 * h[j])
            # J is (dx, du) = Jacobian^T; its top left singular vector is the direction in state space
            v[j] = np.linalg.svd(J, full_matrices=False)[0][:, 0]
        Pa, Pb = centres - h[:, None] * v, centres + h[:, None] * v
        fprobe = _evaluate(expert_fn, np.concatenate([Pa, Pb]))
        r_probe = _ratios(fprobe[:probes], fprobe[probes:], Pa, Pb)

    ratios = np.concatenate([r_pairs, r_probe])
    i = int(np.argmax(ratios))
    lower = float(ratios[i])
    if i < pairs:
        wx, wxp, kind = Xa[i], Xb[i], "random pair"
    else:
        wx, wxp, kind = Pa[i - pairs], Pb[i - pairs], "gradient probe"
    witness = {"x": wx.tolist(), "x_prime": wxp.tolist(), "ratio": lower, "kind": kind}
    status = "none" if upper is None else ("declared, not certified" if declared else "certified")
    gap = None if upper is None or lower == 0.0 else upper / lower
    exceed = 0 if upper is None else int(np.sum(ratios > upper * (1.0 + rtol)))
    violation = exceed > 0
    if upper is None:
        reason = f"no upper bound; sampled lower estimate {lower:.4g} ({pairs} pairs, {probes} gradient probes)"
    elif violation:
        what = "violates the declared constant" if declared else "contradicts the certified bound"
        reason = (f"{status} L <= {upper:.4g} ({source}); sampled ratio {lower:.4g} {what} "
                  f"({exceed} of {ratios.size} pairs exceed it; witness {kind} x={witness['x']}, "
                  f"x'={witness['x_prime']})")
    else:
        reason = (f"{status} L <= {upper:.4g} ({source}); sampled lower estimate {lower:.4g}"
                  + (f", gap x{gap:.4g}" if gap is not None else "") + f" ({pairs} pairs, {probes} gradient probes)")
    return LipschitzReport(upper=upper, status=status, source=source, lower=lower, witness=witness, gap=gap,
                           violation=violation, exceed_count=exceed, pairs=pairs, probes=probes, rtol=rtol,
                           reason=reason)


def _expert_bound(expert):
    """``(L_upper, declared, source)`` of an expert of :mod:`qbc_theory.model.experts` (duck-typed)."""
    kind = getattr(expert, "kind", None) or expert.to_dict().get("kind")
    if kind == "tanh":
        return tanh_lipschitz(expert.K), False, "||K||_2 (tanh expert s tanh(K x / s))"
    if kind == "mlp":
        layers = [W for W, _ in expert.layers]
        return mlp_lipschitz(layers), False, (f"product of the {len(layers)} layer spectral norms (MLP, "
                                              f"{expert.activation} is 1-Lipschitz)")
    if kind == "linear":
        return tanh_lipschitz(expert.K), False, "||K||_2 (linear expert)"
    upper = float(expert.lipschitz_upper())
    if math.isfinite(upper):
        return upper, False, f"the {kind} expert's certified constant"
    declared = dict(getattr(expert, "declared", {}) or {})
    if "L" in declared:
        return float(declared["L"]), True, "declared by the user"
    return None, False, "none"


def expert_lipschitz(expert, states, rng, **options) -> LipschitzReport:
    r""":func:`lipschitz_report` for an expert object: its certified or declared ``L`` beside the sample.

    The certified bound is recomputed here from the expert's parameters (:func:`tanh_lipschitz` for
    ``tanh`` and ``linear``, :func:`mlp_lipschitz` for ``mlp``; otherwise ``lipschitz_upper()``); a
    :class:`~qbc_theory.model.experts.CallableExpert` contributes its declared ``L``, labelled
    ``"declared, not certified"``. The sampled function is the expert's mean action ``mean(x)``.

    .. math::

        \max_{\text{sampled } (x, x')} \frac{\|\mu(x) - \mu(x')\|}{\|x - x'\|} \le L \le L_{\text{upper}}.

    Parameters
    ----------
    expert : an expert of :mod:`qbc_theory.model.experts`
        Read through ``kind`` (or ``to_dict()["kind"]``), ``mean``, ``lipschitz_upper``, ``declared``
        and (tanh, linear) ``K`` or (mlp) ``layers``, ``activation``.
    states : (N, dx) array_like
        Where to sample (e.g. expert rollout states).
    rng : numpy.random.Generator
    **options
        Passed to :func:`lipschitz_report` (``pairs``, ``probes``, ``rtol``, ``spread``).

    Returns
    -------
    LipschitzReport

    References
    ----------
    Cao & Xie 2026, Proposition 5; THEORY.md section 8b.
    """
    states = as_matrix("states", states)
    upper, declared, source = _expert_bound(expert)
    return lipschitz_report(expert.mean, upper, states.shape[1], rng, declared=declared, source=source,
                            states=states, **options)
