"""Inception Score (C30; Salimans et al. 2016): ``exp(E_x KL(p(y|x) || p(y)))`` per split, mean
and standard deviation (ddof = 0) over 10 splits.

Size users run: 50 000 samples x 1008 logits (the Inception head of torch-fidelity).  Peers:
torch-fidelity ``isc_features_to_metric(shuffle=False)`` (float64, same contiguous splits: equal
to ours to rounding) and torchmetrics ``InceptionScore`` (float32; it shuffles with the global
torch RNG, splits with ``torch.chunk`` and reports the std with ddof = 1, so only the mean is
comparable, to float32 rounding plus the split change).  Floor: one read of the float64 logits at
the measured streaming rate, plus the ``n K`` exponentials of the softmax.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

import divergences as dv

from .floors import read_rate
from .harness import Candidate, Case, optional_import

N, K, SPLITS = 50_000, 1008, 10


def cases() -> Iterator[Case]:
    rng = np.random.default_rng(0)
    logits = (3.0 * rng.standard_normal((N, K))).astype(np.float64)
    t = torch.from_numpy(logits)
    t32 = t.float()
    cands = [Candidate("dv.inception_score", "ours", "divergences", "dv.inception_score(logits, splits=10)",
                       lambda: float(dv.inception_score(t, splits=SPLITS).mean))]
    tf, ver = optional_import("torch_fidelity.metric_isc")
    cands.append(Candidate("torch-fidelity isc_features_to_metric", "peer", f"torch-fidelity {ver}",
                           "isc_features_to_metric(logits, splits=10, shuffle=False)",
                           (lambda: float(tf.isc_features_to_metric(t, splits=SPLITS, shuffle=False)
                                          ["inception_score_mean"])) if tf else None, skipped="" if tf else ver,
                           note="same contiguous splits, float64"))
    tm, ver = optional_import("torchmetrics.image.inception")
    if tm is None:
        cands.append(Candidate("torchmetrics InceptionScore", "peer", "torchmetrics", "", None, skipped=ver))
    else:
        def run_tm() -> float:
            metric = tm.InceptionScore(feature=torch.nn.Identity(), splits=SPLITS)
            metric.update(t32)
            torch.manual_seed(0)
            return float(metric.compute()[0])
        cands.append(Candidate("torchmetrics InceptionScore", "peer", f"torchmetrics {ver}",
                               "InceptionScore(feature=Identity(), splits=10); update(float32 logits); compute()", run_tm,
                               note="float32, shuffled splits (global torch RNG), std with ddof=1: mean comparable only"))
    nbytes = N * K * 8
    yield Case("inception_score", f"n={N}, {K} classes, {SPLITS} splits, float64 logits", cands,
               floor=lambda: (nbytes / read_rate(), f"one read of the logits ({nbytes / 1e6:.0f} MB) at the measured streaming rate"))
