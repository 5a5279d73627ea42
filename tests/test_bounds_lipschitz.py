"""Critic-output bounds (divergences.bounds), Lipschitz tools (divergences.lipschitz), the one
Frechet / Gaussian-W2^2 formula, and the failure warning and progress bar of the trained
estimators (issue 14).

Oracles are closed forms: samples with exact frequencies make every sample mean an exact
expectation under a discrete P or Q, so a bound evaluated at a known critic equals its closed
form up to floating-point rounding.  Tolerances: a float64 mean of n terms of magnitude <= M,
each computed to a few ulp, is within ``(n + c) eps M`` of the exact mean (naive summation);
``_tol(n, M) = 16 n eps M`` covers that with c <= 15 ulp per term.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import divergences as dv
from divergences import bounds, lipschitz

EPS = float(np.finfo(np.float64).eps)
F64 = torch.float64

SUPPORT = np.arange(5)
P_COUNTS = np.array([2, 5, 3, 6, 4])
Q_COUNTS = np.array([5, 5, 4, 2, 4])
P, Q = P_COUNTS / 20, Q_COUNTS / 20
XI = np.repeat(SUPPORT, P_COUNTS)  # sample of P with exact frequencies: indices into the support
YI = np.repeat(SUPPORT, Q_COUNTS)


def _tol(n: int, scale: float) -> float:
    return 16 * n * EPS * scale


def _at(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A critic given by its table of values on the support, evaluated on both samples."""
    return values[XI], values[YI]


def _jsd(p: np.ndarray, q: np.ndarray) -> float:
    m = (p + q) / 2
    return 0.5 * float(np.sum(p * np.log(p / m)) + np.sum(q * np.log(q / m)))


KL = float(np.sum(P * np.log(P / Q)))


# ------------------------------------------------------------------------------------------ bounds
def test_c03_gan_bound_at_the_optimal_discriminator_is_2jsd_minus_log4():
    logit = np.log(P / Q)  # sigmoid(logit) = p/(p+q) = D* (C02)
    vp, vq = _at(logit)
    val = bounds.gan(vp, vq)
    assert isinstance(val, float)
    truth = 2 * _jsd(P, Q) - math.log(4)
    assert abs(val - truth) <= _tol(20, 3.0)
    # any other discriminator gives less (C02: D* is the pointwise maximiser)
    g = np.random.default_rng(0)
    for _ in range(20):
        assert bounds.gan(*_at(logit + g.normal(0, 1, 5))) < truth + _tol(20, 8.0)
    # the same number as the f-GAN bound of the "gan" entry (C11: T = log D)
    assert abs(bounds.fgan(vp, vq, "gan") - val) <= _tol(20, 3.0)


def test_gan_bound_logit_form_is_finite_for_saturated_logits():
    # log sigmoid(-1000) = -1000 and log(1 - sigmoid(1000)) = -1000: the naive form gives -inf
    assert bounds.gan([-1000.0], [1000.0]) == -2000.0
    assert bounds.gan([1000.0], [-1000.0]) == pytest.approx(0.0, abs=1e-300)
    t = bounds.gan(torch.tensor([-1000.0], dtype=torch.float32), torch.tensor([1000.0], dtype=torch.float32))
    assert t.dtype == torch.float32 and float(t) == -2000.0


def test_c10_fgan_bound_at_the_optimal_critic_equals_closed_forms():
    u = P / Q
    closed = {"kl": KL, "pearson": float(np.sum((P - Q) ** 2 / Q)),
              "squared_hellinger": float(np.sum((np.sqrt(P) - np.sqrt(Q)) ** 2)), "js": _jsd(P, Q),
              "reverse_kl": float(np.sum(Q * np.log(Q / P)))}
    for name, truth in closed.items():
        t_star = np.asarray(dv.fdiv.get(name).f_prime(u))
        val = bounds.fgan(*_at(t_star), name, activation=False)
        assert abs(val - truth) <= _tol(20, 4.0), name
    # with the activation: js's g(v) = (log 2 - softplus(-v))/2 equals f'(u) at v = log u
    val = bounds.fgan(*_at(np.log(u)), "js")
    assert abs(val - _jsd(P, Q)) <= _tol(20, 4.0)
    # alpha = 1/2 is twice the squared Hellinger distance; params and entries are accepted
    t_star = np.asarray(dv.fdiv.get("alpha", alpha=0.5).f_prime(u))
    half = bounds.fgan(*_at(t_star), "alpha", activation=False, alpha=0.5)
    entry = bounds.fgan(*_at(t_star), dv.fdiv.get("alpha", alpha=0.5), activation=False)
    assert half == entry
    assert abs(half - 2 * closed["squared_hellinger"]) <= _tol(20, 8.0)
    with pytest.raises(ValueError, match="params"):
        bounds.fgan([0.0], [0.0], dv.fdiv.get("kl"), alpha=0.5)


