"""Spectral normalisation by power iteration, with an optional learnable scale (SN-SMMD).

Miyato et al. (ICLR 2018, "Spectral Normalization for GANs", Alg. 1): a weight ``W`` is
reshaped to the matrix ``W_mat`` of shape ``(out, in * prod(kernel))`` and replaced by
``W / sigma(W_mat)``, where the largest singular value ``sigma`` is estimated with the power
iteration ``v <- W^T u / ||W^T u||``, ``u <- W v / ||W v||``, ``sigma = u^T W v``.  One
iteration per forward pass in training mode (``u`` persists between steps, so the estimate
converges over training); in eval mode ``u`` and ``v`` are frozen.  For convolutions this
normalises the reshaped kernel, not the exact operator norm of the convolution (as in the
paper).

SN-SMMD (Arbel et al., NeurIPS 2018, Sec. 4): each normalised layer gets a learnable scalar
``s`` initialised at 1, ``W_eff = s * W / sigma(W)`` (Arbel et al. 2018, Sec. 4 and their released code).

``u`` and ``v`` are registered buffers (saved in ``state_dict``), so a resumed run continues
with exactly the same power-iteration state.

One power iteration per *update*: :mod:`gans.step` runs each critic and generator step under
``torch.nn.utils.parametrize.cached()``, so the normalised weight is computed once per step and
shared by every critic call of that step (real, fake, penalty points), as in Miyato et al.'s
Alg. 1.  Without the cache every forward would iterate again and overwrite ``u`` between two
calls whose graphs are still alive (an in-place error under ``torch.compile``).

Precision: the power iteration and ``sigma`` are computed in float32 at least with autocast
turned off (bfloat16 ``mv`` products would put an error of order 2^-8 on every layer's scale).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

__all__ = ["SpectralNormParam", "spectral_norm", "spectral_sigma", "apply_spectral_norm"]


def _as_matrix(weight: torch.Tensor, out_dim: int) -> torch.Tensor:
    """``W_mat`` of shape ``(out, in * prod(kernel))``; ``out_dim`` is 1 for transposed convs,
    whose weights are stored as ``(in, out, *kernel)``."""
    if out_dim == 0:
        return weight.reshape(weight.shape[0], -1)
    return weight.transpose(0, out_dim).reshape(weight.shape[out_dim], -1)


class SpectralNormParam(nn.Module):
    """Parametrisation ``W -> s * W / sigma(W)`` with power-iteration estimate of ``sigma``.

    Args:
        weight: the initial weight (its shape fixes ``u`` and ``v``).
        n_power_iterations: power iterations per training-mode forward (Miyato: 1).
        learnable_scale: add the SN-SMMD scalar ``s`` (initialised at 1); otherwise ``s = 1``.
        eps: floor for the vector norms.
        generator: optional ``torch.Generator`` for the random start of ``u`` and ``v``.
    """

    def __init__(self, weight: torch.Tensor, n_power_iterations: int = 1, learnable_scale: bool = False,
                 eps: float = 1e-12, generator: torch.Generator | None = None, out_dim: int = 0) -> None:
        super().__init__()
        if n_power_iterations < 1:
            raise ValueError(f"n_power_iterations must be >= 1, got {n_power_iterations}")
        self.out_dim = int(out_dim)
        mat = _as_matrix(weight.detach(), self.out_dim)
        self.n_power_iterations = int(n_power_iterations)
        self.eps = float(eps)
        u = torch.randn(mat.shape[0], generator=generator, dtype=mat.dtype).to(mat.device)
        v = torch.randn(mat.shape[1], generator=generator, dtype=mat.dtype).to(mat.device)
        self.register_buffer("u", F.normalize(u, dim=0, eps=eps))
        self.register_buffer("v", F.normalize(v, dim=0, eps=eps))
        if learnable_scale:
            self.scale = nn.Parameter(torch.ones((), dtype=mat.dtype, device=mat.device))
        else:
            self.scale = None
        with torch.no_grad():  # warm start: a few iterations so sigma is sensible at step 0
            self._power_iteration(mat, 5)

    @torch.no_grad()
    def _power_iteration(self, mat: torch.Tensor, n: int) -> None:
        u, v = self.u, self.v
        for _ in range(n):
            v = F.normalize(mat.t().mv(u), dim=0, eps=self.eps)
            u = F.normalize(mat.mv(v), dim=0, eps=self.eps)
        # in-place copy keeps the buffers' identity (state_dict, DDP, deepcopy)
        self.u.copy_(u)
        self.v.copy_(v)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=weight.device.type, enabled=False):  # sigma in float32 at least
            mat = _as_matrix(weight, self.out_dim)
            if mat.dtype in (torch.float16, torch.bfloat16):
                mat = mat.float()
            if self.training:
                self._power_iteration(mat.detach(), self.n_power_iterations)
            u = self.u.clone(memory_format=torch.contiguous_format).to(mat.dtype)
            v = self.v.clone(memory_format=torch.contiguous_format).to(mat.dtype)
            sigma = torch.dot(u, mat.mv(v))
            w = weight / sigma.to(weight.dtype)
        if self.scale is not None:
            w = self.scale * w
        return w


def spectral_norm(module: nn.Module, name: str = "weight", n_power_iterations: int = 1,
                  learnable_scale: bool = False, eps: float = 1e-12,
                  generator: torch.Generator | None = None) -> nn.Module:
    """Register :class:`SpectralNormParam` on ``module.<name>`` (returns the module).

    After registration ``module.weight`` is the normalised weight ``s * W / sigma(W)``; the raw
    weight lives in ``module.parametrizations.weight.original``.
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, torch.Tensor):
        raise ValueError(f"module has no tensor attribute {name!r} to normalise")
    out_dim = 1 if isinstance(module, nn.modules.conv._ConvTransposeNd) else 0
    param = SpectralNormParam(weight, n_power_iterations, learnable_scale, eps, generator, out_dim)
    parametrize.register_parametrization(module, name, param)
    return module


def spectral_sigma(module: nn.Module, name: str = "weight") -> torch.Tensor:
    """Current power-iteration estimate ``u^T W v`` of the raw weight's top singular value."""
    if not parametrize.is_parametrized(module, name):
        raise ValueError(f"module.{name} is not spectrally normalised")
    plist = getattr(module.parametrizations, name)
    param = next(p for p in plist if isinstance(p, SpectralNormParam))
    w = plist.original
    mat = _as_matrix(w.detach(), param.out_dim)
    return torch.dot(param.u, mat.mv(param.v))


def apply_spectral_norm(model: nn.Module, learnable_scale: bool = False, n_power_iterations: int = 1,
                        generator: torch.Generator | None = None) -> nn.Module:
    """Spectrally normalise every ``nn.Linear`` and ``nn.Conv*`` weight of ``model`` in place."""
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d)) and \
                not parametrize.is_parametrized(m, "weight"):
            spectral_norm(m, "weight", n_power_iterations, learnable_scale, generator=generator)
    return model
