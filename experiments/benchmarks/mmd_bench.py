"""Benchmark: blockwise ``dv.mmd2`` against a scipy ``cdist`` baseline, its matmul FLOP floor,
its peak memory at large n, and the cost of ``dv.kid`` against a straightforward numpy KID.

Claims: C19 (unbiased MMD^2), C29 (KID).  Synthetic data: x ~ N(0, I_d), y ~ N(0.05, I_d),
Gaussian kernel with bandwidth sqrt(d), float32 features.  Both implementations run in this
process on the same inputs; the CSVs record the ratio, the agreement and the machine.

Floors.  The three Gram matrices cost ``2 d (n^2 + m^2 + n m)`` multiply-add FLOPs (the
"3-Gram" floor of the issue); ``dv.mmd2`` computes only the upper triangle of tiles of Kxx and
Kyy, so its own matmul work is smaller (``flops_ours``).  The machine's achieved float32
matmul rate (``torch.mm`` of 2048^3, best of 3) is measured in the same run, right before and
right after each case (the higher rate is kept); ``floor_fraction = floor_ours_s / t_ours_s`` says how close the whole estimator gets to
its matrix-multiply time.

Usage: ``python -m experiments.benchmarks.mmd_bench --profile quick --speed S.csv --memory M.csv --kid K.csv``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import torch
from scipy.spatial.distance import cdist

import divergences as dv
from divergences.mmd import DEFAULT_BLOCK
from experiments.common import machine_name, matmul_gflops, profile_settings, write_table


def baseline_mmd2_cdist(x: np.ndarray, y: np.ndarray, sigma: float) -> float:
    """Straightforward unbiased MMD^2: three full Gram matrices from scipy cdist (float64)."""
    g = 1.0 / (2.0 * sigma ** 2)
    kxx = np.exp(-g * cdist(x, x, "sqeuclidean"))
    kyy = np.exp(-g * cdist(y, y, "sqeuclidean"))
    kxy = np.exp(-g * cdist(x, y, "sqeuclidean"))
    n, m = len(x), len(y)
    return float((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                 - 2.0 * kxy.mean())


def baseline_kid_numpy(fx: np.ndarray, fy: np.ndarray, subsets: int, size: int, seed: int) -> float:
    """Straightforward KID (numpy float64, full cubic-kernel Gram matrices per subset) on the same
    subsets as ``dv.kid`` (indices drawn with the generator scheme its docstring states)."""
    gen = torch.Generator().manual_seed(seed)
    d = fx.shape[1]
    vals = []
    for _ in range(subsets):
        a = fx[torch.randperm(len(fx), generator=gen)[:size].numpy()].astype(np.float64)
        b = fy[torch.randperm(len(fy), generator=gen)[:size].numpy()].astype(np.float64)
        kxx = (a @ a.T / d + 1) ** 3
        kyy = (b @ b.T / d + 1) ** 3
        kxy = (a @ b.T / d + 1) ** 3
        vals.append((kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (size * (size - 1))
                    - 2 * kxy.mean())
    return float(np.mean(vals))


def tiled_entries(n: int, m: int, bs: int) -> int:
    """Kernel entries ``dv.mmd2`` evaluates: upper-triangular tiles of Kxx, Kyy and all of Kxy."""
    def sym(k: int) -> int:
        sizes = [min(bs, k - i) for i in range(0, k, bs)]
        return sum(sizes[i] * sizes[j] for i in range(len(sizes)) for j in range(i, len(sizes)))
    return sym(n) + sym(m) + n * m


def _data(n: int, d: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    y = torch.randn(n, d, generator=g) + 0.05
    return x, y


def _timed(f):
    t = time.perf_counter()
    v = f()
    return v, time.perf_counter() - t


def _best(f, budget_s: float = 2.0, max_repeats: int = 5):
    """Value and best wall time of ``f`` over repeats while the total stays under ``budget_s``
    (the machine is shared: the minimum is the least contended measurement)."""
    v, best = _timed(f)
    total, k = best, 1
    while total + best < budget_s and k < max_repeats:
        _, t = _timed(f)
        best, total, k = min(best, t), total + t, k + 1
    return v, best


def speed_rows(profile: str, cfg: dict) -> list[dict]:
    rows = []
    d = cfg["d"]
    sigma = float(np.sqrt(d))
    for n in cfg["speed_n"]:
        x, y = _data(n, d, seed=n)
        xn, yn = x.numpy(), y.numpy()
        gf = matmul_gflops()
        load0 = os.getloadavg()[0]
        ours, t_ours = _best(lambda: float(dv.mmd2(x, y, "gaussian", bandwidth=sigma)))
        base, t_base = _best(lambda: baseline_mmd2_cdist(xn, yn, sigma))
        # second timing of ours after the baseline (the machine is shared: keep the best), and the
        # matmul rate again right after it (keep the best of the two: the floor must not be inflated
        # by a moment of contention)
        _, t_ours2 = _timed(lambda: float(dv.mmd2(x, y, "gaussian", bandwidth=sigma)))
        t_ours = min(t_ours, t_ours2)
        gf = max(gf, matmul_gflops())
        flops3 = 2.0 * d * (3 * n * n)
        flops_ours = 2.0 * d * tiled_entries(n, n, DEFAULT_BLOCK)
        rows.append({
            "machine": machine_name(), "profile": profile, "n": n, "m": n, "d": d, "dtype": "float32",
            "kernel": f"gaussian(sigma=sqrt(d)={sigma:.2f})", "estimator": "unbiased", "block_size": DEFAULT_BLOCK,
            "t_ours_s": t_ours, "t_baseline_cdist_s": t_base, "speedup": t_base / t_ours,
            "value_ours": ours, "value_baseline": base, "abs_diff": abs(ours - base),
            "rel_diff": abs(ours - base) / abs(base),
            "flops_3gram": flops3, "flops_ours": flops_ours, "matmul_gflops": gf,
            "floor_3gram_s": flops3 / (gf * 1e9), "floor_ours_s": flops_ours / (gf * 1e9),
            "floor_fraction": flops_ours / (gf * 1e9) / t_ours,
            "torch_threads": torch.get_num_threads(), "loadavg_1min": load0,
            "baseline": "scipy.spatial.distance.cdist sqeuclidean (float64, 1 thread) + numpy exp",
        })
        print(json.dumps(rows[-1]), flush=True)
    return rows


_CHILD = r"""
import json, sys, time, torch
import divergences as dv

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(key)

