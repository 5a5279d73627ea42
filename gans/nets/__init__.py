"""Network registry: ``build_generator(cfg, seed)`` and ``build_discriminator(cfg, seed)``.

``cfg`` is a mapping with ``name`` and the constructor's keyword arguments, e.g.
``{"name": "resnet", "resolution": 64, "ch": 64, "latent_dim": 128}`` or
``{"name": "mlp", "data_dim": 2, "hidden": 128, "depth": 3, "out_dim": 16}``: each network is a
class whose keyword arguments are its config keys, defaults in its signature
(:mod:`gans.registry`).

Names: ``mlp`` (:mod:`gans.nets.mlp`), ``dcgan`` (:mod:`gans.nets.dcgan`, C33) and ``resnet``
(:mod:`gans.nets.resnet`, SN-GAN style); any other network by ``"package.module:Name"``, imported
on first use (e.g. ``mypkg.nets:MyCritic``, a network outside this package).  Keys every
network accepts (:data:`COMMON_KEYS`): ``spectral`` (spectral normalisation of every layer,
:mod:`gans.nets.spectral`) and
``learnable_scale`` (SN-SMMD's scalar per layer), both off by default; a constructor that takes
them itself (``resnet``'s critic) gets them, otherwise they are applied after construction.
Critics also take ``out_dim`` (1, or 16 for MMD critics).

Initialisation uses a forked global RNG seeded with ``seed``, so building never changes the
caller's random state and the same seed gives the same weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..registry import Key, Registry
from .dcgan import DCGANCritic, DCGANGenerator
from .mlp import MLPCritic, MLPGenerator
from .resnet import ResNetCritic, ResNetGenerator
from .spectral import apply_spectral_norm, spectral_norm, spectral_sigma

__all__ = ["build_generator", "build_discriminator", "network_keys", "GENERATORS", "DISCRIMINATORS",
           "COMMON_KEYS", "spectral_norm", "spectral_sigma", "apply_spectral_norm"]

COMMON_KEYS: dict[str, Key] = {"spectral": Key(False), "learnable_scale": Key(False)}

GENERATORS = Registry("generator", {"mlp": MLPGenerator, "dcgan": DCGANGenerator, "resnet": ResNetGenerator},
                      section="generator", extra=COMMON_KEYS)
DISCRIMINATORS = Registry("discriminator", {"mlp": MLPCritic, "dcgan": DCGANCritic, "resnet": ResNetCritic},
                          section="discriminator", extra=COMMON_KEYS)


def _registry(kind: str) -> Registry:
    registry = {"generator": GENERATORS, "discriminator": DISCRIMINATORS}.get(kind)
    if registry is None:
        raise ValueError(f"kind must be 'generator' or 'discriminator', got {kind!r}")
    return registry


def network_keys(kind: str, name: str) -> dict[str, Any] | None:
    """Keys a ``generator`` / ``discriminator`` section (``kind``) of network ``name`` accepts
    besides ``name``: the constructor's keyword arguments with their defaults
    (``inspect.Parameter.empty`` when required), plus ``spectral`` and ``learnable_scale``
    (default False); ``None`` when the constructor takes ``**kwargs`` (it checks its own)."""
    keys = _registry(kind).config_keys(name)
    return None if keys is None else {k: key.default for k, key in keys.items()}


def _build(kind: str, cfg: Mapping[str, Any], seed: int) -> nn.Module:
    registry = _registry(kind)
    if not isinstance(cfg, Mapping) or "name" not in cfg:
        raise ValueError(f"{kind} config must be a mapping with a 'name', got {cfg!r}")
    name = cfg["name"]
    registry.target(name)  # an unknown name: its own message, not wrapped below
    try:
        target, kwargs, extra = registry.split(cfg)
    except ValueError as err:
        raise ValueError(f"bad {kind} config for {name!r}: {err}") from None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            model = target(**kwargs)
        except TypeError as err:
            raise ValueError(f"bad {kind} config for {name!r}: {err}") from err
        spectral = extra.get("spectral", False)
        learnable = extra.get("learnable_scale", False)
        if learnable and not spectral:
            raise ValueError(f"{kind}.learnable_scale requires {kind}.spectral: true")
        if spectral:
            apply_spectral_norm(model, learnable_scale=learnable)
        return model


def build_generator(cfg: Mapping[str, Any], seed: int = 0) -> nn.Module:
    """Build the generator named by ``cfg["name"]``; the module has a ``latent_dim`` attribute."""
    return _build("generator", cfg, seed)


def build_discriminator(cfg: Mapping[str, Any], seed: int = 0) -> nn.Module:
    """Build the critic named by ``cfg["name"]``; output shape ``(B,)`` or ``(B, out_dim)``."""
    return _build("discriminator", cfg, seed)
