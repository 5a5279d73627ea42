"""Variational lower bounds (C10, C11, C02/C03, C05): any critic gives a lower bound, the
optimal critic f'(p/q) attains D_f, DV >= NWJ, S <- log S recovers the GAN objective, and the
trained estimators behave as their bounds say."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
import torch
from scipy import integrate, stats

import divergences as dv

# a discrete pair with rational probabilities: samples with exact frequencies make every
# empirical mean an exact expectation, so the inequalities below are exact (no Monte Carlo)
SUPPORT = np.arange(5.0)
P_COUNTS = np.array([2, 5, 3, 6, 4])
Q_COUNTS = np.array([5, 5, 4, 2, 4])
P, Q = P_COUNTS / 20, Q_COUNTS / 20
X_EXACT = np.repeat(SUPPORT, P_COUNTS)[:, None]
Y_EXACT = np.repeat(SUPPORT, Q_COUNTS)[:, None]

ENTRIES = [("kl", {}), ("reverse_kl", {}), ("pearson", {}), ("neyman", {}), ("squared_hellinger", {}),
           ("jeffreys", {}), ("js", {}), ("gan", {}), ("tv", {}), ("alpha", {"alpha": 0.5}),
           ("alpha", {"alpha": 2.5}), ("alpha", {"alpha": -1.0})]


def _table_critic(values: np.ndarray):
    table = torch.tensor(values, dtype=torch.float64)

    def critic(t: torch.Tensor) -> torch.Tensor:
        return table[t[:, 0].round().long()]

    return critic


@pytest.mark.parametrize("name,params", ENTRIES)
def test_c10_bound_below_divergence_and_tight_at_optimal_critic(name, params):
    exact = dv.f_divergence(P, Q, name, **params)
    entry = dv.fdiv.get(name, **params)
    g = np.random.default_rng(zlib.crc32(name.encode()))
    for _ in range(30):  # random critics V, mapped into dom f* by the activation
        v = g.normal(0.0, 2.0, size=5)
        assert dv.variational_bound(X_EXACT, Y_EXACT, name, _table_critic(v), **params) <= exact + 1e-12
    t_star = entry.optimal_critic(P / Q)  # T* = f'(p/q), already in dom f*
    val = dv.variational_bound(X_EXACT, Y_EXACT, name, _table_critic(t_star), activation=False, **params)
    assert val == pytest.approx(exact, rel=1e-9, abs=1e-12)


MU = 0.5  # P = N(0, 1), Q = N(MU, 1): p/q = exp(-MU x + MU^2/2)


def _ratio(t: torch.Tensor) -> torch.Tensor:
    return torch.exp(-MU * t[:, 0] + MU ** 2 / 2)


def _true_fdiv(name: str, params: dict) -> float:
    f = dv.fdiv.get(name, **params).f
    p, q = stats.norm(0, 1).pdf, stats.norm(MU, 1).pdf
    return integrate.quad(lambda s: q(s) * float(f(p(s) / q(s))), -14, 14, limit=200)[0]


@pytest.mark.parametrize("name,params", ENTRIES)
def test_c10_optimal_critic_attains_divergence_by_monte_carlo(name, params):
    """Gaussian shift: with T* = f'(p/q) plugged in, the bound equals D_f within 4 SE."""
    g = np.random.default_rng(7)
    x, y = g.normal(size=(20000, 1)), g.normal(MU, 1.0, size=(20000, 1))
    entry = dv.fdiv.get(name, **params)
    val, se = dv.variational_bound(x, y, name, lambda t: entry.optimal_critic(_ratio(t)), activation=False,
                                   return_stderr=True, **params)
    assert abs(val - _true_fdiv(name, params)) <= 4 * se


def test_dv_at_least_nwj_with_equality_when_normalised(rng):
    x, y = rng.normal(size=(500, 2)), rng.normal(size=(400, 2)) + 0.5
    for seed in range(5):
        w = torch.tensor(np.random.default_rng(seed).normal(size=2))
        critic = lambda t, w=w: t @ w + 0.3  # noqa: E731
        assert dv.donsker_varadhan_bound(x, y, critic) >= dv.nwj_bound(x, y, critic) - 1e-12
        # shifting T so that mean_Q e^T = e makes log z = z/e - 1 + 1 tight: DV = NWJ
        shift = 1.0 - math.log(float(torch.exp(critic(torch.tensor(y))).mean()))
        shifted = lambda t, c=critic, s=shift: c(t) + s  # noqa: E731
        assert dv.nwj_bound(x, y, shifted) == pytest.approx(dv.donsker_varadhan_bound(x, y, critic), rel=1e-10)
        # DV is invariant to constant shifts of T
        assert dv.donsker_varadhan_bound(x, y, shifted) == pytest.approx(dv.donsker_varadhan_bound(x, y, critic),
                                                                         rel=1e-10)


