"""The prepared GPU command runs end to end on a CPU (issue 13 item 5): ``experiments/gpu/run_all.sh
OUT --cpu-smoke`` runs the same steps as on a GPU -- the ``gpu``-marked tests (on the CPU), the
throughput and estimator benchmarks (tiny sizes), the 64 px comparison of the five methods on
mnist5k (4 iterations each) and its report -- and writes every file the GPU run commits."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "experiments" / "gpu" / "run_all.sh"
METHODS = ("WGAN-GP", "SN-GAN", "MMD-GAN-GP", "SMMD-GAN", "SN-SMMD-GAN")


@pytest.fixture(scope="module")
def smoke_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("bash") is None or shutil.which("timeout") is None:
        pytest.fail("run_all.sh needs bash and coreutils' timeout")
    out = tmp_path_factory.mktemp("gpu_smoke")
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    res = subprocess.run(["bash", str(SCRIPT), str(out), "--cpu-smoke"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    return out


def test_smoke_run_writes_every_output(smoke_out: Path) -> None:
    log = (smoke_out / "run_all.log").read_text()
    assert "machine:" in log and "== done in" in log
    gpu_log = (smoke_out / "pytest_gpu.log").read_text()
    assert " passed" in gpu_log and "failed" not in gpu_log and "error" not in gpu_log.lower()
    tp = pd.read_csv(smoke_out / "benchmarks" / "train_throughput.csv")
    assert set(tp["model"]) == {"dcgan-64", "resnet-64"} and (tp["images_per_s"] > 0).all()
    est = pd.read_csv(smoke_out / "benchmarks" / "estimators_gpu.csv")
    assert len(est) == 2 and (est["seconds"] > 0).all() and est["machine"].notna().all()
    for name in ("image_comparison_gpu64_scores.png", "image_comparison_gpu64_samples.png"):
        assert (smoke_out / "gpu" / name).stat().st_size > 10_000
    table = pd.read_csv(smoke_out / "gpu" / "image_comparison_gpu64.csv")
    measured = table[table["source"] != "paper"]
    assert sorted(measured["method"]) == sorted(METHODS)
    assert (measured["generator_iterations"] == 4).all() and (measured["start_iteration"] == 0).all()
    assert measured["device"].str.startswith("CPU").all()
    assert measured["dataset"].eq("mnist5k").all() and measured["feature_network"].str.startswith("lenet-mnist5k").all()


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    for args in ([], ["--cpu-smoke"], [str(tmp_path), "--fast"]):
        res = subprocess.run(["bash", str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert res.returncode == 2, (args, res.stdout, res.stderr)
