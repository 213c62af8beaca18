"""The DARTS family as NNI one-shot strategies: first order, second order (unrolled), Gumbel.

All three relax NNI ``Cell`` s into :class:`~nni_pibn.supernet.FusedMixedCell` (NNI's
differentiable cell computed edge-batched; ``fused_cell=False`` keeps NNI's own), export
with DARTS' rule, run a validation loop over the arch-val half, and take their
architecture step through :class:`~nni_pibn.strategies.modules.DartsSteps`.

``DartsSecondOrder`` replaces the architecture gradient by
:func:`~nni_pibn.strategies.hypergrad.unrolled_alpha_grad`; the weight step, optimizers,
warm-up, logging and gradient clipping are NNI's. It works on any NNI model space whose
evaluator module has a ``criterion`` (NNI's ``ClassificationModule`` and subclasses).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from nni.nas.strategy import DARTS, GumbelDARTS
from torch import Tensor, nn
from torch.func import functional_call
from torch.optim import Optimizer

from ..nni_compat import DartsLightningModule, GumbelDartsLightningModule
from ..supernet import FusedMixedCell, install_pass_scope
from .export import DartsRuleHooks, DartsRuleMixedCell
from .hypergrad import HVP_MODES, unrolled_alpha_grad
from .modules import DartsSteps


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


class DartsModule(DartsSteps, DartsLightningModule):
    """NNI's DARTS module with :class:`DartsSteps` (first order)."""


class GumbelDartsModule(DartsSteps, GumbelDartsLightningModule):
    """NNI's GumbelDARTS module (temperature annealing) with :class:`DartsSteps`."""


class DartsSecondOrderModule(DartsModule):
    """DARTS' unrolled architecture step (Liu et al., 2019, eq. 6-8).

    ``hvp`` picks how the implicit term is computed (``exact`` double backprop or DARTS'
    ``finite_difference`` with scale ``eps``, ``R = eps / ||v||``). The weight optimizer
    must be ``torch.optim.SGD`` without Nesterov or dampening; ``xi``, ``mu`` and ``lam``
    come from its ``param_groups[0]``, the momentum buffers from its state.
    """

    def __init__(self, training_module: Any, *, hvp: str = "exact", eps: float = 0.01,
                 **kwargs: Any) -> None:
        if kwargs.get("penalty") is not None:
            raise ValueError("second-order DARTS does not support a profiler penalty")
        if hvp not in HVP_MODES:
            raise ValueError(f"hvp must be one of {', '.join(HVP_MODES)}, got {hvp!r}")
        super().__init__(training_module, **kwargs)
        self.hvp, self.eps = hvp, eps

    def weight_optimizer(self) -> Optimizer:
        """The evaluator's (raw) weight optimizer."""
        opts = [o for o in self.trainer.optimizers if not getattr(o, "is_arch_optimizer", False)]
        if len(opts) != 1:
            raise ValueError(f"second-order DARTS needs exactly one weight optimizer, got {len(opts)}")
        return opts[0]

    def _loss_fn(self, batch: Any, names: Sequence[str],
                 live: Sequence[Tensor]) -> Callable[[Sequence[Tensor]], Tensor]:
        """``weights -> loss on batch`` with those weights substituted (the module's own when
        they are its live parameters: no reparametrisation needed)."""
        x, y = batch

        def loss(ws: Sequence[Tensor]) -> Tensor:
            if all(a is b for a, b in zip(ws, live)):
                logits = self.training_module(x)
            else:
                logits = functional_call(self.training_module, dict(zip(names, ws)), (x,))
            return self.training_module.criterion(logits, y)

        return loss

    def unrolled_backward(self, trn_batch: Any, val_batch: Any, optimizer: Optimizer) -> Tensor:
        """Sets ``alpha.grad`` to the second-order DARTS gradient; returns ``L_val(w', a)``.

        Weights, their ``.grad``, all buffers and the optimizer state are left exactly as
        they were; under DDP the alpha gradients are averaged over ranks.
        """
        alphas = [a for a in self.arch_parameters() if a.requires_grad]
        grads, loss = self._unrolled(trn_batch, val_batch, alphas, optimizer)
        for alpha, g in zip(alphas, grads):
            alpha.grad = g.detach()
        return loss

    def _unrolled(self, trn_batch: Any, val_batch: Any, alphas: Sequence[Tensor],
                  optimizer: Optimizer) -> tuple[list[Tensor], Tensor]:
        group = optimizer.param_groups[0]
        if group.get("nesterov") or group.get("dampening", 0):
            raise ValueError("second-order DARTS models plain SGD: no Nesterov, no dampening")
        arch = set(self.arch_parameters())
        names_of = {p: n for n, p in self.training_module.named_parameters()}
        weights = [p for g in optimizer.param_groups for p in g["params"] if p.requires_grad and p not in arch]
        names = [names_of[p] for p in weights]
        buffers = [optimizer.state.get(p, {}).get("momentum_buffer") for p in weights]
        with preserved_buffers(self.training_module):
            return unrolled_alpha_grad(
                self._loss_fn(trn_batch, names, weights), self._loss_fn(val_batch, names, weights),
                weights, alphas, buffers, lr=group["lr"], momentum=group.get("momentum", 0.0),
                weight_decay=group.get("weight_decay", 0.0), hvp=self.hvp, eps=self.eps,
            )

    def arch_gradients(self, trn_batch: Any, val_batch: Any, alphas: Sequence[Tensor]) -> tuple[list[Tensor], Tensor]:
        return self._unrolled(trn_batch, val_batch, alphas, self.weight_optimizer())


