"""``gans.metrics.compare`` and ``python -m gans.metrics``: FID / KID / IS between two inputs (C28-C30).

Inputs: image folders, image ``.npz`` files, saved statistics and a tiny training run (2 px of
training on random 1-channel images).  The scores must be those of ``dv.fid`` / ``dv.kid`` /
``dv.inception_score`` on the features of the same images, and equal to what the trainer's
evaluator reports for the same run, data, n and seed.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import divergences as dv
from gans.data.images import ArrayImageDataset
from gans.metrics import compare
from gans.metrics.__main__ import build_parser, main
from gans.metrics.compare import STATS_FORMAT, load_stats
from gans.metrics.evaluate import evaluate_generator
from gans.metrics.lenet import load_lenet_mnist5k
from gans.train import load_generator, load_run_config, train

REPO = Path(__file__).resolve().parents[1]
N_A, N_B, SIDE = 24, 20, 28
EPS64 = float(np.finfo(np.float64).eps)


def _images(rng: np.random.Generator, n: int, shift: int) -> np.ndarray:
    """``n`` grayscale (H, W) uint8 images: noise in 0..199 plus ``shift``."""
    return np.clip(rng.integers(0, 200, (n, SIDE, SIDE)) + shift, 0, 255).astype(np.uint8)


def _write_folder(folder: Path, imgs: np.ndarray) -> Path:
    """PNGs in two sub-folders (the search is recursive); the sorted paths follow the index."""
    for i, im in enumerate(imgs):
        sub = folder / f"part{2 * i // len(imgs)}"
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(im).save(sub / f"{i:03d}.png")
    return folder


TINY_RUN = {
    "seed": 0, "device": "cpu",
    "data": {"name": "random_images", "n": 32, "resolution": 32, "channels": 1},
    "latent": {"dim": 8, "distribution": "uniform"},
    "generator": {"name": "dcgan", "resolution": 32, "channels": 1, "ch": 4},
    "discriminator": {"name": "dcgan", "resolution": 32, "channels": 1, "ch": 4, "out_dim": 1},
    "loss": {"name": "nsgan"},
    "train": {"iterations": 1, "batch_size": 4, "n_critic": 1, "amp": "none", "progress": False, "log_every": 1,
              "sample_every": 0, "n_samples": 4, "ema_halflife_images": 8},
}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("compare")
    rng = np.random.default_rng(7)
    ia, ib = _images(rng, N_A, 0), _images(rng, N_B, 50)
    out = {"root": root, "A": _write_folder(root / "A", ia), "B": _write_folder(root / "B", ib)}
    # the same pixels as .npz files in the three layouts
    np.savez(root / "a_nhw.npz", images=ia)
    np.savez(root / "a_nchw.npz", ia[:, None])              # arr_0
    np.savez(root / "a_nhwc.npz", other=ia[..., None])       # the only array
    np.savez(root / "b_rgb.npz", images=np.repeat(ib[..., None], 3, axis=3))
    for k in ("a_nhw", "a_nchw", "a_nhwc", "b_rgb"):
        out[k] = root / f"{k}.npz"
    out["real32"] = root / "real32.npz"
    np.savez(out["real32"], images=rng.integers(0, 256, (N_A, 1, 32, 32), dtype=np.uint8))
    out["run"] = train(TINY_RUN, root / "run")
    return out


def _direct_features(imgs: np.ndarray, seed: int) -> np.ndarray:
    """LeNet features of (N, H, W) grayscale images in the order compare documents:
    ``default_rng([seed, 99]).permutation(N)``, one channel (the LeNet's own input), one batch."""
    order = np.random.default_rng([seed, 99]).permutation(len(imgs))
    with torch.no_grad():
        f, _ = load_lenet_mnist5k()(torch.from_numpy(imgs[order])[:, None])
    return f.double().numpy()


def _folder_pixels(folder: Path) -> np.ndarray:
    files = sorted(p for p in folder.rglob("*.png"))
    return np.stack([np.asarray(Image.open(p)) for p in files])


def test_two_folders_give_dv_fid_and_kid_of_their_features(data: dict[str, Path]) -> None:
    stats = data["root"] / "a_stats.npz"
    res = compare(data["A"], str(data["B"]), feature_network="lenet-mnist5k", kid_subsets=7, save_stats=stats)
    assert res["n_a"] == N_A and res["n_b"] == N_B and res["kind_a"] == res["kind_b"] == "folder"
    assert res["feature_network"].startswith("lenet-mnist5k (trained here") and res["device"] == "cpu"
    assert res["feature_dim"] == 84
    assert res["kid_subset_size"] == N_B and res["kid_subset_size_requested"] == 1000
    assert any("capped at 20" in n for n in res["notes"])
    # the features compare used are the LeNet's on the images in the documented order (float32
    # network outputs: the only freedom is the summation order inside the convolutions; 3 equal
    # channels averaged back to 1 are exact)
    fa = load_stats(stats)["features"]
    direct = _direct_features(_folder_pixels(data["A"]), 0)
    np.testing.assert_allclose(fa, direct, rtol=1e-5, atol=1e-6 * float(np.abs(direct).max()))
    # and the scores are dv's on those features, exactly (same function, same arrays)
    # side b is drawn with seed + 1: the same features as B taken alone as side a with seed 1
    compare(data["B"], None, feature_network="lenet-mnist5k", seed=1, save_stats=data["root"] / "b_stats.npz")
    fb = load_stats(data["root"] / "b_stats.npz")["features"]
    assert res["fid"] == float(dv.fid(fa, fb))
    k = dv.kid(fa, fb, subsets=7, subset_size=N_B, seed=0)
    assert (res["kid_mean"], res["kid_std"]) == (float(k.mean), float(k.std))
    for s, f in (("a", fa), ("b", fb)):
        lg = load_stats(data["root"] / ("a_stats.npz" if s == "a" else "b_stats.npz"))["logits"]
        r = dv.inception_score(lg, splits=10)
        assert (res[f"is_{s}_mean"], res[f"is_{s}_std"]) == (float(r.mean), float(r.std))
    assert res["fid"] > 0 and math.isfinite(res["kid_mean"])


def test_npz_layouts_and_folders_of_the_same_pixels_agree(data: dict[str, Path]) -> None:
    """(N, H, W), (N, 1, H, W) under arr_0, (N, H, W, 1) as the only array and grayscale PNGs are the
    same images; 3 equal channels equal 1 channel replicated: every score is identical."""
    kw = {"feature_network": "lenet-mnist5k", "kid_subsets": 3}
    ref = compare(data["a_nhw"], data["b_rgb"], **kw)
    assert ref["kind_a"] == ref["kind_b"] == "images" and ref["n_a"] == N_A and ref["n_b"] == N_B
    assert {"is_a_mean", "is_b_mean"} <= set(ref) and 1 <= ref["is_a_mean"] <= 10
    for a, b in ((data["a_nchw"], data["b_rgb"]), (data["a_nhwc"], data["b_rgb"]), (data["A"], data["B"])):
        res = compare(a, b, **kw)
        for key in ("fid", "kid_mean", "kid_std", "is_a_mean", "is_b_mean"):
            assert res[key] == ref[key], (a, b, key)


def test_run_directory_matches_the_trainers_evaluator(data: dict[str, Path]) -> None:
    """compare(real images, run, n) = evaluate_generator(G, same images, n, seed): side a is drawn
    like the evaluator's real subset, side b's codes with seed + 1 from the run's latent prior."""
    n, kw = 16, {"kid_subsets": 5, "kid_subset_size": 8}
    res = compare(data["real32"], data["run"], feature_network="lenet-mnist5k", n=n, seed=3, **kw)
    assert res["kind_b"] == "run" and res["n_a"] == n and res["n_b"] == n and res["kid_subset_size"] == 8
    cfg = load_run_config(data["run"])
    with np.load(data["real32"]) as z:
        real = ArrayImageDataset(z["images"], {"name": "real32", "description": "test"})
    ev = evaluate_generator(load_generator(data["run"]), real,
                            {"n": n, "feature_network": "lenet-mnist5k", "latent": cfg["latent"], **kw}, "cpu", seed=3)
    assert (res["fid"], res["kid_mean"], res["kid_std"]) == (ev["fid"], ev["kid_mean"], ev["kid_std"])
    assert (res["is_b_mean"], res["is_b_std"]) == (ev["is_mean"], ev["is_std"])
    # n defaults to the other side's count; the run folder's samples/ PNGs are never read as data
    assert compare(data["real32"], data["run"] / "checkpoint.pt", feature_network="lenet-mnist5k",
                   kid=False)["n_b"] == N_A


def test_saved_statistics_round_trip(data: dict[str, Path]) -> None:
    stats = data["root"] / "rt.npz"
    first = compare(data["A"], data["B"], feature_network="lenet-mnist5k", kid_subsets=4, save_stats=stats)
    again = compare(stats, data["B"], feature_network="lenet-mnist5k", kid_subsets=4)
    assert again["kind_a"] == "stats" and again["n_a"] == N_A
    for key in ("fid", "kid_mean", "kid_std", "is_a_mean", "is_a_std", "is_b_mean"):
        assert again[key] == first[key], key
    # with feature_network left at auto, the file's network is used for the other side too
    with np.load(stats) as z:
        assert str(z["format"]) == STATS_FORMAT and int(z["n"]) == N_A
        mu, sigma, feats = z["mu"], z["sigma"], z["features"]
    np.testing.assert_array_equal(mu, feats.mean(0))
    # a mean/covariance-only file (pytorch-fid's keys): FID through dv.frechet_distance, no KID
    only = data["root"] / "musigma.npz"
    np.savez(only, mu=mu, sigma=sigma)
    res = compare(only, data["B"], feature_network="lenet-mnist5k")
    assert "kid_mean" not in res and any("KID skipped" in s for s in res["notes"])
    compare(data["B"], None, feature_network="lenet-mnist5k", seed=1, save_stats=data["root"] / "b_l.npz")
    fb = load_stats(data["root"] / "b_l.npz")["features"]
    mb, sb = fb.mean(0), np.cov(fb, rowvar=False, ddof=1)
    assert res["fid"] == float(dv.frechet_distance(mu, sigma, mb, sb))
    # ... which agrees with dv.fid on the features up to rounding: moments in float64 differ by
    # ~n eps |f|^2, and the trace of a matrix square root moves by at most d sqrt(delta) under a
    # perturbation delta of its eigenvalues (delta <= d eps ||S_a|| ||S_b||): the bound below
    d = fb.shape[1]
    tol = 2 * d * math.sqrt(d * EPS64 * np.trace(sigma) * np.trace(sb)) + 1e-9 * first["fid"]
    assert abs(res["fid"] - first["fid"]) <= tol
    with pytest.raises(ValueError, match=r"^a: .*mean/covariance only; KID needs the features"):
        compare(only, data["B"], feature_network="lenet-mnist5k", kid=True)


def test_feature_cache_is_keyed_by_content(data: dict[str, Path], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    kw = {"feature_network": "lenet-mnist5k", "kid": False, "inception_score": False, "cache_dir": cache}
    first = compare(data["A"], data["b_rgb"], **kw)
    assert first["cached_a"] is False and first["cached_b"] is False and len(list(cache.glob("*.npz"))) == 2
    second = compare(data["A"], data["b_rgb"], **kw)
    assert second["cached_a"] is True and second["cached_b"] is True and second["fid"] == first["fid"]
    # the same bytes elsewhere: a hit (the key is the content, not the path)
    copy = Path(shutil.copytree(data["A"], tmp_path / "A_copy"))
    assert compare(copy, data["b_rgb"], **kw)["cached_a"] is True
    # one pixel of one file changed: a new key, recomputed, and a different score
    f = sorted(copy.rglob("*.png"))[3]
    pix = np.asarray(Image.open(f)).copy()
    pix[0, 0] ^= 1
    Image.fromarray(pix).save(f)
    third = compare(copy, data["b_rgb"], **kw)
    assert third["cached_a"] is False and third["fid"] != first["fid"]


def test_bad_inputs_raise_value_errors_naming_the_argument(data: dict[str, Path], tmp_path: Path) -> None:
    fb = {"feature_network": "fallback"}
    with pytest.raises(ValueError, match=r"^a: .* does not exist"):
        compare(tmp_path / "missing", data["B"], **fb)
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    with pytest.raises(ValueError, match=r"^b: no images"):
        compare(data["A"], tmp_path / "empty", **fb)
    (tmp_path / "junk.npz").write_bytes(b"not a zip archive at all")
    with pytest.raises(ValueError, match=r"^b: .*not a readable \.npz"):
        compare(data["A"], tmp_path / "junk.npz", **fb)
    np.savez(tmp_path / "float.npz", images=np.zeros((4, 8, 8), dtype=np.float32))
    with pytest.raises(ValueError, match=r"^a: .*float32 values; expected uint8"):
        compare(tmp_path / "float.npz", data["B"], **fb)
    np.savez(tmp_path / "ambiguous.npz", images=np.zeros((4, 3, 8, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"^a: .*ambiguous"):
        compare(tmp_path / "ambiguous.npz", data["B"], **fb)
    np.savez(tmp_path / "two.npz", x=np.zeros((4, 8, 8), np.uint8), y=np.zeros((4, 8, 8), np.uint8))
    with pytest.raises(ValueError, match=r"^a: .*holds the arrays \['x', 'y'\]"):
        compare(tmp_path / "two.npz", data["B"], **fb)
    mixed = _write_folder(tmp_path / "mixed", _images(np.random.default_rng(1), 4, 0))
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(mixed / "part1" / "999.png")
    with pytest.raises(ValueError, match=r"^a: images differ in size"):
        compare(mixed, data["B"], **fb)
    assert compare(mixed, data["B"], resolution=28, feature_network="lenet-mnist5k", kid=False)["n_a"] == 5
    compare(data["a_nhw"], None, feature_network="lenet-mnist5k", save_stats=tmp_path / "lenet.npz")
    with pytest.raises(ValueError, match=r"^a: the statistics in .* were computed with 'lenet-mnist5k"):
        compare(tmp_path / "lenet.npz", data["B"], **fb)
    with pytest.raises(ValueError, match=r"^inception_score: "):
        compare(data["A"], data["B"], inception_score=True, **fb)
    with pytest.raises(ValueError, match=r"^feature_network: "):
        compare(data["A"], data["B"], feature_network="vgg")
    with pytest.raises(ValueError, match=r"^n: "):
        compare(data["A"], data["B"], n=1, **fb)
    with pytest.raises(ValueError, match=r"^save_stats: "):
        compare(data["A"], data["B"], save_stats=tmp_path / "stats.txt", **fb)


def test_cli_prints_scores_and_exits_0(data: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    argv = [str(data["A"]), str(data["B"]), "--feature-network", "lenet-mnist5k", "--kid-subsets", "3", "--seed", "2"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"(folder, {N_A} images)" in out and f"(folder, {N_B} images)" in out and "lenet-mnist5k" in out
    assert "FID" in out and "KID" in out and "3 subsets of 20, capped from 1000" in out and "device cpu" in out
    assert "IS A" in out and "IS B" in out
    assert main(argv + ["--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    ref = compare(data["A"], data["B"], feature_network="lenet-mnist5k", kid_subsets=3, seed=2)
    assert res == json.loads(json.dumps(ref))
    assert main(argv[:2] + ["--is", "--feature-network", "lenet-mnist5k", "--json"]) == 0
    only_is = json.loads(capsys.readouterr().out)
    assert "fid" not in only_is and "kid_mean" not in only_is and "is_b_mean" in only_is


def test_cli_missing_folder_exits_2_with_one_line(data: dict[str, Path], tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "gans.metrics", str(tmp_path / "nope"), str(data["B"])],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert lines[0].startswith("python -m gans.metrics: error: a: ") and "does not exist" in lines[0]
    help_text = build_parser().format_help()
    for opt in ("--fid", "--kid", "--is", "--feature-network", "--n", "--save-stats", "--device", "--seed",
                "--batch-size", "--json", "--resolution", "--cache-dir", "training run", "statistics .npz"):
        assert opt in help_text, opt
