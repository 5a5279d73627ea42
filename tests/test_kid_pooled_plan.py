"""KID's two plans (divergences.evaluation._kid_plan): per-subset Grams, or the whole Gram once with
each tile summed per subset through 0/1 indicator columns.  Both draw the same subsets, so they
differ only by the rounding of the Gram entries; the bounds below come from that rounding."""

import numpy as np
import pytest
import torch

import divergences as dv
from divergences import evaluation as ev
from divergences import kernels as K


def _entry_bound(x: torch.Tensor, y: torch.Tensor, u: float, c: float = 1.0) -> float:
    """Largest possible error of one float computation of a cubic-kernel entry ``(g a.b + c)^3``,
    ``g = 1/d``, for rows ``a, b`` of ``x`` or ``y``: with ``R = g max|a| max|b|``, the inner product is
    within ``gamma_d g |a| |b| <= gamma_d R`` of the exact one (Higham 2002, eq. 3.5), the cube's slope
    is ``<= 3 (R + c)^2`` (1 % covers the second-order terms), and the scaling, the ``+ c`` and the
    two multiplications of the cube (or a correctly rounded pow) add ``<= 9 u (R + c)^3``."""
    d = x.shape[1]
    r = max(float(x.double().norm(dim=1).max()), float(y.double().norm(dim=1).max()))
    big_r = r * r / d
    gamma_d = d * u / (1 - d * u)
    return 1.01 * 3 * (big_r + c) ** 2 * gamma_d * big_r + 9 * u * (big_r + c) ** 3


def _sum_bound(x: torch.Tensor, y: torch.Tensor, terms: int, c: float = 1.0) -> float:
    """Largest possible difference from the float64 accumulation alone: each of the three sums adds
    entries ``|K| <= (R + c)^3`` in at most ``terms`` sequential steps in either computation, so it is
    within ``gamma_terms sum |K|`` of the exact sum (Higham 2002, eq. 4.4) each way; the estimate
    (each sum divided by its count) moves by ``<= 2 gamma_terms (R + c)^3 (1 + 1 + 2)``."""
    d, u = x.shape[1], 2.0 ** -53
    r = max(float(x.double().norm(dim=1).max()), float(y.double().norm(dim=1).max()))
    gamma = terms * u / (1 - terms * u)
    return 8 * gamma * (r * r / d + c) ** 3


def _features(n: int, d: int, seed: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.relu(torch.randn(n, d, generator=g, dtype=torch.float64))
    y = 1.05 * torch.relu(torch.randn(n + 37, d, generator=g, dtype=torch.float64) + 0.1)
    return x.to(dtype), y.to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_pooled_plan_matches_the_per_subset_plan_in_float64_within_the_rounding_of_the_gram(dtype):
    # 1 300 and 1 337 rows: the pooled plan tiles both Grams (2 tiles per side, the symmetric
    # off-diagonal tile counted twice), 9 subsets of 150; the reference is the per-subset plan on
    # float64 copies of the same numbers
    x, y = _features(1300, 96, 0, dtype)
    k = K.Polynomial()
    pooled = ev._kid_values(k, x, y, 150, 9, torch.Generator().manual_seed(4), "pooled")
    ref = ev._kid_values(k, x.double(), y.double(), 150, 9, torch.Generator().manual_seed(4), "subsets")
    # each of the three sums is a mean of entries (the cross term counted twice): each side is within
    # E + E + 2 E of the exact estimate, plus its float64 accumulation
    u = torch.finfo(dtype).eps / 2
    bound = 4 * (_entry_bound(x, y, u) + _entry_bound(x, y, 2.0 ** -53)) + _sum_bound(x, y, 150 * 150 + 1300 + 1337)
    diff = float((pooled - ref).abs().max())
    assert diff <= bound, (diff, bound)
    assert pooled.shape == (9,) and pooled.dtype == torch.float64


def test_pooled_plan_gives_each_subsets_unbiased_mmd2():
    """Independent reference: subset t's value is dv.mmd2 (unbiased, cubic kernel) of its own rows."""
    x, y = _features(700, 40, 1, torch.float64)
    k = K.Polynomial()
    gen = torch.Generator().manual_seed(11)
    v = ev._kid_values(k, x, y, 90, 5, gen, "pooled")
    gen = torch.Generator().manual_seed(11)
    u = 2.0 ** -53
    for t in range(5):
        ix, iy = torch.randperm(700, generator=gen)[:90], torch.randperm(737, generator=gen)[:90]
        ref = dv.mmd2(x[ix], y[iy], "polynomial")
        assert abs(float(v[t]) - float(ref)) <= 8 * _entry_bound(x, y, u) + _sum_bound(x, y, 90 * 90 + 1437), t


def test_pooled_plan_in_chunks_of_subsets_equals_one_chunk(monkeypatch):
    # the Gram is recomputed per chunk of subsets (bounded indicator memory); the same tiles give the
    # same entries, only the float64 sums' order may change (the BLAS may block a 3-column product
    # differently from a 7-column one)
    x, y = _features(600, 32, 2, torch.float32)
    k = K.Polynomial()
    one = ev._kid_values(k, x, y, 80, 7, torch.Generator().manual_seed(0), "pooled")
    monkeypatch.setattr(ev, "_KID_WEIGHT_ENTRIES", 3 * (600 + 637))  # chunks of 3, 3, 1 subsets
    three = ev._kid_values(k, x, y, 80, 7, torch.Generator().manual_seed(0), "pooled")
    assert float((one - three).abs().max()) <= _sum_bound(x, y, 80 * 80 + 600 + 637)


def test_plan_choice_follows_the_multiply_add_counts():
    # the usual protocol (100 subsets of 1 000 from 5 000 pool3 features): the whole Gram is cheaper
    assert ev._kid_plan(5000, 5000, 2048, 1000, 100) == "pooled"
    # few subsets, or many rows: the subsets' Grams are cheaper
    assert ev._kid_plan(5000, 5000, 2048, 1000, 10) == "subsets"
    assert ev._kid_plan(50000, 50000, 2048, 1000, 100) == "subsets"
    assert ev._kid_plan(10000, 10000, 2048, 1000, 100) == "subsets"
    # one subset of the whole sample: never pooled (same products plus the weighting)
    assert ev._kid_plan(120, 120, 10, 120, 1) == "subsets"
    with pytest.raises(ValueError, match="plan"):
        ev._kid_values(K.Polynomial(), *_features(20, 4, 0, torch.float64), 5, 2, torch.Generator(), "dense")


def test_kid_uses_the_chosen_plan_and_reports_its_values(monkeypatch):
    x, y = _features(400, 256, 3, torch.float32)
    seen = []
    real = ev._kid_values
    monkeypatch.setattr(ev, "_kid_values", lambda *a: seen.append(a[-1]) or real(*a))
    r = dv.kid(x, y, subsets=100, subset_size=100, seed=5)
    assert seen == [ev._kid_plan(400, 437, 256, 100, 100)] == ["pooled"]
    v = real(K.Polynomial(), x, y, 100, 100, torch.Generator().manual_seed(5), "pooled")
    assert float(r.mean) == float(v.mean()) and float(r.std) == float(v.std(correction=0))
    # numpy float32 input: same plan, same value
    rn = dv.kid(x.numpy(), y.numpy(), subsets=100, subset_size=100, seed=5)
    assert isinstance(rn.mean, float | np.floating) and float(rn.mean) == pytest.approx(float(r.mean), rel=1e-6)
