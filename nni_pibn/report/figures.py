"""The paper's Fig. 5 (accuracy vs params, accuracy vs layers) and a roadmap bar chart."""

from __future__ import annotations

from pathlib import Path

from ..plots._common import pyplot, save_figure
from .tables import Row


def plot_accuracy(rows: list[Row], out_dir: Path) -> list[Path]:
    """``acc_vs_params`` and ``acc_vs_layers`` (one line per genotype)."""
    plt = pyplot()
    written = []
    groups: dict[str, list[Row]] = {}
    for r in rows:
        if r.test_acc is not None:
            groups.setdefault(r.genotype, []).append(r)
    for x_key, name, label in (("params_m", "acc_vs_params", "parameters (M)"), ("layers", "acc_vs_layers", "layers")):
        fig, ax = plt.subplots(figsize=(6, 4))
        for g, rs in sorted(groups.items()):
            rs = sorted((r for r in rs if getattr(r, x_key) is not None), key=lambda r: getattr(r, x_key))
            ax.plot([getattr(r, x_key) for r in rs], [r.test_acc for r in rs], "o-", label=g)
            for r in rs:
                ax.annotate(str(r.layers), (getattr(r, x_key), r.test_acc), fontsize=7, xytext=(3, 3),
                            textcoords="offset points")
        ax.set_xlabel(label)
        ax.set_ylabel("test accuracy (%)")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        written += save_figure(fig, out_dir / name)
    return written


def plot_roadmap(rows: list[Row], out_dir: Path) -> list[Path]:
    """Bar chart of test accuracy per roadmap stage, annotated with params and GMAC."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    names = [r.op_set for r in rows]
    accs = [r.test_acc or 0.0 for r in rows]
    bars = ax.bar(range(len(rows)), accs, color="steelblue")
    for b, r in zip(bars, rows):
        note = f"{r.params_m:.2f}M\n{r.gmac:.3f}G" if r.params_m is not None and r.gmac is not None else ""
        ax.annotate(note, (b.get_x() + b.get_width() / 2, b.get_height()), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(rows)), names, rotation=20)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("roadmap: DARTS -> PIB")
    fig.tight_layout()
    return save_figure(fig, out_dir / "roadmap")
