"""Scaled MMD (C22): the scale ``sigma_psi^2`` and ``SMMD^2 = sigma_psi^2 MMD^2``.

Arbel, Sutherland, Binkowski & Gretton, "On gradient regularizers for MMD GANs", NeurIPS 2018,
Sec. 3: for a kernel ``k_psi(x, y) = K(phi_psi(x), phi_psi(y))`` and a measure ``mu``,

    SMMD(P, Q) = sigma_psi MMD(P, Q),
    sigma_psi^-2 = lambda + E_mu k(X, X) + E_mu sum_i d^2 k(y, z) / dy_i dz_i |_{y = z = X},

which for a radial top kernel ``K(a, b) = g(-||a - b||^2)`` is

    sigma_psi^-2 = lambda + g(0) + 2 |g'(0)| E_mu ||grad_x phi_psi(X)||_F^2          ("paper")

(``||.||_F``: Frobenius norm of the feature map's input Jacobian at one sample, squared, then
averaged over ``mu``; ``g(0)`` and ``|g'(0)|`` are ``Kernel.smmd_constants()`` of
:mod:`divergences.kernels`).  The authors' released code uses instead

    sigma_psi^-2 = 1 + code_weight E_mu ||grad_x phi_psi(X)||_F^2,  code_weight = 10   ("code")

with ``mu`` the real minibatch.  Conventions: ``smmd_scale`` returns ``sigma_psi^2`` (the factor
multiplying MMD^2), not ``sigma_psi`` nor ``sigma_psi^-2``; ``smmd2`` returns the squared scaled
MMD ``sigma_psi^2 MMD^2`` (the quantity the SMMD-GAN critic maximises and the generator
minimises); ``lambda >= 0`` (``lam``).  The expected squared Jacobian norm is an input here: it
is a property of the critic, computed by autograd where the critic lives (``gans.losses``) or in
closed form (a linear feature ``psi^T x`` has ``||grad phi||_F^2 = ||psi||^2``).

Values: Python / numpy numbers, torch tensors (device, dtype and autograd graph kept:
differentiable in ``grad_sqnorm`` and ``mmd2``) or sympy expressions (exact arithmetic for the
symbolic DiracGAN analysis; pass exact constants, e.g. ``(1, sympy.Rational(1, 2))``).
"""

from __future__ import annotations

import math
import numbers
import sys
from typing import Any

import numpy as np
import torch

from . import kernels as _kernels
from ._arrays import ArrayLike
from ._validation import check_choice, check_finite
from .mmd import mmd2 as _mmd2

__all__ = ["smmd_scale", "smmd2_from_mmd2", "smmd2"]

VARIANTS = ("paper", "code")


def _is_symbolic(v: Any) -> bool:
    sp = sys.modules.get("sympy")
    return sp is not None and isinstance(v, sp.Basic)


def _number(value: Any, name: str) -> Any:
    """A finite number ``>= 0``; integers and sympy numbers are kept exact, anything else becomes a float."""
    if isinstance(value, bool) or isinstance(value, (str, bytes)):
        raise ValueError(f"{name}: must be a finite number >= 0, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a finite number >= 0, got {value!r}") from None
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name}: must be a finite number >= 0, got {value!r}")
    if _is_symbolic(value):
        return value
    return int(value) if isinstance(value, numbers.Integral) else v


def _constants(kernel: Any, kernel_params: dict) -> tuple[Any, Any]:
    """``(g(0), |g'(0)|)`` from a kernel (name or object) or given as a pair of numbers."""
    if isinstance(kernel, tuple):
        if kernel_params:
            raise ValueError(f"kernel: parameters {sorted(kernel_params)} given with constants (g0, g1)")
        if len(kernel) != 2:
            raise ValueError(f"kernel: constants must be the pair (g(0), |g'(0)|), got {kernel!r}")
        return _number(kernel[0], "kernel: g(0)"), _number(kernel[1], "kernel: |g'(0)|")
    k = _kernels.get(kernel, **kernel_params)
    g0, g1 = k.smmd_constants()  # ValueError for non-radial kernels and unresolved median bandwidths
    return _number(g0, "kernel: g(0)"), _number(g1, "kernel: |g'(0)|")


