"""The original GAN objective at the optimal discriminator (C01-C03).

Goodfellow et al. (2014): ``V(D, G) = E_P[log D(X)] + E_Q[log(1 - D(Y))]`` with P the data and
Q the generator's distribution.  For fixed G the pointwise maximiser of
``a log y + b log(1 - y)`` over ``y in [0, 1]`` is ``y = a/(a+b)``, hence (C02; seeds 000, 004)
``D*(x) = p(x) / (p(x) + q(x))`` and (C03; seed 004, seed 002 eq. 2)
``V(D*, G) = 2 JSD(P, Q) - log 4`` (``JSD`` with the 1/2 weights, natural log), minimal
(``-log 4``) iff ``Q = P``.  Seed 000 weights both terms by 1/2:
``V_half(D, G) = 1/2 E_P log D + 1/2 E_Q log(1 - D)`` and ``V_half(D*, G) = JSD - log 2``.

C01 (seeds 000, 003): maximum likelihood is KL minimisation, since
``KL(P || Q_theta) = -H(P) - E_P log q_theta`` and ``H(P)`` does not depend on ``theta``; for the
Gaussian family both are solved by moment matching.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np
import torch

from . import continuous as _continuous
from .discrete import jsd as _jsd
from ._arrays import common_tensors, is_torch, real_array, to_output
from ._validation import check_choice, check_finite, check_probability

__all__ = [
    "optimal_discriminator",
    "gan_value",
    "optimal_value",
    "derive_pointwise_maximiser",
    "value_at_optimum_quadrature",
    "gaussian_expected_log_likelihood",
    "gaussian_ml_fit",
]

ArrayLike = Any
WEIGHTS = ("standard", "half")


def optimal_discriminator(p: ArrayLike, q: ArrayLike) -> Any:
    """``D*(x) = p(x) / (p(x) + q(x))`` from density (or probability) values ``p``, ``q`` (C02).

    Elementwise on broadcastable arrays of non-negative finite values; where ``p = q = 0`` any
    ``D`` is optimal and ``1/2`` is returned.  numpy/torch in -> same out (differentiable).
    Source: Goodfellow et al. 2014, Prop. 1; seeds 000, 004.
    """
    as_torch = is_torch(p, q)
    pt, qt = common_tensors((p, "p"), (q, "q"))
    for t, n in ((pt, "p"), (qt, "q")):
        check_finite(t, n)
        if bool((t < 0).any()):
            raise ValueError(f"{n}: density values must be >= 0 (min {float(t.min()):.3g})")
    try:
        pt, qt = torch.broadcast_tensors(pt, qt)
    except RuntimeError:
        raise ValueError(f"p, q: shapes {tuple(pt.shape)} and {tuple(qt.shape)} do not broadcast") from None
    # divide by m = max(p, q) first: p + q overflows for values near the float maximum (1e308)
    m = torch.maximum(pt, qt).detach()
    pos = m > 0
    ms = torch.where(pos, m, torch.ones_like(m))
    a, b = pt / ms, qt / ms
    d = torch.where(pos, a / torch.where(pos, a + b, torch.ones_like(a)), torch.full_like(m, 0.5))
    return to_output(d, as_torch)


def _xlogy_safe(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``x log y`` with ``0 log y = 0`` (also for ``y = 0``) and no NaN gradients there."""
    pos = x > 0
    ys = torch.where(pos, y, torch.ones_like(y))
    return torch.where(pos, x * torch.log(ys), torch.zeros_like(x))


def gan_value(p: ArrayLike, q: ArrayLike, d: ArrayLike, weights: str = "standard") -> Any:
    """``V(D, G)`` for discrete P, Q (probability vectors, last axis) and discriminator values d.

    ``weights="standard"``: ``sum p log d + sum q log(1 - d)`` (Goodfellow et al. 2014, eq. 1);
    ``weights="half"``: half of it (seed 000).  ``0 log 0 = 0``; ``-inf`` if ``d = 0`` where
    ``p > 0`` or ``d = 1`` where ``q > 0``.  ``d`` must lie in ``[0, 1]``.  C02/C03.
    """
    check_choice(weights, "weights", WEIGHTS)
    as_torch = is_torch(p, q, d)
    pt, qt, dt = common_tensors((p, "p"), (q, "q"), (d, "d"))
    check_probability(pt.detach(), "p")
    check_probability(qt.detach(), "q")
    check_finite(dt, "d")
    if bool(((dt < 0) | (dt > 1)).any()):
        raise ValueError(f"d: discriminator values must lie in [0, 1] (range {float(dt.min()):.3g}..{float(dt.max()):.3g})")
    if pt.shape != qt.shape or dt.shape[-1:] != pt.shape[-1:]:
        raise ValueError(f"p, q, d: shape mismatch {tuple(pt.shape)}, {tuple(qt.shape)}, {tuple(dt.shape)}")
    val = (_xlogy_safe(pt, dt) + _xlogy_safe(qt, 1.0 - dt)).sum(-1)
    if weights == "half":
        val = 0.5 * val
    return to_output(val, as_torch)


def optimal_value(p: ArrayLike, q: ArrayLike, weights: str = "standard") -> Any:
    """Closed form of ``max_D V(D, G)`` (C03): ``2 JSD(P,Q) - log 4`` (``"standard"``, seed 004,
    seed 002 eq. 2) or ``JSD(P,Q) - log 2`` (``"half"``, seed 000); JSD with the 1/2 weights.

    Probability vectors along the last axis (batched); numpy/torch.
    """
    check_choice(weights, "weights", WEIGHTS)
    j = _jsd(p, q)
    return 2.0 * j - math.log(4.0) if weights == "standard" else j - math.log(2.0)


