"""Reporting a Lightning run's metric to NNI, when (and only when) it runs as an NNI trial.

:class:`NNIReport` sends ``trainer.callback_metrics[metric]`` after every validation to
``nni.report_intermediate_result`` and the last (or best) value at the end of ``fit`` to
``nni.report_final_result``, from global rank 0 only. Outside a trial it does nothing.
Values are sent as ``{'default': value, 'stage': stage, 'epoch': e}`` (NNI uses ``default``
and shows the rest), so a pipeline can tell search metrics from retraining ones.

NNI asserts that a trial called ``nni.get_next_parameter()`` before reporting; if nothing
has, the callback calls it once (rank 0 only: other DDP ranks would hang on it).
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import pytorch_lightning as pl

from .runs import in_nni_trial


class Reporter(Protocol):
    def report_intermediate_result(self, metric: Any) -> None: ...
    def report_final_result(self, metric: Any) -> None: ...


def ensure_trial_parameters() -> Any:
    """The trial's parameters, fetching them from NNI if no one has yet."""
    import nni

    params = nni.get_current_parameter()
    return params if params is not None else nni.get_next_parameter()


class NNIReport(pl.Callback):
    """Reports ``metric`` (a key of ``trainer.callback_metrics``) to NNI per epoch and at the end.

    ``final``: ``"last"`` reports the last epoch's value, ``"best"`` the best by ``mode``.
    ``enabled`` defaults to "inside an NNI trial"; ``reporter`` defaults to the ``nni``
    module (tests pass a recorder).
    """

    def __init__(self, metric: str = "test_acc", stage: str = "train", final: str = "last", mode: str = "max",
                 as_dict: bool = True, enabled: bool | None = None, reporter: Reporter | None = None) -> None:
        if final not in ("last", "best") or mode not in ("max", "min"):
            raise ValueError(f"final must be last or best and mode max or min, got {final!r}, {mode!r}")
        self.metric, self.stage, self.final, self.mode, self.as_dict = metric, stage, final, mode, as_dict
        self.enabled = in_nni_trial() if enabled is None else enabled
        self._reporter = reporter
        self.last: tuple[int, float] | None = None
        self.best: tuple[int, float] | None = None

    @property
    def reporter(self) -> Reporter:
        if self._reporter is None:
            import nni

            ensure_trial_parameters()
            self._reporter = nni  # type: ignore[assignment]
        return self._reporter  # type: ignore[return-value]

    def _payload(self, epoch: int, value: float) -> Any:
        return {"default": value, "stage": self.stage, "epoch": epoch} if self.as_dict else value

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

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        result = self.last if self.final == "last" else self.best
        if self.enabled and trainer.is_global_zero and result is not None:
            self.reporter.report_final_result(self._payload(*result))

    def state_dict(self) -> dict[str, Any]:
        return {"last": self.last, "best": self.best}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.last, self.best = state_dict.get("last"), state_dict.get("best")
