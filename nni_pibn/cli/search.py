"""``nni-pibn search``: one-shot search of the PIB space (paper protocol by default).

    nni-pibn search --set epochs=10 --out runs/search-digits
    nni-pibn search --config paper.yaml --set dataset=cifar10 --set data=~/data --strategy darts
    nni-pibn search --resume runs/search-digits   # continue from checkpoints/last.ckpt
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..errors import UserError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="search the PIB space with an NNI one-shot strategy (default: darts2)",
                       description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--strategy", help="darts, darts2, gumbel_darts, random_oneshot, enas, proxyless (default darts2)")
    p.add_argument("--op-set", dest="op_set", help="op set, e.g. pibn (default), pibn:f=3, darts, convnext")
    p.add_argument("--config", help="YAML file of SearchConfig keys")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one config key, e.g. --set epochs=10 (repeatable)")
    p.add_argument("--out", help="new run folder (default runs/search-<time>, or under $NNI_OUTPUT_DIR)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a search from its checkpoints/last.ckpt")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def _flag_overrides(args: argparse.Namespace) -> list[str]:
    out = list(args.overrides)
    for key in ("strategy", "op_set"):
        value = getattr(args, key)
        if value is not None:
            out.append(f"{key}={json.dumps(value)}")
    return out


def prepare(args: argparse.Namespace) -> tuple[Any, Path, bool]:
    """Resolves the config and the run folder; checks names before writing anything."""
    from ..config import config_to_dict, load_config
    from ..ops.sets import parse_op_set
    from ..runs import create_run_dir, open_run_dir, read_config
    from ..search.config import SearchConfig, resume_conflicts
    from ..strategies import STRATEGIES
    from ..trial_params import as_overrides, trial_parameters

    if args.resume and args.out:
        raise UserError("pass either --out (a new search) or --resume (an existing one), not both")
    overrides = _flag_overrides(args) + as_overrides(trial_parameters())
    if args.resume:
        run_dir = open_run_dir(args.resume)
        saved = load_config(SearchConfig, base=read_config(run_dir))
        cfg = load_config(SearchConfig, args.config, overrides, base=config_to_dict(saved))
        conflicts = resume_conflicts(saved, cfg)
        if conflicts:
            raise UserError(f"a resumed search must keep its settings ({'; '.join(conflicts)}); start a new one with --out")
    else:
        cfg = load_config(SearchConfig, args.config, overrides)
    STRATEGIES.get(cfg.strategy)
    parse_op_set(cfg.op_set)
    if not args.resume:
        run_dir = create_run_dir(args.out, "search")
    return cfg, run_dir, bool(args.resume)


def run(args: argparse.Namespace) -> int:
    from ..search import search

    cfg, run_dir, resume = prepare(args)
    try:
        result = search(cfg, run_dir, resume=resume, progress=not args.quiet)
    except UserError:
        if not resume and run_dir.is_dir() and not any(run_dir.iterdir()):
            run_dir.rmdir()
        raise
    if result is not None:
        acc = result["final_val_acc"]
        acc_text = f"arch-val acc {acc:.4f}, " if acc is not None else ""
        print(f"{run_dir}: {acc_text}genotype written to {run_dir / 'genotype.json'}")
    return 0
