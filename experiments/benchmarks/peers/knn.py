"""k-nearest-neighbour KL estimator (Wang, Kulkarni and Verdu 2009, Eq. 5 with k_i = l_i = k):
``d mean log(nu_k / rho_k) + log(m / (n - 1))``.

Peers: the 10-line versions a user writes with scipy ``cKDTree`` and with scikit-learn
``NearestNeighbors`` (same formula, self excluded from rho by asking for k + 1 neighbours).
Sizes: d = 3 (n = m = 2000, k = 1 and 5; n = m = 10 000, k = 5), d = 16 and 64 (n = m = 5000,
k = 5); x ~ N(0, I), y ~ 1.2 N(0, I) + e1, float64.  Floor (brute force): the two distance
GEMMs ``2 n (n + m) d`` FLOPs at the measured float64 rate (a k-d tree avoids them at small d, so
the floor is stated for d > 6 only, where ours searches by brute force).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from scipy.spatial import cKDTree

import divergences as dv

from .floors import gemm_rate
from .harness import Candidate, Case, optional_import

SIZES = [(3, 2000, 1), (3, 2000, 5), (3, 10_000, 5), (16, 5000, 5), (64, 5000, 5)]


def kdtree_kl(x: np.ndarray, y: np.ndarray, k: int) -> float:
    n, d = x.shape
    rho = cKDTree(x).query(x, k + 1)[0][:, k]
    nu = cKDTree(y).query(x, k)[0]
    nu = nu if nu.ndim == 1 else nu[:, k - 1]
    return float(d * np.mean(np.log(nu / rho)) + np.log(len(y) / (n - 1)))


def cases() -> Iterator[Case]:
    sk, sk_ver = optional_import("sklearn.neighbors")

    def sklearn_kl(x: np.ndarray, y: np.ndarray, k: int) -> float:
        n, d = x.shape
        rho = sk.NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)[0][:, k]
        nu = sk.NearestNeighbors(n_neighbors=k).fit(y).kneighbors(x)[0][:, k - 1]
        return float(d * np.mean(np.log(nu / rho)) + np.log(len(y) / (n - 1)))

    import scipy
    for d, n, k in SIZES:
        rng = np.random.default_rng(100 * d + k)
        x = rng.standard_normal((n, d))
        y = 1.2 * rng.standard_normal((n, d))
        y[:, 0] += 1.0
        cands = [
            Candidate("dv.knn_kl", "ours", "divergences", f"dv.knn_kl(x, y, k={k})", lambda x=x, y=y, k=k: float(dv.knn_kl(x, y, k))),
            Candidate("scipy cKDTree", "peer", f"scipy {scipy.__version__}", "cKDTree(x).query(x, k+1); cKDTree(y).query(x, k)",
                      lambda x=x, y=y, k=k: kdtree_kl(x, y, k)),
            Candidate("scikit-learn NearestNeighbors", "peer", f"scikit-learn {sk_ver}",
                      "NearestNeighbors(k+1).fit(x).kneighbors(x); NearestNeighbors(k).fit(y).kneighbors(x)",
                      (lambda x=x, y=y, k=k: sklearn_kl(x, y, k)) if sk else None, skipped="" if sk else sk_ver),
        ]
        flops = 2.0 * n * (n + n) * d
        floor = (lambda flops=flops: (flops / gemm_rate(torch.float64), f"two distance GEMMs: {flops / 1e9:.2f} GFLOP float64")) \
            if d > 6 else None
        yield Case("knn_kl", f"n=m={n}, d={d}, k={k}, float64", cands, floor=floor)
