"""Shared helpers for experiment scripts: machine description, captions, output files.

Every figure carries a caption naming its claims, the data, the feature network (where one
is used) and the device; every table written here can carry the same provenance columns.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402


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
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_table(df: pd.DataFrame, path: str | Path) -> None:
    """Write a CSV (creating folders); floats keep full precision."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)


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
