"""Edge cases of the chunked no-grad fast paths in divergences.discrete and inception_score.

The reference values use the autograd path (inputs with requires_grad=True take the original
masked-expression code), so each test compares two independent implementations.
"""

import math

import numpy as np
import pytest
import torch

import divergences as dv
from divergences import discrete as _disc


def _ref(fn, p, q):
    pt = torch.as_tensor(p, dtype=torch.float64).clone().requires_grad_(True)
    return fn(pt, torch.as_tensor(q, dtype=torch.float64)).detach().numpy()


def _batch(seed, n=300, k=700):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(k, 0.5), size=n)
    q = rng.dirichlet(np.full(k, 0.5), size=n)
    p[rng.random(p.shape) < 0.1] = 0
    q[rng.random(q.shape) < 0.001] = 0
    p[:, 0] = q[:, 0] = 0  # both-zero entries in every row (0 log 0 = 0, no NaN)
    return p / p.sum(-1, keepdims=True), q / q.sum(-1, keepdims=True)


@pytest.mark.parametrize("fn", [dv.kl, dv.jsd, dv.tv])
def test_fast_matches_reference_across_chunks(fn):
    p, q = _batch(0)  # 300 x 700 spans several chunks of _CHUNK elements
    assert p.size > _disc._CHUNK
    fast, ref = fn(p, q), _ref(fn, p, q)
    assert np.array_equal(np.isinf(fast), np.isinf(ref))
    f = np.isfinite(ref)
    # both sum ~K terms each with a few ulp of error: K * eps relative bound
    np.testing.assert_allclose(fast[f], ref[f], rtol=700 * 2.3e-16, atol=1e-300)
    assert not np.isnan(fast).any()


def test_kl_subnormal_q_is_finite_not_overflowed_inf():
    tiny = 5e-324
    p = np.array([[0.5, 0.5], [1.0, 0.0]])
    q = np.array([[1.0 - tiny, tiny], [tiny, 1.0 - tiny]])
    val = dv.kl(p, q)
    # p/q overflows (0.5 / 5e-324 > max float), but the exact value 0.5 log(0.5 / 5e-324) + ... is finite
    exact0 = 0.5 * math.log(0.5) + 0.5 * (math.log(0.5) - math.log(tiny))
    exact1 = -math.log(tiny)
    np.testing.assert_allclose(val, [exact0, exact1], rtol=1e-15)


def test_kl_true_zero_is_inf_and_jsd_disjoint_is_log2():
    p = np.array([[1.0, 0.0], [0.5, 0.5]])
    q = np.array([[0.0, 1.0], [0.5, 0.5]])
    assert np.array_equal(dv.kl(p, q), [math.inf, 0.0])
    np.testing.assert_allclose(dv.jsd(p, q), [math.log(2), 0.0], rtol=1e-15, atol=0)


@pytest.mark.parametrize("bad, msg", [(math.nan, "non-finite"), (math.inf, "non-finite"),
                                      (-0.25, "negative"), (0.7, "not normalised")])
@pytest.mark.parametrize("fn", [dv.kl, dv.jsd, dv.tv])
@pytest.mark.parametrize("which", ["p", "q"])
def test_fast_path_keeps_validation_messages(fn, bad, msg, which):
    p, q = _batch(1, n=200, k=400)
    x = p if which == "p" else q
    x[150, 3] = bad
    with pytest.raises(ValueError, match=f"{which}: .*{msg}"):
        fn(p, q)


def test_float32_fast_path_matches_float64():
    p, q = _batch(2, n=100, k=300)
    q = np.maximum(q, 1e-6)
    q /= q.sum(-1, keepdims=True)
    v32 = dv.kl(torch.tensor(p, dtype=torch.float32), torch.tensor(q, dtype=torch.float32))
    assert v32.dtype == torch.float32
    # float32 rounding of inputs and ~K terms: relative error bound ~ K * 2**-24 plus a
    # conditioning term; KL here is O(1), so an absolute bound of 300 * 6e-8 * max|term sum|
    np.testing.assert_allclose(v32.numpy(), dv.kl(p, q), rtol=0, atol=300 * 6e-8 * 20)


def test_inception_score_fast_matches_reference_and_rejects_nonfinite():
    g = torch.Generator().manual_seed(3)
    z = torch.randn(2000, 50, generator=g, dtype=torch.float64) * 3
    fast = dv.inception_score(z, splits=7)
    ref = dv.inception_score(z.clone().requires_grad_(True), splits=7)
    ref = type(ref)(ref.mean.detach(), ref.std.detach())
    # the entropy form differs from the reference by a few ulp of log C in log IS
    assert abs(float(fast.mean) - float(ref.mean)) <= 1e-13 * float(ref.mean)
    assert abs(float(fast.std) - float(ref.std)) <= 1e-10 * float(ref.mean)
    probs = torch.softmax(z, dim=1)
    fp = dv.inception_score(probs, splits=7, from_logits=False)
    assert abs(float(fp.mean) - float(ref.mean)) <= 1e-12 * float(ref.mean)
    z[5, 2] = math.nan
    with pytest.raises(ValueError, match="logits: .*non-finite"):
        dv.inception_score(z)
    probs[5, 2] = 2.0
    with pytest.raises(ValueError, match="logits: "):
        dv.inception_score(probs, from_logits=False)
