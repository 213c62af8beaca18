"""Driving ``nnictl``: start an experiment config, follow it through NNI's REST API, stop it.

``nnictl create`` returns as soon as the NNI manager is up; :func:`wait` polls
``/api/v1/nni/check-status`` until the experiment is DONE (or stops or fails), printing
trial progress. Used by ``nni-pibn experiment`` (the README's main job) and the tests.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable

from .errors import UserError

ANSI = re.compile(r"\x1b\[[0-9;]*m")
FINISHED = ("DONE", "STOPPED", "ERROR")  # NO_MORE_TRIAL: the tuner is done, trials may still run


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
        return json.loads(resp.read().decode())


def create(config: str | Path, port: int, env: dict[str, str] | None = None) -> str:
    """Runs ``nnictl create``; returns the experiment id (a UserError with nnictl's message if it fails)."""
    path = Path(config)
    if not path.is_file():
        raise UserError(f"experiment config {str(path)!r} does not exist; see experiments/*.yml")
    if port_open(port):
        raise UserError(f"port {port} is in use (another NNI experiment?); pass --port or run 'nnictl stop --all'")
    proc = subprocess.run([nnictl(), "create", "--config", str(path), "--port", str(port)], env=env or trial_env(),
                          capture_output=True, text=True, timeout=180)
    out = ANSI.sub("", proc.stdout + proc.stderr)
    match = re.search(r"Experiment ID: (\w+)", out)
    if proc.returncode != 0 or not match:
        lines = [ln for ln in out.splitlines() if "ERROR" in ln or "Error" in ln] or out.strip().splitlines()[-1:]
        raise UserError(f"nnictl create failed: {lines[-1].strip() if lines else 'no output'}")
    return match.group(1)


def wait(port: int, timeout: float | None = None, poll: float = 2.0,
         on_change: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Polls the experiment until it finishes; returns the last ``check-status``."""
    deadline = None if timeout is None else time.time() + timeout
    last = ""
    status: dict[str, Any] = {}
    while deadline is None or time.time() < deadline:
        try:
            status = rest(port, "check-status")
            jobs = rest(port, "trial-jobs")
        except (urllib.error.URLError, OSError):
            time.sleep(poll)
            continue
        counts: dict[str, int] = {}
        for j in jobs:
            counts[j["status"]] = counts.get(j["status"], 0) + 1
        line = f"experiment {status.get('status')}: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        if on_change and line != last:
            on_change(line)
        last = line
        if status.get("status") in FINISHED:
            return status
        time.sleep(poll)
    return status


def stop(exp_id: str, port: int | None = None) -> None:
    subprocess.run([nnictl(), "stop", exp_id], env=trial_env(), capture_output=True, timeout=120)
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
    value = decode_metric(data)
    if isinstance(value, dict):
        value = value.get("default")
    return float(value) if isinstance(value, (int, float)) else None


def metrics(port: int) -> list[dict[str, Any]]:
    """``/metric-data`` with each metric's JSON decoded into ``value``."""
    return [{**m, "value": decode_metric(m["data"])} for m in rest(port, "metric-data")]
