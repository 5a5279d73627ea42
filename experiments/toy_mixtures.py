"""C26, mode collapse on 2-D mixtures: every loss of experiments/train_configs/toy/ trained through
:func:`gans.train.train` on the ring of 8 and the grid of 25 Gaussians from the same seeds.

Two steps (wired by experiments/rules/toy.smk):

* ``python -m experiments.toy_mixtures run --loss nsgan --profile quick --root runs/toy_quick``
  trains that loss on both mixtures for every seed of the profile; each run is trained in
  segments (resumed between them, so the snapshots come from one uninterrupted trajectory),
  keeps 2000 generated points at each snapshot (saved as ``run/snapshot_step_XXXXXXX.npy`` as
  soon as it is taken, so that an interrupted job resumes from its last segment) and writes
  ``ROOT/MIXTURE/LOSS/seedS/summary.json`` (metrics of the final generator) and
  ``snapshots.npz``;
* ``python -m experiments.toy_mixtures plot --root runs/toy_quick --profile quick --figure
  results/figures/toy_mixtures.png --table results/tables/toy_mixtures.csv`` draws the scatter
  grid (rows: losses; columns: snapshots of each mixture, seed 0) and writes the table.

Metrics (2000 generated points, :func:`gans.data.toy.mode_statistics`): modes covered (a mode
gets at least 10 % of its fair share of the high-quality points), share of high-quality points
(within 3σ of the nearest centre), and the unbiased MMD² to 2000 fresh target samples with a
Gaussian kernel of bandwidth 0.5 (``divergences.mmd2``; a quarter of the ring radius and of the
grid spacing, so that the kernel resolves single modes).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import divergences as dv
from experiments.common import atomic_path, device_name, profile_settings, save_arrays, save_figure, train_resumable, \
    write_json, write_table
from gans.config import load_config
from gans.data import build_dataset
from gans.data.toy import mode_statistics
from gans.train import TrainingDiverged, load_generator, resume_plan

CONFIG_DIR = Path("experiments/train_configs/toy")
MIXTURES = ("ring", "grid")
N_SNAPSHOTS = 3
N_EVAL = 2000
MMD_BANDWIDTH = 0.5


def losses() -> list[str]:
    """Config stems of every toy loss (all YAML files of the toy folder but ``common``)."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml") if p.stem != "common")


def settings(profile: str) -> dict:
    """Generator steps (``iterations``) and ``seeds`` of ``profile``: section ``toy_mixtures`` of
    ``experiments/profile_settings/<profile>.yaml``, the numbers experiments/rules/toy.smk expands too."""
    return profile_settings("toy_mixtures", profile)


def snapshot_steps(iterations: int) -> list[int]:
    """``N_SNAPSHOTS`` evenly spaced generator steps ending at ``iterations``."""
    return [round(iterations * (i + 1) / N_SNAPSHOTS) for i in range(N_SNAPSHOTS)]


@torch.no_grad()
def _samples(run: Path, latent_dim: int, seed: int) -> np.ndarray:
    G = load_generator(run, ema=True)
    z = torch.randn(N_EVAL, latent_dim, generator=torch.Generator().manual_seed(10_000 + seed))
    return G(z).double().numpy()


def run_one(loss: str, mixture: str, seed: int, profile: str, out: Path) -> dict:
    """Train one (loss, mixture, seed) run and write ``summary.json`` and ``snapshots.npz``.

    Rerun after an interruption, segments whose snapshot file exists beside a checkpoint of the
    same config at or beyond that step are reused, and training resumes from the checkpoint
    (:func:`experiments.common.train_resumable`); a changed config starts over (the stale
    snapshot files are deleted first).  ``train_seconds`` / ``cpu_seconds``: the training time of
    the trajectory, also kept in ``run/train_time.json`` (snakemake deletes ``summary.json`` before
    rerunning a job).  When every segment is reused (a rerun with nothing left to train, e.g. after a
    code change elsewhere), they are those recorded there for the same loss, mixture, seed and
    iterations; otherwise this invocation's (a resumed run counts only what it trained).
    """
    torch.set_num_threads(1)
    iters = settings(profile)["iterations"]
    overrides = [f"data.name={mixture}", f"seed={seed}", "device=cpu", "train.progress=false"]
    snaps: dict[str, np.ndarray] = {}
    status, t0, c0 = "ok", time.perf_counter(), time.process_time()
    cfg = None
    run = out / "run"
    # step of a checkpoint of this very trajectory (same config hash, not beyond the last segment)
    done, _ = resume_plan(load_config(CONFIG_DIR / f"{loss}.yaml", overrides + [f"train.iterations={iters}"]), run)
    if done is None:  # starting over: snapshots of an older trajectory must not be reused
        for old in run.glob("snapshot_step_*.npy"):
            old.unlink()
    all_reused = True
    for step in snapshot_steps(iters):
        cfg = load_config(CONFIG_DIR / f"{loss}.yaml", overrides + [f"train.iterations={step}"])
        snap_file = run / f"snapshot_step_{step:07d}.npy"
        if done is not None and done >= step and snap_file.is_file():
            print(f"{run}: reusing {snap_file.name} (checkpoint at step {done})", flush=True)
            snaps[f"step_{step}"] = np.load(snap_file)
            continue
        done = None  # from here on the checkpoint is this loop's own: train (or resume) every later segment
        all_reused = False
        try:
            train_resumable(cfg, run, log=lambda m: print(m, flush=True))
        except TrainingDiverged as err:
            status = f"diverged: {err}".split(";")[0]
            break
        snaps[f"step_{step}"] = _samples(run, cfg["latent"]["dim"], seed)
        with atomic_path(snap_file) as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, snaps[f"step_{step}"])
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    key = {"loss": loss, "mixture": mixture, "seed": seed, "iterations": iters}
    timing = run / "train_time.json"
    if all_reused and timing.is_file():
        prev = json.loads(timing.read_text())
        if all(prev.get(k) == v for k, v in key.items()):
            seconds, cpu_seconds = prev["train_seconds"], prev["cpu_seconds"]
    if status == "ok":
        write_json(timing, {**key, "train_seconds": seconds, "cpu_seconds": cpu_seconds})
    ds = build_dataset(cfg["data"], seed)
    summary = {"loss": loss, "mixture": mixture, "seed": seed, "profile": profile, "iterations": iters,
               "status": status, "train_seconds": seconds, "cpu_seconds": cpu_seconds, "data": ds.info["description"]}
    if status == "ok" and np.isfinite(snaps[f"step_{iters}"]).all():
        x = snaps[f"step_{iters}"]
        summary.update(mode_statistics(torch.from_numpy(x), ds.centers, ds.std))
        y = ds.sample(N_EVAL, torch.Generator().manual_seed(20_000 + seed)).double()
        summary["mmd2"] = float(dv.mmd2(torch.from_numpy(x), y, "gaussian", bandwidth=MMD_BANDWIDTH))
    else:
        summary.update({"modes_covered": math.nan, "high_quality": math.nan, "n_modes": float(len(ds.centers)),
                        "mmd2": math.nan})
    save_arrays(out / "snapshots.npz", snaps)
    write_json(out / "summary.json", summary, indent=1)
    return summary


