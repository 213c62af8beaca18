"""Multi-trial searches through NNI's manager: each strategy end to end, resume after an
interrupt, and a search nested in an nnictl trial (experiments/multitrial.yml)."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nni_experiment import REPO, clean_env, experiment, get, metrics, port_open, variant  # type: ignore[import-not-found]

from nni_pibn.cli import main
from nni_pibn.genotype import from_json, from_nni, load_genotype
from nni_pibn.multitrial.results import read_trials_csv

pytestmark = pytest.mark.nnictl

TINY = ["--set", "dataset=fake", "--set", "channels=4", "--set", "layers=3", "--set", "nodes=2",
        "--set", "batch_size=8", "--set", "limit_batches=2", "--set", "image_size=16", "--quiet"]
ONE_SHOT_KEYS = {"genotype", "nni", "strategy", "op_set", "op_names", "export_rule", "epochs", "final_val_acc",
                 "search_seconds", "final_alphas"}


def _experiment_dir(run: Path) -> Path:
    return run / "nni" / json.loads((run / "nni" / "experiment.json").read_text())["id"]


@pytest.mark.parametrize("strategy", ["random", "evolution", "rl", "tpe"])
def test_issue_command_for_each_strategy(strategy: str, tmp_path: Path, capsys) -> None:
    """``nni-pibn search --strategy S --set dataset=fake --set channels=4 --set layers=3
    --set max_trials=3 --set trial_epochs=1 --out DIR`` (plus sizes that keep it quick)."""
    run = tmp_path / "run"
    extra = ["--set", "population_size=2", "--set", "sample_size=2"] if strategy == "evolution" else []
    argv = ["search", "--strategy", strategy, *TINY, "--set", "max_trials=3", "--set", "trial_epochs=1", *extra,
            "--out", str(run)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert re.search(r"starting NNI experiment \w+ \(" + strategy + r", 3 trials of 1 epochs\); web UI: http://", out)
    assert len(re.findall(r"^trial [123]/3 \w+ SUCCEEDED: val_acc [01]\.\d{4} after 1 epochs", out, re.M)) == 3, out

    rows = read_trials_csv(run / "trials.csv")
    assert len(rows) == 3 and {r["status"] for r in rows} == {"SUCCEEDED"}
    assert all(r["val_acc_epoch_1"] == r["final_val_acc"] and float(r["seconds"]) > 0 for r in rows)
    data = json.loads((run / "genotype.json").read_text())
    assert set(data) >= ONE_SHOT_KEYS and data["strategy"] == strategy and data["export_rule"] == "best trial"
    best = max(rows, key=lambda r: float(r["final_val_acc"]))
    assert data["final_val_acc"] == pytest.approx(float(best["final_val_acc"]))
    assert data["best_trial"] == best["trial_id"]
    genotype = load_genotype(run)  # what `nni-pibn train --genotype RUN` reads
    assert genotype == from_json(json.loads(best["genotype"])) and "none" not in genotype.ops()
    assert data["nni"] == genotype.to_nni()

    exp_dir = _experiment_dir(run)
    trial_dirs = sorted((exp_dir / "environments" / "local-env" / "trials").iterdir())
    assert {d.name for d in trial_dirs} == {r["trial_id"] for r in rows}
    for d in trial_dirs:  # each trial trained its own sample's fixed network and wrote its genotype
        row = next(r for r in rows if r["trial_id"] == d.name)
        assert load_genotype(d / "genotype.json") == from_json(json.loads(row["genotype"]))
        assert re.search(r"search epoch 1/1: .*val_acc [01]\.\d+", (d / "trial.log").read_text())
    # the web UI's search space lists every op and input choice (NNI alone drops the inputs)
    with sqlite3.connect(exp_dir / "db" / "nni.sqlite") as db:
        space = json.loads(db.execute("SELECT params FROM ExperimentProfile ORDER BY revision DESC").fetchone()[0]
                           )["searchSpace"]
        events = [json.loads(d) for (d,) in db.execute("SELECT data FROM TrialJobEvent WHERE data IS NOT NULL")]
    assert space["normal/input_3_1"] == {"_type": "choice", "_value": [0, 1, 2]} and len(space) == 16
    # and each trial's architecture where the web UI shows it (a column per label, the expanded row)
    shown = [json.loads(e["parameters"]) if isinstance(e["parameters"], str) else e["parameters"] for e in events]
    assert sorted(json.dumps(from_nni(p["mutation_summary"], op_set="pibn").to_json()) for p in shown) == sorted(
        json.dumps(from_json(json.loads(r["genotype"])).to_json()) for r in rows)
    assert not port_open(int(data["web_ui"].rsplit(":", 1)[1]))  # the manager was stopped


def test_retrain_of_a_multi_trial_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert main(["search", "--strategy", "random", *TINY, "--set", "max_trials=2", "--set", "trial_epochs=1",
                 "--out", str(run)]) == 0
    train = tmp_path / "train"
    assert main(["train", "--genotype", str(run), "--set", "dataset=fake", "--set", "channels=4", "--set", "layers=2",
                 "--set", "epochs=1", "--set", "batch_size=16", "--set", "num_workers=0", "--set", "onnx=false",
                 "--quiet", "--out", str(train)]) == 0
    final = json.loads((train / "final.json").read_text())
    assert from_json(final["genotype"]) == load_genotype(run)


def test_interrupted_search_resumes_with_nni(tmp_path: Path) -> None:
    """SIGTERM after the first trial: NNI stops and saves; --resume finishes the budget with
    the strategy's saved state (evolution's population) and keeps the first trial."""
    run = tmp_path / "run"
    args = ["search", "--strategy", "evolution", *TINY, "--set", "max_trials=4", "--set", "trial_epochs=1",
            "--set", "population_size=2", "--set", "sample_size=2"]
    env = {**clean_env(), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "nni_pibn", *args, "--out", str(run)], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while time.time() < deadline and not (
            (run / "trials.csv").is_file() and len(read_trials_csv(run / "trials.csv")) >= 1):
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert f"continue it with nni-pibn search --resume {run}" in out
    assert not (run / "genotype.json").exists()
    before = read_trials_csv(run / "trials.csv")
    exp_id = json.loads((run / "nni" / "experiment.json").read_text())["id"]

    assert main(["search", "--resume", str(run), "--quiet"]) == 0
    after = read_trials_csv(run / "trials.csv")
    assert after[: len(before)] == before and len(after) == 4  # NNI counts an interrupted trial too
    assert sum(r["status"] == "SUCCEEDED" for r in after) >= 3
    data = json.loads((run / "genotype.json").read_text())
    assert data["experiment_id"] == exp_id and data["trials"] == 4
    log = (_experiment_dir(run) / "log" / "experiment.log").read_text()
    kept = sum(r["status"] == "SUCCEEDED" for r in before)  # the population came back (not 2 to go again)
    resumed = log.split("Loading state for")[-1]
    assert f"Spawning the initial population. {max(0, 2 - kept)} individuals to go." in resumed


def test_search_nested_in_an_nnictl_trial(tmp_path: Path) -> None:
    """experiments/multitrial.yml, shrunk: the outer trial's NasExperiment runs its own
    manager and trials, reports the best accuracy after each to the outer one, then stops."""
    tiny = " ".join(TINY)
    cfg = variant("multitrial.yml", tmp_path, trialCommand=f"nni-pibn search --config experiments/configs/"
                  f"multitrial.yaml {tiny} --set max_trials=2 --set trial_epochs=1")
    with experiment(cfg, timeout=400) as (port, exp_id, status):
        assert status["status"] == "DONE", status
        jobs = get(port, "trial-jobs")
        assert [j["status"] for j in jobs] == ["SUCCEEDED"]
        ms = [m["value"] for m in metrics(port)]
        periodical = [m for m in ms if isinstance(m, dict) and "epoch" in m]
        assert [(m["stage"], m["epoch"], m["epochs"]) for m in periodical] == [("search", 0, 2), ("search", 1, 2)]
        assert periodical[1]["default"] >= periodical[0]["default"]  # best so far
        trial = Path(jobs[0]["logPath"])
        search = trial / "search"
        rows = read_trials_csv(search / "trials.csv")
        assert len(rows) == 2
        data = json.loads((search / "genotype.json").read_text())
        final = [m for m in ms if isinstance(m, dict) and "epoch" not in m]
        assert final and final[-1]["default"] == pytest.approx(data["final_val_acc"])
        inner = json.loads((search / "nni" / "experiment.json").read_text())
        assert inner["id"] != exp_id and not port_open(int(inner["web_ui"].rsplit(":", 1)[1]))
        log = (trial / "trial.log").read_text()
        assert re.search(r"starting NNI experiment \w+ \(evolution, 2 trials of 1 epochs\); web UI: http", log)
        # the inner trials were the inner experiment's, not the outer's
        inner_trials = list((search / "nni" / inner["id"] / "environments" / "local-env" / "trials").iterdir())
        assert len(inner_trials) == 2 and all((d / "genotype.json").is_file() for d in inner_trials)
        assert os.environ.get("NNI_PLATFORM") is None
