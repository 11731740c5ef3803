"""The qbc command line: help, version, exit codes and one-line errors on bad input."""

import json
import subprocess
import sys

import pytest

from conftest import INSTANCES
from qbc_theory import __version__
from qbc_theory.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "check" in capsys.readouterr().out


def test_check_prints_the_instance(capsys):
    code, out, err = run(capsys, "check", str(INSTANCES / "lqr_binning.toml"))
    assert code in (0, 1)
    assert "lqr_binning" in out and err == ""


def test_check_json_is_pure_json(capsys):
    code, out, _ = run(capsys, "check", str(INSTANCES / "lqr_binning.toml"), "--json")
    doc = json.loads(out)
    assert doc["instance"]["name"] == "lqr_binning"


@pytest.mark.parametrize(
    "content, key",
    [
        ("[system]\nA = [[1.0, 2.0]]\nB = [[1.0]]\n[expert]\nkind='arctan'\n[quantizer]\nkind='binning'\n"
         "low=-1\nhigh=1\nbins=4\n[run]\nhorizon=5\n", "system.A"),
        ("[system]\nA = [[0.5]]\nB = [[1.0]]\n[expert]\nkind='arctan'\n[quantizer]\nkind='binning'\n"
         "low=-1\nhigh=1\nbins=-2\n[run]\nhorizon=5\n", "quantizer.bins"),
        ("[system]\nA = [[0.5]]\nB = [[1.0]]\nwobble = 1\n", "system.wobble"),
        ("[system]\nA = [[0.5]]\nB = [[1.0]]\n[expert]\nkind='arctan'\n[run]\nhorizon=5\n", "quantizer"),
        ("[system]\nA = [[0.5]]\nB = [[1.0]]\ndt = 0\n[expert]\nkind='arctan'\n[quantizer]\n"
         "kind='binning'\nlow=-1\nhigh=1\nbins=4\n[run]\nhorizon=5\n", "system.dt"),
        ("[system]\nA = [[inf]]\nB = [[1.0]]\n", "system.A"),
    ],
)
def test_bad_input_exit_2_one_line(tmp_path, capsys, content, key):
    f = tmp_path / "bad.toml"
    f.write_text(content)
    code, out, err = run(capsys, "check", str(f))
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and key in lines[0] and "expected" in lines[0]
    assert "Traceback" not in err


def test_usage_errors_exit_2_one_line(capsys):
    for argv in (["frobnicate"], [], ["check"]):
        code, _, err = run(capsys, *argv)
        assert code == 2
        assert len(err.strip().splitlines()) == 1


