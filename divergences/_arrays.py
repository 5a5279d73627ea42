"""Array plumbing shared by every divergence: numpy in -> numpy out, torch in -> torch out.

Every public function in :mod:`divergences` computes in torch.  A numpy argument is
converted to a CPU ``float64`` tensor on the way in and back to a numpy array (or a Python
float for a scalar result) on the way out; a torch argument keeps its device, dtype and
autograd graph.  This keeps one code path per formula.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__: list[str] = []  # private helpers; nothing is re-exported

ArrayLike = Any  # numpy array, torch tensor, or nested sequence of numbers


def is_torch(*xs: Any) -> bool:
    """True if any argument is a torch tensor (then results are returned as tensors)."""
    return any(isinstance(x, torch.Tensor) for x in xs)


def to_tensor(x: ArrayLike, name: str, *, like: torch.Tensor | None = None,
              dtype: torch.dtype | None = None) -> torch.Tensor:
    """Convert ``x`` to a floating tensor without copying torch inputs needlessly.

    numpy / sequences become ``float64`` on the device of ``like`` (CPU if ``like`` is None);
    torch tensors keep device and dtype unless ``dtype`` is given; integer tensors become
    the default float dtype of ``like`` (or float64).  Complex input (numpy, torch or Python
    complex numbers) raises ``ValueError`` naming ``name``: casting would silently drop the
    imaginary part.
    """
    if isinstance(x, torch.Tensor):
        if x.is_complex():
            raise ValueError(f"{name}: complex values are not supported; pass a real array (e.g. x.real)")
        t = x
    else:
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: could not be converted to a float array ({exc})") from None
        if arr.dtype.kind == "c":
            raise ValueError(f"{name}: complex values are not supported; pass a real array (e.g. x.real)")
        try:
            arr = arr.astype(np.float64, copy=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: could not be converted to a float array ({exc})") from None
        t = torch.from_numpy(arr)
        if like is not None:
            t = t.to(device=like.device, dtype=like.dtype if like.is_floating_point() else torch.float64)
    if not t.is_floating_point():
        t = t.to(like.dtype if (like is not None and like.is_floating_point()) else torch.float64)
    if dtype is not None:
        t = t.to(dtype)
    return t


def real_array(x: ArrayLike, name: str) -> np.ndarray:
    """``x`` as a float64 numpy array (torch tensors are detached and moved to the CPU);
    complex or non-numeric input raises ``ValueError`` naming ``name`` (see :func:`to_tensor`)."""
    return to_tensor(x.detach().cpu() if isinstance(x, torch.Tensor) else x, name,
                     dtype=torch.float64).numpy()


def pow2_scale(*ts: torch.Tensor | np.ndarray) -> float:
    """A power of two ``s`` close to ``max |t|`` over the tensors (1.0 if all are 0).

    Dividing by a power of two is exact in binary floating point (unless the result is
    subnormal), so ``t / s`` has entries of magnitude <= 1 and squares, Gram matrices and norms
    of ``t / s`` neither overflow nor underflow; scale-covariant statistics are then rescaled.
    """
    import math

    top = max(float(absmax(t)) if isinstance(t, torch.Tensor) else _np_absmax(t) for t in ts)
    if top == 0 or not math.isfinite(top):
        return 1.0
    return math.ldexp(1.0, math.frexp(top)[1])


def _np_absmax(t: np.ndarray) -> float:
    """``max |t|`` of a numpy array (0 if empty) from its min and max: no ``|t|`` copy."""
    return float(max(t.max(), -t.min())) if t.size else 0.0


def absmax(t: torch.Tensor) -> torch.Tensor:
    """``max |t|`` as a 0-d tensor on ``t``'s device, without gradient (0 for an empty tensor), from
    one ``aminmax`` reduction: no ``|t|`` copy (a (10 000, 2048) float64 feature matrix would need
    160 MB for it); exact, as negation is."""
    t = t.detach()
    if t.numel() == 0:
        return torch.zeros((), dtype=t.dtype if t.is_floating_point() else torch.float64, device=t.device)
    if not t.is_floating_point():
        return t.abs().max()
    lo, hi = torch.aminmax(t)
    return torch.maximum(-lo, hi)


def common_tensors(*pairs: tuple[ArrayLike, str]) -> tuple[torch.Tensor, ...]:
    """Convert several arguments to tensors on one device with one promoted float dtype.

    The first torch argument fixes the device; the dtype is the promotion of all floating
    dtypes involved (numpy arguments count as float64 only when no tensor is given).
    """
    first = next((x for x, _ in pairs if isinstance(x, torch.Tensor)), None)
    ts = [to_tensor(x, n, like=first) for x, n in pairs]
    devices = {t.device for t in ts}
    if len(devices) > 1:
        names = ", ".join(n for _, n in pairs)
        raise ValueError(f"{names}: tensors are on different devices {sorted(map(str, devices))}")
    dtype = ts[0].dtype
    for t in ts[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    return tuple(t.to(dtype) for t in ts)


def to_output(t: torch.Tensor, as_torch: bool) -> Any:
    """Return ``t`` as given (torch) or as numpy; 0-d numpy results become Python floats."""
    if as_torch:
        return t
    out = t.detach().cpu().numpy()
    if out.ndim == 0:
        return float(out)
    return out
