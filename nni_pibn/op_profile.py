"""Per-op weight counts of an op set beside closed forms and the paper's formulas.

"Weights" are convolution weights (no normalisation affine parameters, no biases), the
quantity the paper's eq. (1) and (2) count. ``closed_form`` is the exact count of our
modules; ``paper`` is the paper's formula where it gives one:

- PIB (Fig. 2c): ours ``K^2 C + C C_inv + C (C_inv / g) K^2 + C^2`` with
  ``C_inv = round(F C)``, ``g = gcd(C_inv, C)``; for integer F that is
  ``(F+1) C^2 + (F+1) K^2 C``. Paper eq. (2): ``(F+1) C^2 + 2 K^2 C``.
- ConvNeXt (Fig. 2b): ``K^2 C + 2 C C_inv`` = paper eq. (1) ``2 F C^2 + K^2 C``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from torch import nn

from .ops import expanded_channels
from .ops.sets import op_factories, parse_op_set


@dataclass
class OpWeights:
    op: str
    weights: int
    params: int
    closed_form: int | None
    paper: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def conv_weights(module: nn.Module) -> int:
    return sum(m.weight.numel() for m in module.modules() if isinstance(m, nn.Conv2d))


def _kernel(name: str) -> int | None:
    m = re.search(r"_(\d+)x\1$", name)
    return int(m.group(1)) if m else None


def closed_forms(name: str, C: int, F: float) -> tuple[int | None, float | None]:
    """(our exact conv-weight count, the paper's formula) for op ``name`` at width C."""
    K = _kernel(name)
    if name.startswith("pib_conv_") and K:
        C_inv, g = expanded_channels(C, F)
        return K * K * C + C * C_inv + C * (C_inv // g) * K * K + C * C, (F + 1) * C * C + 2 * K * K * C
    if name.startswith("convnext_") and K:
        C_inv, _ = expanded_channels(C, F)
        return K * K * C + 2 * C * C_inv, 2 * F * C * C + K * K * C
    if name.startswith("sep_conv_") and K:
        return 2 * (K * K * C + C * C), None
    if name.startswith("dil_conv_") and K:
        return K * K * C + C * C, None
    if name == "conv_7x1_1x7":
        return 14 * C * C, None
    if name in ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect"):
        return 0, None
    return None, None


def op_weight_table(op_set: str, C: int, kernel: int | None = None) -> list[OpWeights]:
    """Measured vs closed-form weights for every op of ``op_set`` (stride 1), optionally one K."""
    spec = parse_op_set(op_set)
    F = spec.op_params.expansion or 0.0
    rows = []
    for name, factory in op_factories(spec, include_none=True).items():
        if kernel is not None and _kernel(name) not in (kernel, None):
            continue
        module = factory(C, 1, True)
        closed, paper = closed_forms(name, C, F)
        rows.append(
            OpWeights(name, conv_weights(module), sum(p.numel() for p in module.parameters()), closed, paper)
        )
    return rows
