"""The NNI model space: DARTS' CIFAR skeleton (:mod:`nni_pibn.skeleton`) whose cells are NNI
``Cell``s over an op set.

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

from .ops import OpFactory
from .ops.sets import op_factories
from .skeleton import (
    MAX_NODES,
    STEM_MULTIPLIER,
    CellPreprocessor,
    edge_stride,
    make_stem,
    plan_cells,
    reduction_indices,
)

__all__ = ["CellPreprocessor", "PIBSpace", "reduction_indices"]


def _edge_op(node_index: int, op_index: int, input_index: int | None, *, factory: OpFactory, C: int,
             reduction: bool, affine: bool) -> nn.Module:
    """NNI's op-factory signature: the op of one edge, strided when it reads a reduction cell's input.

    In the search network (``affine=False``) a pooling op is followed by a non-affine
    BatchNorm, as in DARTS' search model (``MixedOp``): the convolutions end in a BatchNorm,
    so without one the pooled maps would enter the weighted sum at another scale and the
    architecture weights would compare unlike things.
    """
    op = factory(C, edge_stride(reduction, input_index), affine)
    if not affine and isinstance(op, (nn.MaxPool2d, nn.AvgPool2d)):
        op = nn.Sequential(op, nn.BatchNorm2d(C, affine=False))
    return op


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
        stem_multiplier: int = STEM_MULTIPLIER,
        affine: bool = False,
    ) -> None:
        super().__init__()
        if not 1 <= nodes <= MAX_NODES:
            raise ValueError(f"nodes must be an integer from 1 to {MAX_NODES}, got {nodes!r}")
        factories = op_factories(op_set)
        plans = plan_cells(channels, layers, lambda reduction: nodes, stem_multiplier)
        self.stem = make_stem(in_channels, channels, stem_multiplier)
        self.cells = nn.ModuleList()
        for plan in plans:
            ops = {
                name: partial(_edge_op, factory=f, C=plan.C, reduction=plan.reduction, affine=affine)
                for name, f in factories.items()
            }
            self.cells.append(Cell(
                ops,
                num_nodes=nodes,
                num_ops_per_node=2,
                num_predecessors=2,
                merge_op="all",
                preprocessor=CellPreprocessor(plan, affine),
                label="reduce" if plan.reduction else "normal",
            ))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(plans[-1].C_out, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell([s0, s1])
        return self.classifier(self.global_pooling(s1).flatten(1))
