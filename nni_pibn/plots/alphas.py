"""Evolution of the architecture weights over search epochs (paper Fig. 3).

Reads ``alphas.json`` written by ``nni-pibn search``::

    {"epochs": [{"epoch": 0, "edges": {"normal/2_0": {"skip_connect": 0.11, ..., "none": 0.1}}}, ...]}
"""

from __future__ import annotations

import math
from pathlib import Path

from ..errors import UserError
from ._common import pyplot, read_json_file, require_file, save_figure


def load_alpha_history(run_dir: str | Path) -> tuple[list[int], dict[str, dict[str, list[float]]]]:
    """Returns (epochs, {edge: {op: [weight per epoch]}})."""
    path = require_file(run_dir, "alphas.json", "it is written by 'nni-pibn search' after every epoch")
    data = read_json_file(path)
    records = data.get("epochs") if isinstance(data, dict) else None
    if not records:
        raise UserError(f"{str(path)!r} holds no epochs; the search has not finished an epoch yet")
    history: dict[str, dict[str, list[float]]] = {}
    try:
        epochs = [int(r["epoch"]) for r in records]
        for r in records:
            for edge, weights in r["edges"].items():
                for op, w in weights.items():
                    history.setdefault(edge, {}).setdefault(op, []).append(float(w))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UserError(f"{str(path)!r} is not an alpha history ({type(exc).__name__}: {exc}); "
                        "rerun the search that wrote it") from None
    if not history:
        raise UserError(f"{str(path)!r} holds no edges; rerun the search that wrote it")
    return epochs, history


def _edge_key(label: str) -> tuple[str, int, int]:
    cell, _, ij = label.partition("/")
    i, _, j = ij.partition("_")
    return (cell != "normal", int(i), int(j))


def plot_alphas(run_dir: str | Path, out_dir: str | Path, edge: str | int | None = None) -> list[Path]:
    """One panel per edge (or just ``edge``: an index into the sorted edges or a label)."""
    epochs, history = load_alpha_history(run_dir)
    labels = sorted(history, key=_edge_key)
    if edge is not None:
        if isinstance(edge, int) or str(edge).isdigit():
            idx = int(edge)
            if not 0 <= idx < len(labels):
                raise UserError(f"--edge {idx}: this search has edges 0..{len(labels) - 1}")
            labels = [labels[idx]]
        elif edge in history:
            labels = [str(edge)]
        else:
            raise UserError(f"--edge {edge!r}: unknown edge; valid: 0..{len(labels) - 1} or e.g. {labels[0]}")
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    cols = min(4, len(labels))
    rows = math.ceil(len(labels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    ops = sorted({op for lab in labels for op in history[lab]})
    cmap = plt.get_cmap("tab10" if len(ops) <= 10 else "tab20")
    colours = {op: cmap(k % cmap.N) for k, op in enumerate(ops)}
    for ax, label in zip(axes.flat, labels):
        for op in ops:
            ws = history[label].get(op)
            if ws:
                ax.plot(epochs[: len(ws)], ws, label=op, color=colours[op], lw=1.6)
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel("softmax weight")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(labels):]:
        ax.axis("off")
    fig.tight_layout()
    handles = [plt.Line2D([], [], color=colours[op], lw=1.6) for op in ops]
    if len(labels) == 1:  # one panel: legend to its right
        axes[0, 0].legend(handles, ops, loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=9, frameon=False)
    else:  # below the panels; bbox_inches="tight" keeps it in the saved figure
        fig.legend(handles, ops, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(5, len(ops)), fontsize=9)
    name = "alphas" if edge is None else f"alphas_{labels[0].replace('/', '_')}"
    return save_figure(fig, Path(out_dir) / name)
