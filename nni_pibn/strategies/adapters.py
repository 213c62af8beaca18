"""Smallest fixes that let NNI 3.0's Proxyless and ENAS run on a ``Cell`` space (design.md 7).

Proxyless has no ``Cell`` hook: it relaxes the cell's inner ``LayerChoice``s, whose ops were
built before the input is known, so every edge of a reduction cell gets stride 2 and the
node sums fail. :class:`ProxylessMixedCell` keeps one op set per (node, input) with the
right stride, as NNI's ``PathSamplingCell`` does, and per slot ``(i, k)`` samples
``j ~ softmax(alpha_input_{i,k})`` and ``op ~ softmax(alpha_op_{i,k})``. Both alphas get
ProxylessNAS' binary-gate gradient (NNI's ``_ProxylessFunction``):

    dL/dalpha_p = sum_q (dL/dg_q) p_q (delta_pq - p_p),   dL/dg_q = <dL/dout, out_q>

where ``out_q`` is the slot's output with candidate ``q`` (op ``q`` on the sampled input, or
the sampled op on input ``q``). The genotype keeps the most likely op and input per slot.

ENAS under Lightning 2.x receives plain batches and cannot tell train from val batches;
:class:`TaggedLoader` yields ``(batch, 'train' | 'val')``, which its training step reads.
(Lightning cannot see the wrapped DataLoaders, so under DDP give them a DistributedSampler.)
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import torch
from nni.nas.nn.pytorch.cell import preprocess_cell_inputs
from nni.nas.oneshot.pytorch.supermodule.proxyless import _ProxylessFunction
from nni.nas.oneshot.pytorch.supermodule.sampling import PathSamplingCell
from nni.nas.strategy import ENAS, Proxyless
from torch import nn


class ProxylessMixedCell(PathSamplingCell):
    """NNI ``Cell`` under ProxylessNAS: one sampled (op, input) pair per slot, correct strides."""

    def __init__(
        self, op_factory: Any, num_nodes: int, num_ops_per_node: int, num_predecessors: int,
        preprocessor: Any, postprocessor: Any, concat_dim: int,
        memo: dict[str, Any], mutate_kwargs: dict[str, Any], label: str,
    ) -> None:
        super().__init__(
            op_factory, num_nodes, num_ops_per_node, num_predecessors, preprocessor,
            postprocessor, concat_dim, memo, mutate_kwargs, label,
        )
        self._softmax = mutate_kwargs.get("softmax", nn.Softmax(-1))
        self._arch_alpha = nn.ParameterDict()
        for i, k in self._slots():
            for kind, size in (("op", len(self.op_names)), ("input", i)):
                label = f"{self.label}/{kind}_{i}_{k}"
                if label not in memo:
                    memo[label] = nn.Parameter(torch.randn(size) * 1e-3)
                self._arch_alpha[label] = memo[label]

    def _slots(self) -> Iterator[tuple[int, int]]:
        for i in range(self.num_predecessors, self.num_nodes + self.num_predecessors):
            for k in range(self.num_ops_per_node):
                yield i, k

    def arch_parameters(self) -> Iterator[nn.Parameter]:
        yield from self._arch_alpha.values()

    def resample(self, memo: dict[str, Any]) -> dict[str, Any]:
        """Samples every slot's input and op from softmax(alpha) unless fixed in ``memo``."""
        self._sampled, new = {}, {}
        for i, k in self._slots():
            for kind, values in (("op", self.op_names), ("input", range(i))):
                label = f"{self.label}/{kind}_{i}_{k}"
                if label in memo:
                    self._sampled[label] = memo[label]
                    continue
                with torch.no_grad():
                    idx = int(torch.multinomial(self._softmax(self._arch_alpha[label]), 1))
                value = values[idx] if kind == "op" else [idx]
                self._sampled[label] = new[label] = value
        return new

    def export(self, memo: dict[str, Any]) -> dict[str, Any]:
        """The most likely op and input of every slot (ProxylessNAS' final architecture)."""
        out: dict[str, Any] = {}
        for i, k in self._slots():
            op_label, in_label = f"{self.label}/op_{i}_{k}", f"{self.label}/input_{i}_{k}"
            if op_label not in memo:
                out[op_label] = self.op_names[int(self._arch_alpha[op_label].argmax())]
            if in_label not in memo:
                out[in_label] = [int(self._arch_alpha[in_label].argmax())]
        return out

    def export_probs(self, memo: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for label, alpha in self._arch_alpha.items():
            if label not in memo:
                weights = self._softmax(alpha.detach()).cpu().tolist()
                values = self.op_names if "/op_" in label else range(len(weights))
                out[label] = dict(zip(values, weights))
        return out

    def _op_path(self, i: int, j: int, index: int, x: torch.Tensor) -> torch.Tensor:
        return self.ops[i - self.num_predecessors][j][self.op_names[index]](x)

    def _input_path(self, i: int, op: str, index: int, *states: torch.Tensor) -> torch.Tensor:
        return self.ops[i - self.num_predecessors][index][op](states[index])

    def forward(self, *inputs: Any) -> Any:
        processed = preprocess_cell_inputs(self.num_predecessors, *inputs)
        states: list[torch.Tensor] = self.preprocessor(processed)
        for i in range(self.num_predecessors, self.num_nodes + self.num_predecessors):
            node = []
            for k in range(self.num_ops_per_node):
                op_label, in_label = f"{self.label}/op_{i}_{k}", f"{self.label}/input_{i}_{k}"
                op, j = self._sampled[op_label], self._sampled[in_label][0]
                out = self._op_path(i, j, self.op_names.index(op), states[j])
                out = _ProxylessFunction.apply(
                    partial(self._op_path, i, j), self.op_names.index(op), 1, self._softmax,
                    self._arch_alpha[op_label], states[j], out,
                )
                out = _ProxylessFunction.apply(
                    partial(self._input_path, i, op), j, i, self._softmax,
                    self._arch_alpha[in_label], *states[:i], out,
                )
                node.append(out)
            states.append(sum(node))  # type: ignore[arg-type]
        cell_out = torch.cat(states[self.num_predecessors:], self.concat_dim)
        return self.postprocessor(cell_out, processed)


class ProxylessCell(Proxyless):
    """NNI's Proxyless with :class:`ProxylessMixedCell` for ``Cell`` (checked before its hooks)."""

    def default_mutation_hooks(self) -> list[Any]:
        return [ProxylessMixedCell.mutate, *super().default_mutation_hooks()]


class TaggedLoader:
    """Yields ``(batch, tag)`` for every batch of ``loader``; keeps its length."""

    def __init__(self, loader: Any, tag: str) -> None:
        self.loader, self.tag = loader, tag

    def __iter__(self) -> Iterator[tuple[Any, str]]:
        return ((batch, self.tag) for batch in self.loader)

    def __len__(self) -> int:
        return len(self.loader)


class EnasTagged(ENAS):
    """NNI's ENAS whose combined loader tags batches, as its Lightning-1.x code path expects."""

    def train_dataloader(self, train_dataloader_fn: Any, val_dataloader_fn: Any) -> Any:
        return super().train_dataloader(
            lambda: TaggedLoader(train_dataloader_fn(), "train"),
            lambda: TaggedLoader(val_dataloader_fn(), "val"),
        )
