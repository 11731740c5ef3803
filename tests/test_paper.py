"""Tests of the figure pipeline: the data builders (qbc_theory.verification.figdata), skipping, reproducibility
(qbc_theory.figures.paper)."""

import json
import math

import numpy as np
import pytest

from qbc_theory.figures import plots as F
from qbc_theory import paper
from qbc_theory.figures.construction_plots import fraction_ticks
from qbc_theory.verification import figdata as FD
from qbc_theory.model.errors import SpecError
from qbc_theory.verification.runner import cell_function


# --------------------------------------------------------------------------------------------
# figure 4: RTVC audit


@pytest.fixture(scope="module")
def fig4():
    return FD.rtvc_audit_data()


def test_rtvc_audit_has_the_five_quantizers_at_one_eps_prime(fig4):
    data, prov = fig4
    assert isinstance(data, F.RTVCAuditData)
    assert [c.label for c in data.curves] == ["binning", "k-means", "residual VQ", "DCT (chunk 1)", "trap (Thm 6)"]
    eps_q = math.pi / 64  # binning of [-pi/2, pi/2] into 32 cells, centre decoding
    assert data.eps_prime == pytest.approx(3 * eps_q, rel=1e-12)
    assert prov["eps_prime"] == data.eps_prime
    for c in data.curves:  # an envelope: increasing, in [0, 1]
        k = np.asarray(c.kappa)
        assert np.all(np.diff(k) >= 0) and k.min() >= 0 and k.max() <= 1


def test_binning_audit_agrees_with_proposition_5(fig4):
    data, _ = fig4
    binning = data.curves[0]
    eps_q = math.pi / 64
    delta0 = (3 * eps_q - 2 * eps_q) / 1.0  # (eps' - 2 eps_q) / L with L = 1 for arctan
    assert binning.delta0 == pytest.approx(delta0, rel=1e-12)
    r, k = np.asarray(binning.r), np.asarray(binning.kappa)
    # Proposition 5 (ii): kappa(r) = 0 for r <= delta0; the audit must not find a jump below it.
    assert np.all(k[r <= delta0] == 0.0)
    assert k[-1] == 1.0  # and it does find jumps at the largest radii (the modulus is not trivial)


def test_trap_quantizer_jumps_at_arbitrarily_small_distances(fig4):
    data, prov = fig4
    trap = data.curves[-1]
    assert trap.kappa[0] == 1.0 and trap.r[0] < 1e-6
    # Independent check at the edge of I_P = [-k eps/2, k eps/2] (k = 1, eps = 0.05): the quantized
    # expert action jumps by more than eps' across x = k eps / 2.
    from qbc_theory.engine.constructions import trap_loop
    q = trap_loop(0.05, A=0.2, B=0.25, k=1.0, d=0.6).quantizer
    x = np.array([[0.025 - 1e-9], [0.025 + 1e-9]])
    a = q(np.arctan(x))
    assert abs(a[0, 0] - a[1, 0]) > data.eps_prime
    assert prov["audits"]["trap (Thm 6)"]["min_radius_w1"] < 1e-6


# --------------------------------------------------------------------------------------------
# figure 5: gain profile and certificates


def test_gain_profile_matches_matrix_powers_and_certificates_hold():
    data, prov = FD.gain_profile_data()
    A, B = np.array(prov["A"]), np.array(prov["B"])
    expected = [np.linalg.norm(np.linalg.matrix_power(A, j) @ B, 2) for j in data.j]
    np.testing.assert_allclose(data.gain, expected, rtol=1e-12, atol=0)
    assert [c.label for c in data.certificates] == ["exact", "LMI"]
    j, g = np.asarray(data.j), np.asarray(data.gain)
    for c in data.certificates:
        assert np.all(g <= c.C * c.eta**j * (1 + 1e-9))
    exact, lmi = data.certificates
    # the exact constant is the sup of g_j / eta^j: attained on the drawn lags for this system
    assert np.max(g / exact.eta**j) == pytest.approx(exact.C, rel=1e-9)
    assert lmi.C >= exact.C * (1 - 1e-9)
    assert exact.C > 1.0  # non-normal A: the profile peaks above ||B|| = 1, so C matters


def test_gain_profile_refuses_an_unstable_system():
    with pytest.raises(paper.MissingDataError, match="not globally P-EIISS"):
        FD.gain_profile_data([[1.1, 0.0], [0.0, 0.5]], [[1.0], [0.0]])


# --------------------------------------------------------------------------------------------
# the pipeline


def _files(out):
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if not p.name.startswith(".")}


@pytest.fixture
def frozen_code_version(monkeypatch):
    """The manifest records the git commit and dirty flag, which other work in the checkout can change
    between two runs of a test; byte-identity is about the same code, so hold it fixed."""
    from qbc_theory.figures import style

    version = style.code_version()
    monkeypatch.setattr(style, "code_version", lambda root=None: version)  # what write_manifest calls
    return version