n, d = int(sys.argv[1]), int(sys.argv[2])
g = torch.Generator().manual_seed(n)
x = torch.randn(n, d, generator=g); y = torch.randn(n, d, generator=g) + 0.05
dv.mmd2(x[:100], y[:100], bandwidth=d ** 0.5)          # warm-up: allocator, kernels, thread pool
with open("/proc/self/clear_refs", "w") as f:          # reset the peak (VmHWM) to the current RSS
    f.write("5")
rss_before = status("VmRSS")
t = time.perf_counter()
v = float(dv.mmd2(x, y, bandwidth=d ** 0.5))
dt = time.perf_counter() - t
print(json.dumps({"value": v, "t_s": dt, "rss_before": rss_before, "peak_rss": status("VmHWM")}))
"""


def memory_rows(profile: str, cfg: dict) -> list[dict]:
    """Peak resident memory of one ``dv.mmd2`` call, each size in a fresh interpreter: the
    kernel's high-water mark (VmHWM) is reset through ``/proc/self/clear_refs`` just before
    the call (Linux), so ``peak_increase_bytes`` = VmHWM after - VmRSS before is the call's own
    working set (torch allocations are invisible to tracemalloc)."""
    rows = []
    d = cfg["mem_d"]
    for n in cfg["mem_n"]:
        out = subprocess.run([sys.executable, "-c", _CHILD, str(n), str(d)], check=True,
                             capture_output=True, text=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        inc = r["peak_rss"] - r["rss_before"]
        rows.append({
            "machine": machine_name(), "profile": profile, "n": n, "m": n, "d": d, "dtype": "float32",
            "block_size": DEFAULT_BLOCK, "t_s": r["t_s"], "value": r["value"],
            "rss_before_bytes": r["rss_before"], "peak_rss_bytes": r["peak_rss"], "peak_increase_bytes": inc,
            "input_bytes": 2 * n * d * 4, "full_gram_bytes": 3 * n * n * 4,
            "loadavg_1min": os.getloadavg()[0],
        })
        print(json.dumps(rows[-1]), flush=True)
    return rows


def kid_rows(profile: str, cfg: dict) -> list[dict]:
    n, d = cfg["kid_n"], 2048
    g = torch.Generator().manual_seed(5)
    fx = torch.randn(n, d, generator=g).abs()  # non-negative, like post-ReLU pool3 features
    fy = torch.randn(n, d, generator=g).abs() * 1.02
    S, Sb = cfg["kid_subsets"], cfg["kid_baseline_subsets"]
    res, t_ours = _timed(lambda: dv.kid(fx, fy, subsets=S, subset_size=1000, seed=0))
    base, t_base = _timed(lambda: baseline_kid_numpy(fx.numpy(), fy.numpy(), Sb, 1000, seed=0))
    same = float(dv.kid(fx, fy, subsets=Sb, subset_size=1000, seed=0).mean)  # same subsets as the baseline
    flops_subset = 2.0 * d * 3 * 1000 ** 2
    gf = matmul_gflops()
    row = {
        "machine": machine_name(), "profile": profile, "n": n, "d": d, "dtype": "float32",
        "subsets": S, "subset_size": 1000, "t_ours_s": t_ours, "t_ours_per_subset_s": t_ours / S,
        "baseline_subsets": Sb, "t_baseline_per_subset_s": t_base / Sb,
        "speedup_per_subset": (t_base / Sb) / (t_ours / S),
        "kid_mean": float(res.mean), "kid_std": float(res.std),
        "ours_first_subsets_mean": same, "baseline_first_subsets_mean": base,
        "rel_diff_first_subsets": abs(same - base) / abs(base),
        "matmul_gflops": gf, "floor_per_subset_s": flops_subset / (gf * 1e9),
        "floor_fraction": flops_subset / (gf * 1e9) / (t_ours / S),
        "loadavg_1min": os.getloadavg()[0],
        "baseline": "numpy float64 full Gram matrices per subset (torch-fidelity style)",
    }
    print(json.dumps(row), flush=True)
    return [row]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="quick", help="sizes from experiments/profile_settings/<profile>.yaml")
    ap.add_argument("--speed", required=True)
    ap.add_argument("--memory", required=True)
    ap.add_argument("--kid", required=True)
    a = ap.parse_args(argv)
    cfg = profile_settings("mmd_bench", a.profile)
    t0 = time.perf_counter()
    write_table(pd.DataFrame(speed_rows(a.profile, cfg)), a.speed)
    write_table(pd.DataFrame(memory_rows(a.profile, cfg)), a.memory)
    write_table(pd.DataFrame(kid_rows(a.profile, cfg)), a.kid)
    print(f"total wall time {time.perf_counter() - t0:.1f} s", flush=True)


if __name__ == "__main__":
    main()
