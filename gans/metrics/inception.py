"""Inception-v3 as used for FID (the TensorFlow 2015-12-05 graph ported to PyTorch).

The network follows Szegedy et al. (2016) "Rethinking the Inception Architecture", in the
variant of the TF graph that FID (Heusel et al. 2017) and the pytorch-fid port use:

* every convolution is ``conv (no bias) -> BatchNorm(eps=1e-3) -> ReLU``;
* the average-pool branches of the Mixed blocks do not count padded pixels
  (``count_include_pad=False``), and the last block (``Mixed_7c``) pools with a 3x3 *max*
  pool instead of an average pool (a quirk of the TF graph);
* 1008 output logits (1000 ImageNet classes plus 8 unused), no auxiliary head.

Outputs: ``pool3`` = the 2048-d global average of ``Mixed_7c`` (FID / KID features) and
``logits`` = ``fc(pool3)`` (1008-d; softmax of these gives p(y|x) for the Inception Score).

Resize policy (documented because it moves FID): input uint8 images (N, 3, H, W) are
converted to float, resized to 299 x 299 with ``torch.nn.functional.interpolate(mode=
"bilinear", align_corners=False, antialias=False)`` and mapped to [-1, 1] by ``x/127.5 - 1``,
exactly like pytorch-fid.  TF1's ``ResizeBilinear`` and clean-fid's PIL bicubic differ
slightly, so scores match pytorch-fid, not bit-for-bit the TF numbers of the papers.

Weights: the standard file ``pt_inception-2015-12-05-6726825d.pth`` (pytorch-fid release),
read from a local path given by the config key ``inception_weights`` or the environment
variable ``GANDIV_INCEPTION``; :func:`load_fid_inception` checks every key and shape and
names what is missing, unexpected or mis-shaped.  Nothing is downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .preprocess import resize_uint8

__all__ = ["ENV_VAR", "WEIGHTS_FILE", "FIDInceptionV3", "load_fid_inception", "resolve_weights_path"]

ENV_VAR = "GANDIV_INCEPTION"
WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"


class _Conv(nn.Module):
    """conv (no bias) -> BatchNorm(eps = 0.001) -> ReLU; keys ``conv.weight``, ``bn.*``."""

    def __init__(self, cin: int, cout: int, kernel: int | tuple[int, int], stride: int = 1,
                 padding: int | tuple[int, int] = 0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class _BlockA(nn.Module):  # Mixed_5b/5c/5d: 35x35
    def __init__(self, cin: int, pool: int) -> None:
        super().__init__()
        self.branch1x1 = _Conv(cin, 64, 1)
        self.branch5x5_1 = _Conv(cin, 48, 1)
        self.branch5x5_2 = _Conv(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = _Conv(cin, 64, 1)
        self.branch3x3dbl_2 = _Conv(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _Conv(96, 96, 3, padding=1)
        self.branch_pool = _Conv(cin, pool, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([
            self.branch1x1(x),
            self.branch5x5_2(self.branch5x5_1(x)),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            self.branch_pool(_avg(x))], 1)


class _BlockB(nn.Module):  # Mixed_6a: 35 -> 17
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3 = _Conv(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = _Conv(cin, 64, 1)
        self.branch3x3dbl_2 = _Conv(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _Conv(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([
            self.branch3x3(x),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            F.max_pool2d(x, 3, stride=2)], 1)


class _BlockC(nn.Module):  # Mixed_6b..6e: 17x17, factorised 7x7
    def __init__(self, cin: int, c7: int) -> None:
        super().__init__()
        self.branch1x1 = _Conv(cin, 192, 1)
        self.branch7x7_1 = _Conv(cin, c7, 1)
        self.branch7x7_2 = _Conv(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = _Conv(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = _Conv(cin, c7, 1)
        self.branch7x7dbl_2 = _Conv(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = _Conv(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = _Conv(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = _Conv(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = _Conv(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = x
        for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3,
                      self.branch7x7dbl_4, self.branch7x7dbl_5):
            d = layer(d)
        return torch.cat([self.branch1x1(x), b7, d, self.branch_pool(_avg(x))], 1)


class _BlockD(nn.Module):  # Mixed_7a: 17 -> 8
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3_1 = _Conv(cin, 192, 1)
        self.branch3x3_2 = _Conv(192, 320, 3, stride=2)
        self.branch7x7x3_1 = _Conv(cin, 192, 1)
        self.branch7x7x3_2 = _Conv(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = _Conv(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = _Conv(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([b3, b7, F.max_pool2d(x, 3, stride=2)], 1)


class _BlockE(nn.Module):  # Mixed_7b (avg pool) / Mixed_7c (max pool): 8x8
    def __init__(self, cin: int, max_pool: bool) -> None:
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = _Conv(cin, 320, 1)
        self.branch3x3_1 = _Conv(cin, 384, 1)
        self.branch3x3_2a = _Conv(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = _Conv(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = _Conv(cin, 448, 1)
        self.branch3x3dbl_2 = _Conv(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = _Conv(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = _Conv(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = _Conv(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.branch3x3_1(x)
        b = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else _avg(x)
        return torch.cat([
            self.branch1x1(x),
            self.branch3x3_2a(a), self.branch3x3_2b(a),
            self.branch3x3dbl_3a(b), self.branch3x3dbl_3b(b),
            self.branch_pool(pooled)], 1)


class FIDInceptionV3(nn.Module):
    """Inception-v3 of the FID graph; ``forward(uint8 images) -> (pool3 (N, 2048), logits (N, 1008))``.

    Parameter names follow the standard file (``Conv2d_1a_3x3.conv.weight``,
    ``Mixed_5b.branch1x1.bn.running_mean``, ..., ``fc.weight``), so
    ``pt_inception-2015-12-05-6726825d.pth`` loads with :func:`load_fid_inception`.
    Always used in eval mode (BatchNorm uses its stored statistics).
    """

    name = "inception-v3-fid (pt_inception-2015-12-05)"
    feature_dim = 2048
    num_logits = 1008
    input_size = 299

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = _Conv(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = _Conv(32, 32, 3)
        self.Conv2d_2b_3x3 = _Conv(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = _Conv(64, 80, 1)
        self.Conv2d_4a_3x3 = _Conv(80, 192, 3)
        self.Mixed_5b = _BlockA(192, 32)
        self.Mixed_5c = _BlockA(256, 64)
        self.Mixed_5d = _BlockA(288, 64)
        self.Mixed_6a = _BlockB(288)
        self.Mixed_6b = _BlockC(768, 128)
        self.Mixed_6c = _BlockC(768, 160)
        self.Mixed_6d = _BlockC(768, 160)
        self.Mixed_6e = _BlockC(768, 192)
        self.Mixed_7a = _BlockD(768)
        self.Mixed_7b = _BlockE(1280, max_pool=False)
        self.Mixed_7c = _BlockE(2048, max_pool=True)
        self.fc = nn.Linear(2048, 1008)
        self.eval()

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (N, 3, H, W) -> float (N, 3, 299, 299) in [-1, 1] (bilinear, see module doc)."""
        return resize_uint8(images, self.input_size, antialias=False)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.preprocess(images)
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, 3, stride=2)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b,
                      self.Mixed_6c, self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b,
                      self.Mixed_7c):
            x = block(x)
        pool3 = x.mean(dim=(2, 3))
        return pool3, self.fc(pool3)


