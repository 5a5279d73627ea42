"""Wasserstein distances between samples: exact (POT network simplex), 1-D by sorting,
sliced, entropic (Sinkhorn) and the Gaussian closed form.

Conventions
-----------
* ``wasserstein`` returns the **rooted** distance ``W_p = (min_pi sum_ij pi_ij ||x_i - y_j||^p)^(1/p)``;
  ``wasserstein_pow`` returns ``W_p^p`` (the optimal transport *cost*).  POT's ``ot.emd2``
  returns the cost, and with POT's default ``ot.dist`` metric (squared Euclidean) that cost
  is ``W_2^2``, not ``W_1``: here the ground cost is always ``||x - y||^p`` built in-house.
* Samples are ``(n, d)`` arrays (a 1-D array is ``n`` scalar samples); weights are
  probability vectors (default uniform ``1/n``).
* numpy in -> numpy / float out; torch in -> torch out (same device, differentiable in the
  sample positions through the envelope theorem: the gradient of the optimal cost with
  respect to the cost matrix is the optimal plan, which is held fixed).

Numerical safety (Peyre & Cuturi 2019, Sec. 2.4 and Remark 9.1 on the Gram form): the pooled sample is centred before
``||x||^2 + ||y||^2 - 2 x.y`` is formed, small problems use exact pairwise differences, and
square roots are taken with a guarded ``where`` so coincident points give a zero (sub)gradient
instead of NaN.

Convergence honesty: POT's exact solver stops silently-but-for-a-warning at ``numItermax`` and
returns a wrong cost.  ``wasserstein`` scales the limit with ``n * m``, checks POT's result
code and raises :class:`OTConvergenceError` (or warns, if asked) when the solver did not reach
optimality.

Sources: C06 (W1 = |theta| on parallel lines), C13 (Kantorovich-Rubinstein), Peyre & Cuturi
(2019) "Computational Optimal Transport" (Remark 2.30 for 1-D, Ch. 4 for Sinkhorn), Feydy
et al. (2019) "Interpolating between OT and MMD using Sinkhorn divergences" (debiasing),
Bonneel et al. (2015) (sliced Wasserstein), Schmitzer (2019) "Stabilized sparse scaling
algorithms for entropy regularized transport problems" (log domain, eps-scaling), Brauer,
Clason, Lorenz & Wirth (2017) "A Sinkhorn-Newton method for entropic optimal transport".

A cost matrix that overflows (``||x - y||^p`` beyond the dtype, e.g. data at 1e200 or p = 1e6)
raises ``ValueError``; solvers never see infinite costs.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import torch

from ._arrays import ArrayLike, common_tensors, is_torch, to_output
from ._validation import (as_samples, check_choice, check_int, check_positive, check_probability,
                          check_same_dim, check_seed)

__all__ = [
    "OTConvergenceError",
    "OTConvergenceWarning",
    "EXACT_OT_WARN_ENTRIES",
    "OTSizeWarning",
    "ground_cost",
    "wasserstein",
    "wasserstein_pow",
    "wasserstein_1d",
    "wasserstein_1d_pow",
    "sliced_wasserstein",
    "sinkhorn",
    "wasserstein_gaussian",
    "default_num_iter_max",
]

# Above this many entries of the (n, m, d) difference tensor, distances use the centred
# Gram form instead of exact differences (memory bound ~ 8 bytes * this).
_DIRECT_DIFF_LIMIT = 4_000_000
_PER_COORDINATE_MAX_D = 16  # up to this dimension the differences are summed coordinate by coordinate


class OTConvergenceError(RuntimeError):
    """The exact OT solver stopped before optimality (its cost would be wrong)."""


class OTConvergenceWarning(UserWarning):
    """Issued instead of :class:`OTConvergenceError` when ``on_nonconvergence="warn"``."""


# ----------------------------------------------------------------------------- helpers
def _safe_sqrt(sq: torch.Tensor) -> torch.Tensor:
    """sqrt with value 0 and gradient 0 (a valid subgradient of ||.||) where ``sq <= 0``."""
    pos = sq > 0
    return torch.where(pos, torch.sqrt(torch.where(pos, sq, torch.ones_like(sq))), torch.zeros_like(sq))


def _safe_root(value: torch.Tensor, p: float) -> torch.Tensor:
    """``value^(1/p)`` with gradient 0 instead of inf/NaN at ``value <= 0``."""
    if p == 1:
        return value
    pos = value > 0
    return torch.where(pos, torch.where(pos, value, torch.ones_like(value)) ** (1.0 / p),
                       torch.zeros_like(value))


def _check_p(p: float) -> float:
    check_positive(p, "p")
    p = float(p)
    if p < 1:
        raise ValueError(f"p: the Wasserstein order must be >= 1 (got {p}); W_p is not a metric for p < 1")
    return p


def _weights(w: ArrayLike | None, n: int, like: torch.Tensor, name: str) -> torch.Tensor:
    if w is None:
        return torch.full((n,), 1.0 / n, dtype=like.dtype, device=like.device)
    (wt,) = common_tensors((w, name))
    wt = wt.to(device=like.device, dtype=like.dtype)
    if wt.ndim != 1 or wt.shape[0] != n:
        raise ValueError(f"{name}: expected a probability vector of length {n}, got shape {tuple(wt.shape)}")
    check_probability(wt, name)
    return wt


def _prepare(x: ArrayLike, y: ArrayLike, x_weights: ArrayLike | None, y_weights: ArrayLike | None
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, bool]:
    as_torch = is_torch(x, y)
    xt, yt = common_tensors((x, "x"), (y, "y"))
    xt = as_samples(xt, "x")
    yt = as_samples(yt, "y")
    check_same_dim(xt, yt)
    a = _weights(x_weights, xt.shape[0], xt, "x_weights")
    b = _weights(y_weights, yt.shape[0], yt, "y_weights")
    return xt, yt, a, b, as_torch


def ground_cost(x: ArrayLike, y: ArrayLike, p: float = 1.0) -> Any:
    """Cost matrix ``C_ij = ||x_i - y_j||_2^p`` (Euclidean norm to the power p).

    The pooled sample is centred first (translation does not change C but keeps the Gram form
    ``||x||^2 + ||y||^2 - 2 x.y`` accurate for data far from the origin); when
    ``n * m * d <= 4e6`` exact differences are used instead.  Negative round-off is clamped
    to 0 and the square root has zero gradient at coincident points (no NaN).
    numpy in -> numpy out, torch in -> torch out.
    """
    p = _check_p(p)
    as_torch = is_torch(x, y)
    xt, yt = common_tensors((x, "x"), (y, "y"))
    xt, yt = as_samples(xt, "x"), as_samples(yt, "y")
    check_same_dim(xt, yt)
    return to_output(_cost(xt, yt, p), as_torch)


def _cost(x: torch.Tensor, y: torch.Tensor, p: float) -> torch.Tensor:
    """``||x_i - y_j||^p`` as one ``n x m`` tensor.

    Up to ``n m d = _DIRECT_DIFF_LIMIT`` entries the squared distances are sums of squared exact
    differences (no cancellation; coordinate by coordinate for ``d <= 16``: one ``n x m`` buffer
    and one temporary).  Larger problems use the centred Gram form below.  Float64 CPU input
    without autograd and ``d <= 16``: ``scipy.spatial.distance.cdist`` (exact differences at any
    size, one ``n x m`` output).
    Without autograd the matrix is built in place: ``||x||^2 + ||y||^2`` then ``addmm_`` (the
    ``-2 x.y`` term), ``clamp_min_``, ``sqrt_`` and ``pow_`` act on that one buffer, so the cost
    takes one ``n x m`` matrix of memory.  With autograd the out-of-place form is kept (its
    backward needs the intermediate values)."""
    n, d = x.shape
    m = y.shape[0]
    centre = torch.cat([x, y]).mean(0, keepdim=True).detach()
    xc, yc = x - centre, y - centre
    grad = torch.is_grad_enabled() and (xc.requires_grad or yc.requires_grad)
    if not grad and d <= _PER_COORDINATE_MAX_D and xc.device.type == "cpu" and xc.dtype == torch.float64:
        # scipy's cdist: the same exact differences in one compiled pass, straight into the one
        # n x m buffer (3 ms against 18 ms for the loop below at n = m = 1000, d = 2, p = 1)
        from scipy.spatial.distance import cdist

        metric = "sqeuclidean" if p == 2 else "euclidean"
        dist = torch.from_numpy(cdist(xc.numpy(), yc.numpy(), metric))
        return dist if p in (1, 2) else dist.pow_(p)
    if n * m * d <= _DIRECT_DIFF_LIMIT and d <= _PER_COORDINATE_MAX_D:
        # exact differences, one n x m pass per coordinate: the (n, m, d) broadcast reduced over
        # its short last axis took 53 ms against 18 ms for this at n = m = 1000, d = 2 (1 thread)
        sq = None
        for k in range(d):
            diff = xc[:, k, None] - yc[None, :, k]
            if sq is None:
                sq = diff * diff if grad else diff.mul_(diff)
            else:
                sq = sq + diff * diff if grad else sq.addcmul_(diff, diff)
    elif n * m * d <= _DIRECT_DIFF_LIMIT:
        sq = ((xc[:, None, :] - yc[None, :, :]) ** 2).sum(-1)
    elif grad:
        sq = ((xc * xc).sum(1)[:, None] + (yc * yc).sum(1)[None, :] - 2.0 * xc @ yc.T).clamp_min(0.0)
    else:
        sq = (xc * xc).sum(1)[:, None] + (yc * yc).sum(1)[None, :]
        sq.addmm_(xc, yc.T, alpha=-2.0).clamp_min_(0.0)
    if p == 2:
        return sq
    if grad:
        dist = _safe_sqrt(sq)
        return dist if p == 1 else dist ** p
    sq.sqrt_()  # sq >= 0 after the clamp: sqrt(0) = 0, no NaN
    return sq if p == 1 else sq.pow_(p)


def _finite_cost(x: torch.Tensor, y: torch.Tensor, p: float) -> torch.Tensor:
    """:func:`_cost`, raising ``ValueError`` when ``||x - y||^p`` overflows the dtype (rather
    than letting the solver report an infinite cost as an infeasible problem).  The entries are
    ``>= 0``, so the largest one is finite exactly when all are (NaN propagates through max)."""
    cost = _cost(x, y, p)
    if not bool(torch.isfinite(cost.detach().max())):
        raise ValueError(f"x, y: the cost ||x - y||^p overflows {cost.dtype} (p={p:g}, data of magnitude "
                         f"~{float(torch.cat([x, y]).detach().abs().max()):.3g}); rescale x, y or lower p")
    return cost


# exact OT past this many cost entries (5000 x 5000) warns about its time and memory
EXACT_OT_WARN_ENTRIES = 25_000_000


class OTSizeWarning(UserWarning):
    """Exact OT on a problem whose time (network simplex) and memory (dense n x m cost and plan)
    are large; ``sliced_wasserstein`` or ``sinkhorn`` scale better."""


def default_num_iter_max(n: int, m: int) -> int:
    """Iteration limit for POT's network simplex: ``max(1e5, 50 * n * m)``.

    POT's default (1e5) is too small from n ~ 5000 in 2-D (measured: result code 2, MAX_ITER_REACHED, and a cost
    above the optimum; tests/test_c13_c14_wasserstein.py); the number of
    pivots grows roughly like the number of variables n*m, so the limit scales with it.  A
    generous limit costs nothing when the solver converges earlier, and the result code is
    checked anyway.
    """
    return int(max(100_000, 50 * n * m))


# ----------------------------------------------------------------------------- 1-D exact
#: columns per pass of the weighted (or unequal-size) 1-D coupling: its (n + m, chunk) work arrays
#: (merged breakpoints, their order, two index arrays, two gathers) stay near ``2^20`` entries (8 MB) each
_W1D_CHUNK_ENTRIES = 1 << 20


def _sort0(t: torch.Tensor, with_index: bool, stable: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``torch.sort(t, dim=0, stable=stable)`` of an ``(n, k)`` tensor: the sorted values, and the permutation when
    ``with_index``; values that autograd tracks are gathered by the permutation (differentiable).

    CPU float32 / float64 tensors are ordered by numpy (``np.sort`` / ``np.argsort``, vectorised
    sorting networks; ``kind="stable"`` merges presorted runs in linear time).  Measured on the
    2-core AMD EPYC VM, 10^4 float64: ``np.sort`` 0.09 ms and ``np.argsort`` 0.26 ms against
    ``torch.sort`` 0.79 ms; 10^6: 14 and 48 ms against 118 ms; a stable argsort of two
    concatenated sorted runs of 10^4 and 7 000: 0.09 ms against 0.40 ms.  Ties may come out in
    another order than ``torch.sort``'s (equal values: every quantile is unchanged).  Other
    dtypes and devices use ``torch.sort``.
    """
    if t.device.type != "cpu" or t.dtype not in (torch.float32, torch.float64):
        v, ix = torch.sort(t, dim=0, stable=stable)
        return v, (ix if with_index else None)
    arr = t.detach().resolve_neg().numpy()
    grad = torch.is_grad_enabled() and t.requires_grad
    kind = "stable" if stable else None
    if not (with_index or grad):
        return torch.from_numpy(np.sort(arr, axis=0, kind=kind)), None
    ix = np.argsort(arr, axis=0, kind=kind)
    if grad:
        ixt = torch.from_numpy(ix)
        return torch.take_along_dim(t, ixt, 0), ixt
    if arr.shape[1] == 1:  # one column: a flat gather (a third of the 2-D fancy index's time at 2 x 10^4)
        return torch.from_numpy(arr[:, 0][ix[:, 0]][:, None]), torch.from_numpy(ix)
    return torch.from_numpy(arr[ix, np.arange(arr.shape[1])]), torch.from_numpy(ix)


