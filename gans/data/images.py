"""Real image datasets read from local paths: CelebA, ImageNet 64x64, CIFAR-10, any image folder.

Nothing is downloaded.  Each dataset is located by the config key ``data.path`` or, when it
is empty, an environment variable (the pipeline's ``experiments/profile_settings/*.yaml`` keys
``data.celeba`` / ``data.imagenet64`` / ``data.cifar10`` are passed as ``data.path``):

* ``celeba`` (``$GANDIV_CELEBA``): the folder ``img_align_celeba/`` of aligned 178x218 JPEGs
  ``000001.jpg ...``, with ``list_eval_partition.txt`` beside it (or inside it, or in
  ``../Eval``); split ``train``/``valid``/``test`` (0/1/2 in that file) or ``all``;
* ``imagenet64`` (``$GANDIV_IMAGENET64``): a folder of the downsampled ImageNet batches of
  Chrabaszcz et al. (2017), ``train_data_batch_{1..10}.npz`` and ``val_data.npz``, each with
  ``data`` of shape (N, 12288) uint8 in CHW order;
* ``cifar10`` (``$GANDIV_CIFAR10``): ``cifar-10-batches-py/`` with the python pickles
  ``data_batch_{1..5}`` and ``test_batch`` (``b'data'`` of shape (10000, 3072) uint8, CHW);
* ``image_folder`` (``$GANDIV_IMAGE_FOLDER``): any folder; ``.jpg .jpeg .png .bmp .webp``
  files found recursively, centre square, resized.

Every item is a ``uint8`` tensor of shape (3, R, R) (R = ``data.resolution``); conversion to
float in [-1, 1] happens on the device (:func:`to_float`), so host memory and the
host-to-device copy carry 1 byte per channel.  :func:`make_loader` builds a
:class:`torch.utils.data.DataLoader` with worker processes, pinned memory on CUDA and a seeded
shuffling generator.  Missing or malformed data raise :class:`ValueError` naming what was
expected and where.

CelebA crops (the papers' pipeline, Arbel et al. 2018 / Binkowski et al. 2018, authors'
TensorFlow code): the aligned image is 178 wide, 218 high; the centre 178x178 square is the
box ``(left, top, right, bottom) = (0, 20, 178, 198)``; from it a 160x160 crop is taken (the
authors draw it at random offsets 0..18 together with a random horizontal flip; the default
here is the deterministic centre box ``(9, 29, 169, 189)``, and ``data.augment: true`` gives
the random crop + flip, seeded by ``(seed, index, epoch)``).  The 160 px crop is used as is for
CelebA 160x160 and resized (bilinear, antialiased) to 64x64 for CelebA 64x64.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

__all__ = [
    "ENV_VARS",
    "CELEBA_SQUARE_BOX",
    "CELEBA_CENTER_160_BOX",
    "ArrayImageDataset",
    "CelebA",
    "ImageFolder",
    "build",
    "load_cifar10",
    "imagenet64_cache_path",
    "load_imagenet64",
    "make_loader",
    "resize_uint8",
    "to_float",
]

ENV_VARS: dict[str, str] = {
    "celeba": "GANDIV_CELEBA",
    "imagenet64": "GANDIV_IMAGENET64",
    "cifar10": "GANDIV_CIFAR10",
    "image_folder": "GANDIV_IMAGE_FOLDER",
}
CELEBA_SIZE = (178, 218)  # (width, height) of the aligned CelebA JPEGs
CELEBA_SQUARE_BOX = (0, 20, 178, 198)  # (left, top, right, bottom): centre 178x178 square
CELEBA_CENTER_160_BOX = (9, 29, 169, 189)  # centre 160x160 crop inside that square
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


# --------------------------------------------------------------------------- helpers
def to_float(batch: torch.Tensor) -> torch.Tensor:
    """uint8 images in {0..255} -> float in [-1, 1]: ``x / 127.5 - 1`` (call on the device)."""
    if batch.dtype != torch.uint8:
        raise ValueError(f"batch: expected a uint8 tensor, got dtype {batch.dtype}")
    return batch.float().div_(127.5).sub_(1.0)


def resize_uint8(images: np.ndarray | torch.Tensor, resolution: int) -> torch.Tensor:
    """Resize uint8 images (N, C, H, W) to (N, C, R, R): bilinear, antialiased, rounded to uint8.

    Non-square inputs are centre-cropped to a square first.  Identity when already R x R.
    """
    x = torch.as_tensor(images)
    if x.ndim != 4:
        raise ValueError(f"images: expected shape (N, C, H, W), got {tuple(x.shape)}")
    if resolution < 1:
        raise ValueError(f"resolution: must be a positive integer, got {resolution}")
    h, w = x.shape[-2:]
    if h != w:
        s = min(h, w)
        top, left = (h - s) // 2, (w - s) // 2
        x = x[..., top:top + s, left:left + s]
    if x.shape[-1] == resolution:
        return x.to(torch.uint8).contiguous()
    y = F.interpolate(x.float(), size=(resolution, resolution), mode="bilinear",
                      align_corners=False, antialias=True)
    return y.round_().clamp_(0, 255).to(torch.uint8)


def _data_cfg(cfg: Mapping[str, Any]) -> Mapping[str, Any]:
    """Accept either the whole run config (with a ``data`` section) or the section itself."""
    if not isinstance(cfg, Mapping):
        raise ValueError(f"cfg: expected a mapping, got {type(cfg).__name__}")
    inner = cfg.get("data")
    return inner if isinstance(inner, Mapping) else cfg


def _resolve_path(name: str, dcfg: Mapping[str, Any], expected: str) -> Path:
    raw = dcfg.get("path") or os.environ.get(ENV_VARS[name])
    if not raw:
        raise ValueError(
            f"data.path: no location given for dataset {name!r}; set the config key data.path "
            f"or the environment variable {ENV_VARS[name]} to {expected}")
    path = Path(os.path.expanduser(str(raw)))
    if not path.exists():
        raise ValueError(f"data.path: {name!r} expected {expected}, but {path} does not exist")
    return path


class ArrayImageDataset(Dataset):
    """Images held in one uint8 array (N, 3, R, R) (in memory or a numpy memmap).

    ``info`` names the dataset; ``labels`` is optional.  Indexing returns a uint8 tensor.
    Resizing (when the stored resolution differs from ``resolution``) happens per item.
    """

    def __init__(self, images: np.ndarray, info: dict[str, str], resolution: int | None = None,
                 labels: np.ndarray | None = None) -> None:
        if images.ndim != 4 or images.shape[1] not in (1, 3) or images.dtype != np.uint8:
            raise ValueError(f"images: expected uint8 array (N, 3, H, W), got {images.dtype} "
                             f"{images.shape}")
        if len(images) == 0:
            raise ValueError("images: the dataset is empty")
        self.images = images
        self.info = dict(info)
        self.resolution = int(resolution or images.shape[-1])
        self.labels = labels

    @property
    def tensor(self) -> torch.Tensor | None:
        """All items stacked (N, 3, R, R) uint8 when held in memory at the served resolution
        (the trainer then batches by indexing); ``None`` for memory-mapped or resized data."""
        if isinstance(self.images, np.memmap) or self.images.shape[-1] != self.resolution \
                or self.images.shape[1] != 3:
            return None
        return torch.from_numpy(self.images)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        x = torch.from_numpy(np.array(self.images[index], dtype=np.uint8, copy=True))
        if x.shape[0] == 1:
            x = x.expand(3, -1, -1)
        if x.shape[-1] != self.resolution or x.shape[-2] != self.resolution:
            x = resize_uint8(x[None], self.resolution)[0]
        return x.contiguous()


class _EpochSampler:
    """Yields ``(index, epoch)`` keys: one pass = one epoch, numbered from ``start_epoch``;
    with ``shuffle`` a ``torch.randperm`` per pass from a generator seeded with ``seed``."""

    def __init__(self, n: int, seed: int, shuffle: bool, start_epoch: int) -> None:
        self.n, self.shuffle, self.epoch = n, shuffle, int(start_epoch)
        self.gen = torch.Generator().manual_seed(int(seed))

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        order = torch.randperm(self.n, generator=self.gen) if self.shuffle else torch.arange(self.n)
        epoch, self.epoch = self.epoch, self.epoch + 1
        return iter([(i, epoch) for i in order.tolist()])


def make_loader(dataset: Dataset, batch_size: int, seed: int, *, workers: int = 4,
                device: str | torch.device = "cpu", shuffle: bool = True,
                drop_last: bool = True, start_epoch: int = 0) -> DataLoader:
    """A DataLoader for uint8 image datasets: seeded shuffling, workers, pinned memory on CUDA.

    Batches stay uint8 on the host; move them with ``batch.to(device, non_blocking=True)``
    and convert there with :func:`to_float`.  ``workers = 0`` loads in the main process.
    Each pass over the loader is one epoch (``start_epoch``, ``start_epoch + 1``, ...); the
    epoch travels with every index to the (persistent) workers, so per-epoch augmentation
    (``CelebA.item_at``) changes between passes without calling ``set_epoch``.  The batches
    do not depend on ``workers``.  (The trainer uses :class:`gans.train.BatchStream`, which
    adds exact resume; this loader is for evaluation and scripts.)
    """
    from .prefetch import EpochItems

    if batch_size < 1:
        raise ValueError(f"batch_size: must be positive, got {batch_size}")
    if workers < 0:
        raise ValueError(f"workers: must be >= 0, got {workers}")
    cuda = torch.device(device).type == "cuda"
    return DataLoader(EpochItems(dataset, with_keys=False), batch_size=batch_size,
                      sampler=_EpochSampler(len(dataset), seed, shuffle, start_epoch), drop_last=drop_last,
                      num_workers=workers, pin_memory=cuda, generator=torch.Generator().manual_seed(int(seed)),
                      persistent_workers=workers > 0, prefetch_factor=4 if workers > 0 else None)


# --------------------------------------------------------------------------- CelebA
def _find_partition(folder: Path) -> Path | None:
    for cand in (folder / "list_eval_partition.txt", folder.parent / "list_eval_partition.txt",
                 folder.parent / "Eval" / "list_eval_partition.txt"):
        if cand.is_file():
            return cand
    return None


_SPLITS = {"train": 0, "valid": 1, "test": 2}


class CelebA(Dataset):
    """Aligned CelebA JPEGs, cropped as in the papers (see the module docstring for the boxes).

    ``split`` is ``train`` / ``valid`` / ``test`` (from ``list_eval_partition.txt``: 0/1/2) or
    ``all``.  ``augment`` draws the 160 crop offset in 0..18 and a horizontal flip from a
    generator seeded by ``(seed, index, epoch)``: :meth:`item_at` takes the epoch explicitly
    (the trainer and :func:`make_loader` use it, so worker copies need no state);
    ``dataset[i]`` uses the epoch set by :meth:`set_epoch` (default 0).
    """

    def __init__(self, folder: Path, resolution: int, split: str = "train", *, augment: bool = False,
                 seed: int = 0, limit: int | None = None) -> None:
        from PIL import Image  # noqa: F401  (fail early if Pillow is missing)

        expected = ("the aligned CelebA folder img_align_celeba/ holding 000001.jpg ... "
                    "with list_eval_partition.txt beside it")
        if not folder.is_dir():
            raise ValueError(f"data.path: CelebA expected {expected}, but {folder} is not a folder")
        if split not in (*_SPLITS, "all"):
            raise ValueError(f"data.split: expected one of train/valid/test/all, got {split!r}")
        if split == "all":
            files = sorted(p.name for p in folder.glob("*.jpg"))
        else:
            part = _find_partition(folder)
            if part is None:
                raise ValueError(f"data.path: CelebA expected list_eval_partition.txt beside or "
                                 f"inside {folder} (needed for split={split!r}); use split: all "
                                 f"to read every JPEG without it")
            files = []
            for lineno, line in enumerate(part.read_text().splitlines(), 1):
                if not line.strip():
                    continue
                bits = line.split()
                if len(bits) != 2 or bits[1] not in ("0", "1", "2"):
                    raise ValueError(f"{part}: line {lineno} is malformed ({line!r}); expected "
                                     f"'<file>.jpg <0|1|2>'")
                if int(bits[1]) == _SPLITS[split]:
                    files.append(bits[0])
            missing = [f for f in files[:5] if not (folder / f).is_file()]
            if missing:
                raise ValueError(f"data.path: CelebA partition lists {missing[0]} but it is not "
                                 f"in {folder}")
        if not files:
            raise ValueError(f"data.path: no CelebA JPEGs for split={split!r} in {folder}; "
                             f"expected {expected}")
        if limit is not None:
            files = files[:limit]
        self.folder, self.files = folder, files
        self.resolution, self.augment, self.seed, self.epoch = int(resolution), augment, int(seed), 0
        self.info = {"name": f"celeba{self.resolution}",
                     "description": f"CelebA aligned ({split}, {len(files)} images), 160x160 crop "
                                    f"of the centre 178x178 square, resized to "
                                    f"{self.resolution}x{self.resolution}"}

    def set_epoch(self, epoch: int) -> None:
        """Epoch used by ``dataset[i]`` (crop offsets and flips differ between epochs)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.item_at(index, self.epoch)

    def item_at(self, index: int, epoch: int) -> torch.Tensor:
        """Item ``index`` as augmented at ``epoch``: a pure function of ``(seed, index, epoch)``."""
        from PIL import Image

        path = self.folder / self.files[index]
        try:
            with Image.open(path) as im:
                im = im.convert("RGB")
                if im.size != CELEBA_SIZE:
                    raise ValueError(f"{path}: expected an aligned CelebA image of "
                                     f"{CELEBA_SIZE[0]}x{CELEBA_SIZE[1]}, got {im.size[0]}x{im.size[1]}")
                flip = False
                if self.augment:
                    r = np.random.default_rng([self.seed, int(index), int(epoch)])
                    dx, dy = (int(v) for v in r.integers(0, 19, size=2))
                    flip = bool(r.integers(0, 2))
                    left, top = CELEBA_SQUARE_BOX[0] + dx, CELEBA_SQUARE_BOX[1] + dy
                    box = (left, top, left + 160, top + 160)
                else:
                    box = CELEBA_CENTER_160_BOX
                arr = np.asarray(im.crop(box), dtype=np.uint8)
        except OSError as exc:
            raise ValueError(f"{path}: not a readable JPEG ({exc})") from exc
        x = torch.from_numpy(arr.copy()).permute(2, 0, 1)
        if flip:
            x = x.flip(-1)
        if self.resolution != 160:
            x = resize_uint8(x[None], self.resolution)[0]
        return x.contiguous()


