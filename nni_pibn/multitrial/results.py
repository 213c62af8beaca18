"""The trials of a multi-trial search, read back from its NNI manager, and ``trials.csv``.

One :class:`TrialRecord` per NNI trial: its id, status, the genotype of the architecture
it trained (the ``genotype.json`` the trial wrote from the model it received; before it
exists, the sample in NNI's record of the trial, which NNI 3.0 can pair with another
trial's when several run at once), the arch-val accuracy it reported
after each epoch, its final result, and its wall time. ``trials.csv`` holds one row per
trial in submission order::

    trial_id,status,genotype,val_acc_epoch_1,...,val_acc_epoch_N,final_val_acc,seconds

``genotype`` is the genotype's JSON (``{"normal": [["pib_conv_3x3", 0], ...], ...}``).
The best trial is the succeeded one with the highest final accuracy (the earliest on ties).
Trials are ordered by start time: NNI numbers them again from 0 after a resume.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..genotype import Genotype, from_nni, read_json
from ..io import atomic_write_text
from ..nnictl import metrics_value

TRIALS_CSV = "trials.csv"


@dataclass
class TrialRecord:
    trial_id: str
    sequence: int
    status: str
    genotype: Genotype | None
    epochs: list[float | None] = field(default_factory=list)
    final: float | None = None
    seconds: float | None = None
    log_path: str = ""
    start: float = math.inf  #: start time (ms since the epoch); NNI restarts sequenceId on resume


def _number(value: Any) -> float | None:
    """A reported metric as a float (:func:`~nni_pibn.nnictl.metrics_value`); None if absent or not finite."""
    number = metrics_value(value)
    return number if number is not None and math.isfinite(number) else None


def _sample(job: Any) -> dict[str, Any] | None:
    """The architecture dict of a trial. Its parameter is the frozen model space NNI sent, as
    NNI serialised it (``SimplifiedModelSpace._dump``: ``model_symbol``, ``evaluator``,
    ``sample``...); the sample is read from there rather than loading the whole model, which
    would build the evaluator's Trainer and datasets."""
    if len(job.hyperParameters) != 1:
        return None
    params = job.hyperParameters[0].parameters
    sample = params.get("sample") if isinstance(params, dict) else None
    return sample if isinstance(sample, dict) else None


def trained_genotype(log_path: str | None) -> Genotype | None:
    """The genotype a trial wrote into its output folder (None: not there or unreadable)."""
    path = Path(log_path) / "genotype.json" if log_path else None
    if path is None or not path.is_file():
        return None
    try:
        return read_json(path)
    except (UserError, ValueError, KeyError, TypeError, OSError):
        return None


def read_trials(exp: Any, op_set: str) -> list[TrialRecord]:
    """Every trial of the running NasExperiment ``exp``, in submission order."""
    metrics = exp.get_job_metrics()
    records = []
    for job in exp.list_trial_jobs():
        sample = _sample(job)
        periodical = sorted((m for m in metrics.get(job.trialJobId, []) if m.type == "PERIODICAL"),
                            key=lambda m: m.sequence)
        finals = list(job.finalMetricData) or [m for m in metrics.get(job.trialJobId, []) if m.type == "FINAL"]
        end = job.endTime if isinstance(job.endTime, int) and job.endTime > 0 else None
        start = job.startTime if isinstance(job.startTime, int) and job.startTime > 0 else None
        records.append(TrialRecord(
            trial_id=job.trialJobId,
            sequence=int(job.sequenceId),
            status=job.status,
            genotype=trained_genotype(job.logPath) or (from_nni(sample, op_set=op_set) if sample else None),
            epochs=[_number(m.data) for m in periodical],
            final=_number(finals[-1].data) if finals else None,
            seconds=round((end - start) / 1000.0, 2) if start and end else None,
            log_path=job.logPath or "",
            start=start if start else math.inf,
        ))
    return sorted(records, key=lambda r: (r.start, r.sequence))


def best_trial(records: list[TrialRecord]) -> TrialRecord | None:
    done = [(i, r) for i, r in enumerate(records)
            if r.status == "SUCCEEDED" and r.final is not None and r.genotype is not None]
    return max(done, key=lambda ir: (ir[1].final, -ir[0]))[1] if done else None


def trials_table(records: list[TrialRecord], epochs: int) -> str:
    """``trials.csv`` as text, with ``epochs`` per-epoch columns."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["trial_id", "status", "genotype", *(f"val_acc_epoch_{e + 1}" for e in range(epochs)),
                     "final_val_acc", "seconds"])
    fmt = lambda x: "" if x is None else f"{x:.6g}"  # noqa: E731
    for r in records:
        per_epoch = [r.epochs[e] if e < len(r.epochs) else None for e in range(epochs)]
        genotype = json.dumps(r.genotype.to_json(), separators=(",", ":")) if r.genotype else ""
        writer.writerow([r.trial_id, r.status, genotype, *map(fmt, per_epoch), fmt(r.final), fmt(r.seconds)])
    return out.getvalue()


def write_trials_csv(run_dir: Path, records: list[TrialRecord], epochs: int) -> Path:
    path = run_dir / TRIALS_CSV
    atomic_write_text(path, trials_table(records, epochs))
    return path


def read_trials_csv(path: str | Path) -> list[dict[str, str]]:
    """The rows of a ``trials.csv`` as dicts of strings."""
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))
