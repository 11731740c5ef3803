"""Loading instances from TOML: the bundled examples and the bad-input contract."""

import numpy as np
import pytest

from conftest import INSTANCES
from qbc_theory import (
    DimensionError,
    Instance,
    KMeansQuantizer,
    LinearExpert,
    LinearSystem,
    QbcError,
    ResidualVQ,
    SpecError,
    TrapLoopQuantizer,
    TrackingReward,
    UniformBinning,
    load_instance,
)
from qbc_theory.model.instance import instance_from_dict

BASE = {
    "system": {"A": [[0.9, 0.2], [0.0, 0.7]], "B": [[0.0], [1.0]]},
    "expert": {"kind": "linear", "K": [[-0.1, -0.3]]},
    "quantizer": {"kind": "binning", "low": -2.0, "high": 2.0, "bins": 64},
    "run": {"horizon": 20},
}


def _doc(**changes):
    doc = {k: dict(v) for k, v in BASE.items()}
    for path, value in changes.items():
        section, _, key = path.partition("__")
        if key:
            if value is ...:
                doc[section].pop(key)
            else:
                doc[section][key] = value
        elif value is ...:
            doc.pop(section)
        else:
            doc[section] = value
    return doc


@pytest.mark.parametrize("path", sorted(INSTANCES.glob("*.toml")), ids=lambda p: p.stem)
def test_bundled_instances_load(path):
    inst = load_instance(path)
    assert isinstance(inst, Instance)
    assert inst.name == path.stem
    assert inst.to_dict()["horizon"] == inst.horizon


def test_bundled_examples_cover_the_issue():
    stems = {p.stem for p in INSTANCES.glob("*.toml")}
    assert {"lqr_binning", "trap_loop"} <= stems
    assert isinstance(load_instance(INSTANCES / "trap_loop.toml").quantizer, TrapLoopQuantizer)


def test_defaults_and_types():
    inst = instance_from_dict(_doc())
    assert isinstance(inst.quantizer, UniformBinning) and inst.quantizer.dim == 1
    assert isinstance(inst.reward, TrackingReward)
    assert (inst.n, inst.delta, inst.seed) == (100, 0.05, 0)


def test_learned_quantizers_fit_deterministically():
    a = instance_from_dict(_doc(quantizer={"kind": "kmeans", "n_codes": 8, "seed": 2}))
    b = instance_from_dict(_doc(quantizer={"kind": "kmeans", "n_codes": 8, "seed": 2}))
    assert isinstance(a.quantizer, KMeansQuantizer)
    assert np.array_equal(a.quantizer.codebook, b.quantizer.codebook)
    r = instance_from_dict(_doc(quantizer={"kind": "rvq", "stages": 2, "n_codes": 4}))
    assert isinstance(r.quantizer, ResidualVQ) and r.quantizer.n_tokens == 16


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"system__A": [[0.9, 0.2, 0.1], [0.0, 0.7, 0.1]]}, r"^system\.A: expected a square matrix"),
        ({"system__B": [[0.0, 1.0, 2.0]]}, r"^system\.B: expected shape \(2, \*\)"),
        ({"system__A": [[0.9, float("nan")], [0.0, 0.7]]}, r"^system\.A: expected finite numbers, found nan"),
        ({"system__Aa": 1.0}, r"^system\.Aa: unknown key"),
        ({"quantizer": ...}, r"^quantizer: expected a section \[quantizer\] \(required\), found none"),
        ({"quantizer__bins": -4}, r"^quantizer\.bins: expected a positive integer, found -4"),
        ({"quantizer__bins": 6.5}, r"^quantizer\.bins: expected an integer, found 6\.5"),
        ({"quantizer__kind": "lattice"}, r"^quantizer\.kind: expected one of binning, kmeans"),
        ({"system__dt": 0}, r"^system\.dt: expected a discrete-time system .* found 0"),
        ({"system__dt": False}, r"^system\.dt: expected a discrete-time system"),
        ({"expert__K": [[1.0, 2.0, 3.0]]}, r"^expert\.K: expected shape \(1, 2\)"),
        ({"expert__kind": "mpc"}, r"^expert\.kind: expected one of linear, lqr, arctan"),
        ({"run__horizon": 0}, r"^run\.horizon: expected a positive integer, found 0"),
        ({"run__delta": 1.5}, r"^run\.delta: expected a number in"),
        ({"run__horizon": ...}, r"^run\.horizon: expected a value \(required key\), found none"),
        ({"bogus": {}}, r"^bogus: unknown section"),
        ({"system__noise_std": "0.1"}, r"^system\.noise_std: expected a real number, found '0\.1'"),
        ({"system__A": "__import__('os').system('echo hacked')"}, r"^system\.A: expected numbers"),
    ],
)
def test_bad_input_names_the_key(changes, message):
    with pytest.raises(QbcError, match=message):
        instance_from_dict(_doc(**changes))


def test_trap_needs_scalar_system_and_valid_parameters():
    with pytest.raises(SpecError, match=r"quantizer\.kind: 'trap' needs a scalar system"):
        instance_from_dict(_doc(quantizer={"kind": "trap", "k": 1.0, "d": 0.6, "eps": 1e-3}))
    doc = {"system": {"A": [[0.2]], "B": [[0.3]]}, "expert": {"kind": "arctan"},
           "quantizer": {"kind": "trap", "k": 1.0, "d": 0.6, "eps": 1e-3}, "run": {"horizon": 10}}
    with pytest.raises(QbcError, match=r"^quantizer\.k: Theorem 6 needs k/2 > B/\(1 - lambda\)"):
        instance_from_dict(doc)


def test_instance_refuses_mismatched_parts():
    sys = LinearSystem([[0.5]], [[1.0]])
    with pytest.raises(DimensionError, match="quantizer: expected action dimension 1, found 2"):
        Instance(sys, LinearExpert([[0.1]]), UniformBinning(-1, 1, 4, dim=2),
                 TrackingReward(LinearExpert([[0.1]])), 10)


def test_file_errors(tmp_path):
    with pytest.raises(SpecError, match="cannot read the instance file"):
        load_instance(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[system\nA = 1")
    with pytest.raises(SpecError, match="invalid TOML"):
        load_instance(bad)


def test_trap_needs_the_arctan_expert_and_horizon_is_capped():
    doc = {"system": {"A": [[0.2]], "B": [[0.25]]}, "expert": {"kind": "linear", "K": [[-0.1]]},
           "quantizer": {"kind": "trap", "k": 1.0, "d": 0.6, "eps": 1e-3}, "run": {"horizon": 10}}
    with pytest.raises(SpecError, match=r"^quantizer\.kind: 'trap' is Theorem 6's quantizer of the arctan"):
        instance_from_dict(doc)
    with pytest.raises(QbcError, match=r"^run\.horizon: expected at most 100000, found 100001"):
        instance_from_dict(_doc(run__horizon=100001))
