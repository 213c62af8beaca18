"""The dataset registry: names -> loaders that return train/test datasets and their facts.

Every dataset yields ``(image, label)`` pairs whose image goes through a transform built
from its :class:`DatasetInfo` (normalisation mean/std, image size), so CIFAR, a folder of
PNGs, scikit-learn's digits and random tensors all feed the same network the same way.
A loader is registered with ``@DATASETS.register(name)`` and called by
:func:`build_datasets`; errors a user can fix (missing folder, empty folder) are
:class:`~nni_pibn.errors.UserError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image
from torch.utils.data import Dataset, Subset

from ..errors import UserError
from ..registry import Registry

Transform = Callable[[Any], Any]
#: image sizes a dataset may be resized to (the paper's CIFAR images are 32x32; larger sizes
#: hold whole datasets such as digits in memory at that size).
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 8, 512


@dataclass(frozen=True)
class DatasetInfo:
    """What a model and a transform need to know about a dataset."""

    name: str
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    image_size: int = 32
    in_channels: int = 3
    #: whether a mirrored image is still an image of its class (photos: yes; digits: no,
    #: a mirrored 2 or 7 is no digit), so the training augmentation may flip it
    mirror_invariant: bool = True


@dataclass
class Datasets:
    """The train and test splits of one dataset, with its facts."""

    train: Dataset
    test: Dataset
    info: DatasetInfo


#: ``info -> (train transform, test transform)``; see :func:`standard_transforms`.
TransformFactory = Callable[[DatasetInfo], "tuple[Transform, Transform]"]


class Loader(Protocol):
    def __call__(
        self, root: Path | None, make_transforms: TransformFactory, *, download: bool,
        image_size: int, **options: Any,
    ) -> Datasets: ...


#: every dataset by name: ``cifar10``, ``cifar100``, ``imagefolder``, ``digits``, ``fake``.
DATASETS: Registry[Loader] = Registry("dataset")


class ArrayDataset(Dataset):
    """uint8 images held in memory as ``(N, H, W, 3)``, served as PIL images like torchvision's CIFAR."""

    def __init__(self, images: np.ndarray, targets: Sequence[int], transform: Transform | None = None) -> None:
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
            raise ValueError(f"expected uint8 images of shape (N, H, W, 3), got {images.dtype} {images.shape}")
        if len(images) != len(targets):
            raise ValueError(f"{len(images)} images but {len(targets)} targets")
        self.data = images
        self.targets = [int(t) for t in targets]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        img: Any = Image.fromarray(self.data[index])
        if self.transform is not None:
            img = self.transform(img)
        return img, self.targets[index]


def build_datasets(
    name: str,
    root: str | Path | None = None,
    *,
    augment: bool = True,
    cutout: int = 0,
    download: bool = False,
    image_size: int = 32,
    transforms: TransformFactory | None = None,
    **options: Any,
) -> Datasets:
    """Train and test datasets of the registered dataset ``name``.

    By default the train split gets the standard CIFAR augmentation (``augment``) and
    ``cutout``, the test split only normalisation; pass ``transforms`` to replace both.
    ``options`` go to the loader (e.g. ``fake``'s ``seed``, ``train_size``).
    """
    loader = DATASETS.get(name)
    if not MIN_IMAGE_SIZE <= image_size <= MAX_IMAGE_SIZE:
        raise UserError(f"image size {image_size}: must be from {MIN_IMAGE_SIZE} to {MAX_IMAGE_SIZE} pixels")
    if transforms is None:
        from .transforms import standard_transforms

        def transforms(info: DatasetInfo) -> tuple[Transform, Transform]:
            return standard_transforms(info, augment=augment, cutout=cutout)

    return loader(Path(root) if root is not None else None, transforms, download=download,
                  image_size=image_size, **options)


def search_split(train: Dataset, portion: float = 0.5) -> tuple[Subset, Subset]:
    """DARTS' search split of the TRAINING set: first ``portion`` of the indices trains
    the weights, the rest is the architecture-validation set (the test set stays unseen)."""
    if not 0.0 < portion < 1.0:
        raise UserError(f"search split portion {portion}: must lie strictly between 0 and 1")
    n = len(train)  # type: ignore[arg-type]
    split = int(n * portion)
    if split == 0 or split == n:
        raise UserError(f"search split of {n} images at {portion} leaves one half empty; use more data")
    return Subset(train, range(split)), Subset(train, range(split, n))
