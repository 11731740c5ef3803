"""``qbc figs``: regenerate the paper figures (into ``qbc-out/figs`` unless ``--out`` says otherwise)."""

from __future__ import annotations

import sys

from ._common import backend_options, print_json

__all__ = ["register", "run"]


def register(sub) -> None:
    """Add the ``figs`` subcommand to the ``qbc`` parser."""
    p = sub.add_parser("figs", help="regenerate every paper figure (running missing experiments)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="quick experiment profile (default)")
    size.add_argument("--full", action="store_true", help="full experiment profile")
    p.add_argument("--results", default="qbc-out", metavar="DIR",
                   help="experiment results and cell cache, shared with qbc verify (default qbc-out)")
    backend_options(p, out="qbc-out/figs",
                    out_help="where the PDF, PNG and manifest.json go; --out paper_figs regenerates the committed figures")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..figures.paper import make_figures

    report = make_figures(out=args.out, profile="full" if args.full else "quick", backend=args.backend,
                          results=args.results, progress=not args.no_progress, workers=args.workers,
                          scheduler=args.scheduler, connect_timeout=args.connect_timeout)
    if args.json:
        print_json(report.to_dict())
    else:
        sys.stdout.write(report.format_text().rstrip("\n") + "\n")
    return 0
