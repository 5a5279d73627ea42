"""Checkpoint integrity: SHA-256 verification, the previous checkpoint as fallback, clear
``ValueError`` naming the file for every kind of damage, and no non-finite "last good" checkpoint."""

from __future__ import annotations

import hashlib
import io
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gans import checkpoint as ckpt
from gans.train import TrainingDiverged, resume_plan, train

TINY = {
    "seed": 3,
    "device": "cpu",
    "data": {"name": "ring", "n": 256},
    "latent": {"dim": 4},
    "generator": {"name": "mlp", "hidden": 16, "depth": 2, "data_dim": 2},
    "discriminator": {"name": "mlp", "hidden": 16, "depth": 2, "data_dim": 2},
    "loss": {"name": "wgan_gp", "gamma": 10.0},
    "train": {"iterations": 12, "batch_size": 16, "n_critic": 2, "ema_halflife_images": 100, "log_every": 4,
              "sample_every": 0, "checkpoint_every": 6, "progress": False},
}


def _with_iterations(n: int) -> dict:
    return {**TINY, "train": {**TINY["train"], "iterations": n}}


@pytest.fixture(scope="module")
def run12(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12-step run: checkpoint.pt at step 12, checkpoint.prev.pt at step 6."""
    return train(TINY, tmp_path_factory.mktemp("ckpt") / "run")


def _copy_run(run: Path, dst: Path) -> Path:
    dst.mkdir()
    for name in (ckpt.CHECKPOINT_NAME, ckpt.PREVIOUS_NAME):
        (dst / name).write_bytes((run / name).read_bytes())
    return dst


def _weight_offset(data: bytes, state: dict) -> int:
    """Byte offset of the first generator weight's raw float32 data inside the checkpoint file."""
    raw = state["generator"]["net.0.weight"].numpy().tobytes()
    pos = data.find(raw)
    assert pos >= 0 and data.find(raw, pos + 1) < 0, "the weight bytes must occur exactly once in the file"
    return pos


def _change_weight_bytes(p: Path) -> None:
    data = bytearray(p.read_bytes())
    pos = _weight_offset(bytes(data), _plain_state(p)) + 4  # the tensor's second float
    data[pos:pos + 4] = bytes(b ^ 0x5A for b in data[pos:pos + 4])
    p.write_bytes(bytes(data))


def _plain_state(p: Path) -> dict:
    """The state of an intact checkpoint file, decoded without the fallback."""
    return ckpt.load_checkpoint_with_source(p)[0]


def _zero_64(p: Path) -> None:
    data = bytearray(p.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 64] = bytes(64)
    p.write_bytes(bytes(data))


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _empty(p: Path) -> None:
    p.write_bytes(b"")


def _random(p: Path) -> None:
    p.write_bytes(np.random.default_rng(0).bytes(4096))


def _torch_without_keys(p: Path) -> None:
    torch.save({"step": 12, "generator": {"w": torch.zeros(2)}}, p)


def _directory(p: Path) -> None:
    p.unlink()
    p.mkdir()


CORRUPTIONS = {
    "4 bytes of a weight changed": (_change_weight_bytes, "corrupted: SHA-256"),
    "64 zero bytes in the middle": (_zero_64, "checkpoint"),
    "truncated to half": (_truncate, "not a readable torch file"),
    "empty": (_empty, "is empty"),
    "4 KiB random bytes": (_random, "not a readable torch file"),
    "valid torch file without the keys": (_torch_without_keys, "lacks the keys"),
    "a directory": (_directory, "is a directory"),
}


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_corrupted_checkpoint_is_detected_and_named(run12: Path, tmp_path: Path, kind: str) -> None:
    """Every kind of damage to checkpoint.pt: without a previous checkpoint a ValueError names the
    file; with one, loading falls back to checkpoint.prev.pt (step 6) with a warning."""
    corrupt, message = CORRUPTIONS[kind]
    run = _copy_run(run12, tmp_path / "run")
    corrupt(run / ckpt.CHECKPOINT_NAME)
    with pytest.warns(ckpt.CheckpointFallbackWarning, match=r"checkpoint\.prev\.pt \(step 6\)"):
        state, src = ckpt.load_checkpoint_with_source(run)
    assert src == run / ckpt.PREVIOUS_NAME and state["step"] == 6
    assert torch.equal(state["generator"]["net.0.weight"],
                       _plain_state(run12 / ckpt.PREVIOUS_NAME)["generator"]["net.0.weight"])
    (run / ckpt.PREVIOUS_NAME).unlink()
    with pytest.raises(ValueError, match=message) as err:
        ckpt.load_checkpoint(run)
    assert str(run / ckpt.CHECKPOINT_NAME) in str(err.value)


def test_changed_weight_bytes_would_otherwise_load(run12: Path, tmp_path: Path) -> None:
    """The 4-byte change hits the weight itself: the raw payload, unpickled without the checksum
    check, holds a different net.0.weight (so the detection above is the checksum's doing)."""
    run = _copy_run(run12, tmp_path / "run")
    p = run / ckpt.CHECKPOINT_NAME
    good = _plain_state(p)["generator"]["net.0.weight"]
    _change_weight_bytes(p)
    outer = torch.load(p, weights_only=True)
    bad = torch.load(io.BytesIO(outer["payload"].numpy().tobytes()), weights_only=False)["generator"]["net.0.weight"]
    assert not torch.equal(bad, good) and torch.equal(bad.flatten()[2:], good.flatten()[2:])


def test_resume_after_corruption_falls_back_and_matches_uninterrupted(run12: Path, tmp_path: Path) -> None:
    """A damaged checkpoint.pt (step 12) + --resume to 18: training continues from
    checkpoint.prev.pt (step 6) and ends bit-identical to an uninterrupted 18-step run."""
    full = train(_with_iterations(18), tmp_path / "full")
    run = _copy_run(run12, tmp_path / "run")
    _change_weight_bytes(run / ckpt.CHECKPOINT_NAME)
    with pytest.warns(ckpt.CheckpointFallbackWarning):
        train(_with_iterations(18), run, resume=True)
    a, b = ckpt.load_checkpoint(full), ckpt.load_checkpoint(run)
    assert a["step"] == b["step"] == 18
    for key in ("generator", "discriminator", "ema"):
        for name in a[key]:
            assert torch.equal(a[key][name], b[key][name]), (key, name)
    # the damaged file was not rotated into checkpoint.prev.pt: both files on disk now verify
    for name in (ckpt.CHECKPOINT_NAME, ckpt.PREVIOUS_NAME):
        ckpt.verify_checkpoint(run / name)


def test_save_keeps_previous_checkpoint(tmp_path: Path) -> None:
    for step in (1, 2, 3):
        ckpt.save_checkpoint({"step": step, "w": torch.full((3,), float(step))}, tmp_path)
    assert ckpt.load_checkpoint(tmp_path / ckpt.CHECKPOINT_NAME)["step"] == 3
    assert ckpt.load_checkpoint(tmp_path / ckpt.PREVIOUS_NAME)["step"] == 2
    assert not (tmp_path / (ckpt.CHECKPOINT_NAME + ".tmp")).exists()


def _forge(state: dict, path: Path) -> None:
    """Write ``state`` in the checkpoint format with a *valid* checksum, bypassing the finiteness check."""
    buf = io.BytesIO()
    torch.save(state, buf)
    payload = buf.getvalue()
    torch.save({"format": ckpt.FORMAT, "sha256": hashlib.sha256(payload).hexdigest(),
                "payload": torch.frombuffer(bytearray(payload), dtype=torch.uint8)}, path)


def test_nonfinite_weights_are_never_written_nor_loaded(tmp_path: Path) -> None:
    good = {"step": 1, "generator": {"w": torch.ones(2)}, "ema": None}
    ckpt.save_checkpoint(good, tmp_path)
    bad = {"step": 2, "generator": {"w": torch.tensor([1.0, float("nan")])}, "ema": None}
    with pytest.raises(ValueError, match=r"non-finite weights \['generator.w'\]"):
        ckpt.save_checkpoint(bad, tmp_path)
    assert ckpt.load_checkpoint(tmp_path)["step"] == 1  # unchanged
    _forge(bad, tmp_path / ckpt.CHECKPOINT_NAME)  # a NaN checkpoint with a correct checksum
    with pytest.raises(ValueError, match="non-finite weights"):
        ckpt.load_checkpoint(tmp_path)


class NaNLoss:
    """Non-saturating GAN whose critic loss is NaN from the first call on."""

    def d_loss(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor):
        loss = (F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()) * float("nan")
        return loss, {"d_loss": loss.detach()}

    def g_loss(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor):
        loss = F.softplus(-D(fake)).mean()
        return loss, {"g_loss": loss.detach()}

    def after_d_step(self, D: nn.Module) -> None:
        pass


def test_nan_checkpoint_is_never_called_last_good(run12: Path, tmp_path: Path) -> None:
    """NaN written into the generator of checkpoint.pt (checksum recomputed): --resume falls back
    to checkpoint.prev.pt, and a divergence right after names that file and its step 6 as the last
    good checkpoint, never the NaN one."""
    run = _copy_run(run12, tmp_path / "run")
    state = _plain_state(run / ckpt.CHECKPOINT_NAME)
    state["generator"]["net.0.weight"][0, 0] = float("nan")
    _forge(state, run / ckpt.CHECKPOINT_NAME)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(TrainingDiverged, match=r"last good checkpoint kept at .*checkpoint\.prev\.pt \(step 6\)"):
            train(_with_iterations(18), run, resume=True, loss=NaNLoss())
    assert any("non-finite weights" in str(w.message) for w in caught)


# A checkpoint written by the trainer of commit 4ab601d (before RunState and elapsed_s): the
# checkpoint.prev.pt of OLD_CFG trained for 7 steps with checkpoint_every 6, i.e. step 6 with the
# loss sums of steps 5-6 pending and one metrics row (step 4).
OLD_CHECKPOINT = Path(__file__).resolve().parent / "fixtures" / "checkpoint_format1_step6.pt"
OLD_CFG = {**TINY, "data": {"name": "ring", "n": 256},
           "generator": {"name": "mlp", "hidden": 8, "depth": 1, "data_dim": 2},
           "discriminator": {"name": "mlp", "hidden": 8, "depth": 1, "data_dim": 2},
           "train": {**TINY["train"], "iterations": 7}}


def test_checkpoint_of_the_earlier_trainer_loads_and_resumes(tmp_path: Path) -> None:
    """The fixture (no elapsed_s, config without train.tensorboard) has the run identity of
    OLD_CFG today (same config hash), restores exactly into a RunState (weights, optimiser
    moments, stream positions, pending loss sums; elapsed_s 0), and resumes to the end."""
    from gans import distributed as gdist
    from gans.config import resolve
    from gans.data import build_dataset
    from gans.run_state import RunState

    run = tmp_path / "old"
    run.mkdir()
    shutil.copy(OLD_CHECKPOINT, run / ckpt.CHECKPOINT_NAME)
    old = ckpt.load_checkpoint(run)
    assert "elapsed_s" not in old and "tensorboard" not in old["config"]["train"] and old["step"] == 6
    assert resume_plan(OLD_CFG, run)[0] == 6
    cfg = resolve(cfg=OLD_CFG)
    state = RunState.create(cfg, run, gdist.setup("cpu"), build_dataset(cfg["data"], cfg["seed"]))
    assert state.config_hash == old["config_hash"]
    state.restore(old)
    for key, module in (("generator", state.G), ("discriminator", state.D), ("ema", state.ema.model)):
        got = module.state_dict()
        assert got.keys() == old[key].keys() and all(torch.equal(got[k], old[key][k]) for k in got), key
    for opt, key in ((state.opt_g, "opt_g"), (state.opt_d, "opt_d")):
        for a, b in zip(opt.state_dict()["state"].values(), old[key]["state"].values()):
            assert all(torch.equal(a[k], b[k]) for k in b), key
    real = state.real.state_dict()
    old_real = old["sampler"][0]["real"]
    assert torch.equal(real["perm"], old_real["perm"])
    assert (real["pos"], real["epoch"]) == (old_real["pos"], old_real["epoch"])
    assert torch.equal(state.latent.gen.get_state(), old["sampler"][0]["z"]["gen"])
    assert torch.equal(state.loss_gen.get_state(), old["sampler"][0]["loss"])
    assert state.n_acc == 2 and all(torch.equal(state.sums[k], old["accumulators"]["sums"][k]) for k in state.sums)
    assert state.elapsed_before_s == 0.0 and state.rows == old["metrics_rows"]
    train(OLD_CFG, run, resume=True)
    new = ckpt.load_checkpoint(run)
    assert new["step"] == 7 and new["config_hash"] == old["config_hash"] and new["elapsed_s"] >= 0
    assert [r["step"] for r in new["metrics_rows"]] == [4, 7]
    assert "elapsed_s" not in new["metrics_rows"][0] and "elapsed_s" in new["metrics_rows"][1]
