"""Instance families (qbc verify --family): the generator stays in the hypothesis class, the family
verdict fails when an instance violates, the worst instance is a loadable instance file."""

import dataclasses
import json

import numpy as np
import pytest

from qbc_theory.model.errors import SpecError
from qbc_theory.model.instance import load_instance
from qbc_theory.verification import family, family_draws
from qbc_theory.verification.claims import SlopeTest, get_claim, verify


@pytest.mark.parametrize("claim_id", ["thm3.rate_n", "thm2.rate_n", "thm2.horizon"])
def test_draws_are_reproducible_and_in_the_hypothesis_class(claim_id):
    dims = set()
    for i in range(40):
        d, p = family.draw_instance(claim_id, i)
        d2, p2 = family.draw_instance(claim_id, i)
        assert p == p2
        A, B, K = (np.array(p[k]) for k in ("A", "B", "K"))
        dims.add(A.shape[0])
        assert d.nl == family.nonlinear_kind(family.FAMILIES[claim_id], i)
        if d.nl != "linear":  # checked in test_nonlinear_draws_meet_theorem_3s_hypotheses
            continue
        assert np.max(np.abs(np.linalg.eigvals(A))) == pytest.approx(d.radius) and d.radius <= 0.95
        assert np.max(np.abs(np.linalg.eigvals(A + B @ K))) < 1
        assert B.shape[1] == K.shape[0] == 1
        if claim_id.startswith("thm3"):
            bins = p["clip"] / p["eps_q"]
            assert abs(bins - round(bins)) < 1e-9 * bins and round(bins) in (8, 16, 32, 64, 128)
        else:
            # Gaussian expert, realizable box around the true (K, sigma)
            assert p["sigma"] > 0 and p["box_sigma"][0] < p["sigma"] < p["box_sigma"][1]
            assert all(lo < k < hi for (lo, hi), k in zip(p["box_K"], K.ravel()))
            assert p["bins"] in (64, 128, 256, 512, 1024, 2048) and p["low"] == -p["high"]
    assert dims == {1, 2, 3, 4, 5, 6}


def test_nonlinear_draws_meet_theorem_3s_hypotheses():
    from qbc_theory.model.dynamics import LureSystem
    from qbc_theory.verification.cells.family_nonlinear import certified_gain

    kinds = {}
    for i in range(16):
        d, p = family.draw_instance("thm3.rate_n", i)
        kinds[d.nl] = kinds.get(d.nl, 0) + 1
        if d.nl == "linear":
            assert "expert_scale" not in p and p["x0"] == "stationary"
            continue
        A, B = np.array(p["A"]), np.array(p["B"])
        assert np.max(np.abs(np.linalg.eigvals(A))) <= 0.95  # the linear part is globally P-IISS
        # the expert's action |a tanh(.)| < a never leaves the binning's range: sup error with probability 1
        assert p["clip"] == p["expert_scale"] > 0 and round(p["clip"] / p["eps_q"]) in (8, 16, 32, 64, 128)
        assert 1.0 in p["class_scale_factors"]  # realizable
        assert p["x0"] == family.NONLINEAR_X0_STD
        if d.nl == "lure":
            assert p["system"] == "lure" and p["phi"] == "tanh"
            Gamma, gains, info = certified_gain(LureSystem(A, B, p["G"], p["C"], "tanh"), 5)
            assert Gamma == pytest.approx(info["C_cert"] / (1 - info["eta_cert"])) and gains[0] == info["C_cert"]
        else:
            assert p["system"] == "linear"
    assert kinds == {"linear": 8, "tanh": 4, "lure": 4}


def test_a_lure_draw_the_lmi_does_not_certify_is_redrawn(monkeypatch):
    d, p = family.draw_instance("thm3.rate_n", 3)
    assert d.nl == "lure"
    one = np.ones((1, 1))
    base = family_draws._Draw(d.kind, one, one, np.zeros((1, 1)), one, d.vector(), "lure", one, one)
    # A = 0.95 (radius), G = C = 1: A + G C = 0.95 + s at the sector vertex s = 1 exceeds 1: refused
    bad = family_draws._with(base, np.r_[0.95, base.v[1:7], 1.0])
    assert bad.lure_strength == 1.0 and family_draws._params(bad) is None
    good = family_draws._with(base, np.r_[0.3, base.v[1:7], 0.1])
    assert family_draws._params(good)["system"] == "lure"
    # the generator redraws a refused Lur'e draw from the same stream: count refusals over the draws
    refused, real = [], family_draws._params

    def spy(draw):
        out = real(draw)
        A, B, K = family_draws._system(draw)
        if out is None and np.max(np.abs(np.linalg.eigvals(A + B @ K))) < 0.98:
            refused.append(draw)  # refused by the LMI alone
        return out

    monkeypatch.setattr(family_draws, "_params", spy)
    for i in range(3, 80, 4):
        dd, pp = family.draw_instance("thm3.rate_n", i)
        assert pp["system"] == "lure"
    assert refused, "expected some Lur'e draws to fail the LMI and be redrawn"


