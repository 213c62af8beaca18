"""Test helper: run an experiments/*.yml (as shipped, or a variant) with nnictl on a free port; always stop it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from nni_pibn import nnictl

REPO = Path(__file__).resolve().parents[1]
get, metrics, port_open = nnictl.rest, nnictl.metrics, nnictl.port_open
SHIPPED = sorted((REPO / "experiments").glob("*.yml"))


def as_shipped(config: Path, tmp: Path) -> Path:
    """``config`` unchanged (GPU settings, training service, trial command and all) but for an
    absolute ``trialCodeDirectory`` and a private ``experimentWorkingDirectory`` under ``tmp``."""
    cfg = yaml.safe_load(config.read_text())
    code = (config.parent / cfg.get("trialCodeDirectory", ".")).resolve()
    cfg.update(trialCodeDirectory=str(code), experimentWorkingDirectory=str(tmp / "nni-experiments"))
    path = tmp / config.name
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def variant(name: str, tmp: Path, **changes: Any) -> Path:
    """A copy of ``experiments/<name>`` on the local CPU, with ``changes`` applied."""
    cfg = yaml.safe_load((REPO / "experiments" / name).read_text())
    cfg.update(trialCodeDirectory=str(REPO), experimentWorkingDirectory=str(tmp / "nni-experiments"))
    cfg.pop("trialGpuNumber", None)
    cfg["trainingService"] = {"platform": "local"}
    cfg.update(changes)
    path = tmp / name
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in nnictl.trial_env().items() if not k.startswith("PYTEST")}
    env["OMP_NUM_THREADS"] = "1"
    return env


@contextmanager
def started(config: Path) -> Iterator[tuple[int, str]]:
    """Starts the experiment, yields ``(port, id)``, stops it (by id)."""
    port = nnictl.free_port()
    exp_id = nnictl.create(config, port, clean_env())
    try:
        yield port, exp_id
    finally:
        nnictl.stop(exp_id, port)


@contextmanager
def experiment(config: Path, timeout: float) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """Starts the experiment, waits until it finishes, yields ``(port, id, check-status)``, stops it."""
    with started(config) as (port, exp_id):
        yield port, exp_id, nnictl.wait(port, timeout, exp_id=exp_id)


def first_trial(port: int, exp_id: str, timeout: float, poll: float = 0.3) -> dict[str, Any]:
    """The first trial once it has left WAITING (RUNNING, SUCCEEDED, FAILED...), via the REST API.
    A manager that stops before any trial raises its start-up error."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            jobs = get(port, "trial-jobs")
        except OSError:
            if not nnictl.manager_running(exp_id):
                raise nnictl.startup_failure(exp_id) from None
            jobs = []
        started_jobs = [j for j in jobs if j.get("status") not in (None, "WAITING")]
        if started_jobs:
            return min(started_jobs, key=lambda j: j.get("sequenceId", 0))
        time.sleep(poll)
    raise TimeoutError(f"no trial of {exp_id} started within {timeout} s")
