"""``TrainConfig``: the evaluation protocol of the paper (DARTS' CIFAR-10 retraining).

Defaults: 600 epochs, batch 96, C 36, SGD lr 0.025 cosine-annealed to 0, momentum 0.9,
weight decay 3e-4, cutout 16, drop path 0.2 ramped linearly, auxiliary weight 0.4,
gradient clipping 5. The dataset defaults to ``digits`` so a run works offline; the
paper's is ``cifar10`` (``--set dataset=cifar10 --set data=DIR``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..data.core import MAX_IMAGE_SIZE
from ..skeleton import MAX_CHANNELS, MAX_LAYERS

PRECISIONS = ("32", "16-mixed", "bf16-mixed")


@dataclass
class TrainConfig:
    genotype: str = "pibn"  #: built-in name, genotype JSON or run folder
    layers: int = 20
    channels: int = 36
    dataset: str = "digits"  #: a name in nni_pibn.data.DATASETS (the paper: cifar10)
    data: str = "data"  #: data root folder (cifar10/cifar100/imagefolder)
    download: bool = False
    image_size: int = 32
    epochs: int = 600
    batch_size: int = 96
    lr: float = 0.025
    lr_min: float = 0.0
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0  #: max global L2 norm of the gradients (0: off)
    augment: bool = True  #: random crop with padding 4 + horizontal flip
    cutout: int = 16
    drop_path_prob: float = 0.2  #: reached linearly: prob = drop_path_prob * epoch / epochs
    auxiliary: bool = True
    auxiliary_weight: float = 0.4
    seed: int = 0
    num_workers: int = 2
    devices: int = 1
    accelerator: str = "auto"  #: auto, cpu, gpu
    threads: int = 0  #: torch intra-op threads on CPU (0: torch's default, one per core)
    precision: str = "32"  #: 32, 16-mixed, bf16-mixed
    memory_format: str = "auto"  #: auto (channels_last on CPU, NCHW on GPU), channels_last, contiguous
    compile: bool = False  #: run the network through torch.compile (see nni_pibn/compiling.py)
    onnx: bool = True  #: export model.onnx after training

    def __post_init__(self) -> None:
        positive = {"layers": 2, "channels": 1, "epochs": 1, "batch_size": 1, "devices": 1, "image_size": 8}
        for key, low in positive.items():
            if getattr(self, key) < low:
                raise ValueError(f"{key} must be at least {low}, got {getattr(self, key)}")
        highest = {"layers": MAX_LAYERS, "channels": MAX_CHANNELS, "image_size": MAX_IMAGE_SIZE}
        for key, high in highest.items():
            if getattr(self, key) > high:
                raise ValueError(f"{key} must be at most {high}, got {getattr(self, key)} (the paper: layers 20, "
                                 "channels 36, image_size 32)")
        for key in ("lr_min", "momentum", "weight_decay", "grad_clip", "cutout", "auxiliary_weight",
                    "num_workers", "seed"):
            if getattr(self, key) < 0:
                raise ValueError(f"{key} must not be negative, got {getattr(self, key)}")
        if not 0.0 < self.lr <= 10.0:
            raise ValueError(f"lr must be positive and at most 10 (the paper: 0.025), got {self.lr}")
        if self.lr_min > self.lr:
            raise ValueError(f"lr_min ({self.lr_min}) must not exceed lr ({self.lr})")
        if not 0.0 <= self.drop_path_prob < 1.0:
            raise ValueError(f"drop_path_prob must lie in [0, 1), got {self.drop_path_prob}")
        if self.auxiliary and self.image_size < 32:
            raise ValueError(f"the auxiliary head (DARTS') needs 8x8 maps after the second reduction, i.e. "
                             f"image_size >= 32, got {self.image_size}; set auxiliary=false or image_size=32")
        if self.memory_format not in ("auto", "channels_last", "contiguous"):
            raise ValueError(f"memory_format must be auto, channels_last or contiguous, got {self.memory_format!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if not 0 <= self.threads <= 1024:
            raise ValueError(f"threads must be 0 (torch's default) or a thread count up to 1024, got {self.threads}")
        if self.accelerator not in ("auto", "cpu", "gpu", "cuda"):
            raise ValueError(f"accelerator must be auto, cpu or gpu, got {self.accelerator!r}")
