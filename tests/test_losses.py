"""GAN losses and regularisers at known points (claims C03, C10, C15, C16, C20, C22, C23, C34).

Oracles: closed forms on a discrete example (the samples' empirical distributions are exactly
P and Q), per-sample loops for the gradient penalties, and analytic gradients of linear
critics.  Everything runs in float64, so equalities hold to ~1e-12.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch
from torch import nn

import divergences as dv
from gans import losses

F64 = torch.float64

# Discrete example on the points {0, 1, 2, 3}: P = (1,2,3,4)/10 (real), Q = (4,3,2,1)/10 (fake).
P_COUNTS = np.array([1, 2, 3, 4])
Q_COUNTS = np.array([4, 3, 2, 1])
P = P_COUNTS / P_COUNTS.sum()
Q = Q_COUNTS / Q_COUNTS.sum()


def _samples(counts: np.ndarray) -> torch.Tensor:
    return torch.tensor(np.repeat(np.arange(len(counts)), counts), dtype=torch.float64).reshape(-1, 1)


REAL, FAKE = _samples(P_COUNTS), _samples(Q_COUNTS)


class Table(nn.Module):
    """A critic that looks its output up by the (integer) sample value: D(k) = values[k]."""

    def __init__(self, values: np.ndarray) -> None:
        super().__init__()
        self.values = nn.Parameter(torch.as_tensor(values, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.values[x[:, 0].long()].reshape(-1, 1)


def _jsd(p: np.ndarray, q: np.ndarray) -> float:
    m = (p + q) / 2
    return 0.5 * float(np.sum(p * np.log(p / m))) + 0.5 * float(np.sum(q * np.log(q / m)))


def _mlp() -> nn.Module:
    torch.manual_seed(3)
    return nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1)).double()


def _conv() -> nn.Module:
    torch.manual_seed(4)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Softplus(), nn.Conv2d(4, 2, 3, stride=2),
                         nn.Softplus(), nn.Flatten(), nn.Linear(2 * 3 * 3, 1)).double()


# --------------------------------------------------------------------------------------------- minimax family
def test_c03_minimax_loss_with_optimal_critic_is_2jsd_minus_log4() -> None:
    # sigmoid(D*) = p/(p+q)  <=>  D* = log(p/q)
    D = Table(np.log(P / Q))
    d_loss, logs = losses.build({"name": "gan"}).d_loss(D, REAL, FAKE)
    assert d_loss.item() == pytest.approx(-(2 * _jsd(P, Q) - math.log(4)), abs=1e-12)
    # and the optimal critic is optimal: a perturbed table has a larger critic loss
    D2 = Table(np.log(P / Q) + np.array([0.1, -0.2, 0.05, 0.0]))
    assert losses.build({"name": "gan"}).d_loss(D2, REAL, FAKE)[0].item() > d_loss.item()


@pytest.mark.parametrize("c", [-3.0, 0.0, 2.5])
def test_c34_generator_losses_at_a_constant_critic(c: float) -> None:
    D = Table(np.full(4, c))
    sp = math.log1p(math.exp(c))
    sig = 1 / (1 + math.exp(-c))
    assert losses.build({"name": "gan"}).g_loss(D, REAL, FAKE)[0].item() == pytest.approx(math.log(1 - sig), abs=1e-12)
    assert losses.build({"name": "gan"}).g_loss(D, REAL, FAKE)[0].item() == pytest.approx(-sp, abs=1e-12)
    assert losses.build({"name": "nsgan"}).g_loss(D, REAL, FAKE)[0].item() == pytest.approx(-math.log(sig), abs=1e-12)
    assert losses.build({"name": "lsgan"}).d_loss(D, REAL, FAKE)[0].item() == pytest.approx(
        0.5 * (c - 1) ** 2 + 0.5 * c ** 2, abs=1e-12)
    assert losses.build({"name": "lsgan"}).g_loss(D, REAL, FAKE)[0].item() == pytest.approx(0.5 * (c - 1) ** 2, abs=1e-12)
    assert losses.build({"name": "hinge"}).d_loss(D, REAL, FAKE)[0].item() == pytest.approx(
        max(0, 1 - c) + max(0, 1 + c), abs=1e-12)
    assert losses.build({"name": "hinge"}).g_loss(D, REAL, FAKE)[0].item() == pytest.approx(-c, abs=1e-12)


def test_c34_lsgan_optimal_critic_matches_the_paper() -> None:
    # Mao et al. 2017 eq. 4: D*(x) = (b p + a q) / (p + q); with a=-1, b=1 it is (p - q)/(p + q)
    loss = losses.build({"name": "lsgan", "a": -1.0, "b": 1.0, "c": 0.0})
    D = Table((P - Q) / (P + Q))
    d0 = loss.d_loss(D, REAL, FAKE)[0]
    (g,) = torch.autograd.grad(d0, D.values)
    assert torch.allclose(g, torch.zeros(4, dtype=F64), atol=1e-12)


# --------------------------------------------------------------------------------------------- IPM
def test_c13_wgan_loss_is_a_difference_of_means(rng: np.random.Generator) -> None:
    D = _mlp()
    real = torch.tensor(rng.normal(size=(32, 2)))
    fake = torch.tensor(rng.normal(1.0, 2.0, size=(48, 2)))
    loss = losses.build({"name": "wgan", "clip": 0.5})
    d, logs = loss.d_loss(D, real, fake)
    with torch.no_grad():
        diff = D(fake).mean() - D(real).mean()
    assert d.item() == pytest.approx(diff.item(), abs=1e-12)
    assert logs["w1_estimate"].item() == pytest.approx(-diff.item(), abs=1e-12)
    assert loss.g_loss(D, real, fake)[0].item() == pytest.approx(-D(fake).mean().item(), abs=1e-12)


def test_c15_weight_clipping_clamps_every_critic_parameter() -> None:
    D = _mlp()
    with torch.no_grad():
        D[0].weight.mul_(10.0)
    before = [p.detach().clone() for p in D.parameters()]
    loss = losses.build({"name": "wgan", "clip": 0.01})
    loss.after_d_step(D)
    for b, p in zip(before, D.parameters()):
        assert torch.equal(p, b.clamp(-0.01, 0.01))
    assert max(p.abs().max().item() for p in D.parameters()) == pytest.approx(0.01)
    # WGAN-GP does not clip
    D2 = _mlp()
    ref = [p.detach().clone() for p in D2.parameters()]
    losses.build({"name": "wgan_gp"}).after_d_step(D2)
    assert all(torch.equal(a, b) for a, b in zip(ref, D2.parameters()))


# --------------------------------------------------------------------------------------------- f-GAN
FDIVS = [("kl", {}), ("reverse_kl", {}), ("pearson", {}), ("neyman", {}), ("squared_hellinger", {}),
         ("jeffreys", {}), ("js", {}), ("gan", {}), ("alpha", {"alpha": 0.5}), ("alpha", {"alpha": 2.0}),
         ("alpha", {"alpha": -1.0})]


def _invert_activation(act, target: torch.Tensor) -> torch.Tensor:
    """V with act(V) = target by bisection (the activations are increasing)."""
    lo, hi = torch.full_like(target, -60.0), torch.full_like(target, 60.0)
    for _ in range(200):
        mid = (lo + hi) / 2
        below = act(mid) < target
        lo, hi = torch.where(below, mid, lo), torch.where(below, hi, mid)
    return (lo + hi) / 2


@pytest.mark.parametrize("name,params", FDIVS, ids=[n + str(p.get("alpha", "")) for n, p in FDIVS])
def test_c10_fgan_bound_at_the_optimal_critic_equals_the_divergence(name: str, params: dict) -> None:
    entry = dv.fdiv.get(name, **params)
    t_star = entry.f_prime(torch.tensor(P / Q))
    V = _invert_activation(entry.activation, t_star)
    assert torch.allclose(entry.activation(V), t_star, atol=1e-10), "activation cannot reach T*"
    D = Table(V.numpy())
    loss = losses.build({"name": "fgan", "divergence": name, "params": params})
    d, logs = loss.d_loss(D, REAL, FAKE)
    truth = float(np.sum(Q * entry.f(P / Q)))
    assert -d.item() == pytest.approx(truth, abs=1e-8)
    assert logs["fdiv_bound"].item() == pytest.approx(truth, abs=1e-8)
    # any other critic gives a lower bound (C10)
    D2 = Table(V.numpy() + np.array([0.3, -0.2, 0.1, -0.4]))
    assert -loss.d_loss(D2, REAL, FAKE)[0].item() < truth


def test_c11_fgan_gan_row_is_the_minimax_objective() -> None:
    D = Table(np.array([0.3, -1.0, 0.7, 2.0]))
    f = losses.build({"name": "fgan", "divergence": "gan"}).d_loss(D, REAL, FAKE)[0]
    g = losses.build({"name": "gan"}).d_loss(D, REAL, FAKE)[0]
    assert f.item() == pytest.approx(g.item(), abs=1e-12)


def test_fgan_generator_variants() -> None:
    entry = dv.fdiv.get("kl")
    D = Table(np.array([0.3, -1.0, 0.7, 2.0]))
    t = entry.activation(D(FAKE)[:, 0])
    ns = losses.build({"name": "fgan", "divergence": "kl"}).g_loss(D, REAL, FAKE)[0]
    mm = losses.build({"name": "fgan", "divergence": "kl", "generator": "minimax"}).g_loss(D, REAL, FAKE)[0]
    assert ns.item() == pytest.approx(-t.mean().item(), abs=1e-12)
    assert mm.item() == pytest.approx(-entry.conjugate(t).mean().item(), abs=1e-12)


# --------------------------------------------------------------------------------------------- penalties
def _loop_grads(D: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Per-sample input gradients, one sample at a time (the oracle)."""
    out = []
    for i in range(x.shape[0]):
        xi = x[i:i + 1].detach().clone().requires_grad_(True)
        (g,) = torch.autograd.grad(D(xi).sum(), xi)
        out.append(g.reshape(-1))
    return torch.stack(out)