def derive_pointwise_maximiser() -> dict[str, Any]:
    """sympy derivation of ``argmax_{0<y<1} a log y + b log(1 - y)`` for ``a, b > 0`` (C02).

    Returns ``{"objective", "argmax", "max_value", "second_derivative"}``: the stationary point
    solves ``a/y - b/(1-y) = 0``, i.e. ``y* = a/(a+b)``; the second derivative
    ``-a/y^2 - b/(1-y)^2 < 0`` makes it the maximum, with value
    ``a log(a/(a+b)) + b log(b/(a+b))``.  With ``a = p(x)``, ``b = q(x)`` this is ``D*``.
    """
    import sympy as sp  # imported here: keeps `import divergences` light

    a, b = sp.symbols("a b", positive=True)
    y = sp.Symbol("y", positive=True)
    obj = a * sp.log(y) + b * sp.log(1 - y)
    stationary = sp.solve(sp.Eq(sp.diff(obj, y), 0), y)
    if len(stationary) != 1:
        raise ArithmeticError(f"expected one stationary point, sympy found {stationary}")
    ystar = sp.simplify(stationary[0])
    second = sp.simplify(sp.diff(obj, y, 2))
    return {
        "objective": obj,
        "argmax": ystar,
        "max_value": sp.simplify(obj.subs(y, ystar)),
        "second_derivative": second,
    }


def value_at_optimum_quadrature(p: Callable[[float], float], q: Callable[[float], float], *,
                                lower: float = -math.inf, upper: float = math.inf,
                                points: Sequence[float] | None = None, weights: str = "standard",
                                log_density: bool = False) -> tuple[float, float]:
    """``V(D*, G) = int p log D* + q log(1 - D*) dx`` for 1-D densities by quadrature (C03).

    ``D* = p/(p+q)``; integrand ``p log(p/(p+q)) + q log(q/(p+q))`` (``0 log 0 = 0``),
    evaluated stably with log-densities when ``log_density=True``.  Returns
    ``(value, error bound)``; compare with ``2 * continuous.f_divergence(p, q, "js") - log 4``.
    ``weights="half"`` halves both (seed 000).
    """
    check_choice(weights, "weights", WEIGHTS)
    for fn, n in ((p, "p"), (q, "q")):
        if not callable(fn):
            raise ValueError(f"{n}: must be a callable density, got {type(fn).__name__}")

    def integrand(x: float) -> float:
        a, b = float(p(x)), float(q(x))
        if log_density:
            if math.isnan(a) or math.isnan(b) or a == math.inf or b == math.inf:
                raise ValueError(f"p, q: invalid log-density values {a!r}, {b!r} at x = {x!r}")
            if a == -math.inf and b == -math.inf:
                return 0.0
            m = max(a, b)
            lse = m + math.log(math.exp(a - m) + math.exp(b - m))
            out = 0.0
            if a > -math.inf:
                out += math.exp(a) * (a - lse)
            if b > -math.inf:
                out += math.exp(b) * (b - lse)
            return out
        if not (math.isfinite(a) and math.isfinite(b)) or a < 0 or b < 0:
            raise ValueError(f"p, q: invalid density values {a!r}, {b!r} at x = {x!r}")
        s = a + b
        out = 0.0
        if a > 0:
            out += a * math.log(a / s)
        if b > 0:
            out += b * math.log(b / s)
        return out

    v, e = _continuous.integrate_segments(integrand, lower, upper, points)
    return (v, e) if weights == "standard" else (0.5 * v, 0.5 * e)


def gaussian_expected_log_likelihood(mean_p: float, var_p: float, mu: ArrayLike, var: ArrayLike) -> Any:
    """``E_{X~P} log N(X; mu, var) = -1/2 log(2 pi var) - (var_p + (mean_p - mu)^2) / (2 var)``.

    Depends on P only through its mean and variance (any P with finite second moment).  Since
    ``KL(P || N(mu, var)) = -H(P) - E_P log N(X; mu, var)``, maximising this over
    ``(mu, var)`` is minimising the KL (C01); both give ``mu = mean_p``, ``var = var_p``.
    Broadcasts over array ``mu``, ``var`` (numpy/torch).
    """
    as_torch = is_torch(mu, var)
    mut, vt = common_tensors((mu, "mu"), (var, "var"))
    check_finite(mut, "mu")
    check_finite(vt, "var")
    if bool((vt <= 0).any()):
        raise ValueError("var: variances must be > 0")
    try:
        mean_p, var_p = float(mean_p), float(var_p)
    except (TypeError, ValueError):
        raise ValueError(f"mean_p, var_p: must be real numbers, got {mean_p!r}, {var_p!r}") from None
    if not (math.isfinite(mean_p) and math.isfinite(var_p)) or var_p < 0:
        raise ValueError(f"mean_p, var_p: need finite mean and variance >= 0, got {mean_p!r}, {var_p!r}")
    val = -0.5 * torch.log(2 * math.pi * vt) - (var_p + (mean_p - mut) ** 2) / (2 * vt)
    return to_output(val, as_torch)


def gaussian_ml_fit(x: ArrayLike) -> tuple[float, float]:
    """Maximum-likelihood ``(mu, var)`` of a 1-D Gaussian from samples: mean and the ``1/n``
    variance (C01: the minimiser of the empirical KL to the model)."""
    arr = real_array(x, "x").reshape(-1)
    if arr.size < 1:
        raise ValueError("x: is empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError("x: contains non-finite values")
    mu = float(arr.mean())
    return mu, float(np.mean((arr - mu) ** 2))
