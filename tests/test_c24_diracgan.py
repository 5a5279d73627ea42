"""DiracGAN (claim C24; MMD/SMMD extensions C21, C22) in the paper's coordinates, against an independent oracle.

Coordinates.  :mod:`gans.dirac` takes and returns Mescheder, Geiger & Nowozin (2018)'s
coordinates: ``theta`` (generator ``p_theta = delta_theta``, data ``delta_0``) and their ``psi``
(critic ``D_psi(x) = psi x``, large on *fake* data).  The oracle below is written in those
coordinates, from the paper, without calling the code under test (which obtains its field by
autograd through :mod:`gans.losses`, in the project's convention ``psi_project = -psi``).

Facts and where they come from.

* Mescheder et al. 2018, Sec. 2 (DiracGAN) and Sec. 3 (regularisers):
  ``L(theta, psi) = f(psi theta) + f(0)``, ``f(t) = -log(1 + e^{-t})`` (GAN), ``f(t) = t``
  (WGAN); the generator descends and the critic ascends, ``v = (-dL/dtheta, dL/dpsi)
  = (-psi f'(psi theta), theta f'(psi theta))``; ``f'(t) = 1/(1 + e^t)``,
  ``f''(t) = -f'(t) f'(-t)``.  Non-saturating GAN: the generator ascends ``f(-psi theta)``,
  ``v_theta = -psi f'(-psi theta)``.  WGAN-GP: the critic's objective gets
  ``-gamma/2 (|grad_x D| - g0)^2 = -gamma/2 (|psi| - g0)^2``.  R1 / R2: ``-gamma/2 ||grad_x D||^2
  = -gamma/2 psi^2`` (on real resp. generated data; equal here because ``grad_x D = psi``).
  Instance noise: ``N(0, sigma^2)`` noise on real and generated samples,
  ``L = E f(psi (theta + e1)) + E f(-psi e2)``.
* Consensus optimisation (Mescheder, Nowozin & Geiger 2017, as used in the 2018 paper):
  ``w = v - gamma grad(1/2 ||v||^2)``; for the GAN ``1/2 ||v||^2 = 1/2 (theta^2 + psi^2) f'(u)^2``.
* The authors' notebook (GAN_stability repository, ``notebooks/DiracGAN.ipynb`` and
  ``notebooks/diracgan/{gans,simulate}.py``), read for facts only: ``h = 0.2`` for both players,
  start ``(theta, psi) = (1, 1)``, 500 steps; simultaneous GD steps both players from the same
  point; alternating GD takes ONE generator step first, then ``n_d`` (1 or 5) critic steps, each
  recomputing the field, all with step ``h``; WGAN's clipping ``psi <- clip(psi, -c, c)`` is
  applied after every update; settings WGAN ``c = 1``, WGAN-GP ``gamma = 0.7, g0 = 1``, instance
  noise ``sigma = 0.7``, R1 ``gamma = 0.3`` and the critical ``gamma = 1``, consensus
  ``gamma = 1``, NSGAN + R1 ``gamma = 0.3``.  The final distances ``||(theta, psi)||`` after 500
  steps that the notebook's own code produces (run separately, printed to 12 digits) are the
  constants in :data:`NOTEBOOK_FINAL_DISTANCE`.
* Where we deliberately differ from the notebook: its instance noise draws 1000 fresh Gaussian
  samples per field evaluation (we and the oracle use the same deterministic 64-node rule,
  :func:`gans.dirac.noise_nodes`); its consensus term weights the ``f' f''`` part by 1/2, which
  is not ``grad 1/2 ||v||^2`` (we follow the definition; the Jacobian at (0, 0) is the same).

Tolerances (floating-point error bounds, unit roundoff ``u = 2^-53``).  A field component is a
sum of at most 8 terms, each a product of at most 4 factors of size ``<= 1 + ||x||_1`` (times
``1 + gamma``) and one sigmoid/exponential; each of the <= 16 operations adds relative error
``<= u`` (libm/torch ``exp``, ``log1p``: a few ulp), and the sigmoid/Gaussian argument error
``u |t|`` is amplified by the condition number ``<= 1 + |t|^2`` with ``t = psi theta``.  So each
implementation's error is ``<= 32 u (1 + t^2)(1 + ||x||_1)^4 (1 + gamma)`` per node
(:func:`field_tol`, twice that for the two implementations; times the node count for instance
noise).  Trajectories: with ``e_k`` the distance between the two computed iterates and
``delta_k`` the rounding of one step in both (field error times ``h`` plus ``4 u (|x| + h|v|)``
per sub-step), first-order error propagation gives ``e_{k+1} <= D Phi(x_k) e_k + delta_k``, i.e.
``e_k <= sum_{j<k} ||D Phi(x_{k-1}) ... D Phi(x_{j+1})||_2 delta_j``, where ``D Phi`` is the
Jacobian of the oracle's step map (central differences, whose ``O(eta^2)`` error is negligible
against ``||D Phi|| ~ 1``; second-order terms are ``O(e_k^2)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch

from gans import dirac, losses
from gans.step import alternating_step, joint_gradients, simultaneous_step

U = np.finfo(float).eps / 2  # unit roundoff
H, START, STEPS = 0.2, (1.0, 1.0), 500

# ||(theta, psi)|| after 500 steps, h = 0.2, start (1, 1), from the authors' notebook code (see module docstring)
NOTEBOOK_FINAL_DISTANCE = {
    ("gan", "simultaneous"): 3.096948667, ("gan", "alternating_1"): 1.42101886916,
    ("gan", "alternating_5"): 1.84527356359,
    ("nsgan", "simultaneous"): 0.640207081173, ("nsgan", "alternating_1"): 0.283923417118,
    ("nsgan", "alternating_5"): 0.138876653555,
    ("wgan", "simultaneous"): 1.0021520405, ("wgan", "alternating_1"): 1.0241188668,
    ("wgan", "alternating_5"): 0.916884716605,
    ("wgan_gp", "simultaneous"): 1.80179319316, ("wgan_gp", "alternating_1"): 1.22106663144,
    ("wgan_gp", "alternating_5"): 0.716300886902,
}


# ---------------------------------------------------------------------------------------------
# the oracle: closed-form fields in the paper's coordinates
# ---------------------------------------------------------------------------------------------
def fp(t: np.ndarray | float) -> np.ndarray | float:
    """``f'(t) = 1 / (1 + e^t)`` for ``f(t) = -log(1 + e^{-t})``, evaluated without overflow."""
    t = np.asarray(t, dtype=float)
    e = np.exp(-np.abs(t))
    return np.where(t > 0, e / (1 + e), 1 / (1 + e))


