"""The NNI model space: DARTS' CIFAR skeleton whose cells are NNI ``Cell``s over an op set.

Each ``Cell`` builds ``LayerChoice`` ``{normal,reduce}/op_{i}_{k}`` and ``InputChoice``
``{normal,reduce}/input_{i}_{k}``; all normal cells share one label, all reduction cells
another, so DARTS learns one alpha per edge and cell type. Ops are given as factories
(stride depends on the input index in reduction cells), which is what makes NNI's DARTS
relax the cell into ``DifferentiableMixedCell`` with its implicit zero op (DARTS' ``none``).
"""

from __future__ import annotations

from functools import partial

import torch
from nni.nas.nn.pytorch import Cell, ModelSpace
from torch import nn

from .ops import FactorizedReduce, ReLUConvBN
from .ops.sets import op_factories


def reduction_indices(layers: int) -> tuple[int, int]:
    """Cells at ``layers // 3`` and ``2 * layers // 3`` reduce (DARTS' rule)."""
    return layers // 3, 2 * layers // 3


class CellPreprocessor(nn.Module):
    """Maps (c_{k-2}, c_{k-1}) to C channels each; FactorizedReduce after a reduction cell."""

    def __init__(self, C_pp: int, C_p: int, C: int, prev_reduction: bool, affine: bool) -> None:
        super().__init__()
        self.pre0 = (
            FactorizedReduce(C_pp, C, affine=affine)
            if prev_reduction
            else ReLUConvBN(C_pp, C, 1, 1, 0, affine=affine)
        )
        self.pre1 = ReLUConvBN(C_p, C, 1, 1, 0, affine=affine)

    def forward(self, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        return [self.pre0(inputs[0]), self.pre1(inputs[1])]


def _edge_op(
    node_index: int,
    op_index: int,
    input_index: int | None,
    *,
    factory,
    C: int,
    reduction: bool,
    affine: bool,
) -> nn.Module:
    # input_index is None while NNI builds the raw (unfrozen) space: treat as a cell input.
    stride = 2 if reduction and (input_index is None or input_index < 2) else 1
    return factory(C, stride, affine)


class PIBSpace(ModelSpace):
    """DARTS' CIFAR search network with NNI cells over ``op_set`` (default: the paper's 10 ops).

    ``affine`` is False during search (DARTS' choice) and True when freezing a genotype
    for evaluation. The output is the logits of a global-average-pooled linear classifier.
    """

    def __init__(
        self,
        op_set: str = "pibn",
        channels: int = 16,
        layers: int = 8,
        nodes: int = 4,
        num_classes: int = 10,
        in_channels: int = 3,
        stem_multiplier: int = 3,
        affine: bool = False,
    ) -> None:
        super().__init__()
        if layers < 2:
            raise ValueError(f"a DARTS network needs at least 2 cells, got {layers}")
        factories = op_factories(op_set)
        C_curr = stem_multiplier * channels
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, C_curr, 3, padding=1, bias=False), nn.BatchNorm2d(C_curr)
        )
        C_pp, C_p, C = C_curr, C_curr, channels
        self.cells = nn.ModuleList()
        prev_reduction = False
        for i in range(layers):
            reduction = i in reduction_indices(layers)
            if reduction:
                C *= 2
            ops = {
                name: partial(_edge_op, factory=f, C=C, reduction=reduction, affine=affine)
                for name, f in factories.items()
            }
            cell = Cell(
                ops,
                num_nodes=nodes,
                num_ops_per_node=2,
                num_predecessors=2,
                merge_op="all",
                preprocessor=CellPreprocessor(C_pp, C_p, C, prev_reduction, affine),
                label="reduce" if reduction else "normal",
            )
            self.cells.append(cell)
            prev_reduction = reduction
            C_pp, C_p = C_p, nodes * C
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_p, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell([s0, s1])
        return self.classifier(self.global_pooling(s1).flatten(1))
