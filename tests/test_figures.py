"""Tests of the plot layer: the plot functions on tiny data, the style, reproducible saving, the manifest."""

import importlib.resources
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.artist import Artist  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg  # noqa: E402
from matplotlib.collections import LineCollection, PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

import qbc_theory  # noqa: E402
from qbc_theory.figures import plots as F  # noqa: E402
from qbc_theory.model.errors import DimensionError  # noqa: E402

OKABE_ITO = {"#000000", "#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7"}
TYPE3 = re.compile(rb"/Subtype\s*/Type3")
TRUETYPE = re.compile(rb"/FontFile2")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ------------------------------------------------------------------ tiny data


def _series(label, x, y, fit=True):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    f = F.PowerLawFit(-1.0, -1.2, -0.8, prefactor=float(y[0] * x[0])) if fit else None
    return F.MeasuredSeries(label, x, y, 0.8 * y, 1.2 * y, fit=f)


def scaling_data():
    n = [10, 20, 40]
    return F.ScalingData(
        measured=[_series("det", n, [0.4, 0.2, 0.1]), _series("sto", n, [0.3, 0.21, 0.15], fit=False)],
        bounds=[F.BoundCurve("Thm 3 upper", n, [4.0, 2.0, 1.0], "upper", match="det"),
                F.BoundCurve("Thm 8 lower", n, [0.04, 0.02, 0.01], "lower")],
        fixed={"H": 10, "eps_q": 0.01})


def rtvc_data():
    r = [0.0, 0.1, 0.2, 0.3]
    return F.RTVCAuditData([F.ModulusCurve("binning", r, [0, 0, 1, 1], delta0=0.15),
                            F.ModulusCurve("trap", r, [0, 1, 1, 1])], eps_prime=0.05)


def gain_data():
    j = np.arange(6)
    return F.GainProfileData(j, 0.8 ** j, [F.Certificate("exact", 1.0, 0.8), F.Certificate("LMI", 2.0, 0.9)])


def blowup_data():
    H = [2, 4, 8]
    return F.BlowupData([F.Curve("Lipschitz", H, [0.1, 1.0, 10.0]), F.Curve("TVC", H, [0.1, 0.12, 0.13])],
                        fixed={"delta": 0.01})


def sandwich_data():
    n = [10, 20, 40]
    eps = [0.01, 0.02, 0.04]
    return F.SandwichData([
        F.SandwichPanel("n", n, [0.01, 0.005, 0.0025], [1.0, 0.5, 0.25], _series("measured", n, [0.1, 0.05, 0.02]),
                        "Thm 8 lower", "Thm 3 upper", fixed={"eps_q": 0.01}),
        F.SandwichPanel("eps_q", eps, [0.01, 0.02, 0.04], [1.0, 2.0, 4.0],
                        _series("measured", eps, [0.1, 0.2, 0.4], fit=False), fixed={"n": 100})])


CASES = [
    (F.regret_vs_n_plot, scaling_data),
    (F.regret_vs_h_plot, scaling_data),
    (F.regret_vs_eps_plot, scaling_data),
    (F.rtvc_audit_plot, rtvc_data),
    (F.stability_plot, gain_data),
    (F.blowup_plot, blowup_data),
]
IDS = [f.__name__ for f, _ in CASES]


def _lines(result):
    return [a for a in result.artists if isinstance(a, Line2D)]


def _has_line(result, x, y, rtol=1e-12):
    """Whether a drawn line carries exactly the points (x, y)."""
    for line in _lines(result):
        lx, ly = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
        if lx.shape == np.shape(x) and np.allclose(lx, x, rtol=rtol, atol=0) and np.allclose(ly, y, rtol=rtol, atol=0):
            return True
    return False


# ------------------------------------------------------------------ plot functions


@pytest.mark.parametrize("plot, make", CASES, ids=IDS)
def test_plot_draws_on_given_ax_and_returns_its_artists(plot, make):
    fig, ax = plt.subplots()
    other = fig.add_subplot(2, 2, 4)
    result = plot(make(), ax=ax)
    assert result.figure is fig
    assert result.axes == (ax,)
    assert result.artists
    children = set(ax.get_children())
    for artist in result.artists:
        assert isinstance(artist, Artist)
        assert artist.axes is ax
        assert artist in children
    assert not other.lines and not other.collections
    assert len(result.legends) == 1 and result.legends[0].axes is ax


