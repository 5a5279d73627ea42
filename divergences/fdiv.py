"""The f-divergence registry: generators, derivatives, Fenchel conjugates and f-GAN activations.

An f-divergence is ``D_f(P || Q) = sum_x q(x) f(p(x)/q(x))`` (or ``int q f(p/q) dx``) for a
convex generator ``f: [0, inf) -> (-inf, inf]`` (C08; seed 003).  Its Fenchel conjugate is
taken over the domain of ``f`` only::

    f*(t) = sup_{u >= 0} (u t - f(u))                                   (C09)

and gives the variational lower bound ``D_f >= E_P[T] - E_Q[f*(T)]``, tight at the optimal
critic ``T*(x) = f'(p(x)/q(x))`` (C10; Nowozin, Cseke, Tomioka 2016, "f-GAN", eq. 4-5).

Because the supremum runs over ``u >= 0`` (not over all of R), several conjugates have a
*boundary branch* that table formulas omit: Pearson's ``f*(t) = t + t^2/4`` holds only for
``t >= -2`` (below, the supremum sits at ``u = 0`` and ``f*(t) = -f(0) = -1``); alpha
divergences with ``alpha > 1`` are constant ``-1/alpha`` for ``t <= -1/(alpha-1)``;
total variation is ``-1/2`` for ``t < -1/2``.  The closed forms below are correct on the whole
real line (``+inf`` outside the effective domain), and ``symbolic_conjugate`` re-derives each
one with sympy (see :mod:`divergences._fdiv_symbolic`); the tests compare the two and a brute
force supremum over ``u``.

Registry (natural logarithms; the conventions are listed in docs/claims.md):

=====================  ======================================  ==============================
name                   generator f(u)                          D_f
=====================  ======================================  ==============================
``kl``                 u log u                                 KL(P||Q)
``reverse_kl``         -log u                                  KL(Q||P)
``pearson``            (u-1)^2                                 Pearson chi^2
``neyman``             (1-u)^2/u                               Neyman chi^2
``squared_hellinger``  (sqrt(u)-1)^2                           sum (sqrt p - sqrt q)^2
``jeffreys``           (u-1) log u                             KL(P||Q) + KL(Q||P)
``js``                 1/2[u log u - (u+1) log((u+1)/2)]       JSD (1/2 weights, max log 2)
``gan``                u log u - (u+1) log(u+1)                2 JSD - log 4 (f-GAN "GAN" row)
``tv``                 1/2|u-1|                                TV = 1/2 sum |p-q|
``alpha`` (alpha=a)    (u^a - 1 - a(u-1)) / (a(a-1))           alpha-divergence, a not in {0,1}
=====================  ======================================  ==============================

The alpha normalisation is the one of Amari / Cichocki-Amari: ``f(1) = f'(1) = 0``,
``f''(1) = 1``; ``a = 2`` gives Pearson/2, ``a = -1`` Neyman/2, ``a = 1/2`` gives
``2 (sqrt u - 1)^2`` (twice ``squared_hellinger``); ``a -> 1`` tends to KL and ``a -> 0`` to
reverse KL.  Seed 003's Jensen-Shannon generator
``s log s - (s+1) log(s+1) + log 4`` (giving ``2 JSD``) is ``gan`` shifted by ``log 4``; its
conjugate is ``gan``'s minus ``log 4`` (C11).

Every callable accepts a torch tensor (returns a tensor on the same device, differentiable)
or a numpy array / Python number (returns numpy / float).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
import torch.nn.functional as F

from ._arrays import to_output, to_tensor
from ._validation import check_choice

__all__ = ["FDivergence", "get", "names", "symbolic_conjugate"]

_INF = math.inf
_LOG2 = math.log(2.0)


def _elementwise(fn: Callable[[torch.Tensor], torch.Tensor], arg: str = "t", *,
                 nonnegative: bool = False) -> Callable[[Any], Any]:
    """Lift a torch elementwise function to numpy / Python numbers (numpy in -> numpy out).

    NaN in gives NaN out (never a finite value); complex input raises.  ``nonnegative``: the
    argument (named ``arg``) must be ``>= 0`` (generators and their derivatives live on
    ``u >= 0``); a negative entry raises ``ValueError`` instead of extending ``f`` silently.
    """

    @functools.wraps(fn)
    def wrapper(x: Any) -> Any:
        torch_in = isinstance(x, torch.Tensor)
        t = to_tensor(x, arg)
        if not t.is_floating_point():
            t = t.to(torch.get_default_dtype())
        if nonnegative and bool((t.detach() < 0).any()):
            raise ValueError(f"{arg}: the generator is defined for {arg} >= 0 only, got min "
                             f"{float(t.detach().min()):.3g}")
        out = torch.where(torch.isnan(t), t, fn(t))
        return out if torch_in else to_output(out, False)

    return wrapper


def _gen(fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[Any], Any]:
    """A generator or its derivative: argument ``u >= 0`` (see :func:`_elementwise`)."""
    return _elementwise(fn, "u", nonnegative=True)


def _with_limit_at_inf(fn: Callable[[torch.Tensor], torch.Tensor], limit: float
                       ) -> Callable[[torch.Tensor], torch.Tensor]:
    """Evaluate ``fn`` with ``fn(+inf) = limit`` (avoids inf - inf = NaN in the formula)."""

    def g(u: torch.Tensor) -> torch.Tensor:
        big = torch.isinf(u)
        return torch.where(big, torch.full_like(u, limit), fn(torch.where(big, torch.ones_like(u), u)))

    return g


def _xlogx(u: torch.Tensor) -> torch.Tensor:
    """u log u with 0 log 0 = 0; gradient 0 (not NaN) at u = 0."""
    pos = u > 0
    us = torch.where(pos, u, torch.ones_like(u))
    return torch.where(pos, us * torch.log(us), torch.zeros_like(u))


def _gan_f_finite(u: torch.Tensor) -> torch.Tensor:
    # u log u - (u+1) log(u+1) = -u log(1 + 1/u) - log(1 + u): no cancellation for large u
    pos = u > 0
    us = torch.where(pos, u, torch.ones_like(u))
    return torch.where(pos, -us * torch.log1p(1.0 / us), torch.zeros_like(u)) - torch.log1p(u)


_gan_f = _with_limit_at_inf(_gan_f_finite, -_INF)


@dataclass(frozen=True)
class FDivergence:
    """One registry entry: an f-divergence with its Fenchel-dual machinery.

    Attributes
    ----------
    name:
        Registry name (``"alpha"`` entries carry their parameter in ``params``).
    f:
        Generator ``f(u)``, ``u >= 0``; ``f(0)`` is the limit ``f(0+)`` (possibly ``+inf``).
    f_prime:
        Derivative ``f'(u)`` (``-inf`` at ``u = 0`` where ``f'(0+) = -inf``).  For ``tv`` it is
        the subgradient ``1/2 sign(u - 1)`` (0 at ``u = 1``).
    conjugate:
        ``f*(t) = sup_{u >= 0} (u t - f(u))`` in closed form on all of R: ``+inf`` outside the
        effective domain, boundary branches included.
    domain:
        Effective domain ``(lo, hi)`` of ``f*`` (where it is finite).  Whether a finite end
        belongs to it is given by ``domain_closed``.
    activation:
        f-GAN output activation ``g_f: R -> dom f*`` (Nowozin et al. 2016, Table 6 where that
        is valid for the supremum over ``u >= 0``).
    domain_closed:
        ``(lo_included, hi_included)`` for finite ends (``False`` for infinite ends).
    f_at_zero:
        ``f(0) = lim_{u->0+} f(u)``: the contribution per unit of Q where P vanishes.
    slope_at_infinity:
        ``f'(inf) = lim_{u->inf} f(u)/u``: the contribution per unit of P where Q vanishes
        (``+inf`` for KL: C04).
    generator:
        The generator as text.
    params:
        Parameters as ``((name, value), ...)`` (``(("alpha", a),)`` for the alpha family).
    """

    name: str
    f: Callable
    f_prime: Callable
    conjugate: Callable
    domain: tuple[float, float]
    activation: Callable
    domain_closed: tuple[bool, bool] = (False, False)
    f_at_zero: float = 0.0
    slope_at_infinity: float = _INF
    generator: str = ""
    params: tuple[tuple[str, float], ...] = field(default=())
    composed: Callable | None = None

    def conjugate_of_activation(self, v: Any) -> Any:
        """``f*(g_f(v))``, the Q-term of the f-GAN bound, from a closed form where one exists.

        Composing the two callables loses everything once ``g_f(v)`` rounds onto the edge of
        ``dom f*`` (e.g. ``js`` in float32 for ``v > 17``, giving ``+inf``); the closed forms
        (Nowozin et al. 2016, Table 6 style: ``gan`` -> ``softplus(v)``, ``js`` ->
        ``(softplus(v) - log 2)/2``, ``squared_hellinger`` -> ``expm1(v)``, ``neyman`` ->
        ``2 - 2 e^(-v/2)``, ``reverse_kl`` -> ``v - 1``, alpha < 1 -> ``expm1(-e v)/a``)
        are exact and finite for every finite ``v``.
        """
        if self.composed is not None:
            return self.composed(v)
        return self.conjugate(self.activation(v))

    def optimal_critic(self, ratio: Any) -> Any:
        """Optimal critic ``T*(u) = f'(u)`` at density ratio ``u = p/q`` (C10, f-GAN eq. 5).

        ``E_P[T*] - E_Q[f*(T*)] = D_f(P||Q)``; any other critic gives a lower bound.
        """
        return self.f_prime(ratio)

    def in_domain(self, t: Any) -> Any:
        """Boolean mask: ``t`` lies in the effective domain of ``f*`` (``f*(t) < inf``)."""
        torch_in = isinstance(t, torch.Tensor)
        tt = t if torch_in else to_tensor(t, "t")
        lo, hi = self.domain
        lo_ok = (tt >= lo) if self.domain_closed[0] else (tt > lo)
        hi_ok = (tt <= hi) if self.domain_closed[1] else (tt < hi)
        out = lo_ok & hi_ok
        if torch_in:
            return out
        o = out.cpu().numpy()
        return bool(o) if o.ndim == 0 else o

    def symbolic_conjugate(self):
        """The sympy derivation of ``f*`` for this entry (see :func:`symbolic_conjugate`)."""
        return symbolic_conjugate(self.name, **dict(self.params))


# --------------------------------------------------------------------------------------------
# entries


def _kl() -> FDivergence:
    return FDivergence(
        name="kl",
        f=_gen(_xlogx),
        f_prime=_gen(lambda u: 1.0 + torch.log(u)),
        conjugate=_elementwise(lambda t: torch.exp(t - 1.0)),
        domain=(-_INF, _INF),
        activation=_elementwise(lambda v: v, "v"),
        f_at_zero=0.0,
        slope_at_infinity=_INF,
        generator="u log u",
    )


def _reverse_kl() -> FDivergence:
    def conj(t: torch.Tensor) -> torch.Tensor:
        inside = t < 0
        ts = torch.where(inside, t, -torch.ones_like(t))
        return torch.where(inside, -1.0 - torch.log(-ts), torch.full_like(t, _INF))

    return FDivergence(
        name="reverse_kl",
        f=_gen(lambda u: -torch.log(u)),
        f_prime=_gen(lambda u: -1.0 / u),
        conjugate=_elementwise(conj),
        domain=(-_INF, 0.0),
        activation=_elementwise(lambda v: -torch.exp(-v), "v"),
        f_at_zero=_INF,
        slope_at_infinity=0.0,
        generator="-log u",
        composed=_elementwise(lambda v: v - 1.0, "v"),
    )


def _pearson() -> FDivergence:
    def conj(t: torch.Tensor) -> torch.Tensor:
        # stationary point u = 1 + t/2 >= 0 needs t >= -2; below, sup at u = 0: -f(0) = -1
        return torch.where(t >= -2.0, t + 0.25 * t * t, -torch.ones_like(t))

    return FDivergence(
        name="pearson",
        f=_gen(lambda u: (u - 1.0) ** 2),
        f_prime=_gen(lambda u: 2.0 * (u - 1.0)),
        conjugate=_elementwise(conj),
        domain=(-_INF, _INF),
        activation=_elementwise(lambda v: v, "v"),
        f_at_zero=1.0,
        slope_at_infinity=_INF,
        generator="(u - 1)^2",
    )


def _neyman() -> FDivergence:
    def f(u: torch.Tensor) -> torch.Tensor:
        pos = u > 0
        # (1-u) * ((1-u)/u): no overflow of (1-u)^2 for u > 1e154; f(inf) = inf
        fin = pos & torch.isfinite(u)
        us = torch.where(fin, u, torch.ones_like(u))
        return torch.where(fin, (1.0 - us) * ((1.0 - us) / us), torch.full_like(u, _INF))

    def conj(t: torch.Tensor) -> torch.Tensor:
        # u* = (1-t)^(-1/2) for t < 1; at t = 1 the sup 2 is approached as u -> inf
        inside = t < 1
        ts = torch.where(inside, t, torch.zeros_like(t))
        edge = torch.where(t == 1, torch.full_like(t, 2.0), torch.full_like(t, _INF))
        return torch.where(inside, 2.0 - 2.0 * torch.sqrt(1.0 - ts), edge)

    return FDivergence(
        name="neyman",
        f=_gen(f),
        f_prime=_gen(lambda u: 1.0 - 1.0 / (u * u)),
        conjugate=_elementwise(conj),
        domain=(-_INF, 1.0),
        activation=_elementwise(lambda v: 1.0 - torch.exp(-v), "v"),
        domain_closed=(False, True),
        f_at_zero=_INF,
        slope_at_infinity=1.0,
        generator="(1 - u)^2 / u",
        composed=_elementwise(lambda v: 2.0 - 2.0 * torch.exp(-0.5 * v), "v"),
    )


def _squared_hellinger() -> FDivergence:
    def conj(t: torch.Tensor) -> torch.Tensor:
        inside = t < 1
        ts = torch.where(inside, t, torch.zeros_like(t))
        return torch.where(inside, ts / (1.0 - ts), torch.full_like(t, _INF))

    return FDivergence(
        name="squared_hellinger",
        f=_gen(lambda u: (torch.sqrt(u) - 1.0) ** 2),
        f_prime=_gen(lambda u: 1.0 - 1.0 / torch.sqrt(u)),
        conjugate=_elementwise(conj),
        domain=(-_INF, 1.0),
        activation=_elementwise(lambda v: 1.0 - torch.exp(-v), "v"),
        f_at_zero=1.0,
        slope_at_infinity=1.0,
        generator="(sqrt(u) - 1)^2",
        composed=_elementwise(torch.expm1, "v"),
    )


def _log_lambertw_exp(x: torch.Tensor, iters: int = 100) -> torch.Tensor:
    """``log W(e^x)``: the root ``l`` of ``e^l + l = x`` (Newton; convex increasing in l)."""
    tol = 4.0 * torch.finfo(x.dtype).eps
    with torch.no_grad():
        big = x > 1
        xs = torch.where(big, x, torch.full_like(x, 2.0))
        l = torch.where(big, torch.log(xs - torch.log(xs)), x - 0.5)
        for _ in range(iters):
            el = torch.exp(l)
            step = (el + l - x) / (el + 1.0)
            l = l - step
            if bool((step.abs() <= tol * (1.0 + l.abs())).all()):
                break
    return l


def _jeffreys() -> FDivergence:
    def f(u: torch.Tensor) -> torch.Tensor:
        pos = u > 0
        us = torch.where(pos, u, torch.ones_like(u))
        return torch.where(pos, (us - 1.0) * torch.log(us), torch.full_like(u, _INF))

    def conj(t: torch.Tensor) -> torch.Tensor:
        # t = f'(u) = log u + 1 - 1/u  <=>  w = 1/u solves w + log w = 1 - t, w = W(e^(1-t));
        # f*(t) = w + 1/w + t - 2 (Nowozin et al. 2016, Table 5) = 1/w - log w - 1 using
        # w + t = 1 - log w (no cancellation for t << 0).  The value is computed with w
        # detached and the exact first derivative (f*)'(t) = u* = 1/w is attached.
        l = _log_lambertw_exp((1.0 - t).detach())
        u = torch.exp(-l)
        val = u - l - 1.0
        if t.requires_grad:
            val = val + u * (t - t.detach())
        return val

    return FDivergence(
        name="jeffreys",
        f=_gen(f),
        f_prime=_gen(lambda u: torch.log(u) + 1.0 - 1.0 / u),
        conjugate=_elementwise(conj),
        domain=(-_INF, _INF),
        activation=_elementwise(lambda v: v, "v"),
        f_at_zero=_INF,
        slope_at_infinity=_INF,
        generator="(u - 1) log u",
    )


def _js() -> FDivergence:
    def f(u: torch.Tensor) -> torch.Tensor:
        return 0.5 * (_gan_f_finite(u) + (u + 1.0) * _LOG2)

    f = _with_limit_at_inf(f, _INF)

    def conj(t: torch.Tensor) -> torch.Tensor:
        # half of f-GAN's JS row evaluated at 2t: -1/2 log(2 - e^(2t)), t < log(2)/2
        inside = t < 0.5 * _LOG2
        ts = torch.where(inside, t, torch.zeros_like(t))
        return torch.where(inside, -0.5 * torch.log(2.0 - torch.exp(2.0 * ts)), torch.full_like(t, _INF))

    return FDivergence(
        name="js",
        f=_gen(f),
        f_prime=_gen(lambda u: 0.5 * (_LOG2 - torch.log1p(1.0 / u))),
        conjugate=_elementwise(conj),
        domain=(-_INF, 0.5 * _LOG2),
        activation=_elementwise(lambda v: 0.5 * (_LOG2 - F.softplus(-v)), "v"),
        f_at_zero=0.5 * _LOG2,
        slope_at_infinity=0.5 * _LOG2,
        generator="1/2 [u log u - (u + 1) log((u + 1)/2)]",
        composed=_elementwise(lambda v: 0.5 * (F.softplus(v) - _LOG2), "v"),
    )


def _gan() -> FDivergence:
    def conj(t: torch.Tensor) -> torch.Tensor:
        inside = t < 0
        ts = torch.where(inside, t, -torch.ones_like(t))
        return torch.where(inside, -torch.log(-torch.expm1(ts)), torch.full_like(t, _INF))

    return FDivergence(
        name="gan",
        f=_gen(_gan_f),
        f_prime=_gen(lambda u: -torch.log1p(1.0 / u)),
        conjugate=_elementwise(conj),
        domain=(-_INF, 0.0),
        activation=_elementwise(lambda v: -F.softplus(-v), "v"),
        f_at_zero=0.0,
        slope_at_infinity=0.0,
        generator="u log u - (u + 1) log(u + 1)",
        composed=_elementwise(F.softplus, "v"),
    )


def _tv() -> FDivergence:
    def conj(t: torch.Tensor) -> torch.Tensor:
        # sup over u in [0, 1] and [1, inf) of piecewise-linear u t - |u - 1|/2
        low = torch.full_like(t, -0.5)
        return torch.where(t > 0.5, torch.full_like(t, _INF), torch.where(t < -0.5, low, t))

    return FDivergence(
        name="tv",
        f=_gen(lambda u: 0.5 * torch.abs(u - 1.0)),
        f_prime=_gen(lambda u: 0.5 * torch.sign(u - 1.0)),
        conjugate=_elementwise(conj),
        domain=(-_INF, 0.5),
        activation=_elementwise(lambda v: 0.5 * torch.tanh(v), "v"),
        domain_closed=(False, True),
        f_at_zero=0.5,
        slope_at_infinity=0.5,
        generator="1/2 |u - 1|",
    )


def _alpha(alpha: float) -> FDivergence:
    a = float(alpha)
    if not math.isfinite(a) or a in (0.0, 1.0):
        raise ValueError(f"alpha: must be finite and not 0 or 1 (the KL limits), got {alpha!r}")
    e = a / (a - 1.0)
    log_a, log_a1 = math.log(abs(a)), math.log(abs(a - 1.0))
    # Powers are formed together with their normalisers in the log domain,
    # u^a / |a (a-1)| = exp(a log u - log|a| - log|a-1|), so nothing overflows on the way
    # (a (a-1) itself does for |a| > 1.3e154): finite wherever the true value is representable.
    s0 = 1.0 if (a > 1 or a < 0) else -1.0  # sign of a (a - 1)
    s1 = 1.0 if a > 1 else -1.0  # sign of a - 1
    sa = 1.0 if a > 0 else -1.0

    def _scaled_pow(u: torch.Tensor, p: float, log_norm: float) -> torch.Tensor:
        """``u^p / exp(log_norm)`` for ``u >= 0``; at ``u = 0``: 0 (p > 0) or +inf (p < 0),
        with zero gradient there."""
        pos = u > 0
        us = torch.where(pos, u, torch.ones_like(u))
        at_zero = torch.zeros_like(u) if p > 0 else torch.full_like(u, _INF)
        return torch.where(pos, torch.exp(p * torch.log(us) - log_norm), at_zero)

    def f(u: torch.Tensor) -> torch.Tensor:
        # (u^a - 1 - a (u - 1)) / (a (a - 1)) = u^a / (a (a-1)) - u / (a-1) + 1/a
        return s0 * _scaled_pow(u, a, log_a + log_a1) - u / (a - 1.0) + 1.0 / a

    f = _with_limit_at_inf(f, _INF)

    def f_prime(u: torch.Tensor) -> torch.Tensor:
        # (u^(a-1) - 1) / (a - 1)
        return s1 * _scaled_pow(u, a - 1.0, log_a1) - 1.0 / (a - 1.0)

    def conj(t: torch.Tensor) -> torch.Tensor:
        b = 1.0 + (a - 1.0) * t  # u*^(a-1) at the stationary point; f*(t) = (b^e - 1) / a
        inside = b > 0
        big = torch.isinf(b)  # (a - 1) t overflowed: log b = log|a - 1| + log|t| to double precision
        bs = torch.where(inside & ~big, b, torch.ones_like(b))
        tb = torch.where(big, t.abs(), torch.ones_like(t))
        log_b = torch.where(big, log_a1 + torch.log(tb), torch.log(bs))
        val = sa * torch.exp(e * log_b - log_a) - 1.0 / a
        if a > 1:
            # b <= 0 (t <= -1/(a-1)): sup at u = 0, value -f(0) = -1/a
            return torch.where(inside, val, torch.full_like(t, -1.0 / a))
        edge_val = -1.0 / a if a < 0 else _INF  # t = 1/(1-a): limit u -> inf
        edge = torch.where(b == 0, torch.full_like(t, edge_val), torch.full_like(t, _INF))
        return torch.where(inside, val, edge)

    if a > 1:
        domain: tuple[float, float] = (-_INF, _INF)
        closed = (False, False)
        act = _elementwise(lambda v: v, "v")
        composed = None
        slope = _INF
    else:
        hi = 1.0 / (1.0 - a)
        domain = (-_INF, hi)
        closed = (False, a < 0)
        act = _elementwise(lambda v: hi * (1.0 - torch.exp(-v)), "v")
        # b = 1 + (a-1) g(v) = e^(-v), so f*(g(v)) = (e^(-e v) - 1) / a
        composed = _elementwise(lambda v: torch.expm1(-e * v) / a, "v")
        slope = hi
    return FDivergence(
        name="alpha",
        f=_gen(f),
        f_prime=_gen(f_prime),
        conjugate=_elementwise(conj),
        domain=domain,
        activation=act,
        domain_closed=closed,
        f_at_zero=(1.0 / a) if a > 0 else _INF,
        slope_at_infinity=slope,
        generator=f"(u^a - 1 - a (u - 1)) / (a (a - 1)), a = {a:g}",
        composed=composed,
        params=(("alpha", a),),
    )


_FACTORIES: dict[str, Callable[..., FDivergence]] = {
    "kl": _kl,
    "reverse_kl": _reverse_kl,
    "pearson": _pearson,
    "neyman": _neyman,
    "squared_hellinger": _squared_hellinger,
    "jeffreys": _jeffreys,
    "js": _js,
    "gan": _gan,
    "tv": _tv,
    "alpha": _alpha,
}


def names() -> list[str]:
    """Registry names, in a fixed order (``"alpha"`` needs ``alpha=...`` in :func:`get`)."""
    return list(_FACTORIES)


def get(name: str, **params: float) -> FDivergence:
    """The registry entry ``name``: generator, derivative, conjugate, domain, activation.

    ``get("alpha", alpha=a)`` for the alpha family (``a`` finite, not 0 or 1); other names take
    no parameters.  See the module docstring for the generators and conventions.
    """
    check_choice(name, "name", names())
    if name == "alpha":
        if set(params) != {"alpha"}:
            raise ValueError(f"params: 'alpha' takes exactly one parameter alpha=..., got {sorted(params)}")
        try:
            a = float(params["alpha"])
        except (TypeError, ValueError):
            raise ValueError(f"alpha: must be a number, got {params['alpha']!r}") from None
        return _alpha(a)
    if params:
        raise ValueError(f"params: {name!r} takes no parameters, got {sorted(params)}")
    return _FACTORIES[name]()


def symbolic_conjugate(name: str, **params: float):
    """sympy derivation of ``f*(t) = sup_{u >= 0}(u t - f(u))`` for a registry entry.

    Returns a sympy ``Piecewise`` in the real symbol ``t`` (``sympy.Symbol("t", real=True)``)
    with the boundary branches (sup at ``u = 0`` below ``f'(0+)``, the limit ``u -> inf`` at
    ``t = f'(inf)``, ``oo`` beyond).  Derived, not tabulated: see
    :func:`divergences._fdiv_symbolic.conjugate_of`.
    """
    from ._fdiv_symbolic import symbolic_conjugate as _sym

    return _sym(name, **params)