def test_fgan_bound_outside_dom_fstar_is_minus_inf_and_stderr_matches_formula():
    assert bounds.fgan([-1.0], [0.5], "gan", activation=False) == -math.inf  # f*(t) = inf for t >= 0
    g = np.random.default_rng(1)
    vp, vq = g.normal(size=40), g.normal(size=30)
    val, se = bounds.fgan(vp, vq, "kl", return_stderr=True)
    a, b = vp, np.exp(vq - 1)
    assert abs(val - (a.mean() - b.mean())) <= _tol(40, 10.0)
    want = math.sqrt(a.var(ddof=1) / 40 + b.var(ddof=1) / 30)
    assert se == pytest.approx(want, rel=1e-12)
    assert bounds.nwj(vp, vq) == val  # NWJ is the kl row with no activation (identity g_f)


def test_donsker_varadhan_bound_at_the_log_ratio_is_kl():
    logr = np.log(P / Q)
    assert abs(bounds.donsker_varadhan(*_at(logr)) - KL) <= _tol(20, 3.0)
    # invariant to shifts (also huge ones: log-sum-exp), and >= NWJ, equal at T = 1 + log r
    assert abs(bounds.donsker_varadhan(*_at(logr + 700.0)) - KL) <= _tol(20, 800.0)
    assert abs(bounds.nwj(*_at(1 + logr)) - KL) <= _tol(20, 4.0)
    g = np.random.default_rng(2)
    for _ in range(10):
        t = g.normal(0, 1, 5)
        assert bounds.donsker_varadhan(*_at(t)) >= bounds.nwj(*_at(t)) - _tol(20, 10.0)
        assert bounds.donsker_varadhan(*_at(t)) <= KL + _tol(20, 10.0)


def test_donsker_varadhan_stderr_is_the_delta_method():
    g = np.random.default_rng(3)
    tp, tq = g.normal(size=50), g.normal(size=60)
    val, se = bounds.donsker_varadhan(torch.tensor(tp), torch.tensor(tq), return_stderr=True)
    assert isinstance(val, torch.Tensor) and isinstance(se, float)
    e = np.exp(tq)
    assert float(val) == pytest.approx(tp.mean() - math.log(e.mean()), rel=1e-13)
    assert se == pytest.approx(math.sqrt(tp.var(ddof=1) / 50 + e.var(ddof=1) / e.mean() ** 2 / 60), rel=1e-12)


def test_c13_kantorovich_rubinstein_bound_attains_w1_for_ordered_distributions():
    # P's CDF lies above Q's everywhere (P is stochastically smaller): W1 = E_Q X - E_P X, and
    # the 1-Lipschitz f(x) = -x attains it.
    pc, qc = np.array([4, 3, 1, 1, 1]), np.array([1, 1, 2, 3, 3])
    assert np.all(np.cumsum(pc) >= np.cumsum(qc))
    x, y = np.repeat(SUPPORT, pc).astype(float), np.repeat(SUPPORT, qc).astype(float)
    val, se = bounds.kantorovich_rubinstein(-x, -y, return_stderr=True)
    w1 = dv.wasserstein(x[:, None], y[:, None], p=1)
    assert abs(val - w1) <= _tol(10, 4.0) + 1e-12 * w1
    assert se == pytest.approx(math.sqrt(x.var(ddof=1) / 10 + y.var(ddof=1) / 10), rel=1e-12)
    # a K-Lipschitz critic gives K times the bound; torch in, torch out, differentiable
    xt = torch.tensor(x, requires_grad=True)
    v = bounds.kantorovich_rubinstein(-3 * xt, -3 * torch.tensor(y))
    v.backward()
    assert float(v.detach()) == pytest.approx(3 * w1, rel=1e-12)
    assert torch.allclose(xt.grad, torch.full_like(xt, -0.3), rtol=0, atol=4 * EPS)


