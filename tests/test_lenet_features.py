"""The committed LeNet-5 feature network (gans.metrics.lenet) and its sanity figures (issue 13).

FID / KID here are computed by ``dv.fid`` / ``dv.kid`` on the 84 penultimate features.
"""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import divergences as dv
from gans.data.mnist import MNIST5k
from gans.metrics import build_feature_network, evaluate_generator
from gans.metrics import lenet


@pytest.fixture(scope="module")
def net() -> lenet.LeNet5:
    return lenet.load_lenet_mnist5k()


@pytest.fixture(scope="module")
def data() -> dict[str, MNIST5k]:
    return {"train": MNIST5k("train"), "heldout": MNIST5k("heldout")}


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """uint8 images blurred by a separable Gaussian of std ``sigma`` px (radius 3 sigma, zero
    padding: the digits' border is zero), rounded back to uint8."""
    r = int(np.ceil(3 * sigma))
    k = torch.exp(-torch.arange(-r, r + 1, dtype=torch.float64) ** 2 / (2 * sigma ** 2))
    k = (k / k.sum()).float()
    y = F.conv2d(F.pad(x.float(), (r, r, 0, 0)), k.view(1, 1, 1, -1))
    y = F.conv2d(F.pad(y, (0, 0, r, r)), k.view(1, 1, -1, 1))
    return y.round().clamp(0, 255).to(torch.uint8)


@pytest.fixture(scope="module")
def feats(net, data) -> dict[str, np.ndarray]:
    noise = torch.randint(0, 256, (1000, 1, 32, 32), generator=torch.Generator().manual_seed(0),
                          dtype=torch.uint8)
    out = {}
    with torch.no_grad():
        for key, x in (("train", data["train"].tensor), ("heldout", data["heldout"].tensor),
                       ("noise", noise), ("blur", _blur(data["heldout"].tensor, 1.0))):
            f, lg = net(x)
            out[key], out[key + "_logits"] = f.double().numpy(), lg.double().numpy()
    return out


def test_committed_weights_load_and_reach_their_accuracy(net, data, feats):
    path = lenet.WEIGHTS_PATH
    assert path.is_file() and path.stat().st_size < 500_000
    assert net.meta["seed"] == 0 and net.meta["n_heldout"] == 1000
    assert sum(p.numel() for p in net.parameters()) == net.meta["n_params"] == 61706
    pred = feats["heldout_logits"].argmax(1)
    acc = float((pred == data["heldout"].labels.numpy()).mean())
    assert acc >= 0.95
    # a different BLAS may flip the arg-max of one borderline digit, no more: 1/1000
    assert abs(acc - net.meta["heldout_acc"]) <= 1 / 1000 + 1e-12
    assert net.name == f"lenet-mnist5k (trained here, seed 0, held-out acc {100 * net.meta['heldout_acc']:.1f} %)"


def test_feature_network_by_name(net, data):
    got = build_feature_network({"feature_network": "lenet-mnist5k"}, "cpu")
    assert re.fullmatch(r"lenet-mnist5k \(trained here, seed 0, held-out acc 9\d\.\d %\)", got.name)
    assert got.name == net.name and got.has_logits and got.feature_dim == 84
    x1 = data["heldout"].tensor[:8]
    with torch.no_grad():
        f1, l1 = got(x1)
        f3, l3 = got(x1.expand(-1, 3, -1, -1))  # what the evaluator feeds: gray replicated to RGB
    assert tuple(f1.shape) == (8, 84) and tuple(l1.shape) == (8, 10)
    assert torch.equal(f1, f3) and torch.equal(l1, l3)  # the mean of 3 equal integers is exact
    assert torch.equal(f1, got.features(x1)) and torch.equal(l1, got.logits(x1))
    with pytest.raises(ValueError, match="feature_network"):
        build_feature_network({"feature_network": "lenet"}, "cpu")
    with pytest.raises(ValueError, match="lenet_weights"):
        build_feature_network({"feature_network": "lenet-mnist5k", "lenet_weights": "/nonexistent/l.pt"}, "cpu")


class _Replay(nn.Module):
    """A 'generator' replaying given uint8 images as model output in [-1, 1], in order."""

    latent_dim = 4

    def __init__(self, images: torch.Tensor) -> None:
        super().__init__()
        self.images, self.pos = images, 0

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.images[self.pos:self.pos + len(z)]
        self.pos += len(z)
        return x.float() / 127.5 - 1.0


def test_evaluate_generator_reports_lenet_fid_kid_is(data):
    held = data["heldout"]
    pick = torch.randperm(len(held), generator=torch.Generator().manual_seed(0))[:200]  # file is sorted by label
    r = evaluate_generator(_Replay(held.tensor[pick]), held, {
        "n": 200, "batch_size": 100, "feature_network": "lenet-mnist5k", "kid_subsets": 5,
        "kid_subset_size": 100, "is_splits": 2}, "cpu", seed=0)
    assert r["feature_dim"] == 84 and r["feature_network"].startswith("lenet-mnist5k (trained here")
    # IS = exp(H(p(y)) - E_x H(p(y|x))) from the 10 digit logits lies in [1, 10]; for random
    # real digits p(y) is near uniform (H ~ log 10) and the 98 %-accurate net is confident
    # (E H(p(y|x)) small), so IS is near the top; an untrained net gives ~1
    assert 1.0 <= r["is_mean"] <= 10.0 and r["is_mean"] > 5.0
    assert np.isfinite(r["fid"]) and np.isfinite(r["kid_mean"])


