"""MMD / kernel numerics (C18-C20, C29): exact at coincident points on any BLAS, no silent 0 / NaN.

Oracles are direct float64 computations (pairwise differences, never the Gram expansion
``||a||^2 + ||b||^2 - 2 a^T b``).  Tolerances are floating-point error bounds (Higham 2002,
"Accuracy and Stability of Numerical Algorithms", eq. 3.5: an inner product of length k has error
``<= gamma_k sum |a_i b_i|``, ``gamma_k = k u / (1 - k u)``), written out where they are used.

"Another BLAS" is emulated by ``legal_blas``: ``torch.addmm`` replaced by the real product plus
an error of size ``(k+1)/2 u (|beta C| + |alpha| |A| |B|)``, within the bound any correct BLAS
(blocked, FMA or not) may have, always of the sign that makes coincident points look apart.  This is
how an Intel MKL kernel turned the exact energy distance 0.5 into 0.49999999939.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

import divergences as dv
from divergences import kernels as K

U32, U64 = 2.0 ** -24, 2.0 ** -53


def gamma(k: int, u: float) -> float:
    return k * u / (1 - k * u)


@pytest.fixture
def legal_blas(monkeypatch):
    real = torch.addmm

    def addmm(inp, m1, m2, *, beta=1, alpha=1):
        out = real(inp, m1, m2, beta=beta, alpha=alpha)
        u = torch.finfo(out.dtype).eps / 2
        mag = abs(beta) * inp.abs() + abs(alpha) * (m1.abs() @ m2.abs())
        return out + (m1.shape[1] + 1) / 2 * u * mag

    monkeypatch.setattr(torch, "addmm", addmm)


def direct_sq(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)


def direct_mmd2(x, y, kfun, estimator="unbiased"):
    """Reference estimator from explicit float64 Gram matrices ``kfun(squared distances)``."""
    Kxx, Kyy, Kxy = kfun(direct_sq(x, x)), kfun(direct_sq(y, y)), kfun(direct_sq(x, y))
    n, m = len(x), len(y)
    if estimator == "biased":
        return Kxx.mean() + Kyy.mean() - 2 * Kxy.mean()
    return ((Kxx.sum() - np.trace(Kxx)) / (n * (n - 1)) + (Kyy.sum() - np.trace(Kyy)) / (m * (m - 1))
            - 2 * Kxy.mean())


def gaussian_f32_bound(z: np.ndarray, d: int, sigma: float) -> float:
    """Error bound of a float32 Gaussian-kernel MMD^2 (float64 sums) of the pooled sample z.

    Each tile is centred on a mean of some rows, so every centred point is within the pooled
    sample's diameter D <= 2 R (R = max distance to the pooled mean): ||a||^2 + ||b||^2 <= 8 R^2.
    Squared-distance error <= 2 gamma_{2d+2} 8 R^2 (expansion, kernels.expansion_error_coef) + 8 u R^2
    (rounding of the centred coordinates moves each point by <= u |coords|); the Gaussian's slope in
    d^2 is <= 1/(2 sigma^2); exp and the scaling add <= 3u.  MMD^2 has coefficients of total weight
    1 + 1 + 2 = 4, and the float32 result rounds once more (u).
    """
    R2 = float(((z - z.mean(0)) ** 2).sum(1).max())
    dd2 = (2 * gamma(2 * d + 2, U32) + U32) * 8 * R2
    return 4 * (dd2 / (2 * sigma ** 2) + 3 * U32) + U32


# --------------------------------------------------------------------------------------------
# item 1: coincident points are exact whatever the BLAS rounding
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("grad", [False, True])
def test_sq_dists_exact_at_coincident_points_under_a_legal_blas(legal_blas, rng, grad):
    x = rng.normal(size=(9, 5)) * 3 + 2
    x[4] = x[1]
    y = np.vstack([x[[1, 6]], rng.normal(size=(4, 5))])
    xt = torch.tensor(x, requires_grad=grad)
    yt = torch.tensor(y)
    d2 = K.sq_dists(xt, yt)
    ref = direct_sq(x, y)
    got = d2.detach().numpy()
    assert got[1, 0] == 0.0 and got[4, 0] == 0.0 and got[6, 1] == 0.0
    # elsewhere: the expansion's error bound 2 gamma_{2d+2} (||a||^2 + ||b||^2) on centred inputs,
    # centring itself <= 8 u D^2 (D the pooled diameter); entries computed directly are far tighter
    z = np.vstack([x, y])
    D2 = float(direct_sq(z, z).max())
    np.testing.assert_allclose(got, ref, rtol=0, atol=(2 * gamma(12, U64) + U64) * 8 * D2)
    g = K.Distance().gram(xt, yt).detach().numpy()  # ||a|| + ||b|| - ||a - b||: 2 ||a|| exactly
    assert g[1, 0] == 2 * np.sqrt((x[1] ** 2).sum()) and g[6, 1] == 2 * np.sqrt((x[6] ** 2).sum())
    if grad:  # value from the direct formula, gradient 2 sum_j (x_i - y_j) of the same function
        (gx,) = torch.autograd.grad(d2.sum(), xt)
        np.testing.assert_allclose(gx.numpy(), 2 * (len(y) * x - y.sum(0)), rtol=0, atol=1e-12 * D2)


def test_self_gram_of_duplicates_has_exact_zero_distances(legal_blas):
    """Discrete data (many exact duplicates): every coincident pair, not only the diagonal, is 0."""
    x = torch.tensor([[0.0], [1.0], [1.0], [0.0], [1.0]], dtype=torch.float64)
    d2 = K.sq_dists(x, x.clone())
    same = (x == x.T)
    assert bool((d2[same] == 0).all()) and bool((d2[~same] == 1).all())


def test_energy_distance_of_two_point_laws_exact_under_a_legal_blas(legal_blas):
    """E[MMD^2_u] over all 2^4 2^5 samples of two two-point laws equals the population MMD^2
    (distance kernel: the energy distance, exactly 0.5).  Bound: each estimate carries <= ~2000 u
    (see test_c19_exact_expectations_by_enumeration), the weights sum to 1."""
    from itertools import product
    ax, px = np.array([[0.0], [1.0]]), np.array([0.3, 0.7])
    ay, py = np.array([[0.4], [2.0]]), np.array([0.6, 0.4])
    k = K.get("distance")
    truth = px @ k.gram(ax, ax) @ px + py @ k.gram(ay, ay) @ py - 2 * px @ k.gram(ax, ay) @ py
    assert truth == pytest.approx(0.5, abs=2 ** 12 * U64)
    e = 0.0
    for ix in product(range(2), repeat=4):
        for iy in product(range(2), repeat=5):
            w = np.prod(px[list(ix)]) * np.prod(py[list(iy)])
            e += w * dv.mmd2(ax[list(ix)], ay[list(iy)], "distance")
    assert abs(e - truth) <= 2 ** 12 * U64


# --------------------------------------------------------------------------------------------
# item 3: low precision, overflow, tiny and huge bandwidths
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("d,scale,sigma", [(512, 12.0, 300.0), (16, 2.0, 4.0)])
def test_low_precision_inputs_are_computed_in_float32(dtype, d, scale, sigma):
    """N1: float16 MMD^2 came out 0.0 (the expansion overflowed float16).  Now: float32 compute and
    result, within the float32 error bound of the float64 value of the same (rounded) inputs."""
    g = torch.Generator().manual_seed(1)
    x = (torch.randn(64, d, generator=g) * scale).to(dtype)
    y = (torch.randn(64, d, generator=g) * scale + 1).to(dtype)
    v = dv.mmd2(x, y, bandwidth=sigma)
    assert v.dtype == torch.float32
    x64, y64 = x.double().numpy(), y.double().numpy()
    ref = direct_mmd2(x64, y64, lambda r: np.exp(-r / (2 * sigma ** 2)))
    bound = gaussian_f32_bound(np.vstack([x64, y64]), d, sigma)
    assert abs(float(v) - ref) <= bound
    assert bound < 0.5 * abs(ref)  # the bound is informative: 0.0 would fail it
    assert K.Gaussian(sigma).gram(x, y).dtype == torch.float32


def test_half_precision_far_from_origin_is_finite():
    """N2: X*300 in float16 gave NaN (inf - inf)."""
    r = np.random.default_rng(0)
    X, Y = r.normal(size=(12, 2)), r.normal(size=(10, 2)) + 0.7
    x, y = torch.tensor(X * 300).half(), torch.tensor(Y * 300).half()
    v = dv.mmd2(x, y, bandwidth=300.0)
    x64, y64 = x.double().numpy(), y.double().numpy()
    ref = direct_mmd2(x64, y64, lambda q: np.exp(-q / (2 * 300.0 ** 2)))
    assert abs(float(v) - ref) <= gaussian_f32_bound(np.vstack([x64, y64]), 2, 300.0)


def _poly_f32_bound(a: np.ndarray, b: np.ndarray) -> float:
    """|float32 (a.b/d + 1)^3 - exact| <= (3 gamma_{d+2} + 4u) P with P = (|a|.|b|/d + 1)^3 (the
    inner product's bound, cubed to first order; the cube adds 2 roundings, the 1.01 covers second
    order); KID / MMD^2 coefficients weigh 4 in total."""
    d = a.shape[1]
    P = (np.abs(a) @ np.abs(b).T / d + 1) ** 3
    return 4 * 1.01 * (3 * gamma(d + 2, U32) + 4 * U32) * float(P.max())


@pytest.mark.parametrize("case", ["N3", "N4"])
def test_kid_on_float16_features_is_finite_and_accurate(case):
    """N3/N4: KID on float16 features was (NaN, NaN): the polynomial kernel cubed in float16."""
    if case == "N3":
        g = torch.Generator().manual_seed(0)
        fx = (torch.randn(64, 2048, generator=g).abs() * 3).half()
        fy = (torch.randn(64, 2048, generator=g).abs() * 3).half()
        kw = {"subsets": 2, "subset_size": 32}
    else:
        r = np.random.default_rng(0)
        fx, fy = torch.tensor(r.normal(size=(12, 2)) * 30).half(), torch.tensor(r.normal(size=(10, 2)) * 30 + 21).half()
        kw = {"subsets": 2, "subset_size": 5}
    got = dv.kid(fx, fy, **kw)
    ref = dv.kid(fx.double(), fy.double(), **kw)  # same subsets (same seed); float64
    bound = _poly_f32_bound(np.vstack([fx.double().numpy(), fy.double().numpy()]),
                            np.vstack([fx.double().numpy(), fy.double().numpy()]))
    assert np.isfinite(float(got.mean)) and np.isfinite(float(got.std))
    assert abs(float(got.mean) - float(ref.mean)) <= bound


def test_polynomial_direct_mmd_on_float16_matches_float64():
    r = np.random.default_rng(3)
    x, y = torch.tensor(r.normal(size=(20, 8)) * 20).half(), torch.tensor(r.normal(size=(15, 8)) * 20 + 5).half()
    v = dv.mmd2(x, y, "polynomial")
    assert v.dtype == torch.float32
    x64, y64 = x.double().numpy(), y.double().numpy()
    ref = float(dv.mmd2(x64, y64, "polynomial"))
    z = np.vstack([x64, y64])
    assert abs(float(v) - ref) <= _poly_f32_bound(z, z) + U32 * abs(ref)


@pytest.mark.parametrize("case", ["N5", "N6", "N9", "linear"])
def test_overflowing_polynomial_and_linear_kernels_raise(case):
    """N5 / N6 / N9: the cube overflowed and the estimate was NaN; the MMD^2 itself is beyond the
    dtype's range, so the answer is a ValueError naming the samples and the kernel."""
    r = np.random.default_rng(0)
    X, Y = r.normal(size=(12, 2)), r.normal(size=(10, 2)) + 0.7
    if case == "N5":
        call = lambda: dv.kid(torch.tensor(X * 1e13, dtype=torch.float32),  # noqa: E731
                              torch.tensor(Y * 1e13, dtype=torch.float32), subsets=2, subset_size=5)
        kname = "Polynomial"
    elif case == "N6":
        call = lambda: dv.kid(X * 1e110, Y * 1e110, subsets=2, subset_size=5)  # noqa: E731
        kname = "Polynomial"
    elif case == "N9":
        call = lambda: dv.mmd2(X * 1e110, Y * 1e110, "polynomial")  # noqa: E731
        kname = "Polynomial"
    else:
        call = lambda: dv.mmd2(X * 1e160, Y * 1e160, "linear")  # noqa: E731
        kname = "Linear"
    with pytest.raises(ValueError, match=rf"^(x|y|x, y): the {kname} kernel overflows"):
        call()
    for f in (dv.mmd2_variance, lambda a, b, kern: dv.mmd_test(a, b, kern, n_permutations=5),
              lambda a, b, kern: dv.mmd2(a, b, kern, estimator="linear")):
        with pytest.raises(ValueError, match="overflows"):
            f(X * 1e110, Y * 1e110, "polynomial")


