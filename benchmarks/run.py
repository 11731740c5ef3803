"""Run every speed benchmark and print one JSON object.

Usage: ``python benchmarks/run.py [--quick] [--only NAME ...]``

Each ``benchmarks/bench_<topic>.py`` exposes ``run(quick: bool) -> dict``, measuring our code
against a simple reference timed in the same run (so the numbers compare like with like on
whatever machine runs them). Benchmarks are not tests: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (about a minute in all)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these topics (e.g. rollout)")
    args = parser.parse_args(argv)
    paths = sorted(HERE.glob("bench_*.py"))
    topics = {p.stem.removeprefix("bench_"): p for p in paths}
    if args.only:
        unknown = sorted(set(args.only) - set(topics))
        if unknown:
            print(f"run.py: error: --only: expected one of {', '.join(topics)}, found {unknown[0]!r}",
                  file=sys.stderr)
            return 2
        topics = {k: v for k, v in topics.items() if k in args.only}
    out = {"quick": args.quick, "python": platform.python_version(), "numpy": np.__version__,
           "machine": platform.machine(), "benchmarks": {}}
    for name, path in topics.items():
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        result = _load(path).run(args.quick)
        result["wall_seconds"] = round(time.perf_counter() - t0, 3)
        out["benchmarks"][name] = result
    json.dump(out, sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
