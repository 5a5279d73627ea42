"""Exact 1-D Wasserstein distance (C13, C14; Peyre & Cuturi 2019, Remark 2.30):
``W_p^p = int_0^1 |F^{-1}(t) - G^{-1}(t)|^p dt`` between two (weighted) samples on the line, by
sorting.  Used on critic outputs, on 1-D marginals and inside sliced Wasserstein.

Peers: ``scipy.stats.wasserstein_distance(x, y, a, b)`` (p = 1 only; the CDF form
``int |F - G| dx``) and POT ``ot.wasserstein_1d(x, y, a, b, p)`` (returns ``W_p^p``, like
``dv.wasserstein_1d_pow``, which is the call timed here).  Sizes: n = m = 256, 1 000, 10 000 and
10^6 with uniform weights (equal sizes: the sorted samples pair off), n = 10 000 against m = 7 000
(unequal sizes: the quantile coupling), and n = m = 256, 1 000, 3 000 and 10 000 with random weights
on both samples; float64, p = 1 (and p = 2 against POT at unequal sizes).  Floor: sorting the two samples
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
