"""Configs: every YAML under experiments/train_configs resolves and validates; bad configs raise a
clear ValueError; inheritance, --set parsing and the config hash."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gans.config import apply_overrides, config_hash, load_config, load_defaults, resolve
from gans.nets import build_discriminator, build_generator
from gans.train import build_loss

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "experiments" / "train_configs").rglob("*.yaml"))


def test_there_are_at_least_ten_toy_configs() -> None:
    toy = [p for p in CONFIGS if p.parent.name == "toy" and p.stem != "common"]
    assert len(toy) >= 10
    assert len({yaml.safe_load(p.read_text())["loss"]["name"] for p in toy}) >= 10


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(ROOT / "experiments" / "train_configs")))
def test_config_loads_and_validates(path: Path) -> None:
    cfg = load_config(path)
    assert cfg["train"]["iterations"] >= 1
    if cfg["generator"]["name"] == "mlp":  # toy configs: the networks and the loss build too
        G = build_generator(cfg["generator"], seed=0)
        D = build_discriminator(cfg["discriminator"], seed=0)
        assert G.latent_dim == cfg["latent"]["dim"]
        loss = build_loss(cfg["loss"])
        assert loss.name == cfg["loss"]["name"]
        assert D.out_dim == cfg["discriminator"]["out_dim"]


def test_inheritance_chain_and_deep_merge(tmp_path: Path) -> None:
    (tmp_path / "parent.yaml").write_text("optim: {lr_g: 0.003}\ntrain: {n_critic: 3}\n")
    (tmp_path / "child.yaml").write_text("defaults: parent.yaml\ntrain: {batch_size: 7}\n")
    cfg = load_config(tmp_path / "child.yaml", ["train.n_critic=4"])
    assert cfg["optim"]["lr_g"] == 0.003 and cfg["optim"]["lr_d"] == load_defaults()["optim"]["lr_d"]
    assert cfg["train"]["batch_size"] == 7 and cfg["train"]["n_critic"] == 4
    assert cfg["train"]["iterations"] == load_defaults()["train"]["iterations"]


@pytest.mark.parametrize("text, message", [
    ("trian: {iterations: 3}", "unknown config key 'trian'"),
    ("train: {iteratons: 3}", "unknown config key 'train.iteratons'"),
    ("train: {iterations: 0}", "train.iterations must be an integer >= 1"),
    ("train: {batch_size: 2.5}", "train.batch_size must be an integer >= 1"),
    ("optim: {name: sgd}", "optim.name must be 'adam' or 'rmsprop'"),
    ("optim: {lr_g: -1}", "optim.lr_g must be a positive number"),
    ("optim: {betas: [0.5]}", "optim.betas must be a list of two numbers"),
    ("train: {amp: fp16}", "train.amp must be 'bf16' or 'none'"),
    ("device: tpu", "device must be auto, cpu, cuda or cuda:N"),
    ("latent: {dim: 4}\ngenerator: {name: mlp, latent_dim: 5}", r"generator.latent_dim \(5\) must equal latent.dim \(4\)"),
    ("train: {compile: 1}", "train.compile must be true or false"),
    ("eval: {every: 5, function: nothing}", "eval.function must be 'package.module:Name'"),
    ("seed: -1", "seed must be a non-negative integer"),
    ("- a\n- b", "must be a YAML mapping"),
    ("defaults: missing.yaml", "config file not found"),
    ("data: {name: ring, foo: 1}", "unknown config key 'data.foo' for dataset 'ring'"),
    ("data: {name: celeba, resolutoin: 32}", "did you mean 'resolution'"),
    ("optim: {weight_decay: abc}", "optim.weight_decay must be a finite number"),
    ("eval: {every: 1, function: 'nomod:fn'}", "eval.function: cannot import module 'nomod'"),
    ("discriminator: {name: mlp, data_dim: 3}", r"discriminator.data_dim \(3\) must equal"),
    ("train: {iterations: [3\n", r"bad.yaml: malformed YAML at line 2"),
])
def test_bad_config_raises_clear_value_error(tmp_path: Path, text: str, message: str) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_config(p)


def test_inheritance_cycle_is_reported(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("defaults: b.yaml\n")
    (tmp_path / "b.yaml").write_text("defaults: a.yaml\n")
    with pytest.raises(ValueError, match="cycle"):
        load_config(tmp_path / "a.yaml")


def test_overrides_parse_yaml_values() -> None:
    cfg = apply_overrides({"a": {"b": 1}}, ["a.b=1e-3", "a.c=[1, 2]", "d.e=true", "f=text"])
    assert cfg == {"a": {"b": 0.001, "c": [1, 2]}, "d": {"e": True}, "f": "text"}
    with pytest.raises(ValueError, match="key=value"):
        apply_overrides({}, ["novalue"])
    with pytest.raises(ValueError, match="is not a mapping"):
        apply_overrides({"a": 1}, ["a.b=2"])


def test_config_hash_ignores_only_resume_safe_keys() -> None:
    base = resolve(cfg={})
    assert config_hash(base) == config_hash(resolve(cfg={"train": {"iterations": 99, "log_every": 7,
                                                                   "nan_check_every": 5}}))
    assert config_hash(base) != config_hash(resolve(cfg={"optim": {"lr_g": 0.5}}))
    assert config_hash(base) != config_hash(resolve(cfg={"seed": 1}))


def test_changing_a_section_name_replaces_the_section(tmp_path: Path) -> None:
    (tmp_path / "parent.yaml").write_text("generator: {name: mlp, hidden: 32, depth: 2}\n")
    (tmp_path / "child.yaml").write_text("defaults: parent.yaml\ngenerator: {name: dcgan, resolution: 32}\n"
                                         "latent: {dim: 16}\n")
    cfg = load_config(tmp_path / "child.yaml")
    assert cfg["generator"] == {"name": "dcgan", "resolution": 32, "latent_dim": 16}
    assert build_generator(cfg["generator"]).latent_dim == 16


def test_set_with_a_new_name_replaces_the_section_whole() -> None:
    """--set loss.name=hinge drops the LSGAN keys (the same rule deep_merge applies to files)."""
    from gans.config import resolve

    out = resolve(cfg={"loss": {"name": "lsgan", "a": -1.0, "b": 1.0, "c": 0.0}}, overrides=["loss.name=hinge"])
    assert out["loss"]["name"] == "hinge" and not {"a", "b", "c"} & set(out["loss"])
    same = resolve(cfg={"loss": {"name": "lsgan", "a": -1.0}}, overrides=["loss.name=lsgan"])
    assert same["loss"]["a"] == -1.0


def test_defaults_key_in_a_mapping_is_an_error() -> None:
    from gans.config import resolve

    with pytest.raises(ValueError, match="defaults"):
        resolve(cfg={"defaults": "parent.yaml", "seed": 1})


@pytest.mark.parametrize("order", [1, -1], ids=["n_first", "name_first"])
def test_set_name_and_sibling_keys_in_either_order(order: int) -> None:
    """A new section name is applied before the other overrides, so keys set beside it are kept
    whatever their order (before, ``data.n=64`` written first was silently dropped)."""
    sets = ["data.n=64", "data.name=random_images", "generator.name=dcgan", "generator.resolution=32"][::order]
    assert apply_overrides({"data": {"name": "ring", "std": 0.1}, "generator": {"name": "mlp", "hidden": 8}}, sets) \
        == {"data": {"name": "random_images", "n": 64}, "generator": {"name": "dcgan", "resolution": 32}}
    forward = resolve(cfg={}, overrides=["data.n=64", "data.name=random_images"])
    assert forward == resolve(cfg={}, overrides=["data.name=random_images", "data.n=64"])
    assert forward["data"] == {"name": "random_images", "n": 64, "resolution": 64, "channels": 3}
