"""Op builders: ``(C, stride, affine, params) -> nn.Module`` for every candidate op, by name.

A builder receives the op's width, stride and BN/LN affinity, plus :class:`OpParams`: the
activation and normalisation of DARTS' conv ops and the expansion factor F of the
PIB/ConvNeXt blocks. An op set (``nni_pibn.ops.sets``) is therefore just op names plus
one ``OpParams``; the builders do the rest, so every op set builds its ops the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from torch import nn

from ..registry import Registry
from .basic import avg_pool_3x3, max_pool_3x3, none, skip_connect
from .darts import DilConv, FacConv, SepConv
from .norm import ACTIVATIONS, NORMS
from .pib import ConvNeXtBlock, PseudoInvBottleneck

#: expansion factor F when an op set gives none: the paper's PIB (F = 2) and ConvNeXt (F = 4).
PIB_EXPANSION = 2.0
CONVNEXT_EXPANSION = 4.0


@dataclass(frozen=True)
class OpParams:
    """What an op set decides about how its ops are built.

    ``act`` and ``norm``: activation and normalisation of DARTS' conv ops (``sep_conv``,
    ``dil_conv``, ``conv_7x1_1x7``); ``sep_norm`` overrides ``norm`` in the separable convs
    only (the roadmap's ``darts_gelu_ln``); ``expansion``: F of the PIB and ConvNeXt blocks
    (None: each block's paper value).
    """

    act: str = "relu"
    norm: str = "bn"
    sep_norm: str | None = None
    expansion: float | None = None

    def __post_init__(self) -> None:
        ACTIVATIONS.get(self.act)
        for norm in (self.norm, self.sep_norm or self.norm):
            NORMS.get(norm)


#: ``(C, stride, affine, params) -> module``.
OpBuilder = Callable[[int, int, bool, OpParams], nn.Module]
#: an op with its params bound: ``(C, stride, affine) -> module`` (what cells call).
OpFactory = Callable[[int, int, bool], nn.Module]


def _parameter_free(factory: OpFactory) -> OpBuilder:
    def build(C: int, stride: int, affine: bool, params: OpParams) -> nn.Module:
        return factory(C, stride, affine)

    build.__doc__ = factory.__doc__
    return build


def sep_conv(C: int, stride: int, affine: bool, params: OpParams, *, kernel_size: int) -> nn.Module:
    return SepConv(C, stride, affine, kernel_size=kernel_size, act=params.act, norm=params.sep_norm or params.norm)


def dil_conv(C: int, stride: int, affine: bool, params: OpParams, *, kernel_size: int) -> nn.Module:
    return DilConv(C, stride, affine, kernel_size=kernel_size, dilation=2, act=params.act, norm=params.norm)


def fac_conv(C: int, stride: int, affine: bool, params: OpParams, *, kernel_size: int) -> nn.Module:
    return FacConv(C, stride, affine, kernel_size=kernel_size, act=params.act, norm=params.norm)


def pib_conv(C: int, stride: int, affine: bool, params: OpParams, *, kernel_size: int) -> nn.Module:
    expansion = PIB_EXPANSION if params.expansion is None else params.expansion
    return PseudoInvBottleneck(C, stride, affine, kernel_size=kernel_size, expansion=expansion)


def convnext(C: int, stride: int, affine: bool, params: OpParams, *, kernel_size: int) -> nn.Module:
    expansion = CONVNEXT_EXPANSION if params.expansion is None else params.expansion
    return ConvNeXtBlock(C, stride, affine, kernel_size=kernel_size, expansion=expansion)


#: every candidate op of the paper's space and of the roadmap's op sets.
OPS: Registry[OpBuilder] = Registry("op")
OPS.add("none", _parameter_free(none))
OPS.add("skip_connect", _parameter_free(skip_connect))
OPS.add("max_pool_3x3", _parameter_free(max_pool_3x3))
OPS.add("avg_pool_3x3", _parameter_free(avg_pool_3x3))
for _k in (3, 5, 7):
    OPS.add(f"pib_conv_{_k}x{_k}", partial(pib_conv, kernel_size=_k))
for _k in (3, 5):
    OPS.add(f"sep_conv_{_k}x{_k}", partial(sep_conv, kernel_size=_k))
    OPS.add(f"dil_conv_{_k}x{_k}", partial(dil_conv, kernel_size=_k))
OPS.add("conv_7x1_1x7", partial(fac_conv, kernel_size=7))
for _k in (3, 5, 7):
    OPS.add(f"convnext_{_k}x{_k}", partial(convnext, kernel_size=_k))


def bind(name: str, params: OpParams | None = None) -> OpFactory:
    """The op ``name`` with ``params`` bound (default :class:`OpParams`): ``(C, stride, affine) -> module``."""
    return partial(OPS.get(name), params=params or OpParams())


def build_op(name: str, C: int, stride: int, affine: bool = True, params: OpParams | None = None) -> nn.Module:
    """Builds a registered op by name (unknown names raise a UserError listing valid ones)."""
    return bind(name, params)(C, stride, affine)
