"""The trainer's sample pictures: an image grid or, for vector data, a scatter plot / histogram,
drawn with PIL into ``uint8`` arrays and written as PNG (no matplotlib, no plotting backend).

* :func:`image_grid`: images in ``[-1, 1]`` mapped to ``uint8`` by ``round((x + 1) * 127.5)``
  (after clamping), laid out ``ceil(sqrt(n))`` per row with 2-pixel white lines between them;
* :func:`scatter_plot`: the first two coordinates of generated points (red) over the data's
  (grey), equal scale on both axes, limits from all finite points plus a 5 % margin (written in
  the bottom-left corner); 1-D data as two histograms of 60 bins (density-normalised over the
  common range);
* :func:`render_samples` runs the generator on fixed latents and picks one of the two;
  :func:`write_png` writes atomically (a temporary file renamed into place), so a sample PNG on
  disk is never truncated.

The arrays also go to TensorBoard (:mod:`gans.run_log`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = ["image_grid", "scatter_plot", "render_samples", "write_png"]

_DATA_RGB = (178, 178, 178)       # grey: the data
_GENERATED_RGB = (214, 39, 40)    # red: the generator
_PAD = 2                          # white lines between grid images, pixels


def image_grid(x: torch.Tensor) -> np.ndarray:
    """``x`` (n, c, h, w), values in ``[-1, 1]``, as one ``uint8`` picture: (H, W) for one
    channel, (H, W, c) otherwise, ``ceil(sqrt(n))`` images per row, white 2-pixel gaps."""
    if x.ndim != 4 or x.shape[0] < 1:
        raise ValueError(f"x: expected images (n >= 1, c, h, w), got shape {tuple(x.shape)}")
    imgs = ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    n, c, h, w = imgs.shape
    cols = int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / cols))
    grid = torch.full((c, rows * (h + _PAD) + _PAD, cols * (w + _PAD) + _PAD), 255, dtype=torch.uint8)
    for i in range(n):
        top, left = _PAD + (i // cols) * (h + _PAD), _PAD + (i % cols) * (w + _PAD)
        grid[:, top:top + h, left:left + w] = imgs[i]
    arr = grid.permute(1, 2, 0).numpy()
    return np.ascontiguousarray(arr[..., 0] if c == 1 else arr)


def _limits(values: list[np.ndarray]) -> tuple[float, float]:
    """``(lo, hi)`` covering the finite entries of ``values`` with a 5 % margin ((-1, 1) if none)."""
    finite = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.zeros(0)
    if finite.size == 0:
        return -1.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    half = max(hi - lo, 1e-12) * 0.525
    mid = (lo + hi) / 2
    return mid - half, mid + half


def scatter_plot(x: torch.Tensor, real: torch.Tensor | None = None, size: int = 360) -> np.ndarray:
    """Generated points ``x`` (n, d) over the data ``real`` (m, d) as an RGB ``uint8`` array of
    ``size x size`` pixels: a scatter plot of the first two coordinates (``d >= 2``, same scale on
    both axes) or, for ``d = 1``, the two density histograms (60 bins).  Non-finite points are
    left out."""
    from PIL import Image, ImageDraw

    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"x: expected points (n >= 1, d), got shape {tuple(x.shape)}")
    if not isinstance(size, int) or size < 64:
        raise ValueError(f"size: expected an integer >= 64 pixels, got {size!r}")
    gen = x.detach().float().cpu().numpy().astype(np.float64)
    dat = real.detach().float().cpu().reshape(len(real), -1).numpy().astype(np.float64) if real is not None else None
    margin = 8
    inner = size - 2 * margin
    canvas = np.full((size, size, 3), 255, dtype=np.uint8)
    sets = [(dat, _DATA_RGB)] if dat is not None else []
    sets.append((gen, _GENERATED_RGB))
    if gen.shape[1] >= 2:  # first two coordinates, equal scale
        lo_x, hi_x = _limits([s[:, 0] for s, _ in sets])
        lo_y, hi_y = _limits([s[:, 1] for s, _ in sets])
        half = max(hi_x - lo_x, hi_y - lo_y) / 2
        cx, cy = (lo_x + hi_x) / 2, (lo_y + hi_y) / 2
        caption = f"x [{cx - half:.3g}, {cx + half:.3g}]  y [{cy - half:.3g}, {cy + half:.3g}]"
        for pts, rgb in sets:
            keep = np.isfinite(pts[:, :2]).all(axis=1)
            px = np.clip(((pts[keep, 0] - cx + half) / (2 * half) * (inner - 2)).astype(np.int64), 0, inner - 2)
            py = np.clip(((cy + half - pts[keep, 1]) / (2 * half) * (inner - 2)).astype(np.int64), 0, inner - 2)
            for dy in (0, 1):  # 2 x 2 pixel markers
                for dx in (0, 1):
                    canvas[margin + py + dy, margin + px + dx] = rgb
    else:  # 1-D data: density histograms on a common range
        lo, hi = _limits([s[:, 0] for s, _ in sets])
        caption = f"x [{lo:.3g}, {hi:.3g}]"
        edges = np.linspace(lo, hi, 61)
        dens = [np.histogram(s[np.isfinite(s[:, 0]), 0], bins=edges, density=True)[0]
                if np.isfinite(s[:, 0]).any() else np.zeros(60) for s, _ in sets]
        top = max(float(max(d.max() for d in dens)), 1e-12) * 1.05
        width = inner / 60
        for d, (_, rgb) in zip(dens, sets):
            layer = canvas.copy()
            for b, v in enumerate(d):
                h = int(round(v / top * inner))
                if h > 0:
                    left, right = margin + int(b * width), margin + int((b + 1) * width)
                    layer[margin + inner - h:margin + inner, left:max(right, left + 1)] = rgb
            alpha = 1.0 if rgb == _DATA_RGB else 0.6  # generated bars see-through over the data's
            canvas = np.round(alpha * layer + (1 - alpha) * canvas).astype(np.uint8)
    img = Image.fromarray(canvas)
    draw = ImageDraw.Draw(img)
    draw.rectangle([margin - 1, margin - 1, margin + inner, margin + inner], outline=(0, 0, 0))
    legend = [("data", _DATA_RGB)] if dat is not None else []
    legend.append(("generated", _GENERATED_RGB))
    for i, (label, rgb) in enumerate(legend):  # top right
        y = margin + 4 + 12 * i
        x0 = margin + inner - 78
        draw.rectangle([x0, y + 3, x0 + 5, y + 8], fill=rgb)
        draw.text((x0 + 9, y), label, fill=(0, 0, 0))
    draw.text((margin + 4, margin + inner - 14), caption, fill=(0, 0, 0))  # the plotted range, bottom left
    return np.asarray(img, dtype=np.uint8).copy()


@torch.no_grad()
def render_samples(G: nn.Module, z: torch.Tensor, real: torch.Tensor | None = None) -> np.ndarray:
    """``G(z)`` in eval mode (its training flag restored) as a picture: :func:`image_grid` for
    images, :func:`scatter_plot` over ``real`` for vectors."""
    was = G.training
    G.eval()
    try:
        x = G(z).float().cpu()
    finally:
        G.train(was)
    return scatter_plot(x, real) if x.ndim == 2 else image_grid(x)


def write_png(picture: np.ndarray, path: str | Path) -> Path:
    """Write the ``uint8`` array ``picture`` ((H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA) as a
    PNG at ``path`` via a temporary file renamed into place; creates the folder."""
    from PIL import Image

    if not (isinstance(picture, np.ndarray) and picture.dtype == np.uint8 and picture.ndim in (2, 3)):
        raise ValueError(f"picture: expected a uint8 array (H, W) or (H, W, C), got "
                         f"{getattr(picture, 'dtype', type(picture).__name__)} {getattr(picture, 'shape', '')}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    Image.fromarray(picture).save(tmp, format="PNG")
    tmp.replace(path)
    return path
