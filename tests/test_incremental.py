"""Incremental sector certificates of Lur'e systems: checked by the eigenvalues of the LMI's block matrix
(recomputed here), by simulated increments with random admissible slopes (the defining P-EIISS inequality),
against the spectral radius when the nonlinearity is absent, and by planted wrong certificates."""

import json
import math

import numpy as np
import pytest

from qbc_theory.checker.incremental import (
    IncrementalCertificate,
    incremental_certificate,
    verify_incremental_certificate,
)
from qbc_theory.model.errors import DimensionError, SolverError


def contracting_lure(n=3, p=2, seed=0):
    """A Lur'e system with tanh-type sector [0, 1] whose frozen-slope matrices are all stable."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n))
    A *= 0.6 / np.max(np.abs(np.linalg.eigvals(A)))
    B = rng.standard_normal((n, 1))
    G = 0.25 * rng.standard_normal((n, p))
    C = rng.standard_normal((p, n)) / math.sqrt(n)
    return A, B, G, C


def pendulum(dt=0.1, g_over_l=9.81, damping=4.0, gain=1.0):
    """Euler-discretised damped pendulum in Lur'e form: phi = sin of the angle, sector [-1, 1]."""
    A = np.array([[1.0, dt], [0.0, 1.0 - dt * damping]])
    B = np.array([[0.0], [dt * gain]])
    G = np.array([[0.0], [-dt * g_over_l]])
    C = np.array([[1.0, 0.0]])
    return A, B, G, C


def block_matrix(A, G, C, a, b, P, lam, eta):
    """The incremental sector LMI of THEORY.md section 8b, written out independently of the module."""
    L = np.diag(lam)
    top = np.hstack([A.T @ P @ A - eta**2 * P - a * b * C.T @ L @ C, A.T @ P @ G + (a + b) / 2 * C.T @ L])
    bottom = np.hstack([G.T @ P @ A + (a + b) / 2 * L @ C, G.T @ P @ G - L])
    return np.vstack([top, bottom])