def fpp(t: np.ndarray | float) -> np.ndarray | float:
    """``f''(t) = -f'(t) f'(-t)``."""
    return -fp(t) * fp(-t)


def paper_field(spec: dirac.DiracMethod, th: float, ps: float) -> np.ndarray:
    """The DiracGAN field ``v(theta, psi)`` of Mescheder et al. (2018) in their coordinates."""
    n, u = spec.name, ps * th
    if n in ("gan", "r1", "r2"):
        v = np.array([-ps * fp(u), th * fp(u)])
    elif n in ("nsgan", "nsgan_r1"):
        v = np.array([-ps * fp(-u), th * fp(u)])
    elif n == "wgan":
        v = np.array([-ps, th])
    elif n == "wgan_gp":
        v = np.array([-ps, th - spec.gamma * (abs(ps) - 1.0) * np.sign(ps)])
    elif n == "consensus":
        a, b = fp(u), fpp(u)
        grad_half_sq = np.array([th * a * a + (th * th + ps * ps) * ps * a * b,
                                 ps * a * a + (th * th + ps * ps) * th * a * b])
        v = np.array([-ps * a, th * a]) - spec.gamma * grad_half_sq
    elif n == "instance_noise":
        e = dirac.noise_nodes(spec.noise_points).numpy()[:, 0]  # the shared quadrature rule
        fake, real = th + spec.sigma * e, spec.sigma * e
        v = np.array([np.mean(-ps * fp(ps * fake)),
                      np.mean(fake * fp(ps * fake)) - np.mean(real * fp(-ps * real))])
    elif n in ("mmd", "smmd"):
        # C21/C22: Gaussian kernel (bandwidth 1) on features psi x of delta_0 and delta_theta:
        # M = 2 - 2 exp(-u^2/2); the critic ascends M (SMMD: M / (lam + 1 + psi^2)), the generator descends.
        g = math.exp(-u * u / 2)
        M, dM_dth, dM_dps = 2 - 2 * g, 2 * g * u * ps, 2 * g * u * th
        if n == "mmd":
            v = np.array([-dM_dth, dM_dps])
        else:
            A = spec.lam + 1 + ps * ps
            v = np.array([-dM_dth / A, dM_dps / A - M * 2 * ps / A ** 2])
    else:  # pragma: no cover
        raise AssertionError(n)
    if n in ("r1", "r2", "nsgan_r1"):
        v[1] -= spec.gamma * ps
    return v


