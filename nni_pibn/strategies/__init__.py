"""Search strategies by name: NNI's one-shot strategies, second-order DARTS, and adapters.

| name | strategy | export |
|---|---|---|
| ``darts`` | NNI DARTS, first order | DARTS' rule |
| ``darts2`` | :class:`DartsSecondOrder` (unrolled, design.md section 6) | DARTS' rule |
| ``gumbel_darts`` | NNI GumbelDARTS | DARTS' rule on softmax(alpha) |
| ``random_oneshot`` | NNI RandomOneShot (uniform path sampling) | a random architecture |
| ``enas`` | NNI ENAS with tagged train/val batches (needs tianshou 0.4.11 + gym) | controller sample |
| ``proxyless`` | NNI Proxyless with a ``Cell`` adapter | most likely op/input per slot |

Each factory takes keyword options forwarded to the NNI strategy (``arc_learning_rate``,
``gradient_clip_val``, ``warmup_epochs``, ...); the differentiable ones default to DARTS'
``gradient_clip_val=5``. Seeding is the caller's: :func:`run_search` takes ``seed``.

Usage::

    strategy = build_strategy("darts2", arc_learning_rate=3e-4)
    arch = run_search(strategy, PIBSpace(), build_search_evaluator(train, val, trainer_kwargs))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nni.nas.strategy import RandomOneShot
from nni.nas.strategy.base import Strategy

from ..errors import UserError
from ..registry import Registry
from .adapters import EnasTagged, ProxylessCell
from .darts2 import DartsFirstOrder, DartsSecondOrder, GumbelDartsRule
from .evaluator import SearchClassificationModule, build_search_evaluator
from .export import AlphaHistory, darts_rule_export, edge_weights, edge_weights_of
from .runner import run_search

__all__ = [
    "DIFFERENTIABLE",
    "STRATEGIES",
    "AlphaHistory",
    "DartsFirstOrder",
    "DartsSecondOrder",
    "EnasTagged",
    "GumbelDartsRule",
    "ProxylessCell",
    "SearchClassificationModule",
    "build_search_evaluator",
    "build_strategy",
    "darts_rule_export",
    "edge_weights",
    "edge_weights_of",
    "run_search",
]

StrategyFactory = Callable[..., Strategy]
#: name -> ``(**options) -> nni Strategy``.
STRATEGIES: Registry[StrategyFactory] = Registry("strategy")
#: strategies with architecture logits on every cell edge (DARTS-rule export, alpha history).
DIFFERENTIABLE = ("darts", "darts2", "gumbel_darts")

_CLIP = {"gradient_clip_val": 5.0}


@STRATEGIES.register("darts")
def _darts(**options: Any) -> Strategy:
    return DartsFirstOrder(**{**_CLIP, **options})


@STRATEGIES.register("darts2")
def _darts2(**options: Any) -> Strategy:
    return DartsSecondOrder(**{**_CLIP, **options})


@STRATEGIES.register("gumbel_darts")
def _gumbel_darts(**options: Any) -> Strategy:
    return GumbelDartsRule(**{**_CLIP, **options})


@STRATEGIES.register("random_oneshot")
def _random_oneshot(**options: Any) -> Strategy:
    return RandomOneShot(**options)


@STRATEGIES.register("enas")
def _enas(**options: Any) -> Strategy:
    from nni.nas.oneshot.pytorch import sampling

    if not sampling.has_tianshou:
        raise UserError(
            "strategy 'enas' needs tianshou 0.4.11 and gym (NNI's ENAS controller is a tianshou "
            "policy), which failed to import; install them without their pins (tianshou pins "
            "protobuf 3.19, which breaks onnx): pip install --no-deps tianshou==0.4.11 gym==0.26.2 "
            "numba llvmlite h5py; or pick another strategy"
        )
    return EnasTagged(**{"reward_metric_name": "val_acc", **options})


@STRATEGIES.register("proxyless")
def _proxyless(**options: Any) -> Strategy:
    return ProxylessCell(**{**_CLIP, **options})


def build_strategy(name: str, **options: Any) -> Strategy:
    """The strategy registered as ``name``, built with ``options``.

    Raises ``UserError`` for an unknown name (listing the valid ones), an option the
    strategy does not take, or a strategy whose dependencies are missing.
    """
    factory = STRATEGIES.get(name)
    try:
        return factory(**options)
    except TypeError as exc:
        if "unexpected keyword argument" not in str(exc):
            raise
        bad = str(exc).rsplit("argument", 1)[-1].strip()
        raise UserError(f"strategy {name!r} has no option {bad}; check the strategy options") from None
