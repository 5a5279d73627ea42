"""Network registry: ``build_generator(cfg, seed)`` and ``build_discriminator(cfg, seed)``.

``cfg`` is a mapping with ``name`` and the constructor's keyword arguments, e.g.
``{"name": "resnet", "resolution": 64, "ch": 64, "latent_dim": 128}`` or
``{"name": "mlp", "data_dim": 2, "hidden": 128, "depth": 3, "out_dim": 16}``.

Names: ``mlp`` (:mod:`gans.nets.mlp`), ``dcgan`` (:mod:`gans.nets.dcgan`, C33), ``resnet``
(:mod:`gans.nets.resnet`, SN-GAN style) and ``dirac`` (lazy ``"module:Class"`` entries,
imported on first use: ``gans.dirac.DiracGenerator(theta, noise_std)`` and
``gans.dirac.DiracCritic(psi)``).  Critic keys common to every
network: ``out_dim`` (1, or 16 for MMD critics), ``spectral`` (spectral normalisation of
every layer, :mod:`gans.nets.spectral`) and ``learnable_scale`` (SN-SMMD's scalar per layer).

Initialisation uses a forked global RNG seeded with ``seed``, so building never changes the
caller's random state and the same seed gives the same weights.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from .dcgan import DCGANCritic, DCGANGenerator
from .mlp import MLPCritic, MLPGenerator
from .resnet import ResNetCritic, ResNetGenerator
from .spectral import apply_spectral_norm, spectral_norm, spectral_sigma

__all__ = ["build_generator", "build_discriminator", "network_keys", "GENERATORS", "DISCRIMINATORS",
           "spectral_norm", "spectral_sigma", "apply_spectral_norm"]

# name -> class, or "module:Class" string resolved on first use
GENERATORS: dict[str, Any] = {"mlp": MLPGenerator, "dcgan": DCGANGenerator, "resnet": ResNetGenerator,
                              "dirac": "gans.dirac:DiracGenerator"}
DISCRIMINATORS: dict[str, Any] = {"mlp": MLPCritic, "dcgan": DCGANCritic, "resnet": ResNetCritic,
                                  "dirac": "gans.dirac:DiracCritic"}


def _entry(registry: dict[str, Any], kind: str, name: Any) -> Any:
    if not isinstance(name, str) or name not in registry:
        raise ValueError(f"{kind}.name must be one of {sorted(registry)}, got {name!r}")
    entry = registry[name]
    if isinstance(entry, str):
        mod, attr = entry.split(":")
        entry = getattr(importlib.import_module(mod), attr)
    return entry


def network_keys(kind: str, name: str) -> dict[str, Any] | None:
    """Keys a ``generator`` / ``discriminator`` section (``kind``) of network ``name`` accepts
    besides ``name``: the constructor's keyword arguments with their defaults
    (``inspect.Parameter.empty`` when required), plus ``spectral`` and ``learnable_scale``
    (default False); ``None`` when the constructor takes ``**kwargs`` (it checks its own)."""
    registry = {"generator": GENERATORS, "discriminator": DISCRIMINATORS}.get(kind)
    if registry is None:
        raise ValueError(f"kind must be 'generator' or 'discriminator', got {kind!r}")
    params = inspect.signature(_entry(registry, kind, name)).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    keys = {p.name: p.default for p in params
            if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)}
    return {**keys, "spectral": keys.get("spectral", False), "learnable_scale": keys.get("learnable_scale", False)}


def _build(registry: dict[str, Any], kind: str, cfg: Mapping[str, Any], seed: int) -> nn.Module:
    if not isinstance(cfg, Mapping) or "name" not in cfg:
        raise ValueError(f"{kind} config must be a mapping with a 'name', got {cfg!r}")
    name = cfg["name"]
    kwargs = {k: v for k, v in cfg.items() if k != "name"}
    entry = _entry(registry, kind, name)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        spectral = kwargs.pop("spectral", False)
        learnable = kwargs.pop("learnable_scale", False)
        if entry is ResNetCritic and spectral:
            kwargs.update(spectral=spectral, learnable_scale=learnable)
        try:
            model = entry(**kwargs)
        except TypeError as err:
            raise ValueError(f"bad {kind} config for {name!r}: {err}") from err
        if learnable and not spectral:
            raise ValueError(f"{kind}.learnable_scale requires {kind}.spectral: true")
        if spectral and entry is not ResNetCritic:
            apply_spectral_norm(model, learnable_scale=learnable)
        return model


def build_generator(cfg: Mapping[str, Any], seed: int = 0) -> nn.Module:
    """Build the generator named by ``cfg["name"]``; the module has a ``latent_dim`` attribute."""
    return _build(GENERATORS, "generator", cfg, seed)


def build_discriminator(cfg: Mapping[str, Any], seed: int = 0) -> nn.Module:
    """Build the critic named by ``cfg["name"]``; output shape ``(B,)`` or ``(B, out_dim)``."""
    return _build(DISCRIMINATORS, "discriminator", cfg, seed)