def test_figure_set_names_the_seven_plot_functions():
    assert list(F.FIGURES.values()) == [f for f, _ in CASES] + [F.sandwich_plot]
    assert all(re.fullmatch(r"fig[1-7]_[A-Za-z_]+", stem) for stem in F.FIGURES)
    assert [stem[:4] for stem in F.FIGURES] == [f"fig{i}" for i in range(1, 8)]


def test_sandwich_draws_one_panel_per_given_ax():
    fig, axes = plt.subplots(2, 1)
    result = F.sandwich_plot(sandwich_data(), ax=axes)
    assert result.axes == tuple(axes)
    for a in axes:
        mine = [art for art in result.artists if art.axes is a]
        assert any(isinstance(art, PolyCollection) for art in mine)
        assert sum(isinstance(art, Line2D) for art in mine) >= 3
        assert set(mine) <= set(a.get_children())
    assert {art.axes for art in result.artists} == set(axes)


def test_sandwich_refuses_wrong_number_of_axes():
    fig, axes = plt.subplots(3, 1)
    with pytest.raises(DimensionError, match="expected 2 Axes"):
        F.sandwich_plot(sandwich_data(), ax=axes)
    with pytest.raises(DimensionError, match="sequence of 2 Axes"):
        F.sandwich_plot(sandwich_data(), ax=axes[0])


@pytest.mark.parametrize("plot, make", CASES + [(F.sandwich_plot, sandwich_data)], ids=IDS + ["sandwich_plot"])
def test_plot_without_ax_makes_its_own_figure(plot, make):
    before = plt.get_fignums()
    with F.paper_style():
        result = plot(make())
    assert isinstance(result.figure, Figure)
    assert all(a.figure is result.figure for a in result.axes)
    assert result.figure.get_figwidth() == pytest.approx(5.0, abs=1e-12)
    assert plt.get_fignums() == before  # not registered with pyplot, nothing to leak


@pytest.mark.parametrize("plot, make", CASES + [(F.sandwich_plot, sandwich_data)], ids=IDS + ["sandwich_plot"])
def test_plot_rejects_bad_ax_data_and_style(plot, make):
    with pytest.raises(DimensionError, match="ax: expected"):
        plot(make(), ax="not an axes")
    with pytest.raises(TypeError, match="colour"):
        plot(make(), colour="red")
    with pytest.raises(DimensionError, match="expected"):
        plot({"x": [1, 2]})


def test_scaling_plot_draws_the_numbers_given():
    data = scaling_data()
    result = F.regret_vs_n_plot(data)
    ax = result.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    for s in data.measured:
        assert _has_line(result, s.x, s.mean)
    for b in data.bounds:
        assert _has_line(result, b.x, b.y)
        line = next(ln for ln in _lines(result) if np.array_equal(ln.get_ydata(), b.y))
        assert line.get_linestyle() == {"upper": "--", "lower": ":"}[b.kind]
    det_marker = next(ln for ln in _lines(result) if np.array_equal(ln.get_ydata(), data.measured[0].mean))
    upper = next(ln for ln in _lines(result) if ln.get_label() == "Thm 3 upper")
    assert upper.get_color() == det_marker.get_color()  # match= gives the measured series' colour
    fit = data.measured[0].fit
    fit_lines = [ln for ln in _lines(result) if len(ln.get_xdata()) == 64]
    assert len(fit_lines) == 1
    gx = np.asarray(fit_lines[0].get_xdata())
    np.testing.assert_allclose(fit_lines[0].get_ydata(), fit.prefactor * gx ** fit.slope, rtol=1e-12, atol=0)
    texts = [t.get_text() for t in result.legends[0].get_texts()]
    assert any("slope -1.00 [-1.20, -0.80]" in t for t in texts)
    assert "H = 10" in result.legends[0].get_title().get_text()
    assert "slope [95% CI]" in result.legends[0].get_title().get_text()
    assert ax.get_ylabel() == F.REGRET_LABEL
    assert "$n$" in ax.get_xlabel()


