"""Edge batching: E copies of one op, applied to E channel blocks in one pass.

Representations:

- per-edge ops: E modules of the same kind (the same op of E cell edges), each mapping
  ``(N, C, H, W)`` to ``(N, C, H', W')`` with its own weights;
- channel-stacked tensors: the E inputs concatenated along channels, ``(N, E*C, H, W)``;
  block ``e`` (channels ``e*C .. (e+1)*C - 1``) belongs to edge ``e``;
- a batched op: one module mapping the channel-stacked inputs to the channel-stacked
  outputs, equal block by block to the E per-edge ops.

How each layer batches: a ``Conv2d`` with ``groups=g`` becomes one ``Conv2d`` with
``groups=E*g`` and E times the channels (groups keep the blocks apart); ``BatchNorm2d``
is per channel already, so one ``BatchNorm2d(E*C)`` is E of them; a channels-first
LayerNorm normalises each block on its own; activations, pooling and the identity act on
each channel alone and are shared. Containers whose forward is ``self.op(x)`` (DARTS'
convs, the PIB and ConvNeXt blocks) batch their ``op``; ``FactorizedReduce`` has its own.

Weights: every tensor in a batched op's ``state_dict`` is the concatenation along dim 0, in
edge order, of the same-named tensor of the E per-edge ops (``num_batches_tracked``: the
first one's). :func:`batch_op` builds the batched op from the per-edge ops (so it starts
from their initial weights) and :func:`unbatch_state` splits a batched state dict back.
An op that no rule covers raises :class:`NotBatchable`; :class:`LoopedOp` then runs the
E modules one after the other (any op works, without the speed-up).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..ops import (
    ConvNeXtBlock,
    DilConv,
    FacConv,
    FactorizedReduce,
    LayerNorm2d,
    PseudoInvBottleneck,
    ReLUConvBN,
    SepConv,
)

#: op classes whose ``forward(x)`` is ``self.op(x)``: they batch as their ``op`` child.
WRAPPERS: tuple[type[nn.Module], ...] = (DilConv, SepConv, FacConv, PseudoInvBottleneck, ConvNeXtBlock, ReLUConvBN)
#: modules that act on each channel alone, without weights: shared as they are.
CHANNELWISE: tuple[type[nn.Module], ...] = (nn.ReLU, nn.GELU, nn.Identity, nn.MaxPool2d, nn.AvgPool2d)


class NotBatchable(TypeError):
    """The ops cannot be batched by a rule (an unknown module kind, or differing settings)."""


def _copy_state(target: nn.Module, sources: Sequence[nn.Module]) -> nn.Module:
    """Fills ``target``'s parameters and buffers with the dim-0 concatenation of the sources'."""
    with torch.no_grad():
        states = [s.state_dict() for s in sources]
        for name, tensor in target.state_dict().items():
            parts = [st[name] for st in states]
            tensor.copy_(parts[0] if tensor.dim() == 0 else torch.cat(parts, 0))
    return target


def _like(module: nn.Module) -> dict[str, Any]:
    """``dtype``/``device`` of a module's first tensor (batched modules are built alike)."""
    t = next(iter(module.state_dict().values()), None)
    return {} if t is None else {"dtype": t.dtype if t.is_floating_point() else None, "device": t.device}


def _same(mods: Sequence[nn.Module], *attrs: str) -> None:
    first = mods[0]
    for m in mods[1:]:
        for a in attrs:
            if getattr(m, a) != getattr(first, a):
                raise NotBatchable(f"{type(m).__name__}.{a} differs between edges")


def _conv(mods: Sequence[nn.Conv2d]) -> nn.Module:
    c = mods[0]
    _same(mods, "in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups",
          "padding_mode")
    if c.padding_mode != "zeros" or isinstance(c.padding, str):
        raise NotBatchable("only zero-padded convolutions with numeric padding batch")
    E = len(mods)
    batched = nn.Conv2d(E * c.in_channels, E * c.out_channels, c.kernel_size, c.stride, c.padding,  # type: ignore[arg-type]
                        c.dilation, E * c.groups, bias=c.bias is not None, **_like(c))
    return _copy_state(batched, mods)


def _batch_norm(mods: Sequence[nn.BatchNorm2d]) -> nn.Module:
    b = mods[0]
    _same(mods, "num_features", "eps", "momentum", "affine", "track_running_stats")
    batched = nn.BatchNorm2d(len(mods) * b.num_features, b.eps, b.momentum, b.affine, b.track_running_stats,
                             **_like(b))
    return _copy_state(batched, mods)


class BlockLayerNorm2d(nn.Module):
    """E channels-first LayerNorms over E blocks of C channels: each block normalised alone.

    ``ln.weight``/``ln.bias`` hold the E blocks' affine parameters one after the other
    (``E*C`` values), mirroring :class:`~nni_pibn.ops.LayerNorm2d`'s names.
    """

    def __init__(self, blocks: int, C: int, affine: bool, eps: float) -> None:
        super().__init__()
        self.blocks, self.C, self.eps = blocks, C, eps
        self.ln = nn.Module()
        if affine:
            self.ln.weight = nn.Parameter(torch.ones(blocks * C))
            self.ln.bias = nn.Parameter(torch.zeros(blocks * C))

    def forward(self, x: Tensor) -> Tensor:
        N, _, H, W = x.shape
        # (N, E*C, H, W) -> (N, E, H, W, C): normalise over each block's C channels
        y = x.reshape(N, self.blocks, self.C, H, W).permute(0, 1, 3, 4, 2)
        y = F.layer_norm(y, (self.C,), eps=self.eps)
        y = y.permute(0, 1, 4, 2, 3)  # back to (N, E, C, H, W)
        if hasattr(self.ln, "weight"):
            shape = (1, self.blocks, self.C, 1, 1)
            y = y * self.ln.weight.view(shape) + self.ln.bias.view(shape)
        return y.reshape(N, self.blocks * self.C, H, W)


