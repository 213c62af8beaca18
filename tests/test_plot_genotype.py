from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

from nni_pibn.cli import main
from nni_pibn.errors import UserError
from nni_pibn.genotype import DARTS_V2, PIBN, write_json
from nni_pibn.plots.genotype import node_name, render_genotype


def assert_real_png(path, min_side: int = 100) -> None:
    from PIL import Image

    img = np.asarray(Image.open(path).convert("RGB"))
    assert img.shape[0] >= min_side and img.shape[1] >= min_side, img.shape
    assert img.reshape(-1, 3).std(0).max() > 10, "image is (nearly) one colour"


needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz dot binary missing")


@needs_dot
@pytest.mark.parametrize("genotype", [PIBN, DARTS_V2])
def test_dot_source_has_every_op_on_its_edge(genotype, tmp_path) -> None:
    paths = render_genotype(genotype, tmp_path, "g")
    assert {p.name for p in paths} == {f"g_{c}.{e}" for c in ("normal", "reduce") for e in ("dot", "png", "pdf")}
    for cell in ("normal", "reduce"):
        src = (tmp_path / f"g_{cell}.dot").read_text()
        edges = re.findall(r'^\s*"?([^"\s]+)"?\s*->\s*"?([^"\s]+)"?\s*\[.*?label=(\w+)', src, re.M)
        expected = sorted((node_name(j), str(e // 2), op) for e, (op, j) in enumerate(genotype.cell(cell)))
        assert sorted(edges) == expected
        assert src.count('-> "c_{k}"') == 4
        assert_real_png(tmp_path / f"g_{cell}.png")
        assert (tmp_path / f"g_{cell}.pdf").read_bytes().startswith(b"%PDF")


@needs_dot
def test_cli_plot_genotype_from_run_folder(tmp_path, capsys) -> None:
    write_json(PIBN, tmp_path / "genotype.json")
    assert main(["plot", "genotype", str(tmp_path)]) == 0
    assert (tmp_path / "figures" / "genotype_normal.png").is_file()


def test_missing_dot_binary_is_one_line_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on PATH
    with pytest.raises(UserError, match="graphviz's 'dot' binary was not found; install it"):
        render_genotype(PIBN, tmp_path / "out")
