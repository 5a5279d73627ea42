"""MMD-GAN losses: MMD on critic features, its witness gradient penalty, and the Scaled MMD.

The critic ``phi_psi`` maps a sample to features (shape ``(n, k)``, ``k = 1`` or 16 in the
papers); the kernel is ``k(phi(a), phi(b))`` with a base kernel from
:mod:`divergences.kernels`.  Every loss value is an estimator from :mod:`divergences`
(``dv.mmd2``, ``dv.mmd_witness``); nothing is re-implemented here.

* ``mmd`` (Li et al. 2017; Binkowski et al. 2018; claims C18-C20): critic ``-MMD_u^2(phi(X), phi(Y))``,
  generator ``+MMD_u^2`` (unbiased estimator by default, C19).
* ``mmd_gp`` (Binkowski et al. 2018, "Demystifying MMD GANs", sec. 4; claim C23): plus
  ``gamma * E (||grad_x f(x~)|| - 1)^2`` with the witness
  ``f(t) = mean_j k(phi(t), phi(x_j)) - mean_j k(phi(t), phi(y_j))`` at interpolates
  ``x~ = eps x + (1 - eps) y``, ``eps ~ U[0,1]`` per sample, norm taken *per sample*.
* ``smmd`` / ``sn_smmd`` (Arbel, Sutherland, Binkowski & Gretton 2018, eq. 7 and Prop. 4;
  claim C22): critic ``-sigma_psi^2 MMD_u^2``, generator ``+sigma_psi^2 MMD_u^2`` with, for a
  radial kernel ``K(a, b) = g(-||a - b||^2)``,
  ``sigma_psi^-2 = lam + g(0) + 2 |g'(0)| E_mu ||grad_x phi_psi(X)||_F^2`` (``variant="paper"``),
  mu = the real minibatch; ``variant="code"`` uses the authors' released scale
  ``sigma_psi^-2 = 1 + code_weight * E_mu ||grad phi||_F^2`` (code_weight 10).  ``lam`` is
  the paper's lambda (default 1 here).  SN-SMMD is the same loss with a spectrally
  normalised critic whose layers carry a learnable scale (an architecture option of
  :mod:`gans.nets`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

import divergences as dv

from .core import PenalisedLoss
from .penalties import Logs, Penalty, _positive, input_grad_sqnorms, uniform_like

__all__ = ["MMDLoss", "WitnessGradientPenalty", "ScaledMMDLoss", "resolve_kernel"]


def resolve_kernel(kernel: Any) -> Any:
    """A :mod:`divergences.kernels` object from a name, a mapping ``{"name": ..., **params}`` or a kernel."""
    if isinstance(kernel, Mapping):
        if "name" not in kernel:
            raise ValueError(f"kernel: a mapping needs a 'name', got {dict(kernel)!r}")
        return dv.kernels.get(kernel["name"], **{k: v for k, v in kernel.items() if k != "name"})
    return dv.kernels.get(kernel)


def features(D: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Critic features ``phi(x)`` flattened to ``(n, k)``."""
    out = D(x)
    if out.ndim == 0 or out.shape[0] != x.shape[0]:
        raise ValueError(f"D: feature critic must return (n, k) for n = {x.shape[0]}, got {tuple(out.shape)}")
    return out.reshape(x.shape[0], -1)


