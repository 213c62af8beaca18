"""Memory layout of activations and conv weights: the config key ``memory_format``.

``channels_last`` (NHWC) stores the channels of a pixel together. For these networks,
dominated by depthwise and grouped convolutions, that is what oneDNN (PyTorch's CPU conv
library) is fast at: on a 2-core CPU a PIB supernet step runs about 2x faster in NHWC than
in NCHW (``benchmarks/search_step.py``; a depthwise 7x7 forward+backward alone 3.4x). On
CUDA the previous measurements found NHWC no faster for these nets at fp32, so ``auto``
keeps NCHW there until a GPU measurement says otherwise.

Weights are converted once (``module.to(memory_format=...)``); a convolution whose weight is
channels-last returns channels-last activations, so inputs need no conversion.
"""

from __future__ import annotations

import torch
from torch import nn

MEMORY_FORMATS = ("auto", "channels_last", "contiguous")


def resolve(setting: str, device: torch.device | str) -> torch.memory_format:
    """The memory format for ``setting`` (one of :data:`MEMORY_FORMATS`) on ``device``."""
    if setting not in MEMORY_FORMATS:
        raise ValueError(f"memory_format must be one of {', '.join(MEMORY_FORMATS)}, got {setting!r}")
    if setting == "auto":
        setting = "channels_last" if torch.device(device).type == "cpu" else "contiguous"
    return torch.channels_last if setting == "channels_last" else torch.contiguous_format


def apply(module: nn.Module, setting: str, device: torch.device | str) -> torch.memory_format:
    """Converts ``module``'s 4-D parameters and buffers to the resolved format; returns it."""
    fmt = resolve(setting, device)
    module.to(memory_format=fmt)
    return fmt
