"""Train/test loaders for retraining, built inside ``fit`` once the DDP rank is known."""

from __future__ import annotations

import pytorch_lightning as pl
from torch.utils.data import DataLoader

from ..data import Datasets, seeded_loader


class RetrainData(pl.LightningDataModule):
    """Shuffled training batches that are a function of ``(seed, epoch)`` and sharded across
    ranks by :class:`~nni_pibn.data.EpochSampler` (so the Trainer needs
    ``use_distributed_sampler=False``); the test set is evaluated whole on every rank."""

    def __init__(self, data: Datasets, batch_size: int, seed: int, num_workers: int, pin_memory: bool = False) -> None:
        super().__init__()
        self.data, self.batch_size, self.seed = data, batch_size, seed
        self.num_workers, self.pin_memory = num_workers, pin_memory

    def train_dataloader(self) -> DataLoader:
        t = self.trainer
        rank, world = (t.global_rank, t.world_size) if t is not None else (0, 1)
        return seeded_loader(self.data.train, self.batch_size, shuffle=True, seed=self.seed,
                             num_workers=self.num_workers, rank=rank, world_size=world, pin_memory=self.pin_memory)

    def val_dataloader(self) -> DataLoader:
        return seeded_loader(self.data.test, self.batch_size, shuffle=False, num_workers=self.num_workers,
                             pin_memory=self.pin_memory)
