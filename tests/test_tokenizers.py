"""The action tokenizers of qbc_theory.model.tokenizers against hand-computed encodings.

Each published rule is checked on inputs whose tokens were worked out by hand (in the comments),
including OpenVLA's clipping, FAST's zero-chunk fallback and BEAST's clipped control points, and each
error guarantee by its defining property ``||q(u) - u|| <= eps_bound`` on many in-range inputs, with
an out-of-range input that breaks it.
"""

import math

import numpy as np
import pytest
import scipy.fft

from qbc_theory.model.errors import DimensionError, QbcError, SpecError
from qbc_theory.model.quantizers import TrapLoopQuantizer
from qbc_theory.model.tokenizers import (TOKENIZERS, BEASTTokenizer, FASTTokenizer, FSQTokenizer, OpenVLATokenizer,
                                         VQBeTTokenizer, bspline_basis, fsq_bound, fsq_codes, make_tokenizer)


def chunks(values, l=1):
    """(M, l, du) from a list of per-chunk lists."""
    return np.asarray(values, dtype=float).reshape(-1, l, np.asarray(values).shape[-1])


# --- OpenVLA ----------------------------------------------------------------------------------------

def test_openvla_hand_encodings_and_clipping():
    tok = OpenVLATokenizer().with_stats([0.0], [2.0])
    # u = 1 -> n = 2*1/(2 + 1e-8) - 1 ~ -5e-9; edges e_i = -1 + 2i/255, e_127 = -1/255 < n < e_128 = 1/255
    # -> digitize 128 -> token 127 -> centre 0 -> u = 1
    # u = 5 -> n clipped to 1 -> digitize 256 -> token 255 -> last centre 1 - 1/255 -> u = 2 - 1/255
    # u = -3 -> n clipped to -1 -> digitize 1 -> token 0 -> centre -1 + 1/255 -> u = 1/255
    u = chunks([[1.0], [5.0], [-3.0]])
    t = tok.encode(u)
    assert t[:, 0].tolist() == [127, 255, 0]
    dec = tok.decode(t)[:, 0, 0]
    np.testing.assert_allclose(dec, [1.0, 2.0 - 1.0 / 255, 1.0 / 255], rtol=0, atol=1e-12)
    assert tok.in_range(u)[:, 0].tolist() == [True, False, False]
    # the clipped action loses its tail: error 3 - 1/255, far above the in-range bound 1/255
    assert abs(dec[1] - 5.0) > 100 * tok.eps_bound


def test_openvla_unnormalized_dimension_is_only_clipped():
    tok = OpenVLATokenizer(unnormalized=(1,)).with_stats([0.0, -7.0], [2.0, 7.0])
    # dimension 1 (a gripper) is left as it is: 0.5 -> digitize(0.5) = floor(1.5 * 127.5) + 1 = 192 -> token 191,
    # centre -1 + 191.5 * 2/255 = 0.50196..., not unnormalized with (-7, 7)
    t = tok.encode(chunks([[1.0, 0.5]]))
    assert t.tolist() == [[127, 191]]
    np.testing.assert_allclose(tok.decode(t)[0, 0, 1], -1 + 191.5 * 2 / 255, rtol=0, atol=1e-12)


def test_openvla_fit_takes_the_1st_and_99th_percentiles():
    tok = OpenVLATokenizer().fit(chunks(np.linspace(0, 100, 101)[:, None]))
    np.testing.assert_allclose([tok.low[0], tok.high[0]], [1.0, 99.0], rtol=0, atol=1e-12)


def test_openvla_in_range_error_within_bound(rng):
    tok = OpenVLATokenizer().with_stats([-1.0, 0.0, 3.0], [1.0, 10.0, 3.5])
    u = chunks(rng.uniform([-1, 0, 3], [1, 10, 3.5], size=(20000, 3)))
    err = np.linalg.norm(tok(u) - u, axis=-1)
    assert tok.in_range(u).all()
    assert err.max() <= tok.eps_bound
    # the bound is nearly attained (it is a sup, not a loose estimate)
    assert err.max() > 0.5 * tok.eps_bound


# --- FAST -------------------------------------------------------------------------------------------