def test_axis_labels_name_the_swept_symbol():
    assert "$H$" in F.regret_vs_h_plot(scaling_data()).axes[0].get_xlabel()
    assert r"\varepsilon_q" in F.regret_vs_eps_plot(scaling_data()).axes[0].get_xlabel()
    with F.paper_style():
        assert r"\kappa(r)" in F.rtvc_audit_plot(rtvc_data()).figure.get_supylabel()
    assert r"\|A^j B\|" in F.stability_plot(gain_data()).axes[0].get_ylabel()


def test_nonpositive_points_on_log_axes_are_left_out_and_counted():
    x = [10, 20, 40]
    mean = [0.2, -0.01, 0.05]
    s = F.MeasuredSeries("alg", x, mean, [0.1, -0.05, 0.01], [0.3, 0.03, 0.09])
    result = F.regret_vs_n_plot(F.ScalingData([s]))
    assert _has_line(result, [10, 40], [0.2, 0.05])
    assert not _has_line(result, x, mean)
    assert any("1 pt" in t.get_text() for t in result.legends[0].get_texts())
    (bars,) = [a for a in result.artists if isinstance(a, LineCollection)]
    assert len(bars.get_segments()) == 3  # the interval of the hidden mean still shows above 0
    (band,) = [a for a in result.artists if isinstance(a, PolyCollection)]  # the interval as a band too
    assert s.to_dict()["mean"] == mean  # kept in the data, hence in the manifest
    # the same series on a linear y axis is drawn whole, with no note
    linear = F.regret_vs_n_plot(F.ScalingData([s]), yscale="linear")
    assert _has_line(linear, x, mean)
    assert not any("pt" in t.get_text() for t in linear.legends[0].get_texts())


def test_rtvc_audit_draws_one_strip_per_quantizer():
    data = rtvc_data()
    result = F.rtvc_audit_plot(data, xscale="linear")
    assert len(result.axes) == len(data.curves)  # coinciding curves stay apart: one strip each
    for a, c in zip(result.axes, data.curves):
        steps = [ln for ln in _lines(result) if ln.get_drawstyle() == "steps-post" and ln.axes is a]
        assert len(steps) == 1 and _has_line(result, c.r, c.kappa)
        lo, hi = a.get_ylim()
        assert lo < 0 and hi > 1
    assert any(np.array_equal(ln.get_xdata(), [0.15, 0.15]) and ln.axes is result.axes[0]
               for ln in _lines(result))  # binning's delta0, on binning's strip only
    assert not any(np.array_equal(ln.get_xdata(), [0.15, 0.15]) for ln in _lines(result)
                   if ln.axes is result.axes[1])
    labels = [t.get_text() for a in result.axes for t in a.texts]
    assert labels == ["(a) binning", "(b) trap"]
    assert r"\varepsilon' = 0.05" in result.legends[0].get_title().get_text()
    assert any("$\\delta_0" in t.get_text() for t in result.legends[0].get_texts())


def test_rtvc_audit_marks_the_smallest_distance_with_a_witness():
    r = [0.1, 0.2, 0.3]
    data = F.RTVCAuditData([F.ModulusCurve("k-means", r, [1, 1, 1], witness=1e-9)], eps_prime=0.05)
    result = F.rtvc_audit_plot(data)
    (star,) = [ln for ln in _lines(result) if ln.get_marker() == "*"]
    assert list(star.get_xdata()) == [1e-9] and list(star.get_ydata()) == [1.0]
    assert result.axes[0].get_xlim()[0] < 1e-9  # the witness is inside the axis
    assert any("W_" in t.get_text() for t in result.legends[0].get_texts())


def test_rtvc_audit_log_axis_leaves_out_distance_zero():
    data = rtvc_data()
    result = F.rtvc_audit_plot(data)
    assert result.axes[0].get_xscale() == "log"
    for c in data.curves:
        assert _has_line(result, c.r[1:], c.kappa[1:])
    texts = [t.get_text() for a in result.axes for t in a.texts]
    assert sum("1 pt" in t for t in texts) == len(data.curves)


def test_rtvc_audit_on_one_axes_tells_curves_apart_by_line_style():
    fig, ax = plt.subplots()
    result = F.rtvc_audit_plot(rtvc_data(), ax=ax, xscale="linear")
    steps = [ln for ln in _lines(result) if ln.get_drawstyle() == "steps-post"]
    assert len({ln.get_linestyle() for ln in steps}) == len(steps) == 2


