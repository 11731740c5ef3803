"""Where cells run: serially, in a process pool (spawn), or on Dask (for :mod:`qbc_theory.verification.runner`).

Each backend gets the list of tasks still to compute and calls ``on_done(i, values, seconds)`` as
task ``i`` finishes, in whatever order. A cell's randomness is its own ``SeedSequence`` only, so the
backend cannot change a result through randomness.

**Floating point.** A multi-threaded BLAS splits long sums (``X.T @ X`` over ``n H`` samples) between
its threads, so the rounding depends on the number of BLAS threads: with OpenBLAS on all cores in
the serial and ``processes`` runs but one thread in Dask workers (Dask's nanny sets
``OPENBLAS_NUM_THREADS=1``), the Theorem 2 MLE (``thm2.rate_n``) differed in 3-4 of 128 rows at
about 1e-11 relative. Every cell therefore runs with **one BLAS thread**, whatever the backend:

* worker processes (``processes``, a local Dask cluster) start with :data:`WORKER_ENV`
  (``OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=MKL_NUM_THREADS=...=1``);
* :func:`_execute` (every backend, also the serial one in this process and workers of a remote
  scheduler) sets every OpenBLAS loaded in the process to one thread for the duration of the cell,
  through OpenBLAS's own ``openblas_set_num_threads`` (found with ``ctypes`` in ``/proc/self/maps``,
  Linux), and restores the previous count afterwards.

With another BLAS (MKL, Accelerate) in the serial backend, or workers of a remote scheduler started
without :data:`WORKER_ENV`, the one-thread setting cannot be applied in-process and results may differ
from the other backends in the last digits (measured: <= 2e-10 relative).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import ctypes
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

__all__ = ["BACKEND_RUNNERS", "WORKER_ENV", "blas_threads_pinned", "open_session", "close_session"]

WORKER_ENV = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                     "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")}
"""Environment of every worker process the backends start: one BLAS / OpenMP thread."""

_OPENBLAS_SYMBOLS = ("scipy_openblas_{}_num_threads64_", "scipy_openblas_{}_num_threads", "openblas_{}_num_threads64_",
                     "openblas_{}_num_threads")


@functools.cache
def _openblas_controls() -> tuple:
    """``(get, set)`` ctypes functions of every OpenBLAS library loaded in this process (Linux), or ``()``.

    Probed once per process, after numpy and scipy are imported (each ships its own OpenBLAS).
    """
    import scipy.linalg  # noqa: F401  (loads scipy's OpenBLAS, which the cells use through scipy)

    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            paths = sorted({line.split()[-1] for line in fh if "openblas" in line.lower() and "/" in line})
    except OSError:
        return ()
    controls = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path, mode=getattr(os, "RTLD_NOLOAD", 0) | ctypes.RTLD_LOCAL)
        except OSError:
            continue
        for pattern in _OPENBLAS_SYMBOLS:
            get, put = getattr(lib, pattern.format("get"), None), getattr(lib, pattern.format("set"), None)
            if get is not None and put is not None:
                get.restype, get.argtypes = ctypes.c_int, []
                put.restype, put.argtypes = None, [ctypes.c_int]
                controls.append((get, put))
                break
    return tuple(controls)


@contextlib.contextmanager
def blas_threads_pinned():
    """Run the block with every loaded OpenBLAS on one thread, restoring the previous counts afterwards.

    Yields
    ------
    int
        How many OpenBLAS libraries were pinned (0 when none was found: another BLAS, or not Linux).
    """
    controls = _openblas_controls()
    before = [get() for get, _ in controls]
    for _, put in controls:
        put(1)
    try:
        yield len(controls)
    finally:
        for (_, put), n in zip(controls, before):
            put(n)


@contextlib.contextmanager
def _worker_environment():
    """Set :data:`WORKER_ENV` in ``os.environ`` while worker processes are spawned (they inherit it)."""
    saved = {k: os.environ.get(k) for k in WORKER_ENV}
    os.environ.update(WORKER_ENV)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _execute(func, params: dict, seeds: int, seed: np.random.SeedSequence):
    """Run one cell (in whichever process the backend chose); returns the raw values and seconds."""
    t0 = time.perf_counter()
    # A deep copy, so a cell that mutates its (nested) params cannot affect the next cell in serial runs,
    # just as it cannot in worker processes. One BLAS thread: see the module docstring.
    with blas_threads_pinned():
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


def open_session(backend: str, n_tasks: int, workers: int, scheduler, connect_timeout: float):
    """What a backend needs before any cell runs: a Dask client (and local cluster), else None.

    Opened before progress is shown, so that an unreachable scheduler fails within ``connect_timeout``
    seconds with one line.

    Raises
    ------
    SpecError
        If the Dask scheduler at ``scheduler`` does not answer within ``connect_timeout`` seconds.
    MissingExtraError
        If ``backend="dask"`` and dask is not installed.
    """
    if backend != "dask" or n_tasks == 0:
        return None
    distributed = _distributed()
    if scheduler is None:
        with _worker_environment():
            cluster = distributed.LocalCluster(n_workers=min(workers, n_tasks), threads_per_worker=1,
                                               processes=True, dashboard_address=None, env=dict(WORKER_ENV))
        try:
            return distributed.Client(cluster), cluster
        except BaseException:
            cluster.close()
            raise
    try:
        return distributed.Client(scheduler, timeout=connect_timeout), None
    except (OSError, TimeoutError, ValueError) as exc:
        # distributed's default waits 30 s; its message is kept, on one line
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise SpecError(f"scheduler: expected a Dask scheduler answering at {scheduler} within "
                        f"{connect_timeout:g} s, found none ({reason})") from None


def close_session(session) -> None:
    """Close what :func:`open_session` opened (nothing for None)."""
    if session is None:
        return
    client, cluster = session
    client.close()
    if cluster is not None:
        cluster.close()


def _run_serial(tasks, on_done, workers, session):
    for i, task in enumerate(tasks):
        on_done(i, *_result(task, lambda: _execute(*task.submit_args())))


def _run_processes(tasks, on_done, workers, session):
    # spawn (not fork): safe with threads in the parent and identical on every platform. Workers are
    # spawned during the first submits, inside the worker environment (one BLAS thread).
    ctx = multiprocessing.get_context("spawn")
    pool = cf.ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=ctx)
    try:
        with _worker_environment():
            futures = {pool.submit(_execute, *t.submit_args()): i for i, t in enumerate(tasks)}
        for fut in cf.as_completed(futures):
            i = futures[fut]
            on_done(i, *_result(tasks[i], fut.result))
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _run_dask(tasks, on_done, workers, session):
    distributed = _distributed()
    client, _ = session
    futures = {client.submit(_execute, *t.submit_args(), pure=False): i for i, t in enumerate(tasks)}
    for fut in distributed.as_completed(list(futures)):
        i = futures[fut]
        on_done(i, *_result(tasks[i], fut.result))


BACKEND_RUNNERS = {"serial": _run_serial, "processes": _run_processes, "dask": _run_dask}
"""Backend name -> ``run(tasks, on_done, workers, session)`` (``session`` from :func:`open_session`)."""
