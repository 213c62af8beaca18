"""Named op sets: which candidate ops a search space offers on every edge.

The paper's roadmap (Fig. 1, contribution C1) in order: ``darts`` (DARTS' 8 ops, ReLU and
BatchNorm) -> ``darts_gelu`` (GELU instead of ReLU in the conv ops) -> ``darts_gelu_ln``
(also LayerNorm instead of BatchNorm in the separable conv) -> ``convnext`` (the separable
convs replaced by ConvNeXt blocks at 3x3/5x5/7x7, F = 4) -> ``pibn`` (the paper's final 10
ops, PIB blocks with F = 2).

An op-set spec is a name with optional parameters, e.g. ``pibn`` or ``pibn:f=3``. Op names
inside a set are plain (``sep_conv_3x3``); the set decides how they are built, so a
genotype records its op set. NNI's differentiable cell adds an implicit zero op that plays
DARTS' ``none``: :func:`op_factories` leaves ``none`` out unless asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Callable

from ..errors import UserError
from ..registry import Registry
from . import OPS, OpFactory
from .darts import DilConv, SepConv
from .pib import ConvNeXtBlock, PseudoInvBottleneck

_DARTS_8 = [
    "none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
]
_CONVNEXT = [
    "none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
    "convnext_3x3", "convnext_5x5", "convnext_7x7", "dil_conv_3x3", "dil_conv_5x5",
]
_PIBN = [
    "none", "skip_connect", "pib_conv_3x3", "pib_conv_5x5", "pib_conv_7x7",
    "dil_conv_3x3", "dil_conv_5x5", "conv_7x1_1x7", "max_pool_3x3", "avg_pool_3x3",
]


@dataclass(frozen=True)
class OpSet:
    """Op names (``none`` first), default parameters, and ``params -> {name: factory}`` overrides."""

    names: list[str]
    defaults: dict[str, float] = field(default_factory=dict)
    overrides: Callable[[dict[str, float]], dict[str, OpFactory]] = lambda params: {}


def _act_norm(act: str, sep_norm: str) -> Callable[[dict[str, float]], dict[str, OpFactory]]:
    def build(params: dict[str, float]) -> dict[str, OpFactory]:
        out: dict[str, OpFactory] = {}
        for k in (3, 5):
            out[f"sep_conv_{k}x{k}"] = partial(SepConv, kernel_size=k, act=act, norm=sep_norm)
            out[f"dil_conv_{k}x{k}"] = partial(DilConv, kernel_size=k, dilation=2, act=act)
        return out

    return build


def _convnext(params: dict[str, float]) -> dict[str, OpFactory]:
    out: dict[str, OpFactory] = {
        f"convnext_{k}x{k}": partial(ConvNeXtBlock, kernel_size=k, expansion=params["f"])
        for k in (3, 5, 7)
    }
    for k in (3, 5):
        out[f"dil_conv_{k}x{k}"] = partial(DilConv, kernel_size=k, dilation=2, act="gelu")
    return out


def _pibn(params: dict[str, float]) -> dict[str, OpFactory]:
    return {
        f"pib_conv_{k}x{k}": partial(PseudoInvBottleneck, kernel_size=k, expansion=params["f"])
        for k in (3, 5, 7)
    }


#: the op sets, in roadmap order.
OP_SETS: Registry[OpSet] = Registry("op set")
OP_SETS.add("darts", OpSet(_DARTS_8))
OP_SETS.add("darts_gelu", OpSet(_DARTS_8, overrides=_act_norm("gelu", "bn")))
OP_SETS.add("darts_gelu_ln", OpSet(_DARTS_8, overrides=_act_norm("gelu", "ln")))
OP_SETS.add("convnext", OpSet(_CONVNEXT, {"f": 4.0}, _convnext))
OP_SETS.add("pibn", OpSet(_PIBN, {"f": 2.0}, _pibn))
ROADMAP = OP_SETS.names()


class _Names:
    """Read-only view ``name -> op names`` (kept for callers that only need the names)."""

    def get(self, name: str) -> list[str]:
        return list(OP_SETS.get(name).names)

    def names(self) -> list[str]:
        return OP_SETS.names()


OP_SET_NAMES = _Names()


@dataclass(frozen=True)
class OpSetSpec:
    """A parsed op-set spec: ``name`` plus non-default parameters such as ``f``."""

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
    allowed = OP_SETS.get(name).defaults
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
    op_set = OP_SETS.get(parsed.name)
    overrides = op_set.overrides({**op_set.defaults, **parsed.params})
    return {
        name: overrides.get(name) or OPS.get(name)
        for name in op_set.names
        if include_none or name != "none"
    }
