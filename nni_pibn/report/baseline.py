"""``nni-pibn report ID --kind baseline``: searched genotypes against random ones.

Reads an experiment like ``experiments/baseline.yml``: retrainings under one protocol of
``random:SEED`` genotypes (:mod:`nni_pibn.random_genotype`) and of one or more searched
ones (a built-in name, a genotype file or a search folder). Prints each genotype's test
accuracy, the random ones' mean and standard deviation, and for each searched genotype its
rank among all and its distance from the random mean in standard deviations; draws the
accuracies as a strip plot (``baseline.png``/``.pdf``).

The accuracy is the retraining's last-epoch test accuracy (``final.json``'s ``test_acc``,
no selection on the test set), in percent.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..random_genotype import is_random_spec
from .experiment import Trial, as_percent

TITLE = "Searched vs random architectures, retrained under one protocol"


@dataclass
class BaselineRow:
    genotype: str  #: the spec the trial retrained (random:3, pibn, a path...)
    random: bool
    test_acc: float  #: percent
    params_m: float | None
    trial_id: str


def baseline_rows(trials: list[Trial]) -> list[BaselineRow]:
    """One row per succeeded retraining with a test accuracy, best first."""
    rows = []
    for t in trials:
        if t.status != "SUCCEEDED":
            continue
        final = t.final or {}
        acc = final.get("test_acc", t.final_metric)
        spec = t.params.get("genotype", t.params.get("train.genotype"))
        if acc is None or spec is None:
            continue
        rows.append(BaselineRow(str(spec), is_random_spec(str(spec)), as_percent(acc), final.get("params_m"),
                                t.trial_id))
    return sorted(rows, key=lambda r: -r.test_acc)


def rank(row: BaselineRow, rows: list[BaselineRow]) -> int:
    """1 + the number of rows strictly more accurate (ties share a rank)."""
    return 1 + sum(o.test_acc > row.test_acc for o in rows)


@dataclass
class Summary:
    k: int  #: random genotypes
    mean: float
    std: float  #: sample standard deviation (0 for one random genotype)
    low: float
    high: float
    #: searched genotype -> (accuracy, rank among all rows (1 = best), (acc - mean) / std or None)
    searched: dict[str, tuple[float, int, float | None]]


def summarize(rows: list[BaselineRow]) -> Summary:
    randoms = [r.test_acc for r in rows if r.random]
    searched = [r for r in rows if not r.random]
    if not randoms or not searched:
        missing = "random:SEED genotypes" if not randoms else "a searched genotype"
        raise UserError(f"a baseline report needs both random and searched genotypes; no {missing} among the "
                        "succeeded trials (see experiments/baseline.yml)")
    mean = statistics.fmean(randoms)
    std = statistics.stdev(randoms) if len(randoms) > 1 else 0.0
    ranks = {r.genotype: (r.test_acc, rank(r, rows), (r.test_acc - mean) / std if std > 0 else None)
             for r in searched}
    return Summary(len(randoms), mean, std, min(randoms), max(randoms), ranks)


def markdown(rows: list[BaselineRow], s: Summary) -> str:
    lines = ["| rank | genotype | kind | test acc % | params M | trial |", "|---|---|---|---|---|---|"]
    for r in rows:
        params = "-" if r.params_m is None else f"{r.params_m:.3f}"
        lines.append(f"| {rank(r, rows)} | {r.genotype} | {'random' if r.random else 'searched'} | {r.test_acc:.2f} | "
                     f"{params} | {r.trial_id} |")
    lines += ["", "| | test acc % |", "|---|---|",
              f"| random (K = {s.k}) mean +- std | {s.mean:.2f} +- {s.std:.2f} |",
              f"| random min .. max | {s.low:.2f} .. {s.high:.2f} |"]
    for name, (acc, place, z) in s.searched.items():
        z_text = f", {z:+.2f} std from the random mean" if z is not None else ""
        lines.append(f"| searched `{name}` | {acc:.2f} (rank {place} of {len(rows)}{z_text}) |")
    return "\n".join(lines) + "\n"


def plot_baseline(rows: list[BaselineRow], s: Summary, out_dir: Path) -> list[Path]:
    """Strip plot: the random genotypes' accuracies (jittered, with mean +- std), each
    searched genotype beside them as a star."""
    import numpy as np

    from ..plots._common import pyplot, save_figure

    plt = pyplot()
    searched = [r for r in rows if not r.random]
    fig, ax = plt.subplots(figsize=(1.8 + 1.2 * (1 + len(searched)), 4))
    randoms = [r for r in rows if r.random]
    jitter = np.random.default_rng(0).uniform(-0.12, 0.12, len(randoms))
    ax.scatter(jitter, [r.test_acc for r in randoms], color="tab:gray", alpha=0.8, zorder=3,
               label=f"random (K = {s.k})")
    ax.errorbar([0.25], [s.mean], yerr=[s.std], fmt="_", color="black", capsize=6, markersize=18, zorder=4,
                label="random mean +- std")
    ax.axhline(s.mean, color="black", lw=0.8, ls="--", alpha=0.5, zorder=1)
    for i, r in enumerate(searched, 1):
        ax.scatter([i], [r.test_acc], marker="*", s=220, color="tab:red", zorder=5,
                   label="searched" if i == 1 else None)
        ax.annotate(f"{r.test_acc:.2f}\nrank {s.searched[r.genotype][1]}/{len(rows)}", (i, r.test_acc),
                    xytext=(10, -6), textcoords="offset points", fontsize=8)
    ax.set_xticks(range(1 + len(searched)), ["random", *(_short(r.genotype) for r in searched)])
    ax.set_xlim(-0.6, len(searched) + 0.8)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("searched vs random genotypes")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return save_figure(fig, out_dir / "baseline")


def _short(spec: str) -> str:
    """A tick label: a built-in name as is, a path as its last two parts."""
    parts = Path(spec).parts
    return spec if len(parts) <= 2 else str(Path(*parts[-2:]))


def build(trials: list[Trial], out_dir: Path) -> tuple[str, list[Path]]:
    """The report's Markdown and the figures written."""
    rows = baseline_rows(trials)
    if not rows:
        raise UserError("no succeeded retraining with a test accuracy to report yet")
    s = summarize(rows)
    return markdown(rows, s), plot_baseline(rows, s, out_dir)
