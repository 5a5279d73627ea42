"""``RadialKernel.gap``: ``K(r2) - K(r2 + delta)`` without cancellation (claims C06, C07, C13).

The reference is mpmath at 60 significant digits, from the kernel profiles written out here
(independent of ``divergences.kernels``).  The tolerance is the forward-error bound of the
rearranged formulas: a few unit roundoffs ``u`` times ``1 + kappa`` (plus ``alpha`` for the
rational-quadratic powers), ``kappa = (r |K'(r) - K'(r + d)| + |d K'(r + d)|) / |K(r) - K(r + d)|``
the condition number of the gap under relative perturbations of its two inputs (the rounding of
``r / (2 h^2)`` alone is such a perturbation, so no algorithm can beat ``kappa u``).  For the
mixtures the bound is summed over the components (they share the sign of ``delta``).
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import torch

import divergences as dv

DPS = 60  # working precision of the references (set locally: mp.dps is process-wide state)
U64 = 2.0**-53
U32 = 2.0**-24

# (registry name, parameters, components as (profile parameters)): the profile of component
# ("gauss", sigma) is exp(-r / (2 sigma^2)); ("rq", alpha, l) is (1 + r / (2 alpha l^2))^-alpha;
# the inverse multiquadric (1 + r / c^2)^-1/2 is ("rq", 1/2, c / sqrt(2))... written out directly:
# ("imq", c).
CASES = [
    ("gaussian", dict(bandwidth=1.0), [("gauss", 1.0)]),
    ("gaussian", dict(bandwidth=0.3), [("gauss", 0.3)]),
    ("mix_gaussian", dict(sigmas=(0.5, 2.0, 8.0)), [("gauss", 0.5), ("gauss", 2.0), ("gauss", 8.0)]),
    ("rq", dict(alpha=1.0, lengthscale=1.0), [("rq", 1.0, 1.0)]),
    ("rq", dict(alpha=2.5, lengthscale=0.7), [("rq", 2.5, 0.7)]),
    ("mix_rq", dict(alphas=(0.2, 1.0, 5.0), lengthscale=1.5), [("rq", 0.2, 1.5), ("rq", 1.0, 1.5), ("rq", 5.0, 1.5)]),
    ("imq", dict(scale=2.0), [("imq", 2.0)]),
]


def _profile(comp, r):
    if comp[0] == "gauss":
        return mp.exp(-r / (2 * mp.mpf(comp[1]) ** 2))
    if comp[0] == "rq":
        al, ls = mp.mpf(comp[1]), mp.mpf(comp[2])
        return (1 + r / (2 * al * ls**2)) ** (-al)
    return (1 + r / mp.mpf(comp[1]) ** 2) ** mp.mpf(-0.5)


def _reference_and_bound(comps, r2: float, delta: float, u: float) -> tuple[float, float]:
    """(exact gap, forward-error bound) for one input pair; ``r2``, ``delta`` are the float inputs.

    Below the smallest normal number ``tiny`` (``2 u`` relative spacing ends there) results may be
    flushed or subnormal: each component adds ``4 tiny`` absolute."""
    tiny = 2.0**-1022 if u == U64 else 2.0**-126
    with mp.workdps(DPS):
        return _reference_and_bound_at_precision(comps, r2, delta, u, tiny)


def _reference_and_bound_at_precision(comps, r2: float, delta: float, u: float, tiny: float) -> tuple[float, float]:
    r, d = mp.mpf(r2), mp.mpf(delta)
    total, bound = mp.mpf(0), mp.mpf(0)
    for c in comps:
        g = _profile(c, r) - _profile(c, r + d)
        dk_r = mp.diff(lambda t: _profile(c, t), r) if r > 0 else mp.mpf(0)
        dk_rd = mp.diff(lambda t: _profile(c, t), r + d) if r + d > 0 else mp.mpf(0)
        cond = r * abs(dk_r - dk_rd) + abs(d * dk_rd)
        alpha = float(c[1]) if c[0] == "rq" else (0.5 if c[0] == "imq" else 0.0)
        # (8 + 4 alpha) u |G| for the roundings of the rearranged formula, 4 kappa u |G| for the inputs
        bound += (8 + 4 * alpha) * u * abs(g) + 4 * u * cond + 4 * tiny
        total += g
    bound += len(comps) * u * abs(total)  # the sum over components
    return float(total), float(bound)


def _grid() -> list[tuple[float, float]]:
    r2s = [0.0] + list(np.logspace(-20, 3, 12))
    mags = list(np.logspace(-20, 3, 12))
    pairs = []
    for r2 in r2s:
        for m in mags:
            pairs.append((r2, m))
            if m <= r2:
                pairs.append((r2, -m))
    return pairs


@pytest.mark.parametrize("name,params,comps", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_gap_within_forward_error_bound_float64(name, params, comps) -> None:
    """Every pair on ``r2 in {0} + [1e-20, 1e3]``, ``|delta| in [1e-20, 1e3]`` (both signs where
    ``r2 + delta >= 0``) is within the bound; the naive ``K(r2) - K(r2 + delta)`` is not (it loses
    all digits at ``delta = 1e-20``), so the test can fail."""
    k = dv.kernels.get(name, **params)
    pairs = _grid()
    r2 = np.array([p[0] for p in pairs])
    delta = np.array([p[1] for p in pairs])
    got = np.asarray(k.gap(r2, delta))
    assert got.dtype == np.float64 and got.shape == r2.shape
    for i, (a, b) in enumerate(pairs):
        ref, bound = _reference_and_bound(comps, a, b, U64)
        err = abs(got[i] - ref)
        assert err <= bound, (a, b, got[i], ref, err, bound)
    # the naive difference fails the same bound at the smallest increment
    naive = float(k.profile(torch.tensor([0.0], dtype=torch.float64))[0]
                  - k.profile(torch.tensor([1e-20], dtype=torch.float64))[0])
    ref, bound = _reference_and_bound(comps, 0.0, 1e-20, U64)
    assert abs(naive - ref) > bound


@pytest.mark.parametrize("name,params,comps", CASES[:4], ids=[c[0] + str(i) for i, c in enumerate(CASES[:4])])
def test_gap_float32_torch_keeps_dtype_and_bound(name, params, comps) -> None:
    """torch float32 in, torch float32 out, within the bound with ``u = 2^-24`` (the inputs as
    rounded to float32 are the ones the reference uses)."""
    k = dv.kernels.get(name, **params)
    r2 = torch.tensor([0.0, 1e-12, 0.5, 3.0, 40.0], dtype=torch.float32)
    delta = torch.tensor([1e-10, 1e-6, -0.25, 2.0, -1e-3], dtype=torch.float32)
    got = k.gap(r2, delta)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float32
    for i in range(5):
        ref, bound = _reference_and_bound(comps, float(r2[i]), float(delta[i]), U32)
        assert abs(float(got[i]) - ref) <= bound, (i, float(got[i]), ref, bound)


@pytest.mark.parametrize("name,params,comps", [CASES[0], CASES[3], CASES[4]], ids=["gaussian", "rq1", "rq2.5"])
def test_gap_gradient_is_the_derivative_on_both_branches(name, params, comps) -> None:
    """``d gap / d delta = -K'(r2 + delta)`` for delta of either sign (no NaN from the masked branch)."""
    k = dv.kernels.get(name, **params)
    r2 = torch.tensor([0.7, 0.7, 2.0], dtype=torch.float64)
    delta = torch.tensor([0.3, -0.4, 0.0], dtype=torch.float64, requires_grad=True)
    k.gap(r2, delta).sum().backward()
    for i in range(3):
        with mp.workdps(DPS):
            expect = -float(mp.diff(lambda t: sum(_profile(c, t) for c in comps),
                                    mp.mpf(float(r2[i])) + mp.mpf(float(delta.detach()[i]))))
        assert math.isfinite(float(delta.grad[i]))
        # a handful of roundings along the chain rule, each <= u relative
        assert abs(float(delta.grad[i]) - expect) <= 16 * U64 * abs(expect)


