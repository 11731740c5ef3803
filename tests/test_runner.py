"""Tests of qbc_theory.verification.runner: spec validation, seeding, backends, content-addressed cache and resume."""

import importlib.util
import io
import json
import os
import signal
import subprocess
import sys
import tomllib
import time
from pathlib import Path

import numpy as np
import pytest

import _runner_cells  # noqa: F401  (registers the test cell functions)
from qbc_theory import runner
from qbc_theory.model.errors import DimensionError, SpecError
from qbc_theory.verification.runner import (
    CellFunction,
    MissingExtraError,
    ResultTable,
    builtin_spec_paths,
    cell_function,
    load_spec,
    run_spec,
    run_specs,
    spec_from_dict,
)
from qbc_theory.verification.scaling import compare_slope, fit_slope

TESTS = Path(__file__).resolve().parent
HAVE_DASK = importlib.util.find_spec("distributed") is not None

SPEC_TOML = """
id = "toy.power"
cell = "test.power_law"
entropy = 20260326
description = "a power law with known slope -0.5"

[params]
slope = -0.5
scale = 3.0
sigma = 0.2

[grid]
H = [1, 2]
n = [10, 20, 40, 80]

[profiles.quick]
seeds = 8

[profiles.full]
seeds = 32
grid = { n = [10, 20, 40, 80, 160, 320] }
params = { sigma = 0.1 }
"""


def write_spec(tmp_path, text=SPEC_TOML, name="toy.toml", **extra_params):
    lines = text
    if extra_params:
        add = "".join(f"{k} = {json.dumps(v)}\n" for k, v in extra_params.items())
        lines = text.replace("[params]\n", "[params]\n" + add)
    path = tmp_path / name
    path.write_text(lines, encoding="utf-8")
    return path


def base_dict():
    return {"id": "d", "cell": "test.power_law", "entropy": 1,
            "params": {"slope": -1.0, "scale": 1.0, "sigma": 0.1},
            "grid": {"n": [1, 2]}, "profiles": {"quick": {"seeds": 2}, "full": {"seeds": 3}}}


def data_of(table):
    d = table.to_dict()
    d.pop("run")
    return d


# ----------------------------------------------------------------------------- specs


def test_load_spec_and_cell_order_seeds_and_keys(tmp_path):
    spec = load_spec(write_spec(tmp_path))
    assert spec.id == "toy.power" and spec.cell == "test.power_law" and spec.entropy == 20260326
    assert spec.grid == {"H": (1, 2), "n": (10, 20, 40, 80)}
    cells = spec.cells("quick")
    assert [c.point for c in cells[:5]] == [{"H": 1, "n": 10}, {"H": 1, "n": 20}, {"H": 1, "n": 40},
                                            {"H": 1, "n": 80}, {"H": 2, "n": 10}]
    assert [c.seed.spawn_key for c in cells] == [(i,) for i in range(8)]
    assert all(c.seed.entropy == 20260326 and c.seeds == 8 for c in cells)
    assert len({c.key for c in cells}) == 8
    assert cells[0].params == {"slope": -0.5, "scale": 3.0, "sigma": 0.2, "H": 1, "n": 10}
    full = spec.cells("full")
    assert len(full) == 12 and full[0].seeds == 32 and full[0].params["sigma"] == 0.1
    # same spawn key and params but another seed count: another cache entry
    assert full[0].key != cells[0].key


