"""Balanced symmetric tiling of the Gram sums (mmd._tile_size) and KID on float32 numpy features."""

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
