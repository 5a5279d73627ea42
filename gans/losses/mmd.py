"""MMD-GAN losses: MMD on critic features, its witness gradient penalty, and the Scaled MMD.

The critic ``phi_psi`` maps a sample to features (shape ``(n, k)``, ``k = 1`` or 16 in the
papers); the kernel is ``k(phi(a), phi(b))`` with a base kernel from
:mod:`divergences.kernels`.  Every loss value is an estimator from :mod:`divergences`
(``dv.mmd2``, ``dv.mmd2_from_gram``, ``dv.mmd_witness``, ``dv.smmd_scale``, ``dv.smmd2_from_mmd2``);
nothing is re-implemented here.

* ``mmd`` (Li et al. 2017; Binkowski et al. 2018; claims C18-C20): critic ``-MMD_u^2(phi(X), phi(Y))``,
  generator ``+MMD_u^2`` (unbiased estimator by default, C19).
* ``mmd_gp`` (Binkowski et al. 2018, "Demystifying MMD GANs", sec. 4; claim C23): plus
  ``gamma * E (||grad_x f(x~)|| - 1)^2`` with the witness
  ``f(t) = mean_j k(phi(t), phi(x_j)) - mean_j k(phi(t), phi(y_j))`` at interpolates
  ``x~ = eps x + (1 - eps) y``, ``eps ~ U[0,1]`` per sample, norm taken *per sample*.
* ``smmd`` / ``sn_smmd`` (Arbel, Sutherland, Binkowski & Gretton 2018; claim C22): critic
  ``-sigma_psi^2 MMD_u^2``, generator ``+sigma_psi^2 MMD_u^2`` with the scale of
  :func:`divergences.smmd_scale` (``variant="paper"``: ``sigma_psi^-2 = lam + g(0) + 2 |g'(0)|
  E_mu ||grad_x phi_psi(X)||_F^2`` for a radial kernel ``K(a, b) = g(-||a - b||^2)``;
  ``variant="code"``: the authors' ``1 + code_weight E_mu ||grad phi||_F^2``, code_weight 10),
  mu = the real minibatch, the product by ``dv.smmd2_from_mmd2``.  ``lam`` is the paper's
  lambda (default 1 here).  SN-SMMD is the same loss with a spectrally normalised critic whose
  layers carry a learnable scale (an architecture option of :mod:`gans.nets`).

Kernel head on the training path (:func:`feature_mmd2`, :func:`feature_witness`).  The estimators
are those of ``dv.mmd2`` / ``dv.mmd_witness`` (formulas in :mod:`divergences.mmd`, C19), evaluated
without their input validation: ``dv``'s finiteness checks and exact-small-distance recomputation
each read a value back to the host, which on CUDA is a device synchronisation in the middle of
every critic forward (27 per generator iteration for MMD-GP).  Here the features are finite or
the trainer's NaN guard (:mod:`gans.train`) stops the run, so nothing is lost.  Conventions:

* features are cast to float32 (float64 is kept) and the head runs with autocast turned off on
  every device: a bfloat16 ``exp``/``sum`` rounds MMD^2 of order 1e-3 to exactly 0;
* squared distances are formed from differences, ``||a_i - b_j||^2 = sum_k (a_ik - b_jk)^2``
  (exact 0 at coincident points, no cancellation, no BLAS dependence, twice differentiable);
  memory ``n m k`` numbers, so batches with ``n m k > 2^24`` use ``dv``'s tiled path instead;
* Gram sums are accumulated in float64 (as ``dv`` does) and returned in the features' dtype;
* for shift-invariant kernels the pooled sample is centred (detached mean) before a linear term;
* kernels other than radial, linear, polynomial and their sums (feature kernels, median
  bandwidths, distance kernels) go through ``dv.mmd2`` / ``dv.mmd_witness`` unchanged.

Tests check the head against ``dv`` to float64 rounding (``tests/test_gpu_paths.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

import divergences as dv
from divergences import lipschitz as _lip

from .core import PenalisedLoss
from .penalties import Logs, Penalty, _positive, input_grad_sqnorms

__all__ = ["MMDLoss", "WitnessGradientPenalty", "ScaledMMDLoss", "resolve_kernel", "feature_mmd2",
           "feature_witness"]


def resolve_kernel(kernel: Any) -> Any:
    """A :mod:`divergences.kernels` object from a name, a mapping ``{"name": ..., **params}`` or a kernel."""
    if isinstance(kernel, Mapping):
        if "name" not in kernel:
            raise ValueError(f"kernel: a mapping needs a 'name', got {dict(kernel)!r}")
        return dv.kernels.get(kernel["name"], **{k: v for k, v in kernel.items() if k != "name"})
    return dv.kernels.get(kernel)


_DIRECT_MAX = 2 ** 24  # n * m * k above which the difference tensor is too big: use dv's tiled path


def _head_dtype(t: torch.Tensor) -> torch.Tensor:
    """float16 / bfloat16 features as float32; float32 and float64 unchanged."""
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def _fast_kernel(k: Any) -> bool:
    """True when :func:`_gram` can evaluate ``k`` without a host synchronisation."""
    if isinstance(k, dv.kernels.SumKernel):
        return all(_fast_kernel(c) for c in k.kernels)
    if getattr(k, "needs_prepare", False):
        return False  # a median bandwidth is a data-dependent host value
    return isinstance(k, (dv.kernels.RadialKernel, dv.kernels.Linear, dv.kernels.Polynomial))


def _sq_dists(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``||a_i - b_j||^2`` from differences, shape ``(n, m)``."""
    return (a[:, None, :] - b[None, :, :]).pow(2).sum(-1)


