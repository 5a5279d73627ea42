"""f-GAN: the variational (Fenchel-dual) bound of an f-divergence as a GAN loss (claims C10, C11).

Nowozin, Cseke & Tomioka 2016, eq. 6: with the critic's raw output ``V(x)`` passed through the
divergence's output activation ``g_f`` (mapping R into the domain of the conjugate ``f*``),

    F(V) = E_P[g_f(V(x))] - E_Q[f*(g_f(V(y)))]  <=  D_f(P || Q) = int q f(p/q),

with equality at ``g_f(V) = T* = f'(p/q)`` (C10).  P is the real distribution, Q the model,
so the critic (large on real data: ``T*`` grows with ``p/q``) minimises ``-F(V)``.  The
generator minimises ``F`` (``generator="minimax"``: ``-E_Q f*(g_f(V(G(z))))``) or, as in the
paper's experiments (sec. 3.2), maximises ``E_Q g_f(V(G(z)))`` (``"nonsaturating"``, the default).
``f``, ``f*``, ``g_f`` come from the registry :func:`divergences.fdiv.get`; for the "gan" entry
the bound is the minimax GAN objective ``2 JSD - log 4`` (C03, C11).  The bound itself is
:func:`divergences.bounds.fgan`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

import divergences as dv

from .core import PenalisedLoss
from .penalties import Logs, Penalty, critic_scores

__all__ = ["FGANLoss"]


class FGANLoss(PenalisedLoss):
    """f-GAN loss for any :mod:`divergences.fdiv` entry (Nowozin et al. 2016, eq. 6; C10).

    Critic: ``-(E_P g_f(V(x)) - E_Q f*(g_f(V(y))))``; logs ``fdiv_bound`` (the bound ``F``).
    Generator: ``-E_Q f*(g_f(V(G(z))))`` ("minimax") or ``-E_Q g_f(V(G(z)))`` ("nonsaturating").
    """

    name = "fgan"

    def __init__(self, divergence: str, params: Mapping[str, Any] | None = None,
                 generator: str = "nonsaturating", penalties: list[Penalty] | None = None) -> None:
        super().__init__(penalties)
        if generator not in ("minimax", "nonsaturating"):
            raise ValueError(f"generator: expected 'minimax' or 'nonsaturating', got {generator!r}")
        if not isinstance(divergence, str):
            raise ValueError(f"divergence: expected a divergences.fdiv name, got {divergence!r}")
        self.divergence = divergence
        self.params = dict(params or {})
        self.entry = dv.fdiv.get(divergence, **self.params)
        self.generator = generator

    def critic_output(self, D: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """``T(x) = g_f(V(x))``: the critic's raw score through the output activation, shape ``(n,)``."""
        return self.entry.activation(critic_scores(D, x))

    def bound(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """The variational lower bound ``E_P T(x) - E_Q f*(T(y))`` of ``D_f(P || Q)`` (C10)."""
        # f*(g_f(V)) through its closed form there: composing the callables rounds onto the
        # edge of dom f* in float32 (js: +inf for V > 17; Nowozin et al. 2016, Table 6).
        v_fake = critic_scores(D, fake)  # fake first, as before: keeps spectral-norm power iterations in order
        return dv.bounds.fgan(critic_scores(D, real), v_fake, self.entry)

    def critic_objective(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        b = self.bound(D, real, fake)
        return -b, {"fdiv_bound": b.detach()}

    def generator_objective(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        if self.generator == "minimax":
            return -self.entry.conjugate_of_activation(critic_scores(D, fake)).mean(), {}
        return -self.critic_output(D, fake).mean(), {}
