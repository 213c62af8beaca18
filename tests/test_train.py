"""``nni-pibn train`` end to end: outputs, accuracy, ONNX, NNI reports, resume after SIGKILL, bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from nni_pibn.cli import main
from nni_pibn.genotype import load_genotype
from nni_pibn.network import NetworkCIFAR
from nni_pibn.runs.reporting import NNIReport

REPO = Path(__file__).resolve().parents[1]
TINY = ["--genotype", "pibn", "--layers", "2", "--set", "channels=4", "--set", "dataset=fake",
        "--set", "num_workers=0", "--set", "batch_size=16", "--quiet"]


def _train(*args: str) -> int:
    return main(["train", *args])


def _rows(run: Path) -> list[dict[str, str]]:
    with open(run / "metrics.csv") as fh:
        return list(csv.DictReader(fh))


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def test_two_epochs_on_fake_write_every_output(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert _train(*TINY, "--set", "epochs=2", "--out", str(run)) == 0
    for name in ["config.yaml", "genotype.json", "metrics.csv", "final.json", "best.pt", "model.onnx",
                 "checkpoints/last.ckpt", "checkpoints/best.ckpt"]:
        assert (run / name).is_file(), name
    assert list((run / "tb").glob("events.out.tfevents.*"))
    assert not list(run.rglob("*.tmp"))  # atomic writes leave no temp files
    rows = _rows(run)
    assert [r["epoch"] for r in rows] == ["0", "1"]
    assert list(rows[0]) == ["epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "drop_path_prob"]
    assert [float(r["drop_path_prob"]) for r in rows] == [0.0, 0.1]
    assert [float(r["lr"]) for r in rows] == pytest.approx([0.025, 0.0125])
    final = json.loads((run / "final.json").read_text())
    assert final["test_acc"] == pytest.approx(float(rows[-1]["test_acc"]))
    assert (final["layers"], final["channels"], final["dataset"]) == (2, 4, "fake")
    assert final["params_m"] > 0 and final["gmac"] > 0
    assert final["genotype"] == load_genotype("pibn").to_json()
    assert final["onnx_max_abs_diff"] < 1e-4
    net = NetworkCIFAR(load_genotype(str(run)), 4, 2, 10)  # the run folder works as a genotype source
    net.load_state_dict(torch.load(run / "best.pt", weights_only=True))

    # ONNX against the final torch weights, on inputs of another batch size
    import onnxruntime as ort

    net.load_state_dict({k[4:]: v for k, v in _weights(run / "checkpoints/last.ckpt").items()})
    x = torch.randn(3, 3, 32, 32)
    got = ort.InferenceSession(str(run / "model.onnx")).run(None, {"images": x.numpy()})[0]
    assert np.abs(got - net.eval()(x).detach().numpy()).max() < 1e-4


def test_two_epochs_on_digits_learn_well_above_chance(tmp_path: Path) -> None:
    run = tmp_path / "digits"
    args = ["--genotype", "pibn", "--layers", "2", "--set", "channels=8", "--set", "epochs=2", "--set", "lr=0.1",
            "--set", "batch_size=32", "--set", "cutout=0", "--set", "augment=false", "--set", "num_workers=0",
            "--quiet", "--out", str(run)]
    assert _train(*args) == 0
    for name in ["config.yaml", "metrics.csv", "final.json", "best.pt", "model.onnx", "checkpoints/last.ckpt"]:
        assert (run / name).is_file(), name
    final = json.loads((run / "final.json").read_text())
    assert final["dataset"] == "digits" and len(_rows(run)) == 2
    assert final["test_acc"] > 0.5  # chance is 0.1; this seed reaches about 0.74
    assert final["onnx_max_abs_diff"] < 1e-4


class _Channel:
    """Stands in for NNI's trial channel: hands out parameters, records metrics."""

    def __init__(self) -> None:
        self.metrics: list[dict] = []

    def receive_parameter(self) -> dict:
        return {"parameter_id": 7, "parameters": {}}

    def send_metric(self, **kwargs: object) -> None:
        self.metrics.append(kwargs)


def test_reports_to_nni_only_inside_a_trial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nni.trial
    from nni.runtime import trial_command_channel as tcc

    channel = _Channel()
    monkeypatch.setattr(tcc, "_channel", channel)
    monkeypatch.setattr(nni.trial, "_params", None)
    monkeypatch.setenv("NNI_PLATFORM", "local")
    monkeypatch.setenv("NNI_OUTPUT_DIR", str(tmp_path / "trial"))
    monkeypatch.delenv("NNI_PIBN_RUN_DIR", raising=False)
    assert _train(*TINY, "--set", "epochs=2", "--set", "onnx=false") == 0
    kinds = [(m["type"], m["value"]["epoch"], m["value"]["stage"]) for m in channel.metrics]
    assert kinds == [("PERIODICAL", 0, "train"), ("PERIODICAL", 1, "train"), ("FINAL", 1, "train")]
    final = json.loads((tmp_path / "trial/train/final.json").read_text())  # outputs under NNI_OUTPUT_DIR
    assert channel.metrics[-1]["value"]["default"] == pytest.approx(final["test_acc"])
    assert channel.metrics[0]["parameter_id"] == 7  # parameters were fetched before reporting

    monkeypatch.delenv("NNI_PLATFORM")
    assert NNIReport().enabled is False  # outside a trial nothing is sent


