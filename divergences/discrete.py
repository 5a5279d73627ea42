"""Exact divergences between discrete distributions (probability vectors along the last axis).

Shapes: ``p`` and ``q`` have shape ``(..., K)``; the leading axes broadcast against each other
(a batch of distributions), the last axis must have the same length ``K``; the result has the
broadcast leading shape (a Python float for single vectors and numpy input).

Validation (``divergences._validation.check_probability``): entries finite and ``>= 0``,
each vector summing to 1 within 1e-6 (float64) or 1e-4 (lower precision).  Vectors are *not*
renormalised.

Zero handling (exact limits, never NaN): ``0 log 0 = 0``; where ``q = 0 < p`` a term
contributes ``p f'(inf)`` with ``f'(inf) = lim f(u)/u`` (``+inf`` for KL: C04); where
``p = 0 < q`` it contributes ``q f(0+)``.  Gradients are finite (no NaN) at entries with
``p > 0, q > 0``; at boundary entries (a zero in ``p`` or ``q``) a component whose true
partial derivative is infinite is returned finite — the derivative of the masked expression,
0 under torch's ``xlogy`` convention for KL, a finite value for JSD —
never NaN, and an infinite value has zero gradient.

Natural logarithms throughout; ``jsd`` has the 1/2 weights (``0 <= JSD <= log 2``).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from . import fdiv as _fdiv
from ._arrays import common_tensors, is_torch, to_output
from ._validation import check_probability, prob_atol

__all__ = ["kl", "jsd", "tv", "f_divergence"]

ArrayLike = Any


def _prepare(p: ArrayLike, q: ArrayLike) -> tuple[torch.Tensor, torch.Tensor, bool]:
    as_torch = is_torch(p, q)
    pt, qt = common_tensors((p, "p"), (q, "q"))
    check_probability(pt.detach(), "p")
    check_probability(qt.detach(), "q")
    if pt.shape[-1] != qt.shape[-1]:
        raise ValueError(f"p, q: last axes differ in length ({pt.shape[-1]} vs {qt.shape[-1]}); "
                         "both must be probability vectors over the same K outcomes")
    try:
        torch.broadcast_shapes(pt.shape[:-1], qt.shape[:-1])
    except RuntimeError:
        raise ValueError(f"p, q: leading (batch) shapes {tuple(pt.shape[:-1])} and "
                         f"{tuple(qt.shape[:-1])} do not broadcast") from None
    pt, qt = torch.broadcast_tensors(pt, qt)
    return pt, qt, as_torch


# Fast path (no autograd, CPU, float32/float64, same-shape p and q): rows are processed in
# chunks of about _CHUNK elements so that the few elementwise passes per chunk stay in cache,
# and validation is fused into the same loop (one min and one row sum per input; a
# nonnegative vector with a finite sum has only finite entries).  Any failed check, and any row
# whose fast value is not finite for a reason other than the exact limit, is handed to the
# reference path above, so messages and limits are unchanged.
_CHUNK = 1 << 16


def _fast_ok(pt: torch.Tensor, qt: torch.Tensor) -> bool:
    return (pt.shape == qt.shape and pt.ndim >= 1 and pt.numel() > 0 and pt.shape[-1] > 0
            and pt.device.type == "cpu" and pt.dtype in (torch.float32, torch.float64)
            and not (torch.is_grad_enabled() and (pt.requires_grad or qt.requires_grad)))


def _fast_rows(p: ArrayLike, q: ArrayLike, row_fn) -> tuple[torch.Tensor, bool] | None:
    """Apply ``row_fn(p_chunk, q_chunk) -> per-row values`` chunk by chunk with fused validation.

    Returns ``(values of shape p.shape[:-1], as_torch)``, or ``None`` when the fast path does
    not apply (the caller then uses the reference path, which also raises for bad input).
    """
    as_torch = is_torch(p, q)
    pt, qt = common_tensors((p, "p"), (q, "q"))
    if not _fast_ok(pt, qt):
        return None
    k = pt.shape[-1]
    p2 = pt.detach().reshape(-1, k)
    q2 = qt.detach().reshape(-1, k)
    n = p2.shape[0]
    step = max(1, _CHUNK // k)
    out = torch.empty(n, dtype=pt.dtype)
    sp = torch.empty(n, dtype=pt.dtype)
    sq = torch.empty(n, dtype=pt.dtype)
    mins = []
    for lo in range(0, n, step):
        pc, qc = p2[lo:lo + step], q2[lo:lo + step]
        mins.append(torch.minimum(pc.min(), qc.min()))
        torch.sum(pc, dim=-1, out=sp[lo:lo + step])
        torch.sum(qc, dim=-1, out=sq[lo:lo + step])
        out[lo:lo + step] = row_fn(pc, qc)
    tol = prob_atol(pt.dtype)
    # min >= 0 is False for NaN; finite sums of nonnegative entries imply finite entries
    ok = (bool(torch.stack(mins).min() >= 0)
          and float((sp - 1).abs().max()) <= tol and float((sq - 1).abs().max()) <= tol)
    if not ok:
        return None
    return out.reshape(pt.shape[:-1]), as_torch


def _kl_rows(pc: torch.Tensor, qc: torch.Tensor) -> torch.Tensor:
    # p log(p/q) as one ratio (accurate for p ~ q); 0/0 -> NaN -> dropped by nansum (0 log 0 = 0);
    # q = 0 < p -> p/q = inf -> +inf (C04)
    t = torch.special.xlogy(pc, pc / qc)
    val = torch.nansum(t, dim=-1)
    inf_rows = torch.isinf(val)
    if bool(inf_rows.any()):
        # +inf is exact only with a true zero q(x) < p(x); otherwise p/q overflowed (q subnormal)
        idx = inf_rows.nonzero().squeeze(1)
        ps, qs = pc[idx], qc[idx]
        redo = ~((qs == 0) & (ps > 0)).any(dim=-1)
        if bool(redo.any()):
            r = idx[redo]
            val[r] = _a_log_a_over_b(pc[r], qc[r]).sum(dim=-1)
    # Gibbs: KL >= 0; a negative sum is rounding (p, q differing by ulps, sums not exactly 1),
    # of the size of |sum p - sum q|, so the lower bound 0 is returned instead
    return val.clamp_min_(0.0)


def _jsd_rows(pc: torch.Tensor, qc: torch.Tensor) -> torch.Tensor:
    # 1/2 [p log(2p/(p+q)) + q log(2q/(p+q))]; p = q = 0 -> 0/0 -> NaN -> dropped by nansum;
    # the ratios are <= 2, so nothing overflows
    m = pc + qc
    m.mul_(0.5)
    a = torch.special.xlogy(pc, pc / m)
    a.add_(torch.special.xlogy(qc, qc / m))
    return 0.5 * torch.nansum(a, dim=-1)


def _tv_rows(pc: torch.Tensor, qc: torch.Tensor) -> torch.Tensor:
    d = pc - qc
    return 0.5 * d.abs_().sum(dim=-1)


def _a_log_a_over_b(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Elementwise ``a log(a/b)`` with ``0 log(0/b) = 0``; requires ``b > 0`` where ``a > 0``."""
    pos = a > 0
    one = torch.ones_like(a)
    a_s = torch.where(pos, a, one)
    b_s = torch.where(pos, b, one)
    return torch.where(pos, a_s * (torch.log(a_s) - torch.log(b_s)), torch.zeros_like(a))