BAD_SPECS = [
    (lambda d: d.update(grids={}), "grids: unknown key"),
    (lambda d: d.update(entropy="7"), "entropy: expected an integer"),
    (lambda d: d.update(entropy=-1), "entropy: expected an integer >= 0"),
    (lambda d: d.update(cell="nope.cell"), "cell: expected a registered cell function"),
    (lambda d: d.update(cell="os.system; x"), "cell: expected letters"),
    (lambda d: d.update(grid={}), "grid: expected at least one ladder"),
    (lambda d: d["grid"].update(n=[]), "grid.n: expected a non-empty array"),
    (lambda d: d["grid"].update(n=[1, 1]), "grid.n: expected distinct values"),
    (lambda d: d["grid"].update(n=[[1, 2]]), r"grid.n\[0\]: expected a number"),
    (lambda d: d["grid"].update(slope=[1.0]), "grid.slope: expected a name not also in params"),
    (lambda d: d["grid"].update(seed=[1]), "grid.seed: expected a name other than"),
    (lambda d: d.pop("entropy"), "entropy: expected this key"),
    (lambda d: d["profiles"].pop("full"), "profiles.full: expected this table"),
    (lambda d: d["profiles"].update(medium={"seeds": 1}), "profiles.medium: unknown key"),
    (lambda d: d["profiles"]["quick"].update(seeds=0), "profiles.quick.seeds: expected an integer >= 1"),
    (lambda d: d["profiles"]["quick"].update(grid={"m": [1]}), "profiles.quick.grid.m: unknown key"),
    (lambda d: d["profiles"]["quick"].update(params={"zeta": 1}), "profiles.quick.params.zeta: unknown key"),
    (lambda d: d["profiles"]["quick"].update(runs=3), "profiles.quick.runs: unknown key"),
    (lambda d: d["params"].update(sigma=float("nan")), "params.sigma: expected a finite number"),
    (lambda d: d.update(params=[1]), "params: expected a table"),
]


@pytest.mark.parametrize("mutate, match", BAD_SPECS)
def test_bad_spec_names_the_key(mutate, match):
    d = base_dict()
    spec_from_dict(d, source="s.toml")  # the base is valid
    mutate(d)
    with pytest.raises(SpecError, match=match):
        spec_from_dict(d, source="s.toml")


def test_spec_to_dict_round_trips(tmp_path):
    spec = load_spec(write_spec(tmp_path))
    again = spec_from_dict(json.loads(json.dumps(spec.to_dict())), source=spec.source)
    assert again == spec
    assert [c.key for c in again.cells("full")] == [c.key for c in spec.cells("full")]