def test_modulus_curve_from_audit_is_the_increasing_envelope():
    audit = SimpleNamespace(radii=np.array([0.1, 0.2, 0.4]), max_w=np.array([0.0, 0.5, 0.3]), min_radius_w1=0.3)
    env = F.ModulusCurve.from_audit("q", audit)
    assert env.r == (0.1, 0.2, 0.3, 0.4) and env.kappa == (0.0, 0.5, 1.0, 1.0)
    raw = F.ModulusCurve.from_audit("q", audit, envelope=False, delta0=0.05)
    assert raw.r == (0.1, 0.2, 0.4) and raw.kappa == (0.0, 0.5, 0.3) and raw.delta0 == 0.05
    same = SimpleNamespace(radii=np.array([0.1, 0.3]), max_w=np.array([0.2, 0.4]), min_radius_w1=0.3)
    assert F.ModulusCurve.from_audit("q", same).kappa == (0.2, 1.0)  # repeated radius keeps the larger value
    with pytest.raises(DimensionError, match="audit: expected"):
        F.ModulusCurve.from_audit("q", {"radii": [0.1]})


def test_modulus_curve_from_a_real_audit():
    from qbc_theory import LinearExpert, UniformBinning
    from qbc_theory.checker.smoothness import modulus_audit

    audit = modulus_audit(LinearExpert([[0.5]]), UniformBinning(-2.0, 2.0, 16), np.linspace(-1, 1, 20)[:, None],
                          np.random.default_rng(np.random.SeedSequence(3)), eps_prime=0.3, pairs=16)
    curve = F.ModulusCurve.from_audit("binning", audit)
    assert np.all(np.diff(curve.kappa) >= 0)
    assert set(audit.radii.tolist()) <= set(curve.r)
    result = F.rtvc_audit_plot(F.RTVCAuditData([curve], eps_prime=audit.eps_prime))
    assert _has_line(result, curve.r, curve.kappa)


def test_stability_plot_draws_profile_and_envelopes():
    data = gain_data()
    result = F.stability_plot(data)
    assert result.axes[0].get_yscale() == "log"
    assert _has_line(result, data.j, data.gain)
    for c in data.certificates:
        line = next(ln for ln in _lines(result) if ln.get_label().startswith(c.label))
        gx = np.asarray(line.get_xdata())
        np.testing.assert_allclose(line.get_ydata(), c.C * c.eta ** gx, rtol=1e-12, atol=0)


def test_stability_plot_marks_lags_above_an_envelope():
    j = np.arange(6)
    gain = 0.8 ** j
    valid = F.stability_plot(F.GainProfileData(j, gain, [F.Certificate("exact", 1.0, 0.8)]))
    assert not any(ln.get_marker() == "x" for ln in _lines(valid))
    # C = 0.9 is too small: every lag fails; eta = 0.7 with C = 1.0 fails from j = 1 on
    for cert, failing in ((F.Certificate("small C", 0.9, 0.8), j), (F.Certificate("fast", 1.0, 0.7), j[1:])):
        result = F.stability_plot(F.GainProfileData(j, gain, [cert]))
        (crosses,) = [ln for ln in _lines(result) if ln.get_marker() == "x"]
        np.testing.assert_array_equal(crosses.get_xdata(), failing)
        assert f"({len(failing)})" in crosses.get_label()


def test_blowup_plot_draws_each_curve():
    data = blowup_data()
    result = F.blowup_plot(data)
    assert result.axes[0].get_yscale() == "log"
    for c in data.curves:
        assert _has_line(result, c.x, c.y)


def test_legend_can_be_turned_off_or_put_inside():
    assert F.blowup_plot(blowup_data(), legend=False).legends == ()
    assert F.blowup_plot(blowup_data(), legend="inside").legends[0].axes is not None
    with pytest.raises(DimensionError, match="legend"):
        F.blowup_plot(blowup_data(), legend="left")


# ------------------------------------------------------------------ data validation


