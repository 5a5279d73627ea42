"""FID, KID and IS between two sets of images in one call: :func:`compare` (C28, C29, C30).

``compare(a, b)`` takes two paths; each is one of

* an **image folder**: every ``.jpg .jpeg .png .bmp .webp`` file under it (recursively, sorted
  by path; :data:`gans.data.images.IMAGE_SUFFIXES`), decoded to RGB (a grayscale file is
  replicated to 3 channels).  Without ``resolution`` the images are used at their own size,
  which must then be the same for all of them; with ``resolution=R`` each is read exactly as
  the training data ``data.name: image_folder`` are (:class:`gans.data.images.ImageFolder`:
  centre square, Pillow bilinear resize to R x R);
* an **``.npz`` of images**: the array ``images``, else ``arr_0`` (what ``np.savez(f, x)``
  writes), else the only array in the file; ``uint8`` of shape (N, H, W) (one channel),
  (N, H, W, C) or (N, C, H, W) with C = 1 or 3 (the layout is read from where the 1 or 3
  is; a shape with 1 or 3 in both places is refused as ambiguous).  ``resolution=R`` resizes
  them as :class:`gans.data.images.ArrayImageDataset` does (centre square, bilinear,
  antialiased);
* a **statistics ``.npz``** (written by ``save_stats`` / ``--save-stats`` / :func:`write_stats`, or a cache file):
  recognised by a ``features`` or ``mu`` array.  :data:`STATS_FORMAT` files hold
  ``features`` (N, d) float64, ``mu`` (d,), ``sigma`` (d, d) (sample mean and covariance,
  ``ddof = 1``; the key names of pytorch-fid's ``.npz`` files), ``logits`` (N, C) when the
  network has a classifier head, ``feature_network`` (its name), ``n`` and ``format``.  When
  ``features`` are present they are used and ``mu`` / ``sigma`` ignored; a file with only
  ``mu`` and ``sigma`` (e.g. pytorch-fid's) gives FID but no KID (KID needs the features)
  and no IS (IS needs logits);
* a **training run folder** (a folder holding ``checkpoint.pt``, or that file itself): its
  EMA generator (:func:`gans.train.load_generator`) draws samples from the run's latent prior
  (``latent.dim`` / ``latent.distribution`` of :func:`gans.train.load_run_config`, through
  :func:`gans.data.latent.sample_latent`), converted to uint8 as the evaluator does
  (:func:`gans.metrics.evaluate.sample_uint8`).  Checked before the image-folder case, so the
  ``samples/`` PNGs of a run are never read as data.

Features come from one network (``feature_network``: ``auto``, ``inception``, ``fallback``,
``lenet-mnist5k``, see :func:`gans.metrics.evaluate.build_feature_network`); every network
receives uint8 (N, 3, H, W) batches, one-channel images replicated to 3 (the fallback and
Inception need 3 channels and resize to 64 / 299 themselves; the LeNet averages the 3 equal
channels back to 1 and resizes to 32 x 32).  Both sides must be seen through the same network:
a statistics file that names another network is refused.

Sampling conventions (those of :func:`gans.metrics.evaluate.evaluate_generator`, so that
``compare(data, run, n=n, seed=s)`` reproduces its numbers when ``data`` holds the images of its
dataset): side ``a`` uses ``seed`` and side ``b`` ``seed + 1``.  An image side takes
``min(n, N)`` of its N images (all when ``n`` is None) in the order
``numpy.random.default_rng([side seed, 99]).permutation(N)`` (:func:`gans.metrics.evaluate.
real_features`); a run side draws ``n`` codes from ``torch.Generator().manual_seed(side seed)``
(``n`` None: as many as the other side holds, or ``EVAL_DEFAULTS["n"]`` = 2000 when both are
runs); ``n`` does not apply to a statistics file.  KID subsets are drawn with ``seed``.

Scores (formulas in :mod:`divergences.evaluation`):

* FID (C28, Heusel et al. 2017): ``dv.fid(f_a, f_b)`` on the two feature arrays, or
  ``dv.frechet_distance(mu_a, S_a, mu_b, S_b)`` when a side has only ``mu`` / ``sigma``.
  Biased upwards at finite n: the sample counts ``n_a``, ``n_b`` come with it.
* KID (C29, Bińkowski et al. 2018): ``dv.kid(f_a, f_b, kid_subsets, s, seed)``, mean and
  population std over subsets, with ``s = min(kid_subset_size, n_a, n_b)``; the size used is
  returned as ``kid_subset_size`` (and a note says when it was capped).
* IS (C30, Salimans et al. 2016): ``dv.inception_score(logits, min(is_splits, n))`` of each
  side that has classifier logits (Inception or the LeNet; the fallback has none).

Caching: with ``cache_dir``, the features of an image side (folder or image ``.npz``) are kept
in ``cache_dir/features_<key>.npz`` (a statistics file in the format above), ``key`` = the first
20 hex digits of the SHA-256 of the image files' bytes (folder: every image file, in sorted
order, each prefixed by its length; ``.npz``: the image array's dtype, shape and bytes), the
feature network's name, the device type, ``resolution``, the number of images taken and the
side seed.  A run side is never cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

import divergences as dv
from divergences._validation import check_int, check_seed

from ..data.images import IMAGE_SUFFIXES, ArrayImageDataset, ImageFolder, read_rgb
from .evaluate import EVAL_DEFAULTS, FEATURE_NETWORKS, build_feature_network, generated_features, real_features

__all__ = ["IMAGE_KEYS", "STATS_FORMAT", "compare", "load_stats", "write_stats"]

STATS_FORMAT = "gans.metrics.compare/stats/v1"
IMAGE_KEYS = ("images", "arr_0")  # tried in this order; else the only array of the file
_NPZ_ERRORS = (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError)


# --------------------------------------------------------------------------- inputs
@dataclass
class _Side:
    arg: str                     # "a" or "b": named in every error
    path: Path
    kind: str                    # folder | images | stats | run
    seed: int
    count: int | None = None     # images available (folder, images) or rows (stats)
    files: list[Path] = field(default_factory=list)
    images: np.ndarray | None = None   # (N, C, H, W) uint8 for kind "images"
    stats: dict[str, Any] | None = None
    features: np.ndarray | None = None
    logits: np.ndarray | None = None
    mu: np.ndarray | None = None
    sigma: np.ndarray | None = None
    network: str | None = None   # name recorded in a statistics file
    cached: bool | None = None   # image side with cache_dir: features read from the cache


def _as_nchw(arr: np.ndarray, arg: str, where: str) -> np.ndarray:
    """uint8 (N, H, W), (N, H, W, C) or (N, C, H, W), C in {1, 3} -> (N, C, H, W)."""
    if arr.dtype != np.uint8:
        raise ValueError(f"{arg}: {where} holds {arr.dtype} values; expected uint8 images (0..255)")
    if arr.ndim == 3:
        arr = arr[:, None]
    elif arr.ndim == 4:
        last, first = arr.shape[3] in (1, 3), arr.shape[1] in (1, 3)
        if last and first:
            raise ValueError(f"{arg}: {where} has the ambiguous shape {arr.shape} (1 or 3 both at axis 1 and "
                             f"axis 3); store it as (N, H, W, C) or (N, C, H, W) with unambiguous sizes")
        if last:
            arr = arr.transpose(0, 3, 1, 2)
        elif not first:
            raise ValueError(f"{arg}: {where} has shape {arr.shape}; expected (N, H, W), (N, H, W, C) or "
                             f"(N, C, H, W) with C = 1 or 3")
    else:
        raise ValueError(f"{arg}: {where} has shape {arr.shape}; expected (N, H, W), (N, H, W, C) or "
                         f"(N, C, H, W) with C = 1 or 3")
    if arr.shape[0] == 0 or 0 in arr.shape[2:]:
        raise ValueError(f"{arg}: {where} holds no images (shape {arr.shape})")
    return np.ascontiguousarray(arr)


def _float_array(z: Any, key: str, arg: str, path: Path, ndim: int) -> np.ndarray:
    try:
        v = np.asarray(z[key])
    except _NPZ_ERRORS as exc:
        raise ValueError(f"{arg}: array {key!r} of {path} is unreadable ({exc})") from exc
    if v.ndim != ndim or v.dtype.kind not in "fiu" or v.size == 0:
        raise ValueError(f"{arg}: {path} array {key!r} has {v.dtype} shape {v.shape}; expected a non-empty "
                         f"{ndim}-d numeric array")
    v = v.astype(np.float64)
    if not np.isfinite(v).all():
        raise ValueError(f"{arg}: {path} array {key!r} contains non-finite values")
    return v


def _read_stats(z: Any, arg: str, path: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"features": None, "logits": None, "mu": None, "sigma": None, "network": None}
    if "features" in z.files:
        out["features"] = _float_array(z, "features", arg, path, 2)
        if out["features"].shape[0] < 2:
            raise ValueError(f"{arg}: {path} holds features of {out['features'].shape[0]} image(s); need >= 2")
    else:
        if "sigma" not in z.files:
            raise ValueError(f"{arg}: {path} has 'mu' but no 'sigma'; a statistics file needs 'features' "
                             f"or both 'mu' and 'sigma' (found {z.files})")
        out["mu"] = _float_array(z, "mu", arg, path, 1)
        out["sigma"] = _float_array(z, "sigma", arg, path, 2)
        d = out["mu"].shape[0]
        if out["sigma"].shape != (d, d):
            raise ValueError(f"{arg}: {path} has mu of size {d} but sigma of shape {out['sigma'].shape}")
    if "logits" in z.files:
        out["logits"] = _float_array(z, "logits", arg, path, 2)
        if out["features"] is not None and len(out["logits"]) != len(out["features"]):
            raise ValueError(f"{arg}: {path} has {len(out['features'])} feature rows but "
                             f"{len(out['logits'])} logit rows")
    if "format" in z.files and str(np.asarray(z["format"]).reshape(())) != STATS_FORMAT:
        raise ValueError(f"{arg}: {path} is a statistics file of format {str(np.asarray(z['format']))!r}; "
                         f"expected {STATS_FORMAT!r}")
    if "feature_network" in z.files:
        out["network"] = str(np.asarray(z["feature_network"]).reshape(()))
    n = len(out["features"]) if out["features"] is not None else None
    if n is None and "n" in z.files:
        n = int(np.asarray(z["n"]).reshape(()))
    out["n"] = n
    return out


def _open_npz(path: Path, arg: str) -> Any:
    try:
        z = np.load(path, allow_pickle=False)
    except _NPZ_ERRORS as exc:
        raise ValueError(f"{arg}: {path} is not a readable .npz file ({exc})") from exc
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise ValueError(f"{arg}: {path} holds a single array, not an .npz archive")
    return z


def _resolve(value: Any, arg: str, seed: int) -> _Side:
    """Classify one input path (see the module docstring); ``ValueError`` naming ``arg``."""
    if not isinstance(value, (str, os.PathLike)):
        raise ValueError(f"{arg}: expected a path (str or pathlib.Path), got {type(value).__name__}")
    path = Path(os.path.expanduser(os.fspath(value)))
    if not path.exists():
        raise ValueError(f"{arg}: {path} does not exist")
    if path.is_file() and path.name == "checkpoint.pt":
        path = path.parent
    if path.is_dir():
        if (path / "checkpoint.pt").is_file():
            return _Side(arg, path, "run", seed)
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not files:
            raise ValueError(f"{arg}: no images ({', '.join(IMAGE_SUFFIXES)}) under {path}, and no "
                             f"checkpoint.pt (not a training run)")
        return _Side(arg, path, "folder", seed, count=len(files), files=files)
    if path.suffix.lower() != ".npz":
        raise ValueError(f"{arg}: {path} is neither a folder (of images, or a training run with checkpoint.pt) "
                         f"nor an .npz file")
    with _open_npz(path, arg) as z:
        keys = list(z.files)
        if "features" in keys or "mu" in keys:
            st = _read_stats(z, arg, path)
            return _Side(arg, path, "stats", seed, count=st["n"], features=st["features"], logits=st["logits"],
                         mu=st["mu"], sigma=st["sigma"], network=st["network"])
        key = next((k for k in IMAGE_KEYS if k in keys), keys[0] if len(keys) == 1 else None)
        if key is None:
            raise ValueError(f"{arg}: {path} holds the arrays {keys}; expected image arrays under one of "
                             f"{list(IMAGE_KEYS)} (or a single array), or statistics ('features' or 'mu'/'sigma')")
        try:
            raw = z[key]
        except _NPZ_ERRORS as exc:
            raise ValueError(f"{arg}: array {key!r} of {path} is unreadable ({exc})") from exc
    images = _as_nchw(raw, arg, f"{path} array {key!r}")
    return _Side(arg, path, "images", seed, count=len(images), images=images)


class _NativeFolder(Dataset):
    """Images of a folder at their own size (all equal), RGB uint8 (3, H, W)."""

    def __init__(self, files: list[Path], arg: str) -> None:
        self.files, self.arg = files, arg
        self.size: tuple[int, int] | None = None
        self.first: Path | None = None

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> torch.Tensor:
        path = self.files[index]
        img = read_rgb(path, arg=self.arg)
        size = (img.shape[2], img.shape[1])
        if self.size is None:
            self.size, self.first = size, path
        elif size != self.size:
            raise ValueError(f"{self.arg}: images differ in size ({self.first} is {self.size[0]}x{self.size[1]}, "
                             f"{path} is {size[0]}x{size[1]}); pass resolution (--resolution) to resize them all")
        return img


class _NativeArray(Dataset):
    """Rows of a (N, C, H, W) uint8 array at their own size."""

    def __init__(self, images: np.ndarray) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        return torch.from_numpy(self.images[index].copy())


def _dataset(side: _Side, resolution: int | None) -> Dataset:
    if side.kind == "folder":
        if resolution is None:
            return _NativeFolder(side.files, side.arg)
        ds = ImageFolder(side.path, resolution)
        ds.files = side.files  # the same sorted list (regular files only)
        return ds
    assert side.images is not None
    if resolution is None:
        return _NativeArray(side.images)
    return ArrayImageDataset(side.images, {"name": side.path.name, "description": str(side.path)}, resolution)


def _content_key(side: _Side, net_name: str, device: torch.device, resolution: int | None, n_take: int) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([STATS_FORMAT, net_name, device.type, resolution, side.kind, n_take, side.seed]).encode())
    if side.kind == "folder":
        for p in side.files:
            try:
                data = p.read_bytes()
            except OSError as exc:
                raise ValueError(f"{side.arg}: {p} is unreadable ({exc})") from exc
            h.update(len(data).to_bytes(8, "little"))
            h.update(data)
    else:
        assert side.images is not None
        h.update(json.dumps([str(side.images.dtype), list(side.images.shape)]).encode())
        h.update(memoryview(side.images).cast("B"))
    return h.hexdigest()[:20]


def _mean_cov(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sample mean and covariance (``ddof = 1``, the moments ``dv.fid`` uses) of (N, d) features."""
    return f.mean(0), np.cov(f, rowvar=False, ddof=1).reshape(f.shape[1], f.shape[1])


