"""Closed forms between Gaussians N(m, S): KL, Bures-Wasserstein W2, Gaussian-kernel MMD^2.

Shapes: means ``(..., d)``, covariances ``(..., d, d)`` (leading batch axes broadcast); a
0-d mean with a 0-d covariance is the univariate case (``S`` is the *variance*).  numpy in
-> numpy out (float for a single pair), torch in -> torch out (same device, differentiable).

Validation: means and covariances finite; covariances square, symmetric within
``1e-8 (1 + max|S|)`` and positive semi-definite (smallest eigenvalue ``>= -1e-10 (1 + max|S|)``);
``kl`` needs the density of the second argument where the first puts mass (see there).
float16 / bfloat16 inputs are computed in float32 and returned in their own dtype.

Wasserstein conventions: :func:`w2_squared` is ``W_2^2``, :func:`w2` the rooted ``W_2``.  The
formula ``W_2^2`` lives in ``_bures_w2_squared`` only; the FID's Frechet distance
(``dv.frechet_distance``, ``dv.fid``: also ``W_2^2``) calls it too.

Equal covariances: where ``S0 == S1`` exactly (entrywise, per batch element), :func:`kl`,
:func:`w2_squared` and :func:`mmd2` use the reduced forms ``KL = 1/2 dm^T S^-1 dm``,
``W_2^2 = ||dm||^2`` and ``MMD^2 = -2 det(I + 2S/h^2)^(-1/2) expm1(-1/2 dm^T (2S + h^2 I)^-1 dm)``
(``dm = m1 - m0``): the general formulas subtract O(1) terms (``tr(S1^-1 S0) - d`` and the log-dets,
``tr S0 + tr S1 - 2 tr(...)^1/2``, ``E k(X,X') + E k(Y,Y') - 2 E k(X,Y)``) and lose every digit of a
small separation (at ``||dm|| = 1e-8`` they return ~1e-16 noise or 0 for values of ~5e-17), while
the reduced forms keep a relative accuracy of a few ulps (times d for the Cholesky solves), as the
shifted-Gaussian control of the (C)(M) evidence needs (claims C07, C13).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ._arrays import common_tensors, is_torch, to_output
from ._validation import check_finite, check_int, check_positive, check_seed

__all__ = ["kl", "w2", "w2_squared", "mmd2", "sample", "pushforward"]

ArrayLike = Any


def _check_cov(S: torch.Tensor, name: str) -> None:
    if S.ndim < 2 or S.shape[-1] != S.shape[-2]:
        raise ValueError(f"{name}: covariance must have shape (..., d, d), got {tuple(S.shape)}")
    if S.shape[-1] == 0:
        raise ValueError(f"{name}: is empty (shape {tuple(S.shape)})")
    check_finite(S, name)
    Sd = S.detach()
    scale = 1.0 + float(Sd.abs().max())
    asym = float((Sd - Sd.transpose(-1, -2)).abs().max())
    if asym > 1e-8 * scale:
        raise ValueError(f"{name}: covariance is not symmetric (max |S - S^T| = {asym:.3g})")
    lam_min = float(torch.linalg.eigvalsh(0.5 * (Sd + Sd.transpose(-1, -2))).min())
    if lam_min < -1e-10 * scale:
        raise ValueError(f"{name}: covariance is not positive semi-definite (smallest eigenvalue {lam_min:.3g})")


_LOW_PRECISION = (torch.float16, torch.bfloat16)


def _prepare(pairs: list[tuple[ArrayLike, ArrayLike, str, str]]
             ) -> tuple[list[torch.Tensor], bool, torch.dtype]:
    """Convert (mean, cov) pairs, validate them, and broadcast batch axes.

    Returns ``([m, S, ...], as_torch, dtype)``: float16 / bfloat16 inputs are computed in
    float32 (the eigen- and Cholesky solvers have no half-precision kernels) and ``dtype`` is
    the input dtype the caller casts its result back to.
    """
    as_torch = is_torch(*[x for m, S, _, _ in pairs for x in (m, S)])
    flat = []
    for m, S, nm, nS in pairs:
        flat += [(m, nm), (S, nS)]
    ts = list(common_tensors(*flat))
    dtype = ts[0].dtype
    ts = [t.to(torch.float32) if t.dtype in _LOW_PRECISION else t for t in ts]
    for i, (_, _, nm, nS) in enumerate(pairs):
        m, S = ts[2 * i], ts[2 * i + 1]
        if m.ndim == 0 and S.ndim == 0:  # univariate: mean and variance
            m, S = m.reshape(1), S.reshape(1, 1)
        if m.ndim == 0:
            raise ValueError(f"{nm}: mean must have shape (..., d) to go with {nS} of shape {tuple(S.shape)}")
        check_finite(m, nm)
        if m.shape[-1] == 0:
            raise ValueError(f"{nm}: is empty (shape {tuple(m.shape)})")
        _check_cov(S, nS)
        if S.shape[-1] != m.shape[-1]:
            raise ValueError(f"{nm}, {nS}: dimension mismatch (mean has d = {m.shape[-1]}, "
                             f"covariance is {S.shape[-1]} x {S.shape[-1]})")
        ts[2 * i], ts[2 * i + 1] = m, S
    d = {int(t.shape[-1]) for t in ts}
    if len(d) > 1:
        names = ", ".join(n for _, _, nm, nS in pairs for n in (nm, nS))
        raise ValueError(f"{names}: the two Gaussians have different dimensions {sorted(d)}")
    try:
        batch = torch.broadcast_shapes(*[t.shape[:-1] if i % 2 == 0 else t.shape[:-2] for i, t in enumerate(ts)])
    except RuntimeError:
        names = ", ".join(n for _, _, nm, nS in pairs for n in (nm, nS))
        raise ValueError(f"{names}: batch shapes do not broadcast") from None
    out = []
    for i, t in enumerate(ts):
        out.append(t.expand(*batch, *t.shape[-1:]) if i % 2 == 0 else t.expand(*batch, *t.shape[-2:]))
    return out, as_torch, dtype


def _sym(S: torch.Tensor) -> torch.Tensor:
    return 0.5 * (S + S.transpose(-1, -2))


def kl(m0: ArrayLike, S0: ArrayLike, m1: ArrayLike, S1: ArrayLike) -> Any:
    """``KL(N(m0,S0) || N(m1,S1))``, natural log (C36, C01).

    ``1/2 [tr(S1^-1 S0) + (m1-m0)^T S1^-1 (m1-m0) - d + log det S1 - log det S0]``
    (e.g. Bishop, PRML, or Kingma & Welling 2014 appendix B for the diagonal case).  Computed
    with Cholesky factors.  Where ``S0 == S1`` exactly the trace and log-det terms cancel
    identically and ``1/2 (m1-m0)^T S1^-1 (m1-m0) = 1/2 ||L1^-1 (m1-m0)||^2`` is returned (no
    ``tr - d`` cancellation: relative accuracy at any separation; same value and gradient as the
    general formula there).  If exactly one covariance is singular the measures are mutually
    singular in the relevant direction and the result is ``+inf`` (C04); if both are singular
    (a KL restricted to a common subspace) a ``ValueError`` is raised.
    """
    (m0t, S0t, m1t, S1t), as_torch, dtype = _prepare([(m0, S0, "m0", "S0"), (m1, S1, "m1", "S1")])
    d = m0t.shape[-1]
    S0t, S1t = _sym(S0t), _sym(S1t)
    L0, info0 = torch.linalg.cholesky_ex(S0t)
    L1, info1 = torch.linalg.cholesky_ex(S1t)
    sing0, sing1 = info0 != 0, info1 != 0
    if bool((sing0 & sing1).any()):
        raise ValueError("S0, S1: both covariances are singular; KL between degenerate Gaussians "
                         "needs their common subspace and is not implemented")
    eye = torch.eye(d, dtype=S0t.dtype, device=S0t.device).expand_as(S0t)
    L0 = torch.where(sing0[..., None, None], eye, L0)
    L1 = torch.where(sing1[..., None, None], eye, L1)
    M = torch.linalg.solve_triangular(L1, L0, upper=False)
    y = torch.linalg.solve_triangular(L1, (m1t - m0t)[..., None], upper=False)[..., 0]
    logdet0 = 2.0 * torch.log(torch.diagonal(L0, dim1=-2, dim2=-1)).sum(-1)
    logdet1 = 2.0 * torch.log(torch.diagonal(L1, dim1=-2, dim2=-1)).sum(-1)
    maha = (y * y).sum(-1)
    val = 0.5 * ((M * M).sum((-2, -1)) + maha - d + logdet1 - logdet0)
    equal = (S0t == S1t).all(-1).all(-1)
    val = torch.where(equal, 0.5 * maha, val)
    val = torch.where(sing0 | sing1, torch.full_like(val, math.inf), val)
    return to_output(val.to(dtype), as_torch)


def _trace_sqrt_product(S0: torch.Tensor, S1: torch.Tensor) -> torch.Tensor:
    """``tr (S0^1/2 S1 S0^1/2)^1/2`` for symmetric PSD ``S0``, ``S1`` (batched ``(..., d, d)``).

    ``S0^1/2 S1 S0^1/2`` is similar to ``L^T S1 L`` for any factor ``S0 = L L^T``, so the trace
    is the sum of the square roots of the eigenvalues of that symmetric PSD matrix (those of
    ``S0 S1``).  The Cholesky factor of ``S0`` is used when it exists (cheap), else the roles
    are swapped (the trace is symmetric in S0, S1), else (both singular, e.g. fewer samples than
    dimensions) the symmetric square root of ``S0`` from ``eigh`` with eigenvalues clipped at
    0.  Eigenvalues are clipped at 0 before the square root, so the trace is real; along the
    Cholesky paths only eigenvalues are differentiated (repeated eigenvalues are fine).  A
    single unbatched float64 CPU matrix without autograd goes through scipy's LAPACK
    ``dsyevd`` (about 2x faster than torch's bundled ``eigvalsh`` on the CPUs measured, which
    matters for 2048-d FID); everything else through ``torch.linalg.eigvalsh``.
    """
    M = None
    for A, B in ((S0, S1), (S1, S0)):
        L, info = torch.linalg.cholesky_ex(A)
        if not bool((info != 0).any()):
            M = L.transpose(-1, -2) @ B @ L
            break
    if M is None:
        lam, V = torch.linalg.eigh(S0)
        R = (V * torch.sqrt(torch.clamp(lam, min=0.0))[..., None, :]) @ V.transpose(-1, -2)
        M = R @ S1 @ R
    M = _sym(M)
    if M.ndim == 2 and M.device.type == "cpu" and M.dtype == torch.float64 and not M.requires_grad:
        import scipy.linalg as sl

        ev = torch.from_numpy(sl.eigh(M.numpy(), eigvals_only=True, driver="evd", check_finite=False))
    else:
        ev = torch.linalg.eigvalsh(M)
    return torch.sqrt(torch.clamp(ev, min=0.0)).sum(-1)


def _bures_w2_squared(diff: torch.Tensor, S0: torch.Tensor, S1: torch.Tensor) -> torch.Tensor:
    """The one home of ``W_2^2(N(m0, S0), N(m1, S1)) = ||diff||^2 + tr S0 + tr S1 - 2 tr (S0^1/2 S1 S0^1/2)^1/2``.

    Squared (not rooted) 2-Wasserstein distance between Gaussians, ``diff = m0 - m1``; equal to
    the Frechet distance of FID (C28; Dowson & Landau 1982; Givens & Shortt 1984; Heusel et al.
    2017).  On already validated tensors: ``diff`` ``(..., d)``, symmetric PSD ``S0``, ``S1``
    ``(..., d, d)`` of one dtype and device (no checks, no casts, differentiable); the trace
    term as :func:`_trace_sqrt_product`.  Rounding can make the value slightly negative when
    the Gaussians nearly coincide; it is a squared distance, so it is clamped at 0.  Callers:
    :func:`w2_squared` (and :func:`w2`) here, :func:`divergences.evaluation.frechet_distance`
    and :func:`divergences.evaluation.fid` (which add their own validation and exact
    power-of-two rescaling).  Where ``S0 == S1`` exactly the covariance terms vanish identically
    and ``||diff||^2`` is returned (exact at any separation; zero gradient in the covariances, as
    the general formula has there); when every batch element has equal covariances the trace
    term is not computed at all.
    """
    dist2 = (diff * diff).sum(-1)
    equal = (S0 == S1).all(-1).all(-1)
    if bool(equal.all()):
        return dist2
    tr0 = torch.diagonal(S0, dim1=-2, dim2=-1).sum(-1)
    tr1 = torch.diagonal(S1, dim1=-2, dim2=-1).sum(-1)
    val = torch.clamp(dist2 + tr0 + tr1 - 2.0 * _trace_sqrt_product(S0, S1), min=0.0)
    return torch.where(equal, dist2, val)


def w2_squared(m0: ArrayLike, S0: ArrayLike, m1: ArrayLike, S1: ArrayLike) -> Any:
    """Squared 2-Wasserstein distance between Gaussians (Bures-Wasserstein), ``W_2^2``.

    ``||m0 - m1||^2 + tr S0 + tr S1 - 2 tr (S0^1/2 S1 S0^1/2)^1/2`` (Dowson & Landau 1982;
    Givens & Shortt 1984); the same expression is the Frechet distance of FID (C28), and both
    are computed by :func:`_bures_w2_squared`.  Convention: this is ``W_2^2`` (squared);
    :func:`w2` is the rooted ``W_2``, and ``dv.frechet_distance`` / ``dv.fid`` are ``W_2^2``.
    Rounding can make the trace term slightly negative when S0 ~ S1: the result is clamped at 0.
    """
    (m0t, S0t, m1t, S1t), as_torch, dtype = _prepare([(m0, S0, "m0", "S0"), (m1, S1, "m1", "S1")])
    val = _bures_w2_squared(m0t - m1t, _sym(S0t), _sym(S1t))
    return to_output(val.to(dtype), as_torch)


def w2(m0: ArrayLike, S0: ArrayLike, m1: ArrayLike, S1: ArrayLike) -> Any:
    """Rooted 2-Wasserstein distance ``W_2 = sqrt(w2_squared)`` between Gaussians (Bures).

    ``W_2(N(m0,S0), N(m1,S1))``; the optimal coupling is the linear map
    ``T = S0^-1/2 (S0^1/2 S1 S0^1/2)^1/2 S0^-1/2`` (for PD ``S0``).  Not differentiable where
    it is 0 (use :func:`w2_squared` there).
    """
    val = w2_squared(m0, S0, m1, S1)
    if isinstance(val, torch.Tensor):
        return torch.sqrt(val)
    return math.sqrt(val) if isinstance(val, float) else np.sqrt(val)


def _expected_gaussian_kernel(delta: torch.Tensor, C: torch.Tensor, h: float) -> torch.Tensor:
    """``E exp(-||Z||^2 / (2h^2))`` for ``Z ~ N(delta, C)``:
    ``det(I + C/h^2)^(-1/2) exp(-1/2 delta^T (C + h^2 I)^-1 delta)`` (``exp(-ld/2 - q/2)`` with
    ``(ld, q)`` from :func:`_expected_gaussian_kernel_parts`)."""
    logdet, quad = _expected_gaussian_kernel_parts(delta, C, h)
    return torch.exp(-0.5 * logdet - 0.5 * quad)


def _expected_gaussian_kernel_parts(delta: torch.Tensor, C: torch.Tensor, h: float
                                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(log det(I + C/h^2), delta^T (C + h^2 I)^-1 delta)``, the two exponents of
    :func:`_expected_gaussian_kernel`.

    Scaled so that neither ``h^2`` nor ``C/h^2`` is formed when they would overflow or
    underflow: with ``r = max(h, sqrt(max|C|))``, ``M = C/r^2 + (h/r)^2 I`` (entries <= 2) and
    ``det(I + C/h^2) = det(M) (r/h)^(2d)``, ``delta^T (C + h^2 I)^-1 delta = (delta/r)^T M^-1
    (delta/r)``.  ``M`` is positive definite unless ``(h/r)^2`` underflows (``h < 1e-154 r``) with
    a singular ``C``; then every expected kernel value is below ``h/r < 1e-154`` and a
    ``ValueError`` asks for a larger bandwidth.
    """
    d = delta.shape[-1]
    eye = torch.eye(d, dtype=C.dtype, device=C.device)
    Cs = _sym(C)
    c = float(Cs.detach().abs().max()) if Cs.numel() else 0.0
    r = max(h, math.sqrt(c))
    M = (Cs / r) / r + ((h / r) ** 2) * eye
    L, info = torch.linalg.cholesky_ex(M)
    if bool((info != 0).any()):
        raise ValueError(f"bandwidth: {h:g} is too small for covariances of scale {c:.3g}: the expected "
                         f"kernel values underflow (h^2 / max|S| < 1e-300); use bandwidth >= "
                         f"{1e-150 * math.sqrt(c):.3g}")
    logdet = 2.0 * torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1) + 2.0 * d * (math.log(r) - math.log(h))
    y = torch.linalg.solve_triangular(L, (delta / r)[..., None], upper=False)[..., 0]
    return logdet, (y * y).sum(-1)


