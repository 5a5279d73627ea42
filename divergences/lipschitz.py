"""Lipschitz tools for critics: per-sample input gradients, gradient penalties, weight clipping.

A *critic* is any callable mapping a batch ``x`` of shape ``(n, ...)`` to one score per sample
(``(n,)``, ``(n, 1)``, ...; see :func:`critic_scores`) that treats the samples independently (no
batch statistics inside it: the standard requirement of gradient penalties).  Gradients are per
sample, ``g_i = d D(x_i) / d x_i``, taken as ``torch.autograd.grad(D(x).sum(), x)`` and
flattened over all non-batch axes, so images, points and scalars are treated alike.  With
``create_graph=True`` (the default) they carry their graph: a penalty can be differentiated
with respect to the critic's parameters (double backward), and once more (Jacobians of the
game's vector field).  ``retain_graph=True`` always: later outputs, and a spectral-norm weight
cached for a whole step (``parametrize.cached``), still need the graph after the call.  Values
are returned in the dtype of the gradient (that of ``x``); nothing here casts or changes
autocast state.

Why gradients (C14): for a differentiable critic ``||f||_Lip = sup_x ||grad f(x)||_2``, so the
penalties below push the gradient norm towards a target where they are evaluated, and weight
clipping bounds it by an (unknown) constant.  Randomness (interpolation weights, perturbations)
comes from the ``generator`` the caller passes explicitly; ``generator=None`` must be given
explicitly too and then uses torch's default generator of the device drawn on.  No training
loops, no I/O; the weight of a penalty in a loss (lambda, gamma, gamma/2) is the caller's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

from ._validation import check_positive

__all__ = [
    "critic_scores",
    "input_grad_sqnorms",
    "input_grad_norms",
    "uniform_like",
    "interpolates",
    "dragan_points",
    "gradient_norm_penalty",
    "gradient_penalty",
    "gradient_sqnorm_penalty",
    "clip_weights_",
]

Critic = Callable[[torch.Tensor], torch.Tensor]


def _check_batch(x: torch.Tensor, name: str) -> None:
    """A non-empty floating-point batch ``(n, ...)``; raises ``ValueError`` naming ``name``."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    if x.ndim < 1 or x.shape[0] < 1:
        raise ValueError(f"{name}: expected a non-empty batch (n, ...), got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{name}: expected a floating-point tensor, got dtype {x.dtype}")


def critic_scores(critic: Critic, x: torch.Tensor, *, name: str = "x", label: str = "critic",
                  match_module: bool = False) -> torch.Tensor:
    """``critic(x)`` as one score per sample, shape ``(n,)`` (the critic's raw output, no activation).

    Accepts outputs of shape ``(n,)``, ``(n, 1)`` or ``(n, 1, 1, ...)``; a non-tensor output or
    more than one number per sample raises ``ValueError`` (``label``: the critic's name in the
    message, ``name``: the input's).  ``match_module=True``: an ``nn.Module`` critic is fed
    ``x`` cast to its first parameter's dtype and device (differentiable cast), so float64
    samples can meet a float32 network; otherwise ``x`` is passed as it is.
    """
    if match_module and isinstance(critic, nn.Module):
        p = next(critic.parameters(), None)
        if p is not None and (p.dtype != x.dtype or p.device != x.device):
            x = x.to(device=p.device, dtype=p.dtype)
    out = critic(x)
    if not isinstance(out, torch.Tensor):
        raise ValueError(f"{label}: must return a torch tensor, got {type(out).__name__}")
    n = x.shape[0]
    if out.ndim == 0 or out.shape[0] != n or out.numel() != n:
        raise ValueError(f"{label}: must map {name} of shape {tuple(x.shape)} to one score per sample "
                         f"(shape ({n},) or ({n}, 1)), got output shape {tuple(out.shape)}")
    return out.reshape(n)


def _grad_input(x: torch.Tensor) -> torch.Tensor:
    """``x`` itself if it already carries a graph (e.g. generated samples), else a detached
    copy that requires grad."""
    return x if x.requires_grad else x.detach().requires_grad_(True)


def input_grad_sqnorms(critic: Critic, x: torch.Tensor, *, create_graph: bool = True) -> torch.Tensor:
    """Per-sample ``||grad_x D(x_i)||^2``, shape ``(n,)``: ``sum_o sum_j (d D_o(x_i) / d x_ij)^2``.

    For a critic with ``k > 1`` outputs per sample (MMD feature critics) this is the squared
    Frobenius norm of the per-sample Jacobian, from one backward pass per output.  ``x`` may
    already carry a graph (then it is differentiated as it is).  R1/R2 (Mescheder, Geiger &
    Nowozin 2018, eq. 9-10; C24, C34) are means of these.
    """
    _check_batch(x, "x")
    xin = _grad_input(x)
    out = critic(xin)
    n = xin.shape[0]
    if out.shape[0] != n:
        raise ValueError(f"critic: output batch size {out.shape[0]} differs from input batch size {n}")
    out = out.reshape(n, -1)
    total = xin.new_zeros(n)
    for o in range(out.shape[1]):
        (g,) = torch.autograd.grad(out[:, o].sum(), xin, create_graph=create_graph, retain_graph=True)
        total = total + g.reshape(n, -1).pow(2).sum(dim=1)
    return total


def input_grad_norms(critic: Critic, x: torch.Tensor, *, create_graph: bool = True) -> torch.Tensor:
    """Per-sample ``||grad_x D(x_i)||_2`` (Euclidean over all non-batch axes), shape ``(n,)``.

    The "critic score" of a sample's gradient: C14's ``||f||_Lip = sup_x ||grad f(x)||`` is the
    supremum of these.  Computed with ``torch.linalg.vector_norm`` of the flattened gradient,
    whose backward pass is 0 (not NaN) where the gradient vanishes.  One score per sample only
    (see :func:`critic_scores`).
    """
    _check_batch(x, "x")
    xin = _grad_input(x)
    scores = critic_scores(critic, xin)
    (g,) = torch.autograd.grad(scores.sum(), xin, create_graph=create_graph, retain_graph=True)
    return torch.linalg.vector_norm(g.reshape(xin.shape[0], -1), dim=1)