# --------------------------------------------------------------------------- ImageNet 64x64
def _npz_array(path: Path, key: str) -> np.ndarray:
    try:
        z = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable .npz file ({exc})") from exc
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: expected an .npz archive, got a single array")
    with z:
        if key not in z.files:
            raise ValueError(f"{path}: expected an array named {key!r}, found {z.files}")
        try:
            return z[key]
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise ValueError(f"{path}: array {key!r} is unreadable ({exc})") from exc


def _npz_fingerprint(path: Path) -> list[Any]:
    """Content key of an ``.npz`` file: its size and, for every array member, the name, the
    uncompressed size and the CRC-32 that the zip format stores for it (read from the archive's
    central directory, so nothing is decompressed)."""
    try:
        with zipfile.ZipFile(path) as z:
            members = [[i.filename, i.file_size, i.CRC] for i in z.infolist()]
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable .npz file ({exc})") from exc
    return [path.name, path.stat().st_size, members]


def imagenet64_cache_path(files: list[Path], split: str, cache_dir: Path) -> Path:
    """``cache_dir/imagenet64_{split}_{key}.npy``; ``key`` = first 16 hex digits of the SHA-256
    of the batch files' names, sizes and member CRC-32s (:func:`_npz_fingerprint`), so replacing
    the batches (even with the same count, names and sizes) selects a new cache file."""
    blob = json.dumps([split, [_npz_fingerprint(f) for f in files]]).encode()
    return cache_dir / f"imagenet64_{split}_{hashlib.sha256(blob).hexdigest()[:16]}.npy"


