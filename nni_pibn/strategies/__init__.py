"""Search strategies by name: NNI's one-shot and multi-trial strategies, second-order DARTS.

:data:`STRATEGIES` maps a name to a :class:`StrategyKind` that knows how it reads the
search config, its family, whether it learns per-edge weights and how it exports
(``registry.py``); the one-shot ones are registered in ``oneshot.py``, the multi-trial ones
in ``multitrial.py``. Seeding is the caller's: :func:`run_search` takes ``seed``.

Usage::

    strategy = build_strategy("darts2")                       # the config's defaults
    strategy = build_strategy("darts2", SearchConfig(hvp="exact", arch_lr=1e-3))
    arch = run_search(strategy, PIBSpace(), build_search_evaluator(train, val, trainer_kwargs))
"""

from __future__ import annotations

from typing import Any

from nni.nas.strategy.base import Strategy

from . import multitrial, oneshot  # noqa: F401  (register the multi-trial and one-shot strategies)
from .adapters import EnasTagged, ProxylessCell, RandomOneShotValidated
from .darts2 import DartsFirstOrder, DartsSecondOrder, GumbelDartsRule
from .evaluator import SearchClassificationModule, build_search_evaluator
from .export import AlphaHistory, darts_rule_export, edge_weights, edge_weights_of
from .registry import MULTI_TRIAL, ONE_SHOT, STRATEGIES, StrategyKind, names_in
from .runner import run_search

__all__ = [
    "MULTI_TRIAL",
    "ONE_SHOT",
    "STRATEGIES",
    "AlphaHistory",
    "DartsFirstOrder",
    "DartsSecondOrder",
    "EnasTagged",
    "GumbelDartsRule",
    "ProxylessCell",
    "RandomOneShotValidated",
    "SearchClassificationModule",
    "StrategyKind",
    "build_search_evaluator",
    "build_strategy",
    "darts_rule_export",
    "differentiable",
    "edge_weights",
    "edge_weights_of",
    "names_in",
    "run_search",
]


def build_strategy(name: str, cfg: Any = None, **nni_options: Any) -> Strategy:
    """The NNI strategy registered as ``name`` for search config ``cfg`` (default: the
    defaults of ``SearchConfig``); ``nni_options`` are raw keyword arguments for the NNI
    class. A UserError for an unknown name, an option it does not take, or a missing
    dependency."""
    kind = STRATEGIES.get(name)
    if cfg is None:
        from ..search.config import SearchConfig

        cfg = SearchConfig(strategy=name)
    return kind.build(cfg, **nni_options)


def differentiable(name: str) -> bool:
    """Whether strategy ``name`` learns per-edge weights (DARTS-rule export, alpha history)."""
    return STRATEGIES.get(name).differentiable