def worst_bound_ratio(A, B, G, C, sector, C0, Cu, eta, *, T=80, N=400, seed=1, slopes="random", du_scale=1.0):
    """max over trajectories and t of ||dx_t|| / (C0 eta^t ||dx_0|| + sum_{k<t} Cu eta^(t-1-k) ||du_k||).

    Increments follow dx+ = A dx + G (s * C dx) + B du with slopes s drawn in the sector each step
    ("random"), frozen at the vertex with the largest spectral radius ("vertex"), or switching between
    the sector's ends ("switch").
    """
    rng = np.random.default_rng(seed)
    a, b = sector
    n, p = A.shape[0], G.shape[1]
    dx = rng.standard_normal((N, n))
    du = du_scale * rng.standard_normal((T, N, B.shape[1]))
    du[:, : N // 2] *= rng.uniform(0, 1, (T, N // 2, 1)) < 0.1  # half the runs: sparse input pulses
    if slopes == "vertex":
        verts = np.array(np.meshgrid(*[[a, b]] * p)).reshape(p, -1).T
        radii = [np.abs(np.linalg.eigvals(A + G @ np.diag(v) @ C)).max() for v in verts]
        frozen = verts[int(np.argmax(radii))]
    lhs0 = np.linalg.norm(dx, axis=1)
    rhs_input = np.zeros(N)
    worst = 0.0
    for t in range(T):
        if slopes == "random":
            s = rng.uniform(a, b, (N, p))
        elif slopes == "switch":
            s = np.where(rng.uniform(size=(N, p)) < 0.5, a, b)
        else:
            s = np.broadcast_to(frozen, (N, p))
        dx = dx @ A.T + (s * (dx @ C.T)) @ G.T + du[t] @ B.T
        rhs_input = eta * rhs_input + Cu * np.linalg.norm(du[t], axis=1)
        rhs = C0 * eta ** (t + 1) * lhs0 + rhs_input
        worst = max(worst, float(np.max(np.linalg.norm(dx, axis=1) / rhs)))
    return worst


def test_contracting_lure_system_is_certified_and_passes_an_independent_recheck():
    A, B, G, C = contracting_lure()
    cert = incremental_certificate(A, B, G, C, (0.0, 1.0))
    assert cert.certified and cert.method in ("lmi-CLARABEL", "lmi-SCS")
    assert np.linalg.eigvalsh(cert.P).min() > 0
    assert np.all(cert.Lambda >= 0)
    # block matrix at the requested rate: negative semidefinite up to the verification tolerance
    M = block_matrix(A, G, C, 0.0, 1.0, cert.P, cert.Lambda, cert.eta_requested)
    assert np.linalg.eigvalsh((M + M.T) / 2).max() <= 1e-7 * np.abs(cert.P).max()
    # the certified rate absorbs the residual, so at eta (>= requested) the block matrix is <= 0 outright
    M = block_matrix(A, G, C, 0.0, 1.0, cert.P, cert.Lambda, cert.eta)
    assert np.linalg.eigvalsh((M + M.T) / 2).max() <= 1e-12 * np.abs(cert.P).max()
    assert cert.eta_requested <= cert.eta < 1
    # constants: C = ||P^1/2 B|| / sqrt(lmin) <= sqrt(cond) ||B||, Gamma = C / (1 - eta)
    ev = np.linalg.eigvalsh(cert.P)
    assert cert.cond == pytest.approx(ev[-1] / ev[0], rel=1e-10)
    assert cert.C <= cert.C_cond * (1 + 1e-12)
    assert cert.C_cond == pytest.approx(math.sqrt(ev[-1] / ev[0]) * np.linalg.norm(B, 2), rel=1e-10)
    assert cert.Gamma == pytest.approx(cert.C / (1 - cert.eta), rel=1e-12)
    assert cert.peiiss == {"C": cert.C, "eta": cert.eta, "C_x0": cert.C_x0, "Gamma": cert.Gamma}
    # every certified rate is at least the frozen-slope spectral radius (a necessary condition)
    assert cert.eta >= cert.necessary_radius
    json.dumps(cert.to_dict())


@pytest.mark.parametrize("slopes", ["random", "switch", "vertex"])
def test_simulated_increments_obey_the_certified_peiiss_inequality(slopes):
    A, B, G, C = contracting_lure()
    cert = incremental_certificate(A, B, G, C, (0.0, 1.0))
    ratio = worst_bound_ratio(A, B, G, C, (0.0, 1.0), cert.C_x0, cert.C, cert.eta, slopes=slopes)
    assert ratio <= 1 + 1e-9
    # the same check with a rate below the frozen-vertex spectral radius must fail: the check has teeth
    wrong = worst_bound_ratio(A, B, G, C, (0.0, 1.0), cert.C_x0, cert.C, 0.8 * cert.necessary_radius,
                              slopes="vertex")
    assert wrong > 1


def test_two_tanh_trajectories_with_shared_noise_obey_the_bound():
    A, B, G, C = contracting_lure(seed=3)
    cert = incremental_certificate(A, B, G, C, (0.0, 1.0))
    rng = np.random.default_rng(7)
    N, T = 300, 60
    x0, x1 = 3 * rng.standard_normal((N, 3)), 3 * rng.standard_normal((N, 3))
    gap0 = np.linalg.norm(x0 - x1, axis=1)
    acc = np.zeros(N)
    for t in range(T):
        w = rng.standard_normal((N, 3))
        u0, u1 = 2 * rng.standard_normal((N, 1)), 2 * rng.standard_normal((N, 1))
        x0 = x0 @ A.T + u0 @ B.T + np.tanh(x0 @ C.T) @ G.T + w
        x1 = x1 @ A.T + u1 @ B.T + np.tanh(x1 @ C.T) @ G.T + w
        acc = cert.eta * acc + cert.C * np.linalg.norm(u0 - u1, axis=1)
        assert np.all(np.linalg.norm(x0 - x1, axis=1) <= (cert.C_x0 * cert.eta ** (t + 1) * gap0 + acc) * (1 + 1e-9))


def test_without_nonlinearity_the_smallest_rate_is_the_spectral_radius():
    A, B, _, C = contracting_lure(seed=5)
    G = np.zeros((3, 2))
    cert = incremental_certificate(A, B, G, C, (0.0, 1.0))
    rho = np.abs(np.linalg.eigvals(A)).max()
    assert cert.certified
    # the bisection stops within max(2e-3, 0.03 (1 - eta)) of the smallest feasible rate
    assert rho - 1e-9 <= cert.eta_min <= rho + max(2e-3, 0.03 * (1 - rho)) + 1e-9


def test_pendulum_is_not_certified_and_not_called_unstable():
    A, B, G, C = pendulum()
    cert = incremental_certificate(A, B, G, C, (-1.0, 1.0))
    assert isinstance(cert, IncrementalCertificate)
    assert not cert.certified
    assert cert.P is None and cert.Gamma is None and cert.peiiss is None
    assert cert.reason.startswith("not certified")
    assert "unstable" not in cert.reason
    assert cert.necessary_radius > 1  # the upright equilibrium (slope -1) repels
    assert cert.to_dict()["status"] == "not certified"
    # the same pendulum restricted to the bottom's slopes (a local sector) is certified
    local = incremental_certificate(A, B, G, C, (0.5, 1.0))
    assert local.certified


def test_infeasible_lmi_without_a_failing_vertex_gives_a_reason():
    # every frozen slope in [-1, 1] gives a stable matrix, but alternating the slopes -1, +1 makes the
    # increments grow (rate sqrt(rho((A+GC)(A-GC))) > 1): no contraction certificate can exist
    A = np.array([[0.686, -1.682], [0.632, -0.733]])
    B = np.array([[1.0], [1.0]])
    G = np.array([[1.114], [0.337]])
    C = np.array([[0.631, -0.541]])
    frozen = max(np.abs(np.linalg.eigvals(A + s * G @ C)).max() for s in np.linspace(-1, 1, 201))
    switching = np.abs(np.linalg.eigvals((A + G @ C) @ (A - G @ C))).max() ** 0.5
    assert frozen < 1 < switching
    cert = incremental_certificate(A, B, G, C, (-1.0, 1.0))
    assert cert.necessary_radius < 1
    assert not cert.certified
    assert cert.reason.startswith("not certified") and "LMI" in cert.reason


def test_planted_wrong_certificates_fail_reverification():
    A, B, G, C = contracting_lure()
    cert = incremental_certificate(A, B, G, C, (0.0, 1.0))
    ok = verify_incremental_certificate(A, B, G, C, (0.0, 1.0), cert.P, cert.Lambda, cert.eta_requested)
    assert ok.certified
    bad = np.array(cert.P)
    bad[0, 0] *= 0.3
    with pytest.raises(SolverError, match="sector LMI"):
        verify_incremental_certificate(A, B, G, C, (0.0, 1.0), bad, cert.Lambda, cert.eta_requested)
    with pytest.raises(SolverError):
        verify_incremental_certificate(A, B, G, C, (0.0, 1.0), cert.P, cert.Lambda, 0.5 * cert.necessary_radius)
    with pytest.raises(SolverError, match="Lambda >= 0"):
        verify_incremental_certificate(A, B, G, C, (0.0, 1.0), cert.P, -cert.Lambda - 1.0, cert.eta_requested)
    with pytest.raises(SolverError, match="positive definite"):
        verify_incremental_certificate(A, B, G, C, (0.0, 1.0), -np.array(cert.P), cert.Lambda, 0.9)
    # the certificate for the sector [0, 1] is not one for the wider sector [-1, 1]
    with pytest.raises(SolverError):
        verify_incremental_certificate(A, B, G, C, (-1.0, 1.0), cert.P, cert.Lambda, cert.eta_requested)


def test_fixed_rate_below_the_vertex_radius_is_not_certified():
    A, B, G, C = contracting_lure()
    nec = incremental_certificate(A, B, G, C, (0.0, 1.0), eta=0.99).necessary_radius
    cert = incremental_certificate(A, B, G, C, (0.0, 1.0), eta=0.9 * nec)
    assert not cert.certified and "not certified at eta" in cert.reason
    fixed = incremental_certificate(A, B, G, C, (0.0, 1.0), eta=0.99)
    assert fixed.certified and fixed.eta_requested == 0.99 and fixed.eta >= 0.99


def test_per_channel_sectors_match_the_scalar_sector():
    A, B, G, C = contracting_lure()
    a = incremental_certificate(A, B, G, C, (0.0, 1.0), eta=0.95)
    b = incremental_certificate(A, B, G, C, ([0.0, 0.0], [1.0, 1.0]), eta=0.95)
    assert a.certified and b.certified
    assert b.cond == pytest.approx(a.cond, rel=1e-3)


@pytest.mark.parametrize("args, match", [
    ((np.eye(2), np.ones((3, 1)), np.ones((2, 1)), np.ones((1, 2)), (0, 1)), "B"),
    ((np.eye(2), np.ones((2, 1)), np.ones((2, 1)), np.ones((2, 2)), (0, 1)), "C"),
    ((np.ones((2, 3)), np.ones((2, 1)), np.ones((2, 1)), np.ones((1, 2)), (0, 1)), "A"),
    ((np.eye(2), np.ones((2, 1)), np.ones((2, 1)), np.ones((1, 2)), (1, 0)), "sector"),
    ((np.eye(2), np.ones((2, 1)), np.ones((2, 1)), np.ones((1, 2)), (0, 1, 2)), "sector"),
    ((np.eye(2), np.ones((2, 1)), np.ones((2, 1)), np.ones((1, 2)), "tanh"), "sector"),
])
def test_bad_input_names_the_argument(args, match):
    with pytest.raises(DimensionError, match=match):
        incremental_certificate(*args)


def test_bad_options():
    A, B, G, C = contracting_lure()
    with pytest.raises(DimensionError, match="eta"):
        incremental_certificate(A, B, G, C, (0, 1), eta=1.0)
    with pytest.raises(TypeError, match="bogus"):
        incremental_certificate(A, B, G, C, (0, 1), bogus=1)


# --- sampled evidence and the stability section of the model's nonlinear systems -----------------

from qbc_theory.checker.incremental import sampled_piiss, system_stability  # noqa: E402
from qbc_theory.model.dynamics import CallableSystem, LureSystem  # noqa: E402
from qbc_theory.model.dynamics import pendulum as pendulum_preset  # noqa: E402


def scalar_contraction(x, u, w):
    """x+ = 0.5 tanh(x) + u + w: slopes in (0, 0.5], so C = 1, eta = 0.5 and Gamma = 2 are tight near 0."""
    return 0.5 * np.tanh(x) + u + w


@pytest.mark.parametrize("consts, refuted", [
    ({"C": 1.0, "eta": 0.5}, False),
    ({"Gamma": 2.0}, False),
    ({"C": 0.9, "eta": 0.5}, True),   # a pulse gives gap = |du| > 0.9 |du| at once
    ({"C": 1.0, "eta": 0.3}, True),   # the slope 0.5 near 0 decays slower than 0.3^t
    ({"Gamma": 1.8}, True),           # a constant offset accumulates to nearly 2 |du| near 0
])
def test_sampled_piiss_refutes_wrong_constants_only(consts, refuted):
    rng = np.random.default_rng(11)
    x0 = 0.05 * rng.standard_normal((300, 1))
    noise = np.zeros((40, 300, 1))
    ev = sampled_piiss(scalar_contraction, x0, noise, 1, rng, action_scale=0.01, **consts)
    assert ev.violation is refuted
    if refuted:
        w = ev.witness
        assert w["gap"] > w["bound"] and "refutes" in ev.reason
    else:
        assert ev.max_ratio <= 1 + 1e-9


def test_sampled_piiss_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(DimensionError, match="noise"):
        sampled_piiss(scalar_contraction, np.zeros((4, 1)), np.zeros((3, 5, 1)), 1, rng, Gamma=1.0)
    with pytest.raises(DimensionError, match="C, eta"):
        sampled_piiss(scalar_contraction, np.zeros((4, 1)), np.zeros((3, 4, 1)), 1, rng, C=1.0)
    with pytest.raises(DimensionError, match="Gamma"):
        sampled_piiss(scalar_contraction, np.zeros((4, 1)), np.zeros((3, 4, 1)), 1, rng)


def test_system_stability_of_a_certified_lure_system():
    A, B, G, C = contracting_lure()
    system = LureSystem(A, B, G, C, "tanh", noise_std=0.1)
    st = system_stability(system, H=30, rng=np.random.default_rng(2))
    assert st.kind == "lure" and st.status == "certified" and st.globally_p_iiss
    assert st.Gamma == pytest.approx(st.C / (1 - st.eta), rel=1e-12)
    assert st.horizon_gain == pytest.approx(sum(st.C * st.eta**j for j in range(30)), rel=1e-10)
    assert st.evidence is not None and not st.evidence.violation
    d = st.to_dict()
    json.dumps(d)
    # the linear report's keys are all there, the certificate is added
    for key in ("spectral_radius", "globally_p_iiss", "gain_sum", "horizon_gain", "eta", "C", "method", "reason"):
        assert key in d
    assert d["certificate"]["certified"] and d["gain_sum"] == st.Gamma
    assert any("certified (lmi-" in line for line in st.format_lines())


def test_system_stability_of_the_pendulum_preset_is_not_certified():
    st = system_stability(pendulum_preset(0.05, 9.81, 0.5, 1.0), H=30)
    assert st.status == "not certified" and not st.globally_p_iiss
    assert st.Gamma is None and st.C is None
    assert "not certified" in st.reason and "unstable" not in st.reason
    assert any("not certified" in line for line in st.format_lines())
    json.dumps(st.to_dict())


@pytest.mark.parametrize("declared, status", [
    ({"C": 1.0, "eta": 0.5}, "declared, not certified"),
    ({"Gamma": 2.0}, "declared, not certified"),
    ({"C": 0.5, "eta": 0.4}, "declared, refuted"),
    ({"Gamma": 1.5}, "declared, refuted"),
    ({}, "not certified"),
])
def test_system_stability_of_a_callable_system_labels_and_samples_the_declaration(declared, status):
    system = CallableSystem(scalar_contraction, 1, 1, x0_std=0.05, declared=declared)
    st = system_stability(system, H=40, rng=np.random.default_rng(4))
    assert st.kind == "callable" and st.status == status
    assert st.globally_p_iiss is (status == "declared, not certified")
    if status == "declared, refuted":
        assert st.Gamma is None and st.evidence.violation
    if declared and status != "declared, refuted":
        assert "declared, not certified" in st.reason
    json.dumps(st.to_dict())


def test_system_stability_rejects_a_linear_system():
    from qbc_theory.model.dynamics import LinearSystem

    with pytest.raises(DimensionError, match="kind"):
        system_stability(LinearSystem([[0.5]], [[1.0]]))


@pytest.mark.parametrize("seed", [0, 3])
def test_input_objective_gives_the_smallest_input_constant_and_still_holds(seed):
    A, B, G, C = contracting_lure(seed=seed)
    for eta in (0.85, 0.95):
        by_cond = incremental_certificate(A, B, G, C, (0.0, 1.0), eta=eta)
        by_input = incremental_certificate(A, B, G, C, (0.0, 1.0), eta=eta, objective="input")
        assert by_cond.certified and by_input.certified
        # the input objective minimises C over every certificate at this rate, the cond one among them
        assert by_input.C <= by_cond.C * (1 + 1e-5)
    best = incremental_certificate(A, B, G, C, (0.0, 1.0), objective="input")
    for slopes in ("random", "switch", "vertex"):
        assert worst_bound_ratio(A, B, G, C, (0.0, 1.0), best.C_x0, best.C, best.eta, slopes=slopes) <= 1 + 1e-9
    with pytest.raises(DimensionError, match="objective"):
        incremental_certificate(A, B, G, C, (0.0, 1.0), objective="gamma")


# --- the checker report (qbc check) on the new kinds ----------------------------------------------

from qbc_theory.checker.report import check  # noqa: E402
from qbc_theory.model.experts import CallableExpert, TanhExpert  # noqa: E402
from qbc_theory.model.instance import Instance  # noqa: E402
from qbc_theory.model.quantizers import UniformBinning  # noqa: E402
from qbc_theory.model.rewards import RegulationReward  # noqa: E402

LINEAR_KEYS = ("spectral_radius", "globally_p_iiss", "gain_sum", "gain_sum_detail", "horizon_gain", "eta", "C",
               "method", "C_exact", "C_lyapunov", "C_lmi", "exact", "lyapunov", "lmi", "reason", "notes")


def lure_instance(K=(-0.2, -0.3)):
    A = np.array([[0.5, 0.2], [-0.1, 0.6]])
    B, G, C = np.array([[0.0], [1.0]]), np.array([[0.3], [0.2]]), np.array([[1.0, 0.5]])
    system = LureSystem(A, B, G, C, "tanh", noise_std=0.05)
    return Instance(system=system, expert=TanhExpert([list(K)], scale=0.5), quantizer=UniformBinning(-1, 1, 64),
                    reward=RegulationReward(1.0), horizon=30, name="lure"), (A, B, G, C)


def test_check_reports_the_incremental_certificate_and_proposition5_for_a_lure_system():
    inst, (A, B, G, C) = lure_instance()
    rep = check(inst, trajectories=60, pairs=16)
    d = rep.to_dict()
    json.dumps(d)
    st = d["stability"]
    assert all(k in st for k in LINEAR_KEYS)  # the existing keys stay
    cert = st["certificate"]
    assert cert["certified"] and st["globally_p_iiss"] and st["gain_sum"] == pytest.approx(cert["Gamma"])
    # the certificate itself passes the independent re-check
    M = block_matrix(A, G, C, 0.0, 1.0, np.array(cert["P"]), np.array(cert["Lambda"]), cert["eta"])
    assert np.linalg.eigvalsh((M + M.T) / 2).max() <= 1e-12 * np.abs(cert["P"]).max()
    # any valid max-type gain is at least that of the increments at the origin (slope phi'(0) = 1),
    # which the linear part's gain sum (2.65 here) is not
    Acl, gain, Mj = A + G @ C, 0.0, B.copy()
    for _ in range(2000):
        gain, Mj = gain + np.linalg.norm(Mj, 2), Acl @ Mj
    assert st["gain_sum"] >= gain
    p5 = d["smoothness"]["proposition5"]
    L = np.linalg.norm(np.array([[-0.2, -0.3]]), 2)
    assert p5["L"] == pytest.approx(L) and p5["Gamma"] == pytest.approx(cert["Gamma"])
    assert p5["lhs"] == pytest.approx(L * cert["Gamma"] * (p5["k"] + 1), rel=1e-12)
    assert p5["holds"] is (p5["lhs"] < p5["rhs"]) and p5["h2_term_droppable"] is p5["holds"]
    assert p5["holds"] is False  # L Gamma = 0.36 x 29 > 1 here
    ev = d["expert"]["lipschitz_evidence"]
    assert ev["status"] == "certified" and not ev["violation"] and ev["lower"] <= ev["upper"] * (1 + 1e-9)
    text = rep.format_text()
    assert "incremental certificate     certified" in text and "Proposition 5 condition" in text
    # a small enough gain makes the condition hold: L Gamma (k+1) < k - 2
    small = check(lure_instance(K=(-0.001, -0.001))[0], trajectories=60, pairs=16).to_dict()
    assert small["smoothness"]["proposition5"]["h2_term_droppable"] is True


def test_check_on_the_pendulum_says_not_certified():
    from qbc_theory.model.dynamics import pendulum as preset

    inst = Instance(system=preset(0.05, 9.81, 0.5, 1.0, x0_std=0.3), expert=TanhExpert([[-2.0, -1.0]], scale=2.0),
                    quantizer=UniformBinning(-3, 3, 32), reward=RegulationReward(1.0), horizon=30, name="pendulum")
    rep = check(inst, trajectories=40, pairs=16)
    d = rep.to_dict()
    assert d["stability"]["status"] == "not certified" and not d["stability"]["globally_p_iiss"]
    assert "unstable" not in d["stability"]["reason"]
    assert not rep.theorems["thm3"].applies
    assert "cannot be evaluated" in d["smoothness"]["proposition5"]["reason"]
    text = rep.format_text()
    assert "not certified" in text and "no finite Gamma certified or declared" in text


def test_check_labels_and_samples_declared_constants():
    def f(x, u, w):
        return 0.5 * np.tanh(x) + u + w

    def act(x, z):
        return -0.4 * np.tanh(x)

    for sys_decl, L, p_iiss, violated in (({"C": 1.0, "eta": 0.5}, 0.45, True, False),
                                          ({"Gamma": 1.5}, 0.45, False, False),
                                          ({"C": 1.0, "eta": 0.5}, 0.2, True, True)):
        inst = Instance(system=CallableSystem(f, 1, 1, x0_std=0.5, declared=sys_decl),
                        expert=CallableExpert(act, 1, declared={"L": L}), quantizer=UniformBinning(-1, 1, 32),
                        reward=RegulationReward(1.0), horizon=30, name="callable")
        d = check(inst, trajectories=40, pairs=16).to_dict()
        assert d["stability"]["globally_p_iiss"] is p_iiss
        assert d["expert"]["lipschitz_evidence"]["status"] == "declared, not certified"
        assert d["expert"]["lipschitz_evidence"]["violation"] is violated
        p5 = d["smoothness"]["proposition5"]
        if p_iiss:
            assert "declared, not certified" in p5["reason"]
            assert p5["h2_term_droppable"] is (p5["holds"] and not violated)