def _same_distribution_fid(f: np.ndarray, n: int, m: int) -> float:
    """Expected FID of two independent samples of sizes n, m from one distribution with feature
    covariance Sigma (eigenvalues lambda), to second order (Gaussian features):

    E||mu_1 - mu_2||^2 = c tr(Sigma) exactly, c = 1/n + 1/m (here with 1/(n-1) + 1/(m-1)); the
    Bures term Tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2) ~ sum_ij D_ij^2 / (2 (l_i + l_j)) for
    D = S1 - S2 in Sigma's eigenbasis, with E D_ij^2 = c (l_i l_j + [i = j] l_i^2) (Wishart), so
    E FID ~ c (1.25 tr Sigma + sum_ij l_i l_j / (2 (l_i + l_j))).
    """
    lam = np.clip(np.linalg.eigvalsh(np.cov(f, rowvar=False)), 0.0, None)
    c = 1.0 / (n - 1) + 1.0 / (m - 1)
    s = lam[:, None] + lam[None, :]
    cross = np.divide(np.outer(lam, lam), s, out=np.zeros_like(s), where=s > 0).sum() / 2
    return float(c * (1.25 * lam.sum() + cross))


def test_fid_sanity_same_digits_vs_blur_vs_noise(feats):
    """FID(train digits, held-out digits) sits at the finite-sample floor; a 1 px Gaussian blur
    and uniform noise are far above it.

    Floor: 2 x the expected same-distribution FID (:func:`_same_distribution_fid`, about 2.1 for
    4 000 vs 1 000 digits here).  The same-distribution FID is a sum of many squared
    fluctuations that concentrates around its mean: 20 random 4 000 / 1 000 re-splits of the
    5 000 digits gave 1.92 +- 0.54, so twice the mean is > 3 standard deviations above it.
    Margins: the blurred copy (sigma = 1 px: accuracy drops to about 92 %) must exceed 10 x the
    floor and noise 50 x the floor: both are a real change of distribution, measured at
    about 31 x and 157 x, so the margins hold at 3 x headroom.
    """
    floor = 2 * _same_distribution_fid(np.concatenate([feats["train"], feats["heldout"]]), 4000, 1000)
    same = dv.fid(feats["train"], feats["heldout"])
    blur = dv.fid(feats["heldout"], feats["blur"])
    noise = dv.fid(feats["heldout"], feats["noise"])
    assert same <= floor
    assert blur >= 10 * floor
    assert noise >= 50 * floor
    assert same < blur < noise


def test_kid_of_a_sample_against_itself_is_zero(feats, data):
    """KID between two disjoint halves (500 / 500, 50 per class) of the held-out digits.

    Unbiased MMD^2 has mean 0 when both sides come from one distribution (here, a split of an
    exchangeable sample made without looking at the images).  ``kid_std`` is the spread of a
    single subset's estimate at subset size 250 <= 500; the mean over subsets has a standard
    error no larger (averaging never increases variance), so |mean| <= 3 std is a 3-sigma test.
    The blurred other half, a different distribution, must fail that test (the check has power).
    """
    held = feats["heldout"]
    labels = data["heldout"].labels.numpy()
    a = np.concatenate([np.flatnonzero(labels == c)[:50] for c in range(10)])
    b = np.setdiff1d(np.arange(len(held)), a)
    same = dv.kid(held[a], held[b], subsets=20, subset_size=250, seed=0)
    assert abs(same.mean) <= 3 * same.std
    shifted = dv.kid(held[a], feats["blur"][b], subsets=20, subset_size=250, seed=0)
    assert shifted.mean > 3 * shifted.std + 3 * same.std


def test_loader_refuses_tampered_or_mismatched_files(tmp_path):
    src = lenet.WEIGHTS_PATH
    bad = tmp_path / "lenet_mnist5k.pt"
    shutil.copy(src, bad)
    with pytest.raises(ValueError, match="no digest file"):
        lenet.load_lenet_mnist5k(bad)
    shutil.copy(src.with_name(src.name + ".sha256"), tmp_path / (bad.name + ".sha256"))
    assert lenet.load_lenet_mnist5k(bad).meta["seed"] == 0
    blob = bytearray(bad.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    bad.write_bytes(bytes(blob))
    with pytest.raises(ValueError, match=re.escape(str(bad)) + ".*SHA-256"):
        lenet.load_lenet_mnist5k(bad)
    # a well-formed file of the wrong architecture (digest consistent): shape check names the key
    other = lenet.LeNet5()
    other.fc3 = nn.Linear(84, 9)
    meta = {"seed": 0, "epochs": 1, "train_acc": 0.5, "heldout_acc": 0.5, "n_heldout": 1000, "n_params": 1}
    wrong = tmp_path / "wrong.pt"
    lenet.save_lenet(other, meta, wrong)
    with pytest.raises(ValueError, match="fc3"):
        lenet.load_lenet_mnist5k(wrong)
    with pytest.raises(ValueError, match="meta"):
        lenet.save_lenet(lenet.LeNet5(), {"seed": 0}, tmp_path / "x.pt")
