"""The README is the contract: every ``python`` code block runs exactly as printed, in a fresh
namespace, from a folder laid out like the repository root (``experiments/`` reachable, so the
relative config path works; ``runs/`` written there, not in the checkout); the one-line metric
commands run on image folders made here."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, re.S)


@pytest.fixture()
def repo_like(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "experiments").symlink_to(ROOT / "experiments", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_python_block_runs_as_printed(repo_like: Path) -> None:
    blocks = _blocks("python")
    assert len(blocks) >= 2, "the README's API tour and training blocks"
    spaces = []
    for i, code in enumerate(blocks):
        ns: dict = {"__name__": f"readme_block_{i}"}
        exec(compile(code, f"README.md (python block {i + 1})", "exec"), ns)  # noqa: S102
        spaces.append(ns)
    tour = spaces[0]
    dv, p, q = tour["dv"], tour["p"], tour["q"]
    # the values the tour's comments state
    assert tour["e"].conjugate(-3.0) == -1.0
    assert abs(dv.gan_objective.optimal_value(p, q) - (2 * dv.jsd(p, q) - np.log(4))) < 1e-12
    assert 0.0 <= tour["res"].p_value <= 1.0
    assert (repo_like / "runs" / "ns_r1" / "checkpoint.pt").is_file()


def test_metric_commands_run_as_printed(repo_like: Path) -> None:
    rng = np.random.default_rng(0)
    for name, shift in (("real_images", 0), ("fake_images", 40)):
        (repo_like / name).mkdir()
        for i in range(24):
            img = np.clip(rng.normal(120 + shift, 40, (32, 32, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(repo_like / name / f"{i:03d}.png")
    lines = [ln.split("#", 1)[0].strip() for ln in _blocks("bash")[-1].splitlines()]
    runnable = [ln for ln in lines if ln.startswith("python -m gans.metrics") and "runs/" not in ln]
    assert len(runnable) == 2, runnable
    for ln in runnable:
        argv = shlex.split(ln)
        res = subprocess.run([sys.executable, *argv[1:]], cwd=repo_like, capture_output=True, text=True,
                             timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
        assert res.returncode == 0, (ln, res.stdout[-2000:], res.stderr[-2000:])
        if "--save-stats" not in ln:
            assert "fid" in res.stdout.lower() and "kid" in res.stdout.lower(), res.stdout
    assert (repo_like / "real.npz").is_file()