def test_data_containers_refuse_inconsistent_numbers():
    with pytest.raises(DimensionError, match="ci_low <= ci_high"):
        F.MeasuredSeries("s", [1, 2], [1.0, 2.0], [0.5, 2.5], [1.5, 2.4])
    with pytest.raises(DimensionError, match="both ci_low and ci_high"):
        F.MeasuredSeries("s", [1, 2], [1.0, 2.0], ci_low=[0.5, 1.5])
    with pytest.raises(DimensionError, match="strictly increasing"):
        F.MeasuredSeries("s", [2, 1], [1.0, 2.0])
    with pytest.raises(DimensionError, match="length 2"):
        F.BoundCurve("b", [1, 2], [1.0, 2.0, 3.0])
    with pytest.raises(DimensionError, match="finite"):
        F.Curve("c", [1, 2], [1.0, np.nan])
    with pytest.raises(DimensionError, match="'upper' or 'lower'"):
        F.BoundCurve("b", [1, 2], [1.0, 2.0], kind="both")
    with pytest.raises(DimensionError, match="match"):
        F.ScalingData([_series("a", [1, 2], [1.0, 0.5])], [F.BoundCurve("b", [1, 2], [1, 1], match="zzz")])
    with pytest.raises(DimensionError, match="distinct labels"):
        F.ScalingData([_series("a", [1, 2], [1.0, 0.5]), _series("a", [1, 2], [1.0, 0.5])])
    with pytest.raises(DimensionError, match="lower <= upper"):
        F.SandwichPanel("n", [1, 2], [1.0, 3.0], [2.0, 2.0], _series("m", [1, 2], [1.0, 0.5]))
    with pytest.raises(DimensionError, match="values in \\[0, 1\\]"):
        F.ModulusCurve("q", [0, 1], [0.0, 1.5])
    with pytest.raises(DimensionError, match="non-negative integers"):
        F.GainProfileData([0, 0.5], [1.0, 0.5])
    with pytest.raises(DimensionError, match="Certificate.eta"):
        F.Certificate("c", 1.0, 1.0)
    with pytest.raises(DimensionError, match="ci_low <= ci_high"):
        F.PowerLawFit(-1.0, -0.7, -0.8, 1.0)
    with pytest.raises(DimensionError, match="ci_low"):
        F.PowerLawFit(-1.0, np.inf, np.inf, 1.0)


def test_interval_need_not_contain_its_estimate():
    # percentile bootstrap intervals may miss the point estimate; they are drawn as given
    s = F.MeasuredSeries("s", [1, 2], [1.0, 2.0], [1.1, 1.5], [1.3, 1.9],
                         fit=F.PowerLawFit(1.0, 1.1, 1.2, 1.0))
    result = F.regret_vs_n_plot(F.ScalingData([s]))
    (bars,) = [a for a in result.artists if isinstance(a, LineCollection)]
    np.testing.assert_allclose([seg[:, 1] for seg in bars.get_segments()], [[1.1, 1.3], [1.5, 1.9]],
                               rtol=1e-12, atol=0)


def test_unbounded_slope_interval_is_shown_and_serialised():
    fit = F.PowerLawFit(-0.5, None, -0.2, 1.0)
    assert fit.ci_low == -np.inf
    assert fit.to_dict()["ci"] == [None, -0.2]
    s = F.MeasuredSeries("s", [1, 2], [1.0, 0.7], fit=fit)
    texts = [t.get_text() for t in F.regret_vs_n_plot(F.ScalingData([s])).legends[0].get_texts()]
    assert any(r"[$-\infty$, -0.20]" in t for t in texts)


def test_series_from_a_scaling_fit():
    from qbc_theory.verification.scaling import fit_slope

    x = np.array([10.0, 20.0, 40.0, 80.0])
    rng = np.random.default_rng(np.random.SeedSequence(7))
    y = 3.0 / x * np.exp(rng.normal(0.0, 0.05, size=(8, x.size)))
    fit = fit_slope(x, y, rng=np.random.SeedSequence(8), n_boot=200, parameter="n")
    s = F.MeasuredSeries.from_fit("det", fit)
    assert s.x == tuple(fit.x) and s.mean == tuple(fit.mean)
    assert s.ci_low == tuple(lo for lo, _ in fit.point_ci) and s.ci_high == tuple(hi for _, hi in fit.point_ci)
    assert s.fit.slope == fit.slope and (s.fit.ci_low, s.fit.ci_high) == tuple(fit.ci)
    assert s.ci_level == fit.level == s.fit.ci_level
    np.testing.assert_allclose(s.fit.prefactor * x ** s.fit.slope, fit.predict(x), rtol=1e-12, atol=0)
    with pytest.raises(DimensionError, match="fit: expected"):
        F.MeasuredSeries.from_fit("det", {"slope": 1.0})
    with pytest.raises(DimensionError, match="fit: expected"):
        F.PowerLawFit.from_fit(object())


