"""nnictl driver without a manager: start-up failures found in nnimanager.log, progress lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nni_pibn import nnictl
from nni_pibn.errors import UserError

LOG = """\
[2026-11-29 01:22:13] INFO (NNIManager) Setup training service...
[2026-11-29 01:22:14] ERROR (GpuInfoCollector) Failed to collect GPU info, collector output: { failures: [ 'init: NVML Shared Library Not Found' ] }
[2026-11-29 01:22:14] INFO (ShutdownManager) Initiate shutdown: training service initialize failed
[2026-11-29 01:22:14] ERROR (TrainingServiceCompat) Training srevice initialize failed: Error: TaskScheduler
"""  # noqa: E501  (verbatim log lines)


def _stopped_manager(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, log: str | None, status: str = "STOPPED") -> None:
    if log is not None:
        (tmp_path / "exp1" / "log").mkdir(parents=True)
        (tmp_path / "exp1" / "log" / "nnimanager.log").write_text(log)
    monkeypatch.setattr(nnictl, "manager_info", lambda exp_id: {"status": status, "logDir": str(tmp_path), "pid": None})


def test_gone_manager_raises_its_first_logged_error_with_the_fix(monkeypatch, tmp_path: Path) -> None:
    _stopped_manager(monkeypatch, tmp_path, LOG)
    port = nnictl.free_port()  # nothing listens: the REST API is gone
    with pytest.raises(UserError) as err:
        nnictl.wait(port, timeout=20, poll=0.01, exp_id="exp1")
    msg = str(err.value)
    assert msg.startswith("NNI experiment exp1 stopped during start-up: (GpuInfoCollector) Failed to collect GPU info")
    assert "TrainingServiceCompat" not in msg and "\n" not in msg
    assert msg.endswith("remove trialGpuNumber from the config to run on this machine")


def test_unknown_cause_points_at_the_log(monkeypatch, tmp_path: Path) -> None:
    _stopped_manager(monkeypatch, tmp_path, "[2026-01-01 00:00:00] ERROR (Tuner) bad tuner args\n")
    with pytest.raises(UserError, match=r"start-up: \(Tuner\) bad tuner args; see .*exp1/log/nnimanager\.log$"):
        nnictl.wait(nnictl.free_port(), timeout=20, poll=0.01, exp_id="exp1")


def test_without_a_log_the_reason_is_the_missing_rest_api(monkeypatch, tmp_path: Path) -> None:
    _stopped_manager(monkeypatch, tmp_path, None)
    port = nnictl.free_port()
    with pytest.raises(UserError, match=rf"start-up: its REST API on port {port} is gone"):
        nnictl.wait(port, timeout=20, poll=0.01, exp_id="exp1")


def test_a_running_manager_whose_api_is_slow_is_waited_for(monkeypatch, tmp_path: Path) -> None:
    _stopped_manager(monkeypatch, tmp_path, LOG, status="RUNNING")
    assert nnictl.wait(nnictl.free_port(), timeout=0.2, poll=0.01, exp_id="exp1") == {}  # timeout, no error


def test_status_line_never_lists_nothing() -> None:
    assert nnictl.status_line({"status": "RUNNING"}, []) == "experiment RUNNING: no trial yet (starting the first)"
    jobs = [{"status": "RUNNING"}, {"status": "WAITING"}, {"status": "WAITING"}]
    assert nnictl.status_line({"status": "RUNNING"}, jobs) == "experiment RUNNING: 1 RUNNING, 2 WAITING"


def _metric(value: object, kind: str = "PERIODICAL") -> dict:
    return {"trialJobId": "Ab12c", "type": kind, "data": json.dumps(json.dumps(value))}  # NNI double-encodes


def test_result_lines_name_trial_stage_epoch_and_metric() -> None:
    search = {"default": 0.8125, "search_val_acc": 0.8125, "train_test_acc": float("nan"), "stage": "search",
              "epoch": 1, "epochs": 3}
    # the stage that has not run yet (NaN) is left out
    assert nnictl.result_line(_metric(search)) == "trial Ab12c: search epoch 2/3, search_val_acc 0.8125"
    trials = {"default": 0.9152, "search_val_acc": 0.9152, "train_test_acc": float("nan"), "stage": "search",
              "epoch": 12, "epochs": 200, "unit": "trial"}  # a multi-trial search in a pipeline counts architectures
    assert nnictl.result_line(_metric(trials)) == "trial Ab12c: search trial 13/200, best search_val_acc 0.9152"
    final = {"default": 0.96, "train_test_acc": 0.96, "stage": "train", "epoch": 9, "epochs": 10}
    assert nnictl.result_line(_metric(final, "FINAL")) == \
        "trial Ab12c: final result (train epoch 10/10), train_test_acc 0.9600"
    assert nnictl.result_line(_metric(0.5)) == "trial Ab12c: result 0.5"  # a plain number, from another trial code
    assert nnictl.result_line(_metric({"default": 0.5})) == "trial Ab12c: result, default 0.5"


def test_first_error_skips_info_lines(tmp_path: Path) -> None:
    log = tmp_path / "nnimanager.log"
    log.write_text("[t] INFO (A) fine\n[t] WARNING (B) hmm\n")
    assert nnictl.first_error(log) is None
    assert nnictl.first_error(tmp_path / "absent.log") is None
    log.write_text(LOG)
    assert nnictl.first_error(log).startswith("(GpuInfoCollector) Failed")  # type: ignore[union-attr]