def test_bounds_validate_their_inputs():
    with pytest.raises(ValueError, match="t_q"):
        bounds.donsker_varadhan([1.0, 2.0], np.zeros((3, 2)))
    with pytest.raises(ValueError, match="v_p"):
        bounds.gan([], [0.0])
    with pytest.raises(ValueError, match="name"):
        bounds.fgan([0.0], [0.0], "renyi")
    # (n, 1) is read as n values
    assert bounds.kantorovich_rubinstein(np.ones((3, 1)), np.zeros((2, 1))) == 1.0


# ------------------------------------------------------------------------------------------ Lipschitz tools
def _linear(w: np.ndarray, b: float = 0.3) -> nn.Linear:
    lin = nn.Linear(len(w), 1).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(w)[None])
        lin.bias.fill_(b)
    return lin


@pytest.mark.parametrize("center", [1.0, 0.5])
def test_c16_gradient_penalty_of_a_linear_critic_is_norm_minus_center_squared(center):
    w = np.array([0.6, -1.7, 0.9])
    D = _linear(w)
    g = np.random.default_rng(4)
    x, y = torch.tensor(g.normal(size=(9, 3))), torch.tensor(g.normal(size=(9, 3)))
    pen, norms = lipschitz.gradient_penalty(D, x, y, generator=torch.Generator().manual_seed(0), center=center)
    nw = math.sqrt(float(np.sum(w ** 2)))
    # grad_x (w.x + b) = w exactly; ||w|| to ~d ulp, then one subtraction and a square
    assert torch.allclose(norms, torch.full((9,), nw, dtype=F64), rtol=0, atol=8 * EPS * nw)
    assert abs(float(pen.detach()) - (nw - center) ** 2) <= 32 * EPS * nw * abs(nw - center) + EPS
    # d pen / d w = 2 (||w|| - c) w / ||w|| through the double backward
    (gw,) = torch.autograd.grad(pen, D.weight)
    want = torch.tensor(2 * (nw - center) * w / nw)[None]
    assert torch.allclose(gw, want, rtol=0, atol=64 * EPS * 2 * nw)


def test_interpolation_weights_come_from_the_generator_once_per_sample():
    g = np.random.default_rng(5)
    x, y = torch.tensor(g.normal(size=(6, 1, 4, 4))), torch.tensor(g.normal(size=(6, 1, 4, 4)))
    got = lipschitz.interpolates(x, y, generator=torch.Generator().manual_seed(11))
    eps = torch.rand((6, 1, 1, 1), generator=torch.Generator().manual_seed(11), dtype=F64)
    assert torch.equal(got, eps * x + (1 - eps) * y)
    pts = lipschitz.dragan_points(x, 0.5, generator=torch.Generator().manual_seed(3))
    u = torch.rand(x.shape, generator=torch.Generator().manual_seed(3), dtype=F64)
    assert torch.equal(pts, x + 0.5 * x.std() * u)
    with pytest.raises(ValueError, match="equal shape"):
        lipschitz.interpolates(x, y[:5], generator=None)


def test_zero_centred_penalty_and_per_sample_norms_have_closed_forms():
    W = torch.tensor([[1.0, -2.0, 0.5], [0.0, 3.0, 1.0]], dtype=F64)
    feat = nn.Linear(3, 2, bias=False).double()
    with torch.no_grad():
        feat.weight.copy_(W)
    x = torch.randn(5, 3, dtype=F64, generator=torch.Generator().manual_seed(1))
    pen, sq = lipschitz.gradient_sqnorm_penalty(feat, x)  # Jacobian W for every sample
    assert torch.allclose(sq, torch.full((5,), float((W ** 2).sum()), dtype=F64), rtol=0, atol=16 * EPS * 16)
    assert float(pen.detach()) == pytest.approx(float((W ** 2).sum()), rel=16 * EPS)

    def quad(t: torch.Tensor) -> torch.Tensor:  # f(x) = ||x||^2 / 2, grad f(x) = x
        return 0.5 * (t ** 2).sum(dim=1, keepdim=True)

    norms = lipschitz.input_grad_norms(quad, x)
    assert torch.allclose(norms, x.norm(dim=1), rtol=4 * EPS, atol=0)
    # vanishing gradient: norm 0 and a zero (not NaN) gradient with respect to the critic
    zero = torch.zeros(2, 3, dtype=F64)
    D = _linear(np.zeros(3))
    pen0, n0 = lipschitz.gradient_norm_penalty(D, zero, center=1.0)
    (gw,) = torch.autograd.grad(pen0, D.weight)
    assert float(pen0.detach()) == 1.0 and torch.equal(n0, torch.zeros(2, dtype=F64)) and torch.isfinite(gw).all()


