"""Deriving a genotype from DARTS' architecture weights with DARTS' own rule.

Representations:

- edge alphas ``{edge_label: alpha}``: ``edge_label`` is ``'{cell}/{i}_{j}'`` (node ``i``,
  counting from 2, input ``j``); ``alpha`` holds one logit per explicit op in ``op_names``
  order plus, as NNI's ``DifferentiableMixedCell`` builds it, a last logit for the implicit
  zero op, which is DARTS' ``none``.
- edge weights ``{edge_label: {op_name: w, ..., 'none': w}}``: softmax over the whole vector.
- NNI's exported dict ``{'{cell}/op_{i}_{k}': op, '{cell}/input_{i}_{k}': [j]}``.

DARTS' rule (Liu et al., ``model_search.py: genotype``): for every node keep the
``num_ops_per_node`` input edges whose strongest non-``none`` op has the highest SOFTMAX
weight (the softmax includes ``none``), and on each kept edge that strongest op. NNI's
``DifferentiableMixedCell.export`` ranks raw logits instead, which can pick other edges.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ..nni_compat import DifferentiableMixedCell

NONE = "none"


def _parse_edge(label: str) -> tuple[str, int, int]:
    cell, _, edge = label.rpartition("/")
    i, _, j = edge.partition("_")
    return cell, int(i), int(j)


def edge_weights(
    alphas: Mapping[str, Tensor], op_names: Sequence[str]
) -> dict[str, dict[str, float]]:
    """``{edge: {op: softmax(alpha)[op], ..., 'none': softmax(alpha)[-1]}}`` (plain softmax).

    An alpha with exactly ``len(op_names)`` entries has no implicit ``none``.
    """
    out: dict[str, dict[str, float]] = {}
    for label, alpha in alphas.items():
        names = _names_for(alpha, op_names, label)
        weights = torch.softmax(alpha.detach().double().cpu(), -1).tolist()
        out[label] = dict(zip(names, weights))
    return out


def _names_for(alpha: Tensor, op_names: Sequence[str], label: str) -> list[str]:
    if len(alpha) == len(op_names) + 1:
        return [*op_names, NONE]
    if len(alpha) == len(op_names):
        return list(op_names)
    raise ValueError(f"edge {label}: {len(alpha)} alphas for {len(op_names)} ops")


def darts_rule_export(
    alphas: Mapping[str, Tensor], op_names: Sequence[str], num_ops_per_node: int = 2
) -> dict[str, Any]:
    """NNI's exported dict chosen by DARTS' rule (module docstring) from edge alphas.

    Per node ``i``: ``strength(j) = max_{op != none} softmax(alpha_{i,j})[op]``; the kept
    inputs are the ``num_ops_per_node`` largest strengths (ties: lower ``j`` first), strongest
    first, each with its argmax non-``none`` op. An explicit op named ``none`` is never chosen.
    """
    by_node: dict[tuple[str, int], list[tuple[int, dict[str, float]]]] = defaultdict(list)
    for label, weights in edge_weights(alphas, op_names).items():
        cell, i, j = _parse_edge(label)
        candidates = {op: w for op, w in weights.items() if op != NONE}
        by_node[(cell, i)].append((j, candidates))
    exported: dict[str, Any] = {}
    for (cell, i), edges in sorted(by_node.items()):
        edges.sort(key=lambda e: e[0])
        best = [(j, max(ops, key=ops.__getitem__)) for j, ops in edges]
        strength = {j: ops[op] for (j, ops), (_, op) in zip(edges, best)}
        ranked = sorted(best, key=lambda e: -strength[e[0]])  # stable: lower j wins ties
        for k in range(num_ops_per_node):
            j, op = ranked[k % len(ranked)]
            exported[f"{cell}/op_{i}_{k}"] = op
            exported[f"{cell}/input_{i}_{k}"] = [j]
    return exported


class DartsRuleMixedCell(DifferentiableMixedCell):
    """NNI's differentiable cell whose ``export`` follows DARTS' rule (:func:`darts_rule_export`)."""

    def export(self, memo: dict[str, Any]) -> dict[str, Any]:
        if f"{self.label}/op_{self.num_predecessors}_0" in memo:
            return {}  # another cell with the same label already exported
        alphas = dict(self._arch_alpha.items())
        return darts_rule_export(alphas, self.op_names, self.num_ops_per_node)


def edge_weights_of(module: nn.Module) -> dict[str, dict[str, float]]:
    """Softmax weights (with ``none``) of every differentiable-cell edge inside ``module``.

    ``module`` may be the supernet or the one-shot Lightning module; edges shared by cells
    with the same label appear once. Empty for sampling strategies (no cell alphas).
    """
    out: dict[str, dict[str, float]] = {}
    for m in module.modules():
        if isinstance(m, DifferentiableMixedCell):
            fresh = {k: a for k, a in m._arch_alpha.items() if k not in out}
            out.update(edge_weights(fresh, m.op_names))
    return out
