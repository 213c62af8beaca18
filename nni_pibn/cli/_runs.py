"""What ``search``, ``train`` and ``pipeline`` share: resolving a run's config and folder.

Order of precedence: the config class's defaults (the paper's) <- ``--config`` <- ``--set``
<- the NNI trial's parameters. ``--resume`` starts from the run folder's saved config and
refuses changes to settings that would alter what the next step computes.
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import UserError


def config_classes() -> dict[str, type]:
    """The config class of each command that makes run folders (imported on use: heavy)."""
    from ..pipeline import PipelineConfig
    from ..retrain.config import TrainConfig
    from ..search.config import SearchConfig

    return {"search": SearchConfig, "train": TrainConfig, "pipeline": PipelineConfig}


def saved_config(command: str, run_dir: Path) -> Any:
    """The config ``run_dir`` saved, as the ``command``'s config class. A folder another
    command made is refused with the command that resumes it; nothing is written."""
    from ..config import load_config
    from ..runs import CONFIG, read_config

    classes = config_classes()
    data = read_config(run_dir)
    try:
        return load_config(classes[command], base=data)
    except UserError as exc:
        for other, cls in classes.items():
            if other == command:
                continue
            try:
                load_config(cls, base=data)
            except UserError:
                continue
            raise UserError(f"--resume {str(run_dir)!r} is a {other} run folder, not a {command} one; "
                            f"resume it with 'nni-pibn {other} --resume {run_dir}'") from None
        raise UserError(f"--resume {str(run_dir)!r}: its {CONFIG} does not fit 'nni-pibn {command}' ({exc}); "
                        "the run folder is damaged or was made by another version") from None


def resolve_config(command: str, args: argparse.Namespace, overrides: list[str]) -> tuple[Any, Path | None]:
    """``(config, run folder to resume or None)`` for ``nni-pibn <command>``; nothing is written.

    A resume applies ``--config``/``--set`` on top of the saved config and refuses any change
    :func:`~nni_pibn.runs.resume.resume_conflicts` forbids."""
    from ..config import config_to_dict, load_config
    from ..runs import open_run_dir
    from ..runs.resume import resume_conflicts
    from ..runs.trial_params import as_overrides, trial_parameters

    if args.resume and args.out:
        raise UserError("pass either --out (a new run) or --resume (an existing one), not both")
    cls = config_classes()[command]
    overrides = list(overrides) + as_overrides(trial_parameters())
    if not args.resume:
        return load_config(cls, args.config, overrides), None
    run_dir = open_run_dir(args.resume)
    saved = saved_config(command, run_dir)
    cfg = load_config(cls, args.config, overrides, base=config_to_dict(saved))
    changed = resume_conflicts(saved, cfg)
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
