"""Image-quality metrics of generators: Inception / fallback features and FID, KID, IS (C28-C30).

* :mod:`gans.metrics.inception`: the FID Inception-v3 (loads the standard weight file from a
  local path, ``inception_weights`` / ``$GANDIV_INCEPTION``);
* :mod:`gans.metrics.fallback`: seeded random-conv features for machines without the weights;
* :mod:`gans.metrics.lenet`: the LeNet-5 trained here on the ``mnist5k`` digits (MNIST FID /
  KID / IS on its features and logits, Bińkowski et al. 2018), ``lenet-mnist5k`` by name;
* :mod:`gans.metrics.evaluate`: :func:`evaluate_generator`, streamed FID / KID / IS through
  :mod:`divergences`;
* :mod:`gans.metrics.compare`: :func:`compare`, FID / KID / IS between two image folders,
  image ``.npz`` files, saved statistics or training runs (``python -m gans.metrics A B``).
"""

from .compare import compare
from .evaluate import build_feature_network, evaluate_generator
from .fallback import RandomConvFeatures
from .inception import FIDInceptionV3, load_fid_inception
from .lenet import LeNet5, load_lenet_mnist5k

__all__ = ["FIDInceptionV3", "LeNet5", "RandomConvFeatures", "build_feature_network", "compare", "evaluate_generator",
           "load_fid_inception", "load_lenet_mnist5k"]
