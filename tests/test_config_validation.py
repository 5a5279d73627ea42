"""Configs are validated completely when they are loaded: every section's keys, malformed YAML,
optimiser and evaluation settings, the data/network dimension; and the config hash covers
exactly the keys that change the training trajectory."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest
import torch

from gans import data as gdata
from gans.config import config_hash, load_config, resolve

TOY = {"device": "cpu", "data": {"name": "ring", "n": 64},
       "generator": {"name": "mlp", "hidden": 8, "depth": 1},
       "discriminator": {"name": "mlp", "hidden": 8, "depth": 1}}


def _with(base: dict, section: str, **keys: object) -> dict:
    """``base`` with ``keys`` merged into ``section`` (the data section is replaced whole)."""
    out = copy.deepcopy(base)
    out[section] = {**({} if section == "data" else out.get(section, {})), **keys}
    return out


# --------------------------------------------------------------------------- unknown keys
@pytest.mark.parametrize("section, keys, bad, suggestion", [
    ("data", {"name": "ring", "foo": 1}, "data.foo", None),
    ("data", {"name": "ring", "n_mode": 4}, "data.n_mode", "n_modes"),
    ("data", {"name": "grid", "radius": 2.0}, "data.radius", None),  # a ring key on the grid
    ("data", {"name": "celeba", "resolutoin": 32}, "data.resolutoin", "resolution"),
    ("data", {"name": "imagenet64", "cachedir": "/tmp"}, "data.cachedir", "cache_dir"),
    ("data", {"name": "digits", "n": 10}, "data.n", None),  # only skimage_crops takes n
    ("latent", {"dims": 3}, "latent.dims", "dim"),
    ("train", {"iteration": 3}, "train.iteration", "iterations"),
    ("optim", {"lr": 1e-3}, "optim.lr", None),
    ("generator", {"hiden": 8}, "generator.hiden", "hidden"),
    ("discriminator", {"dpeth": 2}, "discriminator.dpeth", "depth"),
    ("loss", {"name": "wgan_gp", "gama": 1.0}, "gama", "gamma"),
    ("eval", {"function": "gans.data.toy:evaluate", "nn": 5}, "eval.nn", "n"),
    ("eval", {"function": "gans.metrics:evaluate_generator", "kid_subset": 3}, "eval.kid_subset",
     "kid_subsets"),
])
def test_unknown_key_in_any_section_is_refused_at_load_time(section: str, keys: dict, bad: str,
                                                            suggestion: str | None) -> None:
    with pytest.raises(ValueError, match=bad.replace(".", r"\.")) as info:
        resolve(cfg=_with(TOY, section, **keys))
    msg = str(info.value)
    assert "accepted" in msg or "allowed" in msg  # the accepted keys are listed
    if suggestion is not None:
        assert f"did you mean {suggestion!r}" in msg


def test_set_override_of_an_unknown_data_key_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "run.yaml"
    p.write_text("data: {name: ring}\n")
    with pytest.raises(ValueError, match=r"data\.foo.*accepted.*'n_modes'"):
        load_config(p, ["data.foo=1"])


def test_dataset_defaults_are_declared_once_and_filled_in() -> None:
    """The resolved config states every data setting (CelebA: 64 px unless told otherwise)."""
    celeba = resolve(cfg={"data": {"name": "celeba", "path": "/nowhere"}})["data"]
    assert celeba["resolution"] == 64 and celeba["split"] == "train" and celeba["augment"] is False
    ring = resolve(cfg={"data": {"name": "ring"}})["data"]
    # the defaults are the fields of the dataset's class, nowhere else
    assert ring == {"name": "ring", **{f.name: f.default for f in dataclasses.fields(gdata.RingSpec)}}
    assert gdata.DATASETS["ring"] is gdata.RingSpec and gdata.DATASETS.defaults("ring") == gdata.RingSpec().options()
    assert gdata.build_dataset({"name": "ring", "n": 10}, 0).std == ring["std"]


@pytest.mark.parametrize("keys, message", [
    ({"name": "ring", "n": 0}, r"data\.n"),
    ({"name": "ring", "std": -1.0}, r"data\.std"),
    ({"name": "ring", "n": "many"}, r"data\.n"),
    ({"name": "celeba", "resolution": "64"}, r"data\.resolution"),
    ({"name": "celeba", "split": "trian"}, r"data\.split"),
    ({"name": "celeba", "augment": "yes"}, r"data\.augment"),
    ({"name": "ring", "workers": -1}, r"data\.workers"),
])
def test_bad_data_values_are_refused_at_load_time(keys: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve(cfg={"data": keys})


def test_build_dataset_checks_keys_with_the_same_table() -> None:
    with pytest.raises(ValueError, match=r"data\.foo"):
        gdata.build_dataset({"name": "ring", "foo": 1}, 0)
    assert all(issubclass(spec, gdata.DatasetSpec) for spec in gdata.DATASETS.values())
    with pytest.raises(ValueError, match=r"data\.n"):  # the same checks when a spec is built directly
        gdata.RingSpec(n=0)


@dataclasses.dataclass(frozen=True)
class Tiny(gdata.DatasetSpec):
    """A dataset defined outside the package (also reachable as ``test_config_validation:Tiny``)."""

    n: gdata.PositiveInt = 3

    def build(self, seed: int) -> gdata.RandomImages:
        return gdata.RandomImages(self.n, 4, 1, seed)


def test_a_new_dataset_is_one_registry_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(gdata.DATASETS.entries, "tiny", Tiny)
    assert len(gdata.build_dataset({"name": "tiny"}, 0)) == 3
    assert gdata.data_options({"name": "tiny"}) == {"name": "tiny", "n": 3}
    with pytest.raises(ValueError, match=r"data\.nn' .*did you mean 'n'"):
        gdata.build_dataset({"name": "tiny", "nn": 3}, 0)
    with pytest.raises(ValueError, match=r"data\.n: expected a positive integer"):
        gdata.build_dataset({"name": "tiny", "n": 0}, 0)
    lazy = f"{__name__}:Tiny"  # the lazy spelling, without registering
    assert len(gdata.build_dataset({"name": lazy, "n": 5}, 0)) == 5


# --------------------------------------------------------------------------- malformed YAML
@pytest.mark.parametrize("text, line", [("train: {iterations: 3\nseed: 1\n", None),
                                        ("seed: 1\ntrain:\n  iterations: 3\n bad: [\n", 4),
                                        ("seed: 1\n\tdevice: cpu\n", 2)])
def test_malformed_yaml_names_the_file_and_line(tmp_path: Path, text: str, line: int | None) -> None:
    p = tmp_path / "broken.yaml"
    p.write_text(text)
    with pytest.raises(ValueError, match=r"broken\.yaml.*line \d+") as info:
        load_config(p)
    if line is not None:
        assert f"line {line}" in str(info.value)


def test_malformed_yaml_in_a_parent_names_the_parent(tmp_path: Path) -> None:
    (tmp_path / "parent.yaml").write_text("optim: [lr_g: 1\n")
    (tmp_path / "child.yaml").write_text("defaults: parent.yaml\n")
    with pytest.raises(ValueError, match=r"parent\.yaml.*line"):
        load_config(tmp_path / "child.yaml")


# --------------------------------------------------------------------------- optimiser, eval, dims
@pytest.mark.parametrize("value", ["abc", -1, -1e-3, float("nan"), float("inf"), True, [0.1]])
def test_weight_decay_is_validated(value: object) -> None:
    with pytest.raises(ValueError, match=r"optim\.weight_decay"):
        resolve(cfg=_with(TOY, "optim", weight_decay=value))


@pytest.mark.parametrize("key", ["lr_g", "lr_d", "eps"])
def test_infinite_learning_rate_or_eps_is_refused(key: str) -> None:
    with pytest.raises(ValueError, match=rf"optim\.{key}"):
        resolve(cfg=_with(TOY, "optim", **{key: float("inf")}))


@pytest.mark.parametrize("function, message", [
    ("nomod_xyz:fn", "cannot import"),
    ("gans.data.toy:no_such_function", "has no"),
    ("gans.data.toy:ring_centers", None),  # resolves: a callable
    ("gans.data.toy:__all__", "not callable"),
])
def test_eval_function_is_resolved_at_load_time(function: str, message: str | None) -> None:
    cfg = _with(TOY, "eval", every=1, function=function)
    if message is None:
        assert resolve(cfg=cfg)["eval"]["function"] == function
        return
    with pytest.raises(ValueError, match=rf"eval\.function.*{message}"):
        resolve(cfg=cfg)


@pytest.mark.parametrize("function, module", [("gans.metrics:evaluate_generator", "gans.metrics.evaluate"),
                                              ("gans.data.toy:evaluate", "gans.data.toy")])
def test_eval_keys_are_the_fields_of_the_evaluators_settings_dataclass(function: str, module: str) -> None:
    """Every field of the evaluator's EVAL_SETTINGS dataclass is accepted with its default; the
    module's EVAL_DEFAULTS is that dataclass's defaults, not a second table."""
    import importlib

    mod = importlib.import_module(module)
    assert dataclasses.is_dataclass(mod.EVAL_SETTINGS)
    defaults = {f.name: f.default for f in dataclasses.fields(mod.EVAL_SETTINGS)}
    assert mod.EVAL_DEFAULTS == defaults and "n" in defaults
    ev = resolve(cfg=_with(TOY, "eval", every=0, function=function, **defaults))["eval"]
    assert {k: ev[k] for k in defaults} == defaults
    other = "kid_subsets" if module == "gans.data.toy" else "radius_std"  # a key of neither evaluator
    with pytest.raises(ValueError, match=rf"eval\.{other}.*accepted"):
        resolve(cfg=_with(TOY, "eval", every=0, function=function, **{other: 1}))


def test_an_outside_evaluator_declares_its_keys_with_a_dataclass(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """``eval.function: module:Name`` outside the package: the module's EVAL_SETTINGS dataclass
    names the keys (a typo is refused with a suggestion); something else under that name is refused.
    (``n`` is declared because gans/configs/defaults.yaml sets ``eval.n``.)"""
    (tmp_path / "my_eval_mod.py").write_text(
        "import dataclasses\n\n\n@dataclasses.dataclass(frozen=True)\nclass Settings:\n"
        "    n: int = 100\n    width: int = 3\n\n\n"
        "EVAL_SETTINGS = Settings\n\n\ndef evaluate(generator, dataset, eval_cfg, device, seed):\n    return {}\n")
    (tmp_path / "my_bad_eval_mod.py").write_text(
        "EVAL_SETTINGS = {'width': 3}\n\n\ndef evaluate(generator, dataset, eval_cfg, device, seed):\n    return {}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert resolve(cfg=_with(TOY, "eval", every=1, function="my_eval_mod:evaluate", width=5))["eval"]["width"] == 5
    with pytest.raises(ValueError, match=r"eval\.widht.*did you mean 'width'"):
        resolve(cfg=_with(TOY, "eval", every=1, function="my_eval_mod:evaluate", widht=5))
    with pytest.raises(ValueError, match=r"EVAL_SETTINGS must be a dataclass"):
        resolve(cfg=_with(TOY, "eval", every=1, function="my_bad_eval_mod:evaluate", width=5))


def test_loss_factory_module_is_resolved_at_load_time() -> None:
    with pytest.raises(ValueError, match=r"loss\.name.*cannot import"):
        resolve(cfg=_with(TOY, "loss", name="nomod_xyz:factory"))


@pytest.mark.parametrize("section", ["discriminator", "generator"])
def test_network_data_dim_must_match_the_toy_data(section: str) -> None:
    with pytest.raises(ValueError, match=rf"{section}\.data_dim \(3\).*dimension 2.*ring"):
        resolve(cfg=_with(TOY, section, data_dim=3))
    assert resolve(cfg=_with(TOY, section, data_dim=2))[section]["data_dim"] == 2


def test_values_the_loss_refuses_are_refused_at_load_time() -> None:
    with pytest.raises(ValueError, match="loss"):
        resolve(cfg=_with(TOY, "loss", name="wgan_gp", gamma=-1.0))


def test_validation_does_not_touch_the_global_rng() -> None:
    before = torch.get_rng_state()
    resolve(cfg=_with(TOY, "loss", name="wgan_gp", gamma=1.0))
    assert torch.equal(before, torch.get_rng_state())


# --------------------------------------------------------------------------- the config hash
def _leaves(cfg: dict, prefix: str = "") -> list[str]:
    out = []
    for k, v in cfg.items():
        if isinstance(v, dict):
            out += _leaves(v, f"{prefix}{k}.")
        else:
            out.append(f"{prefix}{k}")
    return out


HARMLESS = {"train.iterations", "train.progress", "train.tensorboard", "train.log_every", "train.sample_every",
            "train.checkpoint_every", "train.nan_check_every", "train.n_samples"}
CUDA_ONLY = {"train.amp", "train.channels_last", "train.compile"}


def _perturbed(value: object) -> object:
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, list):
        return [0.25, 0.75] if len(value) == 2 else [{"name": "r1", "gamma": 1.0}]
    return str(value) + "x"


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_hash_changes_for_every_key_that_changes_the_trajectory(device: str) -> None:
    base = resolve(cfg={**TOY, "device": device})
    h = config_hash(base)
    checked = 0
    for key in _leaves(base):
        if key.startswith("eval.") or key in HARMLESS or key == "device" \
                or (device == "cpu" and key in CUDA_ONLY):
            continue
        sec, _, sub = key.partition(".")
        cfg = copy.deepcopy(base)
        node = cfg[sec] if sub else cfg
        leaf = sub or sec
        new = _perturbed(node[leaf])
        if key == "loss.name":
            new = "hinge"
        node[leaf] = new
        assert config_hash(cfg) != h, f"changing {key} ({base if not sub else base[sec]}) kept the hash"
        checked += 1
    assert checked >= 25
    other = "cpu" if device == "cuda" else "cuda"
    assert config_hash({**base, "device": other}) != h  # CPU and CUDA runs differ numerically


def test_hash_ignores_keys_that_do_not_change_the_trajectory() -> None:
    base = resolve(cfg=TOY)
    h = config_hash(base)
    here = "cuda" if torch.cuda.is_available() else "cpu"
    same = [{"device": "auto"}, {"device": here}, {"train": {"nan_check_every": 7}},
            {"train": {"n_samples": 9}}, {"train": {"iterations": 5, "log_every": 3, "progress": False}},
            {"data": {"workers": 2}}, {"eval": {"every": 3}}]
    if here == "cpu":  # bf16 autocast, channels_last and compile are CUDA-only switches
        same.append({"train": {"amp": "none", "channels_last": False, "compile": True}})
    for change in same:
        cfg = resolve(cfg={**TOY, **{k: {**TOY.get(k, {}), **v} if isinstance(v, dict) else v
                                     for k, v in change.items()}})
        assert config_hash(cfg) == h, change
    assert config_hash(resolve(cfg={**TOY, "device": "cuda:1"})) == config_hash(resolve(cfg={**TOY, "device": "cuda"}))
