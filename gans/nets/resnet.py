"""ResNet generator and critic in the style of SN-GAN (Miyato et al. ICLR 2018, App. B.4;
Gulrajani et al. 2017 for the block design), at resolutions ``base * 2**n`` (32, 64, 128, 160).

Generator: ``z -> Linear -> (ch_0, base, base)``, then ``n`` up-blocks
``BN-ReLU-Upsample(x2, nearest)-Conv3x3-BN-ReLU-Conv3x3`` with shortcut
``Upsample-Conv1x1``, then ``BN-ReLU-Conv3x3-tanh``.  Channels halve per block from
``ch * 2**n`` (capped at ``16 ch``) down to ``ch``, e.g. 64 px with ch = 64:
1024, 512, 256, 128, 64 as in SN-GAN's 64 px model; the critic mirrors it (64 ... 1024).

Critic: an "optimised" first block ``Conv3x3-ReLU-Conv3x3-AvgPool`` + ``AvgPool-Conv1x1``
shortcut, then down-blocks ``ReLU-Conv3x3-ReLU-Conv3x3-AvgPool`` (shortcut
``Conv1x1-AvgPool``) until the map is ``base x base``, one more block without pooling, ReLU,
global **sum** pooling and a linear layer to ``out_dim``.  Spectral normalisation of every
critic layer is switched on with ``spectral=True`` (``learnable_scale=True`` for SN-SMMD).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._common import critic_norm, resolution_plan
from .spectral import apply_spectral_norm

__all__ = ["ResNetGenerator", "ResNetCritic"]


class _UpBlock(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(cin), nn.BatchNorm2d(cout)
        self.c1, self.c2 = nn.Conv2d(cin, cout, 3, 1, 1), nn.Conv2d(cout, cout, 3, 1, 1)
        self.sc = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.bn1(x)), scale_factor=2, mode="nearest")
        h = self.c2(F.relu(self.bn2(self.c1(h))))
        return h + self.sc(F.interpolate(x, scale_factor=2, mode="nearest"))


class _DownBlock(nn.Module):
    def __init__(self, cin: int, cout: int, down: bool, first: bool, norm: str) -> None:
        super().__init__()
        self.first, self.down = first, down
        self.c1, self.c2 = nn.Conv2d(cin, cout, 3, 1, 1), nn.Conv2d(cout, cout, 3, 1, 1)
        self.n1, self.n2 = critic_norm(norm, cout), critic_norm(norm, cout)
        self.sc = nn.Conv2d(cin, cout, 1) if (cin != cout or down) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else F.relu(x)
        h = self.n2(self.c2(F.relu(self.n1(self.c1(h)))))
        if self.down:
            h = F.avg_pool2d(h, 2)
        s = x
        if self.first:  # optimised block: pool first, then 1x1 (SN-GAN)
            s = self.sc(F.avg_pool2d(s, 2) if self.down else s)
        elif self.sc is not None:
            s = self.sc(s)
            s = F.avg_pool2d(s, 2) if self.down else s
        return h + s


class ResNetGenerator(nn.Module):
    """``z in R^latent_dim -> image in [-1, 1]^(channels x R x R)``."""

    def __init__(self, resolution: int = 64, latent_dim: int = 128, ch: int = 64, channels: int = 3) -> None:
        super().__init__()
        base, n = resolution_plan(resolution)
        if ch < 1 or channels < 1 or latent_dim < 1:
            raise ValueError(f"ch, channels and latent_dim must be positive, got {ch}, {channels}, {latent_dim}")
        self.latent_dim, self.base = latent_dim, base
        widths = [ch * min(2 ** (n - i), 16) for i in range(n + 1)]  # ..., 2ch, ch
        widths[-1] = ch
        self.c0 = widths[0]
        self.fc = nn.Linear(latent_dim, base * base * widths[0])
        self.blocks = nn.Sequential(*[_UpBlock(widths[i], widths[i + 1]) for i in range(n)])
        self.out = nn.Sequential(nn.BatchNorm2d(widths[-1]), nn.ReLU(), nn.Conv2d(widths[-1], channels, 3, 1, 1),
                                 nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc(z.reshape(z.shape[0], -1)).view(z.shape[0], self.c0, self.base, self.base)
        return self.out(self.blocks(h))


class ResNetCritic(nn.Module):
    """``image -> D(x) in R^out_dim`` (global sum pooling before the linear head)."""

    def __init__(self, resolution: int = 64, ch: int = 64, channels: int = 3, out_dim: int = 1,
                 spectral: bool = False, learnable_scale: bool = False, norm: str = "none") -> None:
        super().__init__()
        base, n = resolution_plan(resolution)
        if ch < 1 or channels < 1 or out_dim < 1:
            raise ValueError(f"ch, channels and out_dim must be positive, got {ch}, {channels}, {out_dim}")
        if learnable_scale and not spectral:
            raise ValueError("learnable_scale requires spectral=True (SN-SMMD)")
        self.out_dim = out_dim
        widths = [ch * min(2 ** i, 16) for i in range(n + 1)]  # ch, 2ch, ... after each block
        blocks = [_DownBlock(channels, widths[0], True, True, norm)]
        blocks += [_DownBlock(widths[i], widths[i + 1], True, False, norm) for i in range(n - 1)]
        blocks.append(_DownBlock(widths[n - 1], widths[n], False, False, norm))
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(widths[n], out_dim)
        if spectral:
            apply_spectral_norm(self, learnable_scale=learnable_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.blocks(x)).sum(dim=(2, 3))
        out = self.fc(h)
        return out.squeeze(1) if self.out_dim == 1 else out