def test_a_nonlinear_instance_file_loads_and_simulates(tmp_path):
    from qbc_theory.cli import main
    from qbc_theory.model.experts import TanhExpert
    from qbc_theory.verification.runner import builtin_spec_paths, load_spec

    base = load_spec({q.stem: q for q in builtin_spec_paths()}["thm3.rate_n"])
    for i in (1, 3):
        d, p = family.draw_instance("thm3.rate_n", i)
        text = family.instance_toml("thm3.rate_n", base, p, {"n": 8}, "quick", {"source": "test", "ratio": 0.5})
        path = tmp_path / f"nl{i}.toml"
        path.write_text(text)
        inst = load_instance(path)
        assert isinstance(inst.expert, TanhExpert) and inst.expert.scale[0] == p["expert_scale"]
        assert np.array_equal(inst.expert.K, np.array(p["K"]))
        assert inst.system.kind == ("lure" if d.nl == "lure" else "linear")
        if d.nl == "lure":
            assert np.array_equal(inst.system.G, np.array(p["G"])) and inst.system.phi == "tanh"
        assert main(["simulate", str(path), "--n", "8", "--eval-trajectories", "50", "--json"]) == 0


def test_thm2_worst_instance_loads(tmp_path):
    rep = family.run_families([get_claim("thm2.rate_n")], 1, out=tmp_path, backend="serial", progress=False,
                              seeds=2, search_budget=1)
    inst = load_instance(tmp_path / "family" / "thm2.rate_n.worst.toml")
    assert inst.expert.noise_std == pytest.approx(rep.results[0].worst["params"]["sigma"])


def test_claims_without_a_family_say_so():
    with pytest.raises(SpecError, match="family: expected a claim with a family"):
        family.draw_instance("thm6.det", 0)
    assert family.supported(get_claim("thm6.det")) is None
    assert family.supported(get_claim("thm3.rate_n")) == "thm3.binning"


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("fam")
    rep = family.run_families([get_claim("thm3.rate_n"), get_claim("thm6.det")], 2, out=out, backend="serial",
                              progress=False, seeds=2, search_budget=2)
    return out, rep


def test_family_run_reports_distribution_and_worst_instance(small_run):
    out, rep = small_run
    thm3, thm6 = rep.results
    assert thm6.family is None and "family not supported" in rep.format_text()
    assert len(thm3.instances) == 2 and thm3.status in ("consistent", "violated", "inconclusive")
    # instance 1 is a tanh expert, measured by the thm3.nonlinear cell inside the hypotheses
    nl = thm3.instances[1]
    assert nl["kind"] == "tanh" and nl["hypotheses"]["all"] and nl["Gamma"] > 0 and nl["L"] > 0
    assert thm3.distribution("tanh")["0"]["status"] and set(thm3.to_dict()["distribution_by_kind"]) == {"linear",
                                                                                                        "tanh"}
    assert "[tanh, 1]" in rep.format_text()
    ratios = [i["ratio"] for i in thm3.instances if i["ratio"] is not None]
    ratios += [c["ratio"] for c in thm3.search["candidates"] if c["ratio"] is not None]
    assert thm3.worst["ratio"] == pytest.approx(max(ratios))
    data = json.loads((out / "family" / "family.quick.json").read_text())
    assert data["claims"][0]["distribution"]["1"]["tightness"] is not None
    # the worst instance is an instance file that loads (and so qbc simulate runs it)
    inst = load_instance(out / "family" / "thm3.rate_n.worst.toml")
    A = np.array(thm3.worst["params"]["A"])
    assert np.array_equal(inst.system.A, A)
    from qbc_theory.cli import main

    assert main(["simulate", str(out / "family" / "thm3.rate_n.worst.toml"), "--n", "8",
                 "--eval-trajectories", "50", "--json"]) == 0


def test_a_family_is_violated_when_an_instance_violates(tmp_path):
    # the same family with a test no instance can pass (decay like n^-3): the family verdict must fail
    claim = get_claim("thm3.rate_n")
    wrong = dataclasses.replace(claim, tests=(SlopeTest("regret", "n", -3.0, "<=", label="n^-3"),))
    rep = family.run_families([wrong], 2, out=tmp_path, backend="serial", progress=False, seeds=2, search_budget=0)
    assert rep.results[0].status == "violated"
    assert all(i["status"] == "violated" for i in rep.results[0].instances)