def field_tol(spec: dirac.DiracMethod, th: float, ps: float) -> float:
    """Bound on ``|v_ours - v_oracle|`` per component (module docstring, "Tolerances")."""
    gamma = spec.gamma if spec.gamma is not None else 0.0
    sigma = spec.sigma if spec.sigma is not None else 0.0
    t = abs(ps) * (abs(th) + 4 * sigma)  # largest |psi * sample| (quantile nodes |e| < 4 for n = 64)
    nodes = spec.noise_points if spec.name == "instance_noise" else 1
    size = 1 + abs(th) + abs(ps) + 4 * sigma
    return 2 * 32 * U * (1 + t * t) * size ** 4 * (1 + gamma) * nodes


Step = Callable[[np.ndarray], tuple[np.ndarray, float]]


def oracle_step(spec: dirac.DiracMethod, scheme: str, h: float = H) -> Step:
    """The notebook's update rule on the oracle field; returns the new point and its rounding bound."""
    clip = spec.clip if spec.name == "wgan" else None

    def project(x: np.ndarray) -> np.ndarray:
        return x if clip is None else np.array([x[0], min(max(x[1], -clip), clip)])

    def rounding(x: np.ndarray, v: np.ndarray) -> float:
        return h * field_tol(spec, *x) + 4 * U * (np.abs(x).max() + h * np.abs(v).max())

    def step(x: np.ndarray) -> tuple[np.ndarray, float]:
        v = paper_field(spec, *x)
        if scheme == "simultaneous":
            return project(x + h * v), rounding(x, v)
        n_d = int(scheme.split("_")[1])
        delta = rounding(x, v)
        y = project(np.array([x[0] + h * v[0], x[1]]))   # one generator step first
        for _ in range(n_d):                             # then n_d critic steps
            w = paper_field(spec, *y)
            delta += rounding(y, w)
            y = project(np.array([y[0], y[1] + h * w[1]]))
        return y, delta

    return step


def oracle_trajectory(step: Step, start: tuple[float, float] = START,
                      steps: int = STEPS) -> tuple[np.ndarray, np.ndarray]:
    """Oracle iterates ``(steps + 1, 2)`` and the bound ``e_k`` on their distance to ours (module docstring).

    First-order propagation of the per-step rounding ``delta_j``:
    ``e_k = sum_{j < k} ||D Phi(x_{k-1}) ... D Phi(x_{j+1})||_2 delta_j`` (products of the step
    map's Jacobians, not products of their norms, which overestimate non-normal maps by orders of magnitude).
    """
    x = np.array(start, dtype=float)
    out, bound = np.empty((steps + 1, 2)), np.zeros(steps + 1)
    out[0] = x
    prods, deltas = np.empty((0, 2, 2)), np.empty(0)
    for k in range(steps):
        eta = 1e-5 * (1 + np.abs(x).max())
        cols = [(step(x + eta * d)[0] - step(x - eta * d)[0]) / (2 * eta) for d in np.eye(2)]
        jac = np.stack(cols, axis=1)
        x, delta = step(x)
        out[k + 1] = x
        prods = np.concatenate([jac @ prods, np.eye(2)[None]])  # the new error delta_k enters after this step
        deltas = np.append(deltas, delta)
        bound[k + 1] = float(np.sum(np.linalg.norm(prods, ord=2, axis=(1, 2)) * deltas))
    return out, bound


