"""Shared machinery of the concrete losses: critic-side penalties added to ``d_loss``.

A concrete loss implements ``critic_objective`` and ``generator_objective`` (both minimised,
see :mod:`gans.losses.base`); :class:`PenalisedLoss` adds every configured penalty
(:mod:`gans.losses.penalties`) to the critic's loss and logs each term.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn

from .penalties import Logs, Penalty, _check_batch

__all__ = ["PenalisedLoss"]


class PenalisedLoss(ABC):
    """A GAN loss (:class:`gans.losses.base.GANLoss`) with optional critic penalties.

    ``d_loss = critic_objective + sum(penalties)``; ``g_loss = generator_objective``.
    Logs hold ``d_loss``/``g_loss`` and every penalty term (detached).
    """

    name: str = "loss"

    def __init__(self, penalties: list[Penalty] | None = None) -> None:
        self.penalties: list[Penalty] = list(penalties or [])

    @abstractmethod
    def critic_objective(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        """The critic's loss without penalties (minimised)."""

    @abstractmethod
    def generator_objective(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        """The generator's loss (minimised); ``fake`` carries the generator's graph."""

    def d_loss(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        """Critic loss: ``critic_objective + sum_k penalty_k`` (all minimised)."""
        _check_batch(real, "real")
        _check_batch(fake, "fake")
        loss, logs = self.critic_objective(D, real, fake)
        for pen in self.penalties:
            val, plogs = pen(D, real, fake)
            loss = loss + val
            logs.update(plogs)
        logs["d_loss"] = loss.detach()
        return loss, logs

    def g_loss(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        """Generator loss (minimised)."""
        _check_batch(fake, "fake")
        loss, logs = self.generator_objective(D, real, fake)
        logs["g_loss"] = loss.detach()
        return loss, logs

    def after_d_step(self, D: nn.Module) -> None:
        """Hook after each critic optimiser step; nothing by default (WGAN clips here)."""
        return None

    def __repr__(self) -> str:
        pens = ", ".join(repr(p) for p in self.penalties)
        return f"{type(self).__name__}(name={self.name!r}, penalties=[{pens}])"