@pytest.mark.parametrize("critic", ["mlp", "conv"])
def test_c34_r1_r2_penalties_per_sample_match_a_loop(critic: str, rng: np.random.Generator) -> None:
    D = _mlp() if critic == "mlp" else _conv()
    shape = (6, 2) if critic == "mlp" else (6, 1, 8, 8)
    real = torch.tensor(rng.normal(size=shape))
    fake = torch.tensor(rng.normal(size=shape))
    for name, x in (("r1", real), ("r2", fake)):
        pen = losses.build_penalty({"name": name, "gamma": 3.0})
        val, _ = pen(D, real, fake)
        truth = 3.0 / 2 * _loop_grads(D, x).pow(2).sum(1).mean()
        assert val.item() == pytest.approx(truth.item(), rel=1e-12)
        full = losses.build_penalty({"name": name, "gamma": 3.0, "half": False})(D, real, fake)[0]
        assert full.item() == pytest.approx(2 * truth.item(), rel=1e-12)


@pytest.mark.parametrize("critic", ["mlp", "conv"])
def test_c16_gradient_penalty_per_sample_matches_a_loop(critic: str, rng: np.random.Generator) -> None:
    D = _mlp() if critic == "mlp" else _conv()
    shape = (7, 2) if critic == "mlp" else (7, 1, 8, 8)
    real = torch.tensor(rng.normal(size=shape))
    fake = torch.tensor(rng.normal(size=shape))
    loss = losses.build({"name": "wgan_gp", "gamma": 10.0}, generator=torch.Generator().manual_seed(11))
    d, logs = loss.d_loss(D, real, fake)
    eps = torch.rand((7,) + (1,) * (len(shape) - 1), generator=torch.Generator().manual_seed(11), dtype=F64)
    x_hat = eps * real + (1 - eps) * fake
    norms = _loop_grads(D, x_hat).norm(dim=1)
    with torch.no_grad():
        base = D(fake).mean() - D(real).mean()
    assert d.item() == pytest.approx(base.item() + 10.0 * ((norms - 1) ** 2).mean().item(), rel=1e-12)
    assert logs["gp_grad_norm"].item() == pytest.approx(norms.mean().item(), rel=1e-12)


