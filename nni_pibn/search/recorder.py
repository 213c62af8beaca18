"""What a search leaves after every epoch: ``metrics.csv`` and ``alphas.json``.

Both are rebuilt from rows kept in the callback's state, which Lightning stores in each
checkpoint, so a resumed search rewrites exactly the epochs its checkpoint has seen.

``alphas.json``: ``{"op_names": [...], "epochs": [{"epoch": e, "edges": {"normal/2_0":
{"skip_connect": w, ..., "none": w}}}]}`` (softmax weights incl. the implicit ``none``;
empty ``edges`` for strategies without per-edge logits).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl

from ..io import atomic_write_json, atomic_write_metrics_csv

COLUMNS = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr"]


def _num(value: Any) -> float:
    return float(value.item() if hasattr(value, "item") else value)


class SearchRecorder(pl.Callback):
    """Per epoch: train loss/acc (weight half), arch-val loss/acc, the lr the epoch used, alphas."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.rows: list[dict[str, float]] = []
        self.alphas: list[dict[str, Any]] = []
        self._lr = float("nan")

    @property
    def state_key(self) -> str:
        return "SearchRecorder"

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        weights = [o for o in trainer.optimizers if not getattr(o, "is_arch_optimizer", False)]
        self._lr = float(weights[0].param_groups[0]["lr"]) if weights else float("nan")

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        from ..strategies import edge_weights_of

        epoch = trainer.current_epoch
        m = trainer.callback_metrics
        row: dict[str, float] = {"epoch": epoch}
        for key, names in (("train_loss", ("train_loss_epoch", "train_loss")),
                           ("train_acc", ("train_acc_epoch", "train_acc")),
                           ("val_loss", ("val_loss",)), ("val_acc", ("val_acc",))):
            row[key] = next((_num(m[n]) for n in names if n in m), float("nan"))
        row["lr"] = self._lr
        self.rows = [r for r in self.rows if r["epoch"] < epoch] + [row]
        self.alphas = [a for a in self.alphas if a["epoch"] < epoch] + [
            {"epoch": epoch, "edges": edge_weights_of(pl_module)}
        ]
        if trainer.is_global_zero:
            self.write()

    def write(self) -> None:
        atomic_write_metrics_csv(self.run_dir / "metrics.csv", COLUMNS, self.rows)
        atomic_write_json(self.run_dir / "alphas.json", {"epochs": self.alphas})

    def state_dict(self) -> dict[str, Any]:
        return {"rows": [dict(r) for r in self.rows], "alphas": list(self.alphas)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.rows = [dict(r) for r in state_dict.get("rows", [])]
        self.alphas = list(state_dict.get("alphas", []))
