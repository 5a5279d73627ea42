"""A standing test of bad input over the public API of ``divergences`` (issue 11, item 6).

Every call made here must end in one of two ways:

* a value that agrees with a direct float64 computation (numpy / scipy) on the *same* numbers
  (low-precision inputs are first rounded to their dtype, then the reference is computed in
  float64 from the rounded values), within the tolerance stated next to each reference; or
* a ``ValueError`` whose message names one of the arguments of the call.

Never another exception type, never NaN or Inf where the answer is finite.  Clean inputs
(float32/float64, moderate magnitude, no NaN/Inf, enough samples) must give a value: an API
that raised on everything would fail here.

Speed: the default run draws ``FAST`` examples per function; ``pytest -m slow`` reruns the
same properties with ``DEEP`` examples.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.stats
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import divergences as dv

FAST, DEEP = 25, 300

# Machine epsilon of the precision a computation runs in: float16/bfloat16/float32 inputs are
# computed in at least float32 (documented in divergences.mmd / kernels), float64 in float64.
EPS = {torch.float16: 2.0 ** -23, torch.bfloat16: 2.0 ** -23, torch.float32: 2.0 ** -23,
       torch.float64: 2.0 ** -52}

DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int64, torch.bool,
          torch.complex128]
# Largest magnitude exponent that keeps the *input* finite in each dtype.
MAX_EXP = {torch.float16: 4, torch.bfloat16: 30, torch.float32: 30, torch.float64: 200}


def _settings(n: int):
    return settings(max_examples=n, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def fuzz(body, *strategies):
    """``body`` as a fast property (default run) and as a deep one (``-m slow``)."""
    fast = _settings(FAST)(given(*strategies)(body))
    deep = pytest.mark.slow(_settings(DEEP)(given(*strategies)(body)))
    return fast, deep


def outcome(call, names: tuple[str, ...]):
    """Call and classify: ("value", v) or ("error", msg); anything else fails the test."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return "value", call()
    except ValueError as exc:
        msg = str(exc)
        assert any(n in msg for n in names), f"ValueError does not name any of {names}: {msg!r}"
        return "error", msg


@st.composite
def samples(draw, *, n_min=0, n_max=7, d_max=3, allow_bad=True):
    """(tensor-or-array, meta): samples of shape (n, d) with a random dtype, scale and defects."""
    n = draw(st.integers(n_min, n_max))
    d = draw(st.integers(0 if allow_bad else 1, d_max))
    seed = draw(st.integers(0, 2 ** 16))
    dtype = draw(st.sampled_from(DTYPES)) if allow_bad else draw(st.sampled_from(
        [torch.float32, torch.float64]))
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, d))
    exp_max = MAX_EXP.get(dtype, 3) if allow_bad else 2
    e = draw(st.integers(-exp_max, exp_max))
    arr = base * 10.0 ** e
    defect = draw(st.sampled_from(["none", "none", "none", "nan", "inf", "ndim1", "ndim3"])) if allow_bad \
        else "none"
    if dtype in (torch.int64, torch.bool) and defect in ("nan", "inf"):
        defect = "none"  # integer arrays cannot hold NaN/Inf (a cast would give INT64_MIN)
    if defect in ("nan", "inf") and arr.size:
        arr.flat[draw(st.integers(0, arr.size - 1))] = np.nan if defect == "nan" else np.inf
    if defect == "ndim1":
        arr = arr.reshape(-1)
    elif defect == "ndim3":
        arr = arr.reshape(1, n, d)
    if dtype == torch.complex128:
        t = torch.tensor(arr, dtype=torch.float64) + 0.5j
    elif dtype == torch.bool:
        t = torch.tensor(arr > 0)
    elif dtype == torch.int64:
        t = torch.tensor(np.clip(np.round(arr), -1e6, 1e6).astype(np.int64))
    else:
        t = torch.tensor(arr, dtype=torch.float64).to(dtype)
    as_numpy = draw(st.booleans()) and dtype in (torch.float64, torch.int64, torch.bool, torch.complex128)
    meta = {"dtype": dtype, "scale": 10.0 ** e, "defect": defect, "n": n, "d": d}
    return (t.numpy() if as_numpy else t), meta


