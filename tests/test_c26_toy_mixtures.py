"""C26 (mode collapse) metrics on the 2-D mixtures: known sample sets give known answers."""

from __future__ import annotations

import math

import pytest
import torch

from gans.data import build_dataset, to_model_input
from gans.data.toy import grid_centers, mode_statistics, ring_centers


def test_mixture_geometry() -> None:
    ring = ring_centers(8, 2.0)
    assert torch.allclose(ring.norm(dim=1), torch.full((8,), 2.0, dtype=torch.float64))
    # neighbouring centres are 2 r sin(pi/8) apart
    assert torch.isclose((ring[1] - ring[0]).norm(), torch.tensor(4 * math.sin(math.pi / 8), dtype=torch.float64))
    grid = grid_centers(5, 2.0)
    assert grid.shape == (25, 2) and set(grid[:, 0].tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}


@pytest.mark.parametrize("name, k", [("ring", 8), ("grid", 25)])
def test_c26_samples_from_the_target_cover_every_mode(name: str, k: int) -> None:
    """Samples of the mixture itself: every mode covered; the high-quality share (within 3σ of
    its centre in 2-D) is P(chi²_2 <= 9) = 1 - exp(-4.5) ~ 0.9889, checked within 4 binomial SE
    (mode overlap is negligible: centres are > 15σ apart)."""
    ds = build_dataset({"name": name, "n": 20000}, seed=1)
    assert ds.info["name"] and "synthetic" in ds.info["description"]
    stats = mode_statistics(ds.tensor, ds.centers, ds.std)
    p = 1 - math.exp(-4.5)
    se = math.sqrt(p * (1 - p) / len(ds))
    assert stats["modes_covered"] == k and stats["n_modes"] == k
    assert abs(stats["high_quality"] - p) <= 4 * se


def test_c26_collapsed_generator_covers_few_modes() -> None:
    """All mass on 3 of the 8 ring modes: 3 covered, all samples high quality."""
    centers = ring_centers(8, 2.0)
    gen = torch.Generator().manual_seed(0)
    x = centers[torch.tensor([0, 3, 5]).repeat(400)] + 0.02 * torch.randn(1200, 2, generator=gen, dtype=torch.float64)
    x = x[(x - centers[torch.tensor([0, 3, 5]).repeat(400)]).norm(dim=1) <= 0.06]  # keep within 3σ
    stats = mode_statistics(x, centers, 0.02)
    assert stats == {"modes_covered": 3.0, "high_quality": 1.0, "n_modes": 8.0}


def test_c26_spread_out_samples_are_low_quality_and_small_clusters_do_not_count() -> None:
    centers = ring_centers(8, 2.0)
    far = torch.zeros(100, 2, dtype=torch.float64)  # the origin is 2 = 100σ from every mode
    assert mode_statistics(far, centers, 0.02) == {"modes_covered": 0.0, "high_quality": 0.0, "n_modes": 8.0}
    # 1000 samples on mode 0 and 5 on mode 1: fair share is 1005/8, 10 % of it is 12.6 > 5
    x = torch.cat([centers[0].repeat(1000, 1), centers[1].repeat(5, 1)])
    assert mode_statistics(x, centers, 0.02)["modes_covered"] == 1.0
    assert mode_statistics(x, centers, 0.02, min_share=0.01)["modes_covered"] == 2.0


def test_mode_statistics_rejects_bad_input() -> None:
    c = ring_centers()
    with pytest.raises(ValueError, match="samples must be"):
        mode_statistics(torch.zeros(4, 3), c, 0.1)
    with pytest.raises(ValueError, match="NaN"):
        mode_statistics(torch.full((4, 2), float("nan")), c, 0.1)
    with pytest.raises(ValueError, match="std > 0"):
        mode_statistics(torch.zeros(4, 2), c, 0.0)


def test_data_registry_and_model_input() -> None:
    with pytest.raises(ValueError, match="data.name"):
        build_dataset({"name": "mnist"}, seed=0)
    a = build_dataset({"name": "ring", "n": 10}, seed=0).tensor
    assert torch.equal(a, build_dataset({"name": "ring", "n": 10}, seed=0).tensor)
    img = torch.tensor([[[0, 255, 128]]], dtype=torch.uint8)
    # float32 x/127.5 - 1: two roundings of values of magnitude <= 2, error <= 2 eps32
    torch.testing.assert_close(to_model_input(img), torch.tensor([[[-1.0, 1.0, 128 / 127.5 - 1]]]),
                               rtol=0, atol=2 * torch.finfo(torch.float32).eps)
    with pytest.raises(ValueError, match="dtype"):
        to_model_input(torch.tensor([1, 2]))


def test_toy_evaluate_uses_the_training_latent_law(monkeypatch: pytest.MonkeyPatch) -> None:
    """The trainer passes its latent section to the eval hook: uniform latents are scored as
    uniform (an identity generator makes the law visible in the samples)."""
    import torch

    import gans.data.toy as toy

    class Identity(torch.nn.Module):
        latent_dim = 2

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return z

    class Mixture:
        centers, std = torch.zeros(1, 2), 1.0

    seen: dict[str, torch.Tensor] = {}
    monkeypatch.setattr(toy, "mode_statistics", lambda x, centers, std: seen.update(x=x) or {})
    toy.evaluate(Identity(), Mixture(), {"n": 4000, "latent": {"distribution": "uniform"}}, torch.device("cpu"), 0)
    assert seen["x"].abs().max() <= 1.0
    toy.evaluate(Identity(), Mixture(), {"n": 4000}, torch.device("cpu"), 0)
    assert seen["x"].abs().max() > 2.0  # normal: P(all 8000 |z| <= 2) = 0.954^8000, about 0
