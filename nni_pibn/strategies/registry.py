"""Search strategies by name, each carrying its behaviour: how it reads the search config,
which family it belongs to, whether it learns per-edge weights, and how it exports.

A :class:`StrategyKind` is what ``search.strategy: NAME`` selects. ``build(cfg)`` turns the
resolved :class:`~nni_pibn.search.config.SearchConfig` into an NNI strategy; ``options``
lists the strategy-specific config keys it reads. A strategy-specific key that the chosen
strategy does not read, set to anything but its default, is refused (a silently ignored
``arch_lr`` would make two runs look different that are not)::

    kind = STRATEGIES.get("darts2")
    kind.check_options(cfg)        # UserError: e.g. "proxyless does not use hvp"
    strategy = kind.build(cfg)     # an nni.nas.strategy.Strategy

Families: ``one-shot`` strategies train one supernet (``nni_pibn.search``); ``multi-trial``
strategies train one fixed network per sampled architecture, each an NNI trial
(``nni_pibn.multitrial``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from nni.nas.strategy.base import Strategy

from ..errors import UserError
from ..registry import Registry

ONE_SHOT = "one-shot"
MULTI_TRIAL = "multi-trial"


@dataclass(frozen=True)
class StrategyKind:
    """One named search strategy.

    ``build(cfg, **nni_options)``: the NNI strategy for a search config; ``nni_options`` are
    raw keyword arguments for the NNI class that override what the config gives (for library
    use and tests, e.g. ENAS' ``batches_per_update``). ``options``: the strategy-specific
    config keys it reads. ``differentiable``: it learns a logit per (edge, op), so the
    genotype is derived with DARTS' rule and the alpha history is recorded. ``export_rule``:
    how the final architecture is chosen, in words. ``requires``: raises a UserError naming
    what to install when a dependency is missing.
    """

    name: str
    family: str
    summary: str
    build_fn: Callable[..., Strategy]
    options: frozenset[str] = frozenset()
    differentiable: bool = False
    export_rule: str = ""
    requires: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        if self.family not in (ONE_SHOT, MULTI_TRIAL):
            raise ValueError(f"strategy {self.name!r}: family must be {ONE_SHOT!r} or {MULTI_TRIAL!r}")

    def check_available(self) -> None:
        if self.requires is not None:
            self.requires()

    def check_options(self, cfg: Any) -> None:
        """A UserError for each strategy-specific key this strategy does not read, set away from its default."""
        unused = sorted(strategy_option_keys() - self.options)
        for f in dataclasses.fields(cfg):
            if f.name not in unused or f.default is dataclasses.MISSING:
                continue
            value = getattr(cfg, f.name)
            if value != f.default:
                users = [k.name for k in _kinds() if f.name in k.options]
                raise UserError(
                    f"strategy {self.name!r} does not use {f.name} (set to {value!r}); remove it, "
                    f"or pick a strategy that does: {', '.join(users)}"
                )

    def build(self, cfg: Any, **nni_options: Any) -> Strategy:
        """The NNI strategy for ``cfg`` (options checked, dependencies checked)."""
        self.check_available()
        self.check_options(cfg)
        try:
            return self.build_fn(cfg, **nni_options)
        except TypeError as exc:
            if "unexpected keyword argument" not in str(exc):
                raise
            bad = str(exc).rsplit("argument", 1)[-1].strip()
            raise UserError(f"strategy {self.name!r} has no option {bad}; check the strategy options") from None


#: name -> :class:`StrategyKind`; filled by ``oneshot.py`` and ``multitrial.py``.
STRATEGIES: Registry[StrategyKind] = Registry("strategy")


def _kinds() -> Iterable[StrategyKind]:
    return (STRATEGIES.get(n) for n in STRATEGIES.names())


def strategy_option_keys() -> frozenset[str]:
    """Every config key some strategy lists as its own."""
    return frozenset(k for kind in _kinds() for k in kind.options)


def names_in(family: str) -> list[str]:
    return [k.name for k in _kinds() if k.family == family]


def register(kind: StrategyKind) -> StrategyKind:
    STRATEGIES.add(kind.name, kind)
    return kind
