"""Sample estimates used by the disjoint-support experiment and the (T) column of the CMT table.

Each function takes samples ``x ~ P`` (n, d), ``y ~ Q`` (m, d) as numpy arrays and an explicit
``seed`` where it draws anything; the heavy lifting is done by :mod:`divergences`.

* :func:`knn_jsd` -- JSD through the kNN KL estimator (``dv.knn_kl``, Wang-Kulkarni-Verdu) against an
  independent sample of the mixture M = (P + Q)/2:  ``JSD = (KL(P||M) + KL(Q||M)) / 2`` (nats,
  1/2 weights, C05).  Independent mixture samples avoid the zero distances a pooled sample would give.
* :func:`knn_tv` -- TV through a k-nearest-neighbour classifier (C12: TV is the IPM over indicators):
  fit on one half, then ``P_hat(A) - Q_hat(A)`` on the other half for ``A = {D_hat > 1/2}``; for a fixed
  A this is unbiased for ``P(A) - Q(A) <= TV`` (held-out, so no overfitting bias upwards).
* :func:`smmd_linear` -- ``D_SMMD`` with linear features ``phi_psi(x) = psi^T x`` (psi in R^d), top
  kernel ``exp(-(a - b)^2 / 2)``, ``sigma_psi^-2 = lambda + 1 + ||psi||^2`` (C22, lambda = 1): the
  maximum over psi of ``sigma_psi^2 MMD^2_u(psi^T x, psi^T y)`` (``dv.mmd2`` unbiased, autograd),
  by L-BFGS started from the unit mean-difference direction; returns ``sqrt(max(., 0))``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

import divergences as dv

from .families import LAMBDA_SMMD

__all__ = ["knn_jsd", "knn_tv", "smmd_linear", "mixture_sample"]


def mixture_sample(sample_p, sample_q, n: int, seed: int) -> np.ndarray:
    """``n`` draws of ``M = (P + Q)/2``: a Binomial(n, 1/2) split, each part from its own seed."""
    rng = np.random.default_rng(seed)
    n_p = int(rng.binomial(n, 0.5))
    n_p = min(max(n_p, 1), n - 1)
    s1, s2 = (int(v) for v in rng.integers(0, 2**31 - 1, size=2))
    return np.concatenate([sample_p(n_p, s1), sample_q(n - n_p, s2)])


def knn_jsd(x: np.ndarray, y: np.ndarray, m: np.ndarray, k: int = 1) -> float:
    """``JSD_hat = (KL_hat(P||M) + KL_hat(Q||M)) / 2`` with ``dv.knn_kl`` and an independent mixture
    sample ``m``.  Nats, 1/2 weights (max log 2 for the truth; the estimate is not clipped)."""
    return 0.5 * (float(dv.knn_kl(x, m, k=k)) + float(dv.knn_kl(y, m, k=k)))


def knn_tv(x: np.ndarray, y: np.ndarray, seed: int, k: int | None = None) -> float:
    """Held-out kNN-classifier estimate of ``TV = sup_A P(A) - Q(A)`` (see the module docstring).

    ``k`` defaults to ``ceil(sqrt(n_train))``; the halves are drawn with ``default_rng(seed)``.
    """
    from sklearn.neighbors import KNeighborsClassifier

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or min(len(x), len(y)) < 4:
        raise ValueError(f"x, y: need (n, d) and (m, d) arrays with n, m >= 4, got {x.shape}, {y.shape}")
    rng = np.random.default_rng(seed)
    px, py = rng.permutation(len(x)), rng.permutation(len(y))
    hx, hy = len(x) // 2, len(y) // 2
    xtr, xev, ytr, yev = x[px[:hx]], x[px[hx:]], y[py[:hy]], y[py[hy:]]
    kk = k if k is not None else int(math.ceil(math.sqrt(hx + hy)))
    clf = KNeighborsClassifier(n_neighbors=kk).fit(np.concatenate([xtr, ytr]),
                                                   np.r_[np.ones(hx), np.zeros(hy)])
    # balanced posterior: class frequencies reweighted to 1/2 each
    def in_a(z: np.ndarray) -> np.ndarray:
        pr = clf.predict_proba(z)
        cls = list(clf.classes_)
        p1 = pr[:, cls.index(1.0)] / hx
        p0 = pr[:, cls.index(0.0)] / hy
        return p1 > p0
    return float(in_a(xev).mean() - in_a(yev).mean())


def _mmd2_u_1d(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Unbiased MMD^2 of 1-D samples under exp(-(u-v)^2/2): the optimiser's inner objective (a
    dense, overhead-free copy of ``dv.mmd2(..., "unbiased")``; the reported value uses dv.mmd2)."""
    n, m = a.shape[0], b.shape[0]
    kxx = torch.exp(-0.5 * (a[:, None] - a[None, :]) ** 2)
    kyy = torch.exp(-0.5 * (b[:, None] - b[None, :]) ** 2)
    kxy = torch.exp(-0.5 * (a[:, None] - b[None, :]) ** 2)
    return ((kxx.sum() - n) / (n * (n - 1)) + (kyy.sum() - m) / (m * (m - 1)) - 2 * kxy.mean())


def smmd_linear(x: np.ndarray, y: np.ndarray, *, lam: float = LAMBDA_SMMD, max_iter: int = 25) -> float:
    """Sample ``D_SMMD`` over linear features ``psi^T x`` (see the module docstring).

    Deterministic given the samples (the start ``psi_0 = (y_bar - x_bar) / ||y_bar - x_bar||`` is
    data-driven).  L-BFGS with strong-Wolfe line search, ``max_iter`` iterations, float64.
    """
    xt = torch.as_tensor(np.asarray(x, dtype=np.float64))
    yt = torch.as_tensor(np.asarray(y, dtype=np.float64))
    diff = yt.mean(0) - xt.mean(0)
    nrm = float(diff.norm())
    start = diff / nrm if nrm > 0 else torch.zeros_like(diff).index_fill_(0, torch.tensor([0]), 1.0)
    psi = start.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([psi], lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        obj = -_mmd2_u_1d(xt @ psi, yt @ psi) / (lam + 1.0 + (psi * psi).sum())
        obj.backward()
        return obj

    opt.step(closure)
    with torch.no_grad():
        best = float(dv.mmd2((xt @ psi)[:, None], (yt @ psi)[:, None], "gaussian", bandwidth=1.0)
                     / (lam + 1.0 + (psi * psi).sum()))
    return math.sqrt(max(best, 0.0))
