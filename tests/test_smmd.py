"""C22: the Scaled-MMD scale ``dv.smmd_scale`` and ``dv.smmd2`` / ``dv.smmd2_from_mmd2``.

Oracles, independent of the implementation:

* the *definition* of the scale (Arbel et al. 2018, Sec. 3),
  ``sigma^-2 = lambda + E_mu k(X, X) + E_mu sum_i d^2 k(y, z) / dy_i dz_i |_{y=z=X}``, evaluated by
  double autograd on a deep kernel ``K(phi(y), phi(z))`` (random MLP ``phi``), against the
  radial-kernel formula ``lambda + g(0) + 2 |g'(0)| E ||grad phi||_F^2`` with the Jacobian from
  ``torch.autograd.functional.jacobian``;
* exact rational arithmetic (``fractions.Fraction``) on dyadic inputs;
* the DiracGAN closed form ``MMD^2 = 2 (1 - exp(-psi^2 theta^2 / 2))`` (every unbiased Gram sum is
  exact there) and its derivative in psi;
* sympy, for exact symbolic use.

Floating-point tolerances: ``u = 2^-53``; a float64 expression of N roundings of non-negative terms has
relative error <= ``N u / (1 - N u)`` (Higham 2002, eq. 3.5).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
import torch
from torch import nn

import divergences as dv
from divergences import kernels as K

U = 2.0 ** -53
F64 = torch.float64


def _mlp(d: int, k: int, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, 6), nn.Tanh(), nn.Linear(6, k)).double()


def _scale_by_definition(phi: nn.Module, base: K.Kernel, x: torch.Tensor, lam: float) -> float:
    """``1 / (lam + mean_i k(x_i, x_i) + mean_i sum_j d^2 k(y, z)/dy_j dz_j at y = z = x_i)``."""
    total_kxx, total_mixed = 0.0, 0.0
    for xi in x:
        y = xi.clone()[None, :].requires_grad_(True)
        z = xi.clone()[None, :].requires_grad_(True)
        kyz = base.gram(phi(y), phi(z))[0, 0]
        (gy,) = torch.autograd.grad(kyz, y, create_graph=True)
        mixed = 0.0
        for j in range(x.shape[1]):
            (gz,) = torch.autograd.grad(gy[0, j], z, retain_graph=True)
            mixed += float(gz[0, j])
        total_kxx += float(kyz.detach())
        total_mixed += mixed
    n = x.shape[0]
    return 1.0 / (lam + total_kxx / n + total_mixed / n)


def _mean_jacobian_sqnorm(phi: nn.Module, x: torch.Tensor) -> float:
    return float(np.mean([float(torch.autograd.functional.jacobian(lambda t: phi(t[None, :])[0], xi).pow(2).sum())
                          for xi in x]))


@pytest.mark.parametrize("name,params", [("gaussian", dict(bandwidth=0.7)), ("rq", dict(alpha=2.0, lengthscale=1.3)),
                                         ("imq", dict(scale=0.8)), ("mix_gaussian", dict(sigmas=(0.5, 2.0)))])
def test_c22_paper_scale_equals_its_definition_for_radial_kernels(name: str, params: dict) -> None:
    """dv.smmd_scale (lam + g(0) + 2|g'(0)| E||J||_F^2) == the definition via mixed second derivatives.

    Both sides are float64 sums of O(100) non-negative terms (d = 3 inputs, 6 hidden units,
    2 features, 8 samples): relative error <= 200 u each, so 1e-12 is a bound, not a fit."""
    x = torch.tensor(np.random.default_rng(3).normal(size=(8, 3)), dtype=F64)
    phi = _mlp(3, 2, seed=4)
    base = K.get(name, **params)
    lam = 0.3
    sq = _mean_jacobian_sqnorm(phi, x)
    got = dv.smmd_scale(sq, name, lam=lam, **params)
    assert got == pytest.approx(_scale_by_definition(phi, base, x, lam), rel=1e-12, abs=0)
    # a feature kernel uses its base kernel's constants; an object works as a name does
    assert dv.smmd_scale(sq, K.get(name, feature_map=phi, **params), lam=lam) == got


def test_c22_scale_exact_on_dyadic_inputs() -> None:
    """Dyadic inputs: every step but the final division is exact, so the result is the correctly
    rounded rational value (error <= 2 u relative: one rounding in 1 / inv, one in inv)."""
    for sq in (0.0, 0.25, 3.5, 1024.0):
        for lam in (0.0, 1.0, 0.125):
            want = 1 / (Fraction(lam) + 1 + 2 * Fraction(1, 8) * Fraction(sq))     # Gaussian h = 2: |g'(0)| = 1/8
            assert dv.smmd_scale(sq, "gaussian", lam=lam, bandwidth=2.0) == pytest.approx(float(want), rel=2 * U, abs=0)
        want_code = 1 / (1 + Fraction(10) * Fraction(sq))
        assert dv.smmd_scale(sq, variant="code") == pytest.approx(float(want_code), rel=2 * U, abs=0)
        assert dv.smmd_scale(sq, variant="code", code_weight=0.5) == pytest.approx(
            float(1 / (1 + Fraction(1, 2) * Fraction(sq))), rel=2 * U, abs=0)


def test_c22_scale_types_and_gradient() -> None:
    """numpy arrays elementwise, floats -> float, tensors keep dtype and are differentiable:
    d sigma^2 / d sq = -2|g'(0)| sigma^4 (paper), -w sigma^4 (code), to 8 u relative."""
    a = np.array([0.0, 1.0, 2.0])
    np.testing.assert_array_equal(dv.smmd_scale(a), 1.0 / (2.0 + a))                 # Gaussian h = 1, lam = 1
    assert isinstance(dv.smmd_scale(2.0), float) and dv.smmd_scale(2.0) == 0.25
    for variant, slope in (("paper", 2 * 0.5), ("code", 10.0)):
        sq = torch.tensor(0.7, dtype=F64, requires_grad=True)
        s = dv.smmd_scale(sq, variant=variant)
        (g,) = torch.autograd.grad(s, sq)
        assert g.item() == pytest.approx(-slope * s.item() ** 2, rel=8 * U, abs=0)
    s32 = dv.smmd_scale(torch.tensor([0.5, 1.5], dtype=torch.float32))
    assert s32.dtype == torch.float32 and s32.shape == (2,)


def test_c22_scale_is_exact_with_sympy() -> None:
    psi, lam = sp.symbols("psi lam", positive=True)
    s = dv.smmd_scale(psi ** 2, (1, sp.Rational(1, 2)), lam=sp.Rational(1))
    assert sp.simplify(s - 1 / (2 + psi ** 2)) == 0
    v = dv.smmd2_from_mmd2(sp.Integer(3), psi ** 2, (1, sp.Rational(1, 2)), lam=0)
    assert sp.simplify(v - 3 / (1 + psi ** 2)) == 0


@pytest.mark.parametrize("theta,psi,lam", [(0.3, 1.7, 1.0), (2.0, 0.4, 0.1), (1e-3, 5.0, 2.0)])
def test_c22_smmd2_on_diracgan_matches_closed_form(theta: float, psi: float, lam: float) -> None:
    """P = delta_0, Q = delta_theta, phi(x) = psi x (||grad phi||^2 = psi^2), Gaussian h = 1:
    SMMD^2 = 2 (1 - e) / (lam + 1 + psi^2), e = exp(-psi^2 theta^2 / 2) (C22, seed 002).

    Every Gram entry is 1 or e (e with relative error O(psi^2 theta^2 u) from the squared
    distance), each Gram sum adds n^2 = 25 equal terms (relative error <= 25 u), so with the final
    divisions the estimate 2 - 2e carries an absolute error <= (n^2 + 8) u * 2 and the result a
    relative one <= 2 (n^2 + 8) u / (1 - e).  The gradient in psi is the difference of the two
    product-rule terms t1, t2 of the closed form, each with that relative error (4x for the
    extra products): absolute bound 4 (n^2 + 8) u (|t1| + |t2|) / (1 - e)."""
    n = 5
    x, y = torch.zeros(n, 1, dtype=F64), torch.full((n, 1), theta, dtype=F64)
    p = torch.tensor(psi, dtype=F64, requires_grad=True)
    kern = K.get("gaussian", bandwidth=1.0, feature_map=lambda t: t * p)
    v = dv.smmd2(x, y, p * p, kern, lam=lam)
    c = psi * psi * theta * theta / 2
    one_minus_e = -math.expm1(-c)
    big_a = lam + 1 + psi * psi
    truth = 2 * one_minus_e / big_a
    bound = (n * n + 8) * U / one_minus_e
    assert v.item() == pytest.approx(truth, rel=2 * bound, abs=0)
    (g,) = torch.autograd.grad(v, p)
    t1 = 2 * psi * theta * theta * math.exp(-c) / big_a
    t2 = 4 * psi * one_minus_e / big_a ** 2
    assert abs(g.item() - (t1 - t2)) <= 4 * bound * (abs(t1) + abs(t2))
    # numpy in -> float; smmd2_from_mmd2 is the same product (one rounding each in 1/inv and the product)
    assert dv.smmd2_from_mmd2(2 * one_minus_e, psi * psi, lam=lam) == pytest.approx(truth, rel=4 * U, abs=0)


def test_c22_smmd2_identity_features_default_to_d() -> None:
    """Without a feature map phi is the identity: ||I_d||_F^2 = d, so sigma^-2 = lam + 1 + d (h = 1)."""
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(20, 3)), rng.normal(0.5, 1.0, size=(25, 3))
    m = dv.mmd2(x, y, "gaussian", bandwidth=1.0)
    assert dv.smmd2(x, y, kernel="gaussian", bandwidth=1.0, lam=0.5) == pytest.approx(m / 4.5, rel=4 * U, abs=0)
    m1 = dv.mmd2(x[:, 0], y[:, 0])
    assert dv.smmd2(x[:, 0], y[:, 0], lam=1.0) == pytest.approx(m1 / 3.0, rel=4 * U, abs=0)
    assert dv.smmd2(x, y, 2.0, "gaussian", variant="code") == pytest.approx(m / 21.0, rel=4 * U, abs=0)


