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
def test_value_equals_pots_converged_sinkhorn_log(reg: float) -> None:
    """POT's dual value eps(<a, log(u/a)> + <b, log(v/b)>) is OT_eps at convergence; POT stops at
    stopThr 1e-9, the marginal tolerance the bound assumes for each solver."""
    n = 300 if reg == 1.0 else 150
    x, y = _problem(n, 3)
    a = np.full(n, 1 / n)
    M = ot.dist(x, y)
    _, log = ot.sinkhorn(a, a, M, reg, method="sinkhorn_log", log=True, stopThr=1e-9,
                          numItermax=200_000, warn=False)
    ref = reg * (np.sum(a * (log["log_u"] - np.log(a))) + np.sum(a * (log["log_v"] - np.log(a))))
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
