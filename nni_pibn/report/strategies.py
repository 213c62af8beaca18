"""``nni-pibn report ID --kind strategies``: search strategies side by side.

Reads an experiment whose trials each ran one search (``nni-pibn search``, as in
``experiments/strategies.yml`` and ``multitrial.yml``) or one pipeline (search, then
retraining, as in ``experiments/compare.yml``), and tabulates per strategy: its family, the
wall budget it was given (``max_duration``), the search's wall time, how many architectures
it trained (multi-trial) and the accuracy it found, and for pipelines the retrained test
accuracy of the exported genotype and the retraining's time.

The search's own accuracy is not comparable across families: a one-shot strategy reports
the supernet's arch-val accuracy, a multi-trial one the best trial's (a fixed network
trained ``trial_epochs`` epochs). The retrained test accuracy, under one protocol, is the
comparable number; rows are sorted by it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import UserError
from .experiment import Trial, as_percent

TITLE = "Search strategies on one space, data and wall budget"


@dataclass
class StrategyRow:
    strategy: str
    family: str
    budget_s: float | None
    search_s: float | None
    architectures: int | None  #: trained by a multi-trial search (None: one supernet)
    search_acc: float | None  #: percent, the search's own arch-val accuracy
    test_acc: float | None  #: percent, retrained (pipelines only)
    train_s: float | None
    trial_id: str


def _search_folder(trial: Trial) -> Path | None:
    from ..runs.lookup import find_stage

    if not trial.log_path or not Path(trial.log_path).is_dir():
        return None
    try:
        return find_stage(trial.log_path, ("search",), "genotype.json")
    except UserError:
        return None


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())
    except (OSError, ValueError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def strategy_row(trial: Trial) -> StrategyRow | None:
    """The row of one succeeded trial, or None when it holds no finished search."""
    from ..strategies import STRATEGIES

    folder = _search_folder(trial)
    if trial.status != "SUCCEEDED" or folder is None:
        return None
    meta = _read(folder / "genotype.json")
    config = _read(folder / "config.yaml")
    name = str(meta.get("strategy") or config.get("strategy") or "?")
    family = STRATEGIES.get(name).family if name in STRATEGIES else "?"
    final = trial.final or {}
    return StrategyRow(
        strategy=name, family=family, budget_s=config.get("max_duration") or None,
        search_s=meta.get("search_seconds"), architectures=meta.get("trials"),
        search_acc=as_percent(meta.get("final_val_acc")), test_acc=as_percent(final.get("test_acc")),
        train_s=final.get("train_seconds"), trial_id=trial.trial_id,
    )


def strategy_rows(trials: list[Trial]) -> list[StrategyRow]:
    rows = [r for r in map(strategy_row, trials) if r is not None]
    return sorted(rows, key=lambda r: (-(r.test_acc if r.test_acc is not None else -1.0),
                                       -(r.search_acc if r.search_acc is not None else -1.0)))


def _fmt(x: float | int | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def markdown(rows: list[StrategyRow]) -> str:
    head = ("| strategy | family | budget s | search s | architectures trained | search val acc % | "
            "retrained test acc % | retrain s | trial |\n|---|---|---|---|---|---|---|---|---|\n")
    body = "".join(
        f"| {r.strategy} | {r.family} | {_fmt(r.budget_s, 0)} | {_fmt(r.search_s)} | "
        f"{_fmt(r.architectures) if r.architectures is not None else '1 supernet'} | {_fmt(r.search_acc, 2)} | "
        f"{_fmt(r.test_acc, 2)} | {_fmt(r.train_s)} | {r.trial_id} |\n"
        for r in rows
    )
    note = ("\nsearch val acc: one-shot strategies report the supernet's arch-val accuracy, multi-trial ones "
            "the best architecture's after its trial (not comparable across families); the retrained test "
            "accuracy is.\n")
    return head + body + note


def build(trials: list[Trial], out_dir: Path) -> tuple[str, list[Path]]:
    """The report's Markdown (no figure)."""
    rows = strategy_rows(trials)
    if not rows:
        raise UserError("no succeeded trial holds a finished search (search/genotype.json) to report yet")
    return markdown(rows), []
