"""The plain-text record of a run: ``metrics.csv`` (and ``alphas.json``) after every epoch.

One :class:`EpochRecorder` serves search and retraining; they differ only in the metric
names they log and in what else they record:

- ``metrics.csv``: ``epoch``, the named metrics, ``lr`` (the learning rate the epoch
  trained with), then one column per ``extras`` entry (retraining: ``drop_path_prob``).
  Accuracies are fractions in [0, 1]; a metric the epoch did not log is ``nan``.
- ``alphas.json`` (only with an ``alphas`` provider, i.e. a search):
  ``{"epochs": [{"epoch": e, "edges": {"normal/2_0": {"skip_connect": w, ..., "none": w}}}]}``
  (softmax weights incl. the implicit ``none``; empty ``edges`` for strategies without
  per-edge logits).

Both files are rebuilt from rows kept in the callback's state, which Lightning stores in
each checkpoint, so a resumed run rewrites exactly the epochs its checkpoint has seen.
Files are written atomically by global rank 0.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl

from ..io import atomic_write_json, atomic_write_metrics_csv

METRICS_FILE = "metrics.csv"
ALPHAS_FILE = "alphas.json"

#: ``module -> value`` for an extra metrics.csv column.
Extra = Callable[[pl.LightningModule], float]
#: ``module -> {edge: {op: weight}}`` for alphas.json.
AlphasProvider = Callable[[pl.LightningModule], dict[str, dict[str, float]]]


def _number(value: Any) -> float:
    return float(value.item() if hasattr(value, "item") else value)


def weight_lr(trainer: pl.Trainer) -> float:
    """The learning rate of the first optimizer that trains weights (not architecture logits:
    a search's arch optimizers carry ``is_arch_optimizer``); nan when there is none."""
    weights = [o for o in trainer.optimizers if not getattr(o, "is_arch_optimizer", False)]
    return float(weights[0].param_groups[0]["lr"]) if weights else float("nan")


class EpochRecorder(pl.Callback):
    """Appends one row per training epoch to ``run_dir/metrics.csv`` (see the module docstring).

    ``metrics`` name keys of ``trainer.callback_metrics``; a metric logged per step and per
    epoch appears there as ``<name>_epoch``, which is preferred."""

    def __init__(self, run_dir: str | Path, metrics: Sequence[str], *, extras: Mapping[str, Extra] | None = None,
                 alphas: AlphasProvider | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.metrics = list(metrics)
        self.extras = dict(extras or {})
        self.alphas_of = alphas
        self.columns = ["epoch", *self.metrics, "lr", *self.extras]
        self.rows: list[dict[str, float]] = []
        self.alphas: list[dict[str, Any]] = []
        self._lr = float("nan")

    @property
    def state_key(self) -> str:
        return "EpochRecorder"

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # read now: Lightning steps epoch-interval schedulers after the last batch, before epoch-end hooks
        self._lr = weight_lr(trainer)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        epoch = trainer.current_epoch
        m = trainer.callback_metrics
        row: dict[str, float] = {"epoch": epoch}
        for key in self.metrics:
            row[key] = next((_number(m[n]) for n in (f"{key}_epoch", key) if n in m), float("nan"))
        row["lr"] = self._lr
        for key, extra in self.extras.items():
            row[key] = float(extra(pl_module))
        self.rows = [r for r in self.rows if r["epoch"] < epoch] + [row]
        if self.alphas_of is not None:
            self.alphas = [a for a in self.alphas if a["epoch"] < epoch] + [
                {"epoch": epoch, "edges": self.alphas_of(pl_module)}
            ]
        if trainer.is_global_zero:
            self.write()

    def write(self) -> None:
        atomic_write_metrics_csv(self.run_dir / METRICS_FILE, self.columns, self.rows)
        if self.alphas_of is not None:
            atomic_write_json(self.run_dir / ALPHAS_FILE, {"epochs": self.alphas})

    def state_dict(self) -> dict[str, Any]:
        return {"rows": [dict(r) for r in self.rows], "alphas": list(self.alphas)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.rows = [dict(r) for r in state_dict.get("rows", [])]
        self.alphas = list(state_dict.get("alphas", []))