def test_dv_tight_at_log_ratio():
    g = np.random.default_rng(8)
    x, y = g.normal(size=(20000, 1)), g.normal(MU, 1.0, size=(20000, 1))
    val, se = dv.donsker_varadhan_bound(x, y, lambda t: torch.log(_ratio(t)) + 2.0, return_stderr=True)
    assert abs(val - MU ** 2 / 2) <= 4 * se


def test_c11_log_substitution_recovers_gan_objective(rng):
    """With the ``gan`` entry, f*(t) = -log(1 - e^t); the critic T = log D (S <- log S) turns
    the Fenchel bound into E_P log D + E_Q log(1 - D), the GAN objective; seed 003's JS
    generator (gan + log 4) shifts it by log 4; the classifier JSD bound is half of it + log 2."""
    x, y = rng.normal(size=(300, 2)), rng.normal(size=(250, 2)) + 1.0
    w = torch.tensor([0.7, -1.1], dtype=torch.float64)
    logit = lambda t: t @ w - 0.2  # noqa: E731
    d_x = torch.sigmoid(logit(torch.tensor(x)))
    d_y = torch.sigmoid(logit(torch.tensor(y)))
    gan_objective = float(torch.log(d_x).mean() + torch.log(1 - d_y).mean())
    via_log = dv.variational_bound(x, y, "gan", lambda t: torch.log(torch.sigmoid(logit(t))), activation=False)
    via_activation = dv.variational_bound(x, y, "gan", logit)  # g_f(v) = log sigmoid(v)
    assert via_log == pytest.approx(gan_objective, rel=1e-12)
    assert via_activation == pytest.approx(gan_objective, rel=1e-12)
    assert dv.gan_objective_bound(x, y, logit) == pytest.approx(0.5 * gan_objective + math.log(2), rel=1e-12)
    seed003 = via_log + math.log(4)  # f*(t) = -log(1 - e^t) - log 4 for f + log 4
    assert seed003 == pytest.approx(2 * dv.gan_objective_bound(x, y, logit), rel=1e-12)


def test_c03_gan_objective_at_optimal_discriminator_is_2jsd_minus_log4():
    d_star = P / (P + Q)  # C02
    logit = np.log(d_star / (1 - d_star))
    val = dv.gan_objective_bound(X_EXACT, Y_EXACT, _table_critic(logit))
    assert val == pytest.approx(dv.jsd(P, Q), rel=1e-10)
    raw = dv.variational_bound(X_EXACT, Y_EXACT, "gan", _table_critic(logit))
    assert raw == pytest.approx(2 * dv.jsd(P, Q) - math.log(4), rel=1e-10)


# ------------------------------------------------------------------ trained estimators
def _true_jsd() -> float:
    return _true_fdiv("js", {})


MU_TRAINED = 1.5  # trained estimators: a shift large enough that 4 SE is small against the truth


def _true_fdiv_at(name: str, mu: float) -> float:
    f = dv.fdiv.get(name).f
    p, q = stats.norm(0, 1).pdf, stats.norm(mu, 1).pdf
    return integrate.quad(lambda s: q(s) * float(f(p(s) / q(s))), -14, 16, limit=200)[0]


def test_classifier_jsd_is_a_lower_bound_and_close():
    """Held-out value of a trained discriminator: an unbiased estimate of a quantity <= JSD,
    so <= JSD + 4 SE; and >= JSD - 4 SE - 0.1 JSD (the 10 % optimisation allowance is a stated
    choice).  N(0,1) vs N(1.5,1), n = m = 4000: JSD = 0.221, 4 SE ~ 0.03, so a critic that has
    not learned (15 of 300 steps gives 0.0008) fails."""
    g = np.random.default_rng(9)
    x, y = g.normal(size=(4000, 1)), g.normal(MU_TRAINED, 1.0, size=(4000, 1))
    res = dv.classifier_jsd(x, y, steps=300, hidden=(32,), batch_size=None, seed=0)
    truth = _true_fdiv_at("js", MU_TRAINED)
    assert res.estimate <= truth + 4 * res.stderr
    assert res.estimate >= truth - 4 * res.stderr - 0.1 * truth
    assert res.trace.shape == (300,)


