"""Positive-definite kernels for MMD, KID and the MMD-GAN losses (C18-C22, C29).

A kernel object ``k`` has

* ``k.gram(x, y)`` (also ``k(x, y)``): the ``(n, m)`` matrix ``k(x_i, y_j)``;
* ``k.diag(x)``: the ``(n,)`` vector ``k(x_i, x_i)``; ``k.paired(x, y)``: ``k(x_i, y_i)``;
* ``k.prepare(x, y)``: a copy with data-dependent parameters resolved on the pooled sample
  (the median heuristic) and inputs mapped through the feature map, if any;
* for radial kernels ``K(a, b) = g(-||a - b||^2)``: ``k.profile(r2) = g(-r2)`` at squared distances,
  ``k.gap(r2, delta) = g(-r2) - g(-(r2 + delta))`` without cancellation (MMD^2 between nearby Diracs
  or translates, C06, C07), and ``k.smmd_constants() -> (g(0), |g'(0)|)``,
  the two numbers of the Scaled-MMD normaliser
  ``sigma_psi^-2 = lambda + g(0) + 2 |g'(0)| E ||grad phi_psi(X)||_F^2`` (C22, Arbel et al.
  2018, Theorem / eq. for SMMD); non-radial kernels raise ``ValueError``.

Kernels accept numpy arrays (returned as numpy) or torch tensors (device, dtype and autograd
graph kept).  ``get(name, **params)`` builds one from a string.

Numerical conventions (independent of the BLAS, the CPU and the matmul rounding):

* float16 / bfloat16 inputs are computed, and returned, in float32 (``working``); autocast is
  turned off inside the Gram products.
* Squared distances (``scaled_sq_dists``): the inputs are scaled by powers of two (exact) and the
  pooled sample centred, so no square overflows and data far from the origin keep their digits;
  ``||a||^2 + ||b||^2 - 2 a^T b`` is then formed by one matrix product, and every entry within its
  rounding-error bound of 0 (Higham 2002, eq. 3.5) is recomputed directly as ``sum (a_k - b_k)^2``:
  coincident points give exactly 0 on every machine, never ``~eps ||a||^2``.
* Radial kernels evaluate ``g(-||a-b||^2 / length^2)`` with the factor ``s^2 / length^2`` formed
  without overflow and capped at the largest float: the diagonal is exactly ``g(0)`` for any
  bandwidth (no ``0 * inf``), off-diagonal values may underflow to 0.
* Square roots (distance kernel) use a safe branch: ``||a - b||`` is 0 with a zero gradient where
  the squared distance is 0, never a NaN.
* Linear and polynomial Gram entries can overflow; the MMD estimators then raise ``ValueError``.

Conventions for the parameters (as in the MMD-GAN code of Binkowski et al. 2018):

* Gaussian ``exp(-||a-b||^2 / (2 sigma^2))``; ``sigma`` is the *bandwidth* (not squared).
  ``bandwidth="median"``: ``sigma`` = the median of the pairwise Euclidean distances
  ``||z_i - z_j||`` (i < j, not squared) over the pooled sample ``z = (x, y)`` (Gretton et al.
  2012), computed without gradient on at most 1000 evenly spaced points of the pooled sample.
* Rational quadratic ``(1 + ||a-b||^2 / (2 alpha l^2))^(-alpha)`` (lengthscale ``l = 1`` in
  the MMD-GAN code); mixtures sum the components (no 1/K normalisation).
* Inverse multiquadric ``(1 + ||a-b||^2 / c^2)^(-1/2)``.
* Polynomial ``(gamma a^T b + coef0)^degree`` with KID's default ``gamma = 1/d``, ``coef0 = 1``,
  ``degree = 3`` (Binkowski et al. 2018, "Demystifying MMD GANs", KID).
* Distance kernel ``||a|| + ||b|| - ||a - b||`` (its MMD^2 is the energy distance).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import torch

from ._arrays import ArrayLike, absmax, common_tensors, is_torch, to_output
from ._validation import as_samples, check_choice, check_finite, check_int, check_positive, check_same_dim

__all__: list[str] = []  # accessed as ``dv.kernels.<name>``; nothing re-exported at top level

_MEDIAN_MAX_POINTS = 1000


# --------------------------------------------------------------------------------------------
# low-level helpers
# --------------------------------------------------------------------------------------------
_LOW_PRECISION = (torch.float16, torch.bfloat16)


def working(t: torch.Tensor) -> torch.Tensor:
    """``t`` in the dtype kernels are computed in: float16 / bfloat16 become float32, others are kept.

    (A half-precision ``||a||^2 + ||b||^2 - 2 a^T b`` overflows at ``|a| ~ 10`` in d = 512 and
    loses every digit of small distances; float32 is the lowest precision used.)
    """
    return t.float() if t.dtype in _LOW_PRECISION else t


def _no_autocast(t: torch.Tensor) -> Any:
    """Context that turns autocast off, so that Gram products run in the tensors' own dtype."""
    return torch.autocast(device_type=t.device.type, enabled=False)


def _pow2(m: torch.Tensor) -> torch.Tensor:
    """A power of two ``s`` (float64, 0-d, no gradient) with ``m / s`` in ``[1, 2)``; 1 if ``m == 0``.

    Dividing by ``s`` is exact (barring subnormals), so scaling by it changes no rounding.
    """
    m = m.detach().to(torch.float64)
    _, e = torch.frexp(m)
    one = torch.ones_like(m)
    return torch.where(m > 0, torch.ldexp(one, e - 1), one)


# |log2 s| up to which scaled_sq_dists skips its power-of-two scaling on the CPU (below)
_MODERATE_LOG2 = {torch.float32: 16, torch.float64: 200}


def _moderate(s: torch.Tensor, like: torch.Tensor) -> bool:
    """True when the power of two ``s`` (:func:`_pow2` of a largest magnitude) lies in
    ``[2^-L, 2^L]``, ``L = _MODERATE_LOG2[dtype]``, for a CPU tensor ``like`` (reading ``s`` costs no
    device sync there; on other devices: False, the scaled path).

    Then dividing by ``s`` is not needed: with entries of magnitude <= 2^(L+1) the squared norms of
    ``d``-vectors stay below ``4 d 2^(2L)`` (float32: 2^34 d, far from 2^128; float64: 2^402 d), and
    every square that is normal after the scaling (>= 2^-126 resp. 2^-1022 times ``s^2``) is still
    normal at ``s >= 2^-L``: its value is ``2^(2L)`` times smaller at worst, within the
    ``2^94`` (float32) / ``2^622`` (float64) of headroom the scaled squares leave above the smallest
    normal for every entry of relative size ``>= 2^-24`` (resp. ``2^-53``), the resolution of the
    dtype.  Scaling by a power of two is exact, so the skipped division changes no rounding: the
    distances are those of the scaled path times ``s^2``, exactly.
    """
    lim = _MODERATE_LOG2.get(like.dtype)
    if lim is None or like.device.type != "cpu":
        return False
    v = float(s)
    if not (v > 0 and math.isfinite(v)):
        return False
    e = math.frexp(v)[1] - 1
    return -lim <= e <= lim


