"""Parameter and multiply-accumulate counts of fixed networks, and the paper's Table 1.

Convention (reproduces the paper's DARTS-V2 columns): parameters of the network without
the auxiliary head; MACs of one 1x3x32x32 image in eval mode, counted by thop.
"""

from __future__ import annotations

import copy
import io
from contextlib import redirect_stdout
from dataclasses import asdict, dataclass

import torch
from torch import nn

from .genotype import Genotype
from .network import NetworkCIFAR

#: Table 1 of the paper (CIFAR-10, C = 36): layers -> (acc %, params M, GMAC).
TABLE1: dict[str, dict[int, tuple[float, float, float]]] = {
    "darts_v2": {
        20: (97.24, 3.30, 0.547), 15: (96.93, 2.28, 0.408), 10: (96.72, 1.6, 0.265),
        8: (96.32, 1.15, 0.207), 7: (96.05, 1.05, 0.180), 6: (95.73, 0.635, 0.153),
        5: (94.56, 0.605, 0.121), 4: (93.74, 0.487, 0.090), 3: (71.68, 0.116, 0.067),
        2: (54.52, 0.082, 0.035),
    },
    "pibn": {
        20: (97.76, 6.06, 0.969), 15: (97.40, 4.21, 0.724), 10: (97.29, 3.02, 0.470),
        8: (97.15, 2.26, 0.369), 7: (97.03, 2.07, 0.320), 6: (96.86, 1.36, 0.275),
        5: (96.65, 1.30, 0.218), 4: (96.24, 1.10, 0.166), 3: (94.63, 0.443, 0.123),
        2: (92.15, 0.385, 0.067),
    },
}
TABLE1_LAYERS = [2, 3, 4, 5, 6, 7, 8, 10, 15, 20]


def count_params(model: nn.Module, exclude: str = "auxiliary") -> int:
    """Parameters whose name does not contain ``exclude`` (DARTS' count_parameters_in_MB)."""
    return sum(p.numel() for name, p in model.named_parameters() if exclude not in name)


def count_macs(model: nn.Module, input_size: tuple[int, ...] = (1, 3, 32, 32)) -> int:
    """Multiply-accumulates of one forward pass in eval mode (thop, on a copy of the model)."""
    from thop import profile

    probe = copy.deepcopy(model).eval()
    with torch.no_grad(), redirect_stdout(io.StringIO()):
        macs, _ = profile(probe, inputs=(torch.zeros(*input_size),), verbose=False)
    return int(macs)


@dataclass
class Complexity:
    layers: int
    params_m: float
    gmac: float

    def as_dict(self) -> dict:
        return asdict(self)


def measure(
    genotype: Genotype, layers: int, channels: int = 36, num_classes: int = 10,
    input_size: tuple[int, ...] = (1, 3, 32, 32),
) -> Complexity:
    net = NetworkCIFAR(genotype, channels, layers, num_classes, auxiliary=True, in_channels=input_size[1])
    return Complexity(layers, count_params(net) / 1e6, count_macs(net, input_size) / 1e9)
