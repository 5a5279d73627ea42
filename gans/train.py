"""The training loop of the project (the only one): ``python -m gans.train CONFIG.yaml``.

Usage::

    python -m gans.train experiments/configs/toy/nsgan.yaml --set train.iterations=500 --out runs/ns
    python -m gans.train CONFIG.yaml --out runs/ns --resume      # continue exactly
    python -m gans.train CONFIG.yaml --dry-run                     # print the resolved config
    torchrun --nproc_per_node 2 -m gans.train CONFIG.yaml --out runs/ddp   # DDP

From Python: ``run_dir = gans.train.train(cfg, out)`` (``cfg`` a resolved config from
:func:`gans.config.resolve` or any partial mapping), ``G = gans.train.load_generator(run_dir)``.

One iteration = :func:`gans.step.alternating_step`: ``n_critic`` critic updates then one
generator update (``g_first`` reverses the order), each on a fresh real batch and a fresh
latent batch.  "Images seen" counts generator-update batches, ``step * batch_size *
world_size``; the EMA half-life and images/s use the same count.

Optimisers (``optim``): Adam (``betas`` default (0.5, 0.999), lr 1e-4; DCGAN (Radford et al.
2016) used lr 2e-4, beta1 0.5; WGAN-GP (Gulrajani et al. 2017) lr 1e-4, betas (0, 0.9);
SMMD (Arbel et al. 2018) lr 1e-4, betas (0.5, 0.9)) and RMSProp (WGAN with clipping,
Arjovsky et al. 2017: lr 5e-5, ``alpha`` 0.99 = PyTorch's default smoothing).

Determinism: network init, the dataset, the real-batch order and the latents come from
generators seeded by ``seed`` (and the DDP rank); losses that draw random numbers (gradient
penalty interpolation, instance noise) use the global torch RNG, which is seeded from ``seed``
and saved in the checkpoint.  On CPU, ``--resume`` reproduces an uninterrupted run bit for bit.
On CUDA it does not, and no run is bit-reproducible there: every random number still comes from
the checkpointed CPU generators (latents, data order, penalty weights) and the CUDA RNG states
are saved too, so a resumed run starts from the same weights, optimiser moments, batches and
latents; but cuDNN's autotuned (``cudnn.benchmark``) and atomic-add kernels (convolution
backward, ``index_add``, scatter) and bf16 reductions sum in an order that varies between runs,
so trajectories drift apart at rounding level from the first step and the drift grows with
training.  Expect statistically equivalent runs, not equal ones.

Real data (:class:`BatchStream`): datasets without an in-memory ``tensor`` (CelebA JPEGs, image
folders, memory-mapped ImageNet) are read by ``data.workers`` worker processes (default
``auto``: 0 on CPU, up to 8 per process on CUDA; pinned memory on CUDA, ``uint8`` until the
device).  The batches, and so the trained weights, do not depend on the number of workers,
which is left out of the config hash; each item is loaded as a function of (index, epoch), so
CelebA's random crop + flip (``data.augment``) differs between epochs and is reproducible.

On CUDA: bf16 autocast (``train.amp``; the MMD kernel head, the SMMD scale and spectral
norm's sigma are computed in float32 inside it, see :mod:`gans.losses.mmd` and
:mod:`gans.nets.spectral`), ``channels_last`` for image networks, ``cudnn.benchmark`` (shapes
are static: every batch has ``batch_size`` images of one resolution, so the autotuned
convolution algorithms chosen at the first step stay the fastest; restored on exit) and
optional ``torch.compile`` (:func:`compile_networks`).  torch.compile's aot_autograd cannot
differentiate a compiled graph twice, so the critic is compiled only for losses without
input-gradient terms (gradient penalties, witness GP, the SMMD scale); otherwise only the
generator is compiled, and the run says so on stderr.  Spectral-norm critics compile (one power
iteration per step, :mod:`gans.step`).

Host synchronisations: an iteration (``n_critic`` critic steps, one generator step, the EMA)
reads nothing back from the device, except the NaN guard: the losses' non-finite flags are
accumulated on the device every step and read once every ``train.nan_check_every`` steps (and
before every metrics row, evaluation and checkpoint), so with ``nan_check_every: 1`` there is
one synchronisation per iteration and with ``k`` one per ``k`` iterations.  On a non-finite value
training stops with :class:`TrainingDiverged` naming the first bad step and the last checkpoint,
written before the failure, which is left untouched.

DDP: ``train.batch_size`` is per process; the global batch is ``batch_size * world_size``
(logged at start), so the paper's batch 64 on N GPUs needs ``batch_size: 64 / N``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import importlib
import math
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import nn

from . import distributed as gdist
from .checkpoint import (CHECKPOINT_NAME, PREVIOUS_NAME, load_checkpoint, load_checkpoint_with_source,
                         nonfinite_weights, remove_checkpoints, rng_state, save_checkpoint, set_rng_state)
from .config import config_hash, resolve
from .data import build_dataset, to_model_input
from .data.latent import sample_latent
from .data.prefetch import IndexStream, Prefetcher, load_item, resolve_workers
from .ema import EMA
from .nets import build_discriminator, build_generator
from .step import alternating_step

__all__ = ["train", "resume_plan", "load_generator", "load_run_config", "build_loss", "build_optimizer",
           "TrainingDiverged", "BatchStream", "LatentStream", "TRAINING_KEYS", "main", "compile_networks",
           "needs_double_backward", "autocast_context"]

# keys every training checkpoint holds (gans.checkpoint module docstring)
TRAINING_KEYS = ("generator", "discriminator", "ema", "opt_g", "opt_d", "step", "rng", "sampler", "config",
                 "config_hash", "metrics_rows", "accumulators")


class TrainingDiverged(FloatingPointError):
    """Raised when a loss becomes NaN or Inf; the message names the last good checkpoint."""


def _stream_seed(seed: int, rank: int, stream: int) -> int:
    return int(np.random.SeedSequence([seed, rank, stream]).generate_state(1, dtype=np.uint64)[0] >> 1)


class BatchStream:
    """Real batches in the order of a seeded permutation per epoch (:class:`gans.data.prefetch.IndexStream`).

    Datasets with an in-memory ``tensor`` are batched by indexing it (a tensor under 1 GiB, e.g.
    toy mixtures or uint8 stand-ins and CIFAR-10, is moved to the device once).  Others are loaded item by item, each item as a
    function of ``(index, epoch)`` (:func:`gans.data.prefetch.load_item`: CelebA's augmentation
    changes every epoch): with ``workers = 0`` in this process, with ``workers > 0`` by a
    :class:`gans.data.prefetch.Prefetcher` (worker processes, pinned memory on CUDA, ``uint8``
    until ``.to(device, non_blocking=True)``).  The batch sequence does not depend on
    ``workers``.

    State (``state_dict``): generator state, permutation, position and epoch of the stream
    *after the last batch returned*, never of batches only prefetched, so a resumed stream
    yields exactly the batches the uninterrupted one would have.  Call :meth:`close` to stop
    the workers.
    """

    def __init__(self, dataset: torch.utils.data.Dataset, batch_size: int, seed: int, device: torch.device,
                 channels_last: bool = False, workers: int = 0) -> None:
        self.dataset, self.batch_size, self.device = dataset, batch_size, torch.device(device)
        self.n = len(dataset)
        if self.n < 1:
            raise ValueError("dataset is empty")
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 0:
            raise ValueError(f"workers: expected an integer >= 0, got {workers!r}")
        self.index = IndexStream(self.n, seed)
        self.seed = int(seed)
        tensor = getattr(dataset, "tensor", None)
        self.tensor = tensor if isinstance(tensor, torch.Tensor) else None
        if self.tensor is not None and self.tensor.numel() * self.tensor.element_size() < 2 ** 30:
            self.tensor = self.tensor.to(self.device)  # small data (toy points, uint8 stand-ins) lives on the device
        self.channels_last = channels_last
        self.workers = 0 if self.tensor is not None else workers
        self._prefetch: Prefetcher | None = None

    def __call__(self) -> torch.Tensor:
        if self.workers > 0 and self._prefetch is None:  # starts at the consumed state
            self._prefetch = Prefetcher(self.dataset, self.index, self.batch_size, self.workers,
                                        pin_memory=self.device.type == "cuda", seed=self.seed)
        idx, ep = self.index.next(self.batch_size)
        if self.tensor is not None:  # non-blocking: a fresh pageable index tensor is staged at once
            batch = self.tensor[idx.to(self.tensor.device, non_blocking=True)]
        elif self._prefetch is not None:
            batch, got_idx, got_ep = self._prefetch.next()
            if not (torch.equal(got_idx, idx) and torch.equal(got_ep, ep)):
                raise RuntimeError("prefetched real batch is out of step with the index stream "
                                   f"(expected indices {idx[:4].tolist()}..., got {got_idx[:4].tolist()}...)")
        else:
            batch = torch.stack([load_item(self.dataset, i, e) for i, e in zip(idx.tolist(), ep.tolist())])
        batch = to_model_input(batch.to(self.device, non_blocking=True))
        if self.channels_last and batch.ndim == 4:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch

    def state_dict(self) -> dict[str, Any]:
        """Generator state, permutation, position and epoch after the last consumed batch."""
        return self.index.state_dict()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict`; running workers are stopped and restart from it."""
        self.close()
        self.index.load_state_dict(state)

    def close(self) -> None:
        """Stop the prefetching workers (a later call starts new ones at the current state)."""
        if self._prefetch is not None:
            self._prefetch.close()
            self._prefetch = None


