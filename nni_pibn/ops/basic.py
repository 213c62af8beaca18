"""Parameter-free and channel-adapting ops shared by every op set and by the cell skeleton."""

from __future__ import annotations

import torch
from torch import nn


class Zero(nn.Module):
    """DARTS' ``none``: an all-zero output, spatially strided like the other ops."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class FactorizedReduce(nn.Module):
    """ReLU - two offset 1x1 stride-2 convs (C_out/2 each) concatenated - BN.

    Halves the spatial size without discarding every other pixel: the second conv sees
    the input shifted by one pixel. ``C_out`` must be even.
    """

    def __init__(self, C_in: int, C_out: int, affine: bool = True) -> None:
        super().__init__()
        if C_out % 2:
            raise ValueError(f"FactorizedReduce needs an even C_out, got {C_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(C_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        # Odd sizes: pad so both branches produce ceil(H/2) x ceil(W/2).
        shifted = nn.functional.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


class ReLUConvBN(nn.Module):
    """ReLU - KxK conv - BN: the cell's input preprocessing."""

    def __init__(
        self, C_in: int, C_out: int, kernel_size: int, stride: int, padding: int, affine: bool = True
    ) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_out, kernel_size, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


def skip_connect(C: int, stride: int, affine: bool = True) -> nn.Module:
    """Identity at stride 1; FactorizedReduce at stride 2 (DARTS' choice)."""
    return nn.Identity() if stride == 1 else FactorizedReduce(C, C, affine=affine)


def max_pool_3x3(C: int, stride: int, affine: bool = True) -> nn.Module:
    return nn.MaxPool2d(3, stride=stride, padding=1)


def avg_pool_3x3(C: int, stride: int, affine: bool = True) -> nn.Module:
    return nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)


def none(C: int, stride: int, affine: bool = True) -> nn.Module:
    return Zero(stride)
