"""qbc audit and qbc export: data validation, the eps_q and RTVC audit, Proposition 5's reading.

The audit must find a witness for a k-means codebook on a deterministic expert and none for binning
at k = 3 below Proposition 5's radius (same data, same code path: the k-means case is the control
that makes the binning case able to fail). Bad input exits 2 with one line naming the array or key.
"""

import json

import numpy as np
import pytest

from conftest import INSTANCES
from qbc_theory.checker.audit import audit
from qbc_theory.cli import main
from qbc_theory.model.dataset import chunk_episodes, demonstrations, load_demonstrations, split_episodes
from qbc_theory.model.instance import load_instance
from qbc_theory.model.tokenizers import make_tokenizer


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def linear_expert_data(n=40, h=100, slope=0.8, seed=1):
    """A deterministic Lipschitz expert u = slope * x on states uniform in [-1, 1]."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, h, 1))
    return x, slope * x


@pytest.fixture
def linear_npz(tmp_path):
    x, u = linear_expert_data()
    path = tmp_path / "linear.npz"
    np.savez(path, states=x, actions=u)
    return path


# --- data -------------------------------------------------------------------------------------------

def test_flat_and_episode_layouts_agree():
    x, u = linear_expert_data(n=5, h=7)
    a = demonstrations(x, u)
    b = demonstrations(x.reshape(35, 1), u.reshape(35, 1), np.arange(1, 6) * 7)
    np.testing.assert_array_equal(a.states, b.states)
    np.testing.assert_array_equal(a.episode_ends, b.episode_ends)
    assert (a.layout, b.layout) == ("episodes", "flat")


def test_chunks_by_hand():
    # episodes [0, 3) and [3, 8); chunks of 2 start at 0, 3, 5; one step of each episode is dropped
    s = np.arange(8.0)[:, None]
    d = demonstrations(s, 10 * s, [3, 8])
    xs, ch, dropped = chunk_episodes(d, 2)
    assert xs[:, 0].tolist() == [0.0, 3.0, 5.0]
    assert ch[:, :, 0].tolist() == [[0.0, 10.0], [30.0, 40.0], [50.0, 60.0]]
    assert dropped == 2


def test_split_is_a_partition_of_episodes(rng):
    x, u = linear_expert_data(n=11, h=3)
    fit, aud = split_episodes(demonstrations(x, u), 0.5, rng)
    assert fit.n_episodes + aud.n_episodes == 11
    both = np.concatenate([fit.states[:, 0], aud.states[:, 0]])
    np.testing.assert_array_equal(np.sort(both), np.sort(x.ravel()))


# --- the audit's findings -----------------------------------------------------------------------------

def primary(result):
    return next(r for r in result.rtvc if r["basis"] == result.smoothness["primary"] and r["k"] == 3.0)


def test_kmeans_codebook_on_a_deterministic_expert_has_a_witness():
    x, u = linear_expert_data()
    res = audit(demonstrations(x, u), make_tokenizer("kmeans", {"codes": 8}), seed=0)
    main_entry = primary(res)
    assert res.smoothness["primary"] == "mean"
    assert res.smoothness["witness_below_delta0"]
    w = main_entry["witness"]
    assert w["distance"] <= main_entry["delta0"]
    # the witness is a real pair: its decoded actions differ by more than eps' = 3 mean eps_q
    a = np.asarray(w["actions"])
    assert np.linalg.norm(a[0] - a[1]) > main_entry["eps_prime"]
    np.testing.assert_allclose(np.linalg.norm(np.subtract(*w["states"])), w["distance"], rtol=1e-12, atol=0)
    assert "Theorem 6" in res.smoothness["theorem"]


def test_binning_has_no_witness_below_proposition_5_radius():
    x, u = linear_expert_data()
    res = audit(demonstrations(x, u), make_tokenizer("binning", {"bins": 16, "low": -1, "high": 1}), seed=0)
    e = primary(res)
    assert res.smoothness["primary"] == "bound"
    assert res.clipped_fraction == 0.0
    assert res.eps_q["sup"] <= res.eps_q["bound"]
    assert e["eps_q"] == pytest.approx(1 / 16, rel=1e-12)
    assert e["kappa_at_delta0"] == 0.0
    assert e["witness"] is None or e["witness"]["distance"] > e["delta0"]
    assert not res.smoothness["witness_below_delta0"]
    assert "consistent" in res.smoothness["theorem"]


def test_the_sup_basis_cannot_have_a_witness_below_delta0():
    # on the audited pairs ||q(u) - q(u')|| <= 2 sup + L_hat r: a witness below delta0 is impossible there
    x, u = linear_expert_data()
    for name, params in (("kmeans", {"codes": 8}), ("rvq", {"codes": 4}), ("openvla", {})):
        res = audit(demonstrations(x, u), make_tokenizer(name, params), seed=0)
        for r in res.rtvc:
            if r["basis"] == "sup":
                assert not r["below_delta0"], name


def test_openvla_clipping_is_reported():
    x, u = linear_expert_data()
    res = audit(demonstrations(x, u), make_tokenizer("openvla"), seed=0)
    # the 1st/99th percentiles of the fit split leave about 2% of audit actions outside: clipped
    assert 0.005 < res.clipped_fraction < 0.05
    assert res.eps_q["sup"] > 5 * res.eps_q["in_range_sup"]
    assert res.eps_q["in_range_sup"] <= res.eps_q["bound"]
    assert any("clipped" in n for n in res.smoothness["notes"])


def test_fast_fallback_is_reported_as_a_discontinuity():
    rng = np.random.default_rng(3)
    steps = np.cumsum(rng.normal(size=(60, 40, 2)) * 0.05, axis=1)
    amp = np.exp(rng.normal(size=(60, 1, 1)) * 1.5)  # heavy-tailed episode amplitudes
    u = steps * amp
    res = audit(demonstrations(rng.normal(size=(60, 40, 3)), u), make_tokenizer("fast", {"chunk": 8}), seed=0)
    fb = res.fallback
    assert fb is not None and fb["fraction"] > 0
    assert fb["jump"] > 0
    assert res.out_of_range_fraction == pytest.approx(fb["fraction"], rel=1e-12)
    # control: identical episodes share one alphabet, nothing falls back
    same = np.broadcast_to(u[:1], u.shape)
    res0 = audit(demonstrations(rng.normal(size=(60, 40, 3)), same), make_tokenizer("fast", {"chunk": 8}), seed=0)
    assert res0.fallback["fraction"] == 0.0


def test_budget_and_pair_cap_are_reported():
    x, u = linear_expert_data()
    res = audit(demonstrations(x, u), make_tokenizer("openvla"), seed=0, budget=300)
    assert res.pairs["states"] == 300 and res.pairs["budget"] == 300
    assert res.pairs["count"] <= res.pairs["cap"]


def test_instance_adds_stability():
    inst = load_instance(INSTANCES / "lqr_binning.toml")
    rng = np.random.default_rng(0)
    from qbc_theory.engine.export import expert_demonstrations
    arr = expert_demonstrations(inst, 60, rng)
    res = audit(demonstrations(arr["states"], arr["actions"]), make_tokenizer("openvla"), instance=inst)
    assert res.stability["globally_p_iiss"] is True
    assert res.stability["Gamma"] > 0
    assert not any(u.startswith("stability") for u in res.smoothness["unchecked"])


# --- the command line ---------------------------------------------------------------------------------

def test_cli_audit_json_contract_and_plot(linear_npz, tmp_path, capsys):
    png = tmp_path / "audit.png"
    code, out, err = run(capsys, "audit", linear_npz, "--tokenizer", "kmeans", "--param", "codes=8", "--json",
                         "--plot", png)
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert set(doc["eps_q"]) >= {"sup", "p99", "mean", "in_range_sup"}
    assert "clipped_fraction" in doc
    for r in doc["rtvc"]:
        assert set(r) >= {"k", "eps_prime", "kappa", "witness", "basis"}
        assert all(len(p) == 2 for p in r["kappa"])
    assert {r["k"] for r in doc["rtvc"]} == {2.0, 3.0, 4.0}
    assert len({r["basis"] for r in doc["rtvc"]}) >= 2
    assert png.stat().st_size > 10_000


def test_cli_audit_text(linear_npz, capsys):
    code, out, err = run(capsys, "audit", linear_npz, "--tokenizer", "fsq", "--param", "levels=[4]",
                         "--param", "chunk=1")
    assert code == 0 and err == ""
    assert "eps_q on the audit split" in out and "reading" in out


def bad_file(tmp_path, name, **arrays):
    path = tmp_path / f"{name}.npz"
    np.savez(path, **arrays)
    return path


X, U = linear_expert_data(n=4, h=5)


@pytest.mark.parametrize("name, arrays, key", [
    ("object", {"states": np.array([[1.0], "a"], dtype=object), "actions": U}, "states"),
    ("missing", {"states": X}, "actions"),
    ("rows", {"states": X.reshape(20, 1), "actions": U.reshape(20, 1)[:19], "episode_ends": [10, 20]}, "actions"),
    ("steps", {"states": X, "actions": U[:, :4]}, "actions"),
    ("nan", {"states": np.where(X > 0.9, np.nan, X), "actions": U}, "states"),
    ("inf", {"states": X, "actions": np.where(U > 0.5, np.inf, U)}, "actions"),
    ("noends", {"states": X.reshape(20, 1), "actions": U.reshape(20, 1)}, "episode_ends"),
    ("badends", {"states": X.reshape(20, 1), "actions": U.reshape(20, 1), "episode_ends": [10, 19]},
     "episode_ends"),
    ("floatends", {"states": X.reshape(20, 1), "actions": U.reshape(20, 1), "episode_ends": [10.0, 20.0]},
     "episode_ends"),
    ("text", {"states": np.full((4, 5, 1), "a"), "actions": U}, "states"),
    ("one", {"states": X[:1], "actions": U[:1]}, "episode_ends"),
])
def test_bad_data_exit_2_one_line(tmp_path, capsys, name, arrays, key):
    path = bad_file(tmp_path, name, **arrays)
    code, out, err = run(capsys, "audit", path, "--tokenizer", "openvla")
    assert code == 2, err
    assert out == ""
    assert err.count("\n") == 1 and key in err, err


@pytest.mark.parametrize("argv, key", [
    (["--tokenizer", "openvIa"], "--tokenizer"),
    (["--tokenizer", "openvla", "--param", "bnis=3"], "bnis"),
    (["--tokenizer", "openvla", "--param", "bins=abc"], "bins"),
    (["--tokenizer", "openvla", "--param", "bins=__import__('os')"], "bins"),
    (["--tokenizer", "openvla", "--param", "bins=nan"], "bins"),
    (["--tokenizer", "openvla", "--param", "bins=-3"], "bins"),
    (["--tokenizer", "openvla", "--param", "bins"], "--param"),
    (["--tokenizer", "fast", "--param", "chunk=[1,2]"], "chunk"),
    (["--tokenizer", "openvla", "--fit-fraction", "1.5"], "--fit-fraction"),
    (["--tokenizer", "openvla", "--plot", "out.txt"], "--plot"),
    (["--tokenizer", "fast", "--param", "chunk=1000"], "chunk"),
    (["--tokenizer", "openvla", "--instance", str(INSTANCES / "lqr_binning.toml")], "instance"),
    (["--tokenizer", "kmeans", "--param", "codes=100000"], "codes"),
    (["--tokenizer", "vqbet", "--param", "codes=100000"], "codes"),
    (["--tokenizer", "openvla", "--param", "unnormalized=3"], "unnormalized"),
])
def test_bad_arguments_exit_2_one_line(linear_npz, capsys, argv, key):
    code, out, err = run(capsys, "audit", linear_npz, *argv)
    assert code == 2, err
    assert err.count("\n") == 1 and key in err, err


def test_trap_needs_scalar_actions(tmp_path, capsys):
    path = bad_file(tmp_path, "two", states=X, actions=np.concatenate([U, U], axis=2))
    code, _, err = run(capsys, "audit", path, "--tokenizer", "trap")
    assert code == 2 and err.count("\n") == 1 and "du" in err, err


def test_unreadable_file_exit_2(tmp_path, capsys):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    for path in (junk, tmp_path / "absent.npz"):
        code, _, err = run(capsys, "audit", path, "--tokenizer", "openvla")
        assert code == 2 and err.count("\n") == 1 and str(path.name) in err, err


# --- export -------------------------------------------------------------------------------------------

def test_export_round_trip_and_expert_actions(tmp_path, capsys):
    out = tmp_path / "lqr.npz"
    code, _, err = run(capsys, "export", INSTANCES / "lqr_binning.toml", "--n", 30, "--out", out, "--seed", 4)
    assert code == 0 and err == ""
    d = load_demonstrations(out)
    assert (d.n_episodes, d.dx, d.du) == (30, 2, 1)
    inst = load_instance(INSTANCES / "lqr_binning.toml")
    # a deterministic LQR expert: every logged action is K x at its state
    np.testing.assert_allclose(d.actions, d.states @ inst.expert.K.T, rtol=0, atol=1e-12)
    flat = tmp_path / "flat.npz"
    run(capsys, "export", INSTANCES / "lqr_binning.toml", "--n", 30, "--out", flat, "--seed", 4, "--flat")
    with np.load(flat, allow_pickle=False) as f:
        assert f["episode_ends"].tolist() == list(range(50, 1501, 50))
        np.testing.assert_array_equal(f["states"], d.states)
    again = tmp_path / "again.npz"
    run(capsys, "export", INSTANCES / "lqr_binning.toml", "--n", 30, "--out", again, "--seed", 4)
    np.testing.assert_array_equal(load_demonstrations(again).actions, d.actions)


@pytest.mark.parametrize("argv, key", [
    (["--n", "0", "--out", "x.npz"], "--n"),
    (["--n", "5", "--out", "x.txt"], "--out"),
    (["--n", "5", "--out", "/nonexistent-dir/x.npz"], "--out"),
    (["--n", "5"], "--out"),
])
def test_export_bad_arguments(capsys, argv, key):
    code, _, err = run(capsys, "export", INSTANCES / "lqr_binning.toml", *argv)
    assert code == 2 and err.count("\n") == 1 and key in err, err


def closed_loop_data(noise, n=200, h=40, seed=5):
    """x+ = 0.9 x + 0.2 u + w with u = -0.5 x (deterministic expert); w ~ N(0, noise^2)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 1))
    xs, us = np.empty((n, h, 1)), np.empty((n, h, 1))
    for t in range(h):
        u = -0.5 * x
        xs[:, t], us[:, t] = x, u
        x = 0.9 * x + 0.2 * u + noise * rng.normal(size=(n, 1))
    return xs, us


def test_chunks_under_process_noise_make_the_reading_inconclusive():
    tok = make_tokenizer("vqbet", {"chunk": 5})
    noisy = audit(demonstrations(*closed_loop_data(0.05)), tok, seed=0)
    assert noisy.expert["lipschitz_lower_bound"] > 10 * noisy.expert["lipschitz_first_action"]
    assert noisy.smoothness["verdict"].startswith("inconclusive")
    # control: the same closed loop without noise, a chunk is a function of its start state
    clean = audit(demonstrations(*closed_loop_data(0.0)), tok, seed=0)
    assert not clean.smoothness["verdict"].startswith("inconclusive")
    np.testing.assert_allclose(clean.expert["lipschitz_first_action"], 0.5, rtol=1e-9)
