"""DARTS' mixed cell computed edge-batched: the same numbers as NNI's, in far fewer kernels.

NNI's ``DifferentiableMixedCell`` computes, for every edge ``(i, j)`` (node ``i``, input
``j``), every candidate op on state ``j``, stacks the outputs with a zeros tensor for the
implicit ``none``, and reduces them with ``softmax(alpha_{i,j})``; node ``i`` is the sum of
its edges. That is ``edges x ops`` small launches per cell, plus a stack and a full zero
copy per edge.

:class:`FusedMixedCell` computes the same function in edge groups:

- group 0 holds every edge from a cell input (``j < num_predecessors``) of every node:
  they need no intermediate node, so all of them run at once;
- then one group per node ``i`` with its edges from earlier nodes.

In a group, each op runs once on the channel-stacked inputs of the group's edges as one
batched op (``nni_pibn.supernet.batching``: grouped convolutions, one BatchNorm over all
blocks, shared pooling), and the group's outputs are mixed with one multiply-add per op:
``mixed[e] = sum_k p[e, k] * op_k(x_e)``. ``none`` is skipped: its output is zero, and its
logit only enters through the softmax normaliser, which is computed over the whole
vector as in NNI. The softmax of a cell type's alphas is computed once per forward pass of
the network (all cells with one label share it; see :func:`install_pass_scope`), except
for stochastic relaxations (Gumbel), whose samples NNI draws per cell.

Regulariser (off by default): ``free_op_dropout`` applies P-DARTS' operation-level dropout
(Chen et al., 2019) to the outputs of the parameter-free ops (skip, pooling) while
training, which keeps them from winning early on merely because the convolutions are not
trained yet, DARTS' known collapse onto parameter-free ops.

Architecture parameters, their names, sharing, export (DARTS' rule) and probabilities are
NNI's: the cell is built by NNI's own constructor (so weights start exactly as NNI's
would), then its per-edge ops are batched and dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..nni_compat import preprocess_cell_inputs
from .batching import batch_or_loop, is_parameter_free
from .export import DartsRuleMixedCell


class PassScope:
    """``token`` is a fresh object during each forward pass of the network it is installed on."""

    def __init__(self) -> None:
        self.token: object | None = None
        self.handles: list = []


class SharedWeights:
    """The softmax of one cell type's edge logits, reused by every cell of that type within a pass."""

    def __init__(self) -> None:
        self.token: object | None = None
        self.value: Tensor | None = None

    def clear(self) -> None:
        self.token, self.value = None, None


