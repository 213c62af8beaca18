"""Per-epoch reseeding, so a resumed run replays the epochs an uninterrupted one would.

:class:`EpochSeed` reseeds python, numpy and torch at the start of every epoch from
``(seed, epoch, rank)``. A run resumed after epoch k therefore draws the same
augmentation and drop-path masks in epoch k+1 as an uninterrupted run, whatever
Lightning did in between (restoring, building loaders). This replaces saving the RNG
states in the checkpoint: those states would be taken at the checkpoint write, not at
the start of the next epoch, and hooks in between may draw random numbers.
"""

from __future__ import annotations

import pytorch_lightning as pl

from ..data.loaders import mix_seed, seed_all


class EpochSeed(pl.Callback):
    """Seeds every RNG from ``(seed, epoch, global rank)`` when a training epoch starts."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        seed_all(mix_seed(self.seed, trainer.current_epoch, trainer.global_rank))
