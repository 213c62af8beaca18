"""The roadmap op sets (paper Fig. 1): each builds, trains, and counts weights as documented."""

from __future__ import annotations

import pytest
import torch

from nni_pibn.genotype import from_nni
from nni_pibn.op_profile import closed_forms, op_weight_table
from nni_pibn.ops import ConvNeXtBlock, LayerNorm2d, PseudoInvBottleneck
from nni_pibn.ops.sets import ROADMAP, op_factories
from nni_pibn.space import PIBSpace


def test_roadmap_order() -> None:
    assert ROADMAP == ["darts", "darts_gelu", "darts_gelu_ln", "convnext", "pibn"]


@pytest.mark.parametrize("op_set", [*ROADMAP, "pibn:f=3", "convnext:f=2", "pibn:f=1.5"])
@pytest.mark.parametrize("stride", [1, 2])
def test_every_op_of_every_set_shape_and_gradient(op_set: str, stride: int) -> None:
    for name, factory in op_factories(op_set).items():
        op = factory(8, stride, True)
        x = torch.randn(2, 8, 8, 8, requires_grad=True)
        y = op(x)
        assert y.shape == (2, 8, 8 // stride, 8 // stride), (op_set, name)
        y.square().sum().backward()
        assert x.grad is not None and torch.count_nonzero(x.grad) > 0, (op_set, name)


def test_variants_use_the_right_components() -> None:
    relu = op_factories("darts")["sep_conv_3x3"](4, 1, True)
    gelu = op_factories("darts_gelu")["sep_conv_3x3"](4, 1, True)
    ln = op_factories("darts_gelu_ln")["sep_conv_3x3"](4, 1, True)
    kinds = lambda m: {type(x).__name__ for x in m.modules()}  # noqa: E731
    assert {"ReLU", "BatchNorm2d"} <= kinds(relu) and "GELU" not in kinds(relu)
    assert {"GELU", "BatchNorm2d"} <= kinds(gelu) and "ReLU" not in kinds(gelu)
    assert {"GELU", "LayerNorm2d"} <= kinds(ln) and "BatchNorm2d" not in kinds(ln)
    cx = op_factories("convnext")["convnext_7x7"](4, 1, True)
    assert [type(m).__name__ for m in cx.op] == ["Conv2d", "LayerNorm2d", "Conv2d", "GELU", "Conv2d"]
    assert cx.op[2].out_channels == 16


def test_layernorm2d_normalises_over_channels() -> None:
    ln = LayerNorm2d(16, affine=False)
    x = torch.randn(3, 16, 5, 7) * 4 + 2
    y = ln(x)
    assert torch.allclose(y.mean(1), torch.zeros(3, 5, 7), atol=1e-5)
    assert torch.allclose(y.var(1, unbiased=False), torch.ones(3, 5, 7), atol=1e-3)
    ref = torch.nn.functional.layer_norm(x.permute(0, 2, 3, 1), (16,), eps=1e-6).permute(0, 3, 1, 2)
    assert torch.allclose(y, ref, atol=1e-6)


@pytest.mark.parametrize("C", [8, 16, 36])
@pytest.mark.parametrize("K", [3, 5, 7])
@pytest.mark.parametrize("F", [1, 2, 3, 4])
def test_weight_counts_match_closed_forms(C: int, K: int, F: int) -> None:
    pib = PseudoInvBottleneck(C, 1, kernel_size=K, expansion=F)
    cnx = ConvNeXtBlock(C, 1, kernel_size=K, expansion=F)
    w = lambda m: sum(x.weight.numel() for x in m.modules() if isinstance(x, torch.nn.Conv2d))  # noqa: E731
    assert w(pib) == (F + 1) * C * C + (F + 1) * K * K * C == closed_forms(f"pib_conv_{K}x{K}", C, F)[0]
    assert w(cnx) == 2 * F * C * C + K * K * C == closed_forms(f"convnext_{K}x{K}", C, F)[1]
    # the paper's eq. (2) undercounts the grouped conv by (F - 1) K^2 C
    ours, paper = closed_forms(f"pib_conv_{K}x{K}", C, F)
    assert ours - paper == (F - 1) * K * K * C


def test_non_integer_expansion_rounds_and_groups() -> None:
    rows = {r.op: r for r in op_weight_table("pibn:f=1.5", 16)}
    r = rows["pib_conv_3x3"]
    assert r.weights == r.closed_form == 9 * 16 + 16 * 24 + 16 * 3 * 9 + 256


@pytest.mark.parametrize("op_set", ROADMAP)
def test_each_op_set_builds_space_and_runs_one_darts_epoch(op_set: str) -> None:
    from nni.nas.evaluator.pytorch import Classification
    from nni.nas.strategy import DARTS
    from torch.utils.data import DataLoader, TensorDataset

    ds = TensorDataset(torch.randn(8, 3, 16, 16), torch.randint(0, 10, (8,)))
    evaluator = Classification(
        train_dataloaders=DataLoader(ds, batch_size=4),
        val_dataloaders=DataLoader(ds, batch_size=4),
        num_classes=10, max_epochs=1, accelerator="cpu", enable_progress_bar=False,
        logger=False, enable_checkpointing=False, enable_model_summary=False,
    )
    strategy = DARTS()
    space = strategy.mutate_model(PIBSpace(op_set=op_set, channels=2, layers=3, nodes=2))
    evaluator = strategy.mutate_evaluator(evaluator)
    evaluator.evaluate(space)
    g = from_nni(evaluator.module.export(), op_set=op_set)
    assert g.op_set == op_set and len(g.normal) == 4