def ref64(a) -> np.ndarray:
    """The numbers the function actually received, in float64."""
    if isinstance(a, torch.Tensor):
        return a.detach().to(torch.float64).numpy() if not a.is_complex() else a.numpy()
    return np.asarray(a, dtype=np.float64)


def unit(*dtypes) -> float:
    """Unit roundoff of the lowest precision among ``dtypes`` (results may be returned in it)."""
    u = {torch.float16: 2.0 ** -11, torch.bfloat16: 2.0 ** -8, torch.float32: 2.0 ** -24}
    return max((u.get(d, 2.0 ** -53) for d in dtypes), default=2.0 ** -53)


def clean(meta) -> bool:
    return meta["defect"] == "none" and meta["dtype"] in (torch.float32, torch.float64) and meta["n"] >= 3 \
        and meta["d"] >= 1


def as_float(v) -> float:
    return float(v.detach()) if isinstance(v, torch.Tensor) else float(v)


# ---------------------------------------------------------------------------------------------
# Discrete divergences: p, q probability vectors


@st.composite
def prob_vectors(draw):
    k = draw(st.integers(0, 6))
    dtype = draw(st.sampled_from(DTYPES))
    seed = draw(st.integers(0, 2 ** 16))
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(max(k, 1)))[:k] if k else np.zeros(0)
    zeros = draw(st.booleans())
    if zeros and k > 1:
        p[0] = 0.0
        p = p / p.sum()
    defect = draw(st.sampled_from(["none", "none", "nan", "negative", "unnormalised"]))
    if k and defect == "nan":
        p[-1] = np.nan
    elif k and defect == "negative":
        p[-1] = -0.1
    elif k and defect == "unnormalised":
        p = p * 1.5
    if dtype == torch.complex128:
        t = torch.tensor(p) + 0.1j
    elif dtype in (torch.int64, torch.bool):
        t = torch.tensor(p > 0.5).to(dtype)
    else:
        t = torch.tensor(p).to(dtype)
    return t, {"dtype": dtype, "defect": defect, "k": k}


def _kl_ref(p, q):
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p / q), 0.0)
    return float(np.sum(terms))


def _jsd_ref(p, q):
    m = 0.5 * (p + q)
    return 0.5 * _kl_ref(p, m) + 0.5 * _kl_ref(q, m)


def _check_discrete(fn, ref, pq):
    (p, mp), (q, mq) = pq
    kind, v = outcome(lambda: fn(p, q), ("p", "q"))
    good = all(m["defect"] == "none" and m["dtype"] in (torch.float32, torch.float64) for m in (mp, mq)) \
        and mp["k"] == mq["k"] and mp["k"] >= 1
    if kind == "error":
        assert not good, f"clean probability vectors rejected: {v}"
        return
    pr, qr = ref64(p), ref64(q)
    expect = ref(pr, qr)
    got = as_float(v)
    if math.isinf(expect):
        assert got == expect
        return
    assert math.isfinite(got), f"non-finite {got} where the float64 answer is {expect}"
    # Sum of k terms, each within a few eps of its value in the input's precision (the
    # function may compute float32 inputs in float32, and returns the input's dtype):
    # error <= 8 k eps (1 + |value|), eps = 2 u of the lowest input precision.
    eps = 2 * unit(mp["dtype"], mq["dtype"])
    assert abs(got - expect) <= 8 * max(mp["k"], 1) * eps * (1 + abs(expect)) + 1e-30


def _kl(pq):
    _check_discrete(dv.kl, _kl_ref, pq)


def _jsd(pq):
    _check_discrete(dv.jsd, _jsd_ref, pq)


def _tv(pq):
    _check_discrete(dv.tv, lambda p, q: 0.5 * float(np.abs(p - q).sum()), pq)


test_fuzz_kl, test_fuzz_kl_deep = fuzz(_kl, st.tuples(prob_vectors(), prob_vectors()))
test_fuzz_jsd, test_fuzz_jsd_deep = fuzz(_jsd, st.tuples(prob_vectors(), prob_vectors()))
test_fuzz_tv, test_fuzz_tv_deep = fuzz(_tv, st.tuples(prob_vectors(), prob_vectors()))


