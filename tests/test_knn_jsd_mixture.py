"""C05: JSD through the kNN KL estimator against an independent mixture sample, ``dv.knn_jsd_mixture``.

Oracle: the Wang-Kulkarni-Verdu estimator (2009, eq. 5) written out with scipy ``cdist``:
``KL_hat(P||M) = (d/n) sum_i log(nu_k(i) / rho_k(i)) + log(l / (n - 1))`` and
``JSD_hat = (KL_hat(P||M) + KL_hat(Q||M)) / 2``.  The two implementations form distances differently
(cdist vs exact differences after a power-of-two rescaling), each with relative error <= (d + 2) u, so
each log-ratio differs by <= 2 (d + 2) u and the mean by that much (times d): tolerance
``4 d (d + 2) u`` on each KL term plus the rounding of the sums.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

import divergences as dv

U = 2.0 ** -53


def _wkv(a: np.ndarray, m: np.ndarray, k: int) -> float:
    n, d = a.shape
    daa = cdist(a, a)
    np.fill_diagonal(daa, np.inf)
    rho = np.sort(daa, axis=1)[:, k - 1]
    nu = np.sort(cdist(a, m), axis=1)[:, k - 1]
    return d * float(np.mean(np.log(nu / rho))) + math.log(len(m) / (n - 1))


@pytest.mark.parametrize("k,d", [(1, 1), (3, 2), (2, 5)])
def test_c05_knn_jsd_mixture_equals_written_out_estimator(k: int, d: int, rng: np.random.Generator) -> None:
    x = rng.normal(size=(40, d))
    y = rng.normal(0.5, 1.3, size=(33, d))
    mix = np.concatenate([rng.normal(size=(27, d)), rng.normal(0.5, 1.3, size=(24, d))])
    want = 0.5 * (_wkv(x, mix, k) + _wkv(y, mix, k))
    got = dv.knn_jsd_mixture(x, y, mix, k)
    scale = 0.5 * (abs(_wkv(x, mix, k)) + abs(_wkv(y, mix, k))) + math.log(60)
    assert isinstance(got, float)
    assert abs(got - want) <= 8 * d * (d + 2) * U * scale + 64 * U * scale
    # it is the average of the two KL estimates of dv.knn_kl (same code path, bit for bit)
    assert got == 0.5 * (dv.knn_kl(x, mix, k) + dv.knn_kl(y, mix, k))
    tt = dv.knn_jsd_mixture(torch.as_tensor(x), torch.as_tensor(y), torch.as_tensor(mix), k)
    assert isinstance(tt, torch.Tensor) and tt.item() == got


def test_c05_knn_jsd_mixture_is_scale_and_shift_invariant(rng: np.random.Generator) -> None:
    """Distance ratios only.  Data on the dyadic grid 2^-10 Z (|x| < 2^10): multiplying by 8 and
    shifting by 3 are exact, and so are all coordinate differences, hence every distance changes by
    an exact factor (or not at all): the estimate is bit-for-bit the same."""
    grid = lambda shape, c: (rng.integers(-2**19, 2**19, size=shape) + c * 2**10) / 2**10  # noqa: E731
    x, y, mix = grid((30, 2), 0), grid((30, 2), 1), grid((30, 2), 0)
    base = dv.knn_jsd_mixture(x, y, mix)
    assert dv.knn_jsd_mixture(8.0 * x, 8.0 * y, 8.0 * mix) == base
    assert dv.knn_jsd_mixture(x + 3.0, y + 3.0, mix + 3.0) == base


@pytest.mark.parametrize("call,match", [
    (lambda: dv.knn_jsd_mixture(np.zeros((5, 1)) + np.arange(5)[:, None], np.ones((5, 1)) + np.arange(5)[:, None],
                                np.ones((5, 2))), "mixture"),
    (lambda: dv.knn_jsd_mixture(np.arange(5.0), np.arange(5.0) + 0.5, np.arange(2.0) + 0.25, k=3), "mixture"),
    (lambda: dv.knn_jsd_mixture(np.arange(5.0), np.arange(2.0), np.arange(5.0) + 0.25, k=2), "y"),
    (lambda: dv.knn_jsd_mixture(np.arange(5.0), np.arange(5.0) + 0.5, np.arange(5.0) + 0.25, k=0), "k"),
    (lambda: dv.knn_jsd_mixture(np.arange(5.0), np.r_[np.arange(4.0), np.nan], np.arange(5.0)), "y"),
    (lambda: dv.knn_jsd_mixture(np.arange(5.0), np.arange(5.0) + 0.5, np.arange(5.0) + 0.5), "y, mixture"),
    (lambda: dv.knn_jsd_mixture(np.arange(5.0), np.arange(5.0) + 0.5, np.arange(5.0), zero_distance="x"),
     "zero_distance"),
])
def test_knn_jsd_mixture_bad_inputs_raise(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()