METHODS = dirac.default_methods()


def _id(m: dirac.DiracMethod) -> str:
    params = [f"{k}{getattr(m, k):g}" for k in ("gamma", "sigma", "clip", "lam") if getattr(m, k) is not None]
    return "-".join([m.name] + params)


IDS = [_id(m) for m in METHODS]
DISCRETE = ("simultaneous", "alternating_1", "alternating_5")


# ---------------------------------------------------------------------------------------------
# fields and Jacobians in the paper's coordinates
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", METHODS, ids=IDS)
def test_c24_field_equals_the_papers_closed_form(spec: dirac.DiracMethod, rng: np.random.Generator) -> None:
    system = dirac.DiracSystem(spec)
    for th, ps in rng.uniform(-2, 2, size=(8, 2)):
        got = system.field(torch.tensor([th, ps], dtype=torch.float64)).numpy()
        want = paper_field(spec, th, ps)
        assert np.all(np.abs(got - want) <= field_tol(spec, th, ps)), (th, ps, got, want)


def test_c24_the_boundary_is_psi_to_minus_psi_on_the_project_losses(rng: np.random.Generator) -> None:
    # the project's loss code (critic large on real) evaluated directly at psi_project = -psi, with the critic
    # row negated, is the paper's field at psi: the only conversion between the two conventions.
    loss = losses.build({"name": "gan"})
    zeros = torch.zeros(2, 1, dtype=torch.float64)
    system = dirac.DiracSystem(dirac.method("gan"))
    for th, ps in rng.uniform(-2, 2, size=(5, 2)):
        G, D = dirac.DiracGenerator(th), dirac.DiracCritic(-ps)
        g, d, _ = joint_gradients(G, D, loss, zeros, zeros)
        v_project = -np.array([g[0].item(), d[0].item()])
        got = system.field((th, ps)).numpy()
        np.testing.assert_array_equal(got, [v_project[0], -v_project[1]])
        assert np.all(np.abs(got - paper_field(dirac.method("gan"), th, ps)) <= field_tol(dirac.method("gan"), th, ps))


@pytest.mark.parametrize("spec,J0", [
    (dirac.method("gan"), [[0.0, -0.5], [0.5, 0.0]]),
    (dirac.method("wgan"), [[0.0, -1.0], [1.0, 0.0]]),
    (dirac.method("r1", gamma=0.3), [[0.0, -0.5], [0.5, -0.3]]),
    (dirac.method("consensus", gamma=1.0), [[-0.25, -0.5], [0.5, -0.25]]),
    (dirac.method("instance_noise", sigma=0.7), [[0.0, -0.5], [0.5, -0.49 / 2]]),
], ids=lambda p: _id(p) if isinstance(p, dirac.DiracMethod) else None)
def test_c24_jacobian_at_the_equilibrium_in_paper_coordinates(spec: dirac.DiracMethod, J0: list) -> None:
    # Mescheder et al. 2018: J = [[0, -f'(0)], [f'(0), 0]] (+ [[0, 0], [0, -gamma]] for R1,
    # + [[0, 0], [0, 2 sigma^2 f''(0)]] for instance noise, f'' (0) = -1/4; consensus J - gamma J^T J, J^T J = I/4);
    # the project's convention would have the off-diagonal signs flipped.  Entries are O(1) sums of <= 64 terms.
    J = dirac.DiracSystem(spec).jacobian((0.0, 0.0))
    np.testing.assert_allclose(J, J0, rtol=0, atol=64 * 8 * U)


@pytest.mark.parametrize("spec", METHODS, ids=IDS)
def test_c24_symbolic_and_numeric_eigenvalues_agree(spec: dirac.DiracMethod) -> None:
    num, reason_n = dirac.numeric_eigenvalues(spec)
    sym, reason_s = dirac.symbolic_eigenvalues(spec)
    if spec.name == "wgan_gp":
        assert np.all(np.isnan(num.real)) and np.all(np.isnan(sym.real))
        assert reason_n and "not differentiable" in reason_n and reason_s == reason_n
    else:
        assert reason_n is None and reason_s is None
        np.testing.assert_allclose(num, sym, atol=1e-12)


