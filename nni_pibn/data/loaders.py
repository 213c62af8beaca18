"""Data loaders whose order and augmentation depend only on ``(seed, epoch)``.

Resuming a run must replay the same batches as an uninterrupted one. A plain
``shuffle=True`` loader draws its order from torch's global generator, whose state
depends on everything that ran before; :class:`EpochSampler` instead permutes with a
private generator seeded by ``(seed, epoch)`` and shards the permutation across DDP ranks,
and :class:`WorkerSeed` seeds each worker process from ``(seed, epoch, rank, worker)``.
Lightning calls ``set_epoch`` on the sampler before every training epoch.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sized

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler


def mix_seed(*parts: int) -> int:
    """One 63-bit seed from several integers (numpy's SeedSequence hashing)."""
    state = np.random.SeedSequence([int(p) & 0xFFFFFFFF for p in parts]).generate_state(2, np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1])) & ((1 << 63) - 1)


def seed_all(seed: int) -> None:
    """Seeds python's ``random``, numpy's global generator and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed & 0xFFFFFFFF)
    torch.manual_seed(seed)


class EpochSampler(Sampler[int]):
    """Shuffled (or sequential) indices, a fixed function of ``(seed, epoch)``; each of
    ``world_size`` ranks takes every ``world_size``-th index (padded to equal length)."""

    def __init__(self, data: Sized, seed: int = 0, shuffle: bool = True, rank: int = 0, world_size: int = 1) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world size {world_size}")
        self.n = len(data)
        self.seed, self.shuffle, self.rank, self.world_size = seed, shuffle, rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _order(self) -> list[int]:
        if not self.shuffle:
            return list(range(self.n))
        g = torch.Generator().manual_seed(mix_seed(self.seed, self.epoch))
        return torch.randperm(self.n, generator=g).tolist()

    def __iter__(self) -> Iterator[int]:
        order = self._order()
        total = len(self) * self.world_size
        order += order[: total - len(order)]  # pad so every rank gets the same count
        return iter(order[self.rank::self.world_size])

    def __len__(self) -> int:
        return (self.n + self.world_size - 1) // self.world_size


class WorkerSeed:
    """``worker_init_fn`` seeding a loader worker from ``(seed, epoch, rank, worker id)``.

    It reads the epoch from the sampler when the workers start (they are re-created each
    epoch because ``persistent_workers`` stays off), so augmentation in workers is
    reproducible across a resume too."""

    def __init__(self, sampler: EpochSampler) -> None:
        self.sampler = sampler

    def __call__(self, worker_id: int) -> None:
        s = self.sampler
        seed_all(mix_seed(s.seed, s.epoch, s.rank, worker_id, 1))


def seeded_loader(
    dataset: Dataset,
    batch_size: int,
    *,
    shuffle: bool,
    seed: int = 0,
    num_workers: int = 0,
    drop_last: bool = False,
    rank: int = 0,
    world_size: int = 1,
    pin_memory: bool = False,
    loader_class: type[DataLoader] = DataLoader,
) -> DataLoader:
    """A DataLoader over ``dataset`` with an :class:`EpochSampler` (pass ``use_distributed_sampler=False``
    to Lightning's Trainer: the sampler already shards across ranks). ``loader_class``: a
    DataLoader subclass to build instead (see :mod:`nni_pibn.multitrial.evaluator`)."""
    sampler = EpochSampler(dataset, seed, shuffle, rank, world_size)  # type: ignore[arg-type]
    return loader_class(
        dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers, drop_last=drop_last,
        worker_init_fn=WorkerSeed(sampler) if num_workers > 0 else None, pin_memory=pin_memory,
        persistent_workers=False,
        # each iterator draws a base seed; from a private generator it leaves the global RNG alone,
        # so when Lightning creates the iterator (before or after the epoch's reseed) does not matter
        generator=torch.Generator().manual_seed(mix_seed(seed, 2)),
    )
