"""Throughput (images/s) of the trainer's real-batch stream on an on-disk JPEG folder: worker
processes against loading in the main process, in the same run.

Data: ``--n`` synthetic JPEGs (smooth colour gradients plus noise, quality 90) written to a
temporary folder, read through ``gans.data`` ``image_folder`` at 64 px.  Each size in
``--sources`` is one data set: ``64x64`` (decode only, the issue's case) and ``178x218`` (the
aligned-CelebA size: decode, centre square, antialiased resize to 64: several times the work
per image).  Measured: :class:`gans.train.BatchStream` (batch ``--batch``, CPU device) drawing
``--batches`` batches, for each worker count in ``--workers``; worker start-up is included in
``images_per_s`` and reported separately as ``first_batch_s``.  ``consumer_ms`` > 0 sleeps that
long after each batch, standing in for a GPU training step during which the host is idle: with
workers the loading overlaps it, without workers it adds to it.  The variants run interleaved,
``--repeats`` times, and the median is reported with the ratio to ``workers = 0``.

Floor: the decoded data are 64*64*3 = 12288 bytes per image, so the host-to-device copy is
never the limit here; the limit is JPEG decoding on the CPU cores free for it, so the ideal
ratio is min(workers, free cores) without a consumer and (load + step) / max(load / workers,
step) with one.  On a shared 2-core machine the measured ratio is far below that.

Not part of the default pipeline.  Run: ``python -m experiments.benchmarks.data_loading``
(writes ``results/benchmarks/data_loading.csv``; about 1-2 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from experiments.common import machine_name, write_table
from gans.data import build_dataset
from gans.train import BatchStream


def write_jpegs(folder: Path, n: int, width: int, height: int, seed: int) -> float:
    """``n`` smooth-plus-noise RGB JPEGs of ``width`` x ``height``; returns the mean file size in bytes."""
    rng = np.random.default_rng(seed)
    yy, xx = np.meshgrid(np.linspace(0, 1, height), np.linspace(0, 1, width), indexing="ij")
    folder.mkdir(parents=True, exist_ok=True)
    sizes = []
    for i in range(n):
        a, b, c = rng.uniform(0, 255, 3), rng.uniform(-120, 120, 3), rng.uniform(-120, 120, 3)
        img = a + b * xx[..., None] + c * yy[..., None] + rng.normal(0, 12, (height, width, 3))
        path = folder / f"{i:05d}.jpg"
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path, quality=90)
        sizes.append(path.stat().st_size)
    return float(np.mean(sizes))


def time_stream(dataset, batch: int, batches: int, workers: int, consumer_ms: float, seed: int) -> tuple[float, float]:
    """(images/s over ``batches`` batches including start-up, seconds to the first batch)."""
    stream = BatchStream(dataset, batch, seed=seed, device=torch.device("cpu"), workers=workers)
    t0 = time.perf_counter()
    stream()
    first = time.perf_counter() - t0
    if consumer_ms > 0:
        time.sleep(consumer_ms / 1000)
    for _ in range(batches - 1):
        stream()
        if consumer_ms > 0:
            time.sleep(consumer_ms / 1000)
    total = time.perf_counter() - t0
    stream.close()
    return batch * batches / total, first


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000, help="JPEGs in the synthetic folder")
    ap.add_argument("--resolution", type=int, default=64, help="served resolution R (items are 3 x R x R uint8)")
    ap.add_argument("--sources", nargs="+", default=["64x64", "178x218"], help="JPEG sizes WxH, one data set each")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--batches", type=int, default=40, help="batches per timing (40 x 64 = 1.3 epochs of 2000)")
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    ap.add_argument("--consumer-ms", type=float, nargs="+", default=[0.0, 50.0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="results/benchmarks/data_loading.csv")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for source in args.sources:
        width, height = (int(v) for v in source.lower().split("x"))
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "jpegs"
            jpeg_bytes = write_jpegs(folder, args.n, width, height, seed=0)
            ds = build_dataset({"name": "image_folder", "path": str(folder), "resolution": args.resolution}, 0)
            results: dict[tuple[float, int], list[tuple[float, float]]] = {}
            for rep in range(args.repeats):
                for consumer in args.consumer_ms:
                    for w in args.workers:
                        results.setdefault((consumer, w), []).append(
                            time_stream(ds, args.batch, args.batches, w, consumer, seed=rep))
            load = os.getloadavg()[0]
        for consumer in args.consumer_ms:
            base = statistics.median(r[0] for r in results[(consumer, args.workers[0])])
            for w in args.workers:
                rate = statistics.median(r[0] for r in results[(consumer, w)])
                rows.append({"machine": machine_name(),
                             "dataset": f"synthetic {width}x{height} JPEG folder (image_folder) -> "
                                        f"{args.resolution}x{args.resolution}",
                             "n_images": args.n, "batch_size": args.batch, "batches": args.batches,
                             "consumer_ms": consumer, "workers": w, "images_per_s": rate,
                             "first_batch_s": statistics.median(r[1] for r in results[(consumer, w)]),
                             f"ratio_vs_workers{args.workers[0]}": rate / base,
                             "host_mb_per_s": rate * 3 * args.resolution ** 2 / 1e6, "jpeg_bytes_mean": jpeg_bytes,
                             "repeats": args.repeats, "cpu_count": os.cpu_count(), "load_average_1min": load})
    df = pd.DataFrame(rows)
    write_table(df, args.out)
    print(df.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
