"""Stability constants: certificates checked by their residuals, C(eta) against brute force and closed
forms, Gamma against long sums, python-control as an oracle for the Lyapunov solutions."""

import math

import control as ct
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qbc_theory.model.errors import AssumptionError, DimensionError, SolverError
from qbc_theory.checker.stability import (
    analyze_stability,
    gain_profile,
    gain_sum,
    gaussian_piiss,
    horizon_gain,
    lmi_certificate,
    lyapunov_certificate,
    peiiss_constant,
    spectral_radius,
    verify_certificate,
)

A2 = np.array([[0.9, 0.5], [0.0, 0.8]])
B2 = np.array([[0.0], [1.0]])


def _residual_max(A, P, eta):
    R = A.T @ P @ A - eta**2 * P
    return np.linalg.eigvalsh((R + R.T) / 2).max()


def test_lyapunov_solution_matches_python_control():
    eta = 0.95
    cert = lyapunov_certificate(A2, eta, B2)
    # control.dlyap(a, q) solves a X a^T - X + q = 0; with a = (A/eta)^T this is our equation.
    P_ct = ct.dlyap((A2 / eta).T, np.eye(2))
    assert np.allclose(cert.P, P_ct, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("make", [lyapunov_certificate, lmi_certificate], ids=["lyapunov", "lmi"])
@pytest.mark.parametrize("eta", [0.91, 0.95, 0.99])
def test_certificates_pass_their_residual_eigenvalue_check(make, eta):
    cert = make(A2, eta, B2)
    assert np.linalg.eigvalsh(cert.P).min() > 0
    # the residual at the certified rate is negative semidefinite up to round-off of the eigenvalues
    assert _residual_max(A2, cert.P, cert.eta_certified) <= 1e-12 * np.abs(cert.P).max()
    assert cert.eta <= cert.eta_certified < 1
    assert cert.eta_certified - cert.eta <= 1e-6


def test_certificate_bounds_powers_of_A():
    for make in (lyapunov_certificate, lmi_certificate):
        cert = make(A2, 0.93, B2)
        for j in range(0, 300):
            Aj = np.linalg.matrix_power(A2, j)
            assert np.linalg.norm(Aj, 2) <= math.sqrt(cert.cond) * cert.eta_certified**j * (1 + 1e-9)
            assert np.linalg.norm(Aj @ B2, 2) <= cert.C_pnorm * cert.eta_certified**j * (1 + 1e-9)
        assert cert.C_pnorm <= cert.C * (1 + 1e-12)


def test_lmi_minimises_the_condition_number_below_lyapunov():
    for eta in (0.91, 0.95, 0.99):
        lmi, lyap = lmi_certificate(A2, eta, B2), lyapunov_certificate(A2, eta, B2)
        # the scaled Lyapunov solution is feasible for the LMI, so the LMI's optimum cannot be worse
        assert lmi.cond <= lyap.cond * (1 + 1e-4)
        assert lmi.C <= lyap.C * (1 + 1e-4)
        assert lmi.method in ("lmi-CLARABEL", "lmi-SCS")


def test_tampered_certificates_are_rejected():
    good = lyapunov_certificate(A2, 0.95, B2)
    with pytest.raises(SolverError, match="residual"):
        verify_certificate(A2, np.eye(2), 0.95, B2)  # ||A|| > 0.95: I is not a certificate
    tampered = good.P.copy()
    tampered[0, 0] *= 0.5
    with pytest.raises(SolverError):
        verify_certificate(A2, tampered, 0.95, B2)
    asym = good.P.copy()
    asym[0, 1] += 1.0
    with pytest.raises(SolverError, match="symmetric"):
        verify_certificate(A2, asym, 0.95, B2)
    with pytest.raises(SolverError, match="positive definite"):
        verify_certificate(A2, -good.P, 0.95, B2)
    with pytest.raises(SolverError):
        verify_certificate(A2, good.P, 0.85, B2)  # right P, rate below what it proves
    assert verify_certificate(A2, good.P, 0.95, B2).C == pytest.approx(good.C, rel=1e-12)


def test_certificate_below_spectral_radius_is_refused():
    with pytest.raises(AssumptionError, match="rho"):
        lyapunov_certificate(A2, 0.89, B2)
    with pytest.raises(AssumptionError, match="rho"):
        lmi_certificate(A2, 0.9, B2)


def test_exact_C_against_brute_force_sup():
    g = gain_profile(A2, B2, 4000)
    j = np.arange(4000)
    for eta in (0.905, 0.93, 0.97):
        res = peiiss_constant(A2, B2, eta)
        brute = np.max(g / eta**j)
        assert res.C == pytest.approx(brute, rel=1e-10)
        assert res.argmax == int(np.argmax(g / eta**j))
        assert res.stop >= res.argmax


def test_exact_C_jordan_block_closed_form_long_tail():
    # A = [[a, 1], [0, a]], B = e_2: A^j B = (j a^(j-1), a^j), so g_j / eta^j = (a/eta)^j sqrt(j^2/a^2 + 1).
    # With eta close to a the sup sits near j = 1/log(eta/a) and the stop certificate runs to a^j ~ 1e-300:
    # a naive ratio of subnormal numbers would be wrong there, the log-scaled profile is not.
    a, eta = 0.5, 0.51
    A = np.array([[a, 1.0], [0.0, a]])
    B = np.array([[0.0], [1.0]])
    res = peiiss_constant(A, B, eta)
    jj = np.arange(0, 20000, dtype=float)
    log_ratio = jj * math.log(a / eta) + 0.5 * np.log(jj**2 / a**2 + 1)
    assert math.log(res.C) == pytest.approx(log_ratio.max(), abs=1e-9)
    assert res.argmax == int(np.argmax(log_ratio))


def test_exact_C_refuses_eta_at_or_below_rho_and_bad_certificates():
    with pytest.raises(AssumptionError):
        peiiss_constant(A2, B2, 0.9)
    cert = lyapunov_certificate(A2, 0.95, B2)
    with pytest.raises(AssumptionError, match="rate below"):
        peiiss_constant(A2, B2, 0.94, certificate=cert)


def test_gain_sum_is_certified_against_long_sum():
    res = gain_sum(A2, B2)
    brute = gain_profile(A2, B2, 5000).sum()
    assert res.converged
    assert res.partial <= brute * (1 + 1e-12)
    assert brute - res.partial <= res.tail_bound * (1 + 1e-9) + 1e-14
    assert res.upper >= brute * (1 - 1e-12)
    assert res.tail_bound <= 1e-10 * res.partial + 1e-300


def test_gain_sum_scalar_closed_form():
    res = gain_sum([[0.7]], [[2.0]])
    assert res.upper == pytest.approx(2.0 / 0.3, rel=1e-9)
    assert res.partial <= 2.0 / 0.3


def test_gain_profile_has_no_subnormals():
    g = gain_profile([[0.5]], [[1.0]], 1200)
    tiny = np.finfo(float).tiny
    assert np.all((g == 0) | (g >= tiny))
    assert g[1050] == 0.0  # 0.5**1050 is subnormal
    assert g[1000] == pytest.approx(0.5**1000, rel=1e-12) and g[100] == pytest.approx(0.5**100, rel=1e-12)


def test_gain_sum_refuses_unstable_and_horizon_gain_handles_it():
    with pytest.raises(AssumptionError, match="rho"):
        gain_sum([[1.1]], [[1.0]])
    assert horizon_gain([[1.1]], [[1.0]], 10) == pytest.approx((1.1**10 - 1) / 0.1, rel=1e-12)
    assert horizon_gain([[2.0]], [[1.0]], 5000) == math.inf


def test_unstable_and_marginal_systems_are_reported_not_raised():
    rep = analyze_stability([[1.05, 0.0], [0.0, 0.5]], [[1.0], [1.0]], H=20)
    assert not rep.globally_p_iiss and rep.C is None and rep.gain_sum is None
    assert "1.05" in rep.reason and "unstable" in rep.reason
    assert rep.horizon_gain > 20  # grows geometrically
    marg = analyze_stability([[1.0, 1.0], [0.0, 1.0]], [[0.0], [1.0]], H=10)
    assert not marg.globally_p_iiss and "marginally stable" in marg.reason
    # Jordan block at 1: ||A^j B|| = sqrt(j^2 + 1), so Gamma_H grows like H^2 / 2
    assert marg.horizon_gain == pytest.approx(sum(math.sqrt(j * j + 1) for j in range(10)), rel=1e-12)


def test_analyze_stability_methods_and_ordering():
    exact = analyze_stability(A2, B2, eta=0.95)
    assert exact.method == "exact" and exact.C == pytest.approx(exact.exact.C)
    assert exact.exact.C <= exact.lmi.C * (1 + 1e-9) <= exact.lyapunov.C * (1 + 1e-4)
    lyap = analyze_stability(A2, B2, eta=0.95, method="lyapunov", lmi=False)
    assert lyap.method == "lyapunov" and lyap.lmi is None
    lmi = analyze_stability(A2, B2, eta=0.95, method="lmi")
    assert lmi.method.startswith("lmi-")
    auto = analyze_stability(A2, B2)
    assert spectral_radius(A2) < auto.eta < 1
    with pytest.raises(TypeError, match="bogus"):
        analyze_stability(A2, B2, bogus=1)
    with pytest.raises(DimensionError):
        analyze_stability(A2, B2, method="magic")


@st.composite
def stable_pairs(draw):
    dx = draw(st.integers(1, 4))
    du = draw(st.integers(1, 2))
    entries = st.floats(-2, 2, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    A = np.array(draw(st.lists(entries, min_size=dx * dx, max_size=dx * dx))).reshape(dx, dx)
    B = np.array(draw(st.lists(entries, min_size=dx * du, max_size=dx * du))).reshape(dx, du)
    rho_target = draw(st.floats(0.05, 0.95, allow_subnormal=False))
    frac = draw(st.floats(0.05, 0.9, allow_subnormal=False))
    rho = np.max(np.abs(np.linalg.eigvals(A)))
    if rho < 1e-3 or np.linalg.norm(B) < 1e-3:
        A = A + np.eye(dx)
        B = B + 1.0
        rho = np.max(np.abs(np.linalg.eigvals(A)))
    if rho < 1e-3:  # A + I can still be nilpotent (e.g. A = -I): fall back to the identity
        A, rho = np.eye(dx), 1.0
    A = A * (rho_target / rho)
    eta = rho_target + frac * (1 - rho_target)
    return A, B, eta


@settings(max_examples=40, deadline=None)
@given(stable_pairs())
def test_certified_constants_bound_the_profile(pair):
    A, B, eta = pair
    g = gain_profile(A, B, 501)
    j = np.arange(501)
    exact = peiiss_constant(A, B, eta)
    lyap = lyapunov_certificate(A, eta, B)
    for C in (exact.C, lyap.C_pnorm, lyap.C):
        assert np.all(g <= C * eta**j * (1 + 1e-9) + 1e-300)
    gs = gain_sum(A, B)
    assert gs.upper >= g.sum() * (1 - 1e-9)


@settings(max_examples=8, deadline=None)
@given(stable_pairs())
def test_lmi_constants_bound_the_profile(pair):
    A, B, eta = pair
    g = gain_profile(A, B, 501)
    cert = lmi_certificate(A, eta, B)
    assert np.all(g <= cert.C * cert.eta_certified ** np.arange(501) * (1 + 1e-9) + 1e-300)


def _independent_delta(eta, C, L_mu, sigma, sigma_pi, rho_m, H, dx, du):
    L_cl = eta + C * L_mu
    A_cl = sum(L_cl**j for j in range(H))
    t1 = H * math.exp(-max(rho_m / (2 * sigma * A_cl) - math.sqrt(dx), 0) ** 2 / 2)
    t2 = H * math.exp(-max(rho_m / (2 * C * sigma_pi * A_cl) - math.sqrt(du), 0) ** 2 / 2)
    return t1 + t2


def test_gaussian_piiss_formula_and_monotonicity():
    kw = dict(eta=0.5, C=0.8, L_mu=0.3, sigma=0.01, sigma_pi=0.02, rho_m=2.0, H=20, dx=2, du=1)
    res = gaussian_piiss(**kw)
    assert res.delta == pytest.approx(_independent_delta(**kw), rel=1e-12, abs=1e-300)
    assert res.d == pytest.approx(2.0 / (0.8 * sum(0.5**j for j in range(20))), rel=1e-12)
    assert res.L_cl == pytest.approx(0.5 + 0.8 * 0.3)
    wider = gaussian_piiss(**{**kw, "rho_m": 4.0})
    assert wider.delta <= res.delta and wider.d > res.d
    noiseless = gaussian_piiss(**{**kw, "sigma": 0.0, "sigma_pi": 0.0})
    assert noiseless.delta == 0.0
    with pytest.raises(DimensionError):
        gaussian_piiss(**{**kw, "eta": 1.0})
