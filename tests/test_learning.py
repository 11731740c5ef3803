"""Log-loss BC (finite and parametric), regression BC, transition models and Algorithm 1.

Expected values are computed independently: per-candidate loops with the quantizer's own encode,
normal-CDF differences from scipy.stats, least squares solved separately, the expert's own rollout.
"""

import numpy as np
import pytest
import scipy.stats

from qbc_theory import learning as L
from qbc_theory.engine.learning import finite as L_finite, parametric as L_parametric, tokens as L_tokens
from qbc_theory import rollout
from qbc_theory.model.dynamics import LinearSystem
from qbc_theory.model.errors import AssumptionError, DimensionError, SolverError
from qbc_theory.model.experts import LinearExpert
from qbc_theory.model.quantizers import KMeansQuantizer, ResidualVQ, TrapLoopQuantizer, UniformBinning

K_TRUE = np.array([[-0.3, -0.5]])


def _gen(seed):
    return np.random.default_rng(np.random.SeedSequence(seed))


def _states(rng, n, dx=2, scale=1.0):
    return scale * rng.standard_normal((n, dx))


def _random_class(rng, q, J=40, sigma=0.0, link="linear", center=K_TRUE, spread=0.2):
    gains = center[None] + rng.uniform(-spread, spread, (J,) + center.shape)
    return L.LinearPolicyClass(gains, q, sigma, link)


# --- exact MLE over a finite class ----------------------------------------------------------------

@pytest.mark.parametrize("q", [
    UniformBinning(-2, 2, 32),                        # fast interval path
    UniformBinning(-2, 2, 32, decode="left"),         # fast interval path
    UniformBinning(-2, 2, 33, decode="edge"),         # general encode path
    UniformBinning([-2, -1], [2, 1], 8),              # two action coordinates
])
def test_vectorised_deterministic_scores_equal_per_candidate_loop(q):
    rng = _gen(1)
    du = q.dim
    center = np.vstack([K_TRUE, [[0.2, -0.1]]])[:du]
    x = _states(rng, 3000)
    t = q.encode(x @ center.T)
    cls = _random_class(rng, q, center=center)
    fast = cls.scores(x, t, chunk=257)
    ref = L.finite_scores_loop(cls, x, t)
    np.testing.assert_array_equal(fast, ref)
    assert np.any(fast < 0), "the random candidates should mismatch some tokens"


@pytest.mark.parametrize("q", [UniformBinning(-2, 2, 64), UniformBinning([-0.3, 1e3], [0.7, 1e3 + 3.3], 37, "left")])
def test_floor_thresholds_reproduce_the_quantizers_own_cell_index(q):
    tau = L_finite._floor_thresholds(q)
    rng = _gen(26)
    e = rng.integers(1, q.bins, 20_000)
    j = rng.integers(0, q.dim, e.size)
    # points within a few ulps of the thresholds and of the nominal edges, and random ones
    near = tau[j, e] + rng.integers(-3, 4, e.size) * np.spacing(tau[j, e])
    nominal = q.low[j] + e * q.width[j]
    u = np.concatenate([near, nominal, rng.uniform(q.low[j], q.high[j])])
    jj = np.concatenate([j, j, j])
    ee = np.concatenate([e, e, e])
    s = np.floor((u - q.low[jj]) / q.width[jj])
    np.testing.assert_array_equal(u >= tau[jj, ee], s >= ee)


@pytest.mark.parametrize("make", ["kmeans", "rvq"])
def test_vectorised_scores_equal_loop_for_learned_quantizers(make):
    rng = _gen(2)
    x = _states(rng, 2000)
    u = x @ K_TRUE.T
    q = (KMeansQuantizer(12, seed=3) if make == "kmeans" else ResidualVQ(2, 4, seed=3)).fit(u)
    t = q.encode(u)
    cls = _random_class(rng, q, J=25)
    np.testing.assert_array_equal(cls.scores(x, t, chunk=100), L.finite_scores_loop(cls, x, t))


