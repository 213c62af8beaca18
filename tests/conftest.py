"""Shared test setup and helpers.

- one OMP thread everywhere (the resume tests compare runs bit for bit);
- ``one_line_error``: runs the CLI and checks the promised ``nni-pibn: error: ...`` line;
- ``run_killed``: runs a command in a subprocess that SIGKILLs itself mid-epoch.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

os.environ.setdefault("PYTHONWARNINGS", "ignore")
# one thread everywhere, subprocesses and NNI trials included: the resume tests compare runs
# bit for bit, and float reductions depend on the thread count
os.environ["OMP_NUM_THREADS"] = "1"
torch.set_num_threads(1)  # 2 spinning threads on a busy 2-core machine are 20-100x slower

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture
def one_line_error(capsys: pytest.CaptureFixture[str]) -> Callable[..., str]:
    """``one_line_error(argv, match)``: ``nni-pibn argv`` exits with 2 and prints exactly one
    stderr line ``nni-pibn: error: ...`` containing ``match`` (and no traceback); returns it."""
    from nni_pibn.cli import main

    def check(argv: list[str], match: str) -> str:
        capsys.readouterr()
        code = main([str(a) for a in argv])
        err = capsys.readouterr().err.strip()
        assert code == 2, (code, err)
        assert err.startswith("nni-pibn: error:") and "\n" not in err and "Traceback" not in err, err
        assert match in err, err
        return err

    return check


#: runs ``nni-pibn COMMAND ARGS`` through the command's own ``prepare`` and runner, with a
#: callback that SIGKILLs the process in the middle of epoch k+1 (after epoch k's checkpoint).
KILL_SCRIPT = textwrap.dedent("""
    import importlib, os, signal, sys
    import pytorch_lightning as pl
    from nni_pibn.cli import build_parser

    class KillMidEpoch(pl.Callback):
        def __init__(self, k): self.k = k
        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            if trainer.current_epoch == self.k + 1 and batch_idx == 1:
                os.kill(os.getpid(), signal.SIGKILL)

    RUNNERS = {"search": ("nni_pibn.search", "search"), "train": ("nni_pibn.retrain", "train")}
    args = build_parser().parse_args(sys.argv[2:])
    cfg, run_dir, resume = importlib.import_module(f"nni_pibn.cli.{args.command}").prepare(args)
    module, name = RUNNERS[args.command]
    runner = getattr(importlib.import_module(module), name)
    runner(cfg, run_dir, progress=False, callbacks=[KillMidEpoch(int(sys.argv[1]))])
""")


@pytest.fixture
def run_killed(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_killed(epoch, argv)``: ``nni-pibn argv`` (search or train) in a subprocess that is
    SIGKILLed mid-epoch ``epoch + 1``; asserts it died of SIGKILL and returns the process."""

    def run(epoch: int, argv: list[str]) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
        env.pop("NNI_PIBN_RUN_DIR", None)
        proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(epoch), *map(str, argv)], env=env,
                              cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
        return proc

    return run