def test_data_to_dict_is_plain_json():
    for data in (scaling_data(), rtvc_data(), gain_data(), blowup_data(), sandwich_data()):
        d = data.to_dict()
        assert json.loads(json.dumps(d, allow_nan=False)) == d


# ------------------------------------------------------------------ style


def _rc_snapshot():
    return {k: matplotlib.rcParams[k] for k in matplotlib.rcParams if k != "backend"}


def test_style_file_ships_with_the_package():
    resource = importlib.resources.files("qbc_theory.figures").joinpath(F.STYLE_FILE)
    assert resource.is_file()


def test_paper_style_applies_inside_and_does_not_leak():
    before = _rc_snapshot()
    with F.paper_style():
        rc = matplotlib.rcParams
        assert list(rc["figure.figsize"]) == [5.0, 2.4]
        assert rc["font.size"] == 8
        assert rc["figure.constrained_layout.use"] is True
        assert rc["savefig.dpi"] == 300
        assert rc["pdf.fonttype"] == 42 and rc["ps.fonttype"] == 42
        colors = [matplotlib.colors.to_hex(c["color"]) for c in rc["axes.prop_cycle"]]
        assert len(colors) >= 6 and set(colors) <= OKABE_ITO
        inside = _rc_snapshot()
    after = _rc_snapshot()
    assert after == before
    # the comparison detects a change: the snapshot taken inside differs from the one outside
    assert inside != before


def test_paper_style_restores_after_an_exception():
    before = _rc_snapshot()
    with pytest.raises(RuntimeError, match="boom"), F.paper_style():
        raise RuntimeError("boom")
    assert _rc_snapshot() == before


# ------------------------------------------------------------------ saving


def _figure_with_text(data=None):
    with F.paper_style():
        return F.regret_vs_n_plot(data or scaling_data()).figure


def test_pdf_embeds_truetype_and_no_type3(tmp_path):
    pdf, png = F.save_figure(_figure_with_text(), "fig", tmp_path)
    assert pdf.suffix == ".pdf" and png.suffix == ".png"
    raw = pdf.read_bytes()
    assert TRUETYPE.search(raw)
    assert not TYPE3.search(raw)


def test_type3_detector_finds_type3_fonts(tmp_path):
    fig = _figure_with_text()
    with matplotlib.rc_context({"pdf.fonttype": 3}):
        fig.savefig(tmp_path / "t3.pdf", format="pdf")
    assert TYPE3.search((tmp_path / "t3.pdf").read_bytes())


def test_saving_twice_is_byte_identical(tmp_path):
    first = F.save_figure(_figure_with_text(), "fig", tmp_path / "a")
    again = F.save_figure(_figure_with_text(), "fig", tmp_path / "b")
    for p, q in zip(first, again):
        assert p.read_bytes() == q.read_bytes()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["fig.pdf", "fig.png"]  # no temp files left
    # the comparison can fail: other numbers give other bytes
    s = scaling_data()
    changed = F.ScalingData([_series("det", [10, 20, 40], [0.4, 0.2, 0.11])] + list(s.measured[1:]), s.bounds, s.fixed)
    other = F.save_figure(_figure_with_text(changed), "fig", tmp_path / "c")
    for p, q in zip(first, other):
        assert p.read_bytes() != q.read_bytes()


def test_saved_files_carry_no_timestamp_or_tool_version(tmp_path):
    pdf, png = F.save_figure(_figure_with_text(), "fig", tmp_path)
    raw = pdf.read_bytes()
    assert b"/CreationDate" not in raw and b"/Producer" not in raw
    assert b"Software" not in png.read_bytes()


