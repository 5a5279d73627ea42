"""The training loop of the project (the only one): ``python -m gans.train CONFIG.yaml``.

Usage::

    python -m gans.train experiments/train_configs/toy/nsgan.yaml --set train.iterations=500 --out runs/ns
    python -m gans.train CONFIG.yaml --out runs/ns --resume      # continue exactly
    python -m gans.train CONFIG.yaml --dry-run                     # validate and print the resolved config
    python -m gans.train --list                                    # losses, networks, datasets, configs
    python -m gans.train CONFIG.yaml --pipeline                    # the config's own logging settings
    torchrun --nproc_per_node 2 -m gans.train CONFIG.yaml --out runs/ddp   # DDP

From Python: ``run_dir = gans.train.train(cfg, out)`` (``cfg`` a resolved config from
:func:`gans.config.resolve` or any partial mapping), ``G = gans.train.load_generator(run_dir)``.

The loop (:func:`_train`), in the order of one iteration: **critic + generator step**
(:func:`gans.step.alternating_step`: ``n_critic`` critic updates then one generator update,
``g_first`` reverses the order, each on a fresh real batch and a fresh latent batch), **EMA**
of the generator weights, **NaN guard** on the losses, **log** a metrics row (losses averaged
over the interval), **evaluate** (``eval.every``), **samples** (``train.sample_every``),
**checkpoint** (``train.checkpoint_every`` and at the end).  What the loop works on lives
elsewhere: the run state and its checkpoint in :mod:`gans.run_state`, the random streams in
:mod:`gans.data.streams`, metrics.csv and TensorBoard in :mod:`gans.run_log`, the sample
pictures in :mod:`gans.viz`, DDP in :mod:`gans.distributed`.  "Images seen" counts
generator-update batches, ``step * batch_size * world_size``; the EMA half-life and images/s use
the same count.

Optimisers (``optim``): Adam (``betas`` default (0.5, 0.999), lr 1e-4; DCGAN (Radford et al.
2016) used lr 2e-4, beta1 0.5; WGAN-GP (Gulrajani et al. 2017) lr 1e-4, betas (0, 0.9);
SMMD (Arbel et al. 2018) lr 1e-4, betas (0.5, 0.9)) and RMSProp (WGAN with clipping,
Arjovsky et al. 2017: lr 5e-5, ``alpha`` 0.99 = PyTorch's default smoothing).

Determinism: network init, the dataset, the real-batch order and the latents come from
generators seeded by ``seed`` (and the DDP rank; :data:`gans.data.streams.STREAMS`); losses
that draw random numbers (gradient penalty interpolation, instance noise) use the global torch
RNG, which is seeded from ``seed`` and saved in the checkpoint.  On CPU, ``--resume``
reproduces an uninterrupted run bit for bit.  On CUDA it does not, and no run is
bit-reproducible there: every random number still comes from the checkpointed CPU generators
(latents, data order, penalty weights) and the CUDA RNG states are saved too, so a resumed run
starts from the same weights, optimiser moments, batches and latents; but cuDNN's autotuned
(``cudnn.benchmark``) and atomic-add kernels (convolution backward, ``index_add``, scatter) and
bf16 reductions sum in an order that varies between runs, so trajectories drift apart at
rounding level from the first step and the drift grows with training.  Expect statistically
equivalent runs, not equal ones.

Real data (:class:`gans.data.streams.BatchStream`): datasets without an in-memory ``tensor``
(CelebA JPEGs, image folders, memory-mapped ImageNet) are read by ``data.workers`` worker
processes (default ``auto``: 0 on CPU, up to 8 per process on CUDA; pinned memory on CUDA,
``uint8`` until the device).  The batches, and so the trained weights, do not depend on the
number of workers, which is left out of the config hash; each item is loaded as a function of
(index, epoch), so CelebA's random crop + flip (``data.augment``) differs between epochs and is
reproducible.

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

Logging: ``out/metrics.csv`` (with ``elapsed_s``, the wall time since the run started, summed
over resumed legs) and, with ``train.tensorboard: true`` (default false, so pipeline runs write
nothing extra), TensorBoard events in ``out/tensorboard/`` (:mod:`gans.run_log`); curves of one
or several runs: ``python -m gans.plot RUN [RUN ...]``.

Command line: by default a hand-run shows a progress bar, writes sample pictures every tenth of
the run and checkpoints at least every tenth, whatever the config says (pipeline configs switch
these off); ``--pipeline`` keeps the config's ``train.progress``, ``sample_every`` and
``checkpoint_every``, and an explicit ``--set`` of one of them always wins.  None of the three
is part of the config hash, so a hand-run can resume a pipeline run and the other way round.

DDP: ``train.batch_size`` is per process; the global batch is ``batch_size * world_size``
(logged at start), so the paper's batch 64 on N GPUs needs ``batch_size: 64 / N``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
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
                         remove_checkpoints)
from .config import config_hash, resolve, resolve_callable
from .data import build_dataset
from .data.streams import STREAMS, BatchStream, LatentStream, stream_seed
from .nets import build_discriminator, build_generator
from .run_log import RunLog, require_tensorboard
from .run_state import TRAINING_KEYS, RunState, TrainingDiverged, build_loss, build_optimizer, run_identity
from .step import alternating_step
from .viz import render_samples, write_png

__all__ = ["train", "resume_plan", "load_generator", "load_run_config", "build_loss", "build_optimizer",
           "TrainingDiverged", "BatchStream", "LatentStream", "TRAINING_KEYS", "main", "compile_networks",
           "needs_double_backward", "autocast_context", "check_train_options", "hand_run_overrides", "RunState"]

_stream_seed = stream_seed  # the old private name (tests replay the trainer's streams with it)


# --------------------------------------------------------------------------------------------
# how the networks run on the device
# --------------------------------------------------------------------------------------------
def needs_double_backward(loss: Any) -> bool:
    """Whether the critic loss differentiates through input gradients (second-order autograd).

    True for every loss with a penalty (WGAN-GP, R1/R2, DRAGAN, MMD-GAN's witness GP) and for
    the Scaled MMD (its scale holds ``E ||grad_x phi||^2``, Arbel et al. 2018, Prop. 4); also for
    objects that are not :class:`gans.losses.PenalisedLoss` (a ``package.module:Name`` loss), unless
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


# --------------------------------------------------------------------------------------------
# pieces of the loop
# --------------------------------------------------------------------------------------------
def _score(value: Any) -> Any:
    """An evaluation result as a metrics cell: strings as they are, integer counts as ``int``
    (``n_real``, ``kid_subsets``, ...), everything else as ``float``."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    return float(value)


def _evaluate(fn_path: str, G: nn.Module, dataset: Any, eval_cfg: Mapping[str, Any], device: torch.device,
              seed: int) -> dict[str, Any]:
    """``eval.function(G, dataset, eval_cfg, device, seed)`` under a forked RNG (evaluation never
    changes the training trajectory), its results prefixed ``eval_``."""
    fn = resolve_callable(fn_path, "eval.function")
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        out = fn(G, dataset, dict(eval_cfg), device, seed)
    return {f"eval_{k}": _score(v) for k, v in out.items()}


class _NaNGuard:
    """Device-side record of non-finite losses since the last :meth:`read`: the first step at
    which a logged loss was non-finite (``-1``: none) and which log keys were non-finite then.
    :meth:`observe` costs no synchronisation; :meth:`read` one (a single ``tolist``)."""

    def __init__(self) -> None:
        self.keys: tuple[str, ...] = ()
        self.bad: torch.Tensor | None = None
        self.first: torch.Tensor | None = None

    def keys_change(self, logs: Mapping[str, torch.Tensor]) -> bool:
        """True on the first step and when the loss logs other keys: read the flags first."""
        return tuple(logs) != self.keys

    def observe(self, logs: Mapping[str, torch.Tensor], step: int) -> None:
        self.keys = tuple(logs)
        nonfinite = ~torch.isfinite(torch.stack([logs[k].detach().float().reshape(()) for k in self.keys]))
        if self.bad is None:
            self.bad = nonfinite
            self.first = torch.where(nonfinite.any(), step, -1)
        else:
            new = (self.first < 0) & nonfinite.any()
            self.first = torch.where(new, step, self.first)
            self.bad = torch.where(new, nonfinite, self.bad)

    def read(self) -> tuple[int, list[str]] | None:
        """``(first bad step, bad keys)`` or None, and a fresh record."""
        if self.bad is None:
            return None
        first, *flags = torch.cat([self.first.reshape(1), self.bad.long()]).tolist()  # the one sync
        keys = self.keys
        self.bad = self.first = None
        return (first, sorted(k for k, f in zip(keys, flags) if f)) if first >= 0 else None


def check_train_options(cfg: Mapping[str, Any]) -> None:
    """The trainer's own checks of a resolved config (beyond :func:`gans.config.validate`):
    ``train.tensorboard`` is true or false, and when true the tensorboard package is installed
    (``ValueError`` naming the key and the pip command otherwise)."""
    tb = cfg["train"].get("tensorboard", False)
    if not isinstance(tb, bool):
        raise ValueError(f"train.tensorboard must be true or false, got {tb!r}")
    if tb:
        require_tensorboard()


# --------------------------------------------------------------------------------------------
# train
# --------------------------------------------------------------------------------------------
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
    ``out/metrics.csv`` (step, images_seen, elapsed_s, losses averaged over the logging interval,
    images_per_s, ``eval_*`` scores), ``out/samples/step_XXXXXXX.png`` and, with
    ``train.tensorboard``, ``out/tensorboard/``.  The running loss sums of the logging interval
    in progress are checkpointed, so the rows of a resumed run equal the uninterrupted run's
    (``images_per_s`` and ``elapsed_s`` aside).  Raises :class:`TrainingDiverged` on NaN/Inf
    losses or weights, ``ValueError`` on a bad config or checkpoint.
    """
    cfg = resolve(cfg=cfg)
    check_train_options(cfg)
    out = Path(out)
    info = gdist.setup(cfg["device"])
    cuda = info.device.type == "cuda"
    with torch.random.fork_rng(devices=[info.device] if cuda else []), contextlib.ExitStack() as cleanup:
        if cuda:  # static shapes: let cuDNN autotune once; the process-wide flag is restored on exit
            cleanup.callback(setattr, torch.backends.cudnn, "benchmark", torch.backends.cudnn.benchmark)
            torch.backends.cudnn.benchmark = True
        return _train(cfg, out, resume, loss, overwrite, info, cleanup)


def resume_plan(cfg: Mapping[str, Any], out: str | Path) -> tuple[int | None, str]:
    """Whether ``train(cfg, out, resume=True)`` would continue ``out``'s checkpoint.

    Returns ``(step, message)``: ``step`` is the generator step of the (verified) checkpoint when
    it was written with the same run identity (config hash without iterations, logging
    intervals, ``eval``, ``data.workers`` and ``train.tensorboard``) and is not beyond
    ``train.iterations``; ``None`` when there is no checkpoint, the config changed, or the
    checkpoint is past the end.  The message says which, for logs.  Raises ``ValueError`` when a
    checkpoint exists but neither it nor ``checkpoint.prev.pt`` can be read (the files are left
    alone).
    """
    cfg, out = resolve(cfg=cfg), Path(out)
    if not any((out / n).exists() for n in (CHECKPOINT_NAME, PREVIOUS_NAME)):
        return None, f"no checkpoint in {out}: training from step 0"
    state, src = load_checkpoint_with_source(out, required=("config_hash", "step"))
    h, it, step = config_hash(run_identity(cfg)), cfg["train"]["iterations"], int(state["step"])
    if state["config_hash"] != h:
        return None, (f"config changed since {src} was written (config hash {state['config_hash']}, now {h}): "
                      "starting over from step 0")
    if step > it:
        return None, f"{src} is at step {step}, beyond train.iterations = {it}: starting over from step 0"
    return step, f"resuming {src} at step {step} of {it} (config hash {h} unchanged)"


def _check_out(out: Path, resume: bool, overwrite: bool) -> None:
    """Refuse a run folder that is a file, a --resume without checkpoint, a silent overwrite."""
    has_ckpt = any((out / n).exists() for n in (CHECKPOINT_NAME, PREVIOUS_NAME))
    if out.exists() and not out.is_dir():
        raise ValueError(f"out: {out} exists and is not a folder")
    if resume and not has_ckpt:
        raise ValueError(f"--resume given but {out} holds no {CHECKPOINT_NAME} (nor {PREVIOUS_NAME})")
    if not resume and has_ckpt and not overwrite:
        raise ValueError(f"{out / CHECKPOINT_NAME} exists: pass resume=True (--resume) or overwrite=True (--overwrite)")


def _train(cfg: dict[str, Any], out: Path, resume: bool, loss: Any, overwrite: bool,
           info: gdist.DistInfo, cleanup: contextlib.ExitStack) -> Path:
    clock_start = time.perf_counter()  # elapsed_s counts from here (plus earlier legs)
    tc, seed, device = cfg["train"], cfg["seed"], info.device
    cuda = device.type == "cuda"
    _check_out(out, resume, overwrite)
    torch.manual_seed(stream_seed(seed, info.rank, STREAMS["global"]))
    if cuda:
        torch.cuda.manual_seed(stream_seed(seed, info.rank, STREAMS["global"]))

    # ---- the run: data, networks, optimisers, EMA, streams; the loss; resume ------------------
    dataset = build_dataset(cfg["data"], seed)
    # evaluation reference: eval.data when set (e.g. the held-out split), else the training data
    eval_dataset = build_dataset(cfg["eval"]["data"], seed) if cfg["eval"].get("data") else dataset
    images = torch.as_tensor(dataset[0]).ndim == 3
    run = RunState.create(cfg, out, info, dataset, channels_last=cuda and tc["channels_last"] and images,
                          clock_start=clock_start)
    cleanup.callback(run.real.close)
    loss = loss if loss is not None else build_loss(cfg["loss"], run.loss_gen)
    evaluating = cfg["eval"].get("every", 0) > 0
    if evaluating:
        resolve_callable(cfg["eval"]["function"], "eval.function")  # fail now, not at the first evaluation
    if resume:
        run.resume()
    if info.is_main:  # only now that the config is accepted: a refused run leaves the folder as it was
        out.mkdir(parents=True, exist_ok=True)
        if not resume:
            remove_checkpoints(out)  # overwrite: the old run's checkpoints must not be fallen back on
        (out / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    log = RunLog(out, enabled=info.is_main, tensorboard=tc["tensorboard"], resume_step=run.step if resume else None)
    cleanup.callback(log.close)
    per_step = run.images_per_step
    if info.enabled:
        _note(f"DDP with {info.world_size} processes: train.batch_size {tc['batch_size']} per process, "
              f"global batch {per_step}", info)

    # ---- the networks as the device runs them ------------------------------------------------
    Gw, Dw, note = compile_networks(run.G, run.D, loss, cuda and tc["compile"])
    _note(note, info)
    Gw, Dw = gdist.wrap_generator(Gw, info), gdist.wrap_critic(Dw, info)
    amp = autocast_context(device, tc["amp"] if cuda else "none")

    # ---- what is drawn and scored: fixed latents, the data shown beside 2-D samples ------------
    fixed_z = LatentStream(cfg["latent"]["dim"], 1, cfg["latent"].get("distribution", "normal"),
                           stream_seed(seed, 0, STREAMS["sample_grid"]), device)(tc["n_samples"] if images else 2000)
    real_show = dataset.tensor[:2000] if (not images and isinstance(getattr(dataset, "tensor", None),
                                                                    torch.Tensor)) else None
    eval_cfg = {"latent": cfg["latent"], **cfg["eval"]}  # eval.latent, if given, wins
    eval_cfg.pop("data", None)

    def evaluate() -> dict[str, Any]:
        if not info.is_main:
            return {}
        return _evaluate(cfg["eval"]["function"], run.sample_generator, eval_dataset, eval_cfg, device, seed)

    def samples() -> None:
        if info.is_main:
            picture = render_samples(run.sample_generator, fixed_z, real_show)
            write_png(picture, out / "samples" / f"step_{run.step:07d}.png")
            log.add_picture(picture, run.step)

    guard = _NaNGuard()

    def check_losses() -> None:
        """Read the NaN guard (one synchronisation); stop on a non-finite loss."""
        found = guard.read()
        if found is not None:
            if run.rows:
                log.write(run.rows)  # rows restored from the checkpoint replace the interrupted leg's
            raise TrainingDiverged(f"non-finite loss value(s) {found[1]} at step {found[0]}: training stopped; "
                                   f"{run.where_last_good()}. "
                                   "Lower the learning rate or add a penalty, then --resume or restart.")

    total = tc["iterations"]
    bar = None
    if tc["progress"] and info.is_main:
        from tqdm import tqdm
        bar = tqdm(total=total, initial=run.step, desc=out.name, dynamic_ncols=True, file=sys.stderr)
        cleanup.callback(bar.close)
    t_rate, steps_rate = time.perf_counter(), run.step  # images/s of the interval

    # ---- step 0: the untrained generator, the start of every curve ------------------------------
    if not resume and info.is_main:
        samples()
        if evaluating:
            run.rows.append({"step": 0, "images_seen": 0, "elapsed_s": round(run.elapsed_s(), 3), **evaluate()})
            log.write(run.rows, new=run.rows[-1])

    while run.step < total:
        # ---- critic and generator updates ------------------------------------------------------
        with amp:
            logs = alternating_step(Gw, Dw, loss, run.opt_g, run.opt_d, run.real, run.latent,
                                    n_critic=tc["n_critic"], g_first=tc["g_first"])
        run.step += 1
        step = run.step

        # ---- EMA of the generator weights ----------------------------------------------------
        if run.ema is not None:
            run.ema.update(run.G, per_step)

        # ---- NaN guard: losses summed and checked on the device; read back only when due ------
        run.accumulate(logs)
        if logs:
            if guard.keys_change(logs):
                check_losses()
            guard.observe(logs, step)
        evaluated = evaluating and (step % cfg["eval"]["every"] == 0 or step == total)
        logged = step % tc["log_every"] == 0 or step == total or evaluated
        saving = (tc["checkpoint_every"] > 0 and step % tc["checkpoint_every"] == 0) or step == total
        if step % tc["nan_check_every"] == 0 or logged or saving:
            check_losses()

        # ---- log a metrics row (and evaluate) -------------------------------------------------
        if logged:
            now = time.perf_counter()
            row: dict[str, Any] = {"step": step, "images_seen": step * per_step,
                                   "elapsed_s": round(run.elapsed_s(), 3)}
            row.update(run.interval_means())  # one read-back for the whole row
            row["images_per_s"] = (step - steps_rate) * per_step / max(now - t_rate, 1e-9)
            if evaluated:
                row.update(evaluate())
            run.rows.append(row)
            t_rate, steps_rate = time.perf_counter(), step
            log.write(run.rows, new=row)
            if bar is not None:
                bar.set_postfix({k: f"{v:.3g}" for k, v in row.items()
                                 if k not in ("step", "images_seen", "elapsed_s") and isinstance(v, float)},
                                refresh=False)

        # ---- samples --------------------------------------------------------------------------
        if (tc["sample_every"] > 0 and step % tc["sample_every"] == 0) or step == total:
            samples()

        # ---- checkpoint -----------------------------------------------------------------------
        if saving:
            run.save()
        if bar is not None:
            bar.update(1)
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


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------
HAND_RUN_KEYS = ("train.progress", "train.sample_every", "train.checkpoint_every")


def hand_run_overrides(cfg: Mapping[str, Any], explicit: Sequence[str] = ()) -> list[str]:
    """``--set`` strings that make a run started by hand show its progress: ``train.progress=true``,
    and ``train.sample_every`` / ``train.checkpoint_every`` = ``ceil(iterations / 10)`` where the
    config has 0 (pictures only at the end, checkpoint only at the end); keys in ``explicit``
    (those the user set) are left alone.  None of them changes the trajectory or the config hash."""
    tc = cfg["train"]
    every = max(1, -(-int(tc["iterations"]) // 10))
    out = []
    if not tc["progress"] and "train.progress" not in explicit:
        out.append("train.progress=true")
    for key in ("sample_every", "checkpoint_every"):
        if tc[key] == 0 and f"train.{key}" not in explicit:
            out.append(f"train.{key}={every}")
    return out


def _config_dir() -> Path | None:
    """``experiments/train_configs`` of the working directory, else of the repository holding this package."""
    for root in (Path.cwd(), Path(__file__).resolve().parents[1]):
        if (root / "experiments" / "train_configs").is_dir():
            return root / "experiments" / "train_configs"
    return None


def _listing() -> str:
    """The names the config sections accept (from the registries) and the config files."""
    from . import losses
    from .data import DATASETS
    from .nets import DISCRIMINATORS, GENERATORS

    lines = [f"losses (loss.name): {', '.join(losses.names())} (or package.module:Name)",
             f"penalties (loss.penalties[].name): {', '.join(losses.penalty_names())}",
             f"generators (generator.name): {', '.join(sorted(GENERATORS))}",
             f"critics (discriminator.name): {', '.join(sorted(DISCRIMINATORS))}",
             f"datasets (data.name): {', '.join(sorted(DATASETS))}"]
    folder = _config_dir()
    if folder is None:
        lines.append("configs: no experiments/train_configs folder found")
    else:
        files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.yaml"))
        try:
            shown = folder.relative_to(Path.cwd())
        except ValueError:
            shown = folder
        lines.append(f"configs ({shown}/):")
        lines += [f"  {f}" for f in files]
    return "\n".join(lines)


def _dry_run_check(cfg: Mapping[str, Any]) -> None:
    """What ``--dry-run`` checks beyond :func:`gans.config.resolve`: the trainer's options and the
    network constructors' values (both networks are built on the CPU, then dropped)."""
    check_train_options(cfg)
    build_generator(cfg["generator"], seed=0)
    build_discriminator(cfg["discriminator"], seed=0)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point (see the module docstring); returns the exit code (2: bad input,
    with one ``error:`` line on stderr)."""
    ap = argparse.ArgumentParser(prog="python -m gans.train", description="Train a GAN from a YAML config.")
    ap.add_argument("config", nargs="*", help="YAML config(s) (inherit gans/configs/defaults.yaml); several are merged "
                    "in order, e.g. a profile base then a loss file")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="override a config key (dotted, value parsed as YAML); repeatable")
    ap.add_argument("--out", default=None, help="run folder (default runs/<config stem>)")
    ap.add_argument("--resume", action="store_true", help="continue exactly from OUT/checkpoint.pt")
    ap.add_argument("--overwrite", action="store_true", help="start fresh even if OUT has a checkpoint")
    ap.add_argument("--dry-run", action="store_true",
                    help="validate the config (names, keys, values), print it and its hash, then exit")
    ap.add_argument("--list", action="store_true",
                    help="print the losses, networks, datasets and config files, then exit")
    ap.add_argument("--pipeline", action="store_true",
                    help="keep the config's train.progress, sample_every and checkpoint_every (no hand-run settings)")
    args = ap.parse_args(argv)

    def fail(msg: str) -> int:
        print(f"{ap.prog}: error: {' '.join(str(msg).split())}", file=sys.stderr)
        return 2

    if args.list:
        print(_listing())
        return 0
    if not args.config:
        return fail("the config file is required (or --list)")
    try:
        cfg = resolve(args.config, args.overrides)
        if not args.pipeline:
            explicit = [o.split("=", 1)[0].strip() for o in args.overrides]
            extra = hand_run_overrides(cfg, explicit)
            if extra:
                cfg = resolve(args.config, [*args.overrides, *extra])
                if os.environ.get("RANK", "0") == "0":  # once under torchrun
                    print(f"gans.train: hand-run settings {' '.join(extra)} (--pipeline keeps the config's)",
                          file=sys.stderr, flush=True)
        if args.dry_run:
            _dry_run_check(cfg)
    except ValueError as err:
        return fail(str(err))
    if args.dry_run:
        print(yaml.safe_dump(cfg, sort_keys=False), end="")
        print(f"# config_hash: {config_hash(run_identity(cfg))}")
        return 0
    out = Path(args.out) if args.out else Path("runs") / "_".join(Path(c).stem for c in args.config)
    try:
        train(cfg, out, resume=args.resume, overwrite=args.overwrite)
    except (TrainingDiverged, ValueError, OSError) as err:  # bad names/values, checkpoints, --out: no traceback
        return fail(str(err) if not isinstance(err, OSError) else f"--out {out}: {err}")
    finally:
        gdist.cleanup()
    print(f"run written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
