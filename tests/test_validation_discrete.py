"""Bad input raises ValueError naming the argument and the problem (the contract in CONTRIBUTING.md, "Layout").

Covers the foundation modules: discrete, fdiv, gaussian, continuous, gan_objective.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import divergences as dv

P = np.array([0.2, 0.3, 0.5])
Q = np.array([0.5, 0.25, 0.25])
I2 = np.eye(2)
Z2 = np.zeros(2)
N01 = dv.continuous.gaussian_mixture([1.0], [0.0], [1.0])

CASES = [
    # discrete: probability vectors
    ("p NaN", lambda: dv.kl([0.5, math.nan, 0.5], Q), r"^p: contains non-finite"),
    ("q inf", lambda: dv.jsd(P, [0.5, math.inf, 0.5]), r"^q: contains non-finite"),
    ("p negative", lambda: dv.tv([1.2, -0.2, 0.0], Q), r"^p: has negative probabilities"),
    ("q unnormalised", lambda: dv.kl(P, [0.5, 0.5, 0.5]), r"^q: is not normalised"),
    ("p scalar", lambda: dv.kl(1.0, Q), r"^p: must have at least one axis"),
    ("p empty", lambda: dv.jsd(np.zeros(0), np.zeros(0)), r"^p: is empty"),
    ("K mismatch", lambda: dv.kl(P, [0.5, 0.5]), r"^p, q: last axes differ"),
    ("batch mismatch", lambda: dv.jsd(np.tile(P, (2, 1)), np.tile(Q, (3, 1))), r"^p, q: leading \(batch\) shapes"),
    ("p not numeric", lambda: dv.kl(["a", "b"], [0.5, 0.5]), r"^p: could not be converted"),
    ("float32 unnormalised", lambda: dv.kl(torch.tensor([0.5, 0.49], dtype=torch.float32),
                                           torch.tensor([0.5, 0.5])), r"^p: is not normalised"),
    ("f_divergence name", lambda: dv.f_divergence(P, Q, "chi2"), r"^name: unknown value 'chi2'"),
    ("f_divergence params", lambda: dv.f_divergence(P, Q, "kl", alpha=2.0), r"^params: 'kl' takes no parameters"),
    # fdiv registry
    ("get unknown", lambda: dv.fdiv.get("hellinger"), r"^name: unknown value"),
    ("alpha missing", lambda: dv.fdiv.get("alpha"), r"^params: 'alpha' takes exactly one parameter"),
    ("alpha extra", lambda: dv.fdiv.get("alpha", alpha=2.0, beta=1.0), r"^params: 'alpha' takes exactly one"),
    ("alpha = 1", lambda: dv.fdiv.get("alpha", alpha=1.0), r"^alpha: must be finite and not 0 or 1"),
    ("alpha = 0", lambda: dv.fdiv.get("alpha", alpha=0), r"^alpha: must be finite and not 0 or 1"),
    ("alpha inf", lambda: dv.fdiv.get("alpha", alpha=math.inf), r"^alpha: must be finite"),
    ("alpha NaN", lambda: dv.fdiv.get("alpha", alpha=math.nan), r"^alpha: must be finite"),
    ("alpha string", lambda: dv.fdiv.get("alpha", alpha="two"), r"^alpha: must be a number"),
    ("symbolic unknown", lambda: dv.fdiv.symbolic_conjugate("nope"), r"^name: unknown value"),
    # gaussian
    ("S0 not square", lambda: dv.gaussian.kl(Z2, np.ones((2, 3)), Z2, I2), r"^S0: covariance must have shape"),
    ("S1 not symmetric", lambda: dv.gaussian.w2(Z2, I2, Z2, [[1.0, 0.5], [0.0, 1.0]]), r"^S1: covariance is not symmetric"),
    ("S0 not PSD", lambda: dv.gaussian.mmd2(Z2, [[1.0, 2.0], [2.0, 1.0]], Z2, I2, 1.0), r"^S0: covariance is not positive semi-definite"),
    ("m1 NaN", lambda: dv.gaussian.kl(Z2, I2, [0.0, math.nan], I2), r"^m1: contains non-finite"),
    ("S1 inf", lambda: dv.gaussian.kl(Z2, I2, Z2, [[1.0, 0.0], [0.0, math.inf]]), r"^S1: contains non-finite"),
    ("dim mismatch", lambda: dv.gaussian.kl(np.zeros(3), I2, Z2, I2), r"^m0, S0: dimension mismatch"),
    ("gaussians differ", lambda: dv.gaussian.w2(Z2, I2, np.zeros(3), np.eye(3)), r"^m0, S0, m1, S1: the two Gaussians have different dimensions"),
    ("scalar mean, matrix cov", lambda: dv.gaussian.kl(0.0, I2, Z2, I2), r"^m0: mean must have shape"),
    ("empty mean", lambda: dv.gaussian.kl(np.zeros(0), np.zeros((0, 0)), np.zeros(0), np.zeros((0, 0))), r"^m0: is empty"),
    ("batch shapes", lambda: dv.gaussian.kl(np.zeros((2, 2)), I2, np.zeros((3, 2)), I2), r"^m0, S0, m1, S1: batch shapes do not broadcast"),
    ("both singular", lambda: dv.gaussian.kl(Z2, np.diag([1.0, 0.0]), Z2, np.diag([0.0, 1.0])), r"^S0, S1: both covariances are singular"),
    ("bandwidth 0", lambda: dv.gaussian.mmd2(Z2, I2, Z2, I2, bandwidth=0.0), r"^bandwidth: must be finite and > 0"),
    ("bandwidth NaN", lambda: dv.gaussian.mmd2(Z2, I2, Z2, I2, bandwidth=math.nan), r"^bandwidth: must be finite"),
    ("sample n", lambda: dv.gaussian.sample(Z2, I2, 0, seed=0), r"^n: must be a positive int"),
    ("sample seed", lambda: dv.gaussian.sample(Z2, I2, 3, seed=1.5), r"^seed: must be an int or a torch.Generator"),
    ("sample batch", lambda: dv.gaussian.sample(np.zeros((2, 2)), I2, 3, seed=0), r"^m, S: sample draws from one Gaussian"),
    ("pushforward A", lambda: dv.gaussian.pushforward(np.ones((2, 3)), Z2, I2), r"^A: must have shape \(k, 2\)"),
    ("pushforward b", lambda: dv.gaussian.pushforward(I2, Z2, I2, b=np.zeros(3)), r"^b: must have shape \(2,\)"),
    ("pushforward A NaN", lambda: dv.gaussian.pushforward([[math.nan, 0.0], [0.0, 1.0]], Z2, I2), r"^A: contains non-finite"),
    # continuous
    ("p not callable", lambda: dv.continuous.f_divergence(P, N01, "kl"), r"^p: must be a callable density"),
    ("q not callable", lambda: dv.continuous.f_divergence(N01, 3.0, "kl"), r"^q: must be a callable density"),
    ("negative density", lambda: dv.continuous.f_divergence(N01, lambda x: -1.0, "kl"), r"^q: density returned an invalid value"),
    ("NaN log-density", lambda: dv.continuous.f_divergence(lambda x: math.nan, N01, "kl", log_density=True), r"^p: log-density returned an invalid value"),
    ("bounds", lambda: dv.continuous.f_divergence(N01, N01, "kl", lower=1.0, upper=0.0), r"^lower, upper: need lower < upper"),
    ("continuous name", lambda: dv.continuous.f_divergence(N01, N01, "kll"), r"^name: unknown value"),
    ("mixture weights", lambda: dv.continuous.gaussian_mixture([0.5, 0.6], [0, 1], [1, 1]), r"^weights: must be >= 0 and sum to 1"),
    ("mixture stds", lambda: dv.continuous.gaussian_mixture([1.0], [0.0], [0.0]), r"^stds: must be > 0"),
    ("mixture lengths", lambda: dv.continuous.gaussian_mixture([1.0], [0.0, 1.0], [1.0]), r"^weights, means, stds: lengths differ"),
    ("mixture NaN", lambda: dv.continuous.mixture_moments([1.0], [math.nan], [1.0]), r"^means: contains non-finite"),
    ("mixture empty", lambda: dv.continuous.mixture_moments([], [], []), r"^weights: is empty"),
    # gan objective
    ("D* negative", lambda: dv.gan_objective.optimal_discriminator([-0.1, 0.2], [0.2, 0.2]), r"^p: density values must be >= 0"),
    ("D* NaN", lambda: dv.gan_objective.optimal_discriminator([0.1, 0.2], [math.nan, 0.2]), r"^q: contains non-finite"),
    ("D* shapes", lambda: dv.gan_objective.optimal_discriminator(np.ones(3), np.ones(2)), r"^p, q: shapes .* do not broadcast"),
    ("V d range", lambda: dv.gan_objective.gan_value(P, Q, [0.5, 1.2, 0.5]), r"^d: discriminator values must lie in \[0, 1\]"),
    ("V weights", lambda: dv.gan_objective.gan_value(P, Q, [0.5] * 3, weights="quarter"), r"^weights: unknown value"),
    ("V shapes", lambda: dv.gan_objective.gan_value(P, Q, [0.5, 0.5]), r"^p, q, d: shape mismatch"),
    ("V p unnormalised", lambda: dv.gan_objective.gan_value([0.2, 0.2, 0.2], Q, [0.5] * 3), r"^p: is not normalised"),
    ("optimal_value weights", lambda: dv.gan_objective.optimal_value(P, Q, weights="x"), r"^weights: unknown value"),
    ("quadrature p", lambda: dv.gan_objective.value_at_optimum_quadrature(None, N01), r"^p: must be a callable density"),
    ("quadrature values", lambda: dv.gan_objective.value_at_optimum_quadrature(N01, lambda x: -1.0), r"^p, q: invalid density values"),
    ("ell var", lambda: dv.gan_objective.gaussian_expected_log_likelihood(0.0, 1.0, 0.0, 0.0), r"^var: variances must be > 0"),
    ("ell var_p", lambda: dv.gan_objective.gaussian_expected_log_likelihood(0.0, -1.0, 0.0, 1.0), r"^mean_p, var_p: need finite"),
    ("ml empty", lambda: dv.gan_objective.gaussian_ml_fit([]), r"^x: is empty"),
    ("ml NaN", lambda: dv.gan_objective.gaussian_ml_fit([1.0, math.nan]), r"^x: contains non-finite"),
]


@pytest.mark.parametrize(("label", "call", "pattern"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_value_error_naming_the_argument(label, call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_probability_tolerance_is_the_documented_one():
    # float64: |sum - 1| <= 1e-6 is accepted, 1e-5 is not
    ok = np.array([0.5, 0.5 + 9e-7])
    assert math.isfinite(dv.kl(ok, np.array([0.5, 0.5])))
    with pytest.raises(ValueError, match=r"^p: is not normalised .* tolerance 1e-06"):
        dv.kl(np.array([0.5, 0.5 + 1e-5]), np.array([0.5, 0.5]))
    # float32: 1e-4
    ok32 = torch.tensor([0.5, 0.50005], dtype=torch.float32)
    assert torch.isfinite(dv.kl(ok32, torch.tensor([0.5, 0.5], dtype=torch.float32)))


def test_no_silent_nan_at_the_boundaries():
    """Zeros are valid input and give exact limits, never NaN."""
    p = np.array([1.0, 0.0])
    q = np.array([0.0, 1.0])
    for name in dv.fdiv.names():
        kw = {"alpha": 2.0} if name == "alpha" else {}
        v = dv.f_divergence(p, q, name, **kw)
        assert not math.isnan(v)
    assert dv.gan_objective.gan_value(p, q, [1.0, 0.0]) == 0.0
