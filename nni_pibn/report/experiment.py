"""Reading an NNI experiment's trials: from its folder (a stopped or finished experiment) or
from a running NNI manager's REST API.

A trial is described by its id, status, parameters, final metric, and the ``final.json``
its retraining wrote under the trial's output folder (``NNI_OUTPUT_DIR``, which NNI sets to
the trial's log path), when the folder is readable here. The parameters are the ones the
trial recorded as received (``nni_parameters.json``, see :mod:`nni_pibn.runs.trial_params`)
where it did: NNI 3.0's own record can pair a trial with another's when trials run at once.
"""

from __future__ import annotations

import json
import os
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..nnictl import metrics_value as _metric_value
from ..runs.trial_params import received_parameters


@dataclass
class Trial:
    trial_id: str
    status: str
    params: dict[str, Any] = field(default_factory=dict)
    final_metric: float | None = None
    log_path: str | None = None
    final: dict[str, Any] | None = None


#: the final.json fields a report reads, with their JSON types; a field of another type is
#: left out (the report then falls back on NNI's own metric), never a crash.
FINAL_FIELDS: dict[str, tuple[type, ...]] = {
    "test_acc": (int, float), "best_test_acc": (int, float), "params_m": (int, float), "gmac": (int, float),
    "layers": (int,), "genotype": (dict,), "genotype_name": (str,), "op_set": (str,), "dataset": (str,),
}


def as_percent(x: Any) -> float | None:
    """An accuracy in percent: a fraction (<= 1) times 100, a larger number as it is; None stays None."""
    return None if x is None else (100.0 * float(x) if float(x) <= 1.0 else float(x))


def experiments_root() -> Path:
    return Path(os.environ.get("NNI_EXPERIMENT_DIR", Path.home() / "nni-experiments"))


def read_final_json(path: Path) -> dict[str, Any] | None:
    """A retraining's ``final.json`` with only well-typed :data:`FINAL_FIELDS` kept (booleans
    are not numbers); None when it is unreadable, not UTF-8, not JSON or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict):
        return None

    def fits(key: str, value: Any) -> bool:
        types = FINAL_FIELDS.get(key)
        return types is None or (isinstance(value, types) and not isinstance(value, bool))

    return {k: v for k, v in data.items() if fits(k, v)}


def find_final_json(log_path: str | None) -> dict[str, Any] | None:
    """The newest ``final.json`` under a trial's output folder, if any (see :func:`read_final_json`)."""
    if not isinstance(log_path, str) or not log_path or not Path(log_path).is_dir():
        return None
    found = sorted(Path(log_path).rglob("final.json"), key=lambda p: p.stat().st_mtime)
    return read_final_json(found[-1]) if found else None


def resolve_experiment_dir(id_or_dir: str) -> Path:
    p = Path(id_or_dir)
    if p.is_dir():
        return p
    candidate = experiments_root() / id_or_dir
    if candidate.is_dir():
        return candidate
    raise UserError(
        f"no NNI experiment {id_or_dir!r}: not a folder and not under {str(experiments_root())!r}; "
        "pass an experiment id, its folder, or --url of a running NNI manager"
    )


def trials_from_dir(exp_dir: Path) -> list[Trial]:
    """Trials of a (possibly stopped) experiment from its ``db/nni.sqlite``."""
    db = exp_dir / "db" / "nni.sqlite"
    if not db.is_file():
        raise UserError(f"{str(db)!r} is missing; is {str(exp_dir)!r} an NNI experiment folder?")
    try:
        trials = _read_trials(db)
    except sqlite3.Error as exc:
        raise UserError(f"{str(db)!r} is not a readable NNI database ({exc}); pass the folder of an NNI "
                        "experiment, or --url of its running manager") from None
    for t in trials.values():
        t.final = find_final_json(t.log_path)
        t.params = received_parameters(t.log_path) or t.params
    return list(trials.values())


def _read_trials(db: Path) -> dict[str, Trial]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        trials: dict[str, Trial] = {}
        for _, tid, event, data, log_path in con.execute(
            "SELECT timestamp, trialJobId, event, data, logPath FROM TrialJobEvent ORDER BY timestamp"
        ):
            t = trials.setdefault(tid, Trial(tid, event))
            t.status = event
            t.log_path = log_path or t.log_path
            if data:
                try:
                    t.params = json.loads(data).get("parameters", t.params)
                except (json.JSONDecodeError, AttributeError):
                    pass
        for tid, kind, data in con.execute("SELECT trialJobId, type, data FROM MetricData ORDER BY timestamp"):
            if kind == "FINAL" and tid in trials:
                trials[tid].final_metric = _metric_value(data)
    finally:
        con.close()
    return trials


def _get(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return json.loads(resp.read().decode())
    except (urllib.error.URLError, OSError, json.JSONDecodeError) as exc:
        raise UserError(f"cannot read {url} ({exc}); is the NNI manager running? (nnictl view ID)") from None


def check_url(url: str) -> str:
    """``url`` when it is an http(s) URL with a host and a valid port, else a UserError."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UserError(f"--url {url!r}: {exc}; pass the NNI manager's address, e.g. http://127.0.0.1:8080") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        raise UserError(f"--url {url!r} is not an http(s) address; pass the NNI manager's, e.g. http://127.0.0.1:8080")
    return url


def trials_from_rest(base_url: str) -> list[Trial]:
    """Trials of a running experiment from ``/api/v1/nni/trial-jobs`` and ``/metric-data``."""
    base = check_url(base_url).rstrip("/") + "/api/v1/nni"
    jobs = _get(base + "/trial-jobs")
    if not isinstance(jobs, list) or not all(isinstance(j, dict) and "trialJobId" in j for j in jobs):
        raise UserError(f"{base_url} did not answer as an NNI manager (no trial list at /api/v1/nni/trial-jobs); "
                        "pass the address nnictl printed")
    out = []
    for job in jobs:
        params: dict[str, Any] = {}
        for hp in job.get("hyperParameters", []):
            try:
                params = json.loads(hp).get("parameters", params)
            except (json.JSONDecodeError, AttributeError):
                pass
        finals = [m for m in job.get("finalMetricData") or [] if isinstance(m, dict) and m.get("type") == "FINAL"]
        final_metric = _metric_value(finals[-1]["data"]) if finals else None
        log_path = job.get("logPath")
        status = str(job.get("status", "UNKNOWN"))
        params = received_parameters(log_path if isinstance(log_path, str) else None) or params
        out.append(Trial(job["trialJobId"], status, params, final_metric, log_path, find_final_json(log_path)))
    return out


def load_trials(id_or_dir: str | None = None, url: str | None = None) -> list[Trial]:
    if url:
        return trials_from_rest(url)
    if not id_or_dir:
        raise UserError("pass an experiment id or folder, or --url of a running NNI manager")
    return trials_from_dir(resolve_experiment_dir(id_or_dir))
