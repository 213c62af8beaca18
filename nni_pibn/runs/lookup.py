"""Finding a run's stage folder from whatever folder the user has at hand.

Commands that read a run (``plot``, ``gradcam``, ``train --genotype RUN_DIR``) need a
*stage folder*: a search run (``genotype.json``, ``alphas.json``, ``metrics.csv``) or a
retrain run (``final.json``, ``best.pt``). Users hold other folders: the NNI trial folder
``nni-experiments/ID/environments/local-env/trials/T`` that ``nni-pibn experiment``
prints, a pipeline folder holding ``search/`` and ``train/``, or ``runs/`` holding
``search-<time>/`` folders. :func:`find_stage` accepts all of them:

1. a folder that holds the needed file is the stage folder itself;
2. else, below it (at most :data:`MAX_DEPTH` levels, skipping checkpoints, TensorBoard
   logs and figures), the folders named after the stage (``search``, ``search-<time>``)
   that hold the file; stages listed earlier win (``genotype.json`` is in both a search
   and its retrain; the search is its origin);
3. exactly one found: that one; several: a one-line error listing them; none: a one-line
   error saying what was looked for (and which stage folder lacks the file, e.g. a search
   that has not finished).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import UserError

#: how deep below the given folder stage folders are looked for
#: (EXP/environments/local-env/trials/T/pipeline/search is 6 levels).
MAX_DEPTH = 6
#: folders that never hold a stage folder.
SKIP = frozenset({"checkpoints", "tb", "figures", "__pycache__", ".git"})
#: candidates named in an ambiguity error before "and N more".
LISTED = 6


def _is_stage_dir(name: str, stage: str) -> bool:
    return name == stage or name.startswith(f"{stage}-")


def _stage_dirs(root: Path, stage: str) -> list[Path]:
    """Folders named after ``stage`` below ``root`` (not inside each other), sorted."""
    found: list[Path] = []
    base = len(root.parts)
    for here, dirs, _ in os.walk(root):
        path = Path(here)
        if path != root and _is_stage_dir(path.name, stage):
            found.append(path)
            dirs[:] = []  # a stage folder's subfolders are its own outputs
            continue
        if len(path.parts) - base >= MAX_DEPTH:
            dirs[:] = []
        dirs[:] = sorted(d for d in dirs if d not in SKIP and not d.startswith("."))
    return found


def find_stage(folder: str | Path, stages: str | Sequence[str], needs: str) -> Path:
    """The stage folder of ``folder`` that holds ``needs``; ``stages`` in order of preference.

    A UserError names the folder, what was looked for and, when several match, every
    candidate."""
    root = Path(folder)
    stages = (stages,) if isinstance(stages, str) else tuple(stages)
    kinds = " or ".join(stages)
    if not root.is_dir():
        raise UserError(f"run folder {str(root)!r} does not exist")
    if (root / needs).is_file():
        return root
    unfinished: list[tuple[str, Path]] = []
    for stage in stages:
        dirs = _stage_dirs(root, stage)
        hits = [d for d in dirs if (d / needs).is_file()]
        if len(hits) == 1:
            return hits[0]
        if hits:
            shown = ", ".join(str(h) for h in hits[:LISTED]) + (f" and {len(hits) - LISTED} more" if len(hits) > LISTED
                                                                 else "")
            raise UserError(f"{str(root)!r} holds {len(hits)} {stage} runs ({shown}); pass one of them")
        unfinished += [(stage, d) for d in dirs]
    if unfinished:
        stage, where = unfinished[0]
        raise UserError(f"{str(where / needs)!r} is missing: that {stage} run has not written it yet (still "
                        "running, or stopped early); pass a run that has")
    raise UserError(f"{str(root)!r} holds no {kinds} run with {needs}; pass a {kinds} run folder, a pipeline "
                    "folder or an NNI trial folder")