def _stats_arrays(features: np.ndarray, logits: np.ndarray | None, network: str, source: str
                  ) -> dict[str, np.ndarray]:
    mu, sigma = _mean_cov(features)
    out = {"format": np.asarray(STATS_FORMAT), "feature_network": np.asarray(network),
           "n": np.asarray(len(features)), "source": np.asarray(source), "features": features,
           "mu": mu, "sigma": sigma}
    if logits is not None:
        out["logits"] = logits
    return out


def _write_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def write_stats(path: str | os.PathLike[str], features: np.ndarray, logits: np.ndarray | None, network: str,
               source: str = "") -> Path:
    """Write a statistics file (format :data:`STATS_FORMAT`, see the module docstring) atomically.

    ``features`` (N, d) and ``logits`` (N, C) or ``None`` are stored as float64, with
    ``mu = mean`` and ``sigma`` = the sample covariance (``ddof = 1``, the convention of
    ``dv.fid``), the network's name, ``n`` and ``source`` (a free-text origin).  ``path`` must end
    in ``.npz``.  Returns the path written.
    """
    p = Path(os.path.expanduser(os.fspath(path)))
    if p.suffix.lower() != ".npz":
        raise ValueError(f"save_stats: the file name must end in .npz, got {p}")
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"features: expected (N, d) with N >= 2, got shape {f.shape}")
    lg = None if logits is None else np.asarray(logits, dtype=np.float64)
    try:
        _write_npz(p, _stats_arrays(f, lg, network, source))
    except OSError as exc:
        raise ValueError(f"save_stats: cannot write {p} ({exc})") from exc
    return p


