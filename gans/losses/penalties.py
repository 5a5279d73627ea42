"""Critic-side regularisers: zero-centred (R1, R2) and one-centred (WGAN-GP, DRAGAN) penalties.

Every penalty works on *per-sample* input gradients: for a batch ``x`` of shape ``(n, ...)``
the critic's gradient ``g_i = d D(x_i) / d x_i`` is taken with
``torch.autograd.grad(D(x).sum(), x, create_graph=True)`` and its squared norm is summed over
all non-batch axes, so images, 2-D points and DiracGAN scalars are treated alike.  This
assumes the critic treats samples independently (no batch statistics inside the critic, the
standard requirement of gradient penalties).  For a critic with ``k > 1`` outputs (MMD
feature critics) the squared norm is the squared Frobenius norm of the per-sample Jacobian
(one backward pass per output).  The gradients carry their graph, so a penalty can be
differentiated with respect to the critic's parameters (and once more for consensus
optimisation or Jacobians).

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

from collections.abc import Callable, Mapping
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

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
    "build_penalty",
    "penalty_names",
    "uniform_like",
]


def critic_scores(D: nn.Module | Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``D(x)`` as one score per sample, shape ``(n,)``.

    Accepts critic outputs of shape ``(n,)``, ``(n, 1)`` or ``(n, 1, 1, ...)``; anything with
    more than one number per sample raises ``ValueError`` (use a feature loss such as MMD for
    vector-valued critics).
    """
    out = D(x)
    n = x.shape[0]
    if out.ndim == 0 or out.shape[0] != n or out.numel() != n:
        raise ValueError(
            f"D: expected one score per sample (shape ({n},) or ({n}, 1)), got output shape {tuple(out.shape)}")
    return out.reshape(n)


def _check_batch(x: torch.Tensor, name: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    if x.ndim < 1 or x.shape[0] < 1:
        raise ValueError(f"{name}: expected a non-empty batch (n, ...), got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{name}: expected a floating-point tensor, got dtype {x.dtype}")


def input_grad_sqnorms(D: nn.Module | Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                       *, create_graph: bool = True) -> torch.Tensor:
    """Per-sample ``||grad_x D(x_i)||^2`` (squared Frobenius norm of the Jacobian), shape ``(n,)``.

    ``x`` may already carry a graph (e.g. generated samples in a consensus step); it is then
    differentiated as it is, otherwise a detached copy that requires grad is used.  Gradients
    are summed over all non-batch axes.  Formula: ``sum_o sum_j (d D_o(x_i) / d x_ij)^2``.
    """
    _check_batch(x, "x")
    xin = x if x.requires_grad else x.detach().requires_grad_(True)
    out = D(xin)
    n = xin.shape[0]
    if out.shape[0] != n:
        raise ValueError(f"D: output batch size {out.shape[0]} differs from input batch size {n}")
    out = out.reshape(n, -1)
    total = xin.new_zeros(n)
    for o in range(out.shape[1]):
        # retain_graph: later outputs, and a spectral-norm weight cached for the whole step
        # (parametrize.cached), still need this graph after the call.
        (g,) = torch.autograd.grad(out[:, o].sum(), xin, create_graph=create_graph, retain_graph=True)
        total = total + g.reshape(n, -1).pow(2).sum(dim=1)
    return total


def input_grad_norms(D: nn.Module | Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                     *, create_graph: bool = True) -> torch.Tensor:
    """Per-sample ``||grad_x D(x_i)||`` (Euclidean over all non-batch axes), shape ``(n,)``.

    Computed with ``torch.linalg.vector_norm`` on the flattened gradient, whose backward pass
    is zero (not NaN) where the gradient vanishes.  Scalar-output critics only.
    """
    _check_batch(x, "x")
    xin = x if x.requires_grad else x.detach().requires_grad_(True)
    scores = critic_scores(D, xin)
    (g,) = torch.autograd.grad(scores.sum(), xin, create_graph=create_graph, retain_graph=True)
    return torch.linalg.vector_norm(g.reshape(xin.shape[0], -1), dim=1)


def uniform_like(x: torch.Tensor, shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
    """``U[0, 1)`` draws of ``shape`` on ``x``'s device/dtype from ``generator`` (default torch RNG if None).

    The draws are made on the generator's device (the trainer's is a CPU generator, so the
    numbers do not depend on the device trained on) and copied with ``non_blocking=True``: a
    fresh host tensor is staged by the copy call itself, so the host does not wait for the
    device (a blocking copy would synchronise the stream in every critic step).
    """
    dev = generator.device if generator is not None else x.device
    u = torch.rand(shape, generator=generator, device=dev, dtype=x.dtype)
    return u.to(x.device, non_blocking=True)


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
        sq = input_grad_sqnorms(D, self.points(real, fake))
        val = self.weight * sq.mean()
        return val, {f"{self.name}": val.detach(), f"{self.name}_grad_sqnorm": sq.mean().detach()}


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
        n = real.shape[0]
        eps = uniform_like(real, (n,) + (1,) * (real.ndim - 1), self.generator)
        x_hat = eps * real.detach() + (1 - eps) * fake.detach()
        norms = input_grad_norms(D, x_hat)
        val = self.weight * (norms - self.center).pow(2).mean()
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
        x = real.detach()
        std = x.std() if x.numel() > 1 else x.new_zeros(())
        x_p = x + self.scale * std * uniform_like(x, tuple(x.shape), self.generator)
        norms = input_grad_norms(D, x_p)
        val = self.weight * (norms - self.center).pow(2).mean()
        return val, {f"{self.name}": val.detach(), f"{self.name}_grad_norm": norms.mean().detach()}


_PENALTIES: dict[str, type[Penalty]] = {
    "r1": R1Penalty,
    "r2": R2Penalty,
    "gp": GradientPenalty,
    "dragan": DraganPenalty,
}


def penalty_names() -> list[str]:
    """Names accepted in a loss config's ``penalties`` list."""
    return sorted(_PENALTIES)


def build_penalty(cfg: Mapping[str, Any], generator: torch.Generator | None = None) -> Penalty:
    """Penalty from a mapping such as ``{"name": "r1", "gamma": 10.0}`` (keys: see each class)."""
    if not isinstance(cfg, Mapping) or "name" not in cfg:
        raise ValueError(f"penalties: each entry must be a mapping with a 'name', got {cfg!r}")
    name = cfg["name"]
    if name not in _PENALTIES:
        raise ValueError(f"penalties: unknown penalty {name!r}; choose from {penalty_names()}")
    cls = _PENALTIES[name]
    allowed = {f for f in cls.__dataclass_fields__ if f not in ("name", "generator")}
    extra = set(cfg) - allowed - {"name"}
    if extra:
        raise ValueError(f"penalties: unknown key(s) {sorted(extra)} for {name!r}; allowed {sorted(allowed)}")
    kwargs = {k: v for k, v in cfg.items() if k != "name"}
    return cls(**kwargs, generator=generator)
