"""Checkpoints: atomic writes, and the checks that make ``--resume`` refuse a wrong file.

Every checkpoint carries the run's identity (:class:`RunStamp`: kind, genotype or op set,
layers, width, dataset...), checked by :func:`check_identity` before a resume writes anything.

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

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.plugins.io import TorchCheckpointIO

from ..errors import UserError
from ..io import atomic_path

CHECKPOINT_DIR = "checkpoints"
LAST = "last.ckpt"
#: what a checkpoint's network is: a resumed run must match the checkpoint on each of these
#: keys that its identity has (a search has no genotype, a retraining no strategy).
IDENTITY_KEYS = ("kind", "strategy", "op_set", "genotype", "layers", "channels", "nodes", "dataset",
                 "num_classes", "in_channels", "auxiliary")
#: the callback-state key under which :class:`RunStamp` stores the identity.
STAMP = "RunStamp"


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
        raise UserError(f"no checkpoint at {str(p)!r}: the run never finished an epoch; "
                        "start it again without --resume")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, EOFError, RuntimeError, zipfile.BadZipFile, ValueError, OSError) as exc:
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise UserError(f"checkpoint {str(p)!r} is corrupt or unreadable ({reason}); "
                        "delete it or resume another run") from None
    if not isinstance(ckpt, dict) or any(key not in ckpt for key in required):
        raise UserError(f"checkpoint {str(p)!r} is not an nni-pibn {kind} checkpoint (no {'/'.join(required)})")
    return ckpt


def run_identity(kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """``{"kind": kind}`` plus the :data:`IDENTITY_KEYS` that ``values`` holds."""
    return {"kind": kind, **{key: values[key] for key in IDENTITY_KEYS[1:] if key in values}}


class RunStamp(pl.Callback):
    """Stores the run's identity (:func:`run_identity`) in every checkpoint, so that
    :func:`check_identity` can tell before a resume whether a checkpoint belongs to this run."""

    def __init__(self, identity: Mapping[str, Any]) -> None:
        self.identity = dict(identity)

    @property
    def state_key(self) -> str:
        return STAMP

    def state_dict(self) -> dict[str, Any]:
        return dict(self.identity)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        pass  # the run keeps its own identity; check_identity compared the two before fit


def check_identity(path: str | Path, expected: Mapping[str, Any]) -> dict[str, Any]:
    """Reads the checkpoint at ``path`` and raises a one-line UserError unless its stamp has
    the kind and every identity key of ``expected`` (see :func:`run_identity`); returns it."""
    kind = expected["kind"]
    ckpt = read_checkpoint(path, ("state_dict", "callbacks"), kind)
    stamp = ckpt["callbacks"].get(STAMP) if isinstance(ckpt["callbacks"], Mapping) else None
    if not isinstance(stamp, Mapping):
        raise UserError(f"checkpoint {str(path)!r} carries no nni-pibn run identity; it was not written by "
                        f"'nni-pibn {kind}': start a new run with --out")
    if stamp.get("kind") != kind:
        raise UserError(f"checkpoint {str(path)!r} belongs to a {stamp.get('kind')} run, not a {kind} run; "
                        f"resume it with 'nni-pibn {stamp.get('kind')} --resume'")
    for key in IDENTITY_KEYS[1:]:
        if key not in expected:
            continue
        have, want = stamp.get(key), expected[key]
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
