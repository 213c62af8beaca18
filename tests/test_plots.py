"""``nni-pibn plot {genotype,alphas,search}`` on the outputs of two tiny real searches."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from test_plot_genotype import assert_real_png  # type: ignore[import-not-found]

from nni_pibn.cli import main
from nni_pibn.plots._common import run_labels
from nni_pibn.plots.alphas import load_alpha_history
from nni_pibn.plots.search_curves import load_search_metrics

SEARCH = ["--set", "channels=2", "--set", "layers=3", "--set", "nodes=2", "--set", "dataset=fake",
          "--set", "batch_size=8", "--set", "limit_batches=2", "--set", "image_size=16", "--set", "epochs=3", "--quiet"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Two 3-epoch searches (first- and second-order DARTS), made once for the module."""
    root = tmp_path_factory.mktemp("runs")
    out = {"darts": root / "darts", "darts2": root / "darts2"}
    for strategy, folder in out.items():
        assert main(["search", *SEARCH, "--strategy", strategy, "--out", str(folder)]) == 0
    return out


def check_outputs(paths: list[Path]) -> None:
    """Every PNG is a real picture, every PDF starts like one, and both come in pairs."""
    assert paths
    for p in paths:
        assert p.is_file(), p
        if p.suffix == ".png":
            assert_real_png(p)
            assert p.with_suffix(".pdf").is_file()
        elif p.suffix == ".pdf":
            assert p.read_bytes().startswith(b"%PDF")


def printed_paths(capsys) -> list[Path]:
    return [Path(line) for line in capsys.readouterr().out.split()]


def test_alpha_history_is_what_the_search_wrote(runs) -> None:
    epochs, history = load_alpha_history(runs["darts"])
    assert epochs == [0, 1, 2]
    assert len(history) == 2 * (2 + 3)  # normal and reduce cells: node 2 has 2 inputs, node 3 has 3
    for ops in history.values():
        for e in range(3):  # softmax weights of one edge sum to 1 at every epoch
            assert sum(ws[e] for ws in ops.values()) == pytest.approx(1.0, abs=1e-5)


def test_plot_alphas_all_edges_and_one(runs, tmp_path, capsys) -> None:
    assert main(["plot", "alphas", str(runs["darts2"]), "--out", str(tmp_path)]) == 0
    assert main(["plot", "alphas", str(runs["darts2"]), "--edge", "3", "--out", str(tmp_path)]) == 0
    assert main(["plot", "alphas", str(runs["darts2"]), "--edge", "reduce/3_2", "--out", str(tmp_path)]) == 0
    printed = printed_paths(capsys)
    assert [p.name for p in printed] == ["alphas.png", "alphas.pdf", "alphas_normal_3_1.png", "alphas_normal_3_1.pdf",
                                         "alphas_reduce_3_2.png", "alphas_reduce_3_2.pdf"]
    check_outputs(printed)


def test_plot_alphas_defaults_to_the_run_folder(runs, capsys) -> None:
    assert main(["plot", "alphas", str(runs["darts"]), "--edge", "0"]) == 0
    printed = printed_paths(capsys)
    assert printed == [runs["darts"] / "figures" / f"alphas_normal_2_0.{e}" for e in ("png", "pdf")]
    check_outputs(printed)


