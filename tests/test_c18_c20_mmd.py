"""MMD estimators, variance, witness and permutation test (C12 RKHS ball, C18, C19, C20).

Oracles: the closed form of E k(X, Y) for a Gaussian kernel under Gaussian X, Y (derived
below), exact expectations by enumerating every sample of a two-point distribution, and
brute-force Gram matrices (scipy ``cdist``).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

import divergences as dv
from divergences import kernels as K
from test_mmd_numerics import legal_blas  # noqa: F401  (fixture: a worst-case but correct BLAS)


# --------------------------------------------------------------------------------------------
# oracles
# --------------------------------------------------------------------------------------------
def gauss_mean_kernel(delta: np.ndarray, S: np.ndarray, sigma: float) -> float:
    """E exp(-||Z||^2 / (2 sigma^2)) for Z ~ N(delta, S):
    det(I + S/sigma^2)^(-1/2) exp(-1/2 delta^T (S + sigma^2 I)^(-1) delta)."""
    d = len(delta)
    A = S + sigma ** 2 * np.eye(d)
    return float(np.linalg.det(np.eye(d) + S / sigma ** 2) ** -0.5 * np.exp(-0.5 * delta @ np.linalg.solve(A, delta)))


def gauss_mmd2(m1, S1, m2, S2, sigma):
    """Population MMD^2 between N(m1, S1) and N(m2, S2), Gaussian kernel of bandwidth sigma (C18)."""
    z = np.zeros(len(m1))
    return (gauss_mean_kernel(z, 2 * S1, sigma) + gauss_mean_kernel(z, 2 * S2, sigma)
            - 2 * gauss_mean_kernel(m1 - m2, S1 + S2, sigma))


def brute_mmd2(x, y, sigma, estimator):
    Kxx = np.exp(-cdist(x, x, "sqeuclidean") / (2 * sigma ** 2))
    Kyy = np.exp(-cdist(y, y, "sqeuclidean") / (2 * sigma ** 2))
    Kxy = np.exp(-cdist(x, y, "sqeuclidean") / (2 * sigma ** 2))
    n, m = len(x), len(y)
    if estimator == "biased":
        return Kxx.mean() + Kyy.mean() - 2 * Kxy.mean()
    return ((Kxx.sum() - np.trace(Kxx)) / (n * (n - 1)) + (Kyy.sum() - np.trace(Kyy)) / (m * (m - 1))
            - 2 * Kxy.mean())


M1, S1 = np.array([0.0, 0.0]), np.array([[1.0, 0.3], [0.3, 0.8]])
M2, S2 = np.array([0.6, -0.2]), np.array([[0.7, 0.0], [0.0, 1.2]])
SIGMA = 1.0


def _draws(rng, R, n, m):
    L1, L2 = np.linalg.cholesky(S1), np.linalg.cholesky(S2)
    for _ in range(R):
        yield (M1 + rng.standard_normal((n, 2)) @ L1.T, M2 + rng.standard_normal((m, 2)) @ L2.T)


def _within_clt(values, truth, z=4.0):
    v = np.asarray(values)
    se = v.std(ddof=1) / np.sqrt(len(v))
    assert abs(v.mean() - truth) <= z * se, f"mean {v.mean():.6g} vs truth {truth:.6g}, SE {se:.3g}"


# --------------------------------------------------------------------------------------------
# C18/C19: estimators against the closed form
# --------------------------------------------------------------------------------------------
def test_c18_closed_form_oracle_matches_monte_carlo_expectation(rng):
    """The oracle itself: E k(X, Y) by plain Monte Carlo over 200 000 pairs, 4 SE."""
    L1, L2 = np.linalg.cholesky(S1), np.linalg.cholesky(S2)
    X = M1 + rng.standard_normal((200_000, 2)) @ L1.T
    Y = M2 + rng.standard_normal((200_000, 2)) @ L2.T
    kv = np.exp(-((X - Y) ** 2).sum(1) / (2 * SIGMA ** 2))
    _within_clt_single(kv, gauss_mean_kernel(M1 - M2, S1 + S2, SIGMA))


def test_c18_closed_form_oracle_agrees_with_dv_gaussian_mmd2():
    """Two independent implementations of the Gaussian-kernel closed form (this file, dv.gaussian)."""
    for sigma in (0.5, 1.0, 3.0):
        assert gauss_mmd2(M1, S1, M2, S2, sigma) == pytest.approx(dv.gaussian.mmd2(M1, S1, M2, S2, sigma),
                                                                  rel=1e-12)


def _within_clt_single(samples, truth):
    se = samples.std(ddof=1) / np.sqrt(len(samples))
    assert abs(samples.mean() - truth) <= 4 * se


def test_c19_unbiased_and_linear_estimators_are_unbiased_gaussian_closed_form(rng):
    """Average over 400 independent draws (n=20, m=30) within 4 SE of the closed-form MMD^2;
    the biased V-statistic's mean is MMD^2 + (1 - E k(X,X'))/n + (1 - E k(Y,Y'))/m."""
    truth = gauss_mmd2(M1, S1, M2, S2, SIGMA)
    n, m = 20, 30
    u, lin, b = [], [], []
    for x, y in _draws(rng, 400, n, m):
        u.append(dv.mmd2(x, y, bandwidth=SIGMA))
        lin.append(dv.mmd2(x, y, bandwidth=SIGMA, estimator="linear"))
        b.append(dv.mmd2(x, y, bandwidth=SIGMA, estimator="biased"))
    _within_clt(u, truth)
    _within_clt(lin, truth)
    z = np.zeros(2)
    bias = (1 - gauss_mean_kernel(z, 2 * S1, SIGMA)) / n + (1 - gauss_mean_kernel(z, 2 * S2, SIGMA)) / m
    _within_clt(b, truth + bias)
    # the bias is large compared with the standard error here, so "biased" is detectably biased
    assert abs(np.mean(b) - truth) > 4 * np.std(b, ddof=1) / np.sqrt(len(b))


def test_c19_large_sample_estimate_within_estimated_standard_error(rng):
    """One draw n = m = 1500: |MMD^2_u - truth| <= 4 sqrt(Var estimate) (mmd2_variance)."""
    (x, y), = _draws(rng, 1, 1500, 1500)
    est = dv.mmd2(x, y, bandwidth=SIGMA)
    se = np.sqrt(dv.mmd2_variance(x, y, bandwidth=SIGMA))
    assert abs(est - gauss_mmd2(M1, S1, M2, S2, SIGMA)) <= 4 * se


# --------------------------------------------------------------------------------------------
# exact expectations by enumeration (two-point distributions): unbiasedness with zero MC error
# --------------------------------------------------------------------------------------------
PX = (np.array([[0.0], [1.0]]), np.array([0.3, 0.7]))
PY = (np.array([[0.4], [2.0]]), np.array([0.6, 0.4]))


def _enumerate(n, m):
    (ax, px), (ay, py) = PX, PY
    for ix in itertools.product(range(2), repeat=n):
        for iy in itertools.product(range(2), repeat=m):
            w = np.prod(px[list(ix)]) * np.prod(py[list(iy)])
            yield w, ax[list(ix)], ay[list(iy)]


def _population_mmd2(kernel, **kp):
    (ax, px), (ay, py) = PX, PY
    k = K.get(kernel, **kp)
    return px @ k.gram(ax, ax) @ px + py @ k.gram(ay, ay) @ py - 2 * px @ k.gram(ax, ay) @ py


@pytest.mark.parametrize("blas", ["native", "legal_blas"])
@pytest.mark.parametrize("kernel,kp", [("gaussian", {"bandwidth": 0.8}), ("distance", {}), ("polynomial", {})])
def test_c19_exact_expectations_by_enumeration(kernel, kp, blas, request):
    """E[unbiased] = E[linear] = MMD^2 exactly; E[biased] = MMD^2 + (E k(X,X) - E k(X,X'))/n + (same for Y)/m;
    E[mmd2_variance] = Var[unbiased] exactly (n = 4, m = 5: all 512 samples weighted).

    ``legal_blas`` replays the run with a matrix product whose rounding error is as large as any
    correct BLAS may make (see test_mmd_numerics.py): on an Intel MKL kernel the distance kernel's
    energy distance 0.5 once came out 0.49999999939 (sqrt of the Gram-expansion residue at coincident
    points); the estimator is now exact there by construction (kernels.scaled_sq_dists)."""
    if blas == "legal_blas":
        request.getfixturevalue("legal_blas")
    n, m = 4, 5
    truth = _population_mmd2(kernel, **kp)
    e_u = e_u2 = e_lin = e_b = e_var = 0.0
    for w, x, y in _enumerate(n, m):
        u = dv.mmd2(x, y, kernel, **kp)
        e_u += w * u
        e_u2 += w * u * u
        e_lin += w * dv.mmd2(x, y, kernel, estimator="linear", **kp)
        e_b += w * dv.mmd2(x, y, kernel, estimator="biased", **kp)
        e_var += w * dv.mmd2_variance(x, y, kernel, **kp)
    k = K.get(kernel, **kp)
    (ax, px), (ay, py) = PX, PY
    bias = ((px @ k.diag(ax) - px @ k.gram(ax, ax) @ px) / n + (py @ k.diag(ay) - py @ k.gram(ay, ay) @ py) / m)
    # Floating-point bound (u = 2^-53): the data are 1-d with |centred coordinates| <= 2 and distinct
    # points >= 0.4 apart, so a squared distance (>= 0.16) from the expansion has relative error
    # <= 2 gamma_4 8 / 0.16 ~ 400 u (coincident pairs are exact), a kernel entry (|k| <= 4) <= ~410 u;
    # an estimate (coefficients of total weight 4, <= 20 summed entries) <= 4 * 410 u + 80 u < 2^11 u;
    # the weights of the expectation sum to 1.  Tolerance 2^12 u ~ 4.5e-13 (times max(1, |truth|)).
    scale = max(1.0, abs(truth))
    tol = 2 ** 12 * 2.0 ** -53 * scale
    assert e_u == pytest.approx(truth, abs=tol)
    assert e_lin == pytest.approx(truth, abs=tol)
    assert e_b == pytest.approx(truth + bias, abs=tol)
    var_exact = e_u2 - e_u ** 2
    assert var_exact > 0
    assert e_var == pytest.approx(var_exact, rel=1e-9)


def test_c19_biased_exceeds_unbiased_for_bounded_kernel_and_identity(rng):
    """For a kernel with k(x,x) = 1 >= k(x,x'): biased - unbiased = (1 - U_xx)/n + (1 - U_yy)/m >= 0;
    the biased (V-statistic) estimate is ||mu_x - mu_y||_H^2 >= 0."""
    for x, y in _draws(rng, 20, 12, 9):
        b = dv.mmd2(x, y, estimator="biased")
        u = dv.mmd2(x, y)
        Kxx, Kyy = K.Gaussian().gram(x, x), K.Gaussian().gram(y, y)
        uxx = (Kxx.sum() - 12) / (12 * 11)
        uyy = (Kyy.sum() - 9) / (9 * 8)
        assert b - u == pytest.approx((1 - uxx) / 12 + (1 - uyy) / 9, abs=1e-13)
        assert b >= u
        assert b >= 0
        assert dv.mmd(x, y) == pytest.approx(np.sqrt(b), rel=1e-12)


# --------------------------------------------------------------------------------------------
# implementation: blocks, numpy/torch, dtype, gradients
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("estimator", ["biased", "unbiased"])
def test_blockwise_equals_full_and_brute_force(estimator, rng):
    x = rng.normal(size=(37, 3))
    y = rng.normal(size=(23, 3)) + 0.4
    ref = brute_mmd2(x, y, 1.5, estimator)
    # Floating-point bound (u = 2^-53, d = 3): a tile's squared distance from the Gram expansion has
    # error <= (2 gamma_{2d+2} + u) 8 R^2 (kernels.expansion_error_coef; each tile is centred on a
    # mean of some rows, so centred norms are <= the pooled diameter 2R), the Gaussian's slope in d^2
    # is <= 1/(2 sigma^2), exp adds 2u; MMD^2 weighs entries by 4 in total; sums add <= 64 u.
    z = np.vstack([x, y])
    R2 = float(((z - z.mean(0)) ** 2).sum(1).max())
    tol = 4 * ((2 * 8 * 2.0 ** -53 / (1 - 8 * 2.0 ** -53) + 2.0 ** -53) * 8 * R2 / (2 * 1.5 ** 2)
               + 2 * 2.0 ** -53) + 64 * 2.0 ** -53
    for bs in (1, 5, 16, 23, 64, None):
        assert dv.mmd2(x, y, bandwidth=1.5, estimator=estimator, block_size=bs) == pytest.approx(ref, abs=tol)


@pytest.mark.parametrize("kernel", sorted(K.NAMES))
def test_every_kernel_blockwise_equals_single_block(kernel, rng):
    x, y = rng.normal(size=(19, 2)), rng.normal(size=(11, 2)) + 0.3
    for est in ("biased", "unbiased"):
        full = dv.mmd2(x, y, kernel, estimator=est, block_size=1000)
        assert dv.mmd2(x, y, kernel, estimator=est, block_size=4) == pytest.approx(full, abs=1e-12)
    v_full = dv.mmd2_variance(x, y, kernel, block_size=1000)
    assert dv.mmd2_variance(x, y, kernel, block_size=3) == pytest.approx(v_full, abs=1e-12)


def test_numpy_torch_parity_dtype_and_device(rng):
    x, y = rng.normal(size=(30, 4)), rng.normal(size=(25, 4))
    ref = dv.mmd2(x, y, "mix_rq")
    assert isinstance(ref, float)
    t64 = dv.mmd2(torch.from_numpy(x), torch.from_numpy(y), "mix_rq")
    assert isinstance(t64, torch.Tensor) and t64.dtype == torch.float64 and t64.ndim == 0
    assert float(t64) == pytest.approx(ref, abs=1e-14)
    t32 = dv.mmd2(torch.from_numpy(x).float(), torch.from_numpy(y).float(), "mix_rq")
    assert t32.dtype == torch.float32 and t32.device == torch.device("cpu")
    # float32 Gram entries carry ~1e-7 relative error; the sums are accumulated in float64
    assert float(t32) == pytest.approx(ref, abs=1e-5)


def test_gradients_match_finite_differences_blocked_and_deep_kernel(rng):
    x = torch.tensor(rng.normal(size=(6, 2)), requires_grad=True)
    y = torch.tensor(rng.normal(size=(5, 2)) + 0.5, requires_grad=True)
    for bs in (None, 2):  # 2: several tiles, gradients through activation checkpointing
        for est in ("unbiased", "biased", "linear"):
            assert torch.autograd.gradcheck(lambda a, b: dv.mmd2(a, b, "mix_rq_1dot", estimator=est, block_size=bs),
                                            (x, y))
    W = torch.tensor(rng.normal(size=(2, 3)), requires_grad=True)
    k = K.get("gaussian", feature_map=lambda t: torch.tanh(t @ W))
    assert torch.autograd.gradcheck(lambda w: dv.mmd2(x.detach(), y.detach(), K.get(
        "gaussian", feature_map=lambda t: torch.tanh(t @ w)), block_size=3), (W,))
    v = dv.mmd2(x, y, k)
    v.backward()
    assert W.grad is not None and torch.isfinite(W.grad).all()


def test_distance_kernel_mmd_gradient_finite_with_duplicates():
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([[1.0, 0.0], [2.0, 1.0]], dtype=torch.float64)
    v = dv.mmd2(x, y, "distance", block_size=1)
    (g,) = torch.autograd.grad(v, x)
    assert torch.isfinite(g).all()


def test_energy_distance_identity(rng):
    """Distance kernel: biased MMD^2 = 2 mean||x-y|| - mean||x-x'|| - mean||y-y'|| (energy distance)."""
    x, y = rng.normal(size=(15, 3)), rng.normal(size=(12, 3)) + 1.0
    e = 2 * cdist(x, y).mean() - cdist(x, x).mean() - cdist(y, y).mean()
    assert dv.mmd2(x, y, "distance", estimator="biased") == pytest.approx(e, rel=1e-12)
    # far from the origin (centring keeps the digits)
    assert dv.mmd2(x + 1e6, y + 1e6, "distance", estimator="biased") == pytest.approx(e, rel=1e-8)


def test_linear_kernel_biased_mmd_is_squared_mean_difference(rng):
    x, y = rng.normal(size=(40, 3)), rng.normal(size=(33, 3)) + 0.2
    assert dv.mmd2(x, y, "linear", estimator="biased") == pytest.approx(
        float(np.sum((x.mean(0) - y.mean(0)) ** 2)), rel=1e-12)


# --------------------------------------------------------------------------------------------
# C18 / C12: the witness and the RKHS unit ball
# --------------------------------------------------------------------------------------------
def test_c18_c12_witness_attains_sup_over_rkhs_unit_ball(rng):
    """For the empirical measures, f* = mean_j k(., x_j) - mean_j k(., y_j) has ||f*||_H^2 =
    MMD_b^2 and E_P f* - E_Q f* = MMD_b^2, so f*/||f*|| attains MMD_b; by Cauchy-Schwarz every
    other unit-norm RKHS function f = sum_l beta_l k(., w_l) gives a smaller mean difference."""
    x, y = rng.normal(size=(25, 2)), rng.normal(size=(20, 2)) * 1.3 + 0.5
    k = K.Gaussian(1.0)
    mmd_b = dv.mmd(x, y)
    f_x = dv.mmd_witness(x, x, y)
    f_y = dv.mmd_witness(y, x, y)
    assert f_x.mean() - f_y.mean() == pytest.approx(mmd_b ** 2, rel=1e-12)
    # witness formula at arbitrary points
    t = rng.normal(size=(7, 2))
    np.testing.assert_allclose(dv.mmd_witness(t, x, y), k.gram(t, x).mean(1) - k.gram(t, y).mean(1), rtol=1e-12)
    # random unit-norm RKHS functions centred anywhere never beat the witness
    best = -np.inf
    for _ in range(300):
        w = rng.normal(size=(6, 2)) * 2
        beta = rng.normal(size=6)
        norm = np.sqrt(beta @ k.gram(w, w) @ beta)
        diff = (k.gram(x, w) @ beta).mean() - (k.gram(y, w) @ beta).mean()
        best = max(best, diff / norm)
    assert best <= mmd_b * (1 + 1e-12)
    assert best > 0


def test_c18_c23_witness_twice_differentiable_in_t(rng):
    x, y = torch.tensor(rng.normal(size=(8, 2))), torch.tensor(rng.normal(size=(6, 2)) + 1)
    t = torch.tensor(rng.normal(size=(4, 2)), requires_grad=True)
    f = lambda s: dv.mmd_witness(s, x, y, "mix_gaussian", sigmas=(0.5, 1.0), block_size=2)  # noqa: E731
    assert torch.autograd.gradcheck(f, (t,))
    # second derivatives too: the witness gradient penalty (C23) differentiates ||grad_t f||
    assert torch.autograd.gradgradcheck(f, (t,))


# --------------------------------------------------------------------------------------------
# C20: MMD as a generator loss needs no discriminator
# --------------------------------------------------------------------------------------------
def test_c20_gradient_descent_on_mmd_moves_samples_without_discriminator(rng):
    """GMMN-style: move generated points y by gradient descent on the biased MMD^2 (mixture of
    Gaussians, sigmas 0.5, 1, 2).  With step 1/L, L = (6/m) sum 1/sigma^2 a Gershgorin bound on
    the Hessian in y, the descent lemma makes every step decrease MMD^2."""
    sig = (0.5, 1.0, 2.0)
    x = torch.tensor(rng.normal(size=(40, 2)))
    y = torch.tensor(rng.normal(size=(40, 2)) + 3.0, requires_grad=True)
    L = 6 / 40 * sum(1 / s ** 2 for s in sig)
    d0 = float(torch.norm(x.mean(0) - y.detach().mean(0)))
    vals = []
    for _ in range(60):
        v = dv.mmd2(x, y, "mix_gaussian", estimator="biased", sigmas=sig)
        vals.append(float(v.detach()))
        (g,) = torch.autograd.grad(v, y)
        with torch.no_grad():
            y -= g / L
    assert all(b < a for a, b in zip(vals, vals[1:]))
    assert float(torch.norm(x.mean(0) - y.detach().mean(0))) < d0


# --------------------------------------------------------------------------------------------
# permutation test
# --------------------------------------------------------------------------------------------
def test_permutation_test_calibration_and_power(rng):
    """Under H0 (same distribution) the permutation p-value satisfies P(p <= alpha) = alpha
    exactly for alpha (B+1) integer (B = 99, alpha = 0.05): the rejection rate over 600 tests
    is within 4 binomial SD of 0.05.  Under a mean shift of 1 (n = m = 25, d = 2) the test
    rejects more often than alpha + 4 SD."""
    R, alpha = 600, 0.05
    sd = np.sqrt(alpha * (1 - alpha) / R)
    rej0 = rej1 = 0
    for r in range(R):
        x, y = rng.normal(size=(25, 2)), rng.normal(size=(25, 2))
        rej0 += dv.mmd_test(x, y, n_permutations=99, seed=r).p_value <= alpha
        if r < 150:
            rej1 += dv.mmd_test(x, y + np.array([1.0, 0.0]), n_permutations=99, seed=r).p_value <= alpha
    assert abs(rej0 / R - alpha) <= 4 * sd
    assert rej1 / 150 > alpha + 4 * np.sqrt(alpha * (1 - alpha) / 150)


def test_permutation_test_statistic_pvalue_and_seed(rng):
    x, y = rng.normal(size=(30, 3)), rng.normal(size=(20, 3)) + 0.3
    res = dv.mmd_test(x, y, bandwidth=1.2, n_permutations=200, seed=7)
    assert res.statistic == pytest.approx(dv.mmd2(x, y, bandwidth=1.2), abs=1e-13)
    assert res.null.shape == (200,)
    assert res.p_value == pytest.approx((1 + np.sum(res.null >= res.statistic)) / 201)
    again = dv.mmd_test(x, y, bandwidth=1.2, n_permutations=200, seed=7, block_size=7)
    assert again.p_value == res.p_value
    np.testing.assert_allclose(again.null, res.null, atol=1e-13)
    # each null value is the estimator on a relabelled pooled sample
    z = np.vstack([x, y])
    gen = torch.Generator().manual_seed(7)
    perm = torch.rand(200, 50, dtype=torch.float64, generator=gen).argsort(dim=1)[0].numpy()
    in_x = np.zeros(50, bool)
    in_x[perm[:30]] = True
    assert res.null[0] == pytest.approx(dv.mmd2(z[in_x], z[~in_x], bandwidth=1.2), abs=1e-13)
    b = dv.mmd_test(x, y, bandwidth=1.2, n_permutations=50, seed=7, estimator="biased")
    assert b.statistic == pytest.approx(dv.mmd2(x, y, bandwidth=1.2, estimator="biased"), abs=1e-13)


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------
def test_validation_errors(rng):
    x, y = rng.normal(size=(5, 2)), rng.normal(size=(4, 2))
    with pytest.raises(ValueError, match="non-finite"):
        dv.mmd2(np.array([[np.inf, 0.0], [0.0, 0.0]]), y)
    with pytest.raises(ValueError, match="dimension mismatch"):
        dv.mmd2(x, rng.normal(size=(4, 3)))
    with pytest.raises(ValueError, match="empty"):
        dv.mmd2(np.zeros((0, 2)), y)
    with pytest.raises(ValueError, match="at least 2"):
        dv.mmd2(x[:1], y)
    with pytest.raises(ValueError, match="at least 2"):
        dv.mmd2(x, y[:1], estimator="linear")
    assert dv.mmd2(x[:1], y[:1], estimator="biased") >= 0
    with pytest.raises(ValueError, match="at least 4"):
        dv.mmd2_variance(x, y[:3])
    with pytest.raises(ValueError, match="estimator"):
        dv.mmd2(x, y, estimator="quadratic")
    with pytest.raises(ValueError, match="block_size"):
        dv.mmd2(x, y, block_size=0)
    with pytest.raises(ValueError, match="n_permutations"):
        dv.mmd_test(x, y, n_permutations=0)
    with pytest.raises(ValueError, match="seed"):
        dv.mmd_test(x, y, seed=1.5)
    with pytest.raises(ValueError, match="estimator"):
        dv.mmd_test(x, y, estimator="linear")
    with pytest.raises(ValueError, match="t, x"):
        dv.mmd_witness(rng.normal(size=(3, 3)), x, y)
    with pytest.raises(ValueError, match="kernel"):
        dv.mmd2(x, y, kernel="laplace")


# --------------------------------------------------------------------------------------------
# the Gram-level entry dv.mmd2_from_gram (C18, C19)
# --------------------------------------------------------------------------------------------
def _fraction_mmd2(Kxx, Kyy, Kxy, estimator):
    """The estimators in exact rational arithmetic on integer Gram matrices (independent oracle)."""
    from fractions import Fraction as Fr

    n, m = len(Kxx), len(Kyy)
    if estimator == "linear":
        p = min(n, m) // 2
        h = [Fr(int(Kxx[2 * i, 2 * i + 1])) + int(Kyy[2 * i, 2 * i + 1]) - int(Kxy[2 * i, 2 * i + 1])
             - int(Kxy[2 * i + 1, 2 * i]) for i in range(p)]
        return sum(h) / p
    sxx = sum(Fr(int(Kxx[i, j])) for i in range(n) for j in range(n) if estimator == "biased" or i != j)
    syy = sum(Fr(int(Kyy[i, j])) for i in range(m) for j in range(m) if estimator == "biased" or i != j)
    sxy = sum(Fr(int(v)) for v in Kxy.ravel())
    if estimator == "biased":
        return sxx / n ** 2 + syy / m ** 2 - 2 * sxy / (n * m)
    return sxx / (n * (n - 1)) + syy / (m * (m - 1)) - 2 * sxy / (n * m)


@pytest.mark.parametrize("estimator", ["unbiased", "biased", "linear"])
def test_c19_mmd2_from_gram_exact_on_integer_grams(estimator, rng):
    """Integer Gram entries (|K| < 2^20, n, m <= 13): every float64 sum is exact, so only the final
    divisions and the two additions round: error <= 4 u (|A| + |B| + 2|C|) for the three terms."""
    a = rng.integers(-50, 50, size=(13, 3)).astype(float)
    b = rng.integers(-50, 50, size=(9, 3)).astype(float)
    Kxx, Kyy, Kxy = a @ a.T, b @ b.T, a @ b.T                 # linear-kernel Grams, exact integers
    got = dv.mmd2_from_gram(Kxx, Kyy, Kxy, estimator)
    want = _fraction_mmd2(Kxx, Kyy, Kxy, estimator)
    mag = float(abs(Kxx).sum() / 12 + abs(Kyy).sum() / 8 + 2 * abs(Kxy).sum() / (13 * 9))
    assert isinstance(got, float)
    assert abs(got - float(want)) <= 4 * 2.0 ** -53 * mag


def test_c19_mmd2_from_gram_equals_mmd2_on_a_brute_force_gram(rng):
    """Gaussian Grams from scipy cdist: mmd2_from_gram of them is the brute-force estimator (C19).
    Both sum the same entries in float64 (N terms in [0, 1]: error <= N u each, N = n^2, m^2, nm, the
    cross term doubled), so they agree to ``s = 2 (n^2 + m^2 + 2 nm) u``.  dv.mmd2 on the samples forms
    its own Gram entries: squared distances with relative error <= (d + 4) u (Higham eq. 3.5, plus
    centring and scaling; cdist's likewise), so the two ``exp(-r/2)`` differ by <= 2 ((d + 5) u r_max / 2 + u)
    per entry and the estimates by <= 4 times that, plus ``s``."""
    u = 2.0 ** -53
    x, y = rng.normal(size=(30, 2)), rng.normal(0.4, 1.0, size=(22, 2))
    n, m, d = 30, 22, 2
    s = 2 * (n * n + m * m + 2 * n * m) * u
    r_max = max(cdist(a, b, "sqeuclidean").max() for a, b in ((x, x), (y, y), (x, y)))
    for est in ("unbiased", "biased"):
        Kxx = np.exp(-cdist(x, x, "sqeuclidean") / 2)
        Kyy = np.exp(-cdist(y, y, "sqeuclidean") / 2)
        Kxy = np.exp(-cdist(x, y, "sqeuclidean") / 2)
        ref = brute_mmd2(x, y, 1.0, est)
        got = dv.mmd2_from_gram(Kxx, Kyy, Kxy, est)
        assert abs(got - ref) <= s
        gram_err = 4 * 2 * ((d + 5) * u * r_max / 2 + u)
        assert abs(dv.mmd2(x, y, "gaussian", bandwidth=1.0, estimator=est) - got) <= gram_err + 2 * s


def test_c19_mmd2_from_gram_dtypes_and_gradient():
    """Torch in -> 0-d tensor of the Gram dtype (half -> float32), differentiable: d/dKxx_ij is
    exactly 1/(n(n-1)) off the diagonal and 0 on it (unbiased), d/dKxy = -2/(nm)."""
    n, m = 4, 3
    Kxx = torch.rand(n, n, dtype=torch.float64, requires_grad=True)
    Kyy = torch.rand(m, m, dtype=torch.float64)
    Kxy = torch.rand(n, m, dtype=torch.float64, requires_grad=True)
    v = dv.mmd2_from_gram(Kxx, Kyy, Kxy)
    assert v.dtype == torch.float64 and v.ndim == 0
    gxx, gxy = torch.autograd.grad(v, (Kxx, Kxy))
    want = torch.full((n, n), 1.0 / (n * (n - 1)), dtype=torch.float64).fill_diagonal_(0.0)
    assert torch.equal(gxx, want)
    assert torch.equal(gxy, torch.full((n, m), -2.0 / (n * m), dtype=torch.float64))
    h = dv.mmd2_from_gram(Kxx.detach().half(), Kyy.half(), Kxy.detach().half(), "biased")
    assert h.dtype == torch.float32
    assert dv.mmd2_from_gram(Kxx.detach().float(), Kyy.float(), Kxy.detach().float()).dtype == torch.float32


@pytest.mark.parametrize("args,kw,match", [
    ((np.ones((3, 2)), np.ones((3, 3)), np.ones((3, 3))), {}, "Kxx"),
    ((np.ones((3, 3)), np.ones((2, 3)), np.ones((3, 2))), {}, "Kyy"),
    ((np.ones((3, 3)), np.ones((2, 2)), np.ones((3, 3))), {}, "Kxy"),
    ((np.ones(3), np.ones((2, 2)), np.ones((3, 2))), {}, "Kxx"),
    ((np.ones((1, 1)), np.ones((2, 2)), np.ones((1, 2))), {}, "Kxx"),
    ((np.ones((3, 3)), np.ones((1, 1)), np.ones((3, 1))), {"estimator": "linear"}, "Kyy"),
    ((np.full((2, 2), np.nan), np.ones((2, 2)), np.ones((2, 2))), {}, "Kxx"),
    ((np.ones((2, 2)), np.ones((2, 2)), np.full((2, 2), np.inf)), {}, "Kxy"),
    ((np.full((2, 2), 1e308), np.full((2, 2), 1e308), np.ones((2, 2))), {}, "overflow"),
    ((np.ones((2, 2)), np.ones((2, 2)), np.ones((2, 2))), {"estimator": "quadratic"}, "estimator"),
])
def test_mmd2_from_gram_bad_inputs_raise(args, kw, match):
    with pytest.raises(ValueError, match=match):
        dv.mmd2_from_gram(*args, **kw)
    # biased needs only one sample per set
    assert dv.mmd2_from_gram(np.ones((1, 1)), np.ones((1, 1)), np.ones((1, 1)), "biased") == 0.0
