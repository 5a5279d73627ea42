"""Exact OT's cost matrix is built in one buffer without autograd and agrees with the autograd
form; exact OT past its size threshold warns about time and memory (issue 14 item 1)."""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest
import torch

import divergences as dv
W = importlib.import_module("divergences.wasserstein")  # the module (dv.wasserstein is the function)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_in_place_cost_equals_the_autograd_form(p: float) -> None:
    """n m d = 4.5e6 > the direct-difference limit: the autograd path uses the expansion
    ||x||^2 + ||y||^2 - 2 x.y; the no-grad float64 path at d = 2 takes scipy's cdist (exact
    differences, error a few u of each entry), so the two agree within the expansion's rounding
    bound (d + 2) u (|x|^2 + |y|^2) per term, twice; the p-th power of the root carries it as
    (p/2) sq^(p/2-1) |delta sq|."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1500, 2, generator=g, dtype=torch.float64)
    y = torch.randn(1500, 2, generator=g, dtype=torch.float64) + 0.5
    assert 1500 * 1500 * 2 > W._DIRECT_DIFF_LIMIT
    with torch.no_grad():
        lean = W._cost(x, y, p)
    xg = x.clone().requires_grad_(True)
    ref = W._cost(xg, y, p).detach()
    c = torch.cat([x, y]).mean(0)
    norms = ((x - c) ** 2).sum(1)[:, None] + ((y - c) ** 2).sum(1)[None, :]
    u = 2.0 ** -53
    dsq = 2 * 2 * (2 + 2) * u * norms
    exact = torch.cdist(x, y) ** 2
    if p == 2:
        bound = dsq
    else:  # |a^(p/2) - b^(p/2)| <= (p/2) max(a, b)^(p/2 - 1) |a - b| for p >= 2; sqrt: |a - b| / (sqrt a + sqrt b)
        top = (exact + dsq).clamp_min(1e-300)
        bound = (dsq.sqrt() if p == 1 else (p / 2) * top ** (p / 2 - 1) * dsq) + 8 * u * ref.abs()
    assert bool(((lean - ref).abs() <= bound).all())
    assert lean.shape == (1500, 1500) and bool((lean >= 0).all())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("d", [2, 20])
@pytest.mark.parametrize("grad", [False, True])
@pytest.mark.parametrize("p", [1.0, 2.0])
def test_every_direct_cost_path_is_within_its_rounding_bound(dtype: torch.dtype, d: int, grad: bool, p: float) -> None:
    """n m d <= the direct limit: each path (scipy cdist for float64 without autograd and d <= 16,
    coordinate-by-coordinate sums for float32 or autograd, the (n, m, d) broadcast for d > 16)
    sums exact-ish squared differences of the centred samples.  Against float64 differences of
    the same inputs: centring moves each difference by <= u (|xc_k| + |yc_k|), the difference,
    square and d-term sum add <= (d + 3) u sq, so |sq_hat - sq| <= (d + 4) u sq + 2 u sum_k
    |diff_k| (|xc_k| + |yc_k|) (first order, x 1.01); the root carries it as
    |sqrt a - sqrt b| <= |a - b| / (sqrt a + sqrt b) plus its own u."""
    g = torch.Generator().manual_seed(d)
    x = (torch.randn(200, d, generator=g, dtype=torch.float64) * 3 + 5).to(dtype)
    y = (torch.randn(150, d, generator=g, dtype=torch.float64) * 2 + 4).to(dtype)
    assert 200 * 150 * d <= W._DIRECT_DIFF_LIMIT
    xr = x.clone().requires_grad_(grad)
    with torch.set_grad_enabled(grad):
        got = W._cost(xr, y, p)
    assert got.dtype == dtype and got.shape == (200, 150) and got.requires_grad == grad
    if grad:  # and it differentiates: d sum_j ||x_i - y_j|| / dx_i = sum_j (x_i - y_j) / ||x_i - y_j||
        got.sum().backward()
        assert xr.grad is not None and bool(torch.isfinite(xr.grad).all())
    got = got.detach().double()
    u = torch.finfo(dtype).eps / 2
    x64, y64 = x.double(), y.double()
    c = torch.cat([x64, y64]).mean(0)
    diff = x64[:, None, :] - y64[None, :, :]
    sq = (diff ** 2).sum(-1)
    spread = (diff.abs() * ((x64 - c).abs()[:, None, :] + (y64 - c).abs()[None, :, :])).sum(-1)
    dsq = 1.01 * ((d + 4) * u * sq + 2 * u * spread) + (d + 4) * u * float(c.abs().max()) ** 2 * 2 ** -40
    if p == 2:
        bound, exact = dsq, sq
    else:
        exact = sq.sqrt()
        bound = dsq / (exact + (sq - dsq).clamp_min(0).sqrt()).clamp_min(1e-300) + 2 * u * exact
    assert bool(((got - exact).abs() <= bound).all()), float(((got - exact).abs() / bound).max())


def test_exact_ot_value_is_the_dot_of_plan_and_cost() -> None:
    """W_1 on a small problem equals POT's emd2 on the same cost within float64 summation error."""
    import ot

    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((60, 3)), rng.standard_normal((50, 3)) + 1.0
    M = np.sqrt(((x[:, None] - y[None]) ** 2).sum(-1))
    ref = ot.emd2(np.full(60, 1 / 60), np.full(50, 1 / 50), M)
    got = dv.wasserstein(x, y, 1.0)
    assert abs(got - ref) <= 60 * 50 * 2.0 ** -52 * M.max()


def test_large_exact_ot_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(W, "EXACT_OT_WARN_ENTRIES", 99)
    x = np.arange(20.0).reshape(10, 2)
    with pytest.warns(W.OTSizeWarning, match=r"10 x 10 points.*sliced_wasserstein"):
        dv.wasserstein(x, x + 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", W.OTSizeWarning)
        dv.wasserstein(x[:9], x[:9] + 1.0)  # 81 entries: below the threshold, no warning
