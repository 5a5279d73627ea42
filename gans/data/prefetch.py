"""Deterministic, resumable real-batch order with worker prefetching (used by ``gans.train``).

The order of real items is an :class:`IndexStream`: a ``torch.Generator`` seeded once draws a
permutation of ``range(n)`` per epoch (``torch.randperm``); batches are consecutive slices of
it, and a batch that crosses the end of an epoch continues in the next permutation.  Every
index carries the number of its epoch (0 for the first permutation), so a dataset that
augments per epoch (:class:`gans.data.images.CelebA` with ``augment: true``) receives
``(index, epoch)`` and computes the item as a pure function of ``(seed, index, epoch)``.  The
dataset object is never mutated: worker processes hold copies of it, so a ``set_epoch`` call
in the parent would not reach them (and with ``workers = 0`` it would change the dataset the
evaluation also reads).

Protocol: a dataset may define ``item_at(index: int, epoch: int) -> Tensor``; otherwise the
epoch is ignored and ``dataset[index]`` is used (:func:`load_item`).

Prefetching (:class:`Prefetcher`): a :class:`torch.utils.data.DataLoader` whose batch sampler
follows a *copy* of the index stream, with ``workers`` processes, ``prefetch_factor`` batches
in flight per worker and pinned host memory on CUDA.  Items stay ``uint8`` until the caller
moves the batch with ``.to(device, non_blocking=True)``.  The DataLoader returns batches in
sampler order whatever the number of workers, so the batch sequence is the one the
permutation defines; the trainer's own index stream advances only when a batch is *consumed*
(and checks the prefetched batch carries the same indices and epochs), so a checkpoint holds
the state after the last consumed batch, never after the last prefetched one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

__all__ = ["IndexStream", "EpochItems", "Prefetcher", "load_item", "resolve_workers"]


class IndexStream:
    """Seeded epoch permutations of ``range(n)`` cut into batches; state is exactly resumable.

    ``next(b)`` returns ``(indices, epochs)``, two int64 tensors of length ``b``.  Epoch ``k``
    is the ``(k+1)``-th ``torch.randperm(n, generator=gen)`` drawn from ``gen`` seeded with
    ``seed``.  State: generator state, current permutation, position in it, epoch number.
    """

    def __init__(self, n: int, seed: int) -> None:
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n: the dataset must hold at least one item, got {n!r}")
        self.n = n
        self.gen = torch.Generator().manual_seed(int(seed))
        self.perm = torch.randperm(n, generator=self.gen)
        self.pos, self.epoch = 0, 0

    def next(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The next ``batch_size`` indices of the permutation stream and their epochs."""
        if batch_size < 1:
            raise ValueError(f"batch_size: must be >= 1, got {batch_size}")
        idx, ep = [], []
        need = batch_size
        while need > 0:
            if self.pos >= self.n:
                self.perm, self.pos = torch.randperm(self.n, generator=self.gen), 0
                self.epoch += 1
            take = self.perm[self.pos:self.pos + need]
            self.pos += len(take)
            need -= len(take)
            idx.append(take)
            ep.append(torch.full((len(take),), self.epoch, dtype=torch.int64))
        return torch.cat(idx), torch.cat(ep)

    def state_dict(self) -> dict[str, Any]:
        """``gen`` (generator state), ``perm``, ``pos`` and ``epoch``: all the next batch depends on."""
        return {"gen": self.gen.get_state(), "perm": self.perm.clone(), "pos": self.pos, "epoch": self.epoch}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` (``epoch`` defaults to 0 for checkpoints written before it existed)."""
        perm = torch.as_tensor(state["perm"])
        if perm.numel() != self.n:
            raise ValueError(f"state: permutation of {perm.numel()} items, but the dataset holds {self.n}")
        self.gen.set_state(state["gen"])
        self.perm, self.pos, self.epoch = perm.clone(), int(state["pos"]), int(state.get("epoch", 0))

    def copy(self) -> IndexStream:
        """An independent stream in the same state (it yields the same future batches)."""
        other = IndexStream.__new__(IndexStream)
        other.n, other.gen = self.n, torch.Generator()
        other.load_state_dict(self.state_dict())
        return other


def load_item(dataset: Dataset, index: int, epoch: int) -> torch.Tensor:
    """Item ``index`` at ``epoch``: ``dataset.item_at(index, epoch)`` if defined, else ``dataset[index]``."""
    fn = getattr(dataset, "item_at", None)
    return torch.as_tensor(fn(int(index), int(epoch)) if callable(fn) else dataset[int(index)])


class EpochItems(Dataset):
    """A view of ``dataset`` keyed by ``(index, epoch)`` pairs (see :func:`load_item`).

    Returns ``(item, index, epoch)`` when ``with_keys`` (the trainer checks the keys of each
    prefetched batch), else the item alone.
    """

    def __init__(self, dataset: Dataset, with_keys: bool = True) -> None:
        self.dataset, self.with_keys = dataset, with_keys

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]) -> Any:
        index, epoch = key
        x = load_item(self.dataset, index, epoch)
        return (x, index, epoch) if self.with_keys else x


class _StreamBatchSampler:
    """Endless batch sampler: lists of ``(index, epoch)`` from its own :class:`IndexStream`."""

    def __init__(self, stream: IndexStream, batch_size: int) -> None:
        self.stream, self.batch_size = stream, batch_size

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        while True:
            idx, ep = self.stream.next(self.batch_size)
            yield list(zip(idx.tolist(), ep.tolist()))


class Prefetcher:
    """Worker-prefetched batches following a copy of ``stream`` (the caller's stream is not advanced).

    ``next()`` returns ``(images, indices, epochs)`` with ``images`` stacked as the dataset
    stores them (``uint8`` for images; pinned on CUDA when ``pin_memory``).  ``seed`` feeds
    the DataLoader's own generator (the workers' base seed), so creating the prefetcher
    never draws from the global torch RNG.  Call :meth:`close` to stop the workers.
    """

    def __init__(self, dataset: Dataset, stream: IndexStream, batch_size: int, workers: int, *,
                 pin_memory: bool = False, seed: int = 0, prefetch_factor: int = 4) -> None:
        if workers < 1:
            raise ValueError(f"workers: a Prefetcher needs >= 1 worker process, got {workers}")
        if prefetch_factor < 1:
            raise ValueError(f"prefetch_factor: must be >= 1, got {prefetch_factor}")
        loader = DataLoader(EpochItems(dataset, with_keys=True),
                            batch_sampler=_StreamBatchSampler(stream.copy(), batch_size),
                            num_workers=workers, pin_memory=pin_memory, prefetch_factor=prefetch_factor,
                            generator=torch.Generator().manual_seed(int(seed)))
        self._it: Iterator[Any] | None = iter(loader)

    def next(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The next prefetched batch ``(images, indices, epochs)``."""
        if self._it is None:
            raise ValueError("Prefetcher: next() called after close()")
        try:
            images, idx, ep = next(self._it)
        except BaseException:
            self.close()  # the traceback keeps the iterator alive: stop its workers now
            raise
        return images, idx, ep

    def close(self) -> None:
        """Stop the worker processes now (the loader iterator may outlive this object in a traceback)."""
        it, self._it = self._it, None
        shutdown = getattr(it, "_shutdown_workers", None)  # DataLoader's own clean-up (private API)
        if callable(shutdown):
            shutdown()


def resolve_workers(value: Any, device: torch.device, world_size: int = 1) -> int:
    """``data.workers``: a non-negative int, or ``None``/``"auto"`` = 0 on CPU and, on CUDA,
    ``min(8, cpu_count // world_size - 1)`` (at least 0) worker processes per training process."""
    if value is None or value == "auto":
        if torch.device(device).type != "cuda":
            return 0
        return max(0, min(8, (os.cpu_count() or 1) // max(1, world_size) - 1))
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"data.workers: expected 'auto' or an integer >= 0, got {value!r}")
    return value
