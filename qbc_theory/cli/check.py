"""``qbc check``: assumption report for an instance."""

from __future__ import annotations

import argparse
import math
import sys

from ._common import positive_int, print_json

__all__ = ["register", "run"]


def _count(text: str) -> int:
    """argparse type: a class size, a positive integer of any size (digits only, never evaluated)."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer (digits only), found {text!r}")
    return int(text)


def _log_size(text: str) -> float:
    """argparse type: a log class size in nats, a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of nats >= 0, found {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a finite number of nats >= 0, found {text!r}")
    return value


def _positive(text: str) -> float:
    """argparse type: a positive finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, found {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, found {text!r}")
    return value


def register(sub) -> None:
    """Add the ``check`` subcommand to the ``qbc`` parser."""
    p = sub.add_parser("check", help="assumption report for an instance file")
    p.add_argument("file", metavar="FILE.toml", help="instance file (docs/instance-format.md)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--Pi-size", type=_count, metavar="N", dest="Pi",
                      help="size |Pi| of the policy class (default: the finite class qbc simulate learns over)")
    size.add_argument("--log-Pi", type=_log_size, metavar="NATS", dest="log_Pi",
                      help="log |Pi| in nats, for classes too large to write out")
    p.add_argument("--k", type=_positive, metavar="K",
                   help="RTVC multiplier eps' = k eps_q (default: Proposition 5's choice for binning, 3 otherwise)")
    p.add_argument("--n", type=positive_int, metavar="N",
                   help="expert trajectories the bounds are evaluated at (default: run.n)")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..checker.report import check
    from ..model.instance import load_instance

    options = {name: getattr(args, name) for name in ("Pi", "log_Pi", "k", "n") if getattr(args, name) is not None}
    report = check(load_instance(args.file), **options)
    if args.json:
        print_json(report.to_dict())
    else:
        sys.stdout.write(report.format_text())
    return report.exit_code