def test_direct_figures_rerun_byte_identical(tmp_path, monkeypatch, frozen_code_version):
    monkeypatch.setattr(paper, "builtin_spec_paths", lambda: [])
    out = tmp_path / "figs"
    kw = dict(out=out, results=tmp_path / "res", backend="serial", progress=False,
              figures=["fig5_stability"])
    report = paper.make_figures(**kw)
    assert report.built == ("fig5_stability",)
    first = _files(out)
    assert set(first) == {"fig5_stability.pdf", "fig5_stability.png", "manifest.json"}
    manifest = json.loads(first["manifest.json"])
    entry = manifest["figures"]["fig5_stability"]
    assert entry["data"]["sources"]["computed"]["eta"] == entry["data"]["plotted"]["certificates"][0]["eta"]
    assert "code_version" in entry and manifest["skipped"] == {}
    paper.make_figures(**kw)
    assert _files(out) == first


def test_fig4_through_the_pipeline_is_deterministic_and_records_its_seed(tmp_path, monkeypatch, fig4):
    monkeypatch.setattr(paper, "builtin_spec_paths", lambda: [])
    report = paper.make_figures(out=tmp_path, results=tmp_path / "res", progress=False, figures=["fig4_rtvc_audit"])
    assert report.figures[0].seeds == (FD.RTVC_ENTROPY,)
    entry = json.loads((tmp_path / "manifest.json").read_text())["figures"]["fig4_rtvc_audit"]
    assert entry["seeds"] == [FD.RTVC_ENTROPY]
    # a second computation (in the pipeline) gives exactly the numbers of the fixture's
    assert entry["data"]["plotted"] == json.loads(json.dumps(fig4[0].to_dict()))


def test_missing_specs_skip_the_figure_with_a_message(tmp_path, monkeypatch):
    monkeypatch.setattr(paper, "builtin_spec_paths", lambda: [])
    out = tmp_path / "figs"
    paper.make_figures(out=out, results=tmp_path / "res", progress=False, figures=["fig5_stability"])
    (out / "fig3_regret_vs_eps_q.png").write_bytes(b"stale")  # from an earlier run
    report = paper.make_figures(out=out, results=tmp_path / "res", backend="serial", progress=False,
                                figures=["fig3_regret_vs_eps_q"])
    (outcome,) = report.figures
    assert outcome.status == "skipped" and report.skipped == ("fig3_regret_vs_eps_q",)
    assert "thm3.eps" in outcome.message and "no built-in spec" in outcome.message
    assert not (out / "fig3_regret_vs_eps_q.png").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert list(manifest["figures"]) == ["fig5_stability"]  # kept from the earlier run, its files exist
    assert "thm3.eps" in manifest["skipped"]["fig3_regret_vs_eps_q"]["reason"]
    assert "skipped" in report.format_text()


def test_make_figures_rejects_bad_arguments(tmp_path):
    with pytest.raises(SpecError, match="profile"):
        paper.make_figures(out=tmp_path, profile="medium")
    with pytest.raises(SpecError, match="figures"):
        paper.make_figures(out=tmp_path, figures=["fig9"])
    with pytest.raises(TypeError):
        paper.make_figures(out=tmp_path, colour="red")


# --------------------------------------------------------------------------------------------
# data builders on tiny result tables


def _make_table(spec_id, grid, per_seed, per_cell=None, seeds=4, params=None):
    """A ResultTable built directly: per_seed(point, seed) -> dict, per_cell(point) -> dict."""
    from itertools import product

    from qbc_theory.verification.runner import ResultTable

    names = list(grid)
    rows, cells = [], []
    for index, values in enumerate(product(*(grid[k] for k in names))):
        point = dict(zip(names, values))
        cell_cols = per_cell(point) if per_cell else {}
        for s in range(seeds):
            rows.append({"cell": index, "seed": s, **point, **per_seed(point, s), **cell_cols})
        cells.append({"index": index, "key": f"k{index}", "spawn_key": [index], "point": point})
    columns = tuple(k for k in rows[0] if k not in ("cell", "seed", *names))
    return ResultTable(spec_id=spec_id, cell="test.cell", profile="quick", entropy=1000 + len(spec_id),
                       code_version="test", params=dict(params or {}), grid={k: list(v) for k, v in grid.items()},
                       seeds=seeds, columns=columns, rows=tuple(rows), cells=tuple(cells))


def _noise(point, s):
    """A deterministic multiplicative wobble, different per seed and point, mean over seeds 1."""
    return 1.0 + 0.1 * ((-1) ** s) * (1 + int(1000 * sum(point.values())) % 3 / 10)


