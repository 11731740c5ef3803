r"""Incremental stability of Lur'e systems ``x+ = A x + B u + G phi(C x) + w``: an LMI certificate.

With shared noise two trajectories of a Lur'e system differ by increments that obey

.. math::

    \Delta x_{t+1} = A\,\Delta x_t + G\,\Delta\phi_t + B\,\Delta u_t,\qquad
    \Delta\phi_{t,i} = s_{t,i}\,(C\Delta x_t)_i,\quad s_{t,i}\in[a_i, b_i],

where ``[a, b]`` is the incremental sector of ``phi`` (tanh and clip: ``[0, 1]``; sin: ``[-1, 1]``).
The incremental circle criterion (an S-procedure with a diagonal multiplier ``Lambda``) asks for
``P > 0``, ``Lambda >= 0`` and ``eta in (0, 1)`` with

.. math::

    \begin{bmatrix} A^\top P A - \eta^2 P & A^\top P G \\ G^\top P A & G^\top P G \end{bmatrix}
    + \begin{bmatrix} -C^\top \Lambda_{ab} C & C^\top \Lambda_{m} \\ \Lambda_{m} C & -\Lambda \end{bmatrix}
    \preceq 0, \qquad \Lambda_{ab} = \operatorname{diag}(\lambda_i a_i b_i),\;
    \Lambda_m = \operatorname{diag}\big(\lambda_i \tfrac{a_i + b_i}{2}\big),

which gives ``||A dx + G dphi||_P <= eta ||dx||_P`` for every admissible increment (THEORY.md section
8b), hence open-loop P-EIISS:

.. math::

    \|\Delta x_{t}\|_2 \le C_0\,\eta^{t}\|\Delta x_0\|_2 + \sum_{k<t} C\,\eta^{t-1-k}\|\Delta u_k\|_2,
    \qquad C_0 = \sqrt{\operatorname{cond} P},\quad C = \frac{\|P^{1/2}B\|_2}{\sqrt{\lambda_{\min}(P)}}
    \le \sqrt{\operatorname{cond} P}\,\|B\|_2,

and the max-type gain ``Gamma = C / (1 - eta)``. In the paper's indexing (``u_k`` acts on
``x_{k+1}``) the input term reads ``sum_{k<=t} C eta^{t-k} r_k`` for ``x_{t+1}``: Definition 3.

For a fixed ``eta`` the LMI is linear in ``(P, Lambda)``; :func:`incremental_certificate` bisects on
``eta``, then minimises ``cond(P)`` on a grid of rates above the smallest feasible one and keeps the
rate with the smallest ``Gamma``. Every answer of the solver is re-verified in numpy
(:func:`verify_incremental_certificate`) before a constant is derived from it. A system without a
certificate is reported **not certified**, never unstable: the LMI is only sufficient.

Kept as one module (about 860 lines): the certificate, its numpy re-verification and the
sampled evidence against it are one argument and are read together.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from dataclasses import dataclass, field
from itertools import product

import numpy as np

from ..model.errors import DimensionError, SolverError
from ..model.validation import as_matrix, as_real, as_vector, reject_unknown_kwargs
from .certificates import _lmi_available, positive_definite, spectral_radius

__all__ = [
    "IncrementalCertificate",
    "verify_incremental_certificate",
    "incremental_certificate",
    "SampledPIISS",
    "sampled_piiss",
    "NonlinearStability",
    "system_stability",
]

# Largest rate tried: a certificate above it would give Gamma > 1e4 C, useless for any bound.
_ETA_MAX = 0.9999
# Bisection stops when the bracket [infeasible, feasible] is narrower than
# max(_BISECT_TOL, _BISECT_RTOL (1 - lower end)): a few per cent of the margin 1 - eta, which is what
# Gamma = C / (1 - eta) is sensitive to.
_BISECT_TOL = 2e-3
_BISECT_RTOL = 0.03
# Fractions of the gap (_ETA_MAX - eta_min) at which cond(P) is minimised when eta is not given.
_ETA_FRACTIONS = (0.0, 0.1, 0.3, 0.6)
# Above this many nonlinear channels only the two uniform slope vertices are checked.
_MAX_VERTEX_CHANNELS = 10


def _lure(A, B, G, C, sector):
    A = as_matrix("A", A)
    n = A.shape[0]
    if A.shape[1] != n:
        raise DimensionError(f"A: expected a square matrix, found shape {A.shape}")
    B = as_matrix("B", B, rows=n)
    G = as_matrix("G", G, rows=n)
    p = G.shape[1]
    C = as_matrix("C", C, rows=p, cols=n)
    if isinstance(sector, (str, bytes)) or not hasattr(sector, "__len__") or len(sector) != 2:
        raise DimensionError(f"sector: expected a pair (a, b), found {sector!r}")
    a = np.broadcast_to(as_vector("sector[0]", sector[0]), (p,)) if np.ndim(sector[0]) == 0 else \
        as_vector("sector[0]", sector[0], size=p)
    b = np.broadcast_to(as_vector("sector[1]", sector[1]), (p,)) if np.ndim(sector[1]) == 0 else \
        as_vector("sector[1]", sector[1], size=p)
    a, b = np.array(a, dtype=float), np.array(b, dtype=float)
    if np.any(a > b):
        i = int(np.argmax(a > b))
        raise DimensionError(f"sector: expected a <= b, found a={a[i]:g} > b={b[i]:g} (channel {i})")
    return A, B, G, C, a, b


def _block(A, G, C, a, b, P, lam, eta):
    """The LMI's block matrix at ``(P, Lambda, eta)`` in numpy (symmetrised)."""
    Lab = np.diag(lam * a * b)
    Lm = np.diag(lam * (a + b) / 2.0)
    M11 = A.T @ P @ A - eta**2 * P - C.T @ Lab @ C
    M12 = A.T @ P @ G + C.T @ Lm
    M22 = G.T @ P @ G - np.diag(lam)
    M = np.block([[M11, M12], [M12.T, M22]])
    return (M + M.T) / 2.0


