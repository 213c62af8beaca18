"""The one-shot strategies: NNI's, second-order DARTS, and how each reads the search config.

| name | strategy | export |
|---|---|---|
| ``darts`` | NNI DARTS, first order, fused cells | DARTS' rule |
| ``darts2`` | :class:`~nni_pibn.strategies.darts2.DartsSecondOrder` (unrolled) | DARTS' rule |
| ``gumbel_darts`` | NNI GumbelDARTS, fused cells | DARTS' rule on softmax(alpha) |
| ``random_oneshot`` | NNI RandomOneShot (uniform path sampling) | a random architecture |
| ``enas`` | NNI ENAS with tagged train/val batches (needs tianshou 0.4.11 + gym) | controller sample |
| ``proxyless`` | NNI Proxyless with a ``Cell`` adapter | most likely op/input per slot |
"""

from __future__ import annotations

from typing import Any

from nni.nas.strategy.base import Strategy

from ..errors import UserError
from ..nni_compat import has_tianshou
from .adapters import EnasTagged, ProxylessCell, RandomOneShotValidated
from .darts2 import DartsFirstOrder, DartsSecondOrder, GumbelDartsRule
from .registry import ONE_SHOT, StrategyKind, register

#: config keys every differentiable DARTS variant reads.
_DARTS_KEYS = frozenset({"arch_lr", "arch_lr_schedule", "warmup_epochs", "fused_cell", "free_op_dropout"})


def _clip(cfg: Any) -> float | None:
    return cfg.grad_clip or None


def _darts_options(cfg: Any) -> dict[str, Any]:
    return {"arc_learning_rate": cfg.arch_lr, "gradient_clip_val": _clip(cfg), "warmup_epochs": cfg.warmup_epochs,
            "fused_cell": cfg.fused_cell, "arch_lr_schedule": cfg.arch_lr_schedule,
            "free_op_dropout": cfg.free_op_dropout}


def _darts(cfg: Any, **nni: Any) -> Strategy:
    return DartsFirstOrder(**{**_darts_options(cfg), **nni})


def _darts2(cfg: Any, **nni: Any) -> Strategy:
    return DartsSecondOrder(**{**_darts_options(cfg), "hvp": cfg.hvp, "eps": cfg.fd_eps, **nni})


def _gumbel(cfg: Any, **nni: Any) -> Strategy:
    return GumbelDartsRule(**{**_darts_options(cfg), **nni})


def _random(cfg: Any, **nni: Any) -> Strategy:
    return RandomOneShotValidated(**{"gradient_clip_val": _clip(cfg), **nni})


def _proxyless(cfg: Any, **nni: Any) -> Strategy:
    return ProxylessCell(**{"arc_learning_rate": cfg.arch_lr, "gradient_clip_val": _clip(cfg),
                            "warmup_epochs": cfg.warmup_epochs, "arch_lr_schedule": cfg.arch_lr_schedule, **nni})


def _enas(cfg: Any, **nni: Any) -> Strategy:
    return EnasTagged(**{"reward_metric_name": "val_acc", "gradient_clip_val": _clip(cfg),
                         "warmup_epochs": cfg.warmup_epochs, **nni})


def _needs_tianshou() -> None:
    if not has_tianshou():
        raise UserError(
            "strategy 'enas' needs tianshou 0.4.11 and gym (NNI's ENAS controller is a tianshou "
            "policy), which failed to import; install them without their pins (tianshou pins "
            "protobuf 3.19, which breaks onnx): pip install --no-deps tianshou==0.4.11 gym==0.26.2 "
            "numba llvmlite h5py; or pick another strategy"
        )


register(StrategyKind(
    "darts", ONE_SHOT, "NNI's DARTS, first order: cheapest differentiable search",
    _darts, _DARTS_KEYS | {"grad_clip"}, differentiable=True, export_rule="darts",
))
register(StrategyKind(
    "darts2", ONE_SHOT, "second-order (unrolled) DARTS, the paper's search; hvp exact or finite_difference",
    _darts2, _DARTS_KEYS | {"grad_clip", "hvp", "fd_eps"}, differentiable=True, export_rule="darts",
))
register(StrategyKind(
    "gumbel_darts", ONE_SHOT, "NNI's GumbelDARTS: Gumbel-softmax relaxation with an annealed temperature",
    _gumbel, _DARTS_KEYS | {"grad_clip"}, differentiable=True, export_rule="darts",
))
register(StrategyKind(
    "random_oneshot", ONE_SHOT, "NNI's RandomOneShot: uniform path sampling; exports a random sample",
    _random, frozenset({"grad_clip"}), export_rule="random sample",
))
register(StrategyKind(
    "enas", ONE_SHOT, "NNI's ENAS: an RL controller sampling paths of a shared supernet",
    _enas, frozenset({"grad_clip", "warmup_epochs"}), export_rule="controller sample", requires=_needs_tianshou,
))
register(StrategyKind(
    "proxyless", ONE_SHOT, "NNI's ProxylessNAS: one sampled path per step, binary-gate gradients",
    _proxyless, frozenset({"arch_lr", "arch_lr_schedule", "grad_clip", "warmup_epochs"}),
    export_rule="most likely op and input",
))
