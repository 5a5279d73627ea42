"""Gaussian closed forms: KL (C36), Bures-Wasserstein W2, Gaussian-kernel MMD^2, and the linear
push-forward X = T Z ~ N(0, T T^T) (C32).  Monte Carlo checks use |estimate - truth| <= 4 SE."""

from __future__ import annotations

import math

import numpy as np
import ot
import pytest
import scipy.linalg
import torch
from scipy import stats

import divergences as dv

g = dv.gaussian


def _spd(rng: np.random.Generator, d: int, jitter: float = 0.2) -> np.ndarray:
    a = rng.normal(size=(d, d))
    return a @ a.T + jitter * np.eye(d)


# ------------------------------------------------------------------------------------------ C32


def test_c32_linear_pushforward_of_standard_normal_has_covariance_TTt(rng):
    d, n = 3, 200_000
    sigma = _spd(rng, d)
    T = np.linalg.cholesky(sigma)
    mean, cov = g.pushforward(T, np.zeros(d), np.eye(d))
    assert np.allclose(mean, 0) and np.allclose(cov, T @ T.T, rtol=1e-14) and np.allclose(cov, sigma, rtol=1e-12)
    z = rng.normal(size=(n, d))
    x = z @ T.T
    emp = x.T @ x / n  # mean known (0): Var(x_i x_j) = S_ii S_jj + S_ij^2
    se = np.sqrt((np.outer(np.diag(sigma), np.diag(sigma)) + sigma ** 2) / n)
    assert np.all(np.abs(emp - sigma) <= 4 * se)
    assert np.all(np.abs(x.mean(0)) <= 4 * np.sqrt(np.diag(sigma) / n))
    # the package's sampler is the same push-forward (with a mean)
    m = np.array([1.0, -2.0, 0.5])
    xs = g.sample(m, sigma, n, seed=5)
    assert xs.shape == (n, d)
    c = xs - m
    assert np.all(np.abs(c.T @ c / n - sigma) <= 4 * se)
    assert np.all(np.abs(c.mean(0)) <= 4 * np.sqrt(np.diag(sigma) / n))
    # affine push-forward with b, and exactness of the law: zero divergence to N(0, sigma)
    A = rng.normal(size=(2, d))
    b = np.array([0.3, -0.1])
    mA, SA = g.pushforward(A, m, sigma, b)
    assert np.allclose(mA, A @ m + b) and np.allclose(SA, A @ sigma @ A.T)
    assert g.kl(mean, cov, np.zeros(d), sigma) == pytest.approx(0.0, abs=1e-12)
    assert g.w2(mean, cov, np.zeros(d), sigma) == pytest.approx(0.0, abs=1e-6)


def test_sample_is_seeded_and_keeps_torch_type():
    s = np.array([[2.0, 0.3], [0.3, 1.0]])
    a = g.sample([0.0, 0.0], s, 5, seed=3)
    b = g.sample([0.0, 0.0], s, 5, seed=3)
    assert np.array_equal(a, b) and not np.array_equal(a, g.sample([0.0, 0.0], s, 5, seed=4))
    t = g.sample(torch.zeros(2, dtype=torch.float32), torch.tensor(s, dtype=torch.float32), 4,
                 seed=torch.Generator().manual_seed(0))
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float32 and t.shape == (4, 2)


# ------------------------------------------------------------------------------------------ KL, C36


def test_c36_vae_prior_kl_term(rng):
    mu = rng.normal(size=(16, 8))
    logvar = rng.normal(0, 0.7, size=(16, 8))
    neg_kl_vae = 0.5 * np.sum(1 + logvar - mu ** 2 - np.exp(logvar), axis=-1)
    cov = np.einsum("bi,ij->bij", np.exp(logvar), np.eye(8))
    kl = g.kl(mu, cov, np.zeros(8), np.eye(8))
    assert kl.shape == (16,)
    assert np.allclose(-kl, neg_kl_vae, rtol=1e-12, atol=1e-12)
    # torch: the VAE term's gradient flows through dv.gaussian.kl
    mu_t = torch.tensor(mu[0], requires_grad=True)
    lv_t = torch.tensor(logvar[0], requires_grad=True)
    val = g.kl(mu_t, torch.diag(torch.exp(lv_t)), torch.zeros(8, dtype=torch.float64), torch.eye(8, dtype=torch.float64))
    gm, gl = torch.autograd.grad(val, (mu_t, lv_t))
    assert np.allclose(gm.numpy(), mu[0]) and np.allclose(gl.numpy(), 0.5 * (np.exp(logvar[0]) - 1))


