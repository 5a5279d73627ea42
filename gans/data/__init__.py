"""Data registry: ``build_dataset(cfg, seed) -> torch Dataset`` and ``to_model_input(batch)``.

Items are tensors: float for toy data, ``uint8`` CHW for images.  Every dataset carries an
``info`` dict with at least a human-readable ``name`` and ``description`` (captions and tables
name the data; a stand-in is never presented as CelebA or ImageNet).  A dataset may also expose
``tensor`` (all items stacked, shape (N, ...)) so that the trainer batches by indexing.

``random_images`` (uniform random ``uint8`` images; keys ``n``, ``resolution``, ``channels``) is
a synthetic stand-in for throughput benchmarks and tests only (it is not a data set to learn).

Registry entries are either callables ``build(cfg, seed)`` or module names resolved lazily:
the module must expose ``build(cfg, seed)``.  Toy: ``ring``, ``grid`` (:mod:`gans.data.toy`).
Images (helper modules, loaded only when used): ``celeba``, ``imagenet64``, ``cifar10``,
``image_folder`` -> ``gans.data.images``; ``lfw_faces``, ``skimage_crops``, ``digits`` ->
``gans.data.standins``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch.utils.data import Dataset

from . import toy

__all__ = ["DATASETS", "build_dataset", "to_model_input", "RandomImages"]

class RandomImages(Dataset):
    """``n`` uniform random uint8 images (channels, resolution, resolution) fixed by ``seed``."""

    def __init__(self, n: int, resolution: int, channels: int, seed: int) -> None:
        if n < 1 or resolution < 1 or channels < 1:
            raise ValueError(f"n, resolution and channels must be >= 1, got {n}, {resolution}, {channels}")
        gen = torch.Generator().manual_seed(int(seed))
        self.tensor = torch.randint(0, 256, (n, channels, resolution, resolution), generator=gen, dtype=torch.uint8)
        self.info = {"name": "random images", "kind": "synthetic",
                     "description": f"{n} uniform random {channels}x{resolution}x{resolution} uint8 images "
                                    "(synthetic, for throughput benchmarks)"}

    def __len__(self) -> int:
        return self.tensor.shape[0]

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.tensor[i]


def _random_images(cfg: Mapping[str, Any], seed: int) -> RandomImages:
    return RandomImages(int(cfg.get("n", 1024)), int(cfg.get("resolution", 64)), int(cfg.get("channels", 3)), seed)


DATASETS: dict[str, Callable[[Mapping[str, Any], int], Dataset] | str] = {
    "ring": toy.build,
    "grid": toy.build,
    "random_images": _random_images,
    "celeba": "gans.data.images",
    "imagenet64": "gans.data.images",
    "cifar10": "gans.data.images",
    "image_folder": "gans.data.images",
    "lfw_faces": "gans.data.standins",
    "skimage_crops": "gans.data.standins",
    "digits": "gans.data.standins",
}


def build_dataset(cfg: Mapping[str, Any], seed: int) -> Dataset:
    """Dataset named by ``cfg["name"]`` (see the module docstring); ``seed`` fixes any sampling."""
    if not isinstance(cfg, Mapping) or "name" not in cfg:
        raise ValueError(f"data config must be a mapping with a 'name', got {cfg!r}")
    name = cfg["name"]
    if name not in DATASETS:
        raise ValueError(f"data.name must be one of {sorted(DATASETS)}, got {name!r}")
    entry = DATASETS[name]
    if isinstance(entry, str):
        try:
            entry = importlib.import_module(entry).build
        except ModuleNotFoundError as err:
            raise ValueError(f"data.name {name!r} needs the module {entry} ({err})") from err
    ds = entry(cfg, seed)
    info = getattr(ds, "info", None)
    if not isinstance(info, dict) or "name" not in info or "description" not in info:
        raise ValueError(f"dataset {name!r} must carry an info dict with 'name' and 'description'")
    return ds


def to_model_input(batch: torch.Tensor) -> torch.Tensor:
    """Images ``uint8`` in [0, 255] -> float32 in [-1, 1] (``x / 127.5 - 1``); float batches pass through."""
    if batch.dtype == torch.uint8:
        return batch.float().div_(127.5).sub_(1.0)
    if not batch.is_floating_point():
        raise ValueError(f"batch must be uint8 images or a float tensor, got dtype {batch.dtype}")
    return batch
