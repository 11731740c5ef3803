"""Every name in ``qbc_theory.__all__`` imports, and every public callable has a docstring."""

import importlib
import inspect

import qbc_theory


def test_all_names_import_and_are_documented():
    for name in qbc_theory.__all__:
        obj = getattr(qbc_theory, name)
        if name == "__version__":
            continue
        assert inspect.getdoc(obj), f"{name} has no docstring"


def test_modules_declare_all():
    for mod in ("errors", "dynamics", "experts", "quantizers", "rewards", "instance", "cli"):
        m = importlib.import_module(f"qbc_theory.{mod}")
        assert hasattr(m, "__all__"), mod
        for name in m.__all__:
            assert hasattr(m, name), f"{mod}.{name}"
