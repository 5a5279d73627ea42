"""Variational (critic-based) lower bounds on divergences, and estimators that optimise them.

Every bound here has the form ``sup_T  E_P[a(T(X))] - E_Q[b(T(Y))]`` over critics T, and any
fixed critic gives a lower bound.  The *estimators* train a critic on one half of the samples
(seeded, bounded number of steps, no global RNG) and report the bound evaluated on the other,
held-out half, with its Monte Carlo standard error.  They optimise a critic for one estimate;
they are not GAN training.

Bounds (natural logarithms):

* f-GAN / Fenchel dual (C10; Nowozin, Cseke & Tomioka 2016, eq. 4 and 6):
  ``D_f(P || Q) >= E_P[g_f(V(X))] - E_Q[f*(g_f(V(Y)))]`` for any ``V: R^d -> R``, where
  ``g_f`` is the registry entry's output activation into ``dom f*``; equality at
  ``T = g_f(V) = f'(p/q)``.  Registry: :func:`divergences.fdiv.get`.
* Donsker-Varadhan (KL): ``KL(P || Q) >= E_P[T] - log E_Q[e^T]``; NWJ (Nguyen, Wainwright &
  Jordan 2010; the f-GAN bound of ``kl``): ``KL >= E_P[T] - E_Q[e^(T-1)]``.  For the same T,
  DV >= NWJ since ``log z <= z/e`` (equality iff ``E_Q e^T = e``).
* Classifier JSD (C02, C03, C11): for a discriminator ``D = sigmoid(V)``,
  ``JSD(P, Q) >= 1/2 (E_P log D + E_Q log(1 - D)) + log 2`` (the GAN objective at D,
  rescaled: ``E_P log D + E_Q log(1-D) <= 2 JSD - log 4``), equality at ``D* = p/(p+q)``.
  This is the ``gan`` f-GAN bound with ``T = log D``: substituting ``S <- log S`` in the
  Fenchel bound recovers the GAN objective (C11).
* Kantorovich-Rubinstein dual (C13): ``W1(P, Q) = sup_{||f||_Lip <= 1} E_P f - E_Q f``; a
  critic that is 1-Lipschitz gives a lower bound.

The formulas (as functions of critic outputs) live in :mod:`divergences.bounds`, the gradient
penalty, weight clipping and per-sample critic scores in :mod:`divergences.lipschitz`; this
module evaluates critics on samples and trains them.

Bias of the estimators: the held-out value of a *fixed* critic is an unbiased estimate of a
quantity <= the divergence (so in expectation the estimate is a lower bound, up to its Monte
Carlo error); training on the evaluation samples instead (``holdout=0``) overfits and biases
the estimate upwards.  Limited capacity and steps bias it downwards.  The DV bound is not an
average (log of a mean), so its held-out value is also biased by O(1/m) (Jensen).  For
``wasserstein_dual`` the Lipschitz constraint is only approximate (penalty, clipping or power
iteration): see its docstring for what the estimate means.

Divergence: if the training objective becomes non-finite (too large a learning rate, data far
from unit scale) or the held-out estimate or its standard error is not finite, the estimators
raise ``ValueError`` naming the estimator, the step, ``lr`` and ``batch_size`` and suggesting a
10x smaller ``lr`` or standardised data.  There is no automatic retry: a silently changed
learning rate would make two runs with the same arguments estimate different things.

Failure: a finite held-out estimate significantly below the smallest value of the divergence
(``estimate + 2 stderr < floor``, floor 0, or ``f(1)`` for f-divergences) means the critic is
worse than a constant one; the estimators then emit a ``RuntimeWarning`` with the reason and
still return the estimate (see :func:`variational_f_divergence`).  Progress: ``progress=True``
shows a tqdm bar on stderr (default: from 2000 steps on).
"""

from __future__ import annotations

import math
import sys
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from . import bounds as _bounds
from . import fdiv as _fdiv
from . import lipschitz as _lip
from ._arrays import ArrayLike, common_tensors, is_torch, to_output
from ._validation import (as_samples, check_choice, check_fraction, check_int, check_positive,
                          check_same_dim, check_seed)
