"""The import rules of the package's rooms (docs/design.md), read from the source with ``ast``.

The data flow is model -> theory | checker | engine -> verification -> figures -> cli. A room may import
only the rooms it lists in :data:`ALLOWED`; there are no import circles between modules. Each failure
names the offending file, line and import. Run alone with ``python -m pytest tests/test_architecture.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "qbc_theory"
SOURCE = Path(__file__).resolve().parents[1] / PACKAGE

ALLOWED = {
    "model": {"model"},
    "theory": {"model", "theory"},
    "checker": {"model", "theory", "checker"},
    "engine": {"model", "engine"},
    "verification": {"model", "theory", "checker", "engine", "verification"},
    # figures draw results and tables: no rollouts, no bound evaluation, no certificates
    "figures": {"model", "verification", "figures"},
    "cli": {"model", "theory", "checker", "engine", "verification", "figures", "cli"},
}
"""Room -> the rooms it may import (``qbc_theory/__init__.py`` and ``qbc_theory.__version__`` are free)."""

FIGURES_MAY_IMPORT_FROM_VERIFICATION = {"runner", "figdata", "verdicts"}
"""The verification modules a figure may read: result tables, figure data, verdict types."""


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, root: Path):
    """Every import of ``path`` inside the package, as ``(line, imported module, text)``.

    ``from .x import y`` yields ``pkg.x.y`` when ``pkg.x.y`` is a module, else ``pkg.x``.
    """
    name = module_name(path, root)
    is_pkg = path.name == "__init__.py"
    tree = ast.parse(path.read_text(), filename=str(path))
    modules = {module_name(p, root) for p in root.rglob("*.py")}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith(PACKAGE):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                yield node.lineno, sub if sub in modules else target, ast.unparse(node)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE):
                    yield node.lineno, alias.name, ast.unparse(node)


def room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def violations(root: Path) -> list[str]:
    """The imports of the tree at ``root`` (a ``qbc_theory`` folder) that break :data:`ALLOWED`."""
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        src_room = room(module_name(path, root))
        if src_room is None:
            continue
        for line, target, text in imports(path, root):
            dst_room = room(target)
            if dst_room is None:  # the package itself (__version__)
                continue
            where = f"{path.relative_to(root.parent)}:{line}: {text}"
            if any(f.startswith(where) for f in found):  # one line importing several names
                continue
            if src_room not in ALLOWED:
                found.append(f"{where} (room {src_room!r} is not in the rules)")
            elif dst_room not in ALLOWED[src_room]:
                found.append(f"{where} ({src_room} may not import {dst_room})")
            elif src_room == "figures" and dst_room == "verification":
                leaf = target.split(".")[2] if len(target.split(".")) > 2 else ""
                if leaf not in FIGURES_MAY_IMPORT_FROM_VERIFICATION:
                    found.append(f"{where} (figures may read only verification."
                                 f"{{{', '.join(sorted(FIGURES_MAY_IMPORT_FROM_VERIFICATION))}}})")
    return found


def circles(root: Path) -> list[list[str]]:
    """Import circles between modules (every import, module level or inside functions)."""
    graph: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        src = module_name(path, root)
        deps = {t for _, t, _ in imports(path, root)}
        # importing pkg.a.b runs pkg/__init__ and pkg/a/__init__ first; those are not edges of a circle
        graph[src] = {d for d in deps if d != src and not src.startswith(d + ".")}
    found, state, stack = [], {}, []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_rooms_import_only_downward():
    bad = violations(SOURCE)
    assert not bad, "imports against the data flow:\n" + "\n".join(bad)


def test_no_import_circles():
    found = circles(SOURCE)
    assert not found, "import circles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_every_room_is_in_the_rules():
    rooms = {p.name for p in SOURCE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert rooms == set(ALLOWED), f"rooms {sorted(rooms)} vs rules {sorted(ALLOWED)}"


def _plant(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / PACKAGE
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    for d in [root, *[p for p in root.rglob("*") if p.is_dir()]]:
        (d / "__init__.py").touch()
    return root


@pytest.mark.parametrize("rel, text, expected", [
    ("engine/rollout.py", "from ..theory import bounds\n", "engine may not import theory"),
    ("checker/report.py", "from ..engine.rollout import regret\n", "checker may not import engine"),
    ("model/instance.py", "from qbc_theory.checker import stability\n", "model may not import checker"),
    ("theory/bounds.py", "def f():\n    from ..engine import rollout\n", "theory may not import engine"),
    ("figures/paper.py", "from ..verification.cells import linear\n", "figures may read only"),
    ("figures/paper.py", "from ..engine.rollout import regret\n", "figures may not import engine"),
])
def test_a_planted_violation_is_named(tmp_path, rel, text, expected):
    root = _plant(tmp_path, {"model/errors.py": "", "theory/bounds.py": "", "engine/rollout.py": "",
                             "checker/report.py": "", "verification/cells/linear.py": "", rel: text})
    bad = violations(root)
    assert len(bad) == 1 and expected in bad[0] and rel in bad[0], bad


def test_a_planted_circle_is_found(tmp_path):
    root = _plant(tmp_path, {"verification/claims.py": "from .cells import linear\n",
                             "verification/cells/linear.py": "from ..claims import Claim\n"})
    found = circles(root)
    assert found and {"qbc_theory.verification.claims", "qbc_theory.verification.cells.linear"} <= set(found[0])
    assert not circles(_plant(tmp_path / "ok", {"verification/claims.py": "from .cells import linear\n",
                                                "verification/cells/linear.py": "x = 1\n"}))


DOCS = ("docs/design.md", "docs/instance-format.md", "docs/claims.md")


def missing_design_references(top: Path) -> list[str]:
    """Lines of the package, the README and the CLI help that cite a DESIGN.md the repository lacks."""
    found = []
    paths = [*sorted((top / PACKAGE).rglob("*.py")), *sorted((top / "proofs_check").rglob("*.py")), top / "README.md"]
    for path in paths:
        if not path.is_file():
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "DESIGN.md" in line and not (top / "DESIGN.md").exists():
                found.append(f"{path.relative_to(top)}:{i}: {line.strip()}")
    return found


def test_the_design_travels_with_the_code():
    top = SOURCE.parent
    assert all((top / d).is_file() for d in DOCS), [d for d in DOCS if not (top / d).is_file()]
    bad = missing_design_references(top)
    assert not bad, "references to a missing DESIGN.md:\n" + "\n".join(bad)


def test_a_planted_design_reference_is_found(tmp_path):
    (tmp_path / PACKAGE).mkdir()
    (tmp_path / PACKAGE / "x.py").write_text('"""See DESIGN.md section 6."""\n')
    assert missing_design_references(tmp_path) == [f"{PACKAGE}/x.py:1: \"\"\"See DESIGN.md section 6.\"\"\""]


def test_instance_commands_name_the_instance_format(capsys):
    from qbc_theory.cli import main

    for command in ("check", "simulate", "scan"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "docs/instance-format.md" in capsys.readouterr().out, command