def test_load_spec_file_errors(tmp_path):
    with pytest.raises(SpecError, match="readable TOML file"):
        load_spec(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("id = \n", encoding="utf-8")
    with pytest.raises(SpecError, match="bad.toml: expected valid TOML"):
        load_spec(bad)
    dated = write_spec(tmp_path, SPEC_TOML.replace("[params]\n", "[params]\nwhen = 2026-01-01\n"))
    with pytest.raises(SpecError, match="params.when: expected a number, string"):
        load_spec(dated)
    with pytest.raises(SpecError, match="profile: expected one of quick, full"):
        load_spec(write_spec(tmp_path)).cells("medium")


def test_cell_registry_refuses_clashes_and_bad_names():
    with pytest.raises(SpecError, match="already registered"):
        @cell_function("test.power_law")
        def other(params, seeds, seed):
            return {}
    with pytest.raises(SpecError, match="cell_function: expected a name"):
        cell_function("1bad")
    assert "test.power_law" in runner.registered_cells()


# ----------------------------------------------------------------------------- running


def test_serial_run_matches_direct_calls_with_spawned_children(tmp_path):
    spec = load_spec(write_spec(tmp_path))
    table = run_spec(spec, backend="serial", out=tmp_path / "out", progress=False)
    assert table.columns == ("y", "bound")
    assert len(table.rows) == 8 * 8
    children = np.random.SeedSequence(20260326).spawn(8)
    for cell, child in zip(spec.cells("quick"), children):
        expected = _runner_cells.power_law(dict(cell.params), seeds=8, seed=child)["y"]
        got = [r["y"] for r in table.rows if r["cell"] == cell.index]
        assert got == list(expected)  # bit-identical
        assert [r["seed"] for r in table.rows if r["cell"] == cell.index] == list(range(8))
    assert table.run["computed"] == list(range(8)) and table.run["cached"] == []
    assert table.entropy == 20260326
    assert not list((tmp_path / "out").rglob("*.tmp"))


def test_processes_backend_is_bit_identical_to_serial(tmp_path):
    spec = load_spec(write_spec(tmp_path))
    serial = run_spec(spec, backend="serial", out=tmp_path / "a", progress=False)
    procs = run_spec(spec, backend="processes", out=tmp_path / "b", progress=False, workers=2)
    assert procs == serial
    assert data_of(procs) == data_of(serial)
    assert procs.run["computed"] == list(range(8))


def test_several_specs_in_one_pool_equal_each_run_alone(tmp_path):
    one = load_spec(write_spec(tmp_path))
    d = base_dict()
    d["grid"] = {"n": [5, 6, 7]}
    two = spec_from_dict(d)
    together = run_specs([one, two], backend="processes", out=tmp_path / "a", progress=False, workers=2)
    alone = [run_spec(s, backend="serial", out=tmp_path / "b", progress=False) for s in (one, two)]
    assert together == alone
    assert [t.run["computed"] for t in together] == [list(range(8)), list(range(3))]
    assert (tmp_path / "a" / "d.quick.json").is_file()
    with pytest.raises(SpecError, match="specs: expected distinct ids, found 'd' 2 times"):
        run_specs([two, two], backend="serial", out=tmp_path / "c", progress=False)


@pytest.mark.parametrize(
    "bad, match",
    [({"u": "x"}, "u: expected numbers"), ({"u": [[1, 2], [3]]}, "u: expected numbers"),
     ({"u": [1.0, np.inf]}, "u: expected finite"), ({"seed": 1.0}, "other than cell, seed, n"),
     ({}, "non-empty dict")],
)
def test_clean_values_refuses_malformed_measurements(bad, match):
    with pytest.raises(DimensionError, match=match):
        runner._clean_values("c", bad, 2, ("cell", "seed", "n"))


@pytest.mark.dask
@pytest.mark.skipif(not HAVE_DASK, reason="dask extra (dask[distributed]) not installed")
def test_dask_backend_is_bit_identical_to_serial(tmp_path):
    spec = load_spec(write_spec(tmp_path))
    serial = run_spec(spec, backend="serial", out=tmp_path / "a", progress=False)
    dask = run_spec(spec, backend="dask", out=tmp_path / "b", progress=False, workers=2)
    assert data_of(dask) == data_of(serial)
    assert dask.run["computed"] == list(range(8))


@pytest.mark.dask
@pytest.mark.skipif(not HAVE_DASK, reason="dask extra (dask[distributed]) not installed")
def test_dask_existing_cluster_by_scheduler_address(tmp_path):
    import distributed

    spec = load_spec(write_spec(tmp_path))
    serial = run_spec(spec, backend="serial", out=tmp_path / "a", progress=False)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        remote = run_spec(spec, backend="dask", scheduler=cluster.scheduler_address, out=tmp_path / "b",
                          progress=False)
    assert data_of(remote) == data_of(serial)


def _mle_spec(seeds: int = 32) -> dict:
    """thm2.rate_n (the quantized-Gaussian MLE) cut to n = 1024 and a small evaluation: the cell whose
    sigma_hat and k_err changed with the number of BLAS threads."""
    spec = tomllib.loads((Path(runner.__file__).parents[1] / "data/experiments/thm2.rate_n.toml").read_text())
    spec.update(id="thm2.rate_n.small", grid={"n": [1024]},
                profiles={"quick": {"seeds": seeds}, "full": {"seeds": seeds}})
    spec["params"]["eval"] = 100
    return spec


@pytest.mark.dask
@pytest.mark.skipif(not HAVE_DASK, reason="dask extra (dask[distributed]) not installed")
def test_real_local_cluster_matches_serial_bit_for_bit_on_the_mle(tmp_path):
    """Regression: Dask workers run one BLAS thread (their nanny sets OPENBLAS_NUM_THREADS=1), the serial
    run used OpenBLAS on every core, and the MLE's sigma_hat / k_err differed in 3 of 32 rows at ~5e-10
    relative (on 2 cores; a machine with one core cannot show the difference)."""
    import distributed

    spec = spec_from_dict(_mle_spec())
    serial = run_spec(spec, backend="serial", out=tmp_path / "a", progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        remote = run_spec(spec, backend="dask", scheduler=cluster.scheduler_address, out=tmp_path / "b",
                          progress=False)
    differ = [(a["seed"], k) for a, b in zip(data_of(serial)["rows"], data_of(remote)["rows"])
              for k in a if a[k] != b[k]]
    assert differ == []


def test_processes_backend_matches_serial_on_the_mle(tmp_path):
    spec = spec_from_dict(_mle_spec(seeds=8))
    serial = run_spec(spec, backend="serial", out=tmp_path / "a", progress=False)
    pool = run_spec(spec, backend="processes", out=tmp_path / "b", progress=False, workers=2)
    assert data_of(pool)["rows"] == data_of(serial)["rows"]


@cell_function("test.blas_env")
def blas_env(params, seeds, seed):
    """The worker's BLAS thread variables and the live OpenBLAS thread counts during the cell."""
    from qbc_theory.verification import backends

    live = [get() for get, _ in backends._openblas_controls()] or [-1]
    return {"env": float(os.environ.get("OPENBLAS_NUM_THREADS", "0")), "live_max": float(max(live))}


@pytest.mark.parametrize("backend", ["serial", "processes"])
def test_cells_run_with_one_blas_thread(tmp_path, backend):
    from qbc_theory.verification import backends

    if not backends._openblas_controls():
        pytest.skip("no OpenBLAS found in this process (another BLAS or not Linux)")
    before = [get() for get, _ in backends._openblas_controls()]
    spec = spec_from_dict({"id": "blas", "cell": "test.blas_env", "entropy": 1, "grid": {"n": [1, 2]},
                           "profiles": {"quick": {"seeds": 1}, "full": {"seeds": 1}}})
    table = run_spec(spec, backend=backend, out=tmp_path, progress=False, workers=2)
    assert table.column("live_max").tolist() == [1.0, 1.0]
    if backend == "processes":
        assert table.column("env").tolist() == [1.0, 1.0]
    # the serial run restores this process's thread counts
    assert [get() for get, _ in backends._openblas_controls()] == before


def test_blas_pin_is_restored_after_an_error():
    from qbc_theory.verification import backends

    controls = backends._openblas_controls()
    if not controls:
        pytest.skip("no OpenBLAS found in this process")
    before = [get() for get, _ in controls]
    with pytest.raises(ZeroDivisionError):
        with backends.blas_threads_pinned() as n:
            assert n == len(controls) and all(get() == 1 for get, _ in controls)
            1 / 0
    assert [get() for get, _ in controls] == before


@pytest.mark.dask
@pytest.mark.skipif(not HAVE_DASK, reason="dask extra (dask[distributed]) not installed")
def test_unreachable_scheduler_fails_fast_with_spec_error(tmp_path):
    """Regression: an unreachable scheduler waited distributed's 30 s and ended as an internal error."""
    with pytest.raises(SpecError, match=r"scheduler: expected a Dask scheduler answering at tcp://127.0.0.1:1 "
                                        r"within 1 s, found none \(.*after 1 s\)"):  # distributed's own words
        run_spec(load_spec(write_spec(tmp_path)), backend="dask", scheduler="tcp://127.0.0.1:1",
                 connect_timeout=1, out=tmp_path / "o", progress=False)
    with pytest.raises(SpecError, match="connect_timeout: expected a positive number"):
        run_spec(load_spec(write_spec(tmp_path)), backend="dask", scheduler="tcp://127.0.0.1:1",
                 connect_timeout=0, out=tmp_path / "o", progress=False)


def test_missing_dask_gives_install_hint(monkeypatch, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "distributed" else real(name, *a))
    runner._distributed.cache_clear()
    try:
        with pytest.raises(MissingExtraError, match=r"pip install 'qbc-theory\[dask\]'"):
            run_spec(load_spec(write_spec(tmp_path)), backend="dask", out=tmp_path / "o", progress=False)
    finally:
        runner._distributed.cache_clear()


def test_second_run_computes_nothing_and_changes_invalidate(tmp_path, monkeypatch):
    log = tmp_path / "calls.log"
    path = write_spec(tmp_path, log=str(log))
    out = tmp_path / "out"
    first = run_spec(path, backend="serial", out=out, progress=False)
    assert len(log.read_text().splitlines()) == 8
    again = run_spec(path, backend="serial", out=out, progress=False)
    assert again.run["computed"] == [] and again.run["cached"] == list(range(8))
    assert len(log.read_text().splitlines()) == 8  # the cell function was not called again
    assert again == first
    # another code version of the cell function: every key changes, everything is recomputed
    entry = runner.get_cell("test.power_law")
    monkeypatch.setitem(runner._REGISTRY, "test.power_law", CellFunction(entry.name, entry.func, "2"))
    bumped = run_spec(path, backend="serial", out=out, progress=False)
    assert bumped.run["computed"] == list(range(8))
    assert {c["key"] for c in bumped.cells}.isdisjoint({c["key"] for c in first.cells})
    assert data_of(bumped)["rows"] == data_of(first)["rows"]


def test_corrupt_cache_file_is_recomputed(tmp_path):
    path = write_spec(tmp_path)
    out = tmp_path / "out"
    first = run_spec(path, backend="serial", out=out, progress=False)
    victim = out / "cells" / f"{first.cells[3]['key']}.json"
    victim.write_text("{ truncated", encoding="utf-8")
    again = run_spec(path, backend="serial", out=out, progress=False)
    assert again.run["computed"] == [3]
    assert again == first
    assert json.loads(victim.read_text())["key"] == first.cells[3]["key"]


def test_failing_cell_names_the_cell_and_keeps_finished_ones(tmp_path):
    d = base_dict()
    d.update(cell="test.fails", params={"bad": 3}, grid={"n": [1, 2, 3, 4]})
    spec = spec_from_dict(d)
    with pytest.raises(RuntimeError, match=r"cell 2 \(n=3\) of 'test.fails' failed: ValueError"):
        run_spec(spec, backend="serial", out=tmp_path, progress=False)
    assert len(list((tmp_path / "cells").glob("*.json"))) == 2


def test_serial_cells_cannot_leak_params_into_each_other(tmp_path):
    d = base_dict()
    d.update(cell="test.mutates", params={"acc": {"items": []}}, grid={"n": [1, 2, 3]})
    table = run_spec(spec_from_dict(d), backend="serial", out=tmp_path, progress=False)
    assert table.column("length").tolist() == [1.0] * 6


def test_dead_worker_is_reported_as_a_pool_failure(tmp_path):
    d = base_dict()
    d.update(cell="test.dies", params={})
    with pytest.raises(RuntimeError, match="backend 'processes': a worker process died"):
        run_spec(spec_from_dict(d), backend="processes", out=tmp_path, progress=False, workers=1)


def test_malformed_cell_output_is_refused(tmp_path):
    d = base_dict()
    d.update(cell="test.bad_output", params={})
    with pytest.raises(DimensionError, match="expected one number or 2"):
        run_spec(spec_from_dict(d), backend="serial", out=tmp_path, progress=False)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"backend": "threads"}, "backend: expected one of serial, processes, dask"),
        ({"backend": "serial", "scheduler": "tcp://localhost:8786"}, "scheduler: expected only with"),
        ({"backend": "serial", "workers": 0}, "workers: expected a positive integer"),
        ({"backend": "serial", "profile": "huge"}, "profile: expected one of"),
    ],
)
def test_bad_run_arguments(tmp_path, kwargs, match):
    with pytest.raises(SpecError, match=match):
        run_spec(write_spec(tmp_path), out=tmp_path / "o", progress=False, **kwargs)