@dataclass(frozen=True)
class IncrementalCertificate:
    r"""Result of :func:`incremental_certificate`: a verified incremental P-EIISS certificate, or why not.

    .. math::

        \|\Delta x_t\| \le C_0 \eta^t \|\Delta x_0\| + \sum_{k<t} C \eta^{t-1-k}\|\Delta u_k\|,
        \qquad \Gamma = \frac{C}{1-\eta}.

    Attributes
    ----------
    certified : bool
        Whether a certificate was found *and* survived the numpy re-verification.
    eta : float or None
        The certified rate (``eta_requested`` plus whatever the verified residual costs).
    eta_requested : float or None
        The rate at which the LMI was solved.
    eta_min : float or None
        Smallest rate found feasible by the bisection (``None`` when ``eta`` was given).
    P : (dx, dx) ndarray or None
    Lambda : (p,) ndarray or None
        Diagonal of the multiplier.
    cond : float or None
        ``cond(P)``.
    C : float or None
        ``||P^{1/2} B|| / sqrt(lambda_min(P))``: the input constant of P-EIISS.
    C_cond : float or None
        ``sqrt(cond P) ||B||`` (THEORY.md section 8b's form, ``>= C``).
    C_x0 : float or None
        ``sqrt(cond P)``: the constant of the initial-condition term.
    Gamma : float or None
        Max-type gain ``C / (1 - eta)``.
    residual_max_eig : float or None
        Largest eigenvalue of the block matrix at ``eta_requested``.
    method : str
        ``"lmi-CLARABEL"``, ``"lmi-SCS"``, ``"given"`` or ``"none"``.
    reason : str
        One sentence: what is certified, or why nothing is (never "unstable").
    necessary_radius : float
        Largest spectral radius of ``A + G diag(s) C`` over the slope vertices checked: any certificate
        has ``eta >= necessary_radius``, so a value ``>= 1`` rules out a certificate of this form.
    solves : int
        Number of SDP solves.
    seconds : float
        Wall time of the search.
    notes : tuple of str

    References
    ----------
    Cao & Xie 2026, Definition 3 (P-EIISS), Theorem 3 (max-type gamma); THEORY.md section 8b.
    """

    certified: bool
    eta: float | None
    eta_requested: float | None
    eta_min: float | None
    P: np.ndarray | None
    Lambda: np.ndarray | None
    cond: float | None
    C: float | None
    C_cond: float | None
    C_x0: float | None
    Gamma: float | None
    residual_max_eig: float | None
    method: str
    reason: str
    necessary_radius: float
    solves: int = 0
    seconds: float = 0.0
    notes: tuple = field(default_factory=tuple)

    @property
    def peiiss(self) -> dict | None:
        """The P-EIISS constants ``{"C", "eta", "C_x0", "Gamma"}`` (``None`` when not certified)."""
        if not self.certified:
            return None
        return {"C": self.C, "eta": self.eta, "C_x0": self.C_x0, "Gamma": self.Gamma}

    def to_dict(self) -> dict:
        """JSON-ready description (matrices as nested lists)."""
        return {"certified": self.certified, "status": "certified" if self.certified else "not certified",
                "eta": self.eta, "eta_requested": self.eta_requested, "eta_min": self.eta_min,
                "C": self.C, "C_cond": self.C_cond, "C_x0": self.C_x0, "Gamma": self.Gamma, "cond": self.cond,
                "peiiss": self.peiiss, "residual_max_eig": self.residual_max_eig, "method": self.method,
                "reason": self.reason, "necessary_radius": self.necessary_radius, "solves": self.solves,
                "seconds": self.seconds, "notes": list(self.notes),
                "P": None if self.P is None else self.P.tolist(),
                "Lambda": None if self.Lambda is None else self.Lambda.tolist()}


