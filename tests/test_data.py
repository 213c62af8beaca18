"""The dataset registry: CIFAR files in their own format, image folders, digits, fake, splits."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from nni_pibn.data import (
    DATASETS,
    EpochSampler,
    build_datasets,
    eval_transform,
    search_split,
    train_transform,
)
from nni_pibn.data.sources import DIGITS_MEAN, DIGITS_STD, UNVERIFIED_ENV, digits_arrays
from nni_pibn.errors import UserError


@pytest.fixture
def unverified_cifar(monkeypatch: pytest.MonkeyPatch) -> None:
    """The documented opt-out for CIFAR files made by the test (their MD5s are not the release's)."""
    monkeypatch.setenv(UNVERIFIED_ENV, "1")


def _write_cifar10(root: Path, per_batch: int = 4, test: int = 6) -> np.ndarray:
    """Writes CIFAR-10's python pickle batches; image i is filled with (i, 2i, 3i) per channel."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    k = 0
    for name, n in [(f"data_batch_{b}", per_batch) for b in range(1, 6)] + [("test_batch", test)]:
        rows = []
        for _ in range(n):
            planes = [np.full(1024, (c + 1) * k % 256, np.uint8) for c in range(3)]  # R plane, G plane, B plane
            rows.append(np.concatenate(planes))
            k += 1
        labels = [i % 10 for i in range(n)]
        with open(folder / name, "wb") as fh:
            pickle.dump({"batch_label": name, "data": np.stack(rows), "labels": labels,
                         "filenames": [f"{i}.png" for i in range(n)]}, fh)
    with open(folder / "batches.meta", "wb") as fh:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)], "num_vis": 3072}, fh)
    return folder


def test_cifar10_reads_its_own_format(tmp_path: Path, unverified_cifar: None) -> None:
    _write_cifar10(tmp_path)
    data = build_datasets("cifar10", tmp_path, augment=False)
    assert (len(data.train), len(data.test)) == (20, 6)
    assert data.info.num_classes == 10 and data.info.in_channels == 3
    x, y = data.train[3]  # image 3: R=3, G=6, B=9
    assert x.shape == (3, 32, 32) and y == 3
    mean, std = torch.tensor(data.info.mean), torch.tensor(data.info.std)
    expected = (torch.tensor([3.0, 6.0, 9.0]) / 255 - mean) / std
    torch.testing.assert_close(x[:, 5, 7], expected)
    x_test, _ = data.test[0]  # first test image is image 20
    torch.testing.assert_close(x_test[:, 0, 0], (torch.tensor([20.0, 40.0, 60.0]) / 255 - mean) / std)


def test_cifar100_reads_its_own_format(tmp_path: Path, unverified_cifar: None) -> None:
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    for name, n in [("train", 5), ("test", 3)]:
        with open(folder / name, "wb") as fh:
            pickle.dump({"data": np.zeros((n, 3072), np.uint8), "fine_labels": list(range(n)),
                         "coarse_labels": [0] * n}, fh)
    with open(folder / "meta", "wb") as fh:
        pickle.dump({"fine_label_names": [str(i) for i in range(100)]}, fh)
    data = build_datasets("cifar100", tmp_path)
    assert (len(data.train), len(data.test), data.info.num_classes) == (5, 3, 100)
    assert data.test[2][1] == 2


@pytest.mark.parametrize("name,folder", [("cifar10", "cifar-10-batches-py"), ("cifar100", "cifar-100-python")])
def test_cifar_missing_or_empty_root_is_one_line(tmp_path: Path, name: str, folder: str) -> None:
    for root in (tmp_path / "absent", tmp_path):
        with pytest.raises(UserError) as err:
            build_datasets(name, root)
        msg = str(err.value)
        assert "\n" not in msg and str(root) in msg and folder in msg
        assert "--set data=DIR" in msg and "train.data" in msg


def test_cifar_corrupt_batch_is_a_user_error(tmp_path: Path, unverified_cifar: None) -> None:
    folder = _write_cifar10(tmp_path)
    (folder / "data_batch_3").write_bytes(b"not a pickle")
    with pytest.raises(UserError, match="corrupt"):
        build_datasets("cifar10", tmp_path)


class _Payload:
    """A pickle that runs code when loaded: it creates the file named by ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.marker,))