def _open_cache(cache: Path) -> np.ndarray | None:
    """The memory-mapped cache, or ``None`` (with a warning naming the file) when it is
    unreadable or not a uint8 (N, 3, 64, 64) array: the caller then rebuilds it."""
    try:
        images = np.load(cache, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        problem = f"unreadable ({exc})"
    else:
        if isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.ndim == 4 \
                and images.shape[1:] == (3, 64, 64) and len(images) > 0:
            return images
        problem = f"holds {getattr(images, 'dtype', type(images).__name__)} {getattr(images, 'shape', '')}, " \
                  "not uint8 (N, 3, 64, 64)"
    warnings.warn(f"ImageNet64 cache {cache} is corrupt: {problem}; rebuilding it from the .npz batches "
                  f"(delete the file if this repeats)", RuntimeWarning, stacklevel=3)
    return None


def load_imagenet64(folder: Path, split: str = "train", *, cache_dir: Path | None = None,
                    limit: int | None = None) -> ArrayImageDataset:
    """Downsampled ImageNet 64x64 (Chrabaszcz, Loshchilov, Hutter 2017) from ``.npz`` batches.

    ``split="train"`` reads ``train_data_batch_*.npz``, ``"valid"`` reads ``val_data.npz``.
    Each file holds ``data`` (N, 12288) uint8 in CHW order (4096 red, 4096 green, 4096 blue
    values per image) and ``labels`` (1..1000).  The batches are decompressed once into one
    uint8 ``.npy`` file under ``cache_dir`` (default ``folder/.gandiv_cache``) and memory-mapped,
    so workers share the pages instead of copying ~15 GB per process.  The cache file is named
    by the batches' content (:func:`imagenet64_cache_path`): new batch files give a new cache
    (the old one stays until deleted).  A corrupt cache file is rebuilt, with a warning naming it.
    """
    expected = ("a folder of Imagenet64 .npz batches (train_data_batch_1.npz ... "
                "train_data_batch_10.npz, val_data.npz) with arrays 'data' (N, 12288) uint8")
    if not folder.is_dir():
        raise ValueError(f"data.path: imagenet64 expected {expected}, but {folder} is not a folder")
    pattern = {"train": "train_data_batch_*.npz", "valid": "val_data*.npz"}.get(split)
    if pattern is None:
        raise ValueError(f"data.split: imagenet64 has splits train/valid, got {split!r}")
    files = sorted(folder.glob(pattern), key=lambda p: (len(p.name), p.name))
    if not files:
        raise ValueError(f"data.path: no {pattern} in {folder}; expected {expected}")
    cache_dir = Path(cache_dir) if cache_dir else folder / ".gandiv_cache"
    cache = imagenet64_cache_path(files, split, cache_dir)
    images = _open_cache(cache) if cache.is_file() else None
    if images is None:
        parts = []
        for f in files:
            data = _npz_array(f, "data")
            if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 64 * 64:
                raise ValueError(f"{f}: expected 'data' of shape (N, 12288) and dtype uint8, got "
                                 f"{data.shape} {data.dtype}")
            parts.append(data.reshape(-1, 3, 64, 64))
        images = np.concatenate(parts)
        tmp = cache.with_name(f"{cache.stem}.{os.getpid()}.tmp.npy")  # one per process (DDP ranks)
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            np.save(tmp, images)
            os.replace(tmp, cache)
            images = np.load(cache, mmap_mode="r")
        except OSError:  # read-only location: keep the in-memory copy
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
    if limit is not None:
        images = images[:limit]
    return ArrayImageDataset(images, {"name": "imagenet64",
                                      "description": f"ImageNet 64x64 downsampled ({split}, "
                                                     f"{len(images)} images)"})


# --------------------------------------------------------------------------- CIFAR-10
class _ArrayUnpickler(pickle.Unpickler):
    """Unpickler that only rebuilds numpy arrays and builtin containers (no arbitrary code)."""

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
                ("numpy._core.multiarray", "scalar")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _cifar_batch(path: Path) -> np.ndarray:
    try:
        with open(path, "rb") as fh:
            d = _ArrayUnpickler(fh, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, OSError, ValueError, TypeError) as exc:
        raise ValueError(f"{path}: not a CIFAR-10 python pickle batch ({exc})") from exc
    if not isinstance(d, dict):
        raise ValueError(f"{path}: expected a pickled dict with key b'data', got {type(d).__name__}")
    data = d.get(b"data", d.get("data"))
    data = np.asarray(data) if data is not None else None
    if data is None or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        got = None if data is None else (data.shape, data.dtype)
        raise ValueError(f"{path}: expected key b'data' with a uint8 array (N, 3072), got {got}")
    return data.reshape(-1, 3, 32, 32)


def load_cifar10(folder: Path, split: str = "train", *, limit: int | None = None) -> ArrayImageDataset:
    """CIFAR-10 from the python pickle batches (``data_batch_1..5`` train, ``test_batch`` test).

    Each batch is a pickled dict with ``b'data'`` (10000, 3072) uint8 in CHW order.  Loaded
    with a restricted unpickler that only rebuilds numpy arrays.
    """
    expected = "cifar-10-batches-py/ with data_batch_1 ... data_batch_5 and test_batch"
    if not folder.is_dir():
        raise ValueError(f"data.path: cifar10 expected {expected}, but {folder} is not a folder")
    names = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}.get(split)
    if names is None:
        raise ValueError(f"data.split: cifar10 has splits train/test, got {split!r}")
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise ValueError(f"data.path: cifar10 expected {expected}; missing {missing} in {folder}")
    images = np.concatenate([_cifar_batch(folder / n) for n in names])
    if limit is not None:
        images = images[:limit]
    return ArrayImageDataset(images, {"name": "cifar10",
                                      "description": f"CIFAR-10 ({split}, {len(images)} images)"})


