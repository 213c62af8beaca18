"""The Pseudo-Inverted Bottleneck block (paper Fig. 2c) and the ConvNeXt block it replaces."""

from __future__ import annotations

import math

import torch
from torch import nn

from .norm import LayerNorm2d


def expanded_channels(C: int, expansion: float) -> tuple[int, int]:
    """Returns ``(C_inv, groups)`` for an expansion factor F.

    ``C_inv = round(F * C)`` (Python's round, ties to even). The grouped KxK conv that maps
    ``C_inv -> C`` needs a group count dividing both, so ``groups = gcd(C_inv, C)``: with an
    integer F that is ``C`` (each output channel sees F inputs, the paper's block); with
    F = 1.5 and C = 16 it is 8 groups of 3 inputs -> 2 outputs.
    """
    if expansion <= 0:
        raise ValueError(f"expansion factor must be positive, got {expansion}")
    C_inv = max(1, round(expansion * C))
    return C_inv, math.gcd(C_inv, C)


class PseudoInvBottleneck(nn.Module):
    """dw KxK conv (stride s) - BN - 1x1 conv C->F*C - grouped KxK conv F*C->C - GELU - 1x1 conv.

    The layer order of the paper's Fig. 2c. No conv has a bias. With an integer F the
    weights number ``(F+1)C^2 + (F+1)K^2C`` (+2C BN); the paper's eq. (2) writes
    ``(F+1)C^2 + 2K^2C``, which undercounts the grouped conv for F != 1.
    """

    def __init__(
        self, C: int, stride: int, affine: bool = True, *, kernel_size: int = 3, expansion: float = 2.0
    ) -> None:
        super().__init__()
        C_inv, groups = expanded_channels(C, expansion)
        pad = kernel_size // 2
        self.op = nn.Sequential(
            nn.Conv2d(C, C, kernel_size, stride, pad, groups=C, bias=False),
            nn.BatchNorm2d(C, affine=affine),
            nn.Conv2d(C, C_inv, 1, bias=False),
            nn.Conv2d(C_inv, C, kernel_size, 1, pad, groups=groups, bias=False),
            nn.GELU(),
            nn.Conv2d(C, C, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class ConvNeXtBlock(nn.Module):
    """dw KxK conv (stride s) - LayerNorm - 1x1 conv C->F*C - GELU - 1x1 conv F*C->C (Fig. 2b).

    ConvNeXt's block as a DARTS op: no residual (the cell sums its inputs) and no layer
    scale. Weights: ``2FC^2 + K^2C`` (+2C LN), the paper's eq. (1).
    """

    def __init__(
        self, C: int, stride: int, affine: bool = True, *, kernel_size: int = 3, expansion: float = 4.0
    ) -> None:
        super().__init__()
        C_inv, _ = expanded_channels(C, expansion)
        self.op = nn.Sequential(
            nn.Conv2d(C, C, kernel_size, stride, kernel_size // 2, groups=C, bias=False),
            LayerNorm2d(C, affine=affine),
            nn.Conv2d(C, C_inv, 1, bias=False),
            nn.GELU(),
            nn.Conv2d(C_inv, C, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)
