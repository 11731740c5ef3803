"""The ``qbc`` command line: thin wrappers, each subcommand calls one library function.

One module per subcommand (``check``, ``bound``, ``simulate``, ...), each with ``register(sub)`` and
``run(args)``; :data:`COMMANDS` lists them in help order. Exit codes (docs/design.md): 0 success; 1
when ``qbc check`` produced its report but no upper bound's assumptions hold; 2 on bad input, with a
one-line message on stderr and no traceback.
"""

from __future__ import annotations

import importlib
import os
import sys

from .. import __version__
from ..model.errors import QbcError
from ._common import Parser, UsageError

__all__ = ["main", "COMMANDS"]

COMMANDS = ("check", "bound", "simulate", "scan", "run", "verify", "proofs", "figs", "audit", "export")
"""The subcommand modules of this package, in the order ``qbc --help`` lists them."""


def _build_parser() -> Parser:
    parser = Parser(prog="qbc", description="Behavior cloning with quantized actions: bounds, checks, "
                    "Monte Carlo verification (Cao & Xie 2026).")
    parser.add_argument("--version", action="version", version=f"qbc-theory {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f".{name}", __name__).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``qbc`` command; returns the exit code (used by the console script)."""
    parser = _build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if getattr(args, "takes_extra", False):
            return int(args.func(args, extra))
        if extra:
            raise UsageError(f"qbc: error: unrecognized arguments: {' '.join(extra)}")
        return int(args.func(args))
    except UsageError as exc:
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