def plot(root: Path, profile: str, figure: Path, table: Path) -> None:
    """Scatter grid (seed 0) and the per-run table from the runs under ``root``."""
    import matplotlib.pyplot as plt

    names = losses()
    cfg = settings(profile)
    seeds = cfg["seeds"]
    rows = []
    for m in MIXTURES:
        for loss in names:
            for s in seeds:
                rows.append(json.loads((root / m / loss / f"seed{s}" / "summary.json").read_text()))
    df = pd.DataFrame(rows)
    if "cpu_seconds" not in df:
        df["cpu_seconds"] = math.nan
    cols = ["loss", "mixture", "seed", "iterations", "status", "modes_covered", "n_modes", "high_quality", "mmd2",
            "train_seconds", "cpu_seconds", "data"]
    df = df[cols].sort_values(["mixture", "loss", "seed"])
    df["device"] = device_name("cpu")
    write_table(df, table)

    steps = snapshot_steps(cfg["iterations"])
    ncol = len(MIXTURES) * len(steps)
    fig, axes = plt.subplots(len(names), ncol, figsize=(1.45 * ncol + 1.3, 1.45 * len(names) + 0.9),
                             squeeze=False)
    for j, m in enumerate(MIXTURES):
        ds = build_dataset({"name": m, "n": 1500}, 0)
        target = ds.tensor.numpy()
        lim = 3.0 if m == "ring" else 5.5
        for i, loss in enumerate(names):
            snaps = np.load(root / m / loss / "seed0" / "snapshots.npz")
            summ = df[(df.loss == loss) & (df.mixture == m) & (df.seed == 0)].iloc[0]
            for k, step in enumerate(steps):
                ax = axes[i, j * len(steps) + k]
                ax.scatter(target[:, 0], target[:, 1], s=4, c="0.45", linewidths=0, rasterized=True)
                key = f"step_{step}"
                if key in snaps.files:
                    x = snaps[key]
                    ax.scatter(x[:, 0], x[:, 1], s=1, c="tab:red", alpha=0.5, linewidths=0, rasterized=True)
                else:
                    ax.text(0, 0, "diverged", ha="center", va="center", fontsize=8)
                ax.set_xlim(-lim, lim), ax.set_ylim(-lim, lim)
                ax.set_xticks([]), ax.set_yticks([])
                ax.set_aspect("equal")
                if i == 0:
                    ax.set_title(f"{m}, step {step}", fontsize=8)
                if k == len(steps) - 1:
                    modes = "–" if math.isnan(summ.modes_covered) else f"{int(summ.modes_covered)}/{int(summ.n_modes)}"
                    ax.text(0.97, 0.03, modes, transform=ax.transAxes, ha="right", va="bottom", fontsize=7,
                            color="navy")
                if j == 0 and k == 0:
                    ax.set_ylabel(loss, fontsize=8)
    fig.tight_layout(h_pad=0.2, w_pad=0.2)
    caption = (f"C26 mode collapse: 2000 generated points (red) over the target (grey) for every loss of "
               f"experiments/train_configs/toy, trained with gans.train from seed 0 (ring of 8 Gaussians, std 0.02; "
               f"grid of 25, std 0.05; synthetic data); blue: modes covered at the last step. "
               f"{cfg['iterations']} generator steps ({profile} profile), device: "
               f"{device_name('cpu')}.")
    save_figure(fig, figure, caption)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--loss", required=True, choices=losses())
    r.add_argument("--profile", default="quick", help="sizes from experiments/profile_settings/<profile>.yaml")
    r.add_argument("--root", type=Path, required=True)
    p = sub.add_parser("plot")
    p.add_argument("--root", type=Path, required=True)
    p.add_argument("--profile", default="quick", help="sizes from experiments/profile_settings/<profile>.yaml")
    p.add_argument("--figure", type=Path, required=True)
    p.add_argument("--table", type=Path, required=True)
    args = ap.parse_args()
    if args.cmd == "run":
        for m in MIXTURES:
            for seed in settings(args.profile)["seeds"]:
                out = args.root / m / args.loss / f"seed{seed}"
                print(json.dumps(run_one(args.loss, m, seed, args.profile, out)), flush=True)
    else:
        plot(args.root, args.profile, args.figure, args.table)


if __name__ == "__main__":
    main()