from .critics import gradient_norm_max, mlp_critic

__all__ = [
    "VariationalEstimate",
    "variational_bound",
    "donsker_varadhan_bound",
    "nwj_bound",
    "gan_objective_bound",
    "variational_f_divergence",
    "donsker_varadhan",
    "nwj",
    "classifier_jsd",
    "wasserstein_dual",
]

Critic = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class VariationalEstimate:
    """Result of a critic-based estimator.

    estimate: the bound evaluated on held-out samples at the trained critic (float).
    stderr: its Monte Carlo standard error (delta method for DV), from the held-out samples.
    trace: the bound on the training minibatch at every optimisation step (numpy, 1-D).
    critic: the trained critic ``nn.Module`` (raw output V, before any activation).
    lipschitz: for ``wasserstein_dual`` only: ``max ||grad f||`` over the held-out samples and
        their interpolates (C14, a lower bound on the critic's Lipschitz constant); else None.
    """

    estimate: float
    stderr: float
    trace: np.ndarray
    critic: nn.Module
    lipschitz: float | None = None


# ----------------------------------------------------------------------------- bounds at a critic
def _scores(critic: Critic, x: torch.Tensor, name: str) -> torch.Tensor:
    """One score per sample; a module critic is fed its own dtype and device."""
    return _lip.critic_scores(critic, x, name=name, match_module=True)


def _samples(x: ArrayLike, y: ArrayLike, min_n: int = 1) -> tuple[torch.Tensor, torch.Tensor, bool]:
    as_torch = is_torch(x, y)
    xt, yt = common_tensors((x, "x"), (y, "y"))
    xt, yt = as_samples(xt, "x", min_n=min_n), as_samples(yt, "y", min_n=min_n)
    check_same_dim(xt, yt)
    return xt, yt, as_torch


def _finish(value: torch.Tensor, se: float, as_torch: bool, return_stderr: bool) -> Any:
    if not bool(torch.isfinite(value)):
        raise ValueError("critic: the bound is not finite (critic values outside the domain of f*?); "
                         "use activation=True to map the critic output into dom f*")
    out = to_output(value, as_torch)
    return (out, se) if return_stderr else out


def variational_bound(x: ArrayLike, y: ArrayLike, name: str, critic: Critic, *, activation: bool = True,
                      return_stderr: bool = False, **params: float) -> Any:
    """f-GAN lower bound at a given critic: ``E_P[T(X)] - E_Q[f*(T(Y))] <= D_f(P || Q)`` (C10).

    ``T = g_f(critic(x))`` with the registry activation ``g_f`` when ``activation=True``;
    with ``activation=False`` the critic's output is used as T directly (e.g. to plug in the
    optimal critic ``T* = f'(p/q)``, which makes the bound equal ``D_f`` up to Monte Carlo
    error).  ``name``/``params`` select :func:`divergences.fdiv.get` ``(name, **params)``.
    ``x ~ P`` (n, d), ``y ~ Q`` (m, d); ``critic`` maps an (n, d) tensor to (n,) or (n, 1).
    Returns the value (torch in -> tensor, differentiable; numpy in -> float) and, with
    ``return_stderr=True``, also its standard error ``sqrt(var(T(X))/n + var(f*(T(Y)))/m)``.
    A critic value outside ``dom f*`` gives ``f* = +inf`` and raises ``ValueError``.
    """
    entry = _fdiv.get(name, **params)
    xt, yt, as_torch = _samples(x, y)
    val, se = _bounds.fgan(_scores(critic, xt, "x"), _scores(critic, yt, "y"), entry, activation=activation,
                           return_stderr=True)
    return _finish(val, se, as_torch, return_stderr)


