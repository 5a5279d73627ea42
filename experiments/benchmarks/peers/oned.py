"""Exact 1-D Wasserstein distance (C13, C14; Peyre & Cuturi 2019, Remark 2.30):
``W_p^p = int_0^1 |F^{-1}(t) - G^{-1}(t)|^p dt`` between two (weighted) samples on the line, by
sorting.  Used on critic outputs, on 1-D marginals and inside sliced Wasserstein.

Peers: ``scipy.stats.wasserstein_distance(x, y, a, b)`` (p = 1 only; the CDF form
``int |F - G| dx``) and POT ``ot.wasserstein_1d(x, y, a, b, p)`` (returns ``W_p^p``, like
``dv.wasserstein_1d_pow``, which is the call timed here).  Sizes: n = m = 256, 1 000, 10 000 and
10^6 with uniform weights (equal sizes: the sorted samples pair off), n = 10 000 against m = 7 000
(unequal sizes: the quantile coupling), and n = m = 256, 1 000, 3 000 and 10 000 with random weights
on both samples; float64, p = 1 (and p = 2 against POT at unequal sizes).  The use inside a training
step (``GRAD_SIZES``): float64 tensors with ``requires_grad``, the value and its backward pass, where the
peer is POT on the same tensors (its torch backend; scipy has no gradient).  Floor: sorting the two samples
(``np.sort``, the fastest sort in the process; with weights the permutation is needed too:
``np.argsort``): no exact W_p without the order statistics.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np
import torch
from scipy.stats import wasserstein_distance

import divergences as dv

from .harness import Candidate, Case, optional_import

#: (n, m, weighted, p).  256: a batch of critic outputs, where the call is mostly fixed costs
#: (validating the inputs, torch dispatches); 1 000 to 10^6: samples and marginals; 3 000 weighted:
#: between the weighted rows, to place the size where ours overtakes the peers.
SIZES = [(256, 256, False, 1), (1000, 1000, False, 1), (10_000, 10_000, False, 1), (1_000_000, 1_000_000, False, 1),
         (10_000, 7_000, False, 1), (10_000, 7_000, False, 2), (256, 256, True, 1), (1000, 1000, True, 1),
         (3000, 3000, True, 1), (10_000, 10_000, True, 1)]
#: (n, weighted): a training step's call, value and gradient (n = m; p = 1): a batch of 256 critic
#: outputs, and 1 000
GRAD_SIZES = [(256, False), (256, True), (1000, False), (1000, True)]


def _sort_floor(x: np.ndarray, y: np.ndarray, weighted: bool) -> Callable[[], tuple[float, str]]:
    sort = np.argsort if weighted else np.sort
    what = "np.argsort" if weighted else "np.sort"

    def floor() -> tuple[float, str]:
        best = float("inf")
        for _ in range(5):
            t = time.perf_counter()
            sort(x)
            sort(y)
            best = min(best, time.perf_counter() - t)
        return best, f"{what} of both samples ({x.size + y.size} float64)"
    return floor


def cases() -> Iterator[Case]:
    ot, ver = optional_import("ot")
    for n, m, weighted, p in SIZES:
        rng = np.random.default_rng(31 + n + m + p)
        x = rng.standard_normal(n)
        y = 1.3 * rng.standard_normal(m) + 0.5
        a = b = None
        if weighted:
            a, b = rng.random(n) + 0.05, rng.random(m) + 0.05
            a, b = a / a.sum(), b / b.sum()
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        ta = None if a is None else torch.from_numpy(a)
        tb = None if b is None else torch.from_numpy(b)
        wtxt = ", a, b" if weighted else ""
        cands = [
            Candidate("dv.wasserstein_1d_pow (numpy)", "ours", "divergences", f"dv.wasserstein_1d_pow(x, y, p={p}{wtxt})",
                      lambda x=x, y=y, a=a, b=b, p=p: float(dv.wasserstein_1d_pow(x, y, p, a, b))),
            Candidate("dv.wasserstein_1d_pow (torch)", "ours-alt", "divergences", "same on float64 tensors",
                      lambda tx=tx, ty=ty, ta=ta, tb=tb, p=p: float(dv.wasserstein_1d_pow(tx, ty, p, ta, tb))),
            Candidate("POT wasserstein_1d", "peer", f"POT {ver}", f"ot.wasserstein_1d(x, y{wtxt}, p={p})",
                      (lambda x=x, y=y, a=a, b=b, p=p: float(ot.wasserstein_1d(x, y, a, b, p=p))) if ot else None,
                      skipped="" if ot else ver, note="returns W_p^p"),
        ]
        if p == 1:
            cands.append(Candidate("scipy wasserstein_distance", "peer", "scipy", f"wasserstein_distance(x, y{wtxt})",
                                   lambda x=x, y=y, a=a, b=b: float(wasserstein_distance(x, y, a, b)),
                                   note="p = 1 only; the CDF form int |F - G| dx"))
        size = f"n=m={n}" if n == m else f"n={n}, m={m}"
        yield Case("wasserstein_1d", f"{size}, p={p}, {'random weights' if weighted else 'uniform'}, float64", cands,
                   floor=_sort_floor(x, y, weighted))
    yield from grad_cases()


def _value_and_backward(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], x: torch.Tensor,
                        y: torch.Tensor) -> Callable[[], float]:
    """A zero-argument call: ``fn(x, y)`` and its backward pass into fresh ``x.grad``, ``y.grad``."""
    def call() -> float:
        x.grad = y.grad = None
        v = fn(x, y)
        v.backward()
        return float(v.detach())
    return call


def grad_cases() -> Iterator[Case]:
    """The training-step use: value and backward on float64 tensors, ours against POT's torch backend."""
    ot, ver = optional_import("ot")
    for n, weighted in GRAD_SIZES:
        rng = np.random.default_rng(57 + n + weighted)
        x = torch.from_numpy(rng.standard_normal(n)).requires_grad_(True)
        y = torch.from_numpy(1.3 * rng.standard_normal(n) + 0.5).requires_grad_(True)
        a = b = None
        if weighted:
            a, b = (torch.from_numpy(w / w.sum()) for w in (rng.random(n) + 0.05, rng.random(n) + 0.05))
        wtxt = ", a, b" if weighted else ""
        cands = [
            Candidate("dv.wasserstein_1d_pow (torch, backward)", "ours", "divergences",
                      f"dv.wasserstein_1d_pow(x, y, p=1{wtxt}).backward()",
                      _value_and_backward(lambda x, y, a=a, b=b: dv.wasserstein_1d_pow(x, y, 1, a, b), x, y)),
            Candidate("POT wasserstein_1d (torch, backward)", "peer", f"POT {ver}",
                      f"ot.wasserstein_1d(x[:, None], y[:, None]{wtxt}, p=1)[0].backward()",
                      _value_and_backward(lambda x, y, a=a, b=b: ot.wasserstein_1d(x[:, None], y[:, None], a, b, p=1)[0],
                                          x, y) if ot else None,
                      skipped="" if ot else ver,
                      note="torch backend; returns W_p^p; (n, 1) columns: a 1-D torch input makes POT call the "
                           "deprecated x.T on a 1-D tensor (a UserWarning on every call)"),
        ]
        yield Case("wasserstein_1d", f"n=m={n}, p=1, {'random weights' if weighted else 'uniform'}, float64 tensors "
               "requiring grad: value + backward", cands,
                   floor=_sort_floor(x.detach().numpy(), y.detach().numpy(), weighted))
