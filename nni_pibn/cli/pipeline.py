"""``nni-pibn pipeline``: search, export and retrain in one run (one NNI trial).

    nni-pibn pipeline --config experiments/configs/quick.yaml
    nni-pibn pipeline --set search.strategy=darts --set train.layers=8 --out runs/p1
    nni-pibn pipeline --resume runs/p1
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pipeline", help="search, export and retrain in one run (the paper's pipeline)",
                       description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--config", help="YAML file with 'search:' and 'train:' sections")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one key, e.g. --set search.epochs=10 --set train.layers=8 (repeatable)")
    p.add_argument("--out", help="new run folder (default runs/pipeline-<time>, or under $NNI_OUTPUT_DIR)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted pipeline")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=run)


def prepare(args: argparse.Namespace) -> tuple[Any, Path, bool]:
    from ..ops.sets import parse_op_set
    from ..runs import create_run_dir
    from ..strategies import STRATEGIES
    from ._runs import resolve_config

    cfg, run_dir = resolve_config("pipeline", args, list(args.overrides))
    STRATEGIES.get(cfg.search.strategy)
    parse_op_set(cfg.search.op_set)
    if run_dir is None:
        run_dir = create_run_dir(args.out, "pipeline")
    return cfg, run_dir, bool(args.resume)


def run(args: argparse.Namespace) -> int:
    from ..pipeline import run_pipeline
    from ._runs import cleanup_on_error

    cfg, run_dir, resume = prepare(args)
    with cleanup_on_error(run_dir, resume):
        final = run_pipeline(cfg, run_dir, resume=resume, progress=not args.quiet)
    if final is not None:
        print(f"{run_dir}: searched genotype in {run_dir / 'search' / 'genotype.json'}; "
              f"retrained test_acc {final['test_acc']:.4f}, {final['params_m']:.3f} M params, "
              f"{final['gmac']:.3f} GMAC ({run_dir / 'train' / 'final.json'})")
    return 0
