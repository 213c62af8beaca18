"""Smallest fixes that let NNI 3.0's Proxyless, RandomOneShot and ENAS run on a ``Cell`` space.

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
NNI's ENAS module does not clip the weight gradients; :class:`EnasModule` does, with the
strategy's ``gradient_clip_val``.

All of them run the arch-val validation loop (``ArchValidationLoader``); Proxyless takes
its steps through :class:`~nni_pibn.strategies.modules.DartsSteps` like the DARTS family.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import torch
from nni.nas.strategy import ENAS, Proxyless, RandomOneShot
from torch import nn

from ..nni_compat import (
    EnasLightningModule,
    PathSamplingCell,
    ProxylessFunction,
    RandomSamplingLightningModule,
    preprocess_cell_inputs,
)
from .darts2 import ArchValidationLoader, DartsModule


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
                out = ProxylessFunction.apply(
                    partial(self._op_path, i, j), self.op_names.index(op), 1, self._softmax,
                    self._arch_alpha[op_label], states[j], out,
                )
                out = ProxylessFunction.apply(
                    partial(self._input_path, i, op), j, i, self._softmax,
                    self._arch_alpha[in_label], *states[:i], out,
                )
                node.append(out)
            states.append(sum(node))  # type: ignore[arg-type]
        cell_out = torch.cat(states[self.num_predecessors:], self.concat_dim)
        return self.postprocessor(cell_out, processed)


class ProxylessCell(ArchValidationLoader, Proxyless):
    """NNI's Proxyless with :class:`ProxylessMixedCell` for ``Cell`` (checked before its hooks)."""

    def default_mutation_hooks(self) -> list[Any]:
        return [ProxylessMixedCell.mutate, *super().default_mutation_hooks()]

    def __init__(self, *, arch_lr_schedule: str = "constant", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.arch_lr_schedule = arch_lr_schedule

    def configure_oneshot_module(self, training_module: Any) -> Any:
        return DartsModule(training_module, arc_learning_rate=self.arc_learning_rate,
                           gradient_clip_val=self.gradient_clip_val, arch_lr_schedule=self.arch_lr_schedule,
                           log_prob_every_n_step=self.log_prob_every_n_step, warmup_epochs=self.warmup_epochs)


class RandomModule(RandomSamplingLightningModule):
    """NNI's path-sampling module whose (automatic) weight steps clip gradients at ``gradient_clip_val``."""

    def __init__(self, *args: Any, gradient_clip_val: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gradient_clip_val = gradient_clip_val

    def configure_gradient_clipping(self, optimizer: Any, gradient_clip_val: Any = None,
                                    gradient_clip_algorithm: Any = None) -> None:
        clip = gradient_clip_val or self.gradient_clip_val
        if clip:
            self.clip_gradients(optimizer, gradient_clip_val=clip,
                                gradient_clip_algorithm=gradient_clip_algorithm or "norm")


class RandomOneShotValidated(ArchValidationLoader, RandomOneShot):
    """NNI's RandomOneShot (uniform path sampling) with gradient clipping and the arch-val validation loop."""

    def __init__(self, *, gradient_clip_val: float | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gradient_clip_val = gradient_clip_val

    def configure_oneshot_module(self, training_module: Any) -> Any:
        return RandomModule(training_module, self.filter, gradient_clip_val=self.gradient_clip_val)


class TaggedLoader:
    """Yields ``(batch, tag)`` for every batch of ``loader``; keeps its length."""

    def __init__(self, loader: Any, tag: str) -> None:
        self.loader, self.tag = loader, tag

    def __iter__(self) -> Iterator[tuple[Any, str]]:
        return ((batch, self.tag) for batch in self.loader)

    def __len__(self) -> int:
        return len(self.loader)


class EnasModule(EnasLightningModule):
    """NNI's ENAS module whose weight steps clip gradients at ``gradient_clip_val``."""

    def __init__(self, *args: Any, gradient_clip_val: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gradient_clip_val = gradient_clip_val

    def advance_optimization(self, loss: Any, batch_idx: int, gradient_clip_val: Any = None,
                             gradient_clip_algorithm: Any = None) -> None:
        super().advance_optimization(loss, batch_idx, gradient_clip_val or self.gradient_clip_val,
                                     gradient_clip_algorithm)


class EnasTagged(ENAS):
    """NNI's ENAS whose combined loader tags batches, as its Lightning-1.x code path expects,
    with weight-gradient clipping and the arch-val validation loop (its validation batches
    are where the controller's rewards come from during training, too)."""

    def __init__(self, *, gradient_clip_val: float | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gradient_clip_val = gradient_clip_val

    def configure_oneshot_module(self, training_module: Any) -> Any:
        return EnasModule(
            training_module, gradient_clip_val=self.gradient_clip_val,
            batches_per_update=self.batches_per_update, log_prob_every_n_step=self.log_prob_every_n_step,
            replay_buffer_size=self.replay_buffer_size, reward_metric_name=self.reward_metric_name,
            policy_fn=self.policy_fn, update_kwargs=self.update_kwargs, warmup_epochs=self.warmup_epochs,
            penalty=self.penalty,
        )

    def val_dataloader(self, train_dataloader_fn: Any, val_dataloader_fn: Any) -> Any:
        return val_dataloader_fn()

    def train_dataloader(self, train_dataloader_fn: Any, val_dataloader_fn: Any) -> Any:
        return super().train_dataloader(
            lambda: TaggedLoader(train_dataloader_fn(), "train"),
            lambda: TaggedLoader(val_dataloader_fn(), "val"),
        )
