"""Cost against sample size for the sample-based divergences (C07's "T", C13, C18/C19).

Times, in one process on the same synthetic inputs (x ~ N(0, I_d), y ~ N(0.5 * 1, I_d),
d = 5, n = m): the unbiased MMD^2 with a Gaussian kernel (``dv.mmd2``), exact OT
(``dv.wasserstein``, POT's network simplex), sliced Wasserstein (``dv.sliced_wasserstein``,
128 projections) and the entropic OT cost (``dv.sinkhorn``, debiased=False, reg = 1 on the
squared-Euclidean cost, one Sinkhorn solve).  Each point is the minimum over ``repeats`` runs
of the process CPU time with one torch thread (the most load-robust statistic on a shared
machine: with several threads, OpenMP spin-waiting under contention is counted as CPU time;
the wall time is kept in the CSV as ``wall_seconds``).  A straight line is fitted to
log(seconds) against log(n) on the upper half of each method's grid (where fixed overheads no
longer dominate); its slope is the empirical cost exponent, against the theoretical O(n^2)
(MMD, Sinkhorn per iteration), ~O(n^3) (network simplex) and O(n log n) (sliced).

Writes ``results/benchmarks/estimator_scaling.csv`` and ``results/figures/estimator_scaling.png``.
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
from experiments.common import device_name, machine_name, profile_settings, save_figure, write_table

# key of each method's grid of n in section ``estimator_scaling`` of experiments/profile_settings/<profile>.yaml
GRID_KEYS = {"mmd2 (unbiased)": "mmd2", "exact OT (network simplex)": "exact_ot", "sliced W2 (128 proj.)": "sliced_w2",
             "Sinkhorn (reg = 1)": "sinkhorn"}
D = 5


def _methods() -> dict[str, Callable[[np.ndarray, np.ndarray], float]]:
    return {
        "mmd2 (unbiased)": lambda x, y: dv.mmd2(x, y, "gaussian", bandwidth=1.0, estimator="unbiased"),
        "exact OT (network simplex)": lambda x, y: dv.wasserstein(x, y, p=1),
        "sliced W2 (128 proj.)": lambda x, y: dv.sliced_wasserstein(x, y, p=2, n_projections=128, seed=0),
        "Sinkhorn (reg = 1)": lambda x, y: dv.sinkhorn(x, y, reg=1.0, p=2, debiased=False),
    }


def time_call(fn: Callable[[], float], repeats: int) -> tuple[float, float, float]:
    """(min CPU seconds, min wall seconds over ``repeats`` calls, the value of the last call).

    CPU time (``time.process_time``: this process, all threads) measures the work done and is
    far less sensitive than wall time to other jobs competing for the cores.
    """
    best_cpu, best_wall, val = math.inf, math.inf, math.nan
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        val = float(fn())
        best_cpu = min(best_cpu, time.process_time() - c0)
        best_wall = min(best_wall, time.perf_counter() - t0)
    return best_cpu, best_wall, val


def fit_slope(n: np.ndarray, sec: np.ndarray) -> tuple[float, float]:
    """Least-squares slope and intercept of log(sec) on log(n) over the upper half of n."""
    k = max(2, math.ceil(len(n) / 2))
    ln, ls = np.log(n[-k:]), np.log(sec[-k:])
    slope, intercept = np.polyfit(ln, ls, 1)
    return float(slope), float(intercept)


def run(profile: str, repeats: int, seed: int, threads: int) -> pd.DataFrame:
    torch.set_num_threads(threads)
    rows = []
    machine = machine_name()
    grids = profile_settings("estimator_scaling", profile)
    for name, fn in _methods().items():
        g0 = np.random.default_rng(seed)
        fn(g0.normal(size=(64, D)), g0.normal(size=(64, D)))  # warm-up: imports, allocator, caches
        for n in grids[GRID_KEYS[name]]:
            g = np.random.default_rng(seed + n)
            x = g.normal(size=(n, D))
            y = g.normal(size=(n, D)) + 0.5
            reps = 2 * repeats if n <= 1000 else (repeats if n <= 4000 else 1)
            sec, wall, val = time_call(lambda: fn(x, y), reps)
            rows.append({"method": name, "n": n, "d": D, "seconds": sec, "wall_seconds": wall, "value": val,
                         "repeats": reps, "threads": torch.get_num_threads(),
                         "machine": machine})
            print(f"{name:32s} n={n:6d}  cpu {sec:9.4f} s  wall {wall:9.4f} s  value={val:.5g}", flush=True)
    df = pd.DataFrame(rows)
    slopes = {m: fit_slope(g["n"].to_numpy(float), g["seconds"].to_numpy(float))[0]
              for m, g in df.groupby("method", sort=False)}
    df["fitted_slope"] = df["method"].map(slopes)
    return df


def plot(df: pd.DataFrame, path: str) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 6.6))
    markers = ["o", "s", "^", "D"]
    for (name, g), mk in zip(df.groupby("method", sort=False), markers):
        n, sec = g["n"].to_numpy(float), g["seconds"].to_numpy(float)
        slope, icpt = fit_slope(n, sec)
        line = ax.loglog(n, sec, mk, label=f"{name}: slope {slope:.2f}")[0]
        k = max(2, math.ceil(len(n) / 2))
        nn = np.geomspace(n[-k], n[-1], 20)
        ax.loglog(nn, np.exp(icpt) * nn ** slope, "-", color=line.get_color(), lw=1.2)
        ax.loglog(n[:-k], sec[:-k], "-", color=line.get_color(), lw=0.6, alpha=0.5)
    ax.set_xlabel("sample size n = m")
    ax.set_ylabel("CPU time of one call (s, best of repeats)")
    ax.set_title(f"Cost of sample-based divergences against n (d = {D})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(title="fitted log-log slope (upper half of grid)", fontsize=8, title_fontsize=8, loc="lower right")
    caption = (f"Claims C07 (T: tractability), C13, C18-C19. Synthetic data: x ~ N(0, I_{D}), "
               f"y ~ N(0.5, I_{D}), n = m. Thick lines: least-squares fits of log time on log n over the upper "
               f"half of each grid (slopes in the legend; theory: MMD O(n^2), Sinkhorn O(n^2) per iteration, "
               f"network simplex ~O(n^3), sliced O(L n log n)). Device: {device_name('cpu')}, "
               f"{int(df['threads'].iloc[0])} torch thread(s); CPU time (not wall time) because the machine was "
               f"shared with other jobs; timings are still noisy.")
    fig.subplots_adjust(left=0.11, right=0.97, top=0.94, bottom=0.25)  # room for the caption
    save_figure(fig, path, caption)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="quick", help="sizes from experiments/profile_settings/<profile>.yaml")
    ap.add_argument("--csv", default="results/benchmarks/estimator_scaling.csv")
    ap.add_argument("--png", default="results/figures/estimator_scaling.png")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1: CPU time then measures work, not OpenMP spin-waiting)")
    args = ap.parse_args()
    df = run(args.profile, args.repeats, args.seed, args.threads)
    write_table(df, args.csv)
    plot(df, args.png)


if __name__ == "__main__":
    main()
