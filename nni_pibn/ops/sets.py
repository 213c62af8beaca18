"""Named op sets: which candidate ops a search space offers on every edge.

An op-set spec is a name with optional parameters, e.g. ``pibn`` or ``pibn:f=3``. The
implicit zero op of NNI's differentiable cell plays DARTS' ``none``, so ``none`` is listed
in :data:`OP_SET_NAMES` for reference but :func:`build_op_set` leaves it out unless asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..errors import UserError
from ..registry import Registry
from . import OPS, OpFactory

#: op names of each op set, in the paper's order, ``none`` first.
OP_SET_NAMES: Registry[list[str]] = Registry("op set")
OP_SET_NAMES.add(
    "pibn",
    [
        "none",
        "skip_connect",
        "pib_conv_3x3",
        "pib_conv_5x5",
        "pib_conv_7x7",
        "dil_conv_3x3",
        "dil_conv_5x5",
        "conv_7x1_1x7",
        "max_pool_3x3",
        "avg_pool_3x3",
    ],
)
OP_SET_NAMES.add(
    "darts",
    [
        "none",
        "max_pool_3x3",
        "avg_pool_3x3",
        "skip_connect",
        "sep_conv_3x3",
        "sep_conv_5x5",
        "dil_conv_3x3",
        "dil_conv_5x5",
    ],
)

#: op-set-specific factory overrides: (params) -> {op name: factory}. Filled by variants.
OP_SET_OVERRIDES: dict[str, Callable[[dict[str, float]], dict[str, OpFactory]]] = {}
#: parameters each op set accepts, with defaults.
OP_SET_PARAMS: dict[str, dict[str, float]] = {"pibn": {"f": 2.0}, "darts": {}}


@dataclass(frozen=True)
class OpSetSpec:
    """A parsed op-set spec: ``name`` plus parameters such as ``f`` (expansion factor)."""

    name: str
    params: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        extra = ",".join(f"{k}={v:g}" for k, v in sorted(self.params.items()))
        return f"{self.name}:{extra}" if extra else self.name


def parse_op_set(spec: str | OpSetSpec) -> OpSetSpec:
    """Parses ``name[:key=value,...]``; unknown names or keys raise a UserError."""
    if isinstance(spec, OpSetSpec):
        return spec
    name, _, rest = str(spec).partition(":")
    OP_SET_NAMES.get(name)  # raises with the valid names
    allowed = OP_SET_PARAMS.get(name, {})
    params: dict[str, float] = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq or key not in allowed:
            valid = ", ".join(allowed) or "none"
            raise UserError(f"op set {name!r}: bad parameter {item!r}; valid parameters: {valid}")
        try:
            params[key] = float(value)
        except ValueError:
            raise UserError(f"op set {name!r}: parameter {key} must be a number, got {value!r}") from None
        if params[key] <= 0:
            raise UserError(f"op set {name!r}: parameter {key} must be positive, got {value}")
    return OpSetSpec(name, {k: v for k, v in params.items() if v != allowed[k]})


def op_factories(spec: str | OpSetSpec, include_none: bool = False) -> dict[str, OpFactory]:
    """Returns ``{op name: (C, stride, affine) -> nn.Module}`` for an op-set spec."""
    parsed = parse_op_set(spec)
    names = OP_SET_NAMES.get(parsed.name)
    params = {**OP_SET_PARAMS.get(parsed.name, {}), **parsed.params}
    overrides = OP_SET_OVERRIDES[parsed.name](params) if parsed.name in OP_SET_OVERRIDES else {}
    return {
        name: overrides.get(name) or OPS.get(name)
        for name in names
        if include_none or name != "none"
    }


def _pibn_overrides(params: dict[str, float]) -> dict[str, OpFactory]:
    from functools import partial

    from .pib import PseudoInvBottleneck

    return {
        f"pib_conv_{k}x{k}": partial(PseudoInvBottleneck, kernel_size=k, expansion=params["f"])
        for k in (3, 5, 7)
    }


OP_SET_OVERRIDES["pibn"] = _pibn_overrides