def _check_value(v: Any, name: str, *, nonnegative: bool, validate: bool) -> Any:
    """Symbolic values pass; tensors are kept (checked only if ``validate``); others -> float64 numpy."""
    if _is_symbolic(v):
        return v
    if isinstance(v, torch.Tensor):
        if v.is_complex() or not v.is_floating_point():
            raise ValueError(f"{name}: must be a real floating tensor, got dtype {v.dtype}")
        if validate:
            check_finite(v, name)
            if nonnegative and bool((v.detach() < 0).any()):
                raise ValueError(f"{name}: must be >= 0 (a squared norm), min {float(v.detach().min()):.3g}")
        return v
    try:
        a = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a number, an array or a tensor, got {v!r}") from None
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: contains non-finite values")
    if nonnegative and np.any(a < 0):
        raise ValueError(f"{name}: must be >= 0 (a squared norm), min {float(a.min()):.3g}")
    return a


def _out(v: Any) -> Any:
    """0-d numpy results as Python floats; tensors and sympy expressions unchanged."""
    if isinstance(v, np.generic) or (isinstance(v, np.ndarray) and v.ndim == 0):
        return float(v)
    return v


def smmd_scale(grad_sqnorm: Any, kernel: str | _kernels.Kernel | tuple[Any, Any] = "gaussian", *,
               lam: float = 1.0, variant: str = "paper", code_weight: float = 10.0,
               validate: bool = True, **kernel_params: Any) -> Any:
    """The Scaled-MMD factor ``sigma_psi^2`` from ``grad_sqnorm = E_mu ||grad_x phi_psi(X)||_F^2`` (C22).

    ``variant="paper"``: ``sigma_psi^2 = 1 / (lam + g(0) + 2 |g'(0)| grad_sqnorm)`` (Arbel et al.
    2018, Sec. 3, for a radial top kernel ``K(a, b) = g(-||a - b||^2)``); ``variant="code"``:
    ``sigma_psi^2 = 1 / (1 + code_weight grad_sqnorm)`` (the authors' code, ``code_weight = 10``;
    ``lam`` and the kernel constants are not used).  ``kernel``: a radial kernel of
    :mod:`divergences.kernels` (name with parameters as keywords, or an object; a feature kernel
    uses its base kernel's constants) or the pair ``(g(0), |g'(0)|)`` itself.  Gaussian
    bandwidth 1: ``g(0) = 1``, ``|g'(0)| = 1/2``, so ``sigma_psi^-2 = lam + 1 + grad_sqnorm``.

    ``grad_sqnorm``: a number, array (elementwise) or tensor (differentiable; a 0-d tensor for
    a critic) or a sympy expression; ``validate=False`` skips the finite / ``>= 0`` checks of a
    tensor, which read it back to the host (a device synchronisation on CUDA).  Raises
    ``ValueError`` for an unknown ``variant``, ``lam`` or ``code_weight`` not finite ``>= 0``, a
    non-radial kernel, ``lam + g(0) = 0`` (the scale would be infinite at zero gradient) and a
    negative or non-finite ``grad_sqnorm``.
    """
    check_choice(variant, "variant", VARIANTS)
    lam_v = _number(lam, "lam")
    w = _number(code_weight, "code_weight")
    sq = _check_value(grad_sqnorm, "grad_sqnorm", nonnegative=True, validate=validate)
    if variant == "paper":
        g0, g1 = _constants(kernel, kernel_params)
        if float(lam_v) + float(g0) <= 0:
            raise ValueError("lam: lam + g(0) must be > 0 (sigma^-2 = lam + g(0) at zero gradient)")
        inv = lam_v + g0 + 2 * g1 * sq
    else:
        inv = 1 + w * sq
    return _out(1 / inv)