def test_verify_refuses_a_bad_family_size():
    with pytest.raises(SpecError, match="family"):
        verify(family=-1, claims=["thm3.rate_n"])


def test_cli_refuses_a_negative_family(capsys):
    from qbc_theory.cli import main

    assert main(["verify", "--family", "-1"]) == 2
    assert "--family: expected an integer >= 0, found -1" in capsys.readouterr().err


# --- thm2.gaussian: nonlinear draws (Gaussian tanh experts on linear and Lur'e systems) -------------

# sha256 of the JSON parameters of the even draws 0, 2, ..., 14, computed with the generator before the
# thm2.gaussian family had nonlinear draws (commit f56e8b2): the even draws must stay bit-identical
_THM2_EVEN_DRAWS = {"thm2.rate_n": "62c7b5920d1d741c6cb3dd136b4755de067ae75827b2b9e44166491ed034726f",
                    "thm2.horizon": "95b9402dd56241dc0a33c2c4fb51804d49fe3d25f51766427d4ca8cfa63a8e77"}


@pytest.mark.parametrize("claim_id", ["thm2.rate_n", "thm2.horizon"])
def test_thm2_even_draws_are_unchanged(claim_id):
    import hashlib

    h = hashlib.sha256()
    for i in range(0, 16, 2):
        d, p = family.draw_instance(claim_id, i)
        assert d.nl == "linear"
        h.update(json.dumps(p, sort_keys=True).encode())
    assert h.hexdigest() == _THM2_EVEN_DRAWS[claim_id]


def test_thm2_nonlinear_draws_meet_theorem_2s_hypotheses():
    from qbc_theory.model.dynamics import LureSystem
    from qbc_theory.verification.cells.family_nonlinear import certified_gain
    from qbc_theory.verification.cells.family_thm2_nonlinear import exit_probability

    from qbc_theory.verification.runner import builtin_spec_paths, load_spec

    base = load_spec({q.stem: q for q in builtin_spec_paths()}["thm2.horizon"])
    kinds = {}
    for i in range(16):
        d, p = family.draw_instance("thm2.horizon", i)
        kinds[d.nl] = kinds.get(d.nl, 0) + 1
        assert family.cell_of(d, base) == ("thm2.regret" if d.nl == "linear" else "thm2.nonlinear")
        if d.nl == "linear":
            assert "expert_scale" not in p
            continue
        A, B = np.array(p["A"]), np.array(p["B"])
        assert np.max(np.abs(np.linalg.eigvals(A))) <= 0.95
        assert p["sigma"] > 0 and p["expert_scale"] > 0  # stochastic expert, TVC with a linear modulus
        # the clip range is a + 8 sigma: left with probability <= H 2 Phi(-8) at the ladder's largest H
        assert p["low"] == -p["high"]
        assert exit_probability(p["expert_scale"], p["sigma"], p["low"], p["high"], 32) < 1e-12
        assert 1.0 in p["class_sigma_factors"] and p["bins"] in (64, 128, 256, 512, 1024, 2048)  # realizable
        if d.nl == "lure":
            assert p["system"] == "lure" and p["phi"] == "tanh"
            certified_gain(LureSystem(A, B, p["G"], p["C"], "tanh"), 5)  # raises if uncertified
        else:
            assert p["system"] == "linear"
    assert kinds == {"linear": 8, "tanh": 4, "lure": 4}


def test_an_uncertified_thm2_lure_draw_is_refused_and_redrawn(monkeypatch):
    d, p = family.draw_instance("thm2.horizon", 3)
    assert d.nl == "lure" and d.kind == "thm2.gaussian"
    one = np.ones((1, 1))
    base = family_draws._Draw(d.kind, one, one, np.zeros((1, 1)), one, d.vector(), "lure", one, one)
    # A = 0.95, G = C = 1: A + G C = 1.95 at the sector vertex: no certificate, the draw is refused
    bad = family_draws._with(base, np.r_[0.95, base.v[1:7], 1.0])
    assert family_draws._params(bad) is None
    good = family_draws._with(base, np.r_[0.3, base.v[1:7], 0.1])
    assert family_draws._params(good)["system"] == "lure"
    refused, real = [], family_draws._params

    def spy(draw):
        out = real(draw)
        A, B, K = family_draws._system(draw)
        if out is None and np.max(np.abs(np.linalg.eigvals(A + B @ K))) < 0.98:
            refused.append(draw)
        return out

    monkeypatch.setattr(family_draws, "_params", spy)
    for i in range(3, 80, 4):
        assert family.draw_instance("thm2.rate_n", i)[1]["system"] == "lure"
    assert refused, "expected some thm2 Lur'e draws to fail the LMI and be redrawn"


