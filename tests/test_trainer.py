"""The trainer: EMA, exact resume, atomic checkpoint, NaN guard, metrics.csv and the CLI."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import yaml
from torch import nn

from gans import checkpoint as ckpt
from gans.ema import EMA, ema_beta
from gans.train import TrainingDiverged, load_generator, main, train

TINY = {
    "seed": 3,
    "device": "cpu",
    "data": {"name": "ring", "n": 512},
    "latent": {"dim": 4},
    "generator": {"name": "mlp", "hidden": 16, "depth": 2, "data_dim": 2},
    "discriminator": {"name": "mlp", "hidden": 16, "depth": 2, "data_dim": 2},
    "loss": {"name": "wgan_gp", "gamma": 10.0},  # random interpolation: exercises the loss RNG
    "train": {"iterations": 12, "batch_size": 16, "n_critic": 2, "ema_halflife_images": 100, "log_every": 4,
              "sample_every": 0, "checkpoint_every": 6, "progress": False},
}


class NoisyNSGAN:
    """Non-saturating GAN with instance noise drawn from the *global* torch RNG, and an
    optional NaN from a given critic step on (to exercise the RNG restore and the NaN guard)."""

    name = "noisy_nsgan"

    def __init__(self, nan_from: int | None = None) -> None:
        self.nan_from, self.calls = nan_from, 0

    def d_loss(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor):
        self.calls += 1
        real = real + 0.1 * torch.randn_like(real)
        loss = F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()
        if self.nan_from is not None and self.calls >= self.nan_from:
            loss = loss * float("nan")
        return loss, {"d_loss": loss.detach()}

    def g_loss(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor):
        loss = F.softplus(-D(fake)).mean()
        return loss, {"g_loss": loss.detach()}

    def after_d_step(self, D: nn.Module) -> None:
        pass


def _state(run: Path) -> dict:
    return ckpt.load_checkpoint(run)


def _assert_same_tensors(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_ema_halflife_is_counted_in_images() -> None:
    """With the online weights held at p, ema - p halves after exactly halflife images,
    whatever the batch size; buffers are copied, not averaged."""
    assert ema_beta(250, 250) == 0.5
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)).double()
    ema = EMA(model, halflife_images=240)
    start = {k: v.clone() for k, v in ema.model.state_dict().items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
        model[1].running_mean.fill_(7.0)
    for _ in range(240 // 16):
        ema.update(model, 16)
    for (name, pe), p in zip(ema.model.named_parameters(), model.parameters()):
        torch.testing.assert_close(pe - p, 0.5 * (start[name] - p), rtol=0, atol=1e-12)
    assert torch.equal(ema.model[1].running_mean, torch.full((2,), 7.0, dtype=torch.float64))
    with pytest.raises(ValueError, match="halflife_images"):
        EMA(model, 0)


@pytest.mark.parametrize("use_global_rng_loss", [False, True])
def test_resume_is_bit_identical_on_cpu(tmp_path: Path, use_global_rng_loss: bool) -> None:
    """12 steps in one go == 6 steps, stop, --resume to 12: every tensor of G, D, EMA and the
    optimiser states is bit-identical (data order, latents, loss RNG and global RNG restored)."""
    loss = (lambda: NoisyNSGAN()) if use_global_rng_loss else (lambda: None)
    full = train(TINY, tmp_path / "full", loss=loss())
    half_cfg = {**TINY, "train": {**TINY["train"], "iterations": 6}}
    part = train(half_cfg, tmp_path / "part", loss=loss())
    assert _state(part)["step"] == 6
    train(TINY, part, resume=True, loss=loss())
    a, b = _state(full), _state(part)
    assert a["step"] == b["step"] == 12 and a["images_seen"] == b["images_seen"] == 12 * 16
    for key in ("generator", "discriminator", "ema"):
        _assert_same_tensors(a[key], b[key])
    for key in ("opt_g", "opt_d"):
        for sa, sb in zip(a[key]["state"].values(), b[key]["state"].values()):
            _assert_same_tensors(sa, sb)
    # a different seed really gives different weights (the comparison above can fail)
    other = train({**TINY, "seed": 4}, tmp_path / "other", loss=loss())
    assert not torch.equal(_state(other)["generator"]["net.0.weight"], a["generator"]["net.0.weight"])
    # metrics rows continue where the first leg stopped
    rows = list(csv.DictReader(open(part / "metrics.csv")))
    assert [int(r["step"]) for r in rows] == [4, 6, 8, 12]


def test_resume_rejects_a_changed_config(tmp_path: Path) -> None:
    train({**TINY, "train": {**TINY["train"], "iterations": 2}}, tmp_path / "r")
    with pytest.raises(ValueError, match="config hash"):
        train({**TINY, "optim": {"lr_d": 0.5}}, tmp_path / "r", resume=True)
    with pytest.raises(ValueError, match="exists"):
        train(TINY, tmp_path / "r")


def test_checkpoint_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash while writing leaves the previous checkpoint loadable and unchanged."""
    ckpt.save_checkpoint({"step": 1, "w": torch.arange(3.0)}, tmp_path)

    def crash(obj, fh, *args, **kwargs):
        fh.write(b"partial garbage")
        raise OSError("disk full")

    monkeypatch.setattr(ckpt.torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save_checkpoint({"step": 2, "w": torch.zeros(3)}, tmp_path)
    monkeypatch.undo()
    state = ckpt.load_checkpoint(tmp_path)
    assert state["step"] == 1 and torch.equal(state["w"], torch.arange(3.0))
    with pytest.raises(ValueError, match="no checkpoint"):
        ckpt.load_checkpoint(tmp_path / "missing")


def test_nan_guard_stops_and_keeps_last_good_checkpoint(tmp_path: Path) -> None:
    """NaN from the 17th critic step (step 9 with n_critic 2): the error names the step and the
    checkpoint (the NaN critic step also poisons the generator loss); the checkpoint is the
    finite one written at step 6."""
    with pytest.raises(TrainingDiverged, match=r"non-finite loss value\(s\) \['d_loss', 'g_loss'\] at step 9.*step 6"):
        train(TINY, tmp_path / "nan", loss=NoisyNSGAN(nan_from=17))
    state = _state(tmp_path / "nan")
    assert state["step"] == 6
    assert all(torch.isfinite(v).all() for v in state["generator"].values())
    rows = list(csv.DictReader(open(tmp_path / "nan" / "metrics.csv")))
    assert [int(r["step"]) for r in rows] == [4, 8]  # rows logged before the failure are kept


def test_metrics_csv_and_samples(tmp_path: Path) -> None:
    cfg = {**TINY, "eval": {"every": 6, "function": "gans.data.toy:evaluate", "n": 200},
           "train": {**TINY["train"], "sample_every": 6}}
    run = train(cfg, tmp_path / "m")
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    assert [int(r["step"]) for r in rows] == [4, 6, 8, 12]
    assert all(int(r["images_seen"]) == 16 * int(r["step"]) for r in rows)
    for col in ("d_loss", "g_loss", "gp", "images_per_s"):
        assert all(math.isfinite(float(r[col])) for r in rows), col
    assert rows[1]["eval_n_modes"] == "8.0" and rows[0]["eval_n_modes"] == ""
    assert sorted(p.name for p in (run / "samples").iterdir()) == \
        ["step_0000000.png", "step_0000006.png", "step_0000012.png"]
    assert yaml.safe_load((run / "config.yaml").read_text())["seed"] == 3
    G = load_generator(run)
    z = torch.randn(5, 4)
    state = _state(run)
    G2 = load_generator(run, ema=False)
    assert torch.equal(G2.state_dict()["net.0.weight"], state["generator"]["net.0.weight"])
    assert torch.equal(G.state_dict()["net.0.weight"], state["ema"]["net.0.weight"])
    assert G(z).shape == (5, 2)


def _write_cfg(tmp_path: Path) -> Path:
    p = tmp_path / "tiny.yaml"
    p.write_text(yaml.safe_dump(TINY))
    return p


def test_cli_dry_run_and_set(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cfg = _write_cfg(tmp_path)
    assert main([str(cfg), "--dry-run", "--set", "train.iterations=7", "--set", "optim.betas=[0.0, 0.9]",
                 "--set", "optim.lr_g=2e-4"]) == 0
    out = capsys.readouterr().out
    resolved = yaml.safe_load(out)
    assert resolved["train"]["iterations"] == 7
    assert resolved["optim"]["betas"] == [0.0, 0.9] and resolved["optim"]["lr_g"] == 2e-4
    assert resolved["loss"]["name"] == "wgan_gp" and "# config_hash:" in out
    with pytest.raises(SystemExit) as exc:
        main([str(cfg), "--dry-run", "--set", "train.iterations=-1"])
    assert exc.value.code == 2
    assert "train.iterations must be an integer >= 1" in capsys.readouterr().err