def _norms_moderate(xx: torch.Tensor, yy: torch.Tensor, like: torch.Tensor) -> bool:
    """True when the squared row norms ``xx``, ``yy`` of d-column data prove :func:`_moderate` of
    the data's :func:`_pow2` scale, without a pass over the data.

    With ``M = max ||row||^2`` and ``a = max |entry|``: ``a^2 <= M <= d a^2``, so ``M / d >= 2^(1-2L)``
    gives ``a >= 2^-L`` and ``M <= 2^(2L+1)`` gives ``a < 2^(L+1)``: then ``_pow2(a) = 2^e`` with
    ``-L <= e <= L`` (``L = _MODERATE_LOG2[dtype]``).  The factor 2 of margin in each bound covers the
    rounding of the computed sums (relative error <= d u, far below 1/2 here).  A non-finite or zero
    ``M`` proves nothing (False).
    """
    lim = _MODERATE_LOG2.get(like.dtype)
    if lim is None or like.device.type != "cpu" or xx.numel() == 0 or yy.numel() == 0:
        return False
    m = float(xx.detach().max()) if yy is xx else max(float(xx.detach().max()), float(yy.detach().max()))
    d = like.shape[1]
    return math.isfinite(m) and m > 0 and m / d >= 2.0 ** (1 - 2 * lim) and m <= 2.0 ** (2 * lim + 1)


