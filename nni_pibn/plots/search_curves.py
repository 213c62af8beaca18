"""Search curves (paper Fig. 7): train and arch-val accuracy or error per epoch, runs overlaid.

Reads each run's ``metrics.csv`` written by ``nni-pibn search`` (columns ``epoch``,
``train_acc``, ``val_acc``, accuracies in [0, 1]).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from ._common import pyplot, read_csv_rows, require_file, run_labels, save_figure


def load_search_metrics(run_dir: str | Path) -> dict[str, list[float]]:
    path = require_file(run_dir, "metrics.csv", "it is written by 'nni-pibn search' after every epoch")
    rows = read_csv_rows(path)
    need = ("epoch", "train_acc", "val_acc")
    missing = [k for k in need if k not in rows[0]]
    if missing:
        raise UserError(f"{str(path)!r} lacks column(s) {', '.join(missing)}; is it a search run folder?")
    out: dict[str, list[float]] = {k: [] for k in need}
    try:
        for r in rows:
            for k in need:
                out[k].append(float(r[k]) if r[k] not in ("", None) else float("nan"))
    except ValueError as exc:
        raise UserError(f"{str(path)!r} holds a value that is not a number ({exc}); rerun the search") from None
    return out


def plot_search(run_dirs: list[str | Path], out_dir: str | Path, metric: str = "error",
                labels: list[str] | None = None) -> list[Path]:
    """Writes ``search_{metric}.png``/``.pdf``: one colour and marker per run, dashed train
    and solid arch-val lines; ``labels`` name the runs (default: their folder names)."""
    if metric not in ("error", "acc"):
        raise UserError(f"--metric {metric!r}: choose error or acc")
    labels = labels or run_labels(run_dirs)
    runs = [load_search_metrics(run) for run in run_dirs]  # every file checked before drawing
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    markers = "osD^v<>px*"
    handles, names = [], []
    for k, (m, name) in enumerate(zip(runs, labels)):
        colour = plt.get_cmap("tab10")(k % 10)
        marker = markers[k % len(markers)]
        every = max(1, len(m["epoch"]) // 12)  # at most ~12 markers a line: overlapping runs stay visible
        for key, style in (("train_acc", "--"), ("val_acc", "-")):
            ys = [100 * (1 - v) if metric == "error" else 100 * v for v in m[key]]
            ax.plot(m["epoch"], ys, style, color=colour, lw=1.6, marker=marker, markevery=every, ms=5,
                    mfc="none", alpha=0.9)
        handles.append(plt.Line2D([], [], color=colour, marker=marker, mfc="none", lw=1.6))
        names.append(name)
    handles += [plt.Line2D([], [], color="0.3", ls="--"), plt.Line2D([], [], color="0.3", ls="-")]
    names += ["train", "arch-val"]
    ax.set_xlabel("epoch")
    ax.set_ylabel("top-1 error (%)" if metric == "error" else "top-1 accuracy (%)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(handles, names, fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    fig.tight_layout()
    return save_figure(fig, Path(out_dir) / f"search_{metric}")
