"""``nni-pibn profile``: parameters and GMACs per layer count, beside the paper's Table 1."""

from __future__ import annotations

import argparse
import json

from ..errors import UserError

#: the most classes ``--classes`` accepts (ImageNet-21k has about 21,000).
MAX_CLASSES = 100_000


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("profile", help="parameters and GMACs of a genotype per layer count (Table 1)")
    p.add_argument("--genotype", default="pibn", help="built-in name (pibn, darts_v2), genotype JSON or run folder")
    p.add_argument("--layers", type=int, nargs="+", default=None, help="layer counts (default: Table 1's)")
    p.add_argument("--channels", type=int, default=36, help="initial channels C (default 36)")
    p.add_argument("--classes", type=int, default=10, help="number of classes (default 10)")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument(
        "--op-set",
        default=None,
        help="instead of a network: per-op weight counts of this op set (e.g. pibn, pibn:f=3, convnext) "
        "at --channels C, beside the paper's formulas",
    )
    p.add_argument("--kernel", type=int, default=None, help="with --op-set: only ops of this kernel size K")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..complexity import TABLE1, TABLE1_LAYERS, measure
    from ..genotype import GENOTYPES, load_genotype
    from ..skeleton import MAX_CHANNELS, MAX_LAYERS

    if not 1 <= args.channels <= MAX_CHANNELS:
        raise UserError(f"--channels {args.channels}: must be an integer from 1 to {MAX_CHANNELS}")
    if not 2 <= args.classes <= MAX_CLASSES:
        raise UserError(f"--classes {args.classes}: a classifier needs from 2 to {MAX_CLASSES} classes")
    if args.op_set is not None:
        return _profile_ops(args)
    genotype = load_genotype(args.genotype)
    layers = args.layers or TABLE1_LAYERS
    bad = [n for n in layers if not 2 <= n <= MAX_LAYERS]
    if bad:
        raise UserError(f"--layers {bad[0]}: a DARTS network needs at least 2 cells and this tool builds at most "
                        f"{MAX_LAYERS}")
    rows = [measure(genotype, n, args.channels, args.classes) for n in layers]
    if args.format == "json":
        print(json.dumps([r.as_dict() for r in rows], indent=2))
        return 0
    paper_setting = args.genotype in GENOTYPES and args.channels == 36 and args.classes == 10
    paper = TABLE1.get(args.genotype) if paper_setting else None
    head = f"{'layers':>6} {'params M':>9} {'GMAC':>7}"
    if paper:
        head += f" {'paper M':>8} {'diff':>7} {'paper GMAC':>10} {'diff':>7}"
    print(head)
    for r in rows:
        line = f"{r.layers:>6} {r.params_m:>9.4f} {r.gmac:>7.4f}"
        if paper and r.layers in paper:
            _, pm, pg = paper[r.layers]
            line += f" {pm:>8.3f} {100 * (r.params_m / pm - 1):>+6.2f}% {pg:>10.3f} {100 * (r.gmac / pg - 1):>+6.2f}%"
        print(line)
    return 0


def _profile_ops(args: argparse.Namespace) -> int:
    from ..op_profile import op_weight_table

    rows = op_weight_table(args.op_set, args.channels, args.kernel)
    if args.format == "json":
        print(json.dumps([r.as_dict() for r in rows], indent=2))
        return 0
    print(f"op set {args.op_set}, C = {args.channels}: conv weights per op")
    print(f"{'op':<14} {'measured':>9} {'closed form':>11} {'paper formula':>13} {'params':>8}")
    for r in rows:
        closed = "-" if r.closed_form is None else str(r.closed_form)
        paper = "-" if r.paper is None else f"{r.paper:g}"
        print(f"{r.op:<14} {r.weights:>9} {closed:>11} {paper:>13} {r.params:>8}")
    return 0
