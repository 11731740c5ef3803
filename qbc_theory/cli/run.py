"""``qbc run``: run one experiment spec."""

from __future__ import annotations

import sys

from ._common import backend_options, print_json

__all__ = ["register", "run"]


def register(sub) -> None:
    """Add the ``run`` subcommand to the ``qbc`` parser."""
    p = sub.add_parser("run", help="run one experiment grid (resumable)")
    p.add_argument("spec", metavar="SPEC.toml", help="experiment spec (experiments/README.md)")
    p.add_argument("--profile", choices=("quick", "full"), default="quick", help="spec size (default quick)")
    backend_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..verification.runner import run_spec

    table = run_spec(args.spec, backend=args.backend, out=args.out, profile=args.profile,
                     scheduler=args.scheduler, progress=not args.no_progress, workers=args.workers)
    if args.json:
        print_json(table.to_dict())
    else:
        run = table.run
        sys.stdout.write(f"{table.spec_id} ({table.profile}): {len(table.cells)} cells x {table.seeds} seeds, "
                         f"computed {len(run.get('computed', []))}, cached {len(run.get('cached', []))}, "
                         f"{run.get('seconds', 0.0):.1f} s; results in {args.out}/"
                         f"{table.spec_id}.{table.profile}.json\n")
    return 0
