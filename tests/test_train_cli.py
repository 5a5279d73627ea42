"""``python -m gans.train`` with bad input: one ``error:`` line on stderr, exit code 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from gans.checkpoint import load_checkpoint
from gans.train import main

TINY = {
    "seed": 3,
    "device": "cpu",
    "data": {"name": "ring", "n": 128},
    "latent": {"dim": 4},
    "generator": {"name": "mlp", "hidden": 8, "depth": 1, "data_dim": 2},
    "discriminator": {"name": "mlp", "hidden": 8, "depth": 1, "data_dim": 2},
    "loss": {"name": "wgan_gp", "gamma": 10.0},
    "train": {"iterations": 2, "batch_size": 8, "log_every": 1, "sample_every": 0, "checkpoint_every": 0,
              "ema_halflife_images": 0, "progress": False},
}

# (id, extra argv); "OUT" is replaced by a fresh run folder, "EXISTING" by a finished run,
# "EMPTY" by an empty folder, "FILE" by a regular file, "BROKEN" by a run with a truncated checkpoint
BAD = [
    ("unknown data name", ["--set", "data.name=nosuch"]),
    ("unknown generator name", ["--set", "generator.name=nosuch"]),
    ("unknown loss name", ["--set", "loss.name=nosuch"]),
    ("unknown penalty name", ["--set", "loss.penalties=[{name: nosuch}]"]),
    ("penalties not a list", ["--set", "loss.penalties=5"]),
    ("negative gamma", ["--set", "loss.gamma=-1"]),
    ("loss key typo", ["--set", "loss.gama=1"]),
    ("zero hidden width", ["--set", "generator.hidden=0"]),
    ("generator key typo", ["--set", "generator.hiden=3"]),
    ("zero data points", ["--set", "data.n=0"]),
    ("negative workers", ["--set", "data.workers=-1"]),
    ("celeba without a path", ["--set", "data.name=celeba"]),
    ("negative weight decay", ["--set", "optim.weight_decay=-1"]),
    ("weight decay not a number", ["--set", "optim.weight_decay=abc"]),
    ("loss factory module missing", ["--set", "loss.name=nomod:fn"]),
    ("eval function module missing", ["--set", "eval.every=1", "--set", "eval.function=nomod:fn"]),
    ("train key typo", ["--set", "train.iteratons=3"]),
    ("iterations not an integer", ["--set", "train.iterations=abc"]),
    ("existing run without --resume", ["--out", "EXISTING"]),
    ("--resume into an empty folder", ["--resume", "--out", "EMPTY"]),
    ("--resume from a truncated checkpoint", ["--resume", "--out", "BROKEN"]),
    ("--out below a regular file", ["--out", "FILE/run"]),
    ("--out is a regular file", ["--out", "FILE"]),
    # without CUDA: 'cuda' is a valid name for an absent device; with CUDA an invalid name
    ("unavailable device", ["--set", "device=tpu" if torch.cuda.is_available() else "device=cuda"]),
    ("tensorboard not a boolean", ["--set", "train.tensorboard=maybe"]),
    ("dry run: unknown loss", ["--dry-run", "--set", "loss.name=nosuch"]),
    ("dry run: train key typo", ["--dry-run", "--set", "train.tensorbord=true"]),
    ("dry run: zero hidden width (a network value)", ["--dry-run", "--set", "generator.hidden=0"]),
    ("dry run: tensorboard not a boolean", ["--dry-run", "--set", "train.tensorboard=1"]),
]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli")
    cfg = root / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    # --pipeline: checkpoint only at the end, so "broken" has no checkpoint.prev.pt to fall back on
    assert main([str(cfg), "--out", str(root / "existing"), "--pipeline"]) == 0
    assert main([str(cfg), "--out", str(root / "broken"), "--pipeline"]) == 0
    ck = root / "broken" / "checkpoint.pt"
    ck.write_bytes(ck.read_bytes()[:100])
    (root / "empty").mkdir()
    (root / "file").write_text("not a folder")
    return {"cfg": cfg, "EXISTING": root / "existing", "EMPTY": root / "empty", "FILE": root / "file",
            "BROKEN": root / "broken", "root": root}


def _argv(extra: list[str], folders: dict[str, Path], tmp_path: Path) -> list[str]:
    argv = [str(folders["cfg"])]
    for a in extra:
        head, _, tail = a.partition("/")
        argv.append(str(folders[head] / tail if tail else folders[head]) if head in folders else a)
    if "--out" not in extra:
        argv += ["--out", str(tmp_path / "run")]
    return argv


def _exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's error path
        return int(exc.code)


@pytest.mark.parametrize("extra", [b[1] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_invocation_is_one_error_line(extra: list[str], folders: dict[str, Path], tmp_path: Path,
                                          capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GANDIV_CELEBA", raising=False)
    code = _exit_code(_argv(extra, folders, tmp_path))
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if "error:" in ln]
    assert len(lines) == 1 and lines[0].startswith("python -m gans.train: error: "), err
    assert "Traceback" not in err


def test_refused_runs_leave_existing_folder_alone(folders: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    """A bad name or a refused --resume does not touch the run folder (config.yaml unchanged)."""
    run = folders["EXISTING"]
    before = (run / "config.yaml").read_text()
    for extra in (["--set", "generator.name=nosuch"], ["--resume", "--set", "seed=4"]):
        assert _exit_code([str(folders["cfg"]), "--out", str(run), *extra]) == 2
    capsys.readouterr()
    assert (run / "config.yaml").read_text() == before


def test_subprocess_prints_no_traceback(folders: dict[str, Path], tmp_path: Path) -> None:
    """End to end through the interpreter: a train-time ValueError (unknown generator) and an
    OSError (--out below a regular file) each give exit code 2 and a single error line."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    for extra in (["--set", "generator.name=nosuch", "--out", str(tmp_path / "r")],
                  ["--out", str(folders["FILE"] / "run")]):
        r = subprocess.run([sys.executable, "-m", "gans.train", str(folders["cfg"]), *extra],
                           capture_output=True, text=True, env=env, timeout=300)
        assert r.returncode == 2, r.stderr
        assert "Traceback" not in r.stderr and r.stderr.count("error:") == 1, r.stderr