def verify_incremental_certificate(A, B, G, C, sector, P, Lambda, eta, *, method: str = "given",
                                   rtol: float = 1e-7) -> IncrementalCertificate:
    r"""Re-verify an incremental sector certificate in numpy and derive its constants.

    Checks ``P`` symmetric positive definite, ``Lambda >= 0``, and that the largest eigenvalue ``r``
    of the block matrix ``M(P, Lambda, eta)`` of the module docstring is at most
    ``rtol * max(lambda_max(P), max Lambda)``. A positive ``r`` is absorbed into the rate: with
    ``s_max = max(|a|, |b|)``, ``||dphi|| <= s_max ||C|| ||dx||`` and

    .. math::

        \|A\Delta x + G\Delta\phi\|_P^2 \le \eta^2\|\Delta x\|_P^2 + r\,(\|\Delta x\|^2 + \|\Delta\phi\|^2)
        \le \Big(\eta^2 + \frac{r\,(1 + s_{\max}^2\|C\|^2)}{\lambda_{\min}(P)}\Big)\|\Delta x\|_P^2 .

    Parameters
    ----------
    A : (dx, dx) array_like
    B : (dx, du) array_like
    G : (dx, p) array_like
    C : (p, dx) array_like
    sector : (a, b)
        Incremental slope bounds, scalars or length-``p`` vectors, ``a <= b``.
    P : (dx, dx) array_like
    Lambda : (p,) array_like
        Diagonal of the multiplier; must be ``>= 0``.
    eta : float
        Claimed rate in (0, 1).
    method : str
        Label of the method that produced the matrices.
    rtol : float
        Relative tolerance on the largest eigenvalue of ``M`` (solver round-off), default ``1e-7``.

    Returns
    -------
    IncrementalCertificate
        With ``certified=True``.

    Raises
    ------
    SolverError
        If ``P`` is not symmetric positive definite, ``Lambda`` has a negative entry, the block
        matrix has an eigenvalue above tolerance, or the certified rate is not below one.
    DimensionError
        On bad shapes or ``eta`` outside (0, 1).

    References
    ----------
    Cao & Xie 2026, Definition 3; THEORY.md section 8b.
    """
    A, B, G, C, a, b = _lure(A, B, G, C, sector)
    n, p = A.shape[0], G.shape[1]
    P = as_matrix("P", P, n, n)
    lam = as_vector("Lambda", Lambda, size=p)
    eta = as_real("eta", eta, low=0.0, high=1.0, open_low=True, open_high=True)
    rtol = as_real("rtol", rtol, nonnegative=True)
    P, lmin, lmax = positive_definite(P, f"incremental certificate ({method})")
    if np.any(lam < 0):
        i = int(np.argmin(lam))
        raise SolverError(f"incremental certificate ({method}): expected Lambda >= 0, found Lambda[{i}] = "
                          f"{lam[i]:.3g}")
    rmax = float(np.linalg.eigvalsh(_block(A, G, C, a, b, P, lam, eta))[-1])
    tol = rtol * max(lmax, float(lam.max(initial=0.0)))
    if rmax > tol:
        raise SolverError(f"incremental certificate ({method}): expected the sector LMI <= 0 at eta={eta:.6g}, "
                          f"found largest eigenvalue {rmax:.3g} > tolerance {tol:.3g}")
    smax = float(np.maximum(np.abs(a), np.abs(b)).max())
    eta_cert = math.sqrt(eta**2 + max(rmax, 0.0) * (1.0 + smax**2 * np.linalg.norm(C, 2) ** 2) / lmin)
    if not eta_cert < 1.0:
        raise SolverError(f"incremental certificate ({method}): the verified rate {eta_cert:.9g} is not below 1")
    cond = lmax / lmin
    C_p = math.sqrt(max(float(np.linalg.eigvalsh(B.T @ P @ B)[-1]), 0.0) / lmin)
    C_c = math.sqrt(cond) * float(np.linalg.norm(B, 2))
    P.setflags(write=False)
    lam = lam.copy()
    lam.setflags(write=False)
    reason = (f"certified: incremental sector LMI holds with eta={eta_cert:.6g} ({method}); "
              f"||dx_t|| <= sum_k C eta^(t-1-k) ||du_k|| with C={C_p:.6g}, Gamma = C/(1-eta) = "
              f"{C_p / (1.0 - eta_cert):.6g}")
    return IncrementalCertificate(certified=True, eta=eta_cert, eta_requested=eta, eta_min=None, P=P, Lambda=lam,
                                  cond=cond, C=C_p, C_cond=C_c, C_x0=math.sqrt(cond), Gamma=C_p / (1.0 - eta_cert),
                                  residual_max_eig=rmax, method=method, reason=reason,
                                  necessary_radius=_necessary_radius(A, G, C, a, b))


def _necessary_radius(A, G, C, a, b) -> float:
    """Largest ``rho(A + G diag(s) C)`` over slope vertices ``s`` (a lower bound on any certified eta)."""
    p = G.shape[1]
    if p <= _MAX_VERTEX_CHANNELS:
        vertices = np.array(list(product(*zip(a, b))), dtype=float)
    else:
        vertices = np.stack([a, b])
    mats = A[None] + np.einsum("ij,vj,jk->vik", G, vertices, C)
    return float(np.abs(np.linalg.eigvals(mats)).max())