def test_console_script_subprocess_no_traceback(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text("[system]\nA = 'import os'\nB = [[1.0]]\n")
    proc = subprocess.run([sys.executable, "-m", "qbc_theory.cli", "check", str(f)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("qbc: error: system.A: expected numbers")


def test_proofs_json_and_bad_id(capsys):
    code, out, err = run(capsys, "proofs", "--only", "thm6.conditions", "--json")
    assert code == 0
    checks = json.loads(out)["checks"]
    assert [c["id"] for c in checks] == ["thm6.conditions"]
    assert checks[0]["result"] in {"proved", "verified-numerically", "counterexample", "failed"}
    code, out, err = run(capsys, "proofs", "--only", "thm99.nothing")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1


def test_bound_list_and_value(capsys):
    code, out, _ = run(capsys, "bound", "--list")
    assert code == 0 and "thm3" in out and "thm9" in out
    code, out, _ = run(capsys, "bound", "thm8", "--H", "10", "--n", "100", "--eps_q", "0.01", "--json")
    doc = json.loads(out)
    assert code == 0 and set(doc) >= {"name", "theorem", "kind", "form", "latex", "value", "exponents"}
    assert doc["kind"] == "lower" and doc["value"] > 0
    assert doc["exponents"]["n"] == -1


def test_bound_missing_values_are_named_exit_2(capsys):
    """Regression: a bound with symbols lacking values printed no value and exited 0 without naming them."""
    code, out, err = run(capsys, "bound", "thm1", "--H", "10", "--eps_q", "0.01")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "missing: Gamma, L_r, delta_iiss, eps_prime, kappa, p_far, tv" in err
    assert "--Gamma VALUE" in err and "--from-check" in err
    code, out, err = run(capsys, "bound", "thm8", "--H", "10", "--json")
    assert code == 2 and out == "" and "missing: eps_q, n" in err


def test_bound_symbolic_prints_the_formula_with_free_symbols(capsys):
    code, out, err = run(capsys, "bound", "thm8", "--H", "10", "--symbolic", "--json")
    doc = json.loads(out)
    assert code == 0 and err == "" and "value" not in doc and doc["missing"] == ["eps_q", "n"]
    assert "varepsilon_q" in doc["latex_at_values"] and "H" not in doc["latex_at_values"]
    code, out, _ = run(capsys, "bound", "thm8", "--H", "10", "--symbolic")
    assert code == 0 and "free symbols  eps_q, n" in out and "  value " not in out
    code, out, _ = run(capsys, "bound", "thm8", "--H", "10", "--n", "100", "--eps_q", "0.01", "--symbolic")
    assert code == 0 and "value    0.0260" in out and "free symbols" not in out


def test_bound_from_check_names_missing_and_why(capsys):
    """Regression: --from-check on an instance where the theorem does not apply printed no value, no reason."""
    code, out, err = run(capsys, "bound", "thm3", "--from-check", str(INSTANCES / "trap_loop.toml"))
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "missing: k, kappa" in err and "does not apply" in err and "binning" in err
    # with every value given, the value is printed with the checker's verdict beside it
    code, out, _ = run(capsys, "bound", "thm3", "--from-check", str(INSTANCES / "trap_loop.toml"), "--k", "3",
                       "--kappa", "1", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["value"] > 0 and "does not apply" in doc["note"]
    code, _, err = run(capsys, "bound", "thm3", "--from-check", str(INSTANCES / "lqr_binning.toml"))
    assert code == 2 and "missing: kappa" in err and "thm3_binning" in err


def test_bound_from_check_uses_the_checkers_constants(capsys):
    """Regression: thm3_binning in its H^2 regime (L Gamma (k+1) >= k - 2) was refused as an assumption."""
    from qbc_theory import check, load_instance

    verdict = check(load_instance(INSTANCES / "lqr_binning.toml")).to_dict()["theorems"]["thm3"]
    code, out, _ = run(capsys, "bound", "thm3_binning", "--from-check", str(INSTANCES / "lqr_binning.toml"),
                       "--json")
    assert verdict["bound_name"] == "thm3_binning" and code == 0
    assert json.loads(out)["value"] == pytest.approx(verdict["bound"], rel=1e-12)


def test_bound_help_lists_every_symbol_of_every_bound(capsys):
    """Regression: the hand-typed list in ``qbc bound --help`` lacked kappa, delta_iiss, tv, p_far, ..."""
    from qbc_theory.theory import bounds, symbols

    with pytest.raises(SystemExit) as exc:
        main(["bound", "--help"])
    out = capsys.readouterr().out
    assert exc.value.code == 0
    used = {s for form in ("explicit", "rate") for b in bounds.catalog(form) for s in b.symbols}
    listed = {line.split()[0][2:] for line in out.splitlines() if line.startswith("  --") and
              line.split()[0][2:] in symbols.names()}
    assert used <= listed and set(symbols.names()) == listed
    for name in ("kappa", "delta_iiss", "tv", "p_far", "eps_reg", "r", "L_mu", "rho_m", "dx", "du"):
        assert f"  --{name} " in out


@pytest.mark.parametrize(
    "argv, key",
    [
        (["bound", "thm2", "--H", "-5"], "H"),
        (["bound", "thm2", "--delta", "1.5"], "delta"),
        (["bound", "thm2", "--n", "__import__('os')"], "n"),
        (["bound", "thm2", "--n", "2**10"], "n"),
        (["bound", "thm2", "--nonsense", "1"], "nonsense"),
        (["bound", "thm42"], "thm42"),
        (["bound", "thm2", "--H"], "H"),
    ],
)
def test_bound_bad_values_exit_2_naming_the_symbol(capsys, argv, key):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and key in lines[0]


def test_bound_from_check_fills_constants(capsys):
    code, out, _ = run(capsys, "bound", "thm7", "--from-check", str(INSTANCES / "lqr_binning.toml"), "--json")
    assert code == 0 and json.loads(out)["value"] > 0


def test_run_bad_spec_exit_2(tmp_path, capsys):
    f = tmp_path / "spec.toml"
    f.write_text('id = "x"\ncell = "no.such.cell"\nentropy = 1\n[grid]\nn = [1]\n'
                 '[profiles.quick]\nseeds = 2\n[profiles.full]\nseeds = 2\n')
    code, out, err = run(capsys, "run", str(f), "--backend", "serial", "--out", str(tmp_path / "o"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "cell" in err


def test_run_accepts_a_claim_id_and_prints_its_verdict(tmp_path, capsys):
    """Regression: ``qbc run CLAIM`` was refused (only spec paths) and printed only a path."""
    from qbc_theory.verification.claims import verify

    out_dir = tmp_path / "o"
    code, out, err = run(capsys, "run", "lipschitz.exp", "--backend", "serial", "--out", str(out_dir),
                         "--no-progress")
    assert code == 0 and err == ""
    row = next(line for line in out.splitlines() if line.startswith("lipschitz.exp "))
    verdict = json.loads((out_dir / "claim.lipschitz.exp.quick.json").read_text())
    status = verdict["claims"][0]["status"]
    assert status in row and f"verdict in {out_dir / 'claim.lipschitz.exp.quick.json'}" in out
    for spec_id in ("lipschitz.exp", "lipschitz.exp.control"):
        assert f"results in {out_dir / f'{spec_id}.quick.json'}" in out
    # the same verdict as qbc verify's row for that claim (cells come from the cache)
    report = verify("quick", backend="serial", out=out_dir, claims=["lipschitz.exp"], progress=False)
    assert report.to_dict()["claims"] == verdict["claims"]
    code, out, _ = run(capsys, "run", "lipschitz.exp", "--backend", "serial", "--out", str(out_dir),
                       "--no-progress", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["claims"][0]["status"] == status and set(doc["tables"]) == {
        "lipschitz.exp", "lipschitz.exp.control"}
    # a built-in spec id runs that spec alone
    code, out, _ = run(capsys, "run", "lipschitz.exp.control", "--backend", "serial", "--out", str(out_dir),
                       "--no-progress")
    assert code == 0 and out.startswith("lipschitz.exp.control (quick)") and "computed 0," in out


def test_run_unknown_target_names_the_claim_ids(capsys):
    code, out, err = run(capsys, "run", "thm42.nothing", "--backend", "serial")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "thm3.rate_n" in err and "thm42.nothing" in err


@pytest.mark.dask
def test_run_unreachable_scheduler_exit_2_one_line(tmp_path, capsys):
    """Regression: ``qbc run --backend dask --scheduler tcp://bad:1`` waited 30 s, then 'internal error' exit 1."""
    pytest.importorskip("distributed")
    code, out, err = run(capsys, "run", "lipschitz.exp", "--backend", "dask", "--scheduler", "tcp://127.0.0.1:1",
                         "--connect-timeout", "1", "--out", str(tmp_path))
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "scheduler" in err and "tcp://127.0.0.1:1" in err and "internal error" not in err
    code, _, err = run(capsys, "run", "lipschitz.exp", "--connect-timeout", "-3")
    assert code == 2 and "--connect-timeout" in err


@pytest.mark.dask
@pytest.mark.parametrize("argv", [("verify", "--claims", "lipschitz.exp", "--no-plots"),
                                  ("figs", "--no-progress")])
def test_verify_and_figs_take_the_connect_timeout(argv, tmp_path, capsys):
    # the option is shared by every command that runs cells; a bad scheduler is one line, exit 2
    pytest.importorskip("distributed")
    out_dir = ("--results", str(tmp_path), "--out", str(tmp_path / "figs")) if argv[0] == "figs" \
        else ("--out", str(tmp_path))
    code, out, err = run(capsys, *argv, "--backend", "dask", "--scheduler", "tcp://127.0.0.1:1",
                         "--connect-timeout", "1", *out_dir)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "scheduler" in err and "tcp://127.0.0.1:1" in err and "internal error" not in err
    code, _, err = run(capsys, *argv, "--connect-timeout", "0")
    assert code == 2 and "--connect-timeout" in err


def test_simulate_json_contract(capsys):
    code, out, _ = run(capsys, "simulate", str(INSTANCES / "gaussian_binning.toml"), "--n", "20",
                       "--seeds", "2", "--eval-trajectories", "200", "--json")
    doc = json.loads(out)
    assert code == 0
    assert {"regret", "ci", "in_distribution_error", "deployment_error", "n", "seeds", "seconds"} <= set(doc)
    assert doc["n"] == 20 and doc["seeds"] == 2 and doc["ci"][0] <= doc["regret"] <= doc["ci"][1]


@pytest.mark.parametrize("argv", [["--n", "0"], ["--seeds", "-1"], ["--learner", "oracle"], ["--n", "1e3"]])
def test_simulate_bad_arguments(capsys, argv):
    code, out, err = run(capsys, "simulate", str(INSTANCES / "lqr_binning.toml"), *argv)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "content, key",
    [
        ("[system]\nA = [[0.5]]\nB = [[1e308]]\n", "system.B: expected entries of magnitude at most"),
        ("[system]\nA = [[0.5]]\nB = [[1.0]]\n[expert]\nkind='linear'\nK=[[0.1]]\n[quantizer]\nkind='rvq'\n"
         "stages=40\nn_codes=4\n[run]\nhorizon=8\n", "quantizer.stages: expected n_codes**stages <= 2**62"),
        ("[system]\nA = [[0.5]]\nB = [[1.0]]\n[expert]\nkind='linear'\nK=[[0.1]]\n[quantizer]\nkind='kmeans'\n"
         "n_codes=100000\n[run]\nhorizon=2\n", "quantizer.n_codes: expected at most"),
        ("[system]\nA = [[0.5, 0], [0, 0.5]]\nB = [[1.0, 0], [0, 1]]\n[expert]\nkind='linear'\nK=[[0.1, 0], [0, 0.1]]\n"
         "[quantizer]\nkind='binning'\nlow=-1\nhigh=1\nbins=3000000000\n[run]\nhorizon=2\n",
         "quantizer.bins: expected bins**dim <= 2**62"),
    ],
)
def test_extreme_values_exit_2_one_line(tmp_path, capsys, content, key):
    f = tmp_path / "x.toml"
    f.write_text(content)
    for command in ("check", "simulate"):
        code, out, err = run(capsys, command, str(f))
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and key in err


def test_unexpected_errors_are_one_line_unless_debugging(monkeypatch, capsys):
    def boom(args):
        raise ZeroDivisionError("planted bug")

    import qbc_theory.cli.check as check_command

    monkeypatch.setattr(check_command, "run", boom)
    code, out, err = run(capsys, "check", "whatever.toml")
    assert code == 1 and "internal error: ZeroDivisionError: planted bug" in err and "Traceback" not in err
    monkeypatch.setenv("QBC_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["check", "whatever.toml"])


def test_bound_from_check_takes_counts_beyond_floats_as_logs(capsys, monkeypatch):
    """|M| = e^1690 is None in the checker's values (beyond a float) with log_M beside it: the bound uses the log."""
    import math

    import qbc_theory.checker.report as report_module

    vals = {"H": 50.0, "n": 200.0, "delta": 0.05, "eps_q": 0.03, "Pi": 49.0, "log_Pi": math.log(49.0), "M": None,
            "log_M": 1689.9, "C": 1.0, "eta": 0.9, "L_r": 1.0}

    class Fake:
        def to_dict(self):
            return {"theorems": {"thm7": {"applies": True, "reasons": [], "bound_name": "thm7", "values": vals}}}

    monkeypatch.setattr(report_module, "check", lambda instance: Fake())
    code, out, err = run(capsys, "bound", "thm7", "--from-check", str(INSTANCES / "lqr_binning.toml"), "--json")
    doc = json.loads(out)
    expected = 50 * 1.0 * 0.03 * (1 / 0.1 + 1) + math.sqrt(6) * 50 * math.sqrt(
        (math.log(2) + 1689.9 + math.log(49.0) - math.log(0.05)) / 200)
    assert code == 0 and doc["log_counts"] == {"M": 1689.9}
    assert doc["value"] == pytest.approx(expected, rel=1e-12)
    # the same by hand, and the refusals
    code, out, _ = run(capsys, "bound", "thm7", "--H", "50", "--n", "200", "--delta", "0.05", "--eps_q", "0.03",
                       "--Pi", "49", "--log_M", "1689.9", "--C", "1", "--eta", "0.9", "--L_r", "1", "--json")
    assert code == 0 and json.loads(out)["value"] == pytest.approx(expected, rel=1e-12)
    for argv, key in ((["--log_M", "-1"], "log_M"), (["--log_H", "3"], "log_H"), (["--log_M", "1e999"], "log_M")):
        code, out, err = run(capsys, "bound", "thm7", *argv)
        assert code == 2 and out == "" and key in err and len(err.strip().splitlines()) == 1