# ---------------------------------------------------------------------------------------------
# MMD^2 with an explicit Gaussian bandwidth proportional to the data scale


def _gauss_gram(a, b, s):
    r = (((a[:, None, :] - b[None, :, :]) / s) ** 2).sum(-1) / 2  # scaled first: no overflow of s^2
    return np.exp(-r)


def _mmd2(xs, ys, bw_rel, estimator):
    (x, mx), (y, my) = xs, ys
    scale = max(mx["scale"], my["scale"])
    bw = bw_rel * scale
    kind, v = outcome(lambda: dv.mmd2(x, y, "gaussian", estimator=estimator, bandwidth=bw), ("x", "y"))
    if kind == "error":
        # Mixed inputs are promoted to the lower precision (a float32 tensor beside a float64
        # array); beyond float32's range that promotion overflows, and an error is due.
        fits = mx["dtype"] == my["dtype"] or max(mx["scale"], my["scale"]) < 1e37
        assert not (clean(mx) and clean(my) and mx["d"] == my["d"] and fits), f"clean samples rejected: {v}"
        return
    xr, yr = ref64(x), ref64(y)
    xr, yr = (a[:, None] if a.ndim == 1 else a for a in (xr, yr))  # 1-D = n scalar samples
    n, m = len(xr), len(yr)
    kxx, kyy, kxy = _gauss_gram(xr, xr, bw), _gauss_gram(yr, yr, bw), _gauss_gram(xr, yr, bw)
    if estimator == "unbiased":
        expect = (kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) \
            - 2 * kxy.mean()
    else:
        expect = kxx.mean() + kyy.mean() - 2 * kxy.mean()
    got = as_float(v)
    assert math.isfinite(got), f"non-finite MMD^2 {got}, float64 gives {expect}"
    # Kernel values lie in [0, 1]; each is exp(-r), r = |a-b|^2 / (2 bw^2) <= (spread/bw)^2 with
    # |dr| <= 8 (d + 2) eps (1 + r) after centring, so |dk| <= k |dr| <= 8 (d + 2) eps.  The
    # estimator combines three means of such entries with weights summing to <= 4.
    # Computation precision: at least float32 for float16/bfloat16/float32 inputs, float64 else.
    low = any(m["dtype"] in (torch.float16, torch.bfloat16, torch.float32) for m in (mx, my))
    eps = 2.0 ** -23 if low else 2.0 ** -52
    d = xr.shape[1]
    # The value may be returned in the input dtype: one more rounding, u_out |value|.
    out = unit(mx["dtype"], my["dtype"]) * abs(expect)
    assert abs(got - expect) <= 32 * (d + 2) * eps + out + 1e-12, (got, expect)


test_fuzz_mmd2, test_fuzz_mmd2_deep = fuzz(_mmd2, samples(), samples(), st.floats(0.3, 5.0), st.sampled_from(["unbiased", "biased"]))


# ---------------------------------------------------------------------------------------------
# Exact 1-D Wasserstein against scipy; sliced / Sinkhorn / kNN KL: finite or a named error


def _w1d(xs, ys):
    (x, mx), (y, my) = xs, ys
    x1 = x.reshape(-1) if hasattr(x, "reshape") else x
    y1 = y.reshape(-1) if hasattr(y, "reshape") else y
    kind, v = outcome(lambda: dv.wasserstein_1d(x1, y1, p=1), ("x", "y"))
    if kind == "error":
        assert not (clean(mx) and clean(my)), f"clean samples rejected: {v}"
        return
    expect = scipy.stats.wasserstein_distance(ref64(x1).reshape(-1), ref64(y1).reshape(-1))
    got = as_float(v)
    assert math.isfinite(got)
    # A sum of n + m sorted differences in the input precision: error <= 4 (n + m) eps max|x|,
    # eps = 2 u of the lowest input precision (the result is returned in that dtype).
    eps = 2 * unit(mx["dtype"], my["dtype"])
    mag = max(np.abs(ref64(x1)).max(initial=0), np.abs(ref64(y1)).max(initial=0))
    assert abs(got - expect) <= 4 * (mx["n"] + my["n"]) * eps * mag + 1e-300