def _gram(k: Any, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Gram matrix ``k(a_i, b_j)`` of a kernel accepted by :func:`_fast_kernel`."""
    if isinstance(k, dv.kernels.SumKernel):
        radial = [c for c in k.kernels if isinstance(c, dv.kernels.RadialKernel)]
        r = _sq_dists(a, b) if radial else None  # one distance matrix for all radial parts
        out = None
        for c in k.kernels:
            g = c.profile(r) if isinstance(c, dv.kernels.RadialKernel) else _gram(c, a, b)
            out = g if out is None else out + g
        return out
    if isinstance(k, dv.kernels.RadialKernel):
        return k.profile(_sq_dists(a, b))
    return k._gram(a, b)


def _use_fast(k: Any, *samples: torch.Tensor) -> bool:
    n = [s.shape[0] for s in samples]
    d = samples[0].shape[1]
    return _fast_kernel(k) and max(n) ** 2 * d <= _DIRECT_MAX


def feature_mmd2(fx: torch.Tensor, fy: torch.Tensor, kernel: Any, estimator: str = "unbiased") -> torch.Tensor:
    """``MMD^2`` estimate between critic features ``fx (n, k)`` and ``fy (m, k)``, no host sync.

    Same estimators as ``dv.mmd2`` (C19; Gretton et al. 2012, Sec. 2 and 6): ``"unbiased"`` and
    ``"biased"`` from the dense Gram matrices by ``dv.mmd2_from_gram`` (its formula, float64
    sums), ``"linear"`` from paired kernel values over ``floor(min(n, m)/2)`` pairs (as in
    ``dv.mmd2``).  Float32 at least, autocast off (module docstring).  Inputs are not
    validated (the trainer's NaN guard covers non-finite values); use ``dv.mmd2`` elsewhere.
    """
    fx, fy = _head_dtype(fx), _head_dtype(fy)
    if not _use_fast(kernel, fx, fy):
        return dv.mmd2(fx, fy, kernel=kernel, estimator=estimator)
    with torch.autocast(device_type=fx.device.type, enabled=False):
        n, m = fx.shape[0], fy.shape[0]
        if kernel.shift_invariant_mmd:
            c = ((fx.sum(0) + fy.sum(0)) / (n + m)).detach()
            fx, fy = fx - c, fy - c
        if estimator == "linear":
            p = min(n, m) // 2
            x0, x1, y0, y1 = fx[0:2 * p:2], fx[1:2 * p:2], fy[0:2 * p:2], fy[1:2 * p:2]
            h = kernel._paired(x0, x1) + kernel._paired(y0, y1) - kernel._paired(x0, y1) - kernel._paired(x1, y0)
            return h.mean()
        kxx, kyy, kxy = _gram(kernel, fx, fx), _gram(kernel, fy, fy), _gram(kernel, fx, fy)
        # the estimator's formula lives in dv (float64 sums); validate=False: no host sync
        return dv.mmd2_from_gram(kxx, kyy, kxy, estimator, validate=False).to(fx.dtype)


def feature_witness(ft: torch.Tensor, fx: torch.Tensor, fy: torch.Tensor, kernel: Any) -> torch.Tensor:
    """Witness ``f(t) = mean_j k(t, x_j) - mean_j k(t, y_j)`` on features, shape ``(len(ft),)``.

    As ``dv.mmd_witness`` (C18, C23), float32 at least, autocast off, no host sync, no input
    validation (see :func:`feature_mmd2`).
    """
    ft, fx, fy = _head_dtype(ft), _head_dtype(fx), _head_dtype(fy)
    if not _use_fast(kernel, ft, fx, fy):
        return dv.mmd_witness(ft, fx, fy, kernel=kernel)
    with torch.autocast(device_type=ft.device.type, enabled=False):
        f64 = torch.float64
        wx = _gram(kernel, ft, fx).sum(1, dtype=f64) / fx.shape[0]
        wy = _gram(kernel, ft, fy).sum(1, dtype=f64) / fy.shape[0]
        return (wx - wy).to(ft.dtype)


def features(D: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Critic features ``phi(x)`` flattened to ``(n, k)``."""
    out = D(x)
    if out.ndim == 0 or out.shape[0] != x.shape[0]:
        raise ValueError(f"D: feature critic must return (n, k) for n = {x.shape[0]}, got {tuple(out.shape)}")
    return out.reshape(x.shape[0], -1)


class MMDLoss(PenalisedLoss):
    """MMD-GAN: critic ``-MMD^2(phi(X), phi(Y))``, generator ``+MMD^2`` (C18-C20).

    ``kernel``: base kernel on features (``"gaussian"`` = bandwidth 1, or a mapping / kernel
    object); ``estimator``: ``"unbiased"`` (default), ``"biased"`` or ``"linear"`` (``dv.mmd2``).
    """

    name = "mmd"

    def __init__(self, kernel: Any = "gaussian", estimator: str = "unbiased",
                 penalties: list[Penalty] | None = None) -> None:
        super().__init__(penalties)
        if estimator not in ("unbiased", "biased", "linear"):
            raise ValueError(f"estimator: expected 'unbiased', 'biased' or 'linear', got {estimator!r}")
        self.kernel = resolve_kernel(kernel)
        self.estimator = estimator

    def mmd2(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """``MMD^2`` between the critic features of ``real`` and ``fake`` (:func:`feature_mmd2`)."""
        return feature_mmd2(features(D, real), features(D, fake), self.kernel, self.estimator)

    def critic_objective(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        m = self.mmd2(D, real, fake)
        return -m, {"mmd2": m.detach()}

    def generator_objective(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        m = self.mmd2(D, real, fake)
        return m, {}


class WitnessGradientPenalty(Penalty):
    """MMD-GAN-GP: ``gamma * E (||grad_x f(x~)|| - 1)^2`` on the MMD witness (C23).

    Binkowski et al. 2018 (lambda = 1 there).  ``f(t) = mean_j k(phi(t), phi(x_j)) -
    mean_j k(phi(t), phi(y_j))`` via ``dv.mmd_witness``; per-sample gradient norm over all
    non-batch axes of ``t``; ``x~ = eps real + (1 - eps) fake``, ``eps ~ U[0,1]`` per sample: the
    penalty is :func:`divergences.lipschitz.gradient_penalty` with the witness as the critic.
    """

    def __init__(self, loss: MMDLoss, gamma: float = 1.0, generator: torch.Generator | None = None) -> None:
        self.loss = loss
        self.gamma = gamma
        self.half = False
        self.name = "witness_gp"
        self.generator = generator
        self.__post_init__()

    def __call__(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        if real.shape != fake.shape:
            raise ValueError(f"fake: witness gradient penalty needs real and fake of equal shape, got "
                             f"{tuple(real.shape)} and {tuple(fake.shape)}")
        fx, fy = features(D, real), features(D, fake)

        def witness(t: torch.Tensor) -> torch.Tensor:
            return feature_witness(features(D, t), fx, fy, self.loss.kernel)

        # the WGAN-GP penalty formula (divergences.lipschitz.gradient_penalty) on the witness
        pen, norms = _lip.gradient_penalty(witness, real, fake, generator=self.generator)
        val = self.weight * pen
        return val, {"witness_gp": val.detach(), "witness_grad_norm": norms.mean().detach()}


class ScaledMMDLoss(MMDLoss):
    """Scaled MMD: critic ``-sigma_psi^2 MMD_u^2``, generator ``+sigma_psi^2 MMD_u^2`` (C22).

    ``sigma_psi^2 = dv.smmd_scale(E_real ||grad phi(X)||_F^2, ...)``: ``variant="paper"``
    ``1 / (lam + g(0) + 2|g'(0)| E_real ||grad phi||_F^2)`` (Arbel et al. 2018, Sec. 3, with mu =
    the real minibatch) or ``variant="code"`` ``1 / (1 + code_weight E_real ||grad phi||_F^2)``
    (the authors' code); the product ``sigma_psi^2 MMD_u^2`` is ``dv.smmd2_from_mmd2``.  The base
    kernel must be radial (``smmd_constants``).  Logs ``mmd2``, ``smmd_scale`` (= sigma_psi^2)
    and ``critic_grad_sqnorm``.
    """

    name = "smmd"

    def __init__(self, kernel: Any = "gaussian", lam: float = 1.0, variant: str = "paper",
                 code_weight: float = 10.0, penalties: list[Penalty] | None = None) -> None:
        super().__init__(kernel=kernel, estimator="unbiased", penalties=penalties)
        if variant not in ("paper", "code"):
            raise ValueError(f"variant: expected 'paper' or 'code', got {variant!r}")
        self.lam = _positive(lam, "lam")
        self.code_weight = _positive(code_weight, "code_weight")
        self.variant = variant
        self.g0, self.gprime0 = self.kernel.smmd_constants()

    def _scale_args(self) -> dict[str, Any]:
        # validate=False: the checks would read sq back to the host (a CUDA sync) every step;
        # the trainer's NaN guard covers non-finite values
        return dict(kernel=(self.g0, self.gprime0), lam=self.lam, variant=self.variant,
                    code_weight=self.code_weight, validate=False)

    def grad_sqnorm(self, D: nn.Module, real: torch.Tensor, *, create_graph: bool = True) -> torch.Tensor:
        """``E_real ||grad_x phi(X)||_F^2`` in float32 at least; differentiable in the critic's
        parameters when ``create_graph`` (the critic step), a constant otherwise."""
        return _head_dtype(input_grad_sqnorms(D, real, create_graph=create_graph)).mean()  # >= float32

    def scale(self, D: nn.Module, real: torch.Tensor, *, create_graph: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """``(sigma_psi^2, E_real ||grad phi||_F^2)`` (``dv.smmd_scale``; ``create_graph``: see
        :meth:`grad_sqnorm`)."""
        sq = self.grad_sqnorm(D, real, create_graph=create_graph)
        return dv.smmd_scale(sq, **self._scale_args()), sq

    def smmd2(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor, *,
              create_graph: bool = True) -> tuple[torch.Tensor, Logs]:
        """``sigma_psi^2 MMD_u^2`` (``dv.smmd2_from_mmd2``) and its logs (``create_graph``: see
        :meth:`grad_sqnorm`)."""
        m = self.mmd2(D, real, fake)
        sq = self.grad_sqnorm(D, real, create_graph=create_graph)
        v = dv.smmd2_from_mmd2(m, sq, **self._scale_args())
        with torch.no_grad():
            s = dv.smmd_scale(sq, **self._scale_args())
        return v, {"mmd2": m.detach(), "smmd_scale": s, "critic_grad_sqnorm": sq.detach()}

    def critic_objective(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        v, logs = self.smmd2(D, real, fake)
        return -v, logs

    def generator_objective(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        # sigma_psi depends on the critic and the real batch only, not on G: with a frozen critic
        # (gans.step.generator_step) it is a constant and needs no graph through grad_x phi;
        # joint gradients (consensus) keep it, they differentiate in psi as well
        frozen = not any(p.requires_grad for p in D.parameters())
        v, _ = self.smmd2(D, real, fake, create_graph=not frozen)
        return v, {}
