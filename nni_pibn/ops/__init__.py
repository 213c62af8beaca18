"""Candidate operations: modules, and one registry of builders by name.

``OPS`` (:mod:`.builders`) holds every op of the paper's space plus DARTS' ``sep_conv_*``
and the ConvNeXt blocks; a builder takes the width, stride, affinity and the op set's
:class:`OpParams`. ``nni_pibn.ops.sets`` groups the names into named op sets.
"""

from __future__ import annotations

from .basic import FactorizedReduce, ReLUConvBN, Zero
from .builders import OPS, OpBuilder, OpFactory, OpParams, bind, build_op
from .darts import DilConv, FacConv, SepConv
from .norm import LayerNorm2d
from .pib import ConvNeXtBlock, PseudoInvBottleneck, expanded_channels

__all__ = [
    "OPS",
    "ConvNeXtBlock",
    "DilConv",
    "FacConv",
    "FactorizedReduce",
    "LayerNorm2d",
    "OpBuilder",
    "OpFactory",
    "OpParams",
    "PseudoInvBottleneck",
    "ReLUConvBN",
    "SepConv",
    "Zero",
    "bind",
    "build_op",
    "expanded_channels",
]
