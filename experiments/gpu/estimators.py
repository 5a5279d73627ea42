"""MMD^2 and KID on the GPU against the CPU, in the same process (issue 13 item 5b).

Measured (median of ``--repeats`` timed calls after one warm-up call, CUDA synchronised before
and after each timed call):

* ``dv.mmd2(x, y, "gaussian", bandwidth=h)`` (unbiased, blockwise Gram sums) on ``n`` x ``d``
  float32 features, ``x ~ N(0, I)``, ``y ~ N(0.1, I)``;
* ``dv.kid(fx, fy)`` (cubic polynomial kernel, 100 subsets of 1000, the torch-fidelity default)
  on the same features.

Floor: the three Gram blocks cost ``2 d (n^2 + n^2 + n^2) = 6 d n^2`` FLOPs for MMD^2 (one
multiply-add per entry and feature dimension; the exponentials are O(n^2)), KID
``subsets * 6 d s^2`` with ``s = subset_size``; ``floor_s = flops / peak`` where the device's
dense float32 peak is known (H100 SXM 67 TFLOP/s, H200 the same silicon: 67 TFLOP/s; TF32
tensor cores are not used because the distance kernel needs float32 accuracy).

The CPU side runs at ``--cpu-n`` (default ``n``; pass a smaller value on a GPU machine's
budget): its time is also reported scaled to ``n`` by ``(n / cpu_n)^2`` (the Gram cost), marked
``scaled``.  Output: one CSV row per (estimator, device) with the machine and device names.

    python -m experiments.gpu.estimators --n 50000 --cpu-n 10000 --out OUT/benchmarks/estimators_gpu.csv
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import pandas as pd
import torch

import divergences as dv
from experiments.common import device_name, machine_name, write_table

PEAK_FP32 = {"H100": 67e12, "H200": 67e12}


def _timed(fn, device: torch.device, repeats: int) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(n: int, d: int, device: torch.device, repeats: int, seed: int = 0) -> list[dict]:
    """Time MMD^2 and KID at ``n`` points of dimension ``d`` on ``device``."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g).to(device)
    y = (torch.randn(n, d, generator=g) + 0.1).to(device)
    h = float(d) ** 0.5
    s = min(1000, n)
    rows = []
    for name, fn, flops in (
            ("mmd2 (gaussian, unbiased)", lambda: dv.mmd2(x, y, "gaussian", bandwidth=h), 6.0 * d * n * n),
            ("kid (100 x 1000)", lambda: dv.kid(x, y, subsets=100, subset_size=s, seed=seed), 100 * 6.0 * d * s * s)):
        t = _timed(fn, device, repeats)
        rows.append({"estimator": name, "n": n, "d": d, "device": device_name(device), "seconds": t,
                     "flops": flops, "gflop_per_s": flops / t / 1e9})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m experiments.gpu.estimators", description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50_000, help="points per sample on the GPU")
    ap.add_argument("--cpu-n", type=int, default=None, help="points per sample on the CPU (default --n)")
    ap.add_argument("--d", type=int, default=2048, help="feature dimension (Inception pool features: 2048)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--cpu-only", action="store_true", help="smoke mode: no CUDA needed, both sides on the CPU")
    args = ap.parse_args(argv)
    cpu_n = args.cpu_n or args.n
    rows = []
    if not args.cpu_only:
        if not torch.cuda.is_available():
            raise SystemExit("experiments.gpu.estimators: CUDA is not available (use --cpu-only for a smoke run)")
        rows += measure(args.n, args.d, torch.device("cuda"), args.repeats)
    cpu = measure(cpu_n, args.d, torch.device("cpu"), args.repeats)
    for r in cpu:
        if r["estimator"].startswith("mmd2") and cpu_n != args.n:
            rows.append({**r, "seconds": r["seconds"] * (args.n / cpu_n) ** 2, "n": args.n,
                         "device": r["device"] + f" (scaled from n = {cpu_n} by (n/{cpu_n})^2)"})
        rows.append(r)
    df = pd.DataFrame(rows)
    gpu_name = device_name("cuda") if not args.cpu_only else "none (cpu smoke run)"
    peak = next((v for k, v in PEAK_FP32.items() if k in gpu_name), None)
    df["floor_s"] = df["flops"] / peak if peak else float("nan")
    ref = {e: float(df[(df.estimator == e) & (df.device == device_name("cpu")) & (df.n == args.n)]["seconds"].iloc[0])
           if ((df.estimator == e) & (df.device == device_name("cpu")) & (df.n == args.n)).any() else float("nan")
           for e in df.estimator.unique()}
    scaled = {e: float(df[(df.estimator == e) & df.device.str.contains("scaled")]["seconds"].iloc[0])
              for e in df.estimator.unique() if ((df.estimator == e) & df.device.str.contains("scaled")).any()}
    df["speedup_vs_cpu"] = [scaled.get(e, ref[e]) / t for e, t in zip(df.estimator, df.seconds)]
    df["machine"] = machine_name()
    write_table(df, args.out)
    print(df.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