def test_resume_after_sigkill_matches_an_uninterrupted_run(tmp_path: Path, run_killed) -> None:
    args = [*TINY, "--set", "epochs=4", "--set", "seed=3", "--set", "onnx=false"]
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    assert _train(*args, "--out", str(straight)) == 0

    run_killed(1, ["train", *args, "--out", killed])
    assert torch.load(killed / "checkpoints/last.ckpt", weights_only=True)["epoch"] == 1
    assert len(_rows(killed)) == 2 and not (killed / "final.json").exists()

    assert _train("--resume", str(killed), "--quiet") == 0
    assert (killed / "metrics.csv").read_text() == (straight / "metrics.csv").read_text()
    a, b = _weights(straight / "checkpoints/last.ckpt"), _weights(killed / "checkpoints/last.ckpt")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=0, atol=1e-6, msg=key)
    fa, fb = (json.loads((r / "final.json").read_text()) for r in (straight, killed))
    assert fa["test_acc"] == fb["test_acc"] and fa["best_epoch"] == fb["best_epoch"]


def test_bad_checkpoint_or_mismatch_is_exit_2_and_changes_nothing(tmp_path: Path, capsys, one_line_error) -> None:
    def _err(*args: str, match: str) -> None:
        one_line_error(["train", *args], match)

    run = tmp_path / "run"
    assert _train(*TINY, "--set", "epochs=1", "--set", "onnx=false", "--out", str(run)) == 0
    capsys.readouterr()
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}

    _err("--resume", str(run), "--layers", "3", match="layers: 2 -> 3")
    _err("--resume", str(run), "--genotype", "darts_v2", match="genotype: 'pibn' -> 'darts_v2'")
    _err("--resume", str(run), "--set", "epochs=5", match="epochs")
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before

    # a config.yaml edited by hand cannot resume another network: the checkpoint's stamp says what it is
    (run / "config.yaml").write_text(before[run / "config.yaml"].decode().replace("layers: 2", "layers: 3"))
    _err("--resume", str(run), match="was trained with layers=2 but this run asks for layers=3")
    (run / "config.yaml").write_bytes(before[run / "config.yaml"])
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before

    ckpt = run / "checkpoints/last.ckpt"
    ckpt.write_bytes(ckpt.read_bytes()[:1000])  # truncated, as a crash mid-write without atomic saves would
    _err("--resume", str(run), match="corrupt")
    assert (run / "config.yaml").read_bytes() == before[run / "config.yaml"]


def test_bad_cli_input_is_one_line_and_overwrites_nothing(tmp_path: Path, one_line_error) -> None:
    def _err(*args: str, match: str) -> None:
        one_line_error(["train", *args], match)

    bad = tmp_path / "bad.yaml"
    bad.write_text("epochs: 3\nlearning_rate: 0.1\n")
    _err(*TINY, "--config", str(bad), "--out", str(tmp_path / "a"), match="learning_rate")
    _err(*TINY, "--config", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "a"),
                    match="does not exist")
    _err(*TINY, "--set", "precision=8", "--out", str(tmp_path / "a"), match="precision")
    _err(*TINY, "--genotype", "nope", "--out", str(tmp_path / "a"), match="unknown genotype")
    _err(*TINY, "--set", "dataset=cifar10", "--set", f"data={tmp_path / 'nodata'}",
                    "--out", str(tmp_path / "a"), match="CIFAR-10 not found")
    assert not (tmp_path / "a").exists()  # no run folder left behind by failed starts

    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("keep me")
    _err(*TINY, "--out", str(taken), match="already holds files")
    assert [p.name for p in taken.iterdir()] == ["notes.txt"] and (taken / "notes.txt").read_text() == "keep me"
    _err("--resume", str(taken), match="not a run folder")
    _err("--resume", str(taken), "--out", str(tmp_path / "b"), match="not both")


def test_compiled_training_matches_eager_and_keeps_plain_weight_names(tmp_path: Path, monkeypatch) -> None:
    """compile=true trains through torch.compile (eager backend here: the wiring, not minutes
    of code generation); the metrics equal the eager run's and best.pt keeps its keys."""
    from nni_pibn import compiling

    monkeypatch.setattr(compiling, "BACKEND", "eager")
    torch._dynamo.reset()
    runs = {}
    for flag in ("false", "true"):
        run = tmp_path / flag
        assert _train(*TINY, "--set", "epochs=1", "--set", "onnx=false", "--set", f"compile={flag}",
                      "--out", str(run)) == 0
        runs[flag] = run
    eager, compiled = _rows(runs["false"]), _rows(runs["true"])
    for key in ("train_loss", "test_loss", "test_acc"):
        assert float(compiled[0][key]) == pytest.approx(float(eager[0][key]), rel=1e-4)
    keys = torch.load(runs["true"] / "best.pt", weights_only=True).keys()
    assert set(keys) == set(torch.load(runs["false"] / "best.pt", weights_only=True).keys())
    assert not any("_orig_mod" in k for k in keys)


def test_threads_key_sets_torchs_intra_op_threads(tmp_path: Path) -> None:
    before = torch.get_num_threads()
    try:
        assert _train(*TINY, "--set", "epochs=1", "--set", "onnx=false", "--set", "threads=2",
                      "--out", str(tmp_path / "run")) == 0
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
