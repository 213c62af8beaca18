"""Figures from tiny real runs: alpha evolution, search curves, cell diagrams, GradCAM."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from test_plot_genotype import assert_real_png  # type: ignore[import-not-found]

from nni_pibn.cli import main
from nni_pibn.plots.gradcam import gradcam_maps
from nni_pibn.plots.loading import load_retrained

SEARCH = ["--set", "channels=2", "--set", "layers=3", "--set", "nodes=2", "--set", "dataset=fake",
          "--set", "batch_size=8", "--set", "limit_batches=2", "--set", "image_size=16", "--set", "epochs=3", "--quiet"]
TRAIN = ["--genotype", "pibn", "--layers", "2", "--set", "channels=4", "--set", "dataset=digits",
         "--set", "epochs=2", "--set", "num_workers=0", "--set", "onnx=false", "--quiet"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    out = {"darts": root / "darts", "darts2": root / "darts2", "train": root / "train"}
    assert main(["search", *SEARCH, "--strategy", "darts", "--out", str(out["darts"])]) == 0
    assert main(["search", *SEARCH, "--strategy", "darts2", "--out", str(out["darts2"])]) == 0
    assert main(["train", *TRAIN, "--out", str(out["train"])]) == 0
    return out


def _pngs_ok(paths: list[Path]) -> None:
    for p in paths:
        if p.suffix == ".png":
            assert_real_png(p)
        elif p.suffix == ".pdf":
            assert p.read_bytes().startswith(b"%PDF")


def test_plot_alphas_all_edges_and_one(runs, tmp_path, capsys) -> None:
    assert main(["plot", "alphas", str(runs["darts2"]), "--out", str(tmp_path)]) == 0
    assert main(["plot", "alphas", str(runs["darts2"]), "--edge", "3", "--out", str(tmp_path)]) == 0
    assert main(["plot", "alphas", str(runs["darts2"]), "--edge", "reduce/3_2", "--out", str(tmp_path)]) == 0
    printed = [Path(line) for line in capsys.readouterr().out.split()]
    assert {p.name for p in printed} >= {"alphas.png", "alphas.pdf", "alphas_reduce_3_2.png"}
    _pngs_ok(printed)


def test_plot_search_overlays_runs(runs, tmp_path, capsys) -> None:
    assert main(["plot", "search", str(runs["darts"]), str(runs["darts2"]), "--out", str(tmp_path)]) == 0
    assert main(["plot", "search", str(runs["darts"]), "--metric", "acc", "--out", str(tmp_path)]) == 0
    printed = [Path(line) for line in capsys.readouterr().out.split()]
    assert {p.name for p in printed} == {"search_error.png", "search_error.pdf", "search_acc.png", "search_acc.pdf"}
    _pngs_ok(printed)


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz dot binary missing")
def test_plot_genotype_of_a_search_run(runs) -> None:
    assert main(["plot", "genotype", str(runs["darts"])]) == 0
    _pngs_ok(sorted((runs["darts"] / "figures").glob("genotype_*")))


def test_gradcam_maps_and_figure(runs, tmp_path, capsys) -> None:
    net, final = load_retrained(runs["train"])
    from nni_pibn.data import build_datasets

    test = build_datasets("digits", augment=False).test
    images = torch.stack([test[0][0], test[7][0]])
    maps = gradcam_maps(net, images)
    assert maps.shape == (2, 32, 32)
    assert maps.min() >= 0.0 and maps.max() <= 1.0
    assert not np.allclose(maps[0], maps[1])
    assert main(["gradcam", "--run", str(runs["train"]), "--run", str(runs["train"]), "--names", "a", "b",
                 "--dataset", "digits", "--indices", "0", "5", "9", "--out", str(tmp_path)]) == 0
    _pngs_ok([tmp_path / "gradcam.png", tmp_path / "gradcam.pdf"])


def _one_line_error(capsys, args: list[str], match: str) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nni-pibn: error:") and "\n" not in err and match in err, err


def test_missing_files_are_named(runs, tmp_path, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    _one_line_error(capsys, ["plot", "alphas", str(empty)], "alphas.json' is missing")
    _one_line_error(capsys, ["plot", "search", str(empty)], "metrics.csv' is missing")
    _one_line_error(capsys, ["gradcam", "--run", str(empty), "--dataset", "digits"], "final.json' is missing")
    _one_line_error(capsys, ["plot", "alphas", str(runs["darts"]), "--edge", "99"], "--edge 99")
    _one_line_error(capsys, ["gradcam", "--run", str(runs["train"]), "--dataset", "digits", "--indices", "100000"],
                    "--indices 100000")