@pytest.mark.parametrize("call,match", [
    (lambda: dv.smmd_scale(1.0, variant="sobolev"), "variant"),
    (lambda: dv.smmd_scale(1.0, lam=-1.0), "lam"),
    (lambda: dv.smmd_scale(1.0, lam=math.nan), "lam"),
    (lambda: dv.smmd_scale(1.0, lam="1"), "lam"),
    (lambda: dv.smmd_scale(1.0, variant="code", code_weight=-2.0), "code_weight"),
    (lambda: dv.smmd_scale(-0.5), "grad_sqnorm"),
    (lambda: dv.smmd_scale(np.array([1.0, np.inf])), "grad_sqnorm"),
    (lambda: dv.smmd_scale(torch.tensor(math.nan)), "grad_sqnorm"),
    (lambda: dv.smmd_scale(torch.tensor(-1.0)), "grad_sqnorm"),
    (lambda: dv.smmd_scale("a"), "grad_sqnorm"),
    (lambda: dv.smmd_scale(1.0, "linear"), "smmd_constants"),
    (lambda: dv.smmd_scale(1.0, "gaussian", bandwidth="median"), "median"),
    (lambda: dv.smmd_scale(1.0, (1.0,)), "kernel"),
    (lambda: dv.smmd_scale(1.0, (1.0, -0.5)), "kernel"),
    (lambda: dv.smmd_scale(1.0, (1.0, 0.5), bandwidth=2.0), "kernel"),
    (lambda: dv.smmd_scale(1.0, (0.0, 0.5), lam=0.0), "lam"),
    (lambda: dv.smmd2_from_mmd2(math.nan, 1.0), "mmd2"),
    (lambda: dv.smmd2_from_mmd2(torch.tensor(math.inf), 1.0), "mmd2"),
    (lambda: dv.smmd2(np.zeros((4, 1)), np.ones((4, 1)), kernel=K.get("gaussian", feature_map=lambda t: 2 * t)),
     "grad_sqnorm"),
    (lambda: dv.smmd2(np.zeros((4, 2)), np.ones((4, 3)), 1.0), "dimension"),
])
def test_c22_smmd_bad_inputs_raise(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_c22_validate_false_skips_only_value_checks() -> None:
    """validate=False (the training loss: no host sync) does not inspect tensor values; options are
    still checked."""
    bad = torch.tensor(-1.0)
    assert dv.smmd_scale(bad, validate=False).item() == 1.0            # 1 / (lam + 1 + 2 (1/2) (-1))
    with pytest.raises(ValueError, match="variant"):
        dv.smmd_scale(bad, variant="x", validate=False)
