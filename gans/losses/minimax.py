"""The classifier-based GAN losses: minimax (saturating), non-saturating, LSGAN and hinge.

Critic output ``D(x)`` is a real number per sample, large on *real* data (for the minimax
family it is the logit of "real": the discriminator's probability is ``sigmoid(D(x))``).
All losses are minimised.  ``softplus(t) = log(1 + e^t)`` keeps every log finite.  The
critic loss of the minimax family is minus the GAN objective, whose one home is
:func:`divergences.bounds.gan`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

import divergences as dv

from .core import PenalisedLoss
from .penalties import Logs, Penalty, critic_scores

__all__ = ["MinimaxLoss", "NonSaturatingLoss", "LeastSquaresLoss", "HingeLoss"]


def _bce_critic(D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
    d_real = critic_scores(D, real)
    d_fake = critic_scores(D, fake)
    loss = -dv.bounds.gan(d_real, d_fake)  # = E_P softplus(-D(x)) + E_Q softplus(D(y)), the BCE
    return loss, {"d_real": d_real.mean().detach(), "d_fake": d_fake.mean().detach()}


class MinimaxLoss(PenalisedLoss):
    """The original (saturating) GAN, Goodfellow et al. 2014, eq. 1 (claims C02, C03, C25).

    Critic:    ``-E_P log sigmoid(D(x)) - E_Q log(1 - sigmoid(D(y)))``
               ``= E_P softplus(-D(x)) + E_Q softplus(D(y))``;
    generator: ``E_Q log(1 - sigmoid(D(G(z)))) = -E_Q softplus(D(G(z)))``.
    With the optimal critic ``sigmoid(D*) = p/(p+q)`` the critic's loss equals
    ``-(2 JSD(P, Q) - log 4)`` (C03; JSD with the 1/2 weights, natural log).  The generator's
    gradient vanishes as ``sigmoid(D(G(z))) -> 0`` (C25).
    """

    name = "gan"

    def critic_objective(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        return _bce_critic(D, real, fake)

    def generator_objective(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        return -F.softplus(critic_scores(D, fake)).mean(), {}


class NonSaturatingLoss(MinimaxLoss):
    """Non-saturating GAN (Goodfellow et al. 2014, sec. 3; claim C25).

    Critic as :class:`MinimaxLoss`; generator ``-E_Q log sigmoid(D(G(z))) = E_Q softplus(-D(G(z)))``,
    whose gradient does not vanish when the critic is confident.
    """

    name = "nsgan"

    def generator_objective(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        return F.softplus(-critic_scores(D, fake)).mean(), {}


class LeastSquaresLoss(PenalisedLoss):
    """LSGAN, Mao et al. 2017, eq. 2 (claim C34), with labels ``a`` (fake), ``b`` (real), ``c``.

    Critic:    ``1/2 E_P (D(x) - b)^2 + 1/2 E_Q (D(y) - a)^2``;
    generator: ``1/2 E_Q (D(G(z)) - c)^2``.  Defaults ``a = 0, b = c = 1`` (the paper's
    0-1 coding).  With ``b - c = 1, b - a = 2`` the paper relates it to Pearson chi^2.
    """

    name = "lsgan"

    def __init__(self, penalties: list[Penalty] | None = None, a: float = 0.0, b: float = 1.0, c: float = 1.0) -> None:
        super().__init__(penalties)
        for nm, v in (("a", a), ("b", b), ("c", c)):
            if not isinstance(v, (int, float)) or not torch.isfinite(torch.tensor(float(v))):
                raise ValueError(f"lsgan.{nm}: expected a finite number, got {v!r}")
        self.a, self.b, self.c = float(a), float(b), float(c)

    def critic_objective(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        d_real = critic_scores(D, real)
        d_fake = critic_scores(D, fake)
        loss = 0.5 * (d_real - self.b).pow(2).mean() + 0.5 * (d_fake - self.a).pow(2).mean()
        return loss, {"d_real": d_real.mean().detach(), "d_fake": d_fake.mean().detach()}

    def generator_objective(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        return 0.5 * (critic_scores(D, fake) - self.c).pow(2).mean(), {}


class HingeLoss(PenalisedLoss):
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018, eq. 16; claim C34).

    Critic:    ``E_P relu(1 - D(x)) + E_Q relu(1 + D(y))``;
    generator: ``-E_Q D(G(z))``.
    """

    name = "hinge"

    def critic_objective(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        d_real = critic_scores(D, real)
        d_fake = critic_scores(D, fake)
        loss = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
        return loss, {"d_real": d_real.mean().detach(), "d_fake": d_fake.mean().detach()}

    def generator_objective(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        return -critic_scores(D, fake).mean(), {}
