"""Named op sets: which candidate ops a search space offers on every edge.

The paper's roadmap (Fig. 1, contribution C1) in order: ``darts`` (DARTS' 8 ops, ReLU and
BatchNorm) -> ``darts_gelu`` (GELU instead of ReLU in the conv ops) -> ``darts_gelu_ln``
(also LayerNorm instead of BatchNorm in the separable conv) -> ``convnext`` (the separable
convs replaced by ConvNeXt blocks at 3x3/5x5/7x7, F = 4) -> ``pibn`` (the paper's final 10
ops, PIB blocks with F = 2).

An op-set spec is a name with optional parameters, e.g. ``pibn`` or ``pibn:f=3``. Op names
inside a set are plain (``sep_conv_3x3``); the set's :class:`~nni_pibn.ops.OpParams` decide
how they are built (activation, normalisation, expansion), so a genotype records its op set
and two genotypes with the same edges over different op sets differ. NNI's differentiable
cell adds an implicit zero op that plays DARTS' ``none``: :func:`op_factories` leaves
``none`` out unless asked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from ..errors import UserError
from ..registry import Registry
from .builders import OpFactory, OpParams, bind

_DARTS_8 = (
    "none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
)
_CONVNEXT = (
    "none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
    "convnext_3x3", "convnext_5x5", "convnext_7x7", "dil_conv_3x3", "dil_conv_5x5",
)
_PIBN = (
    "none", "skip_connect", "pib_conv_3x3", "pib_conv_5x5", "pib_conv_7x7",
    "dil_conv_3x3", "dil_conv_5x5", "conv_7x1_1x7", "max_pool_3x3", "avg_pool_3x3",
)

#: spec parameters an op set may expose -> the OpParams field they set.
SPEC_PARAMS = {"f": "expansion"}
#: largest expansion factor accepted (the paper uses 2..4; C_inv = F*C channels per op).
MAX_EXPANSION = 16.0


@dataclass(frozen=True)
class OpSet:
    """Op names (``none`` first) and how they are built: one :class:`OpParams`.

    ``tunable`` names the spec parameters (e.g. ``f``) a spec such as ``pibn:f=3`` may set."""

    names: tuple[str, ...]
    params: OpParams = field(default_factory=OpParams)
    tunable: tuple[str, ...] = ()

    @property
    def defaults(self) -> dict[str, float]:
        """The tunable parameters' values in this set (``{"f": 2.0}`` for ``pibn``)."""
        return {key: getattr(self.params, SPEC_PARAMS[key]) for key in self.tunable}


#: the op sets, in roadmap order.
OP_SETS: Registry[OpSet] = Registry("op set")
OP_SETS.add("darts", OpSet(_DARTS_8))
OP_SETS.add("darts_gelu", OpSet(_DARTS_8, OpParams(act="gelu")))
OP_SETS.add("darts_gelu_ln", OpSet(_DARTS_8, OpParams(act="gelu", sep_norm="ln")))
OP_SETS.add("convnext", OpSet(_CONVNEXT, OpParams(act="gelu", expansion=4.0), ("f",)))
OP_SETS.add("pibn", OpSet(_PIBN, OpParams(expansion=2.0), ("f",)))
ROADMAP = OP_SETS.names()


@dataclass(frozen=True)
class OpSetSpec:
    """A parsed op-set spec: ``name`` plus non-default parameters such as ``f``."""

    name: str
    params: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        extra = ",".join(f"{k}={v:g}" for k, v in sorted(self.params.items()))
        return f"{self.name}:{extra}" if extra else self.name

    @property
    def op_set(self) -> OpSet:
        return OP_SETS.get(self.name)

    @property
    def op_params(self) -> OpParams:
        """The set's :class:`OpParams` with this spec's parameters applied."""
        return replace(self.op_set.params, **{SPEC_PARAMS[k]: v for k, v in self.params.items()})


def _number(name: str, key: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise UserError(f"op set {name!r}: parameter {key} must be a number, got {value!r}") from None
    if not math.isfinite(number) or not 0 < number <= MAX_EXPANSION:
        raise UserError(f"op set {name!r}: parameter {key} must be a number in (0, {MAX_EXPANSION:g}], got {value}")
    return number


def parse_op_set(spec: str | OpSetSpec) -> OpSetSpec:
    """Parses ``name[:key=value,...]``; unknown names or keys, or non-finite, non-positive or
    huge values raise a UserError."""
    if isinstance(spec, OpSetSpec):
        return spec
    if not isinstance(spec, str):
        raise UserError(f"op set must be a name such as pibn or pibn:f=3, got {spec!r}")
    name, _, rest = spec.partition(":")
    op_set = OP_SETS.get(name)
    allowed = op_set.defaults
    params: dict[str, float] = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq or key not in allowed:
            valid = ", ".join(allowed) or "none"
            raise UserError(f"op set {name!r}: bad parameter {item!r}; valid parameters: {valid}")
        params[key] = _number(name, key, value)
    return OpSetSpec(name, {k: v for k, v in params.items() if v != allowed[k]})


def canonical_op_set(spec: str | OpSetSpec) -> str:
    """The one spelling of an op-set spec (``pibn:f=2`` -> ``pibn``): what genotypes compare."""
    return str(parse_op_set(spec))


def op_names(spec: str | OpSetSpec) -> list[str]:
    """The op names of an op set, ``none`` first."""
    return list(parse_op_set(spec).op_set.names)


def op_factories(spec: str | OpSetSpec, include_none: bool = False) -> dict[str, OpFactory]:
    """Returns ``{op name: (C, stride, affine) -> nn.Module}`` for an op-set spec."""
    parsed = parse_op_set(spec)
    params = parsed.op_params
    return {name: bind(name, params) for name in parsed.op_set.names if include_none or name != "none"}