def test_png_is_written_at_300_dpi(tmp_path):
    from PIL import Image

    _, png = F.save_figure(_figure_with_text(), "fig", tmp_path)
    with Image.open(png) as im:
        assert im.size == (round(5.0 * 300), round(2.4 * 300))


def test_render_saves_and_leaves_no_pyplot_figure(tmp_path):
    before = plt.get_fignums()
    paths = F.render(F.stability_plot, gain_data(), "gain", tmp_path, legend=False)
    assert [p.name for p in paths] == ["gain.pdf", "gain.png"] and all(p.is_file() for p in paths)
    assert plt.get_fignums() == before


def test_save_figure_refuses_paths_as_stems(tmp_path):
    fig = Figure()
    for bad in ("../x", "a/b", "", ".hidden"):
        with pytest.raises(DimensionError, match="stem"):
            F.save_figure(fig, bad, tmp_path)
    with pytest.raises(DimensionError, match="Figure"):
        F.save_figure("fig", "x", tmp_path)


# ------------------------------------------------------------------ manifest


def _entries():
    return [F.ManifestEntry("fig1_regret_vs_n", "experiments/rates_n.toml", [12345, 2**100], scaling_data()),
            F.ManifestEntry("fig5_stability", "check:lti2", [0], gain_data())]


def test_manifest_is_deterministic_and_holds_the_numbers(tmp_path):
    a = F.write_manifest(_entries(), tmp_path / "a")
    b = F.write_manifest(list(reversed(_entries())), tmp_path / "b")
    assert a.name == "manifest.json"
    assert a.read_bytes() == b.read_bytes()
    m = json.loads(a.read_text())
    fig1 = m["figures"]["fig1_regret_vs_n"]
    assert fig1["spec"] == "experiments/rates_n.toml"
    assert fig1["seeds"] == [12345, 2**100]
    assert fig1["data"] == scaling_data().to_dict()
    assert fig1["files"] == ["fig1_regret_vs_n.pdf", "fig1_regret_vs_n.png"]
    assert fig1["code_version"]["qbc_theory"] == qbc_theory.__version__
    text = a.read_text()
    assert text == json.dumps(m, sort_keys=True, indent=2) + "\n"  # keys sorted, nothing else in it
    # the comparison can fail: one changed number changes the bytes
    e = _entries()
    e[1] = F.ManifestEntry("fig5_stability", "check:lti2", [0], F.GainProfileData([0, 1], [1.0, 0.81]))
    assert F.write_manifest(e, tmp_path / "c").read_bytes() != a.read_bytes()


def test_manifest_floats_are_normalised(tmp_path):
    data = {"a": np.float32(0.5), "b": -0.0, "c": np.arange(3), "d": (1.0, 2)}
    path = F.write_manifest([F.ManifestEntry("f", "s", [1], data)], tmp_path)
    got = json.loads(path.read_text())["figures"]["f"]["data"]
    assert got == {"a": 0.5, "b": 0.0, "c": [0, 1, 2], "d": [1.0, 2]}
    assert '"b": 0.0' in path.read_text()


def test_manifest_refuses_bad_entries(tmp_path):
    with pytest.raises(DimensionError, match="finite"):
        F.ManifestEntry("f", "s", [1], {"x": float("nan")})
    with pytest.raises(DimensionError, match="JSON-ready"):
        F.ManifestEntry("f", "s", [1], {"x": object()})
    with pytest.raises(DimensionError, match="seeds"):
        F.ManifestEntry("f", "s", [-1], {})
    with pytest.raises(DimensionError, match="twice"):
        F.write_manifest([F.ManifestEntry("f", "s", [1], {}), F.ManifestEntry("f", "t", [2], {})], tmp_path)


def test_code_version_outside_a_checkout_has_no_commit(tmp_path):
    assert F.code_version(tmp_path) == {"qbc_theory": qbc_theory.__version__}


