"""Run folders: where a training or search run writes its outputs, and how it finds them again.

A run folder holds ``config.yaml`` (the resolved config), the outputs, and
``checkpoints/``. A new run refuses a folder that already holds files, so nothing earlier
is overwritten; ``--resume`` reopens one. Inside an NNI trial the default folder lives
under ``$NNI_OUTPUT_DIR`` so the web UI's trial output holds it.

DDP: Lightning starts ranks 1.. by re-running the same command with ``LOCAL_RANK`` set.
Rank 0 publishes its folder in ``NNI_PIBN_RUN_DIR`` before the launch, and the other ranks
reuse it without writing (they would otherwise find it non-empty, or pick another
timestamped name).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import yaml

from ..errors import UserError
from ..io import atomic_write_yaml

CONFIG = "config.yaml"
RUN_DIR_ENV = "NNI_PIBN_RUN_DIR"


def in_nni_trial() -> bool:
    """True when this process is an NNI trial (nnictl sets ``NNI_PLATFORM``; ``unittest`` is NNI's own test mode)."""
    return os.environ.get("NNI_PLATFORM", "") not in ("", "unittest")


def nni_output_dir() -> Path | None:
    """``$NNI_OUTPUT_DIR`` inside an NNI trial, else None."""
    out = os.environ.get("NNI_OUTPUT_DIR")
    return Path(out) if out and in_nni_trial() else None


def is_secondary_rank() -> bool:
    """True in DDP ranks other than 0 (Lightning's launcher and torchrun set these variables)."""
    return any(os.environ.get(var, "0") not in ("", "0") for var in ("RANK", "LOCAL_RANK"))


def default_run_dir(kind: str, base: str | Path = "runs") -> Path:
    """``$NNI_OUTPUT_DIR/<kind>`` in an NNI trial, else ``runs/<kind>-YYYYmmdd-HHMMSS[-n]``."""
    nni_dir = nni_output_dir()
    if nni_dir is not None:
        return nni_dir / kind
    stem = Path(base) / f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = stem, 1
    while path.exists():
        path, n = Path(f"{stem}-{n}"), n + 1
    return path


def create_run_dir(path: str | Path | None, kind: str = "train") -> Path:
    """Creates a fresh run folder (``path`` or :func:`default_run_dir`); an existing non-empty
    folder is a UserError. In DDP ranks > 0 returns rank 0's folder without touching disk."""
    if is_secondary_rank():
        shared = os.environ.get(RUN_DIR_ENV) or (str(path) if path else None)
        if not shared:
            raise UserError("this DDP rank does not know the run folder: pass --out when launching ranks yourself")
        return Path(shared)
    run_dir = Path(path) if path is not None else default_run_dir(kind)
    if run_dir.is_file():
        raise UserError(f"--out {str(run_dir)!r} is a file, not a folder; choose another --out")
    if run_dir.is_dir() and any(run_dir.iterdir()):
        raise UserError(f"run folder {str(run_dir)!r} already holds files; pass --resume {run_dir} to continue "
                        "it, or choose another --out")
    make_folder(run_dir, "--out")
    os.environ[RUN_DIR_ENV] = str(run_dir.resolve())
    return run_dir


def make_folder(path: Path, what: str) -> None:
    """``mkdir -p path``; a path below a file, too long a name or an unwritable place is a UserError."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".nni-pibn-write-test"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UserError(f"{what} {str(path)!r}: cannot create a folder there ({reason}); choose a writable "
                        "place with a shorter path") from None


def open_run_dir(path: str | Path) -> Path:
    """An existing run folder to resume; it must hold ``config.yaml``."""
    run_dir = Path(path)
    if not (run_dir / CONFIG).is_file():
        raise UserError(f"--resume {str(run_dir)!r}: not a run folder (no {CONFIG}); "
                        "pass a folder an earlier run wrote")
    if not is_secondary_rank():
        os.environ[RUN_DIR_ENV] = str(run_dir.resolve())
    return run_dir


def write_config(run_dir: str | Path, config: dict[str, Any]) -> Path:
    """Writes the resolved config as ``config.yaml`` (atomically; rank 0 only)."""
    path = Path(run_dir) / CONFIG
    if not is_secondary_rank():
        atomic_write_yaml(path, config)
    return path


def read_config(run_dir: str | Path) -> dict[str, Any]:
    """The run's saved ``config.yaml``; unreadable, not UTF-8, not YAML or not a mapping: a UserError."""
    path = Path(run_dir) / CONFIG
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UserError(f"cannot read {str(path)!r} ({type(exc).__name__}); the run folder is damaged") from None
    if not isinstance(data, dict):
        raise UserError(f"{str(path)!r} does not hold a config mapping; the run folder is damaged")
    return data
