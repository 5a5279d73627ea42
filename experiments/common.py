"""Shared helpers for experiment scripts: machine description, captions, output files, training.

Every figure carries a caption naming its claims, the data, the feature network (where one
is used) and the device; every table written here can carry the same provenance columns.

Every output file is written atomically (:func:`atomic_path`): to a temporary file in the
same folder, then renamed over the target with ``os.replace``, so a script killed mid-write
leaves the previous file or none, never a truncated one.  Training jobs go through
:func:`train_resumable`, which continues a run from its checkpoint after an interruption.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

# No matplotlib.use(...): a notebook importing these helpers keeps its backend; scripts run
# headless get Agg from matplotlib's own fallback (no display -> Agg).
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch


def cpu_name() -> str:
    """The CPU model as the kernel reports it (Linux), else ``platform.processor()``."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def device_name(device: str | torch.device = "cpu") -> str:
    """Human-readable device: the GPU's name, or the CPU model with its core count."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({cpu_name()}, {os.cpu_count()} cores)"


def machine_name() -> str:
    """Host name plus device, for benchmark files."""
    return f"{platform.node()} / {device_name('cpu')}"


def save_figure(fig: plt.Figure, path: str | Path, caption: str) -> None:
    """Write ``fig`` as PNG with ``caption`` printed under the axes (wrapped)."""
    import textwrap

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    width_chars = max(60, int(fig.get_figwidth() * 13))
    text = "\n".join(textwrap.fill(par, width_chars) for par in caption.split("\n"))
    n_lines = text.count("\n") + 1
    fig.subplots_adjust(bottom=max(fig.subplotpars.bottom, 0.04 + 0.18 * n_lines / fig.get_figheight()))
    fig.text(0.01, 0.005, text, ha="left", va="bottom", fontsize=8, wrap=False)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder (created if needed); when the block ends
    without an exception it is fsynced and renamed to ``path`` (``os.replace``, atomic on
    POSIX), else deleted.  The temporary name keeps ``path``'s suffix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.tmp{path.suffix}"  # created by the writer (default mode)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_table(df: pd.DataFrame, path: str | Path) -> None:
    """Write a CSV atomically (creating folders); floats keep full precision."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def write_text(path: str | Path, text: str) -> None:
    """Write a text file (UTF-8) atomically, creating folders."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, obj: Any, indent: int = 2) -> None:
    """Write ``obj`` as JSON atomically, creating folders."""
    write_text(path, json.dumps(obj, indent=indent))


def save_arrays(path: str | Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` as a compressed ``.npz`` atomically, creating folders."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:  # a file object: numpy would append ".npz" to a name
            np.savez_compressed(fh, **arrays)


PROFILE_DIR = Path(__file__).resolve().parent / "profile_settings"
"""The pipeline profiles: ``<profile>.yaml`` for each of quick, cpu, paper, and ``schema.yaml``."""


def profile_settings(section: str, profile: str, folder: str | Path = PROFILE_DIR) -> dict[str, Any]:
    """The sizes a pipeline script uses in one profile: section ``section`` of
    ``<folder>/<profile>.yaml`` (default ``experiments/profile_settings/``), after the whole file
    is checked against ``<folder>/schema.yaml`` (JSON Schema, the one the Snakefile validates its
    ``config`` with, so a script and the rules that run it read the same numbers).

    Raises ``ValueError`` naming the problem: an unknown profile (no such file), a section the
    schema does not declare, or a file that breaks the schema (each offending key by its path:
    a missing key, an unknown key, a wrong type).  Returns a fresh dict (YAML lists stay lists)."""
    import jsonschema
    import yaml

    folder = Path(folder)
    schema = yaml.safe_load((folder / "schema.yaml").read_text(encoding="utf-8"))
    profiles = sorted(p.stem for p in folder.glob("*.yaml") if p.stem != "schema")
    if profile not in profiles:
        raise ValueError(f"profile: unknown profile {profile!r}; the profiles in {folder} are {profiles}")
    sections = sorted(k for k, v in schema["properties"].items() if v.get("type") == "object" and k != "data")
    if section not in sections:
        raise ValueError(f"section: unknown section {section!r}; {folder / 'schema.yaml'} declares {sections}")
    path = folder / f"{profile}.yaml"
    cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(cfg), key=lambda e: [str(k) for k in e.absolute_path])
    if errors:
        raise ValueError(f"{path} breaks {folder / 'schema.yaml'}: " + "; ".join(
            f"{'.'.join(str(k) for k in e.absolute_path) or 'top level'}: {e.message}" for e in errors))
    if cfg["profile"] != profile:
        raise ValueError(f"{path}: key profile is {cfg['profile']!r}, expected {profile!r} (the file's name)")
    return json.loads(json.dumps(cfg[section]))


def train_resumable(cfg: Mapping[str, Any], out: str | Path, log: Callable[[str], None] | None = None,
                    **kwargs: Any) -> tuple[Path, int | None]:
    """Train ``cfg`` into ``out`` as a pipeline job: continue ``out``'s checkpoint when it was
    written with the same config (:func:`gans.train.resume_plan`: same config hash, step not
    beyond ``train.iterations``), else start over from step 0.  ``log`` (default: print to
    stderr) gets one line saying which and why.  Returns ``(run folder, step resumed from or
    None)``.  An unreadable checkpoint (and no readable ``checkpoint.prev.pt``) raises
    ``ValueError`` and is left in place: delete the run folder to start over.  ``kwargs`` go to
    :func:`gans.train.train` (e.g. ``loss``)."""
    from gans.train import resume_plan, train

    step, why = resume_plan(cfg, out)
    (log or (lambda m: print(m, file=sys.stderr, flush=True)))(f"{out}: {why}")
    run = train(cfg, out, resume=step is not None, overwrite=step is None, **kwargs)
    return Path(run), step


def matmul_gflops(size: int = 2048, dtype: torch.dtype = torch.float32, repeats: int = 3) -> float:
    """Achieved dense ``size x size`` matrix-multiply rate (best of ``repeats``) in GFLOP/s.

    The floor benchmarks compare against: 2 size^3 FLOPs per product.
    """
    import time

    a = torch.randn(size, size, dtype=dtype, generator=torch.Generator().manual_seed(1))
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - t)
    return 2.0 * size ** 3 / best / 1e9
