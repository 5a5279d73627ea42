"""Input validation: bad input raises ``ValueError`` naming the argument and the problem.

Rules (the contract for bad input, CONTRIBUTING.md, "Layout"): non-finite values, wrong shapes, negative or unnormalised
probabilities, empty samples and too few samples for an unbiased estimator are errors;
nothing returns a silent NaN.

Probability tolerance: a probability vector must have no negative entry and sum to 1
within ``prob_atol(dtype)`` = 1e-6 for float64 and 1e-4 for lower precision.
"""

from __future__ import annotations

import cmath
import math

import torch

__all__: list[str] = []


def prob_atol(dtype: torch.dtype) -> float:
    """Tolerance on |sum(p) - 1| for probability vectors of this dtype."""
    return 1e-6 if dtype == torch.float64 else 1e-4


def all_finite(t: torch.Tensor) -> bool:
    """True iff no entry of ``t`` is NaN or +-Inf, by one sum reduction (no boolean array).

    A sum of finite numbers is finite unless it overflows, and any NaN or Inf entry makes the sum
    NaN or Inf (IEEE 754: NaN propagates; Inf + finite = Inf; Inf - Inf = NaN).  So a finite sum
    proves every entry finite; only a non-finite sum (a bad entry, or an overflow of finite
    entries such as float32 values near 3e38) needs the elementwise ``isfinite`` pass to decide.
    Measured on a 2-core AMD EPYC, 1 thread, (5000, 2048) float32: 2.5 ms against 80-95 ms for
    ``torch.isfinite(t).all()`` (which writes a 10 MB boolean array).  Integer and bool tensors are
    always finite.
    """
    if not (t.is_floating_point() or t.is_complex()) or t.numel() == 0:
        return True
    t = t.detach()
    total = t.sum().item()  # one reduction and one host read (no 0-d isfinite kernel)
    if cmath.isfinite(total) if isinstance(total, complex) else math.isfinite(total):
        return True
    return bool(torch.isfinite(t).all())


def check_finite(t: torch.Tensor, name: str) -> None:
    """Raise if ``t`` holds NaN or +-Inf (decided by :func:`all_finite`)."""
    t = t.detach()
    if not all_finite(t):
        n_nan = int(torch.isnan(t).sum())
        n_inf = int(torch.isinf(t).sum())
        raise ValueError(f"{name}: contains non-finite values ({n_nan} NaN, {n_inf} Inf)")


def check_nonempty(t: torch.Tensor, name: str) -> None:
    if t.numel() == 0:
        raise ValueError(f"{name}: is empty (shape {tuple(t.shape)})")


def check_probability(p: torch.Tensor, name: str) -> None:
    """Probability vectors along the last axis: finite, >= 0, summing to 1 (see prob_atol)."""
    if p.ndim == 0:
        raise ValueError(f"{name}: must have at least one axis (probabilities along the last axis)")
    p = p.detach()
    check_nonempty(p, name)
    check_finite(p, name)
    if bool(p.amin() < 0):  # one reduction (no boolean array); NaN was ruled out above
        raise ValueError(f"{name}: has negative probabilities (min {float(p.min()):.3g})")
    s = p.sum(dim=-1)
    err = float((s - 1).abs().max())
    if err > prob_atol(p.dtype):
        raise ValueError(
            f"{name}: is not normalised along the last axis (max |sum - 1| = {err:.3g} "
            f"> tolerance {prob_atol(p.dtype):g})")


def check_same_shape(a: torch.Tensor, b: torch.Tensor, na: str, nb: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{na}, {nb}: shape mismatch {tuple(a.shape)} vs {tuple(b.shape)}")


def as_samples(x: torch.Tensor, name: str, *, min_n: int = 1) -> torch.Tensor:
    """Samples as an (n, d) tensor: 1-D input is read as n scalar samples (d = 1).

    Raises for other ranks, non-finite entries, or fewer than ``min_n`` samples.
    """
    if x.is_complex():
        raise ValueError(f"{name}: complex values are not supported; pass a real array (e.g. x.real)")
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"{name}: expected samples of shape (n, d) or (n,), got {tuple(x.shape)}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name}: is empty (shape {tuple(x.shape)})")
    if x.shape[0] < min_n:
        raise ValueError(f"{name}: needs at least {min_n} samples for this estimator, got {x.shape[0]}")
    check_finite(x, name)
    return x


def check_same_dim(x: torch.Tensor, y: torch.Tensor, nx: str = "x", ny: str = "y") -> None:
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(f"{nx}, {ny}: dimension mismatch ({x.shape[-1]} vs {y.shape[-1]})")


def check_positive(value: float, name: str, *, allow_zero: bool = False) -> None:
    """Scalars such as bandwidths, regularisation strengths, sample sizes."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a number, got {value!r}") from None
    ok = (v >= 0) if allow_zero else (v > 0)
    if not ok or v != v or v in (float("inf"),):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name}: must be finite and {bound}, got {value!r}")


def check_choice(value: str, name: str, choices: tuple[str, ...] | list[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name}: unknown value {value!r}; expected one of {sorted(choices)}")


def check_int(value, name: str, *, minimum: int | None = None) -> int:
    """An integer-like argument (``k``, ``seed``, ``n_permutations``, ``block_size``, ...).

    Accepts Python/numpy/torch integers and integral floats (``3.0``); rejects ``None``,
    ``bool``, strings, NaN, +-inf, non-integral floats (``1.5``) and values below
    ``minimum``, with a ValueError naming the argument. Returns the value as ``int``.
    """
    import numbers

    if isinstance(value, bool) or value is None or isinstance(value, (str, bytes)):
        raise ValueError(f"{name}: must be an integer, got {value!r}")
    if isinstance(value, torch.Tensor):
        if value.numel() != 1 or value.is_complex():
            raise ValueError(f"{name}: must be an integer, got a tensor of shape {tuple(value.shape)}")
        value = value.item()
    if not isinstance(value, numbers.Real):
        try:
            import numpy as _np
            if isinstance(value, _np.ndarray) and value.size == 1 and value.dtype.kind in "iuf":
                value = value.item()
            else:
                raise TypeError
        except TypeError:
            raise ValueError(f"{name}: must be an integer, got {value!r}") from None
    if isinstance(value, numbers.Integral):
        v = int(value)
    else:
        f = float(value)
        if f != f or f in (float("inf"), float("-inf")) or f != int(f):
            raise ValueError(f"{name}: must be an integer, got {value!r}")
        v = int(f)
    if minimum is not None and v < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {value!r}")
    return v


def check_seed(value, name: str = "seed") -> int:
    """A random seed: an integer in ``[0, 2**63)`` (what ``torch.Generator.manual_seed``
    accepts without wrapping); ``1.7``, ``nan``, ``"a"``, ``None`` raise ``ValueError``."""
    v = check_int(value, name, minimum=0)
    if v >= 2 ** 63:
        raise ValueError(f"{name}: must be < 2**63, got {value!r}")
    return v


def check_fraction(value, name: str) -> float:
    """A number in ``[0, 1)`` (e.g. a held-out share); strings, NaN and out-of-range values raise."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a number in [0, 1), got {value!r}") from None
    if isinstance(value, bool) or not 0 <= v < 1:
        raise ValueError(f"{name}: must be a number in [0, 1), got {value!r}")
    return v
