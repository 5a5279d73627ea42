"""DiracGAN (claim C24; MMD/SMMD extensions C21, C22): fields, eigenvalues, trajectories.

The hand-derived vector fields below are the oracles (our convention: critic large on real
data, ``D_psi(x) = psi x``, real sample 0, generated sample theta); the code under test
obtains its field by autograd through :mod:`gans.losses` and :func:`gans.step.joint_gradients`.
With ``s = sigmoid`` and ``u = psi theta``:

* gan: ``v = (psi s(u), -theta s(u))``; nsgan: ``v = (psi s(-u), -theta s(u))``;
* wgan: ``v = (psi, -theta)``; wgan_gp: ``v = (psi, -theta - gamma (|psi| - 1) sign(psi))``;
* r1 / r2 add ``-gamma psi`` to the critic component (``grad_x D = psi`` everywhere);
* consensus: ``v - gamma J^T v`` with the GAN's Jacobian ``J``;
* instance noise: averages over real ``r_i = sigma e_i`` and fake ``f_j = theta + sigma e_j``;
* mmd: ``M = 2 - 2 exp(-u^2/2)``, ``v = (-dM/dtheta, dM/dpsi)``; smmd: ``M / (lam + 1 + psi^2)``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gans import dirac


def sig(t: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-t))


def hand_field(spec: dirac.DiracMethod, th: float, ps: float) -> np.ndarray:
    """Hand-derived DiracGAN vector field (the oracle)."""
    u = ps * th
    n = spec.name
    if n in ("gan", "r1", "r2"):
        v = np.array([ps * sig(u), -th * sig(u)])
    elif n in ("nsgan", "nsgan_r1"):
        v = np.array([ps * sig(-u), -th * sig(u)])
    elif n == "wgan":
        v = np.array([ps, -th])
    elif n == "wgan_gp":
        v = np.array([ps, -th - spec.gamma * (abs(ps) - 1) * np.sign(ps)])
    elif n == "consensus":
        s, ds = sig(u), sig(u) * (1 - sig(u))
        v = np.array([ps * s, -th * s])
        J = np.array([[ps * ps * ds, s + u * ds], [-s - u * ds, -th * th * ds]])
        v = v - spec.gamma * J.T @ v
    elif n == "instance_noise":
        e = dirac.noise_nodes(spec.noise_points).numpy()[:, 0]
        r, f = spec.sigma * e, th + spec.sigma * e
        v = np.array([np.mean(ps * sig(ps * f)), np.mean(r * sig(-ps * r)) - np.mean(f * sig(ps * f))])
    elif n in ("mmd", "smmd"):
        ex = math.exp(-u * u / 2)
        M, dM_dth, dM_dps = 2 - 2 * ex, 2 * ex * u * ps, 2 * ex * u * th
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


METHODS = dirac.default_methods()


def _id(m: dirac.DiracMethod) -> str:
    params = [f"{k}{getattr(m, k):g}" for k in ("gamma", "sigma", "clip", "lam") if getattr(m, k) is not None]
    return "-".join([m.name] + params)


IDS = [_id(m) for m in METHODS]


@pytest.mark.parametrize("spec", METHODS, ids=IDS)
def test_c24_autograd_field_equals_hand_derived_field(spec: dirac.DiracMethod, rng: np.random.Generator) -> None:
    system = dirac.DiracSystem(spec)
    for th, ps in rng.uniform(-2, 2, size=(6, 2)):
        got = system.field(torch.tensor([th, ps], dtype=torch.float64)).numpy()
        np.testing.assert_allclose(got, hand_field(spec, th, ps), rtol=1e-11, atol=1e-12)


def test_c24_sign_convention_maps_psi_to_minus_psi(rng: np.random.Generator) -> None:
    # Mescheder et al. (critic large on fake): v_M(theta, psi_M) = (-psi_M f'(psi_M theta), theta f'(psi_M theta)),
    # f(t) = -log(1 + e^-t), f'(t) = sigmoid(-t).  Ours at psi equals theirs at psi_M = -psi with the psi row negated.
    system = dirac.DiracSystem(dirac.method("gan"))
    for th, ps in rng.uniform(-2, 2, size=(5, 2)):
        pm = -ps
        fp = sig(-pm * th)
        v_m = np.array([-pm * fp, th * fp])
        got = system.field(torch.tensor([th, ps], dtype=torch.float64)).numpy()
        np.testing.assert_allclose(got, [v_m[0], -v_m[1]], rtol=1e-12, atol=1e-14)


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


def test_c24_wgan_gp_field_jumps_at_psi_zero() -> None:
    # the reason the Jacobian is undefined: one-sided limits of the critic component differ by 2 gamma g0
    system = dirac.DiracSystem(dirac.method("wgan_gp", gamma=0.7))
    up = system.field(torch.tensor([0.0, 1e-9], dtype=torch.float64))[1].item()
    down = system.field(torch.tensor([0.0, -1e-9], dtype=torch.float64))[1].item()
    assert up - down == pytest.approx(2 * 0.7, abs=1e-8)


@pytest.mark.parametrize("name,expected", [("gan", 0.5), ("nsgan", 0.5), ("wgan", 1.0)])
def test_c24_unregularised_eigenvalues_are_pure_imaginary(name: str, expected: float) -> None:
    # J = [[0, f'(0)], [-f'(0), 0]]: eigenvalues +- i f'(0), f'(0) = 1/2 (GAN) or 1 (WGAN)
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


def test_c24_simultaneous_gd_on_the_gan_moves_away_every_step() -> None:
    # x.v = 0 for the GAN field, so ||x + h v||^2 = ||x||^2 + h^2 ||v||^2 > ||x||^2 at every step
    traj = dirac.trajectory(dirac.method("gan"), "simultaneous", (1.0, 1.0), 0.2, 150)
    d = np.hypot(traj[:, 0], traj[:, 1])
    assert np.all(np.diff(d) > 0)


def test_c24_alternating_gd_on_the_wgan_keeps_its_invariant() -> None:
    # generator first: theta' = theta + h psi, psi' = psi - h theta' conserves H = theta^2 + psi^2 + h theta psi,
    # so (1 - h/2) ||x||^2 <= H0 <= (1 + h/2) ||x||^2: bounded, and bounded away from 0 (no convergence).
    h = 0.2
    spec = dirac.method("wgan", clip=1e6)  # the bilinear game without an active constraint
    traj = dirac.trajectory(spec, "alternating_1", (1.0, 1.0), h, 500)
    H = traj[:, 0] ** 2 + traj[:, 1] ** 2 + h * traj[:, 0] * traj[:, 1]
    np.testing.assert_allclose(H, H[0], rtol=1e-12)
    d = np.hypot(traj[:, 0], traj[:, 1])
    assert d.max() <= math.sqrt(H[0] / (1 - h / 2)) + 1e-12
    assert d.min() >= math.sqrt(H[0] / (1 + h / 2)) - 1e-12
    assert not dirac.converged(traj)


def test_c24_alternating_gd_on_the_gan_stays_bounded_but_does_not_converge() -> None:
    # GAN alternating 1:1 circles: the distance stays within [d0/2, 2 d0] for 500 steps and the convergence rule
    # fails; the same band is left by simultaneous GD (spirals out) and by R1 (converges): the check discriminates.
    d0 = math.sqrt(2)

    def band(traj: np.ndarray) -> bool:
        d = np.hypot(traj[:, 0], traj[:, 1])
        return bool(np.all((d >= d0 / 2) & (d <= 2 * d0)))

    alt = dirac.trajectory(dirac.method("gan"), "alternating_1", (1.0, 1.0), 0.2, 500)
    assert band(alt) and not dirac.converged(alt)
    assert not band(dirac.trajectory(dirac.method("gan"), "simultaneous", (1.0, 1.0), 0.2, 500))
    assert not band(dirac.trajectory(dirac.method("r1", gamma=0.3), "alternating_1", (1.0, 1.0), 0.2, 500))


@pytest.mark.parametrize("spec", [dirac.method("r1", gamma=0.3), dirac.method("r1", gamma=1.0),
                                  dirac.method("consensus", gamma=1.0)], ids=_id)
def test_c24_r1_and_consensus_converge(spec: dirac.DiracMethod) -> None:
    # linearised contraction factor rho = max |1 + h lambda| < 1; after 500 steps rho^500 d0 is far below 1e-3
    h = 0.2
    ev, _ = dirac.numeric_eigenvalues(spec)
    rho = np.max(np.abs(1 + h * ev))
    assert rho < 1 and rho ** 500 * math.sqrt(2) < 1e-4
    traj = dirac.trajectory(spec, "simultaneous", (1.0, 1.0), h, 500)
    assert np.hypot(*traj[-1]) < 1e-3
    assert dirac.converged(traj)


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
