"""gans: losses, networks, data, metrics and the one training loop.

Depends on :mod:`divergences` (a divergence loss calls its estimator there), never the reverse.
"""

__version__ = "0.1.0"