def test_fast_hand_encoding():
    tok = FASTTokenizer(chunk=2, scale=10).with_stats([-1.0], [1.0], -20, 20)
    # u = (0.5, 0.5) -> n = 2 * 1.5/(2 + 1e-8) - 1 ~ 0.5 -> orthonormal DCT-II of a constant (a, a) is (a sqrt 2, 0)
    # -> 10 * 0.7071 = 7.07 -> tokens (7, 0); decode: idct((0.7, 0)) = 0.7/sqrt 2 each -> u = 0.49497...
    u = chunks([[0.5], [0.5]], l=2)
    t = tok.encode(u)
    assert t.tolist() == [[7, 0]]
    np.testing.assert_allclose(tok.decode(t)[0, :, 0], [0.7 / math.sqrt(2)] * 2, rtol=0, atol=1e-7)


def test_fast_flattens_low_frequency_first():
    tok = FASTTokenizer(chunk=2, scale=10).with_stats([-1.0, -1.0], [1.0, 1.0], -50, 50)
    u = chunks([[0.5, -0.25], [0.5, 0.25]], l=2)
    n = 2 * (u[0] + 1) / (2 + 1e-8) - 1
    coef = np.rint(10 * scipy.fft.dct(n, type=2, norm="ortho", axis=0))
    # row-major flattening of (time-frequency, dim): (f0 d0, f0 d1, f1 d0, f1 d1)
    assert tok.encode(u)[0].tolist() == [coef[0, 0], coef[0, 1], coef[1, 0], coef[1, 1]]


def test_fast_zero_chunk_fallback():
    tok = FASTTokenizer(chunk=2, scale=10).with_stats([-1.0], [3.0], -20, 20)
    mid = 1.0  # (p1 + p99) / 2: the action of the all-zero normalized chunk
    # one token too many, and a coefficient outside the fitted alphabet [-20, 20]: both undecodable
    assert tok.fallback(np.array([[7, 0, 1]])).tolist() == [True]
    assert tok.fallback(np.array([[21, 0], [20, 0], [7, -21]])).tolist() == [True, False, True]
    np.testing.assert_allclose(tok.decode(np.array([[7, 0, 1]])), [[[mid], [mid]]], rtol=0, atol=0)
    dec = tok.decode(np.array([[21, 0], [20, 0]]))
    np.testing.assert_allclose(dec[0, :, 0], [mid, mid], rtol=0, atol=0)
    assert not np.allclose(dec[1], mid)
    # a chunk whose coefficients leave the alphabet is encoded, then decodes to the zero chunk: a jump
    u = chunks([[3.0], [3.0]], l=2)  # n = 1 -> 10 sqrt 2 = 14.1 -> 14, inside; 9.0 -> n = 5 -> 71 > 20
    assert tok.in_range(u).all()
    far = chunks([[9.0], [9.0]], l=2)
    assert not tok.in_range(far).any()
    np.testing.assert_allclose(tok(far)[0, :, 0], [mid, mid], rtol=0, atol=0)


def test_fast_error_within_bound_for_decodable_chunks(rng):
    u = np.cumsum(rng.normal(size=(3000, 8, 2)) * 0.1, axis=1)
    tok = FASTTokenizer(chunk=8, scale=10).fit(u)
    err = np.linalg.norm(tok(u) - u, axis=-1)
    ok = tok.in_range(u)
    assert ok.all()  # fitted on these chunks: every coefficient is in the alphabet
    assert err.max() <= tok.eps_bound


# --- BEAST ------------------------------------------------------------------------------------------

