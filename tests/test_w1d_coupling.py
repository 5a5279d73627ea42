"""The 1-D exact Wasserstein core (``wasserstein._w1d_pow``), used by ``wasserstein_1d``,
``wasserstein(..., d = 1)`` and ``sliced_wasserstein`` (C13, C14; Peyre & Cuturi 2019, Remark 2.30):
the quantile coupling built from one stable merge of the cumulative weights, the numpy sort of CPU
tensors, the weighted columns taken a chunk at a time.

Tolerances: inputs with small-integer positions and dyadic weights make every step of the
computation exact in float64 (cumulative sums, interval masses, ``|x - y|^p`` for p = 1, 2, the
products and the final sum all stay on the dyadic grid far below 2^53), so the result must equal
the exact rational value of the quantile integral, computed here with ``fractions.Fraction``.
Elsewhere the bound is the float summation error of nonnegative terms (Higham 2002, eq. 4.4:
relative error <= gamma_{N-1}, N terms), or bit equality where both sides do the same operations.
"""

from __future__ import annotations

import bisect
import importlib
from fractions import Fraction

import numpy as np
import pytest
import torch

import divergences as dv

W = importlib.import_module("divergences.wasserstein")
U64 = float(np.finfo(np.float64).eps) / 2


def _quantile_integral(x: list[int], a: list[Fraction], y: list[int], b: list[Fraction], p: int) -> Fraction:
    """Exact ``int_0^1 |F^{-1}(t) - G^{-1}(t)|^p dt`` by its definition: ``F^{-1}(t) = x_(i)`` with
    ``i`` the smallest index whose cumulative weight reaches ``t`` (a binary search at each
    interval's midpoint; no code shared with the library)."""
    ox, oy = sorted(range(len(x)), key=lambda k: x[k]), sorted(range(len(y)), key=lambda k: y[k])
    xs, ys = [x[k] for k in ox], [y[k] for k in oy]
    ca, cb, s = [], [], Fraction(0)
    for k in ox:
        s += a[k]
        ca.append(s)
    s = Fraction(0)
    for k in oy:
        s += b[k]
        cb.append(s)
    cuts = sorted(set(ca) | set(cb) | {Fraction(0)})
    total = Fraction(0)
    for t0, t1 in zip(cuts[:-1], cuts[1:]):
        mid = (t0 + t1) / 2
        i = min(bisect.bisect_left(ca, mid), len(xs) - 1)
        j = min(bisect.bisect_left(cb, mid), len(ys) - 1)
        total += (t1 - t0) * abs(xs[i] - ys[j]) ** p
    return total


def _dyadic_weights(rng: np.random.Generator, n: int, bits: int = 12) -> tuple[np.ndarray, list[Fraction]]:
    """Weights ``c_k / 2^bits`` with positive integer counts summing to ``2^bits`` (exact in float64);
    small counts so that many cumulative weights of two samples coincide (tied breakpoints)."""
    total = 1 << bits
    cuts = np.sort(rng.choice(np.arange(1, total), size=n - 1, replace=False))
    counts = np.diff(np.concatenate([[0], cuts, [total]]))
    return counts / total, [Fraction(int(c), total) for c in counts]


@pytest.mark.parametrize("n,m", [(64, 256), (300, 700), (1000, 1000), (1, 5)])
@pytest.mark.parametrize("p", [1, 2])
def test_weighted_1d_equals_the_exact_quantile_integral(n, m, p):
    rng = np.random.default_rng(100 * n + m + p)
    x = rng.integers(-20, 21, size=n)           # many tied positions as well
    y = rng.integers(-15, 30, size=m)
    wa, fa = _dyadic_weights(rng, n)
    wb, fb = _dyadic_weights(rng, m)
    want = _quantile_integral(x.tolist(), fa, y.tolist(), fb, p)
    got = dv.wasserstein_1d_pow(x.astype(np.float64), y.astype(np.float64), p, wa, wb)
    assert got == float(want)
    # only one side weighted: the other is uniform 1/2^k, still dyadic
    if m in (256, 1):
        want_b = _quantile_integral(x.tolist(), fa, y.tolist(), [Fraction(1, m)] * m, p)
        assert dv.wasserstein_1d_pow(x.astype(np.float64), y.astype(np.float64), p, wa, None) == float(want_b)


