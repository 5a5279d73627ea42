"""C04, C05, C08: exact divergences between probability vectors (KL, JSD, TV, f-divergences).

Property tests (hypothesis) cover non-negativity, identity, JSD symmetry and bounds, TV <= 1,
the data-processing inequality under random Markov kernels and joint convexity, for every
registry generator; tolerances are floating-point rounding (sums of K <= 8 terms).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import divergences as dv

GENERATORS = [(n, {}) for n in dv.fdiv.names() if n != "alpha"] + [
    ("alpha", {"alpha": a}) for a in (2.0, 0.5, -1.0, 3.0)]
GEN_IDS = [n if not kw else f"alpha={kw['alpha']:g}" for n, kw in GENERATORS]
LOG2 = math.log(2.0)


def _normalise(w: np.ndarray) -> np.ndarray:
    return w / w.sum(axis=-1, keepdims=True)


@st.composite
def prob_pair(draw, min_k: int = 2, max_k: int = 8, zeros: bool = True):
    """Two probability vectors of the same length; entries may be exactly 0."""
    k = draw(st.integers(min_k, max_k))
    elem = st.one_of(st.just(0.0), st.floats(1e-3, 1.0)) if zeros else st.floats(1e-3, 1.0)
    a = draw(hnp.arrays(np.float64, k, elements=elem))
    b = draw(hnp.arrays(np.float64, k, elements=elem))
    assume(a.sum() > 0 and b.sum() > 0)
    return _normalise(a), _normalise(b)


def _tol(*vals: float) -> float:
    finite = [abs(v) for v in vals if math.isfinite(v)]
    return 1e-12 * (1.0 + max(finite, default=0.0))


def _reference(p: np.ndarray, q: np.ndarray, name: str, kw: dict) -> float:
    """Textbook sums, written independently of the registry (with the same zero limits)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "kl":
            return _kl_ref(p, q)
        if name == "reverse_kl":
            return _kl_ref(q, p)
        if name == "jeffreys":
            return _kl_ref(p, q) + _kl_ref(q, p)
        if name == "pearson":
            return math.inf if np.any((q == 0) & (p > 0)) else float(np.sum(np.where(q > 0, (p - q) ** 2 / np.where(q > 0, q, 1), 0)))
        if name == "neyman":
            return _reference(q, p, "pearson", {})
        if name == "squared_hellinger":
            return float(np.sum((np.sqrt(p) - np.sqrt(q)) ** 2))
        if name in ("js", "gan"):
            m = (p + q) / 2
            j = 0.5 * _kl_ref(p, m) + 0.5 * _kl_ref(q, m)
            return j if name == "js" else 2 * j - math.log(4)
        if name == "tv":
            return 0.5 * float(np.abs(p - q).sum())
        a = kw["alpha"]
        if a == 2.0:
            return _reference(p, q, "pearson", {}) / 2
        if a == -1.0:
            return _reference(p, q, "neyman", {}) / 2
        if a == 0.5:
            return 2 * _reference(p, q, "squared_hellinger", {})
        # general alpha: (sum p^a q^(1-a) - 1) / (a (a - 1)) when the sums are finite
        if a > 1 and np.any((q == 0) & (p > 0)):
            return math.inf
        s = np.sum(np.where((p > 0) & (q > 0), p ** a * np.where(q > 0, q, 1) ** (1 - a), 0.0))
        return float((s - 1) / (a * (a - 1)))


def _kl_ref(p: np.ndarray, q: np.ndarray) -> float:
    if np.any((q == 0) & (p > 0)):
        return math.inf
    m = p > 0
    return float(np.sum(p[m] * np.log(p[m] / q[m])))


# ------------------------------------------------------------------------------------------ C04/C05


def test_c04_kl_is_infinite_when_q_vanishes_where_p_does_not():
    p = np.array([0.5, 0.5, 0.0])
    q = np.array([1.0, 0.0, 0.0])
    assert dv.kl(p, q) == math.inf
    assert dv.f_divergence(p, q, "kl") == math.inf
    assert dv.kl(q, p) == pytest.approx(LOG2, rel=1e-15)  # the other direction is finite
    pt = torch.tensor(p, requires_grad=True)
    qt = torch.tensor(q, requires_grad=True)
    val = dv.kl(pt, qt)
    assert torch.isinf(val)
    val.backward()
    assert not torch.isnan(pt.grad).any() and not torch.isnan(qt.grad).any()


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_c05_jsd_is_log2_for_disjoint_supports(k1, k2, seed):
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.dirichlet(np.ones(k1)), np.zeros(k2)])
    q = np.concatenate([np.zeros(k1), rng.dirichlet(np.ones(k2))])
    perm = rng.permutation(k1 + k2)
    p, q = p[perm], q[perm]
    assert dv.jsd(p, q) == pytest.approx(LOG2, rel=1e-14)
    assert dv.f_divergence(p, q, "js") == pytest.approx(LOG2, rel=1e-14)
    assert dv.f_divergence(p, q, "gan") == pytest.approx(0.0, abs=1e-14)  # 2 log 2 - log 4
    assert dv.tv(p, q) == pytest.approx(1.0, rel=1e-14)
    assert dv.kl(p, q) == math.inf


