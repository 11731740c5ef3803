"""``qbc scan``: regret on a ladder of horizons, data sizes or quantization errors, and its log-log slope."""

from __future__ import annotations

import sys

from ._common import UsageError, positive_int, print_json

__all__ = ["register", "run"]


def register(sub) -> None:
    """Add the ``scan`` subcommand to the ``qbc`` parser."""
    from ..engine.scan import VARY
    from ..engine.simulation import LEARNERS

    p = sub.add_parser("scan", help="regret at several horizons / data sizes / eps_q, with the log-log slope")
    p.add_argument("file", metavar="INSTANCE.toml", help="instance file (docs/instance-format.md)")
    p.add_argument("--vary", required=True, choices=VARY, help="the parameter on the ladder")
    p.add_argument("--values", required=True, metavar="V1,V2,...",
                   help="comma-separated values (integers for horizon and n, positive reals for eps_q)")
    p.add_argument("--seeds", type=positive_int, default=1, metavar="S",
                   help="independent data sets per value, the same at every value (default 1)")
    p.add_argument("--learner", choices=LEARNERS, default="auto", help="learner (default auto)")
    p.add_argument("--eval-trajectories", type=positive_int, default=2000, metavar="N",
                   help="coupled evaluation runs per seed and value (default 2000)")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.add_argument("--no-progress", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=run)


def _parse_values(text: str, vary: str) -> list:
    items = [t.strip() for t in text.split(",")]
    if not items or any(not t for t in items):
        raise UsageError(f"qbc scan: error: --values: expected comma-separated numbers, found {text!r}")
    out = []
    for t in items:
        try:
            out.append(int(t) if vary in ("horizon", "n") else float(t))
        except ValueError:
            kind = "integers" if vary in ("horizon", "n") else "numbers"
            raise UsageError(f"qbc scan: error: --values: expected {kind} for --vary {vary}, found {t!r}") from None
    return out


def run(args) -> int:
    from ..model.instance import load_instance
    from ..engine.scan import scan

    values = _parse_values(args.values, args.vary)
    instance = load_instance(args.file)

    def progress(line: str) -> None:
        print(f"qbc scan: {line}", file=sys.stderr, flush=True)

    result = scan(instance, args.vary, values, seeds=args.seeds, learner=args.learner,
                  eval_trajectories=args.eval_trajectories, progress=None if args.no_progress else progress)
    if args.json:
        print_json(result.to_dict())
    else:
        sys.stdout.write(result.format_text())
    return 0
