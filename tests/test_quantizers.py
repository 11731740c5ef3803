"""Defining properties of the quantizers: error bounds, round trips, determinism, the trap loop."""

import math

import numpy as np
import pytest
import scipy.fft
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from qbc_theory import (
    AssumptionError,
    DCTBinning,
    DimensionError,
    KMeansQuantizer,
    ResidualVQ,
    SolverError,
    TrapLoopQuantizer,
    UniformBinning,
)

finite = st.floats(-50, 50, allow_nan=False, allow_infinity=False, allow_subnormal=False)


# --- UniformBinning ------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(
    low=st.floats(-5, 0, allow_subnormal=False),
    width=st.floats(0.1, 10, allow_subnormal=False),
    bins=st.integers(2, 300),
    decode=st.sampled_from(["center", "edge", "left"]),
    frac=arrays(float, (40, 3), elements=st.floats(0, 1, allow_subnormal=False)),
)
def test_binning_error_within_sup_bound_inside_range(low, width, bins, decode, frac):
    q = UniformBinning(low, low + width, bins, decode=decode, dim=3)
    u = low + frac * width
    err = np.linalg.norm(q(u) - u, axis=-1)
    assert np.all(err <= q.eps_sup * (1 + 1e-9) + 1e-12)
    per_coord = np.abs(q(u) - u)
    assert np.all(per_coord <= q.coordinate_error * (1 + 1e-9) + 1e-12)


def test_binning_sup_bound_is_attained_not_loose():
    q = UniformBinning(-1.0, 1.0, 10, decode="center", dim=2)
    # a cell corner is at distance exactly (w/2) sqrt(2) from the cell's centre
    corner = np.array([[-1.0, -1.0]])
    assert np.linalg.norm(q(corner) - corner) == pytest.approx(q.eps_sup, rel=1e-12)
    assert q.eps_sup == pytest.approx(0.1 * math.sqrt(2), rel=1e-12)


def test_binning_outside_range_is_clipped_and_flagged():
    q = UniformBinning(-1.0, 1.0, 8)
    u = np.array([[3.0], [0.2], [-7.0]])
    assert q.in_range(u).tolist() == [False, True, False]
    assert np.linalg.norm(q(u[:1]) - u[:1]) > q.eps_sup  # the sup bound does not hold outside
    assert q(u)[0, 0] == pytest.approx(1.0 - 0.125, abs=1e-12)  # clipped into the last cell


@pytest.mark.parametrize("decode", ["center", "edge", "left"])
def test_binning_round_trip(decode, rng):
    q = UniformBinning([-1.0, 0.0], [1.0, 3.0], 16, decode=decode)
    tokens = rng.integers(0, q.n_tokens, size=500)
    assert np.array_equal(q.encode(q.decode(tokens)), tokens)
    u = rng.uniform([-1, 0], [1, 3], size=(500, 2))
    assert np.allclose(q(q(u)), q(u), rtol=0, atol=1e-12)  # idempotent


def test_binning_edge_mode_includes_both_ends():
    q = UniformBinning(-2.0, 2.0, 5, decode="edge")
    assert np.allclose(q.representatives(), [[-2, -1, 0, 1, 2]], atol=1e-15)


@pytest.mark.parametrize(
    "kwargs, key",
    [
        (dict(low=0.0, high=1.0, bins=-3), "bins"),
        (dict(low=1.0, high=0.0, bins=4), "high"),
        (dict(low=0.0, high=1.0, bins=4, decode="middle"), "decode"),
        (dict(low=0.0, high=float("nan"), bins=4), "high"),
        (dict(low=0.0, high=1.0, bins=2.5), "bins"),
        (dict(low=0.0, high=1.0, bins=1, decode="edge"), "bins"),
    ],
)
def test_binning_bad_parameters(kwargs, key):
    with pytest.raises(DimensionError, match=f"^{key}: expected"):
        UniformBinning(**kwargs)


