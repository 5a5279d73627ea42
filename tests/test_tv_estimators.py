"""C12: total variation through a learned set, ``dv.classifier_tv`` and ``dv.knn_tv``.

``TV(P, Q) = sup_A P(A) - Q(A)``; on held-out samples ``P_hat(A) - Q_hat(A)`` is unbiased for
``P(A) - Q(A) <= TV``.  Oracles: exact counting, a brute-force kNN classifier written here with
numpy (same permutations, own distance computation), the Bayes set ``{x > theta/2}`` of a Gaussian
shift (``P(A) - Q(A) = TV = erf(theta / (2 sqrt 2))``), and CLT bounds: conditionally on A the
estimate has variance ``<= (1/4)(1/n + 1/m)``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import special

import divergences as dv


def test_c12_classifier_tv_counts_exactly() -> None:
    x = np.arange(10, dtype=float)[:, None]           # 7 of 10 above 2.5
    y = np.arange(7, dtype=float)[:, None] - 3.0      # 1 of 7 above 2.5
    assert dv.classifier_tv(x, y, lambda z: z[:, 0] > 2.5) == 7 / 10 - 1 / 7
    # torch critics returning (n, 1) logits; 0/1 numbers are accepted as well as booleans
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    assert dv.classifier_tv(xt, yt, lambda z: (z - 2.5) > 0) == 7 / 10 - 1 / 7
    assert dv.classifier_tv(x, y, lambda z: (z[:, 0] > 2.5).astype(int)) == 7 / 10 - 1 / 7


def test_c12_classifier_tv_on_the_bayes_set_is_unbiased_for_tv(rng: np.random.Generator) -> None:
    """N(0, 1) vs N(theta, 1): A = {x < theta/2} = {p > q} attains TV; one draw of n = m = 20000 lies
    within 4 standard deviations (sd <= (1/2) sqrt(2/n)) of TV."""
    theta, n = 0.8, 20000
    x, y = rng.normal(size=(n, 1)), rng.normal(theta, 1.0, size=(n, 1))
    tv = float(special.erf(theta / (2 * math.sqrt(2))))
    est = dv.classifier_tv(x, y, lambda z: z[:, 0] < theta / 2)
    assert abs(est - tv) <= 4 * 0.5 * math.sqrt(2 / n)


def _knn_tv_reference(x: np.ndarray, y: np.ndarray, seed: int, k: int | None = None) -> float:
    """The documented recipe, written out: split by default_rng(seed) permutations, balanced kNN posterior."""
    rng = np.random.default_rng(seed)
    px, py = rng.permutation(len(x)), rng.permutation(len(y))
    hx, hy = len(x) // 2, len(y) // 2
    train = np.concatenate([x[px[:hx]], y[py[:hy]]])
    label = np.r_[np.ones(hx), np.zeros(hy)]
    kk = k or math.ceil(math.sqrt(hx + hy))

    def in_a(z: np.ndarray) -> np.ndarray:
        d2 = ((z[:, None, :] - train[None, :, :]) ** 2).sum(-1)
        nearest = np.argsort(d2, axis=1, kind="stable")[:, :kk]
        f1 = label[nearest].sum(1)
        return f1 / hx > (kk - f1) / hy

    xe, ye = x[px[hx:]], y[py[hy:]]
    return in_a(xe).sum() / len(xe) - in_a(ye).sum() / len(ye)


@pytest.mark.parametrize("k", [None, 1, 5])
def test_c12_knn_tv_equals_the_brute_force_recipe(k: int | None, rng: np.random.Generator) -> None:
    """Continuous samples have no distance ties (probability 0), so the neighbour sets, hence the
    counts, are identical: exact equality."""
    x, y = rng.normal(size=(61, 2)), rng.normal(0.7, 1.0, size=(48, 2))
    assert dv.knn_tv(x, y, k, seed=9) == _knn_tv_reference(x, y, 9, k)
    assert dv.knn_tv(torch.as_tensor(x), torch.as_tensor(y), k, seed=9) == _knn_tv_reference(x, y, 9, k)


def test_c12_knn_tv_is_one_on_separated_supports(rng: np.random.Generator) -> None:
    """U[0,1] vs U[10,11]: every neighbour of an evaluation point (k <= n_train / 2) is from its own
    sample, so A contains all of x and none of y: exactly 1."""
    x, y = rng.uniform(0, 1, size=(50, 3)), rng.uniform(10, 11, size=(40, 3))
    assert dv.knn_tv(x, y, seed=0) == 1.0
    assert dv.knn_tv(y, x, seed=0) == 1.0


def test_c12_knn_tv_is_centred_when_p_equals_q(rng: np.random.Generator) -> None:
    """P = Q: P(A) = Q(A) for any learned A, so the mean of 20 held-out estimates (n = m = 200, 100
    evaluation points each) is 0 within 4 * (1/2) sqrt(2/100) / sqrt(20).  An in-sample (training
    set) evaluation would be biased upwards by far more (kNN with k = 20 fits noise)."""
    est = [dv.knn_tv(rng.normal(size=(200, 2)), rng.normal(size=(200, 2)), seed=s) for s in range(20)]
    assert abs(np.mean(est)) <= 4 * 0.5 * math.sqrt(2 / 100) / math.sqrt(20)


@pytest.mark.parametrize("call,match", [
    (lambda: dv.classifier_tv(np.zeros((3, 1)), np.zeros((3, 1)), "x > 0"), "decision"),
    (lambda: dv.classifier_tv(np.zeros((3, 1)), np.zeros((3, 1)), lambda z: np.ones(2, bool)), "decision"),
    (lambda: dv.classifier_tv(np.zeros((3, 1)), np.zeros((3, 1)), lambda z: np.full(len(z), 0.5)), "decision"),
    (lambda: dv.classifier_tv(np.zeros((3, 2)), np.zeros((3, 1)), lambda z: z[:, 0] > 0), "dimension"),
    (lambda: dv.classifier_tv(np.full((3, 1), np.nan), np.zeros((3, 1)), lambda z: z[:, 0] > 0), "x"),
    (lambda: dv.knn_tv(np.zeros((3, 1)), np.ones((8, 1)), seed=0), "x"),
    (lambda: dv.knn_tv(np.zeros((8, 1)), np.ones((8, 2)), seed=0), "dimension"),
    (lambda: dv.knn_tv(np.zeros((8, 1)), np.ones((8, 1)), 0, seed=0), "k"),
    (lambda: dv.knn_tv(np.zeros((8, 1)), np.ones((8, 1)), 9, seed=0), "k"),
    (lambda: dv.knn_tv(np.zeros((8, 1)), np.ones((8, 1)), 1.5, seed=0), "k"),
    (lambda: dv.knn_tv(np.zeros((8, 1)), np.ones((8, 1)), seed=-1), "seed"),
    (lambda: dv.knn_tv(np.zeros((8, 1)), np.ones((8, 1)), seed=1.5), "seed"),
])
def test_tv_estimators_bad_inputs_raise(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()
