"""Training configs: YAML files with inheritance, ``--set`` overrides, validation and a hash.

Resolution order (later wins, mappings deep-merged, lists and scalars replaced; a data,
generator, discriminator or loss section whose ``name`` changes is replaced whole):
``gans/configs/defaults.yaml`` <- parent chain named by ``defaults:`` keys (paths relative to
the file that names them) <- the config file <- ``--set key.sub=value`` overrides (values
parsed as YAML: ``--set train.iterations=100 --set optim.betas=[0.0,0.9]``).

Sections ``data``, ``generator``, ``discriminator``, ``loss`` and ``eval`` are free-form beyond
their documented keys (each registry validates its own arguments); every other key must exist
in the defaults, so a typo raises ``ValueError`` instead of being ignored.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

__all__ = ["load_defaults", "load_config", "apply_overrides", "validate", "config_hash", "deep_merge",
           "resolve"]

class _Loader(yaml.SafeLoader):
    """Safe YAML loader that also reads ``1e-3`` (no dot) as a float, as YAML 1.2 does."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."))


def _yaml_load(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # noqa: S506 (SafeLoader subclass)


NAMED_SECTIONS = ("data", "generator", "discriminator", "loss")
FREE_SECTIONS = ("data", "generator", "discriminator", "loss", "eval", "latent")
# keys that may change between a run and its resume without changing the run's identity
HASH_EXCLUDED = (("train", "iterations"), ("train", "progress"), ("train", "log_every"),
                 ("train", "sample_every"), ("train", "checkpoint_every"), ("eval",))


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Recursive merge: mappings merge key by key, anything else in ``override`` replaces.

    Exception: a section of ``NAMED_SECTIONS`` (data, generator, discriminator, loss) whose
    ``name`` differs from the base section's ``name`` replaces it whole (switching
    ``generator.name`` from ``mlp`` to ``dcgan`` drops the MLP's keys).
    """
    out = copy.deepcopy(dict(base))
    for k, v in override.items():
        old = out.get(k)
        if k in NAMED_SECTIONS and isinstance(v, Mapping) and isinstance(old, Mapping) and "name" in v \
                and "name" in old and v["name"] != old["name"]:
            out[k] = copy.deepcopy(dict(v))
        elif isinstance(v, Mapping) and isinstance(old, Mapping):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_defaults() -> dict[str, Any]:
    """The packaged ``gans/configs/defaults.yaml``."""
    text = resources.files("gans").joinpath("configs/defaults.yaml").read_text()
    return _yaml_load(text)


def _read_chain(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    path = path.resolve()
    if path in seen:
        raise ValueError(f"config inheritance cycle through {path}")
    if not path.is_file():
        raise ValueError(f"config file not found: {path}")
    data = _yaml_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"config {path} must be a YAML mapping, got {type(data).__name__}")
    parent = data.pop("defaults", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ValueError(f"'defaults' in {path} must be a path string, got {parent!r}")
    return deep_merge(_read_chain(path.parent / parent, seen + (path,)), data)


def apply_overrides(cfg: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``key.sub=value`` strings (values parsed as YAML) to a copy of ``cfg``."""
    out = copy.deepcopy(dict(cfg))
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"--set expects key=value, got {item!r}")
        key, text = item.split("=", 1)
        parts = key.strip().split(".")
        if not all(parts):
            raise ValueError(f"--set key must be dotted names, got {key!r}")
        try:
            value = _yaml_load(text)
        except yaml.YAMLError as err:
            raise ValueError(f"--set {key}: cannot parse value {text!r} as YAML: {err}") from err
        if len(parts) == 2 and parts[0] in NAMED_SECTIONS and parts[1] == "name" \
                and isinstance(out.get(parts[0]), dict) and out[parts[0]].get("name") != value:
            out[parts[0]] = {"name": value}  # a new name replaces the section whole (deep_merge's rule)
            continue
        node = out
        for p in parts[:-1]:
            if not isinstance(node.get(p, {}), dict):
                raise ValueError(f"--set {key}: {p!r} is not a mapping")
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return out


def _pos_int(cfg: Mapping[str, Any], path: str, allow_zero: bool = False) -> None:
    sec, key = path.split(".")
    v = cfg[sec][key]
    ok = isinstance(v, int) and not isinstance(v, bool) and (v >= 0 if allow_zero else v >= 1)
    if not ok:
        raise ValueError(f"{path} must be an integer {'>= 0' if allow_zero else '>= 1'}, got {v!r}")


def _check_known(cfg: Mapping[str, Any], ref: Mapping[str, Any], prefix: str = "") -> None:
    for k, v in cfg.items():
        name = f"{prefix}{k}"
        if k not in ref:
            raise ValueError(f"unknown config key {name!r} (known: {sorted(ref)})")
        if prefix == "" and k in FREE_SECTIONS:
            continue
        if isinstance(ref[k], dict):
            if not isinstance(v, dict):
                raise ValueError(f"config key {name!r} must be a mapping, got {v!r}")
            _check_known(v, ref[k], name + ".")


