"""A run's progress, reported per epoch to NNI (inside a trial) and as one log line.

:class:`NNIReport` sends ``trainer.callback_metrics[metric]`` after every validation to
``nni.report_intermediate_result`` and the last (or best) value at the end of ``fit`` to
``nni.report_final_result``, from global rank 0 only. Outside a trial it sends nothing.

What NNI receives, e.g. for the search stage of a pipeline::

    {"default": 0.81, "search_val_acc": 0.81, "stage": "search", "epoch": 2, "epochs": 3}

``default`` is the number NNI ranks trials by; the stage key (``<stage>_<metric>``:
``search_val_acc``, ``train_test_acc``) holds the value in that stage's results, so the web
UI's metric dropdown draws each stage as its own curve. ``epoch`` counts from 0. NNI's web
UI offers only the numeric keys of a trial's *first* intermediate result, so a run of
several stages declares them with :func:`planned_stages` (the pipeline does): each
intermediate result then carries every planned stage's key, NaN where that stage has not
run (the web UI reads NaN and leaves those points out of the curve)::

    {"default": 0.81, "search_val_acc": 0.81, "train_test_acc": NaN, "stage": "search", ...}

Without a progress bar (``--quiet``, as every experiment's trials run) or inside a trial,
the callback also prints one line when fit starts (the device it runs on) and one per
epoch (every epoch metric and the epoch's wall time), so ``trial.log`` shows progress::

    search: 3 epochs on cpu
    search epoch 1/3: train_acc 0.4531 train_loss 1.7520 val_acc 0.5312 val_loss 1.5101 (21.4 s)

NNI asserts that a trial called ``nni.get_next_parameter()`` before reporting; if nothing
has, the callback calls it once (rank 0 only: other DDP ranks would hang on it).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import pytorch_lightning as pl

from .folders import in_nni_trial


class Reporter(Protocol):
    def report_intermediate_result(self, metric: Any) -> None: ...
    def report_final_result(self, metric: Any) -> None: ...


def ensure_trial_parameters() -> Any:
    """The trial's parameters, fetching them from NNI if no one has yet."""
    import nni

    params = nni.get_current_parameter()
    return params if params is not None else nni.get_next_parameter()


#: the metric each stage of this project reports to NNI.
STAGE_METRICS = {"search": "val_acc", "train": "test_acc"}
_planned: tuple[str, ...] = ()


def current_planned_stages() -> tuple[str, ...]:
    """The stages declared by the enclosing :func:`planned_stages` (empty outside one)."""
    return _planned


def stage_key(stage: str, metric: str) -> str:
    """The per-stage metric name NNI receives: ``search_val_acc``, ``train_test_acc``."""
    return f"{stage}_{metric}"


@contextmanager
def planned_stages(*stages: str) -> Iterator[None]:
    """Within the block, intermediate results name every stage listed (NaN until it runs)."""
    global _planned
    unknown = [s for s in stages if s not in STAGE_METRICS]
    if unknown:
        raise ValueError(f"unknown stage {unknown[0]!r}; stages: {', '.join(STAGE_METRICS)}")
    before, _planned = _planned, tuple(stages)
    try:
        yield
    finally:
        _planned = before


def device_name(trainer: pl.Trainer) -> str:
    """``cpu``, or ``cuda:0 (NVIDIA H200)`` and the like: what the run computes on."""
    device = trainer.strategy.root_device
    if device.type == "cuda":
        import torch

        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


def epoch_metrics(trainer: pl.Trainer) -> dict[str, float]:
    """The epoch's scalar metrics (``train_loss``, ``val_acc``...), without the per-step copies
    and the grouped ones (NNI's DARTS logs every alpha as ``prob/normal/2_0/<op>``)."""
    out = {}
    for key, value in trainer.callback_metrics.items():
        if key.endswith("_step") or "/" in key or getattr(value, "numel", lambda: 1)() != 1:
            continue
        out[key.removesuffix("_epoch")] = float(value)
    return dict(sorted(out.items()))


class NNIReport(pl.Callback):
    """Reports ``metric`` (a key of ``trainer.callback_metrics``) to NNI per epoch and at the end.

    ``final``: ``"last"`` reports the last epoch's value, ``"best"`` the best by ``mode``.
    ``enabled`` defaults to "inside an NNI trial"; ``reporter`` defaults to the ``nni``
    module (tests pass a recorder). ``lines`` (default: inside a trial or without a progress
    bar) prints the start and per-epoch lines through ``echo``.
    """

    def __init__(self, metric: str = "test_acc", stage: str = "train", final: str = "last", mode: str = "max",
                 as_dict: bool = True, enabled: bool | None = None, reporter: Reporter | None = None,
                 lines: bool | None = None, echo: Callable[[str], None] | None = None) -> None:
        if final not in ("last", "best") or mode not in ("max", "min"):
            raise ValueError(f"final must be last or best and mode max or min, got {final!r}, {mode!r}")
        self.metric, self.stage, self.final, self.mode, self.as_dict = metric, stage, final, mode, as_dict
        self.enabled = in_nni_trial() if enabled is None else enabled
        self._reporter = reporter
        self.lines, self.echo = lines, echo or (lambda line: print(line, flush=True))
        self.last: tuple[int, float] | None = None
        self.best: tuple[int, float] | None = None
        self._epochs = 0
        self._epoch_start = time.monotonic()

    @property
    def reporter(self) -> Reporter:
        if self._reporter is None:
            import nni

            ensure_trial_parameters()
            self._reporter = nni  # type: ignore[assignment]
        return self._reporter  # type: ignore[return-value]

    def _payload(self, epoch: int, value: float, final: bool = False) -> Any:
        if not self.as_dict:
            return value
        others = {} if final else {stage_key(s, STAGE_METRICS[s]): math.nan for s in _planned}
        return {"default": value, **others, stage_key(self.stage, self.metric): value, "stage": self.stage,
                "epoch": epoch, "epochs": self._epochs}

    def _print_lines(self, trainer: pl.Trainer) -> bool:
        if not trainer.is_global_zero:
            return False
        if self.lines is not None:
            return self.lines
        return self.enabled or trainer.progress_bar_callback is None

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._epochs = int(trainer.max_epochs or 0)
        if self._print_lines(trainer):
            self.echo(f"{self.stage}: {self._epochs} epochs on {device_name(trainer)}")

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._epoch_start = time.monotonic()

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or self.metric not in trainer.callback_metrics:
            return
        value = float(trainer.callback_metrics[self.metric])
        epoch = trainer.current_epoch
        self.last = (epoch, value)
        better = (lambda a, b: a > b) if self.mode == "max" else (lambda a, b: a < b)
        if self.best is None or (not math.isnan(value) and better(value, self.best[1])):
            self.best = (epoch, value)
        if self.enabled and trainer.is_global_zero:
            self.reporter.report_intermediate_result(self._payload(epoch, value))

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self._print_lines(trainer):
            return
        shown = " ".join(f"{k} {v:.4f}" for k, v in epoch_metrics(trainer).items() if k not in ("epoch", "step"))
        seconds = time.monotonic() - self._epoch_start
        self.echo(f"{self.stage} epoch {trainer.current_epoch + 1}/{self._epochs}: {shown} ({seconds:.1f} s)")

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        result = self.last if self.final == "last" else self.best
        if self.enabled and trainer.is_global_zero and result is not None:
            self.reporter.report_final_result(self._payload(*result, final=True))

    def state_dict(self) -> dict[str, Any]:
        return {"last": self.last, "best": self.best}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.last, self.best = state_dict.get("last"), state_dict.get("best")
