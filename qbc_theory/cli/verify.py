"""``qbc verify``: run the claim catalog."""

from __future__ import annotations

import sys

from ._common import backend_options, print_json


def nonnegative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, found {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, found {value}")
    return value

__all__ = ["register", "run"]


def register(sub) -> None:
    """Add the ``verify`` subcommand to the ``qbc`` parser."""
    p = sub.add_parser("verify", help="run the claim catalog and print the verdict table")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes, a few minutes on 2 cores (default)")
    size.add_argument("--full", action="store_true", help="larger sizes, tighter intervals")
    p.add_argument("--claims", nargs="+", metavar="ID", help="only these claim ids")
    p.add_argument("--family", type=nonnegative_int, default=0, metavar="N",
                   help="also run each claim that supports it on N random instances of its hypothesis class "
                        "and a worst-case search; worst instances go to DIR/family/<claim>.worst.toml")
    p.add_argument("--no-sequential", action="store_true",
                   help="do not add seeds when a verdict flips between a test's slack and zero slack")
    p.add_argument("--no-plots", action="store_true",
                   help="do not draw the per-claim diagnostic figures (DIR/plots/<claim id>.pdf/.png)")
    backend_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..verification.claims import verify

    report = verify("full" if args.full else "quick", backend=args.backend, out=args.out, claims=args.claims,
                    progress=not args.no_progress, scheduler=args.scheduler, workers=args.workers,
                    family=args.family, sequential=not args.no_sequential, connect_timeout=args.connect_timeout)
    if not args.no_plots:
        from pathlib import Path

        from ..figures.verify_plots import write_claim_figures

        write_claim_figures(report.to_dict(), Path(args.out) / "plots")
    if args.json:
        print_json(report.to_dict())
    else:
        sys.stdout.write(report.format_text())
    return 0
