"""``qbc bound``: a theorem's bound."""

from __future__ import annotations

import sys

from ._common import UsageError, print_json

__all__ = ["register", "run"]


def register(sub) -> None:
    """Add the ``bound`` subcommand to the ``qbc`` parser."""
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
    p.set_defaults(func=run, takes_extra=True)


def _symbol_pairs(extra: list[str]) -> dict[str, str]:
    """``--NAME VALUE`` / ``--NAME=VALUE`` pairs left over by argparse, as raw strings."""
    pairs: dict[str, str] = {}
    i = 0
    while i < len(extra):
        tok = extra[i]
        if not tok.startswith("--") or len(tok) == 2:
            raise UsageError(f"qbc bound: error: expected --SYMBOL VALUE, found {tok!r}")
        name, eq, value = tok[2:].partition("=")
        if not eq:
            if i + 1 >= len(extra):
                raise UsageError(f"qbc bound: error: --{name}: expected a value, found none")
            value = extra[i + 1]
            i += 1
        if name in pairs:
            raise UsageError(f"qbc bound: error: --{name}: expected one value, found it twice")
        pairs[name] = value
        i += 1
    return pairs


def _checked_constants(path: str, symbols) -> dict[str, float]:
    """Constants of an instance from the assumption checker, restricted to ``symbols``."""
    from ..checker.report import check
    from ..model.instance import load_instance

    found: dict[str, float] = {}
    for verdict in check(load_instance(path)).to_dict()["theorems"].values():
        for k, v in (verdict.get("values") or {}).items():
            if v is not None and k in symbols and k not in found:
                found[k] = float(v)
    return found


def run(args, extra: list[str]) -> int:
    from ..theory import bounds

    if args.list:
        if args.name or extra:
            raise UsageError("qbc bound: error: --list takes no bound name or symbol values")
        if args.json:
            print_json({"bounds": [{"name": b.name, "theorem": b.theorem, "kind": b.kind,
                                     "symbols": list(b.symbols)} for b in bounds.catalog()]})
        else:
            sys.stdout.write(bounds.format_list_text())
        return 0
    if not args.name:
        raise UsageError("qbc bound: error: expected a bound NAME (see qbc bound --list), found none")
    bound = bounds.get(args.name, form=args.form)
    values = _checked_constants(args.from_check, bound.symbols) if args.from_check else {}
    for name, text in _symbol_pairs(extra).items():
        values[name] = bounds.parse_symbol_value(name, text)
    report = bounds.bound_report(args.name, values, form=args.form)
    if args.json:
        print_json(report)
    elif args.latex:
        sys.stdout.write(report["latex"] + "\n")
    else:
        sys.stdout.write(bounds.format_bound_text(report))
    return 0
