"""The latent prior of every generator: the one place codes ``z`` are drawn.

``normal``:  ``z ~ N(0, I_dim)`` (Goodfellow et al. 2014 and most GANs since);
``uniform``: ``z ~ U[-1, 1]^dim``, drawn as ``2 u - 1`` with ``u ~ U[0, 1)`` (Arbel et al. 2018
and Bińkowski et al. 2018 train their image GANs on this prior).

Codes come from an explicit CPU ``torch.Generator`` (bit-identical on every device; moved to
the model's device by the caller), so a seed fixes them everywhere: the trainer's latent stream,
the fixed sample grids, the evaluations and the figures draw through :func:`sample_latent`.
"""

from __future__ import annotations

import torch

__all__ = ["LATENT_DISTRIBUTIONS", "sample_latent"]

LATENT_DISTRIBUTIONS = ("normal", "uniform")


def sample_latent(n: int, dim: int, distribution: str, generator: torch.Generator) -> torch.Tensor:
    """``n`` codes of size ``dim`` from the prior ``distribution`` (float32, on the CPU).

    Raises ``ValueError`` for an unknown distribution or a non-positive ``n`` / ``dim``.
    """
    if distribution not in LATENT_DISTRIBUTIONS:
        raise ValueError(f"distribution: expected one of {list(LATENT_DISTRIBUTIONS)}, got {distribution!r}")
    for name, v in (("n", n), ("dim", dim)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name}: expected a positive integer, got {v!r}")
    if distribution == "uniform":
        return torch.rand(n, dim, generator=generator) * 2 - 1
    return torch.randn(n, dim, generator=generator)