class LatentStream:
    """Latent batches ``z ~ N(0, I)`` or ``U[-1, 1]^dim`` from a seeded CPU generator."""

    def __init__(self, dim: int, batch_size: int, distribution: str, seed: int, device: torch.device) -> None:
        self.dim, self.batch_size, self.distribution, self.device = dim, batch_size, distribution, device
        self.gen = torch.Generator().manual_seed(seed)

    def __call__(self, n: int | None = None) -> torch.Tensor:
        z = sample_latent(n or self.batch_size, self.dim, self.distribution, self.gen)
        return z.to(self.device, non_blocking=True)

    def state_dict(self) -> dict[str, Any]:
        """The latent generator's state."""
        return {"gen": self.gen.get_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict`."""
        self.gen.set_state(state["gen"])


def _import_callable(path: str, key: str) -> Any:
    """The callable named ``"module:function"``; ``ValueError`` naming the config ``key`` otherwise."""
    mod, _, name = str(path).partition(":")
    try:
        fn = getattr(importlib.import_module(mod), name)
    except (ImportError, AttributeError, ValueError) as err:
        raise ValueError(f"{key}: cannot import {path!r} ({type(err).__name__}: {err})") from err
    if not callable(fn):
        raise ValueError(f"{key}: {path!r} is not callable")
    return fn


def build_loss(cfg: Mapping[str, Any], generator: torch.Generator | None = None) -> Any:
    """The loss named by ``cfg["name"]``: ``gans.losses.build(cfg, generator=generator)``
    (``generator`` drives the penalties' random interpolation/perturbation), or
    ``"module:factory"`` (``factory(cfg)`` returns an object with ``d_loss``, ``g_loss`` and
    ``after_d_step``)."""
    name = cfg["name"]
    if ":" in name:
        return _import_callable(name, "loss.name")(dict(cfg))
    from . import losses
    return losses.build(dict(cfg), generator=generator)


def needs_double_backward(loss: Any) -> bool:
    """Whether the critic loss differentiates through input gradients (second-order autograd).

    True for every loss with a penalty (WGAN-GP, R1/R2, DRAGAN, MMD-GAN's witness GP) and for
    the Scaled MMD (its scale holds ``E ||grad_x phi||^2``, Arbel et al. 2018, Prop. 4); also for
    objects that are not :class:`gans.losses.PenalisedLoss` (a ``module:factory`` loss), unless
    they set ``double_backward = False``.
    """
    flag = getattr(loss, "double_backward", None)
    if flag is not None:
        return bool(flag)
    from .losses import PenalisedLoss, ScaledMMDLoss
    if not isinstance(loss, PenalisedLoss):
        return True
    return bool(loss.penalties) or isinstance(loss, ScaledMMDLoss)


def compile_networks(G: nn.Module, D: nn.Module, loss: Any, enabled: bool) -> tuple[nn.Module, nn.Module, str]:
    """``(G', D', note)``: the networks under ``torch.compile`` where that works.

    ``G`` is always compiled (when ``enabled``); ``D`` only when :func:`needs_double_backward`
    is false, because aot_autograd raises "torch.compile with aot_autograd does not currently
    support double backward" on a compiled critic inside a gradient penalty.  ``note`` says
    what was compiled (the trainer prints it); ``""`` when ``enabled`` is false.
    """
    if not enabled:
        return G, D, ""
    name = getattr(loss, "name", type(loss).__name__)
    if needs_double_backward(loss):
        return (torch.compile(G), D, f"train.compile: generator compiled; critic left eager, because loss {name!r} "
                "differentiates through input gradients (double backward), which torch.compile does not support")
    return torch.compile(G), torch.compile(D), f"train.compile: generator and critic compiled (loss {name!r})"


def autocast_context(device: torch.device, amp: str) -> contextlib.AbstractContextManager:
    """bf16 autocast on ``device`` when ``amp == "bf16"``, else a null context (the trainer
    passes ``amp="none"`` on CPU: CPU autocast keeps reductions in bf16 and is not used)."""
    if amp == "bf16":
        return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _note(msg: str, info: gdist.DistInfo) -> None:
    """A run-configuration message on stderr (main rank only)."""
    if msg and info.is_main:
        print(f"gans.train: {msg}", file=sys.stderr, flush=True)


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


def _write_metrics(rows: list[dict[str, Any]], path: Path) -> None:
    cols: list[str] = ["step", "images_seen"]
    for r in rows:
        cols += [k for k in r if k not in cols]
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    tmp.replace(path)


@torch.no_grad()
def _save_samples(G: nn.Module, z: torch.Tensor, real: torch.Tensor | None, path: Path) -> None:
    """A scatter plot (2-D data, with real samples in grey) or an image grid (PNG)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    was = G.training
    G.eval()
    x = G(z).float().cpu()
    G.train(was)
    if x.ndim == 2:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(4, 4))
        r = real.float().cpu().reshape(len(real), -1) if real is not None else None
        if x.shape[1] >= 2:  # first two coordinates
            if r is not None:
                ax.scatter(r[:, 0], r[:, 1], s=2, c="0.7", label="data")
            ax.scatter(x[:, 0], x[:, 1], s=2, c="C3", label="generated")
            ax.set_aspect("equal")
        else:  # 1-D data: histograms
            if r is not None:
                ax.hist(r[:, 0].numpy(), bins=60, color="0.7", label="data", density=True)
            ax.hist(x[:, 0].numpy(), bins=60, color="C3", alpha=0.6, label="generated", density=True)
        ax.legend(loc="upper right", fontsize=7, markerscale=4)
        fig.tight_layout()
        tmp = path.with_name(f".{path.name}.tmp.png")  # written aside, then renamed: never a truncated PNG
        fig.savefig(tmp, dpi=90, format="png")
        plt.close(fig)
        tmp.replace(path)
        return
    from PIL import Image
    imgs = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    n, c, h, w = imgs.shape
    cols = int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / cols))
    pad = 2  # white lines between the images
    grid = torch.full((c, rows * (h + pad) + pad, cols * (w + pad) + pad), 255, dtype=torch.uint8)
    for i in range(n):
        top, left = pad + (i // cols) * (h + pad), pad + (i % cols) * (w + pad)
        grid[:, top:top + h, left:left + w] = imgs[i]
    arr = grid.permute(1, 2, 0).numpy()
    tmp = path.with_name(f".{path.name}.tmp.png")
    Image.fromarray(arr[..., 0] if c == 1 else arr).save(tmp, format="PNG")
    tmp.replace(path)


def _evaluate(fn_path: str, G: nn.Module, dataset: Any, eval_cfg: Mapping[str, Any], device: torch.device,
              seed: int) -> dict[str, Any]:
    fn = _import_callable(fn_path, "eval.function")
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        out = fn(G, dataset, dict(eval_cfg), device, seed)
    return {f"eval_{k}": (v if isinstance(v, str) else float(v)) for k, v in out.items()}


def _check_ranks_in_sync(G: nn.Module, D: nn.Module) -> None:
    """Under DDP every rank must hold the same parameters; compare float64 checksums."""
    with torch.no_grad():
        sums = torch.stack([sum(p.double().sum() for p in m.parameters()) for m in (G, D)]).cpu()
    all_sums = [torch.zeros_like(sums) for _ in range(torch.distributed.get_world_size())]
    torch.distributed.all_gather_object(all_sums, sums)
    if not all(torch.equal(all_sums[0], s) for s in all_sums):
        raise RuntimeError(f"DDP ranks hold different parameters (checksums {all_sums}); gradients were not "
                           "synchronised")


def train(cfg: Mapping[str, Any], out: str | Path, resume: bool = False, *, loss: Any = None,
          overwrite: bool = False) -> Path:
    """Train a GAN as described by ``cfg`` into the folder ``out``; returns ``Path(out)``.

    ``cfg`` is resolved against the defaults (:func:`gans.config.resolve`) and validated.
    ``resume`` continues from ``out/checkpoint.pt`` (verified by its SHA-256 checksum; falls
    back to ``out/checkpoint.prev.pt`` with a warning when it fails; the config hash must match:
    only ``train.iterations``, logging intervals and ``eval`` may change).  ``loss`` overrides the
    loss built from ``cfg["loss"]`` (an object implementing :class:`gans.losses.base.GANLoss`).
    A fresh run refuses to overwrite an existing checkpoint unless ``overwrite`` (which deletes
    the old checkpoints).  :func:`resume_plan` tells whether a resume would be accepted.

    Writes ``out/config.yaml`` (only once the config is accepted), ``out/checkpoint.pt``,
    ``out/metrics.csv`` (step, images_seen, losses averaged over the logging interval,
    images_per_s, ``eval_*`` scores) and ``out/samples/step_XXXXXXX.png``.  The running loss
    sums of the logging interval in progress are checkpointed, so the rows of a resumed run
    equal the uninterrupted run's (``images_per_s`` aside).  Raises :class:`TrainingDiverged` on
    NaN/Inf losses or weights, ``ValueError`` on a bad config or checkpoint.
    """
    cfg = resolve(cfg=cfg)
    out = Path(out)
    info = gdist.setup(cfg["device"])
    cuda = info.device.type == "cuda"
    with torch.random.fork_rng(devices=[info.device] if cuda else []), contextlib.ExitStack() as cleanup:
        if cuda:  # static shapes: let cuDNN autotune once; the process-wide flag is restored on exit
            cleanup.callback(setattr, torch.backends.cudnn, "benchmark", torch.backends.cudnn.benchmark)
            torch.backends.cudnn.benchmark = True
        return _train(cfg, out, resume, loss, overwrite, info, cleanup)


def _run_identity(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The config without ``data.workers``: the worker count changes speed, never the batches
    (:class:`BatchStream`), so a run may resume with another one."""
    return {**cfg, "data": {k: v for k, v in cfg["data"].items() if k != "workers"}}


def resume_plan(cfg: Mapping[str, Any], out: str | Path) -> tuple[int | None, str]:
    """Whether ``train(cfg, out, resume=True)`` would continue ``out``'s checkpoint.

    Returns ``(step, message)``: ``step`` is the generator step of the (verified) checkpoint when
    it was written with the same run identity (config hash without iterations, logging
    intervals, ``eval`` and ``data.workers``) and is not beyond ``train.iterations``; ``None``
    when there is no checkpoint, the config changed, or the checkpoint is past the end.  The
    message says which, for logs.  Raises ``ValueError`` when a checkpoint exists but neither it
    nor ``checkpoint.prev.pt`` can be read (the files are left alone).
    """
    cfg, out = resolve(cfg=cfg), Path(out)
    if not any((out / n).exists() for n in (CHECKPOINT_NAME, PREVIOUS_NAME)):
        return None, f"no checkpoint in {out}: training from step 0"
    state, src = load_checkpoint_with_source(out, required=("config_hash", "step"))
    h, it, step = config_hash(_run_identity(cfg)), cfg["train"]["iterations"], int(state["step"])
    if state["config_hash"] != h:
        return None, (f"config changed since {src} was written (config hash {state['config_hash']}, now {h}): "
                      "starting over from step 0")
    if step > it:
        return None, f"{src} is at step {step}, beyond train.iterations = {it}: starting over from step 0"
    return step, f"resuming {src} at step {step} of {it} (config hash {h} unchanged)"


def _train(cfg: dict[str, Any], out: Path, resume: bool, loss: Any, overwrite: bool,
           info: gdist.DistInfo, cleanup: contextlib.ExitStack) -> Path:
    tc, seed, device = cfg["train"], cfg["seed"], info.device
    cuda = device.type == "cuda"
    ckpt_path = out / CHECKPOINT_NAME
    has_ckpt = any((out / n).exists() for n in (CHECKPOINT_NAME, PREVIOUS_NAME))
    if out.exists() and not out.is_dir():
        raise ValueError(f"out: {out} exists and is not a folder")
    if resume and not has_ckpt:
        raise ValueError(f"--resume given but {out} holds no {CHECKPOINT_NAME} (nor {PREVIOUS_NAME})")
    if not resume and has_ckpt and not overwrite:
        raise ValueError(f"{ckpt_path} exists: pass resume=True (--resume) or overwrite=True (--overwrite)")
    torch.manual_seed(_stream_seed(seed, info.rank, 0))
    if cuda:
        torch.cuda.manual_seed(_stream_seed(seed, info.rank, 0))

    dataset = build_dataset(cfg["data"], seed)
    # evaluation reference: eval.data when set (e.g. the held-out split), else the training data
    eval_dataset = build_dataset(cfg["eval"]["data"], seed) if cfg["eval"].get("data") else dataset
    G = build_generator(cfg["generator"], seed=_stream_seed(seed, 0, 1)).to(device)
    D = build_discriminator(cfg["discriminator"], seed=_stream_seed(seed, 0, 2)).to(device)
    loss_gen = torch.Generator().manual_seed(_stream_seed(seed, info.rank, 6))
    loss = loss if loss is not None else build_loss(cfg["loss"], loss_gen)
    if cfg["eval"].get("every", 0) > 0:
        _import_callable(cfg["eval"]["function"], "eval.function")  # fail now, not at the first evaluation
    sample = dataset[0]
    images = torch.as_tensor(sample).ndim == 3
    channels_last = cuda and tc["channels_last"] and images
    if channels_last:
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    ema = EMA(G, tc["ema_halflife_images"]) if tc["ema_halflife_images"] > 0 else None
    opt_g = build_optimizer([p for p in G.parameters()], cfg["optim"], cfg["optim"]["lr_g"])
    opt_d = build_optimizer([p for p in D.parameters()], cfg["optim"], cfg["optim"]["lr_d"])
    real_stream = BatchStream(dataset, tc["batch_size"], _stream_seed(seed, info.rank, 3), device, channels_last,
                              workers=resolve_workers(cfg["data"].get("workers"), device, info.world_size))
    cleanup.callback(real_stream.close)
    z_stream = LatentStream(cfg["latent"]["dim"], tc["batch_size"], cfg["latent"].get("distribution", "normal"),
                            _stream_seed(seed, info.rank, 4), device)
    h = config_hash(_run_identity(cfg))
    step, rows = 0, []
    sums: dict[str, torch.Tensor] = {}  # running loss sums of the logging interval in progress
    n_acc = 0
    last_good: tuple[int, Path] | None = None  # (step, file) of the last checkpoint known to be finite
    if resume:
        state, src = load_checkpoint_with_source(out, map_location=device, required=TRAINING_KEYS)
        if state["config_hash"] != h:
            raise ValueError(f"config hash {h} differs from the checkpoint's {state['config_hash']} ({src}): only "
                             "train.iterations, logging intervals and eval may change on resume")
        G.load_state_dict(state["generator"])
        D.load_state_dict(state["discriminator"])
        if ema is not None:
            ema.model.load_state_dict(state["ema"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        samplers = state["sampler"][info.rank] if info.rank < len(state["sampler"]) else state["sampler"][0]
        real_stream.load_state_dict(samplers["real"])
        z_stream.load_state_dict(samplers["z"])
        loss_gen.set_state(samplers["loss"])
        set_rng_state(state["rng"][info.rank] if info.rank < len(state["rng"]) else state["rng"][0])
        step, rows = int(state["step"]), list(state["metrics_rows"])
        sums = {k: v.to(device) for k, v in state["accumulators"]["sums"].items()}
        n_acc = int(state["accumulators"]["n"])
        last_good = (step, src)
    if info.is_main:  # only now that the config is accepted: a refused run leaves the folder as it was
        out.mkdir(parents=True, exist_ok=True)
        if not resume:
            remove_checkpoints(out)  # overwrite: the old run's checkpoints must not be fallen back on
        (out / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    per_step = tc["batch_size"] * info.world_size
    if info.enabled:
        _note(f"DDP with {info.world_size} processes: train.batch_size {tc['batch_size']} per process, "
              f"global batch {per_step}", info)

    Gw, Dw, note = compile_networks(G, D, loss, cuda and tc["compile"])
    _note(note, info)
    Gw, Dw = gdist.wrap_generator(Gw, info), gdist.wrap_critic(Dw, info)
    amp = autocast_context(device, tc["amp"] if cuda else "none")

    fixed_z = LatentStream(cfg["latent"]["dim"], 1, cfg["latent"].get("distribution", "normal"),
                           _stream_seed(seed, 0, 5), device)(2000 if not images else tc["n_samples"])
    real_show = dataset.tensor[:2000] if (not images and isinstance(getattr(dataset, "tensor", None),
                                                                    torch.Tensor)) else None

    def where_last_good() -> str:
        return (f"last good checkpoint kept at {last_good[1]} (step {last_good[0]})" if last_good is not None
                else "no checkpoint had been written yet")

    def save(step_now: int, sums_now: Mapping[str, torch.Tensor], n_now: int) -> None:
        state_local = {"real": real_stream.state_dict(), "z": z_stream.state_dict(), "loss": loss_gen.get_state()}
        rng_local = rng_state()
        if info.enabled:
            samplers, rngs = [None] * info.world_size, [None] * info.world_size
            torch.distributed.all_gather_object(samplers, state_local)
            torch.distributed.all_gather_object(rngs, rng_local)
        else:
            samplers, rngs = [state_local], [rng_local]
        if info.enabled:
            _check_ranks_in_sync(G, D)
        if not info.is_main:
            return
        state_now = {"generator": G.state_dict(), "discriminator": D.state_dict(),
                     "ema": ema.model.state_dict() if ema is not None else None,
                     "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(), "scaler": None,
                     "step": step_now, "images_seen": step_now * per_step, "rng": rngs, "sampler": samplers,
                     "config": cfg, "config_hash": h, "metrics_rows": rows,
                     "accumulators": {"sums": {k: v.detach().cpu() for k, v in sums_now.items()}, "n": n_now}}
        bad = nonfinite_weights(state_now)
        if bad:
            raise TrainingDiverged(f"tensors {bad[:3]} are not finite at step {step_now}; checkpoint not written, "
                                   f"{where_last_good()}")
        save_checkpoint(state_now, out)

    def log_samples(step_now: int) -> None:
        if info.is_main:
            _save_samples(ema.model if ema is not None else G, fixed_z, real_show,
                          out / "samples" / f"step_{step_now:07d}.png")

    def run_eval(step_now: int) -> dict[str, Any]:
        if not info.is_main:
            return {}
        eval_cfg = {"latent": cfg["latent"], **cfg["eval"]}  # eval.latent, if given, wins
        eval_cfg.pop("data", None)
        return _evaluate(cfg["eval"]["function"], ema.model if ema is not None else G, eval_dataset, eval_cfg,
                         device, seed)

    total = tc["iterations"]
    bar = None
    if tc["progress"] and info.is_main:
        from tqdm import tqdm
        bar = tqdm(total=total, initial=step, desc=out.name, dynamic_ncols=True, file=sys.stderr)
    t0, steps_t0 = time.perf_counter(), step
    if not resume and info.is_main:
        log_samples(0)
        if cfg["eval"].get("every", 0) > 0:  # the scores of the untrained generator: every curve's start
            rows.append({"step": 0, "images_seen": 0, **run_eval(0)})
            _write_metrics(rows, out / "metrics.csv")
    # NaN guard state, on the device: the first step since the last check at which a logged loss
    # was non-finite (-1: none) and which log keys were non-finite at that step; read back (one
    # synchronisation) only when a check is due
    guard_keys: tuple[str, ...] = ()
    guard_bad = guard_first = None

    def check_finite_losses() -> None:
        nonlocal guard_bad, guard_first
        if guard_bad is None:
            return
        first, *flags = torch.cat([guard_first.reshape(1), guard_bad.long()]).tolist()  # the one sync
        if first >= 0:
            bad = sorted(k for k, f in zip(guard_keys, flags) if f)
            if bar is not None:
                bar.close()
            if info.is_main and rows:
                _write_metrics(rows, out / "metrics.csv")
            raise TrainingDiverged(f"non-finite loss value(s) {bad} at step {first}: training stopped; "
                                   f"{where_last_good()}. "
                                   "Lower the learning rate or add a penalty, then --resume or restart.")
        guard_bad = guard_first = None

    while step < total:
        with amp:
            logs = alternating_step(Gw, Dw, loss, opt_g, opt_d, real_stream, z_stream, n_critic=tc["n_critic"],
                                    g_first=tc["g_first"])
        step += 1
        if ema is not None:
            ema.update(G, per_step)
        for k, v in logs.items():
            v = v.detach().float()
            sums[k] = sums[k] + v if k in sums else v
        n_acc += 1
        if logs:
            if tuple(logs) != guard_keys:  # first step, or a loss whose log keys changed
                check_finite_losses()
                guard_keys = tuple(logs)
            nonfinite = ~torch.isfinite(torch.stack([logs[k].detach().float().reshape(()) for k in guard_keys]))
            if guard_bad is None:
                guard_bad = nonfinite
                guard_first = torch.where(nonfinite.any(), step, -1)
            else:
                new = (guard_first < 0) & nonfinite.any()
                guard_first = torch.where(new, step, guard_first)
                guard_bad = torch.where(new, nonfinite, guard_bad)
        evaluated = cfg["eval"].get("every", 0) > 0 and (step % cfg["eval"]["every"] == 0 or step == total)
        logged = step % tc["log_every"] == 0 or step == total or evaluated
        saving = (tc["checkpoint_every"] > 0 and step % tc["checkpoint_every"] == 0) or step == total
        if step % tc["nan_check_every"] == 0 or logged or saving:
            check_finite_losses()
        if logged:
            elapsed = time.perf_counter() - t0
            row: dict[str, Any] = {"step": step, "images_seen": step * per_step}
            means = torch.stack([v.reshape(()) for v in sums.values()]).div(n_acc).tolist() if sums else []
            row.update(dict(zip(sums, means)))  # one read-back for the whole row
            row["images_per_s"] = (step - steps_t0) * per_step / max(elapsed, 1e-9)
            if evaluated:
                row.update(run_eval(step))
            rows.append(row)
            sums, n_acc, t0, steps_t0 = {}, 0, time.perf_counter(), step
            if info.is_main:
                _write_metrics(rows, out / "metrics.csv")
            if bar is not None:
                bar.set_postfix({k: f"{v:.3g}" for k, v in row.items() if k not in ("step", "images_seen")
                                 and isinstance(v, float)}, refresh=False)
        if (tc["sample_every"] > 0 and step % tc["sample_every"] == 0) or step == total:
            log_samples(step)
        if saving:
            save(step, sums, n_acc)
            last_good = (step, ckpt_path)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return out


def load_run_config(run_dir: str | Path) -> dict[str, Any]:
    """The resolved config stored in a run's checkpoint."""
    return load_checkpoint(run_dir, required=("config",))["config"]


def load_generator(run_dir: str | Path, ema: bool = True, device: str | torch.device = "cpu") -> nn.Module:
    """The generator of a run (EMA weights when ``ema`` and present), in eval mode on ``device``.

    Its ``latent_dim`` attribute gives the input size; the latent distribution is
    ``load_run_config(run_dir)["latent"]["distribution"]``.
    """
    state = load_checkpoint(run_dir, map_location="cpu", required=("config", "generator", "ema"))
    G = build_generator(state["config"]["generator"], seed=0)
    weights = state["ema"] if ema and state.get("ema") is not None else state["generator"]
    G.load_state_dict(weights)
    return G.to(device).eval().requires_grad_(False)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point (see the module docstring)."""
    ap = argparse.ArgumentParser(prog="python -m gans.train", description="Train a GAN from a YAML config.")
    ap.add_argument("config", help="YAML config (inherits gans/configs/defaults.yaml)")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="override a config key (dotted, value parsed as YAML); repeatable")
    ap.add_argument("--out", default=None, help="run folder (default runs/<config stem>)")
    ap.add_argument("--resume", action="store_true", help="continue exactly from OUT/checkpoint.pt")
    ap.add_argument("--overwrite", action="store_true", help="start fresh even if OUT has a checkpoint")
    ap.add_argument("--dry-run", action="store_true", help="print the resolved config and its hash, then exit")
    args = ap.parse_args(argv)
    try:
        cfg = resolve(args.config, args.overrides)
    except ValueError as err:
        ap.error(str(err))
    if args.dry_run:
        print(yaml.safe_dump(cfg, sort_keys=False), end="")
        print(f"# config_hash: {config_hash(cfg)}")
        return 0
    out = Path(args.out) if args.out else Path("runs") / Path(args.config).stem
    try:
        train(cfg, out, resume=args.resume, overwrite=args.overwrite)
    except (TrainingDiverged, ValueError, OSError) as err:  # bad names/values, checkpoints, --out: no traceback
        msg = str(err) if not isinstance(err, OSError) else f"--out {out}: {err}"
        print(f"{ap.prog}: error: {' '.join(msg.split())}", file=sys.stderr)
        return 2
    finally:
        gdist.cleanup()
    print(f"run written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