def validate(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Check a resolved config; raises ``ValueError`` naming the key and the problem."""
    defaults = load_defaults()
    _check_known(cfg, defaults)
    for sec in FREE_SECTIONS:
        if not isinstance(cfg.get(sec), dict):
            raise ValueError(f"config section {sec!r} must be a mapping, got {cfg.get(sec)!r}")
    for sec in ("data", "generator", "discriminator", "loss"):
        if not isinstance(cfg[sec].get("name"), str):
            raise ValueError(f"{sec}.name must be a string, got {cfg[sec].get('name')!r}")
    if not isinstance(cfg["seed"], int) or isinstance(cfg["seed"], bool) or cfg["seed"] < 0:
        raise ValueError(f"seed must be a non-negative integer, got {cfg['seed']!r}")
    dev = cfg["device"]
    if not (isinstance(dev, str) and (dev in ("auto", "cpu", "cuda") or dev.startswith("cuda:"))):
        raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {dev!r}")
    for p in ("train.iterations", "train.batch_size", "train.n_critic", "train.log_every", "train.nan_check_every",
              "train.n_samples"):
        _pos_int(cfg, p)
    for p in ("train.sample_every", "train.checkpoint_every", "train.ema_halflife_images"):
        _pos_int(cfg, p, allow_zero=True)
    if cfg["train"]["amp"] not in ("bf16", "none"):
        raise ValueError(f"train.amp must be 'bf16' or 'none', got {cfg['train']['amp']!r}")
    for key in ("g_first", "channels_last", "compile", "progress"):
        if not isinstance(cfg["train"][key], bool):
            raise ValueError(f"train.{key} must be true or false, got {cfg['train'][key]!r}")
    opt = cfg["optim"]
    if opt["name"] not in ("adam", "rmsprop"):
        raise ValueError(f"optim.name must be 'adam' or 'rmsprop', got {opt['name']!r}")
    for key in ("lr_g", "lr_d", "eps"):
        if not isinstance(opt[key], (int, float)) or isinstance(opt[key], bool) or not opt[key] > 0:
            raise ValueError(f"optim.{key} must be a positive number, got {opt[key]!r}")
    b = opt["betas"]
    if not (isinstance(b, list) and len(b) == 2 and all(isinstance(x, (int, float)) and 0 <= x < 1 for x in b)):
        raise ValueError(f"optim.betas must be a list of two numbers in [0, 1), got {b!r}")
    if not isinstance(opt["alpha"], (int, float)) or not 0 <= opt["alpha"] < 1:
        raise ValueError(f"optim.alpha must be in [0, 1), got {opt['alpha']!r}")
    if cfg["latent"].get("distribution", "normal") not in ("normal", "uniform"):
        raise ValueError(f"latent.distribution must be 'normal' or 'uniform', got {cfg['latent'].get('distribution')!r}")
    ld = cfg["latent"].get("dim")
    if not isinstance(ld, int) or isinstance(ld, bool) or ld < 1:
        raise ValueError(f"latent.dim must be a positive integer, got {ld!r}")
    gl = cfg["generator"].get("latent_dim")
    if gl is not None and gl != ld:
        raise ValueError(f"generator.latent_dim ({gl}) must equal latent.dim ({ld})")
    ev = cfg["eval"]
    if not isinstance(ev.get("every", 0), int) or ev.get("every", 0) < 0:
        raise ValueError(f"eval.every must be an integer >= 0, got {ev.get('every')!r}")
    if ev.get("every", 0) > 0 and ":" not in str(ev.get("function", "")):
        raise ValueError(f"eval.function must be 'module:function', got {ev.get('function')!r}")
    return dict(cfg)


def resolve(path: str | Path | None = None, overrides: Sequence[str] = (),
            cfg: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults <- config file chain (or the mapping ``cfg``) <- overrides, validated.

    ``generator.latent_dim`` is filled from ``latent.dim`` when absent (it is the generator's
    input size).
    """
    out = load_defaults()
    if path is not None:
        out = deep_merge(out, _read_chain(Path(path)))
    if cfg is not None:
        if "defaults" in cfg:
            raise ValueError("cfg: a 'defaults' key is followed only in config files; "
                             "use load_config(path) or merge the parent yourself")
        out = deep_merge(out, dict(cfg))
    out = apply_overrides(out, overrides)
    if isinstance(out.get("generator"), dict) and "latent_dim" not in out["generator"] \
            and out["generator"].get("name") != "dirac":
        out["generator"]["latent_dim"] = out.get("latent", {}).get("dim")
    return validate(out)


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Resolve and validate the config file at ``path`` (see the module docstring)."""
    return resolve(path, overrides)


def config_hash(cfg: Mapping[str, Any]) -> str:
    """SHA-256 (first 16 hex digits) of the canonical JSON of ``cfg`` without the keys that may
    change on resume (iterations, logging/checkpoint intervals, progress bar, eval section)."""
    c = copy.deepcopy(dict(cfg))
    for path in HASH_EXCLUDED:
        node = c
        for p in path[:-1]:
            node = node.get(p, {})
        node.pop(path[-1], None)
    return hashlib.sha256(json.dumps(c, sort_keys=True, default=str).encode()).hexdigest()[:16]
