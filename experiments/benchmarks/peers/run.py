"""Run the peer benchmarks: one child process per (module, thread count), then the tables.

Usage::

    python -m experiments.benchmarks.peers.run --out results/benchmarks/peers            # all, 1 and 2 threads
    python -m experiments.benchmarks.peers.run --out DIR --modules kid mmd --threads 1

Writes ``DIR/<module>.csv`` (one row per candidate, case and thread count: value, ``rel_diff``
against ours or the stated reference, best CPU and wall seconds, ``ratio_cpu`` / ``ratio_wall`` =
candidate time / our time, so > 1 means ours is faster; the floor for our row; skipped peers with
their reason), ``DIR/summary.csv`` (per case and thread count: our time against the fastest
available peer) and ``DIR/summary.md`` (the same as a Markdown table, for the README).  Run it
alone on the machine: the timings are only as quiet as the machine.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

MODULES = ("fid", "kid", "inception", "mmd", "discrete", "knn", "oned", "sliced", "sinkhorn", "exact_ot")


def _child(module: str, threads: int, out: str) -> None:
    import torch

    torch.set_num_threads(threads)
    from experiments.common import machine_name

    from .harness import time_candidates

    mod = importlib.import_module(f"experiments.benchmarks.peers.{module}")
    rows: list[dict[str, Any]] = []
    for case in mod.cases():
        load0 = os.getloadavg()[0]
        for row in time_candidates(case):
            row.update(module=module, threads=threads, machine=machine_name(), load_before=round(load0, 2),
                       load_after=round(os.getloadavg()[0], 2))
            rows.append(row)
        print(f"[{module} x{threads}] {case.estimator}: {case.case} done", flush=True)
    Path(out).write_text(json.dumps(rows))


def summarise(df: "Any") -> "Any":
    """Per (estimator, case, threads): our row against the fastest available peer (by CPU time
    at 1 thread, by wall time at more) among those within the case's ``accuracy_tol`` of ours
    (approximate solvers outside it are listed as ``fastest_any``)."""
    import pandas as pd

    out = []
    ok = df[df["status"] == "ok"]
    for (est, case, threads), g in ok.groupby(["estimator", "case", "threads"], sort=False):
        ours = g[g["role"] == "ours"]
        peers = g[g["role"] == "peer"]
        if ours.empty:
            continue
        o = ours.iloc[0]
        row = {"estimator": est, "case": case, "threads": threads, "ours": o["candidate"], "ours_cpu_s": o["cpu_s"],
               "ours_wall_s": o["wall_s"], "floor_fraction": o.get("floor_fraction"), "floor": o.get("floor"),
               "machine": o["machine"]}
        key = "cpu_s" if threads == 1 else "wall_s"
        tol = o.get("accuracy_tol")
        comparable = peers if tol is None or tol != tol else peers[peers["rel_diff"] <= tol]
        if not comparable.empty:
            f = comparable.loc[comparable[key].idxmin()]
            row.update(fastest_peer=f["candidate"], peer_library=f["library"], peer_cpu_s=f["cpu_s"], peer_wall_s=f["wall_s"],
                       ratio_cpu=f["ratio_cpu"], ratio_wall=f["ratio_wall"], peer_rel_diff=f["rel_diff"])
        if not peers.empty:  # the fastest peer whatever its accuracy (differs only with accuracy_tol)
            f = peers.loc[peers[key].idxmin()]
            row.update(fastest_any=f["candidate"], fastest_any_ratio_cpu=f["ratio_cpu"], fastest_any_ratio_wall=f["ratio_wall"],
                       fastest_any_rel_diff=f["rel_diff"])
            # like against like: our fastest setting (primary or an "ours-alt" row, e.g. a looser
            # stopping tolerance) whose error against our converged value is no larger than the peer's
            mine = g[g["role"].isin(["ours", "ours-alt"]) & (g["rel_diff"] <= f["rel_diff"])]
            if not mine.empty:
                mm = mine.loc[mine[key].idxmin()]
                row.update(matched_ours=mm["candidate"], matched_rel_diff=mm["rel_diff"],
                           matched_ratio_cpu=f["cpu_s"] / mm["cpu_s"], matched_ratio_wall=f["wall_s"] / mm["wall_s"])
        skipped = df[(df["estimator"] == est) & (df["case"] == case) & (df["threads"] == threads) & (df["status"] != "ok")]
        row["peers_skipped"] = "; ".join(f"{r.candidate} ({r.reason})" for r in skipped.itertuples())
        out.append(row)
    return pd.DataFrame(out)


def markdown(summary: "Any") -> str:
    """The README table: one line per case, 1-thread CPU ratio and 2-thread wall ratio."""
    lines = ["| Estimator | Size | Fastest peer | 1 thread: peer / ours (CPU) | 2 threads: peer / ours (wall) "
             "| Agreement | Floor: ours reaches |", "|---|---|---|---|---|---|---|"]
    for (est, case), g in summary.groupby(["estimator", "case"], sort=False):
        one = g[g["threads"] == 1]
        two = g[g["threads"] == 2]

        def cell(frame: "Any", col: str) -> str:
            if frame.empty or col not in frame or frame[col].isna().all():
                return "–"
            return f"{frame.iloc[0][col]:.2f}×"
        peer = one.iloc[0]["fastest_peer"] if not one.empty and "fastest_peer" in one and isinstance(one.iloc[0]["fastest_peer"], str) \
            else "–"
        if not one.empty and "fastest_any" in one and isinstance(one.iloc[0]["fastest_any"], str) \
                and one.iloc[0]["fastest_any"] != peer:
            r = one.iloc[0]
            peer += (f" (fastest at any accuracy: {r['fastest_any']}, error {r['fastest_any_rel_diff']:.1e}, "
                     f"{r['fastest_any_ratio_cpu']:.2f}×")
            if "matched_ours" in r and isinstance(r["matched_ours"], str) and r["matched_ours"] != r.get("ours"):
                two_m = two.iloc[0].get("matched_ratio_wall") if not two.empty else float("nan")
                peer += (f"; against {r['matched_ours']} (error {r['matched_rel_diff']:.1e}): "
                         f"{r['matched_ratio_cpu']:.2f}× / {two_m:.2f}×")
            peer += ")"
        agree = f"{one.iloc[0]['peer_rel_diff']:.1e}" if not one.empty and "peer_rel_diff" in one and one.iloc[0]["peer_rel_diff"] == \
            one.iloc[0]["peer_rel_diff"] else "–"
        ff = one.iloc[0]["floor_fraction"] if not one.empty else float("nan")
        floor = f"{100 * ff:.0f} %" if ff == ff and ff is not None else "–"
        lines.append(f"| {est} | {case} | {peer} | {cell(one, 'ratio_cpu')} | {cell(two, 'ratio_wall')} | {agree} | {floor} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Time every divergences estimator against its fastest peer library "
                                             "(one process per thread count) and write the ratio tables.")
    ap.add_argument("--out", default="results/benchmarks/peers", help="output folder")
    ap.add_argument("--modules", nargs="+", default=list(MODULES), choices=MODULES)
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--json", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(args.child, args.threads[0], args.json)
        return 0
    import pandas as pd

    from experiments.common import write_table, write_text

    from .harness import thread_env

    out = Path(args.out)
    frames = []
    for module in args.modules:
        rows = []
        for threads in args.threads:
            with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
                path = tmp.name
            cmd = [sys.executable, "-m", "experiments.benchmarks.peers.run", "--child", module, "--threads", str(threads),
                   "--json", path]
            subprocess.run(cmd, check=True, env=thread_env(threads))
            rows += json.loads(Path(path).read_text())
            os.unlink(path)
        df = pd.DataFrame(rows)
        write_table(df, out / f"{module}.csv")
        frames.append(df)
    if set(args.modules) == set(MODULES) or not (out / "summary.csv").exists():
        full = pd.concat(frames, ignore_index=True)
    else:  # refresh the summary with the modules just rerun, keep the others' rows
        full = pd.concat([pd.read_csv(out / f"{m}.csv") for m in MODULES if (out / f"{m}.csv").exists()], ignore_index=True)
    summary = summarise(full)
    write_table(summary, out / "summary.csv")
    write_text(out / "summary.md", markdown(summary))
    print(markdown(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