def test_binning_wrong_action_shape():
    q = UniformBinning(-1, 1, 4, dim=2)
    with pytest.raises(DimensionError, match=r"u: expected actions of shape \(\.\.\., 2\)"):
        q(np.zeros((5, 3)))
    with pytest.raises(DimensionError, match="tokens: expected tokens in"):
        q.decode(np.array([16]))


# --- learned codebooks ---------------------------------------------------------------------------

def test_kmeans_deterministic_under_seed_and_nearest_centre(rng):
    x = np.concatenate([rng.normal(-2, 0.3, (300, 2)), rng.normal(2, 0.3, (300, 2))])
    a = KMeansQuantizer(8, seed=3).fit(x)
    b = KMeansQuantizer(8, seed=3).fit(x)
    assert np.array_equal(a.codebook, b.codebook)
    c = KMeansQuantizer(8, seed=4).fit(x)
    assert not np.array_equal(a.codebook, c.codebook)  # the seed matters
    d = np.linalg.norm(x[:, None, :] - a.codebook[None], axis=-1)
    assert np.array_equal(a.encode(x), d.argmin(axis=1))
    assert a.eps_sup is None
    assert np.array_equal(a.encode(a.decode(np.arange(8))), np.arange(8))


def test_kmeans_lloyd_fixed_point(rng):
    """Each centre is the mean of the points assigned to it (the defining k-means property)."""
    x = rng.normal(size=(500, 2))
    q = KMeansQuantizer(6, seed=0).fit(x)
    lab = q.encode(x)
    for j in range(6):
        assert np.allclose(q.codebook[j], x[lab == j].mean(axis=0), atol=1e-12)


def test_kmeans_unfitted_and_too_few_points():
    with pytest.raises(SolverError, match="fit first"):
        KMeansQuantizer(4).encode(np.zeros((1, 1)))
    with pytest.raises(DimensionError, match="at least n_codes=4 points"):
        KMeansQuantizer(4).fit(np.zeros((3, 1)))


def test_residual_vq_improves_with_stages_and_round_trips(rng):
    x = rng.normal(size=(2000, 2))
    errs = []
    for stages in (1, 2, 3):
        q = ResidualVQ(stages, 8, seed=1).fit(x)
        errs.append(np.mean(np.linalg.norm(q(x) - x, axis=-1)))
        assert np.allclose(q(x), q.decode(q.encode(x)), atol=0)
    assert errs[0] > errs[1] > errs[2]
    single = ResidualVQ(1, 8, seed=1).fit(x)
    t = rng.integers(0, 8, 200)
    assert np.array_equal(single.encode(single.decode(t)), t)
    q1 = ResidualVQ(2, 8, seed=1).fit(x)
    assert np.array_equal(q1.codebooks, ResidualVQ(2, 8, seed=1).fit(x).codebooks)


# --- DCT -----------------------------------------------------------------------------------------

def test_dct_matrix_is_orthonormal():
    T = 7
    D = scipy.fft.dct(np.eye(T), type=2, norm="ortho", axis=0)
    assert np.allclose(D.T @ D, np.eye(T), atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    scale=st.floats(0.5, 200, allow_subnormal=False),
    T=st.integers(1, 10),
    D=st.integers(1, 3),
    data=st.data(),
)
def test_dct_chunk_error_bound(scale, T, D, data):
    u = data.draw(arrays(float, (5, T, D), elements=finite))
    q = DCTBinning(scale, chunk=T, dim=D)
    err = np.linalg.norm((q(u) - u).reshape(5, -1), axis=-1)
    assert np.all(err <= q.eps_sup * (1 + 1e-9) + 1e-9)
    assert q.eps_sup == pytest.approx(math.sqrt(T * D) / (2 * scale), rel=1e-15)


def test_dct_round_trip_and_shape_errors(rng):
    q = DCTBinning(10.0, chunk=4, dim=2)
    tok = rng.integers(-50, 50, size=(6, 4, 2))
    assert np.array_equal(q.encode(q.decode(tok)), tok)
    with pytest.raises(DimensionError, match=r"u: expected action chunks of shape \(\.\.\., 4, 2\)"):
        q(np.zeros((3, 2)))