class FusedCellHooks:
    """Strategy mixin: relax NNI ``Cell`` s into :class:`FusedMixedCell` (when ``fused_cell``)
    instead of the (DARTS-rule) differentiable cell, and share one softmax per cell type
    per forward pass."""

    fused_cell: bool = True

    def default_mutation_hooks(self) -> list[Callable[..., Any]]:
        hooks = super().default_mutation_hooks()  # type: ignore[misc]
        if not self.fused_cell:
            return hooks
        return [FusedMixedCell.mutate if h == DartsRuleMixedCell.mutate else h for h in hooks]

    def mutate_model(self, model: Any) -> Any:
        model = super().mutate_model(model)  # type: ignore[misc]
        install_pass_scope(model)
        return model


class ArchValidationLoader:
    """Strategy mixin: the validation loop reads the arch-val loader (see :mod:`.modules`)."""

    def val_dataloader(self, train_dataloader_fn: Any, val_dataloader_fn: Any) -> Any:
        return val_dataloader_fn()


class _DartsFamily(ArchValidationLoader, FusedCellHooks, DartsRuleHooks):
    """What the DARTS strategies share: module class, NNI's module options, fused cells."""

    module_class: type = DartsModule

    def __init__(self, *, fused_cell: bool = True, arch_lr_schedule: str = "constant", free_op_dropout: float = 0.0,
                 **kwargs: Any) -> None:
        if kwargs.get("penalty") is not None:
            raise ValueError(f"{type(self).__name__} does not support NNI's profiler penalty")
        if free_op_dropout and not fused_cell:
            raise ValueError("free_op_dropout acts inside the fused cells: it needs fused_cell=True")
        super().__init__(**kwargs)
        self.fused_cell = fused_cell
        self.arch_lr_schedule, self.free_op_dropout = arch_lr_schedule, free_op_dropout

    def module_options(self) -> dict[str, Any]:
        return {
            "arc_learning_rate": self.arc_learning_rate,  # type: ignore[attr-defined]
            "gradient_clip_val": self.gradient_clip_val,  # type: ignore[attr-defined]
            "log_prob_every_n_step": self.log_prob_every_n_step,  # type: ignore[attr-defined]
            "warmup_epochs": self.warmup_epochs,  # type: ignore[attr-defined]
            "arch_lr_schedule": self.arch_lr_schedule,
            "free_op_dropout": self.free_op_dropout,
        }

    def configure_oneshot_module(self, training_module: Any) -> Any:
        return self.module_class(training_module, **self.module_options())


class DartsFirstOrder(_DartsFamily, DARTS):
    """First-order DARTS: NNI's ``DARTS`` with fused cells, DARTS-rule export, arch validation."""


class DartsSecondOrder(_DartsFamily, DARTS):
    """Second-order DARTS (Liu et al., 2019) on any NNI model space; DARTS-rule export.

    Same options as ``nni.nas.strategy.DARTS`` plus ``hvp`` (``exact`` or
    ``finite_difference``) and ``eps`` (the finite-difference scale).
    """

    module_class = DartsSecondOrderModule

    def __init__(self, *, hvp: str = "exact", eps: float = 0.01, **kwargs: Any) -> None:
        if hvp not in HVP_MODES:
            raise ValueError(f"hvp must be one of {', '.join(HVP_MODES)}, got {hvp!r}")
        super().__init__(**kwargs)
        self.hvp, self.eps = hvp, eps

    def module_options(self) -> dict[str, Any]:
        return {**super().module_options(), "hvp": self.hvp, "eps": self.eps}


class GumbelDartsRule(_DartsFamily, GumbelDARTS):
    """NNI's GumbelDARTS with fused cells; the genotype is derived with DARTS' rule on softmax(alpha)."""

    def configure_oneshot_module(self, training_module: Any) -> Any:
        nni_module = GumbelDARTS.configure_oneshot_module(self, training_module)  # parses the temperature
        return GumbelDartsModule(training_module, temperature_scheduler=nni_module.temperature_scheduler,
                                 **self.module_options())