def test_measured_series_means_intervals_and_fit():
    t = _make_table("x", {"n": [10, 20, 40, 80]}, lambda p, s: {"r": 3.0 / p["n"] * _noise(p, s)})
    series = FD.measured_series(t, "r", "n", label="lab", rng=np.random.default_rng(0))
    x, y = t.pivot("r", "n")
    np.testing.assert_allclose(series.mean, y.mean(axis=0), rtol=1e-15, atol=0)
    half = 3.182446305284263 * y.std(axis=0, ddof=1) / 2.0  # t_{3, 0.975} with 4 seeds
    np.testing.assert_allclose(series.ci_high, y.mean(axis=0) + half, rtol=1e-12, atol=0)
    np.testing.assert_allclose(series.ci_low, y.mean(axis=0) - half, rtol=1e-12, atol=0)
    slope, _ = np.polyfit(np.log(x), np.log(y.mean(axis=0)), 1)
    assert series.fit.slope == pytest.approx(slope, rel=1e-12)
    assert series.fit.slope == pytest.approx(-1.0, abs=0.05)  # the data's own exponent, up to the wobble
    with pytest.raises(paper.MissingDataError, match="'nope'"):
        FD.measured_series(t, "nope", "n", label="lab", rng=np.random.default_rng(0))
    one = _make_table("x", {"n": [10, 20]}, lambda p, s: {"r": 1.0 / p["n"]}, seeds=1)
    single = FD.measured_series(one, "r", "n", label="lab", rng=np.random.default_rng(0))
    assert single.fit is None and single.ci_low is None


def test_cell_values_refuses_a_column_that_varies_between_seeds():
    t = _make_table("x", {"n": [1, 2]}, lambda p, s: {"r": float(s)}, lambda p: {"b": 2.0 * p["n"]})
    x, b = FD.cell_values(t, "b", "n")
    np.testing.assert_array_equal(b, [2.0, 4.0])
    with pytest.raises(paper.MissingDataError, match="differs between seeds"):
        FD.cell_values(t, "r", "n")


def test_library_bound_statistical_part_and_placeholders():
    H, delta, Pi = 20, 0.05, 1001
    t = _make_table("thm3.rate_n", {"n": [8, 64]}, lambda p, s: {"regret_stat": 1.0 / p["n"]},
                    lambda p: {"Pi": float(Pi), "Gamma": 2.0, "L": 0.3, "k": 7.0, "L_r": 0.1, "eps_sup": 0.05},
                    params={"H": H, "delta": delta})
    x, y = FD.library_bound(t, "thm3_binning", "n", overrides={"eps_q": 0.0})
    # with eps_q = 0 and the H^2 term switched off (L Gamma (k+1) < k - 2) only 24 H log(2|Pi|/delta)/n is left
    np.testing.assert_allclose(y, 24 * H * np.log(2 * Pi / delta) / x, rtol=1e-12, atol=0)
    # eps_q from the cell's eps_sup column (its ladder-free alias): adds the H L_r eps_q (Gamma+1)(k+1) term
    _, full = FD.library_bound(t, "thm3_binning", "n")
    np.testing.assert_allclose(full - y, H * 0.1 * 0.05 * 3 * 8, rtol=1e-9, atol=0)
    # a symbol the expression still needs is reported, not filled in
    bare = _make_table("b", {"n": [8, 64]}, lambda p, s: {"r": 1.0}, params={"H": H})
    with pytest.raises(paper.MissingDataError, match="delta"):
        FD.library_bound(bare, "thm3_binning", "n", overrides={"eps_q": 0.0})
    # Pi from log_Pi
    t2 = _make_table("thm2.rate_n", {"n": [16, 64]}, lambda p, s: {"stat": 1.0},
                     lambda p: {"log_Pi": float(np.log(221))}, params={"H": 10, "delta": delta})
    x2, y2 = FD.library_bound(t2, "thm2", "n", overrides={"eps_q": 0.0})
    np.testing.assert_allclose(y2, np.sqrt(6) * 10 * np.sqrt(np.log(2 * 221 / delta) / x2), rtol=1e-12, atol=0)


def _thm3_like(spec_id, ladder, values, per_seed, params):
    cell = {"Pi": 11.0, "Gamma": 2.0, "L": 0.3, "k": 7.0, "L_r": 0.1}
    return _make_table(spec_id, {ladder: values}, per_seed,
                       lambda p: {**cell, "eps_sup": p.get("eps_q", 0.05), "bound": 50.0}, params=params)


