"""``python -m gans.metrics A [B]``: FID, KID and IS between two inputs (:func:`gans.metrics.compare`).

Prints the scores with the sample count of each side, the KID subset size used, the feature
network and the device (``--json``: the whole result of :func:`gans.metrics.compare.compare` as
one JSON object).  Bad input (a missing path, an empty folder, an unreadable ``.npz``, images of
different sizes, ...) prints one line ``python -m gans.metrics: error: ...`` on stderr and exits
with status 2; a usage error exits 2 as well (argparse).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from .compare import IMAGE_KEYS, STATS_FORMAT, compare
from .evaluate import FEATURE_NETWORKS

PROG = "python -m gans.metrics"

_EPILOG = f"""\
inputs (A and B), each one of:
  image folder       every .jpg/.jpeg/.png/.bmp/.webp file under it, recursively (same size,
                     unless --resolution is given); grayscale is replicated to 3 channels
  images .npz        uint8 array '{IMAGE_KEYS[0]}', else '{IMAGE_KEYS[1]}', else the only array:
                     (N, H, W), (N, H, W, C) or (N, C, H, W) with C = 1 or 3
  statistics .npz    written by --save-stats ({STATS_FORMAT}: features, mu, sigma, logits);
                     a file with only mu/sigma (e.g. pytorch-fid's) gives FID but not KID
  training run       a folder with checkpoint.pt: its EMA generator draws samples from the
                     run's latent prior (N: --n, else as many as the other side holds)

scores: without --fid/--kid/--is, FID and KID (two inputs) and IS (each side, when the feature
network has a classifier head: inception, lenet-mnist5k) are computed when possible; naming any
of them computes only those, and fails if one is impossible.  KID: mean +- std over
--kid-subsets subsets of --kid-subset-size images, the size capped at the smaller side (said in
the output).  Side A uses --seed, side B --seed + 1 (image subsets, latent codes).

examples:
  {PROG} real_images/ fake_images/
  {PROG} runs/mnist_wgan data/mnist_heldout.npz --feature-network lenet-mnist5k --json
  {PROG} real_images/ --save-stats real_stats.npz     (statistics of A only)
  {PROG} real_stats.npz runs/celeba --n 10000 --device cuda
"""


def build_parser() -> argparse.ArgumentParser:
    """The command's argument parser (every option is documented in ``--help``)."""
    ap = argparse.ArgumentParser(prog=PROG, description="FID, KID and IS between two image sets (folders, "
                                 "image .npz files, saved statistics or training runs).",
                                 epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", metavar="A", help="first input (the reference, e.g. real images)")
    ap.add_argument("b", metavar="B", nargs="?", default=None,
                    help="second input; may be left out with --save-stats (statistics of A only) or --is")
    ap.add_argument("--fid", action="store_true", help="compute the FID (Frechet distance of the features)")
    ap.add_argument("--kid", action="store_true", help="compute the KID (cubic-kernel MMD^2 over subsets)")
    ap.add_argument("--is", dest="inception_score", action="store_true",
                    help="compute the Inception Score of each side (needs a network with logits)")
    ap.add_argument("--feature-network", default="auto", choices=FEATURE_NETWORKS,
                    help="features: auto = inception when a weight file is given (--inception-weights or "
                         "$GANDIV_INCEPTION), else the untrained fallback; lenet-mnist5k for digits (default auto)")
    ap.add_argument("--inception-weights", default=None, metavar="FILE",
                    help="the FID Inception weight file pt_inception-2015-12-05 (default $GANDIV_INCEPTION)")
    ap.add_argument("--lenet-weights", default=None, metavar="FILE",
                    help="LeNet weight file (default: the committed gans/metrics/weights/lenet_mnist5k.pt)")
    ap.add_argument("--n", type=int, default=None, metavar="N",
                    help="at most N images per image input (seeded random subset); samples drawn from a run "
                         "(default: all images; a run draws as many as the other input holds, 2000 if both are runs)")
    ap.add_argument("--batch-size", type=int, default=100, metavar="B", help="images per network call (default 100)")
    ap.add_argument("--kid-subsets", type=int, default=100, metavar="K", help="KID subsets (default 100)")
    ap.add_argument("--kid-subset-size", type=int, default=1000, metavar="S",
                    help="KID subset size, capped at the smaller side (default 1000)")
    ap.add_argument("--is-splits", type=int, default=10, metavar="S", help="IS splits, capped at N (default 10)")
    ap.add_argument("--resolution", type=int, default=None, metavar="R",
                    help="centre-crop and resize every image of an image input to R x R (default: keep the size; "
                         "the images of a folder must then all have the same size)")
    ap.add_argument("--seed", type=int, default=0, metavar="S", help="seed of A (B uses S + 1) and of the KID subsets "
                                                                     "(default 0)")
    ap.add_argument("--device", default="cpu", metavar="D", help="torch device for the networks (default cpu)")
    ap.add_argument("--save-stats", default=None, metavar="FILE",
                    help="write A's statistics (features, mu, sigma, logits) to FILE (.npz), reusable as an input")
    ap.add_argument("--cache-dir", default=None, metavar="DIR",
                    help="cache the features of image inputs in DIR, keyed by the images' bytes and the network")
    ap.add_argument("--json", action="store_true", help="print the whole result as one JSON object")
    return ap


def _side(res: dict[str, Any], s: str) -> str:
    kind, n = res[f"kind_{s}"], res[f"n_{s}"]
    unit = {"run": "samples", "stats": "feature rows"}.get(kind, "images")
    cached = {True: ", features from the cache", False: ", features cached"}.get(res[f"cached_{s}"], "")
    return f"{s.upper()}: {res[f'path_{s}']} ({kind}, {n if n is not None else '?'} {unit}{cached})"


def format_result(res: dict[str, Any]) -> str:
    """The human-readable report printed without ``--json``."""
    lines = [_side(res, "a")]
    if res["kind_b"] is not None:
        lines.append(_side(res, "b"))
    lines.append(f"feature network: {res['feature_network']} ({res['feature_dim']}-d), device {res['device']}")
    if "fid" in res:
        lines.append(f"FID  {res['fid']:.6g}")
    if "kid_mean" in res:
        capped = (f", capped from {res['kid_subset_size_requested']}"
                  if res["kid_subset_size"] < res["kid_subset_size_requested"] else "")
        lines.append(f"KID  {res['kid_mean']:.6g} +- {res['kid_std']:.3g}  ({res['kid_subsets']} subsets of "
                     f"{res['kid_subset_size']}{capped})")
    for s in ("a", "b"):
        if f"is_{s}_mean" in res:
            lines.append(f"IS {s.upper()} {res[f'is_{s}_mean']:.6g} +- {res[f'is_{s}_std']:.3g}")
    if res.get("stats_file"):
        lines.append(f"statistics of A written to {res['stats_file']}")
    lines += [f"note: {n}" for n in res["notes"]]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (0, or 2 on bad input with one line on stderr)."""
    ap = build_parser()
    args = ap.parse_args(argv)
    chosen = args.fid or args.kid or args.inception_score
    flags = {k: (True if getattr(args, k) else False) if chosen else None for k in ("fid", "kid", "inception_score")}
    if args.b is None and not (args.save_stats or args.inception_score):
        ap.error("B is required unless --save-stats or --is is given")
    try:
        res = compare(args.a, args.b, **flags, feature_network=args.feature_network, n=args.n,
                      batch_size=args.batch_size, kid_subsets=args.kid_subsets, kid_subset_size=args.kid_subset_size,
                      is_splits=args.is_splits, resolution=args.resolution, seed=args.seed, device=args.device,
                      save_stats=args.save_stats, cache_dir=args.cache_dir,
                      inception_weights=args.inception_weights, lenet_weights=args.lenet_weights)
    except (ValueError, OSError) as err:
        print(f"{PROG}: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    print(json.dumps(res) if args.json else format_result(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
