"""Positive-definite kernels for MMD, KID and the MMD-GAN losses (C18-C22, C29).

A kernel object ``k`` has

* ``k.gram(x, y)`` (also ``k(x, y)``): the ``(n, m)`` matrix ``k(x_i, y_j)``;
* ``k.diag(x)``: the ``(n,)`` vector ``k(x_i, x_i)``; ``k.paired(x, y)``: ``k(x_i, y_i)``;
* ``k.prepare(x, y)``: a copy with data-dependent parameters resolved on the pooled sample
  (the median heuristic) and inputs mapped through the feature map, if any;
* for radial kernels ``K(a, b) = g(-||a - b||^2)``: ``k.smmd_constants() -> (g(0), |g'(0)|)``,
  the two numbers of the Scaled-MMD normaliser
  ``sigma_psi^-2 = lambda + g(0) + 2 |g'(0)| E ||grad phi_psi(X)||_F^2`` (C22, Arbel et al.
  2018, Theorem / eq. for SMMD); non-radial kernels raise ``ValueError``.

Kernels accept numpy arrays (returned as numpy) or torch tensors (device, dtype and autograd
graph kept).  ``get(name, **params)`` builds one from a string.

Numerical conventions.  Squared distances are computed as ``||a||^2 + ||b||^2 - 2 a^T b``
after subtracting the mean of the pooled sample (the cancellation error scales with the
distance to the origin, REFERENCES.md "Optimal transport"), and clamped at 0.  Square roots
(distance kernel) use a safe branch: ``||a - b||`` is 0 with a zero gradient where the squared
distance is 0, never a NaN.

Conventions for the parameters (as in the MMD-GAN code of Binkowski et al. 2018):

* Gaussian ``exp(-||a-b||^2 / (2 sigma^2))``; ``sigma`` is the *bandwidth* (not squared).
  ``bandwidth="median"``: ``sigma`` = the median of the pairwise Euclidean distances
  ``||z_i - z_j||`` (i < j, not squared) over the pooled sample ``z = (x, y)`` (Gretton et al.
  2012), computed without gradient on at most 1000 evenly spaced points of the pooled sample.
* Rational quadratic ``(1 + ||a-b||^2 / (2 alpha l^2))^(-alpha)`` (lengthscale ``l = 1`` in
  the MMD-GAN code); mixtures sum the components (no 1/K normalisation).
* Inverse multiquadric ``(1 + ||a-b||^2 / c^2)^(-1/2)``.
* Polynomial ``(gamma a^T b + coef0)^degree`` with KID's default ``gamma = 1/d``, ``coef0 = 1``,
  ``degree = 3`` (Binkowski et al. 2018, "Demystifying MMD GANs", KID).
* Distance kernel ``||a|| + ||b|| - ||a - b||`` (its MMD^2 is the energy distance).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import torch

from ._arrays import ArrayLike, common_tensors, is_torch, to_output
from ._validation import as_samples, check_choice, check_positive, check_same_dim

__all__: list[str] = []  # accessed as ``dv.kernels.<name>``; nothing re-exported at top level

_MEDIAN_MAX_POINTS = 1000


# --------------------------------------------------------------------------------------------
# low-level helpers
# --------------------------------------------------------------------------------------------
def sq_dists(x: torch.Tensor, y: torch.Tensor, *, center: bool = True) -> torch.Tensor:
    """Squared Euclidean distances ``||x_i - y_j||^2`` as an ``(n, m)`` tensor, clamped at 0.

    With ``center=True`` both inputs are shifted by the mean of the pooled rows first
    (distances are translation invariant; the shift removes the cancellation error of
    ``||x||^2 + ||y||^2 - 2 x^T y`` for data far from the origin).  When ``y is x`` the
    diagonal is exactly 0.
    """
    same = x is y
    if center:
        c = x.mean(0) if same else (x.sum(0) + y.sum(0)) / (x.shape[0] + y.shape[0])
        x = x - c
        y = x if same else y - c
    xx = (x * x).sum(1)
    yy = xx if same else (y * y).sum(1)
    d2 = torch.addmm(xx[:, None], x, y.T, beta=1, alpha=-2)
    if _no_grad(x, y):  # in place: one n x m buffer instead of four (large tiles are memory bound)
        d2.add_(yy[None, :]).clamp_(min=0)
        if same:
            d2.fill_diagonal_(0)
        return d2
    d2 = (d2 + yy[None, :]).clamp_min(0)
    if same:  # exact zeros on the diagonal (rounding would leave ~eps ||x||^2, and sqrt amplifies it)
        d2 = d2.masked_fill(torch.eye(d2.shape[0], dtype=torch.bool, device=d2.device), 0)
    return d2


def _no_grad(*ts: torch.Tensor) -> bool:
    """True when autograd records nothing for these tensors (in-place ops are then safe)."""
    return not (torch.is_grad_enabled() and any(t.requires_grad for t in ts))


def safe_sqrt(r: torch.Tensor) -> torch.Tensor:
    """``sqrt(r)`` for ``r >= 0`` with value 0 and gradient 0 where ``r == 0`` (no NaN)."""
    pos = r > 0
    return torch.where(pos, torch.sqrt(torch.where(pos, r, torch.ones_like(r))), torch.zeros_like(r))


def median_bandwidth(x: torch.Tensor, y: torch.Tensor | None = None) -> float:
    """Median heuristic: the median of ``||z_i - z_j||`` over pairs ``i < j`` of the pooled sample.

    Distances are not squared; with an even number of pairs the two middle values are
    averaged (``numpy.median`` convention).  Computed without gradient on at most 1000 evenly spaced
    points of the pooled sample ``z = (x, y)`` (deterministic, no RNG).  Raises ``ValueError``
    if the median is 0 (more than half the pairs coincide).
    """
    with torch.no_grad():
        z = x if y is None else torch.cat([x, y], 0)
        if z.shape[0] < 2:
            raise ValueError("bandwidth='median': needs at least 2 points in the pooled sample")
        if z.shape[0] > _MEDIAN_MAX_POINTS:
            idx = torch.linspace(0, z.shape[0] - 1, _MEDIAN_MAX_POINTS, device=z.device).round().long()
            z = z[idx]
        z = z.to(torch.float64)
        d2 = sq_dists(z, z)
        iu = torch.triu_indices(z.shape[0], z.shape[0], offset=1, device=z.device)
        med = float(torch.quantile(torch.sqrt(d2[iu[0], iu[1]]), 0.5))
    if not med > 0:
        raise ValueError("bandwidth='median': the median pairwise distance of the pooled sample is 0")
    return med


def _samples(x: ArrayLike, y: ArrayLike) -> tuple[torch.Tensor, torch.Tensor, bool]:
    as_t = is_torch(x, y)
    xt, yt = common_tensors((x, "x"), (y, "y"))
    xt = as_samples(xt, "x")
    yt = as_samples(yt, "y")
    check_same_dim(xt, yt)
    return xt, yt, as_t


# --------------------------------------------------------------------------------------------
# kernel classes
# --------------------------------------------------------------------------------------------
class Kernel(ABC):
    """Base class.  Subclasses implement ``_gram(x, y)`` and ``_paired(x, y)`` on tensors."""

    #: True if MMD^2 (biased and unbiased estimators) is unchanged when both samples are
    #: shifted by the same vector, so the estimators may centre the pooled sample first.
    shift_invariant_mmd: bool = True
    #: True if parameters depend on the data (median heuristic) and ``prepare`` must run.
    needs_prepare: bool = False

    # public, numpy-or-torch --------------------------------------------------------------
    def gram(self, x: ArrayLike, y: ArrayLike) -> Any:
        """``(n, m)`` matrix ``k(x_i, y_j)``."""
        xt, yt, as_t = _samples(x, y)
        k, xt, yt = self.prepare(xt, yt)
        return to_output(k._gram(xt, yt), as_t)

    def __call__(self, x: ArrayLike, y: ArrayLike) -> Any:
        return self.gram(x, y)

    def diag(self, x: ArrayLike) -> Any:
        """``(n,)`` vector ``k(x_i, x_i)``."""
        as_t = is_torch(x)
        (xt,) = common_tensors((x, "x"))
        xt = as_samples(xt, "x")
        k, xt, _ = self.prepare(xt, xt)
        return to_output(k._paired(xt, xt), as_t)

    def paired(self, x: ArrayLike, y: ArrayLike) -> Any:
        """``(n,)`` vector ``k(x_i, y_i)`` (x and y with the same number of rows)."""
        xt, yt, as_t = _samples(x, y)
        if xt.shape[0] != yt.shape[0]:
            raise ValueError(f"x, y: paired evaluation needs equal sample sizes, got {xt.shape[0]} and {yt.shape[0]}")
        k, xt, yt = self.prepare(xt, yt)
        return to_output(k._paired(xt, yt), as_t)

    def prepare(self, x: torch.Tensor, y: torch.Tensor) -> tuple["Kernel", torch.Tensor, torch.Tensor]:
        """Resolve data-dependent parameters on the pooled sample; returns (kernel, x, y)."""
        return self, x, y

    def smmd_constants(self) -> tuple[float, float]:
        """``(g(0), |g'(0)|)`` for radial kernels ``K(a,b) = g(-||a-b||^2)`` (C22)."""
        raise ValueError(f"{type(self).__name__}: smmd_constants needs a radial kernel K(a,b) = g(-||a-b||^2)")

    def __add__(self, other: "Kernel") -> "SumKernel":
        if not isinstance(other, Kernel):
            return NotImplemented
        left = self.kernels if isinstance(self, SumKernel) else (self,)
        right = other.kernels if isinstance(other, SumKernel) else (other,)
        return SumKernel(tuple(left) + tuple(right))

    # tensor-level, inputs already prepared ---------------------------------------------
    @abstractmethod
    def _gram(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The (n, m) Gram matrix of prepared tensors."""

    @abstractmethod
    def _paired(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``k(x_i, y_i)`` for paired rows (the linear-time estimator)."""


class RadialKernel(Kernel):
    """``K(a, b) = g(-||a - b||^2)``; subclasses give ``profile(r) = g(-r)`` and the constants."""

    @abstractmethod
    def profile(self, r: torch.Tensor) -> torch.Tensor:
        """``g(-r)`` at squared distances ``r``."""

    def profile_(self, r: torch.Tensor) -> torch.Tensor:
        """``profile`` computed in place in ``r`` where possible (no autograd)."""
        return self.profile(r)

    def _gram(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        r = sq_dists(x, y)
        return self.profile_(r) if _no_grad(x, y) else self.profile(r)

    def _paired(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.profile(((x - y) ** 2).sum(1))


@dataclass(frozen=True)
class Gaussian(RadialKernel):
    """Gaussian (RBF) kernel ``exp(-||a-b||^2 / (2 sigma^2))``; ``bandwidth`` = sigma or "median".

    g(t) = exp(t / (2 sigma^2)): g(0) = 1, |g'(0)| = 1 / (2 sigma^2).  Source: C18, C22
    (Arbel et al. 2018 use sigma = 1 in every SMMD config).
    """

    bandwidth: float | str = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.bandwidth, str):
            check_choice(self.bandwidth, "bandwidth", ("median",))
        else:
            check_positive(self.bandwidth, "bandwidth")

    @property
    def needs_prepare(self) -> bool:  # type: ignore[override]
        return isinstance(self.bandwidth, str)

    def prepare(self, x, y):
        if isinstance(self.bandwidth, str):
            return replace(self, bandwidth=median_bandwidth(x, y)), x, y
        return self, x, y

    def _sigma(self) -> float:
        if isinstance(self.bandwidth, str):
            raise ValueError("bandwidth='median' is resolved on data: call prepare(x, y) first")
        return float(self.bandwidth)

    def profile(self, r):
        return torch.exp(r * (-0.5 / self._sigma() ** 2))

    def profile_(self, r):
        return r.mul_(-0.5 / self._sigma() ** 2).exp_()

    def smmd_constants(self):
        return 1.0, 0.5 / self._sigma() ** 2


@dataclass(frozen=True)
class MixGaussian(RadialKernel):
    """Sum of Gaussians ``sum_s exp(-||a-b||^2 / (2 s^2))`` (MMD-GAN default s in {2,5,10,20,40,80}).

    g(0) = number of components, |g'(0)| = sum_s 1/(2 s^2).  Source: C20 (GMMN / MMD-GAN).
    """

    sigmas: tuple[float, ...] = (2.0, 5.0, 10.0, 20.0, 40.0, 80.0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sigmas", tuple(float(s) for s in self.sigmas))
        if not self.sigmas:
            raise ValueError("sigmas: needs at least one bandwidth")
        for s in self.sigmas:
            check_positive(s, "sigmas")

    def profile(self, r):
        out = torch.exp(r * (-0.5 / self.sigmas[0] ** 2))
        for s in self.sigmas[1:]:
            out = out + torch.exp(r * (-0.5 / s ** 2))
        return out

    def smmd_constants(self):
        return float(len(self.sigmas)), sum(0.5 / s ** 2 for s in self.sigmas)


def _rq(r: torch.Tensor, alpha: float, ls: float) -> torch.Tensor:
    return torch.pow(1 + r * (0.5 / (alpha * ls ** 2)), -alpha)


@dataclass(frozen=True)
class RationalQuadratic(RadialKernel):
    """Rational quadratic ``(1 + ||a-b||^2 / (2 alpha l^2))^(-alpha)``.

    g(t) = (1 - t/(2 alpha l^2))^(-alpha): g(0) = 1, |g'(0)| = 1/(2 l^2) (independent of alpha).
    Source: C20 (Binkowski et al. 2018).
    """

    alpha: float = 1.0
    lengthscale: float = 1.0

    def __post_init__(self) -> None:
        check_positive(self.alpha, "alpha")
        check_positive(self.lengthscale, "lengthscale")

    def profile(self, r):
        return _rq(r, self.alpha, self.lengthscale)

    def profile_(self, r):
        return r.mul_(0.5 / (self.alpha * self.lengthscale ** 2)).add_(1).pow_(-self.alpha)

    def smmd_constants(self):
        return 1.0, 0.5 / self.lengthscale ** 2


@dataclass(frozen=True)
class MixRQ(RadialKernel):
    """Sum of rational quadratics over ``alphas`` (paper values {0.2, 0.5, 1, 2, 5}; C20).

    g(0) = number of components, |g'(0)| = K/(2 l^2).
    """

    alphas: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 5.0)
    lengthscale: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "alphas", tuple(float(a) for a in self.alphas))
        if not self.alphas:
            raise ValueError("alphas: needs at least one value")
        for a in self.alphas:
            check_positive(a, "alphas")
        check_positive(self.lengthscale, "lengthscale")

    def profile(self, r):
        out = _rq(r, self.alphas[0], self.lengthscale)
        for a in self.alphas[1:]:
            out = out + _rq(r, a, self.lengthscale)
        return out

    def smmd_constants(self):
        return float(len(self.alphas)), len(self.alphas) * 0.5 / self.lengthscale ** 2


@dataclass(frozen=True)
class InverseMultiquadric(RadialKernel):
    """Inverse multiquadric ``(1 + ||a-b||^2 / c^2)^(-1/2)``: g(0) = 1, |g'(0)| = 1/(2 c^2)."""

    scale: float = 1.0

    def __post_init__(self) -> None:
        check_positive(self.scale, "scale")

    def profile(self, r):
        return torch.rsqrt(1 + r / self.scale ** 2)

    def profile_(self, r):
        return r.mul_(1 / self.scale ** 2).add_(1).rsqrt_()

    def smmd_constants(self):
        return 1.0, 0.5 / self.scale ** 2


@dataclass(frozen=True)
class Linear(Kernel):
    """Linear kernel ``a^T b`` (its MMD^2 is ``||mean(x) - mean(y)||^2``)."""

    def _gram(self, x, y):
        return x @ y.T

    def _paired(self, x, y):
        return (x * y).sum(1)


@dataclass(frozen=True)
class Polynomial(Kernel):
    """Polynomial ``(gamma a^T b + coef0)^degree``; KID default ``gamma = 1/d, coef0 = 1, degree = 3``.

    Source: C29 (Binkowski et al. 2018, KID; torch-fidelity defaults).  Not shift invariant:
    MMD^2 is computed on the raw features.
    """

    degree: int = 3
    gamma: float | None = None
    coef0: float = 1.0
    shift_invariant_mmd = False

    def __post_init__(self) -> None:
        if int(self.degree) != self.degree or self.degree < 1:
            raise ValueError(f"degree: must be a positive integer, got {self.degree!r}")
        if self.gamma is not None:
            check_positive(self.gamma, "gamma")
        if not math.isfinite(float(self.coef0)) or self.coef0 < 0:
            raise ValueError(f"coef0: must be finite and >= 0 for a positive-definite kernel, got {self.coef0!r}")

    def _g(self, d: int) -> float:
        return 1.0 / d if self.gamma is None else float(self.gamma)

    def _gram(self, x, y):
        ip = torch.addmm(torch.full((1, 1), float(self.coef0), dtype=x.dtype, device=x.device),
                         x, y.T, alpha=self._g(x.shape[1]))
        return ip.pow_(int(self.degree)) if _no_grad(x, y) else torch.pow(ip, int(self.degree))

    def _paired(self, x, y):
        return torch.pow((x * y).sum(1) * self._g(x.shape[1]) + self.coef0, int(self.degree))


@dataclass(frozen=True)
class Distance(Kernel):
    """Distance kernel ``||a|| + ||b|| - ||a - b||`` (MMD^2 = energy distance; C20 code).

    Norms go through a safe square root (gradient 0, never NaN, at coincident points).  The
    kernel is not translation invariant but its MMD^2 estimators are, so the pooled sample is
    centred before computing them.
    """

    def _gram(self, x, y):
        nx = safe_sqrt((x * x).sum(1))
        ny = safe_sqrt((y * y).sum(1))
        return nx[:, None] + ny[None, :] - safe_sqrt(sq_dists(x, y))

    def _paired(self, x, y):
        return safe_sqrt((x * x).sum(1)) + safe_sqrt((y * y).sum(1)) - safe_sqrt(((x - y) ** 2).sum(1))


@dataclass(frozen=True)
class SumKernel(Kernel):
    """Sum of kernels ``k = sum_i k_i`` (e.g. the RQ mixture plus a linear term, "mix_rq_1dot")."""

    kernels: tuple[Kernel, ...] = ()

    def __post_init__(self) -> None:
        if not self.kernels or not all(isinstance(k, Kernel) for k in self.kernels):
            raise ValueError("kernels: needs a non-empty sequence of Kernel objects")
        if any(isinstance(k, FeatureKernel) or (isinstance(k, ScaledKernel) and isinstance(k.base, FeatureKernel))
               for k in self.kernels):
            raise ValueError("kernels: a feature map must wrap the whole sum, FeatureKernel(SumKernel(...), phi)")
        object.__setattr__(self, "kernels", tuple(self.kernels))

    @property
    def shift_invariant_mmd(self) -> bool:  # type: ignore[override]
        return all(k.shift_invariant_mmd for k in self.kernels)

    @property
    def needs_prepare(self) -> bool:  # type: ignore[override]
        return any(k.needs_prepare for k in self.kernels)

    def prepare(self, x, y):
        return replace(self, kernels=tuple(k.prepare(x, y)[0] for k in self.kernels)), x, y

    def _gram(self, x, y):
        radial = [k for k in self.kernels if isinstance(k, RadialKernel)]
        out = None
        if radial:  # share one distance matrix between the radial components
            r = sq_dists(x, y)
            for k in radial:
                out = k.profile(r) if out is None else out + k.profile(r)
        for k in self.kernels:
            if not isinstance(k, RadialKernel):
                out = k._gram(x, y) if out is None else out + k._gram(x, y)
        return out

    def _paired(self, x, y):
        out = self.kernels[0]._paired(x, y)
        for k in self.kernels[1:]:
            out = out + k._paired(x, y)
        return out

    def smmd_constants(self):
        if not all(isinstance(k, RadialKernel) for k in self.kernels):
            raise ValueError("SumKernel: smmd_constants needs every component to be radial")
        cs = [k.smmd_constants() for k in self.kernels]
        return sum(c[0] for c in cs), sum(c[1] for c in cs)


@dataclass(frozen=True)
class FeatureKernel(Kernel):
    """Deep kernel ``k(a, b) = base(phi(a), phi(b))`` with a feature map ``phi`` (e.g. a critic).

    ``prepare`` maps both samples through ``phi`` once (the MMD estimators then work in feature
    space); ``smmd_constants`` are those of ``base`` (the Jacobian of ``phi`` enters the SMMD
    normaliser separately, C22).  ``phi`` takes and returns torch tensors ``(n, d) -> (n, d')``.
    """

    base: Kernel
    feature_map: Callable[[torch.Tensor], torch.Tensor]

    def __post_init__(self) -> None:
        if not isinstance(self.base, Kernel):
            raise ValueError("base: must be a Kernel")
        if not callable(self.feature_map):
            raise ValueError("feature_map: must be callable")

    @property
    def shift_invariant_mmd(self) -> bool:  # type: ignore[override]
        return self.base.shift_invariant_mmd

    needs_prepare = True

    def features(self, x: torch.Tensor, name: str) -> torch.Tensor:
        f = self.feature_map(x)
        if not isinstance(f, torch.Tensor):
            raise ValueError(f"feature_map: must return a torch tensor, got {type(f).__name__}")
        return as_samples(f, f"feature_map({name})")

    def prepare(self, x, y):
        fx = self.features(x, "x")
        fy = fx if y is x else self.features(y, "y")
        check_same_dim(fx, fy, "feature_map(x)", "feature_map(y)")
        return self.base.prepare(fx, fy)

    def _gram(self, x, y):
        raise ValueError("FeatureKernel: call prepare(x, y) first (it returns the base kernel)")

    _paired = _gram

    def smmd_constants(self):
        return self.base.smmd_constants()


# --------------------------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------------------------
def _mix_rq_linear(alphas: Sequence[float] = (0.2, 0.5, 1.0, 2.0, 5.0), lengthscale: float = 1.0,
                   linear_weight: float = 1.0) -> Kernel:
    check_positive(linear_weight, "linear_weight")
    lin: Kernel = Linear() if linear_weight == 1.0 else ScaledKernel(Linear(), float(linear_weight))
    return SumKernel((MixRQ(tuple(alphas), lengthscale), lin))


@dataclass(frozen=True)
class ScaledKernel(Kernel):
    """``c * base`` for a constant ``c > 0``."""

    base: Kernel
    weight: float = 1.0

    def __post_init__(self) -> None:
        check_positive(self.weight, "weight")

    @property
    def shift_invariant_mmd(self) -> bool:  # type: ignore[override]
        return self.base.shift_invariant_mmd

    def prepare(self, x, y):
        base, x, y = self.base.prepare(x, y)  # a FeatureKernel base maps x and y here
        return replace(self, base=base), x, y

    def _gram(self, x, y):
        return self.weight * self.base._gram(x, y)

    def _paired(self, x, y):
        return self.weight * self.base._paired(x, y)

    def smmd_constants(self):
        g0, g1 = self.base.smmd_constants()
        return self.weight * g0, self.weight * g1


_REGISTRY: dict[str, Callable[..., Kernel]] = {
    "gaussian": Gaussian,
    "rbf": Gaussian,
    "mix_gaussian": MixGaussian,
    "mix_rbf": MixGaussian,
    "rq": RationalQuadratic,
    "mix_rq": MixRQ,
    "mix_rq_linear": _mix_rq_linear,
    "mix_rq_1dot": _mix_rq_linear,
    "imq": InverseMultiquadric,
    "linear": Linear,
    "polynomial": Polynomial,
    "distance": Distance,
}

NAMES: tuple[str, ...] = tuple(sorted(_REGISTRY))


def get(name: str | Kernel, feature_map: Callable[[torch.Tensor], torch.Tensor] | None = None,
        **params: Any) -> Kernel:
    """Build a kernel from its name (see ``NAMES``) and parameters.

    ``get("gaussian", bandwidth=1.0)``, ``get("mix_gaussian", sigmas=(2, 5))``,
    ``get("mix_rq_1dot", alphas=(0.2, 0.5, 1, 2, 5))``, ``get("polynomial", degree=3)``, ...
    A ``Kernel`` instance is returned unchanged (then ``params`` must be empty).  With
    ``feature_map=phi`` the result is the deep kernel ``k(phi(a), phi(b))``.
    """
    if isinstance(name, Kernel):
        if params:
            raise ValueError(f"kernel: parameters {sorted(params)} given with a Kernel object; set them on the object")
        k = name
    else:
        if not isinstance(name, str):
            raise ValueError(f"kernel: expected a name or a Kernel, got {type(name).__name__}")
        check_choice(name, "kernel", tuple(_REGISTRY))
        try:
            k = _REGISTRY[name](**params)
        except TypeError as exc:
            raise ValueError(f"kernel {name!r}: bad parameters {sorted(params)} ({exc})") from None
    if feature_map is not None:
        k = FeatureKernel(k, feature_map)
    return k