def donsker_varadhan_bound(x: ArrayLike, y: ArrayLike, critic: Critic, *, return_stderr: bool = False) -> Any:
    """Donsker-Varadhan bound ``KL(P || Q) >= E_P[T] - log E_Q[e^T]`` at critic ``T``.

    Tight at ``T = log(p/q) + c`` for any constant c.  ``log E_Q e^T`` is computed with a
    log-sum-exp.  Standard error by the delta method.  Returns as :func:`variational_bound`.
    Formula: :func:`divergences.bounds.donsker_varadhan`.
    """
    xt, yt, as_torch = _samples(x, y)
    val, se = _bounds.donsker_varadhan(_scores(critic, xt, "x"), _scores(critic, yt, "y"), return_stderr=True)
    return _finish(val, se, as_torch, return_stderr)


def nwj_bound(x: ArrayLike, y: ArrayLike, critic: Critic, *, return_stderr: bool = False) -> Any:
    """NWJ bound ``KL(P || Q) >= E_P[T] - E_Q[e^(T - 1)]`` at critic ``T`` (tight at
    ``T = 1 + log(p/q)``): the f-GAN bound of ``kl`` (``f*(t) = e^(t-1)``, C11)."""
    return variational_bound(x, y, "kl", critic, activation=False, return_stderr=return_stderr)


def gan_objective_bound(x: ArrayLike, y: ArrayLike, discriminator: Critic, *,
                        return_stderr: bool = False) -> Any:
    """``1/2 (E_P log D(X) + E_Q log(1 - D(Y))) + log 2 <= JSD(P, Q)`` for ``D = sigmoid(V)``,
    ``discriminator`` returning the logit V (C02/C03): half of :func:`divergences.bounds.gan`
    (computed with log-sigmoids, stable) plus ``log 2``."""
    xt, yt, as_torch = _samples(x, y)
    g, se = _bounds.gan(_scores(discriminator, xt, "x"), _scores(discriminator, yt, "y"), return_stderr=True)
    return _finish(0.5 * g + math.log(2.0), 0.5 * se, as_torch, return_stderr)


