"""The README's two set-up commands, which .ci/run and newcomers copy verbatim."""

import re
import subprocess

from conftest import REPO


def _block_after(marker: str) -> str:
    text = (REPO / "README.md").read_text()
    match = re.search(re.escape(marker) + r"\s*```[a-z]*\n(.*?)\n```", text, re.S)
    assert match, f"no fenced block after {marker}"
    return match.group(1).strip()


def test_readme_has_the_two_commands():
    main = _block_after("<!-- main-command -->")
    test = _block_after("<!-- test-command -->")
    assert "pip install ." in main and "qbc verify --quick" in main and "qbc figs" in main
    assert 'pip install ".[test' in test and "pytest" in test
    assert len(main.splitlines()) == 1 and len(test.splitlines()) == 1


def test_ci_script_extracts_the_readme_test_command():
    script = (REPO / ".ci" / "run").read_text()
    awk = re.search(r"cmd=\$\(awk '(.*?)' README.md\)", script, re.S).group(1)
    out = subprocess.run(["awk", awk, "README.md"], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == _block_after("<!-- test-command -->")
