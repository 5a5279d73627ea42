"""The registry of GAN losses and critic regularisers (claims C03, C10, C15, C16, C20, C22, C23, C34).

Usage::

    from gans import losses
    loss = losses.build({"name": "nsgan", "penalties": [{"name": "r1", "gamma": 10.0}]})
    d, logs = loss.d_loss(D, real, fake)      # critic loss, minimised (penalties included)
    g, logs = loss.g_loss(D, real, G(z))      # generator loss, minimised
    loss.after_d_step(D)                      # WGAN weight clipping; no-op otherwise
    losses.names()                            # every loss name
    losses.config_keys("wgan_gp")             # its keys with their defaults

Conventions (:mod:`gans.losses.base`): the critic output is large on *real* data; both losses
are minimised.  Every loss and penalty is a class whose keyword arguments are its config keys,
with the defaults in its signature (:mod:`gans.registry`; nothing here restates them):

* :data:`LOSSES`: ``gan`` (:class:`MinimaxLoss`, Goodfellow et al. 2014), ``nsgan``
  (:class:`NonSaturatingLoss`), ``fgan`` (:class:`FGANLoss`: ``divergence``, ``params``,
  ``generator``; Nowozin et al. 2016), ``wgan`` (:class:`WassersteinLoss`: ``clip``), ``hinge``
  (:class:`HingeLoss`), ``lsgan`` (:class:`LeastSquaresLoss`: ``a``, ``b``, ``c``), ``mmd``
  (:class:`MMDLoss`: ``kernel``, ``estimator``), ``smmd`` (:class:`ScaledMMDLoss`: ``kernel``,
  ``lam``, ``variant``, ``code_weight``);
* :data:`PENALTIES` (entries of a loss's ``penalties`` list): ``r1`` / ``r2`` (R1/R2 with the
  paper's ``gamma/2``), ``gp`` (Gulrajani et al.'s ``gamma E(||grad||-1)^2``; ``half`` gives
  Mescheder's ``gamma/2``), ``dragan``, ``witness_gp`` (MMD-GAN's witness gradient penalty; MMD
  losses only); see :mod:`gans.losses.penalties` and :mod:`gans.losses.mmd`;
* :data:`COMPOSITES`, the composite names kept as aliases: a base loss plus penalties, its keys
  those of its parts, routed to the part that takes them; ``wgan_gp`` = ``wgan`` with ``clip``
  None + ``gp`` (keys ``gamma``, ``center``, ``half``, ``clip``), ``dragan`` = ``nsgan`` +
  ``dragan`` (``gamma``, ``center``, ``scale``, ``half``), ``mmd_gp`` = ``mmd`` + ``witness_gp``
  (``kernel``, ``estimator``, ``gamma``), ``sn_smmd`` = ``smmd`` (the SN-SMMD critic is an
  architecture option, :mod:`gans.nets`).  ``{"name": "wgan_gp", "gamma": 5}`` builds exactly
  ``{"name": "wgan", "clip": None, "penalties": [{"name": "gp", "gamma": 5}]}`` except that the
  built loss's ``name`` is ``"wgan_gp"``.

Every loss also takes ``penalties``, a list of ``{"name": ..., **keys}`` appended after a
composite's own.  A name ``"package.module:Name"`` builds a loss outside the package the same
way (its keyword arguments are its keys; ``penalties`` is passed when it takes them).
Randomness of the penalties (interpolation, perturbation) comes from ``build(..., generator=...)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from ..registry import Key, Registry, is_lazy, unknown_key_message, unknown_name_message
from .base import GANLoss, Logs
from .core import PenalisedLoss
from .fgan import FGANLoss
from .ipm import WassersteinLoss
from .minimax import HingeLoss, LeastSquaresLoss, MinimaxLoss, NonSaturatingLoss
from .mmd import MMDLoss, ScaledMMDLoss, WitnessGradientPenalty
from .penalties import (DraganPenalty, GradientPenalty, Penalty, R1Penalty, R2Penalty, critic_scores,
                        input_grad_norms, input_grad_sqnorms)

__all__ = [
    "build", "names", "config_keys", "loss_options", "penalty_names", "build_penalty", "LOSSES", "PENALTIES",
    "COMPOSITES", "Composite", "GANLoss", "Logs", "PenalisedLoss", "MinimaxLoss", "NonSaturatingLoss",
    "LeastSquaresLoss", "HingeLoss", "WassersteinLoss", "FGANLoss", "MMDLoss", "ScaledMMDLoss",
    "WitnessGradientPenalty", "Penalty", "R1Penalty", "R2Penalty", "GradientPenalty", "DraganPenalty",
    "critic_scores", "input_grad_norms", "input_grad_sqnorms",
]


def _penalty_list(value: Any, key: str) -> list[Any]:
    """``null`` (none) or a list of mappings, each with a ``name``."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or not all(isinstance(p, Mapping) for p in value):
        raise ValueError(f"{key} must be a list of mappings such as {{name: r1, gamma: 10}}, got {value!r}")
    return list(value)


