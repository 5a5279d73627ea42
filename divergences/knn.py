"""k-nearest-neighbour estimates of KL(P || Q) and JSD(P, Q) from samples (Wang, Kulkarni & Verdu 2009).

``knn_kl`` is the KL estimator below; ``knn_jsd`` uses it with the pooled sample as the sample of
the mixture ``M = (P + Q)/2``, ``knn_jsd_mixture`` with an independent sample of M.

Estimator (Wang, Kulkarni, Verdu, IEEE Trans. Inf. Theory 55(5), 2009, eq. (5) with
k_i = l_i = k):

    KL_hat(P || Q) = (d / n) sum_{i=1}^n log( nu_k(i) / rho_k(i) ) + log( m / (n - 1) )

with ``x_1..x_n ~ P`` and ``y_1..y_m ~ Q`` in R^d, ``rho_k(i)`` the Euclidean distance from
``x_i`` to its k-th nearest neighbour among ``{x_j : j != i}`` and ``nu_k(i)`` the distance
from ``x_i`` to its k-th nearest neighbour among ``{y_j}``.  The ``log(m/(n-1))`` term is the
ratio of the two neighbour-ball volume normalisations; with the same k in both samples the
digamma corrections of the general estimator cancel.  The estimator is asymptotically
unbiased and consistent for densities (P << Q, both absolutely continuous); for finite n its
bias grows with d.  Natural logarithm (nats).

Duplicates (zero distances).  The estimator assumes continuous densities, where ties have
probability 0.  A zero ``rho_k(i)`` (x_i has k exact copies in x) or zero ``nu_k(i)`` (x_i
occurs in y) would give +inf / -inf / NaN terms.  ``zero_distance="raise"`` (default) raises
``ValueError`` saying how many points are affected; ``"drop"`` leaves those points out of the
average (the ``log(m/(n-1))`` term keeps the full sizes) and warns with the count; if every
point is affected it raises.  No infinite or NaN value is ever returned silently.

Scale: both samples are divided by one power of two near their largest magnitude before any
distance is formed (exact, and the estimates depend on distance ratios only), so data at
1e200 or 1e-200 neither overflows nor underflows to spurious duplicates.

Neighbour search: a k-d tree (scipy) in low dimension, else blocks of rows (bounded memory)
of the centred Gram form; either way the candidate distances are recomputed exactly from the
differences, so ties and zeros are exact.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch

from ._arrays import ArrayLike, common_tensors, is_torch, pow2_scale, to_output
from ._validation import as_samples, check_choice, check_int, check_same_dim

__all__ = ["knn_kl", "knn_jsd", "knn_jsd_mixture", "knn_distances"]

_BLOCK_ELEMENTS = 2_000_000  # entries of one distance block (16 MB in float64)


def _candidates_brute(q: torch.Tensor, ref: torch.Tensor, n_cand: int, exclude_self: bool,
                      offset: int = 0) -> torch.Tensor:
    """Indices of the ``n_cand`` nearest rows of ``ref`` for each row of ``q`` (blocked Gram form).

    Within a row the constant ``||q_i||^2`` does not change the order, so one ``addmm`` of
    ``||r_j||^2 - 2 q_i.r_j`` per block suffices; both samples are centred first.
    """
    n, m = q.shape[0], ref.shape[0]
    centre = torch.cat([q, ref]).mean(0, keepdim=True).detach()
    qc, rc = (q - centre).detach(), (ref - centre).detach()
    rsq = (rc * rc).sum(1)
    block = max(1, _BLOCK_ELEMENTS // max(m, 1))
    out = []
    for s in range(0, n, block):
        qb = qc[s:s + block]
        score = torch.addmm(rsq[None, :], qb, rc.T, alpha=-2.0)
        if exclude_self:
            rows = torch.arange(qb.shape[0], device=q.device)
            score[rows, rows + s + offset] = float("inf")
        out.append(torch.topk(score, n_cand, dim=1, largest=False).indices)
    return torch.cat(out)


def _candidates_kdtree(q: torch.Tensor, ref: torch.Tensor, n_cand: int) -> torch.Tensor:
    from scipy.spatial import cKDTree

    tree = cKDTree(ref.detach().cpu().double().numpy())
    _, idx = tree.query(q.detach().cpu().double().numpy(), k=n_cand)
    idx = torch.as_tensor(idx, device=q.device).reshape(q.shape[0], n_cand)
    return idx


def _kth_distance_excluding(q: torch.Tensor, ref: torch.Tensor, k: int, offset: int,
                            method: str = "auto") -> torch.Tensor:
    """k-th neighbour distance of ``q_i`` in ``ref`` without row ``offset + i`` (``q`` is the
    block ``ref[offset:offset + len(q)]``)."""
    return _kth_distance(q, ref, k, True, method, offset)


def _kth_distance(q: torch.Tensor, ref: torch.Tensor, k: int, exclude_self: bool,
                  method: str = "auto", offset: int = 0) -> torch.Tensor:
    """Exact distance from each row of ``q`` to its k-th nearest row of ``ref``.

    ``exclude_self``: ``q`` is ``ref`` and row i may not be its own neighbour (index-based, so
    exact duplicates of x_i elsewhere still count as neighbours at distance 0).
    Candidates come from a k-d tree (``method="kdtree"``; ``"auto"`` for d <= 8 on CPU) or the
    blocked Gram form (``"brute"``); their distances are then recomputed exactly from the
    differences (differentiable in ``q`` and ``ref``), so zeros and ties are exact.
    """
    m, d = ref.shape
    if method == "auto":
        method = "kdtree" if (d <= 8 and q.device.type == "cpu") else "brute"
    if method == "kdtree":
        n_cand = min(m, k + 1) if exclude_self else k
        cand = _candidates_kdtree(q, ref, n_cand)
    else:
        n_cand = min(m - (1 if exclude_self else 0), k + 2)  # slack for round-off in the Gram form
        cand = _candidates_brute(q, ref, n_cand, exclude_self, offset)
    exact = torch.linalg.vector_norm(q[:, None, :] - ref[cand], dim=-1)
    if exclude_self:
        rows = torch.arange(q.shape[0], device=q.device)[:, None] + offset
        exact = torch.where(cand == rows, torch.full_like(exact, float("inf")), exact)
    return torch.sort(exact, dim=1)[0][:, k - 1]


def knn_distances(x: ArrayLike, y: ArrayLike, k: int = 1, *, method: str = "auto") -> tuple[Any, Any]:
    """``(rho_k, nu_k)``: distances from each ``x_i`` to its k-th neighbour in ``x`` (self
    excluded) and in ``y``.  ``method``: ``"auto"``, ``"kdtree"`` (scipy cKDTree) or
    ``"brute"`` (blocked torch).  numpy in -> numpy out, torch in -> torch out."""
    check_choice(method, "method", ("auto", "kdtree", "brute"))
    as_torch = is_torch(x, y)
    xt, yt, k = _validate(x, y, k)
    xt, yt, s = _unit_scale(xt, yt)
    return (to_output(_kth_distance(xt, xt, k, True, method) * s, as_torch),
            to_output(_kth_distance(xt, yt, k, False, method) * s, as_torch))


def _validate(x: ArrayLike, y: ArrayLike, k: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    k = check_int(k, "k", minimum=1)
    xt, yt = common_tensors((x, "x"), (y, "y"))
    xt = as_samples(xt, "x", min_n=k + 1)
    yt = as_samples(yt, "y", min_n=k)
    check_same_dim(xt, yt)
    return xt, yt, k


def _unit_scale(xt: torch.Tensor, yt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Both samples divided by one power of two ``s`` near their largest magnitude (exact).

    Distances of data at 1e200 (or 1e-200) would overflow (underflow) in the squared norms;
    after scaling they are O(1).  The KL/JSD estimates depend on distance *ratios* only, so
    they are unchanged; :func:`knn_distances` multiplies its distances back by ``s``.
    """
    s = pow2_scale(xt, yt)
    return xt / s, yt / s, s


