"""Unbiased MMD^2 with a Gaussian kernel (C19; Gretton et al. 2012, Eq. 3), bandwidth sigma = sqrt(d).

Peers: the two ways a torch user writes it with full Gram matrices (diagonals removed from the
within-sample sums): ``torch.cdist`` + ``exp``, and the matmul expansion
``|a|^2 + |b|^2 - 2 a.b``.  Sizes: d = 2048 (feature space) at n = m = 2000 and 5000, and d = 64
at n = m = 5000; float32 inputs, x ~ N(0, I), y ~ 1.1 N(0, I) + 0.05.  Reference: float64 matmul
expansion on centred data.  Floor: the Gram GEMMs ``2 d (n^2 + m^2 + n m)`` FLOPs at the measured
float32 rate (ours computes only one triangle of Kxx and Kyy: BLAS syrk on the CPU through
``divergences.kernels.gram_product``, upper-triangle tiles elsewhere, so it can beat it).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

import divergences as dv

from .floors import gemm_rate
from .harness import Candidate, Case

SIZES = [(2048, 2000), (2048, 5000), (64, 5000)]


def _unbiased(kxx: torch.Tensor, kyy: torch.Tensor, kxy: torch.Tensor) -> float:
    n, m = kxx.shape[0], kyy.shape[0]
    sxx = (kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
    syy = (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
    return float(sxx + syy - 2.0 * kxy.mean())


def torch_cdist(x: torch.Tensor, y: torch.Tensor, s: float) -> float:
    g = 1.0 / (2.0 * s * s)
    return _unbiased(torch.exp(-g * torch.cdist(x, x) ** 2), torch.exp(-g * torch.cdist(y, y) ** 2),
                     torch.exp(-g * torch.cdist(x, y) ** 2))


def torch_matmul(x: torch.Tensor, y: torch.Tensor, s: float) -> float:
    g = 1.0 / (2.0 * s * s)
    xx, yy = (x * x).sum(1), (y * y).sum(1)

    def k(a: torch.Tensor, aa: torch.Tensor, b: torch.Tensor, bb: torch.Tensor) -> torch.Tensor:
        return torch.exp(-g * (aa[:, None] + bb[None, :] - 2.0 * a @ b.T).clamp_min(0))
    return _unbiased(k(x, xx, x, xx), k(y, yy, y, yy), k(x, xx, y, yy))


def cases() -> Iterator[Case]:
    for d, n in SIZES:
        rng = np.random.default_rng(d + n)
        x = torch.from_numpy(rng.standard_normal((n, d)).astype(np.float32))
        y = torch.from_numpy((1.1 * rng.standard_normal((n, d)) + 0.05).astype(np.float32))
        s = float(np.sqrt(d))
        x64, y64 = x.double(), y.double()
        c = torch.cat([x64, y64]).mean(0)
        cands = [
            Candidate("dv.mmd2", "ours", "divergences", "dv.mmd2(x, y, 'gaussian', bandwidth=sqrt(d))",
                      lambda x=x, y=y, s=s: float(dv.mmd2(x, y, "gaussian", bandwidth=s))),
            Candidate("torch cdist + exp", "peer", f"torch {torch.__version__}",
                      "exp(-cdist(a, b)**2 / (2 s^2)), full Gram matrices", lambda x=x, y=y, s=s: torch_cdist(x, y, s)),
            Candidate("torch matmul expansion", "peer", f"torch {torch.__version__}",
                      "exp(-(|a|^2 + |b|^2 - 2 a b^T).clamp_min(0) / (2 s^2)), full Gram matrices",
                      lambda x=x, y=y, s=s: torch_matmul(x, y, s)),
        ]
        flops = 2.0 * d * 3 * n * n
        yield Case("mmd2", f"n=m={n}, d={d}, float32", cands,
                   floor=lambda flops=flops: (flops / gemm_rate(torch.float32),
                                              f"three full Gram GEMMs: {flops / 1e9:.1f} GFLOP at the measured float32 rate"),
                   reference=lambda x64=x64, y64=y64, c=c, s=s: torch_matmul(x64 - c, y64 - c, s),
                   rounds=3 if n <= 2000 else 2)
