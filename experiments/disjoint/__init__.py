"""The disjoint-support experiment of seed 002 (claims C05-C07, C13, C21, C22).

Modules:

* :mod:`.families` -- weakly convergent families ``theta -> Q_theta`` with ``Q_0 = P`` (parallel
  lines, DiracGAN, a shrinking segment, shifted Gaussians as a control), their samplers and the
  exact value of every divergence along them;
* :mod:`.dirac_forms` -- the sympy derivation of ``MMD^2(phi_psi delta_0, phi_psi delta_theta)`` and
  of the Scaled-MMD scale in DiracGAN, lambdified, and the supremum over ``psi``;
* :mod:`.estimates` -- the experiment's draws of the mixture (for ``dv.knn_jsd_mixture``) and the
  sample SMMD over linear features (an optimisation over psi of ``dv.smmd2``);
* :mod:`.cmt` -- the evidence for the (C)(M)(T) table and the stated rule that turns it into yes/no.

This is experiment code (it lives under ``experiments/``): the estimators it compares against
come from :mod:`divergences`; the closed forms here are specific to these families.
"""
