"""C01-C03: maximum likelihood = min KL, the optimal discriminator, the value at the optimum."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import divergences as dv

G = dv.gan_objective
C = dv.continuous
LOG4 = math.log(4.0)


def _dirichlet_pair(seed: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.ones(k)), rng.dirichlet(np.ones(k))


# ------------------------------------------------------------------------------------------ C02


def test_c02_sympy_pointwise_maximiser_is_a_over_a_plus_b():
    out = G.derive_pointwise_maximiser()
    a, b = sorted(out["argmax"].free_symbols, key=lambda s: s.name)
    y = next(iter(out["objective"].free_symbols - {a, b}))
    assert sp.simplify(out["argmax"] - a / (a + b)) == 0
    curvature = sp.simplify(out["second_derivative"].subs(y, out["argmax"]))
    assert sp.simplify(curvature + (a + b) ** 3 / (a * b)) == 0  # = -(a+b)^3/(ab) < 0: a maximum
    assert curvature.is_negative
    rng = np.random.default_rng(0)
    for av, bv in rng.uniform(0.01, 5, size=(10, 2)):
        want = av * math.log(av / (av + bv)) + bv * math.log(bv / (av + bv))
        assert float(out["max_value"].subs({a: av, b: bv})) == pytest.approx(want, rel=1e-13)
        # brute force over y: nothing on a fine grid beats y* = a/(a+b)
        ys = np.linspace(1e-6, 1 - 1e-6, 20001)
        grid = av * np.log(ys) + bv * np.log1p(-ys)
        assert grid.max() <= want + 1e-15
        assert abs(ys[np.argmax(grid)] - av / (av + bv)) <= 1e-4


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 8))
def test_c02_optimal_discriminator_maximises_the_discrete_objective(seed, k):
    p, q = _dirichlet_pair(seed, k)
    dstar = G.optimal_discriminator(p, q)
    assert np.allclose(dstar, p / (p + q), rtol=1e-15)
    best = G.gan_value(p, q, dstar)
    rng = np.random.default_rng(seed + 1)
    for _ in range(30):
        d = np.clip(dstar + rng.normal(0, 0.2, k), 1e-9, 1 - 1e-9)
        assert G.gan_value(p, q, d) <= best + 1e-14
    # stationarity: dV/dd_i = p_i/d_i - q_i/(1 - d_i) = 0 at D*
    dt = torch.tensor(dstar, requires_grad=True)
    (g,) = torch.autograd.grad(G.gan_value(torch.tensor(p), torch.tensor(q), dt), dt)
    assert torch.allclose(g, torch.zeros_like(g), atol=1e-12)


def test_c02_optimal_discriminator_conventions():
    assert G.optimal_discriminator(0.0, 0.0) == 0.5  # any D is optimal where p = q = 0
    assert G.optimal_discriminator(1.0, 0.0) == 1.0
    t = G.optimal_discriminator(torch.tensor([0.2, 0.0]), torch.tensor([0.6, 0.0]))
    assert isinstance(t, torch.Tensor) and torch.allclose(t, torch.tensor([0.25, 0.5]))


# ------------------------------------------------------------------------------------------ C03


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 8))
def test_c03_value_at_optimum_is_2jsd_minus_log4_and_half_form(seed, k):
    p, q = _dirichlet_pair(seed, k)
    dstar = G.optimal_discriminator(p, q)
    v = G.gan_value(p, q, dstar)
    assert v == pytest.approx(2 * dv.jsd(p, q) - LOG4, rel=1e-13, abs=1e-14)
    assert G.optimal_value(p, q) == pytest.approx(v, rel=1e-13, abs=1e-14)
    vh = G.gan_value(p, q, dstar, weights="half")
    assert vh == pytest.approx(dv.jsd(p, q) - math.log(2), rel=1e-13, abs=1e-14)
    assert G.optimal_value(p, q, weights="half") == pytest.approx(vh, rel=1e-13, abs=1e-14)
    # global minimum -log 4 at Q = P, strictly above otherwise
    assert G.optimal_value(p, p) == pytest.approx(-LOG4, abs=1e-14)
    assert v >= -LOG4 - 1e-14
    assert dv.f_divergence(p, q, "gan") == pytest.approx(v, rel=1e-12, abs=1e-13)


MIXTURES = [
    # (P weights, means, stds), (Q weights, means, stds)
    (([0.5, 0.5], [-2.0, 2.0], [0.5, 1.0]), ([1.0], [0.5], [1.5])),
    (([0.3, 0.7], [0.0, 3.0], [1.0, 0.3]), ([0.6, 0.4], [0.5, 2.5], [0.8, 0.6])),
    (([0.2, 0.5, 0.3], [-4.0, 0.0, 5.0], [0.4, 1.2, 0.7]), ([0.5, 0.5], [-1.0, 1.0], [2.0, 2.0])),
]


@pytest.mark.parametrize(("pm", "qm"), MIXTURES)
def test_c03_quadrature_value_at_optimum_matches_2jsd_minus_log4(pm, qm):
    points = sorted(set(pm[1]) | set(qm[1]))
    lp, lq = C.gaussian_mixture(*pm, log=True), C.gaussian_mixture(*qm, log=True)
    v, ev = G.value_at_optimum_quadrature(lp, lq, points=points, log_density=True)
    j, ej = C.f_divergence(lp, lq, "js", points=points, log_density=True)
    assert ev < 1e-9 and ej < 1e-9
    assert abs(v - (2 * j - LOG4)) <= ev + 2 * ej + 1e-12
    vh, evh = G.value_at_optimum_quadrature(lp, lq, points=points, log_density=True, weights="half")
    assert abs(vh - (j - math.log(2))) <= evh + ej + 1e-12
    # an independent discretisation: binned JSD is a lower bound (data processing) and converges
    edges = np.linspace(-25, 25, 200001)
    cdf = lambda mix: sum(w * 0.5 * (1 + np.vectorize(math.erf)((edges - m) / (s * math.sqrt(2))))  # noqa: E731
                          for w, m, s in zip(*mix))
    pb, qb = np.diff(cdf(pm)), np.diff(cdf(qm))
    pb, qb = pb / pb.sum(), qb / qb.sum()
    jb = dv.jsd(pb, qb)
    assert jb <= j + 1e-9
    assert j - jb < 1e-6  # bin width 2.5e-4: JSD loss O(width^2)
    # the same with plain densities (no log): agrees with the log-density result
    v2, ev2 = G.value_at_optimum_quadrature(C.gaussian_mixture(*pm), C.gaussian_mixture(*qm), points=points)
    assert abs(v2 - v) <= ev + ev2 + 1e-10


def test_c03_minimum_at_q_equal_p_and_log4_gap_for_separated_mixtures():
    pm = ([0.4, 0.6], [-1.0, 2.0], [0.7, 1.1])
    lp = C.gaussian_mixture(*pm, log=True)
    v, e = G.value_at_optimum_quadrature(lp, lp, points=[-1, 2], log_density=True)
    assert abs(v + LOG4) <= e + 1e-12
    # far apart: JSD -> log 2 and V(D*) -> 0 (= 2 log 2 - log 4); the overlap is < 1e-100 here
    far = C.gaussian_mixture([1.0], [60.0], [1.0], log=True)
    v, e = G.value_at_optimum_quadrature(lp, far, points=[-1, 2, 60], log_density=True)
    assert abs(v) <= e + 1e-12
    # and V(D*) increases as Q moves away from P
    vals = [G.value_at_optimum_quadrature(lp, C.gaussian_mixture([0.4, 0.6], [-1.0 + s, 2.0 + s], [0.7, 1.1], log=True),
                                          points=[-1, 2, -1 + s, 2 + s], log_density=True)[0] for s in (0.0, 0.5, 1.0, 2.0, 4.0)]
    assert all(b > a for a, b in zip(vals, vals[1:]))


# ------------------------------------------------------------------------------------------ C01


def test_c01_max_likelihood_equals_min_kl_on_a_gaussian_family():
    pm = ([0.3, 0.7], [-1.0, 2.0], [0.6, 1.0])
    mean_p, var_p = C.mixture_moments(*pm)
    lp = C.gaussian_mixture(*pm, log=True)
    pdf = C.gaussian_mixture(*pm)
    ent, ent_err = C.integrate_segments(lambda x: -pdf(x) * lp(x) if pdf(x) > 0 else 0.0, points=[-1, 2])
    mus = np.linspace(-1.0, 2.0, 7)
    variances = np.array([0.8, 1.5, var_p, 3.0])
    kls = np.empty((len(mus), len(variances)))
    for i, mu in enumerate(mus):
        for j, var in enumerate(variances):
            lq = lambda x, mu=mu, var=var: -0.5 * math.log(2 * math.pi * var) - (x - mu) ** 2 / (2 * var)  # noqa: E731
            kl, err = C.f_divergence(lp, lq, "kl", points=[-1, 2, mu], log_density=True)
            ell = G.gaussian_expected_log_likelihood(mean_p, var_p, mu, var)
            # KL(P||Q_theta) + E_P log q_theta = -H(P) for every theta: they differ by a constant
            assert abs(kl + ell + ent) <= err + ent_err + 1e-10
            kls[i, j] = kl
    # so the KL minimiser is the likelihood maximiser: moment matching
    ell_grid = G.gaussian_expected_log_likelihood(mean_p, var_p, mus[:, None], variances[None, :])
    assert np.unravel_index(np.argmin(kls), kls.shape) == np.unravel_index(np.argmax(ell_grid), kls.shape)
    mu_star, var_star = mean_p, var_p
    kl_star = C.f_divergence(lp, lambda x: -0.5 * math.log(2 * math.pi * var_star) - (x - mu_star) ** 2 / (2 * var_star),
                             "kl", points=[-1, 2], log_density=True)[0]
    assert kl_star <= kls.min() + 1e-10
    # the MLE from samples converges to the KL minimiser (CLT: 4 standard errors)
    rng = np.random.default_rng(11)
    n = 200_000
    comp = rng.choice(2, size=n, p=pm[0])
    x = rng.normal(np.array(pm[1])[comp], np.array(pm[2])[comp])
    mu_hat, var_hat = G.gaussian_ml_fit(x)
    m4, _ = C.integrate_segments(lambda t: pdf(t) * (t - mean_p) ** 4, points=[-1, 2])
    assert abs(mu_hat - mean_p) <= 4 * math.sqrt(var_p / n)
    assert abs(var_hat - var_p) <= 4 * math.sqrt((m4 - var_p ** 2) / n) + var_p / n
