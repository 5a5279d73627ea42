"""Training-dynamics claims C25 (saturating generator loss) and C27 (min-max != max-min).

C25: for the saturating loss ``E log(1 - sigmoid(D(G(z))))`` the gradient with respect to a
generated sample is ``-sigmoid(D) grad D``; for the non-saturating ``-E log sigmoid(D(G(z)))``
it is ``-(1 - sigmoid(D)) grad D``.  Their ratio is ``sigmoid(D)/(1 - sigmoid(D)) = e^D``,
which vanishes as the critic becomes confident (``D(G(z)) -> -inf``).

C27: with pure strategies the order of min and max matters; ``max min <= min max`` always,
and von Neumann's theorem restores equality for mixed strategies (a convexification).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from gans import dirac, losses

F64 = torch.float64


class ShiftedCritic(nn.Module):
    """An MLP critic minus a constant: the shift makes it as confident as we like on every sample."""

    def __init__(self, shift: float) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1)).double()
        self.shift = shift

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x) - self.shift


def _sample_grads(loss_name: str, D: nn.Module, fake: torch.Tensor) -> torch.Tensor:
    y = fake.clone().requires_grad_(True)
    g_loss, _ = losses.build({"name": loss_name}).g_loss(D, torch.zeros_like(y), y)
    (g,) = torch.autograd.grad(g_loss, y)
    return g


@pytest.mark.parametrize("shift", [0.0, 5.0, 12.0, 30.0])
def test_c25_saturating_gradient_vanishes_when_the_critic_is_confident(shift: float,
                                                                      rng: np.random.Generator) -> None:
    D = ShiftedCritic(shift)
    fake = torch.tensor(rng.normal(size=(8, 2)), dtype=F64)
    g_sat = _sample_grads("gan", D, fake).norm(dim=1)
    g_ns = _sample_grads("nsgan", D, fake).norm(dim=1)
    with torch.no_grad():
        d = D(fake)[:, 0]
    # exact per-sample ratio e^D (C25)
    np.testing.assert_allclose((g_sat / g_ns).numpy(), torch.exp(d).numpy(), rtol=1e-9)
    xg = fake.clone().requires_grad_(True)
    (grad_d,) = torch.autograd.grad(D(xg).sum(), xg)
    grad_d = grad_d.norm(dim=1) / fake.shape[0]
    # non-saturating: at least (1 - sigmoid(D)) of the critic's slope survives; saturating: at most sigmoid(D)
    sig = torch.sigmoid(d)
    assert torch.all(g_ns >= (1 - sig) * grad_d * (1 - 1e-12))
    assert torch.all(g_sat <= sig * grad_d * (1 + 1e-12))
    if shift >= 30.0:  # sigmoid(D) < e^-28: the saturating generator gets (numerically) nothing
        assert g_sat.max().item() < 1e-12 * g_ns.min().item()
        assert g_ns.min().item() > 0.99 * grad_d.min().item()


def test_c25_diracgan_saturating_generator_stalls_when_the_critic_is_confident() -> None:
    # DiracGAN in Mescheder et al.'s coordinates (critic large on fake) at psi theta = +20 (critic sure the fake
    # sample is fake): the generator's component -psi f'(psi theta) = -psi sigmoid(-psi theta) is ~1e-9 psi for
    # the GAN, but -psi f'(-psi theta) = -psi sigmoid(psi theta) ~ -psi for the NSGAN.
    x = torch.tensor([2.0, 10.0], dtype=F64)
    v_sat = dirac.DiracSystem(dirac.method("gan")).field(x)[0].item()
    v_ns = dirac.DiracSystem(dirac.method("nsgan")).field(x)[0].item()
    assert v_sat == pytest.approx(-10.0 / (1 + math.exp(20.0)), rel=1e-12)
    assert v_ns == pytest.approx(-10.0 / (1 + math.exp(-20.0)), rel=1e-12)
    assert abs(v_sat) < 1e-7 * abs(v_ns)


def _wgan_value(theta: float, psi: float) -> float:
    """Critic payoff E_P D(x) - E_Q D(y) of DiracGAN (P = delta_0, Q = delta_theta, D(x) = psi x), via the loss.

    The modules are used directly, so ``psi`` is the project's critic parameter (critic large on real data),
    not the paper's coordinate of :mod:`gans.dirac`'s public functions.
    """
    G, D = dirac.DiracGenerator(theta), dirac.DiracCritic(psi)
    z = torch.zeros(2, 1, dtype=F64)
    d_loss, _ = losses.build({"name": "wgan", "clip": None}).d_loss(D, torch.zeros(2, 1, dtype=F64), G(z))
    return -d_loss.item()


def test_c27_minmax_differs_from_maxmin_for_pure_strategies() -> None:
    # generator theta in {-1, 1}, critic psi in {-1, 1}; payoff V = -psi theta (a matching-pennies game)
    strat = (-1.0, 1.0)
    V = np.array([[_wgan_value(t, p) for p in strat] for t in strat])  # rows: theta, columns: psi
    np.testing.assert_allclose(V, [[-1.0, 1.0], [1.0, -1.0]], atol=1e-15)
    min_max = V.max(axis=1).min()   # generator commits first, critic answers
    max_min = V.min(axis=0).max()   # critic commits first, generator answers
    assert min_max == 1.0 and max_min == -1.0
    # mixed strategies (probability p on theta = 1, q on psi = 1): the value is bilinear in (p, q) and
    # min_p max_q = max_q min_p = 0 at p = q = 1/2 (von Neumann); on a grid containing 1/2 this is exact
    grid = np.linspace(0.0, 1.0, 101)
    pay = np.array([[np.array([1 - p, p]) @ V @ np.array([1 - q, q]) for q in grid] for p in grid])
    assert pay.max(axis=1).min() == pytest.approx(0.0, abs=1e-12)
    assert pay.min(axis=0).max() == pytest.approx(0.0, abs=1e-12)
