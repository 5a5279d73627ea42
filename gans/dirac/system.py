"""The DiracGAN system (Mescheder, Geiger & Nowozin, ICML 2018): training dynamics through the real losses.

Claims C24 (convergence of GAN / WGAN / WGAN-GP / R1 / R2 / consensus / instance noise),
extended to MMD-GAN and the Scaled MMD (C21, C22).  This file holds the system: the two
players, the method specs, the vector field, the Jacobian and its eigenvalues from autograd,
and the discrete and continuous training runs.  Its symbolic oracle (the sympy mirror of the
losses and the exact Jacobian and eigenvalues at the equilibrium) is :mod:`gans.dirac.oracle`.

Setting.  Data ``P = delta_0``; generator ``G_theta(z) = theta (+ sigma z)`` with output
``delta_theta``; linear critic ``D_psi(x) = psi x`` (for MMD methods ``phi_psi(x) = psi x`` is
the feature map of a Gaussian kernel with bandwidth 1), ``psi`` in the paper's coordinates
(see Coordinates below).  The unique equilibrium of every
regularised method is ``(theta, psi) = (0, 0)``.

One mechanism.  The losses are the ones the image GANs train with (:func:`gans.losses.build`),
and every update goes through :mod:`gans.step` (consensus optimisation included, in both
schemes).  The vector field is ``v(theta, psi) = -(dL_G/dtheta, dL_D/dpsi)`` from
:func:`gans.step.joint_gradients` (autograd), or ``v - gamma grad(1/2 ||v||^2)`` from
:func:`gans.step.consensus_gradients` for consensus optimisation; the point is handed to the
modules with ``torch.func.functional_call``.  Hand-derived fields exist only in the tests.

Coordinates (the one boundary).  Every public function of this module takes and returns
points, fields, Jacobians and trajectories in the paper's coordinates: ``theta`` horizontal,
``psi`` the paper's critic parameter, with Mescheder et al.'s critic ``D_psi(x) = psi x``
*large on fake* data, so their unregularised field (Mescheder et al. 2018, Sec. 2.2, with
``f(t) = -log(1 + e^{-t})``) is ``v(theta, psi) = (-psi f'(psi theta), theta f'(psi theta))``
and their start point is ``(1, 1)``.  Internally the modules and :mod:`gans.losses` keep this
project's convention (critic large on *real* data), whose parameter is
``psi_project = -psi``: :class:`DiracCritic` and the loss code see ``psi_project``.  The map
``S = diag(1, -1)`` (``(theta, psi) <-> (theta, -psi)``, an involution) is applied in exactly
one place, :func:`_mirror`, called by :meth:`DiracSystem.field` (argument and result) and by
:meth:`DiracSystem._set` / :meth:`DiracSystem._get`.  Because ``S`` is a linear isometry,
``v_paper(x) = S v_project(S x)``, the Jacobian is ``S J_project S`` (same eigenvalues), the
consensus term ``grad 1/2 ||v||^2`` transforms like ``v``, and a gradient step commutes with
``S`` exactly in floating point (negation is exact).  In the project's convention the GAN's
critic value is ``E_P log sigmoid(D(x)) + E_Q log(1 - sigmoid(D(y))) = f(0) + f(psi theta)``
with the paper's ``psi``: the same ``f``, ``f'(0) = 1/2``, ``f''(0) = -1/4 < 0``.  With
``f''(0) < 0`` instance noise adds ``2 sigma^2 f''(0) = -sigma^2/2`` to the critic's diagonal of
the Jacobian, so its eigenvalues have negative real parts (it converges).

Instance noise.  Expectations over ``N(0, sigma^2)`` noise on real and generated samples are
taken with a deterministic equal-weight quantile rule: ``n`` nodes ``e_i = Phi^{-1}((i - 1/2)/n)``,
symmetrised and rescaled so that ``mean e_i = 0`` and ``mean e_i^2 = 1`` exactly (no seed).
The Jacobian at (0, 0) depends on the noise only through its first two moments, so the
eigenvalues are exact; away from (0, 0) the field is the ``n``-point rule (``n = 64``).

Schemes (step size ``h``, the notebook's 0.2): ``simultaneous`` (both players step from the
same point), ``alternating_1`` and ``alternating_5`` (one generator step first, then ``n_d``
critic steps, each with step ``h``; consensus optimisation adds its term in every scheme),
and ``continuous`` (the flow ``x' = v(x)`` integrated with ``scipy.integrate.solve_ivp``,
LSODA, rtol 1e-8, atol 1e-10 (WGAN-GP integrated piecewise between crossings of its kink),
sampled at ``t = h k``; WGAN's clipping is the projected flow that
stops ``psi`` on ``|psi| = c``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field as dc_field
from typing import Any

import numpy as np
import torch
from scipy.integrate import solve_ivp
from scipy.stats import norm
from torch import nn
from torch.func import functional_call

from .. import losses
from ..step import alternating_step, consensus_gradients, joint_gradients, simultaneous_step

__all__ = [
    "DiracGenerator", "DiracCritic", "DiracMethod", "DiracSystem", "default_methods", "method",
    "noise_nodes", "SCHEMES", "METHOD_NAMES", "DTYPE", "trajectory", "numeric_eigenvalues", "converged",
    "CONVERGENCE_RULE",
]

SCHEMES: tuple[str, ...] = ("simultaneous", "alternating_1", "alternating_5", "continuous")
METHOD_NAMES: tuple[str, ...] = ("gan", "nsgan", "wgan", "wgan_gp", "consensus", "instance_noise", "r1", "r2",
                                 "nsgan_r1", "mmd", "smmd")
DTYPE = torch.float64


# ---------------------------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------------------------
class DiracGenerator(nn.Module):
    """``G_theta(z) = theta + noise_std * z``: output ``delta_theta`` (plus instance noise), shape ``(n, 1)``."""

    def __init__(self, theta: float = 1.0, noise_std: float = 0.0) -> None:
        super().__init__()
        self.theta = nn.Parameter(torch.tensor([float(theta)], dtype=DTYPE))
        self.noise_std = float(noise_std)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.theta + self.noise_std * z


class DiracCritic(nn.Module):
    """``D(x) = psi_project x`` (a score per sample, or the 1-d feature for MMD), shape ``(n, 1)``.

    The module is a network of this project: its parameter is in the project's convention
    (critic large on real data), ``psi_project = -psi`` with ``psi`` the paper's coordinate
    (Mescheder et al. 2018; see the module docstring).  :class:`DiracSystem` converts.
    """

    def __init__(self, psi: float = 1.0) -> None:
        super().__init__()
        self.psi = nn.Parameter(torch.tensor([float(psi)], dtype=DTYPE))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.psi * x


def noise_nodes(n: int = 64) -> torch.Tensor:
    """Equal-weight quantile nodes for ``N(0, 1)``: ``Phi^{-1}((i - 1/2)/n)``, symmetric, mean 0, mean square 1.

    Shape ``(n, 1)``, float64; ``n`` must be even (the nodes come in pairs ``+-e``).
    """
    if not isinstance(n, int) or n < 2 or n % 2:
        raise ValueError(f"n: expected an even integer >= 2, got {n!r}")
    half = norm.ppf((np.arange(n // 2) + 0.5 + n // 2) / n)  # the positive half
    e = np.concatenate([-half[::-1], half])
    e = e / math.sqrt(np.mean(e ** 2))
    return torch.tensor(e, dtype=DTYPE).reshape(n, 1)


# ---------------------------------------------------------------------------------------------
# methods
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DiracMethod:
    """One training method on DiracGAN and its parameters (NaN/None where one does not apply).

    ``gamma``: penalty weight (R1/R2 ``gamma/2 E||grad D||^2``; WGAN-GP ``gamma/2 (|grad D| - g0)^2``
    with ``g0 = 1``, Mescheder's convention) or consensus weight; ``sigma``: instance-noise std;
    ``clip``: WGAN clipping bound c; ``lam``: the SMMD lambda.
    """

    name: str
    gamma: float | None = None
    sigma: float | None = None
    clip: float | None = None
    lam: float | None = None
    batch: int = 2
    noise_points: int = 64

    def __post_init__(self) -> None:
        if self.name not in METHOD_NAMES:
            raise ValueError(f"name: unknown DiracGAN method {self.name!r}; choose from {METHOD_NAMES}")
        needs = {"wgan_gp": "gamma", "consensus": "gamma", "r1": "gamma", "r2": "gamma", "nsgan_r1": "gamma",
                 "instance_noise": "sigma", "wgan": "clip", "smmd": "lam"}
        if self.name in needs:
            v = getattr(self, needs[self.name])
            if v is None or not (float(v) >= 0 and math.isfinite(float(v))):
                raise ValueError(f"{needs[self.name]}: method {self.name!r} needs a finite non-negative value, got {v!r}")
        if self.batch < 2:
            raise ValueError(f"batch: expected >= 2 (unbiased MMD needs two samples), got {self.batch}")

    @property
    def label(self) -> str:
        """Short label with the parameter, e.g. ``r1 (gamma=0.3)``."""
        for key, sym in (("gamma", "γ"), ("sigma", "σ"), ("clip", "c"), ("lam", "λ")):
            v = getattr(self, key)
            if v is not None:
                return f"{self.name} ({sym}={v:g})"
        return self.name

    @property
    def consensus(self) -> float:
        """Consensus weight (0 unless the method is ``consensus``)."""
        return float(self.gamma) if self.name == "consensus" else 0.0

    @property
    def noise_std(self) -> float:
        return float(self.sigma) if self.name == "instance_noise" else 0.0

    def loss_config(self) -> dict[str, Any]:
        """The :func:`gans.losses.build` config of this method."""
        gauss = {"name": "gaussian", "bandwidth": 1.0}
        n = self.name
        if n in ("gan", "consensus", "instance_noise"):
            return {"name": "gan"}
        if n == "nsgan":
            return {"name": "nsgan"}
        if n == "wgan":
            return {"name": "wgan", "clip": float(self.clip)}
        if n == "wgan_gp":
            return {"name": "wgan_gp", "gamma": float(self.gamma), "center": 1.0, "half": True}
        if n == "r1":
            return {"name": "gan", "penalties": [{"name": "r1", "gamma": float(self.gamma)}]}
        if n == "r2":
            return {"name": "gan", "penalties": [{"name": "r2", "gamma": float(self.gamma)}]}
        if n == "nsgan_r1":
            return {"name": "nsgan", "penalties": [{"name": "r1", "gamma": float(self.gamma)}]}
        if n == "mmd":
            return {"name": "mmd", "kernel": gauss}
        return {"name": "smmd", "kernel": gauss, "lam": float(self.lam)}


def method(name: str, **params: Any) -> DiracMethod:
    """A :class:`DiracMethod` with the notebook's defaults for parameters not given.

    Defaults: wgan c = 1; wgan_gp gamma = 0.7 (g0 = 1); consensus gamma = 1; instance_noise
    sigma = 0.7; r1, r2, nsgan_r1 gamma = 0.3; smmd lambda = 1.
    """
    defaults = {"wgan": {"clip": 1.0}, "wgan_gp": {"gamma": 0.7}, "consensus": {"gamma": 1.0},
                "instance_noise": {"sigma": 0.7}, "r1": {"gamma": 0.3}, "r2": {"gamma": 0.3},
                "nsgan_r1": {"gamma": 0.3}, "smmd": {"lam": 1.0}}
    return DiracMethod(name, **{**defaults.get(name, {}), **params})


def default_methods() -> list[DiracMethod]:
    """The notebook's methods and settings, plus MMD and SMMD (C24, C21, C22)."""
    return [method("gan"), method("nsgan"), method("wgan"), method("wgan_gp"), method("consensus"),
            method("instance_noise"), method("r1", gamma=0.3), method("r1", gamma=1.0), method("r2"),
            method("nsgan_r1"), method("mmd"), method("smmd")]


# ---------------------------------------------------------------------------------------------
# the coordinate boundary
# ---------------------------------------------------------------------------------------------
_S = (1.0, -1.0)  # diag of S: paper (theta, psi) <-> project (theta, psi_project = -psi)


def _mirror(x: torch.Tensor) -> torch.Tensor:
    """``S x`` with ``S = diag(1, -1)``: paper coordinates <-> project coordinates (an involution).

    The only place the two conventions meet (module docstring, "Coordinates").  Exact in
    floating point and differentiable.
    """
    return x * torch.tensor(_S, dtype=x.dtype)


class _At(nn.Module):
    """``module`` evaluated at other parameter values: ``functional_call(module, values, args)``.

    ``values`` maps parameter names to tensors (here slices of the point ``S x``, so autograd
    sees ``x``).  :meth:`parameters` yields exactly those tensors: :func:`gans.step.joint_gradients`
    differentiates with respect to a module's ``parameters()``, and the SMMD loss reads their
    ``requires_grad`` (a frozen critic).  ``module`` is held outside the module tree, so its
    own parameters are neither yielded nor touched.
    """

    def __init__(self, module: nn.Module, values: Mapping[str, torch.Tensor]) -> None:
        super().__init__()
        self._target = (module,)  # a tuple, not an attribute nn.Module would register as a submodule
        self._values = dict(values)

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        return functional_call(self._target[0], self._values, args)

    def parameters(self, recurse: bool = True) -> Iterator[torch.Tensor]:  # type: ignore[override]
        yield from self._values.values()


# ---------------------------------------------------------------------------------------------
# the system: modules + loss + batches, its vector field and trajectories
# ---------------------------------------------------------------------------------------------
@dataclass
class DiracSystem:
    """DiracGAN for one method: modules, the :mod:`gans.losses` loss, fixed batches, the field.

    Points, fields, Jacobians and trajectories are in the paper's coordinates (Mescheder et al.
    2018: ``theta`` horizontal, their ``psi`` vertical, critic large on fake); the modules hold
    the project's ``psi_project = -psi`` (module docstring, "Coordinates").
    """

    spec: DiracMethod
    G: DiracGenerator = dc_field(init=False)
    D: DiracCritic = dc_field(init=False)
    loss: Any = dc_field(init=False)
    real: torch.Tensor = dc_field(init=False)
    z: torch.Tensor = dc_field(init=False)

    def __post_init__(self) -> None:
        self.G = DiracGenerator(0.0, self.spec.noise_std)
        self.D = DiracCritic(0.0)
        self.loss = losses.build(self.spec.loss_config())
        if self.spec.noise_std > 0:
            self.z = noise_nodes(self.spec.noise_points)
            self.real = self.spec.noise_std * self.z
        else:
            self.z = torch.zeros(self.spec.batch, 1, dtype=DTYPE)
            self.real = torch.zeros(self.spec.batch, 1, dtype=DTYPE)

    # -- the vector field ---------------------------------------------------------------------
    def field(self, x: torch.Tensor | np.ndarray | tuple[float, float]) -> torch.Tensor:
        """``v(theta, psi) = -(dL_G/dtheta, dL_D/dpsi)`` (minus ``gamma grad 1/2||v||^2`` for consensus).

        ``x = (theta, psi)`` and the result are in the paper's coordinates: for the GAN
        ``v = (-psi f'(psi theta), theta f'(psi theta))``, ``f'(t) = sigmoid(-t)`` (Mescheder et al.
        2018, Sec. 2.2).  Computed as ``S v_project(S x)`` where ``v_project`` comes from
        :func:`gans.step.joint_gradients` (consensus: :func:`gans.step.consensus_gradients`) on
        the method's loss, with the modules evaluated at ``S x`` by
        ``torch.func.functional_call`` (:class:`_At`; :func:`_mirror` is ``S``).  The modules'
        own parameters are neither read nor changed.  Differentiable in ``x`` when ``x``
        requires grad (used for the Jacobian); otherwise returns a detached tensor.  No
        clipping here: WGAN's constraint acts in the update.
        """
        x_in = torch.as_tensor(x, dtype=DTYPE)
        if x_in.shape != (2,):
            raise ValueError(f"x: expected (theta, psi) of shape (2,), got {tuple(x_in.shape)}")
        differentiable = x_in.requires_grad
        xv = x_in if differentiable else x_in.detach().clone().requires_grad_(True)
        xp = _mirror(xv)
        G, D = _At(self.G, {"theta": xp[0:1]}), _At(self.D, {"psi": xp[1:2]})
        if self.spec.consensus > 0:
            g, d, _ = consensus_gradients(G, D, self.loss, self.real, self.z, self.spec.consensus,
                                          create_graph=True)
        else:
            g, d, _ = joint_gradients(G, D, self.loss, self.real, self.z, create_graph=True)
        v = _mirror(-torch.cat([g[0].reshape(1), d[0].reshape(1)]))
        return v if differentiable else v.detach()

    def field_grid(self, thetas: np.ndarray, psis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Field components ``(U, V)`` on the grid ``meshgrid(thetas, psis)`` (rows: psi), paper coordinates."""
        U = np.zeros((len(psis), len(thetas)))
        V = np.zeros_like(U)
        for i, p in enumerate(psis):
            for j, t in enumerate(thetas):
                U[i, j], V[i, j] = self.field(torch.tensor([t, p], dtype=DTYPE)).numpy()
        return U, V

    def jacobian(self, x: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
        """``dv/dx`` at ``x`` by ``torch.autograd.functional.jacobian`` (float64), paper coordinates."""
        x0 = torch.tensor(x, dtype=DTYPE)
        return torch.autograd.functional.jacobian(lambda y: self.field(y), x0, create_graph=False).numpy()

    # -- discrete updates through gans.step -----------------------------------------------------
    def _set(self, x: tuple[float, float] | np.ndarray) -> None:
        """Put the paper-coordinate point ``x`` into the modules (as ``S x``)."""
        xp = _mirror(torch.tensor([float(x[0]), float(x[1])], dtype=DTYPE))
        with torch.no_grad():
            self.G.theta.fill_(xp[0].item())
            self.D.psi.fill_(xp[1].item())

    def _get(self) -> np.ndarray:
        """The modules' point in paper coordinates (``S`` of their parameters)."""
        return _mirror(torch.tensor([self.G.theta.item(), self.D.psi.item()], dtype=DTYPE)).numpy()

    def run(self, scheme: str, start: tuple[float, float] = (1.0, 1.0), h: float = 0.2,
            steps: int = 500) -> np.ndarray:
        """Trajectory ``(steps + 1, 2)`` of ``(theta, psi)`` from ``start`` (row 0) under ``scheme``.

        ``start`` and the rows are in the paper's coordinates (default: the paper's start
        ``(1, 1)``, Mescheder et al. 2018, Figs. 1-3; step ``h = 0.2``, 500 steps as in their notebook).

        Discrete schemes use SGD with learning rate ``h`` through :mod:`gans.step`
        (``simultaneous_step``; ``alternating_step(n_critic=n_d, g_first=True)``; both with
        ``consensus_gamma`` for consensus optimisation) and the loss's ``after_d_step`` (WGAN
        clipping).  ``continuous`` integrates the flow.
        """
        if scheme not in SCHEMES:
            raise ValueError(f"scheme: expected one of {SCHEMES}, got {scheme!r}")
        if not (h > 0 and math.isfinite(h)):
            raise ValueError(f"h: expected a positive step size, got {h!r}")
        if not (isinstance(steps, int) and steps >= 1):
            raise ValueError(f"steps: expected a positive integer, got {steps!r}")
        if scheme == "continuous":
            return self._flow(start, h, steps)
        self._set(start)
        opt_g = torch.optim.SGD(self.G.parameters(), lr=h)
        opt_d = torch.optim.SGD(self.D.parameters(), lr=h)
        out = np.empty((steps + 1, 2))
        out[0] = self._get()
        for k in range(1, steps + 1):
            if scheme == "simultaneous":
                simultaneous_step(self.G, self.D, self.loss, opt_g, opt_d, self.real, self.z,
                                  consensus_gamma=self.spec.consensus)
            else:
                alternating_step(self.G, self.D, self.loss, opt_g, opt_d, lambda: self.real, lambda: self.z,
                                 n_critic=int(scheme.split("_")[1]), g_first=True,
                                 consensus_gamma=self.spec.consensus)
            out[k] = self._get()
            if not np.all(np.isfinite(out[k])):
                out[k:] = np.nan
                break
        return out

    def _flow(self, start: tuple[float, float], h: float, steps: int) -> np.ndarray:
        """The continuous flow ``x' = v(x)`` sampled at ``t = h k`` (see the module docstring).

        WGAN-GP's field jumps across ``psi = 0`` (the kink of ``|psi|``): the flow is integrated
        piecewise, each piece on one side of the kink with the field continued continuously
        (frozen at ``psi = 0`` on that side) beyond it, stopped by an event at ``psi = 0`` and
        restarted on the side the field points to.
        """
        clip = self.spec.clip if self.spec.name == "wgan" else None
        kink = self.spec.name == "wgan_gp"
        tiny = 1e-300

        def make_rhs(side: float):
            def rhs(_t: float, y: np.ndarray) -> np.ndarray:
                y_eval = np.array(y, dtype=float)
                if side != 0 and side * y_eval[1] <= 0:
                    y_eval[1] = side * tiny
                v = self.field(torch.tensor(y_eval, dtype=DTYPE)).numpy()
                if clip is not None and abs(y[1]) >= clip and v[1] * np.sign(y[1]) > 0:
                    v[1] = 0.0  # projected flow on the clipping boundary
                return v
            return rhs

        def hit_zero(_t: float, y: np.ndarray) -> float:
            return y[1]

        hit_zero.terminal = True  # type: ignore[attr-defined]
        y0 = np.array(start, dtype=float)
        if clip is not None:
            y0[1] = np.clip(y0[1], -clip, clip)
        grid = h * np.arange(steps + 1)
        out = np.full((steps + 1, 2), np.nan)
        t0, t_end = 0.0, grid[-1]
        side = float(np.sign(y0[1])) if kink else 0.0
        for _ in range(100_000):
            sol = solve_ivp(make_rhs(side), (t0, t_end), y0, method="LSODA", rtol=1e-8, atol=1e-10,
                            dense_output=True, events=hit_zero if side != 0 else None)
            if sol.status < 0:
                break
            mask = (grid >= t0) & (grid <= sol.t[-1])
            if mask.any():
                out[mask] = sol.sol(grid[mask]).T
            if sol.status == 0 or sol.t[-1] >= t_end:
                break
            t0 = float(sol.t[-1])
            y0 = np.array([sol.y[0, -1], 0.0])
            up = make_rhs(1.0)(t0, y0)[1]
            down = make_rhs(-1.0)(t0, y0)[1]
            side = 1.0 if up > 0 else (-1.0 if down < 0 else 0.0)
            y0[1] = side * tiny  # start strictly on the new side (an exact 0 would re-trigger the event)
        return out


def trajectory(spec: DiracMethod, scheme: str, start: tuple[float, float] = (1.0, 1.0), h: float = 0.2,
               steps: int = 500) -> np.ndarray:
    """Shortcut for ``DiracSystem(spec).run(scheme, start, h, steps)`` (paper coordinates in and out)."""
    return DiracSystem(spec).run(scheme, start, h, steps)


# ---------------------------------------------------------------------------------------------
# convergence rule
# ---------------------------------------------------------------------------------------------
CONVERGENCE_RULE = ("converged: every iterate of the last 10% of the trajectory is finite, has |theta| <= 1e-2 "
                    "(the generator sits on the data) and moves less than 1e-4 per step (the critic is at rest); "
                    "psi may rest anywhere because (0, psi) is stationary for MMD/SMMD")


def converged(traj: np.ndarray, tail: float = 0.1, theta_tol: float = 1e-2, move_tol: float = 1e-4) -> bool:
    """The table's ``converged`` rule (:data:`CONVERGENCE_RULE`) applied to a trajectory ``(steps + 1, 2)``."""
    traj = np.asarray(traj, dtype=float)
    if traj.ndim != 2 or traj.shape[1] != 2 or traj.shape[0] < 11:
        raise ValueError(f"traj: expected shape (steps + 1 >= 11, 2), got {traj.shape}")
    k = max(2, int(round(tail * (traj.shape[0] - 1))))
    last = traj[-(k + 1):]
    if not np.all(np.isfinite(last)):
        return False
    moves = np.linalg.norm(np.diff(last, axis=0), axis=1)
    return bool(np.all(np.abs(last[:, 0]) <= theta_tol) and np.all(moves <= move_tol))


# ---------------------------------------------------------------------------------------------
# eigenvalues from the autograd Jacobian (the exact ones: gans.dirac.oracle)
# ---------------------------------------------------------------------------------------------
def _undefined_reason(spec: DiracMethod) -> str | None:
    """Why the Jacobian at (0, 0) is undefined for ``spec`` (WGAN-GP's kink), else ``None``."""
    if spec.name == "wgan_gp":
        return ("undefined: the WGAN-GP penalty gamma/2 (|psi| - g0)^2 has a kink at psi = 0 "
                "(one-sided derivatives -+gamma g0), so the field is not differentiable at the equilibrium")
    return None


def numeric_eigenvalues(spec: DiracMethod) -> tuple[np.ndarray, str | None]:
    """Eigenvalues of ``dv/dx`` at (0, 0) from the autograd Jacobian, sorted (real, imag) descending.

    Returns ``([nan, nan], reason)`` where the field is not differentiable (WGAN-GP).
    """
    reason = _undefined_reason(spec)
    if reason:
        return np.array([np.nan + 0j, np.nan + 0j]), reason
    ev = np.linalg.eigvals(DiracSystem(spec).jacobian((0.0, 0.0)))
    return _sort_eigs(ev), None


def _sort_eigs(ev: np.ndarray) -> np.ndarray:
    """``ev`` as complex numbers sorted by (real, imag) descending, compared at 12 decimals."""
    ev = np.asarray(ev, dtype=complex)
    return np.array(sorted(ev, key=lambda z: (-round(z.real, 12), -round(z.imag, 12))))