def test_gradient_of_a_graph_carrying_input_flows_to_its_producer():
    # x = a z (a "generator" with one parameter); critic ||x||^2/2: ||grad|| = |a| ||z||, d/da = ||z|| sign(a)
    a = torch.tensor(1.5, dtype=F64, requires_grad=True)
    z = torch.randn(4, 2, dtype=F64, generator=torch.Generator().manual_seed(2))
    norms = lipschitz.input_grad_norms(lambda t: 0.5 * (t ** 2).sum(1), a * z)
    (ga,) = torch.autograd.grad(norms.sum(), a)
    assert float(ga) == pytest.approx(float(z.norm(dim=1).sum()), rel=8 * EPS)


def test_critic_scores_shapes_and_dtype_matching():
    x = torch.zeros(4, 2, dtype=F64)
    for shape in [(4,), (4, 1), (4, 1, 1)]:
        assert lipschitz.critic_scores(lambda t, s=shape: torch.ones(s, dtype=t.dtype), x).shape == (4,)
    with pytest.raises(ValueError, match="critic: must map x .* one score per sample"):
        lipschitz.critic_scores(lambda t: t, x)
    with pytest.raises(ValueError, match="must return a torch tensor"):
        lipschitz.critic_scores(lambda t: t.numpy(), x)
    net = nn.Linear(2, 1)  # float32
    out = lipschitz.critic_scores(net, x, match_module=True)
    assert out.dtype == torch.float32


def test_c15_weight_clipping_clamps_in_place():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    with torch.no_grad():
        net[0].weight.mul_(100)
    before = [p.detach().clone() for p in net.parameters()]
    lipschitz.clip_weights_(net, 0.05)
    for b, p in zip(before, net.parameters()):
        assert torch.equal(p.detach(), b.clamp(-0.05, 0.05))
    lipschitz.clip_weights_(list(net.parameters()), 0.01)
    assert all(float(p.detach().abs().max()) <= 0.01 for p in net.parameters())
    with pytest.raises(ValueError, match="clip"):
        lipschitz.clip_weights_(net, 0.0)


# ------------------------------------------------------------------------------------------ one Frechet formula
def test_c28_frechet_distance_and_gaussian_w2_squared_are_one_formula():
    g = np.random.default_rng(6)
    A, B = g.normal(size=(4, 4)), g.normal(size=(4, 4))
    S0, S1 = A @ A.T + 0.1 * np.eye(4), B @ B.T + 0.1 * np.eye(4)
    m0, m1 = g.normal(size=4), g.normal(size=4)
    fd = dv.frechet_distance(m0, S0, m1, S1)
    w2sq = dv.gaussian.w2_squared(m0, S0, m1, S1)
    scale = float(np.sum((m0 - m1) ** 2) + np.trace(S0) + np.trace(S1))
    assert abs(fd - w2sq) <= 64 * 4 * EPS * scale  # power-of-two rescaling only; a backward-stable eigensolver
    assert dv.gaussian.w2(m0, S0, m1, S1) == pytest.approx(math.sqrt(w2sq), rel=4 * EPS)  # W2 is the root
    # 1-D: (m0 - m1)^2 + (s0 - s1)^2 in both (variances 4 and 9)
    assert dv.frechet_distance([1.0], [[4.0]], [-1.0], [[9.0]]) == pytest.approx(5.0, rel=16 * EPS)
    assert dv.gaussian.w2_squared(1.0, 4.0, -1.0, 9.0) == pytest.approx(5.0, rel=16 * EPS)
    # a Dirac against a Gaussian: ||m0 - m1||^2 + tr S1 (singular S0 handled by swapping roles)
    assert dv.frechet_distance(m0, np.zeros((4, 4)), m1, S1) == pytest.approx(
        float(np.sum((m0 - m1) ** 2) + np.trace(S1)), rel=64 * EPS)
    assert dv.gaussian.w2_squared(m0, np.zeros((4, 4)), m1, S1) == pytest.approx(
        float(np.sum((m0 - m1) ** 2) + np.trace(S1)), rel=64 * EPS)


# ------------------------------------------------------------------------------------------ issue 14
P1 = np.random.default_rng(7).normal(0.0, 1.0, size=(400, 1))
Q1 = np.random.default_rng(8).normal(2.0, 1.0, size=(400, 1))


def _fixed(weight: float, bias: float) -> nn.Module:
    """A linear critic that 1 step of lr 1e-9 leaves (numerically) where it starts."""
    lin = nn.Linear(1, 1)
    with torch.no_grad():
        lin.weight.fill_(weight)
        lin.bias.fill_(bias)
    return lin


