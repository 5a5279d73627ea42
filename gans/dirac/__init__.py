"""DiracGAN (Mescheder, Geiger & Nowozin, ICML 2018, "Which training methods for GANs do actually
converge?"): claims C24-C27, extended to MMD-GAN and the Scaled MMD (C21, C22).

Two files:

* :mod:`gans.dirac.system`: the system, trained through the real losses
  (:func:`gans.losses.build`) and :mod:`gans.step`: the players :class:`DiracGenerator` and
  :class:`DiracCritic`, the method specs (:class:`DiracMethod`, :func:`method`,
  :func:`default_methods`), :class:`DiracSystem` with its autograd vector field, Jacobian and
  simultaneous / alternating / continuous runs, :func:`trajectory`, :func:`numeric_eigenvalues`
  and the convergence rule (:func:`converged`);
* :mod:`gans.dirac.oracle`: its symbolic oracle, a sympy mirror of the losses with the exact
  field, Jacobian and eigenvalues at the equilibrium (:func:`symbolic_eigenvalues`, ...).

Every point, field, Jacobian and trajectory is in the paper's coordinates (critic large on
fake data); see :mod:`gans.dirac.system`, "Coordinates".  The names below are re-exported, so
``from gans.dirac import DiracSystem`` and ``gans.dirac.symbolic_eigenvalues`` work.
"""

from __future__ import annotations

from .oracle import symbolic_eigenvalues, symbolic_field, symbolic_jacobian, symbolic_objectives
from .system import (CONVERGENCE_RULE, DTYPE, METHOD_NAMES, SCHEMES, DiracCritic, DiracGenerator, DiracMethod,
                     DiracSystem, converged, default_methods, method, noise_nodes, numeric_eigenvalues,
                     trajectory)

__all__ = [
    "DiracGenerator", "DiracCritic", "DiracMethod", "DiracSystem", "default_methods", "method",
    "noise_nodes", "SCHEMES", "METHOD_NAMES", "DTYPE", "trajectory", "symbolic_objectives", "symbolic_field",
    "symbolic_jacobian", "symbolic_eigenvalues", "numeric_eigenvalues", "converged", "CONVERGENCE_RULE",
]
