"""Search curves (paper Fig. 7): train and arch-val accuracy or error per epoch, runs overlaid.

Reads each run's ``metrics.csv`` written by ``nni-pibn search`` (columns ``epoch``,
``train_acc``, ``val_acc``, accuracies in [0, 1]).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from ._common import pyplot, read_csv_rows, require_file, save_figure


def load_search_metrics(run_dir: str | Path) -> dict[str, list[float]]:
    path = require_file(run_dir, "metrics.csv", "it is written by 'nni-pibn search' after every epoch")
    rows = read_csv_rows(path)
    need = ("epoch", "train_acc", "val_acc")
    missing = [k for k in need if k not in rows[0]]
    if missing:
        raise UserError(f"{str(path)!r} lacks column(s) {', '.join(missing)}; is it a search run folder?")
    out: dict[str, list[float]] = {k: [] for k in need}
    for r in rows:
        for k in need:
            out[k].append(float(r[k]) if r[k] not in ("", None) else float("nan"))
    return out


def plot_search(run_dirs: list[str | Path], out_dir: str | Path, metric: str = "error") -> list[Path]:
    if metric not in ("error", "acc"):
        raise UserError(f"--metric {metric!r}: choose error or acc")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for k, run in enumerate(run_dirs):
        m = load_search_metrics(run)
        name = Path(run).resolve().name
        colour = plt.get_cmap("tab10")(k % 10)
        for key, style, tag in (("train_acc", "--", "train"), ("val_acc", "-", "arch-val")):
            ys = [100 * (1 - v) if metric == "error" else 100 * v for v in m[key]]
            ax.plot(m["epoch"], ys, style, color=colour, label=f"{name} {tag}", lw=1.6)
    ax.set_xlabel("epoch")
    ax.set_ylabel("top-1 error (%)" if metric == "error" else "top-1 accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, Path(out_dir) / f"search_{metric}")
