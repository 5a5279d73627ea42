"""``kernels.scaled_sq_dists`` skips its power-of-two scaling passes for CPU data of moderate
magnitude (``_moderate``).  Dividing by a power of two is exact, so both paths compute the same
numbers up to that power of two: the distances must agree bit for bit, the caller's tensors must
stay unwritten, and data of extreme magnitude must still take the scaled path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from divergences import kernels


def _both_paths(monkeypatch, x, y, center):
    fast_r, fast_s = kernels.scaled_sq_dists(x, y, center=center)
    with monkeypatch.context() as m:
        m.setattr(kernels, "_moderate", lambda s, like: False)
        slow_r, slow_s = kernels.scaled_sq_dists(x, y, center=center)
    return fast_r, fast_s, slow_r, slow_s


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("same", [True, False])
def test_moderate_data_give_the_scaled_paths_distances_exactly(monkeypatch, dtype, center, same):
    g = torch.Generator().manual_seed(3)
    x = (torch.randn(300, 512, generator=g, dtype=torch.float64) * 3 + 1).to(dtype)
    y = x if same else (torch.randn(200, 512, generator=g, dtype=torch.float64) * 2).to(dtype)
    if not same:
        y[7] = x[11]  # a coincident pair: exactly 0 on both paths
    x0, y0 = x.clone(), y.clone()
    fast_r, fast_s, slow_r, slow_s = _both_paths(monkeypatch, x, y, center)
    assert kernels._moderate(kernels._pow2(kernels._absmax(x, y)), x)
    assert float(fast_s) == 1.0 and float(slow_s) != 1.0  # the two paths really differ
    # r s^2 is the squared distance on both: equal after the exact power-of-two rescaling
    ratio = (slow_s / fast_s).to(dtype) ** 2
    assert torch.equal(fast_r, slow_r * ratio)
    assert torch.equal(x, x0) and torch.equal(y, y0)  # the caller's tensors are not written
    if not same:
        assert fast_r[11, 7] == 0
    else:
        assert torch.all(fast_r.diagonal() == 0)


@pytest.mark.parametrize("scale", [2.0 ** 40, 2.0 ** -40])
def test_extreme_float32_magnitudes_take_the_scaled_path(monkeypatch, scale):
    """At 2^40 the float32 squares of 512-vectors overflow (2^89 d), at 2^-40 they underflow:
    the scaled path is taken and the distances are those of the unit-scale data times scale^2."""
    g = torch.Generator().manual_seed(4)
    x, y = torch.randn(50, 512, generator=g), torch.randn(40, 512, generator=g)
    s_big = kernels._pow2(kernels._absmax(x * scale, y * scale))
    assert not kernels._moderate(s_big, x)
    r, s = kernels.scaled_sq_dists(x * scale, y * scale)
    r1, s1 = kernels.scaled_sq_dists(x, y)
    want = (r1.double() * float(s1) ** 2)
    got = r.double() * float(s) ** 2 / scale ** 2
    assert torch.isfinite(r).all() and (r > 0).all()
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=0, atol=0)


def test_moderate_needs_a_cpu_float_tensor():
    one = torch.ones(())
    assert kernels._moderate(one, torch.zeros(2, dtype=torch.float32))
    assert not kernels._moderate(one, torch.zeros(2, dtype=torch.float16))
    assert not kernels._moderate(torch.tensor(2.0 ** 17), torch.zeros(2, dtype=torch.float32))
    assert kernels._moderate(torch.tensor(2.0 ** 17), torch.zeros(2, dtype=torch.float64))
    assert not kernels._moderate(torch.tensor(2.0 ** -201, dtype=torch.float64), torch.zeros(2, dtype=torch.float64))
    assert not kernels._moderate(torch.tensor(0.0), torch.zeros(2))
    assert not kernels._moderate(torch.tensor(float("inf")), torch.zeros(2))


@pytest.mark.parametrize("same", [True, False])
def test_data_centred_far_below_their_raw_scale_are_rescaled_exactly(monkeypatch, same):
    """float32 data near 1 with a spread of 2^-20: the raw scale is moderate, the centred one is
    not (its squares would lose the float32 range margin), so the row-norm bound cannot prove it
    moderate, the largest centred magnitude is computed and the data are rescaled: the same numbers
    as the fully scaled path, bit for bit, with the same scale."""
    g = torch.Generator().manual_seed(5)
    x = 1.0 + 2.0 ** -20 * torch.randn(80, 64, generator=g)
    y = x if same else 1.0 + 2.0 ** -20 * torch.randn(70, 64, generator=g)
    fast_r, fast_s, slow_r, slow_s = _both_paths(monkeypatch, x, y, True)
    assert float(fast_s) == float(slow_s) < 2.0 ** -16
    assert torch.equal(fast_r, slow_r)


def test_row_norm_bound_proves_moderate_only_inside_its_margins():
    """``_norms_moderate``: max squared row norm M with M / d >= 2^(1-2L) and M <= 2^(2L+1)
    (float32: L = 16); zero, non-finite or empty norms prove nothing."""
    d = 64
    like = torch.zeros(1, d)
    assert kernels._norms_moderate(torch.tensor([float(d)]), torch.tensor([1.0]), like)
    assert not kernels._norms_moderate(torch.tensor([2.0 ** 33 * 1.01]), torch.tensor([1.0]), like)
    assert kernels._norms_moderate(torch.tensor([2.0 ** 33]), torch.tensor([1.0]), like)
    assert not kernels._norms_moderate(torch.tensor([d * 2.0 ** -31 * 0.99]), torch.tensor([0.0]), like)
    assert kernels._norms_moderate(torch.tensor([d * 2.0 ** -31]), torch.tensor([0.0]), like)
    assert not kernels._norms_moderate(torch.tensor([0.0]), torch.tensor([0.0]), like)
    assert not kernels._norms_moderate(torch.tensor([float("inf")]), torch.tensor([1.0]), like)
    assert not kernels._norms_moderate(torch.zeros(0), torch.tensor([1.0]), like)
    assert not kernels._norms_moderate(torch.tensor([1.0]), torch.tensor([1.0]), torch.zeros(1, d, dtype=torch.float16))
