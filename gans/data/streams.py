"""The trainer's random streams: real batches (:class:`BatchStream`), latent batches
(:class:`LatentStream`) and the seed of each stream (:func:`stream_seed`).

Every random number of a training run comes from a generator seeded by
``stream_seed(seed, rank, stream)``, one per purpose (:data:`STREAMS`), so the streams never
share state: changing the number of critic steps does not shift the data order, the fixed
sample-grid latents do not depend on training, and each DDP rank (``rank``) draws its own
batches.  Networks are initialised from rank 0's streams, so every rank starts from the same
weights.  Each stream's state is checkpointed (``state_dict`` / ``load_state_dict``), so a
resumed run draws exactly the numbers the uninterrupted one would have.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from . import to_model_input
from .latent import sample_latent
from .prefetch import IndexStream, Prefetcher, load_item

__all__ = ["STREAMS", "stream_seed", "BatchStream", "LatentStream"]

# stream number of each purpose (the third entry of the seed sequence of stream_seed)
STREAMS: dict[str, int] = {
    "global": 0,          # torch's global RNG (losses that draw from it: instance noise, ...)
    "generator_init": 1,  # generator weights (rank 0's on every rank)
    "critic_init": 2,     # critic weights (rank 0's on every rank)
    "real": 3,            # order of the real batches (BatchStream)
    "latent": 4,          # training latents (LatentStream)
    "sample_grid": 5,     # the fixed latents of the sample grids (rank 0's)
    "loss": 6,            # the penalties' interpolation / perturbation (gans.losses.build)
}


def stream_seed(seed: int, rank: int, stream: int) -> int:
    """The 63-bit seed of random stream ``stream`` (:data:`STREAMS`) of DDP rank ``rank`` in a run
    seeded by ``seed``: the first 64-bit word of ``numpy.random.SeedSequence([seed, rank, stream])``
    shifted right by one bit (a non-negative ``int64``, as ``torch.Generator.manual_seed`` wants).

    ``SeedSequence`` hashes its entropy, so neighbouring ``(seed, rank, stream)`` triples give
    unrelated seeds (O'Neill's seed-sequence design, numpy's ``SeedSequence`` documentation).
    """
    return int(np.random.SeedSequence([seed, rank, stream]).generate_state(1, dtype=np.uint64)[0] >> 1)


class BatchStream:
    """Real batches in the order of a seeded permutation per epoch (:class:`gans.data.prefetch.IndexStream`).

    Datasets with an in-memory ``tensor`` are batched by indexing it (a tensor under 1 GiB, e.g.
    toy mixtures or uint8 stand-ins and CIFAR-10, is moved to the device once).  Others are
    loaded item by item, each item as a function of ``(index, epoch)``
    (:func:`gans.data.prefetch.load_item`: CelebA's augmentation changes every epoch): with
    ``workers = 0`` in this process, with ``workers > 0`` by a
    :class:`gans.data.prefetch.Prefetcher` (worker processes, pinned memory on CUDA, ``uint8``
    until ``.to(device, non_blocking=True)``).  The batch sequence does not depend on
    ``workers``.  Batches come out as model input (:func:`gans.data.to_model_input`: images in
    ``[-1, 1]``), ``channels_last`` for 4-D batches when asked.

    State (``state_dict``): generator state, permutation, position and epoch of the stream
    *after the last batch returned*, never of batches only prefetched, so a resumed stream
    yields exactly the batches the uninterrupted one would have.  Call :meth:`close` to stop
    the workers.
    """

    def __init__(self, dataset: torch.utils.data.Dataset, batch_size: int, seed: int, device: torch.device,
                 channels_last: bool = False, workers: int = 0) -> None:
        self.dataset, self.batch_size, self.device = dataset, batch_size, torch.device(device)
        self.n = len(dataset)
        if self.n < 1:
            raise ValueError("dataset is empty")
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 0:
            raise ValueError(f"workers: expected an integer >= 0, got {workers!r}")
        self.index = IndexStream(self.n, seed)
        self.seed = int(seed)
        tensor = getattr(dataset, "tensor", None)
        self.tensor = tensor if isinstance(tensor, torch.Tensor) else None
        if self.tensor is not None and self.tensor.numel() * self.tensor.element_size() < 2 ** 30:
            self.tensor = self.tensor.to(self.device)  # small data (toy points, uint8 stand-ins) lives on the device
        self.channels_last = channels_last
        self.workers = 0 if self.tensor is not None else workers
        self._prefetch: Prefetcher | None = None

    def __call__(self) -> torch.Tensor:
        if self.workers > 0 and self._prefetch is None:  # starts at the consumed state
            self._prefetch = Prefetcher(self.dataset, self.index, self.batch_size, self.workers,
                                        pin_memory=self.device.type == "cuda", seed=self.seed)
        idx, ep = self.index.next(self.batch_size)
        if self.tensor is not None:  # non-blocking: a fresh pageable index tensor is staged at once
            batch = self.tensor[idx.to(self.tensor.device, non_blocking=True)]
        elif self._prefetch is not None:
            batch, got_idx, got_ep = self._prefetch.next()
            if not (torch.equal(got_idx, idx) and torch.equal(got_ep, ep)):
                raise RuntimeError("prefetched real batch is out of step with the index stream "
                                   f"(expected indices {idx[:4].tolist()}..., got {got_idx[:4].tolist()}...)")
        else:
            batch = torch.stack([load_item(self.dataset, i, e) for i, e in zip(idx.tolist(), ep.tolist())])
        batch = to_model_input(batch.to(self.device, non_blocking=True))
        if self.channels_last and batch.ndim == 4:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch

    def state_dict(self) -> dict[str, Any]:
        """Generator state, permutation, position and epoch after the last consumed batch."""
        return self.index.state_dict()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict`; running workers are stopped and restart from it."""
        self.close()
        self.index.load_state_dict(state)

    def close(self) -> None:
        """Stop the prefetching workers (a later call starts new ones at the current state)."""
        if self._prefetch is not None:
            self._prefetch.close()
            self._prefetch = None


class LatentStream:
    """Latent batches from the prior ``distribution`` (:func:`gans.data.latent.sample_latent`:
    ``z ~ N(0, I)`` or ``U[-1, 1]^dim``) drawn from a CPU generator seeded by ``seed`` and moved
    to ``device`` without blocking.  ``stream(n)`` draws ``n`` codes (default ``batch_size``)."""

    def __init__(self, dim: int, batch_size: int, distribution: str, seed: int, device: torch.device) -> None:
        self.dim, self.batch_size, self.distribution, self.device = dim, batch_size, distribution, device
        self.gen = torch.Generator().manual_seed(seed)

    def __call__(self, n: int | None = None) -> torch.Tensor:
        z = sample_latent(n or self.batch_size, self.dim, self.distribution, self.gen)
        return z.to(self.device, non_blocking=True)

    def state_dict(self) -> dict[str, Any]:
        """The latent generator's state."""
        return {"gen": self.gen.get_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict`."""
        self.gen.set_state(state["gen"])
