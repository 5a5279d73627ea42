"""Balanced symmetric tiling of the Gram sums (mmd._tile_size) and KID on float32 numpy features."""

import contextlib

import numpy as np
import torch

import divergences as dv
from divergences import kernels as K
from divergences.mmd import _tile_size


def test_tile_size_bounds():
    for n in (1, 511, 512, 1000, 2000, 5000):
        for bs in (1, 100, 2048):
            t = _tile_size(n, bs, True, 2048)
            assert 1 <= t <= bs
            T = -(-n // t)
            if n >= 512 and bs >= 2:
                assert T >= 2  # the symmetric saving needs at least two tiles per side
    assert _tile_size(2000, 2048, True, 64) == 2048  # small d: one tile (elementwise work dominates)
    assert _tile_size(2000, 2048, False, 2048) == 2048


def test_tiled_mmd_matches_full_gram_float64():
    # d = 300, n = 600: the symmetric sums use 2 tiles per side; compare with the dense Gram.
    g = torch.Generator().manual_seed(3)
    x = torch.randn(600, 300, generator=g, dtype=torch.float64)
    y = 1.1 * torch.randn(550, 300, generator=g, dtype=torch.float64) + 0.05
    k = K.get("gaussian", bandwidth=300 ** 0.5)
    val = dv.mmd2(x, y, k)
    ref = dv.mmd2_from_gram(k(x, x), k(y, y), k(x, y))
    # sums of ~n^2 entries in [0, 1], float64: error <= n^2 * n eps-ish, far below 1e-10
    assert abs(float(val) - float(ref)) <= 1e-10
    var = dv.mmd2_variance(x, y, k)
    var_one_tile = dv.mmd2_variance(x, y, k, block_size=100000)
    assert abs(float(var) - float(var_one_tile)) <= 1e-10 * max(1.0, abs(float(var)))


def test_kid_float32_numpy_stays_float32():
    rng = np.random.default_rng(0)
    fx = np.maximum(rng.standard_normal((700, 300)), 0).astype(np.float32)
    fy = np.maximum(rng.standard_normal((700, 300)) + 0.1, 0).astype(np.float32)
    r_np = dv.kid(fx, fy, subsets=3, subset_size=600)
    r_t = dv.kid(torch.from_numpy(fx), torch.from_numpy(fy), subsets=3, subset_size=600)
    assert isinstance(r_np.mean, float)
    assert r_np.mean == float(r_t.mean) and r_np.std == float(r_t.std)  # same float32 computation
    r64 = dv.kid(fx.astype(np.float64), fy.astype(np.float64), subsets=3, subset_size=600)
    # float32 Gram entries ~ O(10) with relative error ~ d * 2^-24; the estimate is O(0.1)
    assert abs(r_np.mean - r64.mean) <= 1e-3


@contextlib.contextmanager
def _torch_threads(n: int):
    """torch's intra-op thread count set to ``n`` for the block, restored after (uses_syrk reads it)."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def test_gram_product_syrk_path_is_symmetric_and_within_the_inner_product_bound():
    """``gram_product(x, x)`` on the CPU without autograd runs as BLAS syrk (one triangle): exactly
    symmetric, and every entry within the inner-product bound ``gamma_d sum_k |x_ik x_jk|`` of the
    float64 product (Higham 2002, eq. 3.5), as any summation order is."""
    g = torch.Generator().manual_seed(5)
    x = torch.randn(300, 257, generator=g, dtype=torch.float32)
    with _torch_threads(1):
        assert K.uses_syrk(x, x)
        p = K.gram_product(x, x)
    assert p.dtype == torch.float32 and p.shape == (300, 300)
    assert torch.equal(p, p.T)
    exact = x.double() @ x.double().T
    u = 2.0**-24
    d = x.shape[1]
    bound = (d * u / (1 - d * u)) * (x.double().abs() @ x.double().abs().T)
    assert bool(((p.double() - exact).abs() <= bound).all())


def test_gram_product_falls_back_to_torch_when_it_must():
    """Autograd, distinct operands, few rows or columns, half precision, or several torch threads
    with a small product: ``torch.mm`` (gradients flow)."""
    g = torch.Generator().manual_seed(6)
    with _torch_threads(1):
        x = torch.randn(100, 300, generator=g, dtype=torch.float64, requires_grad=True)
        assert not K.uses_syrk(x, x)
        K.gram_product(x, x).sum().backward()
        assert torch.allclose(x.grad, 2 * x.detach().sum(0).expand_as(x), rtol=1e-12, atol=1e-12)
        y = torch.randn(100, 300, generator=g, dtype=torch.float64)
        assert not K.uses_syrk(y, y.clone()) and not K.uses_syrk(y[:10], y[:10])
        z = y[:, :8]
        assert not K.uses_syrk(z, z)
        assert not K.uses_syrk(y.half(), y.half()) and K.uses_syrk(y, y)
    with _torch_threads(2):
        assert not K.uses_syrk(y, y)  # 100^2 * 300 multiply-adds: far below the multi-thread threshold


def test_tile_size_keeps_one_tile_when_the_diagonal_runs_as_syrk():
    assert _tile_size(1000, 1000, True, 2048, syrk=True) == 1000
    assert _tile_size(1000, 1000, True, 2048, syrk=False) == 500


def test_mmd_and_kid_agree_between_syrk_and_general_paths():
    """The same estimate through the syrk self-Grams (no grad) and through torch.mm (grad on): the
    two differ only by the rounding of the products, bounded here by the float32 inner-product
    bound summed over the Gram (values O(1), n^2 entries of error <= gamma_d * O(d) each)."""
    g = torch.Generator().manual_seed(7)
    x = torch.relu(torch.randn(600, 300, generator=g))
    y = torch.relu(torch.randn(600, 300, generator=g)) * 1.05
    for kern in (K.get("polynomial"), K.get("gaussian", bandwidth=10.0)):
        with _torch_threads(1):
            assert K.uses_syrk(x, x)
            fast = float(dv.mmd2(x, y, kern))
        slow = float(dv.mmd2(x.clone().requires_grad_(), y, kern).detach())
        d, u = 300, 2.0**-24
        # each Gram entry's argument is off by <= gamma_d * (sum |x_ik x_jk|) / d ~ d u for these
        # features; the cubic (or the exponential's slope) multiplies it by <= 3 (1 + 1)^2 = 12
        assert abs(fast - slow) <= 12 * 4 * d * u, (kern, fast, slow)


def test_gram_product_runs_distinct_operands_through_numpy_gemm_within_the_inner_product_bound():
    """``gram_product(x, y)`` with ``y`` another tensor (KID's ``Kxy``) goes to numpy's gemm under the
    same conditions as syrk; each entry is within ``gamma_d sum_k |x_ik y_jk|`` of the float64
    product (Higham 2002, eq. 3.5), whatever the BLAS's summation order."""
    g = torch.Generator().manual_seed(8)
    x = torch.randn(300, 257, generator=g, dtype=torch.float32)
    y = torch.randn(200, 257, generator=g, dtype=torch.float32)
    with _torch_threads(1):
        assert K.uses_numpy_blas(x, y) and not K.uses_syrk(x, y)
        p = K.gram_product(x, y)
        pt = K.gram_product(x, y.T.contiguous().T)  # an F-ordered operand is used as it is
    assert p.dtype == torch.float32 and p.shape == (300, 200)
    exact = x.double() @ y.double().T
    d, u = x.shape[1], 2.0**-24
    bound = (d * u / (1 - d * u)) * (x.double().abs() @ y.double().abs().T)
    for q in (p, pt):
        assert bool(((q.double() - exact).abs() <= bound).all())
    assert not K.uses_numpy_blas(x, y.double())  # mixed dtypes: torch decides (and raises)
    with _torch_threads(1):
        yg = y.clone().requires_grad_(True)
        assert not K.uses_numpy_blas(x, yg)
        K.gram_product(x, yg).sum().backward()
        # d/dy_j sum(x y^T) = sum_i x_i: both sides are float32 sums of n terms, each within
        # gamma_n sum_i |x_ik| of the exact sum (Higham 2002, eq. 3.5), whatever the order
        n, u = x.shape[0], 2.0**-24
        bound = 2 * (n * u / (1 - n * u)) * x.double().abs().sum(0)
        assert bool(((yg.grad.double() - x.double().sum(0)).abs() <= bound).all())
        assert not K.uses_numpy_blas(x, y[:10])  # few rows: the round trip costs more
    with _torch_threads(2):
        assert not K.uses_numpy_blas(x, y)  # a small product with several torch threads


def test_absmax_is_the_largest_magnitude_exactly():
    """``_absmax`` (one aminmax reduction) equals ``max |entries|`` bit for bit, whichever sign holds it."""
    g = torch.Generator().manual_seed(9)
    for dtype in (torch.float32, torch.float64):
        x = torch.randn(50, 7, generator=g, dtype=dtype)
        y = torch.randn(40, 7, generator=g, dtype=dtype)
        for t in (x, -x):
            assert torch.equal(K._absmax(t, t), t.abs().amax())
        y[3, 2] = -1e6
        assert float(K._absmax(x, y)) == 1e6
        x[0, 0] = 2e6
        assert float(K._absmax(x, y)) == 2e6


def test_scaled_sq_dists_leaves_its_inputs_unchanged():
    """Without autograd the centring and rescaling run in place on scaled copies, never on the inputs,
    and give the same bits as the out-of-place (autograd) path: the same operations in the same order."""
    g = torch.Generator().manual_seed(10)
    x = 3.0 + 100.0 * torch.randn(120, 100, generator=g, dtype=torch.float64)  # d < 256: torch addmm both ways
    y = -5.0 + 80.0 * torch.randn(90, 100, generator=g, dtype=torch.float64)
    x0, y0 = x.clone(), y.clone()
    for threads in (1, 2):
        with _torch_threads(threads):
            for a, b in ((x, y), (x, x)):
                r, s = K.scaled_sq_dists(a, b)
                assert torch.equal(x, x0) and torch.equal(y, y0)
                ag = a.clone().requires_grad_(True)
                bg = ag if b is a else b.clone().requires_grad_(True)
                rg, sg = K.scaled_sq_dists(ag, bg)
                assert torch.equal(r, rg.detach()) and torch.equal(s, sg)
