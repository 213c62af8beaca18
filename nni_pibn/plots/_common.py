"""Shared plumbing for figures: run-folder file lookup and PNG+PDF saving."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..io import atomic_path


def require_file(run_dir: str | Path, name: str, what: str) -> Path:
    """``run_dir/name`` or a one-line UserError naming the missing file and who writes it."""
    root = Path(run_dir)
    if not root.is_dir():
        raise UserError(f"run folder {str(root)!r} does not exist")
    path = root / name
    if not path.is_file():
        raise UserError(f"{str(path)!r} is missing; {what}")
    return path


def read_json_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{str(path)!r} is not valid JSON ({exc}); rerun the step that wrote it") from None


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"{str(path)!r} is not a CSV file ({exc}); rerun the step that wrote it") from None
    if not rows:
        raise UserError(f"{str(path)!r} has no rows; the run has not finished an epoch yet")
    return rows


def save_figure(fig, out_base: Path) -> list[Path]:
    """Writes ``out_base.png`` and ``out_base.pdf`` atomically; returns both paths."""
    import matplotlib.pyplot as plt

    out_base.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "pdf"):
        target = out_base.with_suffix(f".{ext}")
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=ext, dpi=150, bbox_inches="tight")
        paths.append(target)
    plt.close(fig)
    return paths


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def run_labels(run_dirs: Sequence[str | Path]) -> list[str]:
    """Short legend labels for run folders: the folder names, or ``parent/name`` when two
    folders share a name (``runs/a/search`` and ``runs/b/search``)."""
    paths = [Path(r).resolve() for r in run_dirs]
    names = [p.name for p in paths]
    if len(set(names)) == len(set(paths)):
        return names
    return [f"{p.parent.name}/{p.name}" for p in paths]