def test_kl_matches_monte_carlo_and_univariate_formula(rng):
    d, n = 3, 200_000
    m0, m1 = rng.normal(size=d), rng.normal(size=d)
    S0, S1 = _spd(rng, d, 0.5), _spd(rng, d, 0.5)
    x = rng.multivariate_normal(m0, S0, size=n)
    h = stats.multivariate_normal(m0, S0).logpdf(x) - stats.multivariate_normal(m1, S1).logpdf(x)
    assert abs(g.kl(m0, S0, m1, S1) - h.mean()) <= 4 * h.std(ddof=1) / math.sqrt(n)
    # univariate: log(s1/s0) + (s0^2 + (m0-m1)^2)/(2 s1^2) - 1/2
    s0, s1 = 0.7, 1.9
    want = math.log(s1 / s0) + (s0 ** 2 + (0.3 - -1.2) ** 2) / (2 * s1 ** 2) - 0.5
    assert g.kl(0.3, s0 ** 2, -1.2, s1 ** 2) == pytest.approx(want, rel=1e-14)
    assert g.kl(m0, S0, m0, S0) == pytest.approx(0.0, abs=1e-12)
    # one degenerate covariance: mutually singular directions, KL = +inf (C04)
    assert g.kl(m0, np.diag([1.0, 1.0, 0.0]), m1, S1) == math.inf
    assert g.kl(m0, S0, m1, np.diag([1.0, 0.0, 1.0])) == math.inf


def test_batching_broadcasts_and_torch_parity(rng):
    d = 2
    m0 = rng.normal(size=(4, d))
    S0 = np.stack([_spd(rng, d) for _ in range(4)])
    m1, S1 = rng.normal(size=d), _spd(rng, d)
    for fn in (g.kl, g.w2, g.w2_squared, lambda a, b, c, e: g.mmd2(a, b, c, e, bandwidth=0.8)):
        out = fn(m0, S0, m1, S1)
        assert out.shape == (4,)
        for i in range(4):
            assert out[i] == pytest.approx(fn(m0[i], S0[i], m1, S1), rel=1e-12)
        tout = fn(*(torch.tensor(a) for a in (m0, S0, m1, S1)))
        assert isinstance(tout, torch.Tensor) and np.allclose(tout.numpy(), out, rtol=1e-12)
    assert isinstance(g.kl(m1, S1, m1, S1), float)


# ------------------------------------------------------------------------------------------ W2


def test_w2_matches_pot_sqrtm_and_commuting_case(rng):
    d = 4
    m0, m1 = rng.normal(size=d), rng.normal(size=d)
    S0, S1 = _spd(rng, d), _spd(rng, d)
    r0 = scipy.linalg.sqrtm(S0).real
    ref2 = np.sum((m0 - m1) ** 2) + np.trace(S0 + S1 - 2 * scipy.linalg.sqrtm(r0 @ S1 @ r0).real)
    assert g.w2_squared(m0, S0, m1, S1) == pytest.approx(ref2, rel=1e-10)
    assert g.w2(m0, S0, m1, S1) == pytest.approx(float(ot.gaussian.bures_wasserstein_distance(m0, m1, S0, S1)), rel=1e-8)
    a, b = rng.uniform(0.1, 3, d), rng.uniform(0.1, 3, d)
    assert g.w2_squared(m0, np.diag(a), m1, np.diag(b)) == pytest.approx(
        np.sum((m0 - m1) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2), rel=1e-12)
    assert g.w2(0.0, 0.0, 2.5, 0.0) == pytest.approx(2.5, rel=1e-15)  # Diracs: |m0 - m1|
    assert g.w2(1.0, 4.0, -1.0, 9.0) == pytest.approx(math.sqrt(4 + 1), rel=1e-14)  # 1-D: (dm)^2 + (ds)^2
    # independent coupling is never better than the optimal one
    assert g.w2_squared(m0, S0, m1, S1) <= np.sum((m0 - m1) ** 2) + np.trace(S0) + np.trace(S1)


