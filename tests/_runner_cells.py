"""Small deterministic cell functions registered for the runner tests (importable by spawned workers)."""

import os
import signal
import time

import numpy as np

from qbc_theory.verification.runner import cell_function


@cell_function("test.power_law")
def power_law(params, seeds, seed):
    """y = scale * n**slope * lognormal noise per seed; optionally sleeps and logs each call."""
    rng = np.random.default_rng(seed)
    n = float(params["n"])
    sigma = float(params["sigma"])
    y = params["scale"] * n ** params["slope"] * np.exp(sigma * rng.standard_normal(seeds) - sigma**2 / 2)
    time.sleep(params.get("sleep", 0.0))
    if "log" in params:
        # O_APPEND writes of one short line are atomic, so concurrent workers do not interleave.
        with open(params["log"], "a", encoding="utf-8") as fh:
            fh.write(f"{params['n']} {params.get('H', '-')}\n")
    return {"y": y, "bound": 2.0 * params["scale"] * n ** params["slope"]}


@cell_function("test.fails")
def fails(params, seeds, seed):
    """Raises at n == params["bad"], else returns the cell's first uniform draw."""
    if params["n"] == params["bad"]:
        raise ValueError("deliberate failure")
    return {"u": np.random.default_rng(seed).random(seeds)}


@cell_function("test.bad_output")
def bad_output(params, seeds, seed):
    """Returns one value too many."""
    return {"u": np.zeros(seeds + 1)}


@cell_function("test.mutates")
def mutates(params, seeds, seed):
    """Appends to a nested list of its params and reports its length (1 unless params leak between cells)."""
    params["acc"]["items"].append(params["n"])
    return {"length": len(params["acc"]["items"])}


@cell_function("test.dies")
def dies(params, seeds, seed):
    """Kills the process it runs in (a worker dying, as on an out-of-memory kill)."""
    os.kill(os.getpid(), signal.SIGKILL)
