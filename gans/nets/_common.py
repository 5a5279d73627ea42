"""Shared helpers for the image networks: resolution bookkeeping and the critic norm layer."""

from __future__ import annotations

from torch import nn


def resolution_plan(resolution: int) -> tuple[int, int]:
    """Split ``resolution = base * 2**n`` with ``base in {4, 5}`` and ``n >= 2``.

    32 = 4·2³, 64 = 4·2⁴, 128 = 4·2⁵, 160 = 5·2⁵ (the CelebA size of Arbel et al. 2018).
    Returns ``(base, n)``; raises ``ValueError`` for any other size.
    """
    if not isinstance(resolution, int) or isinstance(resolution, bool) or resolution < 16:
        raise ValueError(f"resolution must be an integer >= 16, got {resolution!r}")
    for base in (4, 5):
        n, r = 0, resolution
        while r > base and r % 2 == 0:
            r //= 2
            n += 1
        if r == base and n >= 2:
            return base, n
    raise ValueError(f"resolution must be 4·2^n or 5·2^n (e.g. 32, 64, 128, 160), got {resolution}")


def critic_norm(kind: str, channels: int) -> nn.Module:
    """Normalisation after a critic convolution: ``none``, ``batch`` or ``layer`` (GroupNorm(1)).

    Gradient penalties are per-sample quantities, so batch norm in the critic mixes samples;
    use ``none`` or ``layer`` with GP/R1/DRAGAN/SMMD (Gulrajani et al. 2017, Sec. 4).
    """
    if kind == "none":
        return nn.Identity()
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    raise ValueError(f"norm must be one of 'none', 'batch', 'layer', got {kind!r}")
