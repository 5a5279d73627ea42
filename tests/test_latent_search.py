"""C35: the latent search of experiments.latent_search (codes in the prior's typical set, matching)."""

from __future__ import annotations

import math

import pytest
import torch

import divergences as dv
from experiments.latent_search import assign, code_of, invert_targets, latent_search

DIM = 8


def _tiny_generator() -> torch.nn.Module:
    """tanh(A z + b) as 3x4x4 images, weights from an explicit seed; the steep tanh (entries of A ~ N(0, 1),
    so A z has sd ~ 1.6 for z ~ U[-1, 1]^8) makes clipped codes run onto the faces of the box."""
    g = torch.Generator().manual_seed(0)
    lin = torch.nn.Linear(DIM, 3 * 4 * 4)
    with torch.no_grad():
        lin.weight.copy_(torch.randn(3 * 4 * 4, DIM, generator=g))
        lin.bias.copy_(0.1 * torch.randn(3 * 4 * 4, generator=g))
    return torch.nn.Sequential(lin, torch.nn.Tanh(), torch.nn.Unflatten(1, (3, 4, 4))).eval().requires_grad_(False)


def _targets(G: torch.nn.Module) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        return G(torch.rand(6, DIM, generator=g) * 2 - 1)


def test_code_of_is_the_probability_integral_transform() -> None:
    # erf(w / sqrt 2) = 2 Phi(w) - 1; Phi(1.6448536269514722) = 0.95 -> 0.9, Phi(0) = 1/2 -> 0
    w = torch.tensor([0.0, 1.6448536269514722, -1.6448536269514722], dtype=torch.float64)
    assert torch.allclose(code_of(w, "uniform"), torch.tensor([0.0, 0.9, -0.9], dtype=torch.float64),
                          rtol=0, atol=1e-15)
    assert torch.equal(code_of(w, "normal"), w)


def test_search_keeps_codes_in_the_typical_set_and_lowers_mmd() -> None:
    G = _tiny_generator()
    y = _targets(G)
    res = latent_search(G, y, 6, DIM, "uniform", steps=60, lr=0.2, seed=0, restarts=2)
    w, z = res["w"], res["z"]
    # on the Gaussian shell ||w|| = sqrt(d) (float32 rescaling: relative error ~ 1e-7)
    assert torch.allclose(w.norm(dim=1), torch.full((6,), math.sqrt(DIM)), rtol=1e-5, atol=0)
    assert torch.equal(z, code_of(w, "uniform"))
    assert bool((z.abs() < 1).all())                       # strictly inside the support, never on a face
    final = float(dv.mmd2(y.reshape(6, -1), G(z).reshape(6, -1), "gaussian", estimator="biased",
                          bandwidth=res["bandwidth"]))
    assert final == pytest.approx(res["final"], rel=1e-6)
    assert res["final"] == min(c[-1] for c in res["curves"])
    assert res["final"] < res["baseline_mean"] - 2 * res["baseline_std"]


def test_inversion_stays_on_the_shell() -> None:
    G = _tiny_generator()
    y = _targets(G)
    z = invert_targets(G, y, DIM, "normal", steps=30, lr=0.1, seed=0)
    assert torch.allclose(z.norm(dim=1), torch.full((6,), math.sqrt(DIM)), rtol=1e-5, atol=0)


def test_assign_recovers_a_permutation() -> None:
    g = torch.Generator().manual_seed(3)
    t = torch.rand(7, 3, 4, 4, generator=g, dtype=torch.float64) * 2 - 1
    perm = torch.tensor([3, 0, 6, 1, 5, 2, 4])
    order, dist = assign(t, t[perm])
    assert torch.equal(t[perm][torch.as_tensor(order)], t)
    assert float(dist.max()) <= 1e-7                       # sqrt of a rounding error of a squared distance


@pytest.mark.parametrize("kwargs, name", [
    (dict(steps=0), "steps"), (dict(lr=-1.0), "lr"), (dict(dist="cauchy"), "dist"),
    (dict(restarts=0), "restarts"), (dict(seed=1.5), "seed"), (dict(m=0), "m"),
])
def test_bad_arguments_raise_value_error(kwargs: dict, name: str) -> None:
    G = _tiny_generator()
    args = dict(G=G, targets=_targets(G), m=6, dim=DIM, dist="uniform", steps=2, lr=0.1, seed=0, restarts=1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        latent_search(**args)


def test_nan_targets_raise_value_error() -> None:
    G = _tiny_generator()
    y = _targets(G)
    y[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="targets"):
        latent_search(G, y, 6, DIM, "uniform", 2, 0.1, 0)