def test_trap_quantizer_with_arctan_link_scores_equal_loop_and_truth_is_consistent():
    rng = _gen(3)
    q = TrapLoopQuantizer(0.2, 0.25, 1.0, 0.05, d=0.6)
    x = rng.standard_normal((4000, 1))
    t = q.encode(np.arctan(x))
    gains = np.linspace(0.8, 1.2, 41).reshape(-1, 1, 1)
    cls = L.LinearPolicyClass(gains, q, 0.0, "arctan")
    fast = cls.scores(x, t)
    np.testing.assert_array_equal(fast, L.finite_scores_loop(cls, x, t))
    assert fast[20] == 0.0  # gain 1 is the expert itself
    assert np.all(np.delete(fast, 20) < 0)


def test_gaussian_scores_equal_loop_and_independent_cdf_formula():
    rng = _gen(4)
    q = UniformBinning(-2, 2, 16)
    x = _states(rng, 1500)
    t = q.encode(x @ K_TRUE.T + 0.3 * rng.standard_normal((1500, 1)))
    gains = K_TRUE[None] + rng.uniform(-0.2, 0.2, (10, 1, 2))
    sig = rng.uniform(0.1, 0.6, 10)
    cls = L.LinearPolicyClass(gains, q, sig)
    fast = cls.scores(x, t, chunk=97)
    np.testing.assert_allclose(fast, L.finite_scores_loop(cls, x, t), rtol=1e-10, atol=0)
    # independent: plain normal CDF differences of the cell edges
    w = 4 / 16
    lo = np.where(t > 0, -2 + t * w, -np.inf)
    hi = np.where(t < 15, -2 + (t + 1) * w, np.inf)
    naive = np.array([np.log(scipy.stats.norm.cdf(hi, x @ g[0], s) - scipy.stats.norm.cdf(lo, x @ g[0], s)).sum()
                      for g, s in zip(gains, sig)])
    np.testing.assert_allclose(fast, naive, rtol=1e-8, atol=0)


def test_gaussian_token_probabilities_sum_to_one_and_tails_are_finite():
    q = UniformBinning([-1, -2], [1, 2], 5)
    tokens = np.arange(q.n_tokens)
    for mean in ([0.1, -0.3], [40.0, -60.0]):
        lp = L.quantized_gaussian_logpmf(np.tile(mean, (q.n_tokens, 1)), 0.25, tokens, q)
        assert np.all(lp <= 0)
        np.testing.assert_allclose(np.exp(lp).sum(), 1.0, rtol=0, atol=1e-12)
    # deep upper tail, checked against scipy's log survival function
    a, b = 30.0, 31.0
    q1 = UniformBinning(-40.0, 40.0, 80)
    t = q1.encode(np.array([[30.5]]))
    lp = L.quantized_gaussian_logpmf(np.zeros((1, 1)), 1.0, t, q1)
    expected = scipy.stats.norm.logsf(a) + np.log1p(-np.exp(scipy.stats.norm.logsf(b) - scipy.stats.norm.logsf(a)))
    np.testing.assert_allclose(lp, expected, rtol=1e-10, atol=0)


@pytest.mark.parametrize("make", ["kmeans", "rvq"])
def test_scalar_codebook_cells_give_the_integrated_gaussian_probabilities(make):
    rng = _gen(21)
    u = 0.5 * rng.standard_normal((3000, 1))
    q = (KMeansQuantizer(8, seed=1) if make == "kmeans" else ResidualVQ(2, 6, seed=5)).fit(u)
    tokens = np.arange(q.n_tokens)
    lp = L.quantized_gaussian_logpmf(np.full((q.n_tokens, 1), 0.3), 0.4, tokens, q)
    np.testing.assert_allclose(np.exp(lp).sum(), 1.0, rtol=0, atol=1e-12)
    # independent: a midpoint Riemann sum of the density over a fine grid, binned by encode
    step = 12 / 2_000_000
    grid = -6 + step * (np.arange(2_000_000) + 0.5)
    mass = np.bincount(q.encode(grid[:, None]), weights=scipy.stats.norm.pdf(grid, 0.3, 0.4) * step,
                       minlength=q.n_tokens)
    np.testing.assert_allclose(np.exp(lp), mass, rtol=0, atol=2e-5)
    # tokens of probability 0 are exactly those the codebook never produces on the grid
    np.testing.assert_array_equal(np.isneginf(lp), mass == 0)
    if make == "rvq":
        assert np.isneginf(lp).any()


