"""Finding samples (C35): latent codes whose generated images match a target set in MMD^2.

Given a trained generator G and a target set {X_i} (here: ``k`` real images of the run's
dataset), search codes Z = {z_j}, j = 1..m, minimising

    MMD^2({X_i}, {G(z_j)})  (biased V-statistic, Gaussian kernel on pixels in [-1, 1]),

as in the content-addressable generation of Jitkrittum et al. (ICML 2019) and seed 000's
"finding samples".  The V-statistic is used because it is non-negative and is zero exactly
when the two empirical distributions coincide.  The bandwidth ``h`` is fixed before the
search: the median pairwise distance of the targets and the initial samples.

Codes are kept in the prior's typical set.  The search variable is ``w`` in R^d, projected
after every Adam step onto the Gaussian typical shell ``||w|| = sqrt(d)`` (where N(0, I_d)
concentrates: ``||w||/sqrt(d) = 1 + O(d^-1/2)``); the code is ``z = w`` for an N(0, I) prior and
``z = erf(w / sqrt 2) = 2 Phi(w) - 1`` for a U[-1, 1]^d prior (the probability integral
transform: ``w ~ N(0, I)`` gives ``z ~ U[-1, 1]^d`` exactly).  Clipping ``z`` to the box instead
lets codes run into the corners, ``|z_i| = 1`` for many i, which are far from any code the
generator saw in training (there ``||z||^2/d ~ 1/3``) and give saturated artefacts.

Evidence drawn in the figure:

* MMD^2 during the search (best of ``restarts``) against the same statistic for random codes
  (mean +- std over 20 draws);
* per target: the RMS pixel distance to its found image, the found set being matched one to
  one to the targets by the optimal assignment (Hungarian algorithm on RMS distances), next to
  the same for random codes and for a per-target inversion ``argmin_z ||G(z) - X_i||^2`` (same
  parametrisation; the closest the generator gets to each target, a reference for what G can
  render at all);
* the mean image of every set.  For a bandwidth much larger than the distances,
  ``k(x, y) = 1 - ||x - y||^2 / (2 h^2) + O(h^-4)`` and ``MMD^2 = ||mean X - mean G(Z)||^2 / h^2
  + O(h^-4)``: with the median heuristic the search mainly matches the set's mean image and
  spread, which is what the found row takes on.

    python -m experiments.latent_search --run runs/image_quick/quick/sn_smmd --out results/figures/latent_search.png
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch

import divergences as dv
from divergences._validation import check_choice, check_int, check_positive, check_seed
from experiments.common import device_name, save_figure
from gans.data.latent import sample_latent

DISTRIBUTIONS = ("uniform", "normal")
SAT_LEVEL = 0.95        # a pixel is saturated when |x| > SAT_LEVEL (outputs in [-1, 1], tanh)
SAT_FRACTION = 0.1      # an image is flagged when more than this fraction of its pixels is saturated


def _draw(n: int, dim: int, dist: str, g: torch.Generator) -> torch.Tensor:
    """``n`` codes from the prior: U[-1, 1]^dim or N(0, I_dim)."""
    return sample_latent(n, dim, dist, g)


def _to_shell(w: torch.Tensor) -> torch.Tensor:
    """Rows of ``w`` rescaled to norm ``sqrt(d)``: the typical shell of N(0, I_d)."""
    return w * (math.sqrt(w.shape[1]) / w.norm(dim=1, keepdim=True).clamp_min(1e-12))


def code_of(w: torch.Tensor, dist: str) -> torch.Tensor:
    """The latent code of search variable ``w``: ``w`` (normal prior) or ``erf(w / sqrt 2)`` (uniform
    prior; the probability integral transform ``2 Phi(w) - 1``, so N(0, I) maps to U[-1, 1]^d)."""
    check_choice(dist, "dist", DISTRIBUTIONS)
    return torch.erf(w / math.sqrt(2.0)) if dist == "uniform" else w


def _check_search_args(G: torch.nn.Module, targets: torch.Tensor, dim: int, dist: str, steps: int, lr: float,
                       seed: int, restarts: int) -> tuple[int, int, int, int]:
    if not isinstance(G, torch.nn.Module):
        raise ValueError(f"G: must be a torch.nn.Module, got {type(G).__name__}")
    if not isinstance(targets, torch.Tensor) or targets.ndim < 2 or len(targets) < 1:
        raise ValueError(f"targets: need a tensor (k, ...) with k >= 1 images, got "
                         f"{getattr(targets, 'shape', type(targets).__name__)}")
    if not bool(torch.isfinite(targets).all()):
        raise ValueError("targets: contains NaN or inf")
    check_choice(dist, "dist", DISTRIBUTIONS)
    check_positive(lr, "lr")
    return (check_int(dim, "dim", minimum=1), check_int(steps, "steps", minimum=1), check_seed(seed),
            check_int(restarts, "restarts", minimum=1))


def latent_search(G: torch.nn.Module, targets: torch.Tensor, m: int, dim: int, dist: str, steps: int,
                  lr: float, seed: int, restarts: int = 1) -> dict[str, object]:
    """Minimise ``MMD^2_b(targets, G(Z))`` over ``m`` codes kept in the prior's typical set (C35).

    ``MMD^2_b`` is the biased V-statistic with a Gaussian kernel on flattened pixels (Gretton et
    al. 2012, eq. 5), bandwidth fixed by the median heuristic on targets + initial samples.  Adam
    on ``w``, projected onto ``||w|| = sqrt(dim)`` after every step; codes ``z = code_of(w, dist)``
    (module docstring).  ``restarts`` independent starts; the one with the lowest final MMD^2 is
    returned.  Returns ``z`` and ``w`` (m, dim), ``curve`` (best restart), ``curves`` (all),
    ``final``, ``bandwidth`` and the random-code baseline (mean and std over 20 prior draws).
    """
    dim, steps, seed, restarts = _check_search_args(G, targets, dim, dist, steps, lr, seed, restarts)
    m = check_int(m, "m", minimum=1)
    g = torch.Generator().manual_seed(seed)
    y = targets.reshape(len(targets), -1)
    starts = [_to_shell(torch.randn(m, dim, generator=g)) for _ in range(restarts)]
    with torch.no_grad():
        x0 = G(code_of(starts[0], dist)).reshape(m, -1)
        bw = float(torch.pdist(torch.cat([y, x0])).median())
        base = [float(dv.mmd2(y, G(_draw(m, dim, dist, g)).reshape(m, -1), "gaussian", estimator="biased",
                              bandwidth=bw)) for _ in range(20)]
    best: dict[str, object] | None = None
    curves = []
    for w0 in starts:
        w = w0.clone().requires_grad_(True)
        opt = torch.optim.Adam([w], lr=lr)
        curve = []
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            loss = dv.mmd2(y, G(code_of(w, dist)).reshape(m, -1), "gaussian", estimator="biased", bandwidth=bw)
            loss.backward()
            opt.step()
            with torch.no_grad():
                w.copy_(_to_shell(w))
            curve.append(float(loss.detach()))
        with torch.no_grad():
            z = code_of(w.detach(), dist)
            final = float(dv.mmd2(y, G(z).reshape(m, -1), "gaussian", estimator="biased", bandwidth=bw))
        curve.append(final)
        curves.append(curve)
        if best is None or final < best["final"]:
            best = {"z": z, "w": w.detach().clone(), "curve": curve, "final": final}
    assert best is not None
    return {**best, "curves": curves, "bandwidth": bw, "baseline_mean": float(np.mean(base)),
            "baseline_std": float(np.std(base))}


def invert_targets(G: torch.nn.Module, targets: torch.Tensor, dim: int, dist: str, steps: int, lr: float,
                   seed: int) -> torch.Tensor:
    """Per-target inversion: one code per target minimising ``||G(z_i) - X_i||^2`` (same typical-set
    parametrisation and projected Adam as :func:`latent_search`); returns the codes (k, dim).

    A reference for how close the generator can get to each target at all; the loss of one
    code does not involve the others, so all targets are optimised in one batch.
    """
    dim, steps, seed, _ = _check_search_args(G, targets, dim, dist, steps, lr, seed, 1)
    g = torch.Generator().manual_seed(seed)
    w = _to_shell(torch.randn(len(targets), dim, generator=g)).requires_grad_(True)
    opt = torch.optim.Adam([w], lr=lr)
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = ((G(code_of(w, dist)) - targets) ** 2).flatten(1).mean(1).sum()
        loss.backward()
        opt.step()
        with torch.no_grad():
            w.copy_(_to_shell(w))
    return code_of(w.detach(), dist)


def assign(targets: torch.Tensor, images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one matching of ``images`` to ``targets`` minimising the summed RMS pixel distance.

    RMS distance ``sqrt(mean_pixels (x - y)^2)``; optimal assignment by the Hungarian algorithm
    (``scipy.optimize.linear_sum_assignment``).  Returns ``order`` (``images[order[i]]`` is matched to
    ``targets[i]``) and the matched distances (k,).
    """
    from scipy.optimize import linear_sum_assignment

    if targets.shape != images.shape or targets.ndim < 2:
        raise ValueError(f"targets, images: need equal shapes (k, ...), got {tuple(targets.shape)}, "
                         f"{tuple(images.shape)}")
    a, b = targets.reshape(len(targets), -1).double(), images.reshape(len(images), -1).double()
    dist = (torch.cdist(a, b) / math.sqrt(a.shape[1])).numpy()
    rows, cols = linear_sum_assignment(dist)
    order = cols[np.argsort(rows)]
    return order, dist[np.arange(len(a)), order]


