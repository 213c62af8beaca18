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
    arch_lr: float = 3e-4  #: Adam step of the architecture logits (DARTS family, proxyless)
    arch_lr_schedule: str = "constant"  #: constant, or cosine from arch_lr to 0 over the epochs after warm-up
    warmup_epochs: int = 0  #: epochs that train only the weights before architecture steps start
    free_op_dropout: float = 0.0  #: P-DARTS' dropout on skip/pool outputs, decayed to 0 (DARTS family)
    hvp: str = "exact"  #: darts2's implicit term: exact (double backprop) or finite_difference (DARTS')
    fd_eps: float = 0.01  #: darts2's finite-difference scale: R = fd_eps / ||v|| (DARTS: 0.01)
    fused_cell: bool = True  #: DARTS family: edge-batched mixed cells (False: NNI's own, same numbers)
    memory_format: str = "auto"  #: auto (channels_last on CPU), channels_last, contiguous
    compile: bool = False  #: run the supernet through torch.compile (see nni_pibn/compiling.py)
    augment: bool = True  #: random crop (+ flip where the dataset allows it) on the search data, as DARTS
    limit_batches: int = 0  #: cap on batches per epoch (0: all); for quick runs
    seed: int = 0
    num_workers: int = 0
    accelerator: str = "auto"  #: auto, cpu, gpu
    threads: int = 0  #: torch intra-op threads on CPU (0: torch's default, one per core)
    devices: int = 1
    # multi-trial strategies (random, evolution, rl, tpe): one NNI trial per sampled architecture
    max_trials: int = 20  #: architectures trained, one NNI trial each
    trial_concurrency: int = 1  #: trials running at once
    trial_epochs: int = 10  #: epochs each architecture trains on the weight half (validated on the arch-val half)
    population_size: int = 10  #: evolution: individuals kept; the first ones are drawn at random
    sample_size: int = 3  #: evolution: individuals per tournament that picks a parent
    port: int = 0  #: a multi-trial search's NNI manager and web UI port (0: the first free one from 8080)
    max_duration: int = 0  #: wall-clock budget of the search in seconds (0: none)

    def __post_init__(self) -> None:
        low = {"channels": 1, "layers": 3, "nodes": 1, "epochs": 1, "batch_size": 1, "image_size": 8, "devices": 1,
               "max_trials": 1, "trial_concurrency": 1, "trial_epochs": 1, "population_size": 1, "sample_size": 1}
        for key, bound in low.items():
            if getattr(self, key) < bound:
                why = " (a search needs a normal cell: layers >= 3)" if key == "layers" else ""
                raise ValueError(f"{key} must be at least {bound}, got {getattr(self, key)}{why}")
        for key in ("lr", "lr_min", "momentum", "weight_decay", "grad_clip", "arch_lr", "limit_batches",
                    "num_workers", "warmup_epochs", "max_duration"):
            if getattr(self, key) < 0:
                raise ValueError(f"{key} must not be negative, got {getattr(self, key)}")
        highest = {"layers": MAX_LAYERS, "channels": MAX_CHANNELS, "nodes": MAX_NODES, "image_size": MAX_IMAGE_SIZE}
        for key, high in highest.items():
            if getattr(self, key) > high:
                raise ValueError(f"{key} must be at most {high}, got {getattr(self, key)} (the paper searches "
                                 "8 cells of 4 nodes, 16 channels, 32x32 images)")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0 (any free port) or a port number up to 65535, got {self.port}")
        if self.seed < 0:
            raise ValueError(f"seed must not be negative, got {self.seed}")
        if not 0.0 < self.lr <= 10.0:
            raise ValueError(f"lr must be positive and at most 10 (the paper: 0.0025), got {self.lr}")
        if not 0.0 < self.train_portion < 1.0:
            raise ValueError(f"train_portion must lie strictly between 0 and 1, got {self.train_portion}")
        if not 0 <= self.threads <= 1024:
            raise ValueError(f"threads must be 0 (torch's default) or a thread count up to 1024, got {self.threads}")
        if self.accelerator not in ("auto", "cpu", "gpu", "cuda"):
            raise ValueError(f"accelerator must be auto, cpu or gpu, got {self.accelerator!r}")
        if self.memory_format not in ("auto", "channels_last", "contiguous"):
            raise ValueError(f"memory_format must be auto, channels_last or contiguous, got {self.memory_format!r}")
        if self.arch_lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"arch_lr_schedule must be constant or cosine, got {self.arch_lr_schedule!r}")
        if not 0.0 <= self.free_op_dropout < 1.0:
            raise ValueError(f"free_op_dropout must lie in [0, 1), got {self.free_op_dropout}")
        if self.warmup_epochs >= self.epochs:
            raise ValueError(f"warmup_epochs ({self.warmup_epochs}) must be fewer than epochs ({self.epochs}): "
                             "the architecture is learned after the warm-up")
        if self.hvp not in ("exact", "finite_difference"):
            raise ValueError(f"hvp must be exact or finite_difference, got {self.hvp!r}")
        if self.compile and self.strategy == "darts2" and self.hvp == "exact":
            raise ValueError("hvp=exact needs double backprop, which torch.compile does not support: "
                             "set compile=false, or hvp=finite_difference")
        if not self.fd_eps > 0:
            raise ValueError(f"fd_eps must be positive, got {self.fd_eps}")
