"""Finding samples (C35): latent codes whose generated images match a target set in MMD^2.

Given a trained generator G and a target set {X_i} (here: ``k`` real images of the run's
dataset), search codes Z = {z_j}, j = 1..m, minimising

    MMD^2({X_i}, {G(z_j)})  (biased V-statistic, Gaussian kernel on pixels in [-1, 1]),

as in the content-addressable generation of Jitkrittum et al. (ICML 2019) and seed 000's
"finding samples".  The V-statistic is used because it is non-negative and is zero exactly
when the two empirical distributions coincide.  The bandwidth is fixed before the search: the
median pairwise distance of the targets and the initial samples.  Codes live where the
generator was trained (``U[-1, 1]^d`` is kept by clipping after each Adam step; ``N(0, I)``
codes are left free).  The baseline is the same statistic for freshly drawn random codes.

    python -m experiments.latent_search --run runs/image/quick/sn_smmd --out results/figures/latent_search.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

import divergences as dv
from experiments.common import device_name, save_figure


def _draw(n: int, dim: int, dist: str, g: torch.Generator) -> torch.Tensor:
    return torch.rand(n, dim, generator=g) * 2 - 1 if dist == "uniform" else torch.randn(n, dim, generator=g)


def latent_search(G: torch.nn.Module, targets: torch.Tensor, m: int, dim: int, dist: str, steps: int,
                  lr: float, seed: int) -> dict[str, object]:
    """Minimise ``MMD^2_b(targets, G(Z))`` over ``m`` codes with Adam; targets are float in [-1, 1].

    Returns the codes, the loss curve, the bandwidth and the random-code baseline (mean and
    std over 20 draws).
    """
    g = torch.Generator().manual_seed(seed)
    z = _draw(m, dim, dist, g).requires_grad_(True)
    y = targets.reshape(len(targets), -1)
    with torch.no_grad():
        x0 = G(z).reshape(m, -1)
        pooled = torch.cat([y, x0])
        dists = torch.cdist(pooled, pooled)
        bw = float(dists[torch.triu(torch.ones_like(dists, dtype=torch.bool), 1)].median())
        base = [float(dv.mmd2(y, G(_draw(m, dim, dist, g)).reshape(m, -1), "gaussian", estimator="biased",
                              bandwidth=bw)) for _ in range(20)]
    opt = torch.optim.Adam([z], lr=lr)
    curve = []
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = dv.mmd2(y, G(z).reshape(m, -1), "gaussian", estimator="biased", bandwidth=bw)
        loss.backward()
        opt.step()
        if dist == "uniform":
            with torch.no_grad():
                z.clamp_(-1, 1)
        curve.append(float(loss.detach()))
    with torch.no_grad():
        final = float(dv.mmd2(y, G(z).reshape(m, -1), "gaussian", estimator="biased", bandwidth=bw))
    return {"z": z.detach(), "curve": curve, "final": final, "bandwidth": bw,
            "baseline_mean": float(np.mean(base)), "baseline_std": float(np.std(base))}


def _strip(imgs: torch.Tensor) -> np.ndarray:
    u = ((imgs.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    if u.shape[1] == 1:
        u = u.expand(-1, 3, -1, -1)
    return torch.cat([torch.nn.functional.pad(im, (1, 1, 1, 1), value=255) for im in u], dim=2).permute(1, 2, 0).numpy()


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    ap = argparse.ArgumentParser(prog="python -m experiments.latent_search")
    ap.add_argument("--run", required=True, help="a finished gans.train run folder")
    ap.add_argument("--out", required=True)
    ap.add_argument("--targets", type=int, default=12)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    import matplotlib.pyplot as plt

    from gans.data import build_dataset, to_model_input
    from gans.train import load_generator, load_run_config

    cfg = load_run_config(args.run)
    G = load_generator(args.run, ema=True)
    ds = build_dataset(cfg["data"], cfg["seed"])
    idx = np.random.default_rng([args.seed, 35]).choice(len(ds), size=args.targets, replace=False)
    targets = to_model_input(torch.stack([ds[int(i)] for i in idx]))
    lat = cfg["latent"]
    res = latent_search(G, targets, args.targets, lat["dim"], lat.get("distribution", "normal"), args.steps,
                        args.lr, args.seed)
    with torch.no_grad():
        found = G(res["z"])
        rand = G(_draw(args.targets, lat["dim"], lat.get("distribution", "normal"),
                       torch.Generator().manual_seed(args.seed + 1)))

    fig = plt.figure(figsize=(11, 4.6))
    gs = fig.add_gridspec(3, 2, width_ratios=[2.3, 1])
    for row, (label, imgs) in enumerate((("targets X", targets), ("found G(Z*)", found), ("random G(Z)", rand))):
        ax = fig.add_subplot(gs[row, 0])
        ax.imshow(_strip(imgs), interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(label, fontsize=9)
    ax = fig.add_subplot(gs[:, 1])
    ax.plot(np.arange(1, len(res["curve"]) + 1), res["curve"], color="C0", label="search (Adam)")
    ax.axhline(res["baseline_mean"], color="C3", ls="--", label="random codes (mean ± std, 20 draws)")
    ax.axhspan(res["baseline_mean"] - res["baseline_std"], res["baseline_mean"] + res["baseline_std"],
               color="C3", alpha=0.15)
    ax.set_xlabel("optimisation step")
    ax.set_ylabel("MMD² (biased, Gaussian kernel on pixels)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"final {res['final']:.4f} vs random {res['baseline_mean']:.4f}", fontsize=9)
    caption = (f"C35: {args.targets} latent codes found by minimising MMD² between {args.targets} target images and "
               f"their generated images, with the EMA generator of run {Path(args.run).name} "
               f"({cfg['train']['iterations']} generator iterations, loss {cfg['loss']['name']}). "
               f"Data: {ds.info['name']} ({ds.info['description']}). Kernel: Gaussian on pixels, bandwidth "
               f"{res['bandwidth']:.2f} (median heuristic, fixed). No feature network. Device: {device_name('cpu')}.")
    fig.tight_layout()
    save_figure(fig, args.out, caption)
    print(f"MMD^2 found {res['final']:.5f}, random {res['baseline_mean']:.5f} ± {res['baseline_std']:.5f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
