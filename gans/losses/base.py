"""The loss interface every GAN objective implements (trainer and DiracGAN alike).

A loss turns a critic ``D`` and a batch of real and generated samples into two scalars
that the respective optimisers *minimise*:

* ``d_loss(D, real, fake)``: the critic's loss (for the minimax GAN this is
  ``-E log sigma(D(x)) - E log(1 - sigma(D(G(z))))``, i.e. minus the value it maximises),
  including any critic-side penalty (GP, R1, R2, DRAGAN, witness GP, ...);
* ``g_loss(D, real, fake)``: the generator's loss; ``fake`` carries the generator's graph.

Both return ``(loss, logs)`` where ``logs`` maps names to detached scalars for metrics.csv.
``after_d_step(D)`` runs after each critic optimiser step (weight clipping for WGAN).

Sign convention of the critic output: ``D(x)`` is large on *real* data (a logit of "real"
for the minimax family, a score for IPM critics).  Mescheder et al. (2018) use the opposite
sign for DiracGAN; the two are related by psi -> -psi (documented in gans.dirac).
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import nn

Logs = dict[str, torch.Tensor]


class GANLoss(Protocol):
    """Protocol for GAN objectives (see the module docstring for the conventions)."""

    name: str

    def d_loss(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        ...

    def g_loss(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        ...

    def after_d_step(self, D: nn.Module) -> None:
        ...