def test_gaussian_class_and_parametric_mle_through_a_scalar_kmeans_codebook():
    rng = _gen(22)
    x = _states(rng, 6000)
    u = x @ K_TRUE.T + 0.2 * rng.standard_normal((6000, 1))
    q = KMeansQuantizer(10, seed=2).fit(u)
    t = q.encode(u)
    cls = _random_class(rng, q, J=12, sigma=0.2)
    np.testing.assert_allclose(cls.scores(x, t, chunk=333), L.finite_scores_loop(cls, x, t), rtol=1e-10, atol=0)
    fit = L.fit_gaussian_mle(x, t, q)
    assert fit.converged
    assert np.all(np.abs(fit.K - K_TRUE) <= 4 * fit.K_se)
    assert abs(fit.noise_std - 0.2) <= 4 * fit.noise_std_se


def test_stable_cdf_difference_matches_log_space_formula_everywhere():
    rng = _gen(5)
    a = rng.normal(0, 15, 200_000)
    b = a + np.exp(rng.uniform(-25, 3, a.size))
    ref = L_tokens._log_ndtr_diff_tail(a, b)
    out = L_tokens._log_ndtr_diff(a, b)
    assert np.all(np.isfinite(ref))
    np.testing.assert_allclose(out, ref, rtol=1e-9, atol=1e-12)


def test_tie_breaking_is_lowest_index_and_deterministic():
    rng = _gen(6)
    q = UniformBinning(-2, 2, 16)
    x = _states(rng, 500)
    t = q.encode(x @ K_TRUE.T)
    other = K_TRUE + 0.4
    # the true gain appears twice (indices 1 and 3): both have the best score, index 1 wins
    cls = L.LinearPolicyClass(np.stack([other, K_TRUE, other - 0.8, K_TRUE]), q)
    fit = L.fit_finite(cls, x, t)
    assert (fit.index, fit.n_maximisers) == (1, 2)
    assert fit.log_likelihood == 0.0
    # states at the origin: every candidate predicts the same token, all tie, index 0 is chosen
    zero = np.zeros((50, 2))
    fit0 = L.fit_finite(cls, zero, q.encode(zero @ K_TRUE.T))
    assert (fit0.index, fit0.n_maximisers) == (0, 4)
    # Gaussian duplicates tie exactly as well
    gcls = L.LinearPolicyClass(np.stack([other, K_TRUE, K_TRUE]), q, [0.2, 0.2, 0.2])
    tg = q.encode(x @ K_TRUE.T + 0.2 * rng.standard_normal((500, 1)))
    gfit = L.fit_finite(gcls, x, tg)
    assert (gfit.index, gfit.n_maximisers) == (1, 2)
    np.testing.assert_array_equal(gfit.scores, L.fit_finite(gcls, x, tg).scores)


def test_gain_grid_contains_center_at_documented_index():
    center = np.array([[0.3, -0.7], [1.0, 2.0]])
    gains, c = L.gain_grid(center, [[0.1, 0.2], [0.05, 0.5]], 2)
    assert gains.shape == (625, 2, 2)
    np.testing.assert_array_equal(gains[c], center)
    assert len({g.tobytes() for g in gains}) == 625
    with pytest.raises(DimensionError, match="radius"):
        L.gain_grid(center, 0.1, 5, max_candidates=1000)