def test_c24_symbolic_field_is_in_paper_coordinates(rng: np.random.Generator) -> None:
    import sympy as sp

    for spec in (dirac.method("gan"), dirac.method("nsgan"), dirac.method("wgan_gp"), dirac.method("consensus")):
        v, (th, ps), _ = dirac.symbolic_field(spec)
        f = sp.lambdify((th, ps), v, "numpy")
        for a, b in rng.uniform(-2, 2, size=(3, 2)):
            got = np.asarray(f(a, b), dtype=float).ravel()
            assert np.all(np.abs(got - paper_field(spec, a, b)) <= field_tol(spec, a, b)), (spec.name, a, b)


def test_c24_wgan_gp_field_jumps_at_psi_zero() -> None:
    # the reason the Jacobian is undefined: one-sided limits of the critic component differ by 2 gamma g0
    system = dirac.DiracSystem(dirac.method("wgan_gp", gamma=0.7))
    up = system.field(torch.tensor([0.0, 1e-9], dtype=torch.float64))[1].item()
    down = system.field(torch.tensor([0.0, -1e-9], dtype=torch.float64))[1].item()
    assert up - down == pytest.approx(2 * 0.7, abs=1e-8)


@pytest.mark.parametrize("name,expected", [("gan", 0.5), ("nsgan", 0.5), ("wgan", 1.0)])
def test_c24_unregularised_eigenvalues_are_pure_imaginary(name: str, expected: float) -> None:
    # J = [[0, -f'(0)], [f'(0), 0]]: eigenvalues +- i f'(0), f'(0) = 1/2 (GAN) or 1 (WGAN)
    ev, _ = dirac.numeric_eigenvalues(dirac.method(name))
    np.testing.assert_allclose(ev, [1j * expected, -1j * expected], atol=1e-14)


@pytest.mark.parametrize("spec", [dirac.method("r1", gamma=0.3), dirac.method("r1", gamma=1.0),
                                  dirac.method("r1", gamma=1.7), dirac.method("r2", gamma=0.3),
                                  dirac.method("nsgan_r1", gamma=0.3), dirac.method("consensus", gamma=1.0),
                                  dirac.method("instance_noise", sigma=0.7)],
                         ids=_id)
def test_c24_regularised_eigenvalues_have_negative_real_parts(spec: dirac.DiracMethod) -> None:
    # closed forms (f'(0) = 1/2, f''(0) = -1/4):
    #   R1/R2 gamma:      lambda^2 + gamma lambda + 1/4 = 0
    #   consensus gamma:  -gamma/4 +- i/2                  (J - gamma J^T J, J^T J = I/4)
    #   instance noise:   lambda^2 - 2 f''(0) sigma^2 lambda + f'(0)^2 = lambda^2 + sigma^2/2 lambda + 1/4 = 0
    ev, _ = dirac.numeric_eigenvalues(spec)
    if spec.name == "consensus":
        truth = np.array([-spec.gamma / 4 + 0.5j, -spec.gamma / 4 - 0.5j])
    else:
        b = spec.gamma if spec.name != "instance_noise" else spec.sigma ** 2 / 2
        truth = np.roots([1.0, b, 0.25]).astype(complex)
    np.testing.assert_allclose(sorted(ev, key=lambda z: (z.real, z.imag)),
                               sorted(truth, key=lambda z: (z.real, z.imag)), atol=1e-7)
    assert np.all(ev.real < 0)


