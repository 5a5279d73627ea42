"""Sinkhorn divergence (C16, C17; Feydy et al. 2019, Eq. 3):
``S_eps = OT_eps(a, b) - (OT_eps(a, a) + OT_eps(b, b)) / 2`` with
``OT_eps = <P, C> + eps KL(P || a b^T)``, cost ``|x - y|^2``, eps = ``reg``.

Peer: geomloss ``SamplesLoss("sinkhorn", p=2, blur=sqrt(reg / 2), debias=True,
backend="tensorized")`` times 2 (geomloss's cost is ``|x - y|^2 / 2`` and its eps is ``blur^p``),
at its default eps-scaling 0.5 and at 0.9 and 0.99 (its annealing is approximate: the CSV's
``rel_diff`` is its accuracy against ours, which iterates to a marginal error of 1e-9).  The summary
compares ours with the fastest geomloss setting within 1e-5 relative ("equal accuracy") and lists
the fastest at any accuracy beside it, against our fastest run (stop_threshold 1e-9, 1e-5 or 1e-3)
whose error is no larger than that peer's.  POT's ``sinkhorn2`` returns ``<P, C>`` only and
``empirical_sinkhorn_divergence`` debiases the linear terms (different quantities), so neither is
a peer here.  Sizes: n = m = 1000 and 2000, d = 2, reg = 1 (and reg = 0.1 at n = 1000), float64.
Floor: one log-sum-exp sweep over the three n x n cost matrices (a lower bound; every solver
needs many sweeps).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import torch

import divergences as dv

from .harness import Candidate, Case, optional_import

SIZES = [(1000, 1.0), (2000, 1.0), (1000, 0.1)]
# our stopping tolerances (marginal-error norm) besides the default 1e-9: geomloss's default
# annealing stops at an accuracy of ~1e-3 to 1e-2, and the fair comparison there is with our
# solver stopped at a similar accuracy (the summary picks our fastest setting at least as accurate)
LOOSE_THRESHOLDS = (1e-5, 1e-3)


def _sweep_seconds(x: torch.Tensor, y: torch.Tensor, reg: float) -> float:
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for a, b in ((x, y), (x, x), (y, y)):
            torch.logsumexp(-torch.cdist(a, b) ** 2 / reg, dim=1)
        best = min(best, time.perf_counter() - t)
    return best


def cases() -> Iterator[Case]:
    gl, ver = optional_import("geomloss")
    for n, reg in SIZES:
        rng = np.random.default_rng(11 + n)
        x = rng.standard_normal((n, 2))
        y = 1.2 * rng.standard_normal((n, 2))
        y[:, 0] += 1.0
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        cands = [Candidate("dv.sinkhorn", "ours", "divergences", f"dv.sinkhorn(x, y, reg={reg}, p=2)",
                           lambda tx=tx, ty=ty, reg=reg: float(dv.sinkhorn(tx, ty, reg, p=2)))]
        for st in LOOSE_THRESHOLDS:
            cands.append(Candidate(f"dv.sinkhorn stop_threshold={st:g}", "ours-alt", "divergences",
                                   f"dv.sinkhorn(x, y, reg={reg}, p=2, stop_threshold={st:g})",
                                   lambda tx=tx, ty=ty, reg=reg, st=st: float(dv.sinkhorn(tx, ty, reg, p=2, stop_threshold=st)),
                                   note="looser marginal tolerance: for the comparison with geomloss's approximate annealing"))
        for scaling in (0.5, 0.9, 0.99):
            if gl is None:
                cands.append(Candidate(f"geomloss scaling={scaling}", "peer", "geomloss", "", None, skipped=ver))
                continue
            loss = gl.SamplesLoss("sinkhorn", p=2, blur=(reg / 2) ** 0.5, scaling=scaling, debias=True, backend="tensorized")
            cands.append(Candidate(f"geomloss scaling={scaling}", "peer", f"geomloss {ver}",
                                   f"2 * SamplesLoss('sinkhorn', p=2, blur=sqrt(reg/2), scaling={scaling}, debias=True)(x, y)",
                                   lambda loss=loss, tx=tx, ty=ty: float(2.0 * loss(tx, ty)),
                                   note="cost |x-y|^2/2, eps = blur^2: ours(reg) = 2 geomloss(blur = sqrt(reg/2)); approximate annealing"))
        yield Case("sinkhorn_divergence", f"n=m={n}, d=2, reg={reg}, float64", cands, accuracy_tol=1e-5,
                   floor=lambda tx=tx, ty=ty, reg=reg: (_sweep_seconds(tx, ty, reg), "one log-sum-exp sweep over the three cost matrices"))
