"""Data-parallel training with PyTorch DDP, under ``torchrun`` or as plain python.

Under ``torchrun`` (``WORLD_SIZE > 1`` in the environment) :func:`setup` initialises the
default process group (NCCL on CUDA, gloo on CPU) and every process trains on its own batch
stream (sampler seeded by ``(seed, rank)``); gradients are averaged by
``DistributedDataParallel``.  As plain python :func:`setup` returns rank 0 of 1 and nothing is
wrapped.

The critic is wrapped in :class:`CriticDDP`: during the generator step :mod:`gans.step` freezes
the critic (``requires_grad=False``), and then the critic must be called *without* the DDP
forward (which would wait for critic gradients that never come); during critic steps the DDP
forward is used so its gradients are all-reduced.

Batch size: ``train.batch_size`` is per process and the data is not sharded (each rank draws
its own seeded permutation of the whole dataset), so the global batch is
``batch_size * world_size`` (the trainer logs it); divide by the number of processes to keep a
paper's batch.  Buffers are not broadcast (``broadcast_buffers=False``): spectral norm's ``u``,
``v`` stay equal on all ranks because their initialisation does not depend on the rank and the
power iteration is deterministic on identical weights; the generator's BatchNorm running
statistics differ per rank, and rank 0's are the ones saved (model and EMA).

Checkpoints: every rank's sampler and RNG states are gathered (:func:`gather_objects`) and saved
by rank 0, after :func:`check_ranks_in_sync` has confirmed that all ranks hold the same weights.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

__all__ = ["DistInfo", "setup", "cleanup", "wrap_generator", "wrap_critic", "unwrap", "CriticDDP", "gather_objects",
           "check_ranks_in_sync"]


@dataclass(frozen=True)
class DistInfo:
    """Rank, world size and this process's device."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup(device: str = "auto") -> DistInfo:
    """Initialise the process group if launched with ``WORLD_SIZE > 1``; pick the device.

    ``device``: ``auto`` (CUDA if available), ``cpu``, ``cuda`` or ``cuda:N``.  Under DDP on
    CUDA each process uses ``cuda:LOCAL_RANK``.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    if world > 1:
        if dev.type == "cuda":
            dev = torch.device("cuda", local)
            torch.cuda.set_device(dev)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if dev.type == "cuda" else "gloo", rank=rank, world_size=world)
    elif dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    return DistInfo(rank, world, local, dev)


def cleanup() -> None:
    """Destroy the process group if one was initialised."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


class CriticDDP(nn.Module):
    """DDP-wrapped critic that bypasses DDP while its parameters are frozen (generator step)."""

    def __init__(self, module: nn.Module, device: torch.device) -> None:
        super().__init__()
        ids = [device.index] if device.type == "cuda" else None
        self.ddp = DDP(module, device_ids=ids, broadcast_buffers=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frozen = not any(p.requires_grad for p in self.ddp.module.parameters())
        if frozen or not torch.is_grad_enabled():
            return self.ddp.module(x)
        return self.ddp(x)


def wrap_generator(model: nn.Module, info: DistInfo) -> nn.Module:
    """DDP-wrap the generator when running distributed; otherwise return it unchanged."""
    if not info.enabled:
        return model
    ids = [info.device.index] if info.device.type == "cuda" else None
    return DDP(model, device_ids=ids, broadcast_buffers=False)


def wrap_critic(model: nn.Module, info: DistInfo) -> nn.Module:
    """:class:`CriticDDP` when running distributed; otherwise the model unchanged."""
    return CriticDDP(model, info.device) if info.enabled else model


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module inside DDP / CriticDDP / torch.compile wrappers."""
    while True:
        if isinstance(model, CriticDDP):
            model = model.ddp.module
        elif isinstance(model, DDP):
            model = model.module
        elif hasattr(model, "_orig_mod"):
            model = model._orig_mod
        else:
            return model


def gather_objects(obj: Any, info: DistInfo) -> list[Any]:
    """``[obj of rank 0, obj of rank 1, ...]``: ``torch.distributed.all_gather_object`` under DDP
    (every rank must call it), ``[obj]`` in a single process."""
    if not info.enabled:
        return [obj]
    out: list[Any] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def check_ranks_in_sync(*models: nn.Module) -> None:
    """Raise ``RuntimeError`` unless every DDP rank holds the same parameters in ``models``.

    Compares one float64 checksum per model (the sum of all its parameters in float64) across
    the ranks (all-gathered; every rank must call it).  Ranks whose gradients were averaged hold
    bit-identical weights, so any difference means a gradient was not synchronised.  A no-op
    without an initialised process group.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    with torch.no_grad():
        sums = torch.stack([sum(p.double().sum() for p in m.parameters()) for m in models]).cpu()
    all_sums = [torch.zeros_like(sums) for _ in range(dist.get_world_size())]
    dist.all_gather_object(all_sums, sums)
    if not all(torch.equal(all_sums[0], s) for s in all_sums):
        raise RuntimeError(f"DDP ranks hold different parameters (checksums {all_sums}); gradients were not "
                           "synchronised")