def test_w2_equals_monte_carlo_cost_of_the_optimal_linear_map(rng):
    d, n = 3, 200_000
    m0, m1 = rng.normal(size=d), rng.normal(size=d)
    S0, S1 = _spd(rng, d), _spd(rng, d)
    r0 = scipy.linalg.sqrtm(S0).real
    r0i = np.linalg.inv(r0)
    T = r0i @ scipy.linalg.sqrtm(r0 @ S1 @ r0).real @ r0i  # Monge map N(m0,S0) -> N(m1,S1)
    assert np.allclose(T @ S0 @ T, S1, rtol=1e-8)
    x = rng.multivariate_normal(m0, S0, size=n)
    y = m1 + (x - m0) @ T.T
    cost = np.sum((x - y) ** 2, axis=1)
    assert abs(g.w2_squared(m0, S0, m1, S1) - cost.mean()) <= 4 * cost.std(ddof=1) / math.sqrt(n)


def test_w2_gradients_finite_with_repeated_eigenvalues():
    S0 = torch.eye(3, dtype=torch.float64, requires_grad=True)
    S1 = torch.tensor([[2.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 1.5]], dtype=torch.float64)
    m = torch.zeros(3, dtype=torch.float64)
    val = g.w2_squared(m, S0, m + 1, S1)
    (grad,) = torch.autograd.grad(val, S0)
    assert torch.isfinite(grad).all()
    # directional derivative against central differences along a symmetric direction
    E = torch.tensor([[0.3, 0.1, 0.0], [0.1, -0.2, 0.05], [0.0, 0.05, 0.1]], dtype=torch.float64)
    eps = 1e-6
    fd = (g.w2_squared(m, S0.detach() + eps * E, m + 1, S1) - g.w2_squared(m, S0.detach() - eps * E, m + 1, S1)) / (2 * eps)
    assert float((grad * E).sum()) == pytest.approx(float(fd), rel=1e-6, abs=1e-8)


# ------------------------------------------------------------------------------------------ MMD


def _k(x: np.ndarray, y: np.ndarray, h: float) -> np.ndarray:
    return np.exp(-np.sum((x - y) ** 2, axis=-1) / (2 * h * h))


def test_mmd2_closed_form_matches_monte_carlo(rng):
    d, n, h = 3, 200_000, 1.3
    m0, m1 = rng.normal(size=d) * 0.5, rng.normal(size=d) * 0.5
    S0, S1 = _spd(rng, d, 0.3) * 0.5, _spd(rng, d, 0.3) * 0.5
    x, x2, x3 = (rng.multivariate_normal(m0, S0, size=n) for _ in range(3))
    y, y2, y3 = (rng.multivariate_normal(m1, S1, size=n) for _ in range(3))
    hvals = _k(x, x2, h) + _k(y, y2, h) - 2 * _k(x3, y3, h)  # iid terms with mean MMD^2
    est, se = hvals.mean(), hvals.std(ddof=1) / math.sqrt(n)
    assert abs(g.mmd2(m0, S0, m1, S1, bandwidth=h) - est) <= 4 * se


def test_mmd2_known_cases():
    h = 0.7
    # Diracs: 2 - 2 k(m0, m1)
    assert g.mmd2([0.0, 0.0], np.zeros((2, 2)), [1.0, 1.0], np.zeros((2, 2)), bandwidth=h) == pytest.approx(
        2 - 2 * math.exp(-2 / (2 * h * h)), rel=1e-14)
    # 1-D, equal variances s^2: 2 (1 + 2 s^2/h^2)^(-1/2) (1 - exp(-mu^2 / (2 (2 s^2 + h^2))))
    s, mu = 0.9, 1.4
    want = 2 / math.sqrt(1 + 2 * s * s / (h * h)) * (1 - math.exp(-mu * mu / (2 * (2 * s * s + h * h))))
    assert g.mmd2(0.0, s * s, mu, s * s, bandwidth=h) == pytest.approx(want, rel=1e-13)
    assert g.mmd2(0.3, 1.0, 0.3, 1.0, bandwidth=h) == pytest.approx(0.0, abs=1e-15)
    t = g.mmd2(torch.tensor([0.0], requires_grad=True), torch.eye(1, dtype=torch.float32), torch.tensor([1.0]),
               torch.eye(1), bandwidth=1.0)
    assert t.dtype == torch.float32 and t.requires_grad