def _zero_policy(rho: torch.Tensor, nu: torch.Tensor, k: int, zero_distance: str, what: str,
                 own: str, ref: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply the duplicate policy (module docstring) to one sample's (rho, nu) pair."""
    n = rho.shape[0]
    bad = (rho <= 0) | (nu <= 0)
    n_bad = int(bad.sum())
    if not n_bad:
        return rho, nu
    n_rho, n_nu = int((rho <= 0).sum()), int((nu <= 0).sum())
    msg = (f"{what}: {n_bad} of {n} points have a zero k-th neighbour distance ({n_rho} within {own}, "
           f"{n_nu} to {ref}; k={k}): duplicated samples, so the kNN estimator (which assumes "
           f"continuous densities) is undefined there")
    if zero_distance == "raise" or n_bad == n:
        raise ValueError(msg + ("; use zero_distance='drop' to leave them out, or a larger k"
                                if n_bad < n else "; every point is affected"))
    warnings.warn(msg + f"; dropped {n_bad} points from the average", RuntimeWarning, stacklevel=3)
    keep = ~bad
    return rho[keep], nu[keep]


def knn_kl(x: ArrayLike, y: ArrayLike, k: int = 1, *, zero_distance: str = "raise",
           method: str = "auto") -> Any:
    """Wang-Kulkarni-Verdu kNN estimate of ``KL(P || Q)`` (nats) from ``x ~ P``, ``y ~ Q``.

    ``KL_hat = (d/n) sum_i log(nu_k(i) / rho_k(i)) + log(m / (n - 1))`` (module docstring;
    Wang, Kulkarni & Verdu 2009, eq. 5).  ``x``: (n, d) with ``n >= k + 1``; ``y``: (m, d)
    with ``m >= k``.  ``zero_distance``: ``"raise"`` or ``"drop"`` (see the module docstring).
    ``method``: neighbour search, ``"kdtree"`` (scipy cKDTree, O(n log n) in low d),
    ``"brute"`` (blocked torch matrix products, any d, any device) or ``"auto"`` (k-d tree
    for d <= 8 on CPU); both give the same exact distances.
    The estimate can be negative for finite samples (KL itself is >= 0).  For P not << Q
    (e.g. disjoint supports, C04/C06) the true KL is +inf while the estimate stays finite and
    grows only like ``d log(distance between supports / rho)``.
    numpy in -> float out, torch in -> 0-d tensor out (differentiable in the samples).
    """
    check_choice(zero_distance, "zero_distance", ("raise", "drop"))
    check_choice(method, "method", ("auto", "kdtree", "brute"))
    as_torch = is_torch(x, y)
    xt, yt, k = _validate(x, y, k)
    return to_output(_kl_estimate(xt, yt, k, zero_distance, method, "x", "y"), as_torch)


def _kl_estimate(xt: torch.Tensor, yt: torch.Tensor, k: int, zero_distance: str, method: str,
                 own: str, ref: str) -> torch.Tensor:
    """The Wang-Kulkarni-Verdu estimate (module docstring) of validated samples; ``own``, ``ref``
    name them in duplicate errors."""
    xt, yt, _ = _unit_scale(xt, yt)
    n, d = xt.shape
    m = yt.shape[0]
    rho = _kth_distance(xt, xt, k, True, method)
    nu = _kth_distance(xt, yt, k, False, method)
    rho, nu = _zero_policy(rho, nu, k, zero_distance, f"{own}, {ref}", own, ref)
    return d * torch.log(nu / rho).mean() + math.log(m / (n - 1))


def knn_jsd(x: ArrayLike, y: ArrayLike, k: int = 1, *, zero_distance: str = "raise",
            method: str = "auto") -> Any:
    """kNN estimate of ``JSD(P, Q) = 1/2 KL(P || M) + 1/2 KL(Q || M)``, ``M = (P + Q)/2``
    (1/2 convention, nats, ``<= log 2``; C05).

    Each KL term is the Wang-Kulkarni-Verdu estimator with the pooled sample as the sample of
    M, the point itself left out:
    ``KL_hat(P || M) = (d/n) sum_i log(nu_k(i) / rho_k(i)) + log((n + m - 1)/(n - 1))`` with
    ``nu_k(i)`` the k-th neighbour distance of ``x_i`` in the pool minus ``x_i`` (and the same
    with the roles of x and y swapped).  Since the pool contains the sample, ``nu_k <= rho_k``
    and the estimate never exceeds ``1/2 log((n+m-1)/(n-1)) + 1/2 log((n+m-1)/(m-1))``
    (``log 2 + O(1/n)`` for n = m).  With disjoint, well separated supports every neighbour
    is from the own sample, ``nu_k = rho_k``, and the estimate is that maximum, ~ ``log 2``
    (unlike :func:`knn_kl`, which cannot represent ``KL = inf``).  The pooled sample is a
    sample of M only approximately (n != m, the left-out point): O(1/n) bias.  Duplicates as
    in :func:`knn_kl`.
    """
    check_choice(zero_distance, "zero_distance", ("raise", "drop"))
    check_choice(method, "method", ("auto", "kdtree", "brute"))
    as_torch = is_torch(x, y)
    xt, yt, k = _validate(x, y, k)
    xt, yt, _ = _unit_scale(xt, yt)
    if yt.shape[0] < k + 1:
        raise ValueError(f"y: needs at least {k + 1} samples for this estimator, got {yt.shape[0]}")
    n, d = xt.shape
    m = yt.shape[0]
    pool = torch.cat([xt, yt])
    halves = []
    for s, own, offset, what in ((xt, n, 0, "x"), (yt, m, n, "y")):
        rho = _kth_distance(s, s, k, True, method)
        # neighbours in the pool minus the point itself: index-based exclusion at its position
        nu = _kth_distance_excluding(s, pool, k, offset, method)
        rho, nu = _zero_policy(rho, nu, k, zero_distance, what, what, "the pooled sample")
        halves.append(d * torch.log(nu / rho).mean() + math.log((n + m - 1) / (own - 1)))
    return to_output(0.5 * (halves[0] + halves[1]), as_torch)


def knn_jsd_mixture(x: ArrayLike, y: ArrayLike, mixture: ArrayLike, k: int = 1, *,
                    zero_distance: str = "raise", method: str = "auto") -> Any:
    """kNN estimate of ``JSD(P, Q)`` from ``x ~ P``, ``y ~ Q`` and an independent sample of ``M = (P + Q)/2``.

    ``JSD_hat = 1/2 KL_hat(P || M) + 1/2 KL_hat(Q || M)`` (1/2 weights, nats; C05), each term the
    Wang-Kulkarni-Verdu estimator :func:`knn_kl` (Wang, Kulkarni & Verdu 2009, eq. 5) of ``x``
    (resp. ``y``) against ``mixture``.  ``mixture``: (l, d) draws of M independent of ``x`` and
    ``y`` (e.g. a Binomial(l, 1/2) number of fresh draws of P, the rest of Q).  Unlike
    :func:`knn_jsd`, whose pooled "mixture" contains the point itself (so ``nu_k <= rho_k`` and
    the estimate is capped near ``log 2``), the independent sample has no zero distances to the
    data and each KL term is consistent for densities; the estimate is not clipped to
    ``[0, log 2]`` and for disjoint supports it is finite but not ``log 2`` (the kNN KL estimator
    assumes densities).  ``x``, ``y`` need ``>= k + 1`` rows and ``mixture`` ``>= k``; duplicates and
    ``method`` as in :func:`knn_kl`.  numpy in -> float, torch in -> 0-d tensor.
    """
    check_choice(zero_distance, "zero_distance", ("raise", "drop"))
    check_choice(method, "method", ("auto", "kdtree", "brute"))
    k = check_int(k, "k", minimum=1)
    xt, yt, mt = common_tensors((x, "x"), (y, "y"), (mixture, "mixture"))
    xt = as_samples(xt, "x", min_n=k + 1)
    yt = as_samples(yt, "y", min_n=k + 1)
    mt = as_samples(mt, "mixture", min_n=k)
    check_same_dim(xt, yt)
    check_same_dim(xt, mt, "x", "mixture")
    kl_p = _kl_estimate(xt, mt, k, zero_distance, method, "x", "mixture")
    kl_q = _kl_estimate(yt, mt, k, zero_distance, method, "y", "mixture")
    return to_output(0.5 * (kl_p + kl_q), is_torch(x, y, mixture))
