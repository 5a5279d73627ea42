"""Fallback feature network for machines without the Inception weights: seeded random convolutions.

``RandomConvFeatures`` is a 4-stage convolutional network whose weights are *drawn*, never
trained: He-normal initialisation from a ``torch.Generator`` seeded with a fixed seed (so every
machine builds bit-identical weights without any file).  Input uint8 (N, 3, H, W) is resized to
64 x 64 (bilinear, antialiased), mapped to [-1, 1], and passed through four blocks
``conv3x3(stride 2) -> LeakyReLU(0.2)`` with 64, 128, 256, 512 channels (64 -> 32 -> 16 -> 8 -> 4
pixels).  The feature vector is the concatenation of each stage's per-channel spatial mean
(64 + 128 + 256 + 512 = 960 dimensions), each stage scaled by ``1/sqrt(channels)``.

Random-weight convolutional features are a known cheap proxy for distribution comparison
(random features of a convolutional prior; Naeem et al. 2020 use random-init VGG embeddings).
Limitations, stated wherever the scores are shown:

* not trained on anything: features respond to colour, contrast, edges and texture statistics,
  not to semantic content (a face with misplaced eyes can score well);
* FID / KID values are on a different scale from Inception FID / KID and are **not comparable**
  with the papers' numbers or with other feature networks; compare methods only against each
  other under the same network;
* no classifier, so there is no Inception Score: :attr:`has_logits` is ``False`` and
  evaluation reports IS as unavailable;
* the fixed 64 x 64 input makes finer detail of 128/160 px images invisible.

Cost: about 59 million multiply-adds per image (vs. about 5.7 billion for Inception-v3 at
299 x 299), so a few thousand images take seconds on a CPU.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .preprocess import resize_uint8

__all__ = ["RandomConvFeatures"]


class RandomConvFeatures(nn.Module):
    """Seeded random-weight conv features (960-d); see the module docstring for its limits."""

    has_logits = False
    input_size = 64
    widths = (64, 128, 256, 512)

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.seed = int(seed)
        self.name = f"random-conv-960 (untrained, seed {self.seed}; not Inception)"
        g = torch.Generator().manual_seed(self.seed)
        cin = 3
        weights = []
        for cout in self.widths:
            fan_in = cin * 9
            w = torch.randn(cout, cin, 3, 3, generator=g) * math.sqrt(2.0 / fan_in)
            weights.append(nn.Parameter(w, requires_grad=False))
            cin = cout
        self.weights = nn.ParameterList(weights)
        self.feature_dim = sum(self.widths)
        self.eval()

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (N, 3, H, W) -> float (N, 3, 64, 64) in [-1, 1] (bilinear, antialiased)."""
        return resize_uint8(images, self.input_size, antialias=True)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, None]:
        """Return ``(features (N, 960), None)``; ``None`` where Inception returns logits."""
        x = self.preprocess(images)
        feats = []
        for w in self.weights:
            x = F.leaky_relu(F.conv2d(x, w, stride=2, padding=1), 0.2)
            feats.append(x.mean(dim=(2, 3)) / math.sqrt(w.shape[0]))
        return torch.cat(feats, 1), None
