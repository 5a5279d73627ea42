"""The training checkpoint ``OUT/checkpoint.pt`` (and the one before it), checksummed and written atomically.

Contents of a training checkpoint (a dict): ``generator``, ``discriminator`` and ``ema`` state
dicts (``ema`` is None without EMA), ``opt_g``, ``opt_d`` optimiser states, ``scaler`` (None:
bf16 needs no loss scaling), ``step`` (generator steps done), ``images_seen``, ``rng`` (torch
CPU, CUDA, numpy, python states), ``sampler`` (the data/latent samplers' generator states),
``config`` (the resolved config), ``config_hash``, ``metrics_rows`` (rows of metrics.csv written
so far), ``accumulators`` (the running loss sums of the logging interval in progress) and
``elapsed_s`` (wall seconds of training so far; absent from checkpoints written before it was
added, which load with 0).  The trainer writes and reads this layout in one place,
:class:`gans.run_state.RunState`; this module only stores dicts.

File format: a torch file holding ``{"format": FORMAT, "sha256": hex digest, "payload": uint8
tensor}`` where ``payload`` holds the bytes of the ``torch.save`` serialisation of the state
(a tensor, so that the bytes are stored verbatim and ``torch.load(..., weights_only=True)`` reads
the wrapper safely).  :func:`load_checkpoint`
recomputes the SHA-256 digest of the payload before unpickling it, so a changed byte anywhere
(torch itself does not check the zip CRCs) is detected instead of loading wrong weights.

Writing (:func:`save_checkpoint`): the new file goes to ``checkpoint.pt.tmp`` in the same
folder, flushed and fsynced; the current ``checkpoint.pt``, if it verifies, is renamed to
``checkpoint.prev.pt`` and the new file is renamed to ``checkpoint.pt`` (``os.replace``, atomic
on POSIX).  A crash at any point leaves at least one verified checkpoint.  Loading
(:func:`load_checkpoint`) falls back to ``checkpoint.prev.pt``, with a
:class:`CheckpointFallbackWarning`, when ``checkpoint.pt`` is missing or fails verification.
Model weights (``generator``, ``discriminator``, ``ema``) must be finite: a non-finite one is
never written and never loaded, so a checkpoint on disk is always a "last good" one.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["CHECKPOINT_NAME", "PREVIOUS_NAME", "FORMAT", "CheckpointFallbackWarning", "save_checkpoint",
           "load_checkpoint", "load_checkpoint_with_source", "verify_checkpoint", "nonfinite_weights",
           "remove_checkpoints", "rng_state", "set_rng_state"]

CHECKPOINT_NAME = "checkpoint.pt"
PREVIOUS_NAME = "checkpoint.prev.pt"
FORMAT = "gandiv-checkpoint-1"
WEIGHT_KEYS = ("generator", "discriminator", "ema")  # state dicts whose tensors must be finite


class CheckpointFallbackWarning(UserWarning):
    """``checkpoint.pt`` failed verification and ``checkpoint.prev.pt`` was loaded instead."""


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


def nonfinite_weights(state: Mapping[str, Any]) -> list[str]:
    """Names ``"section.tensor"`` of the floating-point tensors of ``state["generator"]``,
    ``state["discriminator"]`` and ``state["ema"]`` that hold a NaN or an Inf (sections that
    are absent or None are skipped)."""
    bad = []
    for section in WEIGHT_KEYS:
        sd = state.get(section)
        if not isinstance(sd, Mapping):
            continue
        for name, t in sd.items():
            if isinstance(t, torch.Tensor) and t.is_floating_point() and not bool(torch.isfinite(t).all()):
                bad.append(f"{section}.{name}")
    return bad


def _fsync_dir(folder: Path) -> None:
    """Make the renames in ``folder`` durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _read_payload(path: Path) -> bytes:
    """The verified payload bytes of the checkpoint file ``path``; ``ValueError`` naming the
    file and the problem when it is missing, not a checkpoint of this format, or corrupted."""
    if path.is_dir():
        raise ValueError(f"checkpoint {path} is a directory, not a checkpoint file")
    if not path.is_file():
        raise ValueError(f"no checkpoint at {path}")
    if path.stat().st_size == 0:
        raise ValueError(f"checkpoint {path} is empty (0 bytes)")
    try:
        outer = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises RuntimeError, EOFError, UnpicklingError, ... on broken files
        raise ValueError(f"checkpoint {path} is not a readable torch file (truncated or corrupted?): "
                         f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}") from err
    payload = outer.get("payload") if isinstance(outer, dict) else None
    if not isinstance(outer, dict) or outer.get("format") != FORMAT or not isinstance(outer.get("sha256"), str) \
            or not (isinstance(payload, torch.Tensor) and payload.dtype == torch.uint8 and payload.ndim == 1):
        keys = sorted(map(str, outer)) if isinstance(outer, dict) else type(outer).__name__
        raise ValueError(f"checkpoint {path} lacks the keys 'format' = {FORMAT!r}, 'sha256' and 'payload' "
                         f"(found {keys}): not written by gans.checkpoint.save_checkpoint")
    data = payload.numpy().tobytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != outer["sha256"]:
        raise ValueError(f"checkpoint {path} is corrupted: SHA-256 of its payload is {digest[:16]}..., "
                         f"the stored checksum is {outer['sha256'][:16]}...")
    return data