class _SectorLMI:
    """The sector LMI of one Lur'e system, ``eta^2`` a DPP parameter.

    Objective ``"cond"``: ``min t`` with ``I <= P <= t I`` (smallest ``cond P``). Objective ``"input"``:
    ``min t`` with ``P >= I``, ``B^T P B <= t I``; the LMI is homogeneous in ``(P, Lambda)``, so some
    optimum has ``lambda_min(P) = 1`` and ``t = C^2`` is the smallest input constant
    ``C = ||P^{1/2} B|| / sqrt(lambda_min P)`` at this ``eta``.
    """

    def __init__(self, A, B, G, C, a, b, objective="cond"):
        import cvxpy as cp

        n, p = A.shape[0], G.shape[1]
        self.cp = cp
        self.P = cp.Variable((n, n), symmetric=True)
        self.lam = cp.Variable(p, nonneg=True)
        self.t = cp.Variable()
        self.eta2 = cp.Parameter(nonneg=True)
        M11 = A.T @ self.P @ A - self.eta2 * self.P - C.T @ cp.diag(cp.multiply(a * b, self.lam)) @ C
        M12 = A.T @ self.P @ G + C.T @ cp.diag(cp.multiply((a + b) / 2.0, self.lam))
        M22 = G.T @ self.P @ G - cp.diag(self.lam)
        M = cp.bmat([[M11, M12], [M12.T, M22]])
        eye = np.eye(n)
        bound = (self.P << self.t * eye) if objective == "cond" else \
            (B.T @ self.P @ B << self.t * np.eye(B.shape[1]))
        cons = [self.P >> eye, bound, (M + M.T) / 2.0 << 0]
        self.problem = cp.Problem(cp.Minimize(self.t), cons)
        self.count = 0

    def solve(self, eta: float, solver: str):
        self.count += 1
        self.eta2.value = eta**2
        try:
            with warnings.catch_warnings():
                # an inaccurate answer is judged by the numpy re-verification, not by cvxpy's warning
                warnings.simplefilter("ignore", UserWarning)
                self.problem.solve(solver=solver)
        except self.cp.error.SolverError as exc:
            return None, None, f"{solver} failed ({exc})"
        if self.problem.status not in ("optimal", "optimal_inaccurate") or self.P.value is None:
            return None, None, f"{solver} returned status {self.problem.status}"
        return np.array(self.P.value), np.maximum(np.array(self.lam.value), 0.0), "optimal"


def _solve_at(problem, sys_args, eta, solvers, *, second_opinion=True):
    """A verified certificate at ``eta`` or ``(None, failure text)``.

    The next solver is tried when one fails or its answer does not verify; after a declared
    infeasibility only if ``second_opinion`` (inside the bisection an infeasible answer just moves the
    bracket up, and a second solver would double the cost of every infeasible rate).
    """
    failures = []
    for solver in solvers:
        P, lam, status = problem.solve(eta, solver)
        if P is None:
            failures.append(status)
            if not second_opinion and status.endswith("status infeasible"):
                break
            continue
        try:
            return verify_incremental_certificate(*sys_args, P, lam, eta, method=f"lmi-{solver}"), None
        except SolverError as exc:
            failures.append(str(exc))
    return None, "; ".join(failures)


def incremental_certificate(A, B, G, C, sector, eta=None, **options) -> IncrementalCertificate:
    r"""Certify open-loop incremental P-EIISS of ``x+ = A x + B u + G phi(C x) + w`` by the sector LMI.

    .. math::

        \min_{P, \Lambda, t} t \;\;\text{s.t.}\;\; I \preceq P \preceq tI,\; \Lambda \succeq 0 \text{ diagonal},\;
        M(P, \Lambda, \eta) \preceq 0,
        \qquad \Gamma = \frac{\|P^{1/2}B\|/\sqrt{\lambda_{\min}(P)}}{1 - \eta}.

    Without ``eta``: first the necessary condition ``rho(A + G diag(s) C) < 1`` on the slope vertices;
    then feasibility at ``eta = 0.9999``; then bisection for the smallest feasible rate ``eta_min``
    (to ``max(2e-3, 0.03 (1 - eta))``); then ``cond(P)`` is minimised at
    ``eta_min + f (0.9999 - eta_min)`` for ``f in {0, 0.1, 0.3, 0.6}`` and the rate with the smallest
    ``Gamma`` is kept (about ten SDP solves in all). Each solver answer counts only if it passes
    :func:`verify_incremental_certificate`.

    Parameters
    ----------
    A : (dx, dx) array_like
    B : (dx, du) array_like
    G : (dx, p) array_like
    C : (p, dx) array_like
    sector : (a, b)
        Incremental sector of ``phi``: scalars or length-``p`` vectors with ``a <= b``.
    eta : float, optional
        Solve at this rate only (in (0, 1)).
    solvers : sequence of str
        Tried in order at each rate (default CLARABEL, then SCS).
    objective : {"cond", "input"}
        What is minimised at each rate: ``cond(P)`` (default, as the linear LMI of
        :mod:`.stability`; also keeps ``C_x0`` small) or the input constant ``C`` itself (``B^T P B <= t I``
        with ``P >= I``), which gives the smallest certified ``Gamma`` at each rate.

    Returns
    -------
    IncrementalCertificate
        ``certified=False`` with a reason when no verified certificate exists at any rate tried
        (never an error, never "unstable").

    Raises
    ------
    DimensionError
        On bad shapes, ``a > b`` or ``eta`` outside (0, 1).
    SolverError
        If cvxpy is not installed.
    TypeError
        On unknown options.

    References
    ----------
    Cao & Xie 2026, Definition 3 (P-EIISS) and Theorem 3; THEORY.md section 8b.
    """
    solvers = tuple(options.pop("solvers", ("CLARABEL", "SCS")))
    objective = options.pop("objective", "cond")
    if objective not in ("cond", "input"):
        raise DimensionError(f"objective: expected 'cond' or 'input', found {objective!r}")
    reject_unknown_kwargs("incremental_certificate", options)
    A, B, G, C, a, b = _lure(A, B, G, C, sector)
    if eta is not None:
        eta = as_real("eta", eta, low=0.0, high=1.0, open_low=True, open_high=True)
    if not _lmi_available():
        raise SolverError("incremental_certificate: cvxpy is not installed (pip install cvxpy)")
    start = time.perf_counter()
    nec = _necessary_radius(A, G, C, a, b)
    sys_args = (A, B, G, C, (a, b))

    def fail(reason, solves=0, notes=()):
        return IncrementalCertificate(certified=False, eta=None, eta_requested=eta, eta_min=None, P=None,
                                      Lambda=None, cond=None, C=None, C_cond=None, C_x0=None, Gamma=None,
                                      residual_max_eig=None, method="none", reason=reason, necessary_radius=nec,
                                      solves=solves, seconds=time.perf_counter() - start, notes=tuple(notes))

    tail = " (no certificate is not a proof of instability)"
    if not nec < 1.0:
        return fail(f"not certified: with the slopes frozen at a vertex of the sector the increment matrix "
                    f"A + G diag(s) C has spectral radius {nec:.6g} >= 1, so no certificate of this form exists"
                    + tail)
    if eta is not None and not eta > nec:
        return fail(f"not certified at eta={eta:.6g}: the LMI needs eta >= rho(A + G diag(s) C) = {nec:.6g} on "
                    "the slope vertices" + tail)
    problem = _SectorLMI(A, B, G, C, a, b, objective)
    if eta is not None:
        cert, why = _solve_at(problem, sys_args, eta, solvers)
        if cert is None:
            return fail(f"not certified at eta={eta:.6g}: {why}" + tail, problem.count)
        return _finish(cert, None, problem.count, start, ())
    top, why = _solve_at(problem, sys_args, _ETA_MAX, solvers)
    if top is None:
        return fail(f"not certified: no P > 0 and diagonal Lambda >= 0 satisfy the incremental sector LMI at "
                    f"eta={_ETA_MAX} ({why})" + tail, problem.count)
    lo, hi, best = nec, _ETA_MAX, top
    while hi - lo > max(_BISECT_TOL, _BISECT_RTOL * (1.0 - lo)):
        mid = (lo + hi) / 2.0
        cert, _ = _solve_at(problem, sys_args, mid, solvers, second_opinion=False)
        if cert is None:
            lo = mid
        else:
            hi, best = mid, cert
    eta_min = hi
    candidates = {eta_min: best}
    for f in _ETA_FRACTIONS[1:]:
        e = eta_min + f * (_ETA_MAX - eta_min)
        cert, _ = _solve_at(problem, sys_args, e, solvers, second_opinion=False)
        if cert is not None:
            candidates[e] = cert
    chosen = min(candidates.values(), key=lambda c: c.Gamma)
    return _finish(chosen, eta_min, problem.count, start, (f"eta chosen among {len(candidates)} rates in "
                                                            f"[{eta_min:.4g}, {_ETA_MAX}] by the smallest Gamma; "
                                                            f"min {'cond(P)' if objective == 'cond' else 'C'} "
                                                            "at each rate",))


