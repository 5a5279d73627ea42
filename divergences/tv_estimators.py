"""Total variation from samples through a learned set: ``TV >= P(A) - Q(A)`` (C12).

``TV(P, Q) = sup_A P(A) - Q(A) = (1/2) ||p - q||_1`` in ``[0, 1]``: the IPM over indicators of
sets (C12, seed 003), attained at ``A* = {p > q}``.  For any set ``A`` chosen *without* the
evaluation samples, ``P_hat(A) - Q_hat(A) = mean_i 1_A(x_i) - mean_j 1_A(y_j)`` on held-out
``x ~ P``, ``y ~ Q`` is unbiased for ``P(A) - Q(A) <= TV`` (no overfitting bias upwards), with
standard error ``<= (1/2) sqrt(1/n + 1/m)``.  A classifier's decision region
``A = {D(z) > 1/2}`` (equal class weights) estimates ``A*``; the gap to TV is the classifier's
excess balanced error, ``TV - (P(A) - Q(A)) = int_{A* \\ A} (p - q) + int_{A \\ A*} (q - p)``.

* :func:`classifier_tv` -- the held-out estimate for a given decision function;
* :func:`knn_tv` -- the same with a k-nearest-neighbour classifier fitted on one half of each sample
  (scikit-learn ``KNeighborsClassifier``; its posterior reweighted to equal class priors).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import torch

from ._arrays import ArrayLike, common_tensors, real_array
from ._validation import as_samples, check_int, check_same_dim, check_seed

__all__ = ["classifier_tv", "knn_tv"]


def _indicator(values: Any, n: int, name: str) -> int:
    """Number of members of A among ``n`` points from a decision function's output."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    a = np.asarray(values)
    if a.size != n or (a.ndim > 1 and a.size != a.shape[0]):
        raise ValueError(f"decision: must return one value per row of {name} ({n}), got shape {a.shape}")
    a = a.reshape(-1)
    if a.dtype != bool:
        if a.dtype.kind not in "iuf" or not np.all((a == 0) | (a == 1)):
            raise ValueError(f"decision: must return booleans (or 0/1) for {name}, got dtype {a.dtype}")
        a = a.astype(bool)
    return int(a.sum())


def classifier_tv(x: ArrayLike, y: ArrayLike, decision: Callable[[Any], Any]) -> float:
    """Held-out estimate ``P_hat(A) - Q_hat(A)`` of ``TV(P, Q)`` for ``A = {z : decision(z)}`` (C12).

    ``x ~ P`` (n, d) and ``y ~ Q`` (m, d) must not have been used to choose ``A`` (module
    docstring): then the estimate is unbiased for ``P(A) - Q(A) <= TV``.  ``decision`` is called
    on ``x`` and on ``y`` as given (numpy or torch) and returns one boolean (or 0/1) per row, e.g.
    ``lambda z: critic(z) > 0`` for a logit critic.  Returns ``#A(x)/n - #A(y)/m`` as a Python
    float in ``[-1, 1]`` (counts divided exactly, then subtracted; not differentiable).  Raises
    ``ValueError`` for invalid samples (non-finite, empty, dimension mismatch), a non-callable
    ``decision`` or an output of the wrong size or type.
    """
    if not callable(decision):
        raise ValueError(f"decision: must be callable, got {type(decision).__name__}")
    xt, yt = common_tensors((x, "x"), (y, "y"))
    xt, yt = as_samples(xt, "x"), as_samples(yt, "y")
    check_same_dim(xt, yt)
    n, m = xt.shape[0], yt.shape[0]
    return _indicator(decision(x), n, "x") / n - _indicator(decision(y), m, "y") / m


def knn_tv(x: ArrayLike, y: ArrayLike, k: int | None = None, *, seed: int) -> float:
    """Held-out k-nearest-neighbour-classifier estimate of ``TV(P, Q)`` (C12).

    Each sample is split by a random permutation (``numpy.random.default_rng(seed)``: first the
    permutation of ``x``, then of ``y``) into a training half (the first ``floor(n/2)``, ``floor(m/2)``
    points) and an evaluation half.  A kNN classifier (``k`` defaults to
    ``ceil(sqrt(n_train))`` with ``n_train = floor(n/2) + floor(m/2)``; uniform weights) is fitted on
    the training halves; with its class frequencies ``f_P(z)``, ``f_Q(z)`` among the k neighbours,
    ``A = {f_P(z) / floor(n/2) > f_Q(z) / floor(m/2)}`` (the posterior reweighted to equal class
    priors, i.e. ``{p_hat > q_hat}``), and the estimate is :func:`classifier_tv` on the
    evaluation halves: unbiased for ``P(A) - Q(A) <= TV`` (kNN rule: Cover & Hart 1967; consistent
    for ``A*`` as ``k -> inf``, ``k / n -> 0``, Stone 1977).  Python float; torch inputs are detached.
    Raises ``ValueError`` for fewer than 4 samples in ``x`` or ``y``, invalid samples, a ``k``
    that is not an integer in ``[1, n_train]`` and an invalid ``seed``.
    """
    from sklearn.neighbors import KNeighborsClassifier

    seed = check_seed(seed)
    xt, yt = common_tensors((x, "x"), (y, "y"))
    xt, yt = as_samples(xt, "x", min_n=4), as_samples(yt, "y", min_n=4)
    check_same_dim(xt, yt)
    xa, ya = real_array(xt, "x"), real_array(yt, "y")
    rng = np.random.default_rng(seed)
    px, py = rng.permutation(len(xa)), rng.permutation(len(ya))
    hx, hy = len(xa) // 2, len(ya) // 2
    kk = int(math.ceil(math.sqrt(hx + hy))) if k is None else check_int(k, "k", minimum=1)
    if kk > hx + hy:
        raise ValueError(f"k: must be <= the training size {hx + hy} (half of each sample), got {k!r}")
    xtr, xev, ytr, yev = xa[px[:hx]], xa[px[hx:]], ya[py[:hy]], ya[py[hy:]]
    clf = KNeighborsClassifier(n_neighbors=kk).fit(np.concatenate([xtr, ytr]),
                                                   np.r_[np.ones(hx), np.zeros(hy)])
    cls = list(clf.classes_)

    def in_a(z: np.ndarray) -> np.ndarray:
        pr = clf.predict_proba(z)
        return pr[:, cls.index(1.0)] / hx > pr[:, cls.index(0.0)] / hy

    return classifier_tv(xev, yev, in_a)