# --------------------------------------------------------------------------- image folder
class ImageFolder(Dataset):
    """Every image under a folder (recursive), centre-cropped to a square, resized to R x R.

    Resizing uses Pillow's antialiased bilinear filter.
    """

    def __init__(self, folder: Path, resolution: int, *, limit: int | None = None) -> None:
        if not folder.is_dir():
            raise ValueError(f"data.path: image_folder expected a folder of images, but {folder} "
                             f"is not a folder")
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f"data.path: no images ({', '.join(IMAGE_SUFFIXES)}) under {folder}")
        if limit is not None:
            files = files[:limit]
        self.files, self.resolution = files, int(resolution)
        self.info = {"name": f"image_folder:{folder.name}",
                     "description": f"images from {folder} ({len(files)} files), centre square "
                                    f"resized to {resolution}x{resolution}"}

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> torch.Tensor:
        return read_rgb(self.files[index], resolution=self.resolution)


def read_rgb(path: Path, resolution: int | None = None, arg: str | None = None) -> torch.Tensor:
    """One image file as uint8 ``(3, H, W)``: decoded to RGB; with ``resolution``, its centre
    square resized bilinearly to ``resolution x resolution``.  An unreadable file raises
    ``ValueError`` naming ``arg`` (the argument it came from) and the file."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            if resolution is not None:
                w, h = im.size
                s = min(w, h)
                left, top = (w - s) // 2, (h - s) // 2
                im = im.crop((left, top, left + s, top + s))
                if s != resolution:
                    im = im.resize((resolution, resolution), Image.BILINEAR)
            arr = np.asarray(im, dtype=np.uint8)
    except OSError as exc:
        where = f"{arg}: {path} is" if arg else f"{path}:"
        raise ValueError(f"{where} not a readable image ({exc})") from exc
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).contiguous()


# --------------------------------------------------------------------------- registry entry
def build(cfg: Mapping[str, Any], seed: int) -> Dataset:
    """Build the real dataset named by ``data.name`` (celeba, imagenet64, cifar10, image_folder).

    Keys of the ``data`` section (declared with their defaults in :data:`gans.data.DATASETS`):
    ``name``, ``path`` (else the environment variable of :data:`ENV_VARS`), ``resolution``
    (default 64; 32 for cifar10), ``split`` (default ``train``; not for image_folder), ``limit``
    (first N items), ``augment`` (CelebA random crop + flip), ``cache_dir`` (ImageNet memmap
    cache).  The returned dataset yields uint8 (3, R, R) tensors and carries
    ``info = {"name", "description"}``.
    """
    from . import data_options

    name = _data_cfg(cfg).get("name")
    if name not in ENV_VARS:
        raise ValueError(f"data.name: {name!r} is not a real-image dataset of gans.data.images; "
                         f"expected one of {sorted(ENV_VARS)}")
    dcfg = data_options(_data_cfg(cfg))
    res, limit = dcfg["resolution"], dcfg["limit"]
    if name == "celeba":
        folder = _resolve_path("celeba", dcfg, "the folder img_align_celeba/")
        return CelebA(folder, res, dcfg["split"], augment=dcfg["augment"], seed=seed, limit=limit)
    if name == "imagenet64":
        folder = _resolve_path("imagenet64", dcfg, "a folder of Imagenet64 .npz batches")
        cache = dcfg["cache_dir"]
        ds = load_imagenet64(folder, dcfg["split"], cache_dir=Path(os.path.expanduser(cache)) if cache else None,
                             limit=limit)
        ds.resolution = res
        return ds
    if name == "cifar10":
        folder = _resolve_path("cifar10", dcfg, "the folder cifar-10-batches-py/")
        ds = load_cifar10(folder, dcfg["split"], limit=limit)
        ds.resolution = res
        return ds
    folder = _resolve_path("image_folder", dcfg, "a folder of images")
    return ImageFolder(folder, res, limit=limit)
