"""Checkpoints: atomic writes, and the checks that make ``--resume`` refuse a wrong file.

Lightning's ``TorchCheckpointIO`` writes the final path in place, so a kill during the
write leaves a truncated ``last.ckpt`` and nothing to resume from. :class:`AtomicCheckpointIO`
writes beside it and renames (``nni_pibn.io.atomic_path``): a reader sees the old file or
the new one, never half of one.
"""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.plugins.io import TorchCheckpointIO

from ..errors import UserError
from ..io import atomic_path

CHECKPOINT_DIR = "checkpoints"
LAST = "last.ckpt"
#: hyper-parameters that must match for a checkpoint to resume this run.
IDENTITY_KEYS = ("genotype", "layers", "channels", "num_classes", "dataset", "auxiliary", "in_channels")


class AtomicCheckpointIO(TorchCheckpointIO):
    """``TorchCheckpointIO`` whose save goes to a temp file that is renamed over the target."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        with atomic_path(path) as tmp:
            super().save_checkpoint(checkpoint, tmp, storage_options)


def last_checkpoint(run_dir: str | Path) -> Path:
    """``run_dir/checkpoints/last.ckpt``: what ``--resume`` continues from."""
    return Path(run_dir) / CHECKPOINT_DIR / LAST


def last_checkpoint_callback(run_dir: str | Path) -> ModelCheckpoint:
    """Writes :func:`last_checkpoint` at the end of every training epoch (one file, replaced)."""
    return ModelCheckpoint(dirpath=Path(run_dir) / CHECKPOINT_DIR, filename=LAST.removesuffix(".ckpt"),
                           save_top_k=1, enable_version_counter=False, save_on_train_epoch_end=True)


def read_checkpoint(path: str | Path, required: tuple[str, ...] = ("state_dict", "hyper_parameters"),
                    kind: str = "training") -> dict[str, Any]:
    """Loads a Lightning checkpoint on CPU; an unreadable file, or one lacking the ``required``
    keys, is a one-line UserError."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"no checkpoint at {str(p)!r}: the run never finished an epoch; start it again without --resume")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, EOFError, RuntimeError, zipfile.BadZipFile, ValueError, OSError) as exc:
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise UserError(f"checkpoint {str(p)!r} is corrupt or unreadable ({reason}); delete it or resume another run") from None
    if not isinstance(ckpt, dict) or any(key not in ckpt for key in required):
        raise UserError(f"checkpoint {str(p)!r} is not an nni-pibn {kind} checkpoint (no {'/'.join(required)})")
    return ckpt


def check_identity(path: str | Path, expected: Mapping[str, Any]) -> dict[str, Any]:
    """Raises a UserError naming the first of :data:`IDENTITY_KEYS` where the checkpoint and
    ``expected`` differ (another genotype, layer count, width, dataset); returns the checkpoint."""
    ckpt = read_checkpoint(path)
    hp = dict(ckpt["hyper_parameters"])
    for key in IDENTITY_KEYS:
        have, want = hp.get(key), expected.get(key)
        if have != want:
            if key == "genotype":
                have, want = "a different genotype", "this one"
            raise UserError(f"checkpoint {str(path)!r} was trained with {key}={have!r} but this run asks for "
                            f"{key}={want!r}; resume with the run's own settings or start a new run with --out")
    return ckpt


def save_net_weights(ckpt_path: str | Path, out: str | Path, prefix: str = "net.") -> None:
    """Writes the ``NetworkCIFAR`` state_dict held in a Lightning checkpoint to ``out`` (atomically)."""
    state = torch.load(Path(ckpt_path), map_location="cpu", weights_only=True)["state_dict"]
    weights = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    with atomic_path(out) as tmp:
        torch.save(weights, tmp)