def test_c34_dragan_penalty_matches_a_loop(rng: np.random.Generator) -> None:
    D = _conv()
    real = torch.tensor(rng.normal(size=(5, 1, 8, 8)))
    fake = torch.tensor(rng.normal(size=(5, 1, 8, 8)))
    pen = losses.build_penalty({"name": "dragan", "gamma": 10.0, "scale": 0.5},
                               generator=torch.Generator().manual_seed(5))
    val, _ = pen(D, real, fake)
    u = torch.rand(real.shape, generator=torch.Generator().manual_seed(5), dtype=F64)
    x_p = real + 0.5 * real.std() * u
    norms = _loop_grads(D, x_p).norm(dim=1)
    assert val.item() == pytest.approx(10.0 * ((norms - 1) ** 2).mean().item(), rel=1e-12)


def test_r1_gradient_wrt_critic_parameters_is_analytic() -> None:
    # linear critic D(x) = w.x + b: R1 = gamma/2 ||w||^2, d R1 / dw = gamma w (second-order autograd)
    D = nn.Linear(3, 1).double()
    real = torch.randn(5, 3, dtype=F64)
    val, _ = losses.build_penalty({"name": "r1", "gamma": 0.7})(D, real, real)
    (gw,) = torch.autograd.grad(val, D.weight)
    assert val.item() == pytest.approx(0.35 * D.weight.pow(2).sum().item(), rel=1e-12)
    assert torch.allclose(gw, 0.7 * D.weight, atol=1e-12)