def _finish(cert: IncrementalCertificate, eta_min, solves, start, notes) -> IncrementalCertificate:
    return dataclasses.replace(cert, eta_min=eta_min, solves=solves, seconds=time.perf_counter() - start,
                               notes=tuple(notes))


# --- sampled evidence and the stability section of a nonlinear system ---------------------------

DECLARED = "declared, not certified"
"""Label of a constant the user declared (the model's ``DECLARED_LABEL``)."""


@dataclass(frozen=True)
class SampledPIISS:
    r"""Sampled evidence for (or against) a P-IISS gain: coupled runs with shared noise and initial state.

    .. math::

        \text{ratio} = \max_{\text{pairs},\,t}
        \frac{\|x^0_{t+1} - x^1_{t+1}\|}{\gamma\big((\|u^0_k - u^1_k\|)_{k \le t}\big)},\qquad
        \gamma = \sum_{k \le t} C\eta^{t-k} r_k \;\text{ or }\; \Gamma \max_{k \le t} r_k .

    Attributes
    ----------
    gamma : str
        ``"peiiss"`` (``C``, ``eta``) or ``"max"`` (``Gamma``).
    constants : dict
        The constants tested.
    max_ratio : float
        Largest sampled ratio; above ``1 + rtol`` it refutes the constants.
    violation : bool
    witness : dict or None
        ``pair``, ``t``, ``gap``, ``bound`` of the largest ratio.
    trajectories, horizon : int
    reason : str

    References
    ----------
    Cao & Xie 2026, Definition 3.
    """

    gamma: str
    constants: dict
    max_ratio: float
    violation: bool
    witness: dict | None
    trajectories: int
    horizon: int
    reason: str

    def to_dict(self) -> dict:
        """JSON-ready description."""
        return {"gamma": self.gamma, "constants": dict(self.constants), "max_ratio": self.max_ratio,
                "violation": self.violation, "witness": self.witness, "trajectories": self.trajectories,
                "horizon": self.horizon, "reason": self.reason}


