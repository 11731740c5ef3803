"""The checker at real state dimensions: class sizes carried as logs, one policy class shared with
``qbc simulate``, the size-dependent stability shortcuts, and the CLI options that change the class.
Speed itself is measured in benchmarks/bench_check.py, never asserted here."""

import json
import math

import numpy as np
import pytest
import scipy.stats

from conftest import INSTANCES
from qbc_theory import Instance, LinearExpert, LinearSystem, TrackingReward, UniformBinning, load_instance
from qbc_theory.checker.report import check, clip_exit_bound
from qbc_theory.checker.stability import LMI_MAX_DIM, analyze_stability, gain_profile, peiiss_constant
from qbc_theory.cli import main
from qbc_theory.engine.simulation import default_policy_class, simulate
from qbc_theory.model.errors import AssumptionError, DimensionError
from qbc_theory.model.experts import lqr_gain
from qbc_theory.model.policy_class import (
    class_size_from_count,
    class_size_from_log,
    lattice_radius,
    model_class_size,
    policy_class_size,
)

FAST = dict(trajectories=60, pairs=16)


def _dense(dx, du, seed=20261204, rho=0.95, bins=64):
    """A dense random A with spectral radius rho, an LQR expert and binning (the issue's instance)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((dx, dx)) / np.sqrt(dx)
    A *= rho / np.max(np.abs(np.linalg.eigvals(A)))
    B = rng.standard_normal((dx, du)) / np.sqrt(dx)
    system = LinearSystem(A, B, x0_std=1.0)
    expert = LinearExpert(lqr_gain(system, np.eye(dx), np.eye(du)))
    return Instance(system, expert, UniformBinning(-5.0, 5.0, bins, dim=du), TrackingReward(expert), 50, n=200,
                    delta=0.05)


def _toml(inst, path):
    """Write ``inst`` as an instance file (JSON arrays of numbers are TOML arrays)."""
    s = inst.system
    path.write_text(
        f'name = "dense{s.dx}"\n[system]\nA = {json.dumps(s.A.tolist())}\nB = {json.dumps(s.B.tolist())}\n'
        f"x0_std = 1.0\n[expert]\nkind = \"linear\"\nK = {json.dumps(inst.expert.K.tolist())}\n"
        f'[quantizer]\nkind = "binning"\nlow = -5.0\nhigh = 5.0\nbins = 64\n'
        f'[reward]\nkind = "tracking"\n[run]\nhorizon = 50\nn = 200\ndelta = 0.05\n', encoding="utf-8")
    return path


# --- class sizes as logs ---------------------------------------------------------------------------

def test_dx100_check_counts_the_class_as_a_log_and_evaluates_the_bounds():
    inst = _dense(100, 10)
    rep = check(inst, **FAST)
    d = json.loads(json.dumps(rep.to_dict(), allow_nan=False))
    pi = d["classes"]["Pi"]
    # 1000 gain entries: no radius <= 3 fits 10,000 candidates, so the class is the radius-1 lattice
    assert pi["log_size"] == pytest.approx(1000 * math.log(3), rel=1e-12)
    assert pi["size"] is None and pi["enumerable"] is False  # 3^1000 ~ 1e477 does not fit a float
    assert d["options"]["Pi"] is None and d["options"]["log_Pi"] == pytest.approx(1000 * math.log(3))
    m = d["classes"]["M"]
    assert m["size"] is None and m["log_size"] == pytest.approx(100 * 110 * math.log(5), rel=1e-12)
    t7 = d["theorems"]["thm7"]
    assert t7["applies"] and isinstance(t7["bound"], float) and t7["bound"] > 0
    assert "log|Pi|=" in t7["bound_note"] and "log|M|=" in t7["bound_note"]
    assert any("LMI skipped: dx=100" in w for w in rep.warnings)
    assert rep.stability.lmi is None and rep.stability.exact is not None
    assert "log|Pi| = 1099 nats" in rep.format_text()


def test_cli_check_dx30_reports_instead_of_an_internal_error(tmp_path, capsys):
    # before: OverflowError at float(M) (|M| = 5^1050), printed as "internal error"
    path = _toml(_dense(30, 5), tmp_path / "dense30.toml")
    code = main(["check", str(path), "--json"])
    out, err = capsys.readouterr()
    assert code in (0, 1) and err == ""
    d = json.loads(out)
    assert d["classes"]["M"]["size"] is None and d["classes"]["M"]["log_size"] > 700


def test_log_path_agrees_with_the_float_path():
    inst = load_instance(INSTANCES / "lqr_binning.toml")
    as_int = check(inst, Pi=5**20, **FAST)
    as_log = check(inst, log_Pi=20 * math.log(5), **FAST)
    for key in ("thm3", "thm7"):
        assert as_log.theorems[key].bound == pytest.approx(as_int.theorems[key].bound, rel=1e-9)
    # beyond the float range the bound is still evaluated, and grows with log|Pi| as the formula says
    huge = check(inst, Pi=5**1000, **FAST)
    huger = check(inst, log_Pi=2000 * math.log(5), **FAST)
    assert huge.classes["Pi"]["size"] is None
    b20, b1000, b2000 = (r.theorems["thm3"].bound for r in (as_int, huge, huger))
    # Theorem 3's statistical term is 24 H log(2 |Pi| / delta) / n: linear in log|Pi|
    H, n = inst.horizon, inst.n
    assert b1000 - b20 == pytest.approx(24 * H * 980 * math.log(5) / n, rel=1e-9)
    assert b2000 - b1000 == pytest.approx(24 * H * 1000 * math.log(5) / n, rel=1e-9)


def test_class_sizes_reject_wrong_input():
    inst = load_instance(INSTANCES / "lqr_binning.toml")
    with pytest.raises(DimensionError, match="Pi, log_Pi"):
        check(inst, Pi=5, log_Pi=1.0)
    with pytest.raises(DimensionError, match="log_Pi"):
        check(inst, log_Pi=-1.0)
    with pytest.raises(DimensionError, match="Pi"):
        class_size_from_count(0)
    assert class_size_from_log(math.log(343)).size == 343
    assert class_size_from_count(3**1000).size_float is None
    assert class_size_from_count(3**1000).log_size == pytest.approx(1000 * math.log(3), rel=1e-14)


def test_lattice_radius_is_exact_at_the_cap():
    assert lattice_radius(2, 49) == 3 and lattice_radius(2, 48) == 2
    assert lattice_radius(8, 10_000) == 1 and lattice_radius(9, 10_000) is None  # 3^8 = 6561, 3^9 = 19683
    assert lattice_radius(10**6) is None  # decided from logs, no 3^1000000 is built
    assert model_class_size(2, 1).size == 5**6


# --- one policy class for check and simulate --------------------------------------------------------

@pytest.mark.parametrize("noise_std, expected", [(0.0, 343), (0.2, 343 * 5)])
def test_check_and_simulate_print_the_same_class(noise_std, expected):
    # dx = 3, du = 1: qbc check used to assume 5^3 = 125 while qbc simulate learned over 7^3 = 343
    A = [[0.5, 0.1, 0.0], [0.0, 0.6, 0.1], [0.0, 0.0, 0.7]]
    system = LinearSystem(A, [[0.0], [0.0], [1.0]], x0_std=1.0)
    expert = LinearExpert([[-0.1, -0.2, -0.3]], noise_std=noise_std)
    inst = Instance(system, expert, UniformBinning(-2.0, 2.0, 32, dim=1), TrackingReward(expert), 10, n=20)
    rep = check(inst, **FAST)
    sim = simulate(inst, learner="finite", eval_trajectories=20)
    assert default_policy_class(inst).size == expected
    assert policy_class_size(expert).size == expected
    assert rep.classes["Pi"]["size"] == expected == sim.policy_class["size"]
    assert sim.policy_class["used"] is True
    assert f"|Pi| = {expected}" in rep.format_text() and f"|Pi| = {expected}" in sim.format_text()


def test_the_class_that_cannot_be_enumerated_is_counted_not_built():
    inst = _dense(12, 1)  # 12 entries: 3^12 = 531441 > 10,000
    with pytest.raises(AssumptionError, match="max_candidates"):
        default_policy_class(inst)
    size = policy_class_size(inst.expert)
    assert size.radius == 1 and not size.enumerable and size.size == 3**12


# --- options of qbc check ---------------------------------------------------------------------------

def test_cli_pi_k_and_n_options(capsys):
    path = str(INSTANCES / "lqr_binning.toml")
    assert main(["check", path, "--json", "--log-Pi", "2000", "--k", "5", "--n", "1000"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["classes"]["Pi"]["source"] == "given" and d["classes"]["Pi"]["log_size"] == 2000.0
    assert d["smoothness"]["binning_rtvc"]["k"] == 5.0
    assert d["theorems"]["thm7"]["values"]["n"] == 1000.0 and d["options"]["n"] == 1000
    assert main(["check", path, "--json", "--Pi-size", "12345678901234567890123"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["classes"]["Pi"]["log_size"] == pytest.approx(math.log(12345678901234567890123), rel=1e-14)
    for bad in (["--Pi-size", "5", "--log-Pi", "3"], ["--Pi-size", "1e9"], ["--log-Pi", "-1"], ["--k", "0"],
                ["--n", "0"]):
        assert main(["check", path, *bad]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "error" in err


# --- the stability shortcuts at large dx ------------------------------------------------------------

def test_lmi_is_skipped_above_its_size_with_a_note():
    A = np.array([[0.5, 0.2, 0.0], [0.0, 0.6, 0.1], [0.0, 0.0, 0.7]])
    B = np.array([[0.0], [0.0], [1.0]])
    skipped = analyze_stability(A, B, lmi_max_dim=2)
    assert skipped.lmi is None and any("LMI skipped: dx=3 > lmi_max_dim=2" in n for n in skipped.notes)
    solved = analyze_stability(A, B)
    assert 3 <= LMI_MAX_DIM and solved.lmi is not None and not any("skipped" in n for n in solved.notes)
    assert skipped.C == solved.C  # the reported constant is the exact sup either way


def test_shared_sweep_certificate_gives_the_exact_sup():
    inst = _dense(40, 4)
    A, B = inst.system.A, inst.system.B
    st = analyze_stability(A, B, H=50)
    own = peiiss_constant(A, B, st.eta)  # its own certificate at (rho + eta) / 2
    assert st.exact.C == pytest.approx(own.C, rel=1e-12) and st.exact.argmax == own.argmax
    # the sup against brute force over the first terms (the stop is at most a few thousand steps)
    g = gain_profile(A, B, st.exact.stop + 1)
    brute = np.array([np.linalg.norm(np.linalg.matrix_power(A, j) @ B, 2) for j in range(60)])
    assert np.allclose(g[:60], brute, rtol=1e-10, atol=0)
    assert st.exact.C == pytest.approx(np.max(g / st.eta ** np.arange(g.size)), rel=1e-12)
    assert st.horizon_gain == pytest.approx(brute[:50].sum(), rel=1e-10)


def test_clip_exit_bound_matches_covariance_propagation():
    # the factored recursion against the dx x dx covariance recursion, with noise and a Gaussian expert
    rng = np.random.default_rng(5)
    A = 0.3 * rng.standard_normal((4, 4))
    B = rng.standard_normal((4, 2))
    system = LinearSystem(A, B, noise_std=0.2, x0_std=0.7)
    expert = LinearExpert(0.2 * rng.standard_normal((2, 4)), noise_std=0.3)
    q = UniformBinning(-1.5, 1.5, 16, dim=2)
    K, s2 = expert.K, expert.noise_std**2
    Acl, cov, total = A + B @ K, np.array(system.x0_cov), 0.0
    for _ in range(30):
        sd = np.sqrt(np.diag(K @ cov @ K.T) + s2)
        total += float(np.sum(scipy.stats.norm.cdf(-1.5 / sd) + scipy.stats.norm.sf(1.5 / sd)))
        cov = Acl @ cov @ Acl.T + s2 * B @ B.T + system.noise_cov
    assert clip_exit_bound(system, expert, q, 30) == pytest.approx(total, rel=1e-12)


# --- qbc simulate says what its learner used ----------------------------------------------------------

def test_regression_learner_says_it_trained_on_raw_actions():
    inst = load_instance(INSTANCES / "lqr_binning.toml")
    raw = simulate(inst, n=20, learner="regression", eval_trajectories=50)
    assert raw.quantization_entered is False and raw.trained_on.startswith("raw expert actions u")
    text = raw.format_text()
    assert "trained on raw expert actions u" in text
    assert "in distribution" not in text and "in deployment" not in text  # errors that did not enter
    assert raw.policy_class["used"] is False
    decoded = simulate(inst, n=20, learner="regression", eval_trajectories=50, regression_actions="quantized")
    assert decoded.quantization_entered is True and "in distribution" in decoded.format_text()
    tokens = simulate(inst, n=20, learner="finite", eval_trajectories=50)
    assert "trained on tokens q(u) (log-loss over the finite class Pi)" in tokens.format_text() and tokens.quantization_entered
    d = raw.to_dict()
    assert d["quantization_entered"] is False and "in_distribution_error" in d  # JSON keys kept (contract)