# ------------------------------------------------------------------------------------------ C08


@pytest.mark.parametrize(("name", "kw"), GENERATORS, ids=GEN_IDS)
@settings(max_examples=25, deadline=None)
@given(pq=prob_pair())
def test_c08_f_divergence_matches_textbook_formula(name, kw, pq):
    p, q = pq
    got = dv.f_divergence(p, q, name, **kw)
    ref = _reference(p, q, name, kw)
    if math.isinf(ref):
        assert got == math.inf
    else:
        assert got == pytest.approx(ref, rel=1e-11, abs=1e-12)


@pytest.mark.parametrize(("name", "kw"), GENERATORS, ids=GEN_IDS)
@settings(max_examples=25, deadline=None)
@given(pq=prob_pair())
def test_c08_nonnegative_with_equality_iff_equal(name, kw, pq):
    p, q = pq
    shift = -math.log(4) if name == "gan" else 0.0  # gan's f(1) = -log 4: D = 2 JSD - log 4
    d = dv.f_divergence(p, q, name, **kw) - shift
    assert d >= -_tol(d)
    assert abs(dv.f_divergence(p, p, name, **kw) - shift) <= 1e-14
    if np.abs(p - q).max() > 1e-3:  # strictly convex f (and TV): strictly positive
        assert d > 1e-9


@settings(max_examples=100, deadline=None)
@given(pq=prob_pair())
def test_jsd_symmetric_and_bounded_tv_at_most_one(pq):
    p, q = pq
    j = dv.jsd(p, q)
    assert j == pytest.approx(dv.jsd(q, p), abs=1e-15)
    assert -1e-15 <= j <= LOG2 + 1e-15
    t = dv.tv(p, q)
    assert 0.0 <= t <= 1.0 + 1e-15 and t == dv.tv(q, p)
    k = dv.kl(p, q)
    assert k >= -1e-15
    assert t <= math.sqrt(k / 2) + 1e-12  # Pinsker
    assert j <= t * LOG2 + 1e-12  # JSD <= TV log 2 (Lin 1991)


def _markov_kernel(rng: np.random.Generator, k: int, m: int) -> np.ndarray:
    w = rng.dirichlet(np.ones(m) * 0.7, size=k)
    w[rng.random((k, m)) < 0.3] = 0.0
    w[np.arange(k), rng.integers(0, m, k)] += 0.1
    return _normalise(w)


@pytest.mark.parametrize(("name", "kw"), GENERATORS, ids=GEN_IDS)
@settings(max_examples=25, deadline=None)
@given(pq=prob_pair(), m=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_c08_data_processing_inequality(name, kw, pq, m, seed):
    p, q = pq
    K = _markov_kernel(np.random.default_rng(seed), len(p), m)
    before = dv.f_divergence(p, q, name, **kw)
    after = dv.f_divergence(_normalise(p @ K), _normalise(q @ K), name, **kw)
    assert after <= before + _tol(before, after)


@pytest.mark.parametrize(("name", "kw"), GENERATORS, ids=GEN_IDS)
@settings(max_examples=25, deadline=None)
@given(pq1=prob_pair(min_k=4, max_k=4), pq2=prob_pair(min_k=4, max_k=4), lam=st.floats(0.0, 1.0))
def test_c08_joint_convexity(name, kw, pq1, pq2, lam):
    (p1, q1), (p2, q2) = pq1, pq2
    # the mixture must be the mixture: positive entries are >= 1e-3 / 4 here, so lam >= 2^-1000
    # keeps every lam * entry far above underflow (a subnormal lam rounds lam * q1_i to 0 while
    # lam * p1_i survives, a support change the real mixture does not have)
    assume(lam == 0.0 or lam >= 2.0 ** -1000)
    mix = dv.f_divergence(_normalise(lam * p1 + (1 - lam) * p2), _normalise(lam * q1 + (1 - lam) * q2), name, **kw)
    d1 = dv.f_divergence(p1, q1, name, **kw)
    d2 = dv.f_divergence(p2, q2, name, **kw)
    parts = [w * d for w, d in ((lam, d1), (1 - lam, d2)) if w > 0]
    bound = sum(parts)
    assert mix <= bound + _tol(mix, bound)


def test_named_identities_js_gan_tv_kl():
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(5), size=4)
    q = rng.dirichlet(np.ones(5), size=4)
    assert np.allclose(dv.f_divergence(p, q, "js"), dv.jsd(p, q), rtol=1e-13)
    assert np.allclose(dv.f_divergence(p, q, "gan"), 2 * dv.jsd(p, q) - math.log(4), rtol=1e-13)
    assert np.allclose(dv.f_divergence(p, q, "tv"), dv.tv(p, q), rtol=1e-13)
    assert np.allclose(dv.f_divergence(p, q, "kl"), dv.kl(p, q), rtol=1e-13)
    assert np.allclose(dv.f_divergence(p, q, "reverse_kl"), dv.kl(q, p), rtol=1e-13)
    assert np.allclose(dv.f_divergence(p, q, "jeffreys"), dv.kl(p, q) + dv.kl(q, p), rtol=1e-13)