def test_regret_vs_n_data_from_tables():
    t3 = _thm3_like("thm3.rate_n", "n", [8, 16, 32], lambda p, s: {"regret_stat": 0.5 / p["n"] * _noise(p, s)},
                    {"H": 20, "delta": 0.05, "eps_q": 0.05})
    t2 = _make_table("thm2.rate_n", {"n": [16, 64, 256]}, lambda p, s: {"stat": 0.3 / np.sqrt(p["n"])},
                     lambda p: {"log_Pi": float(np.log(50)), "C": 1.0, "eta": 0.5, "kappa": 0.4, "eps_q": 0.01},
                     params={"H": 10, "delta": 0.05})
    data, prov, notes = FD.regret_vs_n_data({"thm3.rate_n": t3, "thm2.rate_n": t2})
    assert isinstance(data, F.ScalingData)
    det, gauss = data.measured
    np.testing.assert_allclose(det.mean, t3.pivot("regret_stat", "n")[1].mean(axis=0), rtol=1e-15, atol=0)
    np.testing.assert_allclose(gauss.mean, 0.3 / np.sqrt([16, 64, 256]), rtol=1e-12, atol=0)
    assert gauss.fit.slope == pytest.approx(-0.5, abs=1e-9)
    kinds = [(b.label.split(" (")[0], b.kind) for b in data.bounds]
    # Theorems 8 and 9 are minimax bounds (an instance built for each n), not bounds on these instances:
    # they are reported, not drawn
    assert kinds == [("Thm 3 upper", "upper"), ("Thm 2 upper", "upper")]
    worst = prov["worst_case_lower_bounds_not_drawn"]
    assert worst["thm3.rate_n"]["bound"] == "thm8" and worst["thm2.rate_n"]["bound"] == "thm9"
    thm8 = [(20 * (1 - np.sqrt(2 * (1 - (1 - 1 / (3 * n)) ** n))) / (12 * n)) / 2 for n in (8, 16, 32)]
    np.testing.assert_allclose(worst["thm3.rate_n"]["values"], thm8, rtol=1e-12, atol=0)
    assert any("minimax bound is not a bound on this instance" in n for n in notes)
    # upper: statistical part + delta H
    np.testing.assert_allclose(data.bounds[0].y, 24 * 20 * np.log(2 * 11 / 0.05) / np.array([8, 16, 32]) + 1.0,
                               rtol=1e-12, atol=0)
    # without thm2 the figure has the deterministic series only
    data1, _, _ = FD.regret_vs_n_data({"thm3.rate_n": t3})
    assert [s.label for s in data1.measured] == [det.label]
    with pytest.raises(paper.MissingDataError, match="thm3.rate_n"):
        FD.regret_vs_n_data({"thm2.rate_n": t2})


def test_regret_vs_h_data_takes_the_smallest_scale():
    t3 = _thm3_like("thm3.horizon", "H", [8, 16], lambda p, s: {"regret": 0.001 * p["H"] * _noise(p, s)},
                    {"n": 256, "delta": 0.05})
    t6 = _make_table("thm6.det", {"eps": [0.001, 0.01], "H": [50, 200]},
                     lambda p, s: {"regret": (0.15 + p["eps"]) * p["H"]}, lambda p: {"lower_bound": 0.02 * p["H"]})
    data, prov, notes = FD.regret_vs_h_data({"thm3.horizon": t3, "thm6.det": t6})
    trap = data.measured[1]
    np.testing.assert_allclose(trap.mean, [0.151 * 50, 0.151 * 200], rtol=1e-12, atol=0)
    assert prov["thm6.det"]["where"] == {"eps": 0.001}
    assert [b.kind for b in data.bounds] == ["upper", "lower"] and data.bounds[1].match == trap.label


def test_regret_vs_eps_data_and_missing_column():
    t3 = _thm3_like("thm3.eps", "eps_q", [0.01, 0.02, 0.04], lambda p, s: {"regret": 0.5 * p["eps_q"]},
                    {"n": 256, "H": 20, "delta": 0.05})
    trap = _make_table("fig3.trap", {"eps_q": [0.001, 0.002]},
                       lambda p, s: {"regret": 30.0, "eps_in": 0.015 + 5 * p["eps_q"] + 0.001 * (s - 1.5)},
                       lambda p: {"lower_bound": 4.0}, params={"H": 50})
    data, prov, notes = FD.regret_vs_eps_data({"thm3.eps": t3, "fig3.trap": trap})
    assert data.measured[0].fit.slope == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(data.measured[0].x, [0.01, 0.02, 0.04], rtol=0, atol=0)  # binning: its sup error
    np.testing.assert_allclose(data.measured[1].mean, [30.0, 30.0], rtol=0, atol=1e-12)
    # the trap is drawn at its measured in-distribution error, not at the construction's eps (the ladder)
    np.testing.assert_allclose(data.measured[1].x, [0.02, 0.025], rtol=1e-12, atol=0)
    assert data.measured[1].x_low is not None and data.measured[1].x_low[0] < 0.02 < data.measured[1].x_high[0]
    assert data.bounds[1].x == data.measured[1].x  # its bound at the same x
    assert prov["fig3.trap"]["x_column"] == "eps_in"
    assert any("eps_in" in n for n in notes)
    # a measured x that does not increase along the ladder cannot be an axis
    flat = _make_table("fig3.trap", {"eps_q": [0.001, 0.002]}, lambda p, s: {"regret": 30.0, "eps_in": 0.02},
                       lambda p: {"lower_bound": 4.0}, params={"H": 50})
    with pytest.raises(paper.MissingDataError, match="does not increase"):
        FD.regret_vs_eps_data({"thm3.eps": t3, "fig3.trap": flat})
    # binning's ladder must be its measured sup error
    off = _make_table("thm3.eps", {"eps_q": [0.01, 0.02]}, lambda p, s: {"regret": 0.5 * p["eps_q"]},
                      lambda p: {"eps_sup": 2 * p["eps_q"], "bound": 50.0}, params={"H": 20})
    with pytest.raises(paper.MissingDataError, match="sup error"):
        FD.regret_vs_eps_data({"thm3.eps": off, "fig3.trap": trap})
    broken = _make_table("fig3.trap", {"eps_q": [0.001, 0.002]},
                         lambda p, s: {"regret": 30.0, "eps_in": 0.015 + 5 * p["eps_q"]})
    with pytest.raises(paper.MissingDataError, match="lower_bound"):
        FD.regret_vs_eps_data({"thm3.eps": t3, "fig3.trap": broken})