def verify_checkpoint(path: str | Path) -> None:
    """Raise ``ValueError`` (naming the file) unless ``path`` is a readable checkpoint whose payload
    matches its stored SHA-256 checksum.  Does not unpickle the payload."""
    _read_payload(Path(path))


def _decode(path: Path, map_location: str | torch.device, required: Iterable[str]) -> dict[str, Any]:
    payload = _read_payload(path)
    try:
        state = torch.load(io.BytesIO(payload), map_location=map_location, weights_only=False)
    except Exception as err:  # checksum matched: the payload was written broken (cannot happen by a bit flip)
        raise ValueError(f"checkpoint {path}: payload cannot be unpickled: {type(err).__name__}: {err}") from err
    if not isinstance(state, dict):
        raise ValueError(f"checkpoint {path}: payload is a {type(state).__name__}, expected a dict")
    missing = [k for k in required if k not in state]
    if missing:
        raise ValueError(f"checkpoint {path} lacks the keys {missing}")
    bad = nonfinite_weights(state)
    if bad:
        raise ValueError(f"checkpoint {path} holds non-finite weights {bad[:3]}")
    return state


def save_checkpoint(state: Mapping[str, Any], out_dir: str | Path) -> Path:
    """Write ``state`` to ``out_dir/checkpoint.pt`` with a SHA-256 checksum, keeping the previous
    checkpoint as ``checkpoint.prev.pt`` (see the module docstring); returns the path written.

    Raises ``ValueError`` (and writes nothing) when the model weights of ``state`` are not finite.
    A ``checkpoint.pt`` that fails verification is not rotated into ``checkpoint.prev.pt`` (the
    verified previous one is kept); it is replaced by the new file.
    """
    out_dir = Path(out_dir)
    bad = nonfinite_weights(state)
    if bad:
        raise ValueError(f"state: non-finite weights {bad[:3]}; checkpoint not written in {out_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    final, prev = out_dir / CHECKPOINT_NAME, out_dir / PREVIOUS_NAME
    tmp = out_dir / (CHECKPOINT_NAME + ".tmp")
    buf = io.BytesIO()
    torch.save(dict(state), buf)
    payload = buf.getvalue()
    with open(tmp, "wb") as fh:
        torch.save({"format": FORMAT, "sha256": hashlib.sha256(payload).hexdigest(),
                    "payload": torch.frombuffer(bytearray(payload), dtype=torch.uint8)}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    if final.is_file():
        try:
            verify_checkpoint(final)
        except ValueError:
            pass  # keep the verified previous checkpoint; the broken current one is replaced below
        else:
            os.replace(final, prev)
    os.replace(tmp, final)
    _fsync_dir(out_dir)
    return final


def _candidates(p: Path) -> list[Path]:
    """The files to try for ``p``: a run folder or its ``checkpoint.pt`` gives current then previous."""
    if p.name == CHECKPOINT_NAME:
        return [p, p.parent / PREVIOUS_NAME]
    if p.is_dir():
        return [p / CHECKPOINT_NAME, p / PREVIOUS_NAME]
    return [p]


def load_checkpoint_with_source(out_dir_or_file: str | Path, map_location: str | torch.device = "cpu",
                                required: Iterable[str] = ()) -> tuple[dict[str, Any], Path]:
    """Load and verify a checkpoint; returns ``(state, file loaded)``.

    ``out_dir_or_file`` is a run folder or a checkpoint file.  For a run folder (or its
    ``checkpoint.pt``) the current checkpoint is tried first and ``checkpoint.prev.pt`` second;
    a fallback emits a :class:`CheckpointFallbackWarning` naming both files and the reason.
    ``required``: keys the state must have.  Raises ``ValueError`` naming every file tried and
    why it failed (missing, a directory, empty, truncated, random bytes, no checksum, checksum
    mismatch, missing keys, non-finite weights).
    """
    tried = _candidates(Path(out_dir_or_file))
    required = tuple(required)
    errors = []
    for i, path in enumerate(tried):
        if i > 0 and not path.exists():
            continue
        try:
            state = _decode(path, map_location, required)
        except ValueError as err:
            errors.append(str(err))
            continue
        if errors:
            warnings.warn(f"{errors[0]}; loaded the previous checkpoint {path} (step {state.get('step', '?')}) "
                          "instead", CheckpointFallbackWarning, stacklevel=2)
        return state, path
    raise ValueError("; ".join(errors))


def load_checkpoint(out_dir_or_file: str | Path, map_location: str | torch.device = "cpu",
                    required: Iterable[str] = ()) -> dict[str, Any]:
    """Load and verify a checkpoint from a run folder or a file path (falls back to
    ``checkpoint.prev.pt``; see :func:`load_checkpoint_with_source`)."""
    return load_checkpoint_with_source(out_dir_or_file, map_location, required)[0]


def remove_checkpoints(out_dir: str | Path) -> None:
    """Delete ``checkpoint.pt``, ``checkpoint.prev.pt`` and a stale ``checkpoint.pt.tmp`` of a run
    folder (a fresh run that overwrites an old one must not fall back to the old run's files)."""
    out_dir = Path(out_dir)
    for name in (CHECKPOINT_NAME, PREVIOUS_NAME, CHECKPOINT_NAME + ".tmp"):
        p = out_dir / name
        if p.is_file() or p.is_symlink():
            p.unlink()
