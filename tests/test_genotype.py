from __future__ import annotations

import json

import pytest

from nni_pibn.errors import UserError
from nni_pibn.genotype import (
    DARTS_V2,
    GENOTYPES,
    PIBN,
    Genotype,
    from_json,
    from_nni,
    load_genotype,
    read_json,
    write_json,
)


@pytest.mark.parametrize("g", [DARTS_V2, PIBN])
def test_json_round_trip(g: Genotype, tmp_path) -> None:
    path = tmp_path / "g.json"
    write_json(g, path, extra={"meta": 1})
    back = read_json(path)
    assert back == g and back.op_set == g.op_set
    assert from_json(json.loads(json.dumps(g.to_json()))) == g


@pytest.mark.parametrize("g", [DARTS_V2, PIBN])
def test_nni_round_trip(g: Genotype) -> None:
    sample = g.to_nni()
    assert sample["normal/op_2_0"] == g.normal[0][0]
    assert sample["normal/input_2_0"] == [g.normal[0][1]]
    assert sample["reduce/input_5_1"] == [g.reduce[7][1]]
    assert from_nni(sample) == g


def test_nni_accepts_bare_int_inputs() -> None:
    sample = {k: (v[0] if isinstance(v, list) else v) for k, v in PIBN.to_nni().items()}
    assert from_nni(sample) == PIBN


def test_paper_genotype_facts() -> None:
    assert PIBN.normal[1] == ("pib_conv_5x5", 1)
    assert PIBN.reduce[3] == ("dil_conv_5x5", 2)
    assert DARTS_V2.normal[7] == ("dil_conv_3x3", 2)
    assert set(GENOTYPES) == {"darts_v2", "pibn"}


def _with(cell: str, edges) -> dict:
    data = PIBN.to_json()
    data[cell] = edges
    return data


def test_unknown_op_names_cell_and_node() -> None:
    edges = [list(e) for e in PIBN.normal]
    edges[3][0] = "pib_conv_9x9"
    with pytest.raises(UserError, match=r"normal cell, node 3: unknown op 'pib_conv_9x9'"):
        from_json(_with("normal", edges))


def test_input_that_does_not_exist_yet() -> None:
    edges = [list(e) for e in PIBN.reduce]
    edges[2][1] = 3  # node 3 can use inputs 0..2
    with pytest.raises(UserError, match=r"reduce cell, node 3: input 3 does not exist yet"):
        from_json(_with("reduce", edges))


def test_wrong_number_of_edges() -> None:
    with pytest.raises(UserError, match=r"normal cell: 7 edges"):
        from_json(_with("normal", [list(e) for e in PIBN.normal[:7]]))
    with pytest.raises(UserError, match=r"reduce cell: 6 edges but the normal cell has 8"):
        from_json(_with("reduce", [list(e) for e in PIBN.reduce[:6]]))


def test_malformed_edge_and_missing_keys() -> None:
    with pytest.raises(UserError, match="not \\[op, input\\]"):
        from_json(_with("normal", [["pib_conv_3x3"]] * 8))
    with pytest.raises(UserError, match="lacks reduce"):
        from_json({"normal": PIBN.to_json()["normal"]})


def test_load_by_name_file_and_run_dir(tmp_path) -> None:
    assert load_genotype("pibn") is PIBN
    write_json(DARTS_V2, tmp_path / "genotype.json")
    assert load_genotype(tmp_path) == DARTS_V2
    assert load_genotype(str(tmp_path / "genotype.json")) == DARTS_V2
    with pytest.raises(UserError, match="unknown genotype 'pibnn'; valid names: darts_v2, pibn"):
        load_genotype("pibnn")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        load_genotype(tmp_path / "bad.json")
