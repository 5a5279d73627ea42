"""C09-C12: the f-divergence registry, its Fenchel conjugates and the variational forms.

The closed-form conjugates of :mod:`divergences.fdiv` are checked three ways on the whole
real line (interior, boundary branch at ``u = 0``, closed end of the domain, beyond it):
against the sympy derivation, against a brute-force supremum over ``u >= 0`` (a log grid
refined by bounded Brent search, so the only error is floating point), and by the convex
analysis identities (convexity, Fenchel-Young, ``f** = f``).
"""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar
from scipy.special import lambertw

import divergences as dv
from divergences import _fdiv_symbolic as sym

CASES = [(n, {}) for n in dv.fdiv.names() if n != "alpha"] + [
    ("alpha", {"alpha": a}) for a in (2.0, 3.0, 1.5, 0.5, -1.0, -0.5)]
IDS = [n if not kw else f"alpha={kw['alpha']:g}" for n, kw in CASES]
REQUIRED = ["kl", "reverse_kl", "pearson", "neyman", "squared_hellinger", "jeffreys", "js", "gan",
            "tv", "alpha"]

# u grid for brute-force suprema: 0, a log grid over [1e-10, 1e8], and 1 exactly (TV's kink)
U_GRID = np.unique(np.concatenate([[0.0, 1.0], np.logspace(-10, 8, 4001)]))
REL = 1e-8  # floating point only: the refined supremum is exact up to rounding


def _entry(name: str, kw: dict):
    return dv.fdiv.get(name, **kw)


