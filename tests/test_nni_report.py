"""NNIReport: what NNI receives per stage, and the per-epoch lines a --quiet run prints."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
import pytorch_lightning as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from nni_pibn.runs.reporting import NNIReport, planned_stages


class _Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []

    def report_intermediate_result(self, metric: Any) -> None:
        self.sent.append(("PERIODICAL", metric))

    def report_final_result(self, metric: Any) -> None:
        self.sent.append(("FINAL", metric))


class _Tiny(pl.LightningModule):
    """Logs a fixed, epoch-dependent val_acc (0.5, 0.25, 0.75) and a grouped key to be left out."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(2, 2)

    def training_step(self, batch: Any, _: int) -> torch.Tensor:
        loss = nn.functional.cross_entropy(self.lin(batch[0]), batch[1])
        self.log("train_loss", loss, on_step=True, on_epoch=True)
        return loss

    def validation_step(self, batch: Any, _: int) -> None:
        self.log("val_acc", [0.5, 0.25, 0.75][self.current_epoch])
        self.log("prob/normal/2_0/skip_connect", 0.1)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _fit(cb: NNIReport, progress_bar: bool = False) -> None:
    data = DataLoader(TensorDataset(torch.randn(8, 2), torch.randint(0, 2, (8,))), batch_size=4)
    trainer = pl.Trainer(max_epochs=3, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=progress_bar, enable_model_summary=False, callbacks=[cb],
                         num_sanity_val_steps=0)
    trainer.fit(_Tiny(), data, data)


def test_each_stage_reports_under_its_own_key_beside_default() -> None:
    rec = _Recorder()
    _fit(NNIReport(metric="val_acc", stage="search", enabled=True, reporter=rec, echo=lambda _: None))
    assert [kind for kind, _ in rec.sent] == ["PERIODICAL"] * 3 + ["FINAL"]
    for (_, payload), acc, epoch in zip(rec.sent, [0.5, 0.25, 0.75, 0.75], [0, 1, 2, 2]):
        assert payload == {"default": pytest.approx(acc), "search_val_acc": pytest.approx(acc),
                           "stage": "search", "epoch": epoch, "epochs": 3}


def test_best_final_is_the_best_epoch_not_the_last() -> None:
    rec = _Recorder()
    cb = NNIReport(metric="val_acc", stage="train", final="best", mode="min", enabled=True, reporter=rec,
                   echo=lambda _: None)
    _fit(cb)
    assert rec.sent[-1] == ("FINAL", {"default": pytest.approx(0.25), "train_val_acc": pytest.approx(0.25),
                                      "stage": "train", "epoch": 1, "epochs": 3})


def test_quiet_run_prints_device_and_one_line_per_epoch_without_sending() -> None:
    lines: list[str] = []
    rec = _Recorder()
    _fit(NNIReport(metric="val_acc", stage="train", enabled=False, reporter=rec, echo=lines.append))
    assert rec.sent == []  # outside a trial nothing goes to NNI
    assert lines[0] == "train: 3 epochs on cpu"
    assert len(lines) == 4
    for n, (line, acc) in enumerate(zip(lines[1:], ["0.5000", "0.2500", "0.7500"]), start=1):
        assert re.fullmatch(rf"train epoch {n}/3: train_loss \d\.\d{{4}} val_acc {acc} \(\d+\.\d s\)", line), line
    assert not any("prob/" in line for line in lines)


def test_progress_bar_run_outside_a_trial_prints_no_lines() -> None:
    lines: list[str] = []
    _fit(NNIReport(metric="val_acc", enabled=False, echo=lines.append), progress_bar=True)
    assert lines == []


def test_planned_stages_put_every_stage_key_in_every_intermediate_result() -> None:
    rec = _Recorder()
    with planned_stages("search", "train"):
        _fit(NNIReport(metric="val_acc", stage="search", enabled=True, reporter=rec, echo=lambda _: None))
    periodical = [p for kind, p in rec.sent if kind == "PERIODICAL"]
    # the key order of the first result is the web UI's dropdown order
    assert [list(p)[:3] for p in periodical] == [["default", "search_val_acc", "train_test_acc"]] * 3
    assert [p["search_val_acc"] for p in periodical] == pytest.approx([0.5, 0.25, 0.75])
    assert all(math.isnan(p["train_test_acc"]) for p in periodical)  # not run yet
    final = rec.sent[-1][1]
    assert "train_test_acc" not in final and final["search_val_acc"] == pytest.approx(0.75)  # no NaN in finals

    rec = _Recorder()
    _fit(NNIReport(metric="val_acc", stage="search", enabled=True, reporter=rec, echo=lambda _: None))
    assert all("train_test_acc" not in p for _, p in rec.sent)  # outside the block: its own key only
    with pytest.raises(ValueError, match="unknown stage 'tune'"), planned_stages("search", "tune"):
        pass
