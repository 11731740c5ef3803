"""Every name in ``qbc_theory.__all__`` imports and is documented; every module declares ``__all__``."""

import importlib
import inspect
import subprocess
import sys

import pytest

import qbc_theory

MODULES = ("errors", "dynamics", "experts", "quantizers", "rewards", "instance", "cli", "symbols", "bounds", "verify_plots",
           "inequality", "stability", "smoothness", "check", "rollout", "learning", "simulation",
           "constructions", "scaling", "runner", "claims", "figures", "paper")


def test_all_names_import_and_are_documented():
    for name in qbc_theory.__all__:
        obj = getattr(qbc_theory, name)
        if name in ("__version__", "SYMBOLS"):
            continue
        assert inspect.getdoc(obj), f"{name} has no docstring"


def test_lazy_names_are_the_module_objects():
    from qbc_theory import simulate
    from qbc_theory.simulation import simulate as simulate_fn

    assert simulate is simulate_fn
    assert qbc_theory.bounds.get("thm3").name == "thm3"  # submodules are reachable as attributes
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        qbc_theory.nonexistent  # noqa: B018


def test_no_public_name_shadows_a_submodule():
    import pkgutil

    submodules = {m.name for m in pkgutil.iter_modules(qbc_theory.__path__)}
    assert not submodules & set(qbc_theory.__all__)
    for name in ("rollout", "check", "bounds"):
        assert inspect.ismodule(getattr(qbc_theory, name))


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