def test_zero_probability_limits_are_exact():
    p = np.array([0.5, 0.5, 0.0])
    q = np.array([0.5, 0.0, 0.5])
    # q = 0 < p: p f'(inf); p = 0 < q: q f(0)
    assert dv.f_divergence(p, q, "tv") == pytest.approx(0.5)
    assert dv.f_divergence(p, q, "js") == pytest.approx(0.5 * 0.5 * LOG2 + 0.5 * 0.5 * LOG2)
    assert dv.f_divergence(p, q, "squared_hellinger") == pytest.approx(1.0)
    assert dv.f_divergence(p, q, "pearson") == math.inf
    assert dv.f_divergence(p, q, "neyman") == math.inf
    assert dv.f_divergence(p, q, "alpha", alpha=0.5) == pytest.approx(2.0)
    assert dv.f_divergence(p, q, "alpha", alpha=-1.0) == math.inf
    # p = q = 0 contributes nothing
    p0 = np.array([0.5, 0.5, 0.0])
    assert dv.f_divergence(p0, p0, "neyman") == 0.0
    assert dv.kl(p0, p0) == 0.0


# ------------------------------------------------------------------------------------------ arrays


def test_numpy_in_float_out_and_batching_broadcasts():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(6), size=(3, 4))
    q = rng.dirichlet(np.ones(6), size=4)
    assert isinstance(dv.kl(p[0, 0], q[0]), float)
    for fn in (dv.kl, dv.jsd, dv.tv, lambda a, b: dv.f_divergence(a, b, "pearson")):
        out = fn(p, q)
        assert isinstance(out, np.ndarray) and out.shape == (3, 4)
        for i in range(3):
            for j in range(4):
                assert out[i, j] == pytest.approx(fn(p[i, j], q[j]), rel=1e-14)


def test_torch_parity_dtype_and_gradients():
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(5), size=3)
    q = rng.dirichlet(np.ones(5), size=3)
    pt = torch.tensor(p, requires_grad=True)
    qt = torch.tensor(q, requires_grad=True)
    for name, kw in GENERATORS:
        v = dv.f_divergence(pt, qt, name, **kw)
        assert isinstance(v, torch.Tensor) and v.shape == (3,)
        assert np.allclose(v.detach().numpy(), dv.f_divergence(p, q, name, **kw), rtol=1e-14)
        gp, gq = torch.autograd.grad(v.sum(), (pt, qt))
        assert torch.isfinite(gp).all() and torch.isfinite(gq).all()
    # KL's analytic gradient: d/dp = log(p/q) + 1, d/dq = -p/q
    gp, gq = torch.autograd.grad(dv.kl(pt, qt).sum(), (pt, qt))
    assert np.allclose(gp.numpy(), np.log(p / q) + 1, rtol=1e-12)
    assert np.allclose(gq.numpy(), -p / q, rtol=1e-12)
    # float32 in -> float32 out, and gradients stay NaN-free with exact zeros
    p32 = torch.tensor([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]], dtype=torch.float32, requires_grad=True)
    q32 = torch.tensor([[0.25, 0.25, 0.5], [0.0, 0.5, 0.5]], dtype=torch.float32, requires_grad=True)
    for fn in (dv.kl, dv.jsd, dv.tv):
        out = fn(p32, q32)
        assert out.dtype == torch.float32
        gp, gq = torch.autograd.grad(out.sum(), (p32, q32))
        assert not torch.isnan(gp).any() and not torch.isnan(gq).any()
    assert dv.jsd(p32, q32).detach().numpy() == pytest.approx(dv.jsd(p32.detach().double().numpy(),
                                                                      q32.detach().double().numpy()), rel=1e-6)


def test_torch_keeps_device():
    p = torch.tensor([0.3, 0.7])
    out = dv.jsd(p, torch.tensor([0.6, 0.4]))
    assert out.device == p.device
    if torch.cuda.is_available():
        pc = p.cuda()
        assert dv.kl(pc, torch.tensor([0.6, 0.4], device="cuda")).device == pc.device
