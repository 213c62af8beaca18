"""``nni-pibn plot {genotype,alphas,search}``: the paper's Figs. 4, 3 and 7 from run folders.

RUN_DIR may be the search run folder itself, a pipeline folder (holding ``search/``) or the
NNI trial folder that ``nni-pibn experiment`` prints; the search folder is found below it
(several found: the error lists them). Figures go to the search folder's ``figures/``.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot", help="figures from run folders: genotype cells, alpha evolution, search curves")
    kinds = p.add_subparsers(dest="figure", metavar="FIGURE", parser_class=type(p))
    kinds.required = True

    g = kinds.add_parser("genotype", help="normal and reduction cells as graphviz diagrams (Fig. 4)")
    g.add_argument("genotype", help="built-in name (pibn, darts_v2), genotype JSON, or a run, pipeline or NNI "
                                    "trial folder")
    g.add_argument("--out", default=None, help="output folder (default: RUN_DIR/figures or ./figures)")
    g.set_defaults(run=_genotype)

    a = kinds.add_parser("alphas", help="softmax weight of every op per edge over search epochs (Fig. 3)")
    a.add_argument("run_dir", help="a search run folder (holds alphas.json), its pipeline or NNI trial folder")
    a.add_argument("--edge", default=None, help="one edge: an index (0..) or a label such as normal/3_1")
    a.add_argument("--out", default=None, help="output folder (default: RUN_DIR/figures)")
    a.set_defaults(run=_alphas)

    s = kinds.add_parser("search", help="train and arch-val error/accuracy per epoch, runs overlaid (Fig. 7)")
    s.add_argument("run_dirs", nargs="+", help="one or more search run folders (hold metrics.csv), or their "
                                               "pipeline or NNI trial folders")
    s.add_argument("--metric", choices=["error", "acc"], default="error")
    s.add_argument("--out", default=None, help="output folder (default: first RUN_DIR/figures)")
    s.set_defaults(run=_search)


def _report(paths: list[Path]) -> int:
    for path in paths:
        print(path)
    return 0


def _genotype(args: argparse.Namespace) -> int:
    from ..genotype import load_genotype
    from ..plots.genotype import render_genotype
    from ..runs.lookup import find_stage

    if Path(args.genotype).is_dir():
        run = find_stage(args.genotype, ("search", "train"), "genotype.json")
        genotype, default_out, prefix = load_genotype(run), run / "figures", "genotype"
    else:
        genotype, default_out = load_genotype(args.genotype), Path("figures")
        prefix = f"genotype_{Path(args.genotype).stem}"
    return _report(render_genotype(genotype, Path(args.out) if args.out else default_out, prefix))


def _alphas(args: argparse.Namespace) -> int:
    from ..plots.alphas import plot_alphas
    from ..runs.lookup import find_stage

    run = find_stage(args.run_dir, "search", "alphas.json")
    out = Path(args.out) if args.out else run / "figures"
    return _report(plot_alphas(run, out, args.edge))


def _search(args: argparse.Namespace) -> int:
    from ..plots._common import run_labels
    from ..plots.search_curves import plot_search
    from ..runs.lookup import find_stage

    runs = [find_stage(r, "search", "metrics.csv") for r in args.run_dirs]
    out = Path(args.out) if args.out else runs[0] / "figures"
    return _report(plot_search(runs, out, args.metric, labels=run_labels(args.run_dirs)))
