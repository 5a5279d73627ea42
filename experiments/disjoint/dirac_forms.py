"""DiracGAN deep-kernel MMD and Scaled MMD, derived with sympy (claims C21, C22).

Setting (seed 002; Arbel, Sutherland, Binkowski & Gretton, NeurIPS 2018, Sec. 4 and Fig. 1):
``P = delta_0``, ``Q_theta = delta_theta``, features ``phi_psi(x) = psi x`` (psi in R), top kernel
``K(a, b) = exp(-(a - b)^2 / 2) = g(-(a - b)^2)`` with ``g(t) = exp(t / 2)``.

* ``MMD^2_psi(theta) = K(0,0) + K(psi theta, psi theta) - 2 K(0, psi theta) = 2 (1 - exp(-psi^2 theta^2 / 2))``;
* ``sigma_psi^-2 = lambda + E_mu K(phi(X), phi(X)) + E_mu[d^2/dy dz K(phi(y), phi(z))]_{y=z=X}``, which
  for ``K = g(-|a-b|^2)`` is ``lambda + g(0) + 2 |g'(0)| E_mu |grad phi_psi|^2 = lambda + 1 + psi^2``
  (mu = P; the first form is derived below from its definition, the second is ``dv.smmd_scale``
  evaluated symbolically on the derived ``g(0)``, ``|g'(0)|``, and the tests check them equal);
* ``SMMD_psi = sigma_psi MMD_psi``; ``D_MMD = sup_psi MMD_psi``, ``D_SMMD = sup_psi SMMD_psi``.

The sup of ``MMD_psi`` is not attained: ``MMD^2_psi`` increases in ``psi^2`` and tends to 2, so
``D_MMD(theta) = sqrt 2`` for every ``theta != 0`` and 0 at ``theta = 0`` (C21).  For SMMD, with
``s = psi^2 theta^2 / 2``, ``SMMD^2 = theta^2 (1 - e^-s) / (theta^2 (lambda + 1) / 2 + s)``; since
``1 - e^-s <= s`` and ``lambda + 1 >= 2`` this is ``<= theta^2`` (so ``D_SMMD <= |theta|``, C22), and the
maximiser solves ``e^-s (c + s + 1) = 1``, ``c = theta^2 (lambda + 1) / 2`` (one positive root).

Numerics: :func:`d_mmd` and :func:`d_smmd` take the sup of the lambdified expressions over
``psi`` by a dense log grid plus bounded scalar refinement
(:func:`experiments.disjoint.families.sup_over_scale`); :func:`d_smmd_root` solves the stationarity
equation with Brent's method, an independent route used by the tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
import sympy as sp
from scipy import optimize
from sympy.codegen.rewriting import expm1_opt, optimize as sym_optimize

import divergences as dv

from .families import LAMBDA_SMMD, sup_over_scale

__all__ = ["DiracForms", "dirac_forms", "d_mmd", "d_smmd", "d_smmd_root"]


@dataclass(frozen=True)
class DiracForms:
    """Symbolic expressions (sympy) and their lambdified versions (numpy, args ``theta, psi``)."""

    mmd2: sp.Expr            # MMD^2_psi(delta_0, delta_theta)
    scale_inv2: sp.Expr      # sigma_psi^-2 from g: lambda + g(0) + 2|g'(0)| psi^2
    scale_inv2_direct: sp.Expr  # sigma_psi^-2 from the kernel's mixed second derivative
    smmd2: sp.Expr           # sigma_psi^2 MMD^2_psi
    mmd2_limit: sp.Expr      # lim_{psi -> oo} MMD^2_psi (theta != 0)
    dmmd2_dpsi: sp.Expr      # d MMD^2 / d psi
    smmd_stationary: sp.Expr  # e^-s (c + s + 1) - 1 in s = psi^2 theta^2 / 2, c = theta^2 (lam+1)/2
    mmd2_fn: Callable[[np.ndarray, np.ndarray], np.ndarray]
    smmd2_fn: Callable[[np.ndarray, np.ndarray], np.ndarray]


@lru_cache(maxsize=1)
def dirac_forms(lam: float = LAMBDA_SMMD) -> DiracForms:
    """Derive the DiracGAN MMD / SMMD forms symbolically (cached); ``lam`` is lambda of C22."""
    theta, psi, x, y, z, a, b, t = sp.symbols("theta psi x y z a b t", real=True)
    s, c = sp.symbols("s c", positive=True)
    lam_s = sp.nsimplify(lam)
    g = sp.Lambda(t, sp.exp(t / 2))
    K = sp.Lambda((a, b), g(-(a - b) ** 2))
    phi = sp.Lambda(x, psi * x)
    p_pts, q_pts = [sp.Integer(0)], [theta]          # delta_0 and delta_theta
    exx = sum(K(phi(u), phi(v)) for u in p_pts for v in p_pts) / len(p_pts) ** 2
    eyy = sum(K(phi(u), phi(v)) for u in q_pts for v in q_pts) / len(q_pts) ** 2
    exy = sum(K(phi(u), phi(v)) for u in p_pts for v in q_pts) / (len(p_pts) * len(q_pts))
    mmd2 = sp.simplify(exx + eyy - 2 * exy)
    # sigma^-2 from g (the closed form of C22, dv.smmd_scale with the derived g(0), |g'(0)|), mu = P = delta_0
    grad_phi = sp.diff(phi(x), x)
    gp0 = sp.diff(g(t), t).subs(t, 0)
    grad_sq = (grad_phi**2).subs(x, 0)
    consts = (g(0), sp.Abs(gp0))
    scale_inv2 = sp.simplify(1 / dv.smmd_scale(grad_sq, consts, lam=lam_s))
    # sigma^-2 from its definition: lambda + E k(X, X) + E d^2/dy dz k_psi(y, z) at y = z = X
    kpsi = K(phi(y), phi(z))
    mixed = sp.diff(kpsi, y, z).subs({y: x, z: x})
    scale_inv2_direct = sp.simplify(lam_s + kpsi.subs({y: 0, z: 0}) + mixed.subs(x, 0))
    smmd2 = dv.smmd2_from_mmd2(mmd2, grad_sq, consts, lam=lam_s)
    theta_nz = sp.Symbol("theta_nz", real=True, nonzero=True)
    mmd2_limit = sp.limit(mmd2.subs(theta, theta_nz), psi, sp.oo)
    dmmd2_dpsi = sp.simplify(sp.diff(mmd2, psi))
    # stationarity of SMMD^2 in s: write SMMD^2 = theta^2 (1 - e^-s) / (c + s) with c = theta^2 (lam+1)/2
    f_s = (1 - sp.exp(-s)) / (c + s)
    smmd_stationary = sp.expand(sp.simplify(sp.diff(f_s, s) * (c + s) ** 2))
    # lambdify through expm1 (no cancellation in 1 - exp(-x) as theta -> 0)
    mmd2_fn = sp.lambdify((theta, psi), sym_optimize(mmd2, [expm1_opt]), "numpy")
    smmd2_fn = sp.lambdify((theta, psi), sym_optimize(smmd2, [expm1_opt]), "numpy")
    return DiracForms(mmd2, scale_inv2, scale_inv2_direct, smmd2, mmd2_limit, dmmd2_dpsi,
                      smmd_stationary, mmd2_fn, smmd2_fn)


def d_mmd(theta: float) -> float:
    """``D_MMD(theta) = sup_psi MMD_psi(delta_0, delta_theta)`` numerically (C21; sqrt 2 for theta != 0).

    Sup over ``psi`` of the lambdified ``MMD^2`` by grid + bounded refinement (the maximum sits at
    the grid's upper end, ``psi |theta| = 1e4``, where the gap to sqrt 2 is ``exp(-5e7)`` = 0).
    """
    theta = float(theta)
    if theta == 0.0:
        return 0.0
    f = dirac_forms()
    v, _ = sup_over_scale(lambda p: f.mmd2_fn(theta, p), theta)
    return math.sqrt(v)


def d_smmd(theta: float) -> float:
    """``D_SMMD(theta) = sup_psi sigma_psi MMD_psi(delta_0, delta_theta)`` numerically (C22, lambda = 1)."""
    theta = float(theta)
    if theta == 0.0:
        return 0.0
    f = dirac_forms()
    v, _ = sup_over_scale(lambda p: f.smmd2_fn(theta, p), theta)
    return math.sqrt(v)


def d_smmd_root(theta: float, lam: float = LAMBDA_SMMD) -> float:
    """``D_SMMD(theta)`` from the stationarity equation ``e^-s (c + s + 1) = 1`` (Brent's method).

    ``c = theta^2 (lambda + 1) / 2``; the root ``s* > 0`` is unique because ``h(s) = e^-s (c + s + 1)``
    has ``h(0) = 1 + c > 1``, ``h' = -e^-s (c + s) < 0`` and ``h -> 0``; then
    ``D_SMMD^2 = theta^2 (1 - e^-s*) / (c + s*)``.
    """
    theta = float(theta)
    if theta == 0.0:
        return 0.0
    c = theta * theta * (lam + 1.0) / 2.0
    # e^-s (c + s + 1) - 1 written without cancellation for small s
    h = lambda s: math.expm1(-s) * (c + s + 1.0) + c + s  # noqa: E731
    hi = 1.0
    while h(hi) > 0:
        hi *= 2.0
    s_star = optimize.brentq(h, 0.0, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps)
    return abs(theta) * math.sqrt(-math.expm1(-s_star) / (c + s_star))
