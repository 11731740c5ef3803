r"""From experiment results to the paper's figures (``qbc figs``): the orchestration.

:func:`make_figures` is the pipeline: it runs, through the runner's cache, exactly the built-in
experiment specs the figures need (after ``qbc verify`` with the same profile and results
directory nothing is recomputed), asks :mod:`qbc_theory.verification.figdata` for each figure's data,
draws it with the figure modules, saves PDF and PNG, and writes ``manifest.json``. Nothing is
computed here: the numbers come from the figure-data functions, the drawing from
:mod:`qbc_theory.figures.plots`.

=============================  ==============================================================
figure                         source
=============================  ==============================================================
``fig1_regret_vs_n``           specs ``thm3.rate_n``, ``thm2.rate_n``; bound library
``fig2_regret_vs_H``           specs ``thm3.horizon``, ``thm2.horizon``, ``thm6.det``, ``thm7.det``
``fig3_regret_vs_eps_q``       specs ``thm3.eps`` and ``fig3.trap`` (the trap series)
``fig4_rtvc_audit``            computed from fixed seeds (:func:`~qbc_theory.verification.figdata.rtvc_audit_data`)
``fig5_stability``             computed exactly (:func:`~qbc_theory.verification.figdata.gain_profile_data`)
``fig6_lipschitz_blowup``      spec ``lipschitz.exp``, its control ``lipschitz.exp.control``, ``fig6.tvc``
``fig7_bound_sandwich``        specs ``thm8.tight``, ``thm9.tight``, ``fig7.eps``
=============================  ==============================================================

A figure whose data is missing (a spec that does not exist yet, a column a cell does not write) is
**skipped** with a message saying exactly what is missing: nothing is ever drawn from invented
numbers. A figure missing only a secondary series is drawn without it and the report says what was
left out. To add a figure, see :func:`_registry`.

Everything is deterministic: the same results and code give byte-identical PDF, PNG and manifest
files.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import plots as F
from .h2_plot import draw_h2_figure
from ..model.errors import QbcError, SpecError
from ..model.validation import reject_unknown_kwargs
from ..verification import figdata as FD
from ..verification.figdata import BOOTSTRAP_ENTROPY, MissingDataError
from ..verification.figdata.h2 import h2_horizon_data
from ..verification.runner import PROFILES, builtin_spec_paths, load_spec, run_specs

__all__ = [
    "DEFAULT_OUT",
    "MissingDataError",
    "BOOTSTRAP_ENTROPY",
    "FigureOutcome",
    "FiguresReport",
    "FIGURE_SPECS",
    "make_figures",
]

DEFAULT_OUT = "qbc-out/figs"
"""Where ``qbc figs`` writes by default: the untracked output folder (``--out paper_figs`` regenerates
the committed figures)."""


# --------------------------------------------------------------------------------------------
# report


@dataclass(frozen=True)
class FigureOutcome:
    """What happened to one figure.

    Attributes
    ----------
    figure : str
        File stem (``"fig1_regret_vs_n"``).
    status : {"built", "skipped"}
    specs : tuple of str
        Ids of the experiment specs the numbers come from (empty for figures 4 and 5).
    seeds : tuple of int
        Root entropies: of each spec, or of the direct computation.
    files : tuple of str
        The PDF and PNG written (empty when skipped).
    message : str
        For a skipped figure, exactly what is missing; for a built one, what was left out, if
        anything (else empty).
    """

    figure: str
    status: str
    specs: tuple = ()
    seeds: tuple = ()
    files: tuple = ()
    message: str = ""

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"figure": self.figure, "status": self.status, "specs": list(self.specs),
                "seeds": [int(s) for s in self.seeds], "files": list(self.files), "message": self.message}


@dataclass(frozen=True)
class FiguresReport:
    """The result of :func:`make_figures`.

    Attributes
    ----------
    out : str
        Output directory of the figures and the manifest.
    profile : str
        Experiment profile (``"quick"`` or ``"full"``).
    results : str
        Results directory (runner cache) used.
    figures : tuple of FigureOutcome
        In the order of :data:`qbc_theory.figures.plots.FIGURES`.
    manifest : str
        Path of ``manifest.json``.
    seconds : float
        Wall-clock time of the whole run.
    """

    out: str
    profile: str
    results: str
    figures: tuple
    manifest: str
    seconds: float

    @property
    def built(self) -> tuple:
        """Stems of the figures drawn."""
        return tuple(f.figure for f in self.figures if f.status == "built")

    @property
    def skipped(self) -> tuple:
        """Stems of the figures skipped for missing data."""
        return tuple(f.figure for f in self.figures if f.status == "skipped")

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"out": self.out, "profile": self.profile, "results": self.results,
                "figures": [f.to_dict() for f in self.figures], "manifest": self.manifest,
                "seconds": self.seconds}

    def format_text(self) -> str:
        """One line per figure, then the skip and omission messages."""
        lines = []
        for f in self.figures:
            src = ", ".join(f.specs) if f.specs else "computed directly"
            lines.append(f"{f.figure:<24} {f.status:<8} {src}")
        notes = [f for f in self.figures if f.message]
        if notes:
            lines.append("")
            lines.extend(f"{f.figure}: {f.message}" for f in notes)
        lines.append("")
        lines.append(f"{len(self.built)} of {len(self.figures)} figures written to {self.out} "
                     f"(profile {self.profile}, {self.seconds:.1f} s); manifest {self.manifest}")
        return "\n".join(lines) + "\n"



# --------------------------------------------------------------------------------------------
# the pipeline


@dataclass(frozen=True)
class _Figure:
    """How one figure is made: the specs it reads, the function that builds its data, the one that draws it."""

    stem: str
    specs: tuple  # needed: without them the figure is skipped
    optional: tuple  # secondary series: without them the figure is drawn without those series
    build: Callable  # (tables) -> (data, provenance: dict, notes: list[str]), from verification.figdata
    draw: Callable  # (data) -> matplotlib Figure, called inside paper_style()


def _main_panel(plot: Callable, **style) -> Callable:
    return lambda data: plot(data, **style).figure


def _registry() -> dict:
    """The paper figures, in the order of :data:`qbc_theory.verification.figdata.FIGURE_STEMS`.

    To add a figure: write its data builder in :mod:`qbc_theory.verification.figdata` (``(tables) ->
    (data, provenance, notes)``), append its stem to ``FIGURE_STEMS``, and add one line here naming
    the specs it reads, the builder and the function that draws it (usually an existing ``*_plot``).
    """
    figs = (
        _Figure("fig1_regret_vs_n", ("thm3.rate_n",), ("thm2.rate_n",), FD.regret_vs_n_data,
                _main_panel(F.regret_vs_n_plot, ylabel=r"statistical regret $J(q_\#\pi^\star) - J(\hat{\pi})$")),
        _Figure("fig2_regret_vs_H", ("thm3.horizon",), ("thm2.horizon", "thm6.det", "thm7.det"),
                FD.regret_vs_h_data, _main_panel(F.regret_vs_h_plot)),
        _Figure("fig3_regret_vs_eps_q", ("thm3.eps", "fig3.trap"), (), FD.regret_vs_eps_data,
                _main_panel(F.regret_vs_eps_plot)),
        _Figure("fig4_rtvc_audit", (), (), FD.rtvc_figure, _main_panel(F.rtvc_audit_plot)),
        _Figure("fig5_stability", (), (), FD.stability_figure, _main_panel(F.stability_plot)),
        _Figure("fig6_lipschitz_blowup", ("lipschitz.exp", "lipschitz.exp.control"), ("fig6.tvc",),
                FD.blowup_figure, F.draw_blowup_figure),
        _Figure("fig7_bound_sandwich", ("thm8.tight",), ("thm9.tight", "fig7.eps"), FD.sandwich_data,
                F.draw_sandwich_figure),
        _Figure("fig8_h2_horizon", ("thm3.h2", "thm3.h2.control"), (), h2_horizon_data, draw_h2_figure),
    )
    unknown = [f.stem for f in figs if f.stem not in FD.FIGURE_STEMS]
    if unknown:
        raise RuntimeError(f"figures {unknown} are not in verification.figdata.FIGURE_STEMS")
    return {f.stem: f for f in figs}


FIGURE_SPECS: dict = {f.stem: f.specs + f.optional for f in _registry().values()}
"""Figure stem -> ids of the built-in specs it reads (needed ones first, then optional ones)."""


def _run_tables(spec_ids, *, profile, backend, results, progress, workers, scheduler,
                connect_timeout) -> tuple[dict, dict]:
    """Run the built-in specs (cached cells are loaded, not recomputed); failures are reported per spec."""
    paths = {p.stem: p for p in builtin_spec_paths()}
    ids = [s for s in spec_ids if s in paths]
    failures = {s: f"no built-in spec {s}.toml" for s in spec_ids if s not in paths}
    if not ids:
        return {}, failures
    specs = [load_spec(paths[s]) for s in ids]
    kwargs = dict(backend=backend, out=results, profile=profile, progress=progress, workers=workers,
                  scheduler=scheduler, connect_timeout=connect_timeout)
    try:
        return dict(zip(ids, run_specs(specs, **kwargs))), failures
    except RuntimeError:
        pass
    # One spec's failing cell aborts a joint run; run them one by one (finished cells stay cached)
    # so the figures of the other specs are still made.
    tables = {}
    for spec in specs:
        try:
            tables[spec.id] = run_specs([spec], **kwargs)[0]
        except RuntimeError as exc:
            failures[spec.id] = f"its run failed: {exc}"
    return tables, failures


def _write_manifest(entries, skipped: dict, out: Path, profile: str, chosen: Sequence[str]) -> Path:
    """``manifest.json`` through :func:`figures.write_manifest`, plus the skipped figures and the profile.

    Entries of figures not made in this run (a run with ``figures=``) are kept from the previous
    manifest when their files are still there.
    """
    path = out / "manifest.json"
    previous = {}
    if path.exists():
        try:
            previous = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            previous = {}
    path = F.write_manifest(entries, out)
    doc = json.loads(path.read_text(encoding="utf-8"))
    for stem, entry in dict(previous.get("figures", {})).items():
        kept = all((out / f).exists() for f in entry.get("files", ()))
        if stem not in chosen and stem not in doc["figures"] and kept:
            doc["figures"][stem] = entry
    for stem, entry in dict(previous.get("skipped", {})).items():
        if stem not in chosen and stem not in doc["figures"]:
            skipped.setdefault(stem, entry)
    doc["skipped"] = skipped
    doc["profile"] = profile
    text = json.dumps(doc, sort_keys=True, indent=2, allow_nan=False, ensure_ascii=True) + "\n"
    tmp = out / ".manifest.json.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def make_figures(out=DEFAULT_OUT, profile: str = "quick", backend: str = "processes", results="qbc-out",
                 progress: bool = True, **options) -> FiguresReport:
    """Regenerate the paper figures from experiment results (``qbc figs``).

    Runs the built-in specs the figures need through the runner's cache (cells already in
    ``results/cells`` are loaded, not recomputed; ``qbc verify`` with the same ``profile`` and
    ``results`` fills the same cache), builds each figure's data, renders it with
    :func:`qbc_theory.figures.plots.render` as ``out/<stem>.pdf`` and ``out/<stem>.png``, and writes
    ``out/manifest.json``: per figure the spec ids, the seeds (root entropies), the code version
    and the numbers plotted, plus the skipped figures with their reasons. A figure whose data is
    missing is skipped, never drawn from invented numbers; its files from an earlier run are
    removed so the directory never shows a stale figure.

    Parameters
    ----------
    out : str or path-like
        Output directory of the figures and the manifest (default ``qbc-out/figs``, untracked;
        ``paper_figs`` regenerates the committed figures).
    profile : {"quick", "full"}
        Experiment profile.
    backend : {"serial", "processes", "dask"}
        Runner backend for the cells not in the cache.
    results : str or path-like
        The runner's output directory (cache and result tables).
    progress : bool
        Show the runner's progress on stderr.
    figures : sequence of str, optional
        Only these figure stems (default: all of :data:`qbc_theory.figures.plots.FIGURES`).
    workers : int, optional
        Worker processes for the runner (default: all cores).
    scheduler : str, optional
        Address of a Dask scheduler (``backend="dask"`` only).
    connect_timeout : float, optional
        Seconds to wait for that scheduler (default 5).

    Returns
    -------
    FiguresReport

    Raises
    ------
    SpecError
        On an unknown profile or figure stem.
    TypeError
        On an unknown keyword argument.

    Notes
    -----
    With ``backend="processes"`` the runner starts workers with ``spawn``: call this from the
    ``qbc`` command or from a script guarded by ``if __name__ == "__main__":``.

    Examples
    --------
    >>> report = make_figures("paper_figs", profile="quick")   # doctest: +SKIP
    >>> print(report.format_text())                            # doctest: +SKIP
    """
    only = options.pop("figures", None)
    workers = options.pop("workers", None)
    scheduler = options.pop("scheduler", None)
    connect_timeout = options.pop("connect_timeout", 5.0)
    reject_unknown_kwargs("make_figures", options)
    if profile not in PROFILES:
        raise SpecError(f"profile: expected one of {', '.join(PROFILES)}, found {profile!r}")
    registry = _registry()
    if only is None:
        chosen = list(registry)
    else:
        if isinstance(only, str):
            only = [only]
        unknown = [s for s in only if s not in registry]
        if unknown:
            raise SpecError(f"figures: expected stems among {', '.join(registry)}, "
                            f"found {', '.join(map(str, unknown))}")
        chosen = [s for s in registry if s in only]
    t0 = time.perf_counter()
    out = Path(out)
    spec_ids = list(dict.fromkeys(s for stem in chosen for s in FIGURE_SPECS[stem]))
    tables, failures = _run_tables(spec_ids, profile=profile, backend=backend, results=results,
                                   progress=progress, workers=workers, scheduler=scheduler,
                                   connect_timeout=connect_timeout)
    outcomes, entries, skipped = [], [], {}
    for stem in chosen:
        fig = registry[stem]
        missing = [s for s in fig.specs if s not in tables]
        if missing:
            message = "; ".join(f"spec {s!r}: {failures.get(s, 'no results')}" for s in missing)
            outcome = _skip(stem, fig, out, f"missing data: {message}")
        else:
            try:
                data, provenance, notes = fig.build(tables)
            except FD.MissingDataError as exc:
                outcome = _skip(stem, fig, out, f"missing data: {exc}")
            except QbcError as exc:
                # e.g. a sandwich whose lower bound exceeds its upper bound: a finding, not a band to draw
                outcome = _skip(stem, fig, out, f"data rejected by the figure: {exc}")
            else:
                used = [s for s in fig.specs + fig.optional if s in tables]
                notes = list(notes) + [f"spec {s!r} left out: {failures.get(s, 'no results')}"
                                       for s in fig.optional if s not in tables]
                files = _render(stem, data, out, fig.draw)
                seeds = tuple(tables[s].entropy for s in used)
                if "entropy" in provenance:
                    seeds += (int(provenance["entropy"]),)
                sources = {"specs": [FD.table_source(tables[s]) for s in used], "computed": provenance,
                           "bootstrap_entropy": FD.BOOTSTRAP_ENTROPY if used else None, "notes": notes}
                entries.append(F.ManifestEntry(stem, ", ".join(used) or f"computed in qbc_theory.verification.figdata ({stem})",
                                               seeds, {"plotted": data, "sources": sources}))
                outcome = FigureOutcome(stem, "built", tuple(used), seeds, tuple(str(p) for p in files),
                                        "; ".join(notes))
        if outcome.status == "skipped":
            skipped[stem] = {"reason": outcome.message, "specs": list(fig.specs + fig.optional)}
        outcomes.append(outcome)
    manifest = _write_manifest(entries, skipped, out, profile, chosen)
    return FiguresReport(str(out), profile, str(results), tuple(outcomes), str(manifest),
                         round(time.perf_counter() - t0, 3))


def _render(stem: str, data, out: Path, draw: Callable) -> list:
    with F.paper_style():
        return F.save_figure(draw(data), stem, out)


def _skip(stem: str, fig: _Figure, out: Path, message: str) -> FigureOutcome:
    """Skip a figure, removing its files of an earlier run (they would show numbers no longer backed)."""
    for ext in ("pdf", "png"):
        stale = out / f"{stem}.{ext}"
        if stale.exists():
            stale.unlink()
    return FigureOutcome(stem, "skipped", fig.specs + fig.optional, (), (), message)