def saturation(images: torch.Tensor) -> np.ndarray:
    """Fraction of the pixels of each image with ``|x| > SAT_LEVEL`` (k,)."""
    return (images.abs() > SAT_LEVEL).flatten(1).double().mean(1).numpy()


def _rms(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a - b) ** 2).mean().sqrt())


def _strip(imgs: torch.Tensor, mean: bool = True) -> np.ndarray:
    """The images side by side (1-px white frames), then a gap and the set's mean image."""
    tiles = list(imgs) + ([torch.full_like(imgs[0], 1.0)[:, :, :6], imgs.mean(0)] if mean else [])
    u = [((t.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8) for t in tiles]
    u = [t.expand(3, -1, -1) if t.shape[0] == 1 else t for t in u]
    return torch.cat([torch.nn.functional.pad(t, (1, 1, 1, 1), value=255) for t in u], dim=2).permute(1, 2, 0).numpy()


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    ap = argparse.ArgumentParser(prog="python -m experiments.latent_search",
                                 description="Finding samples (C35): search latent codes whose generated images "
                                             "match a target set in MMD^2, and draw the evidence.")
    ap.add_argument("--run", required=True, help="a finished gans.train run folder")
    ap.add_argument("--out", required=True)
    ap.add_argument("--targets", type=int, default=12)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--restarts", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    k = check_int(args.targets, "--targets", minimum=2)
    torch.set_num_threads(1)

    import matplotlib.pyplot as plt

    from gans.data import build_dataset, to_model_input
    from gans.train import load_generator, load_run_config

    cfg = load_run_config(args.run)
    G = load_generator(args.run, ema=True)
    ds = build_dataset(cfg["data"], cfg["seed"])
    idx = np.random.default_rng([args.seed, 35]).choice(len(ds), size=k, replace=False)
    targets = to_model_input(torch.stack([ds[int(i)] for i in idx]))
    lat = cfg["latent"]
    dist = lat.get("distribution", "normal")
    res = latent_search(G, targets, k, lat["dim"], dist, args.steps, args.lr, args.seed, args.restarts)
    z_inv = invert_targets(G, targets, lat["dim"], dist, args.steps, args.lr, args.seed)
    with torch.no_grad():
        found = G(res["z"])
        rand = G(_draw(k, lat["dim"], dist, torch.Generator().manual_seed(args.seed + 1)))
        inv = G(z_inv)
        pool = torch.cat([G(_draw(500, lat["dim"], dist, torch.Generator().manual_seed(args.seed + 2 + b)))
                          for b in range(4)])
    sat_f = saturation(found)
    n_sat_pool = int((saturation(pool) > SAT_FRACTION).sum())
    bw = res["bandwidth"]
    o_f, d_f = assign(targets, found)
    o_r, d_r = assign(targets, rand)
    d_i = np.array([_rms(t, x) for t, x in zip(targets, inv)])
    mmd_inv = float(dv.mmd2(targets.reshape(k, -1), inv.reshape(k, -1), "gaussian", estimator="biased",
                            bandwidth=bw))
    mean_f, mean_r = _rms(targets.mean(0), found.mean(0)), _rms(targets.mean(0), rand.mean(0))
    std = {n: float(x.flatten(1).std(1).mean()) for n, x in (("t", targets), ("f", found), ("r", rand))}

    fig = plt.figure(figsize=(13, 6.2))
    outer = fig.add_gridspec(1, 2, width_ratios=[2.15, 1], wspace=0.16)
    left = outer[0].subgridspec(4, 1, hspace=0.25)
    right = outer[1].subgridspec(2, 1, hspace=0.5)
    rows = ((f"targets X\ncontrast {std['t']:.2f}", targets, None),
            (f"found G(Z*)\ncontrast {std['f']:.2f}", found[o_f], sat_f[o_f]),
            (f"random G(Z)\ncontrast {std['r']:.2f}", rand[o_r], None),
            ("per-target\ninversion", inv, None))
    for r, (label, imgs, flag) in enumerate(rows):
        ax = fig.add_subplot(left[r])
        ax.imshow(_strip(imgs), interpolation="nearest")
        if flag is not None:
            tile = imgs.shape[-1] + 2
            for j in np.flatnonzero(flag > SAT_FRACTION):
                ax.add_patch(plt.Rectangle((j * tile - 0.5, -0.5), tile, tile, fill=False, ec="red", lw=2))
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(label, fontsize=8.5)
        if r == 0:
            ax.set_title("column i: target i and the image matched to it (optimal assignment); last tile: the row's "
                         "mean image", fontsize=8.5)
    ax = fig.add_subplot(right[0])
    for c in res["curves"]:
        if c is not res["curve"]:
            ax.plot(np.arange(len(c)), c, color="C0", lw=0.8, alpha=0.35)
    ax.plot(np.arange(len(res["curve"])), res["curve"], color="C0", label=f"search, best of {args.restarts} starts")
    ax.axhline(res["baseline_mean"], color="C3", ls="--", label="random codes (mean ± std, 20 draws)")
    ax.axhspan(res["baseline_mean"] - res["baseline_std"], res["baseline_mean"] + res["baseline_std"],
               color="C3", alpha=0.15)
    ax.axhline(mmd_inv, color="C2", ls=":", label="per-target inversion set")
    ax.set_xlabel("optimisation step", fontsize=8.5)
    ax.set_ylabel("MMD² to the targets", fontsize=8.5)
    ax.set_ylim(0, 1.6 * (res["baseline_mean"] + res["baseline_std"]))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7.5, loc="upper right", ncol=1)
    ax.set_title(f"MMD²: found {res['final']:.3f}, random {res['baseline_mean']:.3f} ± {res['baseline_std']:.3f}",
                 fontsize=9)
    ax = fig.add_subplot(right[1])
    i = np.arange(1, k + 1)
    ax.plot(i, d_r, "s", color="C3", ms=5, label="random")
    ax.plot(i, d_f, "o", color="C0", ms=5, label="found")
    ax.plot(i, d_i, "^", color="C2", ms=5, label="inversion")
    ax.set_ylim(0, 1.35 * max(d_r.max(), d_f.max(), d_i.max()))
    ax.set_xticks(i)
    ax.set_xlabel("target i", fontsize=8.5)
    ax.set_ylabel("RMS pixel distance to target i", fontsize=8.5)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7.5, loc="upper right", ncol=3, columnspacing=0.8, handletextpad=0.3)
    ax.set_title(f"per target: found {d_f.mean():.3f}, random {d_r.mean():.3f} (mean RMS)", fontsize=9)
    ax.text(0.02, 0.03, f"mean image to targets' mean: found {mean_f:.3f}, random {mean_r:.3f}", fontsize=7.5,
            transform=ax.transAxes)
    caption = (f"C35: {k} latent codes found by minimising MMD² between {k} target images and their generated images "
               f"(Adam, {args.steps} steps, lr {args.lr:g}, best of {args.restarts} starts; codes kept in the prior's "
               f"typical set), with the EMA generator of run {Path(args.run).name} "
               f"({cfg['train']['iterations']} generator iterations, loss {cfg['loss']['name']}). "
               f"Data: {ds.info['name']} ({ds.info['description']}). Kernel: Gaussian on pixels, bandwidth "
               f"{bw:.2f} (median heuristic, fixed). Distances: RMS over pixels in [-1, 1]; contrast: mean per-image "
               f"pixel sd. Red frame: more than "
               f"{SAT_FRACTION:.0%} of the pixels saturated (|x| > {SAT_LEVEL:g}); {int((sat_f > SAT_FRACTION).sum())} "
               f"of the {k} found images, {n_sat_pool} of {len(pool)} images at random codes. No feature network. "
               f"Device: {device_name('cpu')}.")
    fig.subplots_adjust(left=0.055, right=0.99, top=0.95)
    save_figure(fig, args.out, caption)
    print(f"MMD^2 found {res['final']:.5f}, random {res['baseline_mean']:.5f} ± {res['baseline_std']:.5f}, "
          f"inversion set {mmd_inv:.5f}; per-target RMS found {d_f.mean():.4f}, random {d_r.mean():.4f}, "
          f"inversion {d_i.mean():.4f}; mean-image RMS found {mean_f:.4f}, random {mean_r:.4f}; "
          f"pixel sd targets {std['t']:.3f} found {std['f']:.3f} random {std['r']:.3f}; saturated found "
          f"{int((sat_f > SAT_FRACTION).sum())}/{k}, random {n_sat_pool}/{len(pool)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