def load_stats(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a statistics ``.npz``: ``{"features", "logits", "mu", "sigma", "network", "n"}``
    (absent entries ``None``; ``mu`` / ``sigma`` are ``None`` when ``features`` are present)."""
    p = Path(os.path.expanduser(os.fspath(path)))
    if not p.is_file():
        raise ValueError(f"path: {p} is not a file")
    with _open_npz(p, "path") as z:
        if "features" not in z.files and "mu" not in z.files:
            raise ValueError(f"path: {p} is not a statistics file (no 'features' or 'mu'; found {z.files})")
        return _read_stats(z, "path", p)


# --------------------------------------------------------------------------- features
def _image_features(side: _Side, net: nn.Module, n: int | None, batch_size: int, device: torch.device,
                    resolution: int | None, cache_dir: Path | None) -> None:
    assert side.count is not None
    n_take = side.count if n is None else min(n, side.count)
    if n_take < 2:
        raise ValueError(f"{side.arg}: need at least 2 images for FID/KID, {side.path} gives {n_take}")
    name = str(getattr(net, "name", type(net).__name__))
    cache = None
    if cache_dir is not None:
        cache = cache_dir / f"features_{_content_key(side, name, device, resolution, n_take)}.npz"
        if cache.is_file():
            try:
                st = load_stats(cache)
            except ValueError:
                st = None  # a corrupt cache file is recomputed and replaced
            if st is not None and st["network"] == name and st["features"] is not None \
                    and len(st["features"]) == n_take:
                side.features, side.logits, side.cached = st["features"], st["logits"], True
                return
    try:
        feats, logits = real_features(_dataset(side, resolution), net, n_take, batch_size, side.seed, device)
    except ValueError as exc:
        msg = str(exc)
        raise ValueError(msg if msg.startswith(f"{side.arg}: ") else f"{side.arg}: {msg}") from exc
    side.features, side.logits = feats, logits
    if cache is not None:
        side.cached = False
        try:
            _write_npz(cache, _stats_arrays(feats, logits, name, str(side.path)))
        except OSError as exc:
            raise ValueError(f"cache_dir: cannot write {cache} ({exc})") from exc


def _run_features(side: _Side, net: nn.Module, n: int, batch_size: int, device: torch.device) -> None:
    from ..train import load_generator, load_run_config

    try:
        cfg = load_run_config(side.path)
        G = load_generator(side.path, ema=True, device=device)
    except ValueError as exc:
        raise ValueError(f"{side.arg}: {exc}") from exc
    lat = cfg.get("latent") or {}
    dim = getattr(G, "latent_dim", None) or lat.get("dim")
    dist = lat.get("distribution", "normal")
    if not isinstance(dim, int) or dim < 1:
        raise ValueError(f"{side.arg}: the run {side.path} records no latent size (latent.dim)")
    if n < 2:
        raise ValueError(f"n: need at least 2 samples of the run {side.path}, got {n}")
    side.features, side.logits = generated_features(G, net, n, batch_size, dim, dist, side.seed, device)
    side.count = n


def _moments(side: _Side) -> tuple[np.ndarray, np.ndarray]:
    if side.features is not None:
        return _mean_cov(side.features)
    assert side.mu is not None and side.sigma is not None
    return side.mu, side.sigma


def _dim(side: _Side) -> int:
    return int(side.features.shape[1] if side.features is not None else side.mu.shape[0])  # type: ignore[union-attr]


def _count(side: _Side) -> int | None:
    return int(len(side.features)) if side.features is not None else side.count


def _check_flag(v: Any, name: str) -> bool | None:
    if v is not None and not isinstance(v, bool):
        raise ValueError(f"{name}: expected True, False or None (auto), got {v!r}")
    return v


def _device(device: Any) -> torch.device:
    try:
        d = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device: not a torch device ({device!r}: {exc})") from None
    if d.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device: {device!r} requested but CUDA is not available")
    return d


# --------------------------------------------------------------------------- compare
def compare(a: str | os.PathLike[str], b: str | os.PathLike[str] | None, *, fid: bool | None = None,
            kid: bool | None = None, inception_score: bool | None = None, feature_network: str = "auto",
            n: int | None = None, batch_size: int = 100, kid_subsets: int = 100, kid_subset_size: int = 1000,
            is_splits: int = 10, resolution: int | None = None, seed: int = 0, device: str | torch.device = "cpu",
            save_stats: str | os.PathLike[str] | None = None, cache_dir: str | os.PathLike[str] | None = None,
            inception_weights: str | os.PathLike[str] | None = None,
            lenet_weights: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """FID, KID and IS between the images (or statistics, or run) at ``a`` and at ``b`` (C28-C30).

    ``a``, ``b``: paths, each an image folder, an image ``.npz``, a statistics ``.npz`` or a
    training run folder (see the module docstring).  ``b = None`` computes only side ``a``
    (its IS, and its statistics when ``save_stats`` is given).

    ``fid``, ``kid``, ``inception_score``: ``None`` (default) = computed when possible (FID and KID
    when both sides are given and, for KID, both have features; IS for each side with
    classifier logits); ``True`` = required (``ValueError`` when impossible); ``False`` = skipped.
    ``feature_network``: ``auto`` (Inception when ``inception_weights`` / ``$GANDIV_INCEPTION``
    names the weight file, else the fallback), ``inception``, ``fallback``, ``lenet-mnist5k``.
    ``n``: at most ``n`` images per image side; the sample count of a run side (module
    docstring).  ``batch_size``: images per network call.  ``kid_subsets``, ``kid_subset_size``:
    KID's subsets (torch-fidelity's defaults 100 x 1000; the size is capped at the smaller side).
    ``is_splits``: IS splits (capped at n).  ``resolution``: resize every image of an image side
    to R x R (centre square); ``None`` keeps their size (all images of a folder must then agree).
    ``seed``: side ``a`` uses ``seed``, side ``b`` ``seed + 1`` (subset / latent codes); KID subsets
    use ``seed``.  ``device``: where the networks run.  ``save_stats``: an ``.npz`` path that
    receives side ``a``'s statistics (:func:`write_stats`).  ``cache_dir``: a folder caching
    image-side features by content.  ``inception_weights``, ``lenet_weights``: weight files.

    Returns a dict: ``fid``; ``kid_mean``, ``kid_std``; ``is_a_mean``, ``is_a_std``, ``is_b_mean``,
    ``is_b_std`` (each only when computed); ``n_a``, ``n_b``; ``kind_a``, ``kind_b`` (folder /
    images / stats / run); ``path_a``, ``path_b``; ``kid_subsets``, ``kid_subset_size`` (used) and
    ``kid_subset_size_requested``; ``is_splits``; ``feature_network`` (name), ``feature_dim``;
    ``device``; ``seed``; ``cached_a``, ``cached_b`` (``True`` / ``False`` with ``cache_dir``, else
    ``None``); ``stats_file`` (the path written, or ``None``); ``notes`` (list of sentences:
    caps, skipped scores).  Bad input raises ``ValueError`` naming the argument.
    """
    fid, kid, inception_score = (_check_flag(v, nm) for v, nm in
                                 ((fid, "fid"), (kid, "kid"), (inception_score, "inception_score")))
    if feature_network not in FEATURE_NETWORKS:
        raise ValueError(f"feature_network: expected one of {list(FEATURE_NETWORKS)}, got {feature_network!r}")
    if n is not None:
        n = check_int(n, "n", minimum=2)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    kid_subsets = check_int(kid_subsets, "kid_subsets", minimum=1)
    kid_subset_size = check_int(kid_subset_size, "kid_subset_size", minimum=2)
    is_splits = check_int(is_splits, "is_splits", minimum=1)
    if resolution is not None:
        resolution = check_int(resolution, "resolution", minimum=1)
    seed = check_seed(seed)
    if seed + 1 >= 2 ** 63:
        raise ValueError(f"seed: must be < 2**63 - 1 (side b uses seed + 1), got {seed}")
    dev = _device(device)
    if b is None and (fid or kid):
        raise ValueError("b: FID and KID compare two inputs; b is missing")
    stats_path = None
    if save_stats is not None:
        stats_path = Path(os.path.expanduser(os.fspath(save_stats)))
        if stats_path.suffix.lower() != ".npz":
            raise ValueError(f"save_stats: the file name must end in .npz, got {stats_path}")
    cache = Path(os.path.expanduser(os.fspath(cache_dir))) if cache_dir is not None else None
    if cache is not None and cache.exists() and not cache.is_dir():
        raise ValueError(f"cache_dir: {cache} exists and is not a folder")

    sides = [_resolve(a, "a", seed)] + ([] if b is None else [_resolve(b, "b", seed + 1)])
    notes: list[str] = []

    # the network: needed unless every side is a statistics file and the name is left to them
    net: nn.Module | None = None
    if any(s.kind != "stats" for s in sides) or feature_network != "auto":
        net = build_feature_network({"feature_network": feature_network, "inception_weights": inception_weights,
                                     "lenet_weights": lenet_weights}, dev)
    net_name = str(getattr(net, "name", type(net).__name__)) if net is not None else None
    if inception_score and net is not None and not getattr(net, "has_logits", False):
        raise ValueError(f"inception_score: the feature network {net_name!r} has no classifier head; use "
                         f"inception or lenet-mnist5k")
    origin = f"feature_network={feature_network!r} gives"
    for s in sides:
        if s.kind != "stats":
            continue
        if s.network is None:
            notes.append(f"{s.arg}: {s.path} names no feature network; assumed to be "
                         f"{net_name or 'the same as the other side'}")
        elif net_name is None:
            net_name, origin = s.network, f"{s.path} was computed with"
        elif s.network != net_name:
            raise ValueError(f"{s.arg}: the statistics in {s.path} were computed with {s.network!r}, but "
                             f"{origin} {net_name!r}; both sides need one feature network")

    # features
    for s in sides:
        if s.kind in ("folder", "images"):
            assert net is not None
            _image_features(s, net, n, batch_size, dev, resolution, cache)
    for s, other in zip(sides, sides[::-1]):
        if s.kind == "run":
            assert net is not None
            m = n if n is not None else (other.count if other is not s and other.kind != "run" and other.count
                                         else int(EVAL_DEFAULTS["n"]))
            _run_features(s, net, int(m), batch_size, dev)
    for s in sides:
        if s.count is not None and s.count < 2:
            raise ValueError(f"{s.arg}: need at least 2 images, {s.path} gives {s.count}")
    dims = {_dim(s) for s in sides}
    if len(dims) > 1:
        raise ValueError(f"a, b: the feature dimensions differ ({_dim(sides[0])} vs {_dim(sides[1])}); "
                         f"both sides need one feature network")

    out: dict[str, Any] = {}
    sa = sides[0]
    sb = sides[1] if len(sides) > 1 else None
    if sb is not None and fid is not False:
        if sa.features is not None and sb.features is not None:
            out["fid"] = float(dv.fid(sa.features, sb.features))
        else:
            (ma, Sa), (mb, Sb) = _moments(sa), _moments(sb)
            out["fid"] = float(dv.frechet_distance(ma, Sa, mb, Sb))
    subset = None
    if sb is not None and kid is not False:
        lacking = [s for s in sides if s.features is None]
        if lacking:
            msg = f"{lacking[0].arg}: {lacking[0].path} holds mean/covariance only; KID needs the features"
            if kid:
                raise ValueError(msg)
            notes.append(f"KID skipped ({msg})")
        else:
            na, nb = len(sa.features), len(sb.features)  # type: ignore[arg-type]
            subset = min(kid_subset_size, na, nb)
            if subset < kid_subset_size:
                notes.append(f"KID subset size capped at {subset} (requested {kid_subset_size}; the smaller side "
                             f"has {min(na, nb)} images)")
            r = dv.kid(sa.features, sb.features, subsets=kid_subsets, subset_size=subset, seed=seed)
            out["kid_mean"], out["kid_std"] = float(r.mean), float(r.std)
    if inception_score is not False:
        has_head = bool(getattr(net, "has_logits", False)) if net is not None else None
        for s in sides:
            if s.logits is None:
                if inception_score:
                    why = (f"the feature network {net_name!r} has no classifier head" if has_head is False
                           else f"{s.path} holds no logits")
                    raise ValueError(f"inception_score: {s.arg}: {why}")
                continue
            splits = min(is_splits, len(s.logits))
            r = dv.inception_score(s.logits, splits=splits)
            out[f"is_{s.arg}_mean"], out[f"is_{s.arg}_std"] = float(r.mean), float(r.std)
    if stats_path is not None:
        if sa.features is None:
            raise ValueError(f"save_stats: {sa.path} holds mean/covariance only; nothing to save beyond the file itself")
        write_stats(stats_path, sa.features, sa.logits, net_name or "", str(sa.path))

    out.update(
        n_a=_count(sa), n_b=None if sb is None else _count(sb),
        kind_a=sa.kind, kind_b=None if sb is None else sb.kind,
        path_a=str(sa.path), path_b=None if sb is None else str(sb.path),
        kid_subsets=kid_subsets, kid_subset_size=subset, kid_subset_size_requested=kid_subset_size,
        is_splits=is_splits, feature_network=net_name, feature_dim=dims.pop(), device=str(dev), seed=seed,
        cached_a=sa.cached, cached_b=None if sb is None else sb.cached,
        stats_file=None if stats_path is None else str(stats_path), notes=notes,
    )
    return out

