"""FID, KID and IS of a generator against a dataset, streamed in batches (C28, C29, C30).

``evaluate_generator`` draws ``n`` latent codes, generates images in batches, converts them
to uint8 exactly like the data (``round((x + 1) * 127.5)`` clipped to 0..255), and passes real
and generated uint8 batches through the same feature network; only the features are kept.
The statistics are computed by :mod:`divergences` (``dv.fid``, ``dv.kid``,
``dv.inception_score``), so the numbers here and in user analyses come from one estimator.

* FID (C28): ``||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^{1/2})`` on the features;
  biased at finite n, so the sample counts are always returned with it.
* KID (C29): unbiased MMD^2 with the cubic kernel ``(x.y/d + 1)^3``, mean and standard
  deviation over ``kid_subsets`` random subsets of ``kid_subset_size`` (torch-fidelity's
  defaults 100 x 1000, capped by the sample sizes; the cap is recorded).
* IS (C30): ``exp(E_x KL(p(y|x) || p(y)))`` over ``is_splits`` splits, only with a network that
  has class logits (Inception, LeNet); the fallback has none and the result says so.

Feature network (``eval.feature_network``): ``inception`` (needs the weight file, see
:mod:`gans.metrics.inception`), ``fallback`` (:class:`gans.metrics.fallback.RandomConvFeatures`),
``lenet-mnist5k`` (:mod:`gans.metrics.lenet`: the LeNet-5 trained here on the ``mnist5k``
digits, 84 penultimate features for FID / KID and 10 digit logits for IS, the MNIST
convention of Bińkowski et al. 2018; weights ``eval.lenet_weights``, default the committed
file) or ``auto`` (Inception when a weight path is configured, else the fallback; never the
LeNet, which is meant for digits only).  Every result carries ``feature_network`` (its name,
e.g. ``lenet-mnist5k (trained here, seed 0, held-out acc 98.1 %)``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

import divergences as dv

from ..data.latent import sample_latent
from .fallback import RandomConvFeatures
from .inception import load_fid_inception, resolve_weights_path
from .lenet import load_lenet_mnist5k

__all__ = ["EVAL_DEFAULTS", "EVAL_SETTINGS", "EvalSettings", "FEATURE_NETWORKS", "build_feature_network",
           "evaluate_generator", "generated_features", "real_features", "sample_uint8"]

@dataclasses.dataclass(frozen=True)
class EvalSettings:
    """The ``eval`` keys :func:`evaluate_generator` reads, each with its default, stated once here.
    :func:`gans.config.validate` accepts exactly these fields (plus ``every``, ``function``,
    ``data``) for ``eval.function: gans.metrics:evaluate_generator``; values are checked when
    the evaluation runs."""

    n: int = 2000                       # generated images (and real images, unless n_real is set)
    n_real: int | None = None           # real images (default: n, capped by the dataset size)
    batch_size: int = 100
    feature_network: str = "auto"       # auto | inception | fallback | lenet-mnist5k
    inception_weights: str | None = None  # path; else $GANDIV_INCEPTION
    lenet_weights: str | None = None    # path; else the committed gans/metrics/weights/lenet_mnist5k.pt
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    is_splits: int = 10
    fallback_seed: int = 0
    feature_cache: str | None = None    # folder to keep real-data features between evaluations / runs
    latent: dict[str, Any] | None = None  # {dim, distribution}; default generator.latent_dim, normal


# the settings of this module's evaluator, found by gans.config (one dataclass per evaluator module)
EVAL_SETTINGS = EvalSettings
# the same defaults as a dict (derived from EvalSettings, not restated)
EVAL_DEFAULTS: dict[str, Any] = dataclasses.asdict(EvalSettings())


FEATURE_NETWORKS = ("auto", "inception", "fallback", "lenet-mnist5k")


def _cfg(eval_cfg: Mapping[str, Any] | None) -> dict[str, Any]:
    cfg = dict(EVAL_DEFAULTS)
    for k, v in (eval_cfg or {}).items():
        cfg[k] = v
    for key in ("n", "batch_size", "kid_subsets", "kid_subset_size", "is_splits"):
        v = cfg[key]
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"eval.{key}: expected a positive integer, got {v!r}")
    if cfg["n"] < 2:
        raise ValueError(f"eval.n: need at least 2 samples for FID/KID, got {cfg['n']}")
    if cfg["feature_network"] not in FEATURE_NETWORKS:
        raise ValueError(f"eval.feature_network: expected one of {list(FEATURE_NETWORKS)}, got "
                         f"{cfg['feature_network']!r}")
    return cfg


def build_feature_network(eval_cfg: Mapping[str, Any] | None, device: str | torch.device) -> nn.Module:
    """The feature network named by ``eval.feature_network`` (see the module docstring).

    ``inception`` without a weight file raises ``ValueError``, as does ``lenet-mnist5k`` when
    its file is missing or fails verification; ``auto`` falls back silently
    only in the sense that the returned network's ``name`` says which one it is.
    """
    cfg = _cfg(eval_cfg)
    choice = cfg["feature_network"]
    if choice == "lenet-mnist5k":
        return load_lenet_mnist5k(cfg["lenet_weights"], device)
    path = resolve_weights_path(cfg["inception_weights"])
    if choice == "inception" or (choice == "auto" and path is not None):
        return load_fid_inception(path, device)
    return RandomConvFeatures(int(cfg["fallback_seed"])).to(device)


def sample_uint8(generator: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Generated images as uint8: ``round((G(z) + 1) * 127.5)`` clipped to [0, 255]; 1 channel -> 3."""
    x = generator(z)
    if x.ndim != 4:
        raise ValueError(f"generator: expected image output (N, C, H, W), got {tuple(x.shape)}")
    x = ((x.float() + 1.0) * 127.5).round_().clamp_(0, 255).to(torch.uint8)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return x


