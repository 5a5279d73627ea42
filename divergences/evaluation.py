"""Evaluation statistics on features: Frechet distance / FID, KID and the Inception Score (C28-C30).

The feature network (Inception-v3 pool3, 2048-d, for FID and KID; its logits for IS) lives in
``gans/metrics``; this module holds the mathematics only and accepts any features.

* ``frechet_distance(mu1, S1, mu2, S2) = ||mu1 - mu2||^2 + Tr S1 + Tr S2 - 2 Tr((S1^1/2 S2 S1^1/2)^1/2)``
  (the Frechet / W2^2 distance between two Gaussians; Dowson & Landau 1982; Heusel et al. 2017;
  C28).  Computed in float64 from symmetric eigenvalues, never negative, by the one
  implementation of that formula, shared with ``dv.gaussian.w2_squared`` (:mod:`divergences.gaussian`).
* ``fid(fx, fy)``: the same with sample means and covariances (``ddof = 1``).  Strongly biased
  at finite n: always report n.
* ``kid(fx, fy)``: mean and standard deviation over random subsets of the unbiased MMD^2 with
  the cubic polynomial kernel ``(x^T y / d + 1)^3`` (Binkowski et al. 2018; C29).
* ``inception_score(logits)``: ``exp(E_x KL(p(y|x) || p(y)))`` per split, mean and std over
  splits (Salimans et al. 2016; C30), natural log.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch

from . import kernels as _kernels
from .gaussian import _bures_w2_squared
from ._arrays import ArrayLike, common_tensors, is_torch, pow2_scale, to_output
from ._validation import (as_samples, check_finite, check_int, check_probability,
                          check_same_dim, check_seed)
from .mmd import _gram_stats

__all__ = ["frechet_distance", "fid", "kid", "inception_score", "KIDResult", "InceptionScoreResult"]


class KIDResult(NamedTuple):
    """KID over subsets: ``mean`` and population ``std`` (ddof = 0, as torch-fidelity reports)."""

    mean: Any
    std: Any


class InceptionScoreResult(NamedTuple):
    """Inception Score over splits: ``mean`` and population ``std`` (ddof = 0, as Salimans et al.)."""

    mean: Any
    std: Any


def _int_arg(v: Any, name: str, lo: int) -> int:
    return check_int(v, name, minimum=lo)


def _input_eps(x: Any) -> float:
    """Machine epsilon of the caller's floating dtype (float64 for lists and integers)."""
    dt = getattr(x, "dtype", None)
    if isinstance(dt, torch.dtype):
        return torch.finfo(dt).eps if dt.is_floating_point else torch.finfo(torch.float64).eps
    if dt is not None and np.issubdtype(dt, np.floating):
        return float(np.finfo(dt).eps)
    return float(np.finfo(np.float64).eps)


def _check_cov(S: torch.Tensor, name: str, d: int, eps: float) -> torch.Tensor:
    """Symmetric (1e-6 x max entry) and positive semi-definite within rounding.

    PSD test: ``lambda_min >= -d eps lambda_max`` with ``eps`` the machine epsilon of the input
    dtype; a backward-stable symmetric eigensolver returns eigenvalues within ``O(d eps ||S||_2)``
    of those of the stored matrix (Weyl's inequality; Golub & Van Loan 2013, Sec. 8.1), and
    rounding the covariance to that dtype moves them by ``O(eps ||S||_2)``, so a PSD matrix is
    never rejected while e.g. ``[[1, 2], [2, 1]]`` (eigenvalues 3, -1) is.
    """
    if S.ndim != 2 or S.shape != (d, d):
        raise ValueError(f"{name}: expected a ({d}, {d}) covariance matrix, got shape {tuple(S.shape)}")
    check_finite(S, name)
    Sd = S.detach()
    asym = float((Sd - Sd.T).abs().max())
    scale = max(1.0, float(Sd.abs().max()))
    if asym > 1e-6 * scale:
        raise ValueError(f"{name}: is not symmetric (max |S - S^T| = {asym:.3g})")
    Ssym = 0.5 * (S + S.T)
    sc = pow2_scale(Ssym)
    lam = torch.linalg.eigvalsh(Ssym.detach() / sc)
    lo, hi = float(lam[0]), float(lam[-1])
    if lo < -d * eps * max(hi, 0.0):
        raise ValueError(f"{name}: is not positive semi-definite (eigenvalues {lo * sc:.3g} .. {hi * sc:.3g}; "
                         f"tolerance -{d * eps:.1g} x largest); pass a covariance matrix")
    return Ssym


