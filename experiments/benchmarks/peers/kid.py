"""KID (C29; Binkowski et al. 2018, Eq. 5 with the cubic kernel k(a, b) = (a.b / d + 1)^3):
``dv.kid`` against torchmetrics ``KernelInceptionDistance`` (same subsets: ``torch.manual_seed``
reproduces ``dv.kid(seed=...)``'s subset draws), torch-fidelity ``kid_features_to_metric`` and
clean-fid ``kernel_distance`` (their own subsets: numpy RandomState).

Size users run: n = m = 5000 float32 features of d = 2048 (Inception pool3), the usual protocol of
100 subsets of 1000 (the default of every peer).  There ``dv.kid`` takes its pooled plan
(``divergences.evaluation._kid_plan``): the three Grams of all 5000 rows once, each tile summed per
subset through 0/1 indicator columns, instead of 300 subset Grams.  Floor of that plan: the whole
Grams, ``2 P d`` FLOPs with ``P = n^2/2 + m^2/2 + nm`` entries (the two within-sample Grams
symmetric), at the measured float32 GEMM rate (the float64 per-subset sums, ``T P`` multiply-adds,
come on top).  The peers' floor is three ``s x d x s`` products per subset, ``6 T s^2 d`` FLOPs
(the numpy peers' ``a @ a.T`` is BLAS syrk, two thirds of that).

A second case, 10 subsets of the same features, is below the plans' crossover (about 25 subsets
here): ``dv.kid`` computes each subset's Grams like the peers (self-Grams by syrk through
``divergences.kernels.gram_product``; with one torch thread the cross Gram through numpy's gemm,
the numpy peers' BLAS), so its floor is the peers' and parity is the expected outcome.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

import divergences as dv
from divergences.evaluation import _kid_plan

from .floors import gemm_rate
from .harness import Candidate, Case, optional_import

N, D, SUBSET = 5000, 2048, 1000
#: the usual protocol, then a count below the pooled plan's crossover
SUBSET_COUNTS = (100, 10)


def features(seed: int, n: int = N, d: int = D) -> np.ndarray:
    """Non-negative correlated stand-in for pool3 features: ReLU of a rank-128 map plus noise."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((128, d)) / np.sqrt(128)
    z = rng.standard_normal((n, 128))
    return np.maximum(z @ w + 0.3 * rng.standard_normal((n, d)), 0.0).astype(np.float32)


def cases() -> Iterator[Case]:
    fx, fy = features(0), features(1) * 1.05
    tx, ty = torch.from_numpy(fx), torch.from_numpy(fy)
    for subsets in SUBSET_COUNTS:
        yield _case(fx, fy, tx, ty, subsets)


def _case(fx: np.ndarray, fy: np.ndarray, tx: torch.Tensor, ty: torch.Tensor, subsets: int) -> Case:
    plan = _kid_plan(N, N, D, SUBSET, subsets)
    cands = [
        Candidate("dv.kid (torch float32)", "ours", "divergences", f"dv.kid(tx, ty, subsets={subsets}, subset_size={SUBSET}, seed=0)",
                  lambda: float(dv.kid(tx, ty, subsets=subsets, subset_size=SUBSET, seed=0).mean), note=f"{plan} plan"),
        Candidate("dv.kid (numpy float32)", "ours", "divergences", f"dv.kid(fx, fy, subsets={subsets}, subset_size={SUBSET}, seed=0)",
                  lambda: float(dv.kid(fx, fy, subsets=subsets, subset_size=SUBSET, seed=0).mean),
                  note=f"second ours row: numpy input, {plan} plan"),
    ]
    cands[1].role = "ours-alt"
    tm, ver = optional_import("torchmetrics.image.kid")
    if tm is None:
        cands.append(Candidate("torchmetrics KernelInceptionDistance", "peer", "torchmetrics", "", None, skipped=ver))
    else:
        def run_tm() -> float:
            metric = tm.KernelInceptionDistance(feature=torch.nn.Identity(), subsets=subsets, subset_size=SUBSET)
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
                               lambda: float(tf.kid_features_to_metric(tx, ty, kid_subsets=subsets, kid_subset_size=SUBSET,
                                                                       verbose=False, rng_seed=2020)["kernel_inception_distance_mean"]),
                               note="its own subsets (numpy RandomState 2020): agreement within the subset spread only"))
    cf, ver = optional_import("cleanfid.fid")
    if cf is None:
        cands.append(Candidate("clean-fid kernel_distance", "peer", "clean-fid", "", None, skipped=ver))
    else:
        def run_cf() -> float:
            np.random.seed(0)
            return float(cf.kernel_distance(fx, fy, num_subsets=subsets, max_subset_size=SUBSET))
        cands.append(Candidate("clean-fid kernel_distance", "peer", f"clean-fid {ver}",
                               "kernel_distance(fx, fy, num_subsets, max_subset_size) after np.random.seed(0)", run_cf,
                               note="its own subsets (global numpy RNG): agreement within the subset spread only"))
    if plan == "pooled":
        flops = 2.0 * (N * N / 2 + N * N / 2 + N * N) * D
        what = f"the 3 whole Grams once, 2 symmetric: {flops / 1e9:.0f} GFLOP"
    else:
        flops = subsets * 3 * 2.0 * SUBSET * SUBSET * D
        what = f"3 Gram GEMMs per subset: {flops / 1e9:.0f} GFLOP"
    return Case("kid", f"n=m={N}, d={D}, float32, {subsets} subsets of {SUBSET}", cands,
                floor=lambda: (flops / gemm_rate(torch.float32), f"{what} at the measured float32 GEMM rate"))