def smmd2_from_mmd2(mmd2: Any, grad_sqnorm: Any,
                    kernel: str | _kernels.Kernel | tuple[Any, Any] = "gaussian", *, lam: float = 1.0,
                    variant: str = "paper", code_weight: float = 10.0, validate: bool = True,
                    **kernel_params: Any) -> Any:
    """Squared Scaled MMD ``sigma_psi^2 MMD^2`` from an MMD^2 value and the critic's gradient term (C22).

    ``sigma_psi^2 = smmd_scale(grad_sqnorm, kernel, lam=..., variant=..., code_weight=...)``
    (Arbel et al. 2018, Sec. 3); ``mmd2`` is any estimate or exact value of ``MMD^2`` under the
    same kernel (it may be negative: the unbiased estimator).  Numbers, arrays (elementwise),
    tensors (differentiable in both arguments) or sympy expressions; ``validate`` as in
    :func:`smmd_scale` (it also checks that ``mmd2`` is finite).
    """
    m = _check_value(mmd2, "mmd2", nonnegative=False, validate=validate)
    s = smmd_scale(grad_sqnorm, kernel, lam=lam, variant=variant, code_weight=code_weight,
                   validate=validate, **kernel_params)
    return _out(s * m)


def smmd2(x: ArrayLike, y: ArrayLike, grad_sqnorm: Any = None,
          kernel: str | _kernels.Kernel = "gaussian", *, lam: float = 1.0, variant: str = "paper",
          code_weight: float = 10.0, estimator: str = "unbiased", block_size: int | None = None,
          **kernel_params: Any) -> Any:
    """Sample estimate of ``SMMD^2 = sigma_psi^2 MMD^2`` from ``x ~ P`` (n, d) and ``y ~ Q`` (m, d) (C22).

    ``MMD^2`` is :func:`divergences.mmd2` (``kernel``, ``estimator``, ``block_size`` and kernel
    parameters as there; a feature kernel ``dv.kernels.get(name, feature_map=phi)`` is the deep
    kernel ``K(phi(x), phi(y))``) and ``sigma_psi^2`` is :func:`smmd_scale` of ``grad_sqnorm`` with
    the kernel's constants.  ``grad_sqnorm = E_mu ||grad_x phi(X)||_F^2`` is computed by the
    caller for a feature map (e.g. ``||psi||^2`` for ``phi(x) = psi^T x``; the paper takes
    ``mu = P``, the authors' code the real minibatch); without a feature map ``phi`` is the
    identity and ``None`` means its value ``d`` (``||I_d||_F^2``).  numpy in -> float, torch in ->
    0-d tensor (differentiable).  Raises ``ValueError`` as :func:`divergences.mmd2` and
    :func:`smmd_scale` do, and for ``grad_sqnorm=None`` with a feature kernel.
    """
    m = _mmd2(x, y, kernel, estimator=estimator, block_size=block_size, **kernel_params)  # validates x, y
    if grad_sqnorm is None:
        k = _kernels.get(kernel, **kernel_params)
        if isinstance(k, _kernels.FeatureKernel) or (isinstance(k, _kernels.ScaledKernel)
                                                     and isinstance(k.base, _kernels.FeatureKernel)):
            raise ValueError("grad_sqnorm: required for a kernel with a feature map "
                             "(E_mu ||grad phi(X)||_F^2 is a property of phi)")
        shape = tuple(x.shape) if isinstance(x, (torch.Tensor, np.ndarray)) else np.shape(x)
        grad_sqnorm = float(shape[1]) if len(shape) == 2 else 1.0   # ||I_d||_F^2 = d; (n,) is d = 1
    return smmd2_from_mmd2(m, grad_sqnorm, kernel, lam=lam, variant=variant, code_weight=code_weight,
                           **kernel_params)