def kl(p: ArrayLike, q: ArrayLike) -> Any:
    """Kullback-Leibler divergence ``KL(P||Q) = sum_x p(x) log(p(x)/q(x))`` (natural log).

    ``+inf`` where some ``q(x) = 0 < p(x)`` (C04, seed 001); ``0 log 0 = 0``.  Batched over
    leading axes; numpy -> float/ndarray, torch -> tensor (differentiable).  C01, C04, C08.
    Never negative: KL >= 0 (Gibbs), so a sum that rounds below 0 (p, q differing by ulps, or
    sums within the normalisation tolerance of 1) is returned as 0.
    """
    fast = _fast_rows(p, q, _kl_rows)
    if fast is not None:
        return to_output(*fast)
    pt, qt, as_torch = _prepare(p, q)
    bad = (qt == 0) & (pt > 0)
    q_s = torch.where(bad, torch.ones_like(qt), qt)
    terms = _a_log_a_over_b(pt, q_s)
    val = terms.sum(dim=-1)
    val = torch.where(bad.any(dim=-1), torch.full_like(val, math.inf), val)
    # the same lower bound 0 as the fast path (Gibbs; a negative sum is rounding)
    return to_output(val.clamp_min(0.0), as_torch)


def jsd(p: ArrayLike, q: ArrayLike) -> Any:
    """Jensen-Shannon divergence with the 1/2 weights, natural log (C03, C05).

    ``JSD(P,Q) = 1/2 KL(P||M) + 1/2 KL(Q||M)``, ``M = (P+Q)/2``; symmetric, finite,
    ``0 <= JSD <= log 2`` with ``log 2`` exactly for disjoint supports (C05).  Seed 001's "JS"
    and seed 003's JS generator give ``2 JSD`` (use ``2 * jsd``).  Batched; numpy/torch.
    """
    fast = _fast_rows(p, q, _jsd_rows)
    if fast is not None:
        return to_output(*fast)
    pt, qt, as_torch = _prepare(p, q)
    m = 0.5 * (pt + qt)
    val = 0.5 * (_a_log_a_over_b(pt, m) + _a_log_a_over_b(qt, m)).sum(dim=-1)
    return to_output(val, as_torch)


