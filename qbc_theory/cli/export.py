"""``qbc export``: expert demonstrations of an instance as DATA.npz (the input of ``qbc audit``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ._common import UsageError, positive_int, print_json

__all__ = ["register", "run"]


def register(sub) -> None:
    """Add the ``export`` subcommand to the ``qbc`` parser."""
    from .audit import _seed

    p = sub.add_parser("export", help="write expert demonstrations of an instance to an .npz file")
    p.add_argument("file", metavar="INSTANCE.toml", help="instance file (docs/instance-format.md)")
    p.add_argument("--n", type=positive_int, required=True, metavar="N", help="number of episodes")
    p.add_argument("--out", required=True, metavar="DATA.npz", help="output file (.npz)")
    p.add_argument("--seed", type=_seed, default=None, metavar="S", help="root seed (default: run.seed)")
    p.add_argument("--flat", action="store_true",
                   help="flat layout: states (T, dx), actions (T, du) and episode_ends")
    p.add_argument("--json", action="store_true", help="machine-readable summary on stdout")
    p.set_defaults(func=run)


def run(args) -> int:
    import numpy as np

    from ..engine.export import expert_demonstrations
    from ..model.instance import load_instance

    if not args.out.endswith(".npz"):
        raise UsageError(f"qbc export: error: --out: expected a file name ending in .npz, found {args.out!r}")
    out = Path(args.out)
    if not out.parent.is_dir():
        raise UsageError(f"qbc export: error: --out: expected an existing directory, found {str(out.parent)!r}")
    instance = load_instance(args.file)
    seed = instance.seed if args.seed is None else args.seed
    arrays = expert_demonstrations(instance, args.n, np.random.default_rng(np.random.SeedSequence(seed)),
                                   flat=args.flat)
    tmp = out.with_name(out.name + ".tmp.npz")
    try:
        np.savez(tmp, **arrays)
        os.replace(tmp, out)
    except OSError as exc:
        raise UsageError(f"qbc export: error: --out: cannot write {str(out)!r} ({exc.strerror or exc})") from None
    summary = {"instance": instance.name, "out": str(out), "seed": seed, "episodes": args.n,
               "horizon": instance.horizon, "layout": "flat" if args.flat else "episodes",
               "arrays": {k: list(v.shape) for k, v in arrays.items()}}
    if args.json:
        print_json(summary)
    else:
        sys.stdout.write(f"wrote {out}: {args.n} episodes of {instance.name} (H={instance.horizon}, seed {seed}): "
                         + ", ".join(f"{k} {tuple(v.shape)}" for k, v in arrays.items()) + "\n")
    return 0
