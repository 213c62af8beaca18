"""Standalone retraining of a genotype (``nni-pibn train``): DARTS' evaluation protocol on Lightning.

    from nni_pibn.config import load_config
    from nni_pibn.retrain import TrainConfig, train
    cfg = load_config(TrainConfig, overrides=["genotype=pibn", "layers=8", "epochs=10"])
    final = train(cfg, "runs/pibn-8")
"""

from __future__ import annotations

from .config import TrainConfig
from .module import RetrainModule, drop_path_schedule, retrain_loss
from .runner import train

__all__ = ["RetrainModule", "TrainConfig", "drop_path_schedule", "retrain_loss", "train"]
