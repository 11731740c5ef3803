"""The ``qbc`` command line: thin wrappers, each subcommand calls one library function.

Exit codes (DESIGN.md section 4): 0 success; 1 when ``qbc check`` produced its report but no upper
bound's assumptions hold; 2 on bad input, with a one-line message on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from . import __version__
from .model.errors import QbcError

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
    from .checker.report import check
    from .model.instance import load_instance

    report = check(load_instance(args.file))
    if args.json:
        _print_json(report.to_dict())
    else:
        sys.stdout.write(report.format_text())
    return report.exit_code


def _cmd_proofs(args) -> int:
    from proofs_check import run_checks

    report = run_checks(args.only)
    if args.json:
        _print_json(report.to_dict())
    else:
        sys.stdout.write(report.format_text().rstrip("\n") + "\n")
    return 0


def _cmd_simulate(args) -> int:
    from .model.instance import load_instance
    from .engine.simulation import simulate

    result = simulate(load_instance(args.file), n=args.n, seeds=args.seeds, learner=args.learner,
                      eval_trajectories=args.eval_trajectories)
    if args.json:
        _print_json(result.to_dict())
    else:
        sys.stdout.write(result.format_text().rstrip("\n") + "\n")
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, found {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, found {value}")
    return value


def _cmd_run(args) -> int:
    from .verification.runner import run_spec

    table = run_spec(args.spec, backend=args.backend, out=args.out, profile=args.profile,
                     scheduler=args.scheduler, progress=not args.no_progress, workers=args.workers)
    if args.json:
        _print_json(table.to_dict())
    else:
        run = table.run
        sys.stdout.write(f"{table.spec_id} ({table.profile}): {len(table.cells)} cells x {table.seeds} seeds, "
                         f"computed {len(run.get('computed', []))}, cached {len(run.get('cached', []))}, "
                         f"{run.get('seconds', 0.0):.1f} s; results in {args.out}/"
                         f"{table.spec_id}.{table.profile}.json\n")
    return 0


def _cmd_verify(args) -> int:
    from .verification.claims import verify

    report = verify("full" if args.full else "quick", backend=args.backend, out=args.out, claims=args.claims,
                    progress=not args.no_progress, scheduler=args.scheduler, workers=args.workers)
    if not args.no_plots:
        from pathlib import Path

        from .figures.verify_plots import write_claim_figures

        write_claim_figures(report.to_dict(), Path(args.out) / "plots")
    if args.json:
        _print_json(report.to_dict())
    else:
        sys.stdout.write(report.format_text())
    return 0


def _symbol_pairs(extra: list[str]) -> dict[str, str]:
    """``--NAME VALUE`` / ``--NAME=VALUE`` pairs left over by argparse, as raw strings."""
    pairs: dict[str, str] = {}
    i = 0
    while i < len(extra):
        tok = extra[i]
        if not tok.startswith("--") or len(tok) == 2:
            raise _UsageError(f"qbc bound: error: expected --SYMBOL VALUE, found {tok!r}")
        name, eq, value = tok[2:].partition("=")
        if not eq:
            if i + 1 >= len(extra):
                raise _UsageError(f"qbc bound: error: --{name}: expected a value, found none")
            value = extra[i + 1]
            i += 1
        if name in pairs:
            raise _UsageError(f"qbc bound: error: --{name}: expected one value, found it twice")
        pairs[name] = value
        i += 1
    return pairs


def _checked_constants(path: str, symbols) -> dict[str, float]:
    """Constants of an instance from the assumption checker, restricted to ``symbols``."""
    from .checker.report import check
    from .model.instance import load_instance

    found: dict[str, float] = {}
    for verdict in check(load_instance(path)).to_dict()["theorems"].values():
        for k, v in (verdict.get("values") or {}).items():
            if v is not None and k in symbols and k not in found:
                found[k] = float(v)
    return found


def _cmd_bound(args, extra: list[str]) -> int:
    from .theory import bounds

    if args.list:
        if args.name or extra:
            raise _UsageError("qbc bound: error: --list takes no bound name or symbol values")
        if args.json:
            _print_json({"bounds": [{"name": b.name, "theorem": b.theorem, "kind": b.kind,
                                     "symbols": list(b.symbols)} for b in bounds.catalog()]})
        else:
            sys.stdout.write(bounds.format_list_text())
        return 0
    if not args.name:
        raise _UsageError("qbc bound: error: expected a bound NAME (see qbc bound --list), found none")
    bound = bounds.get(args.name, form=args.form)
    values = _checked_constants(args.from_check, bound.symbols) if args.from_check else {}
    for name, text in _symbol_pairs(extra).items():
        values[name] = bounds.parse_symbol_value(name, text)
    report = bounds.bound_report(args.name, values, form=args.form)
    if args.json:
        _print_json(report)
    elif args.latex:
        sys.stdout.write(report["latex"] + "\n")
    else:
        sys.stdout.write(bounds.format_bound_text(report))
    return 0


def _cmd_figs(args) -> int:
    from .figures.paper import make_figures

    report = make_figures(out=args.out, profile="full" if args.full else "quick", backend=args.backend,
                          results=args.results, progress=not args.no_progress, workers=args.workers,
                          scheduler=args.scheduler)
    if args.json:
        _print_json(report.to_dict())
    else:
        sys.stdout.write(report.format_text().rstrip("\n") + "\n")
    return 0


def _backend_options(p, out: str = "qbc-out", out_help: str = "results and cell cache") -> None:
    p.add_argument("--backend", choices=("serial", "processes", "dask"), default="processes",
                   help="where cells run (default: processes on all cores)")
    p.add_argument("--scheduler", metavar="ADDR", help="address of a Dask scheduler, tcp://HOST:PORT")
    p.add_argument("--workers", type=_positive_int, metavar="N", help="worker processes (default: all cores)")
    p.add_argument("--out", default=out, metavar="DIR", help=f"{out_help} (default {out})")
    p.add_argument("--no-progress", action="store_true", help="no progress output on stderr")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")


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

    from proofs_check import CHECK_IDS

    p = sub.add_parser("proofs", help="exact and symbolic checks of the paper's proof steps")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.add_argument("--only", nargs="+", metavar="ID", choices=CHECK_IDS,
                   help="run only these check ids (default: all)")
    p.set_defaults(func=_cmd_proofs)

    p = sub.add_parser("bound", help="a theorem's bound: formula, value, exponents", allow_abbrev=False,
                       epilog="Symbol values: --SYMBOL VALUE (e.g. --H 50 --n 200 --eps_q 0.01), parsed as "
                              "plain numbers only. Symbols: H n delta eps_q Pi M C eta Gamma L L_r k "
                              "eps_prime d sigma sigma_pi c A6 B6 (qbc bound --list shows each bound's).")
    p.add_argument("name", nargs="?", metavar="NAME", help="bound name (qbc bound --list)")
    p.add_argument("--list", action="store_true", help="list the bounds and their symbols")
    p.add_argument("--form", choices=("explicit", "rate"), default="explicit",
                   help="explicit constants (default) or the rate as stated, with universal constant c")
    p.add_argument("--from-check", metavar="FILE.toml", help="fill constants from the checker's report")
    p.add_argument("--latex", action="store_true", help="print only the LaTeX formula")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.set_defaults(func=_cmd_bound, takes_extra=True)

    from .engine.simulation import LEARNERS

    p = sub.add_parser("simulate", help="train log-loss BC on an instance, deploy it, report the regret")
    p.add_argument("file", metavar="FILE.toml", help="instance file (DESIGN.md section 6)")
    p.add_argument("--n", type=_positive_int, metavar="N", help="expert trajectories (default: run.n)")
    p.add_argument("--seeds", type=_positive_int, default=1, metavar="S", help="independent data sets (default 1)")
    p.add_argument("--learner", choices=LEARNERS, default="auto", help="learner (default auto)")
    p.add_argument("--eval-trajectories", type=_positive_int, default=2000, metavar="N",
                   help="coupled evaluation runs per seed (default 2000)")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser("run", help="run one experiment grid (resumable)")
    p.add_argument("spec", metavar="SPEC.toml", help="experiment spec (experiments/README.md)")
    p.add_argument("--profile", choices=("quick", "full"), default="quick", help="spec size (default quick)")
    _backend_options(p)
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("verify", help="run the claim catalog and print the verdict table")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes, a few minutes on 2 cores (default)")
    size.add_argument("--full", action="store_true", help="larger sizes, tighter intervals")
    p.add_argument("--claims", nargs="+", metavar="ID", help="only these claim ids")
    p.add_argument("--no-plots", action="store_true",
                   help="do not draw the per-claim diagnostic figures (DIR/plots/<claim id>.pdf/.png)")
    _backend_options(p)
    p.set_defaults(func=_cmd_verify)

    p = sub.add_parser("figs", help="regenerate every paper figure (running missing experiments)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="quick experiment profile (default)")
    size.add_argument("--full", action="store_true", help="full experiment profile")
    p.add_argument("--results", default="qbc-out", metavar="DIR",
                   help="experiment results and cell cache, shared with qbc verify (default qbc-out)")
    _backend_options(p, out="paper_figs", out_help="where the PDF, PNG and manifest.json go")
    p.set_defaults(func=_cmd_figs)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``qbc`` command; returns the exit code (used by the console script)."""
    parser = _build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if getattr(args, "takes_extra", False):
            return int(args.func(args, extra))
        if extra:
            raise _UsageError(f"qbc: error: unrecognized arguments: {' '.join(extra)}")
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
    except Exception as exc:
        # Bad input is caught above with a message naming the key; anything else is a bug in qbc.
        if os.environ.get("QBC_DEBUG"):
            raise
        print(f"qbc: internal error: {type(exc).__name__}: {exc} (this is a bug in qbc-theory; rerun with "
              "QBC_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