# --------------------------------------------------------------------------------------------- MMD family
def test_c20_mmd_loss_on_dirac_features_has_its_closed_form() -> None:
    # phi = identity, x = {0, 0}, y = {t, t}: unbiased MMD^2 = 2 - 2 exp(-t^2/2) (Gaussian, bandwidth 1)
    t = 0.8
    loss = losses.build({"name": "mmd", "kernel": {"name": "gaussian", "bandwidth": 1.0}})
    ident = nn.Identity()
    real, fake = torch.zeros(2, 1, dtype=F64), torch.full((2, 1), t, dtype=F64)
    d, logs = loss.d_loss(ident, real, fake)
    g, _ = loss.g_loss(ident, real, fake)
    truth = 2 - 2 * math.exp(-t * t / 2)
    assert -d.item() == pytest.approx(truth, abs=1e-12)
    assert g.item() == pytest.approx(truth, abs=1e-12)


@pytest.mark.parametrize("variant,lam", [("paper", 1.0), ("paper", 0.1), ("code", 1.0)])
def test_c22_smmd_scale_for_a_linear_critic(variant: str, lam: float, rng: np.random.Generator) -> None:
    # phi(x) = W x (2 outputs): ||grad phi(x)||_F^2 = ||W||_F^2 for every x; Gaussian bw 1: g(0)=1, |g'(0)|=1/2
    D = nn.Linear(3, 2).double()
    real = torch.tensor(rng.normal(size=(6, 3)))
    fake = torch.tensor(rng.normal(size=(6, 3)))
    loss = losses.build({"name": "smmd", "lam": lam, "variant": variant})
    d, logs = loss.d_loss(D, real, fake)
    w2 = D.weight.pow(2).sum().item()
    scale = 1 / (lam + 1 + w2) if variant == "paper" else 1 / (1 + 10 * w2)
    with torch.no_grad():
        mmd2 = dv.mmd2(D(real), D(fake), kernel="gaussian", estimator="unbiased")
    assert logs["smmd_scale"].item() == pytest.approx(scale, rel=1e-12)
    assert -d.item() == pytest.approx(scale * mmd2.item(), rel=1e-12)
    assert loss.g_loss(D, real, fake)[0].item() == pytest.approx(scale * mmd2.item(), rel=1e-12)