def _scaled_frechet(diff: torch.Tensor, C1: torch.Tensor, C2: torch.Tensor, what: str) -> torch.Tensor:
    """``||diff||^2 + Tr C1 + Tr C2 - 2 Tr((C1^1/2 C2 C1^1/2)^1/2)`` (the Gaussian ``W2^2``, whose
    one home is :func:`divergences.gaussian._bures_w2_squared`) computed on ``diff / s``,
    ``C / s^2`` (``s`` a power of two near the largest magnitude, exact), then times ``s^2``:
    the Frechet distance is homogeneous of degree 2, and no product overflows on the way.
    A result beyond the float64 range raises ``ValueError``."""
    s = pow2_scale(diff, torch.sqrt(C1.detach().abs().max()).reshape(1),
                   torch.sqrt(C2.detach().abs().max()).reshape(1))
    val = _bures_w2_squared(diff / s, C1 / s / s, C2 / s / s) * s * s
    if not bool(torch.isfinite(val)):
        raise ValueError(f"{what}: the Frechet distance overflows float64 (data of magnitude ~{s:.3g}); "
                         f"rescale the features")
    return val


def frechet_distance(mu1: ArrayLike, S1: ArrayLike, mu2: ArrayLike, S2: ArrayLike) -> Any:
    """Frechet distance ``||mu1-mu2||^2 + Tr S1 + Tr S2 - 2 Tr((S1^1/2 S2 S1^1/2)^1/2)`` (C28).

    Equal to ``W2^2`` between ``N(mu1, S1)`` and ``N(mu2, S2)`` (squared, not rooted; the rooted
    distance is :func:`divergences.gaussian.w2`): one formula with
    :func:`divergences.gaussian.w2_squared`, computed by ``divergences.gaussian._bures_w2_squared``
    in float64 with symmetric eigenvalue problems only (no non-symmetric ``sqrtm``, no complex
    parts); only the validation below differs.  The result is clamped at 0 (it is a squared
    distance, so a negative value can only be rounding).  Covariances must be symmetric (tolerance 1e-6 x
    max entry) and positive semi-definite: smallest eigenvalue ``>= -d eps`` times the largest,
    ``eps`` the machine epsilon of the input dtype (see ``_check_cov``).  Inputs of any
    magnitude are scaled by a power of two first (exact); a distance beyond the float64 range
    raises ``ValueError``.  numpy in -> float; torch in -> 0-d float64 tensor.
    Source: Dowson & Landau (1982); Heusel et al. (2017), eq. for FID.
    """
    as_t = is_torch(mu1, S1, mu2, S2)
    m1, C1, m2, C2 = common_tensors((mu1, "mu1"), (S1, "S1"), (mu2, "mu2"), (S2, "S2"))
    m1, C1, m2, C2 = (t.to(torch.float64) for t in (m1, C1, m2, C2))
    for mu, nm in ((m1, "mu1"), (m2, "mu2")):
        if mu.ndim != 1 or mu.shape[0] == 0:
            raise ValueError(f"{nm}: expected a non-empty mean vector of shape (d,), got {tuple(mu.shape)}")
        check_finite(mu, nm)
    if m1.shape != m2.shape:
        raise ValueError(f"mu1, mu2: dimension mismatch ({m1.shape[0]} vs {m2.shape[0]})")
    d = m1.shape[0]
    C1 = _check_cov(C1, "S1", d, _input_eps(S1))
    C2 = _check_cov(C2, "S2", d, _input_eps(S2))
    diff = m1 - m2
    if not bool(torch.isfinite(diff).all()):
        raise ValueError("mu1, mu2: mu1 - mu2 overflows float64; rescale the features")
    return to_output(_scaled_frechet(diff, C1, C2, "mu1, S1, mu2, S2"), as_t)


