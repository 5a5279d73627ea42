"""f-divergences between 1-D densities given as callables, by adaptive quadrature (scipy).

``D_f(P||Q) = int q(x) f(p(x)/q(x)) dx`` with the same exact limits as the discrete case
(:func:`divergences.discrete.f_divergence`): where ``q = 0 < p`` the integrand is
``p f'(inf)``, where ``p = 0 < q`` it is ``q f(0+)``, and 0 where both vanish.  Results are
``(value, error_bound)``: the sum over integration segments of ``scipy.integrate.quad``'s
estimates and absolute-error bounds.  An integrand that is ``+inf`` on a set of positive
length (e.g. KL where Q vanishes and P does not, C04) returns ``(inf, 0.0)``.

Densities far in the tails underflow to 0 in floating point; pass ``log_density=True`` with
log-densities to form the ratio as ``exp(log p - log q)`` (ratios beyond ``e^+-700`` use the
generator's leading asymptotic term), and breakpoints (``points``) at the modes so that
``quad`` does not miss narrow peaks on an infinite interval.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from . import fdiv as _fdiv
from ._arrays import real_array

__all__ = ["f_divergence", "integrate_segments", "gaussian_mixture", "mixture_moments"]


class _Infinite(Exception):
    pass


def _overflow_term(entry: _fdiv.FDivergence, log_p: float, log_q: float) -> float:
    """``q f(p/q)`` when ``u = p/q`` overflows a double (``log u > 709``): its leading term.

    Slope-finite generators give ``p f'(inf)``; the others their asymptotics (relative error
    below ``e^-700``): KL and Jeffreys ``p log u``, Pearson ``p u``, alpha > 1
    ``p u^(a-1) / (a (a-1))``.
    """
    slope = entry.slope_at_infinity
    log_u = log_p - log_q
    if math.isfinite(slope):
        return math.exp(log_p) * slope
    if entry.name in ("kl", "jeffreys"):
        return math.exp(log_p) * log_u
    if entry.name == "pearson":
        return math.exp(min(log_p + log_u, 710.0))
    if entry.name == "alpha":
        a = dict(entry.params)["alpha"]
        return math.exp(min(log_p + (a - 1.0) * log_u, 710.0)) / (a * (a - 1.0))
    return math.inf


def integrate_segments(fn: Callable[[float], float], lower: float = -math.inf, upper: float = math.inf,
                       points: Sequence[float] | None = None, *, epsabs: float = 1e-13,
                       epsrel: float = 1e-11, limit: int = 200) -> tuple[float, float]:
    """``int_lower^upper fn(x) dx`` split at ``points``: ``(value, summed error bound)``.

    Each segment (infinite tails included) goes to ``scipy.integrate.quad``; the bounds add.
    """
    try:
        lo, hi = float(lower), float(upper)
    except (TypeError, ValueError):
        raise ValueError(f"lower, upper: must be numbers, got {lower!r}, {upper!r}") from None
    if math.isnan(lo) or math.isnan(hi) or not lo < hi:
        raise ValueError(f"lower, upper: need lower < upper, got {lower!r}, {upper!r}")
    cuts = sorted({float(c) for c in (points or []) if lo < float(c) < hi})
    if any(not math.isfinite(c) for c in cuts):
        raise ValueError("points: breakpoints must be finite")
    from scipy import integrate  # imported here: keeps `import divergences` light

    edges = [lo, *cuts, hi]
    total, err = 0.0, 0.0
    for a, b in zip(edges[:-1], edges[1:]):
        v, e = integrate.quad(fn, a, b, epsabs=epsabs, epsrel=epsrel, limit=limit)
        total += v
        err += e
    return total, err


def _density_value(fn: Callable, x: float, name: str, log_density: bool) -> float:
    raw = fn(x)
    kind = "log-density" if log_density else "density"
    if isinstance(raw, (complex, np.complexfloating)) or getattr(raw, "is_complex", lambda: False)():
        raise ValueError(f"{name}: {kind} returned a complex value {raw!r} at x = {x!r}")
    try:
        v = float(raw)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"{name}: {kind} must return a real number, got {raw!r} at x = {x!r}") from None
    if math.isnan(v) or (not log_density and (v < 0 or math.isinf(v))) or (log_density and v == math.inf):
        raise ValueError(f"{name}: {kind} returned an invalid value {v!r} at x = {x!r}")
    return v


def _underflow_term(entry: _fdiv.FDivergence, log_p: float, log_q: float) -> float:
    """``q f(p/q)`` when ``u = p/q`` underflows (``log u < -700``): its leading term.

    Generators with finite ``f(0)`` give ``q f(0)``; the others their asymptotics: reverse KL
    and Jeffreys ``-q log u``, Neyman ``q / u``, alpha < 0 ``q u^a / (a (a-1))``.
    """
    f0 = entry.f_at_zero
    log_u = log_p - log_q
    if math.isfinite(f0):
        return math.exp(log_q) * f0
    if entry.name in ("reverse_kl", "jeffreys"):
        return -math.exp(log_q) * log_u
    if entry.name == "neyman":
        return math.exp(min(log_q - log_u, 710.0))
    if entry.name == "alpha":
        a = dict(entry.params)["alpha"]
        return math.exp(min(log_q + a * log_u, 710.0)) / (a * (a - 1.0))
    return math.inf


def f_divergence(p: Callable[[float], float], q: Callable[[float], float], name: str, *,
                 lower: float = -math.inf, upper: float = math.inf, points: Sequence[float] | None = None,
                 log_density: bool = False, epsabs: float = 1e-13, epsrel: float = 1e-11,
                 **params: float) -> tuple[float, float]:
    """``D_f(P||Q) = int q f(p/q) dx`` for 1-D densities ``p``, ``q`` (callables of a float).

    Generator from the registry (``dv.fdiv.get(name, **params)``; natural log; ``"js"`` gives
    JSD with the 1/2 weights, ``"gan"`` gives ``2 JSD - log 4``).  Returns ``(value, bound)``
    with ``bound`` the sum of quad's absolute-error estimates.  ``log_density=True``: ``p`` and
    ``q`` return log-densities (``-inf`` for zero density).  C08, C03 (source: Csiszar 1967;
    seed 003).
    """
    if not callable(p):
        raise ValueError(f"p: must be a callable density, got {type(p).__name__}")
    if not callable(q):
        raise ValueError(f"q: must be a callable density, got {type(q).__name__}")
    entry = _fdiv.get(name, **params)
    f0, slope = entry.f_at_zero, entry.slope_at_infinity

    def integrand(x: float) -> float:
        a = _density_value(p, x, "p", log_density)
        b = _density_value(q, x, "q", log_density)
        if log_density:
            p_pos, q_pos = a > -math.inf, b > -math.inf
        else:
            p_pos, q_pos = a > 0, b > 0
        if p_pos and q_pos:
            if log_density:
                diff = a - b
                if diff > 700.0:  # ratio about to overflow: asymptotic q f(p/q)
                    val = _overflow_term(entry, a, b)
                elif diff < -700.0:  # ratio about to underflow
                    val = _underflow_term(entry, a, b)
                else:
                    val = math.exp(b) * float(entry.f(math.exp(diff)))
            else:
                u = a / b
                if u > 1e300:
                    val = _overflow_term(entry, math.log(a), math.log(b))
                elif u < 1e-300:
                    val = _underflow_term(entry, math.log(a), math.log(b))
                else:
                    val = b * float(entry.f(u))
        elif q_pos:  # p = 0 < q
            qv = math.exp(b) if log_density else b
            val = qv * f0 if math.isfinite(f0) else math.inf
        elif p_pos:  # q = 0 < p
            pv = math.exp(a) if log_density else a
            val = pv * slope if math.isfinite(slope) else math.inf
        else:
            val = 0.0
        if math.isinf(val):
            raise _Infinite
        return val

    try:
        return integrate_segments(integrand, lower, upper, points, epsabs=epsabs, epsrel=epsrel)
    except _Infinite:
        return math.inf, 0.0


def _check_mixture(weights: Sequence[float], means: Sequence[float], stds: Sequence[float]
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    w = real_array(weights, "weights").reshape(-1)
    m = real_array(means, "means").reshape(-1)
    s = real_array(stds, "stds").reshape(-1)
    if w.size == 0:
        raise ValueError("weights: is empty")
    if not (w.shape == m.shape == s.shape):
        raise ValueError(f"weights, means, stds: lengths differ ({w.size}, {m.size}, {s.size})")
    for arr, nm in ((w, "weights"), (m, "means"), (s, "stds")):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{nm}: contains non-finite values")
    if np.any(w < 0) or abs(w.sum() - 1) > 1e-6:
        raise ValueError(f"weights: must be >= 0 and sum to 1 within 1e-6 (sum {w.sum():.6g})")
    if np.any(s <= 0):
        raise ValueError(f"stds: must be > 0, got {s.tolist()}")
    return w, m, s


def gaussian_mixture(weights: Sequence[float], means: Sequence[float], stds: Sequence[float],
                     *, log: bool = False) -> Callable[[float], float]:
    """Density (or log-density with ``log=True``) of ``sum_k w_k N(m_k, s_k^2)`` on the real line.

    The returned callable accepts a float or a numpy array.  Used for the C03 quadrature
    checks and the optimal-discriminator figure.
    """
    w, m, s = _check_mixture(weights, means, stds)
    logw = np.log(np.where(w > 0, w, 1.0)) + np.where(w > 0, 0.0, -np.inf)
    const = -0.5 * math.log(2 * math.pi) - np.log(s)

    def logpdf(x):
        z = (np.asarray(x, dtype=float)[..., None] - m) / s
        terms = logw + const - 0.5 * z * z
        top = np.max(terms, axis=-1, keepdims=True)
        out = (top + np.log(np.sum(np.exp(terms - top), axis=-1, keepdims=True)))[..., 0]
        return float(out) if np.ndim(out) == 0 else out

    if log:
        return logpdf

    def pdf(x):
        v = np.exp(logpdf(x))
        return float(v) if np.ndim(v) == 0 else v

    return pdf


def mixture_moments(weights: Sequence[float], means: Sequence[float], stds: Sequence[float]) -> tuple[float, float]:
    """Mean and variance of ``sum_k w_k N(m_k, s_k^2)``: ``sum w m`` and ``sum w (s^2 + m^2) - mean^2``."""
    w, m, s = _check_mixture(weights, means, stds)
    mean = float(np.sum(w * m))
    return mean, float(np.sum(w * (s * s + m * m)) - mean * mean)