def test_bspline_basis_is_clamped_partition_of_unity():
    phi = bspline_basis(10, 5, 3)
    assert phi.shape == (10, 5)
    np.testing.assert_allclose(phi.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(phi[0], [1, 0, 0, 0, 0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(phi[-1], [0, 0, 0, 0, 1], rtol=0, atol=1e-12)
    assert np.all(phi >= 0)


def test_beast_hand_encoding_and_clipping():
    # degree 1 with 2 control points on 2 samples: the basis is the identity, the control points the actions
    tok = BEASTTokenizer(chunk=2, degree=1, n_ctrl=2, levels=256).with_stats([-1.0], [1.0])
    np.testing.assert_allclose(tok.basis, np.eye(2), rtol=0, atol=1e-12)
    # 0.3 -> (1.3/2) * 255 = 165.75 -> 166 -> 2 * 166/255 - 1 = 0.30196; -0.5 -> 63.75 -> 64 -> -0.49804
    u = chunks([[0.3], [-0.5]], l=2)
    t = tok.encode(u)
    assert t.tolist() == [[166, 64]]
    np.testing.assert_allclose(tok.decode(t)[0, :, 0], [2 * 166 / 255 - 1, 2 * 64 / 255 - 1], rtol=0, atol=1e-12)
    assert tok.in_range(u).all()
    # a control point beyond the percentiles is clipped to the top level; 0 -> n = 2/(2 + 1e-8) - 1 = -5e-9
    # -> 127.4999... -> 127 (the published 1e-8 decides this tie)
    v = chunks([[2.0], [0.0]], l=2)
    assert tok.encode(v).tolist() == [[255, 127]]
    assert not tok.in_range(v).any()
    np.testing.assert_allclose(tok(v)[0, 0, 0], 1.0, rtol=0, atol=1e-12)


def test_beast_reproduces_a_spline_of_its_own_basis(rng):
    tok = BEASTTokenizer(chunk=10, degree=3, n_ctrl=5, levels=256)
    ctrl = rng.uniform(-1, 1, size=(500, 5, 2))
    u = np.einsum("ln,mnd->mld", tok.basis, ctrl)
    tok = tok.fit(u)
    # the fit error is zero; what is left is the rounding of control points, at most half a level per
    # control point, so per coordinate at most (p99 - p1)/(2 * 255) (partition of unity)
    err = np.abs(tok(u) - u)[tok.in_range(u)]
    assert err.max() <= (tok.high - tok.low).max() / (2 * 255) + 1e-12


# --- VQ-BeT -----------------------------------------------------------------------------------------

def test_vqbet_hand_encoding():
    tok = VQBeTTokenizer(chunk=1, stages=2, codes=2).with_codebooks([[[0.0], [10.0]], [[-1.0], [1.0]]])
    # 11.2: stage 1 nearest 10 (code 1), residual 1.2 -> stage 2 nearest 1 (code 1): 11
    # -0.7: stage 1 nearest 0 (code 0), residual -0.7 -> nearest -1 (code 0): -1
    u = chunks([[11.2], [-0.7]])
    t = tok.encode(u)
    assert t.tolist() == [[1, 1], [0, 0]]
    np.testing.assert_allclose(tok.decode(t)[:, 0, 0], [11.0, -1.0], rtol=0, atol=0)


def test_vqbet_offset_head_recovers_a_linear_expert(rng):
    x = rng.normal(size=(4000, 3))
    K = np.array([[0.5, -0.2, 0.1], [0.0, 0.3, -0.4]])
    u = (x @ K.T)[:, None, :]
    plain = VQBeTTokenizer(chunk=1, stages=2, codes=4, offset=0).fit(u, x)
    off = VQBeTTokenizer(chunk=1, stages=2, codes=4, offset=1).fit(u, x)
    e_plain = np.linalg.norm(plain.decode(plain.encode(u), x) - u, axis=-1).mean()
    e_off = np.linalg.norm(off.decode(off.encode(u), x) - u, axis=-1).mean()
    assert e_plain > 0.05
    assert e_off < 1e-9 * e_plain
    with pytest.raises(DimensionError, match="states"):
        off.decode(off.encode(u))


# --- FSQ --------------------------------------------------------------------------------------------

def test_fsq_bound_and_codes_by_hand():
    # L = 8: h = 3.4965, o/h = 0.1430001, s = tan(o/h) = 0.1439829, tanh(s) = 0.1429961,
    # f(0) = h tanh(s) - 0.5 = -1.40e-5; L = 5: s = 0, f(0) = 0
    np.testing.assert_allclose(fsq_bound([0.0, 0.0], [8, 5]), [-1.40e-5, 0.0], rtol=0, atol=1e-7)
    # L = 8: h = 7 * 0.999/2 = 3.4965, f in (-3.9965, 2.9965): codes -4..3, tokens 0..7
    assert fsq_codes([0.0, 10.0, -10.0], [8, 8, 8]).tolist() == [4, 7, 0]
    # L = 5: h = 1.998; f(0.6) = 1.998 tanh(0.6) = 1.073 -> 1 -> token 3; f(0.2) = 0.395 -> 0 -> token 2
    assert fsq_codes([0.6, 0.2, -0.6], [5, 5, 5]).tolist() == [3, 2, 1]


@pytest.mark.parametrize("L", [2, 3, 4, 5, 8, 9])
def test_fsq_takes_exactly_L_values(L):
    codes = fsq_codes(np.linspace(-50, 50, 20001), [L] * 20001)
    assert sorted(set(codes.tolist())) == list(range(L))


def test_fsq_tokenizer_shapes_and_ranges(rng):
    u = rng.normal(size=(2000, 5, 2))
    tok = FSQTokenizer(chunk=5, levels=(8, 5, 5, 5)).fit(u)
    t = tok.encode(u)
    assert t.shape == (2000, 4)
    assert np.all(t >= 0) and np.all(t < np.array([8, 5, 5, 5]))
    assert tok.decode(t).shape == u.shape
    # the decoder is a least-squares fit: it does better than predicting the mean chunk
    assert np.mean((tok(u) - u) ** 2) < np.mean((u - u.mean(axis=0)) ** 2)


# --- the quantizers of quantizers.py by name ----------------------------------------------------------

def test_binning_by_name_hand_encoding():
    tok = make_tokenizer("binning", {"bins": 4, "low": 0, "high": 4}).fit(chunks([[0.0], [4.0]]))
    # cells of width 1: 2.5 -> cell 2, centre 2.5; 9 -> clipped into cell 3, centre 3.5
    u = chunks([[2.5], [9.0]])
    assert tok.encode(u).tolist() == [[2], [3]]
    np.testing.assert_allclose(tok(u)[:, 0, 0], [2.5, 3.5], rtol=0, atol=0)
    assert tok.in_range(u)[:, 0].tolist() == [True, False]
    assert tok.eps_bound == 0.5


def test_dct_kmeans_rvq_trap_by_name(rng):
    dct = make_tokenizer("dct", {"scale": 10}).fit(chunks([[0.0]]))
    assert dct.encode(chunks([[0.26]])).tolist() == [[3]]  # 2.6 -> 3 -> 0.3
    np.testing.assert_allclose(dct(chunks([[0.26]]))[0, 0, 0], 0.3, rtol=0, atol=1e-12)
    two = np.concatenate([rng.normal(-5, 0.1, 200), rng.normal(5, 0.1, 200)])[:, None]
    km = make_tokenizer("kmeans", {"codes": 2}).fit(chunks(two))
    t = km.encode(chunks([[-5.0], [5.0]]))[:, 0]
    assert t[0] != t[1]
    rvq = make_tokenizer("rvq", {"stages": 2, "codes": 2}).fit(chunks(two))
    assert rvq.encode(chunks(two)).shape == (400, 1)
    u = np.arctan(rng.normal(size=(300, 1)))
    trap = make_tokenizer("trap").fit(chunks(u))
    ref = TrapLoopQuantizer(0.2, 0.25, 1.0, 0.01, 0.6)
    np.testing.assert_allclose(trap(chunks(u))[:, 0, :], ref(u), rtol=0, atol=0)


def test_every_registered_tokenizer_round_trips(rng):
    x = rng.normal(size=(600, 2))
    u = np.tanh(x) * 0.3 + 0.01 * rng.normal(size=(600, 2))
    for name in TOKENIZERS:
        if name == "trap":
            continue
        tok = make_tokenizer(name)
        l = tok.chunk
        U = u[: (600 // l) * l].reshape(-1, l, 2)
        X = x[: (600 // l) * l: l]
        fitted = tok.fit(U, X)
        dec = fitted.decode(fitted.encode(U), X)
        assert dec.shape == U.shape, name
        assert np.all(np.isfinite(dec)), name
        assert fitted.in_range(U).shape == U.shape[:2], name


@pytest.mark.parametrize("name, params, key", [
    ("openvla", {"bins": 0}, "bins"),
    ("openvla", {"bnis": 3}, "bnis"),
    ("fast", {"scale": -1}, "scale"),
    ("fast", {"chunk": [1, 2]}, "chunk"),
    ("beast", {"n_ctrl": 2, "degree": 3}, "n_ctrl"),
    ("vqbet", {"offset": 2}, "offset"),
    ("fsq", {"levels": [8, 1]}, "levels"),
    ("openvla", {"low_pct": 99, "high_pct": 1}, "high_pct"),
])
def test_bad_parameters_name_the_key(name, params, key):
    with pytest.raises(QbcError, match=key):
        make_tokenizer(name, params)


def test_unknown_tokenizer_is_a_spec_error():
    with pytest.raises(SpecError, match="tokenizer"):
        make_tokenizer("openvIa")
