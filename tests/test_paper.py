"""Tests of the figure pipeline (qbc_theory.paper): data builders, skipping, reproducibility."""

import json
import math

import numpy as np
import pytest

from qbc_theory import figures as F
from qbc_theory import paper
from qbc_theory.errors import SpecError


# --------------------------------------------------------------------------------------------
# figure 4: RTVC audit


@pytest.fixture(scope="module")
def fig4():
    return paper.rtvc_audit_data()


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
    from qbc_theory.constructions import trap_loop
    q = trap_loop(0.05, A=0.2, B=0.25, k=1.0, d=0.6).quantizer
    x = np.array([[0.025 - 1e-9], [0.025 + 1e-9]])
    a = q(np.arctan(x))
    assert abs(a[0, 0] - a[1, 0]) > data.eps_prime
    assert prov["audits"]["trap (Thm 6)"]["min_radius_w1"] < 1e-6


def test_rtvc_audit_is_deterministic(fig4):
    again, _ = paper.rtvc_audit_data()
    assert again.to_dict() == fig4[0].to_dict()


# --------------------------------------------------------------------------------------------
# figure 5: gain profile and certificates


def test_gain_profile_matches_matrix_powers_and_certificates_hold():
    data, prov = paper.gain_profile_data()
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
        paper.gain_profile_data([[1.1, 0.0], [0.0, 0.5]], [[1.0], [0.0]])


# --------------------------------------------------------------------------------------------
# the pipeline


def _files(out):
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if not p.name.startswith(".")}


def test_direct_figures_rerun_byte_identical(tmp_path, monkeypatch):
    monkeypatch.setattr(paper, "builtin_spec_paths", lambda: [])
    out = tmp_path / "figs"
    kw = dict(out=out, results=tmp_path / "res", backend="serial", progress=False,
              figures=["fig5_stability", "fig4_rtvc_audit"])
    report = paper.make_figures(**kw)
    assert report.built == ("fig4_rtvc_audit", "fig5_stability")
    first = _files(out)
    assert set(first) == {"fig4_rtvc_audit.pdf", "fig4_rtvc_audit.png", "fig5_stability.pdf",
                          "fig5_stability.png", "manifest.json"}
    manifest = json.loads(first["manifest.json"])
    entry = manifest["figures"]["fig4_rtvc_audit"]
    assert entry["seeds"] == [paper.RTVC_ENTROPY]
    assert entry["data"]["plotted"]["eps_prime"] == pytest.approx(3 * math.pi / 64, rel=1e-12)
    assert "code_version" in entry and manifest["skipped"] == {}
    paper.make_figures(**kw)
    assert _files(out) == first


def test_missing_specs_skip_the_figure_with_a_message(tmp_path, monkeypatch):
    monkeypatch.setattr(paper, "builtin_spec_paths", lambda: [])
    out = tmp_path / "figs"
    out.mkdir()
    (out / "fig3_regret_vs_eps_q.png").write_bytes(b"stale")  # from an earlier run
    report = paper.make_figures(out=out, results=tmp_path / "res", backend="serial", progress=False,
                                figures=["fig3_regret_vs_eps_q"])
    (outcome,) = report.figures
    assert outcome.status == "skipped" and report.skipped == ("fig3_regret_vs_eps_q",)
    assert "thm3.eps" in outcome.message and "no built-in spec" in outcome.message
    assert not (out / "fig3_regret_vs_eps_q.png").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["figures"] == {}
    assert "thm3.eps" in manifest["skipped"]["fig3_regret_vs_eps_q"]["reason"]
    assert "skipped" in report.format_text()


def test_make_figures_rejects_bad_arguments(tmp_path):
    with pytest.raises(SpecError, match="profile"):
        paper.make_figures(out=tmp_path, profile="medium")
    with pytest.raises(SpecError, match="figures"):
        paper.make_figures(out=tmp_path, figures=["fig9"])
    with pytest.raises(TypeError):
        paper.make_figures(out=tmp_path, colour="red")