def _layer_norm(mods: Sequence[LayerNorm2d]) -> nn.Module:
    ln = mods[0].ln
    for m in mods:
        if m.ln.normalized_shape != ln.normalized_shape or m.ln.eps != ln.eps or \
                m.ln.elementwise_affine != ln.elementwise_affine:
            raise NotBatchable("LayerNorm2d settings differ between edges")
    batched = BlockLayerNorm2d(len(mods), ln.normalized_shape[0], ln.elementwise_affine, ln.eps)
    return _copy_state(batched.to(**_like(ln)), mods)


def _channelwise(mods: Sequence[nn.Module]) -> nn.Module:
    first = mods[0]
    if any(repr(m) != repr(first) for m in mods):
        raise NotBatchable(f"{type(first).__name__} settings differ between edges")
    return first


def _sequential(mods: Sequence[nn.Sequential]) -> nn.Module:
    if any(len(m) != len(mods[0]) for m in mods):
        raise NotBatchable("Sequential lengths differ between edges")
    return nn.Sequential(*(batch_op([m[i] for m in mods]) for i in range(len(mods[0]))))


class _Wrapper(nn.Module):
    """A batched ``self.op(x)`` container (keeps the ``op`` name, so state dicts mirror)."""

    def __init__(self, op: nn.Module) -> None:
        super().__init__()
        self.op = op

    def forward(self, x: Tensor) -> Tensor:
        return self.op(x)


class BatchedFactorizedReduce(nn.Module):
    """E FactorizedReduce ops: ReLU, two offset 1x1 stride-2 convs per block, per-block concat, BN."""

    def __init__(self, blocks: int, conv_1: nn.Module, conv_2: nn.Module, bn: nn.Module) -> None:
        super().__init__()
        self.blocks = blocks
        self.relu = nn.ReLU(inplace=False)
        self.conv_1, self.conv_2, self.bn = conv_1, conv_2, bn

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(x)
        shifted = F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
        a, b = self.conv_1(x), self.conv_2(shifted)
        N, EH, H, W = a.shape
        # per block: [conv_1 half, conv_2 half], as FactorizedReduce concatenates them
        y = torch.cat([a.view(N, self.blocks, EH // self.blocks, H, W),
                       b.view(N, self.blocks, EH // self.blocks, H, W)], 2)
        return self.bn(y.view(N, 2 * EH, H, W))


def _factorized_reduce(mods: Sequence[FactorizedReduce]) -> nn.Module:
    return BatchedFactorizedReduce(len(mods), _conv([m.conv_1 for m in mods]), _conv([m.conv_2 for m in mods]),
                                   batch_op([m.bn for m in mods]))


RULES: dict[type[nn.Module], Callable[[Sequence], nn.Module]] = {
    nn.Conv2d: _conv,
    nn.BatchNorm2d: _batch_norm,
    LayerNorm2d: _layer_norm,
    nn.Sequential: _sequential,
    FactorizedReduce: _factorized_reduce,
    **dict.fromkeys(CHANNELWISE, _channelwise),
}


def batch_op(mods: Sequence[nn.Module]) -> nn.Module:
    """The batched op of ``mods`` (module docstring); raises :class:`NotBatchable` when no rule applies."""
    kind = type(mods[0])
    if any(type(m) is not kind for m in mods):
        raise NotBatchable("the edges hold different module types")
    if kind in RULES:
        return RULES[kind](mods)
    if kind in WRAPPERS:
        return _Wrapper(batch_op([m.op for m in mods]))  # type: ignore[union-attr]
    raise NotBatchable(f"no batching rule for {kind.__name__}")


class LoopedOp(nn.Module):
    """The fallback for ops without a rule: splits the channel-stacked input, runs each edge's
    module on its block, concatenates the outputs (same numbers, E calls)."""

    def __init__(self, mods: Sequence[nn.Module]) -> None:
        super().__init__()
        self.edges = nn.ModuleList(mods)

    def forward(self, x: Tensor) -> Tensor:
        blocks = x.chunk(len(self.edges), 1)
        return torch.cat([m(b) for m, b in zip(self.edges, blocks)], 1)


def batch_or_loop(mods: Sequence[nn.Module]) -> nn.Module:
    try:
        return batch_op(mods)
    except NotBatchable:
        return LoopedOp(mods)


def is_parameter_free(module: nn.Module) -> bool:
    """No learnable weights: skip, pooling (in the search network with its non-affine BatchNorm)."""
    return next(module.parameters(), None) is None


def unbatch_state(state: dict[str, Tensor], blocks: int) -> list[dict[str, Tensor]]:
    """Splits a batched op's state dict into the E per-edge state dicts (inverse of batching)."""
    out: list[dict[str, Tensor]] = [{} for _ in range(blocks)]
    for name, tensor in state.items():
        parts = [tensor] * blocks if tensor.dim() == 0 else list(tensor.chunk(blocks, 0))
        for e in range(blocks):
            out[e][name] = parts[e]
    return out
