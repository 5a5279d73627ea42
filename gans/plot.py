"""Training curves of one or several runs from their ``metrics.csv``: ``python -m gans.plot RUN [RUN ...]``.

Usage::

    python -m gans.plot runs/ns                              # -> runs/ns/curves.png
    python -m gans.plot runs/ns runs/wgan --out cmp.png      # both runs in every panel
    python -m gans.plot runs/ns --columns d_loss eval_fid --x elapsed_s

One panel per column (default: every numeric column of the runs except ``step``,
``images_seen``, ``elapsed_s`` and ``images_per_s``: the losses averaged over each logging
interval and the ``eval_*`` scores), plotted against ``--x`` (``step``, the default,
``images_seen`` or ``elapsed_s``); each run is one line in every panel, labelled by its folder
name, so several runs are compared side by side.  Empty cells (a loss at step 0, a score between
evaluations) are skipped; sparse series (scores) get markers.  A ``RUN`` is a run folder or a
``metrics.csv`` file.  Drawn with matplotlib's object API on an Agg canvas (``Figure`` +
``FigureCanvasAgg``): the global backend is never switched, so importing or calling this module
does not disturb an interactive session.  Written atomically (temporary file, then rename).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["read_metrics", "plot_runs", "default_columns", "main", "X_COLUMNS"]

X_COLUMNS = ("step", "images_seen", "elapsed_s")
_NOT_CURVES = (*X_COLUMNS, "images_per_s")


def _metrics_path(run: str | Path) -> Path:
    p = Path(run)
    path = p / "metrics.csv" if p.is_dir() else p
    if not path.is_file():
        raise ValueError(f"run {str(run)!r}: no metrics.csv at {path}")
    return path


def _label(run: str | Path) -> str:
    p = Path(run)
    return (p.parent.name if p.is_file() else p.name) or str(p)


def read_metrics(run: str | Path) -> dict[str, np.ndarray]:
    """The numeric columns of ``run``'s ``metrics.csv`` (a run folder or the file) as float64
    arrays, one entry per row; an empty cell is NaN.  Columns holding any non-number (e.g.
    ``eval_feature_network``) are left out."""
    path = _metrics_path(run)
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise ValueError(f"run {str(run)!r}: {path} has no rows")
    out: dict[str, np.ndarray] = {}
    for col in rows[0].keys():
        values = []
        for r in rows:
            cell = (r.get(col) or "").strip()
            try:
                values.append(float(cell) if cell else math.nan)
            except ValueError:
                break
        else:
            out[col] = np.asarray(values, dtype=np.float64)
    if "step" not in out:
        raise ValueError(f"run {str(run)!r}: {path} has no numeric 'step' column")
    return out


def default_columns(tables: Sequence[dict[str, np.ndarray]]) -> list[str]:
    """Every column with a finite value in some run except :data:`X_COLUMNS` and ``images_per_s``,
    losses first, then the ``eval_*`` scores, each group in order of first appearance."""
    seen: list[str] = []
    for t in tables:
        seen += [c for c, v in t.items() if c not in seen and c not in _NOT_CURVES and np.isfinite(v).any()]
    return [c for c in seen if not c.startswith("eval_")] + [c for c in seen if c.startswith("eval_")]


def plot_runs(runs: Sequence[str | Path], out: str | Path, columns: Sequence[str] | None = None,
              x: str = "step") -> Path:
    """Draw the curves of ``runs`` (module docstring) into the PNG ``out``; returns its path.

    ``ValueError`` for no runs, a run without ``metrics.csv``, an ``x`` not in
    :data:`X_COLUMNS` or absent from a run, a requested column that no run has, or nothing to plot.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not runs:
        raise ValueError("runs: give at least one run folder or metrics.csv")
    if x not in X_COLUMNS:
        raise ValueError(f"x: expected one of {list(X_COLUMNS)}, got {x!r}")
    tables = [read_metrics(r) for r in runs]
    for r, t in zip(runs, tables):
        if x not in t:
            raise ValueError(f"x: run {str(r)!r} has no {x!r} column (metrics.csv written before it existed?)")
    cols = list(columns) if columns else default_columns(tables)
    if not cols:
        raise ValueError("columns: the runs have no numeric column to plot besides step/images_seen/elapsed_s")
    known = sorted({c for t in tables for c in t})
    missing = [c for c in cols if not any(c in t for t in tables)]
    if missing:
        raise ValueError(f"columns: {missing} not in any run's metrics.csv; available: {known}")
    ncol = min(3, len(cols))
    nrow = math.ceil(len(cols) / ncol)
    fig = Figure(figsize=(4.2 * ncol, 3.0 * nrow), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrow, ncol, squeeze=False)
    labels = [_label(r) for r in runs]
    for i, col in enumerate(cols):
        ax = axes[i // ncol][i % ncol]
        for k, (t, label) in enumerate(zip(tables, labels)):
            if col not in t:
                continue
            keep = np.isfinite(t[col]) & np.isfinite(t[x])
            if not keep.any():
                continue
            sparse = keep.sum() < 0.5 * len(keep) or keep.sum() <= 12
            ax.plot(t[x][keep], t[col][keep], color=f"C{k % 10}", lw=1.2, marker="o" if sparse else None,
                    ms=3, label=label)
        ax.set_title(col, fontsize=9)
        ax.set_xlabel(x, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if len(runs) > 1 and i == 0:
            ax.legend(fontsize=7)
    for j in range(len(cols), nrow * ncol):
        axes[j // ncol][j % ncol].set_visible(False)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp.png")
    fig.savefig(tmp, dpi=100, format="png")
    tmp.replace(out)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; exit code 2 with one ``error:`` line on bad input."""
    ap = argparse.ArgumentParser(prog="python -m gans.plot", description="Plot training curves from metrics.csv.")
    ap.add_argument("runs", nargs="+", help="run folders (or metrics.csv files)")
    ap.add_argument("--out", default=None,
                    help="PNG to write (default: RUN/curves.png for one run, curves.png here for several)")
    ap.add_argument("--columns", nargs="+", default=None, help="metrics.csv columns to plot (default: losses, scores)")
    ap.add_argument("--x", default="step", choices=X_COLUMNS, help="horizontal axis (default step)")
    args = ap.parse_args(argv)
    if args.out is not None:
        out = Path(args.out)
    elif len(args.runs) == 1:
        first = Path(args.runs[0])
        out = (first if first.is_dir() else first.parent) / "curves.png"
    else:
        out = Path("curves.png")
    try:
        path = plot_runs(args.runs, out, args.columns, args.x)
    except (ValueError, OSError) as err:
        print(f"{ap.prog}: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    print(f"curves written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