# --- Theorem 6 trap quantizer ---------------------------------------------------------------------

VALID_DET = dict(A=0.2, B=0.25, k=1.0, d=0.6)


def _step(q, x):
    return q.A * x + q.B * q(np.arctan(x)[..., None])[..., 0]


@pytest.mark.parametrize("eps", [1e-2, 1e-3, 1e-5])
@pytest.mark.parametrize("params", [VALID_DET, dict(A=0.2, B=0.3, k=2.0, d=1.2)])
def test_trap_loop_deterministic(params, eps):
    q = TrapLoopQuantizer(eps=eps, **params)
    ip, t1, t2 = q.intervals
    xs = {name: np.linspace(lo, hi, 201) for name, (lo, hi) in zip(("P", "T1", "T2"), (ip, t1, t2))}
    # closed intervals are mapped with a margin of rounding only
    tol = 1e-12
    nxt = _step(q, xs["P"])
    assert np.all((nxt >= t1[0] - tol) & (nxt <= t1[1] + tol))
    nxt = _step(q, xs["T1"])
    assert np.all((nxt >= t2[0] - tol) & (nxt <= t2[1] + tol))
    nxt = _step(q, xs["T2"])
    assert np.all((nxt >= t1[0] - tol) & (nxt <= t1[1] + tol))
    # the action error on the cycle is at least A each step
    for name in ("T1", "T2"):
        u = np.arctan(xs[name])
        assert np.all(np.abs(q(u[:, None])[:, 0] - u) >= q.A)


def test_trap_loop_noisy_cycle():
    q = TrapLoopQuantizer(0.2, 0.25, 1.0, 1e-3, variant="noisy")
    ip, t1, t2 = q.intervals
    tol = 1e-12
    for (lo, hi), (nlo, nhi) in ((ip, t1), (t1, t2), (t2, ip)):
        nxt = _step(q, np.linspace(lo, hi, 201))
        assert np.all((nxt >= nlo - tol) & (nxt <= nhi + tol))


def test_trap_fallback_error_small_and_negative():
    q = TrapLoopQuantizer(eps=1e-2, **VALID_DET)
    u = np.arctan(np.linspace(-30, 30, 20001))
    reg = q.region(np.tan(u))
    delta = q(u[:, None])[:, 0] - u
    out = reg < 0
    assert np.all(np.abs(delta[out]) < q.eps)
    assert np.all(delta[out] < 0)


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(A=0.2, B=0.3, k=1.0, d=0.6), r"k/2 > B/\(1 - lambda\).*k/2=0\.5, B/\(1 - lambda\)=0\.6"),
        (dict(A=0.2, B=0.25, k=1.0, d=0.4), "d > k/2"),
        (dict(A=0.5, B=0.1, k=2.5, d=2.0), "A k < 1"),
        (dict(A=0.6, B=0.5, k=1.0, d=0.6), "lambda = A \\+ B < 1"),
        (dict(A=-0.1, B=0.2, k=1.0, d=0.6), "A > 0 and B > 0"),
    ],
)
def test_trap_refuses_invalid_parameters_naming_the_condition(params, message):
    with pytest.raises(AssumptionError, match=message):
        TrapLoopQuantizer(eps=1e-3, **params)


def test_trap_refuses_eps_too_large():
    with pytest.raises(AssumptionError, match="eps: the intervals"):
        TrapLoopQuantizer(eps=0.5, **VALID_DET)


def test_trap_round_trip(rng):
    q = TrapLoopQuantizer(eps=1e-2, **VALID_DET)
    u = np.arctan(rng.normal(size=(2000, 1)) * 3)
    t = q.encode(u)
    assert np.array_equal(q.decode(t), q(u))
    assert np.allclose(q.decode(np.arange(3)).ravel(), q.trap_actions, atol=0)
    assert set(np.unique(t[q.region(np.tan(u[:, 0])) >= 0])) <= {0, 1, 2}
