"""Lyapunov certificates of a rate: ``P > 0`` with ``A^T P A <= eta^2 P``, from scipy's closed form or the
minimum-condition-number LMI (cvxpy), each re-verified in numpy before use.

Part of the stability checker (:mod:`qbc_theory.checker.stability` re-exports every name). A
certificate proves ``||A^j|| <= sqrt(cond P) eta^j`` for all ``j`` (THEORY.md section 8).

References
----------
Cao & Xie 2026, Definition 3 (P-EIISS).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ..model.validation import as_matrix, as_real
from ..model.errors import AssumptionError, DimensionError, SolverError

__all__ = [
    "spectral_radius",
    "LyapunovCertificate",
    "verify_certificate",
    "lyapunov_certificate",
    "lmi_certificate",
]


def spectral_radius(A) -> float:
    r"""Spectral radius ``max |lambda_i(A)|``.

    .. math::

        \rho(A) = \max_i |\lambda_i(A)|, \qquad \text{globally P-IISS (horizon-free gain)} \iff \rho(A) < 1.

    Parameters
    ----------
    A : (dx, dx) array_like

    Returns
    -------
    float

    Raises
    ------
    DimensionError
        If ``A`` is not a finite square matrix.

    References
    ----------
    Cao & Xie 2026, Definition 3; THEORY.md section 2.
    """
    A = as_matrix("A", A)
    if A.shape[0] != A.shape[1]:
        raise DimensionError(f"A: expected a square matrix, found shape {A.shape}")
    return float(np.max(np.abs(np.linalg.eigvals(A))))


@dataclass(frozen=True)
class LyapunovCertificate:
    r"""A verified Lyapunov certificate ``P > 0``, ``A^T P A <= eta^2 P``.

    .. math::

        A^\top P A \preceq \eta^2 P \;\Longrightarrow\;
        \|A^j M\|_2 \le \frac{\|P^{1/2} M\|_2}{\sqrt{\lambda_{\min}(P)}}\, \eta^j
        \le \sqrt{\operatorname{cond}(P)}\, \|M\|_2\, \eta^j .

    Attributes
    ----------
    P : (dx, dx) ndarray
        The certificate (symmetrised).
    eta : float
        The rate that was asked for.
    eta_certified : float
        The rate the numbers really prove: ``sqrt(eta^2 + max(r, 0) / lambda_min(P))`` with ``r``
        the largest eigenvalue of the residual ``A^T P A - eta^2 P`` (so round-off in a solver's
        answer makes the rate slightly worse, never silently better).
    cond : float
        ``lambda_max(P) / lambda_min(P)``.
    residual_max_eig : float
        Largest eigenvalue of ``A^T P A - eta^2 P``.
    min_eig : float
        Smallest eigenvalue of ``P``.
    C : float or None
        ``sqrt(cond(P)) ||B||`` (THEORY.md section 8), when ``B`` was given.
    C_pnorm : float or None
        The sharper ``||P^{1/2} B|| / sqrt(lambda_min(P))`` (always ``<= C``), when ``B`` was given.
    method : str
        ``"lyapunov"``, ``"lmi-CLARABEL"``, ``"lmi-SCS"`` or ``"given"``.

    References
    ----------
    Cao & Xie 2026, Definition 3 (P-EIISS); THEORY.md section 8.
    """

    P: np.ndarray
    eta: float
    eta_certified: float
    cond: float
    residual_max_eig: float
    min_eig: float
    C: float | None
    C_pnorm: float | None
    method: str

    def to_dict(self) -> dict:
        """JSON-ready description."""
        return {"method": self.method, "eta": self.eta, "eta_certified": self.eta_certified,
                "cond": self.cond, "C": self.C, "C_pnorm": self.C_pnorm,
                "residual_max_eig": self.residual_max_eig, "min_eig": self.min_eig, "P": self.P.tolist()}


def positive_definite(P: np.ndarray, what: str) -> tuple[np.ndarray, float, float]:
    """The symmetric part of ``P`` and its extreme eigenvalues, after checking ``P = P^T > 0`` in numpy.

    Shared by every certificate's re-verification (this module's and the incremental one's).

    Raises
    ------
    SolverError
        Naming ``what``: ``P = 0``, an asymmetric ``P`` (beyond ``1e-8`` relative), or a smallest
        eigenvalue not above ``1e-14`` times the largest.
    """
    scale = float(np.abs(P).max())
    if scale == 0.0:
        raise SolverError(f"{what}: expected P > 0, found P = 0")
    asym = float(np.abs(P - P.T).max())
    if asym > 1e-8 * scale:
        raise SolverError(f"{what}: expected a symmetric P, found asymmetry {asym:.3g}")
    P = (P + P.T) / 2
    lam = np.linalg.eigvalsh(P)
    lmin, lmax = float(lam[0]), float(lam[-1])
    if not lmin > 1e-14 * lmax:
        raise SolverError(f"{what}: expected P positive definite, found smallest eigenvalue {lmin:.3g} "
                          f"(largest {lmax:.3g})")
    return P, lmin, lmax


def verify_certificate(A, P, eta, B=None, *, method: str = "given", rtol: float = 1e-6) -> LyapunovCertificate:
    r"""Re-verify a Lyapunov certificate in numpy and derive its constants.

    Checks that ``P`` is symmetric and positive definite and that the largest eigenvalue of the
    residual ``A^T P A - eta^2 P`` is at most ``rtol * lambda_max(P)``; the certified rate then
    absorbs whatever positive residual remains.

    .. math::

        A^\top P A \preceq \eta^2 P + r I \preceq \Big(\eta^2 + \frac{r}{\lambda_{\min}(P)}\Big) P.

    Parameters
    ----------
    A : (dx, dx) array_like
    P : (dx, dx) array_like
        Candidate certificate.
    eta : float
        Claimed rate, in (0, 1).
    B : (dx, du) array_like, optional
        Input matrix; when given, the constants ``C`` and ``C_pnorm`` are filled in.
    method : str
        Label of the method that produced ``P``.
    rtol : float
        Relative tolerance on the residual (round-off of a solver), default ``1e-6``.

    Returns
    -------
    LyapunovCertificate

    Raises
    ------
    SolverError
        If ``P`` is not symmetric, not positive definite, the residual is above tolerance, or the
        certified rate is not below one.
    DimensionError
        On bad shapes or ``eta`` outside (0, 1).

    References
    ----------
    Cao & Xie 2026, Definition 3; THEORY.md section 8.
    """
    A = as_matrix("A", A)
    if A.shape[0] != A.shape[1]:
        raise DimensionError(f"A: expected a square matrix, found shape {A.shape}")
    P = as_matrix("P", P, A.shape[0], A.shape[0])
    eta = as_real("eta", eta, low=0.0, high=1.0, open_low=True, open_high=True)
    rtol = as_real("rtol", rtol, nonnegative=True)
    P, lmin, lmax = positive_definite(P, f"certificate ({method})")
    R = A.T @ P @ A - eta**2 * P
    rmax = float(np.linalg.eigvalsh((R + R.T) / 2)[-1])
    if rmax > rtol * lmax:
        raise SolverError(f"certificate ({method}): expected A^T P A - eta^2 P <= 0 at eta={eta:.6g}, found "
                          f"largest residual eigenvalue {rmax:.3g} > {rtol:g} * lambda_max(P) = {rtol * lmax:.3g}")
    eta_cert = math.sqrt(eta**2 + max(rmax, 0.0) / lmin)
    if not eta_cert < 1.0:
        raise SolverError(f"certificate ({method}): the verified rate {eta_cert:.9g} is not below 1")
    C = C_p = None
    if B is not None:
        B = as_matrix("B", B, rows=A.shape[0])
        C = math.sqrt(lmax / lmin) * float(np.linalg.norm(B, 2))
        C_p = math.sqrt(max(float(np.linalg.eigvalsh(B.T @ P @ B)[-1]), 0.0) / lmin)
    P.setflags(write=False)
    return LyapunovCertificate(P=P, eta=eta, eta_certified=eta_cert, cond=lmax / lmin, residual_max_eig=rmax,
                               min_eig=lmin, C=C, C_pnorm=C_p, method=method)


def _require_rate(A: np.ndarray, eta: float) -> float:
    rho = spectral_radius(A)
    if not rho < eta:
        raise AssumptionError(f"eta: a certificate with rate eta needs eta > rho(A), found eta={eta:.6g}, "
                              f"rho(A)={rho:.6g}")
    return rho


def lyapunov_certificate(A, eta, B=None) -> LyapunovCertificate:
    r"""Closed-form certificate from the discrete Lyapunov equation of ``A / eta``.

    Solves ``(A/eta)^T P (A/eta) - P + I = 0`` with :func:`scipy.linalg.solve_discrete_lyapunov`
    (argument ``a = (A/eta).T``), so that ``A^T P A = eta^2 (P - I) <= eta^2 P``.

    .. math::

        \|A^j\|_2 \le \sqrt{\operatorname{cond}(P)}\, \eta^j, \qquad C \le \sqrt{\operatorname{cond}(P)}\,\|B\|_2.

    Parameters
    ----------
    A : (dx, dx) array_like
    eta : float
        Rate in ``(rho(A), 1)``.
    B : (dx, du) array_like, optional

    Returns
    -------
    LyapunovCertificate
        Verified by :func:`verify_certificate`; ``method = "lyapunov"``.

    Raises
    ------
    AssumptionError
        If ``eta <= rho(A)``.
    SolverError
        If the solution does not survive re-verification.

    References
    ----------
    Cao & Xie 2026, Definition 3; THEORY.md section 8.
    """
    A = as_matrix("A", A)
    eta = as_real("eta", eta, low=0.0, high=1.0, open_low=True, open_high=True)
    _require_rate(A, eta)
    return _lyapunov(A, eta, B)


def _lyapunov(A: np.ndarray, eta: float, B) -> LyapunovCertificate:
    """:func:`lyapunov_certificate` for a caller that already knows ``eta > rho(A)``."""
    P = scipy.linalg.solve_discrete_lyapunov((A / eta).T, np.eye(A.shape[0]))
    return verify_certificate(A, P, eta, B, method="lyapunov")


class _LMI:
    """The minimum-condition-number LMI of one ``A``, compiled once, ``eta^2`` a DPP parameter."""

    def __init__(self, A: np.ndarray):
        import cvxpy as cp

        n = A.shape[0]
        self.cp = cp
        self.P = cp.Variable((n, n), symmetric=True)
        self.t = cp.Variable()
        self.eta2 = cp.Parameter(nonneg=True)
        eye = np.eye(n)
        cons = [self.P >> eye, self.P << self.t * eye, A.T @ self.P @ A << self.eta2 * self.P]
        self.problem = cp.Problem(cp.Minimize(self.t), cons)

    def solve(self, eta: float, solver: str):
        self.eta2.value = eta**2
        try:
            self.problem.solve(solver=solver)
        except self.cp.error.SolverError as exc:
            return None, f"{solver} failed ({exc})"
        if self.problem.status != "optimal" or self.P.value is None:
            return None, f"{solver} returned status {self.problem.status}"
        return np.array(self.P.value), "optimal"


def _lmi_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("cvxpy") is not None


def lmi_certificate(A, eta, B=None, *, solvers=("CLARABEL", "SCS"), _problem=None) -> LyapunovCertificate:
    r"""Minimum-condition-number Lyapunov certificate at a fixed rate (an SDP solved with cvxpy).

    .. math::

        \min_{P, t}\; t \quad\text{s.t.}\quad I \preceq P \preceq t I,\qquad A^\top P A \preceq \eta^2 P,

    whose optimum is ``t* = min cond(P)``, giving the smallest constant ``sqrt(cond P) ||B||`` of the
    form of THEORY.md section 8 at this ``eta``. ``eta^2`` is a DPP parameter, so sweeps over
    ``eta`` reuse one compiled problem.

    Parameters
    ----------
    A : (dx, dx) array_like
    eta : float
        Rate in ``(rho(A), 1)``.
    B : (dx, du) array_like, optional
    solvers : sequence of str
        Tried in order; the first whose answer is ``optimal`` *and* survives
        :func:`verify_certificate` is returned. Default CLARABEL, then SCS.

    Returns
    -------
    LyapunovCertificate
        ``method = "lmi-<SOLVER>"``.

    Raises
    ------
    AssumptionError
        If ``eta <= rho(A)`` (the LMI is infeasible).
    SolverError
        If cvxpy is missing or no solver produced a certificate that passes re-verification.

    References
    ----------
    Cao & Xie 2026, Definition 3; THEORY.md section 8.
    """
    A = as_matrix("A", A)
    eta = as_real("eta", eta, low=0.0, high=1.0, open_low=True, open_high=True)
    _require_rate(A, eta)
    if not _lmi_available():
        raise SolverError("lmi: cvxpy is not installed (pip install cvxpy)")
    problem = _problem if _problem is not None else _LMI(A)
    failures = []
    for solver in solvers:
        P, status = problem.solve(eta, solver)
        if P is None:
            failures.append(status)
            continue
        try:
            return verify_certificate(A, P, eta, B, method=f"lmi-{solver}")
        except SolverError as exc:
            failures.append(str(exc))
    raise SolverError(f"lmi: no verified certificate at eta={eta:.6g}: " + "; ".join(failures))