def _latent(eval_cfg: Mapping[str, Any], generator: nn.Module) -> tuple[int, str]:
    lat = eval_cfg.get("latent") or {}
    dim = lat.get("dim", eval_cfg.get("latent_dim", getattr(generator, "latent_dim", None)))
    dist = lat.get("distribution", eval_cfg.get("latent_distribution", "normal"))
    if not isinstance(dim, int) or dim < 1:
        raise ValueError(f"eval.latent.dim: the generator's latent size is unknown (got {dim!r}); "
                         f"pass eval.latent = {{dim, distribution}}")
    if dist not in ("normal", "uniform"):
        raise ValueError(f"eval.latent.distribution: expected normal or uniform, got {dist!r}")
    return dim, dist


def _latent_batches(n: int, batch: int, dim: int, dist: str, seed: int,
                    device: torch.device) -> Iterator[torch.Tensor]:
    g = torch.Generator(device="cpu").manual_seed(int(seed))
    for start in range(0, n, batch):
        m = min(batch, n - start)
        yield sample_latent(m, dim, dist, g).to(device)


@torch.no_grad()
def _features(net: nn.Module, batches: Iterator[torch.Tensor], device: torch.device
              ) -> tuple[np.ndarray, np.ndarray | None]:
    feats, logits = [], []
    for x in batches:
        f, lg = net(x.to(device, non_blocking=True))
        feats.append(f.double().cpu())
        if lg is not None:
            logits.append(lg.double().cpu())
    f_all = torch.cat(feats).numpy()
    return f_all, (torch.cat(logits).numpy() if logits else None)


def real_features(dataset: Dataset, net: nn.Module, n: int, batch_size: int, seed: int,
                  device: str | torch.device) -> tuple[np.ndarray, np.ndarray | None]:
    """Features (and logits) of ``min(n, len(dataset))`` real images drawn without replacement."""
    device = torch.device(device)
    total = len(dataset)  # type: ignore[arg-type]
    if total < 2:
        raise ValueError(f"dataset: need at least 2 images, got {total}")
    idx = np.random.default_rng([int(seed), 99]).permutation(total)[:min(n, total)]

    def batches() -> Iterator[torch.Tensor]:
        for s in range(0, len(idx), batch_size):
            items = [dataset[int(i)] for i in idx[s:s + batch_size]]
            x = torch.stack([it[0] if isinstance(it, (tuple, list)) else it for it in items])
            if x.dtype != torch.uint8:
                raise ValueError(f"dataset: items must be uint8 images, got {x.dtype}")
            if x.shape[1] == 1:
                x = x.expand(-1, 3, -1, -1)
            yield x

    return _features(net, batches(), device)


def generated_features(generator: nn.Module, net: nn.Module, n: int, batch_size: int, dim: int,
                       dist: str, seed: int, device: str | torch.device
                       ) -> tuple[np.ndarray, np.ndarray | None]:
    """Features (and logits) of ``n`` generated images, streamed in batches (eval mode)."""
    device = torch.device(device)
    was_training = generator.training
    generator.eval()
    try:
        with torch.no_grad():
            return _features(net, (sample_uint8(generator, z) for z in
                                   _latent_batches(n, batch_size, dim, dist, seed, device)), device)
    finally:
        generator.train(was_training)


