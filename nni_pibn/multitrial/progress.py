"""Following a multi-trial search as its trials end: a line each, ``trials.csv`` kept current,
and the best accuracy so far reported to an enclosing NNI trial.

:class:`TrialEnded` is an NNI strategy middleware that only listens: chained after the
strategy (``Chain(strategy, TrialEnded(callback))``) it passes models and events through
unchanged and calls ``callback()`` whenever a trial ends. :class:`Progress` is that
callback: it reads the trials back from the NNI manager (ids, times, per-epoch results),
rewrites ``trials.csv``, and prints one line per newly finished trial::

    trial 3/20 Ab12c SUCCEEDED: val_acc 0.5312 after 5 epochs (41.2 s); best 0.5781 (trial Xy9zQ)

Inside an nnictl trial it also reports ``{"default": best, "search_val_acc": best,
"stage": "search", "epoch": k, "epochs": max_trials, "unit": "trial"}`` as that trial's
intermediate result (``epoch`` counts finished architectures), so the outer web UI shows
the search advancing.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from nni.nas.execution.event import ModelEvent, ModelEventType
from nni.nas.space import ExecutableModelSpace, ModelStatus
from nni.nas.strategy.middleware import StrategyMiddleware

from ..runs.reporting import STAGE_METRICS, stage_key
from .results import TrialRecord, best_trial, read_trials, write_trials_csv

RUNNING = ("WAITING", "RUNNING", "UNKNOWN")


class TrialEnded(StrategyMiddleware):
    """A pass-through middleware calling ``on_end(event)`` after each trial's end reaches it.

    It keeps the models it passes on: NNI's training-service engine holds submitted models
    by weak reference only and drops the events of a collected one, and ``Random`` keeps
    none of its models, so without this its trials would end unheard."""

    def __init__(self, on_end: Callable[[ModelEvent], None]) -> None:
        super().__init__()
        self.on_end = on_end
        self.submitted: list[ExecutableModelSpace] = []

    def _initialize_engine(self, engine: Any) -> None:
        engine.register_model_event_callback(ModelEventType.TrainingEnd, self.on_end)

    def _cleanup(self) -> None:
        self.engine.unregister_model_event_callback(ModelEventType.TrainingEnd, self.on_end)

    def submit_models(self, *models: ExecutableModelSpace) -> None:
        self.submitted.extend(models)
        self.engine.submit_models(*models)

    def list_models(self, status: ModelStatus | None = None) -> Iterable[ExecutableModelSpace]:
        return self.engine.list_models(status)

    def wait_models(self, *models: ExecutableModelSpace) -> None:
        self.engine.wait_models(*models)

    def register_model_event_callback(self, event_type: ModelEventType, callback: Callable[..., None]) -> None:
        super().register_model_event_callback(event_type, callback)
        self.engine.register_model_event_callback(event_type, callback)

    def unregister_model_event_callback(self, event_type: ModelEventType, callback: Callable[..., None]) -> None:
        super().unregister_model_event_callback(event_type, callback)
        self.engine.unregister_model_event_callback(event_type, callback)

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state_dict: dict) -> None:
        pass


class Progress:
    """Keeps ``trials.csv`` current and prints finished trials; see the module docstring.

    ``outer``: an object with ``report_intermediate_result`` (the ``nni`` module of an
    enclosing trial) or None. ``planned``: the stages an enclosing pipeline declared (their
    keys are sent as NaN, as :class:`~nni_pibn.runs.reporting.NNIReport` does)."""

    def __init__(self, run_dir: Path, cfg: Any, op_set: str, echo: Callable[[str], None],
                 outer: Any = None, planned: tuple[str, ...] = ()) -> None:
        self.run_dir, self.cfg, self.op_set, self.echo = run_dir, cfg, op_set, echo
        self.outer, self.planned = outer, planned
        self.exp: Any = None
        self.shown: set[str] = set()
        self.records: list[TrialRecord] = []
        self._lock = threading.Lock()

    def __call__(self, event: ModelEvent | None = None) -> None:
        if self.exp is None:
            return
        with self._lock:
            self.update()

    def update(self) -> list[TrialRecord]:
        """Reads the trials, rewrites ``trials.csv``, prints and reports the newly finished ones."""
        self.records = read_trials(self.exp, self.op_set)
        write_trials_csv(self.run_dir, self.records, self.cfg.trial_epochs)
        for k, r in enumerate(self.records):
            if r.trial_id in self.shown or r.status in RUNNING:
                continue
            self.shown.add(r.trial_id)
            best = best_trial([f for f in self.records[: k + 1] if f.status not in RUNNING])
            self.echo(self.line(k + 1, r, best))
            if self.outer is not None and best is not None and best.final is not None:
                self.outer.report_intermediate_result(self.payload(best.final, len(self.shown) - 1))
        return self.records

    def line(self, number: int, r: TrialRecord, best: TrialRecord | None) -> str:
        head = f"trial {number}/{self.cfg.max_trials} {r.trial_id} {r.status}"
        took = f" ({r.seconds:.1f} s)" if r.seconds is not None else ""
        result = (f": val_acc {r.final:.4f} after {len(r.epochs)} epochs{took}" if r.final is not None
                  else f"{took}; see {Path(r.log_path) / 'trial.log'}" if r.log_path else took)
        tail = f"; best {best.final:.4f} (trial {best.trial_id})" if best is not None and best.final is not None else ""
        return head + result + tail

    def payload(self, best: float, finished: int) -> dict[str, Any]:
        others = {stage_key(s, STAGE_METRICS[s]): math.nan for s in self.planned}
        return {"default": best, **others, stage_key("search", STAGE_METRICS["search"]): best, "stage": "search",
                "epoch": finished, "epochs": self.cfg.max_trials, "unit": "trial"}
