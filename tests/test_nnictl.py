"""End to end through nnictl: the experiment configs run, report and fail as a user sees them."""

from __future__ import annotations

import ctypes.util
import math
import re
import time
from collections import Counter
from pathlib import Path

import pytest
from nni_experiment import (  # type: ignore[import-not-found]
    REPO,
    SHIPPED,
    as_shipped,
    experiment,
    first_trial,
    get,
    metrics,
    port_open,
    started,
    variant,
)

from nni_pibn import nnictl
from nni_pibn.cli import main

pytestmark = pytest.mark.nnictl

TINY_SEARCH = ("--set search.dataset=fake --set search.channels=2 --set search.layers=3 --set search.nodes=2 "
               "--set search.epochs=2 --set search.warmup_epochs=1 --set search.batch_size=8 "
               "--set search.limit_batches=2 --set search.image_size=16")
TINY_TRAIN = ("--set train.dataset=fake --set train.channels=4 --set train.layers=2 --set train.epochs=3 "
              "--set train.batch_size=16 --set train.num_workers=0 --set train.onnx=false")


def test_quick_pipeline_through_nni_pibn_experiment(tmp_path: Path, capsys) -> None:
    """The README's main job, shrunk: ``nni-pibn experiment`` follows it (a progress line per
    epoch), then the REST API shows what NNI received: each stage under its own key."""
    cfg = variant("quick.yml", tmp_path,
                  trialCommand="nni-pibn pipeline --config experiments/configs/quick.yaml --quiet "
                               f"{TINY_SEARCH} {TINY_TRAIN}")
    port = nnictl.free_port()
    try:
        assert main(["experiment", str(cfg), "--port", str(port), "--timeout", "300"]) == 0
    finally:
        out = capsys.readouterr().out.splitlines()
        exp_id = re.match(r"experiment (\w+) started", out[0]).group(1)  # type: ignore[union-attr]
    try:
        assert not any(line.rstrip().endswith(":") for line in out), out  # never an empty status list
        progress = [line for line in out if re.match(r"trial \w+: (search|train) epoch", line)]
        assert [re.search(r"(search|train) epoch (\d/\d)", line).groups() for line in progress] == [  # type: ignore[union-attr]
            ("search", "1/2"), ("search", "2/2"), ("train", "1/3"), ("train", "2/3"), ("train", "3/3")], out
        assert "search_val_acc 0." in progress[0] and "train_test_acc 0." in progress[-1]
        assert any(re.match(r"trial \w+: final result \(train epoch 3/3\), train_test_acc 0\.", ln) for ln in out)

        assert get(port, "check-status")["status"] == "DONE"
        jobs = get(port, "trial-jobs")
        assert [j["status"] for j in jobs] == ["SUCCEEDED"]
        ms = [m for m in metrics(port) if m["trialJobId"] == jobs[0]["trialJobId"]]
        periodical = [m["value"] for m in ms if m["type"] == "PERIODICAL"]
        assert [(p["stage"], p["epoch"], p["epochs"]) for p in periodical] == [
            ("search", 0, 2), ("search", 1, 2), ("train", 0, 3), ("train", 1, 3), ("train", 2, 3)]
        # each stage under its own key, default beside it; every result names both stages (NaN for the
        # other), as the web UI's metric dropdown lists only the keys of a trial's first result
        assert all(list(p)[:3] == ["default", "search_val_acc", "train_test_acc"] for p in periodical)
        own = ["search_val_acc"] * 2 + ["train_test_acc"] * 3
        other = ["train_test_acc"] * 2 + ["search_val_acc"] * 3
        assert [p["default"] for p in periodical] == [p[k] for p, k in zip(periodical, own)]
        assert all(math.isnan(p[k]) for p, k in zip(periodical, other))
        finals = [m["value"] for m in ms if m["type"] == "FINAL"]
        assert len(finals) == 1 and finals[0]["stage"] == "train"
        assert finals[0]["default"] == finals[0]["train_test_acc"] == periodical[-1]["default"]
        assert "search_val_acc" not in finals[0]
        trial_dir = Path(jobs[0]["logPath"])
        assert (trial_dir / "pipeline" / "search" / "genotype.json").is_file()
        assert (trial_dir / "pipeline" / "train" / "final.json").is_file()
        # --quiet trials still log the device and one line per epoch of each stage
        log = (trial_dir / "trial.log").read_text()
        assert re.search(r"search: 2 epochs on (cpu|cuda)", log), log
        assert len(re.findall(r"search epoch [12]/2: .*val_acc \d", log)) == 2, log
        assert len(re.findall(r"train epoch [123]/3: .*test_acc \d", log)) == 3, log
    finally:
        nnictl.stop(exp_id, port)
    assert not port_open(port)


