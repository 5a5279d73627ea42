"""``python -m gans.train`` with bad input: one ``error:`` line on stderr, exit code 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

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
]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli")
    cfg = root / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    assert main([str(cfg), "--out", str(root / "existing")]) == 0
    assert main([str(cfg), "--out", str(root / "broken")]) == 0
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
