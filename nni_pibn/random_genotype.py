"""Random architectures of the space: the genotype spec ``random:SEED[:OP_SET]``.

A searched genotype means little until it beats architectures drawn at random from the
same space under the same training protocol (Li & Talwalkar 2019, "Random search and
reproducibility for NAS"; Yu et al. 2020, "Evaluating the search phase of NAS"). The spec
``random:SEED`` (or ``random:SEED:OP_SET``, e.g. ``random:3:darts`` or
``random:3:pibn:f=3``) names such an architecture wherever a genotype is accepted
(``nni-pibn train --genotype random:3``, ``genotype: random:3`` in an experiment YAML)::

    nni-pibn train --genotype random:0 --layers 8

The draw is uniform over the genotypes a DARTS cell can export, which are also the ones
the one-shot search exports: in each cell, every intermediate node ``i`` (``2..nodes+1``)
takes two distinct inputs among ``0..i-1`` (a uniformly drawn pair) and, on each, one
op drawn uniformly from the op set without ``none``. The same seed always gives the same
genotype (Python's ``random.Random(seed)``, whose integer seeding and draws are stable
across platforms); cells have DARTS' 4 nodes unless asked otherwise.
"""

from __future__ import annotations

import random
import re

from .errors import UserError
from .genotype import CELLS, Edge, Genotype, validate
from .ops.sets import canonical_op_set, op_names

PREFIX = "random:"
DEFAULT_OP_SET = "pibn"
#: DARTS' intermediate nodes per cell.
NODES = 4


def is_random_spec(spec: str) -> bool:
    return str(spec).startswith(PREFIX)


def parse_spec(spec: str) -> tuple[int, str]:
    """``random:SEED[:OP_SET]`` -> ``(seed, op_set)``; a UserError naming the fix otherwise."""
    _, _, rest = str(spec).partition(PREFIX)
    seed_text, _, op_set = rest.partition(":")
    if not re.fullmatch(r"[0-9]+", seed_text):
        raise UserError(f"genotype {spec!r}: expected random:SEED[:OP_SET] with SEED a non-negative integer, "
                        "e.g. random:0 or random:3:darts")
    try:
        return int(seed_text), canonical_op_set(op_set or DEFAULT_OP_SET)
    except UserError as exc:
        raise UserError(f"genotype {spec!r}: {exc}") from None


def random_cell(rng: random.Random, ops: list[str], nodes: int) -> list[Edge]:
    """One cell: per node two distinct inputs (in ascending order), each with a random op."""
    edges: list[Edge] = []
    for node in range(2, nodes + 2):
        for j in sorted(rng.sample(range(node), 2)):
            edges.append((rng.choice(ops), j))
    return edges


def random_genotype(seed: int, op_set: str = DEFAULT_OP_SET, nodes: int = NODES) -> Genotype:
    """The genotype ``random:seed:op_set`` names (see the module docstring)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UserError(f"random genotype seed must be a non-negative integer, got {seed!r}")
    if nodes < 1:
        raise UserError(f"a random genotype needs at least one node per cell, got {nodes}")
    op_set = canonical_op_set(op_set)
    ops = [name for name in op_names(op_set) if name != "none"]
    rng = random.Random(seed)
    cells = {cell: random_cell(rng, ops, nodes) for cell in CELLS}
    concat = list(range(2, nodes + 2))
    genotype = Genotype(normal=cells["normal"], normal_concat=concat, reduce=cells["reduce"],
                        reduce_concat=list(concat), op_set=op_set)
    return validate(genotype, ops)


def from_spec(spec: str) -> Genotype:
    """The genotype of a ``random:SEED[:OP_SET]`` spec."""
    seed, op_set = parse_spec(spec)
    return random_genotype(seed, op_set)