def test_layer_sweep_with_a_failing_trial_then_report(tmp_path: Path, capsys) -> None:
    cfg = variant(
        "layers.yml", tmp_path,
        searchSpace={"genotype": {"_type": "choice", "_value": ["pibn", "darts_v2", "nope"]},
                     "layers": {"_type": "choice", "_value": [2, 3]}},
        trialCommand="nni-pibn train --quiet --set dataset=fake --set channels=4 --set epochs=2 "
                     "--set batch_size=16 --set num_workers=0 --set onnx=false",
        trialConcurrency=2, maxTrialNumber=6,
    )
    with experiment(cfg, timeout=400) as (port, exp_id, status):
        assert status["status"] == "DONE", status
        jobs = get(port, "trial-jobs")
        params = {j["trialJobId"]: j["hyperParameters"][0] for j in jobs}
        by_status = Counter(j["status"] for j in jobs)
        assert by_status == {"SUCCEEDED": 4, "FAILED": 2}, by_status
        for j in jobs:
            if j["status"] == "FAILED":
                assert '"nope"' in params[j["trialJobId"]]
                err = (Path(j["logPath"]) / "trial.stderr").read_text().strip().splitlines()
                assert err[-1].startswith("nni-pibn: error: unknown genotype 'nope'"), err[-3:]
                assert "Traceback" not in "\n".join(err)
    assert not port_open(port)
    out = tmp_path / "report"
    assert main(["report", str(tmp_path / "nni-experiments" / exp_id), "--out", str(out)]) == 0
    table = (out / "report.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| ") and line.split("|")[2].strip().isdigit()]
    assert sorted((r.split("|")[1].strip(), int(r.split("|")[2])) for r in rows) == [
        ("darts_v2", 2), ("darts_v2", 3), ("pibn", 2), ("pibn", 3)]
    for r in rows:
        acc, params_m, gmac = (float(r.split("|")[k]) for k in (3, 4, 5))
        assert 0 <= acc <= 100 and params_m > 0 and gmac > 0
    for name in ("acc_vs_params.png", "acc_vs_layers.png"):
        assert (out / name).stat().st_size > 5000


def test_roadmap_runs_every_stage_and_reports_in_order(tmp_path: Path) -> None:
    cfg = variant("roadmap.yml", tmp_path, trialConcurrency=2,
                  trialCommand=f"nni-pibn pipeline --quiet {TINY_SEARCH} {TINY_TRAIN} --set train.epochs=1")
    with experiment(cfg, timeout=600) as (port, exp_id, status):
        assert status["status"] == "DONE", status
        assert [j["status"] for j in get(port, "trial-jobs")] == ["SUCCEEDED"] * 5
    out = tmp_path / "report"
    assert main(["report", str(tmp_path / "nni-experiments" / exp_id), "--kind", "roadmap", "--out", str(out)]) == 0
    lines = [ln for ln in (out / "report.md").read_text().splitlines() if ln.startswith("| ") and "stage" not in ln]
    assert [ln.split("|")[1].strip() for ln in lines] == ["darts", "darts_gelu", "darts_gelu_ln", "convnext", "pibn"]
    assert (out / "roadmap.png").stat().st_size > 5000


def _nvml_present() -> bool:
    return ctypes.util.find_library("nvidia-ml") is not None


@pytest.mark.parametrize("config", SHIPPED, ids=[c.name for c in SHIPPED])
def test_every_shipped_config_starts_a_trial_on_this_machine(config: Path, tmp_path: Path) -> None:
    """Each experiments/*.yml, as shipped (GPU settings and training service untouched), starts
    its NNI manager here and its first trial runs; stopped as soon as it does. A trial that
    needs a dataset this machine lacks may fail first, but only with the one-line data error."""
    with started(as_shipped(config, tmp_path)) as (port, exp_id):
        job = first_trial(port, exp_id, timeout=120)
        if job["status"] == "FAILED":
            err = (Path(job["logPath"]) / "trial.stderr").read_text().strip().splitlines()
            assert re.match(r"nni-pibn: error: .* not found under", err[-1]), err[-3:]
        else:
            assert job["status"] in ("RUNNING", "SUCCEEDED"), job
    assert not port_open(port)


@pytest.mark.skipif((REPO / "data" / "cifar-10-batches-py").is_dir(), reason="CIFAR-10 is present here")
def test_paper_config_without_cifar10_fails_its_trial_with_one_line(tmp_path: Path) -> None:
    with started(as_shipped(REPO / "experiments" / "pibn.yml", tmp_path)) as (port, exp_id):
        deadline = time.time() + 180
        while (job := first_trial(port, exp_id, timeout=120))["status"] == "RUNNING" and time.time() < deadline:
            time.sleep(1)
        assert job["status"] == "FAILED", job
        err = (Path(job["logPath"]) / "trial.stderr").read_text()
        assert "Traceback" not in err
        last = err.strip().splitlines()[-1]
        assert last.startswith("nni-pibn: error: CIFAR-10 not found under 'data'"), last
        assert "download=true" in last  # names the fix


@pytest.mark.skipif(_nvml_present(), reason="NVML is installed: trialGpuNumber starts here")
def test_experiment_command_reports_a_manager_that_dies_at_startup(tmp_path: Path, capsys) -> None:
    cfg = variant("quick.yml", tmp_path, trialGpuNumber=1, trainingService={"platform": "local", "useActiveGpu": True})
    port = nnictl.free_port()
    start = time.time()
    assert main(["experiment", str(cfg), "--port", str(port)]) == 2
    assert time.time() - start < 90  # noticed, not waited on forever
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("nni-pibn: error: NNI experiment "), err
    assert "stopped during start-up: (GpuInfoCollector) Failed to collect GPU info" in err[0]
    assert "NVML" in err[0] and "remove trialGpuNumber" in err[0]
    assert not port_open(port)
