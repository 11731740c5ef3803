"""Per-claim diagnostic figures of qbc verify, drawn from the verdict dicts alone."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from qbc_theory.verification.claims import BoundTest, Claim, SlopeTest  # noqa: E402
from qbc_theory.model.errors import DimensionError  # noqa: E402
from qbc_theory.verification.runner import ResultTable  # noqa: E402
from qbc_theory.figures.verify_plots import claim_plot, write_claim_figures  # noqa: E402


def _table(slope: float, spec_id: str) -> ResultTable:
    rng = np.random.default_rng(1)
    xs = [10, 20, 40, 80]
    rows = []
    for i, x in enumerate(xs):
        for s in range(6):
            rows.append({"cell": i, "seed": s, "n": x, "y": x**slope * (1 + 0.05 * rng.standard_normal()),
                         "b": 2.0 * x**slope})
    cells = tuple({"index": i, "key": str(i), "spawn_key": [i], "point": {"n": x}} for i, x in enumerate(xs))
    return ResultTable(spec_id, "toy", "quick", 1, "v", {}, {"n": xs}, 6, ("y", "b"), tuple(rows), cells)


def _result():
    slope = SlopeTest("y", "n", -1.0, "<=", tol=0.2)
    claim = Claim("toy.rate", "Theorem 0", "y ~ 1/n", "toy", "toy.control",
                  (slope, BoundTest("y", "b", "upper", along="n")), "flat control", control_tests=(slope,))
    # a true slope of -1.5: "<= -1" holds with or without the slack, so the verdict does not hinge on it
    return claim.evaluate(_table(-1.5, "toy"), _table(0.0, "toy.control"), np.random.default_rng(0))


def test_claim_plot_one_panel_per_test_and_status_in_titles():
    res = _result()
    assert res.status == "consistent" and res.control_status == "violated"
    plot = claim_plot(res.to_dict())
    assert len(plot.axes) == 3  # two tests on the experiment, the slope test on the control
    titles = [ax.get_title() for ax in plot.axes]
    assert "consistent" in titles[0] and "VIOLATED" in titles[2]
    assert all(a.axes in plot.axes for a in plot.artists if hasattr(a, "axes") and a.axes is not None)


def test_write_claim_figures_writes_pdf_and_png(tmp_path):
    report = {"claims": [_result().to_dict()]}
    files = write_claim_figures(report, tmp_path)
    assert sorted(f.name for f in files) == ["toy.rate.pdf", "toy.rate.png"]
    assert all(f.stat().st_size > 1000 for f in files)


@pytest.mark.parametrize("bad", [{"claims": "x"}, [], {"id": "x"}])
def test_bad_input(bad, tmp_path):
    with pytest.raises(DimensionError):
        if isinstance(bad, dict) and "claims" in bad:
            write_claim_figures(bad, tmp_path)
        else:
            claim_plot(bad)


def _joins_categories(line) -> bool:
    """Whether a drawn line connects two or more categorical x positions (a zigzag across cells)."""
    return line.get_linestyle() not in ("None", "none", "") and len(line.get_xdata()) > 1


def test_bound_panel_draws_categories_as_points_not_lines():
    plot = claim_plot(_result().to_dict())
    bound_ax = plot.axes[1]  # the bound test: one category per cell
    lines = [ln for ln in bound_ax.get_lines() if ln.get_label().endswith("bound")]
    assert lines and not any(_joins_categories(ln) for ln in lines)
    assert lines[0].get_marker() == "_" and len(lines[0].get_xdata()) == 4  # one bar per cell
    # control of the check: the slope panel's fitted line over a numeric ladder is a joined line
    assert any(_joins_categories(ln) for ln in plot.axes[0].get_lines())


def test_slope_panel_prints_the_slope_to_its_interval_precision():
    plot = claim_plot(_result().to_dict())
    fit = next(t.get_text() for t in plot.legends[0].get_texts() if t.get_text().startswith("fit"))
    slope = fit.split("slope ")[1]
    value, interval = slope.split(" [")
    lo, hi = interval.rstrip("]").split(", ")
    assert lo != hi  # the interval is not collapsed by rounding
    assert len(value.split(".")[1]) >= 2
