"""DARTS genotypes and their three representations.

Representations:

- ``Genotype``: DARTS' ``normal, normal_concat, reduce, reduce_concat``; each cell is a
  list of ``(op, input)`` edges, two per intermediate node, inputs numbered
  0 = c_{k-2}, 1 = c_{k-1}, 2.. = earlier nodes of the cell.
- JSON: ``{"normal": [["pib_conv_3x3", 0], ...], "normal_concat": [2, 3, 4, 5], ...}``,
  optionally nested under a ``"genotype"`` key (as in a search's ``genotype.json``) and
  optionally with an ``"op_set"`` key. Never ``eval``.
- NNI's exported dict: ``{"normal/op_2_0": "pib_conv_3x3", "normal/input_2_0": [0], ...}``
  where ``op_{i}_{k}`` is the k-th edge of node i (i counts from 2).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UserError
from .ops import OPS

Edge = tuple[str, int]
CELLS = ("normal", "reduce")
EDGES_PER_NODE = 2


@dataclass(frozen=True)
class Genotype:
    normal: list[Edge]
    normal_concat: list[int]
    reduce: list[Edge]
    reduce_concat: list[int]
    #: op-set spec the op names refer to (``None``: the global op registry). It decides how
    #: the ops are built, so it counts in equality; stored in its canonical spelling
    #: (``pibn:f=2`` is ``pibn``).
    op_set: str | None = None

    def __post_init__(self) -> None:
        if self.op_set is not None:
            from .ops.sets import canonical_op_set

            object.__setattr__(self, "op_set", canonical_op_set(self.op_set))

    @property
    def nodes(self) -> int:
        return len(self.normal) // EDGES_PER_NODE

    def cell(self, name: str) -> list[Edge]:
        return self.normal if name == "normal" else self.reduce

    def concat(self, name: str) -> list[int]:
        return self.normal_concat if name == "normal" else self.reduce_concat

    def ops(self) -> set[str]:
        return {op for cell in CELLS for op, _ in self.cell(cell)}

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "normal": [[op, j] for op, j in self.normal],
            "normal_concat": list(self.normal_concat),
            "reduce": [[op, j] for op, j in self.reduce],
            "reduce_concat": list(self.reduce_concat),
        }
        if self.op_set is not None:
            out["op_set"] = self.op_set
        return out

    def to_nni(self) -> dict[str, Any]:
        """NNI's exported dict (``'normal/op_2_0': op, 'normal/input_2_0': [j]``)."""
        sample: dict[str, Any] = {}
        for cell in CELLS:
            for e, (op, j) in enumerate(self.cell(cell)):
                node, k = divmod(e, EDGES_PER_NODE)
                sample[f"{cell}/op_{node + 2}_{k}"] = op
                sample[f"{cell}/input_{node + 2}_{k}"] = [j]
        return sample


def validate(g: Genotype, valid_ops: Iterable[str] | None = None) -> Genotype:
    """Checks edge counts, op names and input indices; raises a UserError naming the spot."""
    ops = set(valid_ops) if valid_ops is not None else set(OPS.names())
    nodes = None
    for cell in CELLS:
        edges = g.cell(cell)
        if not edges or len(edges) % EDGES_PER_NODE:
            raise UserError(
                f"genotype {cell} cell: {len(edges)} edges; need {EDGES_PER_NODE} per node "
                f"(e.g. 8 for 4 nodes)"
            )
        n = len(edges) // EDGES_PER_NODE
        if nodes is not None and n != nodes:
            raise UserError(
                f"genotype reduce cell: {len(edges)} edges but the normal cell has {2 * nodes}; "
                "both cells need the same node count"
            )
        nodes = n
        for e, edge in enumerate(edges):
            node = e // EDGES_PER_NODE + 2
            if not (isinstance(edge, (list, tuple)) and len(edge) == 2):
                raise UserError(f"genotype {cell} cell, node {node}: edge {edge!r} is not [op, input]")
            op, j = edge
            if not isinstance(op, str) or op not in ops:
                raise UserError(
                    f"genotype {cell} cell, node {node}: unknown op {op!r}; "
                    f"valid ops: {', '.join(sorted(ops))}"
                )
            if isinstance(j, bool) or not isinstance(j, int) or not 0 <= j < node:
                raise UserError(
                    f"genotype {cell} cell, node {node}: input {j!r} does not exist yet; "
                    f"valid inputs are 0..{node - 1}"
                )
        concat = g.concat(cell)
        if not concat or any(
            isinstance(c, bool) or not isinstance(c, int) or not 2 <= c < n + 2 for c in concat
        ):
            raise UserError(
                f"genotype {cell}_concat {concat!r}: must list nodes from 2..{n + 1} "
                f"(DARTS uses {list(range(2, n + 2))})"
            )
    return g