LOSSES = Registry("loss", {
    "gan": MinimaxLoss,
    "nsgan": NonSaturatingLoss,
    "fgan": FGANLoss,
    "wgan": WassersteinLoss,
    "hinge": HingeLoss,
    "lsgan": LeastSquaresLoss,
    "mmd": MMDLoss,
    "smmd": ScaledMMDLoss,
}, section="loss", supplied=("penalties",), extra={"penalties": Key([], _penalty_list)})

PENALTIES = Registry("penalty", {
    "r1": R1Penalty,
    "r2": R2Penalty,
    "gp": GradientPenalty,
    "dragan": DraganPenalty,
    "witness_gp": WitnessGradientPenalty,
}, section="loss.penalties", supplied=("generator", "loss"))


@dataclass(frozen=True)
class Composite:
    """A loss defined as a config: the base loss ``base`` (with the keys ``preset``, whose
    values differ from the base's defaults) plus the penalties ``penalties``, in that order.

    Its keys are the base loss's and each penalty's (each key owned by exactly one part);
    :meth:`expand` routes a config's keys to their part.
    """

    base: str
    penalties: tuple[str, ...] = ()
    preset: Mapping[str, Any] = field(default_factory=dict)

    def owners(self) -> dict[str, tuple[str | None, Key]]:
        """``key -> (part, Key)``: the part (``None`` = the base loss, else a penalty name) that takes it."""
        base = {k: v for k, v in (LOSSES.config_keys(self.base) or {}).items() if k not in LOSSES.extra}
        parts: list[tuple[str | None, dict[str, Key]]] = [
            (None, {k: Key(self.preset.get(k, v.default), v.check) for k, v in base.items()})]
        parts += [(p, PENALTIES.config_keys(p) or {}) for p in self.penalties]
        out: dict[str, tuple[str | None, Key]] = {}
        for part, keys in parts:
            for k, key in keys.items():
                if k in out:
                    raise ValueError(f"composite loss over {self.base!r}: key {k!r} is taken by two parts")
                out[k] = (part, key)
        return out

    def expand(self, cfg: Mapping[str, Any], name: str) -> dict[str, Any]:
        """The base-loss config that ``cfg`` (a section naming this composite ``name``) stands for."""
        owners = self.owners()
        base: dict[str, Any] = {"name": self.base, **self.preset}
        pens: dict[str, dict[str, Any]] = {p: {"name": p} for p in self.penalties}
        for k, v in cfg.items():
            if k in ("name", "penalties"):
                continue
            if k not in owners:
                raise ValueError(unknown_key_message(f"loss.{k}", ["name", "penalties", *owners], f" for loss {name!r}"))
            part = owners[k][0]
            (base if part is None else pens[part])[k] = v
        extra = _penalty_list(cfg.get("penalties"), "loss.penalties")
        return {**base, "penalties": [*pens.values(), *extra]}


COMPOSITES: dict[str, Composite] = {
    "wgan_gp": Composite("wgan", ("gp",), preset={"clip": None}),    # Gulrajani et al. 2017 (C16)
    "dragan": Composite("nsgan", ("dragan",)),                       # Kodali et al. 2017 (C34)
    "mmd_gp": Composite("mmd", ("witness_gp",)),                     # Binkowski et al. 2018 (C23)
    "sn_smmd": Composite("smmd"),                                    # Arbel et al. 2018 (C22)
}


