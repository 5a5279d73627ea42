"""Wasserstein distances (C06, C13, C14): exact solvers against POT and scipy, closed forms,
convergence honesty, safe gradients, and the Kantorovich-Rubinstein dual estimator."""

from __future__ import annotations

import math
import warnings

import numpy as np
import ot
import pytest
import scipy.stats as st
import torch
from scipy.special import ndtr, ndtri

import divergences as dv
from divergences.critics import gradient_norm_max, mlp_critic, spectral_lipschitz_bound


def _rand_weights(rng: np.random.Generator, n: int) -> np.ndarray:
    w = rng.random(n) + 0.05
    return w / w.sum()


# ------------------------------------------------------------------ exact solvers vs peers
@pytest.mark.parametrize("n,m", [(40, 40), (37, 61)])
def test_wasserstein_1d_matches_scipy_and_pot(rng, n, m):
    x, y = rng.normal(size=n), rng.normal(1.0, 2.0, size=m)
    a, b = _rand_weights(rng, n), _rand_weights(rng, m)
    # p = 1 against scipy (uniform and weighted), p = 2 against POT's exact LP
    assert dv.wasserstein(x, y) == pytest.approx(st.wasserstein_distance(x, y), rel=1e-12)
    assert dv.wasserstein(x, y, x_weights=a, y_weights=b) == pytest.approx(
        st.wasserstein_distance(x, y, a, b), rel=1e-12)
    for p in (1, 2, 3):
        sort_val = dv.wasserstein_pow(x, y, p, a, b, method="sort")
        lp_val = ot.emd2(a, b, np.abs(x[:, None] - y[None, :]) ** p)
        assert sort_val == pytest.approx(lp_val, rel=1e-9)
        assert dv.wasserstein(x, y, p, a, b) == pytest.approx(lp_val ** (1 / p), rel=1e-9)
        assert dv.wasserstein(x, y, p, a, b, method="emd") == pytest.approx(lp_val ** (1 / p), rel=1e-9)


@pytest.mark.parametrize("d", [2, 5])
def test_wasserstein_matches_pot_emd2(rng, d):
    x, y = rng.normal(size=(60, d)), rng.normal(0.5, 1.5, size=(45, d))
    a, b = _rand_weights(rng, 60), _rand_weights(rng, 45)
    w1 = ot.emd2(a, b, ot.dist(x, y, metric="euclidean"))
    w2sq = ot.emd2(a, b, ot.dist(x, y))  # POT's default metric: squared Euclidean -> W2^2
    assert dv.wasserstein(x, y, 1, a, b) == pytest.approx(w1, rel=1e-9)
    assert dv.wasserstein_pow(x, y, 2, a, b) == pytest.approx(w2sq, rel=1e-9)
    assert dv.wasserstein(x, y, 2, a, b) == pytest.approx(math.sqrt(w2sq), rel=1e-9)
    # POT's pitfall: its default metric (squared Euclidean) does not give W1
    assert abs(w2sq - dv.wasserstein(x, y, 1, a, b)) > 1e-3


def test_torch_in_torch_out_and_numpy_float(rng):
    x, y = rng.normal(size=(30, 3)), rng.normal(size=(20, 3))
    v_np = dv.wasserstein(x, y)
    v_t = dv.wasserstein(torch.tensor(x), torch.tensor(y))
    assert isinstance(v_np, float) and isinstance(v_t, torch.Tensor) and v_t.ndim == 0
    assert float(v_t) == pytest.approx(v_np, rel=1e-12)


# ------------------------------------------------------------------ closed forms
@pytest.mark.parametrize("theta", [-2.5, -0.3, 0.7, 4.0])
def test_c06_parallel_lines_w1_is_abs_theta(rng, theta):
    """X = (0, Z), Y = (theta, Z): W1 = |theta| exactly, also between the empirical measures
    built on the same Z (the dual critic f(x) = x_1 and the straight coupling meet)."""
    z = rng.uniform(size=200)
    x = np.stack([np.zeros_like(z), z], axis=1)
    y = np.stack([np.full_like(z, theta), z], axis=1)
    assert dv.wasserstein(x, y, p=1) == pytest.approx(abs(theta), rel=1e-12)