def _quantile_coupling(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Monotone (north-west corner) coupling of sorted weight columns ``a`` (n, k) and ``b`` (m, k).

    The breakpoints of the two quantile functions are the cumulative weights ``ca``, ``cb``;
    merged and sorted they cut ``(0, 1]`` into ``n + m`` intervals, interval ``l`` being
    ``(t_{l-1}, t_l]`` with ``t_{-1} = 0``.  Returns, per column, the interval masses
    ``dt_l = t_l - t_{l-1}`` and the indices ``(i_l, j_l)`` into the sorted supports: the optimal
    1-D plan moves ``dt_l`` from ``x_(i_l)`` to ``y_(j_l)`` (Peyre & Cuturi 2019, Remark 2.30).
    ``i_l`` is the number of breakpoints of ``a`` merged before position ``l`` (clamped to
    ``n - 1``): on an interval of positive length that is ``#{ca <= t_{l-1}}``, the index of the
    quantile ``F^{-1}(t)`` for every ``t`` inside it, so one stable sort and two running counts
    replace a binary search per interval.  Intervals of length zero (tied breakpoints) carry no
    mass.  All outputs ``(n + m, k)``.
    """
    n, m = a.shape[0], b.shape[0]
    levels, order = _sort0(torch.cat([torch.cumsum(a, 0), torch.cumsum(b, 0)]), True, stable=True)
    from_a = order < n
    i = torch.cumsum(from_a, 0) - from_a.long()  # breakpoints of a before position l
    j = torch.arange(n + m, device=a.device)[:, None] - i  # the rest of the l positions before l are b's
    levels = levels.clamp(max=1.0)
    dt = torch.diff(levels, dim=0, prepend=levels.new_zeros((1, levels.shape[1]))).clamp_min_(0.0)
    return dt, i.clamp_(max=n - 1), j.clamp_(max=m - 1)


def _w1d_pow(x: torch.Tensor, y: torch.Tensor, a: torch.Tensor | None, b: torch.Tensor | None,
             p: float) -> torch.Tensor:
    """W_p^p between columns of x (n, k) and y (m, k), each column a 1-D sample: shape (k,).

    Equal sizes with uniform weights: ``mean_i |x_(i) - y_(i)|^p`` over the sorted columns.
    Otherwise the quantile coupling (:func:`_quantile_coupling`): ``sum_l dt_l |x_(i_l) - y_(j_l)|^p``;
    with uniform weights the coupling does not depend on the data and is built once for all
    columns; with weights it follows each column's order, ``_W1D_CHUNK_ENTRIES`` at a time.
    """
    n, m = x.shape[0], y.shape[0]
    k = x.shape[1]
    if a is None and b is None:
        xs = _sort0(x, False)[0]
        ys = _sort0(y, False)[0]
        if n == m:
            return ((xs - ys).abs() ** p).mean(0)
        dt, i, j = _quantile_coupling(torch.full((n, 1), 1.0 / n, dtype=x.dtype, device=x.device),
                                      torch.full((m, 1), 1.0 / m, dtype=x.dtype, device=x.device))
        return (dt * (xs[i[:, 0]] - ys[j[:, 0]]).abs() ** p).sum(0)
    if a is None:
        a = torch.full((n,), 1.0 / n, dtype=x.dtype, device=x.device)
    if b is None:
        b = torch.full((m,), 1.0 / m, dtype=x.dtype, device=x.device)
    chunk = max(1, _W1D_CHUNK_ENTRIES // (n + m))
    out = []
    for c0 in range(0, k, chunk):
        xs, ix = _sort0(x[:, c0:c0 + chunk], True)
        ys, iy = _sort0(y[:, c0:c0 + chunk], True)
        dt, i, j = _quantile_coupling(a.take(ix), b.take(iy))
        out.append((dt * (xs.gather(0, i) - ys.gather(0, j)).abs() ** p).sum(0))
    return out[0] if len(out) == 1 else torch.cat(out)


def _w1d_pow_checked(x: ArrayLike, y: ArrayLike, p: float, x_weights: ArrayLike | None,
                     y_weights: ArrayLike | None) -> tuple[torch.Tensor, float, bool]:
    """Validated 1-D ``W_p^p`` as a tensor, with the checked ``p`` and whether inputs were torch."""
    p = _check_p(p)
    xt, yt, a, b, as_torch = _prepare(x, y, x_weights, y_weights)
    if xt.shape[1] != 1:
        raise ValueError(f"x: wasserstein_1d needs one-dimensional samples, got dimension {xt.shape[1]}")
    uniform = x_weights is None and y_weights is None
    return _w1d_pow(xt, yt, None if uniform else a, None if uniform else b, p)[0], p, as_torch


def wasserstein_1d_pow(x: ArrayLike, y: ArrayLike, p: float = 1.0, x_weights: ArrayLike | None = None,
                       y_weights: ArrayLike | None = None) -> Any:
    """Exact ``W_p^p`` between two 1-D (weighted) samples by sorting.

    ``W_p^p = int_0^1 |F^{-1}(t) - G^{-1}(t)|^p dt`` (Peyre & Cuturi 2019, Remark 2.30): with
    equal sizes and uniform weights this is ``mean_i |x_(i) - y_(i)|^p`` over the sorted
    samples; otherwise the quantile functions are piecewise constant and the integral is a sum
    over the merged breakpoints of the two cumulative weight vectors.  O((n+m) log(n+m)).
    Accepts ``(n,)`` or ``(n, 1)`` samples.  Differentiable in the positions (and weights).
    """
    val, _, as_torch = _w1d_pow_checked(x, y, p, x_weights, y_weights)
    return to_output(val, as_torch)


def wasserstein_1d(x: ArrayLike, y: ArrayLike, p: float = 1.0, x_weights: ArrayLike | None = None,
                   y_weights: ArrayLike | None = None) -> Any:
    """Exact rooted ``W_p`` between 1-D samples: ``wasserstein_1d_pow(...) ** (1/p)``.

    Agrees with ``scipy.stats.wasserstein_distance`` for p = 1 (which implements the same
    CDF/quantile formula).  Zero gradient (not NaN) where the distance is 0.
    """
    val, p, as_torch = _w1d_pow_checked(x, y, p, x_weights, y_weights)
    return to_output(_safe_root(val, p), as_torch)


# ----------------------------------------------------------------------------- exact OT
def _emd_plan(a: torch.Tensor, b: torch.Tensor, cost: torch.Tensor, num_iter_max: int | None,
              on_nonconvergence: str) -> np.ndarray:
    n, m = cost.shape
    limit = default_num_iter_max(n, m) if num_iter_max is None else check_int(num_iter_max, "num_iter_max",
                                                                              minimum=1)
    a64 = a.detach().cpu().double().numpy()
    b64 = b.detach().cpu().double().numpy()
    # exact marginals for the solver (POT checks |sum a - sum b| to ~1e-7)
    a64, b64 = a64 / a64.sum(), b64 / b64.sum()
    c64 = np.ascontiguousarray(cost.detach().cpu().double().numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # POT's own warning: replaced by ours below
        import ot  # imported here: `import divergences` / `gans.train` need no POT

        plan, log = ot.emd(a64, b64, c64, numItermax=limit, log=True)
    code = int(log.get("result_code", -1))
    if code != 1:  # 1 = OPTIMAL in POT's network simplex
        msg = (f"exact OT (POT network simplex) stopped with result code {code} "
               f"({log.get('warning')!r}) for an {n} x {m} problem and num_iter_max={limit}: the "
               f"returned cost is not optimal. Increase num_iter_max, or use wasserstein_1d, "
               f"sliced_wasserstein or sinkhorn for large n.")
        if on_nonconvergence == "raise":
            raise OTConvergenceError(msg)
        warnings.warn(msg, OTConvergenceWarning, stacklevel=3)
    return plan


def wasserstein_pow(x: ArrayLike, y: ArrayLike, p: float = 1.0, x_weights: ArrayLike | None = None,
                    y_weights: ArrayLike | None = None, *, method: str = "auto",
                    num_iter_max: int | None = None, on_nonconvergence: str = "raise") -> Any:
    """Optimal transport cost ``W_p^p = min_{pi in Pi(a, b)} sum_ij pi_ij ||x_i - y_j||^p``.

    ``method``: ``"emd"`` solves the linear programme exactly with POT's network simplex
    (``ot.emd``, CPU, O(n^3 log n) time); ``"sort"`` uses the exact 1-D formula (d = 1 only);
    ``"auto"`` sorts when d = 1 and uses ``"emd"`` otherwise.

    ``num_iter_max`` defaults to :func:`default_num_iter_max` ``(n, m)``.  If POT reports a
    result code other than OPTIMAL, ``on_nonconvergence="raise"`` raises
    :class:`OTConvergenceError` and ``"warn"`` issues :class:`OTConvergenceWarning` and returns
    the (suboptimal, i.e. too large) cost.

    Gradient (torch): ``sum_ij pi*_ij dC_ij`` with the optimal plan held fixed (envelope
    theorem); weights receive no gradient on the ``"emd"`` path.

    Cost of ``"emd"``: memory about five dense ``n x m`` float64 matrices -- the cost (one,
    built in place; a float64 copy of it for float32 input) and POT's network simplex (its arc
    arrays and the returned plan, about four: measured 284 MB at n = m = 3 000, where one
    matrix is 69 MB) -- so about 4 GB at n = m = 10 000.  Time: the network simplex is O(n^3 log n) in the worst case, seconds at
    n = 1 000 and many minutes at 10 000 on one core.  Past ``EXACT_OT_WARN_ENTRIES`` (5 000 x
    5 000) an :class:`OTSizeWarning` says so; use ``sliced_wasserstein`` or ``sinkhorn`` there.
    """
    p = _check_p(p)
    check_choice(method, "method", ("auto", "emd", "sort"))
    check_choice(on_nonconvergence, "on_nonconvergence", ("raise", "warn"))
    xt, yt, a, b, as_torch = _prepare(x, y, x_weights, y_weights)
    if method == "sort" and xt.shape[1] != 1:
        raise ValueError(f"method: 'sort' needs one-dimensional samples, got dimension {xt.shape[1]}")
    if method == "sort" or (method == "auto" and xt.shape[1] == 1):
        uniform = x_weights is None and y_weights is None
        val = _w1d_pow(xt, yt, None if uniform else a, None if uniform else b, p)[0]
        return to_output(val, as_torch)
    n, m = xt.shape[0], yt.shape[0]
    if n * m > EXACT_OT_WARN_ENTRIES:
        gb = n * m * 8 * (6 if xt.dtype != torch.float64 else 5) / 1e9
        warnings.warn(f"exact OT on {n} x {m} points: the dense cost and plan need about {gb:.1f} GB and the "
                      f"network simplex O(n^3 log n) time (minutes to hours at this size); sliced_wasserstein "
                      f"(O(n log n) per projection) or sinkhorn (O(n m) per iteration) scale better",
                      OTSizeWarning, stacklevel=2)
    cost = _finite_cost(xt, yt, p)
    plan = torch.from_numpy(_emd_plan(a, b, cost, num_iter_max, on_nonconvergence))
    # <plan, cost> as one dot product (no n x m product matrix); gradient w.r.t. the cost = plan
    val = torch.dot(cost.reshape(-1), plan.to(device=cost.device, dtype=cost.dtype).reshape(-1))
    return to_output(val, as_torch)


def wasserstein(x: ArrayLike, y: ArrayLike, p: float = 1.0, x_weights: ArrayLike | None = None,
                y_weights: ArrayLike | None = None, *, method: str = "auto",
                num_iter_max: int | None = None, on_nonconvergence: str = "raise") -> Any:
    """Rooted p-Wasserstein distance ``W_p = (wasserstein_pow(...))^(1/p)`` between samples.

    ``W_p(P_n, Q_m)`` between the empirical measures ``sum_i a_i delta_{x_i}`` and
    ``sum_j b_j delta_{y_j}``, ground metric Euclidean.  ``p = 1`` is the Kantorovich-
    Rubinstein / earth mover's distance of WGAN (C13; C06: ``W1 = |theta|`` on parallel
    lines).  See :func:`wasserstein_pow` for ``method``, ``num_iter_max`` and
    ``on_nonconvergence``.  The root has zero gradient where the distance is 0.
    """
    p = _check_p(p)
    val = wasserstein_pow(x, y, p, x_weights, y_weights, method=method, num_iter_max=num_iter_max,
                          on_nonconvergence=on_nonconvergence)
    if isinstance(val, torch.Tensor):
        return _safe_root(val, p)
    return float(max(val, 0.0) ** (1.0 / p))


# ----------------------------------------------------------------------------- sliced
def sliced_wasserstein(x: ArrayLike, y: ArrayLike, p: float = 2.0, n_projections: int = 128,
                       seed: int = 0, x_weights: ArrayLike | None = None,
                       y_weights: ArrayLike | None = None) -> Any:
    """Monte Carlo sliced Wasserstein distance (rooted).

    ``SW_p(P, Q) = ( E_{theta ~ U(S^{d-1})} W_p^p(theta#P, theta#Q) )^(1/p)`` (Bonneel et al.
    2015), estimated with ``n_projections`` directions drawn from a ``torch.Generator`` seeded
    with ``seed`` (Gaussian vectors normalised to the sphere); each 1-D problem is solved
    exactly by sorting.  Cost O(L (n + m) (d + log(n + m))).  ``SW_p <= W_p``.
    For d = 1 every direction is +-1 and the result is the exact ``W_p``.
    """
    p = _check_p(p)
    n_projections = check_int(n_projections, "n_projections", minimum=1)
    seed = check_seed(seed)
    xt, yt, a, b, as_torch = _prepare(x, y, x_weights, y_weights)
    d = xt.shape[1]
    gen = torch.Generator(device="cpu").manual_seed(seed)
    theta = torch.randn(d, int(n_projections), generator=gen, dtype=torch.float64)
    theta = (theta / theta.norm(dim=0, keepdim=True)).to(device=xt.device, dtype=xt.dtype)
    uniform = x_weights is None and y_weights is None
    vals = _w1d_pow(xt @ theta, yt @ theta, None if uniform else a, None if uniform else b, p)
    return to_output(_safe_root(vals.mean(), p), as_torch)


# ----------------------------------------------------------------------------- Sinkhorn
def _check_sinkhorn(ok: bool, n_it: int, err: float, reg: float, stop_threshold: float,
                    on_nonconvergence: str, shape: tuple[int, int], cmax: float) -> None:
    if ok:
        return
    msg = (f"sinkhorn: no convergence after {n_it} iterations on the {shape[0]} x {shape[1]} problem "
           f"(marginal error {err:.3g} > stop_threshold {stop_threshold:g}) with reg={reg:g} and max "
           f"cost {cmax:.3g}; increase reg (relative to the cost scale), num_iter_max or stop_threshold")
    if on_nonconvergence == "raise":
        raise OTConvergenceError(msg)
    warnings.warn(msg, OTConvergenceWarning, stacklevel=4)


# Newton polishing solves an (n + m) x (n + m) symmetric eigenproblem per step: used up to
# this size (milliseconds per step), the stabilised scaling iterations alone beyond.
_NEWTON_MAX_SIZE = 400
_SCALING_FACTOR = 0.5  # eps-scaling: eps_{k+1} = max(reg, 0.5 eps_k), one sweep per level
# over-relaxed scaling updates u <- u^(1-w) (a / K v)^w (Thibault, Chizat, Dossal & Papadakis 2017,
# "Overrelaxed Sinkhorn-Knopp algorithm for regularized optimal transport"): locally convergent for
# 0 < w < 2; w = 1 is plain Sinkhorn.  Dropped to 1 for the rest of a solve once a block raises the error.
_OVER_RELAX = 1.8
_BLOCK = 10  # scaling-form iterations between absorptions into the potentials (and error checks)


class _Dual:
    """Log-domain entropic OT dual ``max_{f,g} <f, a> + <g, b> - eps sum_ij a_i b_j e^((f_i+g_j-C_ij)/eps)``
    (float64, on the cost's device: no host copies) with plan ``P_ij = a_i b_j exp((f_i + g_j - C_ij)/eps)``."""

    def __init__(self, a: torch.Tensor, b: torch.Tensor, cost: torch.Tensor) -> None:
        # Renormalised in float64: weights rounded in a low-precision input dtype (1/3 in
        # float16) need not sum to the same total, and balanced OT with unequal masses has no
        # plan meeting both marginals (Sinkhorn would never converge).
        dev = cost.device
        a, b = a.detach().to(dev, torch.float64), b.detach().to(dev, torch.float64)
        self.a, self.b = a / a.sum(), b / b.sum()
        self.la, self.lb = torch.log(self.a), torch.log(self.b)
        self.c = cost.detach().to(torch.float64)
        self._work: torch.Tensor | None = None

    def plan(self, f: torch.Tensor, g: torch.Tensor, eps: float, out: torch.Tensor | None = None) -> torch.Tensor:
        """``P_ij = a_i b_j exp((f_i + g_j - C_ij)/eps)`` built in one ``n x m`` buffer (``out``, else
        a new one): the exponent ``((f_i + eps log a_i) + (g_j + eps log b_j) - C_ij)/eps`` is formed
        and exponentiated in place (four passes over the matrix, no temporaries; ``a_i = 0`` gives
        a zero row)."""
        t = torch.sub((f + eps * self.la)[:, None], self.c, out=out)
        return t.add_((g + eps * self.lb)[None, :]).mul_(1.0 / eps).exp_()

    def workspace(self) -> torch.Tensor:
        """The one reusable ``n x m`` buffer of the scaling blocks and :meth:`value` (a fresh
        32 MB allocation per block at n = m = 2000 costs its page faults every time)."""
        if self._work is None:
            self._work = torch.empty_like(self.c)
        return self._work

    def value(self, f: torch.Tensor, g: torch.Tensor, eps: float, cost: torch.Tensor) -> torch.Tensor:
        """``OT_eps = <P, C> + eps KL(P || a b^T)`` at the plan of ``(f, g)``.

        ``log(P_ij / (a_i b_j)) = (f_i + g_j - C_ij)/eps`` turns the generalised KL
        ``sum_ij P_ij log(P_ij / (a_i b_j)) - sum P + sum a b^T`` into
        ``(<f, P 1> + <g, P^T 1> - <P, C>)/eps - sum P + 1``: the plan (built in the workspace),
        its row and column sums and ``<P, C>``; no logarithm of ``P`` (so no ``0 log 0``).  The KL term is a float64
        constant; ``<P, C>`` is differentiable in ``cost`` with the plan held fixed (envelope theorem
        for the entropic problem)."""
        P = self.plan(f, g, eps, out=self.workspace())
        pc = torch.dot(P.reshape(-1), self.c.reshape(-1))
        eps_kl = torch.dot(f, P.sum(1)) + torch.dot(g, P.sum(0)) - pc - eps * (P.sum() - 1.0)
        if not (cost.requires_grad and torch.is_grad_enabled()):
            return (pc + eps_kl).to(cost.dtype)
        return torch.dot(P.to(cost.dtype).reshape(-1), cost.reshape(-1)) + eps_kl.to(cost.dtype)

    def residual(self, f: torch.Tensor, g: torch.Tensor, eps: float
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
        """Plan, marginal residuals ``a - P 1``, ``b - P^T 1`` and their joint Euclidean norm."""
        P = self.plan(f, g, eps)
        r1, r2 = self.a - P.sum(1), self.b - P.sum(0)
        return P, r1, r2, float(torch.sqrt((r1 * r1).sum() + (r2 * r2).sum()))

    def sweep(self, f: torch.Tensor, g: torch.Tensor, eps: float, symmetric: bool
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """One Sinkhorn sweep; ``symmetric`` (a = b, C = C^T): the averaged update
        ``f <- (f + T f)/2`` of Feydy et al. (2019, Sec. 3.1), which does not oscillate."""
        if symmetric:
            tf = -eps * torch.logsumexp(self.la[None, :] + (f[None, :] - self.c) / eps, dim=1)
            f = 0.5 * (f + tf)
            return f, f
        f = -eps * torch.logsumexp(self.lb[None, :] + (g[None, :] - self.c) / eps, dim=1)
        g = -eps * torch.logsumexp(self.la[:, None] + (f[:, None] - self.c) / eps, dim=0)
        return f, g

    def scaling_block(self, f: torch.Tensor, g: torch.Tensor, eps: float, symmetric: bool, k: int,
                      w: float = 1.0, measure: bool = True) -> tuple[torch.Tensor, torch.Tensor, float] | None:
        """``k`` Sinkhorn iterations in the stabilised scaling form (Schmitzer 2019, Sec. 3.1-3.2).

        With the kernel ``K = plan(f, g)`` (the plan at the current potentials, entries
        ``<= 1`` wherever the plan is) the iterations ``u <- a / (K v)``, ``v <- b / (K^T u)``
        are matrix-vector products instead of log-sum-exps; afterwards ``(u, v)`` is absorbed,
        ``f += eps log u``, ``g += eps log v``, and ``P = diag(u) K diag(v)`` gives the exact
        marginal residual.  Symmetric problems use the averaged update ``u <- sqrt(u a / (K u))``
        (the scaling form of ``f <- (f + T f)/2``); other problems the over-relaxed update
        ``u <- u^(1-w) (a / K v)^w`` (``w = 1``: plain Sinkhorn).  Returns ``None`` when a scaling under- or
        overflowed (the caller then sweeps in the log domain), else ``(f, g, residual norm)``
        (``nan`` with ``measure=False``, which skips the two products of the residual).
        With ``k = 1, w = 1`` the block is one Sinkhorn sweep (:meth:`sweep`, the same iterate)
        at one ``exp`` pass over the matrix instead of one per half-sweep.
        """
        K = self.plan(f, g, eps, out=self.workspace())
        u = torch.ones_like(f)
        v = torch.ones_like(g)
        if symmetric:
            for _ in range(k):
                u = torch.sqrt(u * self.a / (K @ u))
            v = u
        else:
            for _ in range(k):
                u = u ** (1.0 - w) * (self.a / (K @ v)) ** w
                v = v ** (1.0 - w) * (self.b / (K.T @ u)) ** w
        if not (bool(torch.isfinite(u).all()) and bool(torch.isfinite(v).all())
                and bool((u > 0).all()) and bool((v > 0).all())):
            return None
        err = math.nan
        if measure:
            r1 = self.a - u * (K @ v)
            r2 = self.b - v * (K.T @ u)
            err = float(torch.sqrt((r1 * r1).sum() + (r2 * r2).sum()))
        f = f + eps * torch.log(u)
        g = f if symmetric else g + eps * torch.log(v)
        return f, g, err

    def newton(self, f: torch.Tensor, g: torch.Tensor, eps: float, tol: float, max_steps: int
               ) -> tuple[torch.Tensor, torch.Tensor, int, bool]:
        """Damped Newton steps on the dual (Sinkhorn-Newton; Brauer, Clason, Lorenz & Wirth 2017).

        Hessian ``-(1/eps) [[diag(P 1), P], [P^T, diag(P^T 1)]]``; its null space (the shift
        ``(f + c, g - c)``, and one such shift per block of a numerically block-diagonal plan)
        is dropped with a pseudo-inverse at relative cutoff ``(n + m) eps_64``.  Backtracking
        accepts a step when the marginal error drops by the Armijo factor ``1 - 1e-4 t``.
        Returns ``(f, g, steps taken, converged)``; stops early when no step reduces the error.
        """
        n, m = self.c.shape
        P, r1, r2, err = self.residual(f, g, eps)
        cut = (n + m) * torch.finfo(torch.float64).eps
        for step in range(max_steps):
            if err <= tol:
                return f, g, step, True
            H = torch.cat([torch.cat([torch.diag(P.sum(1)), P], 1), torch.cat([P.T, torch.diag(P.sum(0))], 1)])
            lam, V = torch.linalg.eigh(H)
            keep = lam > cut * lam[-1]
            Vk = V[:, keep]
            d = Vk @ ((Vk.T @ (eps * torch.cat([r1, r2]))) / lam[keep])
            t = 1.0
            while True:
                fn, gn = f + t * d[:n], g + t * d[n:]
                Pn, r1n, r2n, en = self.residual(fn, gn, eps)
                if math.isfinite(en) and en <= (1.0 - 1e-4 * t) * err:
                    break
                t *= 0.5
                if t < 1e-6:
                    return f, g, step + 1, False
            f, g, P, r1, r2, err = fn, gn, Pn, r1n, r2n, en
        return f, g, max_steps, err <= tol


def _entropic_ot(a: torch.Tensor, b: torch.Tensor, cost: torch.Tensor, reg: float, num_iter_max: int,
                 stop_threshold: float, on_nonconvergence: str, symmetric: bool = False) -> torch.Tensor:
    """``OT_eps = <P, C> + eps KL(P || a b^T)`` at the converged log-domain plan.

    Solver (float64 on the cost's device): eps-scaling warm start (``eps`` from the cost range
    ``max C - min C`` down to ``reg`` by the factor 0.5, one Sinkhorn sweep per level, taken in the
    stabilised scaling form, one ``exp`` pass per level, or in the log domain if that under- or overflows;
    Schmitzer 2019 Sec. 3.3, Feydy et al. 2019 Sec. 3.1), then at ``eps = reg`` blocks of 10
    stabilised scaling-form iterations (:meth:`_Dual.scaling_block`: matrix-vector products,
    over-relaxed with ``w = 1.8`` until a block raises the marginal error, then ``w = 1``; the
    scalings absorbed into the potentials after each block; log-domain sweeps replace a block
    that under- or overflows), and, when ``n + m <= 400``, damped Newton steps on the dual
    once 200 iterations have not converged (small ``reg`` relative to the cost, where Sinkhorn
    crawls).  Every sweep, scaling iteration and Newton step counts towards ``num_iter_max``.
    Converged means: Euclidean norm of both marginal residuals ``(P 1 - a, P^T 1 - b)``
    ``<= stop_threshold``; otherwise ``OTConvergenceError`` (or a warning).
    ``symmetric=True`` (``a = b``, ``C = C^T``) uses the averaged update, ``f = g`` throughout.
    Atoms of zero weight are dropped first (they carry no mass, so the value is unchanged).
    """
    keep_a, keep_b = a.detach() > 0, b.detach() > 0
    if not (bool(keep_a.all()) and bool(keep_b.all())):
        # atoms of zero mass carry no plan (their rows and columns of P are 0): solving without
        # them gives the same OT_eps, and keeps a / (K v) free of 0 / 0 in the scaling form
        a, b, cost = a[keep_a], b[keep_b], cost[keep_a][:, keep_b]
    dual = _Dual(a, b, cost)
    n, m = dual.c.shape
    f = torch.zeros(n, dtype=torch.float64, device=dual.c.device)
    g = f if symmetric else torch.zeros(m, dtype=torch.float64, device=dual.c.device)
    cmax = float(dual.c.max())
    it = 0
    eps = max(cmax - float(dual.c.min()), reg)
    while eps > reg and it < num_iter_max:
        out = dual.scaling_block(f, g, eps, symmetric, 1, measure=False)
        f, g = dual.sweep(f, g, eps, symmetric) if out is None else out[:2]
        it += 1
        eps = max(reg, _SCALING_FACTOR * eps)
    use_newton = n + m <= _NEWTON_MAX_SIZE
    err = math.inf
    since_newton = 0
    omega = _OVER_RELAX
    while it < num_iter_max:
        k = min(_BLOCK, num_iter_max - it)
        out = dual.scaling_block(f, g, reg, symmetric, k, omega)
        if out is not None and out[2] > err:
            omega = 1.0  # over-relaxation did not contract here: plain Sinkhorn (monotone dual ascent)
        if out is None:
            for _ in range(k):
                f, g = dual.sweep(f, g, reg, symmetric)
            err = dual.residual(f, g, reg)[3]
        else:
            f, g, err = out
        it += k
        since_newton += k
        if err <= stop_threshold:
            break
        if use_newton and since_newton >= 200 and it < num_iter_max:
            f, g, steps, ok = dual.newton(f, g, reg, stop_threshold, min(50, num_iter_max - it))
            it += steps
            since_newton = 0
            err = dual.residual(f, g, reg)[3]
            if err <= stop_threshold:
                break
    _check_sinkhorn(err <= stop_threshold, it, err, reg, stop_threshold, on_nonconvergence, (n, m), cmax)
    return dual.value(f, g, reg, cost)


def sinkhorn(x: ArrayLike, y: ArrayLike, reg: float, p: float = 2.0, x_weights: ArrayLike | None = None,
             y_weights: ArrayLike | None = None, *, debiased: bool = True, num_iter_max: int = 10_000,
             stop_threshold: float = 1e-9, on_nonconvergence: str = "raise") -> Any:
    """Entropic optimal transport (Sinkhorn), in units of the cost ``||x - y||^p`` (not rooted).

    Entropic cost (``debiased=False``):
    ``OT_eps(a, b) = min_P <P, C> + eps KL(P || a b^T)``, ``C_ij = ||x_i - y_j||^p``,
    ``eps = reg`` (absolute, in cost units), solved in the log domain (float64, on the input's device) with
    eps-scaling, stabilised scaling iterations and Newton polishing (see ``_entropic_ot``) and evaluated *including* the
    entropic term.
    Note: POT's ``ot.sinkhorn2`` returns only ``<P, C>``; this function does not.

    Sinkhorn divergence (``debiased=True``, default; Feydy et al. 2019, eq. 3):
    ``S_eps = OT_eps(a, b) - OT_eps(a, a)/2 - OT_eps(b, b)/2``, which is >= 0, is 0 iff the
    measures agree, tends to ``W_p^p`` as eps -> 0 and to an MMD as eps -> infinity.

    The two self-terms use the symmetric averaged Sinkhorn sweep.  With the defaults every
    problem of the README's kind converges (tested: n in {6, 20, 50}, d in {2, 10}, N(0, I) vs
    N(0.5, I), reg = 0.1, 12 seeds), where 10 000 plain Sinkhorn sweeps did not.  Raises
    :class:`OTConvergenceError` if the Euclidean norm of the plans' marginal errors is above
    ``stop_threshold`` after ``num_iter_max`` iterations (sweeps plus Newton steps;
    ``on_nonconvergence="warn"`` warns instead), and ``ValueError`` if the cost overflows.
    Gradients (torch) hold the plans fixed (envelope theorem for the entropic problem).
    """
    check_positive(reg, "reg")
    p = _check_p(p)
    check_choice(on_nonconvergence, "on_nonconvergence", ("raise", "warn"))
    num_iter_max = check_int(num_iter_max, "num_iter_max", minimum=1)
    check_positive(stop_threshold, "stop_threshold")
    xt, yt, a, b, as_torch = _prepare(x, y, x_weights, y_weights)
    args = (float(reg), num_iter_max, float(stop_threshold), on_nonconvergence)
    same = xt.shape == yt.shape and bool(torch.equal(xt, yt)) and bool(torch.equal(a, b))
    val = _entropic_ot(a, b, _finite_cost(xt, yt, p), *args, symmetric=same)
    if debiased:
        val = val - 0.5 * _entropic_ot(a, a, _finite_cost(xt, xt, p), *args, symmetric=True) \
                  - 0.5 * _entropic_ot(b, b, _finite_cost(yt, yt, p), *args, symmetric=True)
    return to_output(val, as_torch)


# ----------------------------------------------------------------------------- Gaussian
def wasserstein_gaussian(m0: ArrayLike, S0: ArrayLike, m1: ArrayLike, S1: ArrayLike) -> Any:
    """Closed-form rooted W2 between ``N(m0, S0)`` and ``N(m1, S1)`` (Bures metric).

    ``W2^2 = ||m0 - m1||^2 + Tr(S0 + S1 - 2 (S0^{1/2} S1 S0^{1/2})^{1/2})``.  Delegates to
    :func:`divergences.gaussian.w2`, the single implementation of this formula.
    """
    from . import gaussian

    return gaussian.w2(m0, S0, m1, S1)