def test_a_thm2_nonlinear_instance_file_loads_and_simulates(tmp_path):
    from qbc_theory.cli import main
    from qbc_theory.model.experts import TanhExpert
    from qbc_theory.verification.runner import builtin_spec_paths, load_spec

    base = load_spec({q.stem: q for q in builtin_spec_paths()}["thm2.horizon"])
    for i in (1, 3):
        d, p = family.draw_instance("thm2.horizon", i)
        text = family.instance_toml("thm2.horizon", base, p, {"H": 4}, "quick", {"source": "test", "ratio": 0.5})
        path = tmp_path / f"nl{i}.toml"
        path.write_text(text)
        inst = load_instance(path)
        # the file is the measured instance: Gaussian tanh expert, system, binning, initial law, reward
        assert isinstance(inst.expert, TanhExpert) and inst.expert.scale[0] == p["expert_scale"]
        assert inst.expert.noise_std == p["sigma"] and np.array_equal(inst.expert.K, np.array(p["K"]))
        assert inst.system.kind == ("lure" if d.nl == "lure" else "linear")
        dx = np.array(p["A"]).shape[0]
        assert np.array_equal(inst.system.noise_cov, p["noise_std"] ** 2 * np.eye(dx))
        assert np.array_equal(inst.system.x0_cov, np.eye(dx))
        if d.nl == "lure":
            assert np.array_equal(inst.system.G, np.array(p["G"])) and inst.system.phi == "tanh"
        assert float(inst.quantizer.low[0]) == p["low"] and inst.quantizer.bins == p["bins"]
        assert inst.horizon == 4
        assert main(["simulate", str(path), "--n", "8", "--eval-trajectories", "50", "--json"]) == 0


# --- sequential seeds in families -------------------------------------------------------------------

import math as _math  # noqa: E402

from qbc_theory.verification.claims import Claim  # noqa: E402
from qbc_theory.verification.runner import cell_function, run_spec, spec_from_dict  # noqa: E402


@cell_function("test.family_power_law", version="1")
def _family_power_law(params, seeds, seed):
    """y = H^slope * lognormal noise, one spawned child per seed."""
    ys = [params["H"] ** params["slope"] * _math.exp(params["noise"] * np.random.default_rng(c).standard_normal())
          for c in seed.spawn(seeds)]
    return {"y": ys}


@cell_function("test.family_unspawned", version="1")
def _family_unspawned(params, seeds, seed):
    z = np.random.default_rng(seed).standard_normal(seeds)
    return {"y": list(params["H"] ** params["slope"] * np.exp(params["noise"] * z))}


def _toy_family(tmp_path, slope, noise, tol, cell="test.family_power_law"):
    spec = spec_from_dict({"id": "toy.fam", "cell": cell, "entropy": 1234, "params": {"slope": slope, "noise": noise},
                           "grid": {"H": [8, 16, 32, 64]}, "profiles": {"quick": {"seeds": 4}, "full": {"seeds": 4}}})
    claim = Claim("toy", "T", "p", "toy.fam", "toy.fam", (SlopeTest("y", "H", 1.0, "<=", tol=tol),), "c")
    run_kw = dict(backend="serial", out=tmp_path, profile="quick", progress=False, workers=None, scheduler=None,
                  connect_timeout=5.0)
    table = run_spec(spec, **{k: v for k, v in run_kw.items()})
    table, note, outcomes = family._sequential(claim, [table], [spec], run_kw, ci=0)[0]
    assert len(outcomes) == 1 and outcomes[0].kind == "slope"
    return (table, note), spec, run_kw


def test_a_family_instance_whose_verdict_flips_gets_sequential_seeds(tmp_path):
    # the resolvable flip of tests/test_claims.py: 4 seeds flip, 16 settle it (budget 4 x 4)
    (table, note), spec, run_kw = _toy_family(tmp_path, 1.0, 0.6, 0.2)
    assert table.seeds == 16 and note == ""
    # bit-identical to a run with 16 seeds from the start
    big = run_spec(dataclasses.replace(spec, profiles={"quick": dataclasses.replace(spec.profiles["quick"], seeds=16)}),
                   **{**run_kw, "out": tmp_path / "big"})
    assert table.rows == big.rows


def test_a_family_flip_that_seeds_cannot_resolve_is_left_with_a_note(tmp_path):
    (table, note), _, _ = _toy_family(tmp_path, 1.1, 0.3, 0.2)
    assert table.seeds == 4 and "more seeds cannot resolve" in note
    (table, note), _, _ = _toy_family(tmp_path / "u", 0.9, 0.3, 0.2, cell="test.family_unspawned")
    assert table.seeds == 4 and "sequential seeds refused" in note