def test_blowup_and_sandwich_data_from_tables():
    def lip(rho):
        return _make_table(f"lip{rho}", {"H": [4, 8]}, lambda p, s: {"gap": 0.01 * rho ** p["H"]},
                           lambda p: {"gap_closed_form": 0.01 * rho ** p["H"], "rho_closed_loop": rho},
                           params={"delta": 0.01})
    data, _, notes = FD.blowup_data({"lipschitz.exp": lip(1.5), "lipschitz.exp.control": lip(0.5)})
    assert isinstance(data, F.BlowupData) and len(data.curves) == 3
    np.testing.assert_allclose(data.curves[0].y, 0.01 * 1.5 ** np.array([4, 8]), rtol=1e-12, atol=0)
    assert "1.5" in data.curves[0].label and "0.5" in data.curves[2].label
    t8 = _make_table("thm8.tight", {"n": [8, 32, 128]}, lambda p, s: {"regret_avg": 1.0 / p["n"] * _noise(p, s)},
                     lambda p: {"bound": 0.01 / p["n"]}, params={"H": 5})
    sand, _, notes = FD.sandwich_data({"thm8.tight": t8})
    (panel,) = sand.panels
    np.testing.assert_allclose(panel.lower, 0.01 / np.array([8, 32, 128]), rtol=1e-12, atol=0)
    np.testing.assert_allclose(panel.upper, 24 * 5 * np.log(2 * 2 / 0.05) / np.array([8, 32, 128]) + 0.25,
                               rtol=1e-12, atol=0)
    assert any("eps_q" in n for n in notes)


# --------------------------------------------------------------------------------------------
# the pipeline end to end on tiny specs run by the runner


@cell_function("paper_test.binning", version="1")
def _binning_cell(params, seeds, seed):
    rng = np.random.default_rng(seed)
    eps = params["eps_q"]
    return {"regret": list(params["H"] * eps * (1 + 0.1 * rng.standard_normal(seeds))), "bound": 10.0 * eps + 1.0,
            "eps_sup": eps}


@cell_function("paper_test.trap", version="1")
def _trap_cell(params, seeds, seed):
    rng = np.random.default_rng(seed)
    return {"regret": list(0.3 * params["H"] * (1 + 0.05 * rng.standard_normal(seeds))), "eps_in": params["eps_q"],
            "lower_bound": 0.1 * params["H"]}


def _spec(path, spec_id, cell, entropy):
    path.write_text(f"""id = "{spec_id}"
cell = "{cell}"
entropy = {entropy}
[params]
H = 10
[grid]
eps_q = [0.01, 0.02, 0.04]
[profiles.quick]
seeds = 3
[profiles.full]
seeds = 4
""")
    return path


def test_pipeline_runs_specs_through_the_cache_and_reruns_byte_identical(tmp_path, monkeypatch,
                                                                        frozen_code_version):
    specs = [_spec(tmp_path / "thm3.eps.toml", "thm3.eps", "paper_test.binning", 11),
             _spec(tmp_path / "fig3.trap.toml", "fig3.trap", "paper_test.trap", 12)]
    monkeypatch.setattr(paper, "builtin_spec_paths", lambda: specs)
    out, res = tmp_path / "figs", tmp_path / "res"
    kw = dict(out=out, results=res, backend="serial", progress=False, figures=["fig3_regret_vs_eps_q"])
    report = paper.make_figures(**kw)
    (outcome,) = report.figures
    assert outcome.status == "built" and outcome.specs == ("thm3.eps", "fig3.trap")
    assert outcome.seeds == (11, 12)
    first = _files(out)
    manifest = json.loads(first["manifest.json"])
    entry = manifest["figures"]["fig3_regret_vs_eps_q"]
    assert entry["spec"] == "thm3.eps, fig3.trap" and entry["seeds"] == [11, 12]
    # the numbers plotted are the tables' means
    table = json.loads((res / "thm3.eps.quick.json").read_text())
    regrets = np.array([r["regret"] for r in table["rows"]]).reshape(3, 3)
    plotted = entry["data"]["plotted"]["measured"][0]
    np.testing.assert_allclose(plotted["mean"], regrets.mean(axis=1), rtol=1e-15, atol=0)
    assert [s["spec"] for s in entry["data"]["sources"]["specs"]] == ["thm3.eps", "fig3.trap"]
    again = paper.make_figures(**kw)
    assert _files(out) == first
    rerun = json.loads((res / "thm3.eps.quick.json").read_text())["run"]
    assert rerun["computed"] == [] and rerun["cached"] == [0, 1, 2]  # nothing recomputed
    assert again.built == report.built