# ---------------------------------------------------------------------------------------------
# trajectories from the paper's start (1, 1)
# ---------------------------------------------------------------------------------------------
def _check_trajectory(spec: dirac.DiracMethod, scheme: str) -> tuple[np.ndarray, np.ndarray]:
    """Ours against the oracle, iterate by iterate; returns our trajectory and the bound."""
    ours = dirac.trajectory(spec, scheme, START, H, STEPS)
    ref, bound = oracle_trajectory(oracle_step(spec, scheme))
    assert np.all(np.isfinite(bound))
    err = np.abs(ours - ref).max(axis=1)
    assert np.all(err <= bound), f"first violation at step {int(np.argmax(err > bound))}: {err.max()} vs bound"
    assert abs(np.hypot(*ours[-1]) - np.hypot(*ref[-1])) <= math.sqrt(2) * bound[-1]
    return ours, bound


@pytest.mark.parametrize("name", ["gan", "nsgan", "wgan", "wgan_gp"])
@pytest.mark.parametrize("scheme", DISCRETE)
def test_c24_trajectory_matches_the_oracle_and_the_notebook(name: str, scheme: str) -> None:
    # oracle: iterate by iterate within the propagated rounding bound; notebook: final distance printed to
    # 12 significant digits (rounding <= 5e-12 relative) plus the same propagated bound.
    spec = dirac.method(name)
    ours, bound = _check_trajectory(spec, scheme)
    nb = NOTEBOOK_FINAL_DISTANCE[(name, scheme)]
    assert abs(np.hypot(*ours[-1]) - nb) <= math.sqrt(2) * bound[-1] + 5e-12 * nb + 4 * U


@pytest.mark.slow
@pytest.mark.parametrize("spec", [m for m in METHODS if m.name not in ("gan", "nsgan", "wgan", "wgan_gp")],
                         ids=[i for m, i in zip(METHODS, IDS) if m.name not in ("gan", "nsgan", "wgan", "wgan_gp")])
@pytest.mark.parametrize("scheme", DISCRETE)
def test_c24_regularised_trajectories_match_the_oracle(spec: dirac.DiracMethod, scheme: str) -> None:
    _check_trajectory(spec, scheme)


def test_c24_simultaneous_gd_on_the_gan_moves_away_every_step() -> None:
    # x.v = 0 for the GAN field, so ||x + h v||^2 = ||x||^2 + h^2 ||v||^2 > ||x||^2 at every step
    traj = dirac.trajectory(dirac.method("gan"), "simultaneous", START, H, 150)
    d = np.hypot(traj[:, 0], traj[:, 1])
    assert np.all(np.diff(d) > 0)


def test_c24_alternating_gd_on_the_wgan_keeps_its_invariant() -> None:
    # paper coordinates, generator first: theta' = theta - h psi, psi' = psi + h theta' conserves
    # H = theta^2 + psi^2 - h theta psi, so (1 - h/2) ||x||^2 <= H0 <= (1 + h/2) ||x||^2 (no convergence).
    # In the project's convention (psi -> -psi) the invariant would be theta^2 + psi^2 + h theta psi instead.
    h = 0.2
    spec = dirac.method("wgan", clip=1e6)  # the bilinear game without an active constraint
    traj = dirac.trajectory(spec, "alternating_1", START, h, 500)
    Hk = traj[:, 0] ** 2 + traj[:, 1] ** 2 - h * traj[:, 0] * traj[:, 1]
    np.testing.assert_allclose(Hk, Hk[0], rtol=1e-12)
    assert Hk[0] == pytest.approx(1.8, abs=4 * U)
    d = np.hypot(traj[:, 0], traj[:, 1])
    assert d.max() <= math.sqrt(Hk[0] / (1 - h / 2)) + 1e-12
    assert d.min() >= math.sqrt(Hk[0] / (1 + h / 2)) - 1e-12
    assert not dirac.converged(traj)


def test_c24_alternating_gd_on_the_gan_stays_bounded_but_does_not_converge() -> None:
    # GAN alternating 1:1 circles: the distance stays within [d0/2, 2 d0] for 500 steps and the convergence rule
    # fails; the same band is left by simultaneous GD (spirals out) and by R1 (converges): the check discriminates.
    d0 = math.sqrt(2)

    def band(traj: np.ndarray) -> bool:
        d = np.hypot(traj[:, 0], traj[:, 1])
        return bool(np.all((d >= d0 / 2) & (d <= 2 * d0)))

    alt = dirac.trajectory(dirac.method("gan"), "alternating_1", START, H, 500)
    assert band(alt) and not dirac.converged(alt)
    assert not band(dirac.trajectory(dirac.method("gan"), "simultaneous", START, H, 500))
    assert not band(dirac.trajectory(dirac.method("r1", gamma=0.3), "alternating_1", START, H, 500))


