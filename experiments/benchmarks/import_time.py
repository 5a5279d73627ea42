"""Import time of the packages, and which heavy modules each import pulls in.

Measured, each in a fresh ``python`` subprocess (so nothing is cached in the interpreter; the
files are in the OS page cache after the first run): ``import torch``, ``import divergences``,
``import gans``, ``import gans.train``.  Two timings per statement, ``--repeats`` times each,
the variants interleaved, the median reported:

* ``total_s``: the statement alone, ``time.perf_counter()`` around it (torch included);
* ``over_torch_s``: ``import torch`` first, then the statement timed alone: what the package
  costs beyond torch, which every user of it has imported anyway (the target for
  ``import divergences`` is under 0.5 s).

``heavy_modules`` lists which of :data:`HEAVY` are in ``sys.modules`` after the statement (a
module-set fact, not a timing: ``tests/test_import_weight.py`` asserts the ones that must stay
out).  Timings depend on the machine and on its load: the CSV records the 1-minute load
average before and after (the benchmark's own subprocesses add about 1), and marks the run
busy when the load before it exceeded ``--busy-load`` per core; compare numbers measured on a
quiet machine only.

Not part of the default pipeline.  Run: ``nice -n 15 python -m experiments.benchmarks.import_time``
(writes ``results/benchmarks/import_time.csv``; about a minute on a quiet 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pandas as pd
import torch

from experiments.common import machine_name, write_table

STATEMENTS = ("import torch", "import divergences", "import gans", "import gans.train")
HEAVY = ("sklearn", "pandas", "ot", "matplotlib", "scipy", "scipy.stats", "scipy.integrate", "scipy.linalg",
         "scipy.optimize", "sympy", "snakemake", "skimage", "PIL", "yaml", "mlxtend")
ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import sys, time, json
{pre}
t0 = time.perf_counter()
{stmt}
dt = time.perf_counter() - t0
print(json.dumps({{"s": dt, "heavy": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def probe(stmt: str, over_torch: bool) -> dict:
    """One fresh interpreter: seconds taken by ``stmt`` (after ``import torch`` when
    ``over_torch``) and the :data:`HEAVY` modules loaded at the end."""
    code = _PROBE.format(pre="import torch" if over_torch else "", stmt=stmt, heavy=HEAVY)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=7, help="fresh interpreters per statement and variant")
    ap.add_argument("--busy-load", type=float, default=0.5,
                    help="1-minute load average per core above which the run is marked busy")
    ap.add_argument("--out", default="results/benchmarks/import_time.csv")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        raise ValueError(f"--repeats must be >= 1, got {args.repeats}")
    load_before = os.getloadavg()[0]
    probe("import divergences, gans.train", over_torch=False)  # warm the page cache
    runs: dict[tuple[str, bool], list[dict]] = {}
    for _ in range(args.repeats):
        for stmt in STATEMENTS:
            for over in (False, True):
                if over and stmt == "import torch":
                    continue
                runs.setdefault((stmt, over), []).append(probe(stmt, over))
    load_after = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    busy = load_before / cores > args.busy_load  # before: the benchmark itself adds about 1 to the load
    note = (f"BUSY machine (load average {load_before:.1f} -> {load_after:.1f} on {cores} cores): timings are "
            "noisy and inflated; rerun on a quiet machine before quoting them" if busy else
            f"quiet machine (load average {load_before:.1f} -> {load_after:.1f} on {cores} cores)")
    rows = []
    for stmt in STATEMENTS:
        total = [r["s"] for r in runs[(stmt, False)]]
        over = [r["s"] for r in runs.get((stmt, True), [])]
        heavy = sorted({m for r in runs[(stmt, False)] for m in r["heavy"]})
        rows.append({"machine": machine_name(), "statement": stmt, "repeats": args.repeats,
                     "total_s": statistics.median(total), "total_min_s": min(total), "total_max_s": max(total),
                     "over_torch_s": statistics.median(over) if over else 0.0,
                     "over_torch_min_s": min(over) if over else 0.0,
                     "heavy_modules": " ".join(heavy) if heavy else "none",
                     "python": sys.version.split()[0], "torch": torch.__version__, "cpu_count": cores,
                     "load_average_1min_before": load_before, "load_average_1min_after": load_after,
                     "busy": busy, "note": note})
    df = pd.DataFrame(rows)
    write_table(df, args.out)
    print(df.drop(columns=["machine", "note"]).to_string(index=False))
    print(note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