def test_c11_classifier_jsd_equals_fgan_js_training():
    """The ``js`` entry's activation and conjugate reduce the f-GAN objective to the
    classifier's (half the GAN objective + log 2): same seed, same trajectory."""
    g = np.random.default_rng(10)
    x, y = g.normal(size=(400, 2)), g.normal(size=(400, 2)) + 0.8
    kw = dict(steps=60, hidden=(16,), batch_size=None, seed=3)
    a = dv.classifier_jsd(x, y, **kw)
    b = dv.variational_f_divergence(x, y, "js", **kw)
    assert a.estimate == pytest.approx(b.estimate, abs=1e-5)
    np.testing.assert_allclose(a.trace, b.trace, atol=1e-5)


def test_c05_classifier_jsd_reaches_log2_on_disjoint_supports():
    """Parallel lines (C06) with theta = 1: disjoint supports, JSD = log 2 (C05)."""
    g = np.random.default_rng(11)
    z1, z2 = g.uniform(size=600), g.uniform(size=600)
    x = np.stack([np.zeros(600), z1], 1)
    y = np.stack([np.ones(600), z2], 1)
    res = dv.classifier_jsd(x, y, steps=300, hidden=(16,), batch_size=None, seed=0, lr=1e-2)
    assert math.log(2) - 0.02 <= res.estimate <= math.log(2)


def test_kl_estimators_below_truth():
    """f-GAN ``kl`` (= NWJ) and DV estimates of KL(N(0,1) || N(1.5,1)) = 1.125, held-out:
    <= truth + 4 SE (lower bounds), and >= truth - 4 SE - 0.1 truth (10 % optimisation
    allowance, a stated choice).  n = m = 4000; one DV step gives 0.13, which fails."""
    g = np.random.default_rng(12)
    x, y = g.normal(size=(4000, 1)), g.normal(MU_TRAINED, 1.0, size=(4000, 1))
    truth = MU_TRAINED ** 2 / 2
    for fn in (lambda: dv.variational_f_divergence(x, y, "kl", steps=400, hidden=(16,), batch_size=None),
               lambda: dv.donsker_varadhan(x, y, steps=400, hidden=(16,), batch_size=None)):
        res = fn()
        assert truth - 4 * res.stderr - 0.1 * truth <= res.estimate <= truth + 4 * res.stderr


# 15 steps leave the critic undertrained and nwj says so (its failed-critic warning, tested
# elsewhere); this test checks the seeding only
@pytest.mark.filterwarnings("ignore:nwj.*the critic failed:RuntimeWarning")
def test_estimators_are_seeded_and_leave_global_rng_alone(rng):
    x, y = rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) + 0.5
    state = torch.random.get_rng_state()
    r1 = dv.nwj(x, y, steps=15, hidden=(8,), seed=5, batch_size=32)
    r2 = dv.nwj(x, y, steps=15, hidden=(8,), seed=5, batch_size=32)
    r3 = dv.nwj(x, y, steps=15, hidden=(8,), seed=6, batch_size=32)
    assert torch.equal(state, torch.random.get_rng_state())
    assert r1.estimate == r2.estimate and np.array_equal(r1.trace, r2.trace)
    assert r1.estimate != r3.estimate
    assert isinstance(r1.critic, torch.nn.Module)
    with pytest.raises(AttributeError):
        r1.estimate = 0.0  # frozen result


def test_validation(rng):
    x, y = rng.normal(size=(20, 2)), rng.normal(size=(20, 2))
    with pytest.raises(ValueError, match="name"):
        dv.variational_f_divergence(x, y, "renyi")
    with pytest.raises(ValueError, match="steps"):
        dv.classifier_jsd(x, y, steps=0)
    with pytest.raises(ValueError, match="holdout"):
        dv.nwj(x, y, holdout=1.0)
    with pytest.raises(ValueError, match="dimension mismatch"):
        dv.donsker_varadhan(x, rng.normal(size=(20, 3)))
    with pytest.raises(ValueError, match="critic: must map"):
        dv.variational_bound(x, y, "kl", lambda t: t)
    with pytest.raises(ValueError, match="not finite"):  # T >= 0 is outside dom f* of "gan"
        dv.variational_bound(x, y, "gan", lambda t: t[:, 0].abs() + 1.0, activation=False)
    with pytest.raises(ValueError, match="non-finite"):
        dv.classifier_jsd(np.full((20, 2), np.nan), y)