@pytest.mark.skipif(importlib.util.find_spec("tqdm") is None, reason="tqdm not installed")
def test_progress_bar_on_a_terminal(tmp_path, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    run_spec(write_spec(tmp_path), backend="serial", out=tmp_path / "o", progress=True)
    text = term.getvalue()
    assert "toy.power [quick]" in text and "8/8" in text
    assert "done in" not in text  # a bar, not the plain lines


def test_progress_plain_lines_on_stderr(tmp_path, capsys):
    run_spec(write_spec(tmp_path), backend="serial", out=tmp_path / "o", progress=True)
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "toy.power [quick]: 8 cells, 0 cached, 8 to compute"
    assert len(err) == 9 and err[-1].startswith("toy.power [quick]: cell 7 (H=2, n=80) done in ")
    assert err[-1].endswith("[8/8]")
    run_spec(write_spec(tmp_path), backend="serial", out=tmp_path / "o", progress=False)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


# ----------------------------------------------------------------------------- results


def test_result_table_round_trip_and_pivot_feed_a_slope_fit(tmp_path):
    table = run_spec(write_spec(tmp_path), backend="serial", out=tmp_path / "o", profile="full",
                     progress=False)
    saved = tmp_path / "o" / "toy.power.full.json"
    assert ResultTable.from_json(saved) == table
    back = ResultTable.from_dict(json.loads(json.dumps(table.to_dict(), allow_nan=False)))
    assert back == table and back.run == table.run
    x, y = table.pivot("y", "n", where={"H": 2})
    assert x.tolist() == [10, 20, 40, 80, 160, 320] and y.shape == (32, 6)
    assert y[5, 2] == next(r["y"] for r in table.rows if r["H"] == 2 and r["n"] == 40 and r["seed"] == 5)
    fit = fit_slope(x, y, rng=np.random.default_rng(0), parameter="n")
    assert fit.ci[0] <= -0.5 <= fit.ci[1]
    assert compare_slope(fit, -0.5, "==", tol=0.1) == "consistent"
    assert compare_slope(fit, -1.0, "<=") == "violated"


def test_pivot_and_table_errors(tmp_path):
    table = run_spec(write_spec(tmp_path), backend="serial", out=tmp_path / "o", progress=False)
    with pytest.raises(DimensionError, match="values for the other varying ladders, found none for H"):
        table.pivot("y", "n")
    with pytest.raises(DimensionError, match="value: expected a measurement"):
        table.pivot("z", "n", where={"H": 1})
    with pytest.raises(DimensionError, match=r"where.H: expected one of \[1, 2\]"):
        table.pivot("y", "n", where={"H": 3})
    with pytest.raises(SpecError, match="format"):
        ResultTable.from_dict({"rows": []})
    np.testing.assert_array_equal(table.column("seed")[:9], [0, 1, 2, 3, 4, 5, 6, 7, 0])


# ----------------------------------------------------------------------------- kill and resume


RUN_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
import _runner_cells
from qbc_theory.verification.runner import run_spec
run_spec({spec!r}, backend={backend!r}, out={out!r}, progress=False, workers=2)
"""


@pytest.mark.parametrize("backend", ["serial", pytest.param("processes", marks=pytest.mark.slow)])
def test_killed_run_resumes_without_recomputing_or_losing_cells(tmp_path, backend):
    log = tmp_path / "calls.log"
    # 12 cells of >= 0.12 s: the kill lands after 3 cells with about a second to spare.
    text = SPEC_TOML.replace("n = [10, 20, 40, 80]", "n = [10, 20, 40, 80, 160, 320]")
    path = write_spec(tmp_path, text, log=str(log), sleep=0.12 if backend == "serial" else 0.4)
    out = tmp_path / "out"
    cells_dir = out / "cells"
    script = RUN_SCRIPT.format(tests=str(TESTS), spec=str(path), out=str(out), backend=backend)
    # The cache key holds a digest of the library's sources, computed once per process: hash them now, as the
    # subprocess does, so that a source file edited since this test session started cannot change the keys.
    from qbc_theory.verification import specs as specs_module

    specs_module._source_digest.cache_clear()
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if cells_dir.is_dir() and len(list(cells_dir.glob("*.json"))) >= 3:
                break
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    finished = {p.stem for p in cells_dir.glob("*.json")}
    assert 3 <= len(finished) < 12, "the kill must land mid-run"
    for p in cells_dir.glob("*.json"):
        json.loads(p.read_text())  # every written cell file is complete
    calls_before = len(log.read_text().splitlines())

    resumed = run_spec(path, backend="serial", out=out, progress=False)
    keys = [c["key"] for c in resumed.cells]
    assert sorted(keys[i] for i in resumed.run["cached"]) == sorted(finished)
    assert sorted(keys[i] for i in resumed.run["computed"]) == sorted(set(keys) - finished)
    assert len(log.read_text().splitlines()) - calls_before == 12 - len(finished)
    assert len(list(cells_dir.glob("*.json"))) == 12

    reference = run_spec(path, backend="serial", out=tmp_path / "ref", progress=False)
    assert data_of(resumed) == data_of(reference)


# ----------------------------------------------------------------------------- built-in specs


def test_builtin_specs_resolve_from_any_directory(tmp_path):
    code = ("from qbc_theory.verification.runner import builtin_spec_paths; import qbc_theory, json, pathlib; "
            "print(json.dumps({'pkg': str(pathlib.Path(qbc_theory.__file__).parent), "
            "'paths': [str(p) for p in builtin_spec_paths()]}))")
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": ""})
    got = json.loads(res.stdout)
    data_dir = Path(got["pkg"]) / "data" / "experiments"
    assert got["paths"] == [str(p) for p in sorted(data_dir.glob("*.toml"))]
    # From another directory a non-editable install resolves to its own copy, so compare the specs,
    # not where this process and the subprocess found them.
    assert [Path(p).name for p in builtin_spec_paths()] == [Path(p).name for p in got["paths"]]


def test_every_subpackage_is_packaged_for_non_editable_installs():
    # A wheel built from pyproject.toml only contains the packages listed there; a subpackage missing
    # from the list works in an editable install but breaks `import qbc_theory.verification.claims` (and so loading
    # any built-in spec) in a normal install.
    config = tomllib.loads((TESTS.parent / "pyproject.toml").read_text(encoding="utf-8"))
    listed = config["tool"]["setuptools"].get("packages")
    if not isinstance(listed, list):
        pytest.skip("packages are discovered by setuptools, not listed")
    found = sorted(
        ".".join(init.parent.relative_to(TESTS.parent).parts)
        for top in ("qbc_theory", "proofs_check")
        for init in (TESTS.parent / top).rglob("__init__.py"))
    assert [p for p in found if p not in listed] == []


@pytest.mark.parametrize("path", builtin_spec_paths(), ids=lambda p: p.name)
def test_every_builtin_spec_loads(path):
    spec = load_spec(path)
    assert spec.cells("quick") and spec.cells("full")
    assert path.stem == spec.id, "a built-in spec's file is named after its id"


def test_spec_file_docs_exist():
    readme = TESTS.parent / "experiments" / "README.md"
    text = readme.read_text(encoding="utf-8")
    for key in ("id", "cell", "entropy", "params", "grid", "profiles.quick", "seeds"):
        assert key in text
    example = tomllib.loads(text.split("```toml", 1)[1].split("```", 1)[0])
    # the example's cell function belongs to the claim catalog; check the format with a test cell
    example["cell"] = "test.power_law"
    spec = spec_from_dict(example, source="README")
    assert len(spec.cells("quick")) == 3 and len(spec.cells("full")) == 5
    assert spec.resolved("full")[0]["H"] == 40
