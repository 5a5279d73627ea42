"""The state of a training run (:class:`RunState`) and its checkpoint: written and read here only.

A run is, between two iterations: the generator step ``step``; the networks ``G``, ``D`` and
the EMA generator; both optimisers; the random streams (real batches, latents, the loss's
penalty generator, the global RNGs of every DDP rank); the metrics rows written so far and the
running loss sums of the logging interval in progress; the resolved config and its hash; and
the wall time spent.  :meth:`RunState.checkpoint` turns that into the checkpoint dict,
:meth:`RunState.restore` reads it back, :meth:`RunState.save` / :meth:`RunState.resume` go
through :mod:`gans.checkpoint` (SHA-256 checked, atomic, previous file kept).

Checkpoint layout (format ``gandiv-checkpoint-1`` of :mod:`gans.checkpoint`; one dict):
``generator``, ``discriminator``, ``ema`` (state dicts; ``ema`` None without EMA), ``opt_g``,
``opt_d``, ``scaler`` (None: bf16 needs no loss scaling), ``step``, ``images_seen`` (``step *
batch_size * world_size``), ``rng`` (per rank: :func:`gans.checkpoint.rng_state`), ``sampler``
(per rank: ``{"real", "z", "loss"}`` generator states), ``config``, ``config_hash``,
``metrics_rows``, ``accumulators`` (``{"sums": {log key: float32 sum}, "n": steps summed}``)
and ``elapsed_s`` (wall seconds of training up to the checkpoint, summed over resumed legs).
``elapsed_s`` was added later: a checkpoint without it (written before) loads with 0.0, i.e. its
earlier legs' time is not counted.  :data:`TRAINING_KEYS` are required on resume.

Run identity (:func:`run_identity`): the config without ``data.workers`` and
``train.tensorboard``, which change speed and logging, never the trajectory; its
:func:`gans.config.config_hash` must match for a resume.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import distributed as gdist
from .checkpoint import (CHECKPOINT_NAME, load_checkpoint_with_source, nonfinite_weights, rng_state,
                         save_checkpoint, set_rng_state)
from .config import config_hash
from .data.prefetch import resolve_workers
from .data.streams import STREAMS, BatchStream, LatentStream, stream_seed
from .ema import EMA
from .nets import build_discriminator, build_generator

__all__ = ["RunState", "TrainingDiverged", "TRAINING_KEYS", "run_identity", "build_loss", "build_optimizer"]

# keys every training checkpoint holds (elapsed_s is optional: older checkpoints lack it)
TRAINING_KEYS = ("generator", "discriminator", "ema", "opt_g", "opt_d", "step", "rng", "sampler", "config",
                 "config_hash", "metrics_rows", "accumulators")
# config keys that change neither the batches nor the arithmetic: left out of the run identity
IDENTITY_EXCLUDED = (("data", "workers"), ("train", "tensorboard"))


class TrainingDiverged(FloatingPointError):
    """Raised when a loss becomes NaN or Inf; the message names the last good checkpoint."""


def run_identity(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The config without :data:`IDENTITY_EXCLUDED` (``data.workers``: the worker count changes
    speed, never the batches, :class:`gans.data.streams.BatchStream`; ``train.tensorboard``: a
    logging switch), so a run may resume with other values; its hash is the checkpoint's."""
    out = dict(cfg)
    for section, key in IDENTITY_EXCLUDED:
        if isinstance(out.get(section), Mapping):
            out[section] = {k: v for k, v in out[section].items() if k != key}
    return out


def build_loss(cfg: Mapping[str, Any], generator: torch.Generator | None = None) -> Any:
    """The loss of the ``loss`` section ``cfg``: ``gans.losses.build(cfg, generator=generator)``,
    the one dispatch on loss names (registered names, composites, ``"package.module:Name"``);
    ``generator`` drives the penalties' random interpolation/perturbation."""
    from . import losses
    return losses.build(dict(cfg), generator=generator)


def build_optimizer(params: Sequence[nn.Parameter], cfg: Mapping[str, Any], lr: float) -> torch.optim.Optimizer:
    """Adam(lr, betas, eps, weight_decay) or RMSprop(lr, alpha, eps, weight_decay) from ``optim``.

    ``optim.weight_decay`` must be a finite number >= 0 (L2 coefficient added to the gradient).
    """
    wd = cfg["weight_decay"]
    if isinstance(wd, bool) or not isinstance(wd, (int, float)) or not math.isfinite(wd) or wd < 0:
        raise ValueError(f"optim.weight_decay must be a finite number >= 0, got {wd!r}")
    if cfg["name"] == "adam":
        return torch.optim.Adam(params, lr=lr, betas=tuple(cfg["betas"]), eps=cfg["eps"],
                                weight_decay=cfg["weight_decay"])
    if cfg["name"] == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=cfg["alpha"], eps=cfg["eps"],
                                   weight_decay=cfg["weight_decay"])
    raise ValueError(f"optim.name must be 'adam' or 'rmsprop', got {cfg['name']!r}")