def test_c23_witness_gradient_penalty_is_per_sample(rng: np.random.Generator) -> None:
    torch.manual_seed(8)
    D = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 3)).double()  # 3 features
    real = torch.tensor(rng.normal(size=(6, 2)))
    fake = torch.tensor(rng.normal(1.0, 1.0, size=(6, 2)))
    loss = losses.build({"name": "mmd_gp", "gamma": 2.0}, generator=torch.Generator().manual_seed(2))
    d, logs = loss.d_loss(D, real, fake)
    eps = torch.rand((6, 1), generator=torch.Generator().manual_seed(2), dtype=F64)
    x_hat = eps * real + (1 - eps) * fake
    with torch.no_grad():
        fx, fy = D(real), D(fake)
    norms = []
    for i in range(6):
        xi = x_hat[i:i + 1].clone().requires_grad_(True)
        w = dv.kernels.get("gaussian")(D(xi), fx).mean() - dv.kernels.get("gaussian")(D(xi), fy).mean()
        (g,) = torch.autograd.grad(w, xi)
        norms.append(g.norm())
    norms = torch.stack(norms)
    with torch.no_grad():
        mmd2 = dv.mmd2(fx, fy, kernel="gaussian", estimator="unbiased")
    assert logs["witness_grad_norm"].item() == pytest.approx(norms.mean().item(), rel=1e-10)
    assert d.item() == pytest.approx(-mmd2.item() + 2.0 * ((norms - 1) ** 2).mean().item(), rel=1e-10)


# --------------------------------------------------------------------------------------------- registry
def test_registry_names_and_errors() -> None:
    assert set(losses.names()) == {"gan", "nsgan", "fgan", "wgan", "wgan_gp", "hinge", "lsgan", "dragan", "mmd",
                                   "mmd_gp", "smmd", "sn_smmd"}
    for bad, word in [({"name": "nope"}, "unknown loss"), ({"name": "gan", "clip": 1}, "unknown config key"),
                      ({"name": "wgan", "clip": -1}, "clip"), ({"name": "fgan"}, "divergence"),
                      ({"name": "gan", "penalties": [{"name": "r3"}]}, "unknown penalty"),
                      ({"name": "gan", "penalties": [{"name": "r1", "gamma": -1}]}, "gamma"),
                      ({"name": "smmd", "variant": "x"}, "variant"), ({}, "name")]:
        with pytest.raises(ValueError, match=word):
            losses.build(bad)
    D = nn.Linear(2, 3).double()
    with pytest.raises(ValueError, match="one score per sample"):
        losses.build({"name": "gan"}).d_loss(D, torch.zeros(4, 2, dtype=F64), torch.zeros(4, 2, dtype=F64))
    assert losses.build({"name": "sn_smmd"}).name == "sn_smmd"


def test_unknown_loss_name_lists_every_accepted_name() -> None:
    """The error for an unknown ``loss.name`` offers the composite names too (they are valid
    names: ``wgan_gp`` builds), and suggests the closest one."""
    for bad in ("wgan_pg", 3, None, ["gan"]):
        with pytest.raises(ValueError) as err:
            losses.build({"name": bad})
        msg = str(err.value)
        assert msg.startswith("loss.name: unknown loss"), msg
        for name in losses.names():
            assert repr(name) in msg, (name, msg)
    with pytest.raises(ValueError, match="did you mean 'wgan_gp'"):
        losses.build({"name": "wgan_pg"})
    with pytest.raises(ValueError, match="did you mean 'sn_smmd'"):
        losses.loss_options({"name": "sn_smd"})


COMPOSITES = [  # (alias, the same loss spelled out as a base loss plus penalties, critic outputs)
    ({"name": "wgan_gp", "gamma": 3.0, "half": True},
     {"name": "wgan", "clip": None, "penalties": [{"name": "gp", "gamma": 3.0, "half": True}]}, 1),
    ({"name": "wgan_gp", "penalties": [{"name": "r1", "gamma": 2.0}]},
     {"name": "wgan", "clip": None, "penalties": [{"name": "gp"}, {"name": "r1", "gamma": 2.0}]}, 1),
    ({"name": "dragan", "scale": 0.3, "center": 1.5},
     {"name": "nsgan", "penalties": [{"name": "dragan", "scale": 0.3, "center": 1.5}]}, 1),
    ({"name": "mmd_gp", "gamma": 2.0, "estimator": "biased"},
     {"name": "mmd", "estimator": "biased", "penalties": [{"name": "witness_gp", "gamma": 2.0}]}, 4),
    ({"name": "sn_smmd", "lam": 0.5}, {"name": "smmd", "lam": 0.5}, 4),
]