def test_deterministic_mle_consistent_set_shrinks_to_the_truth():
    q = UniformBinning(-2, 2, 64)
    gains, c = L.gain_grid(K_TRUE, 0.005, 3)
    cls = L.LinearPolicyClass(gains, q)
    rng = _gen(7)
    x_all = _states(rng, 20_000)
    t_all = q.encode(x_all @ K_TRUE.T)
    counts = []
    for n in (3, 10, 30, 1000, 20_000):
        fit = L.fit_finite(cls, x_all[:n], t_all[:n])
        assert fit.scores[c] == 0.0  # realizable: the expert reproduces every token
        assert fit.scores[fit.index] == 0.0
        counts.append(fit.n_maximisers)
    assert counts == sorted(counts, reverse=True)
    assert counts[0] > 1 and counts[-1] == 1
    assert L.fit_finite(cls, x_all, t_all).index == c


def test_gaussian_finite_mle_selects_the_true_candidate_with_enough_data():
    q = UniformBinning(-3, 3, 24)
    gains, c = L.gain_grid(K_TRUE, 0.1, 1)
    cls = L.LinearPolicyClass.product(gains, [0.15, 0.3, 0.6], q)
    rng = _gen(8)
    x = _states(rng, 20_000)
    t = q.encode(x @ K_TRUE.T + 0.3 * rng.standard_normal((x.shape[0], 1)))
    fit = L.fit_finite(cls, x, t)
    assert fit.index == 3 * c + 1
    assert fit.policy.noise_std == 0.3
    # control: on data from another candidate, that candidate wins instead
    t2 = q.encode(x @ gains[0].T + 0.15 * rng.standard_normal((x.shape[0], 1)))
    assert L.fit_finite(cls, x, t2).index == 0


# --- parametric MLE -------------------------------------------------------------------------------

def test_parametric_gradient_matches_finite_differences():
    rng = _gen(9)
    q = UniformBinning(-1.5, 1.5, 6)
    x = _states(rng, 400, scale=1.5)
    t = q.encode(x @ K_TRUE.T + 0.2 * rng.standard_normal((400, 1)))
    lo, hi = L_tokens._cells(q).boxes(t)
    theta = np.array([-0.25, -0.45, np.log(0.3)])
    _, grad = L_parametric._gaussian_objective(theta, x, lo, hi, 1)

    def ll(th):
        return L_parametric._gaussian_objective(th, x, lo, hi, 1)[0]

    for i in range(3):
        e = np.zeros(3)
        e[i] = 1e-6
        np.testing.assert_allclose(grad[i], (ll(theta + e) - ll(theta - e)) / 2e-6, rtol=1e-6, atol=1e-6)


def test_parametric_mle_is_consistent_and_regression_on_tokens_is_not():
    """Coarse bins (width 0.5 > sigma = 0.2): the exact-likelihood MLE is within 4 standard errors
    of the truth at every n and its error shrinks like 1/sqrt(n); least squares on the decoded
    actions (the control) is biased by many standard errors."""
    q = UniformBinning(-1.5, 1.5, 6)
    sigma = 0.2
    mean_err, mean_se = [], []
    for n in (500, 8000):
        errs, ses = [], []
        for seed in range(4):
            rng = _gen([seed, n])
            x = _states(rng, n, scale=1.5)
            t = q.encode(x @ K_TRUE.T + sigma * rng.standard_normal((n, 1)))
            fit = L.fit_gaussian_mle(x, t, q)
            assert fit.converged
            assert np.all(np.abs(fit.K - K_TRUE) <= 4 * fit.K_se)
            assert abs(fit.noise_std - sigma) <= 4 * fit.noise_std_se
            errs.append(np.linalg.norm(fit.K - K_TRUE))
            ses.append(fit.K_se.max())
            reg = L.fit_regression(x, q.decode(t))
            assert np.max(np.abs(reg.K - K_TRUE) / fit.K_se) > 4
        mean_err.append(np.mean(errs))
        mean_se.append(np.mean(ses))
    # n grows 16x: the standard error must shrink by 4 (+-25%), the error by at least 2
    np.testing.assert_allclose(mean_se[0] / mean_se[1], 4.0, rtol=0.25)
    assert mean_err[1] < mean_err[0] / 2