def _absmax(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``max |entries|`` of ``x`` and ``y`` (0-d, no gradient; :func:`divergences._arrays.absmax`)."""
    a = absmax(x)
    return a if y is x else torch.maximum(a, absmax(y))


def _unit_roundoff(dtype: torch.dtype) -> float:
    """Unit roundoff ``u`` of the Gram products: ``eps / 2`` of the dtype; for float32, that of the
    reduced-precision matmul allowed by ``torch.set_float32_matmul_precision`` (TF32: 2^-11,
    bfloat16: 2^-8)."""
    if dtype == torch.float32:
        return {"highest": 2.0 ** -24, "high": 2.0 ** -11}.get(torch.get_float32_matmul_precision(), 2.0 ** -8)
    return torch.finfo(dtype).eps / 2


def expansion_error_coef(d: int, dtype: torch.dtype) -> float:
    """``c`` with ``|fl(||a||^2 + ||b||^2 - 2 a^T b) - ||a - b||^2| <= c (fl||a||^2 + fl||b||^2)`` in d dims.

    Higham (2002, Accuracy and Stability of Numerical Algorithms, eq. 3.5 and Lemma 3.3): each
    inner product (any summation order, with or without FMA, as any BLAS computes it) has error
    ``<= gamma_d sum |a_k b_k|``; the two additions add two roundings, so the error is
    ``<= gamma_{d+2} (||a||^2 + ||b||^2 + 2 ||a|| ||b||) <= 2 gamma_{d+2} (||a||^2 + ||b||^2)``, and
    measuring it against the computed norms (each within ``gamma_d``) gives ``c = 2 gamma_{2d+2}``,
    ``gamma_k = k u / (1 - k u)``.  ``inf`` when ``k u >= 1`` (then no digit is certain).
    """
    ku = (2 * d + 2) * _unit_roundoff(dtype)
    return 2 * ku / (1 - ku) if ku < 1 else math.inf


def scaled_sq_dists(x: torch.Tensor, y: torch.Tensor, *, center: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Squared distances in units of a power of two: ``(r, s)`` with ``||x_i - y_j||^2 = r_ij s^2``.

    Steps (each exact or cancellation-free, so the result does not depend on the BLAS):

    1. scale by a power of two ``s1 ~ max |entries|`` (exact), then (``center=True``) subtract the
       mean of the pooled rows (translation invariance; removes the cancellation error of data far
       from the origin), and scale again by a power of two ``s2 ~ max |centred entries|``: no square
       overflows or underflows (``s = s1 s2``, float64, 0-d, no gradient).  CPU data whose scales
       lie within ``2^±L`` (``_MODERATE_LOG2``: 16 for float32, 200 for float64) skip these
       divisions (``_moderate``; after centring the row norms bound the scale, ``_norms_moderate``):
       the same numbers times a power of two, exactly;
    2. ``r = ||a||^2 + ||b||^2 - 2 a^T b`` by one matrix product;
    3. every entry within the expansion's rounding-error bound of 0,
       ``r_ij <= c (||a_i||^2 + ||b_j||^2)`` with ``c = expansion_error_coef(d)``, is recomputed
       directly as ``sum_k (a_ik - b_jk)^2`` (``_direct_sq``).  This includes every coincident
       pair (``r = 0`` exactly, whatever the BLAS rounding) and every negative entry; the other
       entries are > 0 and kept.  Under autograd the recomputed value carries the expansion's gradient
       ``2 (a_i - b_j)`` (the same function), so memory stays one ``n x m`` buffer.

    When ``y is x`` the diagonal is exactly 0.  Autocast is turned off (the product runs in the
    inputs' dtype).
    """
    same = x is y
    grad = not _no_grad(x, y)
    with _no_autocast(x):
        s = _pow2(_absmax(x, y))
        xx = yy = None
        if _moderate(s, x):  # no square can overflow or underflow: skip the scaling passes
            s = torch.ones_like(s)
            if center:
                c = (x.mean(0) if same else (x.sum(0) + y.sum(0)) / (x.shape[0] + y.shape[0])).detach()
                x = x - c  # the one copy (the caller's tensors are never written)
                y = x if same else y - c
                xx = (x * x).sum(1)
                yy = xx if same else (y * y).sum(1)
                # the row norms bound the centred largest magnitude (no pass over x): only when
                # they cannot show it moderate is it computed
                if not _norms_moderate(xx, yy, x) and not _moderate(s2 := _pow2(_absmax(x, y)), x):
                    # centred far below the raw scale: rescale (x, y are fresh), norms again
                    x, y = _divide_fresh(x, y, s2, same, grad)
                    s = s2
                    xx = yy = None
        else:
            x = x / s.to(x.dtype)
            y = x if same else y / s.to(y.dtype)
            if center:
                c = (x.mean(0) if same else (x.sum(0) + y.sum(0)) / (x.shape[0] + y.shape[0])).detach()
                # without autograd, x and y are now fresh buffers: centre and rescale them in place
                x = x - c if grad else x.sub_(c)
                y = x if same else (y - c if grad else y.sub_(c))
                s2 = _pow2(_absmax(x, y))
                x, y = _divide_fresh(x, y, s2, same, grad)
                s = s * s2
        if xx is None:
            xx = (x * x).sum(1)
            yy = xx if same else (y * y).sum(1)
        if uses_numpy_blas(x, y):  # numpy BLAS (x x^T from one triangle), then the two norms in place
            d2 = gram_product(x, y).mul_(-2).add_(xx[:, None]).add_(yy[None, :])
        else:
            d2 = torch.addmm(xx[:, None], x, y.T, beta=1, alpha=-2)
            d2 = d2 + yy[None, :] if grad else d2.add_(yy[None, :])  # in place: one n x m buffer
        d2 = _recompute_small(d2, x, y, xx, yy, same, grad)
        if same:  # exact zeros on the diagonal
            if grad:
                d2 = d2.masked_fill(torch.eye(d2.shape[0], dtype=torch.bool, device=d2.device), 0)
            else:
                d2.fill_diagonal_(0)
    return d2, s


def _divide_fresh(x: torch.Tensor, y: torch.Tensor, s: torch.Tensor, same: bool,
                  grad: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """``x / s``, ``y / s`` for buffers of this function's own: in place without autograd
    (exact for a power of two ``s``); ``y`` stays ``x`` when ``same``."""
    x = x / s.to(x.dtype) if grad else x.div_(s.to(x.dtype))
    return x, x if same else (y / s.to(y.dtype) if grad else y.div_(s.to(y.dtype)))


def _recompute_small(d2: torch.Tensor, x: torch.Tensor, y: torch.Tensor, xx: torch.Tensor,
                     yy: torch.Tensor, same: bool, grad: bool) -> torch.Tensor:
    """Step 3 of ``scaled_sq_dists``: entries within the rounding bound of 0, computed directly."""
    c = expansion_error_coef(x.shape[1], x.dtype)
    with torch.no_grad():
        dd = d2.detach()
        if same:
            if grad:
                dd = dd.clone()
            dd.fill_diagonal_(math.inf)  # the diagonal is set to 0 by the caller
        # rows with a candidate: a cheap superset (the row's threshold with the largest ||b_j||^2)
        rows = torch.nonzero(dd.amin(1) <= c * (xx + yy.max())).flatten()
        if rows.numel() == 0:
            return d2
        hit = dd[rows] <= c * (xx[rows, None] + yy[None, :])
        ii, jj = hit.nonzero(as_tuple=True)
        if ii.numel() == 0:
            return d2
        ii = rows[ii]
        vals = _direct_sq(x, y, ii, jj)
    if not grad:
        d2[ii, jj] = vals
        return d2
    old = d2[ii, jj]
    return d2.index_put((ii, jj), old + (vals - old.detach()))


def _direct_sq(x: torch.Tensor, y: torch.Tensor, ii: torch.Tensor, jj: torch.Tensor) -> torch.Tensor:
    """``sum_k (x_ik - y_jk)^2`` for the pairs ``(ii, jj)`` (no autograd), in bounded memory.

    Exact duplicates (equal rows, found by ``torch.unique``) are 0 without arithmetic (a collapsed
    sample has ~n^2 of them); the other pairs are formed from differences, through
    ``torch.cdist``'s direct (non-matmul) mode on the sub-block of the rows and columns involved
    when they fill at least 1/8 of it, else pair by pair.
    """
    with torch.no_grad():
        ui, inv_i = torch.unique(ii, return_inverse=True)
        uj, inv_j = torch.unique(jj, return_inverse=True)
        _, ids = torch.unique(torch.cat([x[ui], y[uj]]), dim=0, return_inverse=True)
        vals = torch.zeros(ii.shape[0], dtype=x.dtype, device=x.device)
        rest = torch.nonzero(ids[inv_i] != ids[ui.numel() + inv_j]).flatten()
        if rest.numel() == 0:
            return vals
        ii, jj = ii[rest], jj[rest]
        ri, pi = torch.unique(ii, return_inverse=True)
        rj, pj = torch.unique(jj, return_inverse=True)
        if 8 * rest.numel() >= ri.numel() * rj.numel():
            yb = y[rj]
            step = max(1, (1 << 22) // max(1, rj.numel()))
            sub = torch.cat([torch.cdist(x[ri[k:k + step]], yb, compute_mode="donot_use_mm_for_euclid_dist")
                             for k in range(0, ri.numel(), step)])
            vals[rest] = sub[pi, pj] ** 2
        else:
            step = max(1, (1 << 22) // x.shape[1])  # at most ~4M differences at a time
            vals[rest] = torch.cat([((x[ii[k:k + step]] - y[jj[k:k + step]]) ** 2).sum(1)
                                    for k in range(0, ii.numel(), step)])
    return vals


def sq_dists(x: torch.Tensor, y: torch.Tensor, *, center: bool = True) -> torch.Tensor:
    """Squared Euclidean distances ``||x_i - y_j||^2`` as an ``(n, m)`` tensor (``>= 0``).

    Computed by ``scaled_sq_dists`` (centred, scaled, exact 0 at coincident points whatever the
    BLAS) and multiplied back by ``s^2``; entries beyond the dtype's range are ``inf``.  When
    ``y is x`` the diagonal is exactly 0.
    """
    r, s = scaled_sq_dists(x, y, center=center)
    return r * (s * s).to(r.dtype)


def _rate(s: torch.Tensor | None, length: float, c: float, r: torch.Tensor) -> torch.Tensor:
    """``-min(c (s / length)^2, max float)``: the factor turning scaled ``r`` into ``-||a-b||^2 c / length^2``.

    Formed as ``(s / length)^2`` so that neither ``length^2`` nor ``1 / length^2`` overflows or
    divides by 0; capped at the largest finite float so that ``r = 0`` gives exactly 0 (no
    ``0 * inf``, kernel value ``g(0)``), while every ``r > 0`` still maps to (nearly) ``-inf``,
    i.e. a kernel value of 0, when the bandwidth is far below the data's scale.
    """
    q = torch.ones((), dtype=torch.float64, device=r.device) if s is None else s.to(r.device)
    f = (c * (q / length) ** 2).clamp(max=torch.finfo(r.dtype).max)
    return -f.to(r.dtype)


_SYRK_MIN_ROWS = 64     # below this the numpy round trip costs more than the halved product saves
_SYRK_MIN_DIM = 256     # below this the n x n output, not the product, dominates (measured slower)
_SYRK_MULTI_THREAD_MADDS = 2**35  # with several torch threads: only products this large (see below)


def uses_numpy_blas(x: torch.Tensor, y: torch.Tensor) -> bool:
    """True when :func:`gram_product` computes ``x @ y.T`` through numpy's BLAS (see there).

    Conditions, each measured on the peer benchmarks (``results/benchmarks/peers``, 2-core AMD EPYC):
    float32 / float64 CPU tensors of one dtype without autograd; ``n, m >= 64`` rows and
    ``d >= 256`` columns (at d = 64 the syrk path made MMD^2 of 5000 points 12 % slower); and torch
    running single-threaded, or a product of at least ``2^35`` multiply-adds.  The last rule is
    because numpy's BLAS threads and torch's OpenMP workers (which spin-wait after each parallel op)
    contend for the cores: with 2 threads, KID's 1000-row subsets ran 1.9x and MMD^2 at d = 64 2.2x
    slower through numpy, while the FID's 2048 x 10 000 covariance (4e10) still gained 10 %.
    """
    ok = (x.device.type == "cpu" and y.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)
          and y.dtype == x.dtype and x.ndim == 2 and y.ndim == 2 and x.shape[1] == y.shape[1]
          and min(x.shape[0], y.shape[0]) >= _SYRK_MIN_ROWS and x.shape[1] >= _SYRK_MIN_DIM and _no_grad(x, y))
    if not ok:
        return False
    return torch.get_num_threads() == 1 or x.shape[0] * y.shape[0] * x.shape[1] >= _SYRK_MULTI_THREAD_MADDS


def uses_syrk(x: torch.Tensor, y: torch.Tensor) -> bool:
    """True when :func:`gram_product` computes ``x x^T`` by a symmetric rank-k update: ``y is x``
    and the conditions of :func:`uses_numpy_blas`."""
    return y is x and uses_numpy_blas(x, x)


def gram_product(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``x @ y.T`` in the inputs' dtype, through numpy's BLAS where :func:`uses_numpy_blas` holds.

    A symmetric product ``x x^T`` (``y is x``) needs only one triangle: ``n (n + 1) d`` flops
    against the ``2 n^2 d`` of a general product.  torch has no symmetric rank-k entry point;
    numpy's ``a @ a.T`` calls BLAS ``?syrk`` when both operands view one buffer (numpy's
    ``cblas_matrixproduct``), and the result is exactly symmetric.  A product of two different
    operands under the same conditions goes to numpy's ``?gemm`` too, so that all the Gram blocks of
    one estimate (KID's ``Kxx, Kyy, Kxy``) run in one BLAS.  The result shares no memory with the
    inputs; a transposed view such as ``f.T`` for the covariance ``f^T f`` is used as it is.
    Otherwise (GPU, autograd, small, several torch threads with a small product) ``x @ y.T`` in
    torch.  The numpy product runs in numpy's BLAS thread pool (``OPENBLAS_NUM_THREADS`` /
    ``OMP_NUM_THREADS``, not ``torch.set_num_threads``).  Measured on a 2-core AMD EPYC, 1 thread,
    (1000, 2048) float32 operands: syrk 24-26 ms and numpy gemm 49-53 ms against 54-56 ms for
    ``torch.mm`` (MKL) with either operand pair (``results/benchmarks/peers``).  Same
    rounding-error bound as any inner product (Higham 2002, eq. 3.5): callers' error bounds are
    unchanged.
    """
    if uses_numpy_blas(x, y):
        a = x.detach().numpy()  # a view; a transposed (F-ordered) operand is fine for BLAS
        if not (a.flags.c_contiguous or a.flags.f_contiguous):
            a = a.copy()
        if y is x:
            return torch.from_numpy(a @ a.T)
        b = y.detach().numpy()
        if not (b.flags.c_contiguous or b.flags.f_contiguous):
            b = b.copy()
        return torch.from_numpy(a @ b.T)
    return x @ y.T


def _no_grad(*ts: torch.Tensor) -> bool:
    """True when autograd records nothing for these tensors (in-place ops are then safe)."""
    return not (torch.is_grad_enabled() and any(t.requires_grad for t in ts))


def safe_sqrt(r: torch.Tensor) -> torch.Tensor:
    """``sqrt(r)`` for ``r >= 0`` with value 0 and gradient 0 where ``r == 0`` (no NaN)."""
    pos = r > 0
    return torch.where(pos, torch.sqrt(torch.where(pos, r, torch.ones_like(r))), torch.zeros_like(r))


def median_bandwidth(x: torch.Tensor, y: torch.Tensor | None = None) -> float:
    """Median heuristic: the median of ``||z_i - z_j||`` over pairs ``i < j`` of the pooled sample.

    Distances are not squared; with an even number of pairs the two middle values are
    averaged (``numpy.median`` convention).  Computed without gradient on at most 1000 evenly spaced
    points of the pooled sample ``z = (x, y)`` (deterministic, no RNG).  Raises ``ValueError``
    if the median is 0 (more than half the pairs coincide).
    """
    with torch.no_grad():
        z = x if y is None else torch.cat([x, y], 0)
        if z.shape[0] < 2:
            raise ValueError("bandwidth='median': needs at least 2 points in the pooled sample")
        if z.shape[0] > _MEDIAN_MAX_POINTS:
            idx = torch.linspace(0, z.shape[0] - 1, _MEDIAN_MAX_POINTS, device=z.device).round().long()
            z = z[idx]
        z = z.to(torch.float64)
        r, s = scaled_sq_dists(z, z)  # scaled: no overflow of the squares for huge data
        iu = torch.triu_indices(z.shape[0], z.shape[0], offset=1, device=z.device)
        med = float(torch.quantile(torch.sqrt(r[iu[0], iu[1]]), 0.5)) * float(s)
    if not med > 0:
        raise ValueError("bandwidth='median': the median pairwise distance of the pooled sample is 0")
    return med


def _samples(x: ArrayLike, y: ArrayLike) -> tuple[torch.Tensor, torch.Tensor, bool]:
    as_t = is_torch(x, y)
    xt, yt = common_tensors((x, "x"), (y, "y"))
    xt = working(as_samples(xt, "x"))
    yt = working(as_samples(yt, "y"))
    check_same_dim(xt, yt)
    return xt, yt, as_t


# --------------------------------------------------------------------------------------------
# kernel classes
# --------------------------------------------------------------------------------------------
class Kernel(ABC):
    """Base class.  Subclasses implement ``_gram(x, y)`` and ``_paired(x, y)`` on tensors."""

    #: True if MMD^2 (biased and unbiased estimators) is unchanged when both samples are
    #: shifted by the same vector, so the estimators may centre the pooled sample first.
    shift_invariant_mmd: bool = True
    #: True if parameters depend on the data (median heuristic) and ``prepare`` must run.
    needs_prepare: bool = False

    # public, numpy-or-torch --------------------------------------------------------------
    def gram(self, x: ArrayLike, y: ArrayLike) -> Any:
        """``(n, m)`` matrix ``k(x_i, y_j)``."""
        xt, yt, as_t = _samples(x, y)
        k, xt, yt = self.prepare(xt, yt)
        return to_output(k._gram(xt, yt), as_t)

    def __call__(self, x: ArrayLike, y: ArrayLike) -> Any:
        return self.gram(x, y)

    def diag(self, x: ArrayLike) -> Any:
        """``(n,)`` vector ``k(x_i, x_i)``."""
        as_t = is_torch(x)
        (xt,) = common_tensors((x, "x"))
        xt = working(as_samples(xt, "x"))
        k, xt, _ = self.prepare(xt, xt)
        return to_output(k._paired(xt, xt), as_t)

    def paired(self, x: ArrayLike, y: ArrayLike) -> Any:
        """``(n,)`` vector ``k(x_i, y_i)`` (x and y with the same number of rows)."""
        xt, yt, as_t = _samples(x, y)
        if xt.shape[0] != yt.shape[0]:
            raise ValueError(f"x, y: paired evaluation needs equal sample sizes, got {xt.shape[0]} and {yt.shape[0]}")
        k, xt, yt = self.prepare(xt, yt)
        return to_output(k._paired(xt, yt), as_t)

    def prepare(self, x: torch.Tensor, y: torch.Tensor) -> tuple["Kernel", torch.Tensor, torch.Tensor]:
        """Resolve data-dependent parameters on the pooled sample; returns (kernel, x, y)."""
        return self, x, y

    def smmd_constants(self) -> tuple[float, float]:
        """``(g(0), |g'(0)|)`` for radial kernels ``K(a,b) = g(-||a-b||^2)`` (C22)."""
        raise ValueError(f"{type(self).__name__}: smmd_constants needs a radial kernel K(a,b) = g(-||a-b||^2)")

    def __add__(self, other: "Kernel") -> "SumKernel":
        if not isinstance(other, Kernel):
            return NotImplemented
        left = self.kernels if isinstance(self, SumKernel) else (self,)
        right = other.kernels if isinstance(other, SumKernel) else (other,)
        return SumKernel(tuple(left) + tuple(right))

    # tensor-level, inputs already prepared ---------------------------------------------
    @abstractmethod
    def _gram(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The (n, m) Gram matrix of prepared tensors."""

    @abstractmethod
    def _paired(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``k(x_i, y_i)`` for paired rows (the linear-time estimator)."""


class RadialKernel(Kernel):
    """``K(a, b) = g(-||a - b||^2)``; subclasses give ``profile_scaled`` and the SMMD constants.

    Gram matrices are evaluated from ``scaled_sq_dists`` (``||a - b||^2 = r s^2``) as
    ``g(-r s^2)`` with the factor ``s^2 / length^2`` formed by ``_rate`` (no overflow, no
    ``0 * inf``): the diagonal is exactly ``g(0)`` for any bandwidth, off-diagonal entries may
    underflow to 0.
    """

    @abstractmethod
    def profile_scaled(self, r: torch.Tensor, s: torch.Tensor | None, inplace: bool = False) -> torch.Tensor:
        """``g(-r s^2)`` (``s=None``: ``s = 1``); ``inplace`` may overwrite ``r`` (no autograd)."""

    def profile(self, r: torch.Tensor) -> torch.Tensor:
        """``g(-r)`` at squared distances ``r``."""
        return self.profile_scaled(r, None)

    def gap(self, r2: ArrayLike, delta: ArrayLike) -> Any:
        """``K(r2) - K(r2 + delta) = g(-r2) - g(-(r2 + delta))`` at squared distances, without cancellation.

        The difference of the kernel between two squared distances ``r2`` and ``r2 + delta``
        (``||x - y||^2`` and ``||x' - y'||^2``), rearranged exactly so that no two O(1) kernel values
        are subtracted: MMD^2 of nearby Diracs, ``2 gap(0, theta^2)``, and of translates, sums of
        such gaps, keep their relative accuracy as theta -> 0 (claims C06, C07: the weak-continuity
        evidence at theta = 1e-8; Arjovsky, Chintala & Bottou 2017, Example 1).  Each kernel documents
        its formula; all are accurate to a few ulps times ``1 + kappa`` (plus ``alpha`` ulps for the
        rational-quadratic family), ``kappa`` the condition number of the gap with respect to
        relative perturbations of ``r2`` and ``delta`` (tests/test_kernel_gap.py checks this against
        mpmath on ``[1e-20, 1e3]``).

        Conventions: ``r2 >= 0`` is a *squared* distance, ``delta`` an increment of the squared
        distance, of either sign with ``r2 + delta >= 0`` (``delta >= -r2``); the gap is > 0 for
        ``delta > 0`` (radial kernels decrease).  ``r2`` and ``delta`` broadcast; numpy / floats in ->
        numpy out (float for a 0-d result), torch in -> torch out (device, dtype, autograd kept;
        float16 / bfloat16 computed in float32).  Non-finite values, ``r2 < 0`` or
        ``r2 + delta < 0`` raise ``ValueError``.
        """
        as_t = is_torch(r2, delta)
        rt, dt = common_tensors((r2, "r2"), (delta, "delta"))
        rt, dt = working(rt), working(dt)
        check_finite(rt, "r2")
        check_finite(dt, "delta")
        try:
            rt, dt = torch.broadcast_tensors(rt, dt)
        except RuntimeError:
            raise ValueError(f"r2, delta: shapes {tuple(rt.shape)} and {tuple(dt.shape)} do not broadcast") from None
        if bool((rt < 0).any()):
            raise ValueError(f"r2: squared distances must be >= 0, got min {float(rt.detach().min()):.3g}")
        if bool((dt < -rt).any()):
            raise ValueError("delta: r2 + delta must be >= 0 (it is a squared distance)")
        return to_output(self._gap(rt, dt), as_t)

    def _gap(self, r2: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
        """``gap`` on validated, broadcast tensors; each radial kernel implements it."""
        raise ValueError(f"{type(self).__name__}: no cancellation-free gap formula")

    def _gram(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        r, s = scaled_sq_dists(x, y)
        return self.profile_scaled(r, s, inplace=_no_grad(x, y))

    def _paired(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        diff = x - y
        s = _pow2(diff.detach().abs().amax())
        diff = diff / s.to(diff.dtype)
        return self.profile_scaled((diff * diff).sum(1), s)


def _over_sq(r: torch.Tensor, length: float, c: float) -> torch.Tensor:
    """``c r / length^2`` as ``((r / length) / length) c``: no ``length^2`` that over- or underflows,
    and ``r = 0`` gives exactly 0 (relative error <= 3 u; ``c`` a power of two adds none)."""
    return ((r / length) / length) * c


def _gauss_gap(s: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """``exp(-s) - exp(-(s + t))`` for ``s >= 0``, ``s + t >= 0``, without cancellation.

    ``t >= 0``: ``-exp(-s) expm1(-t)``; ``t < 0``: ``exp(-(s + t)) expm1(t)`` (the same identity
    from the nearer point; no ``expm1`` overflow when ``exp(-s)`` underflows).  Each branch gets
    its inputs masked, so the other branch is finite (no NaN gradient through ``where``).
    """
    pos = t >= 0
    zero = torch.zeros_like(t)
    tp = torch.where(pos, t, zero)
    tn = torch.where(pos, zero, t)
    near = torch.clamp(s + tn, min=0.0)
    return torch.where(pos, -torch.exp(-s) * torch.expm1(-tp), torch.exp(-near) * torch.expm1(tn))


def _rq_gap(a: torch.Tensor, b: torch.Tensor, alpha: float) -> torch.Tensor:
    """``(1 + a)^-alpha - (1 + a + b)^-alpha`` for ``a >= 0``, ``a + b >= 0``, without cancellation.

    ``alpha = 1``: ``b / (1 + a) / (1 + a + b)`` (either sign of b; divided twice so that no
    product overflows).  Otherwise from the nearer point ``lo`` (``a``, or ``a + b`` when b < 0)
    with increment ``c = |b|``: ``(1 + lo)^-alpha (-expm1(-alpha log1p(c / (1 + lo))))``, with
    the sign of b (the ratio ``(1 + lo + c) / (1 + lo) >= 1``, so nothing overflows).
    """
    if alpha == 1.0:
        one_a = 1.0 + a
        return b / one_a / (one_a + b)
    pos = b >= 0
    c = torch.where(pos, b, -b)   # |b|, with derivative +1 at b = 0 (torch.abs has 0 there)
    lo = torch.where(pos, a, torch.clamp(a - c, min=0.0))
    one_lo = 1.0 + lo
    g = torch.pow(one_lo, -alpha) * -torch.expm1(-alpha * torch.log1p(c / one_lo))
    return torch.where(pos, g, -g)


@dataclass(frozen=True)
class Gaussian(RadialKernel):
    """Gaussian (RBF) kernel ``exp(-||a-b||^2 / (2 sigma^2))``; ``bandwidth`` = sigma or "median".

    g(t) = exp(t / (2 sigma^2)): g(0) = 1, |g'(0)| = 1 / (2 sigma^2).  Source: C18, C22
    (Arbel et al. 2018 use sigma = 1 in every SMMD config).
    """

    bandwidth: float | str = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.bandwidth, str):
            check_choice(self.bandwidth, "bandwidth", ("median",))
        else:
            check_positive(self.bandwidth, "bandwidth")

    @property
    def needs_prepare(self) -> bool:  # type: ignore[override]
        return isinstance(self.bandwidth, str)

    def prepare(self, x, y):
        if isinstance(self.bandwidth, str):
            return replace(self, bandwidth=median_bandwidth(x, y)), x, y
        return self, x, y

    def _sigma(self) -> float:
        if isinstance(self.bandwidth, str):
            raise ValueError("bandwidth='median' is resolved on data: call prepare(x, y) first")
        return float(self.bandwidth)

    def profile_scaled(self, r, s, inplace=False):
        a = _rate(s, self._sigma(), 0.5, r)
        return r.mul_(a).exp_() if inplace else torch.exp(r * a)

    def smmd_constants(self):
        return 1.0, 0.5 / self._sigma() / self._sigma()

    def _gap(self, r2, delta):
        """``exp(-s) - exp(-(s + t)) = -exp(-s) expm1(-t)``, ``s = r2 / (2 sigma^2)``,
        ``t = delta / (2 sigma^2)`` (for ``t < 0`` the same identity from the nearer point,
        ``exp(-(s + t)) expm1(t)``).  Relative error <= (5 + 3 kappa) u, kappa = s + |t| e^-t / |1 - e^-t|
        the condition number (the exponent's rounding ``s u`` is the only growth)."""
        sig = self._sigma()
        return _gauss_gap(_over_sq(r2, sig, 0.5), _over_sq(delta, sig, 0.5))


@dataclass(frozen=True)
class MixGaussian(RadialKernel):
    """Sum of Gaussians ``sum_s exp(-||a-b||^2 / (2 s^2))`` (MMD-GAN default s in {2,5,10,20,40,80}).

    g(0) = number of components, |g'(0)| = sum_s 1/(2 s^2).  Source: C20 (GMMN / MMD-GAN).
    """

    sigmas: tuple[float, ...] = (2.0, 5.0, 10.0, 20.0, 40.0, 80.0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sigmas", tuple(float(s) for s in self.sigmas))
        if not self.sigmas:
            raise ValueError("sigmas: needs at least one bandwidth")
        for s in self.sigmas:
            check_positive(s, "sigmas")

    def profile_scaled(self, r, s, inplace=False):
        out = torch.exp(r * _rate(s, self.sigmas[0], 0.5, r))
        for sig in self.sigmas[1:]:
            out = out + torch.exp(r * _rate(s, sig, 0.5, r))
        return out

    def smmd_constants(self):
        return float(len(self.sigmas)), sum(0.5 / sig / sig for sig in self.sigmas)

    def _gap(self, r2, delta):
        """Sum over the bandwidths of the Gaussian gaps (:meth:`Gaussian._gap`); the terms share the
        sign of ``delta``, so the sum adds at most ``K u`` to the worst component's error."""
        out = _gauss_gap(_over_sq(r2, self.sigmas[0], 0.5), _over_sq(delta, self.sigmas[0], 0.5))
        for sig in self.sigmas[1:]:
            out = out + _gauss_gap(_over_sq(r2, sig, 0.5), _over_sq(delta, sig, 0.5))
        return out


def _rq(r: torch.Tensor, s: torch.Tensor | None, alpha: float, ls: float, inplace: bool = False) -> torch.Tensor:
    """``(1 + r s^2 / (2 alpha ls^2))^(-alpha)``."""
    a = -_rate(s, ls, 0.5 / alpha, r)
    return r.mul_(a).add_(1).pow_(-alpha) if inplace else torch.pow(1 + r * a, -alpha)


@dataclass(frozen=True)
class RationalQuadratic(RadialKernel):
    """Rational quadratic ``(1 + ||a-b||^2 / (2 alpha l^2))^(-alpha)``.

    g(t) = (1 - t/(2 alpha l^2))^(-alpha): g(0) = 1, |g'(0)| = 1/(2 l^2) (independent of alpha).
    Source: C20 (Binkowski et al. 2018).
    """

    alpha: float = 1.0
    lengthscale: float = 1.0

    def __post_init__(self) -> None:
        check_positive(self.alpha, "alpha")
        check_positive(self.lengthscale, "lengthscale")

    def profile_scaled(self, r, s, inplace=False):
        return _rq(r, s, self.alpha, self.lengthscale, inplace)

    def smmd_constants(self):
        return 1.0, 0.5 / self.lengthscale / self.lengthscale

    def _gap(self, r2, delta):
        """``(1 + a)^-alpha - (1 + a + b)^-alpha``, ``a = r2 / (2 alpha l^2)``, ``b = delta / (2 alpha l^2)``:
        ``alpha = 1``: ``b / ((1 + a)(1 + a + b))``; otherwise
        ``(1 + a)^-alpha (-expm1(-alpha log1p(b / (1 + a))))`` from the nearer point (``_rq_gap``).
        Relative error <= a few ``(1 + alpha + kappa)`` u (the rounding of ``1 + a`` is raised to
        the power alpha)."""
        c = 0.5 / self.alpha
        return _rq_gap(_over_sq(r2, self.lengthscale, c), _over_sq(delta, self.lengthscale, c), self.alpha)


@dataclass(frozen=True)
class MixRQ(RadialKernel):
    """Sum of rational quadratics over ``alphas`` (paper values {0.2, 0.5, 1, 2, 5}; C20).

    g(0) = number of components, |g'(0)| = K/(2 l^2).
    """

    alphas: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 5.0)
    lengthscale: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "alphas", tuple(float(a) for a in self.alphas))
        if not self.alphas:
            raise ValueError("alphas: needs at least one value")
        for a in self.alphas:
            check_positive(a, "alphas")
        check_positive(self.lengthscale, "lengthscale")

    def profile_scaled(self, r, s, inplace=False):
        out = _rq(r, s, self.alphas[0], self.lengthscale)
        for a in self.alphas[1:]:
            out = out + _rq(r, s, a, self.lengthscale)
        return out

    def smmd_constants(self):
        return float(len(self.alphas)), len(self.alphas) * 0.5 / self.lengthscale / self.lengthscale

    def _gap(self, r2, delta):
        """Sum over ``alphas`` of the rational-quadratic gaps (:meth:`RationalQuadratic._gap`); the
        terms share the sign of ``delta`` (no cancellation between them)."""
        out = None
        for al in self.alphas:
            c = 0.5 / al
            g = _rq_gap(_over_sq(r2, self.lengthscale, c), _over_sq(delta, self.lengthscale, c), al)
            out = g if out is None else out + g
        return out


@dataclass(frozen=True)
class InverseMultiquadric(RadialKernel):
    """Inverse multiquadric ``(1 + ||a-b||^2 / c^2)^(-1/2)``: g(0) = 1, |g'(0)| = 1/(2 c^2)."""

    scale: float = 1.0

    def __post_init__(self) -> None:
        check_positive(self.scale, "scale")

    def profile_scaled(self, r, s, inplace=False):
        a = -_rate(s, self.scale, 1.0, r)
        return r.mul_(a).add_(1).rsqrt_() if inplace else torch.rsqrt(1 + r * a)

    def smmd_constants(self):
        return 1.0, 0.5 / self.scale / self.scale

    def _gap(self, r2, delta):
        """The rational quadratic with ``alpha = 1/2``: ``a = r2 / c^2``, ``b = delta / c^2``,
        ``(1 + a)^-1/2 (-expm1(-log1p(b / (1 + a)) / 2))`` from the nearer point (``_rq_gap``)."""
        return _rq_gap(_over_sq(r2, self.scale, 1.0), _over_sq(delta, self.scale, 1.0), 0.5)


@dataclass(frozen=True)
class Linear(Kernel):
    """Linear kernel ``a^T b`` (its MMD^2 is ``||mean(x) - mean(y)||^2``)."""

    def _gram(self, x, y):
        with _no_autocast(x):
            return x @ y.T

    def _paired(self, x, y):
        return (x * y).sum(1)


@dataclass(frozen=True)
class Polynomial(Kernel):
    """Polynomial ``(gamma a^T b + coef0)^degree``; KID default ``gamma = 1/d, coef0 = 1, degree = 3``.

    Source: C29 (Binkowski et al. 2018, KID; torch-fidelity defaults).  Not shift invariant:
    MMD^2 is computed on the raw features.
    """

    degree: int = 3
    gamma: float | None = None
    coef0: float = 1.0
    shift_invariant_mmd = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "degree", check_int(self.degree, "degree", minimum=1))
        if self.gamma is not None:
            check_positive(self.gamma, "gamma")
        check_positive(self.coef0, "coef0 (>= 0 for a positive-definite kernel)", allow_zero=True)
        object.__setattr__(self, "coef0", float(self.coef0))

    def _g(self, d: int) -> float:
        return 1.0 / d if self.gamma is None else float(self.gamma)

    def _gram(self, x, y):
        with _no_autocast(x):
            if uses_numpy_blas(x, y):  # KID's Grams in numpy's BLAS (self-Grams: one triangle)
                ip = gram_product(x, y).mul_(self._g(x.shape[1])).add_(float(self.coef0))
            else:
                ip = torch.addmm(torch.full((1, 1), float(self.coef0), dtype=x.dtype, device=x.device),
                                 x, y.T, alpha=self._g(x.shape[1]))
        return ip.pow_(int(self.degree)) if _no_grad(x, y) else torch.pow(ip, int(self.degree))

    def _paired(self, x, y):
        return torch.pow((x * y).sum(1) * self._g(x.shape[1]) + self.coef0, int(self.degree))


@dataclass(frozen=True)
class Distance(Kernel):
    """Distance kernel ``||a|| + ||b|| - ||a - b||`` (MMD^2 = energy distance; C20 code).

    Norms go through a safe square root (gradient 0, never NaN, at coincident points) and are
    formed from inputs scaled by a power of two (no overflow of the squares); ``||a - b||`` comes
    from ``scaled_sq_dists``, exactly 0 at coincident points whatever the BLAS (an expansion
    residue of ``~eps ||a||^2`` would otherwise become ``sqrt(eps) ||a||`` here).  The kernel is
    not translation invariant but its MMD^2 estimators are, so the pooled sample is centred
    before computing them.
    """

    @staticmethod
    def _norms(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        sn = _pow2(_absmax(x, y))
        xs = x / sn.to(x.dtype)
        ys = xs if y is x else y / sn.to(y.dtype)
        return safe_sqrt((xs * xs).sum(1)), safe_sqrt((ys * ys).sum(1)), sn

    def _gram(self, x, y):
        nx, ny, sn = self._norms(x, y)
        r, s = scaled_sq_dists(x, y)
        return (nx[:, None] + ny[None, :]) * sn.to(nx.dtype) - safe_sqrt(r) * s.to(r.dtype)

    def _paired(self, x, y):
        nx, ny, sn = self._norms(x, y)
        diff = x - y
        sd = _pow2(diff.detach().abs().amax())
        diff = diff / sd.to(diff.dtype)
        return (nx + ny) * sn.to(nx.dtype) - safe_sqrt((diff * diff).sum(1)) * sd.to(diff.dtype)


@dataclass(frozen=True)
class SumKernel(Kernel):
    """Sum of kernels ``k = sum_i k_i`` (e.g. the RQ mixture plus a linear term, "mix_rq_1dot")."""

    kernels: tuple[Kernel, ...] = ()

    def __post_init__(self) -> None:
        if not self.kernels or not all(isinstance(k, Kernel) for k in self.kernels):
            raise ValueError("kernels: needs a non-empty sequence of Kernel objects")
        if any(isinstance(k, FeatureKernel) or (isinstance(k, ScaledKernel) and isinstance(k.base, FeatureKernel))
               for k in self.kernels):
            raise ValueError("kernels: a feature map must wrap the whole sum, FeatureKernel(SumKernel(...), phi)")
        object.__setattr__(self, "kernels", tuple(self.kernels))

    @property
    def shift_invariant_mmd(self) -> bool:  # type: ignore[override]
        return all(k.shift_invariant_mmd for k in self.kernels)

    @property
    def needs_prepare(self) -> bool:  # type: ignore[override]
        return any(k.needs_prepare for k in self.kernels)

    def prepare(self, x, y):
        return replace(self, kernels=tuple(k.prepare(x, y)[0] for k in self.kernels)), x, y

    def _gram(self, x, y):
        radial = [k for k in self.kernels if isinstance(k, RadialKernel)]
        out = None
        if radial:  # share one distance matrix between the radial components
            r, s = scaled_sq_dists(x, y)
            for k in radial:
                out = k.profile_scaled(r, s) if out is None else out + k.profile_scaled(r, s)
        for k in self.kernels:
            if not isinstance(k, RadialKernel):
                out = k._gram(x, y) if out is None else out + k._gram(x, y)
        return out

    def _paired(self, x, y):
        out = self.kernels[0]._paired(x, y)
        for k in self.kernels[1:]:
            out = out + k._paired(x, y)
        return out

    def smmd_constants(self):
        if not all(isinstance(k, RadialKernel) for k in self.kernels):
            raise ValueError("SumKernel: smmd_constants needs every component to be radial")
        cs = [k.smmd_constants() for k in self.kernels]
        return sum(c[0] for c in cs), sum(c[1] for c in cs)


@dataclass(frozen=True)
class FeatureKernel(Kernel):
    """Deep kernel ``k(a, b) = base(phi(a), phi(b))`` with a feature map ``phi`` (e.g. a critic).

    ``prepare`` maps both samples through ``phi`` once (the MMD estimators then work in feature
    space); ``smmd_constants`` are those of ``base`` (the Jacobian of ``phi`` enters the SMMD
    normaliser separately, C22).  ``phi`` takes and returns torch tensors ``(n, d) -> (n, d')``.
    """

    base: Kernel
    feature_map: Callable[[torch.Tensor], torch.Tensor]

    def __post_init__(self) -> None:
        if not isinstance(self.base, Kernel):
            raise ValueError("base: must be a Kernel")
        if not callable(self.feature_map):
            raise ValueError("feature_map: must be callable")

    @property
    def shift_invariant_mmd(self) -> bool:  # type: ignore[override]
        return self.base.shift_invariant_mmd

    needs_prepare = True

    def features(self, x: torch.Tensor, name: str) -> torch.Tensor:
        f = self.feature_map(x)
        if not isinstance(f, torch.Tensor):
            raise ValueError(f"feature_map: must return a torch tensor, got {type(f).__name__}")
        return as_samples(f, f"feature_map({name})")

    def prepare(self, x, y):
        fx = self.features(x, "x")
        fy = fx if y is x else self.features(y, "y")
        check_same_dim(fx, fy, "feature_map(x)", "feature_map(y)")
        return self.base.prepare(fx, fy)

    def _gram(self, x, y):
        raise ValueError("FeatureKernel: call prepare(x, y) first (it returns the base kernel)")

    _paired = _gram

    def smmd_constants(self):
        return self.base.smmd_constants()


# --------------------------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------------------------
def _mix_rq_linear(alphas: Sequence[float] = (0.2, 0.5, 1.0, 2.0, 5.0), lengthscale: float = 1.0,
                   linear_weight: float = 1.0) -> Kernel:
    check_positive(linear_weight, "linear_weight")
    lin: Kernel = Linear() if linear_weight == 1.0 else ScaledKernel(Linear(), float(linear_weight))
    return SumKernel((MixRQ(tuple(alphas), lengthscale), lin))


@dataclass(frozen=True)
class ScaledKernel(Kernel):
    """``c * base`` for a constant ``c > 0``."""

    base: Kernel
    weight: float = 1.0

    def __post_init__(self) -> None:
        check_positive(self.weight, "weight")

    @property
    def shift_invariant_mmd(self) -> bool:  # type: ignore[override]
        return self.base.shift_invariant_mmd

    def prepare(self, x, y):
        base, x, y = self.base.prepare(x, y)  # a FeatureKernel base maps x and y here
        return replace(self, base=base), x, y

    def _gram(self, x, y):
        return self.weight * self.base._gram(x, y)

    def _paired(self, x, y):
        return self.weight * self.base._paired(x, y)

    def smmd_constants(self):
        g0, g1 = self.base.smmd_constants()
        return self.weight * g0, self.weight * g1


_REGISTRY: dict[str, Callable[..., Kernel]] = {
    "gaussian": Gaussian,
    "rbf": Gaussian,
    "mix_gaussian": MixGaussian,
    "mix_rbf": MixGaussian,
    "rq": RationalQuadratic,
    "mix_rq": MixRQ,
    "mix_rq_linear": _mix_rq_linear,
    "mix_rq_1dot": _mix_rq_linear,
    "imq": InverseMultiquadric,
    "linear": Linear,
    "polynomial": Polynomial,
    "distance": Distance,
}

NAMES: tuple[str, ...] = tuple(sorted(_REGISTRY))


def get(name: str | Kernel, feature_map: Callable[[torch.Tensor], torch.Tensor] | None = None,
        **params: Any) -> Kernel:
    """Build a kernel from its name (see ``NAMES``) and parameters.

    ``get("gaussian", bandwidth=1.0)``, ``get("mix_gaussian", sigmas=(2, 5))``,
    ``get("mix_rq_1dot", alphas=(0.2, 0.5, 1, 2, 5))``, ``get("polynomial", degree=3)``, ...
    A ``Kernel`` instance is returned unchanged (then ``params`` must be empty).  With
    ``feature_map=phi`` the result is the deep kernel ``k(phi(a), phi(b))``.
    """
    if isinstance(name, Kernel):
        if params:
            raise ValueError(f"kernel: parameters {sorted(params)} given with a Kernel object; set them on the object")
        k = name
    else:
        if not isinstance(name, str):
            raise ValueError(f"kernel: expected a name or a Kernel, got {type(name).__name__}")
        check_choice(name, "kernel", tuple(_REGISTRY))
        try:
            k = _REGISTRY[name](**params)
        except TypeError as exc:
            raise ValueError(f"kernel {name!r}: bad parameters {sorted(params)} ({exc})") from None
    if feature_map is not None:
        k = FeatureKernel(k, feature_map)
    return k
