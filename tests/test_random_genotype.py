"""``random:SEED[:OP_SET]``: deterministic, valid for every op set, uniform, accepted wherever
a genotype is."""

from __future__ import annotations

import json
from collections import Counter
from itertools import combinations

import pytest
import torch

from nni_pibn.cli import main
from nni_pibn.genotype import CELLS, from_json, load_genotype, validate
from nni_pibn.network import NetworkCIFAR
from nni_pibn.ops.sets import OP_SETS, canonical_op_set, op_names
from nni_pibn.random_genotype import random_genotype

SPECS = [*OP_SETS.names(), "pibn:f=3", "convnext:f=2"]


@pytest.mark.parametrize("op_set", SPECS)
def test_every_seed_gives_a_valid_genotype_of_the_op_set(op_set: str) -> None:
    ops = set(op_names(op_set)) - {"none"}
    for seed in range(25):
        g = load_genotype(f"random:{seed}:{op_set}")
        assert g == load_genotype(f"random:{seed}:{op_set}") == random_genotype(seed, op_set)  # deterministic
        assert g.op_set == canonical_op_set(op_set) and g.ops() <= ops and "none" not in g.ops()
        validate(g, ops)
        for cell in CELLS:
            edges = g.cell(cell)
            assert len(edges) == 8 and g.concat(cell) == [2, 3, 4, 5]
            for node in range(4):
                (_, a), (_, b) = edges[2 * node: 2 * node + 2]
                assert 0 <= a < b < node + 2  # two distinct inputs that already exist
        assert from_json(json.loads(json.dumps(g.to_json()))) == g  # survives genotype.json
    assert len({json.dumps(load_genotype(f"random:{s}:{op_set}").to_json()) for s in range(25)}) == 25


@pytest.mark.parametrize("op_set", SPECS)
def test_a_random_genotype_builds_a_network_that_runs(op_set: str) -> None:
    net = NetworkCIFAR(load_genotype(f"random:7:{op_set}"), channels=4, layers=3, auxiliary=False).eval()
    assert net(torch.randn(2, 3, 16, 16)).shape == (2, 10)


def test_the_default_op_set_is_the_papers_and_the_draw_is_pinned() -> None:
    """Pinned, so a change of the draw (which would silently change every baseline) fails here."""
    g = load_genotype("random:0")
    assert g == load_genotype("random:0:pibn") and g.op_set == "pibn"
    assert g.normal == [("skip_connect", 0), ("dil_conv_3x3", 1), ("conv_7x1_1x7", 1), ("dil_conv_3x3", 2),
                        ("pib_conv_7x7", 1), ("avg_pool_3x3", 3), ("pib_conv_5x5", 1), ("pib_conv_3x3", 2)]
    assert g.reduce[-1] == ("max_pool_3x3", 4)


def _chi2(counts: Counter) -> float:
    expected = sum(counts.values()) / len(counts)
    return sum((n - expected) ** 2 / expected for n in counts.values())


def test_ops_and_input_pairs_are_drawn_uniformly() -> None:
    """Pearson's chi-square against uniform stays below its 0.1% critical value (the draws are
    seeded, so this is a fixed check, not a flaky one)."""
    draws = [random_genotype(seed, "darts") for seed in range(1500)]
    ops = Counter(op for g in draws for cell in CELLS for op, _ in g.cell(cell))
    assert set(ops) == set(op_names("darts")) - {"none"}
    assert _chi2(ops) < 22.46, ops  # 7 ops: 6 degrees of freedom
    pairs = Counter((g.normal[6][1], g.normal[7][1]) for g in draws)  # node 5: a pair of inputs 0..4
    assert set(pairs) == set(combinations(range(5), 2))
    assert _chi2(pairs) < 27.88, pairs  # 10 pairs: 9 degrees of freedom
    skewed = Counter({**pairs, (0, 1): pairs[(0, 1)] + 150})  # the check can fail
    assert _chi2(skewed) > 27.88


def test_accepted_by_the_cli_and_bad_specs_are_one_line(one_line_error, capsys) -> None:
    assert main(["profile", "--genotype", "random:4:darts", "--layers", "3", "--channels", "4"]) == 0
    assert "random" not in capsys.readouterr().err
    one_line_error(["profile", "--genotype", "random:x"], "genotype 'random:x': expected random:SEED[:OP_SET]")
    one_line_error(["profile", "--genotype", "random:-2"], "SEED a non-negative integer")
    one_line_error(["profile", "--genotype", "random:1:nope"], "genotype 'random:1:nope': unknown op set 'nope'")
    one_line_error(["profile", "--genotype", "nope"], "valid names: darts_v2, pibn, random:SEED[:OP_SET]")