@pytest.mark.parametrize("scale,dtype,bw", [(1e20, torch.float32, 1e20), (1e155, torch.float64, 1e155),
                                            (1e155, torch.float64, 1.0), (1e-160, torch.float64, 1e-160)])
def test_huge_and_tiny_data_give_the_scaled_value(scale, dtype, bw):
    """N7 (float32 X*1e20, bandwidth 1e20) and N8 (float64 X*1e155) were NaN: the squares
    overflowed.  The kernel is scale free, so the value is that of the unscaled data (direct
    float64 oracle on the rounded inputs divided back by ``scale``)."""
    r = np.random.default_rng(0)
    X, Y = r.normal(size=(12, 2)), r.normal(size=(10, 2)) + 0.7
    x, y = torch.tensor(X * scale, dtype=dtype), torch.tensor(Y * scale, dtype=dtype)
    v = float(dv.mmd2(x, y, bandwidth=bw))
    xs, ys = x.double().numpy() / scale, y.double().numpy() / scale
    with np.errstate(over="ignore"):  # (bw / scale)^2 = 1e-310 when bw = 1: k = 0 off the diagonal
        ref = direct_mmd2(xs, ys, lambda q: np.exp(-q / (2 * (bw / scale) ** 2)))
    z = np.vstack([xs, ys])
    tol = gaussian_f32_bound(z, 2, bw / scale) if dtype == torch.float32 else 2 ** 10 * U64
    assert abs(v - ref) <= tol
    e = float(dv.mmd2(x, y, "distance", estimator="biased"))  # energy distance, scale 1e155 included
    e_ref = (2 * cdist(xs, ys).mean() - cdist(xs, xs).mean() - cdist(ys, ys).mean()) * scale
    rel = 64 * gamma(6, U32 if dtype == torch.float32 else U64) * float(cdist(z, z).max()) / abs(e_ref / scale)
    assert e == pytest.approx(e_ref, rel=rel)


