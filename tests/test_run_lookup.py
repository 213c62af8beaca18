"""find_stage: a run's search or train folder from a stage, pipeline, NNI trial or runs/ folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nni_pibn.errors import UserError
from nni_pibn.genotype import DARTS_V2, PIBN, load_genotype, write_json
from nni_pibn.runs.lookup import find_stage


def _touch(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _pipeline(root: Path) -> Path:
    """A finished pipeline folder: search/ and train/ each with their files."""
    for f in ("genotype.json", "alphas.json", "metrics.csv"):
        _touch(root / "search" / f)
    for f in ("genotype.json", "final.json", "best.pt", "metrics.csv"):
        _touch(root / "train" / f)
    return root


@pytest.mark.parametrize("given", ["stage", "pipeline", "trial"])
def test_stage_pipeline_and_trial_folders_lead_to_the_same_stage(tmp_path: Path, given: str) -> None:
    trial = tmp_path / "trials" / "AbC12"
    pipe = _pipeline(trial / "pipeline")
    start = {"stage": pipe / "search", "pipeline": pipe, "trial": trial}[given]
    assert find_stage(start, "search", "alphas.json") == pipe / "search"
    assert find_stage(start if given != "stage" else pipe / "train", "train", "final.json") == pipe / "train"
    # genotype.json is in both stages: the search (its origin) wins
    assert find_stage(start, ("search", "train"), "genotype.json") == pipe / "search"


def test_search_and_train_trials_keep_their_stage_under_the_trial_folder(tmp_path: Path) -> None:
    _touch(tmp_path / "t1" / "search" / "alphas.json")  # a 'nni-pibn search' trial: $NNI_OUTPUT_DIR/search
    _touch(tmp_path / "t2" / "train" / "final.json")
    assert find_stage(tmp_path / "t1", "search", "alphas.json") == tmp_path / "t1" / "search"
    assert find_stage(tmp_path / "t2", "train", "final.json") == tmp_path / "t2" / "train"


def test_several_candidates_are_listed(tmp_path: Path) -> None:
    for name in ("search-20260101-000000", "search-20260102-000000"):
        _touch(tmp_path / "runs" / name / "metrics.csv")
    with pytest.raises(UserError) as err:
        find_stage(tmp_path / "runs", "search", "metrics.csv")
    msg = str(err.value)
    assert "holds 2 search runs" in msg and msg.endswith("pass one of them")
    assert str(tmp_path / "runs" / "search-20260101-000000") in msg
    assert str(tmp_path / "runs" / "search-20260102-000000") in msg


def test_an_experiment_folder_lists_its_trials_runs(tmp_path: Path) -> None:
    trials = tmp_path / "EXP" / "environments" / "local-env" / "trials"
    for t in ("aaaaa", "bbbbb", "ccccc"):
        _pipeline(trials / t / "pipeline")
    with pytest.raises(UserError, match=r"holds 3 train runs \(.*aaaaa/pipeline/train, .*bbbbb"):
        find_stage(tmp_path / "EXP", "train", "final.json")


def test_an_unfinished_stage_is_named_with_the_missing_file(tmp_path: Path) -> None:
    _touch(tmp_path / "trial" / "pipeline" / "search" / "metrics.csv")  # still searching: no genotype yet
    with pytest.raises(UserError, match=r"search/genotype\.json' is missing: that search run has not written it"):
        find_stage(tmp_path / "trial", ("search", "train"), "genotype.json")


def test_nothing_found_says_what_was_looked_for(tmp_path: Path) -> None:
    _touch(tmp_path / "elsewhere" / "notes.txt")
    with pytest.raises(UserError, match=r"holds no train run with final\.json; pass a train run folder, a pipeline"):
        find_stage(tmp_path, "train", "final.json")
    with pytest.raises(UserError, match="does not exist"):
        find_stage(tmp_path / "nope", "train", "final.json")


def test_outputs_and_deep_folders_are_not_searched(tmp_path: Path) -> None:
    _touch(tmp_path / "run" / "checkpoints" / "search" / "alphas.json")
    _touch(tmp_path / "run" / "a" / "b" / "c" / "d" / "e" / "f" / "search" / "alphas.json")  # below MAX_DEPTH
    with pytest.raises(UserError, match="holds no search run"):
        find_stage(tmp_path / "run", "search", "alphas.json")


def test_load_genotype_reads_the_search_of_a_trial_folder(tmp_path: Path) -> None:
    pipe = tmp_path / "trial" / "pipeline"
    write_json(DARTS_V2, _touch(pipe / "search" / "genotype.json"), extra={"strategy": "darts2"})
    write_json(PIBN, _touch(pipe / "train" / "genotype.json"))  # not the origin: must not be read
    assert load_genotype(tmp_path / "trial") == DARTS_V2
    assert load_genotype(pipe) == DARTS_V2
    assert load_genotype(pipe / "train") == PIBN  # a stage folder is itself
    assert json.loads((pipe / "search" / "genotype.json").read_text())["strategy"] == "darts2"
