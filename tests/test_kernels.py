"""Kernels (C18-C22, C29): formulas, positive definiteness, SMMD constants, numerics, validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.distance import pdist

import divergences as dv
from divergences import kernels as K


def _pairwise(f, x, y):
    return np.array([[f(a, b) for b in y] for a in x])


def _norm(v):
    return float(np.sqrt(np.sum(v * v)))


# Reference formulas written out pair by pair (the definitions in the kernels module docstring).
REFERENCE = {
    "gaussian": ({"bandwidth": 1.3}, lambda a, b: np.exp(-np.sum((a - b) ** 2) / (2 * 1.3 ** 2))),
    "mix_gaussian": ({"sigmas": (0.5, 2.0)},
                     lambda a, b: sum(np.exp(-np.sum((a - b) ** 2) / (2 * s ** 2)) for s in (0.5, 2.0))),
    "rq": ({"alpha": 0.7}, lambda a, b: (1 + np.sum((a - b) ** 2) / (2 * 0.7)) ** -0.7),
    "mix_rq": ({"alphas": (0.2, 5.0)},
               lambda a, b: sum((1 + np.sum((a - b) ** 2) / (2 * al)) ** -al for al in (0.2, 5.0))),
    "mix_rq_1dot": ({"alphas": (0.5, 1.0)},
                    lambda a, b: sum((1 + np.sum((a - b) ** 2) / (2 * al)) ** -al for al in (0.5, 1.0)) + a @ b),
    "imq": ({"scale": 2.0}, lambda a, b: (1 + np.sum((a - b) ** 2) / 4.0) ** -0.5),
    "linear": ({}, lambda a, b: a @ b),
    "polynomial": ({}, lambda a, b: (a @ b / a.shape[0] + 1) ** 3),
    "distance": ({}, lambda a, b: _norm(a) + _norm(b) - _norm(a - b)),
}


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_gram_diag_paired_match_pairwise_formula(name, rng):
    params, f = REFERENCE[name]
    x = rng.normal(size=(7, 3))
    y = rng.normal(size=(5, 3)) + 0.5
    k = K.get(name, **params)
    G = k.gram(x, y)
    assert isinstance(G, np.ndarray) and G.shape == (7, 5)
    np.testing.assert_allclose(G, _pairwise(f, x, y), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(k(x, y), G, rtol=0, atol=0)
    np.testing.assert_allclose(k.diag(x), [f(a, a) for a in x], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(k.paired(x[:5], y), [f(a, b) for a, b in zip(x[:5], y)], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_gram_is_positive_semidefinite(name, rng):
    params, _ = REFERENCE[name]
    z = rng.normal(size=(40, 3))
    G = K.get(name, **params).gram(z, z)
    np.testing.assert_allclose(G, G.T, atol=1e-12)
    ev = np.linalg.eigvalsh(G)
    assert ev.min() >= -1e-10 * max(1.0, ev.max())


def test_kid_polynomial_defaults_and_options(rng):
    x, y = rng.normal(size=(4, 6)), rng.normal(size=(3, 6))
    # two BLAS (torch's, numpy's) may round each inner product differently: both are within
    # gamma_{d+1} (|x| |y|^T gamma + coef0) of the exact value (Higham 2002, eq. 3.5), and a power p
    # multiplies that relative error by p (plus p roundings), so each side is within
    # (p gamma_{d+1} + p u) 1.01 (|x||y|^T gamma + coef0)^p; the tolerance is twice that.
    u = 2.0 ** -53

    def bound(g, c, p):
        return 2 * 1.01 * p * (7 * u / (1 - 7 * u) + u) * (g * np.abs(x) @ np.abs(y).T + c) ** p

    assert np.all(np.abs(K.get("polynomial").gram(x, y) - (x @ y.T / 6 + 1) ** 3) <= bound(1 / 6, 1.0, 3))
    k = K.get("polynomial", degree=2, gamma=0.5, coef0=0.0)
    assert np.all(np.abs(k.gram(x, y) - (0.5 * x @ y.T) ** 2) <= bound(0.5, 0.0, 2))


def test_c20_paper_default_parameters():
    """Li et al. 2017 / Binkowski et al. 2018 defaults: mixture of Gaussians sigma in {2,5,10,20,40,80}; RQ mixture alphas
    {0.2,0.5,1,2,5} plus a linear term ("mix_rq_1dot"); Gaussian sigma = 1 (SMMD)."""
    assert K.get("mix_gaussian").sigmas == (2.0, 5.0, 10.0, 20.0, 40.0, 80.0)
    assert K.get("mix_rq").alphas == (0.2, 0.5, 1.0, 2.0, 5.0)
    assert K.get("gaussian").bandwidth == 1.0
    k = K.get("mix_rq_1dot")
    assert isinstance(k, K.SumKernel)
    assert [type(c) for c in k.kernels] == [K.MixRQ, K.Linear]
    assert k.kernels[0].alphas == (0.2, 0.5, 1.0, 2.0, 5.0)


def test_median_heuristic_is_median_pairwise_distance_of_pooled_sample(rng):
    x = rng.normal(size=(30, 2))
    y = rng.normal(size=(21, 2)) * 3
    med = np.median(pdist(np.vstack([x, y])))
    assert K.median_bandwidth(torch.from_numpy(x), torch.from_numpy(y)) == pytest.approx(med, rel=1e-12)
    k = K.get("gaussian", bandwidth="median")
    np.testing.assert_allclose(k.gram(x, y), K.Gaussian(med).gram(x, y), rtol=1e-12)
    # the MMD uses the pooled-sample bandwidth
    assert dv.mmd2(x, y, bandwidth="median") == pytest.approx(dv.mmd2(x, y, bandwidth=med), rel=1e-12)


def test_median_heuristic_rejects_degenerate_sample():
    x = np.zeros((5, 2))
    with pytest.raises(ValueError, match="median"):
        K.get("gaussian", bandwidth="median").gram(x, x)


RADIAL = {
    "gaussian": {"bandwidth": 0.7},
    "mix_gaussian": {"sigmas": (1.0, 3.0)},
    "rq": {"alpha": 2.0, "lengthscale": 1.5},
    "mix_rq": {},
    "imq": {"scale": 0.8},
}


@pytest.mark.parametrize("name", sorted(RADIAL))
def test_c22_smmd_constants_are_g0_and_slope_at_zero(name):
    """K(a,b) = g(-||a-b||^2): g(0) = K(a,a) and |g'(0)| = -d/dr profile(r) at r = 0 (autograd)."""
    k = K.get(name, **RADIAL[name])
    g0, g1 = k.smmd_constants()
    r = torch.zeros((), dtype=torch.float64, requires_grad=True)
    val = k.profile(r)
    (slope,) = torch.autograd.grad(val, r)
    assert g0 == pytest.approx(float(val.detach()), rel=1e-14)
    assert g1 == pytest.approx(-float(slope), rel=1e-12)
    # and g0 is the kernel on the diagonal
    assert float(k.diag(np.zeros((1, 3)))[0]) == pytest.approx(g0, rel=1e-14)


