"""Run plumbing shared by search, retraining and the pipeline.

- :mod:`.folders`: where a run writes (``config.yaml``, a fresh or resumed folder, DDP ranks,
  NNI trials' ``$NNI_OUTPUT_DIR``);
- :mod:`.checkpoint`: atomic checkpoint writes and the checks that make ``--resume`` refuse
  a wrong file;
- :mod:`.resume`: what ``--resume`` may change, checked in one place;
- :mod:`.seeding`: per-epoch reseeding, so a resumed run replays the same epochs;
- :mod:`.recorder`: the one per-epoch recorder (``metrics.csv``, optionally ``alphas.json``);
- :mod:`.trainer`: the Trainer settings every run shares;
- :mod:`.lookup`: finding a run's search or train folder from a trial, pipeline or stage folder;
- :mod:`.reporting`: reporting a run's metrics to NNI when it is a trial (one key per stage);
- :mod:`.trial_params`: an NNI trial's parameters as config overrides.

Every public name is importable from ``nni_pibn.runs``.
"""

from __future__ import annotations

from .checkpoint import (
    CHECKPOINT_DIR,
    IDENTITY_KEYS,
    LAST,
    AtomicCheckpointIO,
    RunStamp,
    check_identity,
    last_checkpoint,
    last_checkpoint_callback,
    read_checkpoint,
    run_identity,
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
from .lookup import find_stage
from .recorder import ALPHAS_FILE, METRICS_FILE, EpochRecorder, weight_lr
from .resume import RESUME_MAY_CHANGE, resume_conflicts
from .seeding import EpochSeed
from .trainer import check_devices, set_threads, trainer_defaults

__all__ = [
    "ALPHAS_FILE",
    "CHECKPOINT_DIR",
    "CONFIG",
    "IDENTITY_KEYS",
    "LAST",
    "METRICS_FILE",
    "RESUME_MAY_CHANGE",
    "RUN_DIR_ENV",
    "AtomicCheckpointIO",
    "EpochRecorder",
    "EpochSeed",
    "RunStamp",
    "check_devices",
    "check_identity",
    "create_run_dir",
    "default_run_dir",
    "find_stage",
    "in_nni_trial",
    "is_secondary_rank",
    "last_checkpoint",
    "last_checkpoint_callback",
    "nni_output_dir",
    "open_run_dir",
    "read_checkpoint",
    "read_config",
    "resume_conflicts",
    "run_identity",
    "set_threads",
    "save_net_weights",
    "trainer_defaults",
    "weight_lr",
    "write_config",
]