def test_parametric_mle_refuses_unsupported_quantizers_and_unknown_options():
    x = np.ones((10, 2))
    q = KMeansQuantizer(3, codebook=[[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]])
    with pytest.raises(AssumptionError, match="action dimension 2"):
        L.fit_gaussian_mle(x, np.zeros(10, dtype=int), q)
    with pytest.raises(AssumptionError, match="trap"):
        L.fit_gaussian_mle(x, np.zeros(10, dtype=int), TrapLoopQuantizer(0.2, 0.25, 1.0, 0.05, d=0.6))
    with pytest.raises(TypeError, match="bogus"):
        L.fit_gaussian_mle(x, np.zeros(10, dtype=int), UniformBinning(-1, 1, 4), bogus=1)


def test_deterministic_parametric_mle_brackets_the_truth_and_its_extent_shrinks_like_1_over_n():
    q = UniformBinning(-2, 2, 64)
    rng = _gen(23)
    x = _states(rng, 10_000)
    t = q.encode(x @ K_TRUE.T)
    widths = []
    ns = (100, 1000, 10_000)
    for n in ns:
        fit = L.fit_deterministic_mle(x[:n], t[:n], q, extent=True)
        assert fit.mismatches == 0 and fit.margin > 0 and fit.log_likelihood == 0.0
        assert np.all((fit.extent[..., 0] <= K_TRUE) & (K_TRUE <= fit.extent[..., 1]))
        assert np.all((fit.extent[..., 0] <= fit.K) & (fit.K <= fit.extent[..., 1]))
        widths.append(np.exp(np.mean(np.log(fit.extent[..., 1] - fit.extent[..., 0]))))
    slope = np.polyfit(np.log(ns), np.log(widths), 1)[0]
    assert -1.3 <= slope <= -0.7, slope


def test_deterministic_parametric_extent_agrees_with_the_finite_grid():
    """Two implementations of the same consistent set: every lattice gain reproducing all tokens lies
    inside the LP's extent, and lattice gains outside the extent mismatch."""
    q = UniformBinning(-2, 2, 32)
    rng = _gen(24)
    x = _states(rng, 40)
    t = q.encode(x @ K_TRUE.T)
    gains, _ = L.gain_grid(K_TRUE, 0.0005, 8)
    scores = L.LinearPolicyClass(gains, q).scores(x, t)
    ext = L.fit_deterministic_mle(x, t, q, extent=True).extent
    inside = np.all((gains >= ext[..., 0]) & (gains <= ext[..., 1]), axis=(1, 2))
    consistent = scores == 0
    assert consistent.sum() > 1 and (~consistent).sum() > 1
    assert np.all(inside[consistent])
    assert not np.any(consistent[~inside])


def test_deterministic_parametric_mle_refuses_unrealizable_data():
    q = UniformBinning(-2, 2, 32)
    rng = _gen(25)
    x = _states(rng, 500)
    t = q.encode(x[:, :1] ** 2 - 1.0)  # a nonlinear expert: no linear gain reproduces it
    with pytest.raises(SolverError, match="realizable"):
        L.fit_deterministic_mle(x, t, q)


# --- regression BC --------------------------------------------------------------------------------

