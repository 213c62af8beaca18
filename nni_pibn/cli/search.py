"""``nni-pibn search``: search the PIB space, one-shot or multi-trial (paper protocol by default).

    nni-pibn search --set epochs=10 --out runs/search-digits
    nni-pibn search --config paper.yaml --set dataset=cifar10 --set data=~/data --strategy darts
    nni-pibn search --resume runs/search-digits   # continue from checkpoints/last.ckpt
    nni-pibn search --strategy evolution --set max_trials=50 --set trial_epochs=5 --out runs/evo
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="search the PIB space with an NNI one-shot or multi-trial strategy (darts2)",
                       description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--strategy", help="one-shot: darts2 (default), darts, gumbel_darts, random_oneshot, enas, "
                   "proxyless; multi-trial (one NNI trial per architecture): random, evolution, rl, tpe")
    p.add_argument("--op-set", dest="op_set", help="op set, e.g. pibn (default), pibn:f=3, darts, convnext")
    p.add_argument("--config", help="YAML file of SearchConfig keys")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one config key, e.g. --set epochs=10 (repeatable)")
    p.add_argument("--out", help="new run folder (default runs/search-<time>, or under $NNI_OUTPUT_DIR)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a search from its checkpoints/last.ckpt")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def prepare(args: argparse.Namespace) -> tuple[Any, Path, bool]:
    """Resolves the config and the run folder; checks names before writing anything."""
    from ..ops.sets import parse_op_set
    from ..runs import create_run_dir
    from ..strategies import STRATEGIES
    from ._runs import flag_overrides, resolve_config

    cfg, run_dir = resolve_config("search", args, flag_overrides(args, ("strategy", "op_set")))
    STRATEGIES.get(cfg.strategy)
    parse_op_set(cfg.op_set)
    if run_dir is None:
        run_dir = create_run_dir(args.out, "search")
    return cfg, run_dir, bool(args.resume)


def run(args: argparse.Namespace) -> int:
    from ..search import search
    from ._runs import cleanup_on_error

    cfg, run_dir, resume = prepare(args)
    with cleanup_on_error(run_dir, resume):
        result = search(cfg, run_dir, resume=resume, progress=not args.quiet)
    if result is not None:
        acc = result["final_val_acc"]
        acc_text = f"arch-val acc {acc:.4f}, " if acc is not None else ""
        print(f"{run_dir}: {acc_text}genotype written to {run_dir / 'genotype.json'}")
    return 0