def uniform_like(x: torch.Tensor, shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
    """``U[0, 1)`` draws of ``shape`` in ``x``'s dtype from ``generator``, moved to ``x``'s device.

    Drawn on the generator's device (a CPU generator gives the same numbers whatever device
    ``x`` lives on; ``None``: torch's default generator of ``x``'s device) and copied with
    ``non_blocking=True``: the copy stages a fresh host tensor itself, so the host does not wait
    for the device (a blocking copy would synchronise the stream in every critic step).
    """
    dev = generator.device if generator is not None else x.device
    u = torch.rand(shape, generator=generator, device=dev, dtype=x.dtype)
    return u.to(x.device, non_blocking=True)


def interpolates(x: torch.Tensor, y: torch.Tensor, *, generator: torch.Generator | None) -> torch.Tensor:
    """``x~ = eps x + (1 - eps) y`` with ``eps ~ U[0, 1]`` once per sample, broadcast over the
    non-batch axes (Gulrajani et al. 2017, Algorithm 1).  ``x`` and ``y`` are detached and must
    have the same shape; the weights come from :func:`uniform_like` (shape ``(n, 1, ..., 1)``)."""
    _check_batch(x, "x")
    _check_batch(y, "y")
    if x.shape != y.shape:
        raise ValueError(f"y: interpolation needs x and y of equal shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    eps = uniform_like(x, (x.shape[0],) + (1,) * (x.ndim - 1), generator)
    return eps * x.detach() + (1 - eps) * y.detach()


def dragan_points(x: torch.Tensor, scale: float, *, generator: torch.Generator | None) -> torch.Tensor:
    """DRAGAN's perturbed data ``x + scale * std(x) * u``, ``u ~ U[0, 1]`` elementwise.

    Kodali et al. 2017 ("On convergence and stability of GANs", eq. 7; C34) with the authors'
    public code's uniform perturbation (the paper writes a Gaussian); ``std`` over the whole
    (detached) batch, 0 for a single number.
    """
    _check_batch(x, "x")
    xd = x.detach()
    std = xd.std() if xd.numel() > 1 else xd.new_zeros(())
    return xd + scale * std * uniform_like(xd, tuple(xd.shape), generator)


def gradient_norm_penalty(critic: Critic, points: torch.Tensor, *, center: float = 1.0,
                          create_graph: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """``E (||grad D(x)|| - center)^2`` over ``points`` (mean over samples), and the norms.

    The one-centred (two-sided) penalty of WGAN-GP (``center = 1``; Gulrajani et al. 2017,
    eq. 3; C16) and DRAGAN (C34) without its weight.  The norm is not differentiable where the
    gradient vanishes; autograd then uses the subgradient 0 (see :func:`input_grad_norms`).
    Returns ``(penalty, norms)``, ``norms`` of shape ``(n,)`` with their graph.
    """
    norms = input_grad_norms(critic, points, create_graph=create_graph)
    return (norms - center).pow(2).mean(), norms


def gradient_penalty(critic: Critic, x: torch.Tensor, y: torch.Tensor, *, generator: torch.Generator | None,
                     center: float = 1.0, create_graph: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """WGAN-GP penalty ``E_{x~} (||grad D(x~)||_2 - center)^2`` at random interpolates, unweighted.

    Gulrajani et al. 2017, eq. 3 (``lambda = 10`` is the caller's; center 1; C16):
    ``x~ = eps x + (1 - eps) y``, ``eps ~ U[0, 1]`` per sample (:func:`interpolates`), so the
    penalty is evaluated between the two distributions where the optimal critic has gradient
    norm 1.  For a linear critic ``w.x + b`` it is ``(||w|| - center)^2`` exactly.  Returns
    ``(penalty, norms)`` as :func:`gradient_norm_penalty`.
    """
    return gradient_norm_penalty(critic, interpolates(x, y, generator=generator), center=center,
                                 create_graph=create_graph)


def gradient_sqnorm_penalty(critic: Critic, points: torch.Tensor, *, create_graph: bool = True
                            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-centred penalty ``E ||grad_x D(x)||^2`` over ``points``, unweighted, and the squared norms.

    R1 on real data, R2 on generated data (Mescheder, Geiger & Nowozin 2018, eq. 9-10, where
    the weight is ``gamma/2``; C24, C34).  Multi-output critics: squared Frobenius norm of the
    per-sample Jacobian (:func:`input_grad_sqnorms`).  Returns ``(penalty, sqnorms)``.
    """
    sq = input_grad_sqnorms(critic, points, create_graph=create_graph)
    return sq.mean(), sq


def clip_weights_(params: nn.Module | Iterable[torch.Tensor], clip: float) -> None:
    """Clamp every parameter to ``[-clip, clip]`` in place, without autograd (WGAN weight clipping).

    Arjovsky, Chintala & Bottou 2017, Algorithm 1 (``c = 0.01``; C15): after every critic step,
    so the critic stays K-Lipschitz for some K that depends on the architecture and ``c`` only.
    ``params``: a module (all its parameters) or an iterable of tensors; ``clip > 0``.
    """
    check_positive(clip, "clip")
    c = float(clip)
    tensors = params.parameters() if isinstance(params, nn.Module) else params
    with torch.no_grad():
        for p in tensors:
            p.clamp_(-c, c)
