"""Weakly convergent families ``theta -> Q_theta`` with ``Q_0 = P`` and their exact divergences.

Claims C05, C06, C07, C13, C21, C22 (seed 002; Arjovsky, Chintala & Bottou 2017, Example 1;
Arbel, Sutherland, Binkowski & Gretton 2018, Sec. 4 and Fig. 1).

Every family has ``Q_theta => P`` weakly as ``theta -> 0`` and ``Q_theta = P`` at ``theta = 0``:

* ``ParallelLines``  P = (0, Z), Q_theta = (theta, Z), Z ~ U[0, 1]  (in R^2; disjoint for theta != 0);
* ``DiracGAN``       P = delta_0, Q_theta = delta_theta  (in R);
* ``ShrinkingSegment`` P = delta_0, Q_theta = U[|theta|, 2|theta|] * sign(theta)  (in R: a segment of
  length |theta| shrinking onto the point 0, always disjoint from it);
* ``GaussianShift``  P = N(0, I_d), Q_theta = N(theta e_1, I_d)  (the control: mutually absolutely
  continuous, every divergence is continuous);
* ``CubeShift``      P = U[0, 1]^d, Q_theta = P + theta e_1  (overlap 1 - |theta|; disjoint for
  |theta| >= 1; used in any dimension for the (T) column).

Conventions (the same as :mod:`divergences`): natural logarithms; ``jsd`` has the 1/2 weights
(``0 <= JSD <= log 2``); ``kl`` is KL(P || Q_theta) (``inf`` when P is not absolutely continuous
w.r.t. Q_theta); ``tv`` is ``sup_A |P(A) - Q(A)| = (1/2) ||p - q||_1`` in [0, 1]; ``w1`` is the rooted
1-Wasserstein distance with the Euclidean ground metric; ``mmd2`` is the squared MMD and ``mmd`` its
square root.  Kernels are those of :mod:`divergences.kernels` as functions of the squared distance
``r2`` (see :func:`kernel`): ``gaussian`` ``exp(-r2 / (2 h^2))`` and ``rq`` (rational quadratic,
alpha = 1, length scale h) ``(1 + r2 / (2 h^2))^-1``, bandwidth ``h`` (1 unless stated).

What is here is specific to the families: samplers, the closed forms along them (written without
cancellation, since the (C) evidence evaluates them at theta = 1e-8) and the sup over the feature
scale.  General formulas come from :mod:`divergences`: the kernels and their cancellation-free gaps
(``RadialKernel.gap``, of which every MMD closed form here is a sum or an integral), the SMMD scale
(``dv.smmd2_from_mmd2``), the JSD quadrature of the Gaussian control (``dv.continuous.f_divergence``),
and the Gaussian control's ``kl`` and ``mmd2`` (``dv.gaussian.kl``, ``dv.gaussian.mmd2``, whose
equal-covariance branches return ``theta^2 / 2`` and ``-2 c expm1(-q / 2)`` without the O(1)
cancellations of the general formulas, which return 0 at theta = 1e-8 where the values are 5e-17
and 1.9e-17).

Deep-kernel quantities use the linear features of seed 002: ``phi_psi(x) = psi^T x`` with the top
kernel ``k(a, b) = exp(-(a - b)^2 / 2)`` (:data:`TOP_KERNEL`), so
``D_MMD(theta) = sup_psi MMD(phi_psi P, phi_psi Q_theta)`` (C21) and
``D_SMMD(theta) = sup_psi sigma_psi MMD(...)`` with the scale of ``dv.smmd_scale``,
``sigma_psi^-2 = lambda + g(0) + 2 |g'(0)| E_mu ||grad phi_psi||^2 = lambda + 1 + ||psi||^2`` (C22;
``g(t) = exp(t / 2)``, lambda = 1; the gradient is constant so mu does not matter).  In every family
the optimal ``psi`` is along ``e_1`` (the other coordinates carry the same law under P and Q_theta
and only add independent noise, which cannot increase a translation-invariant MMD and increases
``||psi||``), so the sup is over one scale ``a = psi_1 >= 0``; :func:`sup_over_scale` takes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from scipy import integrate, optimize, special, stats

import divergences as dv

__all__ = [
    "KERNELS", "DIVERGENCES", "LAMBDA_SMMD", "TOP_KERNEL", "kernel", "kernel_gap", "sup_over_scale",
    "Family", "ParallelLines", "DiracGAN", "ShrinkingSegment", "GaussianShift", "CubeShift",
    "triangular_gauss", "all_families",
]

KERNELS = ("gaussian", "rq")
DIVERGENCES = ("jsd", "kl", "tv", "w1", "mmd2", "mmd2_rq", "mmd", "mmd_rq", "d_mmd", "smmd")
LAMBDA_SMMD = 1.0  # lambda in sigma_psi^-2 (C22; the seed's choice for the DiracGAN picture)
TOP_KERNEL = dv.kernels.get("gaussian", bandwidth=1.0)  # k(a, b) = exp(-(a - b)^2 / 2) on the features


def _kernel_object(name: str, bandwidth: float) -> dv.kernels.Kernel:
    if name not in KERNELS:
        raise ValueError(f"name: unknown kernel {name!r}; expected one of {list(KERNELS)}")
    if not bandwidth > 0:
        raise ValueError(f"bandwidth: must be > 0, got {bandwidth!r}")
    if name == "gaussian":
        return dv.kernels.get("gaussian", bandwidth=bandwidth)
    return dv.kernels.get("rq", alpha=1.0, lengthscale=bandwidth)


def kernel(r2: np.ndarray | float, name: str = "gaussian", bandwidth: float = 1.0) -> np.ndarray:
    """Radial kernel of :mod:`divergences.kernels` as a function of the squared distance ``r2 = ||x - y||^2``.

    ``gaussian``: ``exp(-r2 / (2 h^2))``; ``rq``: ``(1 + r2 / (2 h^2))^-1`` (rational quadratic with
    alpha = 1, length scale h, Binkowski et al. 2018).  Both are bounded, continuous and characteristic.
    """
    k = _kernel_object(name, bandwidth)
    return k.profile(torch.as_tensor(np.asarray(r2, dtype=float))).numpy()


def kernel_gap(r2: np.ndarray | float, delta: np.ndarray | float, name: str = "gaussian",
               bandwidth: float = 1.0) -> np.ndarray:
    """``kernel(r2) - kernel(r2 + delta)`` without cancellation (needed as theta -> 0).

    The named kernel's ``dv.kernels`` gap (:meth:`divergences.kernels.RadialKernel.gap`: Gaussian
    ``-exp(-s) expm1(-t)``, rq ``t / ((1 + s)(1 + s + t))``, ``s = r2 / (2 h^2)``, ``t = delta / (2 h^2)``);
    the closed forms of the families are sums of such gaps.  numpy in, numpy out.
    """
    return np.asarray(_kernel_object(name, bandwidth).gap(np.asarray(r2, dtype=float),
                                                          np.asarray(delta, dtype=float)))


def sup_over_scale(f: Callable[[np.ndarray], np.ndarray], theta: float, *, n_grid: int = 1201
                   ) -> tuple[float, float]:
    """``(sup_a f(a), argmax)`` over scales ``a > 0`` by a dense log grid plus bounded refinement.

    The grid is ``n_grid`` log-spaced points on ``[1e-4 min(1, 1/|theta|), 1e4 max(1, 1/|theta|)]``;
    the best grid point is refined with :func:`scipy.optimize.minimize_scalar` (bounded, on
    ``log a``, between its two neighbours, xatol 1e-10).  If the best point is the upper end the
    supremum is approached as ``a -> inf`` (D_MMD in DiracGAN): the value there is returned, and
    the caller's closed form says how far from the limit it is (``exp(-1e8 / 2)`` for DiracGAN, i.e.
    nothing in float64).
    """
    th = abs(float(theta))
    if th == 0.0:
        raise ValueError("theta: the supremum is taken for theta != 0 (it is 0 at theta = 0)")
    lo, hi = 1e-4 * min(1.0, 1.0 / th), 1e4 * max(1.0, 1.0 / th)
    la = np.linspace(math.log(lo), math.log(hi), n_grid)
    vals = np.asarray(f(np.exp(la)), dtype=float)
    if not np.all(np.isfinite(vals)):
        raise ValueError("f: returned non-finite values on the search grid")
    i = int(np.argmax(vals))
    if i in (0, n_grid - 1):
        return float(vals[i]), float(np.exp(la[i]))
    res = optimize.minimize_scalar(lambda u: -float(np.asarray(f(np.array([math.exp(u)])))[0]),
                                   bounds=(la[i - 1], la[i + 1]), method="bounded",
                                   options={"xatol": 1e-10})
    best = max(float(vals[i]), -float(res.fun))
    arg = math.exp(res.x) if -float(res.fun) >= vals[i] else math.exp(la[i])
    return best, arg


def _triangular_mean(g: Callable[[float], float]) -> float:
    """``E g(U)`` for ``U = Z - Z'``, Z, Z' iid U[0, 1] (density ``1 - |u|``), g even."""
    return 2.0 * integrate.quad(lambda u: (1.0 - u) * g(u), 0.0, 1.0, epsabs=0.0, epsrel=1e-12,
                                limit=200)[0]


def _dirac_mmd2_feature(t: np.ndarray) -> np.ndarray:
    """MMD^2 of ``delta_0`` vs ``delta_t`` under :data:`TOP_KERNEL` ``exp(-(a-b)^2/2)``:
    ``2 (k(0) - k(t^2)) = 2 (1 - exp(-t^2/2))`` (its cancellation-free gap)."""
    return 2.0 * np.asarray(TOP_KERNEL.gap(0.0, np.asarray(t, dtype=float) ** 2))


@dataclass(frozen=True)
class Family:
    """A family ``theta -> (P, Q_theta)``; subclasses give samplers and closed forms."""

    name: str = "family"
    dim: int = 1

    # -- samplers ---------------------------------------------------------------------------
    def sample_p(self, n: int, seed: int) -> np.ndarray:
        """``n`` samples of P as an ``(n, dim)`` float64 array, from ``default_rng(seed)``."""
        return self.sample_q(0.0, n, seed)

    def sample_q(self, theta: float, n: int, seed: int) -> np.ndarray:  # pragma: no cover
        raise ValueError(f"{self.name}: no sampler")

    # -- exact values ------------------------------------------------------------------------
    def mmd2(self, theta: float, kernel_name: str = "gaussian", bandwidth: float = 1.0) -> float:
        raise ValueError(f"{self.name}: no MMD closed form")  # pragma: no cover

    def feature_mmd2(self, theta: float, a: np.ndarray) -> np.ndarray:
        """MMD^2 of ``phi P`` vs ``phi Q_theta`` with ``phi(x) = a x_1`` and ``exp(-(u-v)^2/2)``."""
        raise ValueError(f"{self.name}: no feature-space MMD")  # pragma: no cover

    def d_mmd(self, theta: float) -> float:
        """``D_MMD(theta) = sup_psi MMD(phi_psi P, phi_psi Q_theta)`` (C21), 0 at theta = 0."""
        if theta == 0:
            return 0.0
        v, _ = sup_over_scale(lambda a: self.feature_mmd2(theta, a), theta)
        return math.sqrt(max(v, 0.0))

    def smmd(self, theta: float) -> float:
        """``D_SMMD(theta) = sup_psi sigma_psi MMD(phi_psi P, phi_psi Q_theta)`` (C22), lambda = 1."""
        if theta == 0:
            return 0.0
        # psi = a e_1: ||grad phi_psi||_F^2 = a^2; SMMD^2 = sigma_psi^2 MMD^2 (dv.smmd2_from_mmd2)
        v, _ = sup_over_scale(lambda a: dv.smmd2_from_mmd2(self.feature_mmd2(theta, a), np.asarray(a, dtype=float) ** 2,
                                                           TOP_KERNEL, lam=LAMBDA_SMMD), theta)
        return math.sqrt(max(v, 0.0))

    def exact(self, divergence: str, theta: float) -> float:
        """Exact value of ``divergence`` (one of :data:`DIVERGENCES`) between P and Q_theta."""
        theta = float(theta)
        if not math.isfinite(theta):
            raise ValueError(f"theta: must be finite, got {theta!r}")
        if divergence in ("mmd2", "mmd2_rq", "mmd", "mmd_rq"):
            k = "rq" if divergence.endswith("_rq") else "gaussian"
            v = 0.0 if theta == 0 else self.mmd2(theta, k)
            return v if divergence.startswith("mmd2") else math.sqrt(max(v, 0.0))
        if divergence == "d_mmd":
            return self.d_mmd(theta)
        if divergence == "smmd":
            return self.smmd(theta)
        if divergence in ("jsd", "kl", "tv", "w1"):
            return 0.0 if theta == 0 else float(getattr(self, divergence)(theta))
        raise ValueError(f"divergence: unknown {divergence!r}; expected one of {list(DIVERGENCES)}")


class _Disjoint(Family):
    """Families whose supports are disjoint for every theta != 0 (C05): JSD, KL, TV are constant."""

    def jsd(self, theta: float) -> float:
        """C05: disjoint supports give ``JSD = log 2``."""
        return math.log(2.0)

    def kl(self, theta: float) -> float:
        """C04: P puts mass where Q_theta has none, so ``KL(P || Q_theta) = +inf``."""
        return math.inf

    def tv(self, theta: float) -> float:
        """Disjoint supports: the support of P is a set of P-mass 1 and Q_theta-mass 0."""
        return 1.0


@dataclass(frozen=True)
class ParallelLines(_Disjoint):
    """C06: ``P = (0, Z)``, ``Q_theta = (theta, Z)``, ``Z ~ U[0, 1]`` (Arjovsky et al. 2017, Ex. 1)."""

    name: str = "parallel_lines"
    dim: int = 2

    def sample_q(self, theta: float, n: int, seed: int) -> np.ndarray:
        z = np.random.default_rng(seed).uniform(0.0, 1.0, size=n)
        return np.column_stack([np.full(n, float(theta)), z])

    def w1(self, theta: float) -> float:
        """C06: ``W1 = |theta|`` (the coupling (0, z) -> (theta, z) costs |theta|; any coupling
        costs at least ``|E X_1 - E Y_1| = |theta|``)."""
        return abs(theta)

    def mmd2(self, theta: float, kernel_name: str = "gaussian", bandwidth: float = 1.0) -> float:
        """``MMD^2 = 2 E[k(U^2) - k(theta^2 + U^2)]``, U = Z - Z' triangular on [-1, 1] (quadrature).

        Gaussian closed form: ``2 c (1 - exp(-theta^2 / 2 h^2))``, ``c = E exp(-U^2 / 2 h^2)``.
        """
        return 2.0 * _triangular_mean(
            lambda u: float(kernel_gap(u * u, theta * theta, kernel_name, bandwidth)))

    def feature_mmd2(self, theta: float, a: np.ndarray) -> np.ndarray:
        """With ``psi = a e_1`` the features are ``delta_0`` vs ``delta_{a theta}`` (as DiracGAN)."""
        return _dirac_mmd2_feature(np.asarray(a) * theta)


@dataclass(frozen=True)
class DiracGAN(_Disjoint):
    """C21, C22, C24: ``P = delta_0``, ``Q_theta = delta_theta`` (Mescheder et al. 2018)."""

    name: str = "diracgan"
    dim: int = 1

    def sample_q(self, theta: float, n: int, seed: int) -> np.ndarray:
        return np.full((n, 1), float(theta))

    def w1(self, theta: float) -> float:
        """``W1(delta_0, delta_theta) = |theta|``."""
        return abs(theta)

    def mmd2(self, theta: float, kernel_name: str = "gaussian", bandwidth: float = 1.0) -> float:
        """``MMD^2 = 2 (k(0) - k(theta^2))``."""
        return float(2.0 * kernel_gap(0.0, theta * theta, kernel_name, bandwidth))

    def feature_mmd2(self, theta: float, a: np.ndarray) -> np.ndarray:
        """``2 (1 - exp(-a^2 theta^2 / 2))`` (derived symbolically in :mod:`.dirac_forms`)."""
        return _dirac_mmd2_feature(np.asarray(a) * theta)


@dataclass(frozen=True)
class ShrinkingSegment(_Disjoint):
    """``P = delta_0``, ``Q_theta`` uniform on ``sign(theta) [|theta|, 2|theta|]``.

    A weakly convergent sequence (the segment shrinks onto 0) whose support never meets P's.
    """

    name: str = "shrinking_segment"
    dim: int = 1

    def sample_q(self, theta: float, n: int, seed: int) -> np.ndarray:
        s = np.random.default_rng(seed).uniform(1.0, 2.0, size=n)
        return (float(theta) * s)[:, None]

    def w1(self, theta: float) -> float:
        """All mass moves to 0: ``W1 = E|Y| = 1.5 |theta|``."""
        return 1.5 * abs(theta)

    def mmd2(self, theta: float, kernel_name: str = "gaussian", bandwidth: float = 1.0) -> float:
        """``MMD^2 = k(0) + E k(Y - Y') - 2 E k(Y)``, written as
        ``2 int_1^2 [k(0) - k(theta^2 s^2)] ds - E[k(0) - k(theta^2 U^2)]`` (U triangular)."""
        t2 = theta * theta
        first = integrate.quad(lambda s: float(kernel_gap(0.0, t2 * s * s, kernel_name, bandwidth)),
                               1.0, 2.0, epsabs=0.0, epsrel=1e-12)[0]
        second = _triangular_mean(lambda u: float(kernel_gap(0.0, t2 * u * u, kernel_name, bandwidth)))
        return 2.0 * first - second

    def feature_mmd2(self, theta: float, a: np.ndarray) -> np.ndarray:
        """Closed form with ``c = (a theta)^2 / 2``: ``E exp(-c U^2) = 2[sqrt(pi) erf(sqrt c) / (2 sqrt c)
        - (1 - e^-c) / (2c)]`` and ``int_1^2 exp(-c s^2) ds = sqrt(pi) (erf(2 sqrt c) - erf(sqrt c)) / (2 sqrt c)``."""
        c = (np.asarray(a, dtype=float) * theta) ** 2 / 2.0
        r = np.sqrt(c)
        with np.errstate(divide="ignore", invalid="ignore"):
            eyy = np.sqrt(np.pi) * special.erf(r) / r - (-np.expm1(-c)) / c
            exy = np.sqrt(np.pi) * (special.erf(2 * r) - special.erf(r)) / (2 * r)
        out = 1.0 + eyy - 2.0 * exy
        # small c: the series 9c/2 - 37c^2/6 (E U^2 = 1/6, E U^4 = 1/15, int s^2 = 7/3, int s^4 = 31/5)
        # avoids the cancellation of 1 + eyy - 2 exy (relative error O(c^2) below c = 1e-4)
        return np.where(c < 1e-4, 4.5 * c - 37.0 / 6.0 * c * c, out)


@dataclass(frozen=True)
class GaussianShift(Family):
    """Control: ``P = N(0, I_d)``, ``Q_theta = N(theta e_1, I_d)``; every divergence is continuous."""

    name: str = "gaussian_shift"
    dim: int = 1

    def sample_q(self, theta: float, n: int, seed: int) -> np.ndarray:
        x = np.random.default_rng(seed).standard_normal((n, self.dim))
        x[:, 0] += float(theta)
        return x

    def jsd(self, theta: float) -> float:
        """``dv.continuous.f_divergence(..., "js")`` of N(0, 1) and N(theta, 1) along e_1 (the other
        coordinates are shared and drop out): quadrature on ``[min(0, theta) - 14, max(0, theta) + 14]``
        (the mass outside is < 1e-43), log-densities, epsabs 1e-14, epsrel 1e-12."""
        lo, hi = min(0.0, theta) - 14.0, max(0.0, theta) + 14.0
        val, _ = dv.continuous.f_divergence(lambda u: float(stats.norm.logpdf(u)),
                                            lambda u: float(stats.norm.logpdf(u - theta)), "js",
                                            lower=lo, upper=hi, log_density=True, epsabs=1e-14, epsrel=1e-12)
        return val

    def _moments(self, theta: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(0, theta e_1, I_d)``: the means of P and Q_theta and their common covariance."""
        m1 = np.zeros(self.dim)
        m1[0] = theta
        return np.zeros(self.dim), m1, np.eye(self.dim)

    def kl(self, theta: float) -> float:
        """``KL(N(0, I) || N(theta e_1, I)) = theta^2 / 2``: ``dv.gaussian.kl``, whose equal-covariance
        branch ``1/2 dm^T S^-1 dm`` keeps full relative accuracy at theta = 1e-8 (module docstring)."""
        m0, m1, eye = self._moments(theta)
        return float(dv.gaussian.kl(m0, eye, m1, eye))

    def tv(self, theta: float) -> float:
        """``TV = 2 Phi(|theta| / 2) - 1``."""
        return float(special.erf(abs(theta) / (2.0 * math.sqrt(2.0))))

    def w1(self, theta: float) -> float:
        """A translation: ``W1 = |theta|`` (the shift coupling is optimal)."""
        return abs(theta)

    def mmd2(self, theta: float, kernel_name: str = "gaussian", bandwidth: float = 1.0) -> float:
        """Gaussian kernel: ``dv.gaussian.mmd2``, here ``2 (1 + 2/h^2)^(-d/2) (1 - exp(-theta^2 / (2 (h^2 + 2))))``
        (its equal-covariance ``expm1`` branch; module docstring); rq (d = 1 only):
        ``2 E[k(D^2) - k((D + theta)^2)]``, D ~ N(0, 2), by quadrature of the kernel gap."""
        if kernel_name == "gaussian":
            m0, m1, eye = self._moments(theta)
            return float(dv.gaussian.mmd2(m0, eye, m1, eye, bandwidth))
        if self.dim != 1:
            raise ValueError(f"kernel_name: {kernel_name!r} closed form only for dim = 1")
        sd = math.sqrt(2.0)
        f = lambda u: stats.norm.pdf(u, scale=sd) * float(  # noqa: E731
            kernel_gap(u * u, 2 * u * theta + theta * theta, kernel_name, bandwidth))
        return 2.0 * integrate.quad(f, -40.0, 40.0, epsabs=1e-16, epsrel=1e-10, limit=400, points=[0.0])[0]

    def feature_mmd2(self, theta: float, a: np.ndarray) -> np.ndarray:
        """``phi P = N(0, a^2)``, ``phi Q = N(a theta, a^2)`` under :data:`TOP_KERNEL`: ``dv.gaussian.mmd2``
        batched over the scales, ``2 (1 + 2a^2)^(-1/2) (1 - exp(-a^2 theta^2 / (2 (1 + 2 a^2))))``."""
        a = np.asarray(a, dtype=float)
        flat = a.reshape(-1, 1)
        cov = (flat * flat)[:, :, None]
        val = dv.gaussian.mmd2(np.zeros_like(flat), cov, flat * theta, cov, TOP_KERNEL.bandwidth)
        return np.asarray(val).reshape(a.shape)


def triangular_gauss(theta: float, c: np.ndarray | float) -> np.ndarray:
    """``E exp(-c (V + theta)^2)`` for V = U - U' (U, U' iid U[0, 1]; density ``1 - |v|`` on [-1, 1]).

    Closed form with ``I(a, b) = int_a^b e^{-c w^2} dw`` (erf) and ``J(a, b) = int_a^b w e^{-c w^2} dw``:
    ``(1 - theta) I(theta-1, theta) + J(theta-1, theta) + (1 + theta) I(theta, theta+1) - J(theta, theta+1)``.
    """
    c = np.asarray(c, dtype=float)
    r = np.sqrt(c)

    def i_(a: float, b: float) -> np.ndarray:
        return np.sqrt(np.pi) / (2 * r) * (special.erf(r * b) - special.erf(r * a))

    def j_(a: float, b: float) -> np.ndarray:
        lo, hi = sorted((a * a, b * b))
        sign = 1.0 if b * b >= a * a else -1.0      # e^{-c a^2} - e^{-c b^2} without cancellation
        return sign * np.exp(-c * lo) * -np.expm1(-c * (hi - lo)) / (2 * c)

    t = float(theta)
    return ((1 - t) * i_(t - 1, t) + j_(t - 1, t) + (1 + t) * i_(t, t + 1) - j_(t, t + 1))


@dataclass(frozen=True)
class CubeShift(Family):
    """``P = U[0, 1]^d``, ``Q_theta = P + theta e_1``: overlap ``o = max(0, 1 - |theta|)``."""

    name: str = "cube_shift"
    dim: int = 1

    def sample_q(self, theta: float, n: int, seed: int) -> np.ndarray:
        x = np.random.default_rng(seed).uniform(0.0, 1.0, size=(n, self.dim))
        x[:, 0] += float(theta)
        return x

    def jsd(self, theta: float) -> float:
        """Where only one density is positive the integrand gives ``log 2``: ``JSD = (1 - o) log 2``."""
        return (1.0 - max(0.0, 1.0 - abs(theta))) * math.log(2.0)

    def kl(self, theta: float) -> float:
        """P has mass ``1 - o > 0`` where Q_theta has none (theta != 0): ``+inf``."""
        return math.inf

    def tv(self, theta: float) -> float:
        """``TV = 1 - o``."""
        return 1.0 - max(0.0, 1.0 - abs(theta))

    def w1(self, theta: float) -> float:
        """A translation: ``W1 = |theta|``."""
        return abs(theta)

    def mmd2(self, theta: float, kernel_name: str = "gaussian", bandwidth: float = 1.0) -> float:
        """Gaussian product kernel: ``2 c_0^(d-1) (c_0 - c_theta)``, ``c_t = E exp(-(V + t)^2 / 2h^2)``."""
        if kernel_name != "gaussian":
            raise ValueError(f"kernel_name: only 'gaussian' has a closed form here, got {kernel_name!r}")
        c = 1.0 / (2.0 * bandwidth**2)
        c0 = float(triangular_gauss(0.0, c))
        return 2.0 * c0 ** (self.dim - 1) * (c0 - float(triangular_gauss(theta, c)))

    def feature_mmd2(self, theta: float, a: np.ndarray) -> np.ndarray:
        """``phi = a x_1``: ``2 (E e^{-a^2 V^2 / 2} - E e^{-a^2 (V + theta)^2 / 2})``."""
        c = np.asarray(a, dtype=float) ** 2 / 2.0
        return 2.0 * (triangular_gauss(0.0, c) - triangular_gauss(theta, c))


def all_families() -> list[Family]:
    """The four families of the (C)(M) evidence (the Gaussian control in d = 1)."""
    return [ParallelLines(), DiracGAN(), ShrinkingSegment(), GaussianShift(dim=1)]
