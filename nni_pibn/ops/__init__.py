"""Candidate operations: one registry of ``(C, stride, affine) -> nn.Module`` factories.

``OPS`` holds every op of the paper's space (design.md section 1) plus DARTS'
``sep_conv_*``; ``nni_pibn.ops.sets`` groups them into named op sets.
"""

from __future__ import annotations

from functools import partial
from typing import Callable

from torch import nn

from ..registry import Registry
from .basic import (
    FactorizedReduce,
    ReLUConvBN,
    Zero,
    avg_pool_3x3,
    max_pool_3x3,
    none,
    skip_connect,
)
from .darts import DilConv, FacConv, SepConv
from .norm import LayerNorm2d
from .pib import ConvNeXtBlock, PseudoInvBottleneck, expanded_channels

OpFactory = Callable[[int, int, bool], nn.Module]

OPS: Registry[OpFactory] = Registry("op")
OPS.add("none", none)
OPS.add("skip_connect", skip_connect)
OPS.add("max_pool_3x3", max_pool_3x3)
OPS.add("avg_pool_3x3", avg_pool_3x3)
for _k in (3, 5, 7):
    OPS.add(f"pib_conv_{_k}x{_k}", partial(PseudoInvBottleneck, kernel_size=_k))
for _k in (3, 5):
    OPS.add(f"sep_conv_{_k}x{_k}", partial(SepConv, kernel_size=_k))
    OPS.add(f"dil_conv_{_k}x{_k}", partial(DilConv, kernel_size=_k, dilation=2))
OPS.add("conv_7x1_1x7", partial(FacConv, kernel_size=7))
for _k in (3, 5, 7):
    OPS.add(f"convnext_{_k}x{_k}", partial(ConvNeXtBlock, kernel_size=_k))


def build_op(name: str, C: int, stride: int, affine: bool = True) -> nn.Module:
    """Builds a registered op by name (unknown names raise a UserError listing valid ones)."""
    return OPS.get(name)(C, stride, affine)


__all__ = [
    "OPS",
    "OpFactory",
    "build_op",
    "ConvNeXtBlock",
    "DilConv",
    "FacConv",
    "FactorizedReduce",
    "LayerNorm2d",
    "PseudoInvBottleneck",
    "ReLUConvBN",
    "SepConv",
    "Zero",
    "expanded_channels",
]
