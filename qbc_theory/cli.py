"""The ``qbc`` command line: thin wrappers, each subcommand calls one library function.

Exit codes (DESIGN.md section 4): 0 success; 1 when ``qbc check`` produced its report but no upper
bound's assumptions hold; 2 on bad input, with a one-line message on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import json
import sys

from . import __version__
from .errors import QbcError

__all__ = ["main"]


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line (no usage block) and exit code 2."""

    def error(self, message):
        raise _UsageError(f"{self.prog}: error: {message}")


def _print_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")


def _cmd_check(args) -> int:
    from .instance import load_instance

    inst = load_instance(args.file)
    if args.json:
        _print_json({"instance": inst.to_dict()})
    else:
        sys.stdout.write(_format_instance(inst))
    return 0


def _format_instance(inst) -> str:
    import numpy as np

    s = inst.system
    lines = [f"instance {inst.name}",
             f"  system     dx={s.dx} du={s.du} spectral radius rho(A)={s.spectral_radius:.4g}",
             f"             A={np.array2string(s.A, precision=4, separator=', ')}".replace("\n", " "),
             f"             B={np.array2string(s.B, precision=4, separator=', ')}".replace("\n", " "),
             f"             noise: {'Gaussian, trace(cov)=%.4g' % np.trace(s.noise_cov) if s.noisy else 'none'}"]
    e = inst.expert.to_dict()
    kind = "deterministic" if inst.expert.deterministic else f"Gaussian, sigma={inst.expert.noise_std:g}"
    lines.append(f"  expert     {e['kind']} ({kind}), Lipschitz constant {inst.expert.lipschitz:.4g}")
    q = inst.quantizer.to_dict()
    eps = q.get("eps_sup")
    lines.append(f"  quantizer  {q['kind']}, sup error {'%.4g' % eps if eps is not None else 'none (learned)'}")
    r = inst.reward
    lines.append(f"  reward     {r.kind}, scale {r.scale:g}, L_r={r.lipschitz:.4g}")
    lines.append(f"  run        H={inst.horizon} n={inst.n} delta={inst.delta:g} seed={inst.seed}")
    return "\n".join(lines) + "\n"


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="qbc", description="Behavior cloning with quantized actions: bounds, checks, "
                     "Monte Carlo verification (Cao & Xie 2026).")
    parser.add_argument("--version", action="version", version=f"qbc-theory {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("check", help="assumption report for an instance file")
    p.add_argument("file", metavar="FILE.toml", help="instance file (DESIGN.md section 6)")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.set_defaults(func=_cmd_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``qbc`` command; returns the exit code (used by the console script)."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        return int(args.func(args))
    except _UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except QbcError as exc:
        print(f"qbc: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("qbc: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
