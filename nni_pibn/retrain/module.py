"""The retraining LightningModule: a fixed NetworkCIFAR trained with DARTS' recipe.

Loss = CE(logits) + ``auxiliary_weight`` * CE(auxiliary logits); SGD with momentum and
weight decay, cosine-annealed per epoch; drop path ramped linearly from 0 at epoch 0
(DARTS: ``prob = drop_path_prob * epoch / epochs``). The constructor's arguments are
saved as hyper-parameters, so every checkpoint names the genotype, layer count and width
it belongs to (checked before a resume).
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from ..compiling import compile_module, is_compiled
from ..genotype import Genotype, from_json
from ..network import NetworkCIFAR


def drop_path_schedule(max_prob: float, epoch: int, epochs: int) -> float:
    """DARTS' linear ramp: 0 at epoch 0, ``max_prob * (epochs - 1) / epochs`` at the last one."""
    return max_prob * epoch / epochs


def retrain_loss(
    logits: torch.Tensor, aux_logits: torch.Tensor | None, targets: torch.Tensor, aux_weight: float
) -> torch.Tensor:
    """Cross-entropy of the main head plus ``aux_weight`` times that of the auxiliary head."""
    loss = F.cross_entropy(logits, targets)
    if aux_logits is not None and aux_weight > 0:
        loss = loss + aux_weight * F.cross_entropy(aux_logits, targets)
    return loss


class RetrainModule(pl.LightningModule):
    """Trains ``NetworkCIFAR(genotype, channels, layers)``; logs train/test loss and accuracy."""

    def __init__(
        self,
        genotype: dict[str, Any],
        layers: int,
        channels: int,
        num_classes: int,
        dataset: str,
        in_channels: int = 3,
        auxiliary: bool = True,
        auxiliary_weight: float = 0.4,
        drop_path_prob: float = 0.2,
        epochs: int = 600,
        lr: float = 0.025,
        lr_min: float = 0.0,
        momentum: float = 0.9,
        weight_decay: float = 3e-4,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.genotype: Genotype = from_json(genotype)
        self.net = NetworkCIFAR(self.genotype, channels, layers, num_classes, auxiliary, in_channels)
        #: set by the runner from the ``memory_format`` key (``nni_pibn.layout``): channels_last on CPU
        self.memory_format = torch.contiguous_format
        #: set by the runner from the ``compile`` key: torch.compile the network in setup
        self.compile_net = False

    def forward(self, x: torch.Tensor) -> Any:
        return self.net(x)

    def _layout(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=self.memory_format)

    def setup(self, stage: str) -> None:
        # before the strategy moves the model to the GPU and wraps it in DDP (whose gradient
        # buckets take the parameters' strides)
        self.net.to(memory_format=self.memory_format)
        if self.compile_net and not is_compiled(self.net):
            compile_module(self.net)

    def on_train_epoch_start(self) -> None:
        hp = self.hparams
        self.net.drop_path_prob = drop_path_schedule(hp.drop_path_prob, self.current_epoch, hp.epochs)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        out = self.net(self._layout(x))
        logits, aux = out if isinstance(out, tuple) else (out, None)
        loss = retrain_loss(logits, aux, y, self.hparams.auxiliary_weight)
        acc = (logits.argmax(1) == y).float().mean()
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=len(y), sync_dist=True)
        self.log("train_acc", acc, on_step=False, on_epoch=True, batch_size=len(y), sync_dist=True, prog_bar=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        logits = self.net(self._layout(x))
        loss = F.cross_entropy(logits, y)
        acc = (logits.argmax(1) == y).float().mean()
        # every rank sees the whole test set (it is not sharded): the synced mean equals each rank's value
        self.log("test_loss", loss, on_epoch=True, batch_size=len(y), sync_dist=True)
        self.log("test_acc", acc, on_epoch=True, batch_size=len(y), sync_dist=True, prog_bar=True)

    def configure_optimizers(self) -> dict[str, Any]:
        hp = self.hparams
        opt = torch.optim.SGD(self.net.parameters(), lr=hp.lr, momentum=hp.momentum, weight_decay=hp.weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=hp.epochs, eta_min=hp.lr_min)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}
