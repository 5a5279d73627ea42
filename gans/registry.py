"""One way to build a component: named classes whose keyword arguments are their config keys.

A config section such as ``{"name": "wgan", "clip": 0.01}`` names a component and gives some of
its keyword arguments.  A :class:`Registry` maps each name to a *target*, a class or factory (or
the lazy spelling ``"package.module:Name"``, imported on first use), and reads everything else
from the target's signature (for a dataclass: its fields):

* the keys a section accepts are the target's keyword parameters, except ``name`` (the selector,
  never passed on) and the arguments its caller supplies itself (``supplied``: a loss's list of
  built penalties, a penalty's random generator, ...), plus the registry's ``extra`` keys, which
  every entry accepts and the caller handles (a network's ``spectral``, a dataset's ``workers``);
* a key's default is the parameter's default, stated once, in the signature; a parameter without
  a default is a key the section must give;
* a parameter annotated ``Annotated[T, check]`` has its value checked when the config is loaded,
  by ``check(value, "section.key")``, which returns the value or raises ``ValueError`` naming the
  key; without a check the target validates its arguments when it is built.

A name that is not registered may itself be ``"package.module:Name"`` (a component outside the
package: ``loss: {name: mypkg.losses:MyLoss, alpha: 2}``); it is imported and treated like an
entry.  That spelling is the only lazy one (:func:`resolve_lazy`; also ``eval.function``).

Errors are ``ValueError`` naming the config key: an unknown name lists the registered names, an
unknown key the accepted keys, each with the closest match (:func:`unknown_key_message`).
Nothing here draws random numbers or keeps state between calls.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import re
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["REQUIRED", "Check", "Key", "Registry", "unknown_key_message", "is_lazy", "resolve_lazy",
           "signature_keys"]

REQUIRED = inspect.Parameter.empty  # the default of a key the section must give
Check = Callable[[Any, str], Any]   # (value, "section.key") -> value, or ValueError naming the key

_LAZY = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")
_KEYWORD = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def unknown_key_message(key: str, accepted: Sequence[str], where: str = "") -> str:
    """``unknown config key 'data.resolutoin' for dataset 'celeba' (did you mean 'resolution'?);
    accepted: [...]``: ``key`` is the dotted name, ``accepted`` the keys allowed beside it, the
    suggestion the closest of them (``difflib``, ratio >= 0.6)."""
    leaf = key.rsplit(".", 1)[-1]
    close = difflib.get_close_matches(leaf, [str(a) for a in accepted], n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown config key {key!r}{where}{hint}; accepted: {sorted(accepted)}"


def unknown_name_message(key: str, kind: str, name: Any, choices: Sequence[str]) -> str:
    """``loss.name: unknown loss 'wgan_pg' (did you mean 'wgan_gp'?); choose from [...] or give
    'package.module:Name'``: ``choices`` are every name the section accepts (the suggestion the
    closest of them, ``difflib``, ratio >= 0.6)."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6) if isinstance(name, str) else []
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{key}: unknown {kind} {name!r}{hint}; choose from {sorted(choices)} or give 'package.module:Name'"


def is_lazy(spec: Any) -> bool:
    """Whether ``spec`` is written in the lazy spelling ``"package.module:Name"``."""
    return isinstance(spec, str) and _LAZY.fullmatch(spec) is not None


def resolve_lazy(spec: Any, key: str) -> Any:
    """Import ``"package.module:Name"`` and return ``Name``, which must be callable.

    ``ValueError`` naming the config ``key`` when ``spec`` is not in that spelling, the module
    cannot be imported, has no such attribute, or the attribute is not callable (at load time,
    instead of an ``ImportError`` at first use)."""
    if not is_lazy(spec):
        raise ValueError(f"{key} must be 'package.module:Name' (e.g. 'gans.metrics:evaluate_generator'), "
                         f"got {spec!r}")
    mod_name, attr = spec.split(":")
    try:
        mod = importlib.import_module(mod_name)
    except ImportError as err:
        raise ValueError(f"{key}: cannot import module {mod_name!r} of {spec!r} ({err})") from err
    if not hasattr(mod, attr):
        raise ValueError(f"{key}: module {mod_name!r} has no attribute {attr!r}")
    obj = getattr(mod, attr)
    if not callable(obj):
        raise ValueError(f"{key}: {spec!r} is not callable (a {type(obj).__name__})")
    return obj


@dataclass(frozen=True)
class Key:
    """One config key: its ``default`` (:data:`REQUIRED` when it must be given) and its value
    ``check`` (``None``: the target checks the value when built)."""

    default: Any = REQUIRED
    check: Check | None = None

    @property
    def required(self) -> bool:
        """Whether the section must give this key."""
        return self.default is REQUIRED


def _signature(target: Any) -> inspect.Signature:
    try:
        return inspect.signature(target, eval_str=True)  # resolves Annotated[...] checks
    except (NameError, SyntaxError, TypeError, AttributeError):
        return inspect.signature(target)


def _check_of(annotation: Any) -> Check | None:
    """The first callable in the metadata of ``Annotated[T, check, ...]``; else ``None``."""
    if typing.get_origin(annotation) is typing.Annotated:
        for meta in annotation.__metadata__:
            if callable(meta):
                return meta
    return None


def signature_keys(target: Any, exclude: Sequence[str] = ()) -> dict[str, Key] | None:
    """The config keys of ``target``: its keyword parameters except ``name`` and ``exclude``,
    in signature order, each with its default and its ``Annotated`` check; ``None`` when the
    target takes ``**kwargs`` (it then checks its own keys)."""
    try:
        params = _signature(target).parameters.values()
    except (TypeError, ValueError) as err:
        raise ValueError(f"{target!r} has no signature to read config keys from ({err})") from err
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name: Key(p.default, _check_of(p.annotation)) for p in params
            if p.kind in _KEYWORD and p.name != "name" and p.name not in exclude}


