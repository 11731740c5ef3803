"""The ``qbc`` command line: thin wrappers, each subcommand calls one library function.

Exit codes (DESIGN.md section 4): 0 success; 1 when ``qbc check`` produced its report but no upper
bound's assumptions hold; 2 on bad input, with a one-line message on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import json
import sys

from . import __version__
from .errors import QbcError

__all__ = ["main"]


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line (no usage block) and exit code 2."""

    def error(self, message):
        raise _UsageError(f"{self.prog}: error: {message}")


def _print_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")


def _cmd_check(args) -> int:
    from .check import check
    from .instance import load_instance

    report = check(load_instance(args.file))
    if args.json:
        _print_json(report.to_dict())
    else:
        sys.stdout.write(report.format_text())
    return report.exit_code


def _cmd_proofs(args) -> int:
    from proofs_check import run_checks

    report = run_checks(args.only)
    if args.json:
        _print_json(report.to_dict())
    else:
        sys.stdout.write(report.format_text().rstrip("\n") + "\n")
    return 0


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="qbc", description="Behavior cloning with quantized actions: bounds, checks, "
                     "Monte Carlo verification (Cao & Xie 2026).")
    parser.add_argument("--version", action="version", version=f"qbc-theory {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("check", help="assumption report for an instance file")
    p.add_argument("file", metavar="FILE.toml", help="instance file (DESIGN.md section 6)")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.set_defaults(func=_cmd_check)

    from proofs_check import CHECK_IDS

    p = sub.add_parser("proofs", help="exact and symbolic checks of the paper's proof steps")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.add_argument("--only", nargs="+", metavar="ID", choices=CHECK_IDS,
                   help="run only these check ids (default: all)")
    p.set_defaults(func=_cmd_proofs)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``qbc`` command; returns the exit code (used by the console script)."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        return int(args.func(args))
    except _UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except QbcError as exc:
        print(f"qbc: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("qbc: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
