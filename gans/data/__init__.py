"""Data registry: ``build_dataset(cfg, seed) -> torch Dataset`` and ``to_model_input(batch)``.

Items are tensors: float for toy data, ``uint8`` CHW for images.  Every dataset carries an
``info`` dict with at least a human-readable ``name`` and ``description`` (captions and tables
name the data; a stand-in is never presented as CelebA or ImageNet).  A dataset may also expose
``tensor`` (all items stacked, shape (N, ...)) so that the trainer batches by indexing.

``random_images`` (uniform random ``uint8`` images; keys ``n``, ``resolution``, ``channels``) is
a synthetic stand-in for throughput benchmarks and tests only (it is not a data set to learn).

The registry :data:`DATASETS` maps each name to a :class:`DatasetSpec`: the builder (a callable
``build(cfg, seed)``, or the name of a module exposing ``build(cfg, seed)``, imported only when
used) and the keys its ``data`` section accepts, each declared once with its default and a
value check.  :func:`data_options` (called by :func:`gans.config.validate` at load time and by
:func:`build_dataset`) refuses unknown keys, naming the key, the accepted ones and the closest
match, checks the values and fills in the defaults; builders receive the completed section.
``workers`` (batch-prefetch processes, read by the trainer) is accepted for every dataset.
Adding a dataset is one entry, e.g.
``DATASETS["mnist5k"] = DatasetSpec("gans.data.mnist", {"path": (None, optional_path), "resolution": (28, positive_int)})``.

Toy: ``ring``, ``grid`` (:mod:`gans.data.toy`; items of dimension ``data_dim`` = 2, checked
against the networks' ``data_dim`` at load time).  Images: ``celeba``, ``imagenet64``,
``cifar10``, ``image_folder`` -> ``gans.data.images``; ``lfw_faces``, ``skimage_crops``,
``digits`` -> ``gans.data.standins``.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import Dataset

from ..config import unknown_key_message  # gans.config imports gans.data only inside functions
from . import toy

__all__ = ["DATASETS", "DatasetSpec", "build_dataset", "data_options", "dataset_dim", "to_model_input",
           "RandomImages", "positive_int", "optional_positive_int", "positive_number", "boolean", "optional_path",
           "choice"]

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
    return RandomImages(cfg["n"], cfg["resolution"], cfg["channels"], seed)


# --------------------------------------------------------------------------- value checks
Check = Callable[[Any, str], Any]  # (value, "data.key") -> value, or ValueError naming the key


def positive_int(value: Any, key: str) -> int:
    """An integer >= 1 (not a bool, float or string)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{key}: expected a positive integer, got {value!r}")
    return value


def optional_positive_int(value: Any, key: str) -> int | None:
    """``None`` (not set) or an integer >= 1."""
    return None if value is None else positive_int(value, key)


