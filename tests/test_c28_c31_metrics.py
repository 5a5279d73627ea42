"""FID / KID / IS of generators through ``gans.metrics.evaluate_generator`` (C28, C29, C30).

A generator with known output law and a feature network with known features give closed
forms: G(z) paints channel c of an 8x8 image with the constant ``s z_c + delta`` (z ~ N(0, I)),
and the feature network returns the three channel means, so the features are N(delta, s^2 I_3)
up to uint8 rounding (variance (1/127.5)^2 / 12, negligible).  For two independent samples of
sizes n and m from N(mu_1, s^2 I_d) and N(mu_2, s^2 I_d):

* E ||mu_hat_1 - mu_hat_2||^2 = ||mu_1 - mu_2||^2 + d s^2 (1/n + 1/m);
* the covariance term Tr(S1 + S2 - 2 (S1 S2)^1/2) ~ ||S1 - S2||_F^2 / (4 s^2) to first order,
  with E ||S1 - S2||_F^2 = s^4 (d^2 + d) (1/(n-1) + 1/(m-1)) (Wishart), i.e.
  s^2 (d^2 + d) (1/(n-1) + 1/(m-1)) / 4;

so E FID = ||delta||^2 + d s^2 (1/n + 1/m) + s^2 (d^2 + d)(1/(n-1) + 1/(m-1)) / 4 + O(n^-2).
KID is unbiased: its mean over seeds is 0 for the generator against itself.  Means over
independent seeds are compared with these values within 4 standard errors (CLT).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from gans.data.images import ArrayImageDataset
from gans.metrics import evaluate_generator
from gans.metrics.evaluate import sample_uint8

S, D_FEAT, RES = 0.3, 3, 8


class ConstantChannels(nn.Module):
    """G(z): channel c is the constant s z_c + delta over an 8x8 image (values stay in [-1, 1])."""

    def __init__(self, delta: float = 0.0) -> None:
        super().__init__()
        self.latent_dim = D_FEAT
        self.delta = delta

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        v = (S * z + self.delta).clamp(-1, 1)
        return v[:, :, None, None].expand(-1, -1, RES, RES)


class ChannelMeans(nn.Module):
    """Features = per-channel means in [-1, 1]; logits = 50 x one-hot of the sign pattern (8 classes)."""

    name = "channel-means (test)"

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = x.float().mean(dim=(2, 3)) / 127.5 - 1.0
        cls = ((f > 0).long() * torch.tensor([1, 2, 4])).sum(1)
        return f, 50.0 * nn.functional.one_hot(cls, 8).float()


def _dataset_of(G: nn.Module, n: int, seed: int) -> ArrayImageDataset:
    z = torch.randn(n, D_FEAT, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        x = sample_uint8(G, z)
    return ArrayImageDataset(x.numpy(), {"name": "test", "description": "samples of a test generator"})


def _runs(delta: float, n: int, m: int, seeds: range) -> list[dict]:
    G, net = ConstantChannels(delta), ChannelMeans()
    out = []
    for s in seeds:
        data = _dataset_of(ConstantChannels(0.0), m, 1000 + s)
        cfg = {"n": n, "batch_size": 500, "kid_subsets": 10, "kid_subset_size": 10_000, "is_splits": 10,
               "latent": {"dim": D_FEAT, "distribution": "normal"}}
        out.append(evaluate_generator(G, data, cfg, "cpu", seed=s, feature_net=net))
    return out


def _expected_fid(delta_sq: float, n: int, m: int) -> float:
    d, v = D_FEAT, S ** 2
    return delta_sq + d * v * (1 / n + 1 / m) + v * (d * d + d) * (1 / (n - 1) + 1 / (m - 1)) / 4


def _mean_se(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values)
    return float(a.mean()), float(a.std(ddof=1) / math.sqrt(len(a)))


def test_c28_c29_generator_against_itself_is_near_zero_within_sampling_bound() -> None:
    n, m = 600, 400
    res = _runs(0.0, n, m, range(12))
    fid_mean, fid_se = _mean_se([r["fid"] for r in res])
    assert abs(fid_mean - _expected_fid(0.0, n, m)) <= 4 * fid_se
    kid_mean, kid_se = _mean_se([r["kid_mean"] for r in res])
    assert abs(kid_mean) <= 4 * kid_se  # unbiased MMD^2 of equal laws has mean 0
    # sample counts are recorded, and the KID subset size is capped by the smaller sample
    assert all(r["n_fake"] == n and r["n_real"] == m and r["kid_subset_size"] == m for r in res)
    assert res[0]["feature_network"] == "channel-means (test)" and res[0]["feature_dim"] == D_FEAT


def test_c28_c29_shifted_generator_is_clearly_positive() -> None:
    n, m, delta = 600, 400, 0.2
    res = _runs(delta, n, m, range(12))
    fid_mean, fid_se = _mean_se([r["fid"] for r in res])
    expected = _expected_fid(D_FEAT * delta ** 2, n, m)
    assert abs(fid_mean - expected) <= 4 * fid_se
    assert fid_mean - 4 * fid_se > 0.5 * D_FEAT * delta ** 2
    kid_mean, kid_se = _mean_se([r["kid_mean"] for r in res])
    assert kid_mean - 4 * kid_se > 0


def test_c30_inception_score_of_balanced_confident_classifier() -> None:
    """Eight equally likely sign patterns, one-hot predictions: IS = exp(H(p_y)) per split, whose
    expectation with m samples per split is about 8 exp(-(K - 1) / (2 m)) (Miller-Madow)."""
    n = 2000
    res = _runs(0.0, n, 50, range(3))
    splits = 10
    per_split = n // splits
    expected = 8 * math.exp(-(8 - 1) / (2 * per_split))
    for r in res:
        se = r["is_std"] / math.sqrt(splits)
        assert abs(r["is_mean"] - expected) <= 4 * se + 1e-9


def test_fallback_network_reports_no_inception_score() -> None:
    G = ConstantChannels(0.0)
    data = _dataset_of(G, 40, 0)
    r = evaluate_generator(G, data, {"n": 40, "batch_size": 20, "feature_network": "fallback",
                                     "kid_subsets": 5, "kid_subset_size": 20}, "cpu", seed=0)
    assert "is_mean" not in r and "not Inception" in r["feature_network"] and r["feature_dim"] == 960
    assert r["n_real"] == 40 and r["n_fake"] == 40 and r["kid_subset_size"] == 20
