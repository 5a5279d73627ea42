"""Real-batch streams with worker prefetching: same batches for any worker count, exact resume
from the *consumed* state, per-epoch augmentation that is reproducible (issue 7 item 1)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gans import checkpoint as ckpt
from gans.data import build_dataset, to_model_input
from gans.data import images as gi
from gans.data.prefetch import IndexStream, Prefetcher, resolve_workers
from gans.train import BatchStream, train


def _png_folder(tmp_path: Path, n: int = 20) -> Path:
    """``n`` random 16x16 PNGs (lossless, so items are exact)."""
    rng = np.random.default_rng(7)
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(folder / f"{i:03d}.png")
    return folder


def _celeba_folder(tmp_path: Path, n: int = 4) -> Path:
    """Aligned-format JPEGs (178x218) whose red/green channels encode the source column/row."""
    folder = tmp_path / "img_align_celeba"
    folder.mkdir()
    xs, ys = np.meshgrid(np.arange(178), np.arange(218))
    for i in range(n):
        arr = np.stack([xs, ys, np.full_like(xs, 50 * i)], -1).astype(np.uint8)
        Image.fromarray(arr).save(folder / f"{i + 1:06d}.jpg", quality=95)
    return folder


def _celeba(folder: Path, seed: int) -> gi.CelebA:
    return build_dataset({"name": "celeba", "path": str(folder), "split": "all", "resolution": 160,
                          "augment": True}, seed)


def test_index_stream_epochs_copy_and_errors() -> None:
    s = IndexStream(5, seed=1)
    idx, ep = s.next(7)  # crosses into the second permutation
    assert sorted(idx[:5].tolist()) == list(range(5)) and ep.tolist() == [0] * 5 + [1] * 2
    c = s.copy()
    assert all(torch.equal(a, b) for a, b in zip(s.next(6), c.next(6)))
    state = s.state_dict()
    assert state["epoch"] == 2 and state["pos"] == 3
    with pytest.raises(ValueError, match="batch_size"):
        s.next(0)
    with pytest.raises(ValueError, match="dataset holds"):
        IndexStream(4, 0).load_state_dict(state)
    with pytest.raises(ValueError, match="data.workers"):
        resolve_workers(-1, torch.device("cpu"))
    assert resolve_workers("auto", torch.device("cpu")) == 0 and resolve_workers(3, torch.device("cpu")) == 3


def test_resume_with_two_workers_is_bit_identical_on_an_image_folder(tmp_path: Path) -> None:
    """6 steps with workers=0 == 3 steps with workers=2, stop, resume to 6 (with 2 workers, and
    with 0): G, D, EMA and optimiser states bit-identical.  The checkpoint's stream state is the
    consumed one: 3 steps x (1 critic + 1 generator batch) x 8 = 48 items of 20 = epoch 2, pos 8,
    although the workers had prefetched batches beyond it."""
    folder = _png_folder(tmp_path)
    cfg = {"seed": 2, "device": "cpu",
           "data": {"name": "image_folder", "path": str(folder), "resolution": 16, "workers": 0},
           "latent": {"dim": 8},
           "generator": {"name": "dcgan", "resolution": 16, "ch": 4},
           "discriminator": {"name": "dcgan", "resolution": 16, "ch": 4},
           "loss": {"name": "nsgan"},
           "train": {"iterations": 6, "batch_size": 8, "n_critic": 1, "ema_halflife_images": 40, "log_every": 3,
                     "sample_every": 0, "checkpoint_every": 3, "progress": False, "n_samples": 4}}
    with2 = {**cfg, "data": {**cfg["data"], "workers": 2}}
    full = train(cfg, tmp_path / "full")
    part = train({**with2, "train": {**cfg["train"], "iterations": 3}}, tmp_path / "part")
    real = ckpt.load_checkpoint(part)["sampler"][0]["real"]
    assert (real["epoch"], real["pos"]) == (2, 8)
    part0 = tmp_path / "part0"
    shutil.copytree(part, part0)
    train(with2, part, resume=True)
    train(cfg, part0, resume=True)  # the worker count is not part of the run's identity
    a = ckpt.load_checkpoint(full)
    for run in (part, part0):
        b = ckpt.load_checkpoint(run)
        assert b["step"] == 6
        for key in ("generator", "discriminator", "ema"):
            assert all(torch.equal(a[key][k], b[key][k]) for k in a[key]), key
        for key in ("opt_g", "opt_d"):
            for sa, sb in zip(a[key]["state"].values(), b[key]["state"].values()):
                assert all(torch.equal(sa[k], sb[k]) for k in sa), key
    # a different seed gives different weights (the comparisons above can fail)
    other = ckpt.load_checkpoint(train({**cfg, "seed": 3}, tmp_path / "other"))["generator"]
    assert any(not torch.equal(other[k], a["generator"][k]) for k in other)


def test_celeba_augmentation_differs_between_epochs_and_repeats_per_seed(tmp_path: Path) -> None:
    """Batch = whole dataset, so batch k is epoch k.  Each row equals ``item_at(index, epoch)``;
    every image is cropped/flipped differently in epochs 0, 1, 2; a second run with the same
    seeds (0 workers instead of 2, fresh dataset) gives the same batches; a different data seed
    gives other crops; the parent dataset is never mutated."""
    folder = _celeba_folder(tmp_path)
    ds = _celeba(folder, seed=5)
    run_a = BatchStream(ds, 4, seed=11, device=torch.device("cpu"), workers=2)
    a = [run_a() for _ in range(3)]
    run_a.close()
    run_b = BatchStream(_celeba(folder, seed=5), 4, seed=11, device=torch.device("cpu"), workers=0)
    b = [run_b() for _ in range(3)]
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    ref = IndexStream(4, seed=11)
    per_image: dict[int, list[torch.Tensor]] = {}
    for k, batch in enumerate(a):
        idx, ep = ref.next(4)
        assert ep.tolist() == [k] * 4
        for row, i in zip(batch, idx.tolist()):
            assert torch.equal(row, to_model_input(ds.item_at(i, k)))
            per_image.setdefault(i, []).append(row)
    for i, rows in per_image.items():
        assert not torch.equal(rows[0], rows[1]) and not torch.equal(rows[1], rows[2]), i
    assert ds.epoch == 0
    other_seed = _celeba(folder, seed=6)
    assert any(not torch.equal(other_seed.item_at(i, 0), ds.item_at(i, 0)) for i in range(4))


def test_stream_resumes_mid_epoch_with_workers(tmp_path: Path) -> None:
    """Batches of 3 over 4 images (epochs cross inside batches): 2 batches, state_dict, a fresh
    stream with workers loads it and yields exactly batches 3..5 of the uninterrupted stream."""
    folder = _celeba_folder(tmp_path)
    cpu = torch.device("cpu")
    whole = BatchStream(_celeba(folder, 5), 3, seed=4, device=cpu, workers=0)
    ref = [whole() for _ in range(5)]
    first = BatchStream(_celeba(folder, 5), 3, seed=4, device=cpu, workers=2)
    assert all(torch.equal(first(), ref[k]) for k in range(2))
    state = first.state_dict()
    first.close()
    assert (state["epoch"], state["pos"]) == (1, 2)
    second = BatchStream(_celeba(folder, 5), 3, seed=4, device=cpu, workers=2)
    second.load_state_dict(state)
    assert all(torch.equal(second(), ref[k]) for k in range(2, 5))
    second.close()


def test_prefetcher_leaves_global_rng_alone_and_make_loader_advances_epochs(tmp_path: Path) -> None:
    """Starting workers draws nothing from the global torch RNG (resume depends on it); each pass
    of make_loader is one epoch, with the epoch carried to persistent workers."""
    folder = _celeba_folder(tmp_path)
    ds = _celeba(folder, seed=5)
    before = torch.get_rng_state()
    pf = Prefetcher(ds, IndexStream(4, 0), 2, workers=1, seed=9)
    pf.next()
    pf.close()
    assert torch.equal(before, torch.get_rng_state())
    loader = gi.make_loader(ds, batch_size=4, seed=3, workers=2)
    gen = torch.Generator().manual_seed(3)
    for epoch, batch in enumerate([next(iter(loader)) for _ in range(2)]):
        order = torch.randperm(4, generator=gen)
        want = torch.stack([ds.item_at(i, epoch) for i in order.tolist()])
        assert batch.dtype == torch.uint8 and torch.equal(batch, want), epoch
    again = gi.make_loader(_celeba(folder, seed=5), batch_size=4, seed=3, workers=0)
    first_pass = next(iter(again))
    assert torch.equal(first_pass, torch.stack([ds.item_at(i, 0) for i in
                                                torch.randperm(4, generator=torch.Generator().manual_seed(3))
                                                .tolist()]))


def test_unreadable_image_error_names_the_file_with_workers(tmp_path: Path) -> None:
    """A worker's ValueError reaches the trainer unchanged (it names the bad file) and the
    workers are stopped at once (no wait at interpreter exit)."""
    folder = _png_folder(tmp_path, n=4)
    (folder / "002.png").write_bytes(b"not a png")
    ds = build_dataset({"name": "image_folder", "path": str(folder), "resolution": 16}, 0)
    stream = BatchStream(ds, 4, seed=0, device=torch.device("cpu"), workers=2)
    with pytest.raises(ValueError, match="002.png"):
        stream()
    stream.close()
