"""A LeNet-5 digit classifier trained here on ``mnist5k``: the feature network for MNIST FID / KID / IS.

Bińkowski, Sutherland, Arbel, Gretton (ICLR 2018) "Demystifying MMD GANs" report their MNIST
FID / KID (C28, C29) on the features of a LeNet classifier trained on MNIST instead of Inception
features (Inception was trained on ImageNet photographs, not digits).  We follow that
convention with a network trained by this project's own code (:func:`train_lenet`, run by
``python -m experiments.feature_net``) on the 4 000-digit ``train`` split of
:mod:`gans.data.mnist`; its accuracy is measured on the disjoint 1 000-digit ``heldout`` split.

Architecture (LeCun et al. 1998, LeNet-5, with ReLU and max pooling): input (1, 32, 32) in
[-1, 1] -> conv 5x5, 6 maps -> ReLU -> max-pool 2 -> conv 5x5, 16 maps -> ReLU -> max-pool 2
-> fc 400->120 -> ReLU -> fc 120->84 -> ReLU -> fc 84->10.  61 706 parameters (241 KiB in
float32).

* ``features(x)``: the 84 penultimate activations (after the ReLU): FID / KID features;
* ``logits(x)``: the 10 class logits: Inception Score (C30) ``exp(E_x KL(p(y|x) || p(y)))``, which
  here lies in [1, 10] (Salimans et al. 2016, with this classifier in place of Inception).

Input convention (both methods and ``forward``): a ``uint8`` batch (N, C, H, W) with C = 1
or 3 is converted as the data are (``x / 127.5 - 1``, like :func:`gans.data.to_model_input`);
3 channels are averaged (grayscale replicated to RGB, as the evaluator feeds it, is returned
exactly); other sizes than 32 x 32 are resized bilinearly (antialiased).  A float batch must
already be (N, 1, 32, 32) in the model-input range and passes through.

Scores on these features are on their own scale: not comparable with Inception FID / KID,
nor with the paper's MNIST numbers (different training set, 4 000 digits, and weights).

Weight file: ``weights/lenet_mnist5k.pt`` beside this module, a ``torch.save`` dict
``{"format", "state_dict", "meta"}`` (``meta``: seed, epochs, train / held-out accuracy,
n_params, ...), and ``lenet_mnist5k.pt.sha256`` beside it (``sha256sum`` format).
:func:`load_lenet_mnist5k` checks the digest, the format tag, every key and shape and the
metadata, raising ``ValueError`` naming the file on any mismatch.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from divergences._validation import check_int

__all__ = ["FORMAT", "LeNet5", "WEIGHTS_PATH", "accuracy", "load_lenet_mnist5k", "save_lenet",
           "sha256_file", "train_lenet"]

FORMAT = "gans.metrics.lenet/LeNet5/v1"
WEIGHTS_PATH = Path(__file__).resolve().parent / "weights" / "lenet_mnist5k.pt"
_META_KEYS = ("seed", "epochs", "train_acc", "heldout_acc", "n_heldout", "n_params")


class LeNet5(nn.Module):
    """LeNet-5 (ReLU, max pooling) on (1, 32, 32) digits; see the module docstring."""

    has_logits = True
    feature_dim = 84
    num_logits = 10
    input_size = 32

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)
        self.name = "lenet-mnist5k (untrained)"

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 (N, 1|3, H, W) -> float (N, 1, 32, 32) in [-1, 1]; a float (N, 1, 32, 32) passes."""
        if x.ndim != 4:
            raise ValueError(f"x: expected a batch (N, C, H, W), got shape {tuple(x.shape)}")
        if x.dtype == torch.uint8:
            if x.shape[1] not in (1, 3):
                raise ValueError(f"x: expected 1 or 3 channels, got {x.shape[1]}")
            y = x.float().mean(dim=1, keepdim=True)
            if y.shape[-2:] != (self.input_size, self.input_size):
                y = F.interpolate(y, size=(self.input_size, self.input_size), mode="bilinear",
                                  align_corners=False, antialias=True)
            return y.div_(127.5).sub_(1.0)
        if not x.is_floating_point() or tuple(x.shape[1:]) != (1, self.input_size, self.input_size):
            raise ValueError(f"x: expected uint8 images or a float batch (N, 1, 32, 32), got "
                             f"{x.dtype} {tuple(x.shape)}")
        return x

    def _trunk(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(self.preprocess(x))), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return F.relu(self.fc2(F.relu(self.fc1(x.flatten(1)))))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate activations (N, 84), after the ReLU (FID / KID features)."""
        return self._trunk(x)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (N, 10)."""
        return self.fc3(self._trunk(x))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(features (N, 84), logits (N, 10))``, the interface of :mod:`gans.metrics.evaluate`."""
        f = self._trunk(x)
        return f, self.fc3(f)


def _shift(x: torch.Tensor, gen: torch.Generator, max_shift: int) -> torch.Tensor:
    """Roll each image by an integer offset in [-max_shift, max_shift]^2.  With MNIST's >= 4 px
    empty margin plus the 2 px padding, shifts of up to 2 px only move background."""
    out = torch.empty_like(x)
    s = torch.randint(-max_shift, max_shift + 1, (x.shape[0], 2), generator=gen)
    for i in range(x.shape[0]):
        out[i] = torch.roll(x[i], (int(s[i, 0]), int(s[i, 1])), dims=(-2, -1))
    return out


def train_lenet(images: torch.Tensor, labels: torch.Tensor, seed: int, epochs: int = 20,
                batch_size: int = 50, lr: float = 2e-3, max_shift: int = 2) -> LeNet5:
    """Train :class:`LeNet5` by Adam (Kingma & Ba 2015; betas (0.9, 0.999)) on the cross-entropy
    of ``labels`` (int64 0..9), ``epochs`` passes in minibatches of ``batch_size``, with the
    step size decayed by a cosine from ``lr`` to 0 over all steps t = 0..T-1:
    ``lr_t = lr (1 + cos(pi t / T)) / 2`` (Loshchilov & Hutter 2017, without restarts).
    The defaults were picked among five settings by held-out accuracy, so the stored held-out
    accuracy is very slightly optimistic.

    ``images``: uint8 (N, 1, 32, 32); each minibatch is randomly shifted by up to ``max_shift``
    px (data augmentation; 0 switches it off).  ``seed`` fixes the initialisation (a forked
    global RNG, so the caller's random state is untouched), the shuffling and the shifts.
    Returns the network in eval mode, on the CPU.
    """
    seed = check_int(seed, "seed", minimum=0)
    epochs = check_int(epochs, "epochs", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    max_shift = check_int(max_shift, "max_shift", minimum=0)
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr: expected a finite number > 0, got {lr!r}")
    if images.dtype != torch.uint8 or images.ndim != 4 or tuple(images.shape[1:]) != (1, 32, 32):
        raise ValueError(f"images: expected uint8 (N, 1, 32, 32), got {images.dtype} {tuple(images.shape)}")
    if labels.shape != (images.shape[0],) or labels.dtype != torch.int64:
        raise ValueError(f"labels: expected int64 ({images.shape[0]},), got {labels.dtype} {tuple(labels.shape)}")
    if int(labels.min()) < 0 or int(labels.max()) > 9:
        raise ValueError("labels: expected classes 0..9")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = LeNet5()
    gen = torch.Generator().manual_seed(seed + 1)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    net.train()
    n = images.shape[0]
    total, step = epochs * math.ceil(n / batch_size), 0
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        for s in range(0, n, batch_size):
            for group in opt.param_groups:
                group["lr"] = lr * 0.5 * (1.0 + math.cos(math.pi * step / total))
            step += 1
            idx = order[s:s + batch_size]
            x = images[idx]
            if max_shift:
                x = _shift(x, gen, max_shift)
            loss = F.cross_entropy(net.logits(x), labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return net.eval()


@torch.no_grad()
def accuracy(net: LeNet5, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 500) -> float:
    """Fraction of ``images`` whose arg-max logit equals ``labels``."""
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if len(images) != len(labels) or len(images) == 0:
        raise ValueError(f"images, labels: expected equal non-zero lengths, got {len(images)}, {len(labels)}")
    correct = 0
    for s in range(0, len(images), batch_size):
        pred = net.logits(images[s:s + batch_size]).argmax(1)
        correct += int((pred == labels[s:s + batch_size]).sum())
    return correct / len(images)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def save_lenet(net: LeNet5, meta: Mapping[str, Any], path: str | os.PathLike[str]) -> str:
    """Write ``{"format", "state_dict", "meta"}`` to ``path`` and its SHA-256 to ``path.sha256``,
    each atomically (temporary file in the same folder, then ``os.replace``); returns the digest.
    ``meta`` must hold :data:`_META_KEYS` (plain numbers / strings).  The bytes depend only on
    the weights and ``meta`` (no file names or times), so a bit-identical retraining gives the
    same digest."""
    missing = [k for k in _META_KEYS if k not in meta]
    if missing:
        raise ValueError(f"meta: missing keys {missing}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp_sha = path.with_name(f".{path.name}.sha256.{os.getpid()}.tmp")
    try:
        buf = io.BytesIO()  # a buffer, not the path: torch.save names the archive after the file
        torch.save({"format": FORMAT, "state_dict": state, "meta": dict(meta)}, buf)
        tmp.write_bytes(buf.getvalue())
        digest = sha256_file(tmp)
        tmp_sha.write_text(f"{digest}  {path.name}\n")
        os.replace(tmp, path)
        os.replace(tmp_sha, _sidecar(path))
    finally:
        for t in (tmp, tmp_sha):
            if t.exists():
                t.unlink()
    return digest


def load_lenet_mnist5k(path: str | os.PathLike[str] | None = None,
                       device: str | torch.device = "cpu") -> LeNet5:
    """The committed LeNet-5 (``path`` default :data:`WEIGHTS_PATH`), verified and in eval mode.

    Checks, each raising ``ValueError`` naming the file: it and its ``.sha256`` exist, the
    digests agree, it is a readable dict with the format tag :data:`FORMAT`, the state dict has
    exactly the architecture's keys and shapes, and ``meta`` holds the training facts with a
    held-out accuracy in [0, 1].  ``net.meta`` keeps the metadata; ``net.name`` reads
    ``lenet-mnist5k (trained here, seed S, held-out acc A %)``.
    """
    p = Path(os.path.expanduser(str(path))) if path is not None else WEIGHTS_PATH
    side = _sidecar(p)
    if not p.is_file():
        raise ValueError(f"lenet_weights: no weight file at {p} (make it with python -m experiments.feature_net)")
    if not side.is_file():
        raise ValueError(f"lenet_weights: {p} has no digest file {side.name} beside it")
    expected = side.read_text().split()[0] if side.read_text().split() else ""
    digest = sha256_file(p)
    if digest != expected:
        raise ValueError(f"lenet_weights: {p} has SHA-256 {digest}, but {side.name} says {expected!r}")
    try:
        blob = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for unreadable files
        raise ValueError(f"lenet_weights: {p} is not a readable PyTorch file ({exc})") from exc
    if not isinstance(blob, Mapping) or blob.get("format") != FORMAT:
        raise ValueError(f"lenet_weights: {p} is not a {FORMAT} file")
    state, meta = blob.get("state_dict"), blob.get("meta")
    net = LeNet5()
    want = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    if not isinstance(state, Mapping):
        raise ValueError(f"lenet_weights: {p} has no state_dict mapping")
    got = {k: tuple(v.shape) if isinstance(v, torch.Tensor) else None for k, v in state.items()}
    if got != want:
        diff = sorted(set(want) ^ set(got)) or sorted(k for k in want if got[k] != want[k])
        raise ValueError(f"lenet_weights: {p} does not match LeNet5's parameters (keys or shapes "
                         f"differ at {diff[:3]})")
    if not isinstance(meta, Mapping) or any(k not in meta for k in _META_KEYS):
        raise ValueError(f"lenet_weights: {p} lacks the metadata keys {list(_META_KEYS)}")
    acc = meta["heldout_acc"]
    if not isinstance(acc, float) or not 0.0 <= acc <= 1.0:
        raise ValueError(f"lenet_weights: {p} has held-out accuracy {acc!r}, expected a float in [0, 1]")
    net.load_state_dict(dict(state))
    net.meta = dict(meta)
    net.name = (f"lenet-mnist5k (trained here, seed {int(meta['seed'])}, held-out acc "
                f"{100.0 * acc:.1f} %)")
    return net.eval().requires_grad_(False).to(device)
