"""Image transforms: the CIFAR training augmentation, evaluation, and DARTS' Cutout."""

from __future__ import annotations

import torch
from torchvision import transforms as T

from .core import DatasetInfo, Transform


class Cutout:
    """Zeroes one ``length x length`` window centred at a uniformly random pixel.

    The window is clipped at the image border, so near a corner fewer pixels are cut
    (DeVries & Taylor, 2017, as DARTS applies it: on the normalised ``(C, H, W)`` tensor,
    every channel). Randomness comes from torch's global generator, so seeding torch
    makes it reproducible.
    """

    def __init__(self, length: int) -> None:
        if length < 0:
            raise ValueError(f"cutout length must be >= 0, got {length}")
        self.length = length

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        if self.length == 0:
            return img
        h, w = img.shape[-2:]
        cy = int(torch.randint(h, ()).item())
        cx = int(torch.randint(w, ()).item())
        y0, y1 = max(cy - self.length // 2, 0), min(cy + self.length // 2, h)
        x0, x1 = max(cx - self.length // 2, 0), min(cx + self.length // 2, w)
        out = img.clone()
        out[..., y0:y1, x0:x1] = 0.0
        return out

    def __repr__(self) -> str:
        return f"Cutout(length={self.length})"


def crop_padding(image_size: int) -> int:
    """CIFAR's random-crop padding, 4 pixels of 32, scaled to the image: 1/8 of its side."""
    return max(1, round(image_size / 8))


def train_transform(info: DatasetInfo, augment: bool = True, cutout: int = 0) -> Transform:
    """CIFAR's standard training transform: RandomCrop(size, padding=size/8, i.e. 4 at 32x32),
    a horizontal flip where the dataset is mirror-invariant (not digits), to tensor,
    normalise; then Cutout on the normalised tensor (as DARTS does)."""
    steps: list[Transform] = []
    if augment:
        steps.append(T.RandomCrop(info.image_size, padding=crop_padding(info.image_size)))
        if info.mirror_invariant:
            steps.append(T.RandomHorizontalFlip())
    steps += [T.ToTensor(), T.Normalize(info.mean, info.std)]
    if cutout > 0:
        steps.append(Cutout(cutout))
    return T.Compose(steps)


def eval_transform(info: DatasetInfo) -> Transform:
    """Test-time transform: to tensor and normalise, nothing random."""
    return T.Compose([T.ToTensor(), T.Normalize(info.mean, info.std)])


def standard_transforms(info: DatasetInfo, augment: bool = True, cutout: int = 0) -> tuple[Transform, Transform]:
    return train_transform(info, augment, cutout), eval_transform(info)
