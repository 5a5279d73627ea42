"""The symbolic oracle of DiracGAN (Mescheder, Geiger & Nowozin, ICML 2018): claims C24, C21, C22.

The system (:mod:`gans.dirac.system`) computes its field with autograd on the
:mod:`gans.losses` code; this file mirrors those losses in sympy, independently of torch, and
derives from them the exact field, the Jacobian at the equilibrium ``(0, 0)`` (instance noise
averaged with the Gaussian moments ``E e^k = (k - 1)!!``) and its eigenvalues, the analytic
predictions the numeric eigenvalues (:func:`gans.dirac.system.numeric_eigenvalues`) are checked
against.  Same coordinates as the system: the paper's ``(theta, psi)``, critic large on fake.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

import divergences as dv

from .system import DiracMethod, _sort_eigs, _undefined_reason

__all__ = ["symbolic_objectives", "symbolic_field", "symbolic_jacobian", "symbolic_eigenvalues"]


def _softplus(t: sp.Expr) -> sp.Expr:
    """``log(1 + e^t)`` (the losses' softplus), symbolic."""
    return sp.log(1 + sp.exp(t))


def symbolic_objectives(spec: DiracMethod) -> tuple[sp.Expr, sp.Expr, tuple[sp.Symbol, ...]]:
    """Sympy mirror ``(L_G, L_D, noise_symbols)`` of the method's losses at ``(theta, psi)`` (both minimised).

    The expressions mirror the :mod:`gans.losses` code, which is written in the project's
    convention (critic large on real, ``D(x) = q x`` with ``q = psi_project``, real sample 0,
    fake sample theta): gan ``L_D = softplus(0) + softplus(q theta)``, ``L_G = -softplus(q theta)``;
    nsgan ``L_G = softplus(-q theta)``; wgan ``L_D = q theta``, ``L_G = -q theta``; wgan_gp adds
    ``gamma/2 (|q| - 1)^2``; r1/r2 add ``gamma/2 q^2``; instance noise replaces the real sample
    by ``sigma e1`` and the fake one by ``theta + sigma e2`` (e1, e2 standard normal, returned as
    noise symbols); mmd ``L_D = -M``, ``L_G = M``, ``M = 2 - 2 exp(-(q theta)^2/2)`` (unbiased
    MMD^2 of two Dirac batches, Gaussian kernel, bandwidth 1); smmd divides ``M`` by
    ``lam + g(0) + 2|g'(0)| q^2 = lam + 1 + q^2``.  They are returned in the paper's
    coordinates by the substitution ``q = -psi`` (:mod:`gans.dirac.system`, "Coordinates"); e.g. the
    GAN's ``L_D = -(f(0) + f(psi theta))`` with ``f(t) = -log(1 + e^{-t})`` (Mescheder et al. 2018).
    """
    th, ps = sp.symbols("theta psi", real=True)
    q = sp.Symbol("q", real=True)
    n = spec.name
    noise: tuple[sp.Symbol, ...] = ()
    if n in ("gan", "consensus", "r1", "r2"):
        LD, LG = _softplus(sp.Integer(0)) + _softplus(q * th), -_softplus(q * th)
    elif n in ("nsgan", "nsgan_r1"):
        LD, LG = _softplus(sp.Integer(0)) + _softplus(q * th), _softplus(-q * th)
    elif n == "instance_noise":
        e1, e2 = sp.symbols("e1 e2", real=True)
        s = sp.nsimplify(spec.sigma)
        noise = (e1, e2)
        LD = _softplus(-q * s * e1) + _softplus(q * (th + s * e2))
        LG = -_softplus(q * (th + s * e2))
    elif n in ("wgan", "wgan_gp"):
        LD, LG = q * th, -q * th
        if n == "wgan_gp":
            LD = LD + sp.nsimplify(spec.gamma) / 2 * (sp.Abs(q) - 1) ** 2
    else:
        M = 2 - 2 * sp.exp(-(q * th) ** 2 / 2)
        if n == "smmd":
            # sigma^2 M with sigma^-2 = lam + g(0) + 2|g'(0)| |d(q x)/dx|^2 (dv.smmd_scale, C22), the
            # Gaussian kernel's constants (1, 1/2) made exact
            g0, g1 = dv.kernels.get("gaussian", bandwidth=1.0).smmd_constants()
            M = dv.smmd2_from_mmd2(M, q ** 2, (sp.nsimplify(g0), sp.nsimplify(g1)), lam=sp.nsimplify(spec.lam))
        LD, LG = -M, M
    if n in ("r1", "r2", "nsgan_r1"):
        LD = LD + sp.nsimplify(spec.gamma) / 2 * q ** 2
    to_paper = {q: -ps}
    return LG.subs(to_paper), LD.subs(to_paper), noise


def symbolic_field(spec: DiracMethod) -> tuple[sp.Matrix, tuple[sp.Symbol, sp.Symbol], tuple[sp.Symbol, ...]]:
    """``v = (-dL_G/dtheta, -dL_D/dpsi)`` (consensus: ``v - gamma J^T v``) as a sympy column, paper coordinates.

    Differentiating the paper-coordinate objectives gives the paper-coordinate field directly:
    ``d/dpsi L(theta, -psi) = -dL/dq``, so ``v_paper = S v_project(S x)`` (:mod:`gans.dirac.system`).
    """
    LG, LD, noise = symbolic_objectives(spec)
    th, ps = sp.symbols("theta psi", real=True)
    v = sp.Matrix([-sp.diff(LG, th), -sp.diff(LD, ps)])
    if spec.consensus > 0:
        J = v.jacobian([th, ps])
        v = v - sp.nsimplify(spec.consensus) * J.T * v
    return v, (th, ps), noise


def _gaussian_expectation(expr: sp.Expr, noise: tuple[sp.Symbol, ...]) -> sp.Expr:
    """``E`` over independent standard normals ``noise`` of a polynomial in them (moments ``(k-1)!!``)."""
    if not noise:
        return expr
    poly = sp.Poly(sp.expand(expr), *noise)
    total = sp.Integer(0)
    for monom, coeff in poly.terms():
        m = sp.Integer(1)
        for k in monom:
            m *= 0 if k % 2 else sp.factorial2(k - 1)
        total += coeff * m
    return total


def symbolic_jacobian(spec: DiracMethod) -> sp.Matrix | None:
    """``dv/dx`` at (0, 0), exact (noise averaged with Gaussian moments); ``None`` where undefined."""
    if _undefined_reason(spec):
        return None
    v, (th, ps), noise = symbolic_field(spec)
    J = v.jacobian([th, ps]).subs({th: 0, ps: 0})
    return J.applyfunc(lambda e: sp.nsimplify(sp.simplify(_gaussian_expectation(sp.simplify(e), noise))))


def symbolic_eigenvalues(spec: DiracMethod) -> tuple[np.ndarray, str | None]:
    """Eigenvalues of the exact Jacobian at (0, 0) as complex numbers, sorted like :func:`numeric_eigenvalues`."""
    J = symbolic_jacobian(spec)
    if J is None:
        return np.array([np.nan + 0j, np.nan + 0j]), _undefined_reason(spec)
    ev: list[complex] = []
    for val, mult in J.eigenvals().items():
        ev += [complex(sp.N(val, 30))] * mult
    return _sort_eigs(np.array(ev)), None
