"""``nni-pibn report``: Table 1 (or the roadmap) of an NNI experiment, as Markdown and PNG plots."""

from __future__ import annotations

import argparse
from pathlib import Path

#: report kinds kept in their own module: name -> module with ``TITLE`` and ``build(trials, out)``.
MORE_KINDS = {"baseline": "nni_pibn.report.baseline", "strategies": "nni_pibn.report.strategies"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="Markdown table + plots of an NNI experiment's trials (Table 1, Fig. 5, Fig. 1)")
    p.add_argument("experiment", nargs="?", help="experiment id (under ~/nni-experiments) or its folder")
    p.add_argument("--url", default=None, help="read a running experiment from its NNI manager, e.g. http://127.0.0.1:8080")
    p.add_argument("--kind", choices=["table1", "roadmap", *MORE_KINDS], default="table1",
                   help="table1: genotype x layers (Fig. 5 plots); roadmap: one row per op-set stage (Fig. 1); "
                        "baseline: searched vs random:SEED genotypes (strip plot); strategies: one row per search "
                        "strategy (best accuracy found, time)")
    p.add_argument("--out", default=None, help="output folder (default: ./report-<experiment>)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import UserError
    from ..io import atomic_write_text
    from ..report.experiment import load_trials
    from ..report.figures import plot_accuracy, plot_roadmap
    from ..report.tables import markdown_table, roadmap_rows, table1_rows

    trials = load_trials(args.experiment, args.url)
    failed = [t.trial_id for t in trials if t.status not in ("SUCCEEDED", "RUNNING", "WAITING")]
    name = Path(args.experiment).name if args.experiment else "running"
    out = Path(args.out) if args.out else Path(f"report-{name}")
    note = f"\nFailed trials: {', '.join(failed)}\n" if failed else ""
    if args.kind in MORE_KINDS:
        import importlib

        kind = importlib.import_module(MORE_KINDS[args.kind])
        text, written = kind.build(trials, out)
        atomic_write_text(out / "report.md", f"# {kind.TITLE}\n\n{text}{note}")
        print(text, end="")
        for p in [out / "report.md", *written]:
            print(p)
        return 0
    if args.kind == "roadmap":
        rows = roadmap_rows(trials)
        title = "Roadmap (paper Fig. 1): search -> retrain per op-set stage"
        text = markdown_table(rows, first="stage")
    else:
        rows = table1_rows(trials)
        title = "Table 1: test accuracy, parameters and GMACs per genotype and layer count"
        text = markdown_table(rows)
    if not rows:
        raise UserError(f"experiment {args.experiment or args.url}: no succeeded trials to report yet")
    atomic_write_text(out / "report.md", f"# {title}\n\n{text}{note}")
    written = [out / "report.md"]
    written += plot_roadmap(rows, out) if args.kind == "roadmap" else plot_accuracy(rows, out)
    print(text, end="")
    for p in written:
        print(p)
    return 0