def test_regression_recovers_a_deterministic_gain_and_smoothing_has_the_stated_law():
    rng = _gen(10)
    K = np.array([[0.4, -0.2, 0.1], [0.0, 0.3, -0.5]])
    x = _states(rng, 300, dx=3)
    pol = L.fit_regression(x, x @ K.T)
    np.testing.assert_allclose(pol.K, K, rtol=0, atol=1e-12)
    assert pol.deterministic and pol.tvc_modulus(0.1) is None
    s = 0.5
    sm = L.RegressionPolicy(K, smoothing=s)
    x0 = np.tile([[1.0, -1.0, 2.0]], (200_000, 1))
    u = sm.act(x0, rng.standard_normal((x0.shape[0], 2)))
    # K (x + xi), xi ~ N(0, s^2 I): mean K x, covariance s^2 K K^T
    np.testing.assert_allclose(u.mean(0), x0[0] @ K.T, rtol=0, atol=5 * s * 0.6 / np.sqrt(x0.shape[0]) * 4)
    np.testing.assert_allclose(np.cov(u.T), s**2 * K @ K.T, rtol=0, atol=0.01)
    np.testing.assert_allclose(sm.tvc_modulus([0.2, 5.0]), [0.2, 1.0], rtol=1e-15, atol=0)


# --- transition models and Algorithm 1 ------------------------------------------------------------

def test_least_squares_model_recovers_a_linear_gaussian_system():
    rng = _gen(11)
    A = np.array([[0.8, 0.1], [-0.2, 0.6]])
    B = np.array([[0.0], [1.0]])
    cov = np.array([[0.04, 0.01], [0.01, 0.02]])
    x = _states(rng, 50_000)
    u = rng.standard_normal((50_000, 1))
    y = x @ A.T + u @ B.T + rng.standard_normal((50_000, 2)) @ np.linalg.cholesky(cov).T
    fit = L.fit_model_gaussian(x, u, y)
    np.testing.assert_allclose(fit.model.A, A, rtol=0, atol=0.01)
    np.testing.assert_allclose(fit.model.B, B, rtol=0, atol=0.01)
    np.testing.assert_allclose(fit.model.cov, cov, rtol=0.05, atol=0)
    assert fit.log_likelihood is not None


def test_finite_model_scores_equal_a_loop_and_select_the_realizable_model():
    rng = _gen(12)
    A = np.array([[0.8, 0.1], [-0.2, 0.6]])
    B = np.array([[0.0], [1.0]])
    As = A[None] + np.stack([np.zeros((2, 2)), 0.05 * np.eye(2), -0.05 * np.eye(2)])
    Bs = B[None] + np.array([[[0.0], [0.1]], [[0.0], [0.0]], [[0.1], [0.0]]])
    cov = np.diag([0.01, 0.02])
    mc = L.LinearModelClass.product(As, Bs, cov)
    x = _states(rng, 3000)
    u = rng.standard_normal((3000, 1))
    y = x @ A.T + u @ B.T + rng.standard_normal((3000, 2)) * np.sqrt([0.01, 0.02])
    scores = mc.scores(x, u, y, chunk=111)
    ref = np.array([scipy.stats.multivariate_normal(np.zeros(2), cov).logpdf(y - x @ mc.A[m].T - u @ mc.B[m].T).sum()
                    for m in range(mc.size)])
    np.testing.assert_allclose(scores, ref, rtol=1e-10, atol=0)
    assert L.fit_model_finite(mc, x, u, y).index == 1  # (A, B) is candidate 0 * 3 + 1


def _deterministic_problem():
    system = LinearSystem([[0.9, 0.2], [0.0, 0.7]], [[0.0], [1.0]], noise_std=0.0, x0_std=1.0)
    expert = LinearExpert([[-0.1, -0.3]])
    q = UniformBinning(-2, 2, 32)
    return system, expert, q


