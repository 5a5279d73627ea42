"""The entropic OT solver behind dv.sinkhorn (eps-scaling, stabilised over-relaxed scaling
iterations, Newton polishing for small problems): its value is POT's converged log-domain
Sinkhorn value, the symmetric update solves the same problem, and it stays in float64 on the
input's device.  OT_eps = <P, C> + eps KL(P || a b^T) (Feydy et al. 2019; Peyre & Cuturi 2019, Sec. 4.4)."""

from __future__ import annotations

import importlib
import math

import numpy as np
import ot
import pytest
import torch

import divergences as dv

W = importlib.import_module("divergences.wasserstein")


def _problem(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    g = np.random.default_rng(seed)
    x = g.standard_normal((n, 2))
    y = 1.2 * g.standard_normal((n, 2))
    y[:, 0] += 1.0
    return x, y


def _value_bound(cost: np.ndarray, n: int, tol: float) -> float:
    """At a plan whose marginals are off by r (||r||_2 <= tol), the primal value differs from the
    optimum by at most about max|f|, max|g| (<= the cost range) times ||r||_1 <= sqrt(2 n) tol; both
    solvers stop at their own tolerance, so twice that, plus float64 summation error."""
    return 2 * float(cost.max()) * math.sqrt(2 * n) * tol + n * n * 2.0 ** -52 * float(cost.max())


@pytest.mark.parametrize("reg", [1.0, 0.1])
def test_value_equals_pots_converged_sinkhorn(reg: float) -> None:
    """POT's dual value eps(<a, log(u/a)> + <b, log(v/b)>) is OT_eps at convergence; POT stops at
    stopThr 1e-9, the marginal tolerance the bound assumes for each solver.  POT's scaling form
    (``method="sinkhorn"``) and its log form iterate the same map to the same fixed point (10 870
    iterations at reg = 0.1 either way); the scaling form is used because here its smallest kernel
    entry, ``exp(-max M / reg)`` >= e^-543, is a normal float64 (>= 2.2e-308), so nothing underflows,
    and it runs ~25x faster than the log form (0.5 s against 13 s at reg = 0.1 on the 2-core VM)."""
    n = 300 if reg == 1.0 else 150
    x, y = _problem(n, 3)
    a = np.full(n, 1 / n)
    M = ot.dist(x, y)
    assert float(M.max()) / reg < 700, "the scaling form would underflow: use the log form"
    _, log = ot.sinkhorn(a, a, M, reg, method="sinkhorn", log=True, stopThr=1e-9,
                          numItermax=200_000, warn=False)
    ref = reg * (np.sum(a * (np.log(log["u"]) - np.log(a))) + np.sum(a * (np.log(log["v"]) - np.log(a))))
    got = dv.sinkhorn(x, y, reg=reg, p=2, debiased=False)
    assert abs(got - ref) <= _value_bound(M, n, 1e-9)


def test_symmetric_update_solves_the_same_problem() -> None:
    """OT_eps(a, a): the averaged symmetric update and the over-relaxed alternating one reach the
    same optimum (the problem is strictly convex), within the stopping bound."""
    x, _ = _problem(250, 4)
    xt = torch.from_numpy(x)
    a = torch.full((250,), 1 / 250, dtype=torch.float64)
    C = W._cost(xt, xt, 2.0)
    args = (0.5, 10_000, 1e-9, "raise")
    sym = float(W._entropic_ot(a, a, C, *args, symmetric=True))
    alt = float(W._entropic_ot(a, a, C, *args, symmetric=False))
    assert abs(sym - alt) <= _value_bound(C.numpy(), 250, 1e-9)


def test_large_problem_path_matches_newton_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """n + m above the Newton limit (scaling iterations only) and below it give the same value
    on the same problem: _NEWTON_MAX_SIZE is lowered to force the first path."""
    x, y = _problem(120, 5)
    ref = dv.sinkhorn(x, y, reg=0.2, p=2, debiased=False)
    monkeypatch.setattr(W, "_NEWTON_MAX_SIZE", 1)
    got = dv.sinkhorn(x, y, reg=0.2, p=2, debiased=False, num_iter_max=100_000)
    assert abs(got - ref) <= _value_bound(ot.dist(x, y), 120, 1e-9)


def test_float32_input_is_solved_in_float64_and_returned_in_float32() -> None:
    x, y = _problem(100, 6)
    v64 = dv.sinkhorn(torch.from_numpy(x), torch.from_numpy(y), reg=0.5)
    v32 = dv.sinkhorn(torch.from_numpy(x).float(), torch.from_numpy(y).float(), reg=0.5)
    assert v32.dtype == torch.float32 and v64.dtype == torch.float64
    # inputs rounded to float32 (relative 2^-24) move the cost by ~2^-23 |C|, the value likewise
    assert abs(float(v32) - float(v64)) <= 1e-5 * abs(float(v64)) + 1e-6


def test_iteration_limit_raises_and_warns() -> None:
    x, y = _problem(200, 7)
    with pytest.raises(dv.OTConvergenceError, match="no convergence after"):
        dv.sinkhorn(x, y, reg=0.01, num_iter_max=30)
    with pytest.warns(dv.OTConvergenceWarning):
        dv.sinkhorn(x, y, reg=0.01, num_iter_max=30, on_nonconvergence="warn")


def _dual_with_zero_weight(seed: int) -> tuple[object, torch.Tensor, torch.Tensor, float]:
    x, y = _problem(40, seed)
    a = torch.full((40,), 1 / 39, dtype=torch.float64)
    a[7] = 0.0  # a zero weight: log a = -inf, a zero row of the plan
    b = torch.full((40,), 1 / 40, dtype=torch.float64)
    dual = W._Dual(a, b, W._cost(torch.from_numpy(x), torch.from_numpy(y), 2.0))
    g = np.random.default_rng(seed)
    f0 = torch.from_numpy(g.standard_normal(40))
    g0 = torch.from_numpy(g.standard_normal(40))
    return dual, f0, g0, 0.3


def test_value_from_potentials_is_the_primal_entropic_cost() -> None:
    """_Dual.value uses log(P/ab) = (f + g - C)/eps to write <P, C> + eps KL(P || ab) as
    <f, P1> + <g, P^T 1> - eps (sum P - 1); at arbitrary (non-optimal) potentials it must equal the
    primal expression computed entry by entry, 0 log 0 = 0 on the zero row.  Both sum 1 600 terms of
    size <= max(|f|, |g|, C) + eps |log P|: float64 bound 2 * 1600 * 2^-52 * that scale * sum P."""
    dual, f, g, eps = _dual_with_zero_weight(5)
    P = dual.a[:, None] * dual.b[None, :] * torch.exp((f[:, None] + g[None, :] - dual.c) / eps)
    ab = dual.a[:, None] * dual.b[None, :]
    pos = P > 0
    kl = torch.where(pos, P * torch.log(torch.where(pos, P / ab, 1.0)), 0.0).sum() - P.sum() + ab.sum()
    primal = float((P * dual.c).sum() + eps * kl)
    got = float(dual.value(f, g, eps, dual.c))
    scale = float(torch.cat([f.abs(), g.abs(), dual.c.reshape(-1)]).max()) + eps * float(
        torch.where(pos, torch.log(torch.where(pos, P / ab, 1.0)).abs(), 0.0).max())
    assert math.isfinite(got)
    assert abs(got - primal) <= 2 * 1600 * 2.0 ** -52 * scale * max(float(P.sum()), 1.0)


@pytest.mark.parametrize("symmetric", [False, True])
def test_one_scaling_iteration_is_one_log_domain_sweep(symmetric: bool) -> None:
    """The eps-scaling levels take one Sinkhorn sweep in the scaling form (one exp pass); it is the
    log-domain sweep's iterate: f_i + eps log(a_i / (K v)_i) = -eps log sum_j b_j e^{(g_j - C_ij)/eps}.
    Both are O(40) float64 operations on numbers of size max|C| + max|f| + max|g| (relative
    rounding 40 * 2^-52 each, twice)."""
    x, y = _problem(40, 6)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    a = torch.full((40,), 1 / 40, dtype=torch.float64)
    dual = W._Dual(a, a, W._cost(xt, xt if symmetric else yt, 2.0))
    gen = np.random.default_rng(6)
    f, eps = torch.from_numpy(gen.standard_normal(40)), 0.3
    g = f if symmetric else torch.from_numpy(gen.standard_normal(40))
    fs, gs = dual.sweep(f, g, eps, symmetric)
    out = dual.scaling_block(f, g, eps, symmetric, 1, measure=False)
    assert out is not None and math.isnan(out[2])
    scale = float(dual.c.max()) + float(f.abs().max()) + float(g.abs().max())
    assert float((out[0] - fs).abs().max()) <= 4 * 40 * 2.0 ** -52 * scale
    assert float((out[1] - gs).abs().max()) <= 4 * 40 * 2.0 ** -52 * scale


def test_zero_weight_atoms_change_nothing() -> None:
    """An atom of mass 0 carries no plan: OT_eps with it equals OT_eps without it (the solver drops
    it; both solve the same problem to the marginal tolerance 1e-9, the stopping bound above)."""
    x, y = _problem(60, 7)
    a = np.full(60, 1 / 59)
    a[[3]] = 0.0
    b = np.full(60, 1 / 58)
    b[[10, 20]] = 0.0
    got = dv.sinkhorn(x, y, reg=0.5, x_weights=a, y_weights=b)
    ref = dv.sinkhorn(x[a > 0], y[b > 0], reg=0.5)
    assert abs(got - ref) <= 3 * _value_bound(ot.dist(x, y), 60, 1e-9)
