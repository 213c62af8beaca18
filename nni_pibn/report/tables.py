"""Rows of the paper's Table 1 and roadmap (Fig. 1) from an experiment's trials."""

from __future__ import annotations

from dataclasses import dataclass

from ..ops.sets import ROADMAP
from .experiment import Trial, as_percent


@dataclass
class Row:
    genotype: str
    op_set: str
    layers: int
    test_acc: float | None  # percent
    params_m: float | None
    gmac: float | None
    trial_id: str
    status: str


def trial_row(t: Trial) -> Row:
    f = t.final or {}
    genotype = f.get("genotype_name") or t.params.get("train.genotype") or t.params.get("genotype") or "searched"
    op_set = str(f.get("op_set") or (f.get("genotype") or {}).get("op_set") or t.params.get("search.op_set") or "")
    layers = f.get("layers", t.params.get("train.layers", t.params.get("layers", 0)))
    acc = f.get("test_acc", t.final_metric)
    return Row(str(genotype), op_set, int(layers or 0), as_percent(acc), f.get("params_m"), f.get("gmac"), t.trial_id,
               t.status)


def table1_rows(trials: list[Trial]) -> list[Row]:
    rows = [trial_row(t) for t in trials if t.status == "SUCCEEDED"]
    return sorted(rows, key=lambda r: (r.genotype, -r.layers))


def roadmap_rows(trials: list[Trial]) -> list[Row]:
    rows = [trial_row(t) for t in trials if t.status == "SUCCEEDED"]
    stage = lambda r: ROADMAP.index(r.op_set.split(":")[0]) if r.op_set.split(":")[0] in ROADMAP else len(ROADMAP)  # noqa: E731
    return sorted(rows, key=lambda r: (stage(r), r.op_set))


def _fmt(x: float | None, digits: int) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def markdown_table(rows: list[Row], first: str = "genotype") -> str:
    head = f"| {first} | layers | test acc % | params M | GMAC | trial |\n|---|---|---|---|---|---|\n"
    body = "".join(
        f"| {r.op_set if first == 'stage' else r.genotype} | {r.layers} | {_fmt(r.test_acc, 2)} | "
        f"{_fmt(r.params_m, 3)} | {_fmt(r.gmac, 3)} | {r.trial_id} |\n"
        for r in rows
    )
    return head + body
