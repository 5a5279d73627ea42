"""Maximum mean discrepancy from samples: estimators, variance, witness, permutation test.

``MMD^2(P, Q) = E k(X, X') + E k(Y, Y') - 2 E k(X, Y)`` (C18; Gretton et al. 2012, JMLR,
Sec. 2).  Samples ``x: (n, d)`` from P and ``y: (m, d)`` from Q; ``n != m`` is allowed.

Estimators (C19; Gretton et al. 2012, Sec. 2; REFERENCES.md "MMD GANs"):

* ``"biased"`` (V-statistic) ``mean(Kxx) + mean(Kyy) - 2 mean(Kxy)``; ``>= 0``;
* ``"unbiased"`` ``sum_{i!=j} Kxx_ij/(n(n-1)) + sum_{i!=j} Kyy_ij/(m(m-1)) - 2 sum_{i,j} Kxy_ij/(nm)``
  (within-sample diagonals dropped; the cross term keeps all ``n m`` pairs, as in the MMD-GAN
  and KID code); unbiased for MMD^2, can be negative;
* ``"linear"`` the linear-time estimator (Gretton et al. 2012, Sec. 6)
  ``mean_i k(x_{2i},x_{2i+1}) + k(y_{2i},y_{2i+1}) - k(x_{2i},y_{2i+1}) - k(x_{2i+1},y_{2i})``
  over ``floor(min(n, m)/2)`` pairs (extra samples of the larger set are not used).

Entry points: :func:`mmd2` from samples and a kernel; :func:`mmd2_from_gram` from the three Gram
matrices (the analogue of POT's ``emd2(a, b, M)``: any kernel, computed by the caller).  Both
combine their Gram sums with one private formula (``_from_sums``, ``_linear_from_pairs``), which
:func:`mmd_test` uses for every relabelling too.

Implementation.  Gram matrices are never formed whole: sums are accumulated over
``block_size x block_size`` tiles (only the upper triangle of tiles for ``Kxx``, ``Kyy``), so
memory is ``O(block_size^2 + (n + m) d)``.  Tile sums are accumulated in float64 and the result
is returned in the input dtype, except that float16 / bfloat16 samples are computed in float32
and the result is float32 (a half-precision result would round small MMD^2 values to 0).
Distances are exact at coincident points and free of overflow (``kernels.scaled_sq_dists``);
if a Gram entry or sum still overflows (linear / polynomial kernels on huge inputs) a
``ValueError`` names the samples and the kernel: no silent NaN or inf.  For kernels whose MMD is shift invariant (radial, linear,
distance) the pooled sample is centred first.  With autograd on and more than one tile, each
tile is recomputed in the backward pass (activation checkpointing), which keeps memory bounded
for gradients too.  numpy in -> Python float out (float64); torch in -> 0-d tensor, same device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.checkpoint import checkpoint

from . import kernels as _kernels
from ._arrays import ArrayLike, common_tensors, is_torch, to_output
from ._validation import as_samples, check_choice, check_finite, check_int, check_same_dim

__all__ = ["mmd2", "mmd2_from_gram", "mmd", "mmd2_variance", "mmd_witness", "mmd_test", "MMDTestResult"]

ESTIMATORS = ("biased", "unbiased", "linear")
DEFAULT_BLOCK = 2048


# --------------------------------------------------------------------------------------------
# shared plumbing
# --------------------------------------------------------------------------------------------
def _check_block(block_size: int | None) -> int:
    """``None`` (the documented default) means ``DEFAULT_BLOCK``; otherwise an integer >= 1."""
    if block_size is None:
        return DEFAULT_BLOCK
    return check_int(block_size, "block_size", minimum=1)


def _check_finite_result(v: torch.Tensor, k: _kernels.Kernel, names: str, dtype: torch.dtype) -> None:
    """Raise (instead of returning inf / NaN) when a Gram entry or sum overflowed ``dtype``."""
    if not bool(torch.isfinite(v).all()):
        raise ValueError(f"{names}: the {type(k).__name__} kernel overflows {dtype} on these inputs "
                         f"(a Gram entry or a sum of them is not finite); rescale the samples")


def _setup(x: ArrayLike, y: ArrayLike, kernel: Any, kernel_params: dict, *, min_n: int,
           center: bool = True) -> tuple[_kernels.Kernel, torch.Tensor, torch.Tensor, bool]:
    """Validate samples, build and prepare the kernel, centre the pooled sample if allowed."""
    as_t = is_torch(x, y)
    xt, yt = common_tensors((x, "x"), (y, "y"))
    xt = _kernels.working(as_samples(xt, "x", min_n=min_n))
    yt = _kernels.working(as_samples(yt, "y", min_n=min_n))
    check_same_dim(xt, yt)
    k = _kernels.get(kernel, **kernel_params)
    k, xt, yt = k.prepare(xt, yt)
    if center and k.shift_invariant_mmd:
        c = (xt.sum(0) + yt.sum(0)) / (xt.shape[0] + yt.shape[0])
        c = c.detach()
        xt, yt = xt - c, yt - c
    return k, xt, yt, as_t


@dataclass
class _Stats:
    total: torch.Tensor          # sum of entries (diagonal dropped when requested), float64
    rows: torch.Tensor | None    # row sums, float64
    cols: torch.Tensor | None    # column sums, float64
    sq: torch.Tensor | None      # sum of squared entries, float64
    weighted: torch.Tensor | None = None  # (T,) sums wa[:, t]^T K wb[:, t], float64


def _tile(k: _kernels.Kernel, a: torch.Tensor, b: torch.Tensor, drop_diag: bool,
          want_rows: bool, want_sq: bool,
          weights: tuple[torch.Tensor, torch.Tensor] | None = None) -> tuple[torch.Tensor, ...]:
    K = k._gram(a, b)
    if drop_diag:
        if _kernels._no_grad(K):
            K.fill_diagonal_(0)
        else:
            K = K.masked_fill(torch.eye(K.shape[0], K.shape[1], dtype=torch.bool, device=K.device), 0)
    out = [K.sum().double()]
    if want_rows:
        out += [K.sum(1).double(), K.sum(0).double()]
    if want_sq:
        out.append((K * K).sum().double())
    if weights is not None:  # float64 products: the 0/1 weights pick entries, the sums stay float64
        wa, wb = weights
        out.append(((wa.T @ K.to(torch.float64)) * wb.T).sum(1))
    return tuple(out)


def _tile_size(n: int, bs: int, same: bool, d: int, syrk: bool = False) -> int:
    """Row tile actually used: at most ``bs``, with balanced tiles ``ceil(n / T)``.

    Symmetric Gram sums (``k(a, a)``) compute only the tiles ``I <= J``, a fraction
    ``(T + 1) / (2T)`` of the matrix for ``T`` tiles per side; for ``n >= 512`` and
    ``d >= 256`` at least ``T = 2`` is used (3/4 of the products of one whole tile: the
    matrix product, ``O(n^2 d)``, dominates the per-tile elementwise work at large ``d``),
    unless the diagonal tiles run as BLAS syrk (``syrk``: ``kernels.gram_product`` on the CPU
    without autograd), which already halves one whole tile's product.
    Balanced tiles (``ceil(n / T)`` rather than ``bs, bs, ..., rest``) give the same ``T``
    with smaller tiles.  Memory stays ``O(bs^2)``.
    """
    T = -(-n // bs)
    if same and n >= 512 and d >= 256 and not syrk:
        T = max(T, 2)
    return -(-n // T) if T > 1 else bs


def _gram_stats(k: _kernels.Kernel, a: torch.Tensor, b: torch.Tensor | None, bs: int, *,
                drop_diag: bool, want_rows: bool = False, want_sq: bool = False,
                weights: tuple[torch.Tensor, torch.Tensor | None] | None = None,
                names: str = "x, y") -> _Stats:
    """Tile-wise sums of the Gram matrix ``k(a, b)``; ``b=None`` means ``k(a, a)`` (symmetric).

    For the symmetric case only tiles ``I <= J`` are computed and off-diagonal tiles count
    twice; ``drop_diag`` removes the entries ``k(a_i, a_i)`` (symmetric case only).
    ``weights = (wa, wb)``, float64 ``(n, T)`` and ``(m, T)`` (``wb = None`` with ``b = None``:
    ``wb = wa``), also gives ``weighted[t] = sum_ij wa_it K_ij wb_jt``: with 0/1 columns, the
    Gram sums of ``T`` row subsets from one pass over the Gram (KID's pooled plan; no autograd).
    Off-diagonal symmetric tiles count twice there too (``K_JI = K_IJ^T``, one ``wa``).
    float16 / bfloat16 tiles are computed in float32.  Raises ``ValueError`` (naming ``names``
    and the kernel) if a sum is not finite (an overflowing Gram entry).
    """
    a = _kernels.working(a)
    b = None if b is None else _kernels.working(b)
    same = b is None
    bb = a if same else b
    n, m = a.shape[0], bb.shape[0]
    bs = _tile_size(n, bs, same, a.shape[1], syrk=same and _kernels.uses_syrk(a, a))
    grad = torch.is_grad_enabled() and (a.requires_grad or bb.requires_grad)
    multi = n > bs or m > bs
    dev = a.device
    total = torch.zeros((), dtype=torch.float64, device=dev)
    sq = torch.zeros((), dtype=torch.float64, device=dev) if want_sq else None
    row_parts: dict[int, list[torch.Tensor]] = {}
    col_parts: dict[int, list[torch.Tensor]] = {}
    wsum = None
    if weights is not None:
        if grad:
            raise ValueError(f"{names}: weighted Gram sums are computed without autograd")
        wa, wb = weights[0], (weights[0] if weights[1] is None else weights[1])
        wsum = torch.zeros(wa.shape[1], dtype=torch.float64, device=dev)
    for i in range(0, n, bs):
        ai = a[i:i + bs]
        for j in range(i if same else 0, m, bs):
            bj = ai if (same and i == j) else bb[j:j + bs]  # same object: exact zero self-distances
            dd = same and drop_diag and i == j
            wij = None if weights is None else (wa[i:i + bs], wb[j:j + bs])
            if grad and multi:
                res = checkpoint(_tile, k, ai, bj, dd, want_rows, want_sq, use_reentrant=False)
            else:
                res = _tile(k, ai, bj, dd, want_rows, want_sq, wij)
            w = 2.0 if (same and i != j) else 1.0
            if wsum is not None:
                wsum = wsum + w * res[-1]
                res = res[:-1]
            total = total + w * res[0]
            if want_rows:
                row_parts.setdefault(i, []).append(res[1])
                if same and i != j:
                    row_parts.setdefault(j, []).append(res[2])
                elif not same:
                    col_parts.setdefault(j, []).append(res[2])
            if want_sq:
                sq = sq + w * res[-1]
    rows = cols = None
    if want_rows:
        rows = torch.cat([sum(row_parts[i]) for i in range(0, n, bs)])
        cols = rows if same else torch.cat([sum(col_parts[j]) for j in range(0, m, bs)])
    _check_finite_result(total.detach() if sq is None else torch.stack([total.detach(), sq.detach()]),
                         k, names, a.dtype)
    return _Stats(total, rows, cols, sq, wsum)


# --------------------------------------------------------------------------------------------
# the estimators' formulas (module docstring), shared by every entry point
# --------------------------------------------------------------------------------------------
def _from_sums(sxx: Any, syy: Any, sxy: Any, n: int, m: int, estimator: str) -> Any:
    """``MMD^2`` from Gram sums: ``sxx = sum Kxx``, ``syy = sum Kyy`` (diagonals already dropped for
    ``"unbiased"``) and ``sxy = sum Kxy``; ``"unbiased"`` divides by ``n(n-1)``, ``m(m-1)``, ``nm``,
    ``"biased"`` by ``n^2``, ``m^2``, ``nm``.  Elementwise, so a batch of sums (one per relabelling
    in :func:`mmd_test`) gives a batch of statistics."""
    if estimator == "unbiased":
        return sxx / (n * (n - 1)) + syy / (m * (m - 1)) - 2 * sxy / (n * m)
    return sxx / n ** 2 + syy / m ** 2 - 2 * sxy / (n * m)


def _linear_from_pairs(kx: torch.Tensor, ky: torch.Tensor, kxy: torch.Tensor, kyx: torch.Tensor) -> torch.Tensor:
    """Linear-time ``MMD^2``: ``mean_i kx_i + ky_i - kxy_i - kyx_i`` with ``kx_i = k(x_{2i}, x_{2i+1})``,
    ``ky_i = k(y_{2i}, y_{2i+1})``, ``kxy_i = k(x_{2i}, y_{2i+1})``, ``kyx_i = k(x_{2i+1}, y_{2i})``."""
    return (kx + ky - kxy - kyx).mean()


# --------------------------------------------------------------------------------------------
# estimators
# --------------------------------------------------------------------------------------------
def mmd2(x: ArrayLike, y: ArrayLike, kernel: str | _kernels.Kernel = "gaussian",
         estimator: str = "unbiased", block_size: int | None = None, **kernel_params: Any) -> Any:
    """Estimate ``MMD^2(P, Q)`` from ``x ~ P`` (n, d) and ``y ~ Q`` (m, d).

    ``kernel``: a name from ``dv.kernels.NAMES`` with its parameters as keywords
    (``mmd2(x, y, "gaussian", bandwidth=1.0)``, ``bandwidth="median"`` for the median heuristic
    on the pooled sample) or a ``dv.kernels.Kernel`` object (a deep kernel: ``dv.kernels.get(
    "gaussian", feature_map=phi)``).  ``estimator``: ``"unbiased"`` (default), ``"biased"`` or
    ``"linear"`` (formulas in the module docstring; C19, Gretton et al. 2012 Sec. 2 and
    Sec. 6).  ``block_size``: tile size of the blockwise Gram sums (default 2048).

    Raises ``ValueError`` for non-finite or empty samples, a dimension mismatch, fewer than 2
    samples per set for "unbiased"/"linear", unknown kernels or estimators, a ``block_size`` that
    is not an integer >= 1, and inputs on which the kernel overflows (see the module docstring).
    float16 / bfloat16 samples are computed in float32 and give a float32 result.
    """
    check_choice(estimator, "estimator", ESTIMATORS)
    bs = _check_block(block_size)
    k, xt, yt, as_t = _setup(x, y, kernel, kernel_params, min_n=1 if estimator == "biased" else 2)
    n, m = xt.shape[0], yt.shape[0]
    if estimator == "linear":
        p = min(n, m) // 2
        x0, x1 = xt[0:2 * p:2], xt[1:2 * p:2]
        y0, y1 = yt[0:2 * p:2], yt[1:2 * p:2]
        h = _linear_from_pairs(k._paired(x0, x1), k._paired(y0, y1), k._paired(x0, y1), k._paired(x1, y0))
        _check_finite_result(h.detach(), k, "x, y", xt.dtype)
        return to_output(h, as_t)
    drop = estimator == "unbiased"
    sxx = _gram_stats(k, xt, None, bs, drop_diag=drop, names="x").total
    syy = _gram_stats(k, yt, None, bs, drop_diag=drop, names="y").total
    sxy = _gram_stats(k, xt, yt, bs, drop_diag=False).total
    val = _from_sums(sxx, syy, sxy, n, m, estimator)
    return to_output(val.to(xt.dtype), as_t)


def _check_gram(K: torch.Tensor, name: str, rows: int | None, cols: int | None) -> None:
    if K.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D Gram matrix, got shape {tuple(K.shape)}")
    if rows is not None and K.shape[0] != rows or cols is not None and K.shape[1] != cols:
        want = f"({rows if rows is not None else 'n'}, {cols if cols is not None else 'm'})"
        raise ValueError(f"{name}: expected shape {want}, got {tuple(K.shape)}")


def mmd2_from_gram(Kxx: ArrayLike, Kyy: ArrayLike, Kxy: ArrayLike, estimator: str = "unbiased", *,
                   validate: bool = True) -> Any:
    """``MMD^2`` estimate from the Gram matrices ``Kxx = k(x_i, x_j)`` (n, n), ``Kyy = k(y_i, y_j)``
    (m, m) and ``Kxy = k(x_i, y_j)`` (n, m) of any kernel (C18, C19).

    The estimators of :func:`mmd2` (module docstring; Gretton et al. 2012, Sec. 2 and 6):
    ``"unbiased"`` ``sum_{i!=j} Kxx_ij/(n(n-1)) + sum_{i!=j} Kyy_ij/(m(m-1)) - 2 sum_ij Kxy_ij/(nm)``
    (the diagonals are dropped, the cross term keeps all ``nm`` pairs), ``"biased"``
    ``mean(Kxx) + mean(Kyy) - 2 mean(Kxy)``, ``"linear"``
    ``mean_i Kxx[2i,2i+1] + Kyy[2i,2i+1] - Kxy[2i,2i+1] - Kxy[2i+1,2i]`` over ``floor(min(n,m)/2)``
    pairs.  This is the Gram-level entry (as POT's ``emd2(a, b, M)`` takes the cost matrix): the
    caller builds the matrices (a deep kernel, a kernel not in :mod:`divergences.kernels`, a
    dense ``O(n^2)`` head), and the combination is the one :func:`mmd2` uses.

    Sums are accumulated in float64 (``Tensor.sum(dtype=float64)``; the diagonals are zeroed
    out of place, so autograd works) and the result has the matrices' dtype, float16 / bfloat16
    computed in float32 with a float32 result; the linear estimator is a mean in that dtype.
    Symmetry of ``Kxx``, ``Kyy`` is not checked.  numpy in -> Python float, torch in -> 0-d
    tensor (device kept, differentiable).

    ``validate=False`` skips the finiteness checks of the entries and of the result, which read
    values back to the host (a device synchronisation on CUDA); shapes are always checked.
    Raises ``ValueError`` for non-2-D or inconsistent shapes (naming the matrix), fewer than 2
    samples per set for ``"unbiased"`` / ``"linear"``, an unknown ``estimator``, and (validated)
    non-finite entries or an overflowing sum.
    """
    check_choice(estimator, "estimator", ESTIMATORS)
    as_t = is_torch(Kxx, Kyy, Kxy)
    kxx, kyy, kxy = common_tensors((Kxx, "Kxx"), (Kyy, "Kyy"), (Kxy, "Kxy"))
    _check_gram(kxx, "Kxx", None, None)
    n = kxx.shape[0]
    _check_gram(kxx, "Kxx", n, n)
    _check_gram(kyy, "Kyy", None, None)
    m = kyy.shape[0]
    _check_gram(kyy, "Kyy", m, m)
    _check_gram(kxy, "Kxy", n, m)
    need = 1 if estimator == "biased" else 2
    for name, size in (("Kxx", n), ("Kyy", m)):
        if size < need:
            raise ValueError(f"{name}: needs at least {need} samples for the {estimator} estimator, got {size}")
    kxx, kyy, kxy = _kernels.working(kxx), _kernels.working(kyy), _kernels.working(kxy)
    if validate:
        for t, name in ((kxx, "Kxx"), (kyy, "Kyy"), (kxy, "Kxy")):
            check_finite(t, name)
    if estimator == "linear":
        p = min(n, m) // 2
        i0 = torch.arange(0, 2 * p, 2, device=kxx.device)
        i1 = i0 + 1
        val = _linear_from_pairs(kxx[i0, i1], kyy[i0, i1], kxy[i0, i1], kxy[i1, i0])
    else:
        f64 = torch.float64
        if estimator == "unbiased":
            sxx = kxx.masked_fill(torch.eye(n, dtype=torch.bool, device=kxx.device), 0).sum(dtype=f64)
            syy = kyy.masked_fill(torch.eye(m, dtype=torch.bool, device=kyy.device), 0).sum(dtype=f64)
        else:
            sxx, syy = kxx.sum(dtype=f64), kyy.sum(dtype=f64)
        val = _from_sums(sxx, syy, kxy.sum(dtype=f64), n, m, estimator).to(kxx.dtype)
    if validate and not bool(torch.isfinite(val.detach()).all()):
        raise ValueError("Kxx, Kyy, Kxy: a sum of the Gram entries overflows "
                         f"{kxx.dtype}; rescale the kernel")
    return to_output(val, as_t)


def mmd(x: ArrayLike, y: ArrayLike, kernel: str | _kernels.Kernel = "gaussian",
        block_size: int | None = None, **kernel_params: Any) -> Any:
    """``MMD = sqrt(max(MMD^2_biased, 0))``: the rooted biased (V-statistic) estimate.

    The biased estimate is ``||mu_x - mu_y||_H^2 >= 0`` up to rounding, hence the clamp; the
    square root has value 0 and gradient 0 at 0 (no NaN).  Source: C18, Gretton et al. 2012.
    """
    v = mmd2(x, y, kernel, estimator="biased", block_size=block_size, **kernel_params)
    if isinstance(v, torch.Tensor):
        return _kernels.safe_sqrt(v.clamp_min(0))
    return float(np.sqrt(max(v, 0.0)))


def mmd2_variance(x: ArrayLike, y: ArrayLike, kernel: str | _kernels.Kernel = "gaussian",
                  block_size: int | None = None, **kernel_params: Any) -> Any:
    """Unbiased estimate of ``Var[MMD^2_u]``, the variance of the ``"unbiased"`` estimator (n, m >= 4).

    Derivation (ours, exact for finite n and m; Hoeffding 1948 for U-statistics).  Write
    ``MMD^2_u = A + B - 2C`` with ``A = U-stat of k(x, x')``, ``B`` likewise for y, and
    ``C = mean_{ij} k(x_i, y_j)``.  Then

    ``Var A = 4(n-2)/(n(n-1)) z1x + 2/(n(n-1)) z2x``,
    ``Var C = [(m-1) v10 + (n-1) v01 + v11] / (nm)``, ``Cov(A, C) = 2 ex / n``, ``Cov(B, C) = 2 ey / m``,

    with ``z1x = Var E[k(X,X')|X]``, ``z2x = Var k(X,X')``, ``v10 = Var E[k(X,Y)|X]``,
    ``v01 = Var E[k(X,Y)|Y]``, ``v11 = Var k(X,Y)``, ``ex = Cov(E[k(X,X')|X], E[k(X,Y)|X])``.
    Each moment is replaced by its U-statistic over distinct indices (e.g. ``(E k(X,X'))^2`` by
    the mean of ``Kxx_ij Kxx_kl`` over distinct ``i, j, k, l``), computed from row sums and
    squared sums of the Gram tiles, so the result is an unbiased estimate of the variance
    (it can be negative for very small samples).  Same target as the unbiased variance
    estimator of Sutherland et al. (ICLR 2017), which needs n = m; at leading order the
    variance is ``4 z1 / n`` (Serfling 1980, Sec. 5.5).
    """
    bs = _check_block(block_size)
    k, xt, yt, as_t = _setup(x, y, kernel, kernel_params, min_n=4)
    n, m = xt.shape[0], yt.shape[0]
    X = _gram_stats(k, xt, None, bs, drop_diag=True, want_rows=True, want_sq=True, names="x")
    Y = _gram_stats(k, yt, None, bs, drop_diag=True, want_rows=True, want_sq=True, names="y")
    XY = _gram_stats(k, xt, yt, bs, drop_diag=False, want_rows=True, want_sq=True)

    def one_sample(s: _Stats, N: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        S, Q, rr = s.total, s.sq, (s.rows * s.rows).sum()
        mean_h = S / (N * (N - 1))
        mean_h2 = Q / (N * (N - 1))
        e_3 = (rr - Q) / (N * (N - 1) * (N - 2))                         # E h(X1,X2) h(X1,X3)
        e_4 = (S * S - 4 * rr + 2 * Q) / (N * (N - 1) * (N - 2) * (N - 3))  # (E h)^2
        z1 = e_3 - e_4
        z2 = mean_h2 - e_4
        var = 4 * (N - 2) / (N * (N - 1)) * z1 + 2 / (N * (N - 1)) * z2
        return var, mean_h, S

    var_a, _, Sx = one_sample(X, n)
    var_b, _, Sy = one_sample(Y, m)
    T, P = XY.total, XY.sq
    aa, bb = (XY.rows * XY.rows).sum(), (XY.cols * XY.cols).sum()
    ek2 = (T * T - aa - bb + P) / (n * (n - 1) * m * (m - 1))            # (E k(X,Y))^2
    v11 = P / (n * m) - ek2
    v10 = (aa - P) / (n * m * (m - 1)) - ek2
    v01 = (bb - P) / (m * n * (n - 1)) - ek2
    var_c = ((m - 1) * v10 + (n - 1) * v01 + v11) / (n * m)
    # Cov(E[h(X,X')|X], E[k(X,Y)|X]) = E[h(X1,X2) k(X1,Y)] - E h E k
    ex = (X.rows * XY.rows).sum() / (n * (n - 1) * m) - (Sx * T - 2 * (X.rows * XY.rows).sum()) / (
        n * (n - 1) * (n - 2) * m)
    ey = (Y.rows * XY.cols).sum() / (m * (m - 1) * n) - (Sy * T - 2 * (Y.rows * XY.cols).sum()) / (
        m * (m - 1) * (m - 2) * n)
    var = var_a + var_b + 4 * var_c - 4 * (2 * ex / n) - 4 * (2 * ey / m)
    _check_finite_result(var.detach(), k, "x, y", xt.dtype)  # products of large sums can overflow
    return to_output(var.to(xt.dtype), as_t)


def mmd_witness(t: ArrayLike, x: ArrayLike, y: ArrayLike, kernel: str | _kernels.Kernel = "gaussian",
                block_size: int | None = None, **kernel_params: Any) -> Any:
    """Empirical MMD witness ``f(t) = mean_j k(t, x_j) - mean_j k(t, y_j)`` at points ``t`` (C18).

    ``f`` is the unnormalised maximiser of ``E_P f - E_Q f`` over the RKHS unit ball for the
    empirical measures: ``f / ||f||_H`` attains the biased MMD (Gretton et al. 2012, Sec. 2).  Differentiable in ``t`` (and in ``x``, ``y``) for torch input; used by the
    MMD-GAN witness gradient penalty (C23).  Median bandwidths are resolved on the pooled
    ``(x, y)``; a feature map is applied to ``t``, ``x`` and ``y``.  Returns shape ``(len(t),)``.
    """
    bs = _check_block(block_size)
    as_t = is_torch(t, x, y)
    tt, xt, yt = common_tensors((t, "t"), (x, "x"), (y, "y"))
    tt = _kernels.working(as_samples(tt, "t"))
    xt = _kernels.working(as_samples(xt, "x"))
    yt = _kernels.working(as_samples(yt, "y"))
    check_same_dim(xt, yt)
    check_same_dim(tt, xt, "t", "x")
    k0 = _kernels.get(kernel, **kernel_params)
    if isinstance(k0, _kernels.FeatureKernel):
        tt = k0.features(tt, "t")
    k, xt, yt = k0.prepare(xt, yt)
    out = []
    for i in range(0, tt.shape[0], bs):
        ti = tt[i:i + bs]
        fx = _gram_stats(k, ti, xt, bs, drop_diag=False, want_rows=True, names="t, x").rows
        fy = _gram_stats(k, ti, yt, bs, drop_diag=False, want_rows=True, names="t, y").rows
        out.append(fx / xt.shape[0] - fy / yt.shape[0])
    return to_output(torch.cat(out).to(tt.dtype), as_t)


# --------------------------------------------------------------------------------------------
# permutation test
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MMDTestResult:
    """Result of :func:`mmd_test`.

    ``statistic``: the observed MMD^2 estimate; ``p_value = (1 + #{null >= statistic}) /
    (1 + n_permutations)``; ``null``: the statistic under each random relabelling.
    """

    statistic: float
    p_value: float
    null: np.ndarray
    n_permutations: int
    estimator: str


def mmd_test(x: ArrayLike, y: ArrayLike, kernel: str | _kernels.Kernel = "gaussian",
             n_permutations: int = 1000, seed: int = 0, estimator: str = "unbiased",
             block_size: int | None = None, **kernel_params: Any) -> MMDTestResult:
    """Permutation two-sample test of ``H0: P = Q`` with an MMD^2 statistic (Gretton et al. 2012, Sec. 5).

    The pooled sample ``z = (x, y)`` is relabelled ``n_permutations`` times by uniformly random
    permutations (relabelling b puts ``z[perm_b[:n]]`` in the first group, ``perm_b`` the
    argsort of row b of a ``(B, n + m)`` float64 uniform array drawn from
    ``torch.Generator().manual_seed(seed)``); each relabelling's
    statistic is ``s^T K s / (n(n-1)) + (1-s)^T K (1-s) / (m(m-1)) - 2 s^T K (1-s) / (nm)`` with
    ``s`` the indicator of the first group and ``K`` the pooled Gram matrix with zero diagonal
    (unbiased; the biased statistic keeps the diagonal and divides by n^2, m^2).  ``K`` is
    processed in row tiles (memory ``O(block_size (n + m) + (n + m) n_permutations)``).  The
    p-value ``(1 + #{null >= observed}) / (1 + B)`` is valid (type-I error <= alpha) for any B.
    A median bandwidth is resolved once on the pooled sample (it is permutation invariant).

    Default bandwidth: with the default ``kernel="gaussian"`` and no ``bandwidth`` given, sigma is
    the median heuristic ``bandwidth="median"``: the median of the pairwise Euclidean distances
    ``||z_i - z_j||`` (i < j, not squared) of the pooled sample, on at most 1000 evenly spaced
    points of it (``dv.kernels.median_bandwidth``; the choice of Gretton et al. 2012 JMLR, Sec. 8,
    whose experiments set the width to the median distance between points of the pooled sample;
    analysed by Garreau, Jitkrittum & Kanagawa 2017, "Large sample analysis of the median
    heuristic").  A fixed sigma = 1 (the kernel's own default, kept by :func:`mmd2` for the
    training losses) is blind to data of scale ~100: every off-diagonal kernel value underflows
    to 0 and the test returns p = 1 whatever the shift.  Pass ``bandwidth=`` to fix sigma.
    """
    if isinstance(kernel, str) and kernel == "gaussian" and "bandwidth" not in kernel_params:
        kernel_params = {**kernel_params, "bandwidth": "median"}
    check_choice(estimator, "estimator", ("biased", "unbiased"))
    B = check_int(n_permutations, "n_permutations", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    if seed >= 2 ** 64:
        raise ValueError(f"seed: must be < 2**64 (torch.Generator.manual_seed), got {seed!r}")
    bs = _check_block(block_size)
    with torch.no_grad():
        k, xt, yt, _ = _setup(x, y, kernel, kernel_params, min_n=2 if estimator == "unbiased" else 1)
        n, m = xt.shape[0], yt.shape[0]
        N = n + m
        z = torch.cat([xt, yt], 0)
        gen = torch.Generator().manual_seed(int(seed))
        # relabelling b: the first n entries of argsort of N float64 uniforms (a uniform permutation)
        perms = torch.rand(B, N, dtype=torch.float64, generator=gen).argsort(dim=1)
        St = torch.zeros(B + 1, N, dtype=torch.float64)
        St[0, :n] = 1.0  # row 0: the observed labelling
        St[1:].scatter_(1, perms[:, :n], 1.0)
        S = St.T.contiguous().to(z.device)
        u = torch.zeros(B + 1, dtype=torch.float64, device=z.device)
        r = torch.zeros(N, dtype=torch.float64, device=z.device)
        rb = max(1, min(bs, (1 << 24) // N))  # row tile: at most ~16M kernel entries at a time
        for i in range(0, N, rb):
            Kb = k._gram(z[i:i + rb], z).double()
            if estimator == "unbiased":
                idx = torch.arange(Kb.shape[0], device=z.device)
                Kb[idx, i + idx] = 0.0
            u += (S[i:i + rb] * (Kb @ S)).sum(0)
            r[i:i + rb] = Kb.sum(1)
        t = r.sum()
        v = S.T @ r
        sxx, syy, sxy = u, t - 2 * v + u, v - u
        stats = _from_sums(sxx, syy, sxy, n, m, estimator)
        _check_finite_result(stats, k, "x, y", z.dtype)
        stats = stats.cpu().numpy()
    obs, null = float(stats[0]), stats[1:]
    tol = 1e-12 * max(1.0, float(np.abs(stats).max()))  # relabellings equal to the observed one tie
    p = (1.0 + float(np.sum(null >= obs - tol))) / (1.0 + B)
    return MMDTestResult(statistic=obs, p_value=p, null=null, n_permutations=B, estimator=estimator)
