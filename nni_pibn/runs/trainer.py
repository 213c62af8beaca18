"""The Trainer settings every run shares (search and retraining add their own on top).

A run's Trainer writes ``checkpoints/last.ckpt`` every epoch through
:class:`~nni_pibn.runs.checkpoint.AtomicCheckpointIO`, logs to TensorBoard under
``<run>/tb``, runs no sanity validation (it would shift the RNG between a fresh and a
resumed run), and leaves sharding to the loaders' own
:class:`~nni_pibn.data.EpochSampler` (``use_distributed_sampler=False``). Several devices
mean DDP. :func:`check_devices` refuses, up front, device settings the machine cannot honour.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import TensorBoardLogger

from ..errors import UserError
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


def check_devices(accelerator: str, devices: int, precision: str = "32") -> None:
    """Refuses, before anything is written, a device setting this machine cannot run as asked:
    a GPU accelerator without a CUDA GPU, more GPUs than exist, fp16 mixed precision on a CPU
    (Lightning would run something else), bf16 on a GPU without bf16."""
    import torch

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if accelerator in ("gpu", "cuda") and gpus == 0:
        raise UserError(f"accelerator={accelerator} but this machine has no usable CUDA GPU; "
                        "use accelerator=auto (a GPU when there is one) or accelerator=cpu")
    on_gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and gpus > 0)
    if on_gpu and devices > gpus:
        raise UserError(f"devices={devices} but this machine has {gpus} GPU(s); use devices={gpus} or fewer")
    if precision == "16-mixed" and not on_gpu:
        raise UserError("precision=16-mixed needs a CUDA GPU and this run computes on the CPU; "
                        "use precision=bf16-mixed or 32 there")
    if precision == "bf16-mixed" and on_gpu and not torch.cuda.is_bf16_supported():
        raise UserError("precision=bf16-mixed: this GPU has no bfloat16 support; use precision=16-mixed or 32")


def set_threads(threads: int) -> None:
    """torch's intra-op threads for this run; 0 leaves torch's default (one per core).

    On a small shared machine one thread is often the faster choice: two threads of a run
    spin-wait for each other as soon as anything else needs a core (see the README's timings).
    """
    if threads:
        torch.set_num_threads(threads)
