"""``qbc run``: run one experiment spec, or the experiments of one claim and its verdict.

``TARGET`` is a spec file (``path/to/spec.toml``), a claim id of the catalog (``thm3.rate_n``: its spec
and its control spec are run and the claim is judged, as one row of ``qbc verify``), or the id of a
built-in spec (``thm3.rate_n.control``, ``fig6.tvc``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from ._common import backend_options, print_json

__all__ = ["register", "run"]


def register(sub) -> None:
    """Add the ``run`` subcommand to the ``qbc`` parser."""
    p = sub.add_parser("run", help="run one experiment grid or one claim's experiments (resumable)",
                       description="Run a spec file, a built-in spec id, or a claim id (its spec and control "
                                   "spec, then its verdict, as one row of qbc verify).")
    p.add_argument("spec", metavar="SPEC.toml|CLAIM",
                   help="experiment spec file (experiments/README.md), claim id (thm3.rate_n; qbc verify "
                        "lists them) or built-in spec id (thm3.rate_n.control)")
    p.add_argument("--profile", choices=("quick", "full"), default="quick", help="spec size (default quick)")
    backend_options(p)
    p.set_defaults(func=run)


def _target(text: str):
    """``("claim", id)``, ``("spec", path)``: what ``TARGET`` names."""
    from ..model.errors import SpecError
    from ..verification.claims import claim_ids
    from ..verification.runner import builtin_spec_paths

    if text.endswith(".toml") or os.sep in text or "/" in text or Path(text).is_file():
        return "spec", text
    if text in claim_ids():
        return "claim", text
    builtin = {p.stem: p for p in builtin_spec_paths()}
    if text in builtin:
        return "spec", builtin[text]
    raise SpecError(f"spec: expected a spec file (.toml), a claim id ({', '.join(claim_ids())}) or a built-in "
                    f"spec id, found {text!r}")


def _table_line(table, out) -> str:
    run = table.run
    return (f"{table.spec_id} ({table.profile}): {len(table.cells)} cells x {table.seeds} seeds, "
            f"computed {len(run.get('computed', []))}, cached {len(run.get('cached', []))}, "
            f"{run.get('seconds', 0.0):.1f} s; results in {Path(out) / f'{table.spec_id}.{table.profile}.json'}")


def _run_claim(claim_id: str, args) -> int:
    from ..verification.claims import evaluate, get_claim
    from ..verification.runner import builtin_spec_paths, load_spec, run_specs
    from ..verification.verdicts import VerifyReport

    claim = get_claim(claim_id)
    paths = {p.stem: p for p in builtin_spec_paths()}
    needed = list(dict.fromkeys((claim.spec, claim.control_spec)))
    t0 = time.perf_counter()
    tables = dict(zip(needed, run_specs([load_spec(paths[s]) for s in needed], backend=args.backend,
                                        out=args.out, profile=args.profile, scheduler=args.scheduler,
                                        progress=not args.no_progress, workers=args.workers,
                                        connect_timeout=args.connect_timeout)))
    result = evaluate(claim, tables[claim.spec], tables[claim.control_spec])
    report = VerifyReport((result,), args.profile, round(time.perf_counter() - t0, 3), tables)
    # the verdict goes next to the tables, never over ``verify.<profile>.json`` (the whole catalog's report)
    verdict_path = Path(args.out) / f"claim.{claim.id}.{args.profile}.json"
    tmp = verdict_path.with_name(f".{verdict_path.name}.tmp")
    tmp.write_text(json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n")
    os.replace(tmp, verdict_path)
    if args.json:
        print_json({**report.to_dict(), "verdict": str(verdict_path),
                    "tables": {s: str(Path(args.out) / f"{s}.{args.profile}.json") for s in needed}})
    else:
        sys.stdout.write(report.format_text())
        for spec_id in needed:
            sys.stdout.write(_table_line(tables[spec_id], args.out) + "\n")
        sys.stdout.write(f"verdict in {verdict_path}\n")
    return 0


def run(args) -> int:
    from ..verification.runner import run_spec

    kind, target = _target(args.spec)
    if kind == "claim":
        return _run_claim(target, args)
    table = run_spec(target, backend=args.backend, out=args.out, profile=args.profile,
                     scheduler=args.scheduler, progress=not args.no_progress, workers=args.workers,
                     connect_timeout=args.connect_timeout)
    if args.json:
        print_json(table.to_dict())
    else:
        sys.stdout.write(_table_line(table, args.out) + "\n")
    return 0