@pytest.mark.parametrize("bw", [1e-20, 1e-200])
def test_tiny_bandwidth_diagonal_is_one_no_nan_no_zero_division(bw):
    """N10: float32 with bandwidth 1e-20 gave NaN (0 * inf on the diagonal); 1e-200 raised
    ZeroDivisionError.  Exactly: off-diagonal k = 0, diagonal k = 1, so biased MMD^2 = 1/n + 1/m,
    unbiased = linear = 0, and the permutation test's statistic is 0."""
    r = np.random.default_rng(0)
    X, Y = r.normal(size=(12, 2)), r.normal(size=(10, 2)) + 0.7
    for x, y in ((X, Y), (torch.tensor(X, dtype=torch.float32), torch.tensor(Y, dtype=torch.float32))):
        b = float(dv.mmd2(x, y, estimator="biased", bandwidth=bw))
        assert b == pytest.approx(1 / 12 + 1 / 10, rel=4 * U32)
        assert float(dv.mmd2(x, y, bandwidth=bw)) == 0.0
        assert float(dv.mmd2(x, y, estimator="linear", bandwidth=bw)) == 0.0
        assert dv.mmd_test(x, y, bandwidth=bw, n_permutations=9).statistic == 0.0
        assert float(dv.mmd2(x, y, "mix_gaussian", estimator="biased", sigmas=(bw, 2 * bw))) == pytest.approx(
            2 * (1 / 12 + 1 / 10), rel=4 * U32)
    w = dv.mmd_witness(X, X, Y, bandwidth=bw)
    np.testing.assert_array_equal(w, np.full(12, 1 / 12))


