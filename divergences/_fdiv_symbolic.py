"""sympy derivation of Fenchel conjugates ``f*(t) = sup_{u >= 0} (u t - f(u))`` (C09, C11).

The derivation follows the convex-analysis recipe for a convex generator on ``[0, inf)``:

1. ``f'`` is non-decreasing, so the stationary condition ``f'(u) = t`` has a solution
   ``u*(t) > 0`` exactly for ``t`` in the open range ``(f'(0+), f'(inf))``; there
   ``f*(t) = u* t - f(u*)`` (sympy ``solve`` + ``simplify``).
2. For ``t <= f'(0+)`` (finite only for some generators) ``u t - f(u)`` is non-increasing, the
   supremum sits at the boundary ``u = 0`` and ``f*(t) = -f(0+)``: the branch naive tables miss.
3. At ``t = f'(inf)`` (when finite) the supremum is the limit ``lim_{u->inf} (u t - f(u))``,
   finite (closed end of the domain) or ``oo``; beyond it ``f* = oo``.

Piecewise-linear generators (``tv``) are handled piece by piece: on each interval the
objective is linear in ``u`` and its supremum is at an end point (or ``oo``).

Only sympy is used here; the closed forms the package evaluates live in
:mod:`divergences.fdiv` and are checked against these derivations in the tests.
"""

from __future__ import annotations

import functools

import sympy as sp

__all__: list[str] = []

U = sp.Symbol("u", positive=True)
T = sp.Symbol("t", real=True)
A = sp.Symbol("alpha", real=True)  # the alpha family's parameter, kept symbolic while solving


def generator_expr(name: str, **params: float) -> sp.Expr:
    """The generator ``f(u)`` of a registry entry as a sympy expression in ``U``.

    For ``"alpha"`` without a value the expression keeps the symbol ``A``; with
    ``alpha=value`` the value is substituted as an exact rational (``sympy.nsimplify``).
    """
    u = U
    if name == "kl":
        return u * sp.log(u)
    if name == "reverse_kl":
        return -sp.log(u)
    if name == "pearson":
        return (u - 1) ** 2
    if name == "neyman":
        return (1 - u) ** 2 / u
    if name == "squared_hellinger":
        return (sp.sqrt(u) - 1) ** 2
    if name == "jeffreys":
        return (u - 1) * sp.log(u)
    if name == "js":
        return sp.Rational(1, 2) * (u * sp.log(u) - (u + 1) * sp.log((u + 1) / 2))
    if name == "gan":
        return u * sp.log(u) - (u + 1) * sp.log(u + 1)
    if name == "tv":
        return sp.Abs(u - 1) / 2
    if name == "alpha":
        f = (u ** A - 1 - A * (u - 1)) / (A * (A - 1))
        return f.subs(A, sp.nsimplify(params["alpha"])) if "alpha" in params else f
    raise ValueError(f"name: no symbolic generator for {name!r}")


def _pick_root(roots: list[sp.Expr], fp: sp.Expr, t0: sp.Expr) -> sp.Expr:
    """The root u*(t) of f'(u) = t that is real, positive and satisfies it at a test point."""
    for r in roots:
        v = complex(sp.N(r.subs(T, t0)))
        if abs(v.imag) < 1e-12 and v.real > 0:
            if abs(complex(sp.N(fp.subs(U, v.real))) - float(t0)) < 1e-8 * (1 + abs(float(t0))):
                return r
    raise ValueError(f"no positive root of f'(u) = t among {roots}")


def _interior_test_point(lo: sp.Expr, hi: sp.Expr) -> sp.Expr:
    if lo.is_finite and hi.is_finite:
        return (lo + hi) / 2
    if lo.is_finite:
        return lo + 1
    if hi.is_finite:
        return hi - 1
    return sp.Integer(0)


def conjugate_of(f: sp.Expr, subs: dict | None = None) -> sp.Expr:
    """``sup_{u >= 0} (u t - f(u))`` for a smooth convex generator ``f(U)``: a Piecewise in ``T``.

    Steps 1-3 of the module docstring.  ``f`` must be strictly convex on ``(0, inf)`` and
    differentiable there (use :func:`conjugate_piecewise_linear` for ``|u - 1|/2``).  Symbols
    in ``subs`` (the alpha parameter) stay symbolic while solving ``f'(u) = t`` and are
    substituted before the branch analysis, which needs their values.
    """
    subs = subs or {}
    fp_sym = sp.diff(f, U)
    roots = sp.solve(sp.Eq(fp_sym, T), U)
    if not isinstance(roots, list):
        roots = list(roots)
    inners = [sp.simplify(r * T - f.subs(U, r)) for r in roots]
    f = f.subs(subs)
    fp = fp_sym.subs(subs)
    lo = sp.limit(fp, U, 0, "+")
    hi = sp.limit(fp, U, sp.oo)
    root = _pick_root([r.subs(subs) for r in roots], fp, _interior_test_point(lo, hi))
    inner = inners[[r.subs(subs) for r in roots].index(root)].subs(subs)
    pieces: list[tuple[sp.Expr, sp.Basic]] = []
    if lo.is_finite:
        pieces.append((-sp.limit(f, U, 0, "+"), T <= lo))
    if hi.is_finite:
        at_hi = sp.limit(U * hi - f, U, sp.oo)
        pieces.append((inner, T < hi))
        pieces.append((at_hi, sp.Eq(T, hi)))
        pieces.append((sp.oo, True))
    else:
        pieces.append((inner, True))
    return sp.Piecewise(*pieces)


def conjugate_piecewise_linear(pieces: list[tuple[sp.Expr, sp.Expr, sp.Expr]]) -> sp.Expr:
    """``sup_{u >= 0}(u t - f(u))`` for f linear on each interval ``[a, b]`` of ``pieces``.

    ``pieces`` lists ``(f_i(U), a_i, b_i)`` covering ``[0, oo)``.  On each piece the objective is
    linear in ``u``: its supremum is at an end point, or ``oo`` if it grows as ``u -> oo``.
    """
    sups = []
    for expr, a, b in pieces:
        obj = U * T - expr
        slope = sp.diff(obj, U)
        at_a = obj.subs(U, a)
        if b is sp.oo:
            sups.append(sp.Piecewise((at_a, slope <= 0), (sp.oo, True)))
        else:
            sups.append(sp.Max(at_a, obj.subs(U, b)))
    out = sp.Max(*sups) if len(sups) > 1 else sups[0]
    return sp.piecewise_fold(out.rewrite(sp.Piecewise))


@functools.lru_cache(maxsize=64)
def _cached(name: str, params: tuple[tuple[str, float], ...]) -> sp.Expr:
    if name == "tv":
        half = sp.Rational(1, 2)
        return conjugate_piecewise_linear([(half * (1 - U), sp.Integer(0), sp.Integer(1)),
                                           (half * (U - 1), sp.Integer(1), sp.oo)])
    if name == "alpha":
        return conjugate_of(generator_expr("alpha"), {A: sp.nsimplify(dict(params)["alpha"])})
    return conjugate_of(generator_expr(name, **dict(params)))


def symbolic_conjugate(name: str, **params: float) -> sp.Expr:
    """sympy ``f*(t) = sup_{u >= 0}(u t - f(u))`` for registry entry ``name`` (cached).

    The result is a ``Piecewise`` in ``sympy.Symbol("t", real=True)``; e.g. Pearson gives
    ``Piecewise((-1, t <= -2), (t**2/4 + t, True))`` and KL gives ``exp(t - 1)``.
    """
    from .fdiv import get

    entry = get(name, **params)  # validates name and params
    return _cached(name, entry.params)