def test_pipeline_skips_a_figure_whose_column_is_missing(tmp_path, monkeypatch):
    specs = [_spec(tmp_path / "thm3.eps.toml", "thm3.eps", "paper_test.binning", 11),
             _spec(tmp_path / "fig3.trap.toml", "fig3.trap", "paper_test.binning", 12)]
    monkeypatch.setattr(paper, "builtin_spec_paths", lambda: specs)
    report = paper.make_figures(out=tmp_path / "figs", results=tmp_path / "res", backend="serial", progress=False,
                                figures=["fig3_regret_vs_eps_q"])
    (outcome,) = report.figures
    assert outcome.status == "skipped" and "eps_in" in outcome.message  # the trap's measured x
    assert not (tmp_path / "figs" / "fig3_regret_vs_eps_q.pdf").exists()


# --------------------------------------------------------------------------------------------
# figure 6's TVC learners and regret panel, figure 7's panel along eps_q


def _lip_table(spec_id, rho, params=None):
    return _make_table(spec_id, {"H": [4, 8]}, lambda p, s: {"gap": 0.01 * rho ** p["H"]},
                       lambda p: {"gap_closed_form": 0.01 * rho ** p["H"], "rho_closed_loop": rho},
                       params=params or {"A": 0.5, "B": 1.0, "K": 1.0, "delta": 0.01})


def _tvc_table(params=None):
    def per_seed(p, s):
        wobble = _noise(p, s)
        return {"gap": 0.05 * p["smoothing"] * 1.5 ** p["H"] * wobble, "regret": 0.3 * p["H"] * wobble,
                "regret_lipschitz": 0.3 * p["H"], "prop4": 2.0 * p["H"] ** 2 * wobble}

    def per_cell(p):
        return {"gap_closed_form": 0.05 * p["smoothing"] * 1.5 ** p["H"], "regret_closed_form": 0.3 * p["H"],
                "rho_closed_loop": 1.5}

    return _make_table("fig6.tvc", {"smoothing": [0.01, 0.1], "H": [4, 8, 12]}, per_seed, per_cell,
                       params=params or {"A": 0.5, "B": 1.0, "K": 1.0, "delta": 0.01})


def test_blowup_data_adds_the_tvc_learners_of_the_same_example_only():
    tables = {"lipschitz.exp": _lip_table("lipschitz.exp", 1.5),
              "lipschitz.exp.control": _lip_table("lipschitz.exp.control", 0.5), "fig6.tvc": _tvc_table()}
    data, prov, notes = FD.blowup_data(tables)
    assert len(data.curves) == 5
    tvc = data.curves[3:]
    assert ["s = 0.01" in tvc[0].label, "s = 0.1" in tvc[1].label] == [True, True]
    x, y = tables["fig6.tvc"].pivot("gap", "H", {"smoothing": 0.1})
    np.testing.assert_allclose(tvc[1].y, y.mean(axis=0), rtol=1e-15, atol=0)
    assert prov["fig6.tvc"]["by_s"]["0.1"]["gap_closed_form"] == pytest.approx(list(0.005 * 1.5 ** x), rel=1e-12)
    assert not any("no TVC learner" in n for n in notes)
    # a TVC spec on another example is not drawn against this one
    tables["fig6.tvc"] = _tvc_table({"A": 0.7, "B": 1.0, "K": 1.0, "delta": 0.01})
    data2, prov2, notes2 = FD.blowup_data(tables)
    assert len(data2.curves) == 3 and "fig6.tvc" not in prov2
    assert any("no TVC learner" in n and "A: 0.7 vs 0.5" in n for n in notes2)
    del tables["fig6.tvc"]
    _, _, notes3 = FD.blowup_data(tables)
    assert any("no results" in n for n in notes3)