def test_plot_search_overlays_runs(runs, tmp_path, capsys) -> None:
    with open(runs["darts"] / "metrics.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert load_search_metrics(runs["darts"])["val_acc"] == [float(r["val_acc"]) for r in rows]
    assert main(["plot", "search", str(runs["darts"]), str(runs["darts2"]), "--out", str(tmp_path)]) == 0
    assert main(["plot", "search", str(runs["darts"]), "--metric", "acc", "--out", str(tmp_path)]) == 0
    printed = printed_paths(capsys)
    assert [p.name for p in printed] == ["search_error.png", "search_error.pdf", "search_acc.png", "search_acc.pdf"]
    check_outputs(printed)


def test_run_labels_tell_same_named_folders_apart(tmp_path) -> None:
    assert run_labels(["runs/a", "runs/b"]) == ["a", "b"]
    assert run_labels(["x/search", "y/search"]) == ["x/search", "y/search"]
    assert run_labels(["x/search", "x/search"]) == ["search", "search"]  # the same run twice


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz dot binary missing")
def test_plot_genotype_of_a_search_run(runs, capsys) -> None:
    assert main(["plot", "genotype", str(runs["darts"])]) == 0
    printed = printed_paths(capsys)
    expected = {f"genotype_{c}.{e}" for c in ("normal", "reduce") for e in ("dot", "png", "pdf")}
    assert {p.name for p in printed} == expected
    assert all(p.parent == runs["darts"] / "figures" for p in printed)
    check_outputs(printed)


def one_line_error(capsys, args: list[str], match: str) -> None:
    assert main(args) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith("nni-pibn: error:") and "\n" not in err and match in err, err
    assert captured.out == ""


def test_missing_or_broken_files_are_named(runs, tmp_path, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    one_line_error(capsys, ["plot", "alphas", str(empty)], f"{empty}' holds no search run with alphas.json")
    one_line_error(capsys, ["plot", "search", str(empty)], f"{empty}' holds no search run with metrics.csv")
    one_line_error(capsys, ["plot", "search", str(runs["darts"]), str(empty)], f"{empty}' holds no search run")
    one_line_error(capsys, ["plot", "alphas", str(tmp_path / "nope")], "nope' does not exist")
    one_line_error(capsys, ["plot", "genotype", str(empty)], "holds no search or train run with genotype.json")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "alphas.json").write_text('{"epochs": [{"epoch": 0}]}')
    (broken / "metrics.csv").write_text("epoch,train_acc,val_acc\n0,x,0.5\n")
    one_line_error(capsys, ["plot", "alphas", str(broken)], "alphas.json' is not an alpha history")
    one_line_error(capsys, ["plot", "search", str(broken)], "metrics.csv' holds a value that is not a number")
    assert not (empty / "figures").exists() and not (broken / "figures").exists()


def test_bad_edge_is_one_line(runs, capsys) -> None:
    one_line_error(capsys, ["plot", "alphas", str(runs["darts"]), "--edge", "99"],
                   "--edge 99: this search has edges 0..9")
    one_line_error(capsys, ["plot", "alphas", str(runs["darts"]), "--edge", "normal/9_9"], "unknown edge")


def _as_trial(run: Path, trial: Path) -> Path:
    """``run`` placed where an NNI pipeline trial keeps its search: TRIAL/pipeline/search."""
    shutil.copytree(run, trial / "pipeline" / "search", ignore=shutil.ignore_patterns("figures", "checkpoints"))
    return trial


def test_plots_accept_the_nni_trial_and_pipeline_folders(runs, tmp_path, capsys, monkeypatch) -> None:
    t1, t2 = _as_trial(runs["darts"], tmp_path / "Ab1cD"), _as_trial(runs["darts2"], tmp_path / "Xy2zW")
    search1 = t1 / "pipeline" / "search"
    assert main(["plot", "alphas", str(t1), "--edge", "0"]) == 0
    assert main(["plot", "alphas", str(t1 / "pipeline"), "--edge", "1"]) == 0
    printed = printed_paths(capsys)
    assert printed == [search1 / "figures" / f"alphas_normal_{e}.{x}" for e in ("2_0", "2_1") for x in ("png", "pdf")]
    check_outputs(printed)

    import nni_pibn.plots.search_curves as curves

    seen = {}
    plot = curves.plot_search
    monkeypatch.setattr(curves, "plot_search", lambda runs, out, metric, labels: seen.update(
        runs=runs, labels=labels) or plot(runs, out, metric, labels))
    assert main(["plot", "search", str(t1), str(t2)]) == 0
    assert seen == {"runs": [search1, t2 / "pipeline" / "search"], "labels": ["Ab1cD", "Xy2zW"]}  # trial ids
    check_outputs(printed_paths(capsys))

    shutil.copytree(t1, tmp_path / "exp" / "Ab1cD")
    shutil.copytree(t2, tmp_path / "exp" / "Xy2zW")
    one_line_error(capsys, ["plot", "alphas", str(tmp_path / "exp")], "holds 2 search runs")


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz dot binary missing")
def test_plot_genotype_of_a_trial_folder(runs, tmp_path, capsys) -> None:
    trial = _as_trial(runs["darts"], tmp_path / "Ab1cD")
    assert main(["plot", "genotype", str(trial)]) == 0
    printed = printed_paths(capsys)
    assert {p.parent for p in printed} == {trial / "pipeline" / "search" / "figures"}
    check_outputs(printed)