def sampled_piiss(step, x0, noise, du, rng, *, C=None, eta=None, Gamma=None, action_scale=1.0,
                  rtol=1e-9) -> SampledPIISS:
    r"""Look for evidence against a P-IISS gain by running coupled pairs of trajectories.

    Each pair starts from the same ``x0`` row and sees the same noise; the first run plays actions
    ``u0 ~ N(0, s^2 I)``, the second ``u1 = u0 + du`` with ``du`` a single pulse, a constant offset or
    dense noise (a third of the pairs each), at log-uniform magnitudes in ``[1e-3, 1] s``. The state
    gap is compared with

    .. math::

        \gamma_t = \sum_{k \le t} C\,\eta^{t-k}\,\|u^0_k - u^1_k\| \;\;(C, \eta \text{ given}),\qquad
        \gamma_t = \Gamma \max_{k \le t} \|u^0_k - u^1_k\| \;\;(\text{only } \Gamma),

    which is Definition 3's inequality, after discounting ``1e-12 (1 + ||x||)`` of round-off from the
    gap. Sampling can refute a gain, never prove one.

    Parameters
    ----------
    step : callable
        ``step(x (N, dx), u (N, du), w (N, dx)) -> (N, dx)``.
    x0 : (N, dx) array_like
        Shared initial states.
    noise : (H, N, dx) array_like
        Shared noise.
    du : int
        Action dimension.
    rng : numpy.random.Generator
    C, eta : float, optional
        P-EIISS constants (both or neither).
    Gamma : float, optional
        Max-type gain, used when ``C, eta`` are not given.
    action_scale : float
        ``s`` (default 1).
    rtol : float
        A ratio above ``1 + rtol`` is a violation (default ``1e-9``, round-off).

    Returns
    -------
    SampledPIISS

    Raises
    ------
    DimensionError
        On bad shapes or constants, or when neither ``(C, eta)`` nor ``Gamma`` is given.

    References
    ----------
    Cao & Xie 2026, Definition 3.
    """
    x0 = as_matrix("x0", x0)
    N, dx = x0.shape
    noise = np.asarray(noise, dtype=float)
    if noise.ndim != 3 or noise.shape[1:] != (N, dx) or noise.shape[0] < 1:
        raise DimensionError(f"noise: expected shape (H, {N}, {dx}), found {noise.shape}")
    H = noise.shape[0]
    s = as_real("action_scale", action_scale, positive=True)
    rtol = as_real("rtol", rtol, nonnegative=True)
    if (C is None) != (eta is None):
        raise DimensionError("C, eta: expected both P-EIISS constants or neither")
    if C is not None:
        C = as_real("C", C, positive=True)
        eta = as_real("eta", eta, low=0.0, high=1.0, open_low=True, open_high=True)
        kind, consts = "peiiss", {"C": C, "eta": eta}
    elif Gamma is not None:
        Gamma = as_real("Gamma", Gamma, positive=True)
        kind, consts = "max", {"Gamma": Gamma}
    else:
        raise DimensionError("C, eta, Gamma: expected (C, eta) or Gamma to test, found neither")
    u0 = s * rng.standard_normal((H, N, du))
    mag = s * 10.0 ** rng.uniform(-3.0, 0.0, (N, 1))
    dU = mag * rng.standard_normal((H, N, du))
    family = np.arange(N) % 3  # 0: one pulse, 1: a constant offset (accumulates), 2: dense random
    at = rng.integers(0, H, N)
    dU[:, family == 0] *= (np.arange(H)[:, None] == at[None, family == 0])[:, :, None]
    dU[:, family == 1] = dU[0, family == 1]
    x_a, x_b = x0.copy(), x0.copy()
    acc = np.zeros(N)
    worst, witness = 0.0, None
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(H):
            x_a = np.asarray(step(x_a, u0[t], noise[t]), dtype=float)
            x_b = np.asarray(step(x_b, u0[t] + dU[t], noise[t]), dtype=float)
            r = np.linalg.norm(dU[t], axis=1)
            acc = eta * acc + C * r if kind == "peiiss" else np.maximum(acc, Gamma * r)
            gap = np.linalg.norm(x_a - x_b, axis=1)
            # round-off of the two runs' arithmetic is not evidence: discount 1e-12 (1 + |x|) from the gap
            net = np.maximum(gap - 1e-12 * (1.0 + np.linalg.norm(x_a, axis=1)), 0.0)
            ratio = np.where(acc > 0, net / np.where(acc > 0, acc, 1.0), np.where(net > 0, np.inf, 0.0))
            ratio = np.where(np.isfinite(gap), ratio, np.inf)
            i = int(np.argmax(ratio))
            if ratio[i] > worst:
                worst = float(ratio[i])
                witness = {"pair": i, "t": t + 1, "gap": float(gap[i]), "bound": float(acc[i])}
    violation = worst > 1.0 + rtol
    what = (f"C={C:.4g}, eta={eta:.4g}" if kind == "peiiss" else f"Gamma={Gamma:.4g}")
    reason = (f"{N} coupled pairs x {H} steps: largest gap / gamma = {worst:.4g}"
              + (f" > 1: the sample refutes {what} (pair {witness['pair']}, step {witness['t']}: gap "
                 f"{witness['gap']:.4g} > bound {witness['bound']:.4g})" if violation
                 else f" <= 1, no evidence against {what} (not a proof)"))
    return SampledPIISS(gamma=kind, constants=consts, max_ratio=worst, violation=violation, witness=witness,
                        trajectories=N, horizon=H, reason=reason)


