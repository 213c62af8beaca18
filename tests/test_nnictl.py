"""End to end through nnictl: the experiment configs run, report and fail as a user sees them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from nni_experiment import experiment, get, metrics, port_open, variant  # type: ignore[import-not-found]

from nni_pibn.cli import main

pytestmark = pytest.mark.nnictl

TINY_SEARCH = ("--set search.dataset=fake --set search.channels=2 --set search.layers=3 --set search.nodes=2 "
               "--set search.epochs=2 --set search.batch_size=8 --set search.limit_batches=2 "
               "--set search.image_size=16")
TINY_TRAIN = ("--set train.dataset=fake --set train.channels=4 --set train.layers=2 --set train.epochs=3 "
              "--set train.batch_size=16 --set train.num_workers=0 --set train.onnx=false")


def test_quick_pipeline_through_nnictl(tmp_path: Path) -> None:
    cfg = variant("quick.yml", tmp_path,
                  trialCommand=f"nni-pibn pipeline --config experiments/configs/quick.yaml --quiet {TINY_SEARCH} {TINY_TRAIN}")
    with experiment(cfg, timeout=300) as (port, exp_id, status):
        assert status["status"] == "DONE", status
        jobs = get(port, "trial-jobs")
        assert [j["status"] for j in jobs] == ["SUCCEEDED"]
        ms = [m for m in metrics(port) if m["trialJobId"] == jobs[0]["trialJobId"]]
        periodical = [m["value"] for m in ms if m["type"] == "PERIODICAL"]
        assert [(p["stage"], p["epoch"]) for p in periodical] == [("search", 0), ("search", 1),
                                                                   ("train", 0), ("train", 1), ("train", 2)]
        finals = [m["value"] for m in ms if m["type"] == "FINAL"]
        assert len(finals) == 1 and finals[0]["stage"] == "train"
        assert finals[0]["default"] == periodical[-1]["default"]
        trial_dir = Path(jobs[0]["logPath"])
        assert (trial_dir / "pipeline" / "search" / "genotype.json").is_file()
        assert (trial_dir / "pipeline" / "train" / "final.json").is_file()
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
