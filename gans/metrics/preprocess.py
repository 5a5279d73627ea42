"""Image preprocessing shared by the feature networks (Inception and the fallback)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def resize_uint8(images: torch.Tensor, size: int, *, antialias: bool) -> torch.Tensor:
    """uint8 (N, 3, H, W) -> float (N, 3, size, size) in [-1, 1].

    Bilinear resizing (``align_corners=False``) when the input is not already ``size``;
    ``antialias`` as the caller's network documents; then ``x / 127.5 - 1``.
    """
    if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images: expected uint8 (N, 3, H, W), got {images.dtype} {tuple(images.shape)}")
    x = images.float()
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=antialias)
    return x / 127.5 - 1.0