def test_list_names_the_registries_and_config_files(capsys: pytest.CaptureFixture) -> None:
    """--list: every loss, penalty, network and dataset of the registries, and the config files."""
    from gans import losses
    from gans.data import DATASETS
    from gans.nets import DISCRIMINATORS, GENERATORS

    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    lines = {ln.split(" (", 1)[0]: ln for ln in out.splitlines() if not ln.startswith("  ")}
    for head, names in (("losses", losses.names()), ("penalties", losses.penalty_names()),
                        ("generators", GENERATORS), ("critics", DISCRIMINATORS), ("datasets", DATASETS)):
        listed = set(lines[head].split(": ", 1)[1].removesuffix(" (or package.module:Name)").split(", "))
        assert listed == set(names), (head, lines[head])
    files = {ln.strip() for ln in out.splitlines() if ln.startswith("  ")}
    assert {"toy/nsgan.yaml", "toy/common.yaml", "image/quick.yaml", "image/losses/wgan_gp.yaml"} <= files


def test_missing_config_is_exit_2(capsys: pytest.CaptureFixture) -> None:
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "--list" in err


def test_dry_run_prints_the_checkpoints_hash(folders: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    """--dry-run trains nothing and prints the resolved config with the hash the run's checkpoint
    carries (train.tensorboard and the hand-run settings are not part of it)."""
    capsys.readouterr()
    assert main([str(folders["cfg"]), "--dry-run", "--set", "train.tensorboard=true"]) == 0
    out = capsys.readouterr().out
    resolved = yaml.safe_load(out)
    assert resolved["train"]["tensorboard"] is True and resolved["train"]["iterations"] == 2
    assert out.strip().splitlines()[-1] == f"# config_hash: {load_checkpoint(folders['EXISTING'])['config_hash']}"


def test_hand_run_settings_and_pipeline_flag(folders: dict[str, Path], tmp_path: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    """By hand (TINY: 2 iterations, progress false, sample_every 0, checkpoint_every 0): progress
    bar, samples and checkpoints every ceil(2 / 10) = 1 step, said on stderr; --pipeline keeps
    the config's settings; an explicit --set wins; and a hand-run resumes a pipeline run (the
    three settings are not part of the config hash)."""
    cfg = str(folders["cfg"])
    capsys.readouterr()
    assert main([cfg, "--out", str(tmp_path / "hand")]) == 0
    err = capsys.readouterr().err
    assert "hand-run settings train.progress=true train.sample_every=1 train.checkpoint_every=1" in err
    assert "2/2" in err  # the tqdm bar
    samples = lambda run: sorted(p.name for p in (run / "samples").iterdir())  # noqa: E731
    assert samples(tmp_path / "hand") == ["step_0000000.png", "step_0000001.png", "step_0000002.png"]
    saved = yaml.safe_load((tmp_path / "hand" / "config.yaml").read_text())["train"]
    assert (saved["progress"], saved["sample_every"], saved["checkpoint_every"]) == (True, 1, 1)
    assert main([cfg, "--out", str(tmp_path / "pipe"), "--pipeline"]) == 0
    err = capsys.readouterr().err
    assert "hand-run" not in err and "2/2" not in err
    assert samples(tmp_path / "pipe") == ["step_0000000.png", "step_0000002.png"]
    assert main([cfg, "--out", str(tmp_path / "mixed"), "--set", "train.sample_every=0"]) == 0
    assert "hand-run settings train.progress=true train.checkpoint_every=1" in capsys.readouterr().err
    assert samples(tmp_path / "mixed") == ["step_0000000.png", "step_0000002.png"]
    assert main([cfg, "--out", str(tmp_path / "pipe"), "--resume", "--set", "train.iterations=3"]) == 0
    assert load_checkpoint(tmp_path / "pipe")["step"] == 3
