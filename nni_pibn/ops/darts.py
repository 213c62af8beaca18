"""DARTS' convolution ops, with the activation and normalisation selectable by name."""

from __future__ import annotations

import torch
from torch import nn

from .norm import ACTIVATIONS, NORMS


class DilConv(nn.Module):
    """Act - depthwise KxK conv (dilation d) - 1x1 conv - Norm."""

    def __init__(
        self,
        C: int,
        stride: int,
        affine: bool = True,
        *,
        kernel_size: int = 3,
        dilation: int = 2,
        act: str = "relu",
        norm: str = "bn",
    ) -> None:
        super().__init__()
        padding = dilation * (kernel_size - 1) // 2
        self.op = nn.Sequential(
            ACTIVATIONS.get(act)(),
            nn.Conv2d(C, C, kernel_size, stride, padding, dilation=dilation, groups=C, bias=False),
            nn.Conv2d(C, C, 1, bias=False),
            NORMS.get(norm)(C, affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class SepConv(nn.Module):
    """Two stacked DilConvs with dilation 1 (the second at stride 1): DARTS' sep_conv."""

    def __init__(
        self,
        C: int,
        stride: int,
        affine: bool = True,
        *,
        kernel_size: int = 3,
        act: str = "relu",
        norm: str = "bn",
    ) -> None:
        super().__init__()
        self.op = nn.Sequential(
            DilConv(C, stride, affine, kernel_size=kernel_size, dilation=1, act=act, norm=norm),
            DilConv(C, 1, affine, kernel_size=kernel_size, dilation=1, act=act, norm=norm),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class FacConv(nn.Module):
    """Act - 1xK conv - Kx1 conv - Norm: DARTS' conv_7x1_1x7 (factorised 7x7)."""

    def __init__(
        self,
        C: int,
        stride: int,
        affine: bool = True,
        *,
        kernel_size: int = 3,
        act: str = "relu",
        norm: str = "bn",
    ) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.op = nn.Sequential(
            ACTIVATIONS.get(act)(),
            nn.Conv2d(C, C, (1, kernel_size), stride=(1, stride), padding=(0, pad), bias=False),
            nn.Conv2d(C, C, (kernel_size, 1), stride=(stride, 1), padding=(pad, 0), bias=False),
            NORMS.get(norm)(C, affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)
