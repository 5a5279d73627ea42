"""KL and JSD between batches of probability vectors (C04, C05; natural log, JSD with the 1/2
weights, +inf / log 2 limits on disjoint supports).

Size: a (10 000, 1 000) float64 batch of Dirichlet(0.5) rows with 10 % of p's and 1 % of q's
entries set to 0, then renormalised (most rows have KL = +inf; JSD stays finite).  Peers:
``scipy.special.rel_entr(p, q).sum(-1)``; torch ``xlogy`` (``(xlogy(p, p) - xlogy(p, q)).sum(-1)``);
``scipy.spatial.distance.jensenshannon(p, q, axis=-1) ** 2`` (it returns sqrt(JSD) and
renormalises its inputs silently); the torch JSD through ``xlogy`` against the midpoint.  The
peers validate nothing; ours checks finiteness, signs and normalisation.  Agreement: the largest
relative difference over the rows where the value is finite, and whether the +inf rows coincide
(the value compared in the CSV is the sum over finite rows plus the count of infinite rows).
Floor: one read of p and q at the measured streaming rate.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from scipy.spatial.distance import jensenshannon
from scipy.special import rel_entr

import divergences as dv

from .floors import read_rate
from .harness import Candidate, Case

B, K = 10_000, 1000


def batch(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(K, 0.5), size=B)
    q = rng.dirichlet(np.full(K, 0.5), size=B)
    p[rng.random((B, K)) < 0.10] = 0.0
    q[rng.random((B, K)) < 0.01] = 0.0
    q[:100] = np.where(p[:100] > 0, np.maximum(q[:100], 1e-6), q[:100])  # 100 rows with finite KL
    return p / p.sum(1, keepdims=True), q / q.sum(1, keepdims=True)


def _summary(v: np.ndarray | torch.Tensor) -> float:
    """Sum of the finite values plus the number of infinite ones (one float that moves if either
    the finite values or the +inf pattern change)."""
    a = np.asarray(v, dtype=np.float64)
    fin = np.isfinite(a)
    return float(a[fin].sum() + (~fin).sum())


def _torch_kl(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    return (torch.xlogy(p, p) - torch.xlogy(p, q)).sum(-1)


def _torch_jsd(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    m = 0.5 * (p + q)
    return 0.5 * (_torch_kl(p, m) + _torch_kl(q, m))


def cases() -> Iterator[Case]:
    p, q = batch()
    tp, tq = torch.from_numpy(p), torch.from_numpy(q)
    nbytes = 2 * p.nbytes
    floor = lambda: (nbytes / read_rate(), f"one read of p and q ({nbytes / 1e6:.0f} MB) at the measured streaming rate")  # noqa: E731
    yield Case("kl", f"({B}, {K}) float64 batch, zeros in p and q", [
        Candidate("dv.kl (numpy)", "ours", "divergences", "dv.kl(p, q)", lambda: _summary(dv.kl(p, q))),
        Candidate("dv.kl (torch)", "ours-alt", "divergences", "dv.kl(tp, tq)", lambda: _summary(dv.kl(tp, tq).numpy())),
        Candidate("scipy rel_entr", "peer", "scipy", "rel_entr(p, q).sum(-1)", lambda: _summary(rel_entr(p, q).sum(-1))),
        Candidate("torch xlogy", "peer", f"torch {torch.__version__}", "(xlogy(p, p) - xlogy(p, q)).sum(-1)",
                  lambda: _summary(_torch_kl(tp, tq).numpy())),
    ], floor=floor)
    yield Case("jsd", f"({B}, {K}) float64 batch, zeros in p and q", [
        Candidate("dv.jsd (numpy)", "ours", "divergences", "dv.jsd(p, q)", lambda: _summary(dv.jsd(p, q))),
        Candidate("dv.jsd (torch)", "ours-alt", "divergences", "dv.jsd(tp, tq)", lambda: _summary(dv.jsd(tp, tq).numpy())),
        Candidate("scipy jensenshannon**2", "peer", "scipy", "jensenshannon(p, q, axis=-1) ** 2",
                  lambda: _summary(jensenshannon(p, q, axis=-1) ** 2), note="returns sqrt(JSD); renormalises silently"),
        Candidate("torch xlogy JSD", "peer", f"torch {torch.__version__}", "KL(p||m)/2 + KL(q||m)/2 through xlogy",
                  lambda: _summary(_torch_jsd(tp, tq).numpy())),
    ], floor=floor)
