from __future__ import annotations

import pytest
import torch

from nni_pibn.errors import UserError
from nni_pibn.ops import OPS, OpParams, PseudoInvBottleneck, build_op, expanded_channels
from nni_pibn.ops.sets import op_factories, op_names, parse_op_set

C = 8


@pytest.mark.parametrize("name", OPS.names())
@pytest.mark.parametrize("stride", [1, 2])
def test_every_op_shape_and_gradient(name: str, stride: int) -> None:
    op = build_op(name, C, stride, affine=True)
    x = torch.randn(2, C, 16, 16, requires_grad=True)
    y = op(x)
    assert y.shape == (2, C, 16 // stride, 16 // stride)
    y.square().sum().backward()
    if name == "none":
        assert x.grad is None or torch.count_nonzero(x.grad) == 0
    else:
        assert x.grad is not None and torch.count_nonzero(x.grad) > 0
        for p in op.parameters():
            assert p.grad is not None


@pytest.mark.parametrize("C,K", [(16, 3), (36, 5), (72, 7), (10, 3)])
def test_pib_weight_count_matches_formula(C: int, K: int) -> None:
    op = PseudoInvBottleneck(C, 1, affine=True, kernel_size=K, expansion=2)
    convs = sum(m.weight.numel() for m in op.modules() if isinstance(m, torch.nn.Conv2d))
    F = 2
    # dw K^2 C + pw F C^2 + grouped F K^2 C + pw C^2
    assert convs == (F + 1) * C * C + (F + 1) * K * K * C
    bn = sum(p.numel() for m in op.modules() if isinstance(m, torch.nn.BatchNorm2d) for p in m.parameters())
    assert bn == 2 * C


def test_pib_layer_order_is_fig_2c() -> None:
    op = PseudoInvBottleneck(8, 2, kernel_size=5)
    layers = list(op.op)
    kinds = [type(m).__name__ for m in layers]
    assert kinds == ["Conv2d", "BatchNorm2d", "Conv2d", "Conv2d", "GELU", "Conv2d"]
    dw, _, pw1, grouped, _, pw2 = layers
    assert dw.groups == 8 and dw.kernel_size == (5, 5) and dw.stride == (2, 2)
    assert pw1.in_channels == 8 and pw1.out_channels == 16 and pw1.kernel_size == (1, 1)
    assert grouped.in_channels == 16 and grouped.out_channels == 8 and grouped.groups == 8
    assert grouped.stride == (1, 1) and grouped.kernel_size == (5, 5)
    assert pw2.in_channels == pw2.out_channels == 8
    assert all(m.bias is None for m in layers if isinstance(m, torch.nn.Conv2d))


def test_expanded_channels_rounding() -> None:
    assert expanded_channels(16, 2) == (32, 16)
    assert expanded_channels(16, 1.5) == (24, 8)
    assert expanded_channels(36, 4.5) == (162, 18)


def test_op_sets() -> None:
    pibn = op_factories("pibn")
    assert list(pibn) == op_names("pibn")[1:]
    assert len(op_names("pibn")) == 10 and "none" not in pibn
    assert len(op_names("darts")) == 8
    f3 = op_factories("pibn:f=3")["pib_conv_3x3"](8, 1, True)
    assert f3.op[2].out_channels == 24
    assert str(parse_op_set("pibn:f=2")) == "pibn"


def test_unknown_names_list_valid_ones() -> None:
    with pytest.raises(UserError, match="valid names: .*pib_conv_3x3"):
        build_op("pib_conv_9x9", 8, 1)
    with pytest.raises(UserError, match="unknown op set 'nope'; valid names: darts, darts_gelu, darts_gelu_ln, conv"):
        op_factories("nope")
    with pytest.raises(UserError, match="bad parameter"):
        parse_op_set("pibn:g=3")


def test_builders_take_activation_norm_and_expansion_directly() -> None:
    kinds = lambda m: {type(x).__name__ for x in m.modules()}  # noqa: E731
    gelu_ln = OpParams(act="gelu", norm="ln")
    assert {"GELU", "LayerNorm2d"} <= kinds(build_op("dil_conv_3x3", C, 1, params=gelu_ln))
    assert "ReLU" not in kinds(build_op("conv_7x1_1x7", C, 1, params=gelu_ln))
    sep = build_op("sep_conv_3x3", C, 1, params=OpParams(act="gelu", sep_norm="ln"))
    assert "BatchNorm2d" not in kinds(sep) and "LayerNorm2d" in kinds(sep)
    assert build_op("pib_conv_3x3", C, 1, params=OpParams(expansion=3)).op[2].out_channels == 3 * C
    assert build_op("convnext_3x3", C, 1).op[2].out_channels == 4 * C  # ConvNeXt's own F without a set
    assert build_op("pib_conv_3x3", C, 1).op[2].out_channels == 2 * C


def test_op_params_refuse_unknown_components() -> None:
    with pytest.raises(UserError, match="unknown activation 'swish'; valid names: relu, gelu"):
        OpParams(act="swish")
    with pytest.raises(UserError, match="unknown normalisation 'gn'"):
        OpParams(sep_norm="gn")


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1", "1e9", "x"])
def test_expansion_must_be_finite_positive_and_sane(value: str) -> None:
    with pytest.raises(UserError, match="parameter f must be a number"):
        parse_op_set(f"pibn:f={value}")