def _sliced(xs, ys, n_projections, seed):
    (x, mx), (y, my) = xs, ys
    kind, v = outcome(lambda: dv.sliced_wasserstein(x, y, n_projections=n_projections, seed=seed),
                      ("x", "y", "n_projections", "seed"))
    good_args = n_projections in (1, 8) and seed in (0, 3)
    if kind == "error":
        assert not (clean(mx) and clean(my) and mx["d"] == my["d"] and good_args), v
        return
    assert good_args, f"bad n_projections={n_projections!r} / seed={seed!r} accepted"
    assert math.isfinite(as_float(v))


def _sinkhorn(xs, ys, reg_rel):
    (x, mx), (y, my) = xs, ys
    scale = max(mx["scale"], my["scale"])
    reg = reg_rel * scale * scale  # p = 2 costs scale with scale^2 (may overflow to inf: an error)
    kind, v = outcome(lambda: dv.sinkhorn(x, y, reg=reg), ("x", "y", "reg"))
    if kind == "error":
        assert not (clean(mx) and clean(my) and mx["d"] == my["d"]), v
        return
    assert math.isfinite(as_float(v))


def _knn(xs, ys, k):
    (x, mx), (y, my) = xs, ys
    kind, v = outcome(lambda: dv.knn_kl(x, y, k=k), ("x", "y", "k"))
    if kind == "value":
        assert k in (1, 2), f"bad k={k!r} accepted"
        assert math.isfinite(as_float(v))


test_fuzz_wasserstein_1d, test_fuzz_wasserstein_1d_deep = fuzz(_w1d, samples(d_max=1), samples(d_max=1))
test_fuzz_sliced, test_fuzz_sliced_deep = fuzz(_sliced, samples(), samples(), st.sampled_from([1, 8, 1.5, float("inf"), None, "a", 0, -1]),
       st.sampled_from([0, 3, 1.7, float("nan"), None]))
test_fuzz_sinkhorn, test_fuzz_sinkhorn_deep = fuzz(_sinkhorn, samples(n_max=6), samples(n_max=6), st.floats(0.05, 2.0))
test_fuzz_knn_kl, test_fuzz_knn_kl_deep = fuzz(_knn, samples(n_min=0, n_max=7), samples(n_min=0, n_max=7), st.sampled_from([1, 2, 0, 1.5, None, float("inf")]))


# ---------------------------------------------------------------------------------------------
# FID / KID on features


def _fid_ref(a, b):
    import scipy.linalg
    m1, m2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False, ddof=1).reshape(a.shape[1], -1), np.cov(b, rowvar=False, ddof=1).reshape(
        b.shape[1], -1)
    # with n <= d (up to 8 rows here) S1 S2 is singular, and scipy says so with a LinAlgWarning on
    # every such draw; the tolerance in _fid allows for the half of the digits sqrtm loses there
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((m1 - m2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean)), s1, s2


def _fid(xs, ys):
    (x, mx), (y, my) = xs, ys
    kind, v = outcome(lambda: dv.fid(x, y), ("fx", "fy", "x", "y", "S1", "S2"))
    if kind == "error":
        assert not (clean(mx) and clean(my) and mx["d"] == my["d"]), v
        return
    got = as_float(v)
    assert math.isfinite(got) and got >= 0
    xr, yr = (a[:, None] if a.ndim == 1 else a for a in (ref64(x), ref64(y)))
    # The reference runs on data rescaled by an exact power of two c (FID scales by c^2), so
    # that scipy's sqrtm sees entries of order 1 at any input magnitude.
    c = 2.0 ** math.frexp(max(np.abs(xr).max(), np.abs(yr).max(), 1e-300))[1]
    expect, s1, s2 = _fid_ref(xr / c, yr / c)
    xr, yr = xr / c, yr / c
    got = got / c / c
    # Relative to the trace scale: eigen-decompositions in float64 have backward error
    # ~ d eps ||S||; float32 input moments carry ~ n d eps32 relative error.
    scale = np.trace(s1) + np.trace(s2) + ((xr.mean(0) - yr.mean(0)) ** 2).sum()
    eps = 2 * unit(mx["dtype"], my["dtype"])
    # sqrtm of a (near-)singular product loses half the digits: sqrt(eps) relative.
    assert abs(got - expect) <= 64 * xr.shape[1] * math.sqrt(eps) * scale + 1e-300, (got, expect)


