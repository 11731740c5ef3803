"""``qbc bound``: a theorem's bound.

A value is printed only when every symbol of the bound has one (from ``--SYMBOL VALUE`` or
``--from-check FILE.toml``); otherwise the command names the missing symbols and exits 2, or, with
``--symbolic``, prints the formula with the given values substituted and the free symbols left.
"""

from __future__ import annotations

import argparse
import sys

from ._common import UsageError, print_json

__all__ = ["register", "run", "symbols_epilog"]


def symbols_epilog() -> str:
    """The ``qbc bound --help`` epilog: every registry symbol (each a ``--NAME VALUE`` flag) with its meaning.

    Generated from :mod:`qbc_theory.theory.symbols`, so a symbol added to the registry is listed here.
    """
    from ..theory import symbols

    width = max(len(n) for n in symbols.names()) + 2
    rows = [f"  --{i.name:<{width}} {i.description} ({i.range_text()})"
            for i in (symbols.info(n) for n in symbols.names())]
    return ("Symbol values: --SYMBOL VALUE (e.g. --H 50 --n 200 --eps_q 0.01), parsed as plain numbers only.\n"
            "A value is printed when every symbol of the bound has one; qbc bound --list shows each bound's "
            "symbols.\nA count too large for a float is given by its natural log: --log_Pi VALUE, --log_M VALUE."
            "\nSymbols:\n" + "\n".join(rows))


def register(sub) -> None:
    """Add the ``bound`` subcommand to the ``qbc`` parser."""
    p = sub.add_parser("bound", help="a theorem's bound: formula, value, exponents", allow_abbrev=False,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.epilog_factory = symbols_epilog  # built when --help is printed (it needs the sympy registry)
    p.add_argument("name", nargs="?", metavar="NAME", help="bound name (qbc bound --list)")
    p.add_argument("--list", action="store_true", help="list the bounds and their symbols")
    p.add_argument("--form", choices=("explicit", "rate"), default="explicit",
                   help="explicit constants (default) or the rate as stated, with universal constant c")
    p.add_argument("--from-check", metavar="FILE.toml", help="fill constants from the checker's report")
    p.add_argument("--symbolic", action="store_true",
                   help="when symbols lack values, print the formula with the given values substituted "
                        "instead of failing")
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


def _check_entry(theorems: dict, name: str) -> tuple[str, dict] | None:
    """The checker's verdict on bound ``name``: the entry whose bound it is, else its theorem (``thm3_binning``
    -> ``thm3``), else None (a bound the checker does not assess)."""
    for key, verdict in theorems.items():
        if verdict.get("bound_name") == name:
            return key, verdict
    for key in (name, name.split("_")[0]):
        if key in theorems:
            return key, theorems[key]
    return None


def _checked_constants(path: str, name: str, symbols) -> tuple[dict[str, float], dict[str, float], str | None]:
    """Constants of an instance from the assumption checker, restricted to ``symbols``; the logs of the
    counts (``|Pi|``, ``|M|``) too large for a float; and a note when the checker finds that the bound's
    theorem does not apply (its first failing assumption)."""
    from ..checker.report import check
    from ..model.instance import load_instance

    theorems = check(load_instance(path)).to_dict()["theorems"]
    entry = _check_entry(theorems, name)
    # the bound's own theorem only (its eps_q, k, ... are the ones it uses: k is Theorem 6's trap width
    # but Theorem 3's radius multiplier); a bound the checker does not assess takes the first value found
    ordered = [entry[1]] if entry else list(theorems.values())
    found: dict[str, float] = {}
    logs: dict[str, float] = {}
    for verdict in ordered:
        vals = verdict.get("values") or {}
        for k, v in vals.items():
            if v is not None and k in symbols and k not in found:
                found[k] = float(v)
            elif v is None and k in symbols and vals.get(f"log_{k}") is not None and k not in logs:
                logs[k] = float(vals[f"log_{k}"])
    logs = {k: v for k, v in logs.items() if k not in found}
    note = None
    other = entry[1].get("bound_name") if entry is not None else None
    if other and other != name and entry[1].get("applies", True):
        note = (f"for this instance the checker evaluates {other} (qbc bound {other} --from-check {path})")
    elif entry is not None and not entry[1].get("applies", True):
        fails = [r[len("fails: "):] for r in entry[1].get("reasons", ()) if r.startswith("fails: ")]
        note = (f"the checker finds that {entry[0]} does not apply to {path}"
                + (f" ({fails[0]})" if fails else "") + ": a value is not a guarantee for this instance")
    return found, logs, note


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
    values, logs, note = (_checked_constants(args.from_check, args.name, bound.symbols) if args.from_check
                          else ({}, {}, None))
    for name, text in _symbol_pairs(extra).items():
        if name.startswith("log_") and name[4:] in bound.symbols:
            logs[name[4:]] = bounds.parse_log_count(name[4:], text)
            values.pop(name[4:], None)
        else:
            values[name] = bounds.parse_symbol_value(name, text)
            logs.pop(name, None)
    report = bounds.bound_report(args.name, values, form=args.form, log_counts=logs)
    if note is not None:
        report["note"] = note
    missing = report.get("missing", [])
    if missing and not (args.symbolic or args.latex):
        hint = f"give --{missing[0]} VALUE{' ...' if len(missing) > 1 else ''}"
        hint += ", or --symbolic for the formula" if args.from_check else " or use --from-check FILE.toml"
        raise UsageError(f"qbc bound: error: {args.name}: missing: {', '.join(missing)} ({hint})"
                         + (f"; {note}" if note else ""))
    if args.json:
        print_json(report)
    elif args.latex:
        sys.stdout.write(report["latex"] + "\n")
    else:
        sys.stdout.write(bounds.format_bound_text(report))
        if note is not None:
            sys.stdout.write(f"  note     {note}\n")
    return 0
