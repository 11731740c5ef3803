"""Instance families (qbc verify --family): the generator stays in the hypothesis class, the family
verdict fails when an instance violates, the worst instance is a loadable instance file."""

import dataclasses
import json

import numpy as np
import pytest

from qbc_theory.model.errors import SpecError
from qbc_theory.model.instance import load_instance
from qbc_theory.verification import family
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