@dataclass(frozen=True)
class NonlinearStability:
    r"""The stability section of ``qbc check`` for a Lur'e or callable system.

    Exposes the attributes of :class:`~qbc_theory.checker.stability.StabilityReport` that the report
    reads (``globally_p_iiss``, ``Gamma``, ``C``, ``eta``, ``reason``, ...), filled from the incremental
    certificate (Lur'e) or from the user's declaration (callable), plus sampled evidence.

    .. math::

        \|x^0_{t+1} - x^1_{t+1}\| \le \sum_{k \le t} C\eta^{t-k}\|u^0_k - u^1_k\|,\qquad \Gamma = \frac{C}{1-\eta}.

    Attributes
    ----------
    kind : str
        ``"lure"`` or ``"callable"``.
    status : str
        ``"certified"``, ``"not certified"``, ``"declared, not certified"`` or ``"declared, refuted"``.
    globally_p_iiss : bool
        Certified, or declared and not refuted by the sample.
    Gamma, C, eta : float or None
    horizon_gain : float or None
        ``sum_{j<H} C eta^j`` (or ``Gamma``) at the instance's horizon.
    spectral_radius : float or None
        ``rho(A)`` of the linear part (Lur'e), ``None`` for a callable system.
    method : str
    reason : str
    certificate : IncrementalCertificate or None
    declared : dict
    evidence : SampledPIISS or None
    phi : str or None
    sector : tuple or None
    notes : tuple of str

    References
    ----------
    Cao & Xie 2026, Definition 3; THEORY.md section 8b.
    """

    kind: str
    status: str
    globally_p_iiss: bool
    Gamma: float | None
    C: float | None
    eta: float | None
    horizon_gain: float | None
    spectral_radius: float | None
    method: str
    reason: str
    certificate: IncrementalCertificate | None
    declared: dict
    evidence: SampledPIISS | None
    phi: str | None = None
    sector: tuple | None = None
    notes: tuple = ()
    gain_sum = None
    exact = None
    lyapunov = None
    lmi = None

    def to_dict(self) -> dict:
        """The keys of ``StabilityReport.to_dict`` plus ``kind``, ``status``, ``certificate``, ``declared``,
        ``evidence``."""
        def fin(v):
            return None if v is None or not math.isfinite(v) else float(v)

        cert = None
        if self.certificate is not None:
            cert = {k: v for k, v in self.certificate.to_dict().items()}
        return {"spectral_radius": fin(self.spectral_radius), "globally_p_iiss": self.globally_p_iiss,
                "gain_sum": fin(self.Gamma), "gain_sum_detail": None, "horizon_gain": fin(self.horizon_gain),
                "eta": self.eta, "C": self.C, "method": self.method, "C_exact": None, "C_lyapunov": None,
                "C_lmi": self.certificate.C if self.certificate is not None and self.certificate.certified else None,
                "exact": None, "lyapunov": None, "lmi": None, "reason": self.reason, "notes": list(self.notes),
                "kind": self.kind, "status": self.status, "Gamma": fin(self.Gamma), "certificate": cert,
                "declared": dict(self.declared), "evidence": None if self.evidence is None else self.evidence.to_dict(),
                "phi": self.phi, "sector": None if self.sector is None else list(self.sector)}

    def format_lines(self) -> list:
        """The text lines of the stability section of ``qbc check``."""
        def num(v):
            return "-" if v is None else format(v, ".4g")

        lines = []
        if self.kind == "lure":
            lines.append(f"  system                      Lur'e, phi = {self.phi}, sector [{self.sector[0]:g}, "
                         f"{self.sector[1]:g}], rho(A) = {num(self.spectral_radius)}")
            c = self.certificate
            if c.certified:
                lines += [f"  incremental certificate     certified ({c.method}, {c.solves} solves, {c.seconds:.2g} s)",
                          f"  eta, C, Gamma = C/(1-eta)   {num(c.eta)}, {num(c.C)}, {num(c.Gamma)}",
                          f"  P-EIISS                     ||dx_t+1|| <= sum_k C eta^(t-k) ||du_k||; cond(P) = "
                          f"{num(c.cond)}, sqrt(cond P) ||B|| = {num(c.C_cond)}"]
            else:
                lines.append(f"  incremental certificate     {c.reason}")
        else:
            shown = ", ".join(f"{k} = {v:.4g}" for k, v in self.declared.items())
            lines += ["  system                      callable f(x, u, w)",
                      f"  constants                   {shown}  ({DECLARED})" if shown else
                      "  constants                   none declared"]
        lines.append(f"  globally P-IISS             {'yes' if self.globally_p_iiss else 'no'}  ({self.status})")
        if self.Gamma is not None:
            lines.append(f"  Gamma (max-type gain)       {num(self.Gamma)}")
        if self.evidence is not None:
            lines.append(f"  sampled increments          {self.evidence.reason}")
        return lines


