"""What an NNI trial received, recorded by the trial and preferred by the reports.

NNI 3.0's manager can list a trial with the parameters another trial received when trials
run at once (microsoft/nni#5726): in a 2-at-once baseline run here, the trial that
retrained ``pibn`` was recorded with the searched genotype's path and the other way round.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import nni

from nni_pibn.report.baseline import baseline_rows
from nni_pibn.report.experiment import trials_from_dir
from nni_pibn.runs.trial_params import RECEIVED, received_parameters, trial_parameters


def test_a_trial_records_the_parameters_it_received(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NNI_PLATFORM", "local")
    monkeypatch.setenv("NNI_OUTPUT_DIR", str(tmp_path))
    monkeypatch.delenv("NNI_PIBN_TRIAL_PARAMS", raising=False)
    monkeypatch.setattr(nni, "get_current_parameter", lambda: None)
    monkeypatch.setattr(nni, "get_next_parameter", lambda: {"genotype": "random:1", "layers": 4})
    assert trial_parameters() == {"genotype": "random:1", "layers": 4}
    assert json.loads((tmp_path / RECEIVED).read_text()) == {"genotype": "random:1", "layers": 4}
    assert received_parameters(tmp_path) == {"genotype": "random:1", "layers": 4}


def test_no_or_a_damaged_record_is_none(tmp_path: Path) -> None:
    assert received_parameters(tmp_path) is None and received_parameters(None) is None
    (tmp_path / RECEIVED).write_bytes(b"\xff[")
    assert received_parameters(tmp_path) is None
    (tmp_path / RECEIVED).write_text("[1, 2]")
    assert received_parameters(tmp_path) is None


def _experiment(root: Path, trials: dict[str, tuple[str, str | None, float]]) -> Path:
    """An NNI experiment folder: per trial (the genotype NNI recorded, the one the trial
    recorded itself or None, its test accuracy)."""
    exp = root / "exp"
    (exp / "db").mkdir(parents=True)
    con = sqlite3.connect(exp / "db" / "nni.sqlite")
    con.execute("CREATE TABLE TrialJobEvent (timestamp INTEGER, trialJobId TEXT, event TEXT, data TEXT, logPath TEXT)")
    con.execute("CREATE TABLE MetricData (timestamp INTEGER, trialJobId TEXT, parameterId TEXT, type TEXT, "
                "sequence INTEGER, data TEXT)")
    for k, (tid, (recorded, received, acc)) in enumerate(trials.items()):
        folder = exp / "trials" / tid
        (folder / "train").mkdir(parents=True)
        (folder / "train" / "final.json").write_text(json.dumps({"test_acc": acc}))
        if received is not None:
            (folder / RECEIVED).write_text(json.dumps({"genotype": received}))
        params = json.dumps({"parameter_id": k, "parameters": {"genotype": recorded}})
        con.execute("INSERT INTO TrialJobEvent VALUES (?, ?, 'RUNNING', ?, ?)", (10 * k, tid, params, str(folder)))
        con.execute("INSERT INTO TrialJobEvent VALUES (?, ?, 'SUCCEEDED', NULL, ?)", (10 * k + 5, tid, str(folder)))
        con.execute("INSERT INTO MetricData VALUES (?, ?, ?, 'FINAL', 0, ?)", (10 * k + 4, tid, str(k),
                                                                              json.dumps(json.dumps(acc))))
    con.commit()
    con.close()
    return exp


def test_reports_label_each_trial_with_what_it_received(tmp_path: Path) -> None:
    exp = _experiment(tmp_path, {
        "A": ("searched/run", "pibn", 0.35),          # NNI swapped A's and B's genotypes
        "B": ("pibn", "searched/run", 0.975),
        "C": ("random:0", None, 0.95),                # a trial of an older version: NNI's record is all there is
    })
    rows = {r.trial_id: r.genotype for r in baseline_rows(trials_from_dir(exp))}
    assert rows == {"A": "pibn", "B": "searched/run", "C": "random:0"}
