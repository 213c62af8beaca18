"""The one place that imports NNI 3.0 names outside its public ``nni.nas.strategy`` API.

The one-shot strategies here extend NNI's Lightning modules and supernet cells, which NNI
does not export publicly; every such import goes through this module, and
``tests/test_nni_compat.py`` checks each name still exists with the members we use, so
an NNI upgrade that moves or renames one fails there, loudly, instead of deep inside a run.
"""

from __future__ import annotations

from nni.nas.nn.pytorch.cell import preprocess_cell_inputs
from nni.nas.oneshot.pytorch import sampling as _sampling
from nni.nas.oneshot.pytorch.base_lightning import BaseOneShotLightningModule
from nni.nas.oneshot.pytorch.differentiable import DartsLightningModule, GumbelDartsLightningModule
from nni.nas.oneshot.pytorch.sampling import EnasLightningModule, RandomSamplingLightningModule
from nni.nas.oneshot.pytorch.supermodule.base import BaseSuperNetModule
from nni.nas.oneshot.pytorch.supermodule.differentiable import DifferentiableMixedCell
from nni.nas.oneshot.pytorch.supermodule.proxyless import _ProxylessFunction as ProxylessFunction
from nni.nas.oneshot.pytorch.supermodule.sampling import PathSamplingCell

__all__ = [
    "BaseOneShotLightningModule",
    "BaseSuperNetModule",
    "DartsLightningModule",
    "DifferentiableMixedCell",
    "EnasLightningModule",
    "GumbelDartsLightningModule",
    "PathSamplingCell",
    "ProxylessFunction",
    "RandomSamplingLightningModule",
    "has_tianshou",
    "preprocess_cell_inputs",
]


def has_tianshou() -> bool:
    """Whether NNI found tianshou (its ENAS controller is a tianshou policy)."""
    return bool(_sampling.has_tianshou)
