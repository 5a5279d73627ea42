"""DDP on CPU: two gloo processes under torchrun train the same model in lockstep."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch
import yaml

from gans.checkpoint import load_checkpoint
from gans.train import train

CFG = {
    "seed": 5,
    "device": "cpu",
    "data": {"name": "grid", "n": 512},
    "latent": {"dim": 4},
    "generator": {"name": "mlp", "hidden": 16, "depth": 2, "data_dim": 2},
    "discriminator": {"name": "mlp", "hidden": 16, "depth": 2, "data_dim": 2},
    # R1 needs a double backward through the DDP-wrapped critic
    "loss": {"name": "nsgan", "penalties": [{"name": "r1", "gamma": 1.0}]},
    "train": {"iterations": 6, "batch_size": 8, "n_critic": 2, "ema_halflife_images": 50, "log_every": 3,
              "sample_every": 0, "checkpoint_every": 3, "progress": False},
}


def test_ddp_two_gloo_processes_under_torchrun(tmp_path: Path) -> None:
    """Each rank draws its own batches; DDP averages gradients, so both ranks end with identical
    weights (the trainer all-gathers parameter checksums at every checkpoint and raises if they
    differ), images are counted over both ranks, and the result differs from a single-process run
    that saw only rank 0's batches."""
    cfg_path = tmp_path / "ddp.yaml"
    cfg_path.write_text(yaml.safe_dump(CFG))
    run = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "gans.train", str(cfg_path), "--out", str(run)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=400,
                          env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    state = load_checkpoint(run)
    assert state["step"] == 6 and state["images_seen"] == 6 * 8 * 2
    assert len(state["sampler"]) == 2  # both ranks' sampler states are saved
    assert not torch.equal(state["sampler"][0]["real"]["perm"], state["sampler"][1]["real"]["perm"])
    single = load_checkpoint(train(CFG, tmp_path / "single"))
    assert single["images_seen"] == 6 * 8
    w_ddp, w_single = state["generator"]["net.0.weight"], single["generator"]["net.0.weight"]
    assert torch.isfinite(w_ddp).all() and not torch.equal(w_ddp, w_single)