@pytest.mark.parametrize("p", [1, 2, 3])
def test_translation_gives_shift_norm(rng, p):
    """W_p(mu, mu + v) = ||v|| for every p >= 1 (Jensen lower bound, translation coupling)."""
    x = rng.normal(size=(80, 3))
    v = np.array([0.3, -1.2, 0.5])
    assert dv.wasserstein(x, x + v, p=p) == pytest.approx(np.linalg.norm(v), rel=1e-10)


def _w2_to_normal(sample: np.ndarray, mean: float, sd: float) -> float:
    """Exact W2 between a 1-D empirical measure and N(mean, sd^2) via the quantile coupling:
    sum_i int_{z_{i-1}}^{z_i} (s_(i) - mean - sd z)^2 phi(z) dz with Gaussian partial moments."""
    s = np.sort(sample)
    n = s.size
    z = ndtri(np.arange(n + 1) / n)  # -inf, ..., +inf
    phi = np.where(np.isfinite(z), np.exp(-0.5 * np.where(np.isfinite(z), z, 0) ** 2) / math.sqrt(2 * math.pi), 0.0)
    m0 = np.diff(ndtr(z))                              # int phi
    m1 = -np.diff(phi)                                 # int z phi
    zphi = np.where(np.isfinite(z), np.where(np.isfinite(z), z, 0) * phi, 0.0)
    m2 = np.diff(ndtr(z) - zphi)                       # int z^2 phi
    c = s - mean
    return math.sqrt(max(np.sum(c ** 2 * m0 - 2 * c * sd * m1 + sd ** 2 * m2), 0.0))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gaussian_closed_form_w2_by_monte_carlo(seed):
    """|W2(P_n, Q_m) - W2(P, Q)| <= W2(P_n, P) + W2(Q_m, Q) (triangle inequality): a rigorous
    Monte Carlo error bound, computed exactly in 1-D. P = N(0.4, 1), Q = N(-1, 0.5^2)."""
    g = np.random.default_rng(seed)
    (m0, s0), (m1, s1) = (0.4, 1.0), (-1.0, 0.5)
    x, y = g.normal(m0, s0, 3000), g.normal(m1, s1, 2500)
    exact = dv.wasserstein_gaussian(np.array([m0]), np.array([[s0 ** 2]]), np.array([m1]), np.array([[s1 ** 2]]))
    assert float(exact) == pytest.approx(math.hypot(m0 - m1, s0 - s1), rel=1e-10)
    bound = _w2_to_normal(x, m0, s0) + _w2_to_normal(y, m1, s1)
    assert bound < 0.1  # the check below is informative
    assert abs(dv.wasserstein(x, y, p=2) - float(exact)) <= bound


# ------------------------------------------------------------------ convergence honesty
def test_num_iter_max_too_small_raises_or_warns(rng):
    x, y = rng.normal(size=(150, 2)), rng.normal(size=(150, 2)) + 0.5
    exact = dv.wasserstein(x, y)
    with pytest.raises(dv.OTConvergenceError, match="result code 3"):
        dv.wasserstein(x, y, num_iter_max=20)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        bad = dv.wasserstein(x, y, num_iter_max=20, on_nonconvergence="warn")
    assert any(issubclass(r.category, dv.OTConvergenceWarning) for r in rec)
    assert abs(bad - exact) > 1e-3  # the premature value is wrong: hence the error by default


def test_default_iteration_limit_scales_with_problem_size():
    assert dv.default_num_iter_max(10, 10) == 100_000  # POT's default for small problems
    assert dv.default_num_iter_max(5000, 5000) == 50 * 5000 * 5000


