"""``nni-pibn gradcam`` and the GradCAM maps on a tiny network retrained on digits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image
from test_plots import check_outputs, one_line_error  # type: ignore[import-not-found]

from nni_pibn.cli import main
from nni_pibn.data import build_datasets
from nni_pibn.errors import UserError
from nni_pibn.genotype import DARTS_V2, PIBN, from_json
from nni_pibn.network import NetworkCIFAR
from nni_pibn.plots.gradcam import MAX_ALPHA, gradcam_maps, overlay
from nni_pibn.plots.loading import class_names, genotype_label, load_retrained, same_input

SIZE = 16  # trained below 32 pixels: the command must feed the run's own image size
TRAIN = ["--genotype", "pibn", "--layers", "2", "--set", "channels=4", "--set", "dataset=digits",
         "--set", f"image_size={SIZE}", "--set", "auxiliary=false", "--set", "epochs=2", "--set", "num_workers=0",
         "--set", "onnx=false", "--quiet"]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """One 2-epoch retraining of PIBN on 16x16 digits, made once for the module."""
    folder = tmp_path_factory.mktemp("runs") / "pibn"
    assert main(["train", *TRAIN, "--out", str(folder)]) == 0
    return folder


def test_rebuilt_network_is_the_trained_one(run) -> None:
    loaded = load_retrained(run)
    assert not loaded.net.training and not loaded.net.auxiliary
    assert (loaded.dataset, loaded.image_size) == ("digits", SIZE)
    state = torch.load(run / "best.pt", weights_only=True)
    for key, value in loaded.net.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_auxiliary_head_is_read_from_the_weights(run, tmp_path) -> None:
    shutil.copy(run / "final.json", tmp_path)
    final = load_retrained(run).final
    with_aux = NetworkCIFAR(from_json(final["genotype"]), final["channels"], final["layers"], 10, auxiliary=True)
    torch.save(with_aux.state_dict(), tmp_path / "best.pt")
    loaded = load_retrained(tmp_path)
    assert loaded.net.auxiliary
    assert torch.equal(loaded.net.auxiliary_head.classifier.weight, with_aux.auxiliary_head.classifier.weight)


def test_image_size_falls_back_to_config_yaml(run, tmp_path) -> None:
    final = json.loads((run / "final.json").read_text())
    del final["config"]
    (tmp_path / "final.json").write_text(json.dumps(final))
    shutil.copy(run / "best.pt", tmp_path)
    assert load_retrained(tmp_path).image_size == 32  # no config anywhere: the default
    shutil.copy(run / "config.yaml", tmp_path)
    assert load_retrained(tmp_path).image_size == SIZE


def test_gradcam_maps_have_the_input_size_and_depend_on_the_image(run) -> None:
    net = load_retrained(run).net
    test = build_datasets("digits", augment=False, image_size=SIZE).test
    first = next(i for i in range(len(test)) if test[i][1] == 0)
    other = next(i for i in range(len(test)) if test[i][1] == 7)
    images = torch.stack([test[first][0], test[other][0]])
    maps = gradcam_maps(net, images)
    assert maps.shape == (2, SIZE, SIZE) and maps.dtype == np.float32
    assert maps.min() >= 0.0 and maps.max() <= 1.0 and maps.max() > 0.5  # min-max scaled per image
    assert np.abs(maps[0] - maps[1]).mean() > 0.01


def _spy_titles(monkeypatch) -> list[list[str]]:
    """Records the figure's tile titles, row by row, when plot_gradcam saves it."""
    import nni_pibn.plots.gradcam as module

    rows: list[list[str]] = []
    save = module.save_figure

    def spy(fig, base):
        axes = fig.axes
        n_cols = len({round(ax.get_position().x0, 3) for ax in axes})
        titles = [ax.get_title() for ax in axes]
        rows.extend(titles[i:i + n_cols] for i in range(0, len(titles), n_cols))
        return save(fig, base)

    monkeypatch.setattr(module, "save_figure", spy)
    return rows


