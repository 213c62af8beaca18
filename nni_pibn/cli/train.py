"""``nni-pibn train``: retrain a genotype from scratch with the paper's evaluation protocol.

    nni-pibn train --genotype pibn --layers 8 --set epochs=20 --out runs/pibn-8
    nni-pibn train --genotype darts_v2 --layers 20 --config paper.yaml --set dataset=cifar10 --set data=~/data
    nni-pibn train --resume runs/pibn-8          # continue from runs/pibn-8/checkpoints/last.ckpt
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..errors import UserError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="retrain a genotype (DARTS' evaluation protocol, PyTorch Lightning)",
                       description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--genotype", help="built-in name (pibn, darts_v2), genotype JSON or run folder (default pibn)")
    p.add_argument("--layers", type=int, help="number of cells (default 20)")
    p.add_argument("--config", help="YAML file of TrainConfig keys")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one config key, e.g. --set epochs=10 (repeatable)")
    p.add_argument("--out", help="new run folder (default runs/train-<time>, or under $NNI_OUTPUT_DIR)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its checkpoints/last.ckpt")
    p.add_argument("--devices", type=int, help="number of devices (more than 1: DDP)")
    p.add_argument("--precision", choices=["32", "16-mixed", "bf16-mixed"], help="numeric precision (default 32)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or model summary")
    p.set_defaults(run=run)


def _flag_overrides(args: argparse.Namespace) -> list[str]:
    out = list(args.overrides)
    for key in ("genotype", "layers", "devices", "precision"):
        value = getattr(args, key)
        if value is not None:
            out.append(f"{key}={json.dumps(value) if isinstance(value, str) else value}")
    return out


def prepare(args: argparse.Namespace) -> tuple[Any, Path, bool]:
    """Resolves the config and the run folder; checks everything before writing anything."""
    from ..config import config_to_dict, load_config
    from ..genotype import load_genotype
    from ..retrain.config import TrainConfig, resume_conflicts
    from ..runs import create_run_dir, open_run_dir, read_config
    from ..trial_params import as_overrides, trial_parameters

    if args.resume and args.out:
        raise UserError("pass either --out (a new run) or --resume (an existing one), not both")
    overrides = _flag_overrides(args) + as_overrides(trial_parameters())
    if args.resume:
        run_dir = open_run_dir(args.resume)
        saved = load_config(TrainConfig, base=read_config(run_dir))
        cfg = load_config(TrainConfig, args.config, overrides, base=config_to_dict(saved))
        conflicts = resume_conflicts(saved, cfg)
        if conflicts:
            raise UserError(f"a resumed run must keep its settings ({'; '.join(conflicts)}); start a new run with --out")
    else:
        cfg = load_config(TrainConfig, args.config, overrides)
    load_genotype(cfg.genotype)  # fail on a bad genotype before creating anything
    if not args.resume:
        run_dir = create_run_dir(args.out, "train")
    return cfg, run_dir, bool(args.resume)


def run(args: argparse.Namespace) -> int:
    from ..retrain import train

    cfg, run_dir, resume = prepare(args)
    try:
        final = train(cfg, run_dir, resume=resume, progress=not args.quiet)
    except UserError:
        if not resume and run_dir.is_dir() and not any(run_dir.iterdir()):
            run_dir.rmdir()  # leave no empty folder behind a run that never started
        raise
    if final is not None:
        acc = final["test_acc"]
        print(f"{run_dir}: test_acc {acc:.4f} (best {final['best_test_acc']:.4f} at epoch {final['best_epoch']}), "
              f"{final['params_m']:.3f} M params, {final['gmac']:.3f} GMAC")
    return 0
