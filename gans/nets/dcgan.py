"""DCGAN generator and critic (Radford, Metz, Chintala, ICLR 2016; claim C33).

Design rules of the paper: strided (transposed) convolutions instead of pooling, batch norm
in the generator (not on its output layer), ReLU in the generator with ``tanh`` output,
LeakyReLU(0.2) in the critic, no fully connected hidden layers.

Resolution ``base * 2**n`` (32, 64, 128, 160): the generator projects ``z`` to a
``base x base`` map with ``ch * 2**(n-1)`` channels (a 4×4 transposed convolution for base 4,
5×5 for base 5) and doubles the size ``n`` times with 4×4 stride-2 transposed convolutions,
halving the channels; the critic mirrors it with 4×4 stride-2 convolutions and a final
``base x base`` convolution to ``out_dim`` outputs.  Channels are capped at ``ch * 8`` as in
the paper's 64 px network (1024 = 8·128 with ch = 128).
"""

from __future__ import annotations

import torch
from torch import nn

from ._common import critic_norm, resolution_plan

__all__ = ["DCGANGenerator", "DCGANCritic"]


def _widths(ch: int, n: int) -> list[int]:
    """Channels at resolutions base, 2·base, ..., base·2^n (generator order)."""
    return [ch * min(2 ** (n - 1 - i), 8) if i < n else ch for i in range(n + 1)]


class DCGANGenerator(nn.Module):
    """``z in R^latent_dim -> image in [-1, 1]^(channels x R x R)``."""

    def __init__(self, resolution: int = 64, latent_dim: int = 100, ch: int = 64, channels: int = 3) -> None:
        super().__init__()
        base, n = resolution_plan(resolution)
        if ch < 1 or channels < 1 or latent_dim < 1:
            raise ValueError(f"ch, channels and latent_dim must be positive, got {ch}, {channels}, {latent_dim}")
        self.latent_dim = latent_dim
        w = _widths(ch, n)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, w[0], base, 1, 0, bias=False), nn.BatchNorm2d(w[0]), nn.ReLU(True)]
        for i in range(n - 1):
            layers += [nn.ConvTranspose2d(w[i], w[i + 1], 4, 2, 1, bias=False), nn.BatchNorm2d(w[i + 1]),
                       nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(w[n - 1], channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.reshape(z.shape[0], -1, 1, 1))


class DCGANCritic(nn.Module):
    """``image -> D(x) in R^out_dim``; ``norm`` after every convolution but the first."""

    def __init__(self, resolution: int = 64, ch: int = 64, channels: int = 3, out_dim: int = 1,
                 norm: str = "none") -> None:
        super().__init__()
        base, n = resolution_plan(resolution)
        if ch < 1 or channels < 1 or out_dim < 1:
            raise ValueError(f"ch, channels and out_dim must be positive, got {ch}, {channels}, {out_dim}")
        self.out_dim = out_dim
        w = _widths(ch, n)[::-1][1:]  # critic widths after each stride-2 conv: ch, 2ch, ...
        layers: list[nn.Module] = [nn.Conv2d(channels, w[0], 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for i in range(n - 1):
            layers += [nn.Conv2d(w[i], w[i + 1], 4, 2, 1, bias=norm == "none"), critic_norm(norm, w[i + 1]),
                       nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(w[n - 1], out_dim, base, 1, 0))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x).flatten(1)
        return out.squeeze(1) if self.out_dim == 1 else out
