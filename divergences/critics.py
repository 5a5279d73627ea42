"""Small critic networks for the variational estimators, and their Lipschitz constants.

The critics are plain ``torch.nn`` multilayer perceptrons ``R^d -> R``.  Construction is
seeded: parameters are drawn inside :func:`torch.random.fork_rng` with ``torch.manual_seed``,
so building a critic neither reads nor changes the caller's global RNG state.

Lipschitz constants (C14, C17): for a differentiable critic ``||f||_Lip = sup_x ||grad f(x)||``;
:func:`gradient_norm_max` evaluates the supremum over given points (a lower bound on the
Lipschitz constant, exact when the points contain a maximiser) and
:func:`spectral_lipschitz_bound` the product of the layers' spectral norms (an upper bound when
every activation is 1-Lipschitz, as ELU, ReLU, LeakyReLU and tanh are).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._validation import check_int, check_seed
from .lipschitz import input_grad_norms

__all__ = ["mlp_critic", "gradient_norm_max", "spectral_lipschitz_bound"]

_ACTIVATIONS = {"elu": nn.ELU, "relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2), "tanh": nn.Tanh}


def mlp_critic(in_dim: int, hidden: tuple[int, ...] = (64, 64), *, activation: str = "elu",
               spectral_norm: bool = False, zero_output: bool = False, seed: int = 0,
               dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu") -> nn.Module:
    """A seeded MLP critic ``R^in_dim -> R`` (output shape ``(n, 1)``).

    Linear layers with PyTorch's default uniform initialisation ``U(-1/sqrt(fan_in),
    1/sqrt(fan_in))``, 1-Lipschitz activations (``"elu"``, ``"relu"``, ``"leaky_relu"``,
    ``"tanh"``).  ``spectral_norm=True`` wraps every linear layer in
    ``torch.nn.utils.parametrizations.spectral_norm`` (``W / ||W||_2`` by power iteration,
    Miyato et al. 2018; C17), so the network is (approximately) 1-Lipschitz.
    ``zero_output=True`` initialises the last layer to zero, so the critic starts as the
    constant 0 (gradient 0 everywhere); not allowed with ``spectral_norm`` (``W / ||W||``).
    """
    if zero_output and spectral_norm:
        raise ValueError("zero_output: a zero last layer cannot be spectrally normalised")
    in_dim = check_int(in_dim, "in_dim", minimum=1)
    try:
        hidden = tuple(check_int(h, "hidden", minimum=1) for h in hidden)
    except TypeError:
        raise ValueError(f"hidden: must be a sequence of positive integers, got {hidden!r}") from None
    seed = check_seed(seed)
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation: unknown value {activation!r}; expected one of {sorted(_ACTIVATIONS)}")
    widths = [int(in_dim), *map(int, hidden), 1]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            lin = nn.Linear(a, b, dtype=dtype, device=device)
            bound = 1.0 / math.sqrt(a)
            nn.init.uniform_(lin.weight, -bound, bound)
            nn.init.uniform_(lin.bias, -bound, bound)
            if zero_output and i == len(widths) - 2:
                nn.init.zeros_(lin.weight)
                nn.init.zeros_(lin.bias)
            if spectral_norm:
                lin = nn.utils.parametrizations.spectral_norm(lin)
            layers.append(lin)
            if i < len(widths) - 2:
                layers.append(_ACTIVATIONS[activation]())
        net = nn.Sequential(*layers)
        if spectral_norm:  # settle the power iteration before first use
            with torch.no_grad():
                for _ in range(20):
                    net(torch.zeros(1, widths[0], dtype=dtype, device=device))
    return net


def gradient_norm_max(critic: nn.Module | object, points: torch.Tensor) -> float:
    """``max_i ||grad f(points_i)||_2`` (C14: ``||f||_Lip = sup_x ||grad f(x)||``).

    A lower bound on the Lipschitz constant of ``f`` that is tight when ``points`` contain a
    maximiser of the gradient norm.  ``critic`` maps ``(n, d)`` to ``(n,)`` or ``(n, 1)``.
    """
    return float(input_grad_norms(critic, points.detach(), create_graph=False).max())


def spectral_lipschitz_bound(critic: nn.Module) -> float:
    """Product of the spectral norms of the critic's linear layers.

    An upper bound on ``||f||_Lip`` for a feed-forward network whose activations are
    1-Lipschitz (C17).  For spectrally normalised layers the effective (normalised) weight is
    used, so the bound is ~1.
    """
    bound = 1.0
    found = False
    for mod in critic.modules():
        if isinstance(mod, nn.Linear):
            w = mod.weight.detach()
            bound *= float(torch.linalg.matrix_norm(w.double(), ord=2))
            found = True
    if not found:
        raise ValueError("critic: has no nn.Linear layers to bound")
    return bound
