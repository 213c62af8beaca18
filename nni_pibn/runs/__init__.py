"""Run plumbing shared by search, retraining and the pipeline.

- :mod:`.folders`: where a run writes (``config.yaml``, a fresh or resumed folder, DDP ranks,
  NNI trials' ``$NNI_OUTPUT_DIR``);
- :mod:`.checkpoint`: atomic checkpoint writes and the checks that make ``--resume`` refuse
  a wrong file;
- :mod:`.seeding`: per-epoch reseeding, so a resumed run replays the same epochs;
- :mod:`.recorder`: the one per-epoch recorder (``metrics.csv``, optionally ``alphas.json``);
- :mod:`.trainer`: the Trainer settings every run shares.

Every public name is importable from ``nni_pibn.runs``.
"""

from __future__ import annotations

from .checkpoint import (
    CHECKPOINT_DIR,
    IDENTITY_KEYS,
    LAST,
    AtomicCheckpointIO,
    check_identity,
    last_checkpoint,
    last_checkpoint_callback,
    read_checkpoint,
    save_net_weights,
)
from .folders import (
    CONFIG,
    RUN_DIR_ENV,
    create_run_dir,
    default_run_dir,
    in_nni_trial,
    is_secondary_rank,
    nni_output_dir,
    open_run_dir,
    read_config,
    write_config,
)
from .recorder import ALPHAS_FILE, METRICS_FILE, EpochRecorder, weight_lr
from .seeding import EpochSeed
from .trainer import trainer_defaults

__all__ = [
    "ALPHAS_FILE",
    "CHECKPOINT_DIR",
    "CONFIG",
    "IDENTITY_KEYS",
    "LAST",
    "METRICS_FILE",
    "RUN_DIR_ENV",
    "AtomicCheckpointIO",
    "EpochRecorder",
    "EpochSeed",
    "check_identity",
    "create_run_dir",
    "default_run_dir",
    "in_nni_trial",
    "is_secondary_rank",
    "last_checkpoint",
    "last_checkpoint_callback",
    "nni_output_dir",
    "open_run_dir",
    "read_checkpoint",
    "read_config",
    "save_net_weights",
    "trainer_defaults",
    "weight_lr",
    "write_config",
]
