"""Every image-comparison config trains for 2 steps on the CPU at tiny size (C31 plumbing).

The paper configs read real data: the test writes fixture files in the real formats (aligned
CelebA JPEGs with their partition file, ImageNet 64x64 ``.npz`` batches) and points the
config at them; the quick configs use the embedded stand-in.  Each run evaluates once with
the fallback features, so ``metrics.csv`` must carry FID/KID with the sample counts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from gans.config import resolve
from gans.train import train

CONFIG_ROOT = Path(__file__).resolve().parents[1] / "experiments" / "configs" / "image"
CONFIGS = sorted(CONFIG_ROOT.glob("*/*.yaml"))
METHODS = {"wgan_gp", "sngan", "mmd_gp", "smmd", "sn_smmd"}


def test_every_set_has_the_five_methods() -> None:
    for group in ("quick", "paper_celeba160", "paper_imagenet64"):
        assert {p.stem for p in (CONFIG_ROOT / group).glob("*.yaml")} == METHODS


@pytest.fixture(scope="module")
def fixture_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("image_data")
    rng = np.random.default_rng(0)
    celeba = root / "img_align_celeba"
    celeba.mkdir()
    lines = []
    for i in range(6):
        name = f"{i + 1:06d}.jpg"
        Image.fromarray(rng.integers(0, 256, (218, 178, 3), dtype=np.uint8)).save(celeba / name)
        lines.append(f"{name} 0")
    (root / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")
    inet = root / "imagenet64"
    inet.mkdir()
    np.savez(inet / "train_data_batch_1.npz", data=rng.integers(0, 256, (6, 12288), dtype=np.uint8),
             labels=np.arange(6))
    return {"celeba": celeba, "imagenet64": inet, "cache": root / "cache"}


@pytest.mark.parametrize("path", CONFIGS, ids=[f"{p.parent.name}/{p.stem}" for p in CONFIGS])
def test_c31_config_trains_two_steps_on_cpu(path: Path, fixture_data: dict[str, Path], tmp_path: Path) -> None:
    base = resolve(path)
    assert base["loss"]["name"] in {"wgan_gp", "hinge", "mmd_gp", "smmd", "sn_smmd"}
    assert base["train"]["n_critic"] == 5 and base["latent"]["distribution"] == "uniform"
    overrides = ["device=cpu", "train.iterations=2", "train.batch_size=4", "train.n_critic=1",
                 "train.amp=none", "train.progress=false", "train.log_every=1", "train.sample_every=0",
                 "train.n_samples=4",
                 "generator.ch=4", "discriminator.ch=4", "eval.every=2", "eval.n=6", "eval.batch_size=6",
                 "eval.feature_network=fallback", "eval.kid_subsets=2", "eval.kid_subset_size=4"]
    name = base["data"]["name"]
    if name in fixture_data:
        overrides.append(f"data.path={fixture_data[name]}")
    if name == "imagenet64":
        overrides.append(f"data.cache_dir={fixture_data['cache']}")
    cfg = resolve(path, overrides)
    run = train(cfg, tmp_path / "run")
    m = pd.read_csv(run / "metrics.csv")
    last = m.iloc[-1]
    assert int(last["step"]) == 2
    assert np.isfinite(last["eval_fid"]) and last["eval_fid"] >= 0 and np.isfinite(last["eval_kid_mean"])
    assert int(last["eval_n_fake"]) == 6 and int(last["eval_n_real"]) == 6
    assert "not Inception" in str(last["eval_feature_network"])
    assert (run / "checkpoint.pt").is_file()
