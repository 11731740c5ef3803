"""``python -m proofs_check [--json] [--only ID ...]``: run the checks and print the results.

Exit 0 whenever the checks ran (whatever they found), 2 on bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys

from qbc_theory.model.errors import QbcError

from .registry import CHECK_IDS, run_checks


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        print(f"proofs_check: {message}", file=sys.stderr)
        raise SystemExit(2)


def main(argv=None) -> int:
    """Entry point; returns the exit code."""
    parser = _Parser(prog="python -m proofs_check", description="Exact checks of the paper's proof steps.")
    parser.add_argument("--json", action="store_true", help="print {\"checks\": [...]} as JSON")
    parser.add_argument("--only", nargs="+", metavar="ID", choices=CHECK_IDS, help="run only these check ids")
    args = parser.parse_args(argv)
    try:
        report = run_checks(args.only)
    except QbcError as exc:
        print(f"proofs_check: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.format_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