class Registry(Mapping[str, Any]):
    """Named buildable components of one ``kind`` (read-only mapping ``name -> target``).

    ``kind`` names a component in messages (``"loss"``, ``"dataset"``); ``section`` is the
    config section the keys live in (``"loss"``, ``"data"``); ``supplied`` lists the keyword
    arguments the caller passes itself (never config keys); ``extra`` maps keys every entry
    accepts beside its own, handled by the caller, to their :class:`Key` (an entry whose
    signature has such a key takes it itself).  ``entries`` is the underlying dict.
    """

    def __init__(self, kind: str, entries: Mapping[str, Any], *, section: str, supplied: Sequence[str] = (),
                 extra: Mapping[str, Key] | None = None) -> None:
        self.kind, self.section = kind, section
        self.entries: dict[str, Any] = dict(entries)
        self.supplied = tuple(supplied)
        self.extra: dict[str, Key] = dict(extra or {})

    def __getitem__(self, name: str) -> Any:
        return self.entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {list(self.entries)})"

    def names(self) -> list[str]:
        """The registered names, in registration order."""
        return list(self.entries)

    def target(self, name: Any, section: str | None = None) -> Any:
        """The class or factory named ``name`` (a registered name, or ``"package.module:Name"``)."""
        key = f"{section or self.section}.name"
        if isinstance(name, str) and name in self.entries:
            entry = self.entries[name]
            return resolve_lazy(entry, key) if isinstance(entry, str) else entry
        if is_lazy(name):
            return resolve_lazy(name, key)
        raise ValueError(unknown_name_message(key, self.kind, name, self.names()))

    def config_keys(self, name: Any, section: str | None = None) -> dict[str, Key] | None:
        """Every key a section naming ``name`` accepts besides ``name``: the target's own keys
        (:func:`signature_keys`) then the ``extra`` ones; ``None`` for a ``**kwargs`` target."""
        own = signature_keys(self.target(name, section), exclude=self.supplied)
        if own is None:
            return None
        return {**own, **{k: v for k, v in self.extra.items() if k not in own}}

    def defaults(self, name: Any) -> dict[str, Any]:
        """The target's own keys that have a default, with it (the ``extra`` keys left out)."""
        own = signature_keys(self.target(name), exclude=self.supplied) or {}
        return {k: key.default for k, key in own.items() if not key.required}

    def _section(self, cfg: Any, section: str) -> str:
        if not isinstance(cfg, Mapping) or "name" not in cfg:
            raise ValueError(f"{section} config must be a mapping with a 'name' (one of {sorted(self.entries)}), "
                             f"got {cfg!r}")
        return cfg["name"]

    def options(self, cfg: Any, *, section: str | None = None, fill: bool = False) -> dict[str, Any]:
        """``cfg`` (a mapping with ``name``) checked against :meth:`config_keys`: unknown keys,
        missing required keys and values refused by a key's check raise ``ValueError`` naming
        the key; with ``fill`` the target's own defaults are filled in.  Idempotent."""
        section = section or self.section
        name = self._section(cfg, section)
        keys = self.config_keys(name, section)
        if keys is None:
            return dict(cfg)
        out: dict[str, Any] = {"name": name}
        for k, value in cfg.items():
            if k == "name":
                continue
            if k not in keys:
                raise ValueError(unknown_key_message(f"{section}.{k}", ["name", *keys], f" for {self.kind} {name!r}"))
            check = keys[k].check
            out[k] = check(value, f"{section}.{k}") if check is not None else value
        for k, key in keys.items():
            if key.required and k not in out:
                raise ValueError(f"{section}.{k}: {self.kind} {name!r} needs this key (it has no default)")
            if fill and k not in out and k not in self.extra:
                out[k] = key.default
        return out

    def split(self, cfg: Any, *, section: str | None = None) -> tuple[Any, dict[str, Any], dict[str, Any]]:
        """``(target, keyword arguments for it, extra keys given)`` of a checked ``cfg``."""
        section = section or self.section
        opts = self.options(cfg, section=section)
        target = self.target(opts["name"], section)
        own = signature_keys(target, exclude=self.supplied)
        kwargs = {k: v for k, v in opts.items() if k != "name" and (own is None or k in own)}
        extra = {k: v for k, v in opts.items() if own is not None and k != "name" and k not in own}
        return target, kwargs, extra

    def build(self, cfg: Any, *, section: str | None = None, **supplied: Any) -> Any:
        """``target(**keys, **supplied)`` for a checked ``cfg``; the ``supplied`` arguments the
        target does not take are not passed (one it needs and is not given is a ``ValueError``).
        ``extra`` keys are the caller's: use :meth:`split` when the registry has some."""
        section = section or self.section
        target, kwargs, extra = self.split(cfg, section=section)
        if extra:
            raise ValueError(f"{section}: keys {sorted(extra)} are handled by the caller; use Registry.split")
        params = _signature(target).parameters
        takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        for s in self.supplied:
            p = params.get(s)
            if p is not None and p.default is REQUIRED and s not in supplied:
                raise ValueError(f"{section}: {self.kind} {cfg['name']!r} needs the argument {s!r}, "
                                 f"which its caller supplies")
        given = {s: v for s, v in supplied.items() if takes_all or s in params}
        try:
            return target(**kwargs, **given)
        except ValueError as err:  # a value the constructor refuses: say which section
            if str(err).startswith(section):
                raise
            raise ValueError(f"{section}: {err}") from err
