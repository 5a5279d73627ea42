"""KID (C29; Binkowski et al. 2018, Eq. 5 with the cubic kernel k(a, b) = (a.b / d + 1)^3):
``dv.kid`` against torchmetrics ``KernelInceptionDistance`` (same subsets: ``torch.manual_seed``
reproduces ``dv.kid(seed=...)``'s subset draws), torch-fidelity ``kid_features_to_metric`` and
clean-fid ``kernel_distance`` (their own subsets: numpy RandomState).

Size users run: n = m = 5000 float32 features of d = 2048 (Inception pool3), subsets of 1000.
Timed with 10 subsets per call (100 in the usual protocol: the cost is linear in the count).
Floor: three 1000 x 2048 x 1000 Gram products per subset, 2 s^2 d FLOPs each, at the measured
float32 GEMM rate.  Ours and the numpy peers compute the within-sample Grams ``x x^T`` by BLAS
syrk (one triangle: ``divergences.kernels.gram_product``; numpy's ``a @ a.T``), half those FLOPs,
so both can go below this floor: the syrk floor is two thirds of it.  With one torch thread ours
also takes the cross Gram ``x y^T`` through numpy's gemm (the same BLAS as the numpy peers).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

import divergences as dv

from .floors import gemm_rate
from .harness import Candidate, Case, optional_import

N, D, SUBSET, SUBSETS = 5000, 2048, 1000, 10


def features(seed: int, n: int = N, d: int = D) -> np.ndarray:
    """Non-negative correlated stand-in for pool3 features: ReLU of a rank-128 map plus noise."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((128, d)) / np.sqrt(128)
    z = rng.standard_normal((n, 128))
    return np.maximum(z @ w + 0.3 * rng.standard_normal((n, d)), 0.0).astype(np.float32)


def cases() -> Iterator[Case]:
    fx, fy = features(0), features(1) * 1.05
    tx, ty = torch.from_numpy(fx), torch.from_numpy(fy)
    cands = [
        Candidate("dv.kid (torch float32)", "ours", "divergences", f"dv.kid(tx, ty, subsets={SUBSETS}, subset_size={SUBSET}, seed=0)",
                  lambda: float(dv.kid(tx, ty, subsets=SUBSETS, subset_size=SUBSET, seed=0).mean)),
        Candidate("dv.kid (numpy float32)", "ours", "divergences", f"dv.kid(fx, fy, subsets={SUBSETS}, subset_size={SUBSET}, seed=0)",
                  lambda: float(dv.kid(fx, fy, subsets=SUBSETS, subset_size=SUBSET, seed=0).mean),
                  note="second ours row: numpy input"),
    ]
    cands[1].role = "ours-alt"
    tm, ver = optional_import("torchmetrics.image.kid")
    if tm is None:
        cands.append(Candidate("torchmetrics KernelInceptionDistance", "peer", "torchmetrics", "", None, skipped=ver))
    else:
        def run_tm() -> float:
            metric = tm.KernelInceptionDistance(feature=torch.nn.Identity(), subsets=SUBSETS, subset_size=SUBSET)
            metric.update(tx, real=True)
            metric.update(ty, real=False)
            torch.manual_seed(0)
            return float(metric.compute()[0])
        cands.append(Candidate("torchmetrics KernelInceptionDistance", "peer", f"torchmetrics {ver}",
                               "KernelInceptionDistance(feature=Identity(), subsets, subset_size); update x2; manual_seed(0); compute()",
                               run_tm, note="same subsets as ours (global torch RNG seeded 0)"))
    tf, ver = optional_import("torch_fidelity.metric_kid")
    if tf is None:
        cands.append(Candidate("torch-fidelity kid_features_to_metric", "peer", "torch-fidelity", "", None, skipped=ver))
    else:
        cands.append(Candidate("torch-fidelity kid_features_to_metric", "peer", f"torch-fidelity {ver}",
                               "kid_features_to_metric(tx, ty, kid_subsets, kid_subset_size, rng_seed=2020)",
                               lambda: float(tf.kid_features_to_metric(tx, ty, kid_subsets=SUBSETS, kid_subset_size=SUBSET,
                                                                       verbose=False, rng_seed=2020)["kernel_inception_distance_mean"]),
                               note="its own subsets (numpy RandomState 2020): agreement within the subset spread only"))
    cf, ver = optional_import("cleanfid.fid")
    if cf is None:
        cands.append(Candidate("clean-fid kernel_distance", "peer", "clean-fid", "", None, skipped=ver))
    else:
        def run_cf() -> float:
            np.random.seed(0)
            return float(cf.kernel_distance(fx, fy, num_subsets=SUBSETS, max_subset_size=SUBSET))
        cands.append(Candidate("clean-fid kernel_distance", "peer", f"clean-fid {ver}",
                               "kernel_distance(fx, fy, num_subsets, max_subset_size) after np.random.seed(0)", run_cf,
                               note="its own subsets (global numpy RNG): agreement within the subset spread only"))
    flops = SUBSETS * 3 * 2.0 * SUBSET * SUBSET * D
    yield Case("kid", f"n=m={N}, d={D}, float32, {SUBSETS} subsets of {SUBSET}", cands,
               floor=lambda: (flops / gemm_rate(torch.float32), f"3 Gram GEMMs per subset: {flops / 1e9:.0f} GFLOP at the measured float32 GEMM rate"))