@pytest.mark.parametrize("spec", [dirac.method("r1", gamma=0.3), dirac.method("r1", gamma=1.0),
                                  dirac.method("consensus", gamma=1.0)], ids=_id)
def test_c24_r1_and_consensus_converge(spec: dirac.DiracMethod) -> None:
    # linearised contraction factor rho = max |1 + h lambda| < 1; after 500 steps rho^500 d0 is far below 1e-3
    ev, _ = dirac.numeric_eigenvalues(spec)
    rho = np.max(np.abs(1 + H * ev))
    assert rho < 1 and rho ** 500 * math.sqrt(2) < 1e-4
    traj = dirac.trajectory(spec, "simultaneous", START, H, 500)
    assert np.hypot(*traj[-1]) < 1e-3
    assert dirac.converged(traj)


def test_c24_continuous_flow_of_the_wgan_is_the_papers_rotation() -> None:
    # paper coordinates: theta' = -psi, psi' = theta from (1, 1) (clip c = 1 first binds at t = 0, where psi' = 1 > 0):
    # with clipping psi stays at 1 while theta' = -1 and theta decreases to 0 at t = 1 = step 5 (h = 0.2),
    # tolerance from the integrator's rtol 1e-8 / atol 1e-10 over 5 steps.
    traj = dirac.trajectory(dirac.method("wgan"), "continuous", START, H, 5)
    np.testing.assert_allclose(traj[:, 1], 1.0, atol=1e-7)
    np.testing.assert_allclose(traj[:, 0], 1.0 - H * np.arange(6), atol=1e-7)


def test_converged_rule_and_bad_input() -> None:
    t = np.linspace(1, 0, 101)
    still = np.stack([t * 0, np.full(101, 1.3)], axis=1)
    assert dirac.converged(still)            # theta = 0 with the critic at rest
    moving = np.stack([0.5 * np.cos(t * 40), np.sin(t * 40)], axis=1)
    assert not dirac.converged(moving)
    with pytest.raises(ValueError, match="traj"):
        dirac.converged(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="scheme"):
        dirac.DiracSystem(dirac.method("gan")).run("leapfrog")
    with pytest.raises(ValueError, match="name"):
        dirac.method("sgan")
    with pytest.raises(ValueError, match="gamma"):
        dirac.DiracMethod("r1")
    with pytest.raises(ValueError, match="x"):
        dirac.DiracSystem(dirac.method("gan")).field((1.0, 2.0, 3.0))


# ---------------------------------------------------------------------------------------------
# consensus optimisation through gans.step; the field leaves the modules alone
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scheme", DISCRETE)
def test_c24_one_consensus_step_of_gans_step_is_the_oracles(scheme: str, rng: np.random.Generator) -> None:
    # gans.step on bare modules (project convention: D holds -psi), one update from random points, against
    # the oracle's update of the closed-form consensus field within its rounding bound
    spec = dirac.method("consensus", gamma=1.0)
    loss = losses.build(spec.loss_config())
    zeros = torch.zeros(2, 1, dtype=torch.float64)
    step = oracle_step(spec, scheme)
    for th, ps in rng.uniform(-2, 2, size=(4, 2)):
        G, D = dirac.DiracGenerator(th), dirac.DiracCritic(-ps)
        opt_g, opt_d = torch.optim.SGD(G.parameters(), lr=H), torch.optim.SGD(D.parameters(), lr=H)
        if scheme == "simultaneous":
            logs = simultaneous_step(G, D, loss, opt_g, opt_d, zeros, zeros, consensus_gamma=spec.gamma)
        else:
            logs = alternating_step(G, D, loss, opt_g, opt_d, lambda: zeros, lambda: zeros,
                                    n_critic=int(scheme.split("_")[1]), g_first=True, consensus_gamma=spec.gamma)
        got = np.array([G.theta.item(), -D.psi.item()])
        want, delta = step(np.array([th, ps]))
        assert np.all(np.abs(got - want) <= delta), (scheme, th, ps, got, want, delta)
        assert "consensus_sq" in logs


