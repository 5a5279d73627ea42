"""Fully connected generator and critic for low-dimensional (toy) data.

Generator ``R^latent_dim -> R^data_dim``: ``depth`` hidden layers of width ``hidden`` with
ReLU, linear output (Metz et al. 2017 use this shape for the 2-D mixtures; C26).
Critic ``R^data_dim -> R^out_dim``: ``depth`` hidden layers with LeakyReLU(0.2), linear
output; ``out_dim`` is 1 for classifier/IPM critics and e.g. 16 for MMD feature critics.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["MLPGenerator", "MLPCritic"]


def _check(name: str, value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


class MLPGenerator(nn.Module):
    """``z -> x`` with ``depth`` ReLU hidden layers of width ``hidden``."""

    def __init__(self, latent_dim: int = 2, data_dim: int = 2, hidden: int = 128, depth: int = 3) -> None:
        super().__init__()
        _check("latent_dim", latent_dim), _check("data_dim", data_dim)
        _check("hidden", hidden), _check("depth", depth)
        self.latent_dim = latent_dim
        layers: list[nn.Module] = []
        width = latent_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, data_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class MLPCritic(nn.Module):
    """``x -> D(x) in R^out_dim`` with ``depth`` LeakyReLU(0.2) hidden layers."""

    def __init__(self, data_dim: int = 2, hidden: int = 128, depth: int = 3, out_dim: int = 1) -> None:
        super().__init__()
        _check("data_dim", data_dim), _check("hidden", hidden), _check("depth", depth)
        _check("out_dim", out_dim)
        self.out_dim = out_dim
        layers: list[nn.Module] = []
        width = data_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
            width = hidden
        layers.append(nn.Linear(width, out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        return out.squeeze(-1) if self.out_dim == 1 else out
