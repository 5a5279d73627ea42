"""Sliced Wasserstein distance (C15 family; Bonneel et al. 2015): ``(mean_theta W_p^p(theta.x,
theta.y))^(1/p)`` over ``L`` random unit directions, p = 2.

Peer: POT ``ot.sliced_wasserstein_distance`` on numpy float64 and on torch float32 (its torch
backend).  With float64 torch tensors and ``seed=s`` POT draws the same directions as
``dv.sliced_wasserstein(seed=s)`` (a torch generator seeded s, ``randn`` float64), so the float64
rows agree to rounding; the float32 row agrees to float32 rounding.  Sizes: n = m = 5000, d = 64,
L = 128 and 1000; and n = 5000 weighted against m = 4000 uniform, L = 128 (the quantile coupling
of unequal, weighted samples, column by column of the projections).  Floor: the projection GEMMs ``2 (n + m) d L`` FLOPs at the measured rate plus
nothing for the sorts (stated, not counted).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

import divergences as dv

from .floors import gemm_rate
from .harness import Candidate, Case, optional_import

#: (d, n, m, L, x weighted)
SIZES = [(64, 5000, 5000, 128, False), (64, 5000, 5000, 1000, False), (64, 5000, 4000, 128, True)]


def cases() -> Iterator[Case]:
    ot, ver = optional_import("ot")
    for d, n, m, L, weighted in SIZES:
        rng = np.random.default_rng(d + L + (n - m))
        x = rng.standard_normal((n, d))
        y = 1.2 * rng.standard_normal((m, d))
        y[:, 0] += 1.0
        a = None
        if weighted:
            a = rng.random(n) + 0.05
            a /= a.sum()
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        fx, fy = tx.float(), ty.float()
        ta = None if a is None else torch.from_numpy(a)
        fa = None if a is None else ta.float()
        wtxt = ", x_weights=a" if weighted else ""
        cands = [
            Candidate("dv.sliced_wasserstein (numpy f64)", "ours", "divergences", f"dv.sliced_wasserstein(x, y, p=2, n_projections={L}, seed=0{wtxt})",
                      lambda x=x, y=y, L=L, a=a: float(dv.sliced_wasserstein(x, y, p=2, n_projections=L, seed=0, x_weights=a))),
            Candidate("dv.sliced_wasserstein (torch f32)", "ours-alt", "divergences", "same on float32 tensors",
                      lambda fx=fx, fy=fy, L=L, fa=fa: float(dv.sliced_wasserstein(fx, fy, p=2, n_projections=L, seed=0, x_weights=fa))),
            Candidate("POT sliced (numpy f64)", "peer", f"POT {ver}", f"ot.sliced_wasserstein_distance(x, y{', a=a' if weighted else ''}, n_projections={L}, p=2, seed=0)",
                      (lambda x=x, y=y, L=L, a=a: float(ot.sliced_wasserstein_distance(x, y, a=a, n_projections=L, p=2, seed=0))) if ot else None,
                      skipped="" if ot else ver, note="numpy draws its own directions: agreement within the projection spread"),
            Candidate("POT sliced (torch f64)", "peer", f"POT {ver}", "same on float64 tensors (same directions as ours)",
                      (lambda tx=tx, ty=ty, L=L, ta=ta: float(ot.sliced_wasserstein_distance(tx, ty, a=ta, n_projections=L, p=2, seed=0))) if ot else None,
                      skipped="" if ot else ver),
            Candidate("POT sliced (torch f32)", "peer", f"POT {ver}", "same on float32 tensors",
                      (lambda fx=fx, fy=fy, L=L, fa=fa: float(ot.sliced_wasserstein_distance(fx, fy, a=fa, n_projections=L, p=2, seed=0))) if ot else None,
                      skipped="" if ot else ver),
        ]
        flops = 2.0 * (n + m) * d * L
        size = f"n=m={n}" if n == m else f"n={n} (weighted), m={m}"
        yield Case("sliced_wasserstein", f"{size}, d={d}, L={L}", cands,
                   floor=lambda flops=flops: (flops / gemm_rate(torch.float64), f"projection GEMMs: {flops / 1e9:.2f} GFLOP float64 (sorts not counted)"))
