"""The registered datasets: CIFAR-10/100, a folder of class subfolders, digits, fake.

``digits`` (scikit-learn's bundled 8x8 handwritten digits, upscaled to 32x32 RGB) is the
offline default: it needs no download and trains in seconds on a CPU. ``fake`` is random
noise for tests. CIFAR is the paper's data and must be on disk (or ``download=True``).

Untrusted files: CIFAR's batches are Python pickles, and unpickling runs whatever code a
crafted file holds. Each file's MD5 is therefore checked against torchvision's list for the
official release before it is read, and a mismatch is refused; files one made oneself
(a test subset) need the explicit opt-out ``NNI_PIBN_UNVERIFIED_CIFAR=1``. Image folders
are checked image by image when scanned: unreadable files are skipped with a count.
"""

from __future__ import annotations

import copy
import functools
import logging
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Dataset, Subset

from ..errors import UserError
from .core import DATASETS, ArrayDataset, DatasetInfo, Datasets, TransformFactory

log = logging.getLogger(__name__)

#: set to 1 to read CIFAR files whose MD5s differ from the official release (files you made
#: yourself, e.g. a subset for tests): they are unpickled, so only for files you trust.
UNVERIFIED_ENV = "NNI_PIBN_UNVERIFIED_CIFAR"
CIFAR10_MEAN = (0.49139968, 0.48215827, 0.44653124)
CIFAR10_STD = (0.24703233, 0.24348505, 0.26158768)
CIFAR100_MEAN = (0.50707516, 0.48654887, 0.44091784)
CIFAR100_STD = (0.26733429, 0.25643846, 0.27615047)
#: per-channel statistics of the digits train split at 32x32 (checked by a test).
DIGITS_MEAN = (0.3054, 0.3054, 0.3054)
DIGITS_STD = (0.3237, 0.3237, 0.3237)


