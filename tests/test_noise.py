"""Known third-party noise is silenced at the entry point; anything else still shows."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings

import pytest

from nni_pibn.noise import LIGHTNING_LOGGERS, silence_known_noise

TINY = ["--quiet", "--set", "search.dataset=fake", "--set", "search.channels=2", "--set", "search.layers=3",
        "--set", "search.nodes=2", "--set", "search.epochs=2", "--set", "search.batch_size=8",
        "--set", "search.limit_batches=2", "--set", "search.image_size=16", "--set", "train.dataset=fake",
        "--set", "train.channels=4", "--set", "train.layers=2", "--set", "train.epochs=2",
        "--set", "train.batch_size=16", "--set", "train.num_workers=0", "--set", "train.onnx=false"]
NOISE = ("Tip:", "GPU available", "TPU available", "LeafSpec", "wrap PyTorch DataLoader", "distutils")


@pytest.fixture(autouse=True)
def _restore_filters():
    loggers = [logging.getLogger(n) for n in LIGHTNING_LOGGERS]
    saved = [list(lg.filters) for lg in loggers]
    with warnings.catch_warnings():
        yield
    for lg, filters in zip(loggers, saved):
        lg.filters[:] = filters


def _lines(logger: logging.Logger, messages: list[str]) -> list[str]:
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        for m in messages:
            logger.info(m)
    finally:
        logger.removeHandler(handler)
    return seen


@pytest.mark.parametrize("quiet", [False, True])
def test_lightning_advert_always_dropped_banner_only_when_quiet(quiet: bool) -> None:
    silence_known_noise(quiet=quiet)
    lines = ["💡 Tip: For seamless cloud logging ...", "GPU available: False, used: False",
             "`Trainer.fit` stopped: `max_epochs=2` reached."]
    for name in LIGHTNING_LOGGERS:
        seen = _lines(logging.getLogger(name), lines)
        assert seen == (lines[2:] if quiet else lines[1:]), name


def test_known_warnings_ignored_others_kept() -> None:
    with warnings.catch_warnings(record=True) as caught:
        silence_known_noise()
        warnings.simplefilter("always")  # an import that puts its own filter in front of ours (gym does)
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated, use ...", DeprecationWarning, stacklevel=1)
        warnings.warn("distutils Version classes are deprecated. Use packaging.version instead.",
                      DeprecationWarning, stacklevel=1)
        warnings.warn("When using training service to spawn trials, please try to wrap PyTorch DataLoader x",
                      UserWarning, stacklevel=1)
        warnings.warn("something new and important", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["something new and important"]


def test_quiet_pipeline_stderr_has_none_of_the_known_noise(tmp_path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "default"}  # warnings as a user sees them
    proc = subprocess.run([sys.executable, "-m", "nni_pibn", "pipeline", *TINY, "--out", str(tmp_path / "p")],
                          capture_output=True, text=True, env=env, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for noise in NOISE:
        assert noise not in proc.stderr, (noise, proc.stderr)
    assert "search: 2 epochs on cpu" in proc.stdout and "train: 2 epochs on cpu" in proc.stdout
    assert proc.stdout.count(" epoch ") >= 4  # one line per epoch of each stage
