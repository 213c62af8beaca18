"""The Trainer settings every run shares (search and retraining add their own on top).

A run's Trainer writes ``checkpoints/last.ckpt`` every epoch through
:class:`~nni_pibn.runs.checkpoint.AtomicCheckpointIO`, logs to TensorBoard under
``<run>/tb``, runs no sanity validation (it would shift the RNG between a fresh and a
resumed run), and leaves sharding to the loaders' own
:class:`~nni_pibn.data.EpochSampler` (``use_distributed_sampler=False``). Several devices
mean DDP.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.loggers import TensorBoardLogger

from .checkpoint import AtomicCheckpointIO, last_checkpoint_callback


def trainer_defaults(run_dir: str | Path, *, epochs: int, accelerator: str, devices: int, progress: bool,
                     callbacks: Sequence[pl.Callback] = ()) -> dict[str, Any]:
    """Keyword arguments for ``pl.Trainer`` (or NNI's traced ``Trainer``) of a run in ``run_dir``.

    ``callbacks`` come before the last-checkpoint callback, as Lightning orders them."""
    run_dir = Path(run_dir)
    return {
        "max_epochs": epochs, "accelerator": accelerator, "devices": devices,
        "strategy": "ddp" if devices > 1 else "auto",
        "callbacks": [*callbacks, last_checkpoint_callback(run_dir)], "plugins": [AtomicCheckpointIO()],
        "logger": TensorBoardLogger(save_dir=str(run_dir), name="tb", version="", default_hp_metric=False),
        "default_root_dir": str(run_dir), "num_sanity_val_steps": 0, "use_distributed_sampler": False,
        "enable_progress_bar": progress,
    }
