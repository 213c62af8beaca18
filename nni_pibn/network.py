"""The fixed evaluation network of a genotype: DARTS' NetworkCIFAR as a plain nn.Module.

The skeleton (stem, cell widths, reductions, preprocessing) is :mod:`nni_pibn.skeleton`,
shared with the search space; the auxiliary head sits after cell ``2 * layers // 3``;
drop path applies to every non-identity op while training.
``forward`` returns the logits, or ``(logits, aux_logits)`` in training mode when the
auxiliary head is on, so eval-mode export (ONNX, thop, GradCAM) sees a single tensor.
"""

from __future__ import annotations

import torch
from torch import nn

from .genotype import Genotype
from .ops import OpFactory, OpParams, bind
from .ops.sets import parse_op_set
from .skeleton import (
    STEM_MULTIPLIER,
    CellPlan,
    auxiliary_index,
    edge_stride,
    make_stem,
    plan_cells,
    preprocessors,
)


def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    """Zeroes whole samples with probability ``drop_prob`` and rescales the rest (any device)."""
    if drop_prob <= 0.0:
        return x
    keep = 1.0 - drop_prob
    mask = torch.empty(x.size(0), 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x.div(keep) * mask


class FixedCell(nn.Module):
    """One cell of a genotype: two preprocessed inputs, two ops per node, concatenated nodes."""

    def __init__(self, genotype: Genotype, plan: CellPlan, factories: dict[str, OpFactory]) -> None:
        super().__init__()
        self.reduction = plan.reduction
        self.preprocess0, self.preprocess1 = preprocessors(plan)
        cell = "reduce" if plan.reduction else "normal"
        edges = genotype.cell(cell)
        self.concat = list(genotype.concat(cell))
        self.indices = [j for _, j in edges]
        self.ops = nn.ModuleList(
            factories[op](plan.C, edge_stride(plan.reduction, j), True) for op, j in edges
        )
        self.multiplier = len(self.concat)
        self.drop_prob = 0.0

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for n in range(len(self.ops) // 2):
            h = []
            for e in (2 * n, 2 * n + 1):
                op = self.ops[e]
                out = op(states[self.indices[e]])
                if self.training and self.drop_prob > 0 and not isinstance(op, nn.Identity):
                    out = drop_path(out, self.drop_prob)
                h.append(out)
            states.append(h[0] + h[1])
        return torch.cat([states[i] for i in self.concat], dim=1)


class AuxiliaryHeadCIFAR(nn.Module):
    """DARTS' auxiliary classifier for 8x8 feature maps."""

    def __init__(self, C: int, num_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=True),
            nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),  # 8x8 -> 2x2
            nn.Conv2d(C, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


def resolve_factories(genotype: Genotype, op_set: str | None = None) -> dict[str, OpFactory]:
    """Factories of the genotype's ops, built with the :class:`~nni_pibn.ops.OpParams` of
    ``op_set`` (default: the genotype's own op set, e.g. ``pibn:f=3``; none: the defaults)."""
    spec = op_set or genotype.op_set
    params = parse_op_set(spec).op_params if spec is not None else OpParams()
    return {name: bind(name, params) for name in sorted(genotype.ops())}


class NetworkCIFAR(nn.Module):
    """DARTS' CIFAR evaluation network for ``genotype`` with ``layers`` cells of width ``channels``."""

    def __init__(
        self,
        genotype: Genotype,
        channels: int = 36,
        layers: int = 20,
        num_classes: int = 10,
        auxiliary: bool = True,
        in_channels: int = 3,
        stem_multiplier: int = STEM_MULTIPLIER,
        op_set: str | None = None,
    ) -> None:
        super().__init__()
        self.genotype = genotype
        self.layers = layers
        self.auxiliary = auxiliary
        self._aux_pos = auxiliary_index(layers)
        factories = resolve_factories(genotype, op_set)
        multiplier = {r: len(genotype.concat("reduce" if r else "normal")) for r in (False, True)}
        plans = plan_cells(channels, layers, multiplier.__getitem__, stem_multiplier)
        self.stem = make_stem(in_channels, channels, stem_multiplier)
        self.cells = nn.ModuleList(FixedCell(genotype, plan, factories) for plan in plans)
        if auxiliary:
            self.auxiliary_head = AuxiliaryHeadCIFAR(plans[self._aux_pos].C_out, num_classes)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(plans[-1].C_out, num_classes)

    @property
    def drop_path_prob(self) -> float:
        return self.cells[0].drop_prob

    @drop_path_prob.setter
    def drop_path_prob(self, p: float) -> None:
        for cell in self.cells:
            cell.drop_prob = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        aux = None
        s0 = s1 = self.stem(x)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1)
            if i == self._aux_pos and self.auxiliary and self.training:
                aux = self.auxiliary_head(s1)
        logits = self.classifier(self.global_pooling(s1).flatten(1))
        return (logits, aux) if aux is not None else logits