def test_dirac_mmd2_at_theta_1e8_is_accurate() -> None:
    """C13's evidence: MMD^2(delta_0, delta_theta) = 2 gap(0, theta^2) = 2 (1 - exp(-theta^2 / 2)) at
    theta = 1e-8 is 1e-16 to a few ulps (the Gram-level difference returns 0 or noise there)."""
    k = dv.kernels.get("gaussian", bandwidth=1.0)
    got = 2.0 * float(k.gap(0.0, 1e-16))
    with mp.workdps(DPS):
        ref = float(2 * -mp.expm1(-mp.mpf(1e-16) / 2))
    assert abs(got - ref) <= 4 * U64 * ref


@pytest.mark.parametrize("r2,delta,word", [
    (-1.0, 1.0, "r2"), (1.0, -2.0, "delta"), (float("nan"), 1.0, "r2"), (1.0, float("inf"), "delta"),
])
def test_gap_rejects_bad_input(r2, delta, word) -> None:
    k = dv.kernels.get("gaussian")
    with pytest.raises(ValueError, match=word):
        k.gap(r2, delta)


def test_gap_rejects_non_broadcasting_shapes() -> None:
    with pytest.raises(ValueError, match="broadcast"):
        dv.kernels.get("rq").gap(np.zeros(3), np.ones(4))


def test_gap_only_for_radial_kernels() -> None:
    assert not hasattr(dv.kernels.get("linear"), "gap")
