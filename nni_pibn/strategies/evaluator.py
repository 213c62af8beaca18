"""The search evaluator: NNI's classification module with DARTS' weight optimizer.

NNI's ``Classification`` builds ``optimizer(params, lr, weight_decay)`` and cannot set SGD
momentum or a schedule, so :class:`SearchClassificationModule` overrides
``configure_optimizers``. It is ``nni.trace``d like NNI's own modules so the evaluator stays
serialisable (one-shot strategies only need the ``Lightning`` evaluator and its ``Trainer``
to be traced; multi-trial experiments need the module traced too).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import nni
import pytorch_lightning as pl
from nni.nas.evaluator.pytorch import Lightning, Trainer
from nni.nas.evaluator.pytorch.lightning import ClassificationModule
from torch import nn, optim

from ..errors import UserError


@nni.trace
class SearchClassificationModule(ClassificationModule):
    """Cross-entropy classification trained with DARTS' search recipe:

    SGD(lr, momentum, weight_decay) with ``lr_t = eta_min + (lr - eta_min)(1 + cos(pi t / T)) / 2``
    per epoch, ``T = trainer.max_epochs``. Paper defaults: lr 0.0025, eta_min 0.001,
    momentum 0.9, weight decay 3e-4.
    """

    def __init__(
        self,
        learning_rate: float = 0.0025,
        min_learning_rate: float = 0.001,
        momentum: float = 0.9,
        weight_decay: float = 3e-4,
        num_classes: int = 10,
        criterion: type[nn.Module] = nn.CrossEntropyLoss,
    ) -> None:
        super().__init__(
            criterion=criterion,
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            optimizer=optim.SGD,
            export_onnx=False,
            num_classes=num_classes,
        )
        self.min_learning_rate = min_learning_rate
        self.momentum = momentum

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        """Loss of a weight step; logs ``train_loss``/``train_acc`` (step and epoch mean). The
        DARTS strategies' architecture steps do not come here (``strategies.modules``)."""
        x, y = batch
        y_hat = self(x)
        loss = self.criterion(y_hat, y)
        self.log("train_loss", loss, prog_bar=True, on_step=True, on_epoch=True)
        for name, metric in self.metrics.items():
            self.log("train_" + name, metric(y_hat, y), prog_bar=True, on_step=True, on_epoch=True)
        return loss

    # NNI's ClassificationModule reports to NNI itself (on every rank, untagged); reporting is
    # left to nni_pibn.runs.reporting.NNIReport, a callback that runs on rank 0 only.
    def on_validation_epoch_end(self) -> None:
        pass

    def on_validation_end(self) -> None:
        pass

    def on_fit_end(self) -> None:
        pass

    def configure_optimizers(self) -> Any:
        epochs = self.trainer.max_epochs
        if epochs is None or epochs < 1:
            raise UserError(f"the search trainer needs max_epochs >= 1 for the cosine schedule, got {epochs}")
        sgd = optim.SGD(
            self.parameters(),
            lr=self.hparams.learning_rate,  # type: ignore[attr-defined]
            momentum=self.momentum,
            weight_decay=self.hparams.weight_decay,  # type: ignore[attr-defined]
        )
        cosine = optim.lr_scheduler.CosineAnnealingLR(sgd, T_max=epochs, eta_min=self.min_learning_rate)
        return [sgd], [cosine]


def build_search_evaluator(
    train_dataloaders: Any,
    val_dataloaders: Any,
    trainer: pl.Trainer | Mapping[str, Any],
    **module_kwargs: Any,
) -> Lightning:
    """An NNI ``Lightning`` evaluator over :class:`SearchClassificationModule`.

    ``train_dataloaders`` trains the weights, ``val_dataloaders`` the architecture (the
    strategy combines them). ``trainer`` is an ``nni.nas.evaluator.pytorch.Trainer`` (NNI
    refuses an untraced ``pl.Trainer``) or the keyword arguments to build one, e.g.
    ``dict(accelerator='cpu', max_epochs=50, enable_checkpointing=False, logger=False)``.
    ``module_kwargs`` go to :class:`SearchClassificationModule` (``learning_rate``...).
    """
    if isinstance(trainer, Mapping):
        trainer = Trainer(**trainer)
    return Lightning(
        SearchClassificationModule(**module_kwargs),
        trainer,  # type: ignore[arg-type]
        train_dataloaders=train_dataloaders,
        val_dataloaders=val_dataloaders,
    )