def mmd2(m0: ArrayLike, S0: ArrayLike, m1: ArrayLike, S1: ArrayLike, bandwidth: float) -> Any:
    """Population ``MMD^2`` between N(m0,S0) and N(m1,S1) for ``k(x,y) = exp(-||x-y||^2/(2 h^2))``.

    ``MMD^2 = E k(X,X') + E k(Y,Y') - 2 E k(X,Y)`` (C18; Gretton et al. 2012), each term from
    ``E k = det(I + C/h^2)^(-1/2) exp(-1/2 D^T (C + h^2 I)^-1 D)`` with ``(D, C) = (0, 2 S0)``,
    ``(0, 2 S1)`` and ``(m0 - m1, S0 + S1)``; ``h = bandwidth`` (the kernel has ``k(x,x) = 1``).
    Valid for PSD covariances (Diracs included: ``2 - 2 k(m0, m1)``).  Where ``S0 == S1 = S``
    exactly the three terms share ``c = det(I + 2S/h^2)^(-1/2)`` and
    ``MMD^2 = 2 c (1 - exp(-q/2)) = -2 c expm1(-q/2)``, ``q = (m0-m1)^T (2S + h^2 I)^-1 (m0-m1)``,
    is returned without the cancellation of the three O(1) terms (relative accuracy at any
    separation; for Diracs ``-2 expm1(-||m0 - m1||^2 / (2 h^2))``).
    """
    check_positive(bandwidth, "bandwidth")
    h = float(bandwidth)
    (m0t, S0t, m1t, S1t), as_torch, dtype = _prepare([(m0, S0, "m0", "S0"), (m1, S1, "m1", "S1")])
    zero = torch.zeros_like(m0t)
    ld_xy, q_xy = _expected_gaussian_kernel_parts(m0t - m1t, S0t + S1t, h)
    equal = (S0t == S1t).all(-1).all(-1)
    reduced = -2.0 * torch.exp(-0.5 * ld_xy) * torch.expm1(-0.5 * q_xy)   # S0 + S1 = 2 S0 exactly here
    if bool(equal.all()):
        return to_output(reduced.to(dtype), as_torch)
    kxx = _expected_gaussian_kernel(zero, 2.0 * S0t, h)
    kyy = _expected_gaussian_kernel(zero, 2.0 * S1t, h)
    kxy = torch.exp(-0.5 * ld_xy - 0.5 * q_xy)
    val = torch.where(equal, reduced, kxx + kyy - 2.0 * kxy)
    return to_output(val.to(dtype), as_torch)