# ----------------------------------------------------------------------------- training
def _split(t: torch.Tensor, holdout: float, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    n = t.shape[0]
    if holdout == 0:
        return t, t
    perm = torch.randperm(n, generator=gen).to(t.device)
    n_eval = int(round(holdout * n))
    if n_eval < 2 or n - n_eval < 1:
        raise ValueError(f"holdout: {holdout} leaves too few samples to train ({n - n_eval}) or "
                         f"evaluate ({n_eval}) from {n}; need n_eval >= 2 and n_train >= 1")
    return t[perm[n_eval:]], t[perm[:n_eval]]


def _check_training_args(steps: int, lr: float, batch_size: int | None, holdout: float,
                         seed: int) -> tuple[int, float, int | None, float, int]:
    """Validated ``(steps, lr, batch_size, holdout, seed)``: integers by ``check_int``."""
    steps = check_int(steps, "steps", minimum=1)
    check_positive(lr, "lr")
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", minimum=1)
    return steps, float(lr), batch_size, check_fraction(holdout, "holdout"), check_seed(seed)


def _diverged(what: str, lr: float, steps: int, batch_size: int | None, step: int | None) -> ValueError:
    """The error raised when critic training diverges (no retry: the caller chooses new settings)."""
    when = f"at step {step + 1} of {steps}" if step is not None else f"after {steps} steps"
    return ValueError(f"{what}: critic training diverged {when} (non-finite bound) with lr={lr:g}, "
                      f"batch_size={batch_size}; lower lr (e.g. lr={lr / 10:g}) or standardise x, y "
                      f"to unit scale")


def _finite_estimate(what: str, est: float, se: float, lr: float, steps: int,
                     batch_size: int | None) -> None:
    if not (math.isfinite(est) and math.isfinite(se)):
        raise _diverged(what, lr, steps, batch_size, None)


def _warn_if_failed(what: str, est: float, se: float, floor: float, x_ev: torch.Tensor, y_ev: torch.Tensor,
                    stacklevel: int) -> None:
    """``RuntimeWarning`` when the held-out bound is significantly below ``floor``, the smallest
    value the divergence takes: ``est + 2 se < floor - slack``.  The critic then does worse
    than a constant critic (which attains ``floor``), so it failed to learn.  ``slack =
    n eps (1 + |est| + |floor|)`` (``n`` the larger held-out sample, ``eps`` of the critic's
    dtype) allows for the rounding of the held-out means (naive-summation bound for terms of
    that order), so a constant critic on the floor (``se = 0``) does not warn."""
    n = max(x_ev.shape[0], y_ev.shape[0])
    slack = n * torch.finfo(x_ev.dtype).eps * (1.0 + abs(est) + abs(floor))
    if est + 2.0 * se < floor - slack:
        warnings.warn(f"{what}: the held-out bound {est:.4g} (standard error {se:.2g}) is more than 2 "
                      f"standard errors below {floor:.4g}, the smallest value this divergence takes (at "
                      f"P = Q); a lower bound there means the critic failed: it does worse than a constant "
                      f"critic, typically from overfitting the training half (few samples, a large "
                      f"critic, many steps) or from too few steps or an unsuitable lr.  The estimate says "
                      f"nothing about the divergence; use more samples, a smaller critic (hidden), fewer "
                      f"or more steps, or another lr.", RuntimeWarning, stacklevel=stacklevel + 1)


def _prepare_training(x: ArrayLike, y: ArrayLike, critic: nn.Module | None, seed: int, hidden: tuple[int, ...],
                      holdout: float, spectral_norm: bool = False, zero_output: bool = False
                      ) -> tuple[nn.Module, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Generator]:
    xt, yt, _ = _samples(x, y, min_n=2)
    if critic is None:
        critic = mlp_critic(xt.shape[1], hidden, spectral_norm=spectral_norm, zero_output=zero_output,
                            seed=seed, dtype=torch.float32, device=xt.device)
    elif not isinstance(critic, nn.Module):
        raise ValueError(f"critic: must be a torch.nn.Module (to be trained), got {type(critic).__name__}")
    p = next(critic.parameters(), None)
    if p is None:
        raise ValueError("critic: has no parameters to train")
    xt = xt.detach().to(device=p.device, dtype=p.dtype)
    yt = yt.detach().to(device=p.device, dtype=p.dtype)
    for t, nm in ((xt, "x"), (yt, "y")):
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"{nm}: overflows the critic's dtype {p.dtype} (max |{nm}| beyond "
                             f"{torch.finfo(p.dtype).max:.3g}); standardise x, y to unit scale")
    gen = torch.Generator(device="cpu").manual_seed(seed)
    x_tr, x_ev = _split(xt, holdout, gen)
    y_tr, y_ev = _split(yt, holdout, gen)
    return critic, x_tr, x_ev, y_tr, y_ev, gen


def _batch(t: torch.Tensor, batch_size: int | None, gen: torch.Generator) -> torch.Tensor:
    if batch_size is None or batch_size >= t.shape[0]:
        return t
    idx = torch.randint(0, t.shape[0], (int(batch_size),), generator=gen).to(t.device)
    return t[idx]


def _train(critic: nn.Module, x_tr: torch.Tensor, y_tr: torch.Tensor,
           objective: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
           steps: int, optimizer: torch.optim.Optimizer, batch_size: int | None, gen: torch.Generator,
           progress: bool | None, desc: str, after_step: Callable[[], None] | None = None) -> np.ndarray:
    """Maximise ``objective(xb, yb)[0]`` by gradient ascent; record ``objective[1]`` (the bound).

    A non-finite objective (the critic diverged) raises ``ValueError`` at once, naming ``desc``,
    the step and the settings; there is no automatic retry.  ``progress``: a tqdm bar on stderr
    with the training-batch bound (``None``: only from 2000 steps on).
    """
    from tqdm.auto import tqdm

    show = steps >= 2000 if progress is None else bool(progress)
    trace = np.empty(int(steps))
    critic.train()
    bar = tqdm(range(int(steps)), desc=desc, disable=not show, leave=False, file=sys.stderr)
    for s in bar:
        xb, yb = _batch(x_tr, batch_size, gen), _batch(y_tr, batch_size, gen)
        target, bound = objective(xb, yb)
        if not bool(torch.isfinite(target.detach())):
            bar.close()
            critic.eval()
            raise _diverged(desc, optimizer.param_groups[0]["lr"], int(steps), batch_size, s)
        optimizer.zero_grad(set_to_none=True)
        (-target).backward()
        optimizer.step()
        if after_step is not None:
            after_step()
        trace[s] = float(bound.detach())
        if show:
            bar.set_postfix(bound=f"{trace[s]:.4g}", refresh=False)
    bar.close()
    critic.eval()
    return trace