def _kid(xs, ys, subsets, subset_size):
    (x, mx), (y, my) = xs, ys
    kind, v = outcome(lambda: dv.kid(x, y, subsets=subsets, subset_size=subset_size, seed=0),
                      ("fx", "fy", "x", "y", "subsets", "subset_size"))
    if kind == "value":
        assert subsets in (1, 2) and subset_size in (2, 3), "bad subsets/subset_size accepted"
        mean = as_float(v.mean) if hasattr(v, "mean") else as_float(v[0])
        assert math.isfinite(mean)


test_fuzz_fid, test_fuzz_fid_deep = fuzz(_fid, samples(n_max=8), samples(n_max=8))
test_fuzz_kid, test_fuzz_kid_deep = fuzz(_kid, samples(n_min=2, n_max=8), samples(n_min=2, n_max=8),
       st.sampled_from([1, 2, 0, 1.5, None, float("inf")]), st.sampled_from([2, 3, 0, 1.5, None]))


# ---------------------------------------------------------------------------------------------
# estimators moved into divergences (issue 12): kNN TV, mixture-sample kNN JSD, Scaled MMD, Gram MMD


def _knn_tv(xs, ys, k, seed):
    (x, _), (y, _) = xs, ys
    kind, v = outcome(lambda: dv.knn_tv(x, y, k, seed=seed), ("x", "y", "k", "seed"))
    if kind == "value":
        assert math.isfinite(as_float(v)) and -1.0 <= as_float(v) <= 1.0, v


def _knn_jsd_mixture(xs, ys, ms, k):
    (x, _), (y, _), (m, _) = xs, ys, ms
    kind, v = outcome(lambda: dv.knn_jsd_mixture(x, y, m, k=k), ("x", "y", "mixture", "k"))
    if kind == "value":
        assert math.isfinite(as_float(v)), v


def _smmd2(xs, ys, bw_rel):
    (x, mx), (y, my) = xs, ys
    bw = bw_rel * max(mx["scale"], my["scale"])
    kind, v = outcome(lambda: dv.smmd2(x, y, bandwidth=bw), ("x", "y", "bandwidth", "grad_sqnorm"))
    if kind == "value":
        assert math.isfinite(as_float(v)), v


def _mmd2_from_gram(xs, ys, estimator):
    (x, _), (y, _) = xs, ys
    def call():
        k = dv.kernels.get("gaussian", bandwidth=1.0)
        return dv.mmd2_from_gram(k.gram(x, x), k.gram(y, y), k.gram(x, y), estimator)
    kind, v = outcome(call, ("x", "y", "Kxx", "Kyy", "Kxy", "estimator"))
    if kind == "value":
        assert math.isfinite(as_float(v)), v


test_fuzz_knn_tv, test_fuzz_knn_tv_deep = fuzz(_knn_tv, samples(n_max=8), samples(n_max=8),
                                               st.sampled_from([1, 3, None, 0, 1.5, float("inf")]),
                                               st.sampled_from([0, 7, -1, 1.5, None]))
test_fuzz_knn_jsd_mixture, test_fuzz_knn_jsd_mixture_deep = fuzz(
    _knn_jsd_mixture, samples(n_max=7), samples(n_max=7), samples(n_max=7), st.sampled_from([1, 2, 0, 1.5, None]))
test_fuzz_smmd2, test_fuzz_smmd2_deep = fuzz(_smmd2, samples(), samples(), st.floats(0.3, 5.0))
test_fuzz_mmd2_from_gram, test_fuzz_mmd2_from_gram_deep = fuzz(_mmd2_from_gram, samples(), samples(),
                                                               st.sampled_from(["unbiased", "biased", "linear", "u"]))