@pytest.mark.slow
def test_large_problem_converges_where_pot_default_fails():
    """POT's default iteration limit (1e5) fails from n ~ 2000 in 64-D; ours converges."""
    g = np.random.default_rng(3)
    x, y = g.normal(size=(2000, 64)), g.normal(size=(2000, 64))
    a = np.full(2000, 1 / 2000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, log = ot.emd2(a, a, ot.dist(x, y, metric="euclidean"), log=True)
    assert log["result_code"] == 3
    assert dv.wasserstein(x, y) > 0  # raises OTConvergenceError if it did not converge


def test_sinkhorn_nonconvergence_raises(rng):
    x, y = rng.normal(size=(40, 2)), rng.normal(size=(40, 2))
    with pytest.raises(dv.OTConvergenceError):
        dv.sinkhorn(x, y, reg=1e-3, num_iter_max=3)


# ------------------------------------------------------------------ numerics and gradients
@pytest.mark.parametrize("p", [1, 1.5, 2])
def test_gradients_finite_at_coincident_points(rng, p):
    base = rng.normal(size=(12, 3))
    x = torch.tensor(base, requires_grad=True)
    y = torch.tensor(np.concatenate([base[:6], rng.normal(size=(6, 3))]), requires_grad=True)
    for fn in (lambda: dv.wasserstein(x, x.detach().clone(), p=p),        # all coincide: W = 0
               lambda: dv.wasserstein(x, y, p=p),                         # some coincide
               lambda: dv.sliced_wasserstein(x, x.detach().clone(), p=p, n_projections=16),
               lambda: dv.sinkhorn(x, y, reg=0.5, p=p),
               lambda: dv.ground_cost(x, y, p=p).sum()):
        x.grad = None
        val = fn()
        val.backward()
        assert torch.isfinite(val) and torch.isfinite(x.grad).all()


def test_gradient_of_w1_matches_transport_direction():
    """For x = y + v (translation), d W1 / d x_i = v / (n ||v||): the envelope theorem."""
    g = np.random.default_rng(5)
    y = torch.tensor(g.normal(size=(10, 2)))
    v = torch.tensor([0.05, -0.02], dtype=torch.float64)
    x = (y + v).requires_grad_(True)
    dv.wasserstein(x, y, p=1).backward()
    assert torch.allclose(x.grad, (v / v.norm() / 10).expand(10, 2), atol=1e-12)


def test_far_from_origin_cost_is_accurate():
    """Centring keeps the Gram form exact-enough far from the origin (n m d > 4e6 path)."""
    g = np.random.default_rng(6)
    x, y = g.normal(size=(1500, 2)), g.normal(size=(1500, 2))
    shift = 1e6
    c_far = dv.ground_cost(x + shift, y + shift, p=1)
    c_ref = np.sqrt(((x[:, None, :] - y[None, :, :]) ** 2).sum(-1))
    assert np.max(np.abs(c_far - c_ref)) < 1e-6
    # the naive formula without centring loses everything at this offset
    xs, ys = x + shift, y + shift
    naive = np.sqrt(np.clip((xs ** 2).sum(1)[:, None] + (ys ** 2).sum(1)[None] - 2 * xs @ ys.T, 0, None))
    assert np.max(np.abs(naive - c_ref)) > 1e-3


# ------------------------------------------------------------------ sliced and Sinkhorn
def test_sliced_equals_exact_in_1d_and_is_below_exact(rng):
    x, y = rng.normal(size=50), rng.normal(0.5, 2.0, size=50)
    assert dv.sliced_wasserstein(x, y, p=2, n_projections=3) == pytest.approx(dv.wasserstein(x, y, p=2), rel=1e-12)
    X, Y = rng.normal(size=(60, 3)), rng.normal(size=(60, 3)) * 1.5 + 0.3
    # projections are 1-Lipschitz, so every slice is <= W_p and so is the average
    assert dv.sliced_wasserstein(X, Y, p=2, n_projections=200) <= dv.wasserstein(X, Y, p=2) + 1e-12


def test_sliced_of_a_shift_matches_sphere_moment():
    """SW_2^2(mu, mu + v) = E_theta (theta.v)^2 = ||v||^2/d; (theta_1)^2 ~ Beta(1/2, (d-1)/2)
    has variance 2(d-1)/(d^2 (d+2)), so L projections give SE ||v||^2 sqrt(var/L)."""
    d, L = 4, 4000
    g = np.random.default_rng(7)
    x = g.normal(size=(30, d))
    v = np.array([1.5, 0.0, 0.0, 0.0])
    sw2 = dv.sliced_wasserstein(x, x + v, p=2, n_projections=L, seed=11) ** 2
    se = 1.5 ** 2 * math.sqrt(2 * (d - 1) / (d ** 2 * (d + 2)) / L)
    assert abs(sw2 - 1.5 ** 2 / d) <= 4 * se


def test_sinkhorn_entropic_bounds_and_dual_value():
    """0 <= OT_eps - W_p^p <= eps log n (uniform weights, n = m), the debiased divergence lies
    within eps log n of W_p^p and vanishes for identical samples; OT_eps equals POT's dual
    objective eps(<a, log(u/a)> + <b, log(v/b)>) at the converged scalings."""
    g = np.random.default_rng(8)
    n, eps = 50, 0.1
    x, y = g.normal(size=(n, 2)), g.normal(size=(n, 2)) + 0.7
    w = dv.wasserstein_pow(x, y, p=2)
    ent = dv.sinkhorn(x, y, reg=eps, p=2, debiased=False, num_iter_max=50_000)
    assert -1e-9 <= ent - w <= eps * math.log(n)
    div = dv.sinkhorn(x, y, reg=eps, p=2, num_iter_max=50_000)
    assert abs(div - w) <= eps * math.log(n)
    assert abs(dv.sinkhorn(x, x.copy(), reg=eps)) < 1e-8
    a = np.full(n, 1 / n)
    _, log = ot.sinkhorn(a, a, ot.dist(x, y), eps, method="sinkhorn_log", log=True, stopThr=1e-9,
                          numItermax=20_000, warn=False)
    dual = eps * (np.sum(a * (log["log_u"] - np.log(a))) + np.sum(a * (log["log_v"] - np.log(a))))
    assert ent == pytest.approx(dual, rel=1e-6)


# ------------------------------------------------------------------ validation
def test_validation_errors(rng):
    x, y = rng.normal(size=(10, 2)), rng.normal(size=(8, 2))
    with pytest.raises(ValueError, match="dimension mismatch"):
        dv.wasserstein(x, rng.normal(size=(8, 3)))
    with pytest.raises(ValueError, match="non-finite"):
        dv.wasserstein(np.where(np.eye(10, 2) > 0, np.nan, x), y)
    with pytest.raises(ValueError, match="empty"):
        dv.wasserstein(np.zeros((0, 2)), y)
    with pytest.raises(ValueError, match="p:"):
        dv.wasserstein(x, y, p=0.5)
    with pytest.raises(ValueError, match="x_weights"):
        dv.wasserstein(x, y, x_weights=np.ones(10))
    with pytest.raises(ValueError, match="y_weights"):
        dv.wasserstein(x, y, y_weights=np.full(7, 1 / 7))
    with pytest.raises(ValueError, match="method"):
        dv.wasserstein(x, y, method="sort")
    with pytest.raises(ValueError, match="reg"):
        dv.sinkhorn(x, y, reg=0.0)
    with pytest.raises(ValueError, match="n_projections"):
        dv.sliced_wasserstein(x, y, n_projections=0)


# ------------------------------------------------------------------ C13: dual estimator, C14
def test_c13_dual_estimator_below_and_close_to_w1():
    """Kantorovich-Rubinstein with a spectrally normalised (1-Lipschitz) critic: the held-out
    E_P f - E_Q f estimates a lower bound on W1(P, Q) = |theta| = 1 for N(0,1) vs N(1,1), so it
    is <= 1 + 4 SE; and training gets close: >= 1 - 4 SE - 0.1 (0.1 = our allowance for the
    optimisation gap of 400 Adam steps, a choice, not a theorem)."""
    g = np.random.default_rng(9)
    x, y = g.normal(size=(1000, 1)), g.normal(size=(1000, 1)) + 1.0
    res = dv.wasserstein_dual(x, y, lipschitz="sn", steps=400, hidden=(32,), batch_size=None, seed=0)
    assert res.trace.shape == (400,) and np.isfinite(res.trace).all()
    assert res.lipschitz <= 1.0 + 1e-3  # C17: spectral normalisation keeps ||grad f|| <= 1
    assert res.estimate <= 1.0 + 4 * res.stderr
    assert res.estimate >= 1.0 - 4 * res.stderr - 0.1


def test_c16_gradient_penalty_dual_estimate():
    """WGAN-GP critic: the penalty drives ||grad f|| to ~1 and the estimate to W1 = 1 (same
    allowances as above; the soft constraint can overshoot by a little)."""
    g = np.random.default_rng(10)
    x, y = g.normal(size=(1000, 1)), g.normal(size=(1000, 1)) + 1.0
    res = dv.wasserstein_dual(x, y, lipschitz="gp", steps=300, hidden=(32,), batch_size=None, seed=1)
    assert abs(res.estimate - 1.0) <= 4 * res.stderr + 0.1
    assert 0.8 <= res.lipschitz <= 1.3


def test_dual_estimator_is_seeded_and_leaves_global_rng_alone():
    g = np.random.default_rng(12)
    x, y = g.normal(size=(200, 2)), g.normal(size=(200, 2)) + 0.5
    state = torch.random.get_rng_state()
    r1 = dv.wasserstein_dual(x, y, "clip", steps=20, hidden=(8,), seed=4, lr=1e-2)
    r2 = dv.wasserstein_dual(x, y, "clip", steps=20, hidden=(8,), seed=4, lr=1e-2)
    assert torch.equal(state, torch.random.get_rng_state())
    assert r1.estimate == r2.estimate and np.array_equal(r1.trace, r2.trace)
    with pytest.raises(ValueError, match="lipschitz"):
        dv.wasserstein_dual(x, y, "box")


def test_c14_lipschitz_constant_is_sup_gradient_norm():
    """C14 on examples: f(x) = tanh(3 x) has ||f||_Lip = 3 = |f'(0)|; for a random MLP on a 1-D
    grid of step h, the largest difference quotient and the largest |f'| differ by at most
    h/2 max|f''| (Taylor), and both lie below the spectral-norm product bound."""
    grid = torch.linspace(-3, 3, 6001, dtype=torch.float64)[:, None]
    assert gradient_norm_max(lambda t: torch.tanh(3 * t), grid) == pytest.approx(3.0, rel=1e-12)
    f = mlp_critic(1, (16, 16), activation="tanh", seed=3, dtype=torch.float64)
    with torch.no_grad():
        vals = f(grid)[:, 0]
    h = float(grid[1, 0] - grid[0, 0])
    quot = float((vals.diff() / h).abs().max())
    second = float((vals.diff().diff() / h ** 2).abs().max())
    sup_grad = gradient_norm_max(f, grid)
    assert abs(quot - sup_grad) <= h / 2 * second * 1.01 + 1e-12
    assert sup_grad <= spectral_lipschitz_bound(f) + 1e-12
    # pairs far apart never beat the sup of the gradient norm (mean value theorem)
    g = np.random.default_rng(13)
    i, j = g.integers(0, 6001, size=(2, 2000))
    keep = i != j
    pair_q = ((vals[i] - vals[j]).abs() / (grid[i, 0] - grid[j, 0]).abs())[torch.tensor(keep)]
    assert float(pair_q.max()) <= sup_grad + h * second