def resolve_weights_path(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The weight file from ``path``, else ``$GANDIV_INCEPTION``, else ``None`` (no weights)."""
    raw = path if path else os.environ.get(ENV_VAR)
    return Path(os.path.expanduser(str(raw))) if raw else None


def _check_state_dict(state: Mapping[str, torch.Tensor], model: nn.Module, source: str) -> None:
    expected = {k: v.shape for k, v in model.state_dict().items()
                if not k.endswith("num_batches_tracked")}
    got = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    missing = sorted(set(expected) - set(got))
    unexpected = sorted(set(got) - set(expected))
    bad = sorted(k for k in set(expected) & set(got)
                 if not isinstance(got[k], torch.Tensor) or tuple(got[k].shape) != tuple(expected[k]))
    if missing or unexpected or bad:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys (e.g. {missing[:3]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (e.g. {unexpected[:3]})")
        if bad:
            k = bad[0]
            shape = tuple(got[k].shape) if isinstance(got[k], torch.Tensor) else type(got[k]).__name__
            parts.append(f"{len(bad)} keys with the wrong shape (e.g. {k}: expected "
                         f"{tuple(expected[k])}, got {shape})")
        raise ValueError(f"inception_weights: {source} is not the FID Inception-v3 state dict "
                         f"({WEIGHTS_FILE}): " + "; ".join(parts))


def load_fid_inception(path: str | os.PathLike[str] | None = None,
                       device: str | torch.device = "cpu") -> FIDInceptionV3:
    """Build :class:`FIDInceptionV3` and load the weights at ``path`` (or ``$GANDIV_INCEPTION``).

    Raises ``ValueError`` when no path is given, the file is missing or unreadable, or its keys
    or shapes differ from the architecture (the message lists the offending keys).
    ``num_batches_tracked`` buffers are optional (the standard file has none).
    """
    p = resolve_weights_path(path)
    if p is None:
        raise ValueError(f"inception_weights: no path given; set the config key inception_weights "
                         f"or the environment variable {ENV_VAR} to the local file {WEIGHTS_FILE}")
    if not p.is_file():
        raise ValueError(f"inception_weights: expected the file {WEIGHTS_FILE} at {p}, "
                         f"but there is no such file")
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt files
        raise ValueError(f"inception_weights: {p} is not a readable PyTorch state dict ({exc})") from exc
    if not isinstance(state, Mapping):
        raise ValueError(f"inception_weights: {p} holds a {type(state).__name__}, expected a "
                         f"state dict (mapping of parameter names to tensors)")
    model = FIDInceptionV3()
    _check_state_dict(state, model, str(p))
    model.load_state_dict(dict(state), strict=False)
    return model.eval().requires_grad_(False).to(device)
