"""What a training run logs: ``metrics.csv`` and, with ``train.tensorboard: true``, TensorBoard
event files in ``out/tensorboard/`` (:class:`RunLog`).

``metrics.csv`` has one row per logging step: ``step``, ``images_seen``, ``elapsed_s`` (wall
seconds since the run started, summed over resumed legs: :class:`gans.run_state.RunState`),
the losses averaged over the logging interval, ``images_per_s`` and the ``eval_*`` scores of
evaluation steps.  Columns appear in the order they first occur; integer counts are written as
integers (``step``, ``images_seen``, ``eval_n_real``, ...), floats as Python's shortest
round-trip repr; a cell a row does not have is empty.  The file is rewritten whole and renamed
into place at every row, so it is never half written.

TensorBoard (``torch.utils.tensorboard.SummaryWriter``, imported only when asked for): every
numeric column of every row as a scalar at ``global_step = step`` (tags ``train/<loss>``,
``eval/<score>``, ``time/elapsed_s``, ``time/images_per_s``) and every sample picture as the
image ``samples``.  A resumed run purges the events after its checkpoint's step (those of the
interrupted leg), a fresh one deletes the folder's old event files.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["RunLog", "write_metrics", "require_tensorboard", "TENSORBOARD_DIR", "FIRST_COLUMNS"]

TENSORBOARD_DIR = "tensorboard"
FIRST_COLUMNS = ("step", "images_seen", "elapsed_s")
_TIME_COLUMNS = ("elapsed_s", "images_per_s")


def require_tensorboard() -> type:
    """``torch.utils.tensorboard.SummaryWriter``; ``ValueError`` naming ``train.tensorboard`` and
    the pip command when the ``tensorboard`` package is not installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as err:
        raise ValueError(f"train.tensorboard: true needs the tensorboard package, which is not installed ({err}); "
                         "install it with `pip install tensorboard` or set train.tensorboard: false") from None
    return SummaryWriter


def write_metrics(rows: Iterable[Mapping[str, Any]], path: str | Path) -> Path:
    """Write ``rows`` as CSV at ``path`` (columns: :data:`FIRST_COLUMNS` present in a row, then
    the others in order of first appearance), via a temporary file renamed into place."""
    rows = list(rows)
    cols: list[str] = [c for c in FIRST_COLUMNS if any(c in r for r in rows)]
    for r in rows:
        cols += [k for k in r if k not in cols]
    path = Path(path)
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    tmp.replace(path)
    return path


def _tag(key: str) -> str:
    if key.startswith("eval_"):
        return f"eval/{key[len('eval_'):]}"
    return f"time/{key}" if key in _TIME_COLUMNS else f"train/{key}"


class RunLog:
    """``out/metrics.csv`` and the optional TensorBoard writer of one run (module docstring).

    ``enabled`` false (DDP ranks other than 0) makes every method a no-op.  ``resume_step``: the
    checkpoint step a resumed run continues from (TensorBoard events after it are purged);
    ``None`` for a fresh run (old event files in ``out/tensorboard`` are deleted).  Call
    :meth:`close` at the end.
    """

    def __init__(self, out: str | Path, *, enabled: bool = True, tensorboard: bool = False,
                 resume_step: int | None = None) -> None:
        self.out, self.enabled = Path(out), enabled
        self.path = self.out / "metrics.csv"
        self._tb: Any = None
        if not enabled:
            return
        tb_dir = self.out / TENSORBOARD_DIR
        if resume_step is None and tb_dir.is_dir():  # a fresh run: the folder's old events describe another run
            for f in tb_dir.glob("events.out.tfevents.*"):
                if f.is_file():
                    f.unlink()
        if tensorboard:
            writer = require_tensorboard()
            self._tb = writer(log_dir=str(tb_dir), purge_step=None if resume_step is None else resume_step + 1)

    @property
    def tensorboard(self) -> bool:
        return self._tb is not None

    def write(self, rows: Iterable[Mapping[str, Any]], new: Mapping[str, Any] | None = None) -> None:
        """Rewrite ``metrics.csv`` with ``rows``; ``new``, the row just appended, also goes to TensorBoard."""
        if not self.enabled:
            return
        write_metrics(rows, self.path)
        if new is not None and self._tb is not None:
            step = int(new["step"])
            for k, v in new.items():
                if k in ("step", "images_seen") or isinstance(v, (str, bool)) or not isinstance(v, (int, float)):
                    continue
                self._tb.add_scalar(_tag(k), float(v), global_step=step)

    def add_picture(self, picture: np.ndarray, step: int, tag: str = "samples") -> None:
        """A ``uint8`` picture ((H, W) or (H, W, C), :mod:`gans.viz`) as a TensorBoard image."""
        if self.enabled and self._tb is not None:
            self._tb.add_image(tag, picture, global_step=int(step), dataformats="HW" if picture.ndim == 2 else "HWC")

    def close(self) -> None:
        """Flush and close the TensorBoard writer (metrics.csv is always complete on disk)."""
        if self._tb is not None:
            self._tb.close()
            self._tb = None
