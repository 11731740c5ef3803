r"""The catalog of verifiable claims and ``verify``, which runs it (``qbc verify``).

The claims themselves are defined next to the cells that measure them (:mod:`qbc_theory.verification.cells`)
with the classes of :mod:`qbc_theory.verification.verdicts` (re-exported here); this module orders them
(:data:`ORDER`, a contract), runs their experiments through :mod:`qbc_theory.verification.runner` and writes the
report.
"""

from __future__ import annotations

import time

import numpy as np

from ..model.validation import reject_unknown_kwargs
from ..model.errors import SpecError
from . import cells as _cells
from .runner import ResultTable, builtin_spec_paths, load_spec, run_specs
from .verdicts import (BoundTest, Claim, ClaimResult, SlopeTest, TestOutcome, VerifyReport, combine,
                       control_status)

__all__ = [
    "SlopeTest",
    "BoundTest",
    "TestOutcome",
    "Claim",
    "ClaimResult",
    "VerifyReport",
    "ORDER",
    "claim_ids",
    "get_claim",
    "combine",
    "control_status",
    "evaluate",
    "verify",
]


ORDER = (
    "thm3.rate_n", "thm3.horizon", "thm3.eps", "thm2.rate_n", "thm2.horizon", "prop5.rtvc",
    "thm6.det", "thm6.noisy", "thm7.det", "thm7.noisy", "thm8.tight", "thm9.tight",
    "lipschitz.exp", "prop4.regression", "thm1.explicit",
)
"""The claim ids (a contract), in report order."""


def _catalog() -> tuple[Claim, ...]:
    found = {c.id: c for c in _cells.all_claims()}
    if set(found) != set(ORDER):
        raise SpecError(f"catalog: expected the claims {', '.join(ORDER)}, found "
                        f"{', '.join(sorted(found)) or 'none'}")
    return tuple(found[i] for i in ORDER)


def claim_ids() -> list[str]:
    """Ids of the claims in the catalog, in report order."""
    return [c.id for c in _catalog()]


def get_claim(claim_id: str) -> Claim:
    """The claim with this id.

    Raises
    ------
    SpecError
        Naming the known ids.
    """
    for c in _catalog():
        if c.id == claim_id:
            return c
    raise SpecError(f"claim: expected one of {', '.join(claim_ids())}, found {claim_id!r}")


def _builtin_specs() -> dict:
    return {p.stem: p for p in builtin_spec_paths()}


_BOOTSTRAP_ENTROPY = 20260320


def _claim_rng(claim_id: str) -> np.random.Generator:
    index = ORDER.index(claim_id) if claim_id in ORDER else len(ORDER)
    return np.random.default_rng(np.random.SeedSequence(_BOOTSTRAP_ENTROPY, spawn_key=(index,)))


def evaluate(claim: Claim, table: ResultTable, control_table: ResultTable, rng=None) -> ClaimResult:
    """Evaluate one claim on given result tables (``rng`` seeds the bootstrap; default: the claim's
    own stream, as :func:`verify` uses)."""
    rng = _claim_rng(claim.id) if rng is None else rng
    return claim.evaluate(table, control_table, rng)


def verify(profile: str = "quick", *, backend: str = "processes", out="qbc-out", claims=None,
           progress: bool = True, scheduler=None, workers=None, **kwargs) -> VerifyReport:
    """Run the experiments of the claim catalog (reusing cached cells) and judge every claim.

    Parameters
    ----------
    profile : {"quick", "full"}
    backend, out, scheduler, workers, progress
        As in :func:`qbc_theory.verification.runner.run_specs`; results are cached under ``out``.
    claims : list of str, optional
        Only these claim ids (default: the whole catalog).

    Returns
    -------
    VerifyReport
        Also written to ``out/verify.<profile>.json``.

    Raises
    ------
    SpecError
        On an unknown claim id or profile.
    """
    reject_unknown_kwargs("verify", kwargs)
    if profile not in ("quick", "full"):
        raise SpecError(f"profile: expected 'quick' or 'full', found {profile!r}")
    chosen = [get_claim(c) for c in claims] if claims else list(_catalog())
    paths = _builtin_specs()
    needed = []
    for c in chosen:
        for sid in (c.spec, c.control_spec):
            if sid not in paths:
                raise SpecError(f"claim {c.id}: expected a built-in spec {sid!r}, found none")
            if sid not in needed:
                needed.append(sid)
    t0 = time.perf_counter()
    specs = [load_spec(paths[s]) for s in needed]
    tables = dict(zip(needed, run_specs(specs, backend=backend, out=out, profile=profile,
                                        scheduler=scheduler, progress=progress, workers=workers)))
    # one bootstrap stream per claim, keyed by its place in ORDER: a claim's intervals do not depend
    # on which other claims were run
    results = tuple(c.evaluate(tables[c.spec], tables[c.control_spec], _claim_rng(c.id)) for c in chosen)
    report = VerifyReport(results, profile, round(time.perf_counter() - t0, 3), tables)
    _write(out, profile, report)
    return report


def _write(out, profile: str, report: VerifyReport) -> None:
    import json
    import os
    from pathlib import Path

    path = Path(out) / f"verify.{profile}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n")
    os.replace(tmp, path)