def test_blowup_regret_panel_and_the_composite_figure_data():
    tables = {"lipschitz.exp": _lip_table("lipschitz.exp", 1.5),
              "lipschitz.exp.control": _lip_table("lipschitz.exp.control", 0.5), "fig6.tvc": _tvc_table()}
    reg, prov, notes = FD.blowup_regret_data(tables)
    assert [s.label for s in reg.measured] == ["Lipschitz learner $Kx$", "TVC learner, $s = 0.01$",
                                               "TVC learner, $s = 0.1$"]
    np.testing.assert_allclose(reg.measured[0].mean, [1.2, 2.4, 3.6], rtol=1e-12, atol=0)
    prop4 = [b for b in reg.bounds if b.label.startswith("Prop 4")]
    _, p4 = tables["fig6.tvc"].pivot("prop4", "H", {"smoothing": 0.1})
    np.testing.assert_allclose(prop4[1].y, p4.mean(axis=0), rtol=1e-15, atol=0)
    trivial = reg.bounds[-1]
    assert trivial.kind == "upper" and trivial.y == trivial.x == (4.0, 8.0, 12.0)
    assert any("above the trivial bound H" in n for n in notes)
    fig_data, fprov, _ = FD.blowup_figure(tables)
    assert isinstance(fig_data, FD.BlowupFigure) and fig_data.regret is not None and "regret_panel" in fprov
    assert json.dumps(fig_data.to_dict(), allow_nan=False)
    with F.paper_style():
        assert len(F.draw_blowup_figure(fig_data).axes) == 2
    bare, _, _ = FD.blowup_figure({k: v for k, v in tables.items() if k != "fig6.tvc"})
    assert bare.regret is None
    with F.paper_style():
        assert len(F.draw_blowup_figure(bare).axes) == 1
    broken = _make_table("fig6.tvc", {"smoothing": [0.1], "H": [4, 8]}, lambda p, s: {"gap": 1.0},
                         lambda p: {"gap_closed_form": 1.0, "rho_closed_loop": 1.5},
                         params={"A": 0.5, "B": 1.0, "K": 1.0, "delta": 0.01})
    partial, _, pnotes = FD.blowup_figure({**tables, "fig6.tvc": broken})
    assert partial.regret is None and any("regret panel left out" in n and "regret" in n for n in pnotes)


def _eps_table(thm3_scale=10.0):
    eps = [1 / 64, 1 / 16, 1 / 4]
    return _make_table("fig7.eps", {"eps_q": eps}, lambda p, s: {"regret_avg": 2.5 * p["eps_q"] * _noise(p, s)},
                       lambda p: {"bound": 1.25 * p["eps_q"], "bound_lecam": 1.8 * p["eps_q"],
                                  "regret_avg_exact": 2.5 * p["eps_q"], "upper_trivial": 5.0,
                                  "upper_thm3": thm3_scale * (1 + p["eps_q"])},
                       params={"H": 5, "n": 256, "k": 3.0})


def test_sandwich_data_has_a_panel_along_eps_q_from_fig7_eps():
    t8 = _make_table("thm8.tight", {"n": [8, 32, 128]}, lambda p, s: {"regret_avg": 1.0 / p["n"] * _noise(p, s)},
                     lambda p: {"bound": 0.01 / p["n"]}, params={"H": 5})
    sand, prov, notes = FD.sandwich_data({"thm8.tight": t8, "fig7.eps": _eps_table()})
    assert [p.variable for p in sand.panels] == ["n", "eps_q"]
    panel = sand.panels[1]
    np.testing.assert_allclose(panel.lower, 1.25 * np.array([1 / 64, 1 / 16, 1 / 4]), rtol=1e-12, atol=0)
    np.testing.assert_allclose(panel.upper, [5.0, 5.0, 5.0], rtol=0, atol=0)
    assert panel.upper_label == "trivial upper ($H$)" and dict(panel.fixed) == {"H": 5.0, "n": 256.0}
    assert panel.measured.fit.slope == pytest.approx(1.0, abs=0.05)
    assert any("above H on the whole ladder" in n for n in notes)
    assert prov["fig7.eps"]["upper_thm3"] == pytest.approx([10 * (1 + e) for e in (1 / 64, 1 / 16, 1 / 4)])
    # a Theorem 3 value below H is drawn where it is smaller, and reported as such
    low_data, _, low = FD.sandwich_data({"thm8.tight": t8, "fig7.eps": _eps_table(thm3_scale=4.9)})
    assert any("below H somewhere" in n for n in low) and not any("whole ladder" in n for n in low)
    np.testing.assert_allclose(low_data.panels[1].upper, [4.9 * (1 + 1 / 64), 5.0, 5.0], rtol=1e-12, atol=0)
    assert "Thm 3" in low_data.panels[1].upper_label
    # a table without the lower bound gives no panel, and says which column is missing
    broken = _make_table("fig7.eps", {"eps_q": [1 / 64, 1 / 4]}, lambda p, s: {"regret_avg": 1.0})
    only_n, _, why = FD.sandwich_data({"thm8.tight": t8, "fig7.eps": broken})
    assert [p.variable for p in only_n.panels] == ["n"]
    assert any("no panel along eps_q" in n and "'bound'" in n for n in why)
    with F.paper_style():
        fig = F.draw_sandwich_figure(sand)
        fig.canvas.draw()
        labels = [t.get_text() for t in fig.axes[1].get_xticklabels() if t.get_text()]
    assert labels == ["1/64", "1/16", "1/4"]
    assert fraction_ticks(0.3) == "0.3" and fraction_ticks(0.125) == "1/8"