def test_gradcam_rows_are_images_input_first_then_one_overlay_per_network(run, tmp_path, capsys, monkeypatch) -> None:
    import nni_pibn.plots.gradcam as module

    seen = []
    monkeypatch.setattr(module, "gradcam_maps", lambda net, x: seen.append(x.shape) or gradcam_maps(net, x))
    rows = _spy_titles(monkeypatch)
    test = build_datasets("digits", augment=False, image_size=SIZE).test
    truth = [test[i][1] for i in (0, 5)]
    assert main(["gradcam", "--run", str(run), "--run", str(run), "--names", "a", "b",
                 "--dataset", "digits", "--indices", "0", "5", "--out", str(tmp_path)]) == 0
    printed = [Path(p) for p in capsys.readouterr().out.split()]
    assert printed == [tmp_path / "gradcam.png", tmp_path / "gradcam.pdf"]
    check_outputs(printed)
    assert seen == [(2, 3, SIZE, SIZE)] * 2  # the run's image size, once per network
    assert len(rows) == 2 and all(len(r) == 3 for r in rows)  # a row per image: input, a, b
    assert rows[0][0] == f"input\ntrue: {truth[0]}" and rows[1][0] == f"true: {truth[1]}"
    assert rows[0][1].startswith("a\npred: ") and rows[0][2].startswith("b\npred: ")
    assert rows[1][1].startswith("pred: ")
    w, h = Image.open(tmp_path / "gradcam.png").size
    assert w > h  # 3 columns, 2 rows


def test_columns_are_named_by_genotype_and_cells_and_trial_folders_work(run, tmp_path, capsys, monkeypatch) -> None:
    trial = tmp_path / "trials" / "Ab1cD"
    shutil.copytree(run, trial / "pipeline" / "train")  # where an NNI pipeline trial keeps its retrain
    rows = _spy_titles(monkeypatch)
    assert main(["gradcam", "--run", str(trial), "--run", str(run), "--dataset", "digits", "--indices", "3"]) == 0
    first = capsys.readouterr().out.split()[0]
    assert Path(first) == trial / "pipeline" / "train" / "figures" / "gradcam.png"
    assert [t.split("\npred")[0] for t in rows[0][1:]] == ["pibn\n2 cells"] * 2  # not the folder names


def test_gradcam_of_image_files_defaults_to_the_run_folder(run, tmp_path, capsys) -> None:
    rng = np.random.default_rng(0)
    files = [tmp_path / "wide.png", tmp_path / "grey.jpg"]
    Image.fromarray(rng.integers(0, 256, (20, 40, 3), dtype=np.uint8)).save(files[0])
    Image.fromarray(rng.integers(0, 256, (50, 50), dtype=np.uint8)).save(files[1])
    assert main(["gradcam", "--run", str(run), "--images", *map(str, files)]) == 0
    printed = [Path(p) for p in capsys.readouterr().out.split()]
    assert printed == [run / "figures" / "gradcam.png", run / "figures" / "gradcam.pdf"]
    check_outputs(printed)


