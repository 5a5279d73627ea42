"""Real-image loaders on fixture files in each real format, the embedded stand-ins, clear errors."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gans.data import build_dataset
from gans.data import images as gi
from gans.data import standins


# --------------------------------------------------------------------------- CelebA
def _celeba_folder(tmp_path: Path, n: int = 6, partition: bool = True) -> Path:
    """Aligned-format JPEGs (178 wide, 218 high) whose red/green channels encode x/y."""
    root = tmp_path / "celeba"
    folder = root / "img_align_celeba"
    folder.mkdir(parents=True)
    xs, ys = np.meshgrid(np.arange(178), np.arange(218))
    lines = []
    for i in range(n):
        arr = np.stack([xs, ys, np.full_like(xs, 40 * i)], -1).astype(np.uint8)
        name = f"{i + 1:06d}.jpg"
        Image.fromarray(arr).save(folder / name, quality=100, subsampling=0)
        lines.append(f"{name} {0 if i < 4 else (1 if i == 4 else 2)}")
    if partition:
        (root / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")
    return folder


def test_celeba_splits_and_centre_160_crop_box(tmp_path: Path) -> None:
    folder = _celeba_folder(tmp_path)
    ds = build_dataset({"name": "celeba", "path": str(folder), "resolution": 160}, seed=0)
    assert len(ds) == 4 and ds.info["name"] == "celeba160"
    x = ds[0]
    assert x.dtype == torch.uint8 and x.shape == (3, 160, 160)
    left, top, right, bottom = gi.CELEBA_CENTER_160_BOX
    # red encodes the column, green the row of the source image (JPEG q=100: error of a few levels)
    assert abs(int(x[0, 80, 0]) - left) <= 3 and abs(int(x[0, 80, -1]) - (right - 1)) <= 3
    assert abs(int(x[1, 0, 80]) - top) <= 3 and abs(int(x[1, -1, 80]) - (bottom - 1)) <= 3
    assert len(build_dataset({"name": "celeba", "path": str(folder), "split": "valid"}, 0)) == 1
    assert len(build_dataset({"name": "celeba", "path": str(folder), "split": "all"}, 0)) == 6


def test_celeba_64_is_the_resized_160_crop_and_augment_is_seeded(tmp_path: Path) -> None:
    folder = _celeba_folder(tmp_path)
    big = build_dataset({"name": "celeba", "path": str(folder), "resolution": 160}, 0)[1]
    small = build_dataset({"name": "celeba", "path": str(folder), "resolution": 64}, 0)[1]
    assert small.shape == (3, 64, 64)
    ref = gi.resize_uint8(big[None], 64)[0]
    assert torch.equal(small, ref)
    aug = build_dataset({"name": "celeba", "path": str(folder), "resolution": 160, "augment": True}, 5)
    assert torch.equal(aug[0], aug[0])  # same (seed, index, epoch) -> same crop
    offsets, flips = set(), set()
    for epoch in range(6):
        aug.set_epoch(epoch)
        for i in range(4):
            a = aug[i]
            # red = source column, green = source row: the crop's offsets inside the 178 square
            dx = int(a[0].min()) - gi.CELEBA_SQUARE_BOX[0]
            dy = int(a[1].min()) - gi.CELEBA_SQUARE_BOX[1]
            assert -3 <= dx <= 21 and -3 <= dy <= 21
            offsets.add((dx, dy))
            flips.add(int(a[0, 80, 0]) > int(a[0, 80, -1]))
    assert len(offsets) > 5 and flips == {True, False}


def test_celeba_errors_name_what_and_where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GANDIV_CELEBA", raising=False)
    with pytest.raises(ValueError, match="GANDIV_CELEBA"):
        build_dataset({"name": "celeba"}, 0)
    with pytest.raises(ValueError, match="does not exist"):
        build_dataset({"name": "celeba", "path": str(tmp_path / "nowhere")}, 0)
    folder = _celeba_folder(tmp_path, partition=False)
    with pytest.raises(ValueError, match="list_eval_partition.txt"):
        build_dataset({"name": "celeba", "path": str(folder)}, 0)
    (folder.parent / "list_eval_partition.txt").write_text("000001.jpg zero\n")
    with pytest.raises(ValueError, match="malformed"):
        build_dataset({"name": "celeba", "path": str(folder)}, 0)
    (folder.parent / "list_eval_partition.txt").write_text("000001.jpg 0\n")
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(folder / "000001.jpg")
    ds = build_dataset({"name": "celeba", "path": str(folder)}, 0)
    with pytest.raises(ValueError, match="178x218"):
        ds[0]


def test_celeba_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _celeba_folder(tmp_path)
    monkeypatch.setenv("GANDIV_CELEBA", str(folder))
    assert len(build_dataset({"name": "celeba"}, 0)) == 4


# --------------------------------------------------------------------------- ImageNet 64
def test_imagenet64_npz_batches_roundtrip_and_memmap_cache(tmp_path: Path, rng: np.random.Generator) -> None:
    folder = tmp_path / "Imagenet64_train_npz"
    folder.mkdir()
    parts = []
    for i, n in ((1, 5), (2, 7), (10, 3)):  # numeric order, not lexical (10 after 2)
        data = rng.integers(0, 256, size=(n, 12288), dtype=np.uint8)
        np.savez(folder / f"train_data_batch_{i}.npz", data=data, labels=np.arange(n) + 1)
        parts.append(data)
    np.savez(folder / "val_data.npz", data=parts[0][:2], labels=np.ones(2))
    cache = tmp_path / "cache"
    ds = build_dataset({"name": "imagenet64", "path": str(folder), "cache_dir": str(cache)}, 0)
    assert len(ds) == 15 and ds.info["name"] == "imagenet64"
    expected = np.concatenate(parts).reshape(-1, 3, 64, 64)
    for i in (0, 6, 14):
        assert torch.equal(ds[i], torch.from_numpy(expected[i]))
    assert list(cache.glob("*.npy")), "the decompressed memmap cache was not written"
    again = build_dataset({"name": "imagenet64", "path": str(folder), "cache_dir": str(cache)}, 0)
    assert isinstance(again.images, np.memmap) and torch.equal(again[14], ds[14])
    val = build_dataset({"name": "imagenet64", "path": str(folder), "split": "valid",
                         "cache_dir": str(cache), "resolution": 32}, 0)
    assert len(val) == 2 and val[0].shape == (3, 32, 32)


def test_imagenet64_malformed_batches(tmp_path: Path) -> None:
    folder = tmp_path / "inet"
    folder.mkdir()
    with pytest.raises(ValueError, match="train_data_batch"):
        build_dataset({"name": "imagenet64", "path": str(folder)}, 0)
    np.savez(folder / "train_data_batch_1.npz", data=np.zeros((2, 100), np.uint8))
    with pytest.raises(ValueError, match="12288"):
        build_dataset({"name": "imagenet64", "path": str(folder)}, 0)
    np.savez(folder / "train_data_batch_1.npz", images=np.zeros((2, 12288), np.uint8))
    with pytest.raises(ValueError, match="'data'"):
        build_dataset({"name": "imagenet64", "path": str(folder)}, 0)
    (folder / "train_data_batch_1.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="npz"):
        build_dataset({"name": "imagenet64", "path": str(folder)}, 0)


def _inet_batches(folder: Path, value: int, sizes: tuple[int, ...] = (3, 2)) -> None:
    """ImageNet64 batches whose every pixel is ``value`` (same names and file sizes for any value)."""
    folder.mkdir(exist_ok=True)
    for i, n in enumerate(sizes, 1):
        np.savez(folder / f"train_data_batch_{i}.npz", data=np.full((n, 12288), value, np.uint8),
                 labels=np.arange(n) + 1)


def test_imagenet64_cache_follows_the_content_of_the_batches(tmp_path: Path) -> None:
    folder, cache = tmp_path / "inet", tmp_path / "cache"
    cfg = {"name": "imagenet64", "path": str(folder), "cache_dir": str(cache)}
    _inet_batches(folder, 0)
    assert int(build_dataset(cfg, 0)[4].max()) == 0
    sizes = sorted(p.stat().st_size for p in folder.glob("*.npz"))
    _inet_batches(folder, 255)  # replaced: same count, names and sizes, new pixels
    assert sorted(p.stat().st_size for p in folder.glob("*.npz")) == sizes
    ds = build_dataset(cfg, 0)
    assert len(ds) == 5 and int(ds[0].min()) == 255 and int(ds[4].min()) == 255
    assert isinstance(ds.images, np.memmap) and len(list(cache.glob("imagenet64_train_*.npy"))) == 2
    # an unchanged folder reuses its cache file: nothing new is written
    before = {p: p.stat().st_mtime_ns for p in cache.iterdir()}
    assert int(build_dataset(cfg, 0)[2].min()) == 255
    assert {p: p.stat().st_mtime_ns for p in cache.iterdir()} == before


@pytest.mark.parametrize("damage", ["garbage", "truncated", "wrong_array"])
def test_corrupt_imagenet64_cache_is_named_and_rebuilt(tmp_path: Path, damage: str) -> None:
    folder, cache = tmp_path / "inet", tmp_path / "cache"
    cfg = {"name": "imagenet64", "path": str(folder), "cache_dir": str(cache)}
    _inet_batches(folder, 7)
    build_dataset(cfg, 0)
    (cache_file,) = cache.glob("imagenet64_train_*.npy")
    if damage == "garbage":
        cache_file.write_bytes(b"\x00garbage" * 100)
    elif damage == "truncated":
        cache_file.write_bytes(cache_file.read_bytes()[:5000])
    else:
        np.save(cache_file, np.zeros((5, 10), np.float32))
    with pytest.warns(RuntimeWarning, match=rf"{cache_file.name}.*corrupt.*rebuilding"):
        ds = build_dataset(cfg, 0)
    assert len(ds) == 5 and int(ds[3].min()) == 7 == int(ds[3].max())
    assert np.load(cache_file, mmap_mode="r").shape == (5, 3, 64, 64)  # the rebuilt cache is sound


# --------------------------------------------------------------------------- CIFAR-10
def _cifar_folder(tmp_path: Path, rng: np.random.Generator) -> tuple[Path, np.ndarray]:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    arrays = []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, size=(4, 3072), dtype=np.uint8)
        with open(folder / name, "wb") as fh:
            pickle.dump({b"data": data, b"labels": [0, 1, 2, 3], b"batch_label": b"x"}, fh)
        arrays.append(data)
    return folder, np.stack(arrays)


def test_cifar10_pickle_batches(tmp_path: Path, rng: np.random.Generator,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    folder, arrays = _cifar_folder(tmp_path, rng)
    monkeypatch.setenv("GANDIV_CIFAR10", str(folder))
    ds = build_dataset({"name": "cifar10"}, 0)
    assert len(ds) == 20 and ds[0].shape == (3, 32, 32)
    assert torch.equal(ds[5], torch.from_numpy(arrays[1][1].reshape(3, 32, 32)))  # CHW order
    test = build_dataset({"name": "cifar10", "split": "test", "resolution": 64}, 0)
    assert len(test) == 4 and test[0].shape == (3, 64, 64)


def test_cifar10_refuses_code_in_pickles_and_missing_batches(tmp_path: Path, rng: np.random.Generator) -> None:
    folder, _ = _cifar_folder(tmp_path, rng)

    class Evil:
        def __reduce__(self):  # noqa: D105
            return (print, ("executed",))

    with open(folder / "data_batch_3", "wb") as fh:
        pickle.dump({b"data": Evil()}, fh)
    with pytest.raises(ValueError, match="data_batch_3"):
        build_dataset({"name": "cifar10", "path": str(folder)}, 0)
    (folder / "data_batch_3").unlink()
    with pytest.raises(ValueError, match="data_batch_3"):
        build_dataset({"name": "cifar10", "path": str(folder)}, 0)


# --------------------------------------------------------------------------- image folder
def test_image_folder_centre_square_and_errors(tmp_path: Path) -> None:
    folder = tmp_path / "pics"
    (folder / "sub").mkdir(parents=True)
    wide = np.zeros((40, 80, 3), np.uint8)
    wide[:, 20:60] = 255  # the centre 40x40 square is white, the rest black
    Image.fromarray(wide).save(folder / "a.png")
    Image.fromarray(np.full((50, 50, 3), 7, np.uint8)).save(folder / "sub" / "b.png")
    (folder / "notes.txt").write_text("ignored")
    ds = build_dataset({"name": "image_folder", "path": str(folder), "resolution": 16}, 0)
    assert len(ds) == 2 and ds[0].shape == (3, 16, 16)
    assert int(ds[0].min()) == 255 and int(ds[1].max()) == 7
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no images"):
        build_dataset({"name": "image_folder", "path": str(empty)}, 0)


def test_loader_batches_stay_uint8_with_workers(tmp_path: Path, rng: np.random.Generator) -> None:
    folder, _ = _cifar_folder(tmp_path, rng)
    ds = build_dataset({"name": "cifar10", "path": str(folder)}, 0)
    loader = gi.make_loader(ds, batch_size=8, seed=3, workers=2)
    batches = list(loader)
    assert len(batches) == 2 and all(b.dtype == torch.uint8 and b.shape == (8, 3, 32, 32) for b in batches)
    again = [b for b in gi.make_loader(ds, batch_size=8, seed=3, workers=0)]
    assert all(torch.equal(a, b) for a, b in zip(batches, again))  # seeded shuffling
    y = gi.to_float(batches[0])
    assert y.min() >= -1 and y.max() <= 1
    with pytest.raises(ValueError, match="uint8"):
        gi.to_float(y)


# --------------------------------------------------------------------------- stand-ins
@pytest.mark.parametrize("name,count", [("lfw_faces", 200), ("skimage_crops", 300), ("digits", 1797)])
def test_standin_shapes_ranges_and_names(name: str, count: int) -> None:
    extra = {"n": 300} if name == "skimage_crops" else {}  # only the crops take a count
    ds = build_dataset({"name": name, "resolution": 32, **extra}, seed=1)
    assert len(ds) == count
    x = torch.stack([ds[i] for i in range(0, count, max(1, count // 50))])
    assert x.dtype == torch.uint8 and x.shape[1:] == (3, 32, 32)
    assert int(x.max()) - int(x.min()) > 100  # real image content, not a constant
    text = (ds.info["name"] + " " + ds.info["description"]).lower()
    assert "stand-in" in text and "celeba" not in ds.info["name"] and "imagenet" not in ds.info["name"]


def test_standin_crops_are_seeded() -> None:
    a = standins.skimage_crops(16, n=20, seed=0).images
    b = standins.skimage_crops(16, n=20, seed=0).images
    c = standins.skimage_crops(16, n=20, seed=1).images
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_lfw_faces_are_the_faces_and_their_mirrors() -> None:
    ds = standins.lfw_faces(25)
    assert torch.equal(ds[0].flip(-1), ds[100])
    assert torch.equal(ds[0][0], ds[0][1])  # grayscale replicated to 3 channels


def test_unknown_names_and_bad_resolution() -> None:
    with pytest.raises(ValueError, match="data.name"):
        gi.build({"name": "lfw_faces"}, 0)
    with pytest.raises(ValueError, match="resolution"):
        build_dataset({"name": "digits", "resolution": 0}, 0)