# ------------------------------------------------------------- equal covariances (C07, C13)


@pytest.mark.parametrize("sep", [1e-8, 1e-4, 0.3, 3.0])
def test_equal_covariance_branches_keep_relative_accuracy(sep):
    """Where ``S0 == S1 = S``: KL = 1/2 dm^T S^-1 dm, W2^2 = ||dm||^2 and
    MMD^2 = -2 det(I + 2S/h^2)^(-1/2) expm1(-1/2 dm^T (2S + h^2 I)^-1 dm), checked against mpmath at
    40 digits.  The bound is the forward error of the reduced forms: a Cholesky solve's
    ``O(d u kappa(S))`` (Higham, Thm 10.3 / 8.5) plus a few roundings, ``kappa(S) < 10`` here.  At
    sep = 1e-8 the general formulas (tr - d, three O(1) kernel terms) return noise of size ~1e-16
    against values ~1e-17, so the test fails without the branches."""
    import mpmath as mp
    with mp.workdps(40):  # local precision (mp.dps is process-wide state)
        d, h = 3, 0.8
        S = np.array([[1.0, 0.2, 0.0], [0.2, 0.7, 0.1], [0.0, 0.1, 1.3]])
        m0 = np.array([0.1, -0.2, 0.4])
        m1 = m0 + sep * np.array([0.6, -0.8, 0.0])
        Sm = mp.matrix(S.tolist())
        dm = mp.matrix([mp.mpf(float(m1[i])) - mp.mpf(float(m0[i])) for i in range(d)])  # exact dm of the inputs
        kl_ref = float((dm.T * mp.inverse(Sm) * dm)[0] / 2)
        w2_ref = float(sum(x * x for x in dm))
        A = 2 * Sm + h * h * mp.eye(d)
        c = mp.det(mp.eye(d) + 2 * Sm / (h * h)) ** mp.mpf(-0.5)
        mmd_ref = float(-2 * c * mp.expm1(-(dm.T * mp.inverse(A) * dm)[0] / 2))
    u = 2.0**-53
    rel = 16 * d * 10 * u  # Cholesky solve with kappa(S) < 10, plus the final roundings
    assert abs(float(g.kl(m0, S, m1, S)) - kl_ref) <= rel * kl_ref
    assert abs(float(g.w2_squared(m0, S, m1, S)) - w2_ref) <= rel * w2_ref
    assert abs(float(g.mmd2(m0, S, m1, S, bandwidth=h)) - mmd_ref) <= rel * mmd_ref
    assert np.linalg.cond(S) < 10


def test_equal_covariance_branch_is_continuous_with_the_general_formula(rng):
    """Perturbing S1 by 1e-9 switches to the general formulas; at an O(1) separation their value
    differs from the reduced form by O(1e-9) (the divergences are smooth in S1), not by a jump."""
    S = _spd(rng, 3, jitter=0.5)
    m0, m1 = rng.normal(size=3), rng.normal(size=3)
    S1 = S + 1e-9 * np.eye(3)
    for f in (lambda a, b: g.kl(m0, a, m1, b), lambda a, b: g.w2_squared(m0, a, m1, b),
              lambda a, b: g.mmd2(m0, a, m1, b, bandwidth=1.3)):
        same, near = float(f(S, S)), float(f(S, S1))
        assert abs(same - near) <= 1e-7 * max(1.0, abs(same))
        assert same > 0


def test_equal_covariance_batches_mix_both_branches():
    """Per batch element: an equal pair takes the reduced form, an unequal pair the general one."""
    S0 = np.stack([np.eye(2), np.eye(2)])
    S1 = np.stack([np.eye(2), 2.0 * np.eye(2)])
    m0 = np.zeros((2, 2))
    m1 = np.array([[1e-8, 0.0], [1.0, 0.0]])
    kl = np.asarray(g.kl(m0, S0, m1, S1))
    assert kl[0] == pytest.approx(0.5e-16, rel=1e-14)
    # KL(N(0, I) || N(e1, 2I)) = 1/2 (tr(I/2) + 1/2 - 2 + 2 log 2)
    assert kl[1] == pytest.approx(0.5 * (1.0 + 0.5 - 2 + 2 * math.log(2.0)), rel=1e-14)