def test_c22_smmd_constants_of_sums_add_and_nonradial_raise():
    a, b = K.Gaussian(1.0), K.RationalQuadratic(alpha=3.0)
    g0, g1 = (a + b).smmd_constants()
    assert (g0, g1) == pytest.approx((2.0, 0.5 + 0.5))
    for k in (K.Linear(), K.Polynomial(), K.Distance(), K.get("mix_rq_1dot")):
        with pytest.raises(ValueError, match="radial"):
            k.smmd_constants()


def test_sum_kernel_is_sum_of_grams(rng):
    x, y = rng.normal(size=(6, 2)), rng.normal(size=(4, 2))
    k1, k2, k3 = K.Gaussian(0.5), K.Linear(), K.InverseMultiquadric(2.0)
    s = k1 + k2 + k3
    assert isinstance(s, K.SumKernel) and len(s.kernels) == 3
    # the same entries summed in another order (radial parts first): <= 2 u (|k1| + |k2| + |k3|) each
    # side (u = 2^-53); the linear part can make the sum cancel, so the bound is absolute
    G1, G2, G3 = k1.gram(x, y), k2.gram(x, y), k3.gram(x, y)
    assert np.all(np.abs(s.gram(x, y) - (G1 + G2 + G3)) <= 4 * 2.0 ** -53 * (np.abs(G1) + np.abs(G2) + np.abs(G3)))
    D1, D2, D3 = k1.diag(x), k2.diag(x), k3.diag(x)
    assert np.all(np.abs(s.diag(x) - (D1 + D2 + D3)) <= 4 * 2.0 ** -53 * (np.abs(D1) + np.abs(D2) + np.abs(D3)))


def test_feature_kernel_is_base_kernel_of_features(rng):
    W = torch.from_numpy(rng.normal(size=(3, 2)))
    phi = lambda t: torch.tanh(t @ W)  # noqa: E731
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    k = K.get("gaussian", feature_map=phi, bandwidth=0.9)
    fx, fy = phi(torch.from_numpy(x)).numpy(), phi(torch.from_numpy(y)).numpy()
    np.testing.assert_allclose(k.gram(x, y), K.Gaussian(0.9).gram(fx, fy), rtol=1e-13)
    assert k.smmd_constants() == K.Gaussian(0.9).smmd_constants()
    with pytest.raises(ValueError, match="feature map"):
        K.SumKernel((k, K.Linear()))


