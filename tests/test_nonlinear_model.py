"""Nonlinear instance model: Lur'e systems, the pendulum preset, x0_mean, tanh / MLP / callable
experts, the state reward, and their TOML keys (bad input: one line, exit 2)."""

import math

import numpy as np
import pytest

from conftest import INSTANCES
from qbc_theory.cli import main
from qbc_theory.model.dynamics import (DECLARED_LABEL, PHI, CallableSystem, LinearSystem, LureSystem,
                                       pendulum)
from qbc_theory.model.errors import DimensionError, QbcError, SpecError
from qbc_theory.model.experts import CallableExpert, MLPExpert, TanhExpert, load_mlp_weights
from qbc_theory.model.instance import instance_from_dict, load_instance
from qbc_theory.model.rewards import StateReward

# --- Lur'e systems ---------------------------------------------------------------------------------

LURE = dict(A=[[0.9, 0.2], [0.0, 0.7]], B=[[0.0], [1.0]], G=[[0.1, 0.0], [0.3, -0.2]],
            C=[[1.0, 0.0], [0.5, 1.0]])


@pytest.mark.parametrize("phi", sorted(PHI))
def test_lure_step_is_the_formula_entry_by_entry(phi, rng):
    sys = LureSystem(**LURE, phi=phi)
    x, u, w = rng.normal(size=(50, 2)) * 2, rng.normal(size=(50, 1)), rng.normal(size=(50, 2))
    fn = {"tanh": math.tanh, "sat": lambda s: min(1.0, max(-1.0, s)), "sin": math.sin}[phi]
    A, B, G, C = (np.array(LURE[k]) for k in "ABGC")
    for i in range(50):
        s = [sum(C[r, c] * x[i, c] for c in range(2)) for r in range(2)]
        want = [sum(A[r, c] * x[i, c] for c in range(2)) + B[r, 0] * u[i, 0]
                + sum(G[r, j] * fn(s[j]) for j in range(2)) + w[i, r] for r in range(2)]
        np.testing.assert_allclose(sys.step(x, u, w)[i], want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("phi", sorted(PHI))
def test_phi_increments_lie_in_the_declared_sector(phi, rng):
    fn, slope, (a, b) = PHI[phi]
    s, t = rng.normal(size=200_000) * 3, rng.normal(size=200_000) * 3
    keep = np.abs(s - t) > 1e-6
    q = (fn(s[keep]) - fn(t[keep])) / (s[keep] - t[keep])
    assert q.min() >= a - 1e-9 and q.max() <= b + 1e-9
    # the sector is tight (a narrower one would be wrong): both ends are approached
    assert q.min() <= a + 0.05 and q.max() >= b - 0.05
    d = slope(s)
    assert d.min() >= a - 1e-12 and d.max() <= b + 1e-12


def test_sin_is_not_in_the_tanh_sector(rng):
    fn = PHI["sin"][0]
    s, t = rng.uniform(2, 4, 1000), rng.uniform(2, 4, 1000)
    assert np.min((fn(s) - fn(t)) / (s - t)) < 0  # [0, 1] would be a wrong sector for sin


def test_lure_attributes_for_the_checker():
    sys = LureSystem(**LURE, phi="sat", noise_std=0.1)
    assert sys.kind == "lure" and sys.phi == "sat" and sys.sector == (0.0, 1.0) and sys.p == 2
    for k in "ABGC":
        np.testing.assert_array_equal(getattr(sys, k), LURE[k])
    fx, fu = sys.jacobians()
    np.testing.assert_allclose(fx, np.array(LURE["A"]) + np.array(LURE["G"]) @ np.array(LURE["C"]), atol=0)


@pytest.mark.parametrize("bad, word", [
    (dict(phi="relu"), "phi"),
    (dict(G=[[0.1], [0.3]]), "G"),
    (dict(C=[[1.0, 0.0, 0.0]]), "C"),
    (dict(B=[[0.0]]), "B"),
])
def test_lure_bad_input_names_the_key(bad, word):
    kw = dict(LURE, phi="tanh") | bad
    with pytest.raises(DimensionError, match=rf"^{word}:"):
        LureSystem(**kw)


def test_pendulum_is_semi_implicit_euler(rng):
    dt, w2, c, k = 0.05, 9.81, 0.5, 5.0
    sys = pendulum(dt, w2, c, k, noise_std=0.0)
    x, u = rng.normal(size=(100, 2)), rng.normal(size=(100, 1))
    om = x[:, 1] + dt * (-w2 * np.sin(x[:, 0]) - c * x[:, 1] + k * u[:, 0])
    th = x[:, 0] + dt * om
    np.testing.assert_allclose(sys.step(x, u), np.stack([th, om], axis=1), rtol=1e-12, atol=1e-14)
    assert sys.phi == "sin" and sys.sector == (-1.0, 1.0)
    # linearisation at the bottom: det = 1 - c dt (area contracts only through damping)
    assert np.linalg.det(sys.jacobians()[0]) == pytest.approx(1 - c * dt, rel=1e-12)


@pytest.mark.parametrize("kw, word", [(dict(dt=0.0), "dt"), (dict(g_over_l=-1.0), "g_over_l"),
                                      (dict(damping=30.0), "damping"), (dict(speed=1.0), "speed")])
def test_pendulum_bad_input(kw, word):
    args = dict(dt=0.05, g_over_l=9.81, damping=0.5, gain=1.0) | kw
    with pytest.raises(DimensionError, match=rf"^{word}:"):
        pendulum(**args)


def test_x0_mean_shifts_the_initial_states_only():
    base = LinearSystem([[0.5]], [[1.0]], x0_std=0.5)
    shifted = LinearSystem([[0.5]], [[1.0]], x0_std=0.5, x0_mean=[3.0])
    a = base.sample_x0(np.random.default_rng(1), 10_000)
    b = shifted.sample_x0(np.random.default_rng(1), 10_000)
    np.testing.assert_allclose(b - a, 3.0, rtol=0, atol=1e-12)  # the same draws, shifted
    assert abs(b.mean() - 3.0) < 5 * 0.5 / 100
    # the default (0) reproduces the draws of the explicit formula bit for bit
    z = np.random.default_rng(1).standard_normal((10_000, 1))
    np.testing.assert_array_equal(a, z @ np.array([[0.5]]))
    with pytest.raises(DimensionError, match="^x0_mean:"):
        LinearSystem([[0.5]], [[1.0]], x0_mean=[1.0, 2.0])


# --- experts ------------------------------------------------------------------------------------------

def test_tanh_expert_formula_and_certified_lipschitz(rng):
    K = np.array([[-0.3, -0.4], [0.2, 0.1]])
    e = TanhExpert(K, scale=[0.5, 2.0])
    x = rng.normal(size=(1000, 2)) * 3
    np.testing.assert_allclose(e.mean(x), np.array([0.5, 2.0]) * np.tanh(x @ K.T / np.array([0.5, 2.0])),
                               rtol=0, atol=0)
    L = e.lipschitz_upper()
    assert L == pytest.approx(np.linalg.norm(K, 2), rel=1e-12)
    y = x + rng.normal(size=x.shape) * 1e-3
    ratios = np.linalg.norm(e.mean(x) - e.mean(y), axis=1) / np.linalg.norm(x - y, axis=1)
    assert ratios.max() <= L * (1 + 1e-9)
    # tight: near the origin the ratio approaches ||K||
    x0 = np.zeros((1, 2))
    v = np.linalg.svd(K)[2][0] * 1e-6
    assert np.linalg.norm(e.mean(x0 + v)) / 1e-6 == pytest.approx(L, rel=1e-6)
    with pytest.raises(DimensionError, match="^scale:"):
        TanhExpert(K, scale=[1.0, 1.0, 1.0])
    with pytest.raises(DimensionError, match="^scale:"):
        TanhExpert(K, scale=0.0)


def _mlp_layers(rng, widths=(2, 8, 8, 1)):
    return [(rng.normal(size=(o, i)), rng.normal(size=o)) for i, o in zip(widths[:-1], widths[1:])]


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_mlp_expert_forward_jacobian_and_bound(activation, rng):
    layers = _mlp_layers(rng)
    e = MLPExpert(layers, activation=activation)
    act = np.tanh if activation == "tanh" else (lambda a: np.maximum(a, 0))
    x = rng.normal(size=(500, 2))
    h = x
    for W, b in layers[:-1]:
        h = act(h @ W.T + b)
    np.testing.assert_allclose(e.mean(x), h @ layers[-1][0].T + layers[-1][1], rtol=1e-12, atol=1e-12)
    bound = e.lipschitz_upper()
    assert bound == pytest.approx(np.prod([np.linalg.norm(W, 2) for W, _ in layers]), rel=1e-12)
    y = x + rng.normal(size=x.shape) * 1e-4
    ratios = np.linalg.norm(e.mean(x) - e.mean(y), axis=1) / np.linalg.norm(x - y, axis=1)
    assert ratios.max() <= bound
    xs = rng.normal(size=2) * 0.3
    fd = np.stack([(e.mean((xs + d)[None]) - e.mean((xs - d)[None]))[0] / 2e-6 for d in np.eye(2) * 1e-6], axis=1)
    np.testing.assert_allclose(e.jacobian(xs), fd, rtol=1e-5, atol=1e-7)


def _write(tmp_path, name="w.npz", **arrays):
    p = tmp_path / name
    np.savez(p, **arrays)
    return p


def test_mlp_npz_round_trip(tmp_path, rng):
    layers = _mlp_layers(rng)
    p = _write(tmp_path, **{f"{c}{i}": a for i, (W, b) in enumerate(layers, 1) for c, a in (("W", W), ("b", b))})
    e = MLPExpert.from_npz(p, activation="relu", noise_std=0.1)
    x = rng.normal(size=(10, 2))
    np.testing.assert_array_equal(e.mean(x), MLPExpert(layers, activation="relu").mean(x))
    assert e.noise_std == 0.1 and not e.deterministic and e.to_dict()["widths"] == [2, 8, 8, 1]


@pytest.mark.parametrize("mutate, word", [
    (lambda a: a.pop("b2"), "b2"),
    (lambda a: a.pop("W1"), "W1"),
    (lambda a: a.__setitem__("W2", np.ones((8, 3))), "W2"),
    (lambda a: a.__setitem__("b1", np.ones(7)), "b1"),
    (lambda a: a.__setitem__("b3", np.array([np.nan])), "b3"),
    (lambda a: a.__setitem__("W9", np.ones((1, 1))), "W9"),
    (lambda a: a.__setitem__("W2", np.array([[{"x": 1}]] * 8, dtype=object)), "W2"),
])
def test_bad_npz_names_the_array(tmp_path, rng, mutate, word):
    arrays = {f"{c}{i}": a for i, (W, b) in enumerate(_mlp_layers(rng), 1) for c, a in (("W", W), ("b", b))}
    mutate(arrays)
    p = _write(tmp_path, **arrays)
    with pytest.raises(SpecError, match=rf"\b{word}\b"):
        MLPExpert.from_npz(p)


def test_npz_that_is_not_an_archive(tmp_path):
    p = tmp_path / "bad.npz"
    p.write_text("not a zip")
    with pytest.raises(SpecError, match="bad.npz"):
        load_mlp_weights(p)
    with pytest.raises(SpecError, match="missing.npz"):
        load_mlp_weights(tmp_path / "missing.npz")


def test_callables_carry_declared_constants(rng):
    sys = CallableSystem(lambda x, u, w: 0.5 * np.sin(x) + u + w, 1, 1, noise_std=0.1, declared={"C": 1.0, "eta": 0.5})
    exp = CallableExpert(lambda x, z: -0.5 * np.tanh(x), 1, declared={"L": 0.5})
    assert sys.declared == {"C": 1.0, "eta": 0.5} and exp.declared == {"L": 0.5}
    assert sys.to_dict()["declared_label"] == DECLARED_LABEL == "declared, not certified"
    assert exp.lipschitz == 0.5 and math.isinf(exp.lipschitz_upper())
    x = rng.normal(size=(7, 1))
    np.testing.assert_allclose(sys.step(x, exp.act(x)), 0.5 * np.sin(x) - 0.5 * np.tanh(x), atol=1e-15)
    with pytest.raises(DimensionError, match=r"^declared\.eta:"):
        CallableSystem(lambda x, u, w: x, 1, 1, declared={"eta": 1.5})
    with pytest.raises(DimensionError, match=r"^declared\.K:"):
        CallableExpert(lambda x, z: x, 1, declared={"K": 1.0})
    with pytest.raises(DimensionError, match="^step:"):
        CallableSystem(lambda x, u, w: x[:, :0], 1, 1).step(x, x)
    with pytest.raises(DimensionError, match="^act:"):
        CallableExpert(lambda x, z: np.full((x.shape[0], 1), np.nan), 1).act(x)


def test_state_reward(rng):
    r = StateReward([-0.5, 0.25], offset=0.5)
    x = rng.normal(size=(1000, 2)) * 3
    np.testing.assert_allclose(r(x, None), np.clip(0.5 - 0.5 * x[:, 0] + 0.25 * x[:, 1], 0, 1), atol=0)
    assert r.lipschitz == pytest.approx(math.hypot(0.5, 0.25), rel=1e-12)
    y = x + rng.normal(size=x.shape) * 1e-3
    assert np.max(np.abs(r(x, None) - r(y, None)) / np.linalg.norm(x - y, axis=1)) <= r.lipschitz * (1 + 1e-9)


# --- TOML -----------------------------------------------------------------------------------------------

def _doc(**over):
    doc = {"system": {"kind": "lure", "A": [[0.9, 0.2], [0.0, 0.7]], "B": [[0.0], [1.0]], "G": [[0.0], [0.3]],
                      "C": [[1.0, 0.0]], "phi": "tanh", "x0_mean": [1.0, 0.0]},
           "expert": {"kind": "tanh", "K": [[-0.3, -0.4]], "scale": 0.5},
           "quantizer": {"kind": "binning", "low": -1, "high": 1, "bins": 16},
           "reward": {"kind": "state", "weights": [-0.5, 0.0], "offset": 0.5},
           "run": {"horizon": 10}}
    for key, value in over.items():
        section, _, sub = key.partition("__")
        doc[section] = dict(doc[section]) | {sub: value} if sub else value
    return doc


def test_toml_builds_the_new_kinds():
    inst = instance_from_dict(_doc())
    assert isinstance(inst.system, LureSystem) and isinstance(inst.expert, TanhExpert)
    assert isinstance(inst.reward, StateReward) and inst.system.x0_mean.tolist() == [1.0, 0.0]
    pend = instance_from_dict(_doc(system={"kind": "pendulum", "dt": 0.05, "g_over_l": 9.81, "damping": 0.5,
                                           "gain": 5.0}))
    assert pend.system.phi == "sin"


@pytest.mark.parametrize("over, key", [
    (dict(system__phi="relu"), "system.phi"),
    (dict(system__G=[[0.0, 1.0], [0.3, 1.0]]), "system.G"),
    (dict(system__x0_mean=[1.0]), "system.x0_mean"),
    (dict(expert__K=[[1.0, 2.0, 3.0]]), "expert.K"),
    (dict(expert__scale=-1.0), "expert.scale"),
    (dict(reward__weights=[1.0]), "reward.weights"),
    (dict(reward__gain=1.0), "reward.gain"),
    (dict(system={"kind": "pendulum", "dt": 0.05, "g_over_l": 9.81, "damping": 0.5}), "system.gain"),
    (dict(expert={"kind": "mlp", "weights": "nowhere.npz"}), "nowhere.npz"),
    (dict(expert={"kind": "mlp", "weights": "x.npz", "activation": "gelu"}), "expert.activation"),
    (dict(expert={"kind": "lqr", "Q": [[1, 0], [0, 1]], "R": [[1]]}), "expert.kind"),
])
def test_toml_bad_input_names_the_key(over, key):
    with pytest.raises(QbcError, match=key.replace(".", r"\.")):
        instance_from_dict(_doc(**over))


def test_mlp_weights_resolve_relative_to_the_toml(tmp_path):
    inst = load_instance(INSTANCES / "mlp_sat.toml")
    assert isinstance(inst.expert, MLPExpert) and inst.expert.source.endswith("mlp_expert.npz")


def _toml(tmp_path, text, npz=None):
    if npz is not None:
        np.savez(tmp_path / "w.npz", **npz)
    p = tmp_path / "inst.toml"
    p.write_text(text)
    return str(p)


_MLP_TOML = """
[system]
A = [[0.5, 0.0], [0.0, 0.5]]
B = [[0.0], [1.0]]
[expert]
kind = "mlp"
weights = "w.npz"
[quantizer]
kind = "binning"
low = -1.0
high = 1.0
bins = 8
[run]
horizon = 5
"""


@pytest.mark.parametrize("npz, word", [
    ({"W1": np.ones((3, 2)), "b1": np.ones(3), "W2": np.ones((1, 3))}, "b2"),
    ({"W1": np.ones((3, 2)), "b1": np.ones(3), "W2": np.ones((1, 4)), "b2": np.ones(1)}, "W2"),
    ({"W1": np.ones((3, 2)), "b1": np.array([1.0, np.nan, 1.0]), "W2": np.ones((1, 3)), "b2": np.ones(1)}, "b1"),
    ({"W1": np.ones((3, 3)), "b1": np.ones(3), "W2": np.ones((1, 3)), "b2": np.ones(1)}, "W1"),
])
def test_cli_bad_npz_is_exit_2_one_line(tmp_path, capsys, npz, word):
    code = main(["simulate", _toml(tmp_path, _MLP_TOML, npz), "--eval-trajectories", "10"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert f"{word}" in err, err


def test_cli_unknown_phi_and_shape_mismatch_are_exit_2(tmp_path, capsys):
    text = _MLP_TOML.replace("[system]", '[system]\nkind = "lure"\nphi = "cube"\nG = [[1.0], [0.0]]\nC = [[1.0, 0.0]]')
    code = main(["check", _toml(tmp_path, text)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "system.phi" in err and "cube" in err
    text = _MLP_TOML.replace("[system]", '[system]\nkind = "lure"\nphi = "sin"\nG = [[1.0, 0.0]]\nC = [[1.0, 0.0]]')
    code = main(["check", _toml(tmp_path, text)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "system.G" in err
