"""Variational lower bounds on divergences as functions of critic *outputs* (C01-C03, C09-C11, C13-C14).

Every bound here is ``E_P[a(T(X))] - E_Q[b(T(Y))]`` for some critic T, estimated by the sample
means over the critic's values on ``x ~ P`` (``t_p``, shape ``(n,)``) and on ``y ~ Q`` (``t_q``,
shape ``(m,)``).  The critic itself does not appear: evaluate it first (e.g. with
:func:`divergences.lipschitz.critic_scores`), then pass its values.  These are the single home
of the formulas; :mod:`divergences.variational` (critic-based estimators) and ``gans.losses``
(GAN objectives) call them.

Conventions: natural logarithms; the sample means are plain (class-balanced) means, so the
value is an unbiased estimate of the population bound at a *fixed* critic (except
Donsker-Varadhan, whose log of a mean is biased by O(1/m), Jensen).  ``(n,)`` and ``(n, 1)``
inputs are accepted.  torch in -> 0-d tensor out (same device and dtype, differentiable, no
host synchronisation); numpy / sequences in -> Python float.  With ``return_stderr=True`` the
result is ``(value, stderr)``, ``stderr`` a Python float (a host synchronisation).  A critic
value outside the domain of ``f*`` gives ``f* = +inf`` and the bound ``-inf``: that is the
value of the bound, not an error (:func:`divergences.variational.variational_bound` raises on it).

Standard errors: for a difference of two independent sample means
``sqrt(var(a)/n + var(b)/m)`` (unbiased variances, 0 for a single sample); for
Donsker-Varadhan the delta method ``var(e^T)/(m (mean e^T)^2)`` for the log-mean term.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from . import fdiv as _fdiv
from ._arrays import ArrayLike, common_tensors, is_torch, to_output

__all__ = ["fgan", "nwj", "gan", "kantorovich_rubinstein", "donsker_varadhan"]


def _pair(t_p: ArrayLike, t_q: ArrayLike, names: tuple[str, str] = ("t_p", "t_q")
          ) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """Critic values as two 1-D tensors of one dtype/device (no copy for torch input)."""
    as_torch = is_torch(t_p, t_q)
    a, b = common_tensors((t_p, names[0]), (t_q, names[1]))
    out = []
    for t, nm in ((a, names[0]), (b, names[1])):
        if t.ndim == 2 and t.shape[1] == 1:
            t = t[:, 0]
        if t.ndim != 1 or t.shape[0] == 0:
            raise ValueError(f"{nm}: expected one critic value per sample, shape (n,) or (n, 1) with n >= 1, "
                             f"got {tuple(t.shape)}")
        out.append(t)
    return out[0], out[1], as_torch


def _mean_se(a: torch.Tensor, b: torch.Tensor) -> float:
    """Standard error of ``mean(a) - mean(b)`` for independent samples (float64 variances)."""
    va = float(a.detach().double().var()) if a.numel() > 1 else 0.0
    vb = float(b.detach().double().var()) if b.numel() > 1 else 0.0
    return math.sqrt(va / a.numel() + vb / b.numel())


def _result(value: torch.Tensor, as_torch: bool, se: float | None) -> Any:
    out = to_output(value, as_torch)
    return out if se is None else (out, se)


def _entry(divergence: str | _fdiv.FDivergence, params: dict[str, float]) -> _fdiv.FDivergence:
    if isinstance(divergence, _fdiv.FDivergence):
        if params:
            raise ValueError(f"params: a registry entry is already parametrised, got extra {sorted(params)}")
        return divergence
    return _fdiv.get(divergence, **params)


def fgan(v_p: ArrayLike, v_q: ArrayLike, divergence: str | _fdiv.FDivergence, *, activation: bool = True,
         return_stderr: bool = False, **params: float) -> Any:
    """f-GAN (Fenchel-dual) lower bound ``E_P[T] - E_Q[f*(T)] <= D_f(P || Q)`` (C10, C11).

    Nowozin, Cseke & Tomioka 2016, eq. 6 (``F(V) = E_P[g_f(V(X))] - E_Q[f*(g_f(V(Y)))]``), with
    ``D_f(P || Q) = int q f(p/q)`` and ``f*(t) = sup_u (u t - f(u))``; equality at
    ``T = f'(p/q)`` (eq. 5).  ``activation=True``: ``v_p``, ``v_q`` are the critic's raw outputs V
    and ``T = g_f(V)`` with the registry's output activation; the Q-term ``f*(g_f(V))`` comes from
    :meth:`divergences.fdiv.FDivergence.conjugate_of_activation` (closed forms, finite for every
    finite V in every precision).  ``activation=False``: the values are T itself (e.g. the
    optimal critic ``f'(p/q)``) and the Q-term is ``f*(T)`` (``+inf`` outside ``dom f*``).
    ``divergence``: a registry name (with ``params``, see :func:`divergences.fdiv.get`) or an
    entry.  For the ``gan`` entry this is the GAN objective (:func:`gan`), ``2 JSD - log 4`` at
    the optimum (C03, C11); for ``kl`` with ``activation=False`` it is :func:`nwj`.
    """
    entry = _entry(divergence, params)
    a, b, as_torch = _pair(v_p, v_q, ("v_p", "v_q"))
    if activation:
        a, b = entry.activation(a), entry.conjugate_of_activation(b)
    else:
        b = entry.conjugate(b)
    return _result(a.mean() - b.mean(), as_torch, _mean_se(a, b) if return_stderr else None)


def nwj(t_p: ArrayLike, t_q: ArrayLike, *, return_stderr: bool = False) -> Any:
    """NWJ bound ``KL(P || Q) >= E_P[T] - E_Q[e^(T - 1)]`` (Nguyen, Wainwright & Jordan 2010).

    The f-GAN bound of ``kl`` (``f(u) = u log u``, ``f*(t) = e^(t-1)``, C11) at ``T`` with no
    activation: :func:`fgan` ``(t_p, t_q, "kl", activation=False)``.  Tight at ``T = 1 + log(p/q)``.
    """
    return fgan(t_p, t_q, "kl", activation=False, return_stderr=return_stderr)


def gan(v_p: ArrayLike, v_q: ArrayLike, *, return_stderr: bool = False) -> Any:
    """GAN objective ``E_P[log D(X)] + E_Q[log(1 - D(Y))]`` at ``D = sigmoid(V)`` from the logits V.

    Goodfellow et al. 2014, eq. 1 (C01-C03).  In logit form ``log D = -softplus(-V)`` and
    ``log(1 - D) = -softplus(V)``: finite for every finite logit (no ``log 0``).  At the optimal
    discriminator ``D* = p/(p+q)`` (C02) the population value is ``2 JSD(P, Q) - log 4``
    (C03; JSD with the 1/2 weights), and for any D it is ``<= 2 JSD - log 4``.  It equals the
    f-GAN bound of the ``gan`` registry entry (C11, ``T = log D``).  As a *loss* the
    discriminator minimises its negative, the binary cross-entropy.
    """
    a, b, as_torch = _pair(v_p, v_q, ("v_p", "v_q"))
    a, b = -F.softplus(-a), F.softplus(b)  # log D(x); -log(1 - D(y))
    return _result(a.mean() - b.mean(), as_torch, _mean_se(a, b) if return_stderr else None)


def kantorovich_rubinstein(f_p: ArrayLike, f_q: ArrayLike, *, return_stderr: bool = False) -> Any:
    """Kantorovich-Rubinstein dual ``E_P[f(X)] - E_Q[f(Y)]`` (C13; WGAN, Arjovsky et al. 2017, eq. 2).

    ``W1(P, Q) = sup_{||f||_Lip <= 1} E_P f - E_Q f`` (Villani 2008, Thm. 5.10), so the value is a
    lower bound on ``W1`` (rooted, p = 1) when the critic f is 1-Lipschitz, and on ``K W1`` when
    it is K-Lipschitz (C14).  Nothing here enforces the constraint: see
    :mod:`divergences.lipschitz`.
    """
    a, b, as_torch = _pair(f_p, f_q, ("f_p", "f_q"))
    return _result(a.mean() - b.mean(), as_torch, _mean_se(a, b) if return_stderr else None)


def donsker_varadhan(t_p: ArrayLike, t_q: ArrayLike, *, return_stderr: bool = False) -> Any:
    """Donsker-Varadhan bound ``KL(P || Q) >= E_P[T] - log E_Q[e^T]`` (natural log).

    Donsker & Varadhan 1983; MINE (Belghazi et al. 2018, eq. 10).  Tight at
    ``T = log(p/q) + c`` for any constant c; invariant to constant shifts of T; at least the
    NWJ bound for the same T (``log z <= z/e``).  ``log mean_Q e^T = logsumexp(T) - log m``
    (no overflow for large T).  Standard error: ``sqrt(var(T(X))/n + var(w)/m)`` with
    ``w = e^T / mean_Q e^T`` (delta method); the log of a mean is biased by O(1/m).
    """
    tp, tq, as_torch = _pair(t_p, t_q)
    m = tq.shape[0]
    val = tp.mean() - (torch.logsumexp(tq, 0) - math.log(m))
    se = None
    if return_stderr:
        w = torch.exp(tq - tq.max()).detach().double()
        se = math.sqrt(float(tp.detach().double().var()) / tp.numel() + float((w / w.mean()).var()) / m) \
            if tp.numel() > 1 and m > 1 else 0.0
    return _result(val, as_torch, se)
