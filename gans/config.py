"""Training configs: YAML files with inheritance, ``--set`` overrides, validation and a hash.

Resolution order (later wins, mappings deep-merged, lists and scalars replaced; a data,
generator, discriminator or loss section whose ``name`` changes is replaced whole):
``gans/configs/defaults.yaml`` <- parent chain named by ``defaults:`` keys (paths relative to
the file that names them; ``defaults: [a.yaml, b.yaml]`` merges several parents in order) <- the
config file (or several, merged in order) <- ``--set key.sub=value`` overrides (values
parsed as YAML: ``--set train.iterations=100 --set optim.betas=[0.0,0.9]``).  Overrides that
change a section's ``name`` are applied before all others, so the keys set beside a new name
survive whatever the order on the command line (:func:`apply_overrides`).

Validation (:func:`validate`, run by :func:`resolve` and so by every load) checks every key of
every section, so a typo raises ``ValueError`` naming the key, listing the accepted ones and
suggesting the closest (``difflib``) instead of being ignored.  The data, generator,
discriminator and loss sections name a component of a :class:`gans.registry.Registry`, whose
keys are its class's keyword arguments, with the defaults stated once in its signature:

* top-level keys, ``latent``, ``optim`` and ``train``: the keys of the defaults file;
* ``data``: the fields of the dataset's class in :data:`gans.data.DATASETS` (their defaults are
  filled into the resolved config, their ``Annotated`` checks run);
* ``generator`` / ``discriminator``: the network constructor's keywords
  (:data:`gans.nets.GENERATORS`, :data:`gans.nets.DISCRIMINATORS`); an MLP's ``data_dim`` must
  equal the dimension of toy data;
* ``loss``: built once by :func:`gans.losses.build` (keys and values; building draws no random
  numbers), or for a ``"package.module:Name"`` loss its keys checked against its signature;
* ``eval``: ``every`` and ``function`` (``"package.module:Name"``, imported and resolved now, not
  at the first evaluation), plus the fields of the dataclass ``EVAL_SETTINGS`` of the function's
  module when it declares one (the evaluator's keys with their defaults, stated once:
  :class:`gans.metrics.evaluate.EvalSettings`, :class:`gans.data.toy.ToyEvalSettings`).

A section name may also be ``"package.module:Name"`` (a component outside the package), the one
lazy spelling (:func:`gans.registry.resolve_lazy`).  Malformed YAML raises ``ValueError`` naming
the file and the line.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import importlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .registry import is_lazy, resolve_lazy, unknown_key_message

__all__ = ["load_defaults", "load_config", "apply_overrides", "validate", "config_hash", "deep_merge",
           "resolve", "unknown_key_message", "resolve_callable"]

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


def _yaml_load(text: str, source: str = "config") -> Any:
    """Parse YAML; a syntax error becomes ``ValueError`` naming ``source`` and the line (1-based)."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 (SafeLoader subclass)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "unknown line"
        raise ValueError(f"{source}: malformed YAML at {where}: {err.problem or err}") from None
    except yaml.YAMLError as err:
        raise ValueError(f"{source}: malformed YAML ({err})") from None


# the one lazy spelling, "package.module:Name" (kept under its earlier name)
resolve_callable = resolve_lazy


NAMED_SECTIONS = ("data", "generator", "discriminator", "loss")
# sections whose keys are not those of the defaults file: each is checked by its own registry
REGISTRY_SECTIONS = ("data", "generator", "discriminator", "loss", "eval")
# keys that do not change the training trajectory, so a run may resume with other values:
# run length, logging/sample/checkpoint intervals, progress bar, NaN-check interval, sample grid
# size (its latents come from their own generator), data-loading workers and the ImageNet cache
# folder (neither changes the batches), evaluation (run under a forked RNG)
HASH_EXCLUDED = (("train", "iterations"), ("train", "progress"), ("train", "log_every"),
                 ("train", "sample_every"), ("train", "checkpoint_every"), ("train", "nan_check_every"),
                 ("train", "n_samples"), ("train", "tensorboard"), ("data", "workers"), ("data", "cache_dir"),
                 ("eval",))
# switches the trainer applies on CUDA only (gans.train): no effect on a CPU trajectory
CUDA_ONLY_TRAIN_KEYS = ("amp", "channels_last", "compile")


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
    return _yaml_load(text, "gans/configs/defaults.yaml")


