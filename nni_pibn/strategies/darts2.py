"""Second-order (unrolled) DARTS as an NNI one-shot strategy, plus DARTS-rule export variants.

``DartsSecondOrder`` is NNI's ``DARTS`` whose Lightning module replaces the architecture step
by :func:`~nni_pibn.strategies.hypergrad.unrolled_alpha_grad`; the weight step, optimizers,
warm-up, logging and gradient clipping are NNI's. It works on any NNI model space whose
evaluator module has a ``criterion`` (NNI's ``ClassificationModule`` and subclasses).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import torch
import torch.distributed as dist
from nni.nas.oneshot.pytorch.differentiable import DartsLightningModule
from nni.nas.strategy import DARTS, GumbelDARTS
from torch import Tensor, nn
from torch.func import functional_call
from torch.optim import Optimizer

from .export import DartsRuleHooks
from .hypergrad import unrolled_alpha_grad


@contextlib.contextmanager
def preserved_buffers(module: nn.Module) -> Iterator[None]:
    """Restores every buffer of ``module`` (BN running stats, ``num_batches_tracked``) on exit."""
    saved = [(b, b.detach().clone()) for b in module.buffers()]
    try:
        yield
    finally:
        with torch.no_grad():
            for b, value in saved:
                b.copy_(value)


def all_reduce_mean(tensors: Sequence[Tensor]) -> None:
    """Averages ``tensors`` in place over the process group (a no-op without one).

    ``autograd.grad`` bypasses DDP's gradient hooks, so without this ranks would diverge.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return
    flat = torch.cat([t.reshape(-1) for t in tensors])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    offset = 0
    for t in tensors:
        t.copy_(flat[offset: offset + t.numel()].view_as(t))
        offset += t.numel()


class DartsSecondOrderLightningModule(DartsLightningModule):
    """NNI's DARTS module with the unrolled architecture step of design.md section 6.

    ``eps`` is the finite-difference scale (``R = eps / ||v||``; DARTS uses 0.01). The weight
    optimizer must be ``torch.optim.SGD`` without Nesterov or dampening; ``xi``, ``mu`` and
    ``lam`` come from its ``param_groups[0]``, the momentum buffers from its state.
    """

    def __init__(self, training_module: Any, *, eps: float = 0.01, **kwargs: Any) -> None:
        if kwargs.get("penalty") is not None:
            raise ValueError("second-order DARTS does not support a profiler penalty")
        super().__init__(training_module, **kwargs)
        self.eps = eps

    def arch_parameters(self) -> list[nn.Parameter]:
        """Architecture tensors in module order (deterministic across DDP ranks)."""
        params = (
            p for m in self.supernet_modules() if hasattr(m, "arch_parameters")
            for p in m.arch_parameters()  # type: ignore[operator]
        )
        return list(dict.fromkeys(params))

    def weight_optimizer(self) -> Optimizer:
        """The evaluator's (raw) weight optimizer."""
        opts = [o for o in self.trainer.optimizers if not getattr(o, "is_arch_optimizer", False)]
        if len(opts) != 1:
            raise ValueError(f"second-order DARTS needs exactly one weight optimizer, got {len(opts)}")
        return opts[0]

    def _loss(self, batch: Any, names: Sequence[str], weights: Sequence[Tensor]) -> Tensor:
        x, y = batch
        logits = functional_call(self.training_module, dict(zip(names, weights)), (x,))
        return self.training_module.criterion(logits, y)

    def unrolled_backward(self, trn_batch: Any, val_batch: Any, optimizer: Optimizer) -> Tensor:
        """Sets ``alpha.grad`` to the second-order DARTS gradient; returns ``L_val(w', a)``.

        Weights, their ``.grad``, all buffers and the optimizer state are left exactly as
        they were; under DDP the alpha gradients are averaged over ranks.
        """
        group = optimizer.param_groups[0]
        if group.get("nesterov") or group.get("dampening", 0):
            raise ValueError("second-order DARTS models plain SGD: no Nesterov, no dampening")
        alphas = self.arch_parameters()
        arch = set(alphas)
        names_of = {p: n for n, p in self.training_module.named_parameters()}
        weights = [
            p for g in optimizer.param_groups for p in g["params"] if p.requires_grad and p not in arch
        ]
        names = [names_of[p] for p in weights]
        buffers = [optimizer.state.get(p, {}).get("momentum_buffer") for p in weights]

        def train_loss(ws: Sequence[Tensor]) -> Tensor:
            return self._loss(trn_batch, names, ws)

        def val_loss(ws: Sequence[Tensor]) -> Tensor:
            return self._loss(val_batch, names, ws)

        with preserved_buffers(self.training_module):
            grads, loss = unrolled_alpha_grad(
                train_loss, val_loss, weights, alphas, buffers,
                lr=group["lr"], momentum=group.get("momentum", 0.0),
                weight_decay=group.get("weight_decay", 0.0), eps=self.eps,
            )
        all_reduce_mean(grads)
        for alpha, g in zip(alphas, grads):
            alpha.grad = g.detach()
        return loss

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        arc_optim = self.architecture_optimizers()
        trn_batch, val_batch = batch["train"], batch["val"]

        if self.warmup_epochs == 0 or self.trainer.current_epoch >= self.warmup_epochs:
            self.resample()
            arc_optim.zero_grad()  # type: ignore[union-attr]
            arch_loss = self.unrolled_backward(trn_batch, val_batch, self.weight_optimizer())
            self.log("arch_val_loss", arch_loss)
            arc_optim.step()  # type: ignore[union-attr]

        self.resample()
        out = self.training_module.training_step(trn_batch, 2 * batch_idx + 1)
        loss = out["loss"] if isinstance(out, dict) else out
        self.advance_optimization(loss, batch_idx, self.gradient_clip_val)
        self.advance_lr_schedulers(batch_idx)
        if batch_idx % self.log_prob_every_n_step == 0:
            self.log_probs(self.export_probs())
        return out


class DartsFirstOrder(DartsRuleHooks, DARTS):
    """NNI's first-order DARTS; the genotype is derived with DARTS' rule."""


class GumbelDartsRule(DartsRuleHooks, GumbelDARTS):
    """NNI's GumbelDARTS; the genotype is derived with DARTS' rule on softmax(alpha)."""


class DartsSecondOrder(DartsRuleHooks, DARTS):
    """Second-order DARTS (Liu et al., 2019) on any NNI model space; DARTS-rule export.

    Same options as ``nni.nas.strategy.DARTS`` plus ``eps`` (finite-difference scale).
    """

    def __init__(self, *, eps: float = 0.01, **kwargs: Any) -> None:
        if kwargs.get("penalty") is not None:
            raise ValueError("second-order DARTS does not support a profiler penalty")
        super().__init__(**kwargs)
        self.eps = eps

    def configure_oneshot_module(self, training_module: Any) -> DartsSecondOrderLightningModule:
        return DartsSecondOrderLightningModule(
            training_module,
            eps=self.eps,
            arc_learning_rate=self.arc_learning_rate,
            gradient_clip_val=self.gradient_clip_val,
            log_prob_every_n_step=self.log_prob_every_n_step,
            warmup_epochs=self.warmup_epochs,
        )
