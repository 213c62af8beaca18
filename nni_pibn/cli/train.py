"""``nni-pibn train``: retrain a genotype from scratch with the paper's evaluation protocol.

    nni-pibn train --genotype pibn --layers 8 --set epochs=20 --out runs/pibn-8
    nni-pibn train --genotype darts_v2 --layers 20 --config paper.yaml --set dataset=cifar10 --set data=~/data
    nni-pibn train --resume runs/pibn-8          # continue from runs/pibn-8/checkpoints/last.ckpt
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


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


def prepare(args: argparse.Namespace) -> tuple[Any, Path, bool]:
    """Resolves the config and the run folder; checks everything before writing anything."""
    from ..genotype import load_genotype
    from ..runs import create_run_dir
    from ._runs import flag_overrides, resolve_config

    overrides = flag_overrides(args, ("genotype", "layers", "devices", "precision"))
    cfg, run_dir = resolve_config("train", args, overrides)
    load_genotype(cfg.genotype)  # fail on a bad genotype before creating anything
    if run_dir is None:
        run_dir = create_run_dir(args.out, "train")
    return cfg, run_dir, bool(args.resume)


def run(args: argparse.Namespace) -> int:
    from ..retrain import train
    from ._runs import cleanup_on_error

    cfg, run_dir, resume = prepare(args)
    with cleanup_on_error(run_dir, resume):
        final = train(cfg, run_dir, resume=resume, progress=not args.quiet)
    if final is not None:
        acc = final["test_acc"]
        print(f"{run_dir}: test_acc {acc:.4f} (best {final['best_test_acc']:.4f} at epoch {final['best_epoch']}), "
              f"{final['params_m']:.3f} M params, {final['gmac']:.3f} GMAC")
    return 0