def _objective(e, t: float, u: np.ndarray | float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return t * np.asarray(u, dtype=float) - e.f(u)


def _numerical_sup(e, t: float) -> tuple[float, float]:
    """sup_{u >= 0}(u t - f(u)) on the grid, refined by Brent's method around the best node."""
    vals = _objective(e, t, U_GRID)
    vals = np.where(np.isnan(vals), -np.inf, vals)
    k = int(np.argmax(vals))
    best, u_best = float(vals[k]), float(U_GRID[k])
    if 0 < k < len(U_GRID) - 1:
        a, b = U_GRID[k - 1], U_GRID[k + 1]
        res = minimize_scalar(lambda x: -float(_objective(e, t, x)), bounds=(a, b), method="bounded",
                              options={"xatol": 1e-14 * max(1.0, b)})
        if -res.fun > best:
            best, u_best = float(-res.fun), float(res.x)
    return best, u_best


def _test_points(e) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(t, u*(t)) pairs: the interior (t = f'(u) for u spread over 14 decades), the u = 0
    branch below a finite f'(0+), a closed right end (u* = inf), points beyond the right end."""
    us = np.logspace(-6, 7, 40)
    interior = np.asarray(e.f_prime(us), dtype=float)
    lo_fp = float(e.f_prime(0.0))
    below = lo_fp - np.array([1e-3, 0.5, 3.0, 20.0]) if math.isfinite(lo_fp) else np.array([])
    hi = e.domain[1]
    closed_end = np.array([hi]) if (math.isfinite(hi) and e.domain_closed[1]) else np.array([])
    beyond = hi + np.array([1e-2, 0.5, 4.0]) if math.isfinite(hi) else np.array([])
    return {"interior": (interior, us), "below": (below, np.zeros_like(below)),
            "closed_end": (closed_end, np.full_like(closed_end, np.inf)),
            "beyond": (beyond, np.full_like(beyond, np.nan))}


def _sym_value(expr: sp.Expr, t: float, exact: bool = False) -> float:
    """The sympy Piecewise at t to 30 digits; ``exact`` substitutes the rational nearest t
    (for closed domain ends such as 2/3, which a float misses)."""
    if exact:
        v = sp.N(expr.subs(sym.T, sp.nsimplify(t)), 30)
        return math.inf if v in (sp.oo, sp.zoo) else float(v)
    with mpmath.workdps(30):  # local precision: mpmath's mp.dps is process-wide state
        return float(sp.lambdify(sym.T, expr, "mpmath")(mpmath.mpf(t)))


def test_registry_has_required_names_and_api():
    assert all(n in dv.fdiv.names() for n in REQUIRED)
    for name, kw in CASES:
        e = _entry(name, kw)
        assert isinstance(e, dv.fdiv.FDivergence)
        for attr in ("f", "f_prime", "conjugate", "activation"):
            assert callable(getattr(e, attr))
        lo, hi = e.domain
        assert lo < hi
        # f(1) = 0 normalisation (gan is the shifted generator with f(1) = -log 4)
        assert e.f(1.0) == pytest.approx(-math.log(4.0) if name == "gan" else 0.0, abs=1e-15)
        u = np.array([0.3, 1.7, 5.0])
        assert np.allclose(e.optimal_critic(u), e.f_prime(u), rtol=0, atol=0)


@pytest.mark.parametrize(("name", "kw"), CASES, ids=IDS)
def test_c08_generator_limits_and_derivative_match_sympy(name, kw):
    """f(0+) and f'(inf) = lim f(u)/u (used for the zero-probability terms) and f' are exact."""
    e = _entry(name, kw)
    f = sym.generator_expr(name, **kw)
    f0 = sp.limit(f, sym.U, 0, "+")
    slope = sp.limit(f / sym.U, sym.U, sp.oo)
    assert (math.isinf(e.f_at_zero) and f0 == sp.oo) or e.f_at_zero == pytest.approx(float(f0), rel=1e-14)
    assert (math.isinf(e.slope_at_infinity) and slope == sp.oo) or e.slope_at_infinity == pytest.approx(
        float(slope), rel=1e-14, abs=1e-15)
    fp = sp.diff(f, sym.U)
    for u in (0.05, 0.7, 1.3, 9.0):
        assert float(e.f(u)) == pytest.approx(float(f.subs(sym.U, sp.Rational(str(u)))), rel=1e-13, abs=1e-15)
        if name != "tv":
            assert float(e.f_prime(u)) == pytest.approx(float(fp.subs(sym.U, sp.Rational(str(u)))),
                                                        rel=1e-12, abs=1e-14)


@pytest.mark.parametrize(("name", "kw"), CASES, ids=IDS)
def test_c09_closed_form_conjugate_matches_numerical_supremum(name, kw):
    e = _entry(name, kw)
    pts = _test_points(e)
    for region in ("interior", "below"):
        for t in pts[region][0]:
            closed = float(e.conjugate(float(t)))
            num, u_star = _numerical_sup(e, float(t))
            assert math.isfinite(closed), (region, t)
            assert closed == pytest.approx(num, rel=REL, abs=REL), (region, t, u_star)
            if region == "below":  # the boundary branch: the supremum sits at u = 0
                assert u_star == 0.0 and closed == pytest.approx(-e.f_at_zero, rel=1e-14)
    hi = e.domain[1]
    for t in pts["closed_end"][0]:
        # u*hi - f(u) is non-decreasing (f' <= hi) and tends to f*(hi) as u -> inf (for TV it is
        # attained from u = 1 on); 1e6 keeps u*hi - f(u) clear of cancellation
        closed = float(e.conjugate(float(t)))
        g = _objective(e, float(t), np.logspace(0, 6, 7))
        assert np.all(np.diff(g) >= -1e-12) and np.all(g <= closed + 1e-12)
        deficit = closed - g
        assert deficit[-1] <= 1e-12 or deficit[-1] < 1e-2 * deficit[0]
    for t in pts["beyond"][0]:
        assert e.conjugate(float(t)) == math.inf
        # u t - f(u) >= (t - hi) u + (hi - f(1)) since u hi - f(u) increases: unbounded
        assert _objective(e, float(t), 1e12) >= (t - hi) * 1e12 + hi - float(e.f(1.0)) - 1e-3 * 1e12 * (t - hi)
    if math.isfinite(hi) and not e.domain_closed[1]:
        assert e.conjugate(hi) == math.inf
        g = _objective(e, hi, np.logspace(0, 6, 7))
        assert np.all(np.diff(g) > 0)  # increases without a finite limit (sympy: oo)


@pytest.mark.parametrize(("name", "kw"), CASES, ids=IDS)
def test_c09_closed_form_conjugate_matches_sympy_derivation(name, kw):
    e = _entry(name, kw)
    expr = dv.fdiv.symbolic_conjugate(name, **kw)
    assert expr.free_symbols <= {sym.T}
    pts = _test_points(e)
    for region, (ts, u_stars) in pts.items():
        for t, u_star in zip(ts, u_stars):
            closed = float(e.conjugate(float(t)))
            s = _sym_value(expr, float(t), exact=(region == "closed_end"))
            if math.isinf(closed):
                assert math.isinf(s) and s > 0, (region, t, s)
            else:
                # rounding of t alone moves f*(t) by ~eps |t| (f*)'(t) = eps |t| u*(t)
                tol = 1e-12 * (1 + abs(s)) + (4e-16 * abs(t) * u_star if math.isfinite(u_star) else 0.0)
                assert abs(closed - s) <= tol, (region, t, closed, s)
    hi = e.domain[1]
    if math.isfinite(hi) and not e.domain_closed[1]:
        hi_exact = sp.limit(sp.diff(sym.generator_expr(name, **kw), sym.U), sym.U, sp.oo)
        assert float(hi_exact) == pytest.approx(hi, rel=1e-15)
        assert expr.subs(sym.T, hi_exact) == sp.oo


def test_c09_naive_table_formulas_fail_on_the_boundary_branch():
    """Nowozin et al. 2016 Table 2 omits the domain: without the u >= 0 constraint Pearson and alpha > 1 are wrong."""
    pearson = dv.fdiv.get("pearson")
    t = -3.0
    assert pearson.conjugate(t) == -1.0
    assert t + t * t / 4 != pytest.approx(-1.0)  # the naive formula is wrong here
    assert _numerical_sup(pearson, t)[0] == pytest.approx(-1.0, abs=1e-12)
    assert sp.simplify(dv.fdiv.symbolic_conjugate("pearson").subs(sym.T, -3) + 1) == 0
    a2 = dv.fdiv.get("alpha", alpha=2.0)
    assert a2.conjugate(-2.0) == -0.5
    assert ((1 + (2 - 1) * -2.0) ** 2 - 1) / 2 != pytest.approx(-0.5)
    tv = dv.fdiv.get("tv")
    assert list(tv.conjugate(np.array([-2.0, -0.5, 0.2, 0.5, 0.6]))) == [-0.5, -0.5, 0.2, 0.5, math.inf]


@pytest.mark.parametrize(("name", "kw"), CASES, ids=IDS)
def test_c09_conjugate_is_convex(name, kw):
    e = _entry(name, kw)
    lo_t = max(e.domain[0], float(e.f_prime(1e-5)) - 5.0)
    hi = e.domain[1]
    hi_t = hi if e.domain_closed[1] else (hi - 1e-3 if math.isfinite(hi) else float(e.f_prime(1e5)))
    ts = np.linspace(lo_t, hi_t, 2001)
    v = np.asarray(e.conjugate(ts))
    assert np.all(np.isfinite(v))
    second = v[2:] - 2 * v[1:-1] + v[:-2]
    assert np.all(second >= -1e-9 * (1 + np.abs(v[1:-1])))
    # also midpoint convexity on random pairs
    rng = np.random.default_rng(9)
    a, b = rng.uniform(lo_t, hi_t, 500), rng.uniform(lo_t, hi_t, 500)
    lhs = np.asarray(e.conjugate((a + b) / 2))
    rhs = (np.asarray(e.conjugate(a)) + np.asarray(e.conjugate(b))) / 2
    assert np.all(lhs <= rhs + 1e-12 * (1 + np.abs(rhs)))


@pytest.mark.parametrize(("name", "kw"), CASES, ids=IDS)
def test_c09_fenchel_young_inequality_and_equality_at_f_prime(name, kw):
    e = _entry(name, kw)
    u = np.logspace(-4, 4, 81)[:, None]
    lo_t = max(e.domain[0], -30.0)
    hi = e.domain[1]
    hi_t = hi if (e.domain_closed[1] or not math.isfinite(hi)) else hi - 1e-6
    t = np.linspace(lo_t, min(hi_t, 30.0), 301)[None, :]
    gap = e.f(u) + e.conjugate(t) - u * t
    assert np.all(gap >= -1e-9 * (1 + np.abs(u * t)))
    # equality at t = f'(u) (for TV, u = 1 is the kink: f'(1) = 0 is a subgradient there too)
    tu = e.f_prime(u)
    eq = e.f(u) + e.conjugate(tu) - u * tu
    assert np.allclose(eq, 0.0, atol=1e-9 * (1 + np.abs(u * tu)).max())


@pytest.mark.parametrize(("name", "kw"), CASES, ids=IDS)
def test_c09_biconjugate_recovers_f(name, kw):
    """f**(u) = sup_t (u t - f*(t)) = f(u) (f convex, lsc): Brent over the effective domain."""
    e = _entry(name, kw)
    lo, hi = e.domain
    for u in (0.01, 0.4, 1.0, 2.5, 60.0):
        a = max(lo, float(e.f_prime(u)) - 20.0) if name != "tv" else -3.0
        if math.isfinite(hi):
            b = hi if e.domain_closed[1] else hi - 1e-13 * max(1.0, abs(hi))
        else:
            b = float(e.f_prime(u)) + 20.0
        res = minimize_scalar(lambda s: -(u * s - float(e.conjugate(s))), bounds=(a, b), method="bounded",
                              options={"xatol": 1e-12})
        fstarstar = -res.fun
        # concave in t, so Brent's value is within O(xatol * |u - (f*)'|) of the sup
        assert fstarstar == pytest.approx(float(e.f(u)), rel=1e-7, abs=1e-7), u


@pytest.mark.parametrize(("name", "kw"), CASES, ids=IDS)
def test_activation_maps_reals_into_the_domain(name, kw):
    e = _entry(name, kw)
    v = torch.linspace(-30, 30, 601, dtype=torch.float64)
    t = e.activation(v)
    assert bool(e.in_domain(t).all())
    assert bool(torch.isfinite(e.conjugate(t)).all())
    # monotone, so the optimal critic f'(u) is reachable (up to the closure of the range)
    assert bool((torch.diff(t) >= 0).all())
    us = np.array([0.1, 0.5, 2.0, 10.0])
    tstar = np.asarray(e.optimal_critic(us))
    assert np.all(e.in_domain(tstar) | ~np.isfinite(tstar))


@pytest.mark.parametrize(("name", "kw"), CASES, ids=IDS)
def test_torch_conjugate_matches_numpy_and_has_the_argmax_as_gradient(name, kw):
    e = _entry(name, kw)
    us = torch.logspace(-3, 3, 25, dtype=torch.float64)
    if name == "tv":
        us = us[(us - 1).abs() > 1e-9]
    t = e.f_prime(us).detach().clone().requires_grad_(True)
    val = e.conjugate(t)
    assert isinstance(val, torch.Tensor) and val.dtype == torch.float64
    assert np.allclose(val.detach().numpy(), e.conjugate(t.detach().numpy()), rtol=1e-14, atol=0)
    (g,) = torch.autograd.grad(val.sum(), t)
    if name == "tv":  # f* is piecewise linear: slope 1 inside [-1/2, 1/2), 0 below
        assert torch.all((g == 0) | (g == 1))
    else:  # envelope theorem: (f*)'(f'(u)) = u
        assert torch.allclose(g, us, rtol=1e-9)
    # out of the domain: value +inf, gradient 0 (never NaN)
    hi = e.domain[1]
    if math.isfinite(hi):
        tb = torch.tensor([hi + 0.5, hi + 3.0], dtype=torch.float64, requires_grad=True)
        vb = e.conjugate(tb)
        assert torch.all(torch.isinf(vb))
        (gb,) = torch.autograd.grad(vb.sum(), tb)
        assert not torch.isnan(gb).any()
    t32 = e.activation(torch.linspace(-5, 5, 11, dtype=torch.float32))
    assert e.conjugate(t32).dtype == torch.float32


def test_jeffreys_lambert_w_branch_matches_scipy():
    e = dv.fdiv.get("jeffreys")
    t = np.linspace(-40, 30, 301)
    w = np.real(lambertw(np.exp(1 - t)))
    ref = w + 1 / w + t - 2  # Nowozin et al. 2016, Table 5
    assert np.allclose(e.conjugate(t), ref, rtol=1e-12)
    t32 = torch.linspace(-40, 30, 71, dtype=torch.float32)
    assert np.allclose(e.conjugate(t32).numpy(), e.conjugate(t32.double().numpy()), rtol=1e-5)


def test_c11_kl_conjugate_is_exp_t_minus_1():
    expr = dv.fdiv.symbolic_conjugate("kl")
    assert sp.simplify(expr - sp.exp(sym.T - 1)) == 0
    t = np.linspace(-20, 5, 51)
    assert np.allclose(dv.fdiv.get("kl").conjugate(t), np.exp(t - 1), rtol=1e-15)


def test_c11_seed003_js_conjugate_and_gan_objective_substitution(rng):
    """Seed 003: f(s) = s log s - (s+1) log(s+1) + log 4 has f*(t) = -log(1 - e^t) - log 4, t < 0;
    with T = log D the bound E_P T - E_Q f*(T) is the GAN objective + log 4 (C11, C03)."""
    s = sym.U
    f003 = s * sp.log(s) - (s + 1) * sp.log(s + 1) + sp.log(4)
    derived = sym.conjugate_of(f003)
    target = -sp.log(1 - sp.exp(sym.T)) - sp.log(4)
    for t in (-8, -2, sp.Rational(-1, 3), sp.Rational(-1, 1000)):
        assert sp.N(derived.subs(sym.T, t) - target.subs(sym.T, t), 40) == pytest.approx(0, abs=1e-30)
    assert derived.subs(sym.T, 0) == sp.oo and derived.subs(sym.T, 1) == sp.oo
    gan = dv.fdiv.get("gan")
    f003_star = lambda t: gan.conjugate(t) - math.log(4)  # noqa: E731  (f shifted by log 4)
    p = rng.dirichlet(np.ones(6))
    q = rng.dirichlet(np.ones(6))
    for _ in range(20):
        d = rng.uniform(0.01, 0.99, 6)
        bound = np.sum(p * np.log(d)) - np.sum(q * f003_star(np.log(d)))
        gan_value = np.sum(p * np.log(d)) + np.sum(q * np.log1p(-d))
        assert bound == pytest.approx(gan_value + math.log(4), rel=1e-13, abs=1e-13)
        assert bound <= 2 * dv.jsd(p, q) + 1e-13
    dstar = p / (p + q)
    best = np.sum(p * np.log(dstar)) - np.sum(q * f003_star(np.log(dstar)))
    assert best == pytest.approx(2 * dv.jsd(p, q), rel=1e-12)


@pytest.mark.parametrize(("name", "kw"), CASES, ids=IDS)
def test_c10_variational_form_attained_at_optimal_critic(name, kw, rng):
    e = _entry(name, kw)
    for _ in range(5):
        p = rng.dirichlet(np.ones(7))
        q = rng.dirichlet(np.ones(7))
        target = dv.f_divergence(p, q, name, **kw)
        tstar = e.optimal_critic(p / q)
        attained = np.sum(p * tstar) - np.sum(q * e.conjugate(tstar))
        assert attained == pytest.approx(target, rel=1e-11, abs=1e-12)
        for _ in range(20):  # any critic in the domain is a lower bound
            t = np.asarray(e.activation(rng.normal(0, 2, 7)))
            lower = np.sum(p * t) - np.sum(q * e.conjugate(t))
            assert lower <= target + 1e-12


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 9), st.integers(0, 2**32 - 1))
def test_c12_tv_is_the_sup_over_indicators(k, seed):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(k))
    q = rng.dirichlet(np.ones(k) * 0.5)
    best = max(abs(p[list(a)].sum() - q[list(a)].sum())
               for r in range(k + 1) for a in itertools.combinations(range(k), r))
    assert dv.tv(p, q) == pytest.approx(best, abs=1e-14)
    assert dv.f_divergence(p, q, "tv") == pytest.approx(best, abs=1e-14)
    # attained at the indicator of {p > q}: the optimal TV critic f'(p/q) = 1/2 sign(p/q - 1)
    a = p > q
    assert p[a].sum() - q[a].sum() == pytest.approx(best, abs=1e-14)
