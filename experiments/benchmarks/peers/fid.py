"""FID (C28; Heusel et al. 2017): the Frechet distance between Gaussians fitted to features,
``|mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2)``.

Case 1, from statistics (d = 2048, the Inception pool3 width; float64 moments from n = 10 000
features per side, the usual protocol): ``dv.frechet_distance`` against torchmetrics
``_compute_fid`` (eigenvalues of S1 S2), torch-fidelity ``fid_statistics_to_metric``
(``np.linalg.eigvals``), pytorch-fid ``calculate_frechet_distance`` and clean-fid
``frechet_distance`` (``scipy.linalg.sqrtm``).  Reference: the symmetric-eigh value in float64.
Floor: one symmetric eigendecomposition with vectors and one without at d = 2048 (measured).

Case 2, from features (n = 10 000 per side): ``dv.fid`` against torchmetrics
``FrechetInceptionDistance`` fed the features through an identity module (float64 running sums).
Floor: the two covariance GEMMs (2 n d^2 FLOPs each, float64) plus the eigenproblems.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

import divergences as dv

from .floors import eigh_seconds, gemm_rate
from .harness import Candidate, Case, optional_import
from .kid import features

N, D = 10_000, 2048


def _reference(mu1: np.ndarray, S1: np.ndarray, mu2: np.ndarray, S2: np.ndarray) -> float:
    """Float64 symmetric value: sqrt(S1) by eigh (clipped at 0), then eigvalsh of S1^1/2 S2 S1^1/2."""
    w, v = np.linalg.eigh(S1)
    r = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    lam = np.clip(np.linalg.eigvalsh(r @ S2 @ r), 0, None)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(S1) + np.trace(S2) - 2.0 * np.sqrt(lam).sum())


def cases() -> Iterator[Case]:
    fx = features(0, N, D).astype(np.float64)
    fy = (features(1, N, D) * 1.05).astype(np.float64)
    mu1, mu2 = fx.mean(0), fy.mean(0)
    S1, S2 = np.cov(fx, rowvar=False), np.cov(fy, rowvar=False)
    t1, t2, T1, T2 = (torch.from_numpy(a) for a in (mu1, mu2, S1, S2))
    cands = [Candidate("dv.frechet_distance", "ours", "divergences", "dv.frechet_distance(mu1, S1, mu2, S2)",
                       lambda: float(dv.frechet_distance(mu1, S1, mu2, S2)))]
    tm, tm_ver = optional_import("torchmetrics.image.fid")
    cands.append(Candidate("torchmetrics _compute_fid", "peer", f"torchmetrics {tm_ver}", "_compute_fid(mu1, S1, mu2, S2) on float64 tensors",
                           (lambda: float(tm._compute_fid(t1, T1, t2, T2))) if tm else None, skipped="" if tm else tm_ver))
    tf, ver = optional_import("torch_fidelity.metric_fid")
    cands.append(Candidate("torch-fidelity fid_statistics_to_metric", "peer", f"torch-fidelity {ver}",
                           "fid_statistics_to_metric({'mu','sigma'} x2, verbose=False)",
                           (lambda: float(tf.fid_statistics_to_metric({"mu": mu1, "sigma": S1}, {"mu": mu2, "sigma": S2},
                                                                      False)["frechet_inception_distance"])) if tf else None,
                           skipped="" if tf else ver))
    pf, ver = optional_import("pytorch_fid.fid_score")
    cands.append(Candidate("pytorch-fid calculate_frechet_distance", "peer", f"pytorch-fid {ver}",
                           "calculate_frechet_distance(mu1, S1, mu2, S2) (scipy sqrtm)",
                           (lambda: float(pf.calculate_frechet_distance(mu1, S1, mu2, S2))) if pf else None,
                           skipped="" if pf else ver))
    cf, ver = optional_import("cleanfid.fid")
    cands.append(Candidate("clean-fid frechet_distance", "peer", f"clean-fid {ver}", "frechet_distance(mu1, S1, mu2, S2) (scipy sqrtm)",
                           (lambda: float(cf.frechet_distance(mu1, S1, mu2, S2))) if cf else None, skipped="" if cf else ver))
    yield Case("fid", f"from statistics, d={D} (moments of n={N} float64 features)", cands,
               floor=lambda: (eigh_seconds(D), "one d x d symmetric eigendecomposition with vectors + one without (measured)"),
               reference=lambda: _reference(mu1, S1, mu2, S2), rounds=2)

    tx, ty = torch.from_numpy(fx), torch.from_numpy(fy)
    cands = [Candidate("dv.fid", "ours", "divergences", "dv.fid(fx, fy)", lambda: float(dv.fid(tx, ty)))]
    if tm is None:
        cands.append(Candidate("torchmetrics FrechetInceptionDistance", "peer", "torchmetrics", "", None, skipped=tm_ver))
    else:
        class _Identity(torch.nn.Module):
            num_features = D

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return x

        def run_tm() -> float:
            metric = tm.FrechetInceptionDistance(feature=_Identity())
            metric.update(tx, real=True)
            metric.update(ty, real=False)
            return float(metric.compute())
        cands.append(Candidate("torchmetrics FrechetInceptionDistance", "peer", f"torchmetrics {tm_ver}",
                               "FrechetInceptionDistance(feature=identity with num_features=2048); update x2; compute()", run_tm,
                               note="returns float32 (the features' dtype is float64 here; the metric casts its result)"))
    flops = 2 * 2.0 * N * D * D
    yield Case("fid", f"from features, n=m={N}, d={D}, float64", cands,
               floor=lambda: (flops / gemm_rate(torch.float64) + eigh_seconds(D),
                              f"two covariance GEMMs ({flops / 1e9:.0f} GFLOP float64) + the two eigenproblems"),
               reference=lambda: _reference(mu1, S1, mu2, S2), rounds=2)
