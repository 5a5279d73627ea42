"""Two-dimensional Gaussian mixtures for the mode-collapse experiment (claim C26).

* ``ring``: ``n_modes`` (default 8) equal-weight isotropic Gaussians with centres
  ``radius * (cos 2πk/K, sin 2πk/K)``, radius 2, std 0.02 (Metz et al. 2017, "Unrolled GANs").
* ``grid``: ``side**2`` (default 25) equal-weight Gaussians on the grid ``{-4,-2,0,2,4}²``
  (``spacing`` 2), std 0.05 (Srivastava et al. 2017, VEEGAN; Lin et al. 2018, PacGAN).

The dataset holds ``n`` samples drawn once from ``torch.Generator(seed)``; ``centers`` (K, 2)
and ``std`` are exposed for the mode metrics below.

Mode metrics (:func:`mode_statistics`, our convention, following VEEGAN/PacGAN): a sample is
*high quality* if its distance to the nearest centre is at most ``3 σ``; a mode is *covered*
if at least ``min_share`` (default 0.1) of its fair share ``n/K`` of the high-quality samples
falls on it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import torch
from torch.utils.data import Dataset

from .latent import sample_latent

__all__ = ["ToyMixture", "ring_centers", "grid_centers", "build", "mode_statistics", "evaluate", "EVAL_DEFAULTS",
           "EVAL_SETTINGS", "ToyEvalSettings"]

@dataclasses.dataclass(frozen=True)
class ToyEvalSettings:
    """The ``eval`` keys :func:`evaluate` reads, with their defaults (checked at config load time
    by :func:`gans.config.validate`, which accepts these fields plus ``every``, ``function``, ``data``)."""

    n: int = 2000                          # generated points
    latent: dict[str, Any] | None = None   # {dim, distribution}; default: the run's latent section


# the settings of this module's evaluator, found by gans.config
EVAL_SETTINGS = ToyEvalSettings
# the same defaults as a dict (derived, not restated)
EVAL_DEFAULTS: dict[str, Any] = dataclasses.asdict(ToyEvalSettings())


def ring_centers(n_modes: int = 8, radius: float = 2.0) -> torch.Tensor:
    """Centres ``radius (cos 2πk/K, sin 2πk/K)``, k = 0..K-1, shape (K, 2), float64."""
    if n_modes < 1 or radius <= 0:
        raise ValueError(f"n_modes must be >= 1 and radius > 0, got {n_modes}, {radius}")
    a = 2 * math.pi * torch.arange(n_modes, dtype=torch.float64) / n_modes
    return radius * torch.stack([a.cos(), a.sin()], dim=1)


def grid_centers(side: int = 5, spacing: float = 2.0) -> torch.Tensor:
    """Centres of a ``side x side`` grid with the given spacing, centred at 0, shape (side², 2)."""
    if side < 1 or spacing <= 0:
        raise ValueError(f"side must be >= 1 and spacing > 0, got {side}, {spacing}")
    t = (torch.arange(side, dtype=torch.float64) - (side - 1) / 2) * spacing
    gx, gy = torch.meshgrid(t, t, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)


class ToyMixture(Dataset):
    """Equal-weight isotropic Gaussian mixture, ``n`` samples fixed by ``seed``.

    Items are float32 tensors of shape (2,).  ``tensor`` holds all samples (fast batching).
    """

    def __init__(self, centers: torch.Tensor, std: float, n: int, seed: int, name: str, description: str) -> None:
        if std <= 0:
            raise ValueError(f"std must be > 0, got {std}")
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        gen = torch.Generator().manual_seed(int(seed))
        k = torch.randint(len(centers), (n,), generator=gen)
        x = centers[k] + std * torch.randn(n, centers.shape[1], generator=gen, dtype=torch.float64)
        self.centers = centers.float()
        self.std = float(std)
        self.tensor = x.float()
        self.info = {"name": name, "description": description, "kind": "toy", "data_dim": int(centers.shape[1])}

    def __len__(self) -> int:
        return self.tensor.shape[0]

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.tensor[i]

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Fresh samples from the mixture (not the stored ones), float32 (n, 2)."""
        k = torch.randint(len(self.centers), (n,), generator=generator)
        return self.centers[k] + self.std * torch.randn(n, self.centers.shape[1], generator=generator)