def test_algorithm1_with_realizable_classes_plans_the_experts_quantized_actions():
    system, expert, q = _deterministic_problem()
    H = 20
    data = rollout.collect(system, expert, q, 100, H, _gen(13))
    gains, c = L.gain_grid(expert.K, 0.05, 2)
    pclass = L.LinearPolicyClass(gains, q)
    closed = system.A + system.B @ expert.K
    # model grid contains T o rho = (A + B K, 0) for a deterministic expert
    As = closed[None] + np.stack([np.zeros((2, 2)), 0.02 * np.eye(2)])
    Bs = np.stack([np.zeros((2, 1)), system.B])
    mclass = L.LinearModelClass.product(As, Bs, np.zeros((2, 2)))
    fit = L.fit_algorithm1(data.states, data.tokens, data.next_states, policy_class=pclass, model_class=mclass)
    assert fit.policy_fit.index == c and fit.model_fit.index == 0
    nz = rollout.draw_noise(system, H, 64, 1, _gen(14))
    xi = _gen(15).standard_normal((H, 64, 2))
    plan = fit.learner.plan(nz.x0, nz.z, xi)
    traj = rollout.rollout(system, expert, lambda x, u: np.zeros(x.shape[0]), H, nz.x0, nz.w, nz.z)
    np.testing.assert_allclose(plan, q(traj.actions), rtol=0, atol=1e-12)
    # the least-squares model class also realizes it: same plan
    fit_ls = L.fit_algorithm1(data.states, data.tokens, data.next_states, policy_class=pclass)
    np.testing.assert_allclose(fit_ls.model_fit.model.A, closed, rtol=0, atol=1e-9)
    np.testing.assert_allclose(fit_ls.model_fit.model.B, 0.0, rtol=0, atol=1e-9)
    assert fit_ls.model_fit.model.deterministic
    np.testing.assert_allclose(fit_ls.learner.plan(nz.x0, nz.z, xi), plan, rtol=0, atol=1e-9)
    # control: a wrong model (the open-loop A, B) plans different actions
    wrong = L.Algorithm1Learner(fit.learner.policy, L.LinearGaussianModel(system.A, system.B, np.zeros((2, 2))))
    assert np.max(np.abs(wrong.plan(nz.x0, nz.z, xi) - plan)) > 0.1


# --- input checking and reproducibility -----------------------------------------------------------

def test_bad_inputs_raise_with_messages():
    q = UniformBinning(-1, 1, 4)
    with pytest.raises(DimensionError, match="mix"):
        L.LinearPolicyClass(np.zeros((2, 1, 2)), q, [0.0, 0.1])
    with pytest.raises(AssumptionError, match="UniformBinning"):
        L.LinearPolicyClass(np.zeros((2, 2, 2)), KMeansQuantizer(2, codebook=[[0.0, 0.0], [1.0, 1.0]]), 0.1)
    with pytest.raises(DimensionError, match="gains"):
        L.LinearPolicyClass(np.zeros((2, 3, 2)), q)
    cls = L.LinearPolicyClass(np.zeros((2, 1, 2)), q)
    with pytest.raises(DimensionError, match="tokens"):
        cls.scores(np.zeros((5, 2)), np.zeros(4, dtype=int))
    with pytest.raises(DimensionError, match="integer"):
        cls.scores(np.zeros((5, 2)), np.zeros(5))
    with pytest.raises(DimensionError, match="range"):
        cls.scores(np.zeros((5, 2)), np.full(5, 4))
    with pytest.raises(TypeError, match="chunks"):
        L.fit_finite(cls, np.zeros((5, 2)), np.zeros(5, dtype=int), chunks=3)
    with pytest.raises(DimensionError, match="link"):
        L.QuantizedLinearPolicy([[1.0, 0.0]], q, link="tanh")


def test_fits_are_bit_identical_on_the_same_seed():
    def run(seed):
        rng = _gen(seed)
        q = UniformBinning(-2, 2, 12)
        x = _states(rng, 2000)
        t = q.encode(x @ K_TRUE.T + 0.25 * rng.standard_normal((2000, 1)))
        p = L.fit_gaussian_mle(x, t, q)
        f = L.fit_finite(_random_class(rng, q, sigma=0.25), x, t)
        return np.concatenate([p.K.ravel(), [p.noise_std], f.scores])
    a, b, c = run(16), run(16), run(17)
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()