def _moments(f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and unbiased covariance ``fc^T fc / (n - 1)``, ``fc = f - mean`` (the FID's statistics, C28);
    the symmetric product by ``kernels.gram_product`` (BLAS syrk on the CPU: half the FLOPs)."""
    mu = f.mean(0)
    fc = f - mu
    fct = fc.T
    return mu, _kernels.gram_product(fct, fct) / (f.shape[0] - 1)


def fid(fx: ArrayLike, fy: ArrayLike) -> Any:
    """FID between feature samples ``fx`` (n, d) and ``fy`` (m, d): the Frechet distance of their
    sample means and covariances (``ddof = 1``), in float64 (C28; Heusel et al. 2017).

    Biased upwards at finite n (the bias shrinks like 1/n): report n with every value.  On
    Inception pool3 features of two sets of images this is the usual FID.  Needs n, m >= 2.
    """
    as_t = is_torch(fx, fy)
    xt, yt = common_tensors((fx, "fx"), (fy, "fy"))
    xt = as_samples(xt.to(torch.float64), "fx", min_n=2)
    yt = as_samples(yt.to(torch.float64), "fy", min_n=2)
    check_same_dim(xt, yt, "fx", "fy")
    s = pow2_scale(xt, yt)  # exact power-of-two scaling: no overflow in the moments at 1e200
    mx, Sx = _moments(xt / s)
    my, Sy = _moments(yt / s)
    val = _scaled_frechet(mx - my, Sx, Sy, "fx, fy") * s * s
    if not bool(torch.isfinite(val)):
        raise ValueError(f"fx, fy: the FID overflows float64 (features of magnitude ~{s:.3g}); rescale the features")
    return to_output(val, as_t)


def kid(fx: ArrayLike, fy: ArrayLike, subsets: int = 100, subset_size: int = 1000, seed: int = 0,
        degree: int = 3, gamma: float | None = None, coef0: float = 1.0) -> KIDResult:
    """Kernel Inception Distance: unbiased MMD^2 with ``k(a, b) = (gamma a^T b + coef0)^degree``
    (defaults ``gamma = 1/d``, ``coef0 = 1``, ``degree = 3``) on ``subsets`` random subsets (C29).

    For each subset, ``subset_size`` rows of ``fx`` and of ``fy`` are drawn without replacement
    (independently, ``torch.Generator().manual_seed(seed)``); the unbiased estimator is
    ``sum_{i!=j} Kxx/(s(s-1)) + sum_{i!=j} Kyy/(s(s-1)) - 2 mean(Kxy)``.  Returns
    ``KIDResult(mean, std)`` over subsets (population std, ddof = 0; torch-fidelity defaults:
    100 subsets of 1000).  With ``subsets=1`` and ``subset_size = n = m`` the value equals
    ``dv.mmd2(fx, fy, "polynomial")``.  ``subset_size`` larger than either sample raises
    ``ValueError`` (no silent cap).  Cost: per subset, its three ``s x s`` Grams (``2 s^2 d``
    multiply-adds, self-Grams symmetric), or, when fewer, the three whole Grams once with each
    tile summed per subset (the usual 100 subsets of 1 000 from 5 000 features: 3.5x fewer;
    ``_kid_plan``); the subsets, and the values up to the rounding of the Gram entries, are the same
    either way; memory ``O(block^2 + (n + m) min(subsets, 2^23 / (n + m)))``.  Computed in the
    features' dtype (each Gram tile's own sum too; the pooled plan's per-subset sums are float64
    products), tile sums accumulated in float64 (float32
    numpy features are kept in float32, like float32 tensors; other numpy input is float64), without
    autograd (an evaluation statistic; use ``dv.mmd2(..., "polynomial")`` for a differentiable one).
    """
    subsets = _int_arg(subsets, "subsets", 1)
    subset_size = _int_arg(subset_size, "subset_size", 2)
    seed = check_seed(seed)
    degree = check_int(degree, "degree", minimum=1)
    for v, nm in ((gamma, "gamma"), (coef0, "coef0")):
        if v is not None:
            try:
                ok = isinstance(float(v), float) and np.isfinite(float(v)) and not isinstance(v, bool)
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ValueError(f"{nm}: must be a finite number, got {v!r}")
    as_t = is_torch(fx, fy)
    if (not as_t and isinstance(fx, np.ndarray) and isinstance(fy, np.ndarray)
            and fx.dtype == np.float32 and fy.dtype == np.float32):
        # float32 numpy features (the usual Inception output) stay float32, as float32 tensors
        # do: the Gram products run in float32, the sums in float64 (no 4x float64 slowdown).
        xt, yt = torch.from_numpy(np.ascontiguousarray(fx)), torch.from_numpy(np.ascontiguousarray(fy))
    else:
        xt, yt = common_tensors((fx, "fx"), (fy, "fy"))
    xt = as_samples(xt, "fx", min_n=2)
    yt = as_samples(yt, "fy", min_n=2)
    check_same_dim(xt, yt, "fx", "fy")
    n, m = xt.shape[0], yt.shape[0]
    if subset_size > min(n, m):
        raise ValueError(f"subset_size: {subset_size} is larger than the samples (fx has {n}, fy has {m} rows)")
    k = _kernels.Polynomial(degree=degree, gamma=gamma, coef0=coef0)
    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        v = _kid_values(k, xt, yt, subset_size, subsets, gen, _kid_plan(n, m, xt.shape[1], subset_size, subsets))
    mean, std = v.mean(), v.std(correction=0)
    return KIDResult(to_output(mean, as_t), to_output(std, as_t))


#: column chunk of the pooled plan's 0/1 subset matrices: (n + m) x chunk float64 entries <= 2^23 (64 MB)
_KID_WEIGHT_ENTRIES = 1 << 23
#: the pooled plan's Gram tile (balanced by ``mmd._tile_size``: 1 000 rows for 5 000).  Measured on the
#: 2-core AMD EPYC VM, 100 subsets of 1 000 from 5 000 x 2 048 float32, torch and BLAS threads alike:
#: tiles of 512 to 2 500 rows all took 2.44-2.62 s with 1 thread and 1.59-1.92 s with 2 (one earlier
#: 2-thread run: 1.46-1.54 s for 1 000 rows, 2.07-2.18 s for 1 667); 1 024 keeps a tile's float64
#: copy at 8 MB.
_KID_POOLED_BLOCK = 1024
#: cost of one float64 multiply-add of the (T x b) @ (b x b) subset sums relative to one float32
#: multiply-add of the Gram product plus kernel: per 1 000-row tile at T = 100, d = 2 048, 6.4 ms against
#: 41.5 ms with 1 thread (1e8 against 2e9 multiply-adds: 3.1x each), 2.6 ms against 27 ms with 2 (1.9x).
_KID_WEIGHT_COST = 3.0


def _kid_chunk(n: int, m: int) -> int:
    """Subsets per pass of the pooled plan: its 0/1 indicator columns hold ``(n + m) x chunk``
    float64 entries, at most ``_KID_WEIGHT_ENTRIES`` (the Gram is recomputed once per pass)."""
    return max(1, _KID_WEIGHT_ENTRIES // (n + m))


def _kid_plan(n: int, m: int, d: int, s: int, subsets: int) -> str:
    """How :func:`kid` computes its subset sums: ``"subsets"`` or ``"pooled"``, whichever costs fewer
    multiply-adds (both give the same subsets and, up to the rounding of the Gram products, the
    same values).

    ``"subsets"``: per subset, the Grams of the ``s`` drawn rows, ``x_S x_S^T`` and ``y_S y_S^T`` by
    symmetric products (``s^2 d / 2`` each) and ``x_S y_S^T`` (``s^2 d``): ``2 T s^2 d`` for ``T``
    subsets, linear in ``T``.  ``"pooled"``: the three Grams of all rows once, tile by tile
    (``P d`` with ``P = n^2 / 2 + m^2 / 2 + n m`` entries), each tile's kernel values then summed per
    subset by a float64 product with the 0/1 subset-indicator columns (``T P`` float64 multiply-adds,
    each costing ``_KID_WEIGHT_COST`` of the Gram's), the Gram recomputed once per chunk of subsets
    (``_KID_WEIGHT_ENTRIES``).  At the usual protocol (100 subsets of 1 000 from 5 000 Inception
    features, d = 2 048) pooled needs 1.2e11 against 4.1e11 (3.5x fewer; measured 2.47-2.50 s against
    9.3-9.8 s on a 2-core AMD EPYC, one torch and one BLAS thread); at 10 subsets, or from 10 000
    features or more, the per-subset plan is cheaper and is kept.
    """
    chunk = _kid_chunk(n, m)
    passes = -(-subsets // chunk)
    pairs = n * n / 2 + m * m / 2 + n * m
    pooled = passes * pairs * d + _KID_WEIGHT_COST * subsets * pairs
    per_subset = 2.0 * subsets * s * s * d
    return "pooled" if pooled < per_subset else "subsets"


def _kid_values(k: _kernels.Kernel, xt: torch.Tensor, yt: torch.Tensor, s: int, subsets: int,
                gen: torch.Generator, plan: str) -> torch.Tensor:
    """The ``subsets`` unbiased MMD^2 values of :func:`kid` (float64, ``(subsets,)``), by ``plan``
    (:func:`_kid_plan`).  Subset ``t`` draws ``randperm(n)[:s]`` then ``randperm(m)[:s]`` from ``gen``
    in both plans, so both see the same rows; the pooled plan's sums
    ``sum_{i != j in S} K_ij = w_S^T (K - diag K) w_S`` (``w_S`` the 0/1 indicator of ``S``) are taken
    from tiles of the whole Gram (``mmd._gram_stats(weights=...)``)."""
    n, m = xt.shape[0], yt.shape[0]
    draws = []
    for _ in range(subsets):
        draws.append((torch.randperm(n, generator=gen)[:s], torch.randperm(m, generator=gen)[:s]))
    if plan == "subsets":
        vals = []
        for ix, iy in draws:
            a, b = xt[ix.to(xt.device)], yt[iy.to(yt.device)]
            sxx = _gram_stats(k, a, None, s, drop_diag=True).total
            syy = _gram_stats(k, b, None, s, drop_diag=True).total
            sxy = _gram_stats(k, a, b, s, drop_diag=False).total
            vals.append((sxx + syy) / (s * (s - 1)) - 2 * sxy / (s * s))
        return torch.stack(vals)
    if plan != "pooled":
        raise ValueError(f"plan: expected 'subsets' or 'pooled', got {plan!r}")
    chunk = _kid_chunk(n, m)
    out = []
    for c0 in range(0, subsets, chunk):
        part = draws[c0:c0 + chunk]
        wx = torch.zeros(n, len(part), dtype=torch.float64, device=xt.device)
        wy = torch.zeros(m, len(part), dtype=torch.float64, device=yt.device)
        for t, (ix, iy) in enumerate(part):
            wx[ix.to(xt.device), t] = 1.0
            wy[iy.to(yt.device), t] = 1.0
        bs = _KID_POOLED_BLOCK
        sxx = _gram_stats(k, xt, None, bs, drop_diag=True, weights=(wx, None), names="fx").weighted
        syy = _gram_stats(k, yt, None, bs, drop_diag=True, weights=(wy, None), names="fy").weighted
        sxy = _gram_stats(k, xt, yt, bs, drop_diag=False, weights=(wx, wy), names="fx, fy").weighted
        out.append((sxx + syy) / (s * (s - 1)) - 2 * sxy / (s * s))
    return torch.cat(out)


def inception_score(logits: ArrayLike, splits: int = 10, from_logits: bool = True) -> InceptionScoreResult:
    """Inception Score ``exp(E_x KL(p(y|x) || p(y)))`` per split; mean and std over splits (C30).

    ``logits``: ``(n, C)`` classifier logits (``from_logits=True``, default; softmax is applied
    in float64 via ``log_softmax``) or class probabilities (``from_logits=False``; rows must be
    probability vectors).  The n rows are cut into ``splits`` contiguous parts in the given
    order, rows ``[i n // splits, (i+1) n // splits)`` (as in Salimans et al.'s code); in each,
    ``p(y)`` is the mean of ``p(y|x)`` and ``IS = exp(mean_x sum_y p(y|x) (log p(y|x) - log p(y)))``
    with ``0 log 0 = 0``, natural log.  ``1 <= IS <= C``.  Returns
    ``InceptionScoreResult(mean, std)`` (std with ddof = 0).  Raises if ``splits > n``.
    """
    splits = _int_arg(splits, "splits", 1)
    as_t = is_torch(logits)
    (z,) = common_tensors((logits, "logits"))
    if z.ndim != 2 or z.shape[0] == 0 or z.shape[1] == 0:
        raise ValueError(f"logits: expected a non-empty (n, C) array, got shape {tuple(z.shape)}")
    n = z.shape[0]
    if splits > n:
        raise ValueError(f"splits: {splits} is larger than the number of samples ({n})")
    if not (torch.is_grad_enabled() and z.requires_grad) and z.device.type == "cpu":
        fast = _is_split_scores_fast(z.detach(), splits, from_logits)
        if fast is not None:
            return InceptionScoreResult(to_output(fast.mean(), as_t), to_output(fast.std(correction=0), as_t))
    if from_logits:
        check_finite(z, "logits")
        z = z.to(torch.float64)
        logp = torch.log_softmax(z, dim=1)
        p = logp.exp()
    else:
        check_probability(z, "logits")  # in the input's dtype (its own tolerance, prob_atol)
        p = z = z.to(torch.float64)
        logp = torch.where(p > 0, torch.log(torch.where(p > 0, p, torch.ones_like(p))), torch.zeros_like(p))
    scores = []
    for i in range(splits):
        lo, hi = i * n // splits, (i + 1) * n // splits
        pi, lpi = p[lo:hi], logp[lo:hi]
        py = pi.mean(0)
        logpy = torch.where(py > 0, torch.log(torch.where(py > 0, py, torch.ones_like(py))), torch.zeros_like(py))
        kl = (pi * (lpi - logpy)).sum(1).mean()
        scores.append(torch.exp(kl))
    s = torch.stack(scores)
    return InceptionScoreResult(to_output(s.mean(), as_t), to_output(s.std(correction=0), as_t))


def _is_split_scores_fast(z: torch.Tensor, splits: int, from_logits: bool) -> torch.Tensor | None:
    """Per-split Inception Scores without autograd, in row chunks that stay in cache.

    Same quantity as the reference loop in ``inception_score``: since ``p(y)`` is the split mean
    of ``p(y|x)``, ``mean_x sum_y p(y|x) log p(y) = sum_y p(y) log p(y)``, so per split
    ``log IS = mean_x sum_y p(y|x) log p(y|x) - sum_y p(y) log p(y)`` (Salimans et al. 2016,
    C30; the entropy form ``H(y) - E_x H(y|x)``).  The cancellation is in absolute terms at most
    a few ulp of ``log C``, i.e. a relative error of that size in ``IS``.  Validation is fused:
    any non-finite row term (from non-finite logits, or probabilities failing the checks) makes
    this return ``None`` and the reference path runs (and raises, or gives its value).
    """
    n, c = z.shape
    step = max(1, (1 << 16) // c)
    if not from_logits:
        check_probability(z, "logits")  # in the input's dtype (its own tolerance, prob_atol)
    scores = torch.empty(splits, dtype=torch.float64)
    for i in range(splits):
        lo, hi = i * n // splits, (i + 1) * n // splits
        colsum = torch.zeros(c, dtype=torch.float64)
        negent = torch.zeros((), dtype=torch.float64)
        for a in range(lo, hi, step):
            zc = z[a:min(a + step, hi)].to(torch.float64)
            if from_logits:
                lc = torch.log_softmax(zc, dim=1)
                pc = lc.exp()
                negent += (pc * lc).sum()
            else:
                pc = zc
                negent += torch.special.xlogy(pc, pc).sum()
            colsum += pc.sum(dim=0)
        m = hi - lo
        py = colsum / m
        scores[i] = negent / m - torch.special.xlogy(py, py).sum()
    if not bool(torch.isfinite(scores).all()):
        return None
    return scores.exp()
