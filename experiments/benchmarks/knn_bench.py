"""kNN KL estimator: ``dv.knn_kl`` against a straightforward per-point loop (same inputs).

Baseline: for each x_i, numpy distances to all other x and to all y, ``np.partition`` for the
k-th smallest, then the Wang-Kulkarni-Verdu formula (the way kNN KL scripts are usually
written).  Ours: ``dv.knn_kl`` with its default search (a scipy k-d tree for d <= 6, blocked
torch matrix products above, whose float32 candidates are re-ranked by exact float64 distances).
Both run in this process on the same arrays; the CSV records both times (best of
``repeats``, CPU and wall), the ratio, and the absolute difference of the two estimates.

Floor: the brute-force search evaluates ``n (n + m)`` distances, ``~3 d n (n + m)`` flops
(difference, square, add); the k-d tree avoids most of them in low d (O(n log n) expected).
The ``floor_gflop`` column is that brute-force count; ``achieved_gflops`` divides it by our
time (for the tree it is an *effective* rate, above the hardware's for small d).

Writes ``results/benchmarks/knn_kl.csv``.
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Callable

import numpy as np
import pandas as pd
import torch

import divergences as dv
from divergences.knn import _KDTREE_MAX_D
from experiments.common import machine_name, profile_settings, write_table


def loop_knn_kl(x: np.ndarray, y: np.ndarray, k: int) -> float:
    """Per-point reference implementation (the baseline)."""
    n, d = x.shape
    m = y.shape[0]
    total = 0.0
    for i in range(n):
        dx = np.sqrt(((x - x[i]) ** 2).sum(1))
        dx[i] = np.inf
        rho = np.partition(dx, k - 1)[k - 1]
        dy = np.sqrt(((y - x[i]) ** 2).sum(1))
        nu = np.partition(dy, k - 1)[k - 1]
        total += math.log(nu / rho)
    return d * total / n + math.log(m / (n - 1))


def best_of(fn: Callable[[], float], repeats: int) -> tuple[float, float, float]:
    """(min CPU s, min wall s, value)."""
    cpu, wall, val = math.inf, math.inf, math.nan
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        val = float(fn())
        cpu, wall = min(cpu, time.process_time() - c0), min(wall, time.perf_counter() - t0)
    return cpu, wall, val


def run(profile: str, repeats: int, seed: int) -> pd.DataFrame:
    rows = []
    for n, m, d, k in profile_settings("knn_bench", profile)["cases"]:  # [n, m, d, k] per case
        g = np.random.default_rng(seed)
        x = g.normal(size=(n, d))
        y = g.normal(size=(m, d)) * 1.3 + 0.4
        base_cpu, base_wall, base_val = best_of(lambda: loop_knn_kl(x, y, k), repeats)
        ours_cpu, ours_wall, ours_val = best_of(lambda: dv.knn_kl(x, y, k=k), repeats)
        search = "kdtree" if d <= _KDTREE_MAX_D else "brute"
        flop = 3.0 * d * n * (n + m)
        rows.append({
            "n": n, "m": m, "d": d, "k": k, "ours_search": search,
            "baseline_cpu_s": base_cpu, "ours_cpu_s": ours_cpu, "speedup_cpu": base_cpu / ours_cpu,
            "baseline_wall_s": base_wall, "ours_wall_s": ours_wall, "speedup_wall": base_wall / ours_wall,
            "baseline_value": base_val, "ours_value": ours_val, "abs_diff": abs(base_val - ours_val),
            "floor_gflop": flop / 1e9, "achieved_gflops": flop / 1e9 / ours_wall,
            "repeats": repeats, "threads": torch.get_num_threads(), "machine": machine_name(),
        })
        r = rows[-1]
        print(f"n={n} m={m} d={d} k={k} [{search}]: loop {base_wall:.3f}s  ours {ours_wall:.4f}s  "
              f"speedup x{r['speedup_wall']:.1f} (cpu x{r['speedup_cpu']:.1f})  |diff| {r['abs_diff']:.2e}",
              flush=True)
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="quick", help="sizes from experiments/profile_settings/<profile>.yaml")
    ap.add_argument("--out", default="results/benchmarks/knn_kl.csv")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    write_table(run(args.profile, args.repeats, args.seed), args.out)


if __name__ == "__main__":
    main()
