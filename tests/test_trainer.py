"""The trainer: EMA, exact resume, atomic checkpoint, NaN guard, metrics.csv and the CLI."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
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


class Killed(Exception):
    """Stands in for a kill -9 in the middle of a training step."""


class NoisyNSGAN:
    """Non-saturating GAN with instance noise drawn from the *global* torch RNG, and an
    optional NaN from a given critic step on (to exercise the RNG restore and the NaN guard)."""

    name = "noisy_nsgan"

    def __init__(self, nan_from: int | None = None, kill_at: int | None = None) -> None:
        self.nan_from, self.kill_at, self.calls = nan_from, kill_at, 0

    def d_loss(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor):
        self.calls += 1
        if self.kill_at is not None and self.calls >= self.kill_at:
            raise Killed(f"killed at critic call {self.calls}")
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
    """A refused --resume leaves the run folder as it was: config.yaml still describes the checkpoint."""
    train({**TINY, "train": {**TINY["train"], "iterations": 2}}, tmp_path / "r")
    before = (tmp_path / "r" / "config.yaml").read_text()
    with pytest.raises(ValueError, match="config hash"):
        train({**TINY, "optim": {"lr_d": 0.5}}, tmp_path / "r", resume=True)
    assert (tmp_path / "r" / "config.yaml").read_text() == before
    assert yaml.safe_load(before)["optim"]["lr_d"] == 1e-4
    with pytest.raises(ValueError, match="exists"):
        train(TINY, tmp_path / "r")


def _metrics_without_rate(run: Path) -> list[dict[str, str]]:
    """metrics.csv rows without images_per_s and elapsed_s (wall-clock, differ between any two runs)."""
    return [{k: v for k, v in r.items() if k not in ("images_per_s", "elapsed_s")}
            for r in csv.DictReader(open(run / "metrics.csv"))]


def test_killed_and_resumed_metrics_equal_uninterrupted(tmp_path: Path) -> None:
    """Killed during step 8 (checkpoint at step 6, not a multiple of log_every = 4) and resumed:
    metrics.csv equals the uninterrupted run's, including the row at step 8 whose average
    spans the kill (the running loss sums of steps 5-6 are restored from the checkpoint)."""
    full = train(TINY, tmp_path / "full", loss=NoisyNSGAN())
    with pytest.raises(Killed):
        train(TINY, tmp_path / "killed", loss=NoisyNSGAN(kill_at=15))  # critic calls 15, 16 belong to step 8
    assert _state(tmp_path / "killed")["step"] == 6
    assert [int(r["step"]) for r in _metrics_without_rate(tmp_path / "killed")] == [4]
    train(TINY, tmp_path / "killed", resume=True, loss=NoisyNSGAN())
    got, want = _metrics_without_rate(tmp_path / "killed"), _metrics_without_rate(full)
    assert [int(r["step"]) for r in want] == [4, 8, 12]
    assert got == want  # same float32 sums, same decimal strings


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
    # step 0: the untrained generator's scores only (no losses yet), then the logged steps
    assert [int(r["step"]) for r in rows] == [0, 4, 6, 8, 12]
    assert all(int(r["images_seen"]) == 16 * int(r["step"]) for r in rows)
    assert rows[0]["d_loss"] == "" and rows[0]["eval_n_modes"] != ""
    for col in ("d_loss", "g_loss", "gp", "images_per_s"):
        assert all(math.isfinite(float(r[col])) for r in rows[1:]), col
    assert rows[2]["eval_n_modes"] == "8" and rows[1]["eval_n_modes"] == ""
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


# ----------------------------------------------------------------------------- metrics.csv columns, TensorBoard
EVAL_TINY = {**TINY, "eval": {"every": 6, "function": "gans.data.toy:evaluate", "n": 200}}


def _rows(run: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(open(run / "metrics.csv")))


def test_elapsed_s_continues_across_resume(tmp_path: Path) -> None:
    """elapsed_s is the third column, never decreases within a run, is saved in the checkpoint,
    and a resumed run continues from the checkpoint's value: set to 1e6 s here, so a clock that
    restarted at 0 on resume cannot pass."""
    run = train({**TINY, "train": {**TINY["train"], "iterations": 6}}, tmp_path / "r")
    assert (run / "metrics.csv").read_text().splitlines()[0].split(",")[:3] == ["step", "images_seen", "elapsed_s"]
    first = [float(r["elapsed_s"]) for r in _rows(run)]
    assert len(first) == 2 and 0 <= first[0] <= first[1]
    state = _state(run)
    state["elapsed_s"] = 1e6
    ckpt.save_checkpoint(state, run)
    train(TINY, run, resume=True)
    rows = _rows(run)
    assert [int(r["step"]) for r in rows] == [4, 6, 8, 12]
    assert [float(r["elapsed_s"]) for r in rows[:2]] == first  # the first leg's rows, kept in the checkpoint
    later = [float(r["elapsed_s"]) for r in rows[2:]]
    assert 1e6 <= later[0] <= later[1]
    # the final checkpoint is written after the last row; rows are rounded to 1 ms (error <= 0.5 ms)
    assert _state(run)["elapsed_s"] >= later[1] - 5e-4


def test_integer_counts_are_written_as_integers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """step and images_seen, and integer results of the evaluation (here the toy hook patched to
    return its counts as int and numpy int64), are written without a decimal point, also after a
    resume (rows kept in the checkpoint); float results keep their point."""
    from gans.data import toy

    real = toy.mode_statistics
    monkeypatch.setattr(toy, "mode_statistics", lambda *a, **kw: {**real(*a, **kw), "n_modes": 8,
                                                                   "n_points": np.int64(200)})
    run = train({**EVAL_TINY, "train": {**TINY["train"], "iterations": 6}}, tmp_path / "i")
    train(EVAL_TINY, run, resume=True)
    rows = _rows(run)
    assert [r["step"] for r in rows] == ["0", "4", "6", "8", "12"]
    assert [r["images_seen"] for r in rows] == ["0", "64", "96", "128", "192"]
    assert [r["eval_n_modes"] for r in rows] == ["8", "", "8", "", "8"]
    assert [r["eval_n_points"] for r in rows] == ["200", "", "200", "", "200"]
    assert all("." in r["eval_high_quality"] for r in rows if r["eval_high_quality"])  # floats stay floats
    assert all("." in r["d_loss"] or "e" in r["d_loss"] for r in rows[1:])


def _tb_events(folder: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return acc


def test_tensorboard_events_beside_metrics_csv(tmp_path: Path) -> None:
    """train.tensorboard: every numeric column of every row is a scalar at its step (values equal
    to metrics.csv's up to the float32 TensorBoard stores), and every sample picture an image."""
    cfg = {**EVAL_TINY, "train": {**TINY["train"], "tensorboard": True, "sample_every": 6}}
    run = train(cfg, tmp_path / "tb")
    assert len(list((run / "tensorboard").glob("events.out.tfevents.*"))) == 1
    acc = _tb_events(run / "tensorboard")
    scalars = set(acc.Tags()["scalars"])
    assert {"train/d_loss", "train/g_loss", "train/gp", "eval/modes_covered", "eval/n_modes",
            "time/elapsed_s", "time/images_per_s"} <= scalars
    rows = _rows(run)
    d = acc.Scalars("train/d_loss")
    assert [e.step for e in d] == [4, 6, 8, 12]
    assert [e.value for e in d] == [float(np.float32(r["d_loss"])) for r in rows[1:]]
    assert [e.step for e in acc.Scalars("eval/high_quality")] == [0, 6, 12]
    images = acc.Images("samples")
    assert [e.step for e in images] == [0, 6, 12] and (images[0].width, images[0].height) == (360, 360)
    assert not any(t.startswith(("train/step", "train/images_seen")) for t in scalars)


def test_tensorboard_resume_replaces_the_interrupted_legs_events(tmp_path: Path) -> None:
    """Killed during step 10 (checkpoint at 6, row 8 already logged) and resumed: TensorBoard shows
    each step once (the killed leg's events after step 6 are purged); off by default."""
    cfg = {**TINY, "train": {**TINY["train"], "tensorboard": True}}
    with pytest.raises(Killed):
        train(cfg, tmp_path / "k", loss=NoisyNSGAN(kill_at=19))  # critic calls 19, 20 belong to step 10
    assert [e.step for e in _tb_events(tmp_path / "k" / "tensorboard").Scalars("train/d_loss")] == [4, 8]
    train(cfg, tmp_path / "k", resume=True, loss=NoisyNSGAN())
    assert [e.step for e in _tb_events(tmp_path / "k" / "tensorboard").Scalars("train/d_loss")] == [4, 8, 12]
    assert not (train({**TINY, "train": {**TINY["train"], "iterations": 2}}, tmp_path / "off") / "tensorboard").exists()


def test_tensorboard_setting_is_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A non-boolean train.tensorboard, or true without the package: ValueError naming the key
    (and the pip command), before the run folder is created."""
    with pytest.raises(ValueError, match="train.tensorboard must be true or false"):
        train({**TINY, "train": {**TINY["train"], "tensorboard": "yes"}}, tmp_path / "a")
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if tensorboard were not installed
    with pytest.raises(ValueError, match=r"train.tensorboard: true needs the tensorboard package.*"
                                         r"pip install tensorboard"):
        train({**TINY, "train": {**TINY["train"], "tensorboard": True}}, tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


# ----------------------------------------------------------------------------- gans.plot
@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("plot")
    return train(EVAL_TINY, root / "seed3"), train({**EVAL_TINY, "seed": 4}, root / "seed4")


def test_plot_one_run_and_two_side_by_side(two_runs: tuple[Path, Path], tmp_path: Path,
                                           capsys: pytest.CaptureFixture) -> None:
    """python -m gans.plot: one run -> RUN/curves.png with a panel per loss and score (8: 3 x 3
    grid of 4.2 x 3 in at 100 dpi); two runs and two columns -> one row of two panels; unknown
    column -> exit 2 with one error line naming the available columns."""
    from PIL import Image

    from gans import plot

    a, b = two_runs
    assert plot.default_columns([plot.read_metrics(a)]) == [
        "w1_estimate", "gp", "gp_grad_norm", "d_loss", "g_loss", "eval_modes_covered", "eval_high_quality",
        "eval_n_modes"]
    assert plot.main([str(a)]) == 0
    with Image.open(a / "curves.png") as im:
        assert im.format == "PNG" and im.size == (1260, 900)
    two = tmp_path / "two.png"
    assert plot.main([str(a), str(b / "metrics.csv"), "--out", str(two), "--columns", "d_loss",
                      "eval_modes_covered", "--x", "elapsed_s"]) == 0
    with Image.open(two) as im:
        assert im.format == "PNG" and im.size == (840, 300)
    capsys.readouterr()
    assert plot.main([str(a), "--columns", "nosuch", "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "nosuch" in err and "d_loss" in err
    assert not (tmp_path / "x.png").exists()
    assert plot.main([str(tmp_path / "missing")]) == 2


def test_plot_and_trainer_leave_the_matplotlib_backend_alone(two_runs: tuple[Path, Path]) -> None:
    """Neither gans.train (training, samples) nor gans.plot imports pyplot or switches the backend."""
    code = ("import sys, gans.train, gans.plot; gans.plot.plot_runs([sys.argv[1]], sys.argv[2]); "
            "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'")
    subprocess.run([sys.executable, "-c", code, str(two_runs[0]), str(two_runs[0] / "c.png")], check=True,
                   cwd=Path(__file__).resolve().parents[1])
    sources = {p.name: p.read_text() for p in (Path(__file__).resolve().parents[1] / "gans").rglob("*.py")}
    assert not [n for n, text in sources.items() if "matplotlib.use(" in text or "pyplot" in text]
    assert [n for n, text in sources.items() if "import matplotlib" in text or "from matplotlib" in text] == ["plot.py"]


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
    assert main([str(cfg), "--dry-run", "--set", "train.iterations=-1"]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == "python -m gans.train: error: train.iterations must be an integer >= 1, got -1"
    assert captured.out == ""


# ----------------------------------------------------------------------------- pipeline jobs resume
@pytest.fixture()
def keep_threads():
    """The experiment entry points set torch's thread count; restore it for the other tests."""
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def _params(run: Path) -> dict:
    s = _state(run)
    return {f"{k}.{n}": t for k in ("generator", "discriminator", "ema") for n, t in s[k].items()}


def test_image_comparison_train_job_resumes(tmp_path: Path, capsys: pytest.CaptureFixture, keep_threads) -> None:
    """The pipeline's training job (experiments.image_comparison train), stopped after 6 of 12
    steps and rerun with the same config, continues from step 6 (metrics.csv keeps the first
    leg's final row at step 6; a restart would not) and ends bit-identical to an uninterrupted
    job; rerun with a changed config it starts over from step 0 and says so."""
    from experiments import image_comparison as ic

    cfg = _write_cfg(tmp_path)
    base = ["train", "--config", str(cfg), "--device", "cpu"]
    assert ic.main(base + ["--out", str(tmp_path / "full")]) == 0
    assert ic.main(base + ["--out", str(tmp_path / "job"), "--set", "train.iterations=6"]) == 0
    capsys.readouterr()
    assert ic.main(base + ["--out", str(tmp_path / "job")]) == 0
    assert "resuming" in capsys.readouterr().err
    info = json.loads((tmp_path / "job" / "run_info.json").read_text())
    assert info["resumed_from_step"] == 6
    assert [int(r["step"]) for r in csv.DictReader(open(tmp_path / "job" / "metrics.csv"))] == [4, 6, 8, 12]
    a, b = _params(tmp_path / "full"), _params(tmp_path / "job")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # a changed config (lr) restarts: step counter from 0, new config in the checkpoint and config.yaml
    assert ic.main(base + ["--out", str(tmp_path / "job"), "--set", "optim.lr_g=0.002"]) == 0
    assert "config changed" in capsys.readouterr().err
    info = json.loads((tmp_path / "job" / "run_info.json").read_text())
    assert info["resumed_from_step"] is None
    assert [int(r["step"]) for r in csv.DictReader(open(tmp_path / "job" / "metrics.csv"))] == [4, 8, 12]
    assert _state(tmp_path / "job")["config"]["optim"]["lr_g"] == 0.002
    assert yaml.safe_load((tmp_path / "job" / "config.yaml").read_text())["optim"]["lr_g"] == 0.002
    # the same job once more: nothing left to train, nothing retrained
    assert ic.main(base + ["--out", str(tmp_path / "job"), "--set", "optim.lr_g=0.002"]) == 0
    assert json.loads((tmp_path / "job" / "run_info.json").read_text())["resumed_from_step"] == 12


def test_toy_mixture_job_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
                                 keep_threads) -> None:
    """experiments.toy_mixtures run_one killed after its second training segment (before that
    snapshot was kept) and rerun: the first snapshot is reused, training resumes from the
    step-20 checkpoint, and the snapshots equal an uninterrupted job's bit for bit."""
    from experiments import toy_mixtures as tm

    monkeypatch.setattr(tm, "settings", lambda profile: {"iterations": 30, "seeds": [0]})
    monkeypatch.chdir(Path(__file__).resolve().parents[1])  # CONFIG_DIR is relative to the repository
    tm.run_one("nsgan", "ring", 0, "tiny", tmp_path / "full")
    real_samples, calls = tm._samples, []

    def dies_on_second_call(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise Killed("killed after segment 2")
        return real_samples(*args, **kwargs)

    monkeypatch.setattr(tm, "_samples", dies_on_second_call)
    with pytest.raises(Killed):
        tm.run_one("nsgan", "ring", 0, "tiny", tmp_path / "job")
    monkeypatch.setattr(tm, "_samples", real_samples)
    capsys.readouterr()
    tm.run_one("nsgan", "ring", 0, "tiny", tmp_path / "job")
    log = capsys.readouterr().out
    assert "reusing snapshot_step_0000010.npy" in log and "at step 20 of 20" in log and "at step 20 of 30" in log
    a, b = np.load(tmp_path / "full" / "snapshots.npz"), np.load(tmp_path / "job" / "snapshots.npz")
    assert sorted(a.files) == sorted(b.files) == ["step_10", "step_20", "step_30"]
    assert all(np.array_equal(a[k], b[k]) for k in a.files)
    assert json.loads((tmp_path / "job" / "summary.json").read_text())["mmd2"] == \
        json.loads((tmp_path / "full" / "summary.json").read_text())["mmd2"]


def test_toy_mixture_rerun_with_nothing_to_train_keeps_the_recorded_training_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, keep_threads) -> None:
    """A finished toy-mixture job rerun (every segment reused, nothing trained) reports the training
    time its first run recorded in ``run/train_time.json``, not the milliseconds of the rerun, even
    when ``summary.json`` was deleted first (snakemake does); a record of another trajectory (other
    iterations) is not carried over."""
    from experiments import toy_mixtures as tm

    monkeypatch.setattr(tm, "settings", lambda profile: {"iterations": 20, "seeds": [0]})
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    first = tm.run_one("nsgan", "ring", 0, "tiny", tmp_path / "job")
    capsys.readouterr()
    (tmp_path / "job" / "summary.json").unlink()  # as snakemake does before rerunning the job
    again = tm.run_one("nsgan", "ring", 0, "tiny", tmp_path / "job")
    assert "reusing snapshot_step_0000020.npy" in capsys.readouterr().out  # nothing was trained
    assert again["train_seconds"] == first["train_seconds"] and again["cpu_seconds"] == first["cpu_seconds"]
    assert json.loads((tmp_path / "job" / "summary.json").read_text())["train_seconds"] == first["train_seconds"]
    record = tmp_path / "job" / "run" / "train_time.json"
    timing = json.loads(record.read_text())
    assert timing["train_seconds"] == first["train_seconds"]
    timing["iterations"] = 10  # a record of another trajectory: not carried over
    record.write_text(json.dumps(timing))
    other = tm.run_one("nsgan", "ring", 0, "tiny", tmp_path / "job")
    assert other["train_seconds"] != first["train_seconds"] and other["train_seconds"] < first["train_seconds"]


def test_figure_and_table_writes_are_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer that dies mid-write (partial bytes, then an error) leaves the previous figure
    and table untouched and no temporary file behind."""
    import matplotlib.pyplot as plt
    import pandas as pd

    from experiments import common

    fig_path, table_path = tmp_path / "f.png", tmp_path / "t.csv"
    common.save_figure(plt.figure(), fig_path, "first")
    common.write_table(pd.DataFrame({"a": [1.0]}), table_path)
    old_fig, old_table = fig_path.read_bytes(), table_path.read_bytes()

    def dies(self, target, *args, **kwargs):
        with open(target, "wb") as fh:
            fh.write(b"\x89PNG partial")
        raise OSError("killed mid-write")

    monkeypatch.setattr(plt.Figure, "savefig", dies)
    monkeypatch.setattr(pd.DataFrame, "to_csv", dies)
    with pytest.raises(OSError, match="mid-write"):
        common.save_figure(plt.figure(), fig_path, "second")
    with pytest.raises(OSError, match="mid-write"):
        common.write_table(pd.DataFrame({"a": [2.0]}), table_path)
    assert fig_path.read_bytes() == old_fig and table_path.read_bytes() == old_table
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.png", "t.csv"]
