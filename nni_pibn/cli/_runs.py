"""What ``search``, ``train`` and ``pipeline`` share: resolving a run's config and folder.

Order of precedence: the config class's defaults (the paper's) <- ``--config`` <- ``--set``
<- the NNI trial's parameters. ``--resume`` starts from the run folder's saved config and
refuses changes to settings that would alter what the next step computes.
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from ..errors import UserError

C = TypeVar("C")


def resolve_config(cls: type[C], args: argparse.Namespace, overrides: list[str],
                   conflicts: Callable[[C, C], list[str]] | None = None) -> tuple[C, Path | None]:
    """``(config, run folder to resume or None)``; nothing is written."""
    from ..config import config_to_dict, load_config
    from ..runs import open_run_dir, read_config
    from ..trial_params import as_overrides, trial_parameters

    if args.resume and args.out:
        raise UserError("pass either --out (a new run) or --resume (an existing one), not both")
    overrides = list(overrides) + as_overrides(trial_parameters())
    if not args.resume:
        return load_config(cls, args.config, overrides), None
    run_dir = open_run_dir(args.resume)
    saved = load_config(cls, base=read_config(run_dir))
    cfg = load_config(cls, args.config, overrides, base=config_to_dict(saved))  # type: ignore[arg-type]
    changed = conflicts(saved, cfg) if conflicts else []
    if changed:
        raise UserError(f"a resumed run must keep its settings ({'; '.join(changed)}); start a new run with --out")
    return cfg, run_dir


@contextmanager
def cleanup_on_error(run_dir: Path, resume: bool) -> Iterator[None]:
    """Removes a new run folder that holds no file when the run fails with a UserError."""
    try:
        yield
    except UserError:
        if not resume and run_dir.is_dir() and not any(p.is_file() for p in run_dir.rglob("*")):
            shutil.rmtree(run_dir)  # leave nothing behind a run that never started
        raise


def flag_overrides(args: argparse.Namespace, keys: tuple[str, ...]) -> list[str]:
    """``--set`` items plus ``key=value`` for each dedicated flag the user gave."""
    import json

    out = list(args.overrides)
    for key in keys:
        value: Any = getattr(args, key)
        if value is not None:
            out.append(f"{key}={json.dumps(value)}")
    return out