class MMDLoss(PenalisedLoss):
    """MMD-GAN: critic ``-MMD^2(phi(X), phi(Y))``, generator ``+MMD^2`` (C18-C20).

    ``kernel``: base kernel on features (``"gaussian"`` = bandwidth 1, or a mapping / kernel
    object); ``estimator``: ``"unbiased"`` (default), ``"biased"`` or ``"linear"`` (``dv.mmd2``).
    """

    name = "mmd"

    def __init__(self, kernel: Any = "gaussian", estimator: str = "unbiased",
                 penalties: list[Penalty] | None = None) -> None:
        super().__init__(penalties)
        if estimator not in ("unbiased", "biased", "linear"):
            raise ValueError(f"estimator: expected 'unbiased', 'biased' or 'linear', got {estimator!r}")
        self.kernel = resolve_kernel(kernel)
        self.estimator = estimator

    def mmd2(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """``MMD^2`` between the critic features of ``real`` and ``fake`` (``dv.mmd2``)."""
        return dv.mmd2(features(D, real), features(D, fake), kernel=self.kernel, estimator=self.estimator)

    def critic_objective(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        m = self.mmd2(D, real, fake)
        return -m, {"mmd2": m.detach()}

    def generator_objective(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        m = self.mmd2(D, real, fake)
        return m, {}


class WitnessGradientPenalty(Penalty):
    """MMD-GAN-GP: ``gamma * E (||grad_x f(x~)|| - 1)^2`` on the MMD witness (C23).

    Binkowski et al. 2018 (lambda = 1 there).  ``f(t) = mean_j k(phi(t), phi(x_j)) -
    mean_j k(phi(t), phi(y_j))`` via ``dv.mmd_witness``; per-sample gradient norm over all
    non-batch axes of ``t``; ``x~ = eps real + (1 - eps) fake``, ``eps ~ U[0,1]`` per sample.
    """

    def __init__(self, loss: MMDLoss, gamma: float = 1.0, generator: torch.Generator | None = None) -> None:
        self.loss = loss
        self.gamma = gamma
        self.half = False
        self.name = "witness_gp"
        self.generator = generator
        self.__post_init__()

    def __call__(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        if real.shape != fake.shape:
            raise ValueError(f"fake: witness gradient penalty needs real and fake of equal shape, got "
                             f"{tuple(real.shape)} and {tuple(fake.shape)}")
        n = real.shape[0]
        eps = uniform_like(real, (n,) + (1,) * (real.ndim - 1), self.generator)
        x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
        fx, fy = features(D, real), features(D, fake)

        def witness(t: torch.Tensor) -> torch.Tensor:
            return dv.mmd_witness(features(D, t), fx, fy, kernel=self.loss.kernel)

        (g,) = torch.autograd.grad(witness(x_hat).sum(), x_hat, create_graph=True)
        norms = torch.linalg.vector_norm(g.reshape(n, -1), dim=1)
        val = self.weight * (norms - 1).pow(2).mean()
        return val, {"witness_gp": val.detach(), "witness_grad_norm": norms.mean().detach()}


class ScaledMMDLoss(MMDLoss):
    """Scaled MMD: critic ``-sigma_psi^2 MMD_u^2``, generator ``+sigma_psi^2 MMD_u^2`` (C22).

    ``sigma_psi^-2 = lam + g(0) + 2|g'(0)| E_real ||grad phi(X)||_F^2`` (``variant="paper"``,
    Arbel et al. 2018, Prop. 4 with mu = the real minibatch) or
    ``1 + code_weight E_real ||grad phi(X)||_F^2`` (``variant="code"``, the authors' code).
    The base kernel must be radial (``smmd_constants``).  Logs ``mmd2``, ``smmd_scale``
    (= sigma_psi^2) and ``critic_grad_sqnorm``.
    """

    name = "smmd"

    def __init__(self, kernel: Any = "gaussian", lam: float = 1.0, variant: str = "paper",
                 code_weight: float = 10.0, penalties: list[Penalty] | None = None) -> None:
        super().__init__(kernel=kernel, estimator="unbiased", penalties=penalties)
        if variant not in ("paper", "code"):
            raise ValueError(f"variant: expected 'paper' or 'code', got {variant!r}")
        self.lam = _positive(lam, "lam")
        self.code_weight = _positive(code_weight, "code_weight")
        self.variant = variant
        self.g0, self.gprime0 = self.kernel.smmd_constants()

    def scale(self, D: nn.Module, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(sigma_psi^2, E_real ||grad phi||_F^2)``; differentiable in the critic's parameters."""
        sq = input_grad_sqnorms(D, real).mean()
        if self.variant == "paper":
            inv = self.lam + self.g0 + 2 * self.gprime0 * sq
        else:
            inv = 1.0 + self.code_weight * sq
        return 1.0 / inv, sq

    def smmd2(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        """``sigma_psi^2 MMD_u^2`` and its logs."""
        m = self.mmd2(D, real, fake)
        s, sq = self.scale(D, real)
        return s * m, {"mmd2": m.detach(), "smmd_scale": s.detach(), "critic_grad_sqnorm": sq.detach()}

    def critic_objective(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        v, logs = self.smmd2(D, real, fake)
        return -v, logs

    def generator_objective(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        v, _ = self.smmd2(D, real, fake)
        return v, {}
