"""Per-epoch metrics for a search: arch-val accuracy of the supernet, epoch-mean train metrics.

NNI's DARTS-family strategies run no validation loop (their ``val_dataloader`` returns
None and their one-shot modules have no ``validation_step``), so a search would report no
arch-val accuracy. :func:`with_arch_validation` gives a built strategy a validation loop
over the architecture half of the training set, delegating to the evaluator module's own
``validation_step`` (which logs ``val_loss``/``val_acc``), as DARTS' ``infer`` does every
epoch. It also tells :class:`~nni_pibn.strategies.evaluator.SearchClassificationModule`
which of its training-step calls are NNI DARTS' architecture steps (even ``batch_idx``,
on arch-val batches), so ``train_loss``/``train_acc`` average the weight steps only.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
from nni.nas.oneshot.pytorch.differentiable import DartsLightningModule
from nni.nas.strategy.base import Strategy

from .darts2 import DartsSecondOrderLightningModule


def _overrides_validation(module: pl.LightningModule) -> bool:
    return type(module).validation_step is not pl.LightningModule.validation_step


def with_arch_validation(strategy: Strategy) -> Strategy:
    """Returns ``strategy`` (modified in place) with a validation loop on the arch-val loader."""
    configure = strategy.configure_oneshot_module  # type: ignore[attr-defined]

    def configure_with_validation(training_module: Any) -> Any:
        module = configure(training_module)
        if not _overrides_validation(module):
            module.validation_step = training_module.validation_step
        # NNI's first-order DARTS module calls training_step(val_batch, 2 * i) for the arch step
        training_module.arch_step_on_even = isinstance(module, DartsLightningModule) and not isinstance(
            module, DartsSecondOrderLightningModule
        )
        return module

    strategy.configure_oneshot_module = configure_with_validation  # type: ignore[attr-defined]
    strategy.val_dataloader = lambda train_fn, val_fn: val_fn()  # type: ignore[attr-defined]
    return strategy