def _read_chain(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    path = path.resolve()
    if path in seen:
        raise ValueError(f"config inheritance cycle through {path}")
    if not path.is_file():
        raise ValueError(f"config file not found: {path}")
    try:
        text = path.read_text()
    except UnicodeDecodeError as err:
        raise ValueError(f"config {path} is not a UTF-8 text file ({err})") from None
    data = _yaml_load(text, str(path)) or {}
    if not isinstance(data, dict):
        raise ValueError(f"config {path} must be a YAML mapping, got {type(data).__name__}")
    parents = data.pop("defaults", None)
    if parents is None:
        return data
    if isinstance(parents, str):
        parents = [parents]
    if not isinstance(parents, list) or not parents or not all(isinstance(q, str) for q in parents):
        raise ValueError(f"'defaults' in {path} must be a path string or a non-empty list of path strings, "
                         f"got {parents!r}")
    merged: dict[str, Any] = {}
    for parent in parents:  # later parents win, the file itself wins over all of them
        merged = deep_merge(merged, _read_chain(path.parent / parent, seen + (path,)))
    return deep_merge(merged, data)


def _is_name_override(parts: Sequence[str]) -> bool:
    return len(parts) == 2 and parts[0] in NAMED_SECTIONS and parts[1] == "name"


def apply_overrides(cfg: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``key.sub=value`` strings (values parsed as YAML) to a copy of ``cfg``.

    A new ``name`` of a data, generator, discriminator or loss section replaces that section
    whole (:func:`deep_merge`'s rule: the old component's keys would not fit the new one).  So
    that no key is dropped for the order it was written in, the ``SECTION.name=...`` overrides
    are applied first (in the given order), then every other override in the given order:
    ``--set data.n=64 --set data.name=random_images`` and the reverse both give
    ``{name: random_images, n: 64}`` (before, the first form silently lost ``n``).
    """
    parsed = []
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"--set expects key=value, got {item!r}")
        key, text = item.split("=", 1)
        parts = key.strip().split(".")
        if not all(parts):
            raise ValueError(f"--set key must be dotted names, got {key!r}")
        parsed.append((key, parts, _yaml_load(text, f"--set {key}: cannot parse value {text!r}")))
    ordered = [p for p in parsed if _is_name_override(p[1])] + [p for p in parsed if not _is_name_override(p[1])]
    out = copy.deepcopy(dict(cfg))
    for key, parts, value in ordered:
        if _is_name_override(parts) and isinstance(out.get(parts[0]), dict) and out[parts[0]].get("name") != value:
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
            raise ValueError(unknown_key_message(name, list(ref)))
        if prefix == "" and k in REGISTRY_SECTIONS:
            continue
        if isinstance(ref[k], dict):
            if not isinstance(v, dict):
                raise ValueError(f"config key {name!r} must be a mapping, got {v!r}")
            _check_known(v, ref[k], name + ".")


def _number(value: Any, key: str, *, minimum: float, strict: bool) -> None:
    """A finite real number ``> minimum`` (``strict``) or ``>= minimum``; not a bool or string."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
        and (value > minimum if strict else value >= minimum)
    if not ok:
        raise ValueError(f"{key} must be a finite number {'>' if strict else '>='} {minimum:g}, got {value!r}")


def _check_network(cfg: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """Keys and values of a generator/discriminator section against the constructor's keywords
    (:mod:`gans.nets`); returns the keyword defaults (for the dimension check)."""
    from . import nets

    (nets.GENERATORS if kind == "generator" else nets.DISCRIMINATORS).options(cfg)
    return nets.network_keys(kind, cfg["name"]) or {}


def _check_loss(cfg: Mapping[str, Any]) -> None:
    """Build the loss once (keys and values are checked by :func:`gans.losses.build`; building
    draws no random numbers); a ``"package.module:Name"`` loss is not built (its constructor is
    not ours), only its keys are checked against its signature."""
    from . import losses

    if is_lazy(cfg["name"]):
        losses.loss_options(cfg)
    else:
        losses.build(dict(cfg))


def _check_eval(ev: Mapping[str, Any]) -> None:
    every = ev.get("every", 0)
    if not isinstance(every, int) or isinstance(every, bool) or every < 0:
        raise ValueError(f"eval.every must be an integer >= 0, got {every!r}")
    fn = resolve_lazy(ev.get("function"), "eval.function")
    declared = getattr(importlib.import_module(fn.__module__), "EVAL_SETTINGS", None) \
        if isinstance(getattr(fn, "__module__", None), str) else None
    if declared is not None and not (isinstance(declared, type) and dataclasses.is_dataclass(declared)):
        raise ValueError(f"eval.function {ev['function']!r}: its module's EVAL_SETTINGS must be a dataclass "
                         f"(the evaluator's keys with their defaults), got {declared!r}")
    if declared is not None:
        accepted = ["every", "function", "data", *(f.name for f in dataclasses.fields(declared))]
        for k in ev:
            if k not in accepted:
                raise ValueError(unknown_key_message(f"eval.{k}", accepted, f" for eval.function {ev['function']!r}"))


def validate(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Check a resolved config; raises ``ValueError`` naming the key and the problem.

    Returns a copy in which the ``data`` section is completed with the dataset's declared
    defaults (:func:`gans.data.data_options`), so the stored config states every setting.
    """
    from .data import data_options, dataset_dim

    defaults = load_defaults()
    _check_known(cfg, defaults)
    for sec in ("data", "generator", "discriminator", "loss", "eval", "latent"):
        if not isinstance(cfg.get(sec), dict):
            raise ValueError(f"config section {sec!r} must be a mapping, got {cfg.get(sec)!r}")
    for sec in ("data", "generator", "discriminator", "loss"):
        if not isinstance(cfg[sec].get("name"), str):
            raise ValueError(f"{sec}.name must be a string, got {cfg[sec].get('name')!r}")
    out = dict(cfg)
    out["data"] = data_options(cfg["data"])
    if not isinstance(cfg["seed"], int) or isinstance(cfg["seed"], bool) or cfg["seed"] < 0:
        raise ValueError(f"seed must be a non-negative integer, got {cfg['seed']!r}")
    dev = cfg["device"]
    if not (isinstance(dev, str) and (dev in ("auto", "cpu", "cuda") or re.fullmatch(r"cuda:\d+", dev))):
        raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {dev!r}")
    for p in ("train.iterations", "train.batch_size", "train.n_critic", "train.log_every", "train.nan_check_every",
              "train.n_samples"):
        _pos_int(cfg, p)
    for p in ("train.sample_every", "train.checkpoint_every", "train.ema_halflife_images"):
        _pos_int(cfg, p, allow_zero=True)
    if cfg["train"]["amp"] not in ("bf16", "none"):
        raise ValueError(f"train.amp must be 'bf16' or 'none', got {cfg['train']['amp']!r}")
    for key in ("g_first", "channels_last", "compile", "progress", "tensorboard"):
        if not isinstance(cfg["train"][key], bool):
            raise ValueError(f"train.{key} must be true or false, got {cfg['train'][key]!r}")
    opt = cfg["optim"]
    if opt["name"] not in ("adam", "rmsprop"):
        raise ValueError(f"optim.name must be 'adam' or 'rmsprop', got {opt['name']!r}")
    for key in ("lr_g", "lr_d", "eps"):
        if not isinstance(opt[key], (int, float)) or isinstance(opt[key], bool) or not opt[key] > 0 \
                or not math.isfinite(opt[key]):
            raise ValueError(f"optim.{key} must be a positive number, got {opt[key]!r}")
    _number(opt["weight_decay"], "optim.weight_decay", minimum=0.0, strict=False)
    b = opt["betas"]
    if not (isinstance(b, list) and len(b) == 2
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) and 0 <= x < 1 for x in b)):
        raise ValueError(f"optim.betas must be a list of two numbers in [0, 1), got {b!r}")
    a = opt["alpha"]
    if not isinstance(a, (int, float)) or isinstance(a, bool) or not 0 <= a < 1:
        raise ValueError(f"optim.alpha must be in [0, 1), got {a!r}")
    if cfg["latent"].get("distribution", "normal") not in ("normal", "uniform"):
        raise ValueError(f"latent.distribution must be 'normal' or 'uniform', got {cfg['latent'].get('distribution')!r}")
    ld = cfg["latent"].get("dim")
    if not isinstance(ld, int) or isinstance(ld, bool) or ld < 1:
        raise ValueError(f"latent.dim must be a positive integer, got {ld!r}")
    gl = cfg["generator"].get("latent_dim")
    if gl is not None and gl != ld:
        raise ValueError(f"generator.latent_dim ({gl}) must equal latent.dim ({ld})")
    dim = dataset_dim(out["data"])
    for kind in ("generator", "discriminator"):
        net_defaults = _check_network(cfg[kind], kind)
        net_dim = cfg[kind].get("data_dim", net_defaults.get("data_dim"))
        if dim is not None and isinstance(net_dim, int) and net_dim != dim:
            raise ValueError(f"{kind}.data_dim ({net_dim}) must equal the data's dimension {dim} "
                             f"(data.name {out['data']['name']!r})")
    _check_loss(cfg["loss"])
    _check_eval(cfg["eval"])
    if cfg["eval"].get("data") is not None:  # the evaluation's reference set (e.g. held-out digits)
        if not isinstance(cfg["eval"]["data"], dict) or not isinstance(cfg["eval"]["data"].get("name"), str):
            raise ValueError(f"eval.data must be a data section with a name (e.g. {{name: mnist5k, split: heldout}}), "
                             f"got {cfg['eval']['data']!r}")
        try:
            out["eval"] = {**cfg["eval"], "data": data_options(cfg["eval"]["data"])}
        except ValueError as err:
            raise ValueError(f"eval.data: {err}") from None
    return out


def resolve(path: str | Path | Sequence[str | Path] | None = None, overrides: Sequence[str] = (),
            cfg: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults <- config file chain(s) (or the mapping ``cfg``) <- overrides, validated.

    ``path`` may be a list of files, merged in order (later wins), each with its own
    ``defaults:`` chain: ``resolve([profile, loss])`` overlays a loss file on a profile base, as
    the image-comparison rules do (``experiments/train_configs/image/``).

    ``generator.latent_dim`` is filled from ``latent.dim`` when absent and the generator's
    constructor takes it (it is the generator's input size).
    """
    out = load_defaults()
    paths = [] if path is None else [path] if isinstance(path, (str, Path)) else list(path)
    if path is not None and not paths:
        raise ValueError("path: expected a config file or a non-empty list of config files, got []")
    for one in paths:
        out = deep_merge(out, _read_chain(Path(one)))
    if cfg is not None:
        if "defaults" in cfg:
            raise ValueError("cfg: a 'defaults' key is followed only in config files; "
                             "use load_config(path) or merge the parent yourself")
        out = deep_merge(out, dict(cfg))
    out = apply_overrides(out, overrides)
    gen = out.get("generator")
    if isinstance(gen, dict) and "latent_dim" not in gen and _takes_latent_dim(gen.get("name")):
        gen["latent_dim"] = out.get("latent", {}).get("dim")
    return validate(out)


def _takes_latent_dim(name: Any) -> bool:
    """Whether generator ``name``'s constructor takes ``latent_dim`` (every latent-input network;
    not the DiracGAN player, whose output is a parameter); an unknown name is left to
    :func:`validate`, which reports it."""
    from .nets import network_keys

    try:
        keys = network_keys("generator", name)
    except ValueError:
        return True
    return keys is None or "latent_dim" in keys


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Resolve and validate the config file at ``path`` (see the module docstring)."""
    return resolve(path, overrides)


def _device_type(device: Any) -> Any:
    """``auto`` -> the device type it selects here (``cuda`` if available, else ``cpu``);
    ``cuda:N`` -> ``cuda`` (the index picks a card, not the arithmetic)."""
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    if isinstance(device, str) and device.startswith("cuda:"):
        return "cuda"
    return device


def config_hash(cfg: Mapping[str, Any]) -> str:
    """SHA-256 (first 16 hex digits) of the canonical JSON of the keys that change the training
    trajectory: ``cfg`` without :data:`HASH_EXCLUDED` (iterations, logging/sample/checkpoint and
    NaN-check intervals, sample grid size, progress bar, data workers and cache folder, eval),
    with ``device`` reduced to the device type it runs on (``auto`` -> ``cpu`` or ``cuda`` on
    this machine, ``cuda:N`` -> ``cuda``) and, on CPU, without the CUDA-only switches
    ``train.amp``, ``train.channels_last`` and ``train.compile``."""
    c = copy.deepcopy(dict(cfg))
    for path in HASH_EXCLUDED:
        node = c
        for p in path[:-1]:
            node = node.get(p, {})
        if isinstance(node, dict):
            node.pop(path[-1], None)
    if "device" in c:
        c["device"] = _device_type(c["device"])
        if c["device"] == "cpu" and isinstance(c.get("train"), dict):
            for key in CUDA_ONLY_TRAIN_KEYS:
                c["train"].pop(key, None)
    return hashlib.sha256(json.dumps(c, sort_keys=True, default=str).encode()).hexdigest()[:16]
