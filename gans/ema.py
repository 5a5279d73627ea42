"""Exponential moving average of generator weights with a half-life counted in images.

After a step that showed ``n`` images, every floating parameter becomes
``ema <- beta * ema + (1 - beta) * param`` with ``beta = 0.5 ** (n / halflife_images)``, so
the weight of an old value halves every ``halflife_images`` images whatever the batch size
(Karras et al. 2018/2020, "ema_kimg").  Buffers (e.g. BatchNorm running statistics, spectral
norm vectors) are copied, not averaged.  The update is one ``torch._foreach_lerp_`` over all
floating parameters and one ``torch._foreach_copy_`` over the buffers (a few fused kernels on
CUDA instead of one per tensor); ``lerp(ema, p, w) = ema + w (p - ema)`` with ``w = 1 - beta``.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

__all__ = ["EMA", "ema_beta"]


def ema_beta(images: int, halflife_images: float) -> float:
    """Decay ``0.5 ** (images / halflife_images)`` of one update that showed ``images`` images."""
    if halflife_images <= 0:
        raise ValueError(f"halflife_images must be > 0, got {halflife_images}")
    if images < 0:
        raise ValueError(f"images must be >= 0, got {images}")
    return 0.5 ** (images / halflife_images)


class EMA(nn.Module):
    """Holds ``self.model``, a frozen copy of ``model`` updated by :meth:`update`."""

    def __init__(self, model: nn.Module, halflife_images: float) -> None:
        super().__init__()
        ema_beta(0, halflife_images)  # validates
        self.halflife_images = float(halflife_images)
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, images: int) -> None:
        """One EMA step after a generator update that showed ``images`` images."""
        beta = ema_beta(images, self.halflife_images)
        floats, targets = [], []
        for pe, p in zip(self.model.parameters(), model.parameters()):
            if pe.is_floating_point():
                floats.append(pe)
                targets.append(p.detach().to(pe.dtype))
            else:
                pe.copy_(p)
        if floats:  # ema + (1 - beta) (param - ema) for all tensors in a few fused kernels
            torch._foreach_lerp_(floats, targets, 1.0 - beta)
        buffers = list(self.model.buffers())
        if buffers:
            torch._foreach_copy_(buffers, list(model.buffers()))
