"""``qbc scan``: the log-log slope and its interval, the eps_q rescaling, scans on instances, the CLI."""

import json

import numpy as np
import pytest

from conftest import INSTANCES
from qbc_theory.cli import main
from qbc_theory.engine.scan import loglog_slope, rescale_binning, scan
from qbc_theory.model.errors import AssumptionError, DimensionError
from qbc_theory.model.instance import load_instance
from qbc_theory.model.quantizers import KMeansQuantizer, UniformBinning

V = np.array([8.0, 16, 32, 64, 128])


def test_slope_of_an_exact_power_law():
    m = 3.0 * V**1.5
    slope, ci, method, note = loglog_slope(V, m, 1e-3 * m)
    assert slope == pytest.approx(1.5, abs=1e-12) and ci[0] < 1.5 < ci[1] and ci[1] - ci[0] < 0.01
    assert note == "" and "weighted" in method
    # a wrong exponent is outside the interval
    assert not ci[0] <= 1.0 <= ci[1]


def test_interval_covers_at_its_level(rng):
    """Monte Carlo coverage of the 95% interval on noisy power laws (errors as delta-method assumes)."""
    hits, trials = 0, 400
    for _ in range(trials):
        se = 0.05 * V**1.2
        m = V**1.2 + rng.normal(size=V.size) * se
        _, ci, _, _ = loglog_slope(V, m, se)
        hits += ci[0] <= 1.2 <= ci[1]
    # binomial sd at p = 0.95, 400 trials: 0.011; the dispersion scaling makes it a bit conservative
    assert 0.91 <= hits / trials <= 0.995


def test_curvature_widens_the_interval():
    m = V + V**2 / 16
    _, ci_curved, method, _ = loglog_slope(V, m, 1e-3 * m)
    _, ci_straight, _, _ = loglog_slope(V, V**1.5, 1e-3 * V**1.5)
    assert "reduced chi-square" in method
    assert ci_curved[1] - ci_curved[0] > 10 * (ci_straight[1] - ci_straight[0])


def test_negative_regret_is_fitted_by_its_absolute_value_and_named():
    slope, ci, _, note = loglog_slope(V, -(V**0.5), 1e-3 * V**0.5)
    assert slope == pytest.approx(0.5, abs=1e-12) and "negative at 8, 16, 32, 64, 128" in note
    slope, ci, _, note = loglog_slope(V, [0.0, 16, 32, 64, 128], [0.1] * 5)
    assert "left out (regret 0 or not finite): 8" in note and slope == pytest.approx(1.0, abs=1e-9)
    slope, ci, method, note = loglog_slope(V, [0.0, -1, 0, 0, 0], [0.1] * 5)
    assert slope is None and ci is None and "fewer than two" in note


def test_a_point_indistinguishable_from_zero_barely_moves_the_fit():
    m = np.array([1e-3, 16, 32, 64, 128])  # the first point is noise around 0 (se 1)
    slope, _, _, _ = loglog_slope(V, m, [1.0, 0.01, 0.01, 0.01, 0.01])
    assert slope == pytest.approx(1.0, abs=0.01)


def test_zero_standard_errors_fall_back_to_ordinary_least_squares():
    slope, ci, method, _ = loglog_slope(V, V**2 * (1 + 0.01 * np.array([1, -1, 1, -1, 1])), np.zeros(5))
    assert "ordinary" in method and ci[0] < slope < ci[1] and slope == pytest.approx(2.0, abs=0.02)


@pytest.mark.parametrize("decode", ["center", "left", "edge"])
@pytest.mark.parametrize("eps", [0.003, 0.05, 0.4, 2.0])
def test_rescale_binning_hits_eps_and_covers_the_range(decode, eps):
    q = UniformBinning([-1.0, -2.0], [1.0, 3.0], 16, decode=decode)
    r = rescale_binning(q, eps)
    assert r.eps_sup == pytest.approx(eps, rel=1e-9)
    assert np.all(r.low <= q.low + 1e-12) and np.all(r.high >= q.high - 1e-12)
    np.testing.assert_allclose((r.low + r.high) / 2, (q.low + q.high) / 2, atol=1e-12)
    assert (r.bins - q.bins) % 2 == 0 and r.decode_mode == decode
    # the sup error holds on many in-range actions
    u = np.random.default_rng(0).uniform(q.low, q.high, size=(20_000, 2))
    assert np.linalg.norm(r(u) - u, axis=1).max() <= r.eps_sup * (1 + 1e-12)


