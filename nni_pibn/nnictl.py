"""Driving ``nnictl``: start an experiment config, follow it through NNI's REST API, stop it.

``nnictl create`` returns as soon as the NNI manager is up, and exits 0 even when the
manager shuts down a second later (e.g. ``trialGpuNumber`` on a machine without NVML).
:func:`wait` polls ``/api/v1/nni/check-status`` until the experiment is DONE (or stops or
fails), reporting status changes and every new per-epoch result; when the manager stops
during start-up (its REST API gone, or ``check-status`` ERROR before any trial ran) it
raises a UserError carrying the first ERROR line of ``nnimanager.log``.
Used by ``nni-pibn experiment`` (the README's main job) and the tests.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import UserError

ANSI = re.compile(r"\x1b\[[0-9;]*m")
FINISHED = ("DONE", "STOPPED", "ERROR")  # NO_MORE_TRIAL: the tuner is done, trials may still run
LOG_ERROR = re.compile(r"\] ERROR (\(\w+\) .*)")
#: the fix for manager start-up errors whose cause is known, by a phrase of the error.
FIXES = {
    "Failed to collect GPU info": "trialGpuNumber needs an NVIDIA GPU and its driver's NVML library; "
                                  "remove trialGpuNumber from the config to run on this machine",
}
#: how long an unreachable REST API of a manager that still runs is waited for.
REST_GRACE_S = 60.0


def nnictl() -> str:
    """``nnictl`` beside this Python (the venv's), else on PATH."""
    here = Path(sys.executable).parent / "nnictl"
    found = str(here) if here.exists() else shutil.which("nnictl")
    if not found:
        raise UserError("nnictl not found; install nni (pip install nni==3.0) in this environment")
    return found


def trial_env() -> dict[str, str]:
    """This environment with the venv's bin first on PATH, so trial commands find ``nni-pibn``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NNI_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def rest(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/nni/{path}", timeout=10) as resp:
        text = resp.read().decode()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return {"status": text.strip()}  # check-status answers a bare INITIALIZING while starting


def manager_info(exp_id: str) -> dict[str, Any]:
    """The experiment's entry in nnictl's list (``~/nni-experiments/.experiment``): status, pid, logDir."""
    from nni.tools.nnictl.config_utils import Experiments

    return dict(Experiments().get_all_experiments().get(exp_id) or {})


def manager_log(exp_id: str) -> Path | None:
    """``<experiment working dir>/<id>/log/nnimanager.log``, or None when nnictl does not know the id."""
    log_dir = manager_info(exp_id).get("logDir")
    return Path(log_dir) / exp_id / "log" / "nnimanager.log" if log_dir else None


def manager_running(exp_id: str) -> bool:
    """False once the manager process has ended or nnictl's list says it stopped."""
    info = manager_info(exp_id)
    if info.get("status") in ("STOPPED", "ERROR"):
        return False
    pid = info.get("pid")
    if not isinstance(pid, int):
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def first_error(log: Path | None) -> str | None:
    """The first ERROR line of an ``nnimanager.log``, without its timestamp."""
    if log is None or not log.is_file():
        return None
    for line in log.read_text(errors="replace").splitlines():
        match = LOG_ERROR.search(line)
        if match:
            return match.group(1).strip()
    return None


def startup_failure(exp_id: str, reason: str | None = None) -> UserError:
    """The one-line error for a manager that stopped before running a trial."""
    log = manager_log(exp_id)
    reason = first_error(log) or reason or "no ERROR line in its log"
    fix = next((f for phrase, f in FIXES.items() if phrase in reason), f"see {log}" if log else "see its log")
    return UserError(f"NNI experiment {exp_id} stopped during start-up: {reason}; {fix}")


def create(config: str | Path, port: int, env: dict[str, str] | None = None) -> str:
    """Runs ``nnictl create``; returns the experiment id (a UserError with nnictl's message if it fails)."""
    path = Path(config)
    if not path.is_file():
        raise UserError(f"experiment config {str(path)!r} does not exist; see experiments/*.yml")
    if port_open(port):
        raise UserError(f"port {port} is in use (another NNI experiment?); pass another --port, or stop that "
                        "experiment ('nnictl experiment list' shows its id)")
    proc = subprocess.run([nnictl(), "create", "--config", str(path), "--port", str(port)], env=env or trial_env(),
                          capture_output=True, text=True, timeout=180, check=False)
    out = ANSI.sub("", proc.stdout + proc.stderr)
    match = re.search(r"Experiment ID: (\w+)", out)
    if proc.returncode != 0 or not match:
        lines = [ln for ln in out.splitlines() if "ERROR" in ln or "Error" in ln] or out.strip().splitlines()[-1:]
        raise UserError(f"nnictl create failed: {lines[-1].strip() if lines else 'no output'}")
    return match.group(1)


def wait(port: int, timeout: float | None = None, poll: float = 2.0,
         on_change: Callable[[str], None] | None = None, exp_id: str | None = None,
         on_result: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Polls the experiment until it finishes; returns the last ``check-status``.

    ``on_change`` gets a status line whenever the trial counts change, ``on_result`` one
    line per new intermediate or final result (:func:`result_line`). With ``exp_id``, a
    manager that stops before any trial ran raises :func:`startup_failure`."""
    deadline = None if timeout is None else time.time() + timeout
    last, seen, ran = "", set(), False
    status: dict[str, Any] = {}
    unreachable_since: float | None = None
    while deadline is None or time.time() < deadline:
        try:
            status = rest(port, "check-status")
            jobs = rest(port, "trial-jobs") if status.get("status") != "INITIALIZING" else []
            results = rest(port, "metric-data") if on_result and jobs else []
        except (urllib.error.URLError, OSError):
            unreachable_since = unreachable_since or time.time()
            if exp_id and not ran and (not manager_running(exp_id) or time.time() - unreachable_since > REST_GRACE_S):
                raise startup_failure(exp_id, f"its REST API on port {port} is gone") from None
            time.sleep(poll)
            continue
        unreachable_since = None
        ran = ran or bool(jobs)
        if exp_id and not ran and status.get("status") == "ERROR":
            errors = status.get("errors") or []
            raise startup_failure(exp_id, str(errors[0]).splitlines()[0] if errors else None)
        for m in results:
            key = (m.get("trialJobId"), m.get("type"), m.get("sequence"), m.get("timestamp"))
            if key not in seen and on_result:
                seen.add(key)
                on_result(result_line(m))
        line = status_line(status, jobs)
        if on_change and line != last:
            on_change(line)
        last = line
        if status.get("status") in FINISHED:
            return status
        time.sleep(poll)
    return status


def status_line(status: dict[str, Any], jobs: list[dict[str, Any]]) -> str:
    """``experiment RUNNING: 1 RUNNING, 2 WAITING``, or what it waits for when no trial exists yet."""
    counts: dict[str, int] = {}
    for j in jobs:
        counts[j["status"]] = counts.get(j["status"], 0) + 1
    shown = ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "no trial yet (starting the first)"
    return f"experiment {status.get('status')}: {shown}"


def result_line(metric: dict[str, Any]) -> str:
    """One result as a progress line: ``trial Ab12c: search epoch 2/3, search_val_acc 0.8125``.

    A multi-trial search counts architectures, not epochs (its results carry ``"unit":
    "trial"`` and the best accuracy so far): ``trial Ab12c: search trial 13/200, best
    search_val_acc 0.9152``."""
    value = decode_metric(metric.get("data"))
    trial = f"trial {metric.get('trialJobId')}"
    final = metric.get("type") == "FINAL"
    if not isinstance(value, dict):
        return f"{trial}: {'final result' if final else 'result'} {value}"
    stage, epoch, epochs = value.get("stage"), value.get("epoch"), value.get("epochs")
    named = [(k, v) for k, v in value.items()
             if isinstance(v, (int, float)) and not math.isnan(v) and k not in ("default", "epoch", "epochs")]
    unit = value.get("unit") if value.get("unit") in ("epoch", "trial") else "epoch"
    best = "best " if unit == "trial" else ""
    number = ", ".join(f"{best}{k} {v:.4f}" for k, v in named) or f"default {value.get('default')}"
    where = f"{stage} " if stage else ""
    if isinstance(epoch, int):
        where += f"{unit} {epoch + 1}" + (f"/{epochs}" if epochs else "")
    if final:
        return f"{trial}: final result ({where.strip() or 'end'}), {number}"
    return f"{trial}: {where.strip() or 'result'}, {number}"


def stop(exp_id: str, port: int | None = None) -> None:
    subprocess.run([nnictl(), "stop", exp_id], env=trial_env(), capture_output=True, timeout=120, check=False)
    for _ in range(30):
        if port is None or not port_open(port):
            return
        time.sleep(1)


def decode_metric(data: Any) -> Any:
    """NNI stores metrics JSON-encoded twice; returns the reported value (a number or dict)."""
    while isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError:
            break
    return data


def metrics_value(data: Any) -> float | None:
    """A reported metric (a number, or NNI's dict with ``default``) as a float; None if absent
    (a boolean is not a metric)."""
    value = decode_metric(data)
    if isinstance(value, dict):
        value = value.get("default")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def metrics(port: int) -> list[dict[str, Any]]:
    """``/metric-data`` with each metric's JSON decoded into ``value``."""
    return [{**m, "value": decode_metric(m["data"])} for m in rest(port, "metric-data")]
