"""``qbc check``: assumption report for an instance."""

from __future__ import annotations

import sys

from ._common import print_json

__all__ = ["register", "run"]


def register(sub) -> None:
    """Add the ``check`` subcommand to the ``qbc`` parser."""
    p = sub.add_parser("check", help="assumption report for an instance file")
    p.add_argument("file", metavar="FILE.toml", help="instance file (docs/instance-format.md)")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..checker.report import check
    from ..model.instance import load_instance

    report = check(load_instance(args.file))
    if args.json:
        print_json(report.to_dict())
    else:
        sys.stdout.write(report.format_text())
    return report.exit_code
