r"""Stability constants of ``x+ = A x + B u + w``: P-IISS gains and P-EIISS certificates.

For a linear system with shared noise the state gap obeys
``x0_{t+1} - x1_{t+1} = sum_k A^{t-k} B (u0_k - u1_k)``, so every constant of Definition 3 of
Cao & Xie 2026 is a statement about the gain profile ``g_j = ||A^j B||`` (operator 2-norm):

- the max-type gain ``Gamma = sum_{j>=0} g_j`` (finite iff the spectral radius is below one;
  otherwise only the horizon gain ``Gamma_H = sum_{j<H} g_j`` exists);
- the P-EIISS constants: any ``(C, eta)`` with ``g_j <= C eta^j`` for all ``j``. For
  ``eta in (rho(A), 1)`` the smallest such ``C`` is ``C(eta) = sup_j g_j / eta^j``.

A Lyapunov certificate ``P > 0``, ``A^T P A <= eta^2 P`` proves ``||A^j|| <= sqrt(cond P) eta^j``
for *all* ``j``; it is what turns a finite computation into a statement about an infinite tail.
Certificates come from scipy's discrete Lyapunov solver (closed form) or from the
minimum-condition-number LMI solved with cvxpy, and every certificate is re-verified in numpy
(:func:`verify_certificate`) before any constant derived from it is reported.

Numerics: the profile ``A^j B`` is propagated with a separate log-scale (the matrix is renormalised
every step; the norms of a chunk of steps are computed together), so long tails never underflow into subnormal numbers whose ratio to ``eta^j`` would be
meaningless (THEORY.md section 8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..model.validation import as_int, as_matrix, as_real, reject_unknown_kwargs
from ..model.errors import AssumptionError, DimensionError, SolverError
# the certificates live in their own module; every name is re-exported here
from .certificates import (LyapunovCertificate, _LMI, _lmi_available, _lyapunov, _require_rate,  # noqa: F401
                           lmi_certificate, lyapunov_certificate, spectral_radius, verify_certificate)

__all__ = [
    "spectral_radius",
    "gain_profile",
    "LyapunovCertificate",
    "verify_certificate",
    "lyapunov_certificate",
    "lmi_certificate",
    "GainSum",
    "gain_sum",
    "horizon_gain",
    "PEIISSConstant",
    "peiiss_constant",
    "StabilityReport",
    "analyze_stability",
    "GaussianPIISS",
    "gaussian_piiss",
]

# Fractions of the gap (1 - rho) at which eta is tried when the caller does not fix it.
_ETA_FRACTIONS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def _system(A, B):
    A = as_matrix("A", A)
    if A.shape[0] != A.shape[1]:
        raise DimensionError(f"A: expected a square matrix, found shape {A.shape}")
    B = as_matrix("B", B, rows=A.shape[0])
    return A, B


def _exp(x: float) -> float:
    """``exp(x)`` with ``exp(-inf) = 0`` and ``inf`` instead of an OverflowError."""
    if x == -math.inf:
        return 0.0
    return math.inf if x > 709.0 else math.exp(x)


_CHUNK = 256


class _LogProfile:
    r"""``log g_j = log ||A^j B||_2`` and, for a certificate ``P``, ``log ||P^{1/2} A^j B||_2``, in chunks.

    The powers are propagated as in :func:`_profile` (renormalised every step, the scale kept as a
    log), but the norms of a whole chunk are computed at once from the batched ``du x du`` Gram
    matrices, so one step costs one product ``A @ M``. Every consumer (the ``eta`` sweep, the exact
    ``C(eta)``, ``Gamma``, ``Gamma_H``) reads the same arrays instead of re-propagating.
    ``log_g[j] = -inf`` marks ``A^j B = 0`` exactly; nothing is computed after it.
    """

    def __init__(self, A: np.ndarray, B: np.ndarray, P: np.ndarray | None = None):
        self.A, self.P = A, P
        self._M = B.copy()
        self._log_scale = 0.0
        self.done = False
        self.log_g = np.empty(0)
        self.log_s = np.empty(0)

    def __len__(self) -> int:
        return self.log_g.size

    def extend(self) -> bool:
        """Append one chunk; ``False`` when the profile has ended (``A^j B = 0``)."""
        if self.done:
            return False
        A, M, log_scale = self.A, self._M, self._log_scale
        mats, scales = [], []
        for _ in range(_CHUNK):
            big = float(np.abs(M).max())
            if big == 0.0:
                self.done = True
                break
            M = M / big
            nrm = float(np.linalg.norm(M))
            M = M / nrm
            log_scale += math.log(big) + math.log(nrm)
            mats.append(M)
            scales.append(log_scale)
            M = A @ M
        self._M, self._log_scale = M, log_scale
        g = np.full(len(mats) + self.done, -math.inf)
        s = np.full(g.size, -math.inf)
        if mats:
            S = np.stack(mats)
            ls = np.array(scales)
            St = S.transpose(0, 2, 1)
            with np.errstate(divide="ignore"):
                g[:len(mats)] = ls + 0.5 * np.log(np.linalg.eigvalsh(St @ S)[:, -1])
                if self.P is not None:
                    G = St @ (self.P @ S)
                    top = np.linalg.eigvalsh((G + G.transpose(0, 2, 1)) / 2)[:, -1]
                    s[:len(mats)] = ls + 0.5 * np.log(np.clip(top, 0.0, None))
        self.log_g = np.concatenate([self.log_g, g])
        self.log_s = np.concatenate([self.log_s, s])
        return True

    def upto(self, terms: int) -> None:
        """Extend until at least ``terms`` entries exist or the profile has ended."""
        while len(self) < terms and self.extend():
            pass


def gain_profile(A, B, terms: int) -> np.ndarray:
    r"""The gain profile ``g_j = ||A^j B||_2`` for ``j = 0, ..., terms - 1``.

    .. math::

        g_j = \|A^j B\|_2, \qquad \|x^0_{t+1} - x^1_{t+1}\| \le \sum_{k \le t} g_{t-k}\, \|u^0_k - u^1_k\|.

    Parameters
    ----------
    A : (dx, dx) array_like
    B : (dx, du) array_like
    terms : int
        Number of terms, ``>= 1``.

    Returns
    -------
    (terms,) ndarray
        The profile; entries that overflow are ``inf``, entries below the smallest normal float
        are flushed to ``0`` rather than stored as subnormals.

    Raises
    ------
    DimensionError
        On bad shapes or a non-positive ``terms``.

    References
    ----------
    Cao & Xie 2026, Definition 3; THEORY.md section 8.
    """
    A, B = _system(A, B)
    terms = as_int("terms", terms, minimum=1)
    prof = _LogProfile(A, B)
    prof.upto(terms)
    with np.errstate(over="ignore"):
        g = np.exp(prof.log_g[:terms])
    out = np.zeros(terms)
    out[:g.size] = np.where(g >= np.finfo(float).tiny, g, 0.0)
    return out


@dataclass(frozen=True)
class GainSum:
    r"""``Gamma = sum_{j>=0} ||A^j B||`` with a certified bound on the part not summed.

    .. math::

        \Gamma = \sum_{j<J} g_j + \sum_{j \ge J} g_j, \qquad
        \sum_{j\ge J} g_j \le \frac{\|P^{1/2} A^J B\|_2}{\sqrt{\lambda_{\min}(P)}\,(1 - \eta_c)}.

    Attributes
    ----------
    partial : float
        ``sum_{j<J} g_j``.
    tail_bound : float
        Certified bound on ``sum_{j>=J} g_j`` (from the certificate at rate ``eta_c``).
    upper : float
        ``partial + tail_bound``: a valid (slightly conservative) value of ``Gamma``.
    terms : int
        ``J``.
    converged : bool
        Whether ``tail_bound <= rtol * partial + atol`` was reached within ``max_terms``.
    certificate : LyapunovCertificate
        The certificate used for the tail.

    References
    ----------
    Cao & Xie 2026, Theorem 3 (max-type gamma); THEORY.md section 8.
    """

    partial: float
    tail_bound: float
    upper: float
    terms: int
    converged: bool
    certificate: LyapunovCertificate

    def to_dict(self) -> dict:
        """JSON-ready description."""
        return {"partial": self.partial, "tail_bound": self.tail_bound, "upper": self.upper, "terms": self.terms,
                "converged": self.converged, "tail_certificate": self.certificate.method,
                "tail_rate": self.certificate.eta_certified}


def gain_sum(A, B, *, rtol: float = 1e-10, atol: float = 0.0, certificate: LyapunovCertificate | None = None,
             max_terms: int = 1_000_000) -> GainSum:
    r"""The max-type P-IISS gain ``Gamma = sum_j ||A^j B||``, summed until the tail is provably small.

    .. math::

        \Gamma = \sum_{j \ge 0} \|A^j B\|_2 , \qquad \text{stop at the first } J \text{ with }
        \text{tail bound} \le \mathrm{rtol} \sum_{j<J} g_j + \mathrm{atol}.

    Parameters
    ----------
    A : (dx, dx) array_like
        Must have spectral radius ``< 1``.
    B : (dx, du) array_like
    rtol, atol : float
        Stopping tolerance on the certified tail bound.
    certificate : LyapunovCertificate, optional
        Certificate for the tail; default :func:`lyapunov_certificate` at ``eta_c = (1 + rho)/2``.
    max_terms : int
        Cap on ``J``; if reached, ``converged`` is ``False`` and the (larger) tail bound is reported.

    Returns
    -------
    GainSum

    Raises
    ------
    AssumptionError
        If ``rho(A) >= 1`` (use :func:`horizon_gain`).

    References
    ----------
    Cao & Xie 2026, Theorem 3; THEORY.md section 8.
    """
    A, B = _system(A, B)
    rtol = as_real("rtol", rtol, nonnegative=True)
    atol = as_real("atol", atol, nonnegative=True)
    max_terms = as_int("max_terms", max_terms, minimum=1)
    rho = spectral_radius(A)
    if not rho < 1:
        raise AssumptionError(f"A: the gain sum is finite only when rho(A) < 1, found rho(A)={rho:.6g}")
    cert = certificate if certificate is not None else _lyapunov(A, (1.0 + rho) / 2.0, B)
    return _gain_sum(_LogProfile(A, B, cert.P), cert, rtol, atol, max_terms)


def _gain_sum(prof: _LogProfile, cert: LyapunovCertificate, rtol: float, atol: float, max_terms: int) -> GainSum:
    """:func:`gain_sum` on a profile that carries ``log ||P^{1/2} A^j B||`` of ``cert``."""
    half_log_lmin = 0.5 * math.log(cert.min_eig)
    partial, start = 0.0, 0
    while True:
        if start >= len(prof) and not prof.extend():
            break
        stop = min(len(prof), max_terms + 1)
        with np.errstate(over="ignore"):
            tails = np.exp(prof.log_s[start:stop] - half_log_lmin) / (1.0 - cert.eta_certified)
            g = np.exp(prof.log_g[start:stop])
        # partial sums before each term, accumulated left to right as a running float sum
        before = np.add.accumulate(np.concatenate([[partial], g[:-1]]))
        hit = np.flatnonzero((tails <= rtol * before + atol) | (prof.log_g[start:stop] == -math.inf))
        if hit.size:
            k = int(hit[0])
            tail = 0.0 if prof.log_g[start + k] == -math.inf else float(tails[k])
            return GainSum(partial=float(before[k]), tail_bound=tail, upper=float(before[k]) + tail, terms=start + k,
                           converged=True, certificate=cert)
        if stop > max_terms:
            k = max_terms - start
            return GainSum(partial=float(before[k]), tail_bound=float(tails[k]), upper=float(before[k] + tails[k]),
                           terms=max_terms, converged=False, certificate=cert)
        partial = float(before[-1] + g[-1])
        start = stop
    raise SolverError("gain_sum: the profile ended without a stop")  # unreachable: A^j B = 0 stops it


def horizon_gain(A, B, H: int) -> float:
    r"""The horizon-dependent gain ``Gamma_H = sum_{j<H} ||A^j B||`` (for any spectral radius).

    .. math::

        \Gamma_H = \sum_{j=0}^{H-1} \|A^j B\|_2 .

    Parameters
    ----------
    A : (dx, dx) array_like
    B : (dx, du) array_like
    H : int
        Horizon, ``>= 1``.

    Returns
    -------
    float
        ``inf`` if the sum overflows (``rho(A) > 1`` and long horizons). For ``rho(A) < 1`` and ``H``
        beyond the terms :func:`gain_sum` needs for a certified tail (relative ``1e-10``), the
        certified upper value ``GainSum.upper`` (exceeding the exact sum by at most that tail).

    References
    ----------
    Cao & Xie 2026, Definition 3; THEORY.md section 2.
    """
    A, B = _system(A, B)
    H = as_int("H", H, minimum=1)
    gs = gain_sum(A, B) if spectral_radius(A) < 1 else None
    return _horizon_gain(_LogProfile(A, B), H, gs)


def _horizon_gain(prof: _LogProfile, H: int, gs: GainSum | None) -> float:
    """:func:`horizon_gain` from a profile, with the gain sum when ``rho(A) < 1``."""
    # past the terms gain_sum needed for a certified tail, sum_{j<H} g_j lies within that tail of
    # the partial sum: return the certified upper value instead of summing H terms
    if gs is not None and gs.converged and H > gs.terms:
        return gs.upper
    prof.upto(H)
    with np.errstate(over="ignore"):
        g = np.exp(prof.log_g[:H])
    total = 0.0
    for v in g:  # left to right, stopping at an overflow as the sum would
        total += float(v)
        if total == math.inf:
            break
    return total


@dataclass(frozen=True)
class PEIISSConstant:
    r"""The exact P-EIISS constant ``C(eta) = sup_j ||A^j B|| / eta^j`` and where its sup stops.

    .. math::

        C(\eta) = \sup_{j \ge 0} \frac{\|A^j B\|_2}{\eta^j} = \max_{j \le \mathrm{stop}} \frac{\|A^j B\|_2}{\eta^j}.

    Attributes
    ----------
    eta : float
    C : float
        The exact sup (tight: ``g_argmax = C eta^argmax``).
    argmax : int
        Index ``j`` attaining the sup.
    stop : int
        The sup was proven to be attained at ``j <= stop`` (see :func:`peiiss_constant`).
    certificate : LyapunovCertificate
        The certificate (at a rate ``eta_c < eta``) that proves the stop.

    References
    ----------
    Cao & Xie 2026, Definition 3; THEORY.md section 8.
    """

    eta: float
    C: float
    argmax: int
    stop: int
    certificate: LyapunovCertificate

    def to_dict(self) -> dict:
        """JSON-ready description."""
        return {"eta": self.eta, "C": self.C, "argmax": self.argmax, "stop": self.stop,
                "stop_certificate": self.certificate.method, "stop_rate": self.certificate.eta_certified}


def peiiss_constant(A, B, eta, *, certificate: LyapunovCertificate | None = None,
                    max_terms: int = 1_000_000) -> PEIISSConstant:
    r"""Exact ``C(eta) = sup_{j>=0} ||A^j B||_2 / eta^j`` for ``eta in (rho(A), 1)``.

    **Where the sup stops.** Take a certificate ``P`` with rate ``eta_c < eta``. For every
    ``J`` and ``i >= 0``,

    .. math::

        \frac{g_{J+i}}{\eta^{J+i}} \le \frac{s_J}{\eta^J}\Big(\frac{\eta_c}{\eta}\Big)^i \le \frac{s_J}{\eta^J},
        \qquad s_J = \frac{\|P^{1/2} A^J B\|_2}{\sqrt{\lambda_{\min}(P)}} ,

    so as soon as ``s_J / eta^J`` is at most the running maximum of ``g_j / eta^j`` over
    ``j <= J``, no later term can exceed it and the sup equals that maximum. Since
    ``s_J / eta^J <= s_0 (eta_c/eta)^J`` decreases geometrically the stop is reached after about
    ``log(sqrt(cond P)) / log(eta/eta_c)`` steps.

    Parameters
    ----------
    A : (dx, dx) array_like
    B : (dx, du) array_like
    eta : float
        Rate in ``(rho(A), 1)``.
    certificate : LyapunovCertificate, optional
        A certificate with ``eta_certified < eta``; default :func:`lyapunov_certificate` at
        ``eta_c = (rho + eta) / 2``.
    max_terms : int
        Safety cap; reaching it raises :class:`SolverError`.

    Returns
    -------
    PEIISSConstant

    Raises
    ------
    AssumptionError
        If ``eta <= rho(A)`` (then ``C(eta)`` is infinite) or the certificate's rate is not below ``eta``.
    SolverError
        If the stop is not reached within ``max_terms``.

    References
    ----------
    Cao & Xie 2026, Definition 3 (P-EIISS); THEORY.md section 8.
    """
    A, B = _system(A, B)
    eta = as_real("eta", eta, low=0.0, high=1.0, open_low=True, open_high=True)
    max_terms = as_int("max_terms", max_terms, minimum=1)
    rho = _require_rate(A, eta)
    cert = certificate if certificate is not None else _lyapunov(A, (rho + eta) / 2.0, B)
    return _peiiss(_LogProfile(A, B, cert.P), eta, cert, max_terms)


def _peiiss(prof: _LogProfile, eta: float, cert: LyapunovCertificate, max_terms: int) -> PEIISSConstant:
    """:func:`peiiss_constant` on a profile that carries ``log ||P^{1/2} A^j B||`` of ``cert``."""
    if not cert.eta_certified < eta:
        raise AssumptionError(f"certificate: expected a rate below eta={eta:.6g}, found "
                              f"{cert.eta_certified:.6g}")
    log_eta = math.log(eta)
    half_log_lmin = 0.5 * math.log(cert.min_eig)
    best, arg, start = -math.inf, 0, 0
    while start <= max_terms:
        if start >= len(prof) and not prof.extend():
            break
        stop = min(len(prof), max_terms + 1)
        j = np.arange(start, stop)
        vals = prof.log_g[start:stop] - j * log_eta
        run = np.maximum(np.maximum.accumulate(vals), best)
        bound = prof.log_s[start:stop] - half_log_lmin - j * log_eta
        hit = np.flatnonzero(bound <= run)
        end = int(hit[0]) + 1 if hit.size else vals.size
        if vals[:end].max() > best:
            best, arg = float(vals[:end].max()), start + int(np.argmax(vals[:end]))
        if hit.size:
            return PEIISSConstant(eta=eta, C=_exp(best), argmax=arg, stop=start + end - 1, certificate=cert)
        start = stop
    raise SolverError(f"peiiss_constant: the sup did not provably stop within {max_terms} terms at eta={eta:.6g}")


@dataclass(frozen=True)
class StabilityReport:
    r"""Everything the checker says about the stability of ``x+ = A x + B u + w``.

    Attributes
    ----------
    spectral_radius : float
    globally_p_iiss : bool
        ``rho(A) < 1``: a horizon-free gain exists.
    gain_sum : GainSum or None
        ``Gamma`` (``None`` when not globally P-IISS).
    horizon_gain : float or None
        ``Gamma_H`` at the requested horizon.
    eta, C : float or None
        The P-EIISS constants reported (``g_j <= C eta^j`` for all ``j``).
    method : str
        Which method produced ``(C, eta)``: ``"exact"`` (exact sup, stop proven by a Lyapunov
        certificate), ``"lmi-CLARABEL"``/``"lmi-SCS"`` or ``"lyapunov"`` (``sqrt(cond P) ||B||``),
        or ``"none"``.
    exact, lyapunov, lmi : PEIISSConstant / LyapunovCertificate or None
        The three computations at the reported ``eta`` (``lmi`` is ``None`` if not requested or it
        failed; see ``notes``).
    reason : str
        One sentence with the numbers.
    notes : tuple of str

    References
    ----------
    Cao & Xie 2026, Definition 3; THEORY.md sections 2 and 8.
    """

    spectral_radius: float
    globally_p_iiss: bool
    gain_sum: GainSum | None
    horizon_gain: float | None
    eta: float | None
    C: float | None
    method: str
    exact: PEIISSConstant | None
    lyapunov: LyapunovCertificate | None
    lmi: LyapunovCertificate | None
    reason: str
    notes: tuple = ()

    @property
    def Gamma(self) -> float | None:
        """The certified max-type gain (``gain_sum.upper``), or ``None``."""
        return None if self.gain_sum is None else self.gain_sum.upper

    def to_dict(self) -> dict:
        """JSON-ready; ``gain_sum`` is the certified value of Gamma (partial sum + tail bound)."""
        hg = self.horizon_gain
        return {
            "spectral_radius": self.spectral_radius,
            "globally_p_iiss": self.globally_p_iiss,
            "gain_sum": self.Gamma,
            "gain_sum_detail": None if self.gain_sum is None else self.gain_sum.to_dict(),
            "horizon_gain": hg if hg is None or math.isfinite(hg) else None,
            "eta": self.eta,
            "C": self.C,
            "method": self.method,
            "C_exact": None if self.exact is None else self.exact.C,
            "C_lyapunov": None if self.lyapunov is None else self.lyapunov.C,
            "C_lmi": None if self.lmi is None else self.lmi.C,
            "exact": None if self.exact is None else self.exact.to_dict(),
            "lyapunov": None if self.lyapunov is None else {k: v for k, v in self.lyapunov.to_dict().items()
                                                            if k != "P"},
            "lmi": None if self.lmi is None else {k: v for k, v in self.lmi.to_dict().items() if k != "P"},
            "reason": self.reason,
            "notes": list(self.notes),
        }


_METHODS = ("exact", "lmi", "lyapunov")

LMI_MAX_DIM = 20
"""Largest ``dx`` for which :func:`analyze_stability` solves the comparison LMI by default."""


def analyze_stability(A, B, **options) -> StabilityReport:
    r"""Spectral radius, Gamma, and certified P-EIISS constants of ``x+ = A x + B u + w``.

    .. math::

        \|A^j B\|_2 \le C \eta^j \;\;\forall j \ge 0, \qquad \Gamma = \sum_j \|A^j B\|_2 \le \frac{C}{1-\eta}.

    Parameters
    ----------
    A : (dx, dx) array_like
    B : (dx, du) array_like
    H : int, optional
        Horizon; ``Gamma_H`` is reported when given (always useful when ``rho(A) >= 1``).
    eta : float, optional
        Rate to report constants at. Default: the ``eta`` on the grid
        ``rho + f (1 - rho)``, ``f in {0.02, 0.05, 0.1, ..., 0.9}``, that minimises ``C(eta) / (1 - eta)``
        for the chosen method (the P-EIISS bound on Gamma).
    method : {"exact", "lmi", "lyapunov"}
        Which constant is reported as ``C`` (default ``"exact"``). The others are still computed
        at the same ``eta`` for comparison (``lmi`` only if ``lmi=True``).
    lmi : bool
        Also solve the LMI (default ``True``; cvxpy missing or failing gives a note, not an error,
        unless ``method="lmi"``).
    lmi_max_dim : int
        Skip the comparison LMI, with a note saying so, when ``dx`` exceeds this (default
        :data:`LMI_MAX_DIM`: the SDP has ``dx (dx + 1) / 2`` unknowns and takes seconds beyond it,
        minutes at ``dx = 100``). ``method="lmi"`` always solves it.

    Returns
    -------
    StabilityReport
        Never raises for an unstable or marginal ``A``: it is reported as not globally P-IISS with
        its spectral radius.

    Raises
    ------
    DimensionError
        On bad shapes.
    TypeError
        On unknown options.
    SolverError
        If ``method="lmi"`` and no verified LMI certificate was found.

    References
    ----------
    Cao & Xie 2026, Definition 3, Theorems 2, 3 and 7; THEORY.md sections 2 and 8.
    """
    A, B = _system(A, B)
    H = options.pop("H", None)
    eta = options.pop("eta", None)
    method = options.pop("method", "exact")
    use_lmi = bool(options.pop("lmi", True))
    lmi_max_dim = as_int("lmi_max_dim", options.pop("lmi_max_dim", LMI_MAX_DIM), minimum=1)
    reject_unknown_kwargs("analyze_stability", options)
    if method not in _METHODS:
        raise DimensionError(f"method: expected one of {', '.join(_METHODS)}, found {method!r}")
    if H is not None:
        H = as_int("H", H, minimum=1)
    rho = spectral_radius(A)
    if not rho < 1:
        hg = _horizon_gain(_LogProfile(A, B), H, None) if H is not None else None
        kind = "marginally stable" if math.isclose(rho, 1.0, rel_tol=0, abs_tol=1e-12) else "unstable"
        reason = (f"not globally P-IISS: spectral radius rho(A)={rho:.6g} >= 1 ({kind}); the gain "
                  + (f"Gamma_H={hg:.6g} at H={H} grows with H" if hg is not None else "grows with the horizon"))
        return StabilityReport(spectral_radius=rho, globally_p_iiss=False, gain_sum=None, horizon_gain=hg,
                               eta=None, C=None, method="none", exact=None, lyapunov=None, lmi=None,
                               reason=reason)
    notes = []
    if eta is None:
        etas = [rho + f * (1.0 - rho) for f in _ETA_FRACTIONS]
    else:
        eta = as_real("eta", eta, low=0.0, high=1.0, open_low=True, open_high=True)
        if not eta > rho:
            raise AssumptionError(f"eta: expected eta in (rho(A), 1) = ({rho:.6g}, 1), found {eta:.6g}")
        etas = [eta]
    problem = None
    if use_lmi and method != "lmi" and A.shape[0] > lmi_max_dim:
        use_lmi = False
        notes.append(f"LMI skipped: dx={A.shape[0]} > lmi_max_dim={lmi_max_dim} (the cvxpy SDP has "
                     f"{A.shape[0] * (A.shape[0] + 1) // 2} unknowns); C is the exact sup, compared with the "
                     "Lyapunov closed form")
    if use_lmi or method == "lmi":
        if _lmi_available():
            problem = _LMI(A)
        elif method == "lmi":
            raise SolverError("lmi: cvxpy is not installed (pip install cvxpy)")
        else:
            notes.append("LMI skipped: cvxpy is not installed")

    # one certificate below every candidate rate proves the stop of C(eta) for all of them, so
    # the sweep reads one profile instead of solving a Lyapunov equation and propagating per eta
    sweep_cert = _lyapunov(A, (rho + min(etas)) / 2.0, B)
    prof = _LogProfile(A, B, sweep_cert.P)

    def constant(e):
        if method == "exact":
            return _peiiss(prof, e, sweep_cert, 1_000_000).C
        if method == "lyapunov":
            return _lyapunov(A, e, B).C
        return lmi_certificate(A, e, B, _problem=problem).C

    if len(etas) > 1:
        scores = []
        for e in etas:
            try:
                scores.append(constant(e) / (1.0 - e))
            except SolverError as exc:
                notes.append(f"eta={e:.6g} skipped: {exc}")
                scores.append(math.inf)
        eta = etas[int(np.argmin(scores))]
    exact = _peiiss(prof, eta, sweep_cert, 1_000_000)
    lyap = _lyapunov(A, eta, B)
    lmi = None
    if problem is not None:
        try:
            lmi = lmi_certificate(A, eta, B, _problem=problem)
        except SolverError as exc:
            if method == "lmi":
                raise
            notes.append(str(exc))
    chosen = {"exact": exact, "lyapunov": lyap, "lmi": lmi}[method]
    C = chosen.C
    label = method if method == "exact" else chosen.method
    # the sweep's certificate also bounds Gamma's tail: the profile it needs is already computed
    gs = _gain_sum(prof, sweep_cert, 1e-10, 0.0, 1_000_000)
    hg = _horizon_gain(prof, H, gs) if H is not None else None
    reason = (f"globally P-EIISS: rho(A)={rho:.6g} < 1; ||A^j B|| <= C eta^j with C={C:.6g}, eta={eta:.6g} "
              f"({label}); Gamma={gs.upper:.6g} (tail bound {gs.tail_bound:.2g})")
    return StabilityReport(spectral_radius=rho, globally_p_iiss=True, gain_sum=gs, horizon_gain=hg, eta=eta, C=C,
                           method=label, exact=exact, lyapunov=lyap, lmi=lmi, reason=reason, notes=tuple(notes))


@dataclass(frozen=True)
class GaussianPIISS:
    r"""The constants of the appendix proposition (Gaussian noise, Gaussian expert).

    Attributes
    ----------
    C, eta : float
        ``gamma_t((a_k)) = sum_k C eta^{t-k} a_k``.
    d : float
        ``rho_m / (C A_H(eta))``.
    delta : float
        Probability of leaving the contractive region (may exceed 1, i.e. be vacuous).
    L_cl : float
        ``eta + C L_mu``.
    A_H_eta, A_H_Lcl : float
        ``A_H(eta)`` and ``A_H(L_cl)``, with ``A_H(L) = sum_{j<H} L^j``.

    References
    ----------
    Cao & Xie 2026, appendix proposition on local P-IISS; THEORY.md section 2.
    """

    C: float
    eta: float
    d: float
    delta: float
    L_cl: float
    A_H_eta: float
    A_H_Lcl: float

    def to_dict(self) -> dict:
        """JSON-ready description (infinite values as ``None``)."""
        return {k: (v if math.isfinite(v) else None) for k, v in self.__dict__.items()}


def _geometric_sum(L: float, H: int) -> float:
    if L == 1.0:
        return float(H)
    with np.errstate(over="ignore"):
        val = (np.float64(L) ** H - 1.0) / (L - 1.0)
    return float(val)


def gaussian_piiss(*, eta, C, L_mu, sigma, sigma_pi, rho_m, H, dx, du) -> GaussianPIISS:
    r"""``(gamma, d, delta)`` of the appendix proposition for a locally contractive system.

    Dynamics ``x+ = f(x, u) + w``, ``w ~ N(0, sigma^2 I)``, expert ``N(mu(x), sigma_pi^2 I)``, with
    ``||f(x,u) - f(x',u')|| <= eta ||x - x'|| + C ||u - u'||`` and ``mu`` ``L_mu``-Lipschitz on a set S
    that the nominal trajectory stays ``2 rho_m`` inside of. Then the expert's law is
    ``(gamma, delta)``-``d``-locally P-IISS with

    .. math::

        \gamma_t((a_k)) = \sum_k C\eta^{t-k} a_k,\qquad d = \frac{\rho_m}{C A_H(\eta)},

        \delta = H e^{-\frac12\big(\frac{\rho_m}{2\sigma A_H(L_{cl})} - \sqrt{d_x}\big)_+^2}
               + H e^{-\frac12\big(\frac{\rho_m}{2 C \sigma_\pi A_H(L_{cl})} - \sqrt{d_u}\big)_+^2},
        \quad L_{cl} = \eta + C L_\mu,\; A_H(L) = \sum_{j<H} L^j .

    A zero ``sigma`` (or ``sigma_pi``) removes its term.

    Parameters
    ----------
    eta : float
        Contraction factor in (0, 1).
    C : float
        Input gain, ``> 0``.
    L_mu : float
        Lipschitz constant of the expert's mean, ``>= 0``.
    sigma, sigma_pi : float
        Noise scales, ``>= 0``.
    rho_m : float
        Margin, ``> 0``.
    H : int
        Horizon.
    dx, du : int
        Dimensions.

    Returns
    -------
    GaussianPIISS

    References
    ----------
    Cao & Xie 2026, appendix proposition (sufficient condition for local P-IISS); THEORY.md section 2.
    """
    eta = as_real("eta", eta, low=0.0, high=1.0, open_low=True, open_high=True)
    C = as_real("C", C, positive=True)
    L_mu = as_real("L_mu", L_mu, nonnegative=True)
    sigma = as_real("sigma", sigma, nonnegative=True)
    sigma_pi = as_real("sigma_pi", sigma_pi, nonnegative=True)
    rho_m = as_real("rho_m", rho_m, positive=True)
    H = as_int("H", H, minimum=1)
    dx = as_int("dx", dx, minimum=1)
    du = as_int("du", du, minimum=1)
    L_cl = eta + C * L_mu
    a_eta = _geometric_sum(eta, H)
    a_cl = _geometric_sum(L_cl, H)

    def term(scale: float, dim: int) -> float:
        if scale == 0.0:
            return 0.0
        z = max(rho_m / (2.0 * scale * a_cl) - math.sqrt(dim), 0.0)
        return H * math.exp(-0.5 * z * z)

    delta = term(sigma, dx) + term(C * sigma_pi, du)
    return GaussianPIISS(C=C, eta=eta, d=rho_m / (C * a_eta), delta=delta, L_cl=L_cl, A_H_eta=a_eta, A_H_Lcl=a_cl)
