from __future__ import annotations

import json
import subprocess
import sys

import pytest

from nni_pibn.cli import main
from nni_pibn.complexity import TABLE1, TABLE1_LAYERS, measure
from nni_pibn.genotype import GENOTYPES


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nni_pibn", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("name", ["darts_v2", "pibn"])
def test_table1_params_and_gmacs_within_2_5_percent(name: str) -> None:
    for layers in TABLE1_LAYERS:
        c = measure(GENOTYPES[name], layers)
        _, params, gmac = TABLE1[name][layers]
        assert abs(c.params_m / params - 1) < 0.025, (name, layers, c.params_m, params)
        assert abs(c.gmac / gmac - 1) < 0.025, (name, layers, c.gmac, gmac)


def test_profile_json_output(capsys) -> None:
    assert main(["profile", "--genotype", "darts_v2", "--layers", "2", "20", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["layers"] for r in rows] == [2, 20]
    assert rows[1]["params_m"] == pytest.approx(3.349, abs=2e-3)
    assert rows[0]["gmac"] == pytest.approx(0.0349, abs=5e-4)


def test_profile_table_shows_paper_and_difference(capsys) -> None:
    assert main(["profile", "--genotype", "pibn", "--layers", "20"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "paper M" in out[0] and "diff" in out[0]
    cells = out[1].split()
    assert cells[0] == "20" and cells[3] == "6.060" and cells[4].endswith("%")


@pytest.mark.parametrize(
    "args,message",
    [
        (["profile", "--genotype", "nope"], "unknown genotype 'nope'"),
        (["profile", "--layers", "1"], "--layers 1: a DARTS network needs at least 2 cells"),
        (["profile", "--layers", "x"], "invalid int value"),
        (["bogus"], "invalid choice"),
    ],
)
def test_bad_input_one_line_exit_2(args: list[str], message: str) -> None:
    res = run_cli(*args)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in res.stderr


def test_malformed_genotype_file(tmp_path) -> None:
    bad = tmp_path / "g.json"
    bad.write_text('{"normal": [["pib_conv_3x3", 0]]')
    res = run_cli("profile", "--genotype", str(bad))
    assert res.returncode == 2 and "not valid JSON" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_profile_op_set_shows_measured_and_paper_formula(capsys) -> None:
    assert main(["profile", "--op-set", "pibn", "--channels", "16", "--kernel", "3", "--format", "json"]) == 0
    rows = {r["op"]: r for r in json.loads(capsys.readouterr().out)}
    pib = rows["pib_conv_3x3"]
    assert pib["weights"] == pib["closed_form"] == 3 * 16 * 16 + 3 * 9 * 16
    assert pib["paper"] == 3 * 16 * 16 + 2 * 9 * 16
    assert "pib_conv_5x5" not in rows
    assert main(["profile", "--op-set", "convnext", "--channels", "36"]) == 0
    assert "convnext_7x7" in capsys.readouterr().out


def test_profile_unknown_op_set_exit_2() -> None:
    res = run_cli("profile", "--op-set", "pibnx")
    assert res.returncode == 2 and "unknown op set 'pibnx'" in res.stderr