class EdgeGroup(nn.Module):
    """Edges computed together: ``ops[k]`` is op ``k`` batched over the group's edges."""

    def __init__(self, edges: Sequence[tuple[int, int]], start: int, ops: Sequence[nn.Module]) -> None:
        super().__init__()
        self.edges = list(edges)
        self.inputs = [j for _, j in edges]
        self.rows = slice(start, start + len(edges))
        self.ops = nn.ModuleList(ops)
        self.free = [is_parameter_free(op) for op in ops]  # skip (stride 1) and pooling

    def forward(self, states: Sequence[Tensor], weights: Tensor, free_op_dropout: float = 0.0) -> tuple[Tensor, ...]:
        """One ``(N, C, H', W')`` tensor per edge: the softmax-weighted sum of its ops' outputs,
        the parameter-free ones through dropout of rate ``free_op_dropout``."""
        x = states[self.inputs[0]] if len(self.inputs) == 1 else torch.cat([states[j] for j in self.inputs], 1)
        E = len(self.edges)
        mixed: Tensor | None = None
        w: Tensor | None = None
        for k, op in enumerate(self.ops):
            y = op(x)  # (N, E*C, H', W'), channel block e = edge e
            if free_op_dropout and self.free[k]:
                y = F.dropout(y, free_op_dropout)
            if w is None:  # (E, K) -> (E*C, K): each edge's weights repeated over its C channels
                w = weights[self.rows].repeat_interleave(y.size(1) // E, 0)
            wk = w[:, k].view(1, -1, 1, 1)
            mixed = y * wk if mixed is None else torch.addcmul(mixed, y, wk)
        assert mixed is not None
        # split (not indexing): its backward concatenates the gradients in their own memory
        # format, where slicing would scatter them into a fresh NCHW-contiguous zero tensor
        return mixed.split(mixed.size(1) // E, 1)


class FusedMixedCell(DartsRuleMixedCell):
    """NNI's DARTS cell (DARTS-rule export) with an edge-batched forward (module docstring)."""

    def __init__(self, op_factory: Any, num_nodes: int, num_ops_per_node: int, num_predecessors: int,
                 preprocessor: Any, postprocessor: Any, concat_dim: int, memo: dict[str, Any],
                 mutate_kwargs: dict[str, Any], label: str) -> None:
        super().__init__(op_factory, num_nodes, num_ops_per_node, num_predecessors, preprocessor,
                         postprocessor, concat_dim, memo, mutate_kwargs, label)
        P = num_predecessors
        schedule = [[(i, j) for i in range(P, P + num_nodes) for j in range(P)]]
        schedule += [[(i, j) for j in range(P, i)] for i in range(P + 1, P + num_nodes)]
        groups, start = [], 0
        with torch.random.fork_rng(devices=[]):  # the batched modules' own init must not shift the RNG
            for edges in schedule:
                ops = [batch_or_loop([self.ops[i - P][j][name] for i, j in edges]) for name in self.op_names]
                groups.append(EdgeGroup(edges, start, ops))
                start += len(edges)
        self.groups = nn.ModuleList(groups)
        self.ops = nn.ModuleList()  # the per-edge ops live on, batched, in self.groups
        self._edge_labels = [f"{self.label}/{i}_{j}" for edges in schedule for i, j in edges]
        self._deterministic = type(self._softmax) is nn.Softmax
        key = f"{self.label}/fused_weights"
        self._shared: SharedWeights = memo.setdefault(key, SharedWeights())
        self._pass_scope: PassScope | None = None  # set by install_pass_scope
        #: P-DARTS' operation-level dropout on the parameter-free ops while training (set per epoch)
        self.free_op_dropout = 0.0

    def edge_weights(self) -> Tensor:
        """``(edges, ops)``: softmax over each edge's logits (``none`` included), ``none`` dropped;
        rows in group order."""
        token = self._pass_scope.token if self._pass_scope is not None else None
        shared = self._shared
        if token is not None and shared.token is token and self._deterministic:
            return shared.value  # type: ignore[return-value]
        logits = torch.stack([self._arch_alpha[label] for label in self._edge_labels])
        probs = self._softmax(logits)
        if probs.size(1) == len(self.op_names) + 1:
            probs = probs[:, :-1]  # the implicit zero op contributes nothing
        if token is not None and self._deterministic:
            shared.token, shared.value = token, probs
        return probs

    def forward(self, *inputs: Any) -> Any:
        processed = preprocess_cell_inputs(self.num_predecessors, *inputs)
        states: list[Tensor] = list(self.preprocessor(processed))
        weights = self.edge_weights()
        P = self.num_predecessors
        drop = self.free_op_dropout if self.training else 0.0
        first = self.groups[0](states, weights, drop)  # edges node-major: node n has first[n*P:(n+1)*P]
        # elementwise adds, not a .sum(dim) reduction: they keep the memory format of their
        # inputs (channels_last on CPU), a reduction would return NCHW-contiguous states
        from_inputs = [_sum(first[n * P:(n + 1) * P]) for n in range(self.num_nodes)]
        states.append(from_inputs[0])
        for node, group in enumerate(self.groups[1:], start=1):
            states.append(_sum([from_inputs[node], *group(states, weights, drop)]))
        cell_out = torch.cat(states[self.num_predecessors:], self.concat_dim)
        return self.postprocessor(cell_out, processed)


def _sum(tensors: Sequence[Tensor]) -> Tensor:
    out = tensors[0]
    for t in tensors[1:]:
        out = out + t
    return out


def install_pass_scope(model: nn.Module) -> None:
    """Lets the :class:`FusedMixedCell` s inside ``model`` share one softmax per cell type per
    forward pass of ``model`` (hooks on ``model``; idempotent)."""
    cells = [m for m in model.modules() if isinstance(m, FusedMixedCell)]
    if not cells or getattr(model, "_nni_pibn_pass_scope", None) is not None:
        return
    scope = PassScope()
    shared = list({id(c._shared): c._shared for c in cells}.values())
    for cell in cells:
        cell._pass_scope = scope

    def start(module: nn.Module, args: Any) -> None:
        scope.token = object()

    def end(module: nn.Module, args: Any, output: Any) -> None:
        scope.token = None
        for s in shared:
            s.clear()

    scope.handles = [model.register_forward_pre_hook(start), model.register_forward_hook(end)]
    model._nni_pibn_pass_scope = scope  # type: ignore[assignment]


def remove_pass_scope(model: nn.Module) -> None:
    """Undoes :func:`install_pass_scope` (each cell computes its own softmax again), e.g.
    before ``torch.compile``, which would trace the scope's Python bookkeeping."""
    scope = getattr(model, "_nni_pibn_pass_scope", None)
    if scope is None:
        return
    for handle in scope.handles:
        handle.remove()
    for m in model.modules():
        if isinstance(m, FusedMixedCell):
            m._pass_scope = None
    model._nni_pibn_pass_scope = None  # type: ignore[assignment]
