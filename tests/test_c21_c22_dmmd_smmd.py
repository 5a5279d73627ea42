"""C21, C22: deep-kernel MMD jumps in DiracGAN, Scaled MMD is continuous (seed 002; Arbel et al. 2018).

``P = delta_0``, ``Q_theta = delta_theta``, ``phi_psi(x) = psi x``, ``k(a, b) = exp(-(a - b)^2 / 2)``,
``sigma_psi^-2 = lambda + g(0) + 2|g'(0)| E|grad phi_psi|^2`` with lambda = 1.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from experiments.disjoint.dirac_forms import d_mmd, d_smmd, d_smmd_root, dirac_forms
from experiments.disjoint.families import DiracGAN, ParallelLines, sup_over_scale
from experiments.dmmd_smmd import compute, theta_grid

EPS = np.finfo(float).eps
THETAS = [-3.0, -1.0, -0.3, -1e-3, -1e-7, 1e-7, 1e-3, 0.05, 0.3, 1.0, 2.5]


def test_c21_symbolic_mmd2_is_closed_form() -> None:
    f = dirac_forms()
    theta, psi = sp.symbols("theta psi", real=True)
    assert sp.simplify(f.mmd2 - (2 - 2 * sp.exp(-psi**2 * theta**2 / 2))) == 0
    # MMD^2 increases in psi (derivative has the sign of psi) and tends to 2: sup = sqrt 2, not attained
    assert sp.simplify(f.dmmd2_dpsi - 2 * psi * theta**2 * sp.exp(-psi**2 * theta**2 / 2)) == 0
    assert f.mmd2_limit == 2


def test_c22_symbolic_scale_two_routes_agree() -> None:
    """sigma^-2 from g (lambda + g(0) + 2|g'(0)| psi^2) equals the definition via mixed derivatives."""
    f = dirac_forms()
    psi = sp.Symbol("psi", real=True)
    assert sp.simplify(f.scale_inv2 - f.scale_inv2_direct) == 0
    assert sp.simplify(f.scale_inv2 - (2 + psi**2)) == 0


@pytest.mark.parametrize("theta", THETAS)
def test_c21_dmmd_is_sqrt2_for_every_nonzero_theta(theta: float) -> None:
    # at psi |theta| = 1e4 (grid end) the gap to sqrt 2 is ~exp(-5e7)/sqrt 2 = 0 in float64
    assert abs(d_mmd(theta) - math.sqrt(2.0)) <= 4 * EPS


def test_c21_dmmd_jumps_at_zero() -> None:
    assert d_mmd(0.0) == 0.0
    left = max(d_mmd(-t) for t in (1e-9, 1e-12))
    right = min(d_mmd(t) for t in (1e-9, 1e-12))
    assert right - d_mmd(0.0) > 1.4 and left - d_mmd(0.0) > 1.4


@pytest.mark.parametrize("theta", THETAS)
def test_c22_dsmmd_below_abs_theta(theta: float) -> None:
    # SMMD^2 = 2(1 - e^-x)/(2 + psi^2) <= psi^2 theta^2/(2 + psi^2) < theta^2
    assert 0.0 < d_smmd(theta) < abs(theta)


def test_c22_dsmmd_tends_to_zero() -> None:
    vals = [d_smmd(10.0**-k) for k in range(1, 10)]
    assert all(b < a for a, b in zip(vals, vals[1:]))
    assert vals[-1] <= 1e-9 and d_smmd(0.0) == 0.0
    # near 0, D_SMMD / |theta| -> 1 (s* ~ sqrt(2c), SMMD^2 ~ theta^2 (1 - O(theta)))
    assert abs(d_smmd(1e-8) / 1e-8 - 1.0) < 1e-6


@pytest.mark.parametrize("theta", THETAS)
def test_c22_symbolic_equals_numeric(theta: float) -> None:
    """Numeric sup of the lambdified sympy form == root of the stationarity equation (Brent)."""
    assert d_smmd(theta) == pytest.approx(d_smmd_root(theta), rel=1e-9)
    f = dirac_forms()
    psi = np.array([0.3, 1.0, 7.0])
    # lambdified forms agree with the hand-written closed forms
    np.testing.assert_allclose(f.mmd2_fn(theta, psi), 2 * -np.expm1(-psi**2 * theta**2 / 2), rtol=1e-14)
    np.testing.assert_allclose(f.smmd2_fn(theta, psi), 2 * -np.expm1(-psi**2 * theta**2 / 2) / (2 + psi**2),
                               rtol=1e-14)


def test_c22_stationarity_equation_is_derived() -> None:
    f = dirac_forms()
    s, c = sp.symbols("s c", positive=True)
    assert sp.simplify(f.smmd_stationary - (sp.exp(-s) * (c + s + 1) - 1)) == 0


def test_c21_c22_parallel_lines_reduce_to_diracgan() -> None:
    """Linear features psi = a (cos w, sin w) on the parallel lines: the sup over directions is at w = 0,
    where the features are delta_0 vs delta_{a theta} (the reduction used for the families)."""
    theta = 0.6
    z = np.linspace(0.0, 1.0, 401)
    wz = np.full_like(z, 1.0 / (len(z) - 1))
    wz[[0, -1]] /= 2                                    # trapezoid weights on [0, 1]
    u = z[:, None] - z[None, :]
    w2 = wz[:, None] * wz[None, :]

    def smmd2(a: float, w: float) -> float:
        b = a * math.sin(w)
        shift = a * math.cos(w) * theta
        mmd2 = 2.0 * np.sum(w2 * (np.exp(-(b * u) ** 2 / 2) - np.exp(-(shift + b * u) ** 2 / 2)))
        return mmd2 / (2.0 + a * a)

    best_dir = max(smmd2(a, w) for a in np.linspace(0.2, 6, 59) for w in np.linspace(0.05, 1.5, 30))
    assert best_dir < ParallelLines().smmd(theta) ** 2
    assert ParallelLines().smmd(theta) == pytest.approx(d_smmd(theta), rel=1e-12)
    assert DiracGAN().d_mmd(theta) == pytest.approx(math.sqrt(2), rel=1e-15)


def test_c21_c22_table_has_twenty_nonzero_thetas() -> None:
    grid = theta_grid()
    assert (grid != 0).all() and len(grid) >= 20
    df = compute(grid[::8])
    assert list(df.columns) == ["theta", "d_mmd", "d_smmd"]
    assert np.allclose(df.d_mmd, math.sqrt(2)) and (df.d_smmd <= df.theta.abs()).all()


def test_sup_over_scale_rejects_theta_zero() -> None:
    with pytest.raises(ValueError, match="theta"):
        sup_over_scale(lambda a: a, 0.0)