def test_missing_and_broken_run_files_are_named(run, tmp_path, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    one_line_error(capsys, ["gradcam", "--run", str(empty), "--dataset", "digits"],
                   f"{empty}' holds no train run with final.json")
    (empty / "train").mkdir()
    one_line_error(capsys, ["gradcam", "--run", str(empty), "--dataset", "digits"],
                   f"{empty / 'train' / 'final.json'}' is missing: that train run has not written it yet")
    no_weights = tmp_path / "no_weights"
    no_weights.mkdir()
    shutil.copy(run / "final.json", no_weights)
    one_line_error(capsys, ["gradcam", "--run", str(no_weights), "--dataset", "digits"],
                   f"{no_weights / 'best.pt'}' is missing")
    (no_weights / "best.pt").write_bytes(b"not a checkpoint")
    one_line_error(capsys, ["gradcam", "--run", str(no_weights), "--dataset", "digits"], "best.pt' cannot be loaded")
    (no_weights / "final.json").write_text('{"layers": 2}')
    one_line_error(capsys, ["gradcam", "--run", str(no_weights), "--dataset", "digits"], "final.json' lacks genotype")


def test_bad_arguments_are_one_line(run, tmp_path, capsys) -> None:
    r = ["gradcam", "--run", str(run)]
    one_line_error(capsys, [*r, "--dataset", "digits", "--indices", "100000"],
                   "--indices 100000: the digits test set has images 0..359")
    one_line_error(capsys, [*r, "--dataset", "digits", "--indices", "-1"], "--indices -1")
    one_line_error(capsys, [*r, "--dataset", "fake"], "--dataset fake: the runs were trained on digits")
    one_line_error(capsys, [*r, "--dataset", "digits", "--names", "a", "b"], "--names gives 2 labels for 1 runs")
    one_line_error(capsys, [*r, "--images", str(tmp_path / "no.png")], "no.png' does not exist")
    (tmp_path / "text.png").write_text("hello")
    one_line_error(capsys, [*r, "--images", str(tmp_path / "text.png")], "text.png' cannot be read")
    one_line_error(capsys, [*r, "--images", str(tmp_path / "text.png"), "--indices", "1"], "drop it")
    one_line_error(capsys, r, "one of the arguments --dataset --images is required")


def test_runs_on_different_inputs_are_refused() -> None:
    a = SimpleNamespace(folder=Path("a"), dataset="digits", image_size=32)
    b = SimpleNamespace(folder=Path("b"), dataset="digits", image_size=16)
    assert same_input([a, a]) == ("digits", 32)
    with pytest.raises(UserError, match="a: digits 32px, b: digits 16px"):
        same_input([a, b])


def test_class_names_come_from_the_dataset_or_its_subset() -> None:
    folder = SimpleNamespace(classes=["cat", "dog"])
    assert class_names(SimpleNamespace(dataset=folder)) == ["cat", "dog"]
    assert class_names(build_datasets("digits", augment=False, image_size=8).test) is None


def test_overlay_keeps_the_digit_visible_under_the_hottest_spot() -> None:
    image = np.zeros((8, 8, 3), np.float32)
    image[2:6, 3:5] = 1.0  # a white stroke on black
    for heat in (np.ones((8, 8), np.float32), np.zeros((8, 8), np.float32)):
        out = overlay(image, heat)
        assert out.shape == (8, 8, 3) and out.min() >= 0 and out.max() <= 1
        contrast = out[3, 3].mean() - out[0, 0].mean()  # stroke minus background
        assert contrast >= (1 - MAX_ALPHA) - 1e-6  # at most MAX_ALPHA of the image is covered
    cold, hot = overlay(image, np.zeros((8, 8))), overlay(image, np.ones((8, 8)))
    assert np.abs(hot - image).mean() > np.abs(cold - image).mean()  # the hotter, the more colour


def _final(genotype, source: str, layers: int = 8) -> SimpleNamespace:
    return SimpleNamespace(final={"genotype": genotype.to_json(), "layers": layers, "config": {"genotype": source}})


def test_genotype_labels_name_builtins_and_searched_runs(tmp_path) -> None:
    assert genotype_label(_final(DARTS_V2, "darts_v2")) == "darts_v2, 8 cells"
    no_op_set = from_json({k: v for k, v in PIBN.to_json().items() if k != "op_set"})
    assert genotype_label(_final(no_op_set, "/elsewhere/cell.json", 20)) == "pibn, 20 cells"  # equal cells: its name
    searched = from_json({**PIBN.to_json(), "normal": [["skip_connect", 0], *PIBN.to_json()["normal"][1:]]})
    (tmp_path / "search").mkdir()
    meta = {"genotype": searched.to_json(), "strategy": "darts2"}
    (tmp_path / "search" / "genotype.json").write_text(json.dumps(meta))
    assert genotype_label(_final(searched, str(tmp_path / "search"), 4)) == "searched (darts2), 4 cells"
    (tmp_path / "my_cell.json").write_text(json.dumps(searched.to_json()))
    assert genotype_label(_final(searched, str(tmp_path / "my_cell.json"))) == "my_cell, 8 cells"
    assert genotype_label(_final(searched, "random:3")) == "random:3, 8 cells"
    assert genotype_label(_final(searched, str(tmp_path / "moved"))) == "searched, 8 cells"
