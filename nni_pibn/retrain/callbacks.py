"""Lightning callbacks that make a run reproducible and leave a plain-text record.

- :class:`EpochSeed` reseeds python, numpy and torch at the start of every epoch from
  ``(seed, epoch, rank)``. A run resumed after epoch k therefore draws the same
  augmentation and drop-path masks in epoch k+1 as an uninterrupted run, whatever
  Lightning did in between (restoring, building loaders). This replaces saving the RNG
  states in the checkpoint: those states would be taken at the checkpoint write, not at
  the start of the next epoch, and hooks in between may draw random numbers.
- :class:`MetricsCSV` writes ``metrics.csv`` (one row per epoch) atomically after every
  epoch; its rows live in the checkpoint, so a resumed run rewrites exactly the epochs
  that the checkpoint has seen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl

from ..data.loaders import mix_seed, seed_all
from ..io import atomic_write_metrics_csv

METRIC_COLUMNS = ["epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "drop_path_prob"]


class EpochSeed(pl.Callback):
    """Seeds every RNG from ``(seed, epoch, global rank)`` when a training epoch starts."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        seed_all(mix_seed(self.seed, trainer.current_epoch, trainer.global_rank))


def _number(value: Any) -> float:
    return float(value.item() if hasattr(value, "item") else value)


class MetricsCSV(pl.Callback):
    """Appends ``epoch, train_loss, train_acc, test_loss, test_acc, lr, drop_path_prob`` per
    epoch to ``path`` (rank 0 only). Accuracies are fractions in [0, 1]; ``lr`` is the
    learning rate the epoch trained with."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.rows: list[dict[str, float]] = []
        self._lr = float("nan")

    @property
    def state_key(self) -> str:
        return "MetricsCSV"

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # read now: Lightning steps epoch-interval schedulers after the last batch, before epoch-end hooks
        self._lr = float(trainer.optimizers[0].param_groups[0]["lr"])

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        m = trainer.callback_metrics
        row: dict[str, float] = {"epoch": trainer.current_epoch}
        for key in METRIC_COLUMNS[1:5]:
            row[key] = _number(m[key]) if key in m else float("nan")
        row["lr"] = self._lr
        row["drop_path_prob"] = float(getattr(pl_module.net, "drop_path_prob", 0.0))
        self.rows = [r for r in self.rows if r["epoch"] < row["epoch"]] + [row]
        if trainer.is_global_zero:
            self.write()

    def write(self) -> None:
        atomic_write_metrics_csv(self.path, METRIC_COLUMNS, self.rows)

    def state_dict(self) -> dict[str, Any]:
        return {"rows": [dict(r) for r in self.rows]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.rows = [dict(r) for r in state_dict.get("rows", [])]