ESTIMATORS = {
    "variational_f_divergence": lambda c: dv.variational_f_divergence(P1, Q1, "js", c, steps=1, lr=1e-9),
    "donsker_varadhan": lambda c: dv.donsker_varadhan(P1, Q1, c, steps=1, lr=1e-9),
    "nwj": lambda c: dv.nwj(P1, Q1, c, steps=1, lr=1e-9),
    "classifier_jsd": lambda c: dv.classifier_jsd(P1, Q1, c, steps=1, lr=1e-9),
    "wasserstein_dual_gp": lambda c: dv.wasserstein_dual(P1, Q1, "gp", c, steps=1, lr=1e-9),
    "wasserstein_dual_clip": lambda c: dv.wasserstein_dual(P1, Q1, "clip", c, steps=1, lr=1e-9, clip=10.0),
}


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_failed_critic_warns_and_a_good_one_does_not(name):
    """P = N(0, 1), Q = N(2, 1).  The critic V(x) = x points the wrong way (p/q decreases in x):
    every bound is then far below 0 (e.g. DV: 0 - log E_Q e^Y = -2.5), and one step of lr 1e-9
    leaves it there: the warning must fire.  V(x) = 2 - 2x = log(p/q) is the optimal DV critic
    and a good one for all others (for W1: the 2-Lipschitz -2x, W1 = 2): no warning."""
    with pytest.warns(RuntimeWarning, match="critic failed"):
        bad = ESTIMATORS[name](_fixed(1.0, 0.0))
    assert bad.estimate + 2 * bad.stderr < 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        good = ESTIMATORS[name](_fixed(-2.0, 2.0))
    assert good.estimate - 2 * good.stderr > 0


def test_failure_floor_is_f_of_1_for_the_gan_divergence():
    """``gan``'s divergence is 2 JSD - log 4 >= -log 4 = f(1): a constant critic V = 0 sits exactly
    on the floor (no warning), V = 3 is below it with zero standard error (warning)."""

    class Const(nn.Module):
        def __init__(self, c: float) -> None:
            super().__init__()
            self.c, self.p = c, nn.Parameter(torch.zeros(()))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x[:, :1] * 0 + self.p * 0 + self.c  # zero gradient: Adam leaves p at 0

    eps32 = float(torch.finfo(torch.float32).eps)  # the default critic dtype: float32 rounding
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = dv.variational_f_divergence(P1, Q1, "gan", Const(0.0), steps=1)
        assert r.estimate == pytest.approx(-math.log(4), abs=_tol(200, 2.0) / EPS * eps32) and r.stderr == 0.0
        r = dv.variational_f_divergence(P1, Q1, "js", Const(0.0), steps=1)
        assert abs(r.estimate) <= _tol(200, 1.0) / EPS * eps32
    with pytest.warns(RuntimeWarning, match=r"below -1\.386"):
        dv.variational_f_divergence(P1, Q1, "gan", Const(3.0), steps=1)


def test_trained_classifier_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = dv.classifier_jsd(P1, Q1, steps=150, lr=1e-2, hidden=(8,), batch_size=None, seed=0)
    assert r.estimate > 2 * r.stderr


def test_progress_bar_on_stderr_only_when_asked(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        dv.classifier_jsd(P1, Q1, steps=3, hidden=(4,), progress=True)
    assert "classifier_jsd" in capsys.readouterr().err
    with warnings.catch_warnings():  # 3 steps: an under-trained critic may (rightly) warn
        warnings.simplefilter("ignore", RuntimeWarning)
        dv.classifier_jsd(P1, Q1, steps=3, hidden=(4,), progress=False)
        dv.nwj(P1, Q1, steps=3, hidden=(4,))  # default: no bar below 2000 steps
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


@pytest.mark.slow
def test_issue14_overfitted_default_js_critic_warns():
    """The reported case: N(0, I) vs N(0.5, I) in 2-D, n = 300 / 250, default settings.  The
    (64, 64) critic overfits its 150 / 125 training points; the held-out JSD bound is about
    -0.28 +- 0.10 (true JSD ~ 0.06), significantly negative, so the warning fires."""
    g = np.random.default_rng(0)
    x, y = g.normal(size=(300, 2)), g.normal(0.5, 1.0, size=(250, 2))
    with pytest.warns(RuntimeWarning, match="critic failed"):
        r = dv.variational_f_divergence(x, y, "js")
    assert r.estimate + 2 * r.stderr < 0
