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
    assert from_nni(sample, op_set=g.op_set) == g


def test_nni_accepts_bare_int_inputs() -> None:
    sample = {k: (v[0] if isinstance(v, list) else v) for k, v in PIBN.to_nni().items()}
    assert from_nni(sample, op_set="pibn") == PIBN


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


def test_op_set_counts_in_equality_in_its_canonical_spelling() -> None:
    from dataclasses import replace

    assert replace(PIBN, op_set="pibn:f=2") == PIBN and replace(PIBN, op_set="pibn:f=2").op_set == "pibn"
    assert replace(PIBN, op_set="pibn:f=3") != PIBN
    assert replace(PIBN, op_set=None) != PIBN
    data = PIBN.to_json()
    data["op_set"] = "pibn:f=3"
    assert from_json(data).op_set == "pibn:f=3"


@pytest.mark.parametrize("mutate,match", [
    (lambda d: d["normal"].__setitem__(0, [["pib_conv_3x3"], 0]),
     r"normal cell, node 2: unknown op \['pib_conv_3x3'\]"),
    (lambda d: d.__setitem__("normal_concat", 5), r"normal_concat must be a list of node numbers"),
    (lambda d: d.__setitem__("reduce_concat", "2345"), r"reduce_concat must be a list"),
    (lambda d: d.__setitem__("reduce_concat", [2, 9]), r"reduce_concat \[2, 9\]: must list nodes from 2..5"),
    (lambda d: d.__setitem__("op_set", ["pibn"]), r"op_set must be a name"),
    (lambda d: d.__setitem__("op_set", "pibn:f=nan"), r"parameter f must be a number"),
    (lambda d: d["reduce"].__setitem__(1, ["pib_conv_5x5", 1.0]), r"reduce cell, node 2: input 1.0 does not exist"),
])
def test_malformed_genotype_json_is_a_user_error(mutate, match: str) -> None:
    data = json.loads(json.dumps(PIBN.to_json()))
    mutate(data)
    with pytest.raises(UserError, match=match):
        from_json(data)


def test_non_utf8_genotype_file_is_a_user_error(tmp_path) -> None:
    (tmp_path / "g.json").write_bytes(b"\xff\xfe{\x00")
    with pytest.raises(UserError, match="not valid JSON"):
        read_json(tmp_path / "g.json")
