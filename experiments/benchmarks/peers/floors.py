"""Rates measured in the running process, to turn a floor in FLOPs or bytes into seconds.

Each is a best-of-3 timing with the process's current thread settings, so a floor and the
estimator it bounds run under the same conditions.
"""

from __future__ import annotations

import time

import torch

__all__ = ["gemm_rate", "read_rate", "eigh_seconds"]


def _best(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def gemm_rate(dtype: torch.dtype = torch.float32, size: int = 1024) -> float:
    """Achieved dense matrix-multiply rate in FLOP/s (``2 size^3`` FLOPs per product)."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, dtype=dtype, generator=g)
    b = torch.randn(size, size, dtype=dtype, generator=g)
    a @ b
    return 2.0 * size ** 3 / _best(lambda: a @ b)


def read_rate(nbytes: int = 256 * 2 ** 20) -> float:
    """Achieved streaming read rate in bytes/s (a float64 sum over ``nbytes`` of memory)."""
    x = torch.ones(nbytes // 8, dtype=torch.float64)
    x.sum()
    return nbytes / _best(lambda: x.sum())


def eigh_seconds(d: int) -> float:
    """Seconds for one float64 symmetric eigendecomposition with vectors plus one without, on a
    random SPD ``d x d`` matrix: the two eigenproblems a symmetric Frechet distance needs."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(d, d, dtype=torch.float64, generator=g)
    s = a @ a.T / d + torch.eye(d, dtype=torch.float64)
    return _best(lambda: (torch.linalg.eigh(s), torch.linalg.eigvalsh(s)), repeats=2)
