"""The one registry of GAN losses and critic regularisers (claims C03, C10, C15, C16, C20, C22, C23, C34).

Usage::

    from gans import losses
    loss = losses.build({"name": "nsgan", "penalties": [{"name": "r1", "gamma": 10.0}]})
    d, logs = loss.d_loss(D, real, fake)      # critic loss, minimised (penalties included)
    g, logs = loss.g_loss(D, real, G(z))      # generator loss, minimised
    loss.after_d_step(D)                      # WGAN weight clipping; no-op otherwise
    losses.names()                            # every loss name

Conventions (:mod:`gans.losses.base`): the critic output is large on *real* data; both losses
are minimised.  Loss names and their configuration keys (defaults in brackets):

* ``gan`` -- saturating minimax (Goodfellow et al. 2014); ``nsgan`` -- non-saturating;
* ``fgan`` -- ``divergence`` (any :func:`divergences.fdiv.get` name), ``params`` ({}),
  ``generator`` ("nonsaturating" | "minimax") (Nowozin et al. 2016);
* ``wgan`` -- ``clip`` (0.01); ``wgan_gp`` -- ``gamma`` (10), ``center`` (1), ``half`` (False:
  ``gamma E(||grad||-1)^2``, Gulrajani et al.; True: Mescheder's ``gamma/2``), ``clip`` (None);
* ``hinge``; ``lsgan`` -- ``a`` (0), ``b`` (1), ``c`` (1);
* ``dragan`` -- non-saturating GAN + DRAGAN penalty: ``gamma`` (10), ``center`` (1), ``scale`` (0.5);
* ``mmd`` -- ``kernel`` ("gaussian" or a mapping ``{"name": ..., **params}``), ``estimator``
  ("unbiased"); ``mmd_gp`` -- plus ``gamma`` (1) for the witness gradient penalty;
* ``smmd`` / ``sn_smmd`` -- ``kernel`` ("gaussian"), ``lam`` (1), ``variant`` ("paper" |
  "code"), ``code_weight`` (10).

Every loss also takes ``penalties``: a list of ``{"name": "r1"|"r2"|"gp"|"dragan", ...}``
(see :mod:`gans.losses.penalties`; R1/R2 use the paper's ``gamma/2``).  Randomness of the
penalties (interpolation, perturbation) comes from ``build(..., generator=...)``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any

import torch

from .base import GANLoss, Logs
from .core import PenalisedLoss
from .fgan import FGANLoss
from .ipm import WassersteinLoss
from .minimax import HingeLoss, LeastSquaresLoss, MinimaxLoss, NonSaturatingLoss
from .mmd import MMDLoss, ScaledMMDLoss, WitnessGradientPenalty
from .penalties import (DraganPenalty, GradientPenalty, Penalty, R1Penalty, R2Penalty, build_penalty,
                        critic_scores, input_grad_norms, input_grad_sqnorms, penalty_names)

__all__ = [
    "build", "names", "penalty_names", "build_penalty", "GANLoss", "Logs", "PenalisedLoss",
    "MinimaxLoss", "NonSaturatingLoss", "LeastSquaresLoss", "HingeLoss", "WassersteinLoss",
    "FGANLoss", "MMDLoss", "ScaledMMDLoss", "WitnessGradientPenalty", "Penalty", "R1Penalty",
    "R2Penalty", "GradientPenalty", "DraganPenalty", "critic_scores", "input_grad_norms",
    "input_grad_sqnorms",
]


def _take(cfg: dict[str, Any], allowed: Mapping[str, Any], loss_name: str) -> dict[str, Any]:
    extra = set(cfg) - set(allowed)
    if extra:
        accepted = sorted(set(allowed) | {"name", "penalties"})
        close = difflib.get_close_matches(min(extra), accepted, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"cfg: unknown key(s) {sorted(extra)} for loss {loss_name!r}{hint}; allowed {accepted}")
    return {k: cfg.get(k, v) for k, v in allowed.items()}


def _build_gan(cfg, pens, gen):
    _take(cfg, {}, "gan")
    return MinimaxLoss(pens)


def _build_nsgan(cfg, pens, gen):
    _take(cfg, {}, "nsgan")
    return NonSaturatingLoss(pens)


def _build_wgan(cfg, pens, gen):
    kw = _take(cfg, {"clip": 0.01}, "wgan")
    return WassersteinLoss(pens, clip=kw["clip"])


def _build_wgan_gp(cfg, pens, gen):
    kw = _take(cfg, {"gamma": 10.0, "center": 1.0, "half": False, "clip": None}, "wgan_gp")
    gp = GradientPenalty(gamma=kw["gamma"], center=kw["center"], half=bool(kw["half"]), generator=gen)
    return WassersteinLoss([gp] + pens, clip=kw["clip"])


def _build_hinge(cfg, pens, gen):
    _take(cfg, {}, "hinge")
    return HingeLoss(pens)


def _build_lsgan(cfg, pens, gen):
    kw = _take(cfg, {"a": 0.0, "b": 1.0, "c": 1.0}, "lsgan")
    return LeastSquaresLoss(pens, **kw)


def _build_dragan(cfg, pens, gen):
    kw = _take(cfg, {"gamma": 10.0, "center": 1.0, "scale": 0.5}, "dragan")
    return NonSaturatingLoss([DraganPenalty(**kw, generator=gen)] + pens)


def _build_fgan(cfg, pens, gen):
    kw = _take(cfg, {"divergence": None, "params": None, "generator": "nonsaturating"}, "fgan")
    if kw["divergence"] is None:
        raise ValueError("cfg: loss 'fgan' needs a 'divergence' (a divergences.fdiv name)")
    return FGANLoss(kw["divergence"], params=kw["params"] or {}, generator=kw["generator"], penalties=pens)


def _build_mmd(cfg, pens, gen):
    kw = _take(cfg, {"kernel": "gaussian", "estimator": "unbiased"}, "mmd")
    return MMDLoss(kernel=kw["kernel"], estimator=kw["estimator"], penalties=pens)


def _build_mmd_gp(cfg, pens, gen):
    kw = _take(cfg, {"kernel": "gaussian", "estimator": "unbiased", "gamma": 1.0}, "mmd_gp")
    loss = MMDLoss(kernel=kw["kernel"], estimator=kw["estimator"], penalties=pens)
    loss.penalties.insert(0, WitnessGradientPenalty(loss, gamma=kw["gamma"], generator=gen))
    return loss


def _build_smmd(cfg, pens, gen, name="smmd"):
    kw = _take(cfg, {"kernel": "gaussian", "lam": 1.0, "variant": "paper", "code_weight": 10.0}, name)
    return ScaledMMDLoss(kernel=kw["kernel"], lam=kw["lam"], variant=kw["variant"],
                         code_weight=kw["code_weight"], penalties=pens)


def _build_sn_smmd(cfg, pens, gen):
    return _build_smmd(cfg, pens, gen, name="sn_smmd")


_BUILDERS: dict[str, Callable[[dict[str, Any], list[Penalty], torch.Generator | None], PenalisedLoss]] = {
    "gan": _build_gan,
    "nsgan": _build_nsgan,
    "fgan": _build_fgan,
    "wgan": _build_wgan,
    "wgan_gp": _build_wgan_gp,
    "hinge": _build_hinge,
    "lsgan": _build_lsgan,
    "dragan": _build_dragan,
    "mmd": _build_mmd,
    "mmd_gp": _build_mmd_gp,
    "smmd": _build_smmd,
    "sn_smmd": _build_sn_smmd,
}


def names() -> list[str]:
    """Every loss name :func:`build` accepts."""
    return list(_BUILDERS)


def build(cfg: Mapping[str, Any], *, generator: torch.Generator | None = None) -> PenalisedLoss:
    """A loss from its configuration mapping (keys: see the module docstring).

    ``cfg["name"]`` picks the loss; ``cfg["penalties"]`` (optional) lists extra critic
    penalties.  ``generator`` seeds the penalties' randomness (``None``: torch's default RNG).
    The returned object's ``name`` is ``cfg["name"]``.  Unknown names or keys raise ``ValueError``.
    """
    if not isinstance(cfg, Mapping):
        raise ValueError(f"cfg: expected a mapping with a 'name', got {type(cfg).__name__}")
    if "name" not in cfg:
        raise ValueError("cfg: missing 'name'; choose from " + ", ".join(names()))
    name = cfg["name"]
    if name not in _BUILDERS:
        raise ValueError(f"cfg: unknown loss {name!r}; choose from {names()}")
    pen_cfgs = cfg.get("penalties") or []
    if not isinstance(pen_cfgs, (list, tuple)):
        raise ValueError(f"cfg: 'penalties' must be a list of mappings, got {type(pen_cfgs).__name__}")
    pens = [build_penalty(p, generator=generator) for p in pen_cfgs]
    rest = {k: v for k, v in cfg.items() if k not in ("name", "penalties")}
    loss = _BUILDERS[name](rest, pens, generator)
    loss.name = name
    return loss
