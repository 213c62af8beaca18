"""Lightning-module mixins shared by the one-shot strategies.

NNI's one-shot Lightning modules wrap the evaluator's module. Two things are added here,
as mixins so every strategy gets them the same way:

- :class:`ArchValidationStep`: a validation loop over the architecture half of the
  training set, delegating to the evaluator module's own ``validation_step`` (which logs
  ``val_loss``/``val_acc``), as DARTS' ``infer`` does every epoch. NNI's DARTS modules
  have none, so a search would report no arch-val accuracy.
- :class:`DartsSteps`: DARTS' iteration (architecture step on an arch-val batch, then a
  weight step on a train batch) where the architecture step differentiates the loss with
  respect to the architecture parameters only (``torch.autograd.grad``: no weight
  gradients are computed for it) and is not logged as a training step, so ``train_loss``
  and ``train_acc`` average the weight steps alone. Subclasses replace
  :meth:`DartsSteps.arch_gradients` (second-order DARTS does). Two schedules are set at
  every epoch start: the architecture learning rate (``arch_lr_schedule``: ``constant``, or
  ``cosine`` from ``arc_learning_rate`` down to 0 over the epochs after warm-up, so a short
  search can take large steps early and settle), and P-DARTS' operation-level dropout on the
  parameter-free ops of fused cells (``free_op_dropout``, decayed linearly to 0 at the last
  epoch; see :class:`~nni_pibn.supernet.FusedMixedCell`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

ARCH_LR_SCHEDULES = ("constant", "cosine")


def all_reduce_mean(tensors: Sequence[Tensor]) -> None:
    """Averages ``tensors`` in place over the process group (a no-op without one).

    ``torch.autograd.grad`` bypasses DDP's gradient hooks, so without this ranks diverge.
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


class ArchValidationStep:
    """Module mixin: ``validation_step`` runs the evaluator module's on the arch-val batches."""

    training_module: Any

    def validation_step(self, batch: Any, batch_idx: int) -> Any:
        self.resample()  # type: ignore[attr-defined]
        return self.training_module.validation_step(batch, batch_idx)


def arch_lr_factor(schedule: str, epoch: int, epochs: int, warmup: int) -> float:
    """Multiplier of the architecture learning rate in ``epoch`` (0-based) of ``epochs``."""
    if schedule == "constant" or epoch < warmup:
        return 1.0
    span = max(1, epochs - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * (epoch - warmup) / span))


def free_op_dropout_at(rate: float, epoch: int, epochs: int) -> float:
    """P-DARTS-style decay: ``rate`` at epoch 0, linearly down to 0 at the last epoch."""
    return rate * (1.0 - epoch / max(1, epochs - 1)) if epochs > 1 else rate


class DartsSteps(ArchValidationStep):
    """Module mixin for NNI's DARTS-family modules (``DartsLightningModule`` and subclasses)."""

    warmup_epochs: int
    gradient_clip_val: float | None
    log_prob_every_n_step: int
    arc_learning_rate: float

    def __init__(self, *args: Any, arch_lr_schedule: str = "constant", free_op_dropout: float = 0.0,
                 **kwargs: Any) -> None:
        if arch_lr_schedule not in ARCH_LR_SCHEDULES:
            raise ValueError(f"arch_lr_schedule must be one of {', '.join(ARCH_LR_SCHEDULES)}, "
                             f"got {arch_lr_schedule!r}")
        if not 0.0 <= free_op_dropout < 1.0:
            raise ValueError(f"free_op_dropout must lie in [0, 1), got {free_op_dropout}")
        super().__init__(*args, **kwargs)
        self.arch_lr_schedule, self.free_op_dropout = arch_lr_schedule, free_op_dropout

    def on_train_epoch_start(self) -> None:
        super().on_train_epoch_start()  # type: ignore[misc]  (NNI: freezes the alphas during warm-up)
        epoch, epochs = self.trainer.current_epoch, self.trainer.max_epochs or 1  # type: ignore[attr-defined]
        factor = arch_lr_factor(self.arch_lr_schedule, epoch, epochs, self.warmup_epochs)
        for group in self.architecture_optimizers().param_groups:  # type: ignore[attr-defined]
            group["lr"] = self.arc_learning_rate * factor
        rate = free_op_dropout_at(self.free_op_dropout, epoch, epochs)
        for m in self.supernet_modules():  # type: ignore[attr-defined]
            if hasattr(m, "free_op_dropout"):
                m.free_op_dropout = rate

    def arch_parameters(self) -> list[nn.Parameter]:
        """Architecture tensors in module order (the same order on every DDP rank)."""
        params = (p for m in self.supernet_modules() if hasattr(m, "arch_parameters")  # type: ignore[attr-defined]
                  for p in m.arch_parameters())
        return list(dict.fromkeys(params))

    def loss_on(self, batch: Any) -> Tensor:
        """The evaluator module's criterion on one batch (no logging)."""
        x, y = batch
        return self.training_module.criterion(self.training_module(x), y)

    def arch_gradients(self, trn_batch: Any, val_batch: Any, alphas: Sequence[Tensor]) -> tuple[list[Tensor], Tensor]:
        """First-order DARTS: ``grad_a L_val(w, a)``, and the loss. Weights get no gradient."""
        loss = self.loss_on(val_batch)
        return list(torch.autograd.grad(loss, list(alphas))), loss.detach()

    def arch_step_due(self) -> bool:
        return self.warmup_epochs == 0 or self.trainer.current_epoch >= self.warmup_epochs  # type: ignore[attr-defined]

    def architecture_step(self, trn_batch: Any, val_batch: Any) -> None:
        """Sets every alpha's ``.grad`` (averaged over DDP ranks) and steps the arch optimizer."""
        arc_optim = self.architecture_optimizers()  # type: ignore[attr-defined]
        self.resample()  # type: ignore[attr-defined]
        arc_optim.zero_grad()
        alphas = [a for a in self.arch_parameters() if a.requires_grad]
        grads, loss = self.arch_gradients(trn_batch, val_batch, alphas)
        all_reduce_mean(grads)
        for alpha, g in zip(alphas, grads):
            alpha.grad = g.detach()
        self.log("arch_val_loss", loss)  # type: ignore[attr-defined]
        arc_optim.step()

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        if getattr(self, "penalty", None) is not None:
            raise ValueError("nni_pibn's DARTS steps do not support NNI's profiler penalty")
        trn_batch, val_batch = batch["train"], batch["val"]
        if self.arch_step_due():
            self.architecture_step(trn_batch, val_batch)
        self.resample()  # type: ignore[attr-defined]
        out = self.training_module.training_step(trn_batch, batch_idx)
        loss = out["loss"] if isinstance(out, dict) else out
        self.advance_optimization(loss, batch_idx, self.gradient_clip_val)  # type: ignore[attr-defined]
        self.advance_lr_schedulers(batch_idx)  # type: ignore[attr-defined]
        if batch_idx % self.log_prob_every_n_step == 0:
            self.log_probs(self.export_probs())  # type: ignore[attr-defined]
        return out
