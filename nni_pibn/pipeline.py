"""The paper's pipeline in one run: search, export the genotype, retrain it.

Run folder layout: ``config.yaml`` (the resolved :class:`PipelineConfig`), ``search/`` (a
search run folder, ending in ``genotype.json``) and ``train/`` (a retrain run folder of
that genotype, ending in ``final.json``). As an NNI trial it reports the search's arch-val
accuracy per epoch (tagged ``stage: search``), then the retrain's test accuracy per epoch
(``stage: train``), and finally the retrained test accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import config_to_dict
from .errors import UserError
from .ops.sets import canonical_op_set
from .retrain.config import TrainConfig
from .runs import check_devices, check_identity, is_secondary_rank, last_checkpoint, run_identity, write_config
from .runs.reporting import planned_stages
from .search.config import SearchConfig

SEARCH, TRAIN = "search", "train"


@dataclass
class PipelineConfig:
    search: SearchConfig = field(default_factory=SearchConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        if self.train.genotype != TrainConfig.genotype:
            raise ValueError(
                "train.genotype is set by the pipeline (the searched genotype); to retrain a given "
                "genotype use 'nni-pibn train --genotype'"
            )


def stage_state(run_dir: Path) -> tuple[bool, bool]:
    """(search finished, retraining started) for a pipeline run folder."""
    return (run_dir / SEARCH / "genotype.json").is_file(), last_checkpoint(run_dir / TRAIN).is_file()


def check_resume(cfg: PipelineConfig, run_dir: Path) -> None:
    """Checks, without writing, that the stage a resumed pipeline continues can continue: the
    search's checkpoint (when the search had not finished) or the searched genotype and the
    retraining's checkpoint; each must belong to this pipeline's settings."""
    from .genotype import load_genotype

    searched, trained = stage_state(run_dir)
    search_ckpt, train_ckpt = last_checkpoint(run_dir / SEARCH), last_checkpoint(run_dir / TRAIN)
    if not searched:
        if trained:
            raise UserError(f"pipeline folder {str(run_dir)!r} has a retraining checkpoint but no searched genotype "
                            f"({SEARCH}/genotype.json); the folder is damaged: start a new run with --out")
        if search_ckpt.is_file():
            spec = {**config_to_dict(cfg.search), "op_set": canonical_op_set(cfg.search.op_set)}
            check_identity(search_ckpt, run_identity("search", spec))
        return
    genotype = load_genotype(run_dir / SEARCH)
    if trained:
        spec = {**config_to_dict(cfg.train), "genotype": genotype.to_json()}
        check_identity(train_ckpt, run_identity("train", spec))


def run_pipeline(cfg: PipelineConfig, run_dir: str | Path, *, resume: bool = False,
                 progress: bool = True) -> dict[str, Any] | None:
    """Searches, then retrains the exported genotype; returns the retrain's ``final.json``.

    With ``resume`` a finished search is kept, an interrupted one continues from its last
    checkpoint, and so does an interrupted retraining; both are checked (:func:`check_resume`)
    before anything is written."""
    from .data import build_datasets
    from .retrain import train
    from .search import search

    run_dir = Path(run_dir)
    search_dir, train_dir = run_dir / SEARCH, run_dir / TRAIN
    check_devices(cfg.search.accelerator, cfg.search.devices)
    check_devices(cfg.train.accelerator, cfg.train.devices, cfg.train.precision)
    if resume:
        check_resume(cfg, run_dir)
    searched, trained = stage_state(run_dir) if resume else (False, False)
    for stage in (cfg.search, cfg.train):  # missing data: a one-line error before anything is written
        build_datasets(stage.dataset, stage.data, download=stage.download, image_size=stage.image_size)
    if not is_secondary_rank():
        write_config(run_dir, config_to_dict(cfg))
    with planned_stages(SEARCH, TRAIN):  # NNI's web UI then offers both stages' metric keys
        if not searched:
            search_dir.mkdir(parents=True, exist_ok=True)
            resume_search = resume and last_checkpoint(search_dir).is_file()
            search(cfg.search, search_dir, resume=resume_search, progress=progress, report_final=False)
        if not (search_dir / "genotype.json").is_file():
            if is_secondary_rank():
                return None
            raise UserError(f"the search wrote no {str(search_dir / 'genotype.json')!r}; see its log")
        train_cfg = TrainConfig(**{**config_to_dict(cfg.train), "genotype": str(search_dir.resolve())})
        train_dir.mkdir(parents=True, exist_ok=True)
        return train(train_cfg, train_dir, resume=trained, progress=progress)
