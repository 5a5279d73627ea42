"""`import divergences` stays light: no pipeline or plotting package is loaded by it, and the
trainer does not load POT (the heavy imports live inside the functions that use them).

A module-set check in a fresh interpreter, not a timing (timings are measured by
``experiments/benchmarks/import_time.py``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

NOT_BY_DIVERGENCES = ("sklearn", "pandas", "matplotlib", "snakemake", "skimage", "mlxtend", "yaml")
NOT_BY_TRAINER = ("ot", "sklearn", "pandas", "snakemake", "skimage", "mlxtend")

_PROBE = """
import json, sys
import divergences
after_dv = sorted(sys.modules)
import gans.train
print(json.dumps({"divergences": after_dv, "gans.train": sorted(sys.modules)}))
"""


def _loaded() -> dict[str, set[str]]:
    out = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True, text=True, check=True)
    mods = json.loads(out.stdout.strip().splitlines()[-1])
    return {k: {m.split(".")[0] for m in v} for k, v in mods.items()}


def test_import_divergences_and_gans_train_leave_heavy_packages_unloaded() -> None:
    loaded = _loaded()
    assert "torch" in loaded["divergences"] and "gans" in loaded["gans.train"]  # the probe ran the imports
    assert not set(NOT_BY_DIVERGENCES) & loaded["divergences"], sorted(set(NOT_BY_DIVERGENCES) & loaded["divergences"])
    assert not set(NOT_BY_TRAINER) & loaded["gans.train"], sorted(set(NOT_BY_TRAINER) & loaded["gans.train"])
