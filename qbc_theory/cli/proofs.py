"""``qbc proofs``: exact and symbolic checks of the proofs."""

from __future__ import annotations

import sys

from ._common import print_json

__all__ = ["register", "run"]


def register(sub) -> None:
    """Add the ``proofs`` subcommand to the ``qbc`` parser."""
    from proofs_check import CHECK_IDS

    p = sub.add_parser("proofs", help="exact and symbolic checks of the paper's proof steps")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.add_argument("--only", nargs="+", metavar="ID", choices=CHECK_IDS,
                   help="run only these check ids (default: all)")
    p.set_defaults(func=run)


def run(args) -> int:
    from proofs_check import run_checks

    report = run_checks(args.only)
    if args.json:
        print_json(report.to_dict())
    else:
        sys.stdout.write(report.format_text().rstrip("\n") + "\n")
    return 0
