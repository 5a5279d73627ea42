"""Wasserstein GAN losses: weight clipping (WGAN) and the gradient penalty (WGAN-GP).

The critic maximises the Kantorovich-Rubinstein dual ``E_P D(x) - E_Q D(y)`` (claim C13),
a lower bound on ``W1(P, Q)`` when ``D`` is 1-Lipschitz; as a loss to minimise it is
``E_Q D(y) - E_P D(x)``.  The Lipschitz constraint is enforced by clipping every critic
parameter to ``[-clip, clip]`` after each critic step (Arjovsky et al. 2017, Algorithm 1,
c = 0.01; claim C15) or by the one-centred gradient penalty (Gulrajani et al. 2017; C16).
The bound is :func:`divergences.bounds.kantorovich_rubinstein`, the clipping
:func:`divergences.lipschitz.clip_weights_` and the penalty :func:`divergences.lipschitz.gradient_penalty`.
"""

from __future__ import annotations

import torch
from torch import nn

import divergences as dv

from .core import PenalisedLoss
from .penalties import Logs, Penalty, critic_scores

__all__ = ["WassersteinLoss"]


class WassersteinLoss(PenalisedLoss):
    """WGAN: critic ``E_Q D(y) - E_P D(x)``, generator ``-E_Q D(G(z))`` (claims C13, C15, C16).

    ``clip``: if given, every critic parameter is clamped to ``[-clip, clip]`` in
    :meth:`after_d_step` (WGAN, c = 0.01 in the paper; 1 in DiracGAN).  ``None`` for WGAN-GP,
    whose one-centred penalty is configured as a ``gp`` penalty (see :func:`gans.losses.build`).
    Logs ``w1_estimate = E_P D(x) - E_Q D(y)`` (the critic's dual value).
    """

    name = "wgan"

    def __init__(self, penalties: list[Penalty] | None = None, clip: float | None = 0.01) -> None:
        super().__init__(penalties)
        if clip is not None:
            try:
                clip = float(clip)
            except (TypeError, ValueError):
                raise ValueError(f"clip: expected a positive number or None, got {clip!r}") from None
            if not (clip > 0 and torch.isfinite(torch.tensor(clip))):
                raise ValueError(f"clip: expected a positive finite number or None, got {clip!r}")
        self.clip = clip

    def critic_objective(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        w1 = dv.bounds.kantorovich_rubinstein(critic_scores(D, real), critic_scores(D, fake))
        return -w1, {"w1_estimate": w1.detach()}

    def generator_objective(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        return -critic_scores(D, fake).mean(), {}

    def after_d_step(self, D: nn.Module) -> None:
        """Clamp every critic parameter to ``[-clip, clip]`` in place (no-op without ``clip``)."""
        if self.clip is None:
            return
        dv.lipschitz.clip_weights_(D, self.clip)