def _cached_real(folder: str | None, key: str, dataset: Dataset, net: nn.Module, n: int,
                 batch_size: int, seed: int, device: torch.device) -> tuple[np.ndarray, np.ndarray | None]:
    """Real features, stored under ``eval.feature_cache`` (a folder) when set, keyed by a hash of
    the network, dataset name and size, sample count and seed."""
    if not folder:
        return real_features(dataset, net, n, batch_size, seed, device)
    import hashlib
    from pathlib import Path

    path = Path(folder) / f"real_{hashlib.sha256(key.encode()).hexdigest()[:20]}.npz"
    if path.is_file():
        with np.load(path) as z:
            return z["features"], (z["logits"] if "logits" in z.files else None)
    feats, logits = real_features(dataset, net, n, batch_size, seed, device)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    arrays = {"features": feats} if logits is None else {"features": feats, "logits": logits}
    np.savez(tmp, **arrays)
    tmp.replace(path)
    return feats, logits


def _pair(value: Any) -> tuple[float, float]:
    if isinstance(value, Mapping):
        return float(value["mean"]), float(value["std"])
    a, b = value
    return float(a), float(b)


def evaluate_generator(generator: nn.Module, dataset: Dataset, eval_cfg: Mapping[str, Any] | None,
                       device: str | torch.device, seed: int,
                       cache: MutableMapping[str, Any] | None = None,
                       feature_net: nn.Module | None = None) -> dict[str, Any]:
    """FID, KID (mean, std) and IS of ``generator`` against ``dataset``; claims C28-C30.

    ``eval_cfg`` keys: see :data:`EVAL_DEFAULTS`, plus ``latent: {dim, distribution}`` (default:
    ``generator.latent_dim`` and ``normal``; pass the training config's ``latent`` section).
    ``seed`` fixes the latent codes, the real subset and the KID subsets.  ``cache`` (any dict
    kept by the caller between evaluations) stores the feature network and the real features
    so periodic evaluation pays for them once.  ``feature_net`` replaces the configured network
    (any module mapping uint8 images to ``(features, logits or None)`` with a ``name``).

    Returns ``fid``, ``kid_mean``, ``kid_std``, ``is_mean``/``is_std`` (only with Inception or
    LeNet logits), ``n_real``, ``n_fake``, ``kid_subsets``, ``kid_subset_size`` (after capping),
    ``feature_network`` (name) and ``feature_dim``.
    """
    cfg = _cfg(eval_cfg)
    device = torch.device(device)
    cache = {} if cache is None else cache
    if feature_net is not None:
        key_net = f"net:custom:{getattr(feature_net, 'name', type(feature_net).__name__)}:{id(feature_net)}"
        cache[key_net] = feature_net
    else:
        key_net = (f"net:{cfg['feature_network']}:{cfg['inception_weights']}:{cfg['lenet_weights']}:"
                   f"{cfg['fallback_seed']}:{device}")
        if key_net not in cache:
            cache[key_net] = build_feature_network(cfg, device)
    net = cache[key_net]
    n_real_req = int(cfg["n_real"] or cfg["n"])
    info = getattr(dataset, "info", {}) or {}
    key_real = f"real:{key_net}:{info.get('name')}:{info.get('description')}:{len(dataset)}:{n_real_req}:{seed}"  # type: ignore[arg-type]
    if key_real not in cache:
        cache[key_real] = _cached_real(cfg.get("feature_cache"), key_real, dataset, net, n_real_req,
                                       int(cfg["batch_size"]), seed, device)
    fr, _ = cache[key_real]
    dim, dist = _latent(cfg, generator)
    fg, logits = generated_features(generator, net, int(cfg["n"]), int(cfg["batch_size"]), dim, dist,
                                    seed + 1, device)
    subset = int(min(cfg["kid_subset_size"], len(fr), len(fg)))
    out: dict[str, Any] = {"fid": float(dv.fid(fr, fg))}
    out["kid_mean"], out["kid_std"] = _pair(dv.kid(fr, fg, subsets=int(cfg["kid_subsets"]),
                                                  subset_size=subset, seed=int(seed)))
    if logits is not None:
        splits = int(min(cfg["is_splits"], len(logits)))
        out["is_mean"], out["is_std"] = _pair(dv.inception_score(logits, splits=splits))
    out.update(n_real=int(len(fr)), n_fake=int(len(fg)), kid_subsets=int(cfg["kid_subsets"]),
               kid_subset_size=subset, feature_network=str(getattr(net, "name", type(net).__name__)), feature_dim=int(fr.shape[1]))
    return out