def names() -> list[str]:
    """Every loss name :func:`build` accepts (the base losses, then the composites)."""
    return [*LOSSES.names(), *COMPOSITES]


def _name(cfg: Any) -> str:
    if not isinstance(cfg, Mapping):
        raise ValueError(f"loss: expected a mapping with a 'name', got {type(cfg).__name__}")
    if "name" not in cfg:
        raise ValueError("loss: missing 'name'; choose from " + ", ".join(names()))
    return cfg["name"]


def _expanded(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """A composite's base-loss config; any other config as a plain dict."""
    name = _name(cfg)
    if isinstance(name, str) and name in COMPOSITES:
        return COMPOSITES[name].expand(cfg, name)
    if not isinstance(name, str) or (name not in LOSSES.entries and not is_lazy(name)):
        # here, not in LOSSES.target: the choices include the composite names
        raise ValueError(unknown_name_message("loss.name", "loss", name, names()))
    return dict(cfg)


def config_keys(name: str) -> dict[str, Key] | None:
    """The keys of loss ``name`` with their :class:`gans.registry.Key` (default, check), read
    from the class signatures (for a composite: from its parts, with its preset defaults)."""
    if name in COMPOSITES:
        return {"penalties": LOSSES.extra["penalties"], **{k: key for k, (_, key) in COMPOSITES[name].owners().items()}}
    return LOSSES.config_keys(name)


def loss_options(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Check a loss section's keys and its penalties' keys without building anything (no
    constructor runs); returns the base-loss config it stands for (composites expanded)."""
    base = _expanded(cfg)
    opts = LOSSES.options(base)
    for i, p in enumerate(opts.get("penalties", [])):
        PENALTIES.options(p, section=f"loss.penalties[{i}]")
    return opts


def build_penalty(cfg: Mapping[str, Any], generator: torch.Generator | None = None, *,
                  loss: Any = None, section: str = "loss.penalties") -> Penalty:
    """A penalty from ``{"name": ..., **keys}`` (keys: the class's keyword arguments, see
    :data:`PENALTIES`); ``generator`` seeds its randomness, ``loss`` is the loss it belongs to
    (needed by ``witness_gp``, the witness of an MMD loss)."""
    supplied: dict[str, Any] = {"generator": generator}
    if loss is not None:
        supplied["loss"] = loss
    name = cfg.get("name") if isinstance(cfg, Mapping) else None
    if isinstance(name, str) and PENALTIES.target(name, section) is WitnessGradientPenalty \
            and loss is not None and not isinstance(loss, MMDLoss):
        raise ValueError(f"{section}: penalty 'witness_gp' regularises the witness of an MMD loss "
                         f"(mmd, smmd), not of {type(loss).__name__}")
    return PENALTIES.build(cfg, section=section, **supplied)


def penalty_names() -> list[str]:
    """Names accepted in a loss config's ``penalties`` list."""
    return sorted(PENALTIES)


def build(cfg: Mapping[str, Any], *, generator: torch.Generator | None = None) -> Any:
    """A loss from its configuration mapping (keys: see the module docstring).

    ``cfg["name"]`` picks the loss (a registered name, a composite, or ``"package.module:Name"``);
    ``cfg["penalties"]`` (optional) lists extra critic penalties.  ``generator`` seeds the
    penalties' randomness (``None``: torch's default RNG).  The returned object's ``name`` is
    ``cfg["name"]`` for a registered name.  Unknown names or keys and bad values raise
    ``ValueError`` naming the key.  Building draws no random numbers.
    """
    name = _name(cfg)
    base = _expanded(cfg)
    _, _, extra = LOSSES.split(base)
    pen_cfgs = extra.get("penalties", [])
    loss = LOSSES.build({k: v for k, v in base.items() if k != "penalties"}, penalties=[])
    if pen_cfgs and not isinstance(getattr(loss, "penalties", None), list):
        raise ValueError(f"loss.penalties: loss {name!r} ({type(loss).__name__}) takes no penalties")
    for i, p in enumerate(pen_cfgs):
        loss.penalties.append(build_penalty(p, generator, loss=loss, section=f"loss.penalties[{i}]"))
    if isinstance(name, str) and name in names():
        loss.name = name
    return loss