@pytest.mark.parametrize("n,m", [(64, 256), (512, 128), (2, 1024)])
@pytest.mark.parametrize("p", [1, 2])
def test_uniform_unequal_sizes_equal_the_exact_quantile_integral(n, m, p):
    """Uniform weights with power-of-two sizes: every breakpoint of the smaller sample is also one of
    the larger (all ties), the case the stable merge must get right."""
    rng = np.random.default_rng(7 * n + m + p)
    x, y = rng.integers(-50, 51, size=n), rng.integers(-10, 90, size=m)
    want = _quantile_integral(x.tolist(), [Fraction(1, n)] * n, y.tolist(), [Fraction(1, m)] * m, p)
    for xx, yy in ((x.astype(np.float64), y.astype(np.float64)),
                   (torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64))):
        assert float(dv.wasserstein_1d_pow(xx, yy, p)) == float(want)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_numpy_sort_of_cpu_tensors_matches_torch_sort(dtype):
    g = torch.Generator().manual_seed(3)
    t = torch.randn(2000, 7, generator=g, dtype=dtype)
    t[::5] = t[1::5]  # ties
    ref = torch.sort(t, dim=0).values
    v, ix = W._sort0(t, True)
    assert torch.equal(v, ref) and torch.equal(torch.take_along_dim(t, ix, 0), ref)
    assert torch.equal(W._sort0(t, False)[0], ref)
    # stable: tied values keep their input order, like torch.sort(stable=True)
    _, ixs = W._sort0(t, True, stable=True)
    assert torch.equal(ixs, torch.sort(t, dim=0, stable=True).indices)
    # autograd: values gathered from the tensor itself, so gradients reach it
    tg = t.clone().requires_grad_(True)
    vg, _ = W._sort0(tg, False)
    assert vg.grad_fn is not None and torch.equal(vg.detach(), ref)
    vg.sum().backward()
    assert torch.equal(tg.grad, torch.ones_like(t))


def test_float16_and_other_devices_fall_back_to_torch_sort():
    t = torch.randn(50, 3).half()
    v, ix = W._sort0(t, True)
    assert v.dtype == torch.float16 and torch.equal(v, torch.sort(t, dim=0).values) and ix is not None


def test_gradients_match_finite_differences():
    """gradcheck of W_p^p in the positions and in the weights (no ties: the function is smooth there),
    equal and unequal sizes, uniform and weighted, several columns."""
    g = torch.Generator().manual_seed(11)
    x = torch.randn(9, 3, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    y2 = torch.randn(9, 3, generator=g, dtype=torch.float64, requires_grad=True)
    # weights live on the simplex: parametrised by softmax, so every perturbation stays a probability vector
    ua = torch.randn(9, generator=g, dtype=torch.float64, requires_grad=True)
    ub = torch.randn(6, generator=g, dtype=torch.float64, requires_grad=True)
    for p in (1.5, 2.0):
        assert torch.autograd.gradcheck(lambda x, y: W._w1d_pow(x, y, None, None, p), (x, y2))
        assert torch.autograd.gradcheck(lambda x, y: W._w1d_pow(x, y, None, None, p), (x, y))
        assert torch.autograd.gradcheck(
            lambda x, y, ua, ub: W._w1d_pow(x, y, torch.softmax(ua, 0), torch.softmax(ub, 0), p), (x, y, ua, ub))


def test_weighted_columns_chunked_agree_with_one_pass(monkeypatch):
    """Sliced W with weights: columns a chunk at a time equal one pass up to the summation order of
    each column's N = n + m nonnegative terms (both within gamma_{N-1} of the exact sum)."""
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(300, 4)), rng.normal(0.5, 1.2, size=(200, 4))
    wa = rng.random(300) + 0.1
    wa /= wa.sum()
    one = dv.sliced_wasserstein(x, y, p=2, n_projections=40, x_weights=wa)
    monkeypatch.setattr(W, "_W1D_CHUNK_ENTRIES", 3 * 500)  # 3 columns per pass
    chunked = dv.sliced_wasserstein(x, y, p=2, n_projections=40, x_weights=wa)
    N = 500
    gamma = (N - 1) * U64 / (1 - (N - 1) * U64)
    assert abs(chunked - one) <= 2 * gamma * one


def test_sliced_columns_equal_their_one_dimensional_problems():
    """Each projected column through the batched coupling equals the same column's 1-D problem
    (weighted and unequal sizes), up to the summation bound of its terms."""
    rng = np.random.default_rng(8)
    px, py = torch.tensor(rng.normal(size=(120, 6))), torch.tensor(rng.normal(1, 2, size=(90, 6)))
    a = torch.tensor(rng.random(120) + 0.1)
    a /= a.sum()
    for wa in (None, a):
        batched = W._w1d_pow(px, py, wa, None, 2.0)
        single = torch.stack([W._w1d_pow(px[:, c:c + 1], py[:, c:c + 1], wa, None, 2.0)[0] for c in range(6)])
        N = 210
        gamma = (N - 1) * U64 / (1 - (N - 1) * U64)
        assert torch.all((batched - single).abs() <= 2 * gamma * single)