def test_c24_consensus_alternating_moves_one_player_at_a_time() -> None:
    # the generator step of alternating consensus moves theta only, with both players' field at the start point
    spec = dirac.method("consensus", gamma=1.0)
    loss = losses.build(spec.loss_config())
    zeros = torch.zeros(2, 1, dtype=torch.float64)
    G, D = dirac.DiracGenerator(0.8), dirac.DiracCritic(-0.6)
    opt_g, opt_d = torch.optim.SGD(G.parameters(), lr=H), torch.optim.SGD(D.parameters(), lr=H)
    alternating_step(G, D, loss, opt_g, opt_d, lambda: zeros, lambda: zeros, n_critic=0, g_first=True,
                     consensus_gamma=1.0)
    v = paper_field(spec, 0.8, 0.6)
    assert D.psi.item() == -0.6
    assert abs(G.theta.item() - (0.8 + H * v[0])) <= H * field_tol(spec, 0.8, 0.6) + 4 * U


@pytest.mark.parametrize("gamma", [-0.1, float("nan"), float("inf")])
def test_consensus_gamma_must_be_finite_and_non_negative(gamma: float) -> None:
    loss = losses.build({"name": "gan"})
    zeros = torch.zeros(2, 1, dtype=torch.float64)
    G, D = dirac.DiracGenerator(0.5), dirac.DiracCritic(0.5)
    opt_g, opt_d = torch.optim.SGD(G.parameters(), lr=H), torch.optim.SGD(D.parameters(), lr=H)
    with pytest.raises(ValueError, match="consensus_gamma"):
        alternating_step(G, D, loss, opt_g, opt_d, lambda: zeros, lambda: zeros, consensus_gamma=gamma)
    with pytest.raises(ValueError, match="consensus_gamma"):
        simultaneous_step(G, D, loss, opt_g, opt_d, zeros, zeros, consensus_gamma=gamma)
    assert G.theta.item() == 0.5 and D.psi.item() == 0.5  # nothing moved


@pytest.mark.parametrize("spec", [dirac.method("consensus"), dirac.method("smmd"), dirac.method("instance_noise")],
                         ids=_id)
def test_c24_the_field_does_not_read_or_move_the_modules_parameters(spec: dirac.DiracMethod) -> None:
    # the point reaches the modules by torch.func.functional_call: the stored parameters are irrelevant
    system = dirac.DiracSystem(spec)
    x = (0.7, -0.4)
    v0, J0 = system.field(x), system.jacobian(x)
    with torch.no_grad():
        system.G.theta.fill_(3.0)
        system.D.psi.fill_(-5.0)
    np.testing.assert_array_equal(system.field(x).numpy(), v0.numpy())
    np.testing.assert_array_equal(system.jacobian(x), J0)
    assert system.G.theta.item() == 3.0 and system.D.psi.item() == -5.0
    assert system.G.theta.grad is None and system.D.psi.grad is None


# ---------------------------------------------------------------------------------------------
# package layout: the system (gans.dirac.system) and its symbolic oracle (gans.dirac.oracle)
# ---------------------------------------------------------------------------------------------
def test_dirac_package_reexports_the_system_and_the_oracle() -> None:
    import ast
    import inspect

    from gans.dirac import oracle, system

    for name in dirac.__all__:
        home = system if name in system.__all__ else oracle
        assert name in home.__all__ and getattr(dirac, name) is getattr(home, name), name
    assert set(dirac.__all__) == set(system.__all__) | set(oracle.__all__)
    # the system does not depend on its oracle (nor on sympy); the oracle is built on the system's specs
    imported = set()
    for node in ast.walk(ast.parse(inspect.getsource(system))):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add("." * node.level + (node.module or ""))
    assert "sympy" not in imported and ".oracle" not in imported and "gans.dirac.oracle" not in imported
