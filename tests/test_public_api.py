"""Every name in ``qbc_theory.__all__`` imports and is documented; every module declares ``__all__``."""

import importlib
import inspect
import subprocess
import sys

import pytest

import qbc_theory

MODULES = ("model.errors", "model.dynamics", "model.experts", "model.quantizers", "model.rewards", "model.instance",
           "model.validation", "cli", "theory.symbols", "theory.bounds", "theory.bound", "theory.catalog", "figures.verify_plots",
           "theory.inequality", "checker.stability", "checker.smoothness", "checker.report", "engine.rollout",
           "engine.learning", "engine.simulation", "engine.constructions", "verification.scaling",
           "verification.runner", "verification.verdicts", "verification.claims", "figures.plots", "figures.paper")


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