def test_squared_distances_are_accurate_far_from_origin(rng):
    """Centering the pooled sample: the naive ||a||^2+||b||^2-2a.b loses all digits at offset 1e7."""
    x, y = rng.normal(size=(20, 4)), rng.normal(size=(15, 4))
    ref = K.get("gaussian").gram(x, y)
    off = 1e7
    got = K.get("gaussian").gram(x + off, y + off)
    # error of the centred computation: (offset rounding of the inputs) ~ off * eps per coordinate
    assert np.max(np.abs(got - ref)) < 1e-7
    xs, ys = x + off, y + off
    naive = np.exp(-np.clip((xs ** 2).sum(1)[:, None] + (ys ** 2).sum(1)[None] - 2 * xs @ ys.T, 0, None) / 2)
    assert np.max(np.abs(naive - ref)) > 1e-2  # the pitfall this guards against is real


@pytest.mark.parametrize("name", ["distance", "gaussian", "imq", "mix_rq_1dot"])
def test_no_nan_gradient_at_coincident_points(name):
    x = torch.tensor([[0.0, 1.0], [2.0, -1.0], [0.0, 1.0]], dtype=torch.float64, requires_grad=True)
    G = K.get(name).gram(x, x)
    (g,) = torch.autograd.grad(G.sum(), x)
    assert torch.isfinite(g).all()
    assert torch.isfinite(G).all()


def test_safe_sqrt_value_and_gradient_at_zero():
    r = torch.tensor([0.0, 4.0], dtype=torch.float64, requires_grad=True)
    s = K.safe_sqrt(r)
    (g,) = torch.autograd.grad(s.sum(), r)
    assert s.tolist() == [0.0, 2.0]
    assert g.tolist() == [0.0, 0.25]


def test_torch_in_torch_out_dtype_and_grad(rng):
    x = torch.tensor(rng.normal(size=(5, 2)), dtype=torch.float32, requires_grad=True)
    y = torch.tensor(rng.normal(size=(4, 2)), dtype=torch.float32)
    G = K.get("mix_rq").gram(x, y)
    assert isinstance(G, torch.Tensor) and G.dtype == torch.float32 and G.requires_grad
    np.testing.assert_allclose(G.detach().numpy(), K.get("mix_rq").gram(x.detach().double().numpy(),
                                                                        y.double().numpy()), rtol=1e-5)


def test_validation_errors(rng):
    x = rng.normal(size=(4, 2))
    with pytest.raises(ValueError, match="kernel"):
        K.get("laplacian")
    with pytest.raises(ValueError, match="bandwidth"):
        K.get("gaussian", bandwidth=-1.0)
    with pytest.raises(ValueError, match="bandwidth"):
        K.get("gaussian", bandwidth="mean")
    with pytest.raises(ValueError, match="sigmas"):
        K.get("mix_gaussian", sigmas=())
    with pytest.raises(ValueError, match="alpha"):
        K.get("rq", alpha=0.0)
    with pytest.raises(ValueError, match="degree"):
        K.get("polynomial", degree=2.5)
    with pytest.raises(ValueError, match="bad parameters"):
        K.get("linear", bandwidth=1.0)
    with pytest.raises(ValueError, match="Kernel object"):
        K.get(K.Gaussian(), bandwidth=2.0)
    with pytest.raises(ValueError, match="dimension mismatch"):
        K.get("gaussian").gram(x, rng.normal(size=(3, 3)))
    with pytest.raises(ValueError, match="non-finite"):
        K.get("gaussian").gram(np.array([[np.nan, 0.0]]), x)
    with pytest.raises(ValueError, match="empty"):
        K.get("gaussian").gram(np.zeros((0, 2)), x)
    with pytest.raises(ValueError, match="paired"):
        K.get("gaussian").paired(x, x[:3])


def test_scaled_feature_kernel_keeps_its_feature_map() -> None:
    """c * k(phi(x), phi(y)): MMD^2 scales by c, and the feature map is applied (not dropped)."""
    import numpy as np
    import torch

    import divergences as dv

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 2)), rng.normal(size=(7, 2)) + 0.5
    phi = lambda t: torch.cat([t, t ** 2], 1) * 3.0  # noqa: E731
    fk = dv.kernels.get("gaussian", feature_map=phi)
    scaled = dv.kernels.ScaledKernel(fk, 2.0)
    assert abs(dv.mmd2(x, y, scaled) - 2.0 * dv.mmd2(x, y, fk)) < 1e-12
    with pytest.raises(ValueError, match="feature map"):
        dv.kernels.ScaledKernel(fk, 1.0) + dv.kernels.get("linear")