def _factor(S: torch.Tensor) -> torch.Tensor:
    """A square root ``T`` with ``T T^T = S``: Cholesky if PD, else the symmetric root."""
    L, info = torch.linalg.cholesky_ex(S)
    if bool((info != 0).any()):
        lam, V = torch.linalg.eigh(S)
        L = V * torch.sqrt(torch.clamp(lam, min=0.0))[..., None, :]
    return L


def sample(m: ArrayLike, S: ArrayLike, n: int, *, seed: int | torch.Generator) -> Any:
    """``n`` samples of N(m, S) by the linear push-forward ``X = m + T Z``, ``Z ~ N(0, I)``,
    ``T = chol(S)`` so that ``T T^T = S`` (C32, seed 003); shape ``(n, d)``.

    ``seed`` is an int or a CPU ``torch.Generator``; draws are made on the CPU in float64 and
    moved to the device/dtype of the inputs.  A singular ``S`` uses its symmetric square root.
    """
    try:
        n = check_int(n, "n", minimum=1)
    except ValueError:
        raise ValueError(f"n: must be a positive int, got {n!r}") from None
    (mt, St), as_torch, dtype = _prepare([(m, S, "m", "S")])
    if mt.ndim != 1:
        raise ValueError(f"m, S: sample draws from one Gaussian (mean shape (d,)), got batch shape {tuple(mt.shape[:-1])}")
    if isinstance(seed, torch.Generator):
        gen = seed
    else:
        try:
            gen = torch.Generator().manual_seed(check_seed(seed))
        except ValueError:
            raise ValueError(f"seed: must be an int or a torch.Generator, got {seed!r}") from None
    z = torch.randn(n, mt.shape[-1], generator=gen, dtype=torch.float64).to(device=mt.device, dtype=mt.dtype)
    x = mt + z @ _factor(_sym(St)).transpose(-1, -2)
    return to_output(x.to(dtype), as_torch)


