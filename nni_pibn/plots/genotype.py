"""Cell diagrams of a genotype (paper Fig. 4), drawn with graphviz the way DARTS draws them.

Inputs ``c_{k-2}`` and ``c_{k-1}`` (green), intermediate nodes ``0..n-1`` (blue) and the
output ``c_{k}`` (yellow); every chosen edge is labelled with its op; every node in the
cell's concat list feeds ``c_{k}``.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from ..genotype import Genotype
from ..io import atomic_path

INPUT_NAMES = ("c_{k-2}", "c_{k-1}")


def node_name(j: int) -> str:
    return INPUT_NAMES[j] if j < 2 else str(j - 2)


def cell_graph(genotype: Genotype, cell: str):
    """A ``graphviz.Digraph`` of one cell (``normal`` or ``reduce``)."""
    import graphviz

    g = graphviz.Digraph(
        name=cell,
        format="png",
        edge_attr={"fontsize": "20", "fontname": "times"},
        node_attr={
            "style": "filled", "shape": "rect", "align": "center", "fontsize": "20",
            "height": "0.5", "width": "0.5", "penwidth": "2", "fontname": "times",
        },
        engine="dot",
    )
    g.attr(rankdir="LR", label=f"{cell} cell", fontsize="22")
    for name in INPUT_NAMES:
        g.node(name, fillcolor="darkseagreen2")
    edges = genotype.cell(cell)
    nodes = len(edges) // 2
    for n in range(nodes):
        g.node(str(n), fillcolor="lightblue")
    for e, (op, j) in enumerate(edges):
        g.edge(node_name(j), str(e // 2), label=op, fillcolor="gray")
    g.node("c_{k}", fillcolor="palegoldenrod")
    for c in genotype.concat(cell):
        g.edge(str(c - 2), "c_{k}", fillcolor="gray")
    return g


def render_genotype(genotype: Genotype, out_dir: str | Path, prefix: str = "genotype") -> list[Path]:
    """Writes ``{prefix}_{normal,reduce}.{dot,png,pdf}``; a missing ``dot`` binary is a UserError."""
    import graphviz

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for cell in ("normal", "reduce"):
        g = cell_graph(genotype, cell)
        base = out / f"{prefix}_{cell}"
        with atomic_path(base.with_suffix(".dot")) as tmp:
            tmp.write_text(g.source)
        written.append(base.with_suffix(".dot"))
        for fmt in ("png", "pdf"):
            try:
                data = g.pipe(format=fmt)
            except graphviz.ExecutableNotFound:
                raise UserError(
                    "graphviz's 'dot' binary was not found; install it (Debian/Ubuntu: "
                    "apt-get install graphviz, macOS: brew install graphviz, conda: conda install graphviz)"
                ) from None
            with atomic_path(base.with_suffix(f".{fmt}")) as tmp:
                tmp.write_bytes(data)
            written.append(base.with_suffix(f".{fmt}"))
    return written
