"""Embedded stand-in image datasets: built only from data shipped inside installed packages.

For machines without CelebA / ImageNet.  Each stand-in is named as what it is in its
``info`` (and so in every caption and table row that reads it); none is CelebA or ImageNet.

* ``lfw_faces``: the 100 face crops of scikit-image's ``skimage.data.lfw_subset()``
  (grayscale 25x25, from Labeled Faces in the Wild; the other 100 images of that file are
  non-face background patches and are not used), upsampled bilinearly to R x R, replicated to
  3 channels, plus their mirror images: 200 images.  A face stand-in for CelebA, but tiny,
  grayscale and low-resolution.
* ``skimage_crops``: ``n`` random square crops (side 1/8..1/3 of the photo's short side, random
  flips) of the colour photographs shipped with scikit-image (astronaut, coffee, chelsea,
  rocket, hubble_deep_field, immunohistochemistry) and scikit-learn (china, flower), resized
  to R x R (photos are first downscaled so their short side is at most 8R).  A natural-image
  stand-in for ImageNet 64x64: eight scenes, so far less diverse.
* ``digits``: scikit-learn's ``load_digits()`` (1797 handwritten digits, 8x8, values 0..16),
  scaled to 0..255, upsampled bilinearly to R x R, replicated to 3 channels.

All items are uint8 tensors (3, R, R); construction is deterministic given ``seed``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .images import ArrayImageDataset, _data_cfg, resize_uint8

__all__ = ["STANDINS", "build", "digits", "lfw_faces", "skimage_crops"]

_SKIMAGE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field",
                   "immunohistochemistry")


def _gray_to_rgb(x: torch.Tensor) -> torch.Tensor:
    return x.expand(-1, 3, -1, -1).contiguous()


def lfw_faces(resolution: int = 32) -> ArrayImageDataset:
    """The 100 LFW faces shipped with scikit-image, mirrored (200 images), at R x R, 3 channels."""
    from skimage.data import lfw_subset

    raw = np.asarray(lfw_subset())[:100]  # first 100 = faces (skimage docs)
    if raw.dtype != np.uint8:
        raw = np.clip(np.round(raw * 255.0 if raw.max() <= 1.0 else raw), 0, 255).astype(np.uint8)
    x = torch.from_numpy(raw)[:, None]
    x = torch.cat([x, x.flip(-1)])
    x = _gray_to_rgb(resize_uint8(x, resolution))
    return ArrayImageDataset(x.numpy(), {
        "name": "lfw_faces",
        "description": f"LFW-subset faces shipped with scikit-image (100 grayscale 25x25 crops + "
                       f"mirrors = 200, upsampled to {resolution}x{resolution}); a stand-in, "
                       f"not CelebA"})


def _package_file(package: str, *parts: str) -> Path:
    """A data file shipped inside an installed package, located without importing it
    (importing scikit-learn costs seconds; its files are read directly)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"data.name: the stand-in needs the installed package {package!r}")
    path = Path(list(spec.submodule_search_locations)[0]).joinpath(*parts)
    if not path.is_file():
        raise ValueError(f"data.name: expected {path} shipped with {package}, but it is missing")
    return path


def _photos() -> list[np.ndarray]:
    import skimage.data as skd
    from PIL import Image

    photos = [np.asarray(getattr(skd, n)())[..., :3] for n in _SKIMAGE_PHOTOS]
    for name in ("china.jpg", "flower.jpg"):  # scikit-learn's load_sample_images() files
        with Image.open(_package_file("sklearn", "datasets", "images", name)) as im:
            photos.append(np.asarray(im.convert("RGB")))
    return photos


def skimage_crops(resolution: int = 32, n: int = 4096, seed: int = 0) -> ArrayImageDataset:
    """``n`` random crops of the eight colour sample photographs, resized to R x R.

    Crop side uniform in [short/8, short/3] of the photo's short side, position uniform,
    horizontal flip with probability 1/2; photo chosen uniformly.  Seeded by ``seed``.
    """
    if n < 1:
        raise ValueError(f"n: must be positive, got {n}")
    from PIL import Image

    rng = np.random.default_rng([int(seed), 7321])
    photos = []
    for p in _photos():
        im = Image.fromarray(np.ascontiguousarray(p))
        short = min(im.size)
        if short > 8 * resolution:  # downscale once (antialiased) so crops stay cheap
            scale = 8 * resolution / short
            im = im.resize((round(im.size[0] * scale), round(im.size[1] * scale)), Image.BILINEAR)
        photos.append(im)
    out = np.empty((n, resolution, resolution, 3), dtype=np.uint8)
    which = rng.integers(0, len(photos), size=n)
    for i in range(n):
        p = photos[which[i]]
        w, h = p.size
        short = min(h, w)
        side = int(rng.integers(short // 8, short // 3 + 1))
        top = int(rng.integers(0, h - side + 1))
        left = int(rng.integers(0, w - side + 1))
        # Pillow's bilinear filter widens its support when downscaling (antialiased)
        crop = p.resize((resolution, resolution), Image.BILINEAR, box=(left, top, left + side, top + side))
        arr = np.asarray(crop)
        out[i] = arr[:, ::-1] if rng.random() < 0.5 else arr
    out = torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()
    return ArrayImageDataset(out.numpy(), {
        "name": "skimage_crops",
        "description": f"{n} random crops of 8 sample photographs shipped with scikit-image and "
                       f"scikit-learn, at {resolution}x{resolution}; a stand-in, not ImageNet"})


def digits(resolution: int = 32) -> ArrayImageDataset:
    """scikit-learn's 1797 handwritten 8x8 digits, scaled to 0..255, at R x R, 3 channels."""
    # scikit-learn's load_digits() data: rows of 64 pixel values (0..16) and the label
    table = np.loadtxt(_package_file("sklearn", "datasets", "data", "digits.csv.gz"), delimiter=",")
    imgs = table[:, :64].reshape(-1, 8, 8)  # (1797, 8, 8), values 0..16
    x = torch.from_numpy(np.round(imgs * (255.0 / 16.0)).astype(np.uint8))[:, None]
    x = _gray_to_rgb(resize_uint8(x, resolution))
    return ArrayImageDataset(x.numpy(), {
        "name": "digits",
        "description": f"scikit-learn handwritten digits (1797 8x8 images, upsampled to "
                       f"{resolution}x{resolution}); a stand-in, not MNIST/CelebA/ImageNet"})


STANDINS = ("lfw_faces", "skimage_crops", "digits")


def build(cfg: Mapping[str, Any], seed: int) -> ArrayImageDataset:
    """Build the stand-in named by ``data.name``; keys ``resolution`` (default 32), ``n``
    (``skimage_crops`` only, default 4096), declared in :data:`gans.data.DATASETS`."""
    from . import data_options

    name = _data_cfg(cfg).get("name")
    if name not in STANDINS:
        raise ValueError(f"data.name: {name!r} is not a stand-in of gans.data.standins; expected "
                         f"one of {list(STANDINS)}")
    dcfg = data_options(_data_cfg(cfg))
    if name == "lfw_faces":
        return lfw_faces(dcfg["resolution"])
    if name == "skimage_crops":
        return skimage_crops(dcfg["resolution"], dcfg["n"], seed)
    return digits(dcfg["resolution"])