def positive_number(value: Any, key: str) -> float:
    """A finite real number > 0 (not a bool or string)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{key}: expected a finite number > 0, got {value!r}")
    return value


def boolean(value: Any, key: str) -> bool:
    """``true`` or ``false``."""
    if not isinstance(value, bool):
        raise ValueError(f"{key}: expected true or false, got {value!r}")
    return value


def optional_path(value: Any, key: str) -> str | None:
    """``None`` or a non-empty path string (``~`` is expanded by the loader)."""
    if value is None or (isinstance(value, str) and value):
        return value
    raise ValueError(f"{key}: expected a path string or null, got {value!r}")


def choice(*options: str) -> Check:
    """A check accepting exactly one of ``options``."""
    def check(value: Any, key: str) -> str:
        if value not in options:
            raise ValueError(f"{key}: expected one of {list(options)}, got {value!r}")
        return value
    return check


def _workers(value: Any, key: str) -> Any:
    if value is None or value == "auto" or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    raise ValueError(f"{key}: expected 'auto' or an integer >= 0, got {value!r}")


# --------------------------------------------------------------------------- the registry
@dataclass(frozen=True)
class DatasetSpec:
    """A dataset of the registry.

    ``build``: ``build(cfg, seed) -> Dataset`` or the name of a module exposing it (imported on
    first use); it receives the ``data`` section completed by :func:`data_options`.
    ``keys``: every key the section accepts besides ``name`` and ``workers``, mapped to
    ``(default, check)``; ``check(value, "data.key")`` returns the value or raises ``ValueError``.
    ``data_dim``: the length of an item when it is a vector known from the config (toy data),
    else ``None``.
    """

    build: Callable[[Mapping[str, Any], int], Dataset] | str
    keys: Mapping[str, tuple[Any, Check]]
    data_dim: int | None = None


COMMON_KEYS: dict[str, Check] = {"workers": _workers}  # accepted by every dataset, not filled in

_N_TOY = (65536, positive_int)
_PATH, _LIMIT = (None, optional_path), (None, optional_positive_int)


def _images(resolution: int, splits: tuple[str, ...] | None, **extra: tuple[Any, Check]) -> dict[str, tuple[Any, Check]]:
    keys = {"path": _PATH, "resolution": (resolution, positive_int), "limit": _LIMIT}
    if splits:
        keys["split"] = ("train", choice(*splits))
    return {**keys, **extra}


DATASETS: dict[str, DatasetSpec] = {
    "ring": DatasetSpec(toy.build, {"n": _N_TOY, "n_modes": (8, positive_int), "radius": (2.0, positive_number),
                                    "std": (0.02, positive_number)}, data_dim=2),
    "grid": DatasetSpec(toy.build, {"n": _N_TOY, "side": (5, positive_int), "spacing": (2.0, positive_number),
                                    "std": (0.05, positive_number)}, data_dim=2),
    "random_images": DatasetSpec(_random_images, {"n": (1024, positive_int), "resolution": (64, positive_int),
                                                  "channels": (3, positive_int)}),
    "celeba": DatasetSpec("gans.data.images", _images(64, ("train", "valid", "test", "all"),
                                                      augment=(False, boolean))),
    "imagenet64": DatasetSpec("gans.data.images", _images(64, ("train", "valid"), cache_dir=(None, optional_path))),
    "cifar10": DatasetSpec("gans.data.images", _images(32, ("train", "test"))),
    "image_folder": DatasetSpec("gans.data.images", _images(64, None)),
    "lfw_faces": DatasetSpec("gans.data.standins", {"resolution": (32, positive_int)}),
    "skimage_crops": DatasetSpec("gans.data.standins", {"resolution": (32, positive_int), "n": (4096, positive_int)}),
    "digits": DatasetSpec("gans.data.standins", {"resolution": (32, positive_int)}),
    "mnist5k": DatasetSpec("gans.data.mnist", {"split": ("train", choice("train", "heldout"))}),
}


def _spec(cfg: Any) -> DatasetSpec:
    if not isinstance(cfg, Mapping) or "name" not in cfg:
        raise ValueError(f"data config must be a mapping with a 'name', got {cfg!r}")
    name = cfg["name"]
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(f"data.name must be one of {sorted(DATASETS)}, got {name!r}")
    return DATASETS[name]


def data_options(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The ``data`` section checked against its dataset's :class:`DatasetSpec` and completed with
    the declared defaults (idempotent).  An unknown key raises ``ValueError`` naming it, the
    accepted keys and the closest match; a bad value raises the key's check's ``ValueError``."""
    spec = _spec(cfg)
    accepted = ["name", *spec.keys, *COMMON_KEYS]
    out: dict[str, Any] = {"name": cfg["name"]}
    for key, value in cfg.items():
        if key == "name":
            continue
        if key not in accepted:
            raise ValueError(unknown_key_message(f"data.{key}", accepted, f" for dataset {cfg['name']!r}"))
        check = COMMON_KEYS[key] if key in COMMON_KEYS else spec.keys[key][1]
        out[key] = check(value, f"data.{key}")
    for key, (default, _check) in spec.keys.items():
        out.setdefault(key, default)
    return out


def dataset_dim(cfg: Mapping[str, Any]) -> int | None:
    """Length of an item of the dataset named by ``cfg["name"]`` when it is a vector whose size is
    known from the config (toy data: 2), else ``None``."""
    return _spec(cfg).data_dim


def build_dataset(cfg: Mapping[str, Any], seed: int) -> Dataset:
    """Dataset named by ``cfg["name"]`` (see the module docstring); ``seed`` fixes any sampling."""
    spec = _spec(cfg)
    opts = data_options(cfg)
    entry = spec.build
    if isinstance(entry, str):
        try:
            entry = importlib.import_module(entry).build
        except ModuleNotFoundError as err:
            raise ValueError(f"data.name {opts['name']!r} needs the module {entry} ({err})") from err
    ds = entry(opts, seed)
    info = getattr(ds, "info", None)
    if not isinstance(info, dict) or "name" not in info or "description" not in info:
        raise ValueError(f"dataset {opts['name']!r} must carry an info dict with 'name' and 'description'")
    return ds


def to_model_input(batch: torch.Tensor) -> torch.Tensor:
    """Images ``uint8`` in [0, 255] -> float32 in [-1, 1] (``x / 127.5 - 1``); float batches pass through."""
    if batch.dtype == torch.uint8:
        return batch.float().div_(127.5).sub_(1.0)
    if not batch.is_floating_point():
        raise ValueError(f"batch must be uint8 images or a float tensor, got dtype {batch.dtype}")
    return batch
