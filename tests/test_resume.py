"""``--resume`` rules in one place: the generic conflict check, the run-kind check, the
checkpoint's identity stamp, and a failed resume that leaves every file as it was."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from nni_pibn.cli import main
from nni_pibn.config import config_to_dict, load_config
from nni_pibn.pipeline import PipelineConfig
from nni_pibn.runs import RESUME_MAY_CHANGE, resume_conflicts, write_config

SEARCH = ["--set", "channels=2", "--set", "layers=3", "--set", "nodes=2", "--set", "dataset=fake",
          "--set", "batch_size=8", "--set", "limit_batches=2", "--set", "image_size=16", "--set", "epochs=1",
          "--strategy", "darts", "--quiet"]
TRAIN = ["--genotype", "pibn", "--layers", "2", "--set", "channels=4", "--set", "dataset=fake",
         "--set", "num_workers=0", "--set", "batch_size=16", "--set", "epochs=1", "--set", "onnx=false", "--quiet"]


def _files(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One finished tiny search and one finished tiny retraining (copied per test before use)."""
    root = tmp_path_factory.mktemp("runs")
    assert main(["search", *SEARCH, "--out", str(root / "search")]) == 0
    assert main(["train", *TRAIN, "--out", str(root / "train")]) == 0
    return {"search": root / "search", "train": root / "train"}


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_conflicts_walk_nested_configs_and_allow_only_the_listed_keys() -> None:
    saved = PipelineConfig()
    new = load_config(PipelineConfig, overrides=["search.epochs=3", "train.devices=2", "train.data=/elsewhere",
                                                 "search.num_workers=4", "train.precision=bf16-mixed"])
    assert resume_conflicts(saved, new) == ["search.epochs: 50 -> 3"]
    assert {"devices", "data", "num_workers", "precision"} <= RESUME_MAY_CHANGE
    assert "epochs" not in RESUME_MAY_CHANGE and "layers" not in RESUME_MAY_CHANGE


@pytest.mark.parametrize("made,command", [("train", "search"), ("search", "train"), ("search", "pipeline"),
                                          ("train", "pipeline")])
def test_a_folder_of_another_kind_is_refused_naming_its_command(runs, tmp_path, one_line_error, made: str,
                                                                 command: str) -> None:
    run = _copy(runs[made], tmp_path / made)
    before = _files(run)
    one_line_error([command, "--resume", run], f"is a {made} run folder, not a {command} one; "
                                               f"resume it with 'nni-pibn {made} --resume")
    assert _files(run) == before


def test_a_checkpoint_of_another_kind_is_refused_before_anything_is_written(runs, tmp_path, one_line_error) -> None:
    run = _copy(runs["search"], tmp_path / "search")
    shutil.copy(runs["train"] / "checkpoints/last.ckpt", run / "checkpoints/last.ckpt")
    before = _files(run)
    one_line_error(["search", "--resume", run], "belongs to a train run, not a search run")
    assert _files(run) == before


def test_search_config_edited_by_hand_cannot_resume_another_network(runs, tmp_path, one_line_error) -> None:
    run = _copy(runs["search"], tmp_path / "search")
    (run / "config.yaml").write_text((run / "config.yaml").read_text().replace("channels: 2", "channels: 3"))
    before = _files(run)
    one_line_error(["search", "--resume", run], "was trained with channels=2 but this run asks for channels=3")
    assert _files(run) == before


def _pipeline(tmp_path: Path, runs: dict[str, Path], **search: object) -> Path:
    """A pipeline folder whose search stage was interrupted after its first epoch."""
    folder = tmp_path / "pipeline"
    _copy(runs["search"], folder / "search")
    (folder / "search" / "genotype.json").unlink()
    saved = load_config(PipelineConfig, base={"search": {**_search_config(runs), **search}})
    write_config(folder, config_to_dict(saved))
    return folder


def _search_config(runs: dict[str, Path]) -> dict:
    import yaml

    return yaml.safe_load((runs["search"] / "config.yaml").read_text())


def test_pipeline_resume_is_checked_like_the_others(runs, tmp_path, one_line_error) -> None:
    folder = _pipeline(tmp_path, runs)
    before = _files(folder)
    one_line_error(["pipeline", "--resume", folder, "--set", "search.epochs=5"],
                   "a resumed run must keep its settings (search.epochs: 1 -> 5)")
    assert _files(folder) == before

    mismatched = _pipeline(tmp_path / "b", runs, channels=3)
    before = _files(mismatched)
    one_line_error(["pipeline", "--resume", mismatched], "was trained with channels=2 but this run asks for channels=3")
    assert _files(mismatched) == before

    ckpt = folder / "search/checkpoints/last.ckpt"
    ckpt.write_bytes(ckpt.read_bytes()[:500])
    before = _files(folder)
    one_line_error(["pipeline", "--resume", folder, "--set", "train.devices=1"], "corrupt")
    assert _files(folder) == before  # the pipeline's config.yaml was not rewritten either


def test_the_checkpoint_carries_the_run_identity(runs) -> None:
    stamp = torch.load(runs["train"] / "checkpoints/last.ckpt", weights_only=True)["callbacks"]["RunStamp"]
    assert stamp["kind"] == "train" and stamp["layers"] == 2 and stamp["channels"] == 4
    assert stamp["genotype"]["op_set"] == "pibn" and stamp["num_classes"] == 10
    stamp = torch.load(runs["search"] / "checkpoints/last.ckpt", weights_only=True)["callbacks"]["RunStamp"]
    assert (stamp["kind"], stamp["strategy"], stamp["op_set"], stamp["nodes"]) == ("search", "darts", "pibn", 2)