def variational_f_divergence(x: ArrayLike, y: ArrayLike, name: str, critic: nn.Module | None = None, *,
                             steps: int = 1000, lr: float = 1e-3, batch_size: int | None = 256,
                             holdout: float = 0.5, hidden: tuple[int, ...] = (64, 64), seed: int = 0,
                             progress: bool | None = None, **params: float) -> VariationalEstimate:
    """f-GAN estimate of ``D_f(P || Q)``: train V to maximise the Fenchel bound (C10).

    ``max_V E_P[g_f(V(X))] - E_Q[f*(g_f(V(Y)))]`` (Nowozin et al. 2016, eq. 6) with Adam
    (``lr``, ``steps``, minibatches of ``batch_size`` drawn with replacement, ``None`` = full
    batch) on a ``1 - holdout`` share of each sample; the returned ``estimate`` is the bound on
    the held-out share (see the module docstring for its bias), ``trace`` the training-batch
    bound per step.  ``critic``: an ``nn.Module`` ``R^d -> R`` (default: a seeded
    :func:`divergences.critics.mlp_critic` with widths ``hidden``).  ``name``/``params``:
    registry entry (:func:`divergences.fdiv.get`).  ``seed`` fixes the split, the batches and
    the default critic.  The bound is :func:`divergences.bounds.fgan`.

    ``progress``: ``True`` shows a tqdm bar on stderr with the training-batch bound, ``False``
    never, ``None`` (default) from 2000 steps on.

    Failure warning: a held-out estimate more than 2 standard errors below ``f(1)`` (the
    smallest value of ``D_f``, at P = Q: 0 for every entry except ``gan``, whose divergence is
    ``2 JSD - log 4 >= -log 4``), i.e. ``estimate + 2 stderr < f(1)`` (less a rounding allowance
    of ``n eps (1 + |estimate| + |f(1)|)`` in the critic's dtype), means the critic does
    worse than a constant critic (which attains ``f(1)``): it failed to learn, usually by
    overfitting the training half.  That emits a ``RuntimeWarning`` saying so and the
    estimate is still returned (a warning, not an error: it is a valid, useless lower bound,
    and scripts sweeping settings should not stop on it).  The same rule, with the floor 0,
    holds for :func:`donsker_varadhan`, :func:`nwj`, :func:`classifier_jsd` and
    :func:`wasserstein_dual`.
    """
    entry = _fdiv.get(name, **params)
    steps, lr, batch_size, holdout, seed = _check_training_args(steps, lr, batch_size, holdout, seed)
    critic, x_tr, x_ev, y_tr, y_ev, gen = _prepare_training(x, y, critic, seed, hidden, holdout)
    what = f"variational_f_divergence({name!r})"

    def objective(xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        val = _bounds.fgan(_scores(critic, xb, "x"), _scores(critic, yb, "y"), entry)
        return val, val

    opt = torch.optim.Adam(critic.parameters(), lr=float(lr))
    trace = _train(critic, x_tr, y_tr, objective, steps, opt, batch_size, gen, progress, what)
    with torch.no_grad():
        val, se = _bounds.fgan(_scores(critic, x_ev, "x"), _scores(critic, y_ev, "y"), entry, return_stderr=True)
    est = float(val)
    _finite_estimate(what, est, se, lr, steps, batch_size)
    _warn_if_failed(what, est, se, float(entry.f(1.0)), x_ev, y_ev, stacklevel=2)
    return VariationalEstimate(est, se, trace, critic)


def _kl_estimator(x: ArrayLike, y: ArrayLike, critic: nn.Module | None, kind: str, steps: int, lr: float,
                  batch_size: int | None, holdout: float, hidden: tuple[int, ...], seed: int,
                  progress: bool | None) -> VariationalEstimate:
    steps, lr, batch_size, holdout, seed = _check_training_args(steps, lr, batch_size, holdout, seed)
    what = "donsker_varadhan" if kind == "dv" else "nwj"
    critic, x_tr, x_ev, y_tr, y_ev, gen = _prepare_training(x, y, critic, seed, hidden, holdout)

    bound = _bounds.donsker_varadhan if kind == "dv" else _bounds.nwj

    def objective(xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        val = bound(_scores(critic, xb, "x"), _scores(critic, yb, "y"))
        return val, val

    opt = torch.optim.Adam(critic.parameters(), lr=float(lr))
    trace = _train(critic, x_tr, y_tr, objective, steps, opt, batch_size, gen, progress, what)
    with torch.no_grad():
        val, se = bound(_scores(critic, x_ev, "x"), _scores(critic, y_ev, "y"), return_stderr=True)
    est = float(val)
    _finite_estimate(what, est, se, lr, steps, batch_size)
    _warn_if_failed(what, est, se, 0.0, x_ev, y_ev, stacklevel=3)
    return VariationalEstimate(est, se, trace, critic)


def donsker_varadhan(x: ArrayLike, y: ArrayLike, critic: nn.Module | None = None, *, steps: int = 1000,
                     lr: float = 1e-3, batch_size: int | None = 256, holdout: float = 0.5,
                     hidden: tuple[int, ...] = (64, 64), seed: int = 0,
                     progress: bool | None = None) -> VariationalEstimate:
    """Estimate ``KL(P || Q)`` by maximising the Donsker-Varadhan bound
    ``E_P[T] - log E_Q[e^T]`` over a critic (MINE-style; Belghazi et al. 2018, eq. 10).
    Minibatch gradients of the log-mean term are biased (Jensen); the held-out value is the
    estimate.  Bound: :func:`divergences.bounds.donsker_varadhan`.  Arguments, progress bar and
    failure warning (``estimate + 2 stderr < 0``) as :func:`variational_f_divergence`."""
    return _kl_estimator(x, y, critic, "dv", steps, lr, batch_size, holdout, hidden, seed, progress)


def nwj(x: ArrayLike, y: ArrayLike, critic: nn.Module | None = None, *, steps: int = 1000, lr: float = 1e-3,
        batch_size: int | None = 256, holdout: float = 0.5, hidden: tuple[int, ...] = (64, 64),
        seed: int = 0, progress: bool | None = None) -> VariationalEstimate:
    """Estimate ``KL(P || Q)`` by maximising the NWJ bound ``E_P[T] - E_Q[e^(T-1)]`` (Nguyen,
    Wainwright & Jordan 2010; the f-GAN ``kl`` bound with identity activation,
    :func:`divergences.bounds.nwj`).  Arguments, progress bar and failure warning
    (``estimate + 2 stderr < 0``) as :func:`variational_f_divergence`."""
    return _kl_estimator(x, y, critic, "nwj", steps, lr, batch_size, holdout, hidden, seed, progress)


def classifier_jsd(x: ArrayLike, y: ArrayLike, critic: nn.Module | None = None, *, steps: int = 1000,
                   lr: float = 1e-3, batch_size: int | None = 256, holdout: float = 0.5,
                   hidden: tuple[int, ...] = (64, 64), seed: int = 0,
                   progress: bool | None = None) -> VariationalEstimate:
    """Classifier (optimal-discriminator) estimate of ``JSD(P, Q)`` (1/2 convention, <= log 2).

    Trains a logistic discriminator ``D = sigmoid(V)`` by maximising the class-balanced GAN
    objective ``mean_P log D + mean_Q log(1 - D)`` (balanced means, so the optimum is
    ``D* = p/(p+q)`` even when n != m; C02), then reports on held-out samples
    ``JSD_hat = 1/2 (mean_P log D + mean_Q log(1 - D)) + log 2`` (C03: at D* the objective is
    ``2 JSD - log 4``).  Bias: for a fixed D the held-out value is an unbiased estimate of a
    lower bound on JSD; an imperfect classifier biases it down (it can even be slightly
    negative when P = Q), overfitting is kept out by the held-out split.  With disjoint
    supports a perfect classifier exists and the estimate approaches ``log 2`` (C05).
    ``trace`` holds the training-batch JSD bound per step.  The objective is
    :func:`divergences.bounds.gan`.  Arguments, progress bar and failure warning
    (``estimate + 2 stderr < 0``) as :func:`variational_f_divergence`.
    """
    steps, lr, batch_size, holdout, seed = _check_training_args(steps, lr, batch_size, holdout, seed)
    critic, x_tr, x_ev, y_tr, y_ev, gen = _prepare_training(x, y, critic, seed, hidden, holdout)

    def objective(xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        val = 0.5 * _bounds.gan(_scores(critic, xb, "x"), _scores(critic, yb, "y")) + math.log(2.0)
        return val, val

    opt = torch.optim.Adam(critic.parameters(), lr=float(lr))
    trace = _train(critic, x_tr, y_tr, objective, steps, opt, batch_size, gen, progress, "classifier_jsd")
    with torch.no_grad():
        g, se = _bounds.gan(_scores(critic, x_ev, "x"), _scores(critic, y_ev, "y"), return_stderr=True)
    est, se = 0.5 * float(g) + math.log(2.0), 0.5 * se
    _finite_estimate("classifier_jsd", est, se, lr, steps, batch_size)
    _warn_if_failed("classifier_jsd", est, se, 0.0, x_ev, y_ev, stacklevel=2)
    return VariationalEstimate(est, se, trace, critic)


def wasserstein_dual(x: ArrayLike, y: ArrayLike, lipschitz: str = "gp", critic: nn.Module | None = None, *,
                     steps: int = 1000, lr: float | None = None, batch_size: int | None = 256,
                     holdout: float = 0.5, hidden: tuple[int, ...] = (64, 64), seed: int = 0,
                     gp_weight: float = 10.0, clip: float = 0.01,
                     progress: bool | None = None) -> VariationalEstimate:
    """Kantorovich-Rubinstein dual estimate of ``W1(P, Q) = sup_{||f||_Lip <= 1} E_P f - E_Q f``
    (C13; WGAN, Arjovsky et al. 2017) with a neural critic ``f``.

    ``lipschitz`` selects how ``||f||_Lip <= 1`` is (approximately) enforced:

    * ``"gp"`` (C16; Gulrajani et al. 2017): maximise
      ``E_P f - E_Q f - gp_weight * E[(||grad f(X~)|| - 1)^2]``, ``X~ = eps X + (1-eps) Y``,
      ``eps ~ U[0, 1]`` per pair; Adam(``lr`` default 1e-3, betas (0.5, 0.9); the paper's
      1e-4 suits long GAN training, not a one-off estimate).  Soft constraint: the critic
      can be slightly steeper than 1, so the estimate can exceed W1 slightly.
    * ``"sn"`` (C17; Miyato et al. 2018): spectrally normalised linear layers and 1-Lipschitz
      activations, so ``||f||_Lip <= 1`` up to the power-iteration error: a lower bound on W1.
      Adam(lr=1e-3, betas (0.5, 0.9)) by default.  Requires the default critic.
    * ``"clip"`` (C15; Arjovsky et al. 2017): weights clipped to ``[-clip, clip]`` after each
      RMSProp step (default ``lr`` 5e-5 as in the paper; larger values converge faster).  The
      clipped critic is K-Lipschitz for an unknown K, so the reported estimate is
      ``(E_P f - E_Q f) / lipschitz`` with ``lipschitz`` the largest gradient norm seen on the
      held-out samples and their interpolates (C14); the raw difference is ``estimate *
      lipschitz``.

    The default critic for ``"gp"`` and ``"clip"`` starts as the zero function (last layer
    zero): with the two-sided penalty a random initial critic of the wrong sign is a local
    optimum (turning ``f`` into ``-f`` must pass through small gradients, which the penalty
    punishes), a trap the zero start avoids.

    ``estimate`` (``"gp"``/``"sn"``): held-out ``mean_P f - mean_Q f``; ``stderr`` its
    standard error; ``trace``: the training-batch ``E_P f - E_Q f`` per step (penalty
    excluded); ``lipschitz``: ``max ||grad f||`` on held-out points and interpolates (C14).
    Formulas: :func:`divergences.bounds.kantorovich_rubinstein`,
    :func:`divergences.lipschitz.gradient_penalty` (interpolation weights drawn in the critic's
    dtype from the seeded generator), :func:`divergences.lipschitz.clip_weights_`.  Other
    arguments, progress bar and failure warning (``estimate + 2 stderr < 0``, W1 >= 0) as
    :func:`variational_f_divergence`.
    """
    check_choice(lipschitz, "lipschitz", ("gp", "clip", "sn"))
    if lr is None:
        lr = 5e-5 if lipschitz == "clip" else 1e-3
    steps, lr, batch_size, holdout, seed = _check_training_args(steps, lr, batch_size, holdout, seed)
    check_positive(gp_weight, "gp_weight")
    check_positive(clip, "clip")
    if lipschitz == "sn" and critic is not None:
        raise ValueError("critic: lipschitz='sn' builds its own spectrally normalised critic; pass critic=None")
    critic, x_tr, x_ev, y_tr, y_ev, gen = _prepare_training(x, y, critic, seed, hidden, holdout,
                                                            spectral_norm=(lipschitz == "sn"),
                                                            zero_output=(lipschitz != "sn"))
    params = list(critic.parameters())

    def objective(xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        gap = _bounds.kantorovich_rubinstein(_scores(critic, xb, "x"), _scores(critic, yb, "y"))
        if lipschitz == "gp":
            k = min(xb.shape[0], yb.shape[0])  # full batches may differ in size: pair the first k
            pen, _ = _lip.gradient_penalty(critic, xb[:k], yb[:k], generator=gen)
            return gap - gp_weight * pen, gap
        return gap, gap

    after: Callable[[], None] | None = None
    if lipschitz == "clip":
        opt: torch.optim.Optimizer = torch.optim.RMSprop(params, lr=float(lr))

        def after() -> None:
            _lip.clip_weights_(params, clip)

        after()
    else:
        opt = torch.optim.Adam(params, lr=float(lr), betas=(0.5, 0.9))
    trace = _train(critic, x_tr, y_tr, objective, steps, opt, batch_size, gen, progress,
                   f"wasserstein_dual({lipschitz!r})", after)
    k = min(x_ev.shape[0], y_ev.shape[0])
    pts = torch.cat([x_ev, y_ev, _lip.interpolates(x_ev[:k], y_ev[:k], generator=gen)])
    lip = gradient_norm_max(critic, pts)
    with torch.no_grad():
        val, se = _bounds.kantorovich_rubinstein(_scores(critic, x_ev, "x"), _scores(critic, y_ev, "y"),
                                                 return_stderr=True)
    est = float(val)
    what = f"wasserstein_dual({lipschitz!r})"
    _finite_estimate(what, est, se, lr, steps, batch_size)
    if not math.isfinite(lip):
        raise _diverged(what, lr, steps, batch_size, None)
    if lipschitz == "clip":
        if lip <= 0:
            raise ValueError("critic: the clipped critic is constant on the samples (zero gradient); "
                             "increase steps or lr")
        est, se = est / lip, se / lip
    _warn_if_failed(what, est, se, 0.0, x_ev, y_ev, stacklevel=2)
    return VariationalEstimate(est, se, trace, critic, lip)