def _stratified_split(targets: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a fixed stratified train/test split (same seed, same split)."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(targets))
    try:
        train, test = train_test_split(idx, test_size=test_fraction, stratify=targets, random_state=seed)
    except ValueError as exc:
        split = f"{1 - test_fraction:.0%}/{test_fraction:.0%}"
        raise UserError(f"cannot split the images {split} by class: {str(exc).splitlines()[0]}; add images to the "
                        "smallest class or give train/ and test/ folders") from None
    return np.sort(train), np.sort(test)


# ---------------------------------------------------------------- CIFAR-10 / CIFAR-100
def _cifar(root: Path | None, make_transforms: TransformFactory, download: bool, image_size: int,
           cls_name: str, label: str, info: DatasetInfo) -> Datasets:
    from torchvision import datasets as tvd

    strict = getattr(tvd, cls_name)
    if image_size != 32:
        raise UserError(f"{label} images are 32x32; image_size {image_size} is not supported for it")
    if root is None:
        raise UserError(f"{label} needs a data folder: set data=DIR (--set data=DIR; search.data/train.data in a pipeline), a folder holding "
                        f"{strict.base_folder}")
    if download:
        strict(root, train=True, download=True)  # downloads and checks the archive's MD5
    folder = root / strict.base_folder
    names = [n for n, _ in strict.train_list + strict.test_list] + [strict.meta["filename"]]
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise UserError(
            f"{label} not found under {str(root)!r} (no {strict.base_folder}/{missing[0]}): set data to a folder "
            f"holding {strict.base_folder} (--set data=DIR; search.data and train.data in a pipeline), or "
            "download=true where a network exists"
        )
    if os.environ.get(UNVERIFIED_ENV) != "1":
        _verify_md5s(folder, strict, label)
    train_tf, test_tf = make_transforms(info)
    try:
        reader = _unchecked(cls_name)
        return Datasets(reader(root, True, train_tf), reader(root, False, test_tf), info)
    except (pickle.UnpicklingError, EOFError, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise UserError(f"{label} files under {str(folder)!r} are corrupt ({type(exc).__name__}); delete them and "
                        "download again") from None


def _verify_md5s(folder: Path, strict: type, label: str) -> None:
    """Refuses any batch or meta file whose MD5 is not the one torchvision publishes for the
    official release, before anything is unpickled (a pickle can run code when loaded)."""
    from torchvision.datasets.utils import check_integrity

    for name, md5 in [*strict.train_list, *strict.test_list, (strict.meta["filename"], strict.meta["md5"])]:
        if not check_integrity(folder / name, md5):
            raise UserError(
                f"{label} file {str(folder / name)!r} is not the official release (MD5 mismatch); it is refused "
                f"unread, since a pickle can run code. Download the official archive (--set download=true), or "
                f"for files you made yourself set {UNVERIFIED_ENV}=1"
            )


@functools.cache
def _unchecked(cls_name: str) -> type:
    """torchvision's reader without its own MD5 checks: :func:`_verify_md5s` has already
    checked each file (with a message naming it), or the user opted out for files they made."""
    from torchvision import datasets as tvd

    cls = getattr(tvd, cls_name)
    return type(f"Unchecked{cls_name}", (cls,), {
        "train_list": [[n, None] for n, _ in cls.train_list],
        "test_list": [[n, None] for n, _ in cls.test_list],
        "meta": {**cls.meta, "md5": None},
    })


@DATASETS.register("cifar10")
def cifar10(root: Path | None, make_transforms: TransformFactory, *, download: bool = False,
            image_size: int = 32) -> Datasets:
    info = DatasetInfo("cifar10", 10, CIFAR10_MEAN, CIFAR10_STD)
    return _cifar(root, make_transforms, download, image_size, "CIFAR10", "CIFAR-10", info)


@DATASETS.register("cifar100")
def cifar100(root: Path | None, make_transforms: TransformFactory, *, download: bool = False,
             image_size: int = 32) -> Datasets:
    info = DatasetInfo("cifar100", 100, CIFAR100_MEAN, CIFAR100_STD)
    return _cifar(root, make_transforms, download, image_size, "CIFAR100", "CIFAR-100", info)


# ---------------------------------------------------------------- folder of class folders
class ReadableImage:
    """``is_valid_file`` for torchvision's ``ImageFolder``: a file with an image extension that
    PIL can decode. Unreadable ones (corrupt, truncated, not an image) are left out and listed
    in ``skipped``, so a bad file costs a warning at the start, not a crash mid-epoch."""

    def __init__(self) -> None:
        self.skipped: list[str] = []

    def __call__(self, path: str) -> bool:
        from torchvision.datasets.folder import IMG_EXTENSIONS, has_file_allowed_extension

        if not has_file_allowed_extension(path, IMG_EXTENSIONS):
            return False
        try:
            with Image.open(path) as image:
                image.load()
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            self.skipped.append(path)
            return False
        return True


def _image_folder(path: Path) -> Any:
    """torchvision's ``ImageFolder`` of ``path`` (no transform yet), its images checked; fewer
    than two classes, or no readable image, is a UserError."""
    from torchvision.datasets import ImageFolder

    readable = ReadableImage()
    try:
        folder = ImageFolder(str(path), is_valid_file=readable)
    except (FileNotFoundError, OSError) as exc:
        raise UserError(f"image folder {str(path)!r}: {str(exc).splitlines()[0]}; it needs one subfolder of images "
                        "per class") from None
    if readable.skipped:
        log.warning("image folder %s: skipped %d unreadable image(s), e.g. %s", path, len(readable.skipped),
                    readable.skipped[0])
    if len(folder.classes) < 2:
        raise UserError(f"image folder {str(path)!r} has {len(folder.classes)} class ({', '.join(folder.classes)}); "
                        "a classifier needs at least 2 class subfolders")
    return folder


def _with_transform(folder: Any, transform: Any) -> Any:
    """A shallow copy of an ``ImageFolder`` with its own transform (the scan is not repeated)."""
    out = copy.copy(folder)
    out.transform = transform
    return out


@DATASETS.register("imagefolder")
def imagefolder(root: Path | None, make_transforms: TransformFactory, *, download: bool = False,
                image_size: int = 32, split_seed: int = 0) -> Datasets:
    """``root/train`` + ``root/test`` (or ``root/val``) when present, else a fixed stratified
    80/20 split of ``root``; every image is resized to ``image_size`` and converted to RGB.
    Normalisation is mean 0.5, std 0.5 (no statistics of an arbitrary folder are known)."""
    from torchvision import transforms as T

    if root is None or not root.is_dir():
        raise UserError(f"image folder {str(root)!r} does not exist: set data to a folder of class subfolders "
                        "(--set data=DIR; search.data and train.data in a pipeline)")
    if download:
        raise UserError("imagefolder cannot be downloaded; drop download=true")
    resize = T.Resize((image_size, image_size))
    probe = root / "train"
    test_dir = next((root / n for n in ("test", "val") if (root / n).is_dir()), None)
    if probe.is_dir() and test_dir is not None:
        train, test = _image_folder(probe), _image_folder(test_dir)
        if test.classes != train.classes:
            raise UserError(f"image folder {str(root)!r}: {test_dir.name}/ classes {test.classes} differ from train/ "
                            f"classes {train.classes}")
        info = DatasetInfo("imagefolder", len(train.classes), (0.5,) * 3, (0.5,) * 3, image_size)
        train_tf, test_tf = make_transforms(info)
        return Datasets(_with_transform(train, T.Compose([resize, train_tf])),
                        _with_transform(test, T.Compose([resize, test_tf])), info)
    folder = _image_folder(root)
    info = DatasetInfo("imagefolder", len(folder.classes), (0.5,) * 3, (0.5,) * 3, image_size)
    train_tf, test_tf = make_transforms(info)
    train_idx, test_idx = _stratified_split(np.asarray(folder.targets), 0.2, split_seed)
    return Datasets(Subset(_with_transform(folder, T.Compose([resize, train_tf])), train_idx.tolist()),
                    Subset(_with_transform(folder, T.Compose([resize, test_tf])), test_idx.tolist()), info)


# ---------------------------------------------------------------- scikit-learn digits
@functools.lru_cache(maxsize=4)
def digits_arrays(image_size: int = 32) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(train_x, train_y, test_x, test_y)``: 1797 digits upscaled bilinearly to
    ``image_size``, grey copied to 3 channels (uint8 NHWC), split 80/20 stratified (seed 0).
    Cached in-process: tests and repeated runs pay the resize once."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1)  # (N, 1, 8, 8), values 0..16
    x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False)
    x = (x * (255.0 / 16.0)).round().clamp(0, 255).to(torch.uint8)
    x = x.permute(0, 2, 3, 1).expand(-1, -1, -1, 3).contiguous().numpy()  # (N, 1, H, W) -> (N, H, W, 3)
    y = d.target.astype(np.int64)
    train, test = _stratified_split(y, 0.2, seed=0)
    return x[train], y[train], x[test], y[test]


@DATASETS.register("digits")
def digits(root: Path | None, make_transforms: TransformFactory, *, download: bool = False,
           image_size: int = 32) -> Datasets:
    info = DatasetInfo("digits", 10, DIGITS_MEAN, DIGITS_STD, image_size, mirror_invariant=False)
    train_tf, test_tf = make_transforms(info)
    tx, ty, vx, vy = digits_arrays(image_size)
    return Datasets(ArrayDataset(tx, ty, train_tf), ArrayDataset(vx, vy, test_tf), info)


# ---------------------------------------------------------------- random noise
@DATASETS.register("fake")
def fake(root: Path | None, make_transforms: TransformFactory, *, download: bool = False,
         image_size: int = 32, seed: int = 0, train_size: int = 64, test_size: int = 32,
         num_classes: int = 10) -> Datasets:
    """Random uint8 images with random labels, the same for the same ``seed``."""
    rng = np.random.default_rng(seed)
    info = DatasetInfo("fake", num_classes, (0.5,) * 3, (0.25,) * 3, image_size)
    train_tf, test_tf = make_transforms(info)

    def split(n: int, transform: Any) -> Dataset:
        images = rng.integers(0, 256, size=(n, image_size, image_size, 3), dtype=np.uint8)
        return ArrayDataset(images, rng.integers(0, num_classes, size=n).tolist(), transform)

    train, test = split(train_size, train_tf), split(test_size, test_tf)
    return Datasets(train, test, info)