def test_rescale_refuses_other_quantizers():
    with pytest.raises(AssumptionError, match="binning"):
        rescale_binning(KMeansQuantizer(4), 0.1)


def test_scan_points_crn_and_controls():
    inst = load_instance(INSTANCES / "lqr_binning.toml")
    lines = []
    a = scan(inst, "eps_q", [0.01, 0.02, 0.04, 0.08], learner="expert", eval_trajectories=500, progress=lines.append)
    b = scan(inst, "eps_q", [0.01, 0.02, 0.04, 0.08], learner="expert", eval_trajectories=500)
    assert [p.regret for p in a.points] == [p.regret for p in b.points]  # same root seed, same numbers
    assert len(lines) == 4 and lines[0].startswith("[1/4] eps_q=0.01")
    assert [p.eps_q for p in a.points] == pytest.approx([0.01, 0.02, 0.04, 0.08], rel=1e-9)
    # q#pi* with a tracking reward loses about E||q(u) - u|| per step: regret grows like eps_q
    assert 0.8 < a.slope < 1.2
    # control: q#pi* does not depend on the data, so its regret has no slope in n
    c = scan(inst, "n", [10, 40, 160], learner="expert", eval_trajectories=500)
    assert c.slope_ci[0] <= 0.0 <= c.slope_ci[1] and not c.slope_ci[0] <= 1.0 <= c.slope_ci[1]
    d = c.to_dict()
    assert {"vary", "points", "slope", "slope_ci", "learner", "instance"} <= set(d)
    assert set(d["points"][0]) >= {"value", "regret", "ci_low", "ci_high"} and d["points"][0]["value"] == 10


@pytest.mark.parametrize("path", sorted(INSTANCES.glob("*.toml")), ids=lambda p: p.stem)
def test_scan_works_on_every_example(path):
    inst = load_instance(path)
    for vary, values in (("horizon", [5, 10]), ("n", [5, 10]), ("eps_q", [0.05, 0.1])):
        if vary == "eps_q" and not isinstance(inst.quantizer, UniformBinning):
            with pytest.raises(AssumptionError, match="binning"):
                scan(inst, vary, values, eval_trajectories=200)
            continue
        r = scan(inst, vary, values, eval_trajectories=200)
        assert len(r.points) == 2 and all(p.ci_low <= p.regret <= p.ci_high for p in r.points)
        json.dumps(r.to_dict(), allow_nan=False)


def test_scan_bad_arguments():
    inst = load_instance(INSTANCES / "lqr_binning.toml")
    with pytest.raises(DimensionError, match="^vary:"):
        scan(inst, "bins", [1, 2])
    with pytest.raises(DimensionError, match="^values:"):
        scan(inst, "horizon", [8, 8])
    with pytest.raises(DimensionError, match="^horizon:"):
        scan(inst, "horizon", [8, 0])


def test_cli_scan_json_and_progress(capsys):
    code = main(["scan", str(INSTANCES / "lure_tanh.toml"), "--vary", "horizon", "--values", "5,10,20",
                 "--eval-trajectories", "200", "--json"])
    out, err = capsys.readouterr()
    assert code == 0
    d = json.loads(out)
    assert d["vary"] == "horizon" and [p["value"] for p in d["points"]] == [5, 10, 20]
    assert d["learner"] == "finite" and d["instance"] == "lure_tanh" and len(d["slope_ci"]) == 2
    assert err.count("qbc scan: [") == 3


@pytest.mark.parametrize("argv, word", [
    (["--vary", "eps_q", "--values", "0.1,0.2"], "binning"),
    (["--vary", "horizon", "--values", "8,x"], "--values"),
    (["--vary", "horizon", "--values", "8,,16"], "--values"),
    (["--vary", "n", "--values", "0,4"], "n:"),
])
def test_cli_scan_bad_input_is_exit_2_one_line(capsys, tmp_path, argv, word):
    path = INSTANCES / "lqr_binning.toml"
    if word == "binning":
        text = path.read_text().replace('kind = "binning"\nlow = -2.0\nhigh = 2.0\nbins = 64',
                                        'kind = "kmeans"\nn_codes = 8\nfit_trajectories = 20')
        assert "kmeans" in text
        path = tmp_path / "km.toml"
        path.write_text(text)
    code = main(["scan", str(path), "--no-progress"] + argv)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and word in err, err
