"""One update of a GAN: the only place where generator and critic parameters move.

Both the trainer (:mod:`gans.train`) and the DiracGAN experiments call these functions, so
the toy and the image GANs share one mechanism (CONTRIBUTING.md, "Layout").  Schemes (Mescheder et al. 2018):

* ``simultaneous``: both gradients are taken at the same point, then both players step;
  with ``consensus_gamma > 0`` each gradient gets ``+ gamma * grad(1/2 ||v||^2)`` where ``v``
  is the joint descent field (consensus optimisation, Mescheder et al. 2017);
* ``alternating``: ``n_critic`` critic steps and one generator step, in the order given by
  ``g_first`` (Mescheder's DiracGAN: generator first; WGAN training: critic first); with
  ``consensus_gamma > 0`` each player's step uses that player's part of the consensus gradient
  ``grad + gamma * grad(1/2 ||v||^2)``, evaluated at the point the step starts from.

:func:`consensus_gradients` is the one home of the consensus term (both schemes, and any
consensus vector field that is differentiated again).

All losses are minimised (see :mod:`gans.losses.base`).

Parametrisations (spectral norm, :mod:`gans.nets.spectral`) are evaluated once per critic or
generator step: both run under ``torch.nn.utils.parametrize.cached()``, so every call of the
critic inside one step sees the same normalised weights and the power iteration advances once
per update (Miyato et al. 2018, Alg. 1).  ``joint_gradients`` is not cached: it differentiates
two losses in two separate ``autograd.grad`` calls, which a shared cached weight would forbid.
"""

from __future__ import annotations

import math
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


def _check_consensus_gamma(gamma: float) -> float:
    try:
        g = float(gamma)
    except (TypeError, ValueError):
        raise ValueError(f"consensus_gamma: expected a finite number >= 0, got {gamma!r}") from None
    if not (math.isfinite(g) and g >= 0):
        raise ValueError(f"consensus_gamma: expected a finite number >= 0, got {gamma!r}")
    return g


def consensus_gradients(G: nn.Module, D: nn.Module, loss: GANLoss, real: torch.Tensor, z: torch.Tensor,
                        gamma: float, *, create_graph: bool = False
                        ) -> tuple[list[torch.Tensor], list[torch.Tensor], Logs]:
    """Consensus-optimisation gradients ``(g + gamma dL/dtheta, d + gamma dL/dpsi)`` with ``L = 1/2 ||v||^2``.

    ``(g, d)`` are :func:`joint_gradients` (the negative joint field ``-v``) and ``L`` is half
    the squared norm of all their entries (Mescheder, Nowozin & Geiger 2017, "The Numerics of
    GANs", Algorithm 1: the update ``x + h (v - gamma grad L)``).  ``gamma`` must be finite and
    ``>= 0`` (``ValueError`` otherwise).  Without ``create_graph`` the results are detached;
    with it they can be differentiated again (the Jacobian of the DiracGAN consensus field).
    The logs get ``consensus_sq = L``.
    """
    gamma = _check_consensus_gamma(gamma)
    g_grads, d_grads, logs = joint_gradients(G, D, loss, real, z, create_graph=True)
    sq = sum((g ** 2).sum() for g in g_grads + d_grads) / 2
    extra = torch.autograd.grad(sq, _params(G) + _params(D), create_graph=create_graph, allow_unused=True)
    extra = [torch.zeros_like(g) if e is None else e for g, e in zip(g_grads + d_grads, extra)]
    total = [(g if create_graph else g.detach()) + gamma * e for g, e in zip(g_grads + d_grads, extra)]
    logs["consensus_sq"] = sq.detach()
    return total[:len(g_grads)], total[len(g_grads):], logs


def simultaneous_step(G: nn.Module, D: nn.Module, loss: GANLoss, opt_g: torch.optim.Optimizer,
                      opt_d: torch.optim.Optimizer, real: torch.Tensor, z: torch.Tensor,
                      *, consensus_gamma: float = 0.0) -> Logs:
    """Simultaneous gradient step of both players (optionally with consensus optimisation).

    ``consensus_gamma > 0``: both gradients from :func:`consensus_gradients`; 0: plain
    :func:`joint_gradients`.  ``ValueError`` for a negative or non-finite ``consensus_gamma``.
    """
    consensus = _check_consensus_gamma(consensus_gamma) > 0
    if consensus:
        g_grads, d_grads, logs = consensus_gradients(G, D, loss, real, z, consensus_gamma)
    else:
        g_grads, d_grads, logs = joint_gradients(G, D, loss, real, z)
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


def _consensus_player_step(G: nn.Module, D: nn.Module, loss: GANLoss, opt: torch.optim.Optimizer,
                           real: torch.Tensor, z: torch.Tensor, gamma: float, *, player: str) -> Logs:
    """One step of ``player`` (``"generator"`` or ``"critic"``) along its part of :func:`consensus_gradients`.

    Both players' gradients are taken at the current point (the consensus term couples them);
    only ``player``'s parameters receive a gradient and move (``opt`` is that player's
    optimiser).  A critic step ends with ``loss.after_d_step`` like :func:`critic_step`.  Not
    run under ``parametrize.cached()`` for the reason given for :func:`joint_gradients`.
    """
    if player not in ("generator", "critic"):
        raise ValueError(f"player: expected 'generator' or 'critic', got {player!r}")
    g_grads, d_grads, logs = consensus_gradients(G, D, loss, real, z, gamma)
    module, grads = (G, g_grads) if player == "generator" else (D, d_grads)
    for p, g in zip(_params(module), grads):
        p.grad = g
    opt.step()
    if player == "critic":
        loss.after_d_step(D)
    return logs


def alternating_step(G: nn.Module, D: nn.Module, loss: GANLoss, opt_g: torch.optim.Optimizer,
                     opt_d: torch.optim.Optimizer, sample_real: Sampler, sample_z: Sampler,
                     *, n_critic: int = 1, g_first: bool = False, consensus_gamma: float = 0.0) -> Logs:
    """``n_critic`` critic steps and one generator step, each on fresh batches.

    ``sample_real()`` and ``sample_z()`` draw the next real batch and latent batch; they own
    all randomness, so a seeded sampler makes the step reproducible.  ``consensus_gamma > 0``:
    every step is a :func:`_consensus_player_step` (alternating consensus optimisation,
    Mescheder et al. 2018's DiracGAN with ``g_first``); 0: :func:`critic_step` and
    :func:`generator_step`.  ``ValueError`` for a negative or non-finite ``consensus_gamma``.
    """
    gamma = _check_consensus_gamma(consensus_gamma)

    def g_step() -> Logs:
        if gamma > 0:
            return _consensus_player_step(G, D, loss, opt_g, sample_real(), sample_z(), gamma, player="generator")
        return generator_step(G, D, loss, opt_g, sample_real(), sample_z())

    def d_step() -> Logs:
        if gamma > 0:
            return _consensus_player_step(G, D, loss, opt_d, sample_real(), sample_z(), gamma, player="critic")
        return critic_step(G, D, loss, opt_d, sample_real(), sample_z())

    logs: Logs = {}
    if g_first:
        logs.update(g_step())
    for _ in range(n_critic):
        logs.update(d_step())
    if not g_first:
        logs.update(g_step())
    return logs
