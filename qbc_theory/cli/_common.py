"""What every ``qbc`` subcommand shares: the one-line-error parser, JSON output, argument types."""

from __future__ import annotations

import argparse
import json
import math
import sys

__all__ = ["UsageError", "Parser", "print_json", "positive_int", "positive_seconds", "backend_options"]


class UsageError(Exception):
    """A bad command line: printed as one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line (no usage block) and exit code 2."""

    epilog_factory = None
    """Optional callable returning the epilog, called only when help is printed (keeps start-up light)."""

    def error(self, message):
        raise UsageError(f"{self.prog}: error: {message}")

    def format_help(self):
        if self.epilog_factory is not None:
            self.epilog = self.epilog_factory()
        return super().format_help()


def print_json(obj) -> None:
    """Strict JSON (no NaN) on stdout, nothing else."""
    json.dump(obj, sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")


def positive_int(text: str) -> int:
    """argparse type: a positive integer."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, found {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, found {value}")
    return value


def positive_seconds(text: str) -> float:
    """argparse type: a positive finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, found {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, found {text!r}")
    return value


def backend_options(p, out: str = "qbc-out", out_help: str = "results and cell cache") -> None:
    """The options of commands that run experiment cells (run, verify, figs)."""
    p.add_argument("--backend", choices=("serial", "processes", "dask"), default="processes",
                   help="where cells run (default: processes on all cores)")
    p.add_argument("--scheduler", metavar="ADDR", help="address of a Dask scheduler, tcp://HOST:PORT")
    p.add_argument("--connect-timeout", type=positive_seconds, default=5.0, metavar="SECONDS",
                   help="seconds to wait for the Dask scheduler given by --scheduler (default 5)")
    p.add_argument("--workers", type=positive_int, metavar="N", help="worker processes (default: all cores)")
    p.add_argument("--out", default=out, metavar="DIR", help=f"{out_help} (default {out})")
    p.add_argument("--no-progress", action="store_true", help="no progress output on stderr")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