def test_cifar_files_that_are_not_the_release_are_refused_unread(tmp_path: Path, capsys) -> None:
    folder = _write_cifar10(tmp_path)
    marker = tmp_path / "payload-ran"
    with open(folder / "data_batch_1", "wb") as fh:
        pickle.dump({"data": _Payload(marker), "labels": []}, fh)
    with pytest.raises(UserError, match=f"data_batch_1'.*not the official release.*{UNVERIFIED_ENV}=1"):
        build_datasets("cifar10", tmp_path)
    assert not marker.exists()  # refused before anything was unpickled
    from nni_pibn.cli import main

    args = ["--set", "dataset=cifar10", "--set", f"data={tmp_path}", "--set", "layers=2", "--quiet",
            "--out", str(tmp_path / "run")]
    assert main(["train", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nni-pibn: error: CIFAR-10 file") and "\n" not in err and not marker.exists()
    assert not (tmp_path / "run").exists()


def _png(path: Path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((12, 20, 3), value, np.uint8)).save(path)


def test_imagefolder_stratified_split_and_resize(tmp_path: Path) -> None:
    for c, cls in enumerate(["cat", "dog"]):
        for i in range(5):
            _png(tmp_path / cls / f"{i}.png", 100 * c + i)
    data = build_datasets("imagefolder", tmp_path, augment=False)
    assert data.info.num_classes == 2 and (len(data.train), len(data.test)) == (8, 2)
    assert sorted(data.test[i][1] for i in range(2)) == [0, 1]  # one of each class held out
    assert data.train[0][0].shape == (3, 32, 32)
    again = build_datasets("imagefolder", tmp_path, augment=False)
    assert again.test.indices == data.test.indices  # fixed split


def test_imagefolder_uses_train_and_val_folders(tmp_path: Path) -> None:
    for split, n in [("train", 3), ("val", 2)]:
        for cls in ["a", "b", "c"]:
            for i in range(n):
                _png(tmp_path / split / cls / f"{i}.png", 7)
    data = build_datasets("imagefolder", tmp_path, image_size=16)
    assert (len(data.train), len(data.test), data.info.num_classes) == (9, 6, 3)
    assert data.test[0][0].shape == (3, 16, 16)


def test_imagefolder_missing_or_empty(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        build_datasets("imagefolder", tmp_path / "nope")
    with pytest.raises(UserError, match="subfolder"):
        build_datasets("imagefolder", tmp_path)


def test_digits_shapes_split_and_statistics() -> None:
    data = build_datasets("digits")
    assert (len(data.train), len(data.test)) == (1437, 360)
    x, y = data.test[0]
    assert x.shape == (3, 32, 32) and 0 <= y < 10
    torch.testing.assert_close(x[0], x[2])  # grey copied to 3 channels
    tx, ty, _, vy = digits_arrays(32)
    assert digits_arrays(32)[0] is tx  # cached in-process
    counts_train, counts_test = np.bincount(ty, minlength=10), np.bincount(vy, minlength=10)
    assert np.all(np.abs(counts_test - 0.2 * (counts_train + counts_test)) <= 1)  # stratified
    pixels = tx.astype(np.float64) / 255
    assert pixels.mean() == pytest.approx(DIGITS_MEAN[0], abs=1e-3)
    assert pixels.std() == pytest.approx(DIGITS_STD[0], abs=1e-3)


def test_fake_is_deterministic_and_small() -> None:
    a, b, c = (build_datasets("fake", augment=False, seed=s) for s in (1, 1, 2))
    assert (len(a.train), len(a.test), a.info.num_classes) == (64, 32, 10)
    torch.testing.assert_close(a.train[5][0], b.train[5][0])
    assert not torch.equal(a.train[5][0], c.train[5][0])


def test_imagefolder_with_one_class_is_refused(tmp_path: Path) -> None:
    for i in range(4):
        _png(tmp_path / "only" / f"{i}.png", i)
    with pytest.raises(UserError, match="has 1 class \\(only\\); a classifier needs at least 2"):
        build_datasets("imagefolder", tmp_path)


def test_imagefolder_skips_unreadable_images_with_a_count(tmp_path: Path, caplog) -> None:
    for c, cls in enumerate(["cat", "dog"]):
        for i in range(5):
            _png(tmp_path / cls / f"{i}.png", 100 * c + i)
    (tmp_path / "cat" / "garbage.png").write_bytes(b"not an image at all")
    good = (tmp_path / "dog" / "0.png").read_bytes()
    (tmp_path / "dog" / "cut.png").write_bytes(good[: len(good) // 2])  # truncated mid-file
    (tmp_path / "dog" / "notes.txt").write_text("not an image file, silently ignored")
    with caplog.at_level("WARNING"):
        data = build_datasets("imagefolder", tmp_path, augment=False)
    assert len(data.train) + len(data.test) == 10
    assert "skipped 2 unreadable image(s)" in caplog.text
    for i in range(len(data.train)):  # every image left loads: nothing fails mid-epoch
        assert data.train[i][0].shape == (3, 32, 32)


def test_train_transform_without_augmentation_is_eval() -> None:
    data = build_datasets("fake", augment=False)
    img = data.train.data[0]  # type: ignore[attr-defined]
    pil = Image.fromarray(img)
    torch.testing.assert_close(train_transform(data.info, augment=False)(pil), eval_transform(data.info)(pil))
    torch.manual_seed(0)
    crops = {tuple(train_transform(data.info)(pil)[0, :2, :2].flatten().tolist()) for _ in range(10)}
    assert len(crops) > 1  # random crop / flip change the image


def test_search_split_is_first_and_second_half() -> None:
    data = build_datasets("fake", train_size=10)
    w, a = search_split(data.train, 0.5)
    assert list(w.indices) == list(range(5)) and list(a.indices) == list(range(5, 10))
    assert search_split(data.train, 0.3)[0].indices == range(3)
    with pytest.raises(UserError):
        search_split(data.train, 1.0)


def test_epoch_sampler_is_a_function_of_seed_and_epoch() -> None:
    s = EpochSampler(range(20), seed=3)
    s.set_epoch(4)
    first = list(s)
    s.set_epoch(5)
    assert list(s) != first
    s.set_epoch(4)
    assert list(s) == first and sorted(first) == list(range(20))
    ranks = [EpochSampler(range(7), seed=3, rank=r, world_size=2) for r in range(2)]
    shards = [list(r) for r in ranks]
    assert len(shards[0]) == len(shards[1]) == 4 and set(shards[0] + shards[1]) == set(range(7))


# ---------------------------------------------------------------- the registry's contract, for every dataset
def _make_root(name: str, root: Path) -> Path | None:
    """A tiny on-disk copy of each registered dataset (None: it needs no files)."""
    if name == "cifar10":
        _write_cifar10(root)
    elif name == "cifar100":
        folder = root / "cifar-100-python"
        folder.mkdir()
        for split, n in [("train", 5), ("test", 3)]:
            with open(folder / split, "wb") as fh:
                pickle.dump({"data": np.zeros((n, 3072), np.uint8), "fine_labels": list(range(n)),
                             "coarse_labels": [0] * n}, fh)
        with open(folder / "meta", "wb") as fh:
            pickle.dump({"fine_label_names": [str(i) for i in range(100)]}, fh)
    elif name == "imagefolder":
        for c, cls in enumerate(["a", "b"]):
            for i in range(5):
                _png(root / cls / f"{i}.png", 50 * c + i)
    elif name not in ("digits", "fake"):
        raise AssertionError(f"dataset {name!r} has no test copy here: add one so the contract covers it")
    return root if name in ("cifar10", "cifar100", "imagefolder") else None


@pytest.mark.parametrize("name", DATASETS.names())
def test_every_dataset_yields_normalised_images_and_valid_labels(name: str, tmp_path: Path,
                                                                 unverified_cifar: None) -> None:
    data = build_datasets(name, _make_root(name, tmp_path), augment=False)
    info = data.info
    assert info.name == name and info.num_classes >= 2 and len(info.mean) == len(info.std) == info.in_channels
    assert len(data.train) > 0 and len(data.test) > 0
    for split in (data.train, data.test):
        x, y = split[len(split) - 1]
        assert x.shape == (info.in_channels, info.image_size, info.image_size) and x.dtype == torch.float32
        assert 0 <= y < info.num_classes


def test_unknown_dataset_lists_every_registered_name() -> None:
    with pytest.raises(UserError, match="unknown dataset 'mnist'; valid names: " + ", ".join(DATASETS.names())):
        build_datasets("mnist")


def test_training_augmentation_fits_the_dataset() -> None:
    """Digits are not mirror-invariant (a flipped 2 is no digit) and the crop padding is 1/8
    of the image side (CIFAR's 4 of 32), so an 8-pixel digit is shifted by at most 1 pixel."""
    from torchvision import transforms as T

    from nni_pibn.data.transforms import crop_padding, train_transform

    assert [crop_padding(s) for s in (8, 16, 32, 64)] == [1, 2, 4, 8]
    digits = build_datasets("digits", image_size=8).info
    steps = train_transform(digits).transforms
    assert not any(isinstance(t, T.RandomHorizontalFlip) for t in steps)
    crop = next(t for t in steps if isinstance(t, T.RandomCrop))
    assert crop.padding == 1 and crop.size == (8, 8)
    fake = build_datasets("fake", image_size=32).info
    assert any(isinstance(t, T.RandomHorizontalFlip) for t in train_transform(fake).transforms)
