"""``nni-pibn search`` end to end: outputs, resume after SIGKILL, NNI reporting, bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from nni_pibn.cli import main
from nni_pibn.genotype import from_json, load_genotype

REPO = Path(__file__).resolve().parents[1]
TINY = ["--set", "channels=2", "--set", "layers=3", "--set", "nodes=2", "--set", "dataset=fake",
        "--set", "batch_size=8", "--set", "limit_batches=2", "--set", "image_size=16", "--quiet"]


def _search(*args: str) -> int:
    return main(["search", *args])


def _rows(run: Path) -> list[dict[str, str]]:
    with open(run / "metrics.csv") as fh:
        return list(csv.DictReader(fh))


def test_search_writes_every_output(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert _search(*TINY, "--set", "epochs=2", "--strategy", "darts", "--out", str(run)) == 0
    for name in ("config.yaml", "genotype.json", "alphas.json", "metrics.csv", "checkpoints/last.ckpt"):
        assert (run / name).is_file(), name
    assert any((run / "tb").rglob("events.out.tfevents.*"))
    data = json.loads((run / "genotype.json").read_text())
    g = from_json(data)
    assert g == load_genotype(run) and "none" not in g.ops() and g.op_set == "pibn"
    assert data["nni"]["normal/op_2_0"] == g.normal[0][0] and data["strategy"] == "darts"
    assert data["export_rule"] == "darts"
    rows = _rows(run)
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    for r in rows:
        assert 0.0 <= float(r["val_acc"]) <= 1.0 and 0.0 <= float(r["train_acc"]) <= 1.0
    assert float(rows[0]["lr"]) == pytest.approx(0.0025)
    alphas = json.loads((run / "alphas.json").read_text())["epochs"]
    assert [a["epoch"] for a in alphas] == [0, 1]
    edges = alphas[-1]["edges"]
    assert len(edges) == 2 * (2 + 3)  # normal and reduce: node 2 has 2 inputs, node 3 has 3
    for weights in edges.values():
        assert "none" in weights and sum(weights.values()) == pytest.approx(1.0, abs=1e-6)
    assert alphas[0]["edges"] != alphas[1]["edges"]  # the architecture moved


def test_resume_after_sigkill_matches_an_uninterrupted_search(tmp_path: Path, run_killed) -> None:
    args = [*TINY, "--set", "epochs=3", "--set", "seed=5", "--set", "limit_batches=3", "--strategy", "darts2"]
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    assert _search(*args, "--out", str(straight)) == 0

    run_killed(0, ["search", *args, "--out", killed])
    assert torch.load(killed / "checkpoints/last.ckpt", weights_only=False)["epoch"] == 0
    assert len(_rows(killed)) == 1 and not (killed / "genotype.json").exists()

    assert _search("--resume", str(killed), "--quiet") == 0
    assert (killed / "metrics.csv").read_text() == (straight / "metrics.csv").read_text()
    ga, gb = (json.loads((r / "genotype.json").read_text()) for r in (straight, killed))
    assert ga["genotype"] == gb["genotype"]
    for edge, weights in ga["final_alphas"].items():
        for op, w in weights.items():
            assert gb["final_alphas"][edge][op] == pytest.approx(w, abs=1e-6), (edge, op)
    a = torch.load(straight / "checkpoints/last.ckpt", weights_only=False)["state_dict"]
    b = torch.load(killed / "checkpoints/last.ckpt", weights_only=False)["state_dict"]
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=0, atol=1e-6, msg=key)


def test_reports_arch_val_accuracy_to_nni_inside_a_trial(tmp_path: Path, monkeypatch) -> None:
    import nni

    sent: list[tuple[str, object]] = []
    monkeypatch.setenv("NNI_PLATFORM", "local")
    monkeypatch.setenv("NNI_OUTPUT_DIR", str(tmp_path / "trial"))
    monkeypatch.setattr(nni, "get_current_parameter", lambda *a: {"seed": 1})  # as NNI's tuner sent it
    monkeypatch.delenv("NNI_PIBN_RUN_DIR", raising=False)
    monkeypatch.setattr(nni, "report_intermediate_result", lambda m: sent.append(("intermediate", m)))
    monkeypatch.setattr(nni, "report_final_result", lambda m: sent.append(("final", m)))
    assert _search(*TINY, "--set", "epochs=2", "--strategy", "darts") == 0
    assert (tmp_path / "trial" / "search" / "genotype.json").is_file()  # outputs under NNI_OUTPUT_DIR
    assert "seed: 1" in (tmp_path / "trial" / "search" / "config.yaml").read_text()  # trial params applied
    kinds = [k for k, _ in sent]
    assert kinds == ["intermediate", "intermediate", "final"]
    rows = _rows(tmp_path / "trial" / "search")
    assert [m["default"] for _, m in sent[:2]] == pytest.approx([float(r["val_acc"]) for r in rows])
    assert all(m["stage"] == "search" for _, m in sent)


def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path: Path, one_line_error) -> None:
    out = tmp_path / "a"
    search = ["search", *TINY, "--out", out]
    one_line_error([*search, "--strategy", "bogus"], match="unknown strategy 'bogus'")
    one_line_error([*search, "--op-set", "pibnx"], match="unknown op set 'pibnx'")
    one_line_error([*search, "--set", "epochz=3"], match="unknown config key 'epochz'")
    one_line_error([*search, "--set", "layers=2"], match="layers >= 3")
    one_line_error([*search, "--set", "dataset=cifar10", "--set", "image_size=32", "--set", f"data={tmp_path / 'no'}"],
                   match="CIFAR-10 not found")
    assert not out.exists()
    one_line_error(["search", "--resume", tmp_path / "nothing"], match="not a run folder")
