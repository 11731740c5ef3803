"""Every name in ``qbc_theory.__all__`` imports and is documented; every module declares ``__all__``."""

import importlib
import inspect
import subprocess
import sys

import pytest

import qbc_theory

def _all_modules() -> tuple[str, ...]:
    """Every module of the package (found on disk, so a new module cannot be forgotten here)."""
    import pathlib

    root = pathlib.Path(qbc_theory.__file__).resolve().parent
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__main__":
            continue
        if parts[-1] == "__init__":
            parts.pop()
        if parts and not parts[-1].startswith("_"):
            names.append(".".join(parts))
    return tuple(names)


MODULES = _all_modules()


def test_all_names_import_and_are_documented():
    for name in qbc_theory.__all__:
        obj = getattr(qbc_theory, name)
        if name in ("__version__", "SYMBOLS"):
            continue
        assert inspect.getdoc(obj), f"{name} has no docstring"


def test_lazy_names_are_the_module_objects():
    from qbc_theory import simulate
    from qbc_theory.engine.simulation import simulate as simulate_fn

    assert simulate is simulate_fn
    assert qbc_theory.theory.bounds.get("thm3").name == "thm3"  # submodules are reachable as attributes
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        qbc_theory.nonexistent  # noqa: B018


def test_no_public_name_shadows_a_submodule():
    """No room shares a name with a public function; the entry points users reach for are callables."""
    import pkgutil

    rooms = {m.name for m in pkgutil.iter_modules(qbc_theory.__path__)}
    assert not rooms & set(qbc_theory.__all__)
    for name in ("rollout", "bounds", "learning"):
        assert inspect.ismodule(getattr(qbc_theory, name))
    for name in ("check", "simulate", "verify", "load_instance"):
        assert callable(getattr(qbc_theory, name)) and not inspect.ismodule(getattr(qbc_theory, name))


@pytest.mark.parametrize("mod", MODULES)
def test_modules_declare_all(mod):
    m = importlib.import_module(f"qbc_theory.{mod}")
    assert hasattr(m, "__all__"), mod
    for name in m.__all__:
        assert hasattr(m, name), f"{mod}.{name}"


def test_plain_import_stays_light():
    """``import qbc_theory`` must not pull in the heavy optional parts (matplotlib, cvxpy, sympy)."""
    code = ("import sys, qbc_theory; "
            "print(','.join(m for m in ('matplotlib', 'cvxpy', 'sympy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == ""


def test_instance_without_name_is_labelled_by_the_file_stem(tmp_path):
    """Regression: a loop variable in ``instance_from_dict`` shadowed ``name``, labelling every such instance "n"."""
    from pathlib import Path

    text = Path(__file__).parents[1].joinpath("experiments/instances/gaussian_binning.toml").read_text()
    text = "\n".join(line for line in text.splitlines() if not line.startswith("name ="))
    path = tmp_path / "my_system.toml"
    path.write_text(text)
    assert qbc_theory.load_instance(path).name == "my_system"
    assert qbc_theory.instance_from_dict(__import__("tomllib").loads(text)).name == "instance"
    assert qbc_theory.instance_from_dict(__import__("tomllib").loads(text), name="given").name == "given"


ENTRY_POINTS = ("load_instance", "instance_from_dict", "Instance", "from_statespace", "check", "simulate")


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_entry_points_are_documented_top_level_callables(name):
    """The names a user reaches for first (README, In Python) are callables, not modules, with numpydoc."""
    obj = getattr(qbc_theory, name)
    assert callable(obj) and not inspect.ismodule(obj), name
    doc = inspect.getdoc(obj) or ""
    assert len(doc.splitlines()) >= 5 and any(f"\n{h}\n---" in doc for h in ("Parameters", "Raises")), name
    assert name in qbc_theory.__all__


def test_entry_points_work_together():
    """Build (python-control and numpy), load (TOML), check and simulate, as the README's Python section."""
    from pathlib import Path

    control = pytest.importorskip("control")
    import numpy as np

    loaded = qbc_theory.load_instance(Path(__file__).parents[1] / "experiments/instances/lqr_binning.toml")
    assert loaded.name == "lqr_binning"
    plant = control.ss([[0.9, 0.2], [0.0, 0.7]], [[0.0], [1.0]], np.eye(2), np.zeros((2, 1)), dt=1)
    system = qbc_theory.from_statespace(plant, noise_std=0.05, x0_std=1.0)
    np.testing.assert_array_equal(system.A, [[0.9, 0.2], [0.0, 0.7]])
    inst = qbc_theory.Instance(system, qbc_theory.lqr_expert(system, Q=np.eye(2), R=[[10.0]]),
                               qbc_theory.UniformBinning(-2.0, 2.0, bins=64, dim=1),
                               qbc_theory.RegulationReward(), horizon=20, n=50, name="mine")
    report = qbc_theory.check(inst)
    assert report.to_dict()["instance"]["name"] == "mine"
    assert set(report.to_dict()["theorems"]) >= {"thm2", "thm3", "thm6", "thm7"}
    result = qbc_theory.simulate(inst, n=50, seeds=2, rng=0, eval_trajectories=200)
    assert result.ci[0] <= result.regret <= result.ci[1] and result.instance == "mine"
    with pytest.raises(qbc_theory.DimensionError):
        qbc_theory.from_statespace(control.ss([[0.9]], [[1.0]], [[1.0]], [[0.0]]))  # continuous time