def tv(p: ArrayLike, q: ArrayLike) -> Any:
    """Total variation distance ``TV(P,Q) = 1/2 sum_x |p(x) - q(x)| = sup_A |P(A) - Q(A)|``.

    In ``[0, 1]``; equals the f-divergence with ``f(u) = |u - 1|/2`` and the IPM over
    indicator functions (C12, seed 003).  Batched; numpy/torch.
    """
    fast = _fast_rows(p, q, _tv_rows)
    if fast is not None:
        return to_output(*fast)
    pt, qt, as_torch = _prepare(p, q)
    val = 0.5 * (pt - qt).abs().sum(dim=-1)
    return to_output(val, as_torch)


def f_divergence(p: ArrayLike, q: ArrayLike, name: str, **params: float) -> Any:
    """``D_f(P||Q) = sum_x q(x) f(p(x)/q(x))`` for registry generator ``name`` (C08).

    ``f = dv.fdiv.get(name, **params).f``; the limits are exact: terms with ``q(x) = 0 < p(x)``
    contribute ``p(x) f'(inf)`` (``f'(inf) = lim f(u)/u``, ``+inf`` e.g. for KL, Pearson,
    Jeffreys), terms with ``p(x) = 0 < q(x)`` contribute ``q(x) f(0+)`` (``+inf`` e.g. for
    reverse KL, Neyman), terms with both zero contribute 0.  ``"js"`` gives ``JSD`` (1/2
    weights), ``"gan"`` gives ``2 JSD - log 4``, ``"tv"`` gives ``tv``.  Source: Csiszar (1967);
    seed 003; Nowozin et al. (2016) eq. 1.  Batched; numpy/torch.
    """
    entry = _fdiv.get(name, **params)
    pt, qt, as_torch = _prepare(p, q)
    both_pos = (pt > 0) & (qt > 0)
    q_only = (pt == 0) & (qt > 0)
    p_only = (pt > 0) & (qt == 0)
    one = torch.ones_like(pt)
    with torch.no_grad():
        # p/q overflowing (q subnormal) is the q -> 0 limit: p f'(inf) to double precision
        overflow = both_pos & torch.isinf(torch.where(both_pos, pt, one) / torch.where(both_pos, qt, one))
    both_pos = both_pos & ~overflow
    p_only = p_only | overflow
    p_s = torch.where(both_pos, pt, one)
    q_s = torch.where(both_pos, qt, one)
    terms = torch.where(both_pos, q_s * entry.f(p_s / q_s), torch.zeros_like(pt))
    if math.isfinite(entry.slope_at_infinity):
        # f(p/q) itself beyond the dtype (p/q ~ 1e308 / slope) while q f(p/q) is finite: the same
        # q -> 0 limit, p f'(inf); like the overflow case above it drops q (f(u) - u f'(inf)),
        # which is below the sum's rounding for every registry entry but alpha close to 1
        with torch.no_grad():
            big = both_pos & torch.isinf(terms)
        terms = torch.where(big, pt * entry.slope_at_infinity, terms)

    f0 = entry.f_at_zero
    if math.isfinite(f0):
        fp0 = entry.f_prime(torch.zeros((), dtype=torch.float64))
        if bool(torch.isfinite(fp0)):
            # f is differentiable at 0 with a finite slope: keep the p-gradient f'(0)
            q_z = torch.where(q_only, qt, one)
            zero_terms = q_z * entry.f(torch.where(q_only, pt, torch.zeros_like(pt)) / q_z)
        else:
            zero_terms = qt * f0
        terms = terms + torch.where(q_only, zero_terms, torch.zeros_like(pt))
    else:
        terms = terms + torch.where(q_only, torch.full_like(pt, math.inf), torch.zeros_like(pt))

    s_inf = entry.slope_at_infinity
    if math.isfinite(s_inf):
        terms = terms + torch.where(p_only, pt * s_inf, torch.zeros_like(pt))
    else:
        terms = terms + torch.where(p_only, torch.full_like(pt, math.inf), torch.zeros_like(pt))
    return to_output(terms.sum(dim=-1), as_torch)
