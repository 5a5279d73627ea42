"""The neighbour searches of divergences.knn: k-d tree and verified brute force give the same
k-th neighbour distances (to float64 rounding of a sum of d squares), duplicates stay exact
zeros, and near-ties / many equal distances (where the float32 candidate scores cannot separate
the candidates) fall back to a wider exact search."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import divergences as dv
from divergences import knn


def _brute_kth(q: np.ndarray, r: np.ndarray, k: int, exclude_self: bool) -> np.ndarray:
    dist = np.sqrt(((q[:, None, :] - r[None, :, :]) ** 2).sum(-1))
    if exclude_self:
        np.fill_diagonal(dist, np.inf)
    return np.sort(dist, axis=1)[:, k - 1]


@pytest.mark.parametrize("d,k", [(2, 1), (3, 5), (7, 3), (20, 2)])
def test_kdtree_and_brute_give_the_same_distances(rng, d, k):
    x, y = rng.normal(size=(300, d)), rng.normal(0.5, 1.3, size=(250, d))
    ref_rho, ref_nu = _brute_kth(x, x, k, True), _brute_kth(x, y, k, False)
    for method in ("kdtree", "brute"):
        rho, nu = dv.knn_distances(x, y, k=k, method=method)
        # a sum of d squares and a square root: relative error <= (d + 2) 2^-53 per distance
        np.testing.assert_allclose(rho, ref_rho, rtol=(d + 2) * 2.0 ** -52, atol=0)
        np.testing.assert_allclose(nu, ref_nu, rtol=(d + 2) * 2.0 ** -52, atol=0)


@pytest.mark.parametrize("method", ["kdtree", "brute"])
def test_duplicates_are_exact_zeros(rng, method):
    x, y = rng.normal(size=(120, 12)), rng.normal(size=(90, 12))
    x[7] = x[3]
    y[11] = x[50]
    rho, nu = dv.knn_distances(x, y, k=1, method=method)
    assert set(np.flatnonzero(rho == 0)) == {3, 7}
    assert set(np.flatnonzero(nu == 0)) == {50}
    with pytest.raises(ValueError, match="3 of 120 points have a zero"):
        dv.knn_kl(x, y, method=method)


def test_equal_distances_force_the_wider_search():
    """Integer lattice points: many candidates at exactly equal distance, so the float32 scores
    cannot certify the first candidate set; the result must still be the exact k-th distance."""
    g = np.random.default_rng(3)
    x = g.integers(0, 3, size=(200, 6)).astype(float) + 1e-9 * g.normal(size=(200, 6))
    y = g.integers(0, 3, size=(150, 6)).astype(float)
    for k in (1, 4):
        rho, nu = dv.knn_distances(x, y, k=k, method="brute")
        np.testing.assert_allclose(rho, _brute_kth(x, x, k, True), rtol=1e-15 * 8, atol=0)
        np.testing.assert_allclose(nu, _brute_kth(x, y, k, False), rtol=1e-15 * 8, atol=0)


def test_selection_returns_the_smallest_scores(rng):
    """_select (group minima, then the selection among the chosen groups) returns exactly the
    n_cand smallest scores of every row, as a full sort of the same float64 scores does."""
    q, r = torch.tensor(rng.normal(size=(70, 5))), torch.tensor(rng.normal(size=(3001, 5)))
    rsq = (r * r).sum(1)
    idx, top = knn._select(q, r, rsq, 6)
    score = torch.addmm(rsq[None], q, r.T, alpha=-2.0)
    want = torch.sort(score, dim=1)[0][:, :6]
    got = torch.sort(score.gather(1, idx), dim=1)[0]
    assert torch.equal(got, want)
    assert torch.equal(top, want[:, -1])


def test_brute_gradient_matches_kdtree_gradient(rng):
    x = rng.normal(size=(150, 3))
    y = rng.normal(size=(120, 3)) + 0.3
    grads = []
    for method in ("kdtree", "brute"):
        xt = torch.tensor(x, requires_grad=True)
        dv.knn_kl(xt, torch.tensor(y), k=2, method=method).backward()
        grads.append(xt.grad)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("d,k", [(1, 1), (3, 1), (3, 5), (6, 2)])
def test_tree_estimate_in_leaf_order_equals_the_formula_on_reference_distances(rng, d, k):
    """``knn_kl`` without autograd takes both tree searches in the leaf order of x's tree
    (``_tree_rho_nu``): the estimate is the formula on the brute-force distances up to the rounding
    of an n-term mean of logs (<= n 2^-53 times the mean |term|) and the distance errors
    ((d + 2) 2^-53 relative each, so <= 2 (d + 2) 2^-53 per log ratio), times d.  With duplicates and
    ``zero_distance="drop"`` the pairs (rho_i, nu_i) must stay together: the dropped points are
    those with a zero in either, and a mismatched pairing would drop other terms."""
    n, m = 400, 350
    x, y = rng.normal(size=(n, d)), rng.normal(0.4, 1.2, size=(m, d))
    x[21:22 + k - 1] = x[20]  # k + 1 copies: rho_k = 0 at points 20..20+k
    y[5:5 + k] = x[30]  # k copies in y: nu_k = 0 at point 30
    assert knn._uses_tree("auto", torch.from_numpy(x), torch.from_numpy(y))
    from scipy.spatial import cKDTree
    assert not np.array_equal(cKDTree(x, compact_nodes=False).indices, np.arange(n))  # another order
    rho, nu = _brute_kth(x, x, k, True), _brute_kth(x, y, k, False)
    keep = (rho > 0) & (nu > 0)
    assert keep.sum() == n - (k + 2)
    terms = np.log(nu[keep] / rho[keep])
    want = d * terms.mean() + np.log(m / (n - 1))
    with pytest.warns(RuntimeWarning, match=f"{n - keep.sum()} of {n} points"):
        got = dv.knn_kl(x, y, k=k, zero_distance="drop")
    tol = d * ((n + 4) * 2.0 ** -53 * np.abs(terms).mean() + 2 * (d + 2) * 2.0 ** -53) + 4 * 2.0 ** -53 * abs(want)
    assert abs(got - want) <= tol
    # a mismatched pairing (each rho with the next point's nu) drops other terms: far outside tol
    shifted = (np.roll(rho, 1) > 0) & (nu > 0)
    wrong = d * np.log(nu[shifted] / np.roll(rho, 1)[shifted]).mean() + np.log(m / (n - 1))
    assert abs(wrong - want) > 100 * tol


def test_chunked_exact_distances_equal_the_direct_differences(monkeypatch):
    """The exact re-ranking's squared distances, formed in cache-sized chunks in place, are the
    direct ``((q_i - r_c)^2).sum()`` for every chunk (small chunk size: many chunks, a ragged last
    one).  Each entry is the same d-term float64 sum; a summation-order change would be at most
    gamma_d * sum of the squares (Higham eq. 3.5), the tolerance used."""
    g = torch.Generator().manual_seed(3)
    q, r = torch.randn(301, 64, dtype=torch.float64, generator=g), torch.randn(200, 64, dtype=torch.float64, generator=g)
    cand = torch.randint(0, 200, (301, 7), generator=g)
    direct = ((q[:, None, :] - r[cand]) ** 2).sum(-1)
    monkeypatch.setattr(knn, "_EXACT_ELEMENTS", 7 * 64 * 10)  # 10 rows per chunk
    got = knn._exact_sq(q, r, cand)
    gamma = 64 * 2.0 ** -53 / (1 - 64 * 2.0 ** -53)
    assert got.shape == (301, 7)
    assert bool(((got - direct).abs() <= gamma * direct).all())
    assert not torch.equal(got, torch.zeros_like(got))


def test_large_tree_queries_use_the_callers_threads_and_give_the_same_numbers(rng, monkeypatch):
    """From ``_TREE_PARALLEL_MIN`` query points on, the k-d tree queries run on
    ``torch.get_num_threads()`` workers (1 below it, and in a 1-thread process).  Each query point is
    searched independently, so the distances, the KL estimate and ``knn_distances`` are bit-identical
    to the 1-worker search."""
    from scipy.spatial import cKDTree

    seen: list[int] = []
    real_query = cKDTree.query

    class Spy(cKDTree):
        def query(self, *args, **kwargs):
            seen.append(kwargs.get("workers", 1))
            return real_query(self, *args, **kwargs)

    monkeypatch.setattr("scipy.spatial.cKDTree", Spy)
    x, y = rng.normal(size=(600, 3)), rng.normal(0.3, 1.1, size=(500, 3))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        monkeypatch.setattr(knn, "_TREE_PARALLEL_MIN", 10 ** 9)
        one = dv.knn_kl(x, y, k=3), dv.knn_distances(x, y, k=3)
        assert seen == [1] * 4
        seen.clear()
        monkeypatch.setattr(knn, "_TREE_PARALLEL_MIN", 500)
        two = dv.knn_kl(x, y, k=3), dv.knn_distances(x, y, k=3)
        assert seen == [2] * 4
        seen.clear()
        torch.set_num_threads(1)
        dv.knn_kl(x, y, k=3)
        assert seen == [1] * 2
    finally:
        torch.set_num_threads(threads)
    assert one[0] == two[0]
    for a, b in zip(one[1], two[1]):
        np.testing.assert_array_equal(a, b)
