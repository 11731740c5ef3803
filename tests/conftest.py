"""Shared test configuration: a headless matplotlib backend and a guard on global state."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
INSTANCES = REPO / "experiments" / "instances"


@pytest.fixture
def rng():
    """A fixed-seed generator (tests that need several draw from one)."""
    return np.random.default_rng(np.random.SeedSequence(20260326))


@pytest.fixture(autouse=True)
def _numpy_print_options_unchanged():
    before = np.get_printoptions()
    yield
    assert np.get_printoptions() == before, "a test changed numpy's global print options"
