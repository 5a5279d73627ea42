"""The one training checkpoint ``OUT/checkpoint.pt``, written atomically.

Contents (a dict): ``generator``, ``discriminator`` and ``ema`` state dicts (``ema`` is None
without EMA), ``opt_g``, ``opt_d`` optimiser states, ``scaler`` (None: bf16 needs no loss
scaling), ``step`` (generator steps done), ``images_seen``, ``rng`` (torch CPU, CUDA, numpy,
python states), ``sampler`` (the data/latent samplers' generator states), ``config`` (the
resolved config), ``config_hash`` and ``metrics_rows`` (rows of metrics.csv written so far).

Writing goes to ``checkpoint.pt.tmp`` in the same folder, flushed and fsynced, then
``os.replace`` renames it: a crash mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["CHECKPOINT_NAME", "save_checkpoint", "load_checkpoint", "rng_state", "set_rng_state"]

CHECKPOINT_NAME = "checkpoint.pt"


def rng_state() -> dict[str, Any]:
    """Global RNG states: torch CPU, every CUDA device (if any), numpy legacy, python."""
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "numpy": np.random.get_state(), "python": random.getstate()}


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the states saved by :func:`rng_state`."""
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def save_checkpoint(state: dict[str, Any], out_dir: str | Path) -> Path:
    """Write ``state`` to ``out_dir/checkpoint.pt`` via a temporary file and ``os.replace``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / CHECKPOINT_NAME
    tmp = out_dir / (CHECKPOINT_NAME + ".tmp")
    with open(tmp, "wb") as fh:
        torch.save(state, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    return final


def load_checkpoint(out_dir_or_file: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint from a run folder or a file path."""
    p = Path(out_dir_or_file)
    if p.is_dir():
        p = p / CHECKPOINT_NAME
    if not p.is_file():
        raise ValueError(f"no checkpoint at {p}")
    return torch.load(p, map_location=map_location, weights_only=False)