def _real_spec(out, spec_id, cell, params, grid, entropy):
    path = out / f"{spec_id}.toml"  # the pipeline finds built-in specs by file stem
    body = "\n".join(f"{k} = {v!r}" for k, v in params.items())
    ladders = "\n".join(f"{k} = {v!r}" for k, v in grid.items())
    path.write_text(f'id = "{spec_id}"\ncell = "{cell}"\nentropy = {entropy}\n[params]\n{body}\n[grid]\n{ladders}\n'
                    f"[profiles.quick]\nseeds = 3\n[profiles.full]\nseeds = 4\n")
    return path


def test_pipeline_draws_figures_6_and_7_from_the_real_cells_byte_identically(tmp_path, monkeypatch,
                                                                             frozen_code_version):
    example = {"A": 0.5, "B": 1.0, "K": 1.0, "delta": 0.01}
    specs = [
        _real_spec(tmp_path, "lipschitz.exp", "constructions.lipschitz_gap",
                   {**example, "noise_std": 0.1, "trajectories": 20}, {"H": [4, 8]}, 21),
        _real_spec(tmp_path, "lipschitz.exp.control", "constructions.lipschitz_gap",
                   {**example, "K": -1.0, "noise_std": 0.1, "trajectories": 20}, {"H": [4, 8]}, 22),
        _real_spec(tmp_path, "fig6.tvc", "figures.tvc_blowup",
                   {**example, "reward_scale": 1.0, "trajectories": 50}, {"smoothing": [0.1], "H": [4, 8]}, 23),
        _real_spec(tmp_path, "thm8.tight", "thm8.tight", {"H": 5, "datasets": 2}, {"n": [8, 32]}, 24),
        _real_spec(tmp_path, "fig7.eps", "figures.thm8_eps",
                   {"H": 5, "n": 32, "datasets": 2, "k": 3.0, "delta": 0.05}, {"eps_q": [0.0625, 0.25]}, 25),
    ]
    monkeypatch.setattr(paper, "builtin_spec_paths", lambda: specs)
    out = tmp_path / "figs"
    kw = dict(out=out, results=tmp_path / "res", backend="serial", progress=False,
              figures=["fig6_lipschitz_blowup", "fig7_bound_sandwich"])
    report = paper.make_figures(**kw)
    assert report.built == ("fig6_lipschitz_blowup", "fig7_bound_sandwich")
    assert report.figures[0].specs == ("lipschitz.exp", "lipschitz.exp.control", "fig6.tvc")
    assert report.figures[1].specs == ("thm8.tight", "fig7.eps")
    first = _files(out)
    manifest = json.loads(first["manifest.json"])
    fig6 = manifest["figures"]["fig6_lipschitz_blowup"]["data"]["plotted"]
    assert len(fig6["gap"]["curves"]) == 4 and len(fig6["regret"]["measured"]) == 2
    fig7 = manifest["figures"]["fig7_bound_sandwich"]["data"]["plotted"]
    assert [p["variable"] for p in fig7["panels"]] == ["n", "eps_q"]
    paper.make_figures(**kw)
    assert _files(out) == first


# --------------------------------------------------------------------------------------------
# the command: qbc figs writes to the untracked output folder unless told otherwise


def test_qbc_figs_writes_to_the_output_folder_by_default(monkeypatch, capsys):
    from qbc_theory.cli import main

    seen = {}

    def fake(**kw):
        seen.update(kw)
        return paper.FiguresReport(str(kw["out"]), kw["profile"], str(kw["results"]), (), "m.json", 0.0)

    monkeypatch.setattr(paper, "make_figures", fake)
    assert main(["figs", "--quick", "--no-progress"]) == 0
    assert seen["out"] == paper.DEFAULT_OUT == "qbc-out/figs"  # not paper_figs: the README's command leaves git clean
    assert main(["figs", "--quick", "--no-progress", "--out", "paper_figs"]) == 0
    assert seen["out"] == "paper_figs"  # the committed figures are regenerated only when asked
    capsys.readouterr()


def test_regeneration_is_byte_identical_with_the_real_builders(tmp_path, monkeypatch, frozen_code_version):
    """Two runs of figures 4, 5 and 3 (tiny specs) give the same bytes in every file, manifest included."""
    specs = [_spec(tmp_path / "thm3.eps.toml", "thm3.eps", "paper_test.binning", 11),
             _spec(tmp_path / "fig3.trap.toml", "fig3.trap", "paper_test.trap", 12)]
    monkeypatch.setattr(paper, "builtin_spec_paths", lambda: specs)
    kw = dict(results=tmp_path / "res", backend="serial", progress=False,
              figures=["fig3_regret_vs_eps_q", "fig5_stability"])
    paper.make_figures(out=tmp_path / "a", **kw)
    paper.make_figures(out=tmp_path / "b", **kw)
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert sorted(first) == sorted(second) and len(first) == 5
    assert first == second