@dataclass(eq=False, repr=False)
class RunState:
    """Everything a training run is between two iterations (see the module docstring).

    Built by :meth:`create`; the trainer advances ``step``, calls :meth:`accumulate` with each
    step's logs and :meth:`interval_means` at each metrics row, and :meth:`save` at each
    checkpoint.  Under DDP every rank holds its own (its streams differ); :meth:`save` must be
    called on all ranks (it gathers their stream states) and rank 0 writes.
    """

    cfg: dict[str, Any]
    out: Path
    info: gdist.DistInfo
    G: nn.Module
    D: nn.Module
    ema: EMA | None
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    real: BatchStream
    latent: LatentStream
    loss_gen: torch.Generator
    step: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    sums: dict[str, torch.Tensor] = field(default_factory=dict)  # loss sums of the logging interval in progress
    n_acc: int = 0                   # steps in those sums
    elapsed_before_s: float = 0.0    # wall seconds of the legs before this one (from the checkpoint)
    clock_start: float = field(default_factory=time.perf_counter)  # perf_counter() at this leg's start
    last_good: tuple[int, Path] | None = None  # (step, file) of the last checkpoint known to be finite

    @classmethod
    def create(cls, cfg: dict[str, Any], out: Path, info: gdist.DistInfo, dataset: torch.utils.data.Dataset, *,
               channels_last: bool = False, clock_start: float | None = None) -> RunState:
        """A fresh run of the resolved ``cfg`` on ``info.device``: networks initialised from the
        seed's streams (:data:`gans.data.streams.STREAMS`), optimisers, EMA, real-batch stream
        over ``dataset`` (``data.workers`` prefetch processes) and latent stream."""
        tc, seed, device = cfg["train"], cfg["seed"], info.device
        G = build_generator(cfg["generator"], seed=stream_seed(seed, 0, STREAMS["generator_init"])).to(device)
        D = build_discriminator(cfg["discriminator"], seed=stream_seed(seed, 0, STREAMS["critic_init"])).to(device)
        if channels_last:
            G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
        loss_gen = torch.Generator().manual_seed(stream_seed(seed, info.rank, STREAMS["loss"]))
        ema = EMA(G, tc["ema_halflife_images"]) if tc["ema_halflife_images"] > 0 else None
        opt_g = build_optimizer(list(G.parameters()), cfg["optim"], cfg["optim"]["lr_g"])
        opt_d = build_optimizer(list(D.parameters()), cfg["optim"], cfg["optim"]["lr_d"])
        real = BatchStream(dataset, tc["batch_size"], stream_seed(seed, info.rank, STREAMS["real"]), device,
                           channels_last, workers=resolve_workers(cfg["data"].get("workers"), device, info.world_size))
        latent = LatentStream(cfg["latent"]["dim"], tc["batch_size"], cfg["latent"].get("distribution", "normal"),
                              stream_seed(seed, info.rank, STREAMS["latent"]), device)
        return cls(cfg=cfg, out=Path(out), info=info, G=G, D=D, ema=ema, opt_g=opt_g, opt_d=opt_d, real=real,
                   latent=latent, loss_gen=loss_gen,
                   clock_start=time.perf_counter() if clock_start is None else clock_start)

    def __repr__(self) -> str:
        return f"RunState(step={self.step}, out={str(self.out)!r}, config_hash={self.config_hash!r})"

    # ------------------------------------------------------------------ derived quantities
    @property
    def config_hash(self) -> str:
        """:func:`gans.config.config_hash` of the :func:`run_identity` of the config."""
        return config_hash(run_identity(self.cfg))

    @property
    def images_per_step(self) -> int:
        """Images one generator step shows: ``train.batch_size * world_size``."""
        return self.cfg["train"]["batch_size"] * self.info.world_size

    @property
    def images_seen(self) -> int:
        return self.step * self.images_per_step

    @property
    def sample_generator(self) -> nn.Module:
        """The generator that is evaluated and drawn: the EMA one when there is one."""
        return self.ema.model if self.ema is not None else self.G

    def elapsed_s(self) -> float:
        """Wall seconds of the run so far: the earlier legs' plus this leg's (since ``clock_start``)."""
        return self.elapsed_before_s + (time.perf_counter() - self.clock_start)

    def where_last_good(self) -> str:
        """Where the last finite checkpoint is, for error messages."""
        if self.last_good is None:
            return "no checkpoint had been written yet"
        return f"last good checkpoint kept at {self.last_good[1]} (step {self.last_good[0]})"

    # ------------------------------------------------------------------ loss averages
    def accumulate(self, logs: Mapping[str, torch.Tensor]) -> None:
        """Add one step's logged losses to the interval sums (float32, on the device: no sync)."""
        for k, v in logs.items():
            v = v.detach().float()
            self.sums[k] = self.sums[k] + v if k in self.sums else v
        self.n_acc += 1

    def interval_means(self) -> dict[str, float]:
        """The mean of each logged loss over the interval (sum / steps, in float32; one read-back
        for all of them) and a fresh interval."""
        means = torch.stack([v.reshape(()) for v in self.sums.values()]).div(self.n_acc).tolist() if self.sums else []
        out = dict(zip(self.sums, means))
        self.sums, self.n_acc = {}, 0
        return out

    # ------------------------------------------------------------------ the checkpoint
    def checkpoint(self) -> dict[str, Any] | None:
        """The checkpoint dict (module docstring) on rank 0, ``None`` on the other ranks.  Every
        rank must call it: the ranks' stream and RNG states are gathered, and under DDP the
        ranks' weights are checked to be equal (:func:`gans.distributed.check_ranks_in_sync`)."""
        samplers = gdist.gather_objects({"real": self.real.state_dict(), "z": self.latent.state_dict(),
                                         "loss": self.loss_gen.get_state()}, self.info)
        rngs = gdist.gather_objects(rng_state(), self.info)
        if self.info.enabled:
            gdist.check_ranks_in_sync(self.G, self.D)
        if not self.info.is_main:
            return None
        return {"generator": self.G.state_dict(), "discriminator": self.D.state_dict(),
                "ema": self.ema.model.state_dict() if self.ema is not None else None,
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(), "scaler": None,
                "step": self.step, "images_seen": self.images_seen, "rng": rngs, "sampler": samplers,
                "config": self.cfg, "config_hash": self.config_hash, "metrics_rows": self.rows,
                "accumulators": {"sums": {k: v.detach().cpu() for k, v in self.sums.items()}, "n": self.n_acc},
                "elapsed_s": self.elapsed_s()}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Load a :meth:`checkpoint` dict into this run (this rank's streams; rank 0's when the
        checkpoint has fewer ranks).  Does not check the config hash (:meth:`resume` does)."""
        rank, device = self.info.rank, self.info.device
        self.G.load_state_dict(state["generator"])
        self.D.load_state_dict(state["discriminator"])
        if self.ema is not None:
            self.ema.model.load_state_dict(state["ema"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        samplers = state["sampler"][rank] if rank < len(state["sampler"]) else state["sampler"][0]
        self.real.load_state_dict(samplers["real"])
        self.latent.load_state_dict(samplers["z"])
        self.loss_gen.set_state(samplers["loss"])
        set_rng_state(state["rng"][rank] if rank < len(state["rng"]) else state["rng"][0])
        self.step, self.rows = int(state["step"]), list(state["metrics_rows"])
        self.sums = {k: v.to(device) for k, v in state["accumulators"]["sums"].items()}
        self.n_acc = int(state["accumulators"]["n"])
        self.elapsed_before_s = float(state.get("elapsed_s", 0.0))

    def save(self) -> Path | None:
        """Write :meth:`checkpoint` to ``out/checkpoint.pt`` (rank 0; all ranks must call it).

        Raises :class:`TrainingDiverged`, writing nothing, when a weight is not finite: the
        checkpoint on disk stays the last good one.  Returns the file written (None off rank 0).
        """
        state = self.checkpoint()
        path = None
        if state is not None:
            bad = nonfinite_weights(state)
            if bad:
                raise TrainingDiverged(f"tensors {bad[:3]} are not finite at step {self.step}; checkpoint not "
                                       f"written, {self.where_last_good()}")
            path = save_checkpoint(state, self.out)
        self.last_good = (self.step, self.out / CHECKPOINT_NAME)
        return path

    def resume(self) -> Path:
        """Continue from ``out``'s checkpoint (``checkpoint.prev.pt`` if the current one fails
        verification, with a warning); returns the file loaded.  ``ValueError`` when it cannot be
        read or was written with another run identity (config hash)."""
        state, src = load_checkpoint_with_source(self.out, map_location=self.info.device, required=TRAINING_KEYS)
        h = self.config_hash
        if state["config_hash"] != h:
            raise ValueError(f"config hash {h} differs from the checkpoint's {state['config_hash']} ({src}): only "
                             "train.iterations, logging intervals and eval may change on resume")
        self.restore(state)
        self.last_good = (self.step, src)
        return src
