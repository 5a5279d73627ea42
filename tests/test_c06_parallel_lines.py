"""C04-C06, C13: parallel lines P = (0, Z), Q_theta = (theta, Z), Z ~ U[0, 1] (Arjovsky et al. 2017, Ex. 1).

For every theta != 0: JSD = log 2, KL = +inf, TV = 1, W1 = |theta|.  W1 and MMD are continuous at
theta -> 0, JSD is not.  Exact values come from :mod:`experiments.disjoint.families`; they are
checked against independent routes (the discrete divergences of ``dv`` on binned samples, exact OT
between samples, the Gaussian-kernel closed form, Monte Carlo MMD with a CLT tolerance).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

import divergences as dv
from experiments.disjoint.families import (DIVERGENCES, DiracGAN, GaussianShift, ParallelLines,
                                           ShrinkingSegment, kernel, kernel_gap)

PL = ParallelLines()
GRID = [t for t in np.linspace(-2.0, 2.0, 41) if t != 0.0] + [1e-9, -1e-6, 1e-3]


def _binned(theta: float, n_bins: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """P and Q_theta as probability vectors on cells {x1 in {0, theta}} x {z bins} (exact masses)."""
    p = np.zeros(2 * n_bins)
    q = np.zeros(2 * n_bins)
    p[:n_bins] = 1.0 / n_bins          # all of P on the line x1 = 0
    q[n_bins:] = 1.0 / n_bins          # all of Q on the line x1 = theta != 0
    return p, q


@pytest.mark.parametrize("theta", GRID)
def test_c06_parallel_lines_jsd_is_log2(theta: float) -> None:
    assert PL.exact("jsd", theta) == math.log(2.0)
    p, q = _binned(theta)
    assert dv.jsd(p, q) == pytest.approx(math.log(2.0), abs=1e-12)   # independent route (C05)


@pytest.mark.parametrize("theta", GRID)
def test_c06_parallel_lines_kl_is_infinite(theta: float) -> None:
    assert PL.exact("kl", theta) == math.inf
    p, q = _binned(theta)
    assert dv.kl(p, q) == math.inf                                   # C04: Q vanishes where P does not


@pytest.mark.parametrize("theta", GRID)
def test_c06_parallel_lines_tv_is_one(theta: float) -> None:
    assert PL.exact("tv", theta) == 1.0
    p, q = _binned(theta)
    assert dv.tv(p, q) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("theta", GRID)
def test_c06_parallel_lines_w1_is_abs_theta(theta: float) -> None:
    assert PL.exact("w1", theta) == abs(theta)


@pytest.mark.parametrize("theta", [-1.5, -0.3, 0.05, 0.7, 2.0])
def test_c06_parallel_lines_w1_matches_exact_ot_on_samples(theta: float) -> None:
    """Same z for both samples: the empirical W1 is exactly |theta| (the shift coupling is optimal
    because any coupling moves mass by at least |E x1 - E y1| = |theta|)."""
    x = PL.sample_p(200, seed=5)
    y = PL.sample_q(theta, 200, seed=5)
    assert dv.wasserstein(x, y, p=1) == pytest.approx(abs(theta), rel=1e-9)


def test_c06_parallel_lines_mmd_matches_closed_form() -> None:
    """Gaussian kernel, bandwidth 1: MMD^2 = 2 c (1 - exp(-theta^2/2)), c = E exp(-(Z - Z')^2 / 2)."""
    c = 2 * (math.sqrt(math.pi / 2) * special.erf(1 / math.sqrt(2)) - (1 - math.exp(-0.5)))
    for theta in (1e-4, 0.3, 1.0, -2.0):
        assert PL.exact("mmd2", theta) == pytest.approx(2 * c * -math.expm1(-theta**2 / 2), rel=1e-10)


@pytest.mark.parametrize("name", ["gaussian", "rq"])
def test_c06_parallel_lines_mmd_matches_unbiased_estimator(name: str) -> None:
    """Mean of 30 unbiased MMD^2 estimates within 4 standard errors of the quadrature value (C19)."""
    theta = 0.4
    params = dict(bandwidth=1.0) if name == "gaussian" else dict(alpha=1.0, lengthscale=1.0)
    est = np.array([dv.mmd2(PL.sample_p(300, 2 * s), PL.sample_q(theta, 300, 2 * s + 1), name, **params)
                    for s in range(30)])
    truth = PL.exact("mmd2" if name == "gaussian" else "mmd2_rq", theta)
    assert abs(est.mean() - truth) <= 4 * est.std(ddof=1) / math.sqrt(len(est))


def test_kernels_agree_with_divergences_kernels() -> None:
    """The closed forms use the same kernels as dv.kernels (Gaussian h = 1, RQ alpha = 1, l = 1)."""
    a = np.array([[0.0, 0.0], [0.3, 1.0], [-1.0, 2.0]])
    r2 = ((a[:, None, :] - a[None, :, :]) ** 2).sum(-1)
    for name, params in (("gaussian", dict(bandwidth=1.0)), ("rq", dict(alpha=1.0, lengthscale=1.0))):
        k = dv.kernels.get(name, **params)
        gram = np.asarray(k.gram(a, a))
        # written out here (independent of both codes): Gaussian exp(-r/2), RQ (1 + r/2)^-1
        profile = (lambda r: np.exp(-r / 2)) if name == "gaussian" else (lambda r: 1.0 / (1.0 + r / 2))
        np.testing.assert_allclose(gram, profile(r2), rtol=1e-12)
        np.testing.assert_allclose(kernel(r2, name), profile(r2), rtol=1e-14)
        np.testing.assert_allclose(kernel_gap(r2, 0.5, name), profile(r2) - profile(r2 + 0.5),
                                   rtol=1e-10, atol=1e-15)


def test_c13_w1_and_mmd_continuous_at_zero_jsd_is_not() -> None:
    """Along theta = 10^-k -> 0 (Q_theta => P weakly): W1 and MMD -> 0 = their value at P,
    JSD stays at log 2 != 0 = JSD(P, P)."""
    thetas = 10.0 ** -np.arange(1, 10)
    for name in ("w1", "mmd", "mmd_rq", "smmd"):
        vals = np.array([PL.exact(name, t) for t in thetas])
        assert np.all(np.diff(vals) < 0) and vals[-1] < 1e-8 and PL.exact(name, 0.0) == 0.0
        # the modulus of continuity is linear: L(theta) / theta stays bounded
        assert np.all(vals / thetas < 1.01)
    jsd = np.array([PL.exact("jsd", t) for t in thetas])
    assert np.all(jsd == math.log(2.0)) and PL.exact("jsd", 0.0) == 0.0
    assert PL.exact("d_mmd", 1e-9) == pytest.approx(math.sqrt(2))      # C21: the deep kernel jumps too


def test_c05_every_disjoint_family_has_constant_jsd_kl_tv() -> None:
    for fam in (PL, DiracGAN(), ShrinkingSegment()):
        for t in (1e-7, 0.2, -3.0):
            assert (fam.exact("jsd", t), fam.exact("kl", t), fam.exact("tv", t)) == (math.log(2.0), math.inf, 1.0)


def test_shrinking_segment_and_gaussian_control_closed_forms() -> None:
    seg = ShrinkingSegment()
    x = np.zeros((1, 1))
    y = seg.sample_q(0.5, 4000, seed=1)
    # W1 from a point mass at 0 is exactly mean |y|; that mean estimates 1.5 |theta| = 0.75 within 4 SE
    assert dv.wasserstein(x, y, p=1) == pytest.approx(float(np.abs(y).mean()), rel=1e-12)
    assert abs(float(np.abs(y).mean()) - 0.75) <= 4 * float(np.abs(y).std()) / math.sqrt(len(y))
    # feature-space MMD at psi = 1 equals the input-space MMD (same kernel)
    for t in (1e-3, 0.3, 2.0):
        assert float(seg.feature_mmd2(t, np.array([1.0]))[0]) == pytest.approx(seg.mmd2(t), rel=1e-8)
    g = GaussianShift(dim=1)
    # JSD by direct Riemann sum of the densities on a fine grid (independent of the quad route)
    u = np.linspace(-15, 16, 400_001)
    pp, qq = np.exp(-u**2 / 2), np.exp(-(u - 1.0) ** 2 / 2)
    pp, qq = pp / pp.sum(), qq / qq.sum()
    assert g.jsd(1.0) == pytest.approx(dv.jsd(pp, qq), rel=1e-6)
    # JSD of N(0,1) vs N(theta,1) ~ theta^2 / 8 as theta -> 0 (Fisher information 1)
    assert g.jsd(1e-2) == pytest.approx(1e-4 / 8, rel=1e-3)
    assert g.tv(1.0) == pytest.approx(2 * 0.5 * (1 + special.erf(0.5 / math.sqrt(2))) - 1, rel=1e-12)
    assert float(g.feature_mmd2(0.7, np.array([1.0]))[0]) == pytest.approx(g.mmd2(0.7), rel=1e-10)


@pytest.mark.parametrize("bad", ["js", "W1", ""])
def test_exact_rejects_unknown_divergence(bad: str) -> None:
    assert bad not in DIVERGENCES
    with pytest.raises(ValueError, match="divergence"):
        PL.exact(bad, 0.5)


def test_exact_rejects_nonfinite_theta() -> None:
    with pytest.raises(ValueError, match="theta"):
        PL.exact("w1", math.nan)
