"""kNN KL estimator (Wang, Kulkarni & Verdu 2009): formula, Gaussian oracle, duplicates,
validation, and agreement between the neighbour searches."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import divergences as dv


def _gauss_kl(m0: np.ndarray, S0: np.ndarray, m1: np.ndarray, S1: np.ndarray) -> float:
    """KL(N(m0,S0) || N(m1,S1)) = 1/2 [tr(S1^-1 S0) + (m1-m0)' S1^-1 (m1-m0) - d + log det S1/det S0]."""
    d = m0.size
    S1i = np.linalg.inv(S1)
    dm = m1 - m0
    return 0.5 * (np.trace(S1i @ S0) + dm @ S1i @ dm - d + np.log(np.linalg.det(S1) / np.linalg.det(S0)))


def _loop_reference(x: np.ndarray, y: np.ndarray, k: int) -> float:
    """The estimator written point by point, straight from the formula."""
    n, d = x.shape
    m = y.shape[0]
    total = 0.0
    for i in range(n):
        dx = np.sort(np.linalg.norm(np.delete(x, i, axis=0) - x[i], axis=1))[k - 1]
        dy = np.sort(np.linalg.norm(y - x[i], axis=1))[k - 1]
        total += math.log(dy / dx)
    return d * total / n + math.log(m / (n - 1))


def test_formula_on_a_hand_example():
    """x = {0, 1, 3}, y = {0.5, 10}, k = 1: rho = (1, 1, 2), nu = (0.5, 0.5, 2.5), so the
    estimate is (1/3)(2 log 0.5 + log 1.25) + log(2/2)."""
    x, y = np.array([0.0, 1.0, 3.0]), np.array([0.5, 10.0])
    assert dv.knn_kl(x, y, k=1) == pytest.approx((2 * math.log(0.5) + math.log(1.25)) / 3, rel=1e-12)
    rho, nu = dv.knn_distances(x, y, k=1)
    np.testing.assert_allclose(rho, [1, 1, 2])
    np.testing.assert_allclose(nu, [0.5, 0.5, 2.5])


@pytest.mark.parametrize("k", [1, 3])
def test_matches_per_point_loop_and_both_searches_agree(rng, k):
    x, y = rng.normal(size=(150, 3)), rng.normal(0.3, 1.2, size=(110, 3))
    ref = _loop_reference(x, y, k)
    for method in ("kdtree", "brute"):
        assert dv.knn_kl(x, y, k=k, method=method) == pytest.approx(ref, rel=1e-10)
    x12 = rng.normal(size=(80, 12))  # auto picks brute force above d = 8
    y12 = rng.normal(size=(90, 12))
    assert dv.knn_kl(x12, y12, k=k) == pytest.approx(_loop_reference(x12, y12, k), rel=1e-10)


@pytest.mark.parametrize("d,k", [(1, 1), (2, 5)])
def test_gaussian_kl_within_seed_spread(d, k):
    """KL(N(0, I) || N(e1, 2 I)) = 1/2 (d/2 + 1/2 - d + d log 2); 12 independent seeds,
    n = m = 5000: |mean - truth| <= 4 SE with SE the seeds' standard deviation / sqrt(12).
    (The finite-n bias measured in this setting is < 0.6 SE.)"""
    mu = np.zeros(d)
    mu[0] = 1.0
    truth = _gauss_kl(np.zeros(d), np.eye(d), mu, 2 * np.eye(d))
    ests = []
    for seed in range(12):
        g = np.random.default_rng(100 + seed)
        x = g.normal(size=(5000, d))
        y = g.normal(size=(5000, d)) * math.sqrt(2) + mu
        ests.append(dv.knn_kl(x, y, k=k))
    ests = np.array(ests)
    se = ests.std(ddof=1) / math.sqrt(len(ests))
    assert abs(ests.mean() - truth) <= 4 * se
    assert se < 0.05 * truth  # the check has power


def test_knn_jsd_gaussians_and_disjoint_supports():
    """kNN JSD: N(0,1) vs N(1,1) against quadrature within 4 SE over 10 seeds; on the
    parallel lines (C05/C06, disjoint supports) it is exactly its maximum
    1/2 log((n+m-1)/(n-1)) + 1/2 log((n+m-1)/(m-1)) ~ log 2, since every neighbour in the pool
    is then from the point's own sample."""
    from scipy import integrate, stats

    p, q = stats.norm(0, 1).pdf, stats.norm(1, 1).pdf
    truth = integrate.quad(lambda t: 0.5 * p(t) * np.log(2 * p(t) / (p(t) + q(t)))
                           + 0.5 * q(t) * np.log(2 * q(t) / (p(t) + q(t))), -12, 13)[0]
    ests = []
    for seed in range(10):
        g = np.random.default_rng(200 + seed)
        ests.append(dv.knn_jsd(g.normal(size=(3000, 1)), g.normal(size=(3000, 1)) + 1.0, k=5))
    se = np.std(ests, ddof=1) / math.sqrt(10)
    assert abs(np.mean(ests) - truth) <= 4 * se
    g = np.random.default_rng(0)
    n, m = 500, 400
    x = np.stack([np.zeros(n), g.uniform(size=n)], 1)
    y = np.stack([np.ones(m), g.uniform(size=m)], 1)
    top = 0.5 * math.log((n + m - 1) / (n - 1)) + 0.5 * math.log((n + m - 1) / (m - 1))
    assert dv.knn_jsd(x, y) == pytest.approx(top, rel=1e-12)
    assert dv.knn_jsd(x, y, method="brute") == pytest.approx(top, rel=1e-12)
    # with overlap the estimate stays below that maximum
    assert dv.knn_jsd(x, np.stack([np.zeros(m), g.uniform(size=m)], 1)) < top - 0.3


def test_identical_distributions_give_about_zero():
    ests = [dv.knn_kl(np.random.default_rng(s).normal(size=(3000, 2)),
                      np.random.default_rng(1000 + s).normal(size=(2000, 2)), k=3) for s in range(10)]
    se = np.std(ests, ddof=1) / math.sqrt(10)
    assert abs(np.mean(ests)) <= 4 * se


def test_duplicates_raise_by_default_and_drop_on_request(rng):
    x = rng.normal(size=(100, 2))
    x[1] = x[0]
    y = rng.normal(size=(60, 2))
    with pytest.raises(ValueError, match="2 of 100 points have a zero"):
        dv.knn_kl(x, y)
    with pytest.warns(RuntimeWarning, match="dropped 2 points"):
        dropped = dv.knn_kl(x, y, zero_distance="drop")
    rho, nu = dv.knn_distances(x, y)
    keep = rho > 0
    manual = 2 * np.mean(np.log(nu[keep] / rho[keep])) + math.log(60 / 99)
    assert dropped == pytest.approx(manual, rel=1e-12)
    # a sample point that also occurs in y: nu = 0
    x2 = rng.normal(size=(100, 2))
    y[5] = x2[10]
    with pytest.raises(ValueError, match="0 within x, 1 to y"):
        dv.knn_kl(x2, y, k=1)
    # a larger k looks past a single duplicate
    assert np.isfinite(dv.knn_kl(x, rng.normal(size=(60, 2)), k=2))


def test_all_points_duplicated_raises_even_when_dropping():
    x = np.zeros((20, 1))
    with pytest.raises(ValueError, match="every point"):
        dv.knn_kl(x, np.ones((20, 1)), zero_distance="drop")


def test_validation(rng):
    x, y = rng.normal(size=(10, 2)), rng.normal(size=(10, 2))
    with pytest.raises(ValueError, match="dimension mismatch"):
        dv.knn_kl(x, rng.normal(size=(10, 3)))
    with pytest.raises(ValueError, match="non-finite"):
        dv.knn_kl(np.where(np.eye(10, 2) > 0, np.inf, x), y)
    with pytest.raises(ValueError, match="k:"):
        dv.knn_kl(x, y, k=0)
    with pytest.raises(ValueError, match="at least 4 samples"):
        dv.knn_kl(x[:3], y, k=3)
    with pytest.raises(ValueError, match="empty"):
        dv.knn_kl(x, np.zeros((0, 2)))
    with pytest.raises(ValueError, match="zero_distance"):
        dv.knn_kl(x, y, zero_distance="ignore")
    with pytest.raises(ValueError, match="method"):
        dv.knn_kl(x, y, method="ball")


def test_torch_in_torch_out_differentiable(rng):
    x = torch.tensor(rng.normal(size=(200, 2)), requires_grad=True)
    y = torch.tensor(rng.normal(size=(150, 2)) + 0.5)
    est = dv.knn_kl(x, y)
    assert isinstance(est, torch.Tensor) and est.ndim == 0
    est.backward()
    assert torch.isfinite(x.grad).all()
    assert float(est.detach()) == pytest.approx(dv.knn_kl(x.detach().numpy(), y.numpy()), rel=1e-12)
