"""Evaluation statistics (C28 FID, C29 KID, C30 IS): oracles, edge cases, validation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sl
import torch

import divergences as dv


def _spd(rng, d, floor=0.05):
    A = rng.normal(size=(d, d))
    return A @ A.T / d + floor * np.eye(d)


def _fd_sqrtm(m1, S1, m2, S2):
    """The textbook formula with the non-symmetric matrix square root (pytorch-fid style)."""
    covmean = sl.sqrtm(S1 @ S2)
    return float(np.sum((m1 - m2) ** 2) + np.trace(S1) + np.trace(S2) - 2 * np.trace(covmean).real)


@pytest.mark.parametrize("d", [1, 3, 64])
def test_c28_frechet_distance_matches_sqrtm_formula(d, rng):
    for _ in range(3):
        m1, m2 = rng.normal(size=d), rng.normal(size=d)
        S1, S2 = _spd(rng, d), _spd(rng, d)
        ours = dv.frechet_distance(m1, S1, m2, S2)
        assert ours == pytest.approx(_fd_sqrtm(m1, S1, m2, S2), rel=1e-6)


def test_c28_frechet_distance_is_gaussian_w2_squared_closed_forms(rng):
    """Commuting covariances: FD = ||m1-m2||^2 + sum (sqrt(a_i) - sqrt(b_i))^2 (W2^2 of Gaussians)."""
    d = 5
    a, b = rng.uniform(0.1, 3, d), rng.uniform(0.1, 3, d)
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    S1, S2 = Q @ np.diag(a) @ Q.T, Q @ np.diag(b) @ Q.T
    m1, m2 = rng.normal(size=d), rng.normal(size=d)
    expect = np.sum((m1 - m2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert dv.frechet_distance(m1, S1, m2, S2) == pytest.approx(expect, rel=1e-10)
    # symmetric in its two arguments, zero for identical Gaussians
    assert dv.frechet_distance(m2, S2, m1, S1) == pytest.approx(expect, rel=1e-10)
    assert dv.frechet_distance(m1, S1, m1, S1) == pytest.approx(0.0, abs=1e-10 * np.trace(S1))


def test_c28_frechet_distance_never_negative_for_singular_covariances(rng):
    """Covariances of n < d samples are singular: sqrtm can return complex parts or a slightly
    negative FD; ours is real, >= 0, and ~0 (relative to the trace) for identical inputs."""
    d = 40
    for n in (5, 20, 39):
        X = rng.normal(size=(n, d)) * rng.uniform(0.1, 10, d)
        mu, S = X.mean(0), np.cov(X, rowvar=False)
        fd = dv.frechet_distance(mu, S, mu, S)
        assert 0.0 <= fd <= 1e-9 * np.trace(S)
        Y = rng.normal(size=(n, d))
        fd2 = dv.frechet_distance(mu, S, Y.mean(0), np.cov(Y, rowvar=False))
        assert fd2 > 0
        # singular on both sides: agrees with the sqrtm formula where sqrtm is accurate
        assert fd2 == pytest.approx(_fd_sqrtm(mu, S, Y.mean(0), np.cov(Y, rowvar=False)), rel=1e-5)


def test_c28_fid_is_frechet_distance_of_sample_moments(rng):
    fx, fy = rng.normal(size=(300, 6)), rng.normal(size=(250, 6)) * 1.2 + 0.3
    expect = dv.frechet_distance(fx.mean(0), np.cov(fx, rowvar=False), fy.mean(0), np.cov(fy, rowvar=False))
    assert dv.fid(fx, fy) == pytest.approx(expect, rel=1e-12)
    t = dv.fid(torch.from_numpy(fx).float(), torch.from_numpy(fy).float())
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float64
    assert float(t) == pytest.approx(expect, rel=1e-5)


def test_c28_fid_is_biased_upwards_at_finite_n(rng):
    """Same distribution N(0, I_d): E FID > 0 and shrinks with n (C28: biased).  Exact mean of
    the trace part grows like d^2/n; we check the ordering over 20 draws with a 4 SE margin."""
    d = 8
    small = [dv.fid(rng.normal(size=(50, d)), rng.normal(size=(50, d))) for _ in range(20)]
    large = [dv.fid(rng.normal(size=(800, d)), rng.normal(size=(800, d))) for _ in range(20)]
    se = np.hypot(np.std(small, ddof=1), np.std(large, ddof=1)) / np.sqrt(20)
    assert np.mean(small) - np.mean(large) > 4 * se
    assert min(large) > 0


def test_c29_kid_one_subset_of_whole_sample_is_unbiased_cubic_mmd2(rng):
    fx, fy = rng.normal(size=(120, 10)), rng.normal(size=(120, 10)) + 0.2
    r = dv.kid(fx, fy, subsets=1, subset_size=120, seed=3)
    assert r.mean == pytest.approx(dv.mmd2(fx, fy, "polynomial"), rel=1e-12)
    assert r.std == 0.0
    # explicit kernel (x^T y / d + 1)^3
    Kxx, Kyy, Kxy = ((a @ b.T / 10 + 1) ** 3 for a, b in ((fx, fx), (fy, fy), (fx, fy)))
    u = ((Kxx.sum() - np.trace(Kxx)) + (Kyy.sum() - np.trace(Kyy))) / (120 * 119) - 2 * Kxy.mean()
    assert r.mean == pytest.approx(u, rel=1e-12)


def test_c29_kid_subsets_seeded_and_unbiased(rng):
    """KID is unbiased: with fx, fy from the same distribution its mean over many independent
    draws is within 4 SE of 0; seeds reproduce."""
    vals = []
    for s in range(60):
        fx, fy = rng.normal(size=(60, 4)), rng.normal(size=(60, 4))
        vals.append(dv.kid(fx, fy, subsets=5, subset_size=30, seed=s).mean)
    vals = np.array(vals)
    assert abs(vals.mean()) <= 4 * vals.std(ddof=1) / np.sqrt(len(vals))
    fx, fy = rng.normal(size=(60, 4)), rng.normal(size=(70, 4)) + 0.5
    a = dv.kid(fx, fy, subsets=10, subset_size=30, seed=11)
    b = dv.kid(fx, fy, subsets=10, subset_size=30, seed=11)
    assert a == b
    assert a.mean > 0 and a.std > 0
    # the mean over subsets is the mean of the per-subset unbiased MMD^2
    gen = torch.Generator().manual_seed(11)
    per = []
    for _ in range(10):
        ix = torch.randperm(60, generator=gen)[:30].numpy()
        iy = torch.randperm(70, generator=gen)[:30].numpy()
        per.append(dv.mmd2(fx[ix], fy[iy], "polynomial"))
    assert a.mean == pytest.approx(np.mean(per), rel=1e-12)
    assert a.std == pytest.approx(np.std(per), rel=1e-10)


def test_c30_inception_score_uniform_and_one_hot():
    """Uniform predictions: p(y|x) = p(y), KL = 0, IS = 1.  One-hot predictions spread evenly
    over C classes in every split: KL = log C, IS = C (the maximum)."""
    r = dv.inception_score(np.zeros((100, 7)), splits=10)
    assert r.mean == pytest.approx(1.0, abs=1e-14) and r.std == pytest.approx(0.0, abs=1e-14)
    C = 10
    probs = np.eye(C)[np.arange(200) % C]
    r = dv.inception_score(probs, splits=10, from_logits=False)
    assert r.mean == pytest.approx(C, rel=1e-12) and r.std == pytest.approx(0.0, abs=1e-12)
    # all samples in one class: IS = 1 (no diversity)
    r = dv.inception_score(np.eye(C)[np.zeros(50, int)], splits=5, from_logits=False)
    assert r.mean == pytest.approx(1.0, abs=1e-14)


def test_c30_inception_score_formula_and_logits(rng):
    z = rng.normal(size=(90, 5)) * 2
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    scores = []
    for i in range(3):
        q = p[i * 30:(i + 1) * 30]
        py = q.mean(0)
        scores.append(np.exp(np.mean(np.sum(q * (np.log(q) - np.log(py)), 1))))
    r = dv.inception_score(z, splits=3)
    assert r.mean == pytest.approx(np.mean(scores), rel=1e-12)
    assert r.std == pytest.approx(np.std(scores), rel=1e-9)
    assert dv.inception_score(p, splits=3, from_logits=False).mean == pytest.approx(r.mean, rel=1e-12)
    assert 1.0 <= r.mean <= 5.0
    t = dv.inception_score(torch.from_numpy(z), splits=3)
    assert isinstance(t.mean, torch.Tensor) and float(t.mean) == pytest.approx(r.mean, rel=1e-12)


def test_validation_errors(rng):
    d = 3
    m, S = np.zeros(d), np.eye(d)
    with pytest.raises(ValueError, match="S2"):
        dv.frechet_distance(m, S, m, np.ones((d, d + 1)))
    with pytest.raises(ValueError, match="symmetric"):
        dv.frechet_distance(m, S, m, np.triu(np.ones((d, d))))
    with pytest.raises(ValueError, match="mu1, mu2"):
        dv.frechet_distance(m, S, np.zeros(d + 1), np.eye(d + 1))
    with pytest.raises(ValueError, match="non-finite"):
        dv.frechet_distance(np.array([np.nan, 0, 0]), S, m, S)
    fx = rng.normal(size=(10, d))
    with pytest.raises(ValueError, match="at least 2"):
        dv.fid(fx[:1], fx)
    with pytest.raises(ValueError, match="dimension mismatch"):
        dv.fid(fx, rng.normal(size=(10, d + 1)))
    with pytest.raises(ValueError, match="subset_size"):
        dv.kid(fx, fx, subset_size=11)
    with pytest.raises(ValueError, match="subset_size"):
        dv.kid(fx, fx, subset_size=1)
    with pytest.raises(ValueError, match="subsets"):
        dv.kid(fx, fx, subsets=0, subset_size=5)
    with pytest.raises(ValueError, match="non-finite"):
        dv.kid(np.full((10, d), np.inf), fx, subset_size=5)
    with pytest.raises(ValueError, match="splits"):
        dv.inception_score(np.zeros((5, 3)), splits=6)
    with pytest.raises(ValueError, match="not normalised"):
        dv.inception_score(np.full((5, 3), 0.5), splits=1, from_logits=False)
    with pytest.raises(ValueError, match="non-finite"):
        dv.inception_score(np.array([[np.nan, 0.0]]), splits=1)
    with pytest.raises(ValueError, match="logits"):
        dv.inception_score(np.zeros(5), splits=1)


def test_c30_inception_score_accepts_float32_probabilities_at_their_tolerance() -> None:
    """float32 rows summing to 1 within float32 rounding (|sum - 1| ~ 1e-6 > 1e-6 float64 tolerance)
    are valid probabilities; the IS equals the one computed from the same rows in float64."""
    import torch

    import divergences as dv

    g = torch.Generator().manual_seed(0)
    p64 = torch.softmax(torch.randn(200, 50, generator=g, dtype=torch.float64) * 4, 1)
    p32 = (p64 * (1 + 5e-6)).float()  # rows sum to 1 + 5e-6: over 1e-6, under float32's 1e-4
    err = float((p32.double().sum(1) - 1).abs().max())
    assert 1e-6 < err < 1e-4  # the case this test is about
    r32 = dv.inception_score(p32, splits=2, from_logits=False)
    r64 = dv.inception_score(p64, splits=2, from_logits=False)
    assert abs(float(r32.mean) - float(r64.mean)) <= 1e-3 * float(r64.mean)
