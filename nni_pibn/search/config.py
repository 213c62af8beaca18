"""``SearchConfig``: the paper's search protocol (docs/protocol.md; DARTS where the paper is silent).

C 16, 8 cells, 4 nodes, 50 epochs, batch 64, the training set split 50/50 into
weight-train and architecture-val halves; weights: SGD lr 0.0025 cosine-annealed to 0.001,
momentum 0.9, weight decay 3e-4, gradient clip 5; architecture: Adam lr 3e-4 (NNI fixes its
betas (0.5, 0.999) and weight decay 1e-3); second-order DARTS. The dataset defaults to
``digits`` so a run works offline; the paper's is ``cifar10``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..data.core import MAX_IMAGE_SIZE
from ..skeleton import MAX_CHANNELS, MAX_LAYERS, MAX_NODES


@dataclass
class SearchConfig:
    strategy: str = "darts2"  #: a name in nni_pibn.strategies.STRATEGIES
    op_set: str = "pibn"  #: op-set spec, e.g. pibn, pibn:f=3, darts, convnext
    channels: int = 16
    layers: int = 8
    nodes: int = 4
    dataset: str = "digits"  #: a name in nni_pibn.data.DATASETS (the paper: cifar10)
    data: str = "data"  #: data root folder (cifar10/cifar100/imagefolder)
    download: bool = False
    image_size: int = 32
    train_portion: float = 0.5  #: share of the training set that trains the weights
    epochs: int = 50
    batch_size: int = 64
    lr: float = 0.0025
    lr_min: float = 0.001
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0
    arch_lr: float = 3e-4
    augment: bool = True  #: random crop + flip on the search data (DARTS does)
    limit_batches: int = 0  #: cap on batches per epoch (0: all); for quick runs
    seed: int = 0
    num_workers: int = 0
    accelerator: str = "auto"  #: auto, cpu, gpu
    devices: int = 1

    def __post_init__(self) -> None:
        low = {"channels": 1, "layers": 3, "nodes": 1, "epochs": 1, "batch_size": 1, "image_size": 8, "devices": 1}
        for key, bound in low.items():
            if getattr(self, key) < bound:
                why = " (a search needs a normal cell: layers >= 3)" if key == "layers" else ""
                raise ValueError(f"{key} must be at least {bound}, got {getattr(self, key)}{why}")
        for key in ("lr", "lr_min", "momentum", "weight_decay", "grad_clip", "arch_lr", "limit_batches",
                    "num_workers"):
            if getattr(self, key) < 0:
                raise ValueError(f"{key} must not be negative, got {getattr(self, key)}")
        highest = {"layers": MAX_LAYERS, "channels": MAX_CHANNELS, "nodes": MAX_NODES, "image_size": MAX_IMAGE_SIZE}
        for key, high in highest.items():
            if getattr(self, key) > high:
                raise ValueError(f"{key} must be at most {high}, got {getattr(self, key)} (the paper searches "
                                 "8 cells of 4 nodes, 16 channels, 32x32 images)")
        if self.seed < 0:
            raise ValueError(f"seed must not be negative, got {self.seed}")
        if not 0.0 < self.lr <= 10.0:
            raise ValueError(f"lr must be positive and at most 10 (the paper: 0.0025), got {self.lr}")
        if not 0.0 < self.train_portion < 1.0:
            raise ValueError(f"train_portion must lie strictly between 0 and 1, got {self.train_portion}")
        if self.accelerator not in ("auto", "cpu", "gpu", "cuda"):
            raise ValueError(f"accelerator must be auto, cpu or gpu, got {self.accelerator!r}")
