"""Critic-side regularisers: zero-centred (R1, R2) and one-centred (WGAN-GP, DRAGAN) penalties.

The mathematics lives in :mod:`divergences.lipschitz` (per-sample input gradients, the
interpolates and perturbations, the penalties without their weight); this module adds the
weights and the configuration.  Every penalty works on *per-sample* input gradients
``g_i = d D(x_i) / d x_i``, flattened over all non-batch axes (images, 2-D points and DiracGAN
scalars alike), assuming the critic treats samples independently; for a critic with ``k > 1``
outputs (MMD feature critics) the squared norm is the squared Frobenius norm of the per-sample
Jacobian.  The gradients carry their graph, so a penalty can be differentiated with respect
to the critic's parameters (and once more for consensus optimisation or Jacobians).

Convention for the factor in front (stated per penalty, also in each config):

* ``r1`` / ``r2`` (Mescheder, Geiger & Nowozin 2018, eq. 9-10; claim C34, C24):
  ``gamma/2 * E ||grad_x D(x)||^2`` on real (R1) or generated (R2) samples -- the paper's 1/2.
  ``half=False`` drops it (GAN_stability's image code: its ``reg_param`` 10 is our gamma 20
  with ``half=True``).
* ``gp`` (Gulrajani et al. 2017, eq. 3; claim C16): ``gamma * E (||grad D(x~)|| - center)^2``
  at ``x~ = eps*x + (1-eps)*y``, ``eps ~ U[0, 1]`` per sample; no 1/2 (``half=True`` adds it,
  which is Mescheder's ``gamma/2 (|grad D| - g0)^2`` for DiracGAN's WGAN-GP).
* ``dragan`` (Kodali et al. 2017, "On convergence and stability of GANs", eq. 7; claim C34):
  ``gamma * E (||grad D(x + delta)|| - center)^2`` at perturbed real points,
  ``delta = scale * std(x) * u``, ``u ~ U[0, 1]`` elementwise (the authors' public code; the
  paper writes a Gaussian perturbation); no 1/2.

Randomness (``eps``, ``delta``) comes from the ``generator`` passed to the penalty (a
``torch.Generator``); with ``None`` it comes from torch's default generator, which the
trainer seeds and checkpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from divergences import lipschitz as _lip
# re-exported: the public gans.losses names, and the helpers gans.losses.core / .mmd import from here
from divergences.lipschitz import _check_batch, input_grad_norms, input_grad_sqnorms, uniform_like  # noqa: F401

Logs = dict[str, torch.Tensor]

__all__ = [
    "critic_scores",
    "input_grad_sqnorms",
    "input_grad_norms",
    "Penalty",
    "R1Penalty",
    "R2Penalty",
    "GradientPenalty",
    "DraganPenalty",
    "uniform_like",
]


def critic_scores(D: nn.Module | Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``D(x)`` as one score per sample, shape ``(n,)``: :func:`divergences.lipschitz.critic_scores`.

    Accepts critic outputs of shape ``(n,)``, ``(n, 1)`` or ``(n, 1, 1, ...)``; anything with
    more than one number per sample raises ``ValueError`` (use a feature loss such as MMD for
    vector-valued critics).  ``x`` is passed to ``D`` as it is (no dtype cast).
    """
    return _lip.critic_scores(D, x, label="D")


def _positive(value: Any, name: str, allow_zero: bool = True) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, got {value!r}") from None
    if not torch.isfinite(torch.tensor(v)) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name}: expected a {'non-negative' if allow_zero else 'positive'} finite number, got {value!r}")
    return v


@dataclass
class Penalty(ABC):
    """Base class: ``penalty(D, real, fake) -> (value, logs)``, added to the critic's loss."""

    gamma: float = 10.0
    half: bool = False
    name: str = "penalty"
    generator: torch.Generator | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.gamma = _positive(self.gamma, f"{self.name}.gamma")

    @property
    def weight(self) -> float:
        """The factor in front of the expectation: ``gamma/2`` with ``half`` else ``gamma``."""
        return self.gamma / 2 if self.half else self.gamma

    @abstractmethod
    def __call__(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        """The penalty value (a scalar tensor with graph) and its logs."""


@dataclass
class R1Penalty(Penalty):
    """R1: ``gamma/2 * E_real ||grad_x D(x)||^2`` (Mescheder et al. 2018, eq. 9; C24, C34)."""

    gamma: float = 10.0
    half: bool = True
    name: str = "r1"

    def points(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Where the gradient is penalised: the real data."""
        return real

    def __call__(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        pen, _ = _lip.gradient_sqnorm_penalty(D, self.points(real, fake))
        val = self.weight * pen
        return val, {f"{self.name}": val.detach(), f"{self.name}_grad_sqnorm": pen.detach()}


@dataclass
class R2Penalty(R1Penalty):
    """R2: ``gamma/2 * E_fake ||grad_x D(x)||^2`` (Mescheder et al. 2018, eq. 10; C24, C34)."""

    name: str = "r2"

    def points(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Where the gradient is penalised: the generated data."""
        return fake


@dataclass
class GradientPenalty(Penalty):
    """One-centred GP: ``gamma * E (||grad D(x~)|| - center)^2``, ``x~ = eps x + (1-eps) y``.

    Gulrajani et al. 2017, Algorithm 1 (lambda = 10, center 1; claim C16).  ``eps ~ U[0,1]``
    is drawn once per sample and broadcast over the non-batch axes.  ``half=True`` gives
    Mescheder et al.'s ``gamma/2 (|grad D| - g0)^2``.  The norm is not differentiable where the
    gradient vanishes (DiracGAN at psi = 0); autograd then uses the subgradient 0.
    """

    gamma: float = 10.0
    half: bool = False
    center: float = 1.0
    name: str = "gp"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.center = _positive(self.center, f"{self.name}.center")

    def __call__(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        if real.shape[1:] != fake.shape[1:] or real.shape[0] != fake.shape[0]:
            raise ValueError(f"fake: gradient penalty needs real and fake of equal shape, got "
                             f"{tuple(real.shape)} and {tuple(fake.shape)}")
        pen, norms = _lip.gradient_penalty(D, real, fake, generator=self.generator, center=self.center)
        val = self.weight * pen
        return val, {f"{self.name}": val.detach(), f"{self.name}_grad_norm": norms.mean().detach()}


@dataclass
class DraganPenalty(Penalty):
    """DRAGAN: ``gamma * E (||grad D(x + delta)|| - center)^2`` around real data (C34).

    Kodali et al. 2017, eq. 7 (lambda = 10, k = 1); ``delta = scale * std(x) * u``,
    ``u ~ U[0, 1]`` elementwise, ``std`` over the whole real batch (authors' code, scale 0.5).
    """

    gamma: float = 10.0
    half: bool = False
    center: float = 1.0
    scale: float = 0.5
    name: str = "dragan"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.center = _positive(self.center, f"{self.name}.center")
        self.scale = _positive(self.scale, f"{self.name}.scale")

    def __call__(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        x_p = _lip.dragan_points(real, self.scale, generator=self.generator)
        pen, norms = _lip.gradient_norm_penalty(D, x_p, center=self.center)
        val = self.weight * pen
        return val, {f"{self.name}": val.detach(), f"{self.name}_grad_norm": norms.mean().detach()}

