"""The FID Inception-v3: architecture shapes, weight-file round trip, clear loading errors (C28-C30).

No real weight file is available offline: the tests generate a state dict with the standard
key names (random values), save it, and load it back through the loader.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gans.metrics import build_feature_network
from gans.metrics.fallback import RandomConvFeatures
from gans.metrics.inception import WEIGHTS_FILE, FIDInceptionV3, load_fid_inception

# shapes fixed by the architecture of the 2015-12-05 graph (pytorch-fid key names)
KNOWN_SHAPES = {
    "Conv2d_1a_3x3.conv.weight": (32, 3, 3, 3),
    "Conv2d_4a_3x3.bn.running_var": (192,),
    "Mixed_5b.branch_pool.conv.weight": (32, 192, 1, 1),
    "Mixed_5d.branch5x5_2.conv.weight": (64, 48, 5, 5),
    "Mixed_6a.branch3x3.conv.weight": (384, 288, 3, 3),
    "Mixed_6b.branch7x7_2.conv.weight": (128, 128, 1, 7),
    "Mixed_6e.branch7x7dbl_5.conv.weight": (192, 192, 1, 7),
    "Mixed_7a.branch3x3_2.conv.weight": (320, 192, 3, 3),
    "Mixed_7b.branch3x3dbl_1.conv.weight": (448, 1280, 1, 1),
    "Mixed_7c.branch_pool.conv.weight": (192, 2048, 1, 1),
    "fc.weight": (1008, 2048),
    "fc.bias": (1008,),
}


def _standard_state(seed: int) -> dict[str, torch.Tensor]:
    """A state dict with the standard names and random values (BN statistics made positive)."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for k, v in FIDInceptionV3().state_dict().items():
        if k.endswith("num_batches_tracked"):
            continue  # the standard file has none
        if k.endswith("running_var"):
            out[k] = torch.rand(v.shape, generator=g) + 0.5
        else:
            out[k] = torch.randn(v.shape, generator=g) * 0.05
    return out


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, torch.Tensor]]:
    state = _standard_state(7)
    path = tmp_path_factory.mktemp("weights") / WEIGHTS_FILE
    torch.save(state, path)
    return path, state


def test_c28_inception_architecture_shapes_and_key_names() -> None:
    net = FIDInceptionV3()
    sd = net.state_dict()
    for k, shape in KNOWN_SHAPES.items():
        assert tuple(sd[k].shape) == shape, k
    x = torch.randint(0, 256, (1, 3, 32, 32), dtype=torch.uint8)
    with torch.no_grad():
        pool3, logits = net(x)
    assert pool3.shape == (1, 2048) and logits.shape == (1, 1008)
    assert torch.allclose(logits, net.fc(pool3))


def test_inception_resize_policy_is_bilinear_299_in_minus1_1() -> None:
    net = FIDInceptionV3()
    x = torch.tensor([0, 255], dtype=torch.uint8).repeat_interleave(3 * 16 * 16).reshape(2, 3, 16, 16)
    y = net.preprocess(x)
    assert y.shape == (2, 3, 299, 299)
    assert torch.allclose(y[0], torch.full_like(y[0], -1.0)) and torch.allclose(y[1], torch.ones_like(y[1]))
    ramp = torch.arange(8, dtype=torch.uint8).repeat(3, 8, 1)[None] * 30
    ref = torch.nn.functional.interpolate(ramp.float(), size=(299, 299), mode="bilinear",
                                          align_corners=False) / 127.5 - 1
    assert torch.allclose(net.preprocess(ramp), ref)
    with pytest.raises(ValueError, match="uint8"):
        net.preprocess(ramp.float())


def test_inception_weight_roundtrip(weights_file: tuple[Path, dict[str, torch.Tensor]],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path, state = weights_file
    loaded = load_fid_inception(path)
    for k, v in state.items():
        assert torch.equal(loaded.state_dict()[k], v), k
    assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
    monkeypatch.setenv("GANDIV_INCEPTION", str(path))
    via_env = build_feature_network({"feature_network": "auto"}, "cpu")
    assert isinstance(via_env, FIDInceptionV3)
    assert all(torch.equal(v, via_env.state_dict()[k]) for k, v in state.items())


def test_inception_wrong_keys_and_shapes_give_clear_errors(tmp_path: Path,
                                                           weights_file: tuple[Path, dict[str, torch.Tensor]]) -> None:
    _, state = weights_file
    renamed = dict(state)
    renamed["Mixed_5b.branch1x1.conv.weights"] = renamed.pop("Mixed_5b.branch1x1.conv.weight")
    p1 = tmp_path / "renamed.pth"
    torch.save(renamed, p1)
    with pytest.raises(ValueError, match=r"1 missing keys.*Mixed_5b\.branch1x1\.conv\.weight.*1 unexpected"):
        load_fid_inception(p1)
    reshaped = dict(state)
    reshaped["fc.weight"] = torch.zeros(1000, 2048)
    p2 = tmp_path / "reshaped.pth"
    torch.save(reshaped, p2)
    with pytest.raises(ValueError, match=r"fc\.weight: expected \(1008, 2048\), got \(1000, 2048\)"):
        load_fid_inception(p2)
    p3 = tmp_path / "list.pth"
    torch.save([1, 2], p3)
    with pytest.raises(ValueError, match="state dict"):
        load_fid_inception(p3)
    p4 = tmp_path / "corrupt.pth"
    p4.write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match="not a readable"):
        load_fid_inception(p4)
    with pytest.raises(ValueError, match=WEIGHTS_FILE):
        load_fid_inception(tmp_path / "absent.pth")


def test_inception_required_but_not_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GANDIV_INCEPTION", raising=False)
    with pytest.raises(ValueError, match="GANDIV_INCEPTION"):
        build_feature_network({"feature_network": "inception"}, "cpu")
    net = build_feature_network({"feature_network": "auto"}, "cpu")
    assert isinstance(net, RandomConvFeatures) and "not Inception" in net.name


def test_fallback_features_are_seeded_and_named() -> None:
    a, b, c = RandomConvFeatures(0), RandomConvFeatures(0), RandomConvFeatures(1)
    x = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    fa, la = a(x)
    assert fa.shape == (4, a.feature_dim) and a.feature_dim == 960 and la is None
    assert torch.equal(fa, b(x)[0]) and not torch.equal(fa, c(x)[0])
    assert a.has_logits is False and "seed 0" in a.name
