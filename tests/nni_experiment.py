"""Test helper: run an experiments/*.yml variant with nnictl on a free port; always stop it."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import yaml

from nni_pibn import nnictl

REPO = Path(__file__).resolve().parents[1]
get, metrics, port_open = nnictl.rest, nnictl.metrics, nnictl.port_open


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


@contextmanager
def experiment(config: Path, timeout: float) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """Starts the experiment, waits until it finishes, yields ``(port, id, check-status)``, stops it."""
    port = nnictl.free_port()
    env = {k: v for k, v in nnictl.trial_env().items() if not k.startswith("PYTEST")}
    env["OMP_NUM_THREADS"] = "1"
    exp_id = nnictl.create(config, port, env)
    try:
        yield port, exp_id, nnictl.wait(port, timeout)
    finally:
        nnictl.stop(exp_id, port)