@pytest.mark.parametrize("alias, spelled, out_dim", COMPOSITES, ids=lambda c: c["name"] if isinstance(c, dict) else None)
def test_composite_losses_are_a_base_loss_plus_penalties(alias: dict, spelled: dict, out_dim: int) -> None:
    """The old composite names are configs: the same object and bit-identical numbers as the
    base loss with its penalties written out (only the built loss's name differs)."""
    a = losses.build(alias, generator=torch.Generator().manual_seed(7))
    b = losses.build(spelled, generator=torch.Generator().manual_seed(7))
    assert type(a) is type(b) and a.name == alias["name"] and b.name == spelled["name"]
    assert [repr(p) for p in a.penalties] == [repr(p) for p in b.penalties]
    assert repr({k: v for k, v in vars(a).items() if k not in ("penalties", "name")}) == \
        repr({k: v for k, v in vars(b).items() if k not in ("penalties", "name")})
    torch.manual_seed(1)
    D = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, out_dim)).double()
    real = torch.randn(6, 3, dtype=F64, generator=torch.Generator().manual_seed(2))
    fake = torch.randn(6, 3, dtype=F64, generator=torch.Generator().manual_seed(3))
    (da, la), (db, lb) = a.d_loss(D, real, fake), b.d_loss(D, real, fake)
    assert torch.equal(da, db) and la.keys() == lb.keys() and all(torch.equal(la[k], lb[k]) for k in la)
    assert torch.equal(a.g_loss(D, real, fake)[0], b.g_loss(D, real, fake)[0])


def test_loss_keys_and_defaults_are_read_from_the_signatures() -> None:
    gp_gamma = inspect.signature(losses.GradientPenalty).parameters["gamma"].default
    assert losses.config_keys("wgan_gp")["gamma"].default == gp_gamma
    assert losses.build({"name": "wgan_gp"}).penalties[0].gamma == gp_gamma
    assert losses.config_keys("wgan_gp")["clip"].default is None  # the composite's preset
    assert losses.config_keys("wgan")["clip"].default == inspect.signature(losses.WassersteinLoss).parameters["clip"].default
    assert set(losses.config_keys("mmd_gp")) == {"penalties", "kernel", "estimator", "gamma"}
    assert set(losses.config_keys("lsgan")) == {"penalties", "a", "b", "c"}
    with pytest.raises(ValueError, match=r"loss\.gama.*did you mean 'gamma'"):
        losses.build({"name": "dragan", "gama": 1.0})
    with pytest.raises(ValueError, match=r"loss\.penalties\[0\]\.gama.*did you mean 'gamma'"):
        losses.build({"name": "gan", "penalties": [{"name": "r1", "gama": 1.0}]})
    with pytest.raises(ValueError, match="witness of an MMD loss"):
        losses.build({"name": "wgan", "penalties": [{"name": "witness_gp"}]})
    with pytest.raises(ValueError, match="needs the argument 'loss'"):
        losses.build_penalty({"name": "witness_gp"})


def test_a_loss_outside_the_registry_is_named_package_module_name() -> None:
    loss = losses.build({"name": "gans.losses.minimax:LeastSquaresLoss", "a": -1.0,
                         "penalties": [{"name": "r1", "gamma": 2.0}]})
    assert type(loss) is losses.LeastSquaresLoss and loss.a == -1.0 and isinstance(loss.penalties[0], losses.R1Penalty)
    with pytest.raises(ValueError, match=r"loss\.aa"):
        losses.build({"name": "gans.losses.minimax:LeastSquaresLoss", "aa": -1.0})
    with pytest.raises(ValueError, match=r"loss\.name.*cannot import"):
        losses.build({"name": "no_such_module_xyz:Loss"})
