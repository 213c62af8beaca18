"""The multi-trial strategies: NNI's, each trial training one sampled architecture.

| name | NNI strategy | middlewares | export |
|---|---|---|---|
| ``random`` | ``Random`` (uniform, never the same architecture twice) | | best trial |
| ``evolution`` | ``RegularizedEvolution`` (aging evolution, Real et al. 2019) | ``FailureHandler`` | best trial |
| ``rl`` | ``PolicyBasedRL`` (PPO; needs tianshou 0.4.11 + gym) | ``Deduplication``, ``FailureHandler`` | best trial |
| ``tpe`` | ``TPE`` through :class:`~nni_pibn.multitrial.legacy.CellTPE`, maximising | ``FailureHandler`` | best trial |

``FailureHandler(metric=0.0)`` gives a failed trial accuracy 0, so the strategies that learn
from results (evolution, RL, TPE) are steered away from it instead of never hearing back.
``Deduplication('invalid')`` stops RL's policy from spending trials on architectures it has
already tried (Random and RegularizedEvolution deduplicate themselves, TPE's tuner too).
Not registered: ``grid`` (NNI's ``GridSearch`` walks the 3.8e23 architectures of the PIB
space, 4 nodes, in label order and shuffles only within blocks of 100: its first 100
architectures differ in nothing but three input choices of the reduction cell,
``reduce/input_4_1``, ``input_5_0``, ``input_5_1``, so no affordable cap makes it search
anything) and NNI's ``MedianStop``
middleware (in NNI 3.0 it cannot stop a trial: the execution engine has no ``kill_model``,
it skips its base class's ``__init__``, and it takes ``max`` of an empty list on every
trial's first result). The runner is :mod:`nni_pibn.multitrial`.
"""

from __future__ import annotations

from typing import Any

from nni.nas.space import ModelStatus
from nni.nas.strategy import PolicyBasedRL, Random, RegularizedEvolution
from nni.nas.strategy.base import Strategy
from nni.nas.strategy.middleware import Chain, Deduplication, FailureHandler

from ..errors import UserError
from ..multitrial.legacy import CellTPE
from .registry import MULTI_TRIAL, StrategyKind, register

#: keys every multi-trial strategy reads (the trial's training reads ``grad_clip`` too).
_TRIAL_KEYS = frozenset({"max_trials", "trial_concurrency", "trial_epochs", "port", "grad_clip"})
#: the metric a failed trial is given, so learning strategies avoid its architecture.
FAILED_TRIAL_METRIC = 0.0


def _failures() -> FailureHandler:
    return FailureHandler(metric=FAILED_TRIAL_METRIC, failure_types=(ModelStatus.Failed,))


def _random(cfg: Any, **nni: Any) -> Strategy:
    return Random(**{"seed": cfg.seed, "dedup": True, **nni})


def _evolution(cfg: Any, **nni: Any) -> Strategy:
    if cfg.sample_size > cfg.population_size:
        raise UserError(f"evolution: sample_size {cfg.sample_size} exceeds population_size {cfg.population_size}; "
                        "a tournament draws sample_size individuals from the population")
    options = {"population_size": cfg.population_size, "sample_size": cfg.sample_size, "seed": cfg.seed,
               "dedup": True, **nni}
    return Chain(RegularizedEvolution(**options), _failures())


def _rl(cfg: Any, **nni: Any) -> Strategy:
    import torch

    torch.manual_seed(cfg.seed)  # the policy network's initial weights
    return Chain(PolicyBasedRL(**nni), Deduplication("invalid"), _failures())


def _tpe(cfg: Any, **nni: Any) -> Strategy:
    return Chain(CellTPE(**{"optimize_mode": "maximize", "seed": cfg.seed, **nni}), _failures())


def _needs_tianshou() -> None:
    from nni.nas.strategy import rl

    if not rl.has_tianshou:
        raise UserError(
            "strategy 'rl' needs tianshou 0.4.11 and gym (NNI's PolicyBasedRL is a tianshou PPO policy), which "
            "failed to import; install them without their pins (tianshou pins protobuf 3.19, which breaks onnx): "
            "pip install --no-deps tianshou==0.4.11 gym==0.26.2 numba llvmlite h5py; or pick another strategy"
        )


register(StrategyKind(
    "random", MULTI_TRIAL, "NNI's Random: uniform architectures, one trial each; the baseline every search must beat",
    _random, _TRIAL_KEYS, export_rule="best trial",
))
register(StrategyKind(
    "evolution", MULTI_TRIAL, "NNI's RegularizedEvolution: mutate tournament winners, retire the oldest",
    _evolution, _TRIAL_KEYS | {"population_size", "sample_size"}, export_rule="best trial",
))
register(StrategyKind(
    "rl", MULTI_TRIAL, "NNI's PolicyBasedRL: a PPO controller rewarded with each trial's accuracy",
    _rl, _TRIAL_KEYS, export_rule="best trial", requires=_needs_tianshou,
))
register(StrategyKind(
    "tpe", MULTI_TRIAL, "NNI's TPE (tree-structured Parzen estimator) over the cell choices",
    _tpe, _TRIAL_KEYS, export_rule="best trial",
))
