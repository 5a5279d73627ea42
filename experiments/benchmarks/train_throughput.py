"""Training throughput (images/s) of DCGAN-64 and ResNet-64 with our trainer against a plain
fp32 loop of the same models, in the same process.

``ours``: :func:`gans.train.train` as configured for a GPU (bf16 autocast, channels_last,
``torch.compile``; these switch themselves off on CPU), non-saturating loss, Adam, batch 64,
EMA on, NaN check every 50 steps, one critic step per generator step, random uint8 images.
``plain``: the textbook loop (critic step on ``G(z).detach()``, generator step on a new ``z``),
fp32, contiguous memory, no EMA, no checks.  "Images" are generator-step batches in both.

Floor: ``flops_per_image`` counts the FLOPs of one training iteration (critic forward+backward
on a real and a fake batch, generator forward, and the generator step's forward/backward
through G and D) divided by the batch size, measured with ``torch.utils.flop_counter`` on the
plain loop; ``floor_images_per_s = peak_flops / flops_per_image`` is given where the device's
dense peak is known (H100 SXM: 989 TFLOP/s bf16, 67 TFLOP/s fp32).

GPU-pending: the numbers that matter need CUDA.  ``--tiny`` runs both variants on CPU at a
small size (ch 8, batch 8, few iterations) to prove the script works; it is not wired into
the default pipeline.  Output: ``results/benchmarks/train_throughput.csv``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F

from experiments.common import device_name, machine_name, write_table
from gans.data import to_model_input
from gans.nets import build_discriminator, build_generator
from gans.train import train

PEAK_FLOPS = {"H100": {"bf16": 989e12, "fp32": 67e12}}


def _nets(model: str, ch: int, latent: int, device: torch.device):
    G = build_generator({"name": model, "resolution": 64, "ch": ch, "latent_dim": latent}, seed=0).to(device)
    D = build_discriminator({"name": model, "resolution": 64, "ch": ch}, seed=1).to(device)
    return G, D


def _plain_iteration(G, D, opt_g, opt_d, real, z1, z2) -> None:
    opt_d.zero_grad(set_to_none=True)
    with torch.no_grad():
        fake = G(z1)
    (F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()).backward()
    opt_d.step()
    opt_g.zero_grad(set_to_none=True)
    for p in D.parameters():
        p.requires_grad_(False)
    F.softplus(-D(G(z2))).mean().backward()
    for p in D.parameters():
        p.requires_grad_(True)
    opt_g.step()


def plain_loop(model: str, ch: int, batch: int, latent: int, warmup: int, iters: int,
               device: torch.device) -> tuple[float, float]:
    """(images/s, FLOPs per image) of the plain fp32 loop."""
    G, D = _nets(model, ch, latent, device)
    opt_g = torch.optim.Adam(G.parameters(), 1e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), 1e-4, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(0)
    data = torch.randint(0, 256, (batch * 4, 3, 64, 64), generator=gen, dtype=torch.uint8)

    def batch_at(i: int):
        real = to_model_input(data[(i % 4) * batch:(i % 4 + 1) * batch].to(device))
        return real, torch.randn(batch, latent, device=device), torch.randn(batch, latent, device=device)

    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as fc:
        _plain_iteration(G, D, opt_g, opt_d, *batch_at(0))
    flops = fc.get_total_flops() / batch
    for i in range(warmup):
        _plain_iteration(G, D, opt_g, opt_d, *batch_at(i))
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for i in range(iters):
        _plain_iteration(G, D, opt_g, opt_d, *batch_at(i))
    if device.type == "cuda":
        torch.cuda.synchronize()
    return iters * batch / (time.perf_counter() - t0), flops


def ours(model: str, ch: int, batch: int, latent: int, warmup: int, iters: int, device: torch.device) -> float:
    """images/s of gans.train over the ``iters`` steps after ``warmup`` steps (second metrics row)."""
    cfg = {"seed": 0, "device": str(device), "data": {"name": "random_images", "n": batch * 4, "resolution": 64},
           "latent": {"dim": latent},
           "generator": {"name": model, "resolution": 64, "ch": ch},
           "discriminator": {"name": model, "resolution": 64, "ch": ch},
           "loss": {"name": "nsgan"},
           "train": {"iterations": warmup + iters, "batch_size": batch, "log_every": warmup, "amp": "bf16",
                     "channels_last": True, "compile": True, "sample_every": 0, "checkpoint_every": 0,
                     "nan_check_every": 50, "progress": False}}
    assert iters % warmup == 0, "iters must be a multiple of warmup (metrics rows every warmup steps)"
    with tempfile.TemporaryDirectory() as tmp:
        run = train(cfg, Path(tmp) / "bench")
        rows = pd.read_csv(run / "metrics.csv")
    after = rows[rows.step > warmup].images_per_s
    # every row after warm-up covers `warmup` steps: total images / total time = harmonic mean
    return float(len(after) / (1.0 / after).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("results/benchmarks/train_throughput.csv"))
    ap.add_argument("--tiny", action="store_true", help="CPU smoke run: ch 8, batch 8, 2 + 2 iterations")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    device = torch.device(args.device)
    if args.tiny:
        ch, batch, warmup, iters = 8, 8, 2, 2
    else:
        ch, batch, warmup, iters = 64, 64, 20, 100
    rows = []
    name = device_name(device)
    peak = next((v for k, v in PEAK_FLOPS.items() if k in name), None)
    for model in ("dcgan", "resnet"):
        latent = 100 if model == "dcgan" else 128
        plain_ips, flops = plain_loop(model, ch, batch, latent, warmup, iters, device)
        ours_ips = ours(model, ch, batch, latent, warmup, iters, device)
        for variant, ips, prec in (("plain fp32", plain_ips, "fp32"),
                                   ("ours (bf16, channels_last, compile)" if device.type == "cuda"
                                    else "ours (CPU: fp32, no compile)", ours_ips, "bf16" if device.type == "cuda"
                                    else "fp32")):
            rows.append({"model": f"{model}-64", "variant": variant, "ch": ch, "batch": batch, "iterations": iters,
                         "images_per_s": ips, "ratio_to_plain": ips / plain_ips, "flops_per_image": flops,
                         "floor_images_per_s": (peak[prec] / flops) if peak else float("nan"),
                         "device": name, "machine": machine_name(), "tiny": args.tiny})
    df = pd.DataFrame(rows)
    write_table(df, args.out)
    print(df.to_string(index=False))


if __name__ == "__main__":
    main()