def build(cfg: Mapping[str, Any], seed: int) -> ToyMixture:
    """``cfg["name"]`` in {ring, grid}; keys ``n``, ``std``, ``n_modes``/``radius`` (ring),
    ``side``/``spacing`` (grid), with the defaults declared in :data:`gans.data.DATASETS`
    (``cfg`` is completed and checked by :func:`gans.data.data_options`)."""
    from . import data_options  # the registry imports this module first

    cfg = data_options(cfg)
    name, n, std = cfg["name"], cfg["n"], float(cfg["std"])
    if name == "ring":
        k, r = cfg["n_modes"], float(cfg["radius"])
        return ToyMixture(ring_centers(k, r), std, n, seed, f"ring of {k} Gaussians",
                          f"{k} equal-weight 2-D Gaussians on a circle of radius {r}, std {std} (synthetic)")
    if name == "grid":
        s, d = cfg["side"], float(cfg["spacing"])
        return ToyMixture(grid_centers(s, d), std, n, seed, f"grid of {s * s} Gaussians",
                          f"{s}x{s} equal-weight 2-D Gaussians on a grid with spacing {d}, std {std} (synthetic)")
    raise ValueError(f"toy data name must be 'ring' or 'grid', got {name!r}")


def mode_statistics(samples: torch.Tensor, centers: torch.Tensor, std: float, *, radius_std: float = 3.0,
                    min_share: float = 0.1) -> dict[str, float]:
    """Mode coverage of ``samples`` (n, d) for a mixture with ``centers`` (K, d) and ``std``.

    Returns ``modes_covered`` (count of modes that receive at least
    ``min_share * n_hq / K`` high-quality samples, where ``n_hq`` is the number of high-quality
    samples; 0 if there are none), ``high_quality`` (share of samples within
    ``radius_std * std`` of their nearest centre) and ``n_modes`` = K.
    """
    samples = torch.as_tensor(samples, dtype=torch.float64)
    centers = torch.as_tensor(centers, dtype=torch.float64)
    if samples.ndim != 2 or samples.shape[0] == 0 or samples.shape[1] != centers.shape[1]:
        raise ValueError(f"samples must be (n, {centers.shape[1]}) with n >= 1, got {tuple(samples.shape)}")
    if not torch.isfinite(samples).all():
        raise ValueError("samples contain NaN or Inf")
    if std <= 0 or radius_std <= 0 or not 0 < min_share <= 1:
        raise ValueError(f"need std > 0, radius_std > 0, 0 < min_share <= 1; got {std}, {radius_std}, {min_share}")
    dist = torch.cdist(samples, centers)
    dmin, idx = dist.min(dim=1)
    hq = dmin <= radius_std * std
    k = centers.shape[0]
    counts = torch.bincount(idx[hq], minlength=k)
    n_hq = int(hq.sum())
    covered = int((counts >= max(min_share * n_hq / k, 1)).sum()) if n_hq > 0 else 0
    return {"modes_covered": int(covered), "high_quality": float(hq.double().mean()), "n_modes": int(k)}


@torch.no_grad()
def evaluate(generator: torch.nn.Module, dataset: ToyMixture, eval_cfg: Mapping[str, Any], device: torch.device,
             seed: int) -> dict[str, float]:
    """Trainer evaluation hook for toy data: :func:`mode_statistics` on ``eval_cfg["n"]`` samples.

    Same signature as ``gans.metrics.evaluate_generator``; select it with
    ``eval.function: gans.data.toy:evaluate``.
    """
    n = int(eval_cfg.get("n", EVAL_DEFAULTS["n"]))
    gen = torch.Generator().manual_seed(int(seed))
    law = str((eval_cfg.get("latent") or {}).get("distribution", "normal"))
    if law not in ("normal", "uniform"):
        raise ValueError(f"eval.latent.distribution: expected 'normal' or 'uniform', got {law!r}")
    z = sample_latent(n, generator.latent_dim, law, gen).to(device)
    was = generator.training
    generator.eval()
    x = generator(z).float().cpu()
    generator.train(was)
    if not torch.isfinite(x).all():
        return {"modes_covered": 0.0, "high_quality": 0.0, "n_modes": float(len(dataset.centers))}
    return mode_statistics(x, dataset.centers, dataset.std)
