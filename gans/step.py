"""One update of a GAN: the only place where generator and critic parameters move.

Both the trainer (:mod:`gans.train`) and the DiracGAN experiments call these functions, so
the toy and the image GANs share one mechanism (CONTRIBUTING.md, "Layout").  Schemes (Mescheder et al. 2018):

* ``simultaneous``: both gradients are taken at the same point, then both players step;
  with ``consensus_gamma > 0`` each gradient gets ``+ gamma * grad(1/2 ||v||^2)`` where ``v``
  is the joint descent field (consensus optimisation, Mescheder et al. 2017);
* ``alternating``: ``n_critic`` critic steps and one generator step, in the order given by
  ``g_first`` (Mescheder's DiracGAN: generator first; WGAN training: critic first).

All losses are minimised (see :mod:`gans.losses.base`).

Parametrisations (spectral norm, :mod:`gans.nets.spectral`) are evaluated once per critic or
generator step: both run under ``torch.nn.utils.parametrize.cached()``, so every call of the
critic inside one step sees the same normalised weights and the power iteration advances once
per update (Miyato et al. 2018, Alg. 1).  ``joint_gradients`` is not cached: it differentiates
two losses in two separate ``autograd.grad`` calls, which a shared cached weight would forbid.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn.utils import parametrize

from .losses.base import GANLoss, Logs

Sampler = Callable[[], torch.Tensor]


def _params(m: nn.Module) -> list[torch.Tensor]:
    return [p for p in m.parameters() if p.requires_grad]


def joint_gradients(G: nn.Module, D: nn.Module, loss: GANLoss, real: torch.Tensor, z: torch.Tensor,
                    *, create_graph: bool = False) -> tuple[list[torch.Tensor], list[torch.Tensor], Logs]:
    """Gradients of (g_loss w.r.t. G's parameters, d_loss w.r.t. D's parameters) at one point.

    The negative of this pair is the GAN vector field ``v(theta, psi)``.  With
    ``create_graph`` the gradients can be differentiated again (consensus, Jacobians).
    """
    fake = G(z)
    ld, logs_d = loss.d_loss(D, real, fake if create_graph else fake.detach())
    lg, logs_g = loss.g_loss(D, real, fake)
    gp, dp = _params(G), _params(D)
    g_grads = torch.autograd.grad(lg, gp, create_graph=create_graph, allow_unused=True)
    d_grads = torch.autograd.grad(ld, dp, create_graph=create_graph, allow_unused=True)
    g_grads = [torch.zeros_like(p) if g is None else g for p, g in zip(gp, g_grads)]
    d_grads = [torch.zeros_like(p) if g is None else g for p, g in zip(dp, d_grads)]
    return g_grads, d_grads, {**logs_d, **logs_g}


def simultaneous_step(G: nn.Module, D: nn.Module, loss: GANLoss, opt_g: torch.optim.Optimizer,
                      opt_d: torch.optim.Optimizer, real: torch.Tensor, z: torch.Tensor,
                      *, consensus_gamma: float = 0.0) -> Logs:
    """Simultaneous gradient step of both players (optionally with consensus optimisation)."""
    consensus = consensus_gamma > 0
    g_grads, d_grads, logs = joint_gradients(G, D, loss, real, z, create_graph=consensus)
    if consensus:
        sq = sum((g ** 2).sum() for g in g_grads + d_grads) / 2
        extra = torch.autograd.grad(sq, _params(G) + _params(D), allow_unused=True)
        extra = [torch.zeros_like(g) if e is None else e for g, e in zip(g_grads + d_grads, extra)]
        total = [g.detach() + consensus_gamma * e for g, e in zip(g_grads + d_grads, extra)]
        g_grads, d_grads = total[:len(g_grads)], total[len(g_grads):]
        logs["consensus_sq"] = sq.detach()
    for p, g in zip(_params(G), g_grads):
        p.grad = g.detach()
    for p, g in zip(_params(D), d_grads):
        p.grad = g.detach()
    opt_g.step()
    opt_d.step()
    loss.after_d_step(D)
    return logs


def critic_step(G: nn.Module, D: nn.Module, loss: GANLoss, opt_d: torch.optim.Optimizer,
                real: torch.Tensor, z: torch.Tensor) -> Logs:
    """One critic update on a fresh generated batch (the generator is not differentiated)."""
    with parametrize.cached():  # one normalised weight (one power iteration) for the whole step
        with torch.no_grad():
            fake = G(z)
        opt_d.zero_grad(set_to_none=True)
        ld, logs = loss.d_loss(D, real, fake)
        ld.backward()
    opt_d.step()
    loss.after_d_step(D)
    return logs


def generator_step(G: nn.Module, D: nn.Module, loss: GANLoss, opt_g: torch.optim.Optimizer,
                   real: torch.Tensor, z: torch.Tensor) -> Logs:
    """One generator update; the critic's parameters receive no gradient."""
    dps = _params(D)
    for p in dps:
        p.requires_grad_(False)
    try:
        opt_g.zero_grad(set_to_none=True)
        with parametrize.cached():
            lg, logs = loss.g_loss(D, real, G(z))
            lg.backward()
        opt_g.step()
    finally:
        for p in dps:
            p.requires_grad_(True)
    return logs


def alternating_step(G: nn.Module, D: nn.Module, loss: GANLoss, opt_g: torch.optim.Optimizer,
                     opt_d: torch.optim.Optimizer, sample_real: Sampler, sample_z: Sampler,
                     *, n_critic: int = 1, g_first: bool = False) -> Logs:
    """``n_critic`` critic steps and one generator step, each on fresh batches.

    ``sample_real()`` and ``sample_z()`` draw the next real batch and latent batch; they own
    all randomness, so a seeded sampler makes the step reproducible.
    """
    logs: Logs = {}
    if g_first:
        logs.update(generator_step(G, D, loss, opt_g, sample_real(), sample_z()))
    for _ in range(n_critic):
        logs.update(critic_step(G, D, loss, opt_d, sample_real(), sample_z()))
    if not g_first:
        logs.update(generator_step(G, D, loss, opt_g, sample_real(), sample_z()))
    return logs
