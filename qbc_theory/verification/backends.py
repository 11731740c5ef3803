"""Where cells run: serially, in a process pool (spawn), or on Dask (for :mod:`qbc_theory.verification.runner`).

Each backend gets the list of tasks still to compute and calls ``on_done(i, values, seconds)`` as
task ``i`` finishes, in whatever order. A cell's randomness is its own ``SeedSequence`` only, so the
backend cannot change a result.
"""

from __future__ import annotations

import concurrent.futures as cf
from concurrent.futures.process import BrokenProcessPool
import copy
import functools
import importlib
import importlib.util
import multiprocessing
import numbers
import os
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..model.validation import describe
from ..model.errors import SpecError
from .specs import Cell, MissingExtraError, Spec

__all__ = ["BACKEND_RUNNERS"]


def _execute(func, params: dict, seeds: int, seed: np.random.SeedSequence):
    """Run one cell (in whichever process the backend chose); returns the raw values and seconds."""
    t0 = time.perf_counter()
    # A deep copy, so a cell that mutates its (nested) params cannot affect the next cell in serial runs,
    # just as it cannot in worker processes.
    values = func(copy.deepcopy(params), seeds=seeds, seed=seed)
    return values, time.perf_counter() - t0


@functools.cache
def _distributed():
    """The ``distributed`` module, probed once, with an install hint when missing."""
    if importlib.util.find_spec("distributed") is None:
        raise MissingExtraError("backend: expected the dask extra for backend 'dask', found it not installed; "
                                "install it with: pip install 'qbc-theory[dask]'")
    return importlib.import_module("distributed")


@functools.cache
def _tqdm():
    """tqdm's class if installed, else None (probed once)."""
    if importlib.util.find_spec("tqdm") is None:
        return None
    return importlib.import_module("tqdm").tqdm


class _Progress:
    """A tqdm bar on a terminal, plain lines on stderr otherwise, or nothing."""

    def __init__(self, label: str, total: int, cached: int, enabled: bool, name_specs: bool):
        self.label, self.total, self.done, self.enabled = label, total, cached, enabled
        self.name_specs = name_specs
        self.bar = None
        if not enabled:
            return
        tqdm = _tqdm()
        if tqdm is not None and sys.stderr.isatty():
            self.bar = tqdm(total=total, initial=cached, desc=label, unit="cell", file=sys.stderr)
        else:
            print(f"{label}: {total} cells, {cached} cached, {total - cached} to compute", file=sys.stderr,
                  flush=True)

    def update(self, task: "_Task", seconds: float) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        elif self.enabled:
            point = ", ".join(f"{k}={v}" for k, v in task.cell.point.items())
            spec = f"{task.spec.id} " if self.name_specs else ""
            print(f"{self.label}: {spec}cell {task.cell.index} ({point}) done in {seconds:.2f} s "
                  f"[{self.done}/{self.total}]", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _workers(workers) -> int:
    if workers is None:
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 1:
        raise SpecError(f"workers: expected a positive integer, found {describe(workers)}")
    return int(workers)


@dataclass(frozen=True)
class _Task:
    """One cell still to compute: the spec it belongs to, the cell and the function to call."""

    spec: Spec
    cell: Cell
    func: Callable

    def submit_args(self):
        return (self.func, self.cell.params, self.cell.seeds, self.cell.seed)


class _CellFailed(Exception):
    """A cell function raised; carries the task so the error can name the cell."""

    def __init__(self, task: _Task):
        super().__init__(task.cell.index)
        self.task = task


def _result(task: _Task, get):
    try:
        return get()
    except BrokenProcessPool:
        raise  # the pool failed, not this cell
    except Exception as exc:
        raise _CellFailed(task) from exc


def _run_serial(tasks, on_done, workers, scheduler):
    for i, task in enumerate(tasks):
        on_done(i, *_result(task, lambda: _execute(*task.submit_args())))


def _run_processes(tasks, on_done, workers, scheduler):
    # spawn (not fork): safe with threads in the parent and identical on every platform.
    ctx = multiprocessing.get_context("spawn")
    pool = cf.ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=ctx)
    try:
        futures = {pool.submit(_execute, *t.submit_args()): i for i, t in enumerate(tasks)}
        for fut in cf.as_completed(futures):
            i = futures[fut]
            on_done(i, *_result(tasks[i], fut.result))
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _run_dask(tasks, on_done, workers, scheduler):
    distributed = _distributed()
    cluster = None
    if scheduler is None:
        cluster = distributed.LocalCluster(n_workers=min(workers, len(tasks)), threads_per_worker=1,
                                           processes=True, dashboard_address=None)
        client = distributed.Client(cluster)
    else:
        client = distributed.Client(scheduler)
    try:
        futures = {client.submit(_execute, *t.submit_args(), pure=False): i for i, t in enumerate(tasks)}
        for fut in distributed.as_completed(list(futures)):
            i = futures[fut]
            on_done(i, *_result(tasks[i], fut.result))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


BACKEND_RUNNERS = {"serial": _run_serial, "processes": _run_processes, "dask": _run_dask}
"""Backend name -> ``run(tasks, on_done, workers, scheduler)``."""