def pushforward(A: ArrayLike, m: ArrayLike, S: ArrayLike, b: ArrayLike | None = None) -> tuple[Any, Any]:
    """Law of ``A X + b`` for ``X ~ N(m, S)``: ``N(A m + b, A S A^T)`` (C32, seed 003).

    ``A`` has shape ``(k, d)``; returns ``(mean, cov)`` in the input's array type.
    """
    as_torch = is_torch(A, m, S, b)
    (mt, St), _, dtype = _prepare([(m, S, "m", "S")])
    At, _, _ = common_tensors((A, "A"), (mt, "m"), (St, "S"))
    check_finite(At, "A")
    if At.ndim != 2 or At.shape[1] != mt.shape[-1]:
        raise ValueError(f"A: must have shape (k, {mt.shape[-1]}), got {tuple(At.shape)}")
    mean = mt @ At.transpose(0, 1)
    if b is not None:
        bt, _ = common_tensors((b, "b"), (mean, "mean"))
        check_finite(bt, "b")
        if bt.shape != (At.shape[0],):
            raise ValueError(f"b: must have shape ({At.shape[0]},), got {tuple(bt.shape)}")
        mean = mean + bt
    cov = At @ St @ At.transpose(0, 1)
    return to_output(mean, as_torch), to_output(cov, as_torch)
