"""The DARTS skeleton written once: cell plans, shared by the NNI space and the fixed network."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time

import pytest
import torch

from nni_pibn.genotype import DARTS_V2, PIBN, from_json
from nni_pibn.network import NetworkCIFAR
from nni_pibn.skeleton import MAX_LAYERS, edge_stride, plan_cells
from nni_pibn.space import PIBSpace


def test_plan_doubles_width_at_the_two_reductions_and_chains_outputs() -> None:
    plans = plan_cells(16, 8, lambda reduction: 4)
    assert [p.index for p in plans if p.reduction] == [2, 5]
    assert [p.C for p in plans] == [16, 16, 32, 32, 32, 64, 64, 64]
    assert [p.prev_reduction for p in plans] == [False, False, False, True, False, False, True, False]
    assert (plans[0].C_pp, plans[0].C_p) == (48, 48)  # the stem's 3 * C
    for before, after in itertools.pairwise(plans):
        assert after.C_p == before.C_out == 4 * before.C
    assert [plans[i].C_pp for i in range(2, 8)] == [p.C_out for p in plans[:6]]


def test_edge_stride_only_on_reduction_cell_inputs() -> None:
    assert [edge_stride(True, j) for j in (None, 0, 1, 2, 3)] == [2, 2, 2, 1, 1]
    assert {edge_stride(False, j) for j in (None, 0, 1, 2)} == {1}


def test_fixed_network_follows_the_plan_with_its_own_concat() -> None:
    data = PIBN.to_json()
    data["normal_concat"] = [4, 5]  # a normal cell that concatenates two nodes
    g = from_json(data)
    net = NetworkCIFAR(g, channels=4, layers=5, auxiliary=True)
    plans = plan_cells(4, 5, lambda reduction: 4 if reduction else 2)
    assert net.classifier.in_features == plans[-1].C_out
    for cell, plan in zip(net.cells, plans):
        assert cell.preprocess1.op[1].in_channels == plan.C_p
        assert type(cell.preprocess0).__name__ == ("FactorizedReduce" if plan.prev_reduction else "ReLUConvBN")
    logits, aux = net.train()(torch.randn(2, 3, 32, 32))
    assert logits.shape == aux.shape == (2, 10)


@pytest.mark.parametrize("genotype,op_set", [(PIBN, "pibn"), (DARTS_V2, "darts")])
def test_frozen_space_and_fixed_network_have_the_same_skeleton(genotype, op_set) -> None:
    space = PIBSpace(op_set=op_set, channels=4, layers=5, nodes=4, affine=True)
    net = NetworkCIFAR(genotype, channels=4, layers=5, auxiliary=False)
    shapes = lambda m, prefix: [tuple(v.shape) for k, v in m.state_dict().items() if k.startswith(prefix)]  # noqa: E731
    assert shapes(space, "stem") == shapes(net, "stem")
    assert shapes(space, "classifier") == shapes(net, "classifier")
    for i in range(5):
        assert shapes(space, f"cells.{i}.preprocessor.") == shapes(net, f"cells.{i}.preprocess"), i


def test_the_fixed_network_does_not_import_nni() -> None:
    code = ("import sys, nni_pibn.network; "
            "print(any(m == 'nni' or m.startswith(('nni.', 'nni_pibn.space')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_too_many_layers_are_refused_at_once() -> None:
    start = time.monotonic()
    for build in (lambda: NetworkCIFAR(PIBN, 4, 10_000), lambda: PIBSpace(channels=2, layers=10_000)):
        with pytest.raises(ValueError, match=f"layers must be an integer from 2 to {MAX_LAYERS}, got 10000"):
            build()
    assert time.monotonic() - start < 5.0
