"""``qbc audit``: a tokenizer's error and the RTVC of the quantized expert on logged demonstrations."""

from __future__ import annotations

import argparse
import math
import sys

from ._common import UsageError, positive_int, print_json

__all__ = ["register", "run", "parse_params"]


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), found {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), found {value:g}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, found {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, found {value}")
    return value


def _number(key: str, text: str):
    text = text.strip()
    try:
        value = int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            raise UsageError(f"qbc audit: error: --param {key}: expected a number or a list of numbers, "
                             f"found {text!r}") from None
    if not math.isfinite(value):
        raise UsageError(f"qbc audit: error: --param {key}: expected a finite number, found {text!r}")
    return value


def parse_params(items) -> dict:
    """``["key=value", ...]`` -> dict; a value is a number or a comma-separated list (``[...]`` optional).

    Nothing is evaluated: values go through ``int`` or ``float`` only.
    """
    out = {}
    for item in items or ():
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"qbc audit: error: --param: expected key=value, found {item!r}")
        if key in out:
            raise UsageError(f"qbc audit: error: --param {key}: given twice")
        body = text.strip()
        bracketed = body.startswith("[") and body.endswith("]")
        if bracketed:
            body = body[1:-1]
        if bracketed or "," in body:
            parts = [p for p in body.split(",") if p.strip()]
            out[key] = [_number(key, p) for p in parts]
        else:
            out[key] = _number(key, body)
    return out


def register(sub) -> None:
    """Add the ``audit`` subcommand to the ``qbc`` parser."""
    from ..model.tokenizers import TOKENIZERS

    p = sub.add_parser("audit", help="audit a tokenizer's eps_q and RTVC on logged demonstrations (DATA.npz)")
    p.add_argument("data", metavar="DATA.npz",
                   help="states (N, H, dx) and actions (N, H, du), or flat (T, dx), (T, du) with episode_ends")
    p.add_argument("--tokenizer", required=True, choices=tuple(TOKENIZERS), metavar="NAME",
                   help=f"one of {', '.join(TOKENIZERS)}")
    p.add_argument("--param", action="append", metavar="KEY=VALUE",
                   help="tokenizer parameter (a number or a list of numbers); repeat for several")
    p.add_argument("--fit-fraction", type=_fraction, default=0.5, metavar="F",
                   help="share of the episodes the tokenizer is fitted on (default 0.5)")
    p.add_argument("--seed", type=_seed, default=0, metavar="S", help="seed of the split and subsamples")
    p.add_argument("--budget", type=positive_int, default=None, metavar="N",
                   help="largest number of states in the pair search (default 20000)")
    p.add_argument("--instance", metavar="FILE.toml", help="the instance the data came from (checks stability)")
    p.add_argument("--plot", metavar="OUT.png", help="write the audit figure (.png or .pdf)")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..checker.audit import DEFAULT_BUDGET, audit
    from ..model.dataset import load_demonstrations
    from ..model.tokenizers import make_tokenizer

    params = parse_params(args.param)
    tokenizer = make_tokenizer(args.tokenizer, params, seed=args.seed)
    if args.plot is not None and not args.plot.lower().endswith((".png", ".pdf")):
        raise UsageError(f"qbc audit: error: --plot: expected a .png or .pdf file name, found {args.plot!r}")
    instance = None
    if args.instance is not None:
        from ..model.instance import load_instance
        instance = load_instance(args.instance)
    demos = load_demonstrations(args.data)
    result = audit(demos, tokenizer, fit_fraction=args.fit_fraction, seed=args.seed,
                   budget=args.budget or DEFAULT_BUDGET, instance=instance)
    doc = result.to_dict()
    if args.plot is not None:
        from ..figures.audit_plot import save_audit_figure
        save_audit_figure(doc, args.plot)
    if args.json:
        print_json(doc)
    else:
        sys.stdout.write(result.format_text())
        if args.plot is not None:
            sys.stdout.write(f"figure: {args.plot}\n")
    return 0
