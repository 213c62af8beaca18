"""Datasets by name, the standard CIFAR transforms, and reproducible loaders.

    from nni_pibn.data import build_datasets, search_split, seeded_loader
    data = build_datasets("digits", augment=True, cutout=16)   # data.train, data.test, data.info
    weights_half, arch_half = search_split(data.train, 0.5)    # DARTS' search split
    loader = seeded_loader(data.train, 96, shuffle=True, seed=0)

Registered names: ``cifar10``, ``cifar100`` (need ``root``), ``imagefolder`` (needs
``root``), ``digits`` (offline default), ``fake`` (tests).
"""

from __future__ import annotations

from . import sources as _sources  # noqa: F401  (registers the datasets)
from .core import (
    DATASETS,
    ArrayDataset,
    DatasetInfo,
    Datasets,
    build_datasets,
    search_split,
)
from .loaders import EpochSampler, WorkerSeed, mix_seed, seed_all, seeded_loader
from .transforms import Cutout, eval_transform, standard_transforms, train_transform

__all__ = [
    "DATASETS",
    "ArrayDataset",
    "Cutout",
    "DatasetInfo",
    "Datasets",
    "EpochSampler",
    "WorkerSeed",
    "build_datasets",
    "eval_transform",
    "mix_seed",
    "search_split",
    "seed_all",
    "seeded_loader",
    "standard_transforms",
    "train_transform",
]
