"""Normalisation and activation components selectable by name (roadmap variants)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..registry import Registry


class LayerNorm2d(nn.Module):
    """Channels-first LayerNorm: normalises the C values at each (n, h, w) position.

    Equivalent to ConvNeXt's ``channels_first`` LayerNorm; uses ``F.layer_norm`` on a
    permuted view so it runs the fused kernel.
    """

    def __init__(self, C: int, affine: bool = True, eps: float = 1e-6) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(C, eps=eps, elementwise_affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (N, C, H, W) -> (N, H, W, C) -> normalise over C -> back.
        return self.ln(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


NORMS: Registry[Callable[[int, bool], nn.Module]] = Registry("normalisation")
NORMS.add("bn", lambda C, affine: nn.BatchNorm2d(C, affine=affine))
NORMS.add("ln", lambda C, affine: LayerNorm2d(C, affine=affine))

ACTIVATIONS: Registry[Callable[[], nn.Module]] = Registry("activation")
ACTIVATIONS.add("relu", lambda: nn.ReLU(inplace=False))
ACTIVATIONS.add("gelu", nn.GELU)
