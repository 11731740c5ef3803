"""``qbc verify``: run the claim catalog."""

from __future__ import annotations

import sys

from ._common import backend_options, print_json

__all__ = ["register", "run"]


def register(sub) -> None:
    """Add the ``verify`` subcommand to the ``qbc`` parser."""
    p = sub.add_parser("verify", help="run the claim catalog and print the verdict table")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes, a few minutes on 2 cores (default)")
    size.add_argument("--full", action="store_true", help="larger sizes, tighter intervals")
    p.add_argument("--claims", nargs="+", metavar="ID", help="only these claim ids")
    p.add_argument("--no-plots", action="store_true",
                   help="do not draw the per-claim diagnostic figures (DIR/plots/<claim id>.pdf/.png)")
    backend_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..verification.claims import verify

    report = verify("full" if args.full else "quick", backend=args.backend, out=args.out, claims=args.claims,
                    progress=not args.no_progress, scheduler=args.scheduler, workers=args.workers)
    if not args.no_plots:
        from pathlib import Path

        from ..figures.verify_plots import write_claim_figures

        write_claim_figures(report.to_dict(), Path(args.out) / "plots")
    if args.json:
        print_json(report.to_dict())
    else:
        sys.stdout.write(report.format_text())
    return 0