def test_code_version_in_the_checkout_names_head():
    root = Path(F.__file__).resolve().parents[2]
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    proc = subprocess.run([git, "-C", str(root), "rev-parse", "--show-toplevel", "HEAD"],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0 or Path(proc.stdout.split()[0]).resolve() != root:
        pytest.skip("the package is not in a git checkout")
    version = F.code_version()
    assert version["git_commit"] == proc.stdout.split()[1]
    assert isinstance(version["git_dirty"], bool)


@pytest.mark.slow
def test_style_file_is_in_the_built_wheel(tmp_path):
    # Build from a copy so the build leaves nothing (build/, *.egg-info) in the working tree.
    root = Path(F.__file__).resolve().parent.parent
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in ("qbc_theory", "proofs_check"):
        shutil.copytree(root / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                    "-w", str(tmp_path / "dist"), str(src)], check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("qbc_theory-*.whl")
    with zipfile.ZipFile(wheel) as z:
        assert "qbc_theory/figures/paper.mplstyle" in z.namelist()


def test_legend_above_falls_back_to_fewer_columns_to_fit_the_figure():
    n = [10, 20, 40]
    long = [_series(f"a rather long label for series {i}", n, [0.4, 0.2, 0.1]) for i in range(2)]
    with F.paper_style():
        result = F.regret_vs_n_plot(F.ScalingData(long), legend="above")
    fig = result.figure
    assert fig.dpi == 100  # measuring the legend left the figure's dpi alone
    room = fig.bbox.width - 0.6 * fig.dpi
    renderer = RendererAgg(int(fig.bbox.width), int(fig.bbox.height), fig.dpi)
    assert result.legends[0].get_window_extent(renderer).width <= room
    # control: the two-column layout it started from would not have fitted
    two = result.axes[0].legend(handles=result.legends[0].legend_handles, ncols=2)
    assert two.get_window_extent(renderer).width > room


@pytest.mark.parametrize("plot, make", CASES + [(F.sandwich_plot, sandwich_data)], ids=IDS + ["sandwich_plot"])
def test_default_legend_is_outside_the_axes(plot, make):
    """The legend never covers data: by default it is right of the axes, and the axes keep most of the width."""
    with F.paper_style():
        result = plot(make())
        fig = result.figure
        canvas = FigureCanvasAgg(fig)
        canvas.draw()  # the constrained layout places the axes and the legend
        renderer = canvas.get_renderer()
        for leg in result.legends:
            box, axbox = leg.get_window_extent(renderer), leg.axes.get_window_extent(renderer)
            assert box.x0 >= axbox.x1  # entirely right of its axes
            assert box.x1 <= fig.bbox.x1 + 1  # and inside the figure
        widths = [a.get_window_extent(renderer).width / fig.bbox.width for a in result.axes]
        assert min(widths) > 0.4


def test_legend_placed_inside_would_fail_the_outside_check():
    """Control of the test above: a legend inside the axes is caught."""
    with F.paper_style():
        result = F.regret_vs_n_plot(scaling_data(), legend="inside")
        fig = result.figure
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        renderer = canvas.get_renderer()
        box, axbox = result.legends[0].get_window_extent(renderer), result.axes[0].get_window_extent(renderer)
    assert box.x0 < axbox.x1


def test_slope_text_uses_the_precision_of_its_interval():
    assert F.slope_text(-1.0312, -1.1403, -0.9207) == "-1.03 [-1.14, -0.92]"
    assert F.slope_text(1.00612, 1.00494, 1.00741) == "1.006 [1.005, 1.007]"  # not 1.01 [1.01, 1.01]
    assert F.slope_text(-0.0125, -0.0132, -0.0117) == "-0.0125 [-0.0132, -0.0117]"  # not -0.01 [-0.01, -0.01]
    assert F.slope_text(-0.00001, -0.003, 0.003) == "0.000 [-0.003, 0.003]"  # no "-0.000"
    assert F.slope_text(0.5, float("-inf"), 1.2) == r"0.50 [$-\infty$, 1.20]"
    # the interval's ends are distinct once printed whenever they differ by more than 1e-6
    for lo, hi in ((1.0, 1.00002), (-0.5, -0.49), (3.0, 3.4)):
        text = F.slope_text((lo + hi) / 2, lo, hi)
        ends = text.split("[")[1].rstrip("]").split(", ")
        assert ends[0] != ends[1], text


def test_panel_labels_are_letters_in_order():
    fig, axes = plt.subplots(3, 1)
    for i, a in enumerate(axes):
        F.panel_label(a, i)
    assert [a.get_title(loc="left") for a in axes] == ["(a)", "(b)", "(c)"]
