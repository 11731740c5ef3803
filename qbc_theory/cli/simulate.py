"""``qbc simulate``: train, deploy, measure on one instance."""

from __future__ import annotations

import sys

from ._common import positive_int, print_json

__all__ = ["register", "run"]


def register(sub) -> None:
    """Add the ``simulate`` subcommand to the ``qbc`` parser."""
    from ..engine.simulation import LEARNERS

    p = sub.add_parser("simulate", help="train log-loss BC on an instance, deploy it, report the regret")
    p.add_argument("file", metavar="FILE.toml", help="instance file (docs/instance-format.md)")
    p.add_argument("--n", type=positive_int, metavar="N", help="expert trajectories (default: run.n)")
    p.add_argument("--seeds", type=positive_int, default=1, metavar="S", help="independent data sets (default 1)")
    p.add_argument("--learner", choices=LEARNERS, default="auto", help="learner (default auto)")
    p.add_argument("--eval-trajectories", type=positive_int, default=2000, metavar="N",
                   help="coupled evaluation runs per seed (default 2000)")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..model.instance import load_instance
    from ..engine.simulation import simulate

    result = simulate(load_instance(args.file), n=args.n, seeds=args.seeds, learner=args.learner,
                      eval_trajectories=args.eval_trajectories)
    if args.json:
        print_json(result.to_dict())
    else:
        sys.stdout.write(result.format_text().rstrip("\n") + "\n")
    return 0