def system_stability(system, *, H=None, eta=None, rng=None, trajectories=200, horizon=50) -> NonlinearStability:
    r"""The stability section for a Lur'e system (certificate) or a callable system (declared constants).

    Lur'e: :func:`incremental_certificate` on ``(A, B, G, C, sector)`` with ``objective="input"`` (P-IISS
    compares runs from the same initial state, so only the input constant ``C`` matters; on 10-state
    examples this certifies a ``Gamma`` 15-30% smaller than minimising ``cond(P)``); when certified,
    coupled runs of the true system are sampled as a cross-check (a refutation would be a bug).
    Callable: the user's ``C, eta`` or ``Gamma`` are labelled ``"declared, not certified"`` and sampled
    for evidence against them; a refuted declaration is not P-IISS.

    .. math::

        \Gamma = \frac{C}{1 - \eta}, \qquad \Gamma_H = \sum_{j<H} C\eta^j .

    Parameters
    ----------
    system : LureSystem or CallableSystem
        Read through ``kind``, ``dx``, ``du``, ``step``, ``sample_x0``, ``sample_noise`` and (Lur'e)
        ``A, B, G, C, sector, phi`` or (callable) ``declared``.
    H : int, optional
        Horizon for ``horizon_gain``.
    eta : float, optional
        Fix the certificate's rate (Lur'e).
    rng : numpy.random.Generator, optional
        For the sampled evidence (default: a fixed seed).
    trajectories, horizon : int
        Size of the sample (default 200 pairs, 50 steps; ``min(horizon, H)`` steps when ``H`` is given).

    Returns
    -------
    NonlinearStability

    Raises
    ------
    DimensionError
        If ``system.kind`` is neither ``"lure"`` nor ``"callable"``.

    References
    ----------
    Cao & Xie 2026, Definition 3; THEORY.md section 8b.
    """
    kind = getattr(system, "kind", None)
    rng = np.random.default_rng(0) if rng is None else rng
    steps = horizon if H is None else max(1, min(horizon, int(H)))

    def sample(**consts):
        x0 = system.sample_x0(rng, trajectories)
        w = system.sample_noise(rng, steps, trajectories)
        return sampled_piiss(system.step, x0, w, system.du, rng, **consts)

    def hgain(C_, eta_, Gamma_):
        if H is None:
            return None
        if C_ is not None:
            return C_ * (1.0 - eta_ ** int(H)) / (1.0 - eta_)
        return Gamma_

    if kind == "lure":
        # objective "input": Definition 3 compares runs from the same initial state, so only the input
        # constant C enters gamma, and minimising it gives the smallest certified Gamma at each rate
        cert = incremental_certificate(system.A, system.B, system.G, system.C, system.sector, eta=eta,
                                       objective="input")
        rho = spectral_radius(system.A)
        if cert.certified:
            ev = sample(C=cert.C, eta=cert.eta)
            notes = () if not ev.violation else (f"sampled increments contradict the certificate: {ev.reason}",)
            reason = (f"globally P-EIISS (incremental sector certificate, {cert.method}): ||dx_t+1|| <= "
                      f"sum_k C eta^(t-k) ||du_k|| with C={cert.C:.4g}, eta={cert.eta:.4g}; max-type Gamma = "
                      f"C/(1-eta) = {cert.Gamma:.4g}")
            return NonlinearStability(kind=kind, status="certified", globally_p_iiss=True, Gamma=cert.Gamma,
                                      C=cert.C, eta=cert.eta, horizon_gain=hgain(cert.C, cert.eta, None),
                                      spectral_radius=rho, method=cert.method, reason=reason, certificate=cert,
                                      declared={}, evidence=ev, phi=system.phi, sector=tuple(system.sector),
                                      notes=notes)
        reason = (f"global P-IISS {cert.reason}; a local (gamma, delta)-d-P-IISS may still hold (appendix "
                  "proposition)")
        return NonlinearStability(kind=kind, status="not certified", globally_p_iiss=False, Gamma=None, C=None,
                                  eta=None, horizon_gain=None, spectral_radius=rho, method="none", reason=reason,
                                  certificate=cert, declared={}, evidence=None, phi=system.phi,
                                  sector=tuple(system.sector))
    if kind == "callable":
        d = dict(getattr(system, "declared", {}) or {})
        C_, eta_, G_ = d.get("C"), d.get("eta"), d.get("Gamma")
        notes = ()
        if (C_ is None) != (eta_ is None):
            notes = ("a declared C without eta (or eta without C) is not a P-EIISS pair; ignored",)
            C_ = eta_ = None
        if C_ is None and G_ is None:
            return NonlinearStability(kind=kind, status="not certified", globally_p_iiss=False, Gamma=None, C=None,
                                      eta=None, horizon_gain=None, spectral_radius=None, method="none",
                                      reason=("not certified: a callable system has no certificate and declares "
                                              "neither (C, eta) nor Gamma"),
                                      certificate=None, declared=d, evidence=None, notes=notes)
        Gamma = G_ if G_ is not None else C_ / (1.0 - eta_)
        ev = sample(C=C_, eta=eta_) if C_ is not None else sample(Gamma=G_)
        refuted = ev.violation
        if C_ is not None and G_ is not None and not refuted:
            ev_max = sample(Gamma=G_)
            if ev_max.violation:
                ev, refuted = ev_max, True
        what = (f"C={C_:.4g}, eta={eta_:.4g}" if C_ is not None else "") + \
            (", " if C_ is not None and G_ is not None else "") + (f"Gamma={G_:.4g}" if G_ is not None else "")
        status = "declared, refuted" if refuted else DECLARED
        reason = (f"{DECLARED}: {what}" + ("" if G_ is not None else f", Gamma = C/(1-eta) = {Gamma:.4g}")
                  + (f"; refuted by sampling: {ev.reason}" if refuted else "; sampling found no evidence against it"))
        return NonlinearStability(kind=kind, status=status, globally_p_iiss=not refuted, Gamma=None if refuted else
                                  Gamma, C=None if refuted else C_, eta=None if refuted else eta_,
                                  horizon_gain=None if refuted else hgain(C_, eta_, Gamma), spectral_radius=None,
                                  method="declared", reason=reason, certificate=None, declared=d, evidence=ev,
                                  notes=notes)
    raise DimensionError(f"system.kind: expected 'lure' or 'callable' for system_stability, found {kind!r}")
