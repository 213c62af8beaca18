"""The evaluator of a multi-trial search: one trial trains one architecture as a fixed network.

NNI sends each trial a frozen copy of the model space (its ``sample`` is the architecture
dict ``{'normal/op_2_0': 'pib_conv_3x3', 'normal/input_2_0': [0], ...}``) together with the
evaluator, serialised by ``nni.dump`` into at most 64 KB. :class:`FixedNetworkEvaluator` is
NNI's ``Lightning`` evaluator whose ``_execute`` builds the project's fixed network
(:class:`~nni_pibn.network.NetworkCIFAR`, the network ``nni-pibn train`` retrains, without
auxiliary head and drop path) from that sample instead of NNI's frozen supernet class, and
trains it with the search's weight recipe (:class:`SearchClassificationModule`: SGD with
momentum, cosine schedule) on the search's weight half, validating on its arch-val half.

Everything the trial needs travels as NNI traces (a symbol plus its arguments), never as
data: the loaders come from the traced :func:`trial_loader`, which rebuilds the dataset by
name inside the trial. Each epoch's validation accuracy goes to NNI through
:class:`~nni_pibn.runs.reporting.NNIReport` as ``{"default": acc, "search_val_acc": acc, ...}``;
NNI's strategies read ``default``. The trial also writes its ``genotype.json`` into its NNI
output folder, so ``nni-pibn train --genotype TRIAL_DIR`` retrains any one of them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nni
from lightning_fabric.utilities.exceptions import MisconfigurationException
from nni.nas.evaluator.pytorch import Lightning, Trainer
from torch.utils.data import DataLoader

from .. import layout
from ..data import build_datasets, search_split, seed_all, seeded_loader
from ..errors import UserError
from ..genotype import from_nni, write_json
from ..network import NetworkCIFAR
from ..runs import EpochSeed, set_threads
from ..runs.reporting import NNIReport
from ..strategies.evaluator import SearchClassificationModule
from ..strategies.runner import add_callbacks


class TrialDataLoader(DataLoader):
    """The loaders :func:`trial_loader` returns. A class of their own because ``nni.trace``
    makes the class of a traced function's result traceable in place: on torch's
    ``DataLoader`` itself, every other loader in the process would then claim to be traced
    and fail NNI's checks (``KeyError: '_nni_symbol'``)."""


@nni.trace
def trial_loader(dataset: str, data: str, *, half: str, image_size: int, augment: bool, download: bool,
                 train_portion: float, batch_size: int, seed: int, num_workers: int) -> DataLoader:
    """The search's ``half`` (``weights`` or ``arch``) of ``dataset``'s training set as a seeded
    loader; traced, so a trial receives this call rather than the images."""
    if half not in ("weights", "arch"):
        raise ValueError(f"half must be weights or arch, got {half!r}")
    train = build_datasets(dataset, data, augment=augment, cutout=0, download=download,
                           image_size=image_size).train
    weights, arch = search_split(train, train_portion)
    part, offset = (weights, 0) if half == "weights" else (arch, 1)
    return seeded_loader(part, batch_size, shuffle=half == "weights", seed=seed + offset, num_workers=num_workers,
                         loader_class=TrialDataLoader)


@nni.trace
class FixedNetworkEvaluator(Lightning):
    """NNI's ``Lightning`` evaluator training a :class:`NetworkCIFAR` of the sampled genotype.

    ``network``: ``op_set``, ``channels``, ``layers``, ``num_classes``, ``in_channels``;
    ``seed`` initialises every architecture's weights alike; ``memory_format`` as the
    search's (see :mod:`nni_pibn.layout`); ``threads``: torch's intra-op threads in the
    trial (0: torch's default), as the search's ``threads`` key.
    """

    def __init__(self, network: dict[str, Any], lightning_module: SearchClassificationModule, trainer: Trainer,
                 train_dataloaders: Any, val_dataloaders: Any, seed: int = 0, memory_format: str = "auto",
                 threads: int = 0) -> None:
        super().__init__(lightning_module, trainer, train_dataloaders=train_dataloaders,
                         val_dataloaders=val_dataloaders)
        self.network = dict(network)
        self.seed = seed
        self.memory_format = memory_format
        self.threads = threads

    def build_network(self, sample: dict[str, Any]) -> NetworkCIFAR:
        """The fixed network of an NNI architecture dict (weights seeded by ``seed``)."""
        net = self.network
        genotype = from_nni(sample, op_set=net["op_set"])
        seed_all(self.seed)
        return NetworkCIFAR(genotype, net["channels"], net["layers"], net["num_classes"], auxiliary=False,
                            in_channels=net["in_channels"])

    def _execute(self, model: Any) -> Any:
        """Runs in the trial: the frozen model space's sample becomes a NetworkCIFAR, trained
        and validated once per epoch, each epoch's arch-val accuracy reported to NNI."""
        set_threads(self.threads)
        network = self.build_network(model.sample)
        out = os.environ.get("NNI_OUTPUT_DIR")
        if out:
            write_json(network.genotype, Path(out) / "genotype.json")
        layout.apply(network, self.memory_format, self.trainer.strategy.root_device)
        add_callbacks(self.trainer, [EpochSeed(self.seed), NNIReport(metric="val_acc", stage="search", final="last")])
        return self.evaluate(network)


def build_trial_evaluator(cfg: Any, num_classes: int, in_channels: int) -> FixedNetworkEvaluator:
    """The evaluator of every trial of the multi-trial search ``cfg`` (a ``SearchConfig``):
    ``trial_epochs`` epochs on the weight half, validation on the arch-val half, one device."""
    common = {"image_size": cfg.image_size, "download": cfg.download, "train_portion": cfg.train_portion,
              "batch_size": cfg.batch_size, "seed": cfg.seed, "num_workers": cfg.num_workers}
    data = str(Path(cfg.data).expanduser().resolve())  # trials may start in another folder
    train = trial_loader(cfg.dataset, data, half="weights", augment=cfg.augment, **common)
    val = trial_loader(cfg.dataset, data, half="arch", augment=False, **common)
    limits = {"limit_train_batches": cfg.limit_batches, "limit_val_batches": cfg.limit_batches}
    if not cfg.limit_batches:
        limits = {}
    try:  # built here once, so a setting this machine cannot run fails before any trial starts
        trainer = Trainer(
            max_epochs=cfg.trial_epochs, accelerator=cfg.accelerator, devices=1, logger=False,
            enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
            use_distributed_sampler=False, gradient_clip_val=cfg.grad_clip or None, **limits,
        )
    except (MisconfigurationException, ValueError, RuntimeError) as exc:
        raise UserError(f"cannot set up the trials' training (accelerator={cfg.accelerator}): "
                        f"{str(exc).splitlines()[0]}") from None
    module = SearchClassificationModule(learning_rate=cfg.lr, min_learning_rate=cfg.lr_min, momentum=cfg.momentum,
                                        weight_decay=cfg.weight_decay, num_classes=num_classes)
    network = {"op_set": cfg.op_set, "channels": cfg.channels, "layers": cfg.layers, "num_classes": num_classes,
               "in_channels": in_channels}
    return FixedNetworkEvaluator(network, module, trainer, train, val, seed=cfg.seed, memory_format=cfg.memory_format,
                                 threads=cfg.threads)