def _edges(raw: Any, cell: str) -> list[Edge]:
    if not isinstance(raw, list):
        raise UserError(f"genotype {cell} cell must be a list of [op, input] pairs, got {raw!r}")
    out = []
    for e, edge in enumerate(raw):
        if not (isinstance(edge, (list, tuple)) and len(edge) == 2):
            raise UserError(
                f"genotype {cell} cell, node {e // 2 + 2}: edge {edge!r} is not [op, input]"
            )
        out.append((edge[0], edge[1]))
    return out


def _concat(raw: Any, cell: str, edges: int) -> list[int]:
    """A cell's concat list; absent means every intermediate node (DARTS' choice)."""
    if raw is None:
        return list(range(2, edges // EDGES_PER_NODE + 2))
    if not isinstance(raw, list):
        raise UserError(f"genotype {cell}_concat must be a list of node numbers such as [2, 3, 4, 5], got {raw!r}")
    return list(raw)


def from_json(data: Mapping[str, Any]) -> Genotype:
    """Builds and validates a Genotype from parsed JSON (plain or under ``"genotype"``)."""
    if not isinstance(data, Mapping):
        raise UserError("genotype JSON must be an object with normal/reduce lists")
    op_set = data.get("op_set")
    if "genotype" in data:
        data = data["genotype"]
        if not isinstance(data, Mapping):
            raise UserError("genotype JSON: the 'genotype' key must hold an object")
        op_set = data.get("op_set", op_set)
    if op_set is not None and not isinstance(op_set, str):
        raise UserError(f"genotype JSON: op_set must be a name such as 'pibn' or 'pibn:f=3', got {op_set!r}")
    missing = [k for k in ("normal", "reduce") if k not in data]
    if missing:
        raise UserError(f"genotype JSON lacks {' and '.join(missing)}; expected keys normal, normal_concat, "
                        "reduce, reduce_concat")
    normal, reduce = _edges(data["normal"], "normal"), _edges(data["reduce"], "reduce")
    g = Genotype(
        normal=normal,
        normal_concat=_concat(data.get("normal_concat"), "normal", len(normal)),
        reduce=reduce,
        reduce_concat=_concat(data.get("reduce_concat"), "reduce", len(reduce)),
        op_set=op_set,
    )
    return validate(g, _valid_ops(op_set))


def _valid_ops(op_set: str | None) -> list[str] | None:
    if op_set is None:
        return None
    from .ops.sets import op_names

    return op_names(op_set)


def from_nni(sample: Mapping[str, Any], op_set: str | None = None) -> Genotype:
    """Builds a Genotype from NNI's exported dict (an input may be ``[j]`` or a bare ``j``)."""
    cells: dict[str, list[Edge]] = {}
    for cell in CELLS:
        edges: list[Edge] = []
        node = 2
        while f"{cell}/op_{node}_0" in sample:
            for k in range(EDGES_PER_NODE):
                op_key, in_key = f"{cell}/op_{node}_{k}", f"{cell}/input_{node}_{k}"
                if op_key not in sample or in_key not in sample:
                    raise UserError(f"NNI architecture dict lacks {op_key!r} or {in_key!r}")
                j = sample[in_key]
                if isinstance(j, (list, tuple)):
                    if len(j) != 1:
                        raise UserError(f"NNI architecture dict: {in_key} must choose one input, got {j!r}")
                    j = j[0]
                edges.append((sample[op_key], j))
            node += 1
        cells[cell] = edges
    g = Genotype(
        normal=cells["normal"],
        normal_concat=list(range(2, len(cells["normal"]) // 2 + 2)),
        reduce=cells["reduce"],
        reduce_concat=list(range(2, len(cells["reduce"]) // 2 + 2)),
        op_set=op_set,
    )
    return validate(g, _valid_ops(op_set))


def write_json(g: Genotype, path: str | Path, extra: Mapping[str, Any] | None = None) -> None:
    """Writes ``{"genotype": ..., "nni": ..., **extra}`` atomically."""
    from .io import atomic_write_json

    atomic_write_json(path, {"genotype": g.to_json(), "nni": g.to_nni(), **(extra or {})})


def read_json(path: str | Path) -> Genotype:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"genotype file {str(p)!r} does not exist; pass a built-in name ({', '.join(GENOTYPES)}) "
                        "or a JSON file")
    try:
        data = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"genotype file {str(p)!r} is not valid JSON ({exc}); fix or regenerate it") from None
    return from_json(data)


DARTS_V2 = Genotype(
    normal=[
        ("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
        ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2),
    ],
    normal_concat=[2, 3, 4, 5],
    reduce=[
        ("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
        ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1),
    ],
    reduce_concat=[2, 3, 4, 5],
    op_set="darts",
)

PIBN = Genotype(
    normal=[
        ("pib_conv_3x3", 0), ("pib_conv_5x5", 1), ("pib_conv_3x3", 0), ("pib_conv_3x3", 2),
        ("pib_conv_3x3", 2), ("pib_conv_3x3", 1), ("pib_conv_3x3", 1), ("pib_conv_3x3", 3),
    ],
    normal_concat=[2, 3, 4, 5],
    reduce=[
        ("avg_pool_3x3", 0), ("pib_conv_5x5", 1), ("avg_pool_3x3", 0), ("dil_conv_5x5", 2),
        ("avg_pool_3x3", 0), ("skip_connect", 2), ("pib_conv_3x3", 3), ("pib_conv_3x3", 0),
    ],
    reduce_concat=[2, 3, 4, 5],
    op_set="pibn",
)

#: built-in genotypes, selectable by name wherever a genotype is accepted.
GENOTYPES: dict[str, Genotype] = {"darts_v2": DARTS_V2, "pibn": PIBN}


def load_genotype(name_or_path: str | Path) -> Genotype:
    """A built-in name, ``random:SEED[:OP_SET]`` (:mod:`nni_pibn.random_genotype`), a genotype
    JSON file, or a run folder: a search or retrain run, a pipeline folder or an NNI trial
    folder (its search's ``genotype.json``, see :func:`nni_pibn.runs.find_stage`)."""
    key = str(name_or_path)
    if key in GENOTYPES:
        return GENOTYPES[key]
    if key.startswith("random:"):  # a uniformly random genotype of the space (nni_pibn.random_genotype)
        from .random_genotype import from_spec

        return from_spec(key)
    p = Path(key)
    if p.is_dir():
        from .runs.lookup import find_stage

        p = find_stage(p, ("search", "train"), "genotype.json") / "genotype.json"
    elif not p.exists() and not key.endswith(".json") and "/" not in key:
        raise UserError(
            f"unknown genotype {key!r}; valid names: {', '.join(GENOTYPES)}, random:SEED[:OP_SET] "
            "(or a genotype JSON file)"
        )
    return read_json(p)