def test_tiny_bandwidth_gradient_is_finite():
    r = np.random.default_rng(0)
    x = torch.tensor(r.normal(size=(6, 2)), requires_grad=True)
    y = torch.tensor(r.normal(size=(5, 2)))
    for kern, kp in (("gaussian", {"bandwidth": 1e-200}), ("rq", {"lengthscale": 1e-200}),
                     ("imq", {"scale": 1e-200})):
        (g,) = torch.autograd.grad(dv.mmd2(x, y, kern, estimator="biased", **kp), x)
        assert torch.isfinite(g).all() and float(g.abs().max()) == 0.0


# --------------------------------------------------------------------------------------------
# integer-like arguments
# --------------------------------------------------------------------------------------------
BAD_INTS = [float("inf"), None, 1.5, float("nan"), "a"]


@pytest.mark.parametrize("bad", BAD_INTS, ids=repr)
def test_integer_arguments_name_themselves(bad):
    r = np.random.default_rng(0)
    X, Y = r.normal(size=(6, 2)), r.normal(size=(5, 2))
    calls = {
        "n_permutations": lambda: dv.mmd_test(X, Y, n_permutations=bad),
        "seed": lambda: dv.mmd_test(X, Y, seed=bad),
        "degree": lambda: dv.mmd2(X, Y, "polynomial", degree=bad),
    }
    if bad is not None:  # block_size=None is the documented default (2048)
        calls["block_size"] = lambda: dv.mmd2(X, Y, block_size=bad)
        calls["block_size "] = lambda: dv.mmd2_variance(X, Y, block_size=bad)
        calls["block_size  "] = lambda: dv.mmd_witness(X, X, Y, block_size=bad)
        calls["block_size   "] = lambda: dv.mmd_test(X, Y, block_size=bad, n_permutations=3)
    for name, call in calls.items():
        with pytest.raises(ValueError, match=rf"^{name.strip()}: must be an integer"):
            call()


def test_polynomial_parameters_name_themselves():
    with pytest.raises(ValueError, match="^degree: must be an integer"):
        K.Polynomial(degree=float("nan"))
    with pytest.raises(ValueError, match="^degree: must be >= 1"):
        K.Polynomial(degree=0)
    with pytest.raises(ValueError, match="^coef0"):
        K.Polynomial(coef0="a")
    with pytest.raises(ValueError, match="^coef0"):
        K.Polynomial(coef0=-1.0)
    with pytest.raises(ValueError, match="^seed: must be < 2"):
        dv.mmd_test(np.zeros((3, 1)), np.ones((3, 1)), seed=2 ** 64)
    assert K.Polynomial(degree=3.0).degree == 3 and dv.mmd_test(np.zeros((3, 1)), np.ones((3, 1)),
                                                                n_permutations=4.0).n_permutations == 4
