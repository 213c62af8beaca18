"""DARTS' CIFAR network skeleton, written once for the search space and the fixed network.

Both networks are: a stem (3x3 conv to ``stem_multiplier * C`` channels, BN), ``layers``
cells, global average pooling and a linear classifier. Cell ``i`` reads the outputs of
cells ``i-2`` and ``i-1`` (the stem's output for the first cells), maps each to the cell's
width ``C`` with a preprocessing op, and concatenates some of its intermediate nodes.
Cells at ``layers // 3`` and ``2 * layers // 3`` are reduction cells: they double ``C``
and halve the resolution, which is why their edges from the two cell inputs have stride 2
and why the cell after one preprocesses its ``i-2`` input with a ``FactorizedReduce``.

:func:`plan_cells` computes every cell's widths once; :class:`~nni_pibn.space.PIBSpace`
builds NNI ``Cell``s from the plan and :class:`~nni_pibn.network.NetworkCIFAR` fixed cells.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .ops import FactorizedReduce, ReLUConvBN

#: stem width = STEM_MULTIPLIER * C (DARTS' value).
STEM_MULTIPLIER = 3
#: the fewest cells a network can have (two reductions need cells 0 and 1 at least).
MIN_LAYERS = 2
#: the most cells accepted (the paper's deepest network has 20); more is refused up front
#: rather than spending minutes building a network no machine could train.
MAX_LAYERS = 100
#: the widest initial width accepted (the paper's C is 16 to search, 36 to retrain).
MAX_CHANNELS = 1024
#: the most intermediate nodes per cell accepted (DARTS' 4; edges grow with the square).
MAX_NODES = 16


def check_layers(layers: int, minimum: int = MIN_LAYERS) -> None:
    """Raises ValueError unless ``minimum <= layers <= MAX_LAYERS``."""
    _check_range("layers", layers, minimum, MAX_LAYERS)


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}, got {value!r}")


def reduction_indices(layers: int) -> tuple[int, int]:
    """Cells at ``layers // 3`` and ``2 * layers // 3`` reduce (DARTS' rule)."""
    return layers // 3, 2 * layers // 3


def auxiliary_index(layers: int) -> int:
    """The cell after which DARTS' auxiliary head reads (the second reduction cell)."""
    return 2 * layers // 3


@dataclass(frozen=True)
class CellPlan:
    """Widths of one cell: inputs ``C_pp`` (cell i-2) and ``C_p`` (cell i-1), node width ``C``,
    output ``C_out`` (concatenated nodes)."""

    index: int
    reduction: bool
    prev_reduction: bool
    C_pp: int
    C_p: int
    C: int
    C_out: int


def plan_cells(channels: int, layers: int, multiplier: Callable[[bool], int],
               stem_multiplier: int = STEM_MULTIPLIER) -> list[CellPlan]:
    """Every cell's plan; ``multiplier(reduction)`` is how many nodes the cell concatenates."""
    check_layers(layers)
    _check_range("channels", channels, 1, MAX_CHANNELS)
    C_stem = stem_multiplier * channels
    C_pp, C_p, C = C_stem, C_stem, channels
    plans, prev_reduction = [], False
    reductions = reduction_indices(layers)
    for i in range(layers):
        reduction = i in reductions
        if reduction:
            C *= 2
        plan = CellPlan(i, reduction, prev_reduction, C_pp, C_p, C, multiplier(reduction) * C)
        plans.append(plan)
        prev_reduction = reduction
        C_pp, C_p = C_p, plan.C_out
    return plans


def make_stem(in_channels: int, channels: int, stem_multiplier: int = STEM_MULTIPLIER) -> nn.Sequential:
    """3x3 conv (no bias) to ``stem_multiplier * channels`` channels, then BN."""
    C_stem = stem_multiplier * channels
    return nn.Sequential(nn.Conv2d(in_channels, C_stem, 3, padding=1, bias=False), nn.BatchNorm2d(C_stem))


def preprocessors(plan: CellPlan, affine: bool = True) -> tuple[nn.Module, nn.Module]:
    """The cell's two input maps to ``C`` channels: cell i-2 through a ``FactorizedReduce``
    after a reduction cell (its output is twice as large), else ReLU-1x1 conv-BN; cell i-1
    through ReLU-1x1 conv-BN."""
    pre0 = (FactorizedReduce(plan.C_pp, plan.C, affine=affine) if plan.prev_reduction
            else ReLUConvBN(plan.C_pp, plan.C, 1, 1, 0, affine=affine))
    return pre0, ReLUConvBN(plan.C_p, plan.C, 1, 1, 0, affine=affine)


class CellPreprocessor(nn.Module):
    """:func:`preprocessors` as one module mapping ``[s_{k-2}, s_{k-1}]`` (an NNI ``Cell``'s preprocessor)."""

    def __init__(self, plan: CellPlan, affine: bool) -> None:
        super().__init__()
        self.pre0, self.pre1 = preprocessors(plan, affine)

    def forward(self, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        return [self.pre0(inputs[0]), self.pre1(inputs[1])]


def edge_stride(reduction: bool, input_index: int | None) -> int:
    """2 on a reduction cell's edges from its two inputs, else 1. ``None`` (NNI building the
    raw space, before an input is chosen) counts as a cell input."""
    return 2 if reduction and (input_index is None or input_index < 2) else 1
