"""divergences: exact and sample-based divergences between probability distributions.

Conventions used throughout (each function's docstring restates the ones it relies on):

* natural logarithms;
* ``jsd`` is the Jensen-Shannon divergence with the 1/2 weights, ``0 <= JSD <= log 2``
  (seed 001's "JS" and seed 003's JS generator give ``2 JSD``; those are named explicitly);
* ``wasserstein`` returns the rooted W_p; ``*_pow`` variants return W_p^p;
* numpy in -> numpy out, torch in -> torch out (same device, differentiable).

Submodules hold one family each: ``discrete`` (KL/JSD/TV/f-divergences of probability
vectors), ``fdiv`` (the f-divergence registry with derived Fenchel conjugates), ``gaussian``
(closed forms), ``continuous`` (1-D densities by quadrature), ``gan_objective`` (optimal
discriminator, C01-C03), ``kernels`` and ``mmd``, ``wasserstein``, ``knn``, ``variational``
(Fenchel-dual and Kantorovich-Rubinstein lower bounds), ``evaluation`` (FID/KID/IS);
``bounds`` (those bounds as functions of critic outputs) and ``lipschitz`` (input gradients,
gradient penalties, weight clipping), both used as ``dv.bounds.*`` / ``dv.lipschitz.*``.
"""

from . import continuous, critics, fdiv, gan_objective, gaussian, kernels
from . import bounds, lipschitz
from .discrete import *  # noqa: F401,F403
from .evaluation import *  # noqa: F401,F403
from .knn import *  # noqa: F401,F403
from .mmd import *  # noqa: F401,F403
from .smmd import *  # noqa: F401,F403
from .tv_estimators import *  # noqa: F401,F403
from .variational import *  # noqa: F401,F403
from .wasserstein import *  # noqa: F401,F403

__version__ = "0.1.0"
