"""Strategy-side pieces of DARTS-rule export: the mutation hook and the alpha history.

The rule itself and the cell that applies it live in :mod:`nni_pibn.supernet.export`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl

from ..nni_compat import DifferentiableMixedCell
from ..supernet.export import DartsRuleMixedCell, darts_rule_export, edge_weights, edge_weights_of

__all__ = ["AlphaHistory", "DartsRuleHooks", "DartsRuleMixedCell", "darts_rule_export", "edge_weights",
           "edge_weights_of"]


class DartsRuleHooks:
    """Strategy mixin: relax NNI ``Cell`` into :class:`DartsRuleMixedCell` (DARTS-rule export)."""

    def default_mutation_hooks(self) -> list[Callable[..., Any]]:
        hooks = super().default_mutation_hooks()  # type: ignore[misc]
        return [DartsRuleMixedCell.mutate if h == DifferentiableMixedCell.mutate else h for h in hooks]


class AlphaHistory(pl.Callback):
    """Records :func:`edge_weights_of` the searched network at the end of every training epoch.

    ``history[e]`` is ``{edge: {op: weight, ..., 'none': weight}}`` after epoch ``e``;
    ``on_record(epoch, weights)`` is called too when given (e.g. to write JSON lines).
    """

    def __init__(self, on_record: Callable[[int, dict[str, dict[str, float]]], None] | None = None) -> None:
        self.history: list[dict[str, dict[str, float]]] = []
        self.on_record = on_record

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        weights = edge_weights_of(pl_module)
        self.history.append(weights)
        if self.on_record is not None:
            self.on_record(trainer.current_epoch, weights)
