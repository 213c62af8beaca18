"""One search run: data halves, model space, strategy, Trainer; then ``genotype.json``.

Outputs in the run folder (atomically, by global rank 0): ``config.yaml``, ``metrics.csv``
and ``alphas.json`` after every epoch, ``checkpoints/last.ckpt`` every epoch, TensorBoard
logs under ``tb/``, and at the end ``genotype.json`` (the genotype, NNI's dict, metadata).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl

from ..config import config_to_dict
from ..data import build_datasets, search_split, seed_all, seeded_loader
from ..errors import UserError
from ..genotype import from_nni, write_json
from ..ops.sets import op_names, parse_op_set
from ..runs import (
    EpochRecorder,
    EpochSeed,
    RunStamp,
    check_devices,
    check_identity,
    is_secondary_rank,
    last_checkpoint,
    run_identity,
    set_threads,
    trainer_defaults,
    write_config,
)
from ..runs.reporting import NNIReport
from ..space import PIBSpace
from .config import SearchConfig

#: the metrics.csv columns of a search (besides epoch and lr): weight half, then arch-val half.
METRICS = ("train_loss", "train_acc", "val_loss", "val_acc")


def build_loaders(cfg: SearchConfig) -> tuple[Any, Any, int, int]:
    """(weight-train loader, arch-val loader, num_classes, in_channels) from the training set."""
    data = build_datasets(cfg.dataset, cfg.data, augment=cfg.augment, cutout=0, download=cfg.download,
                          image_size=cfg.image_size)
    weight_half, arch_half = search_split(data.train, cfg.train_portion)
    loaders = [
        seeded_loader(half, cfg.batch_size, shuffle=True, seed=cfg.seed + k, num_workers=cfg.num_workers)
        for k, half in enumerate((weight_half, arch_half))
    ]
    return loaders[0], loaders[1], data.info.num_classes, data.info.in_channels


def trainer_kwargs(cfg: SearchConfig, run_dir: Path, progress: bool) -> dict[str, Any]:
    kwargs = trainer_defaults(run_dir, epochs=cfg.epochs, accelerator=cfg.accelerator, devices=cfg.devices,
                              progress=progress)
    kwargs.update(enable_model_summary=False, log_every_n_steps=10)
    if cfg.limit_batches:
        kwargs.update(limit_train_batches=cfg.limit_batches, limit_val_batches=cfg.limit_batches)
    if cfg.max_duration:  # a wall budget: Lightning ends fit at the first step past it, then we export
        kwargs.update(max_time={"seconds": cfg.max_duration})
    return kwargs


def search(cfg: SearchConfig, run_dir: str | Path, *, resume: bool = False, progress: bool = True,
           callbacks: Sequence[pl.Callback] = (), report_final: bool = True) -> dict[str, Any] | None:
    """Searches into ``run_dir`` (resuming from its ``last.ckpt`` when ``resume``); returns the
    contents of ``genotype.json`` (None on DDP ranks other than 0).

    Everything the user can get wrong (strategy, op set, data) is checked before anything
    is written. ``report_final`` sends the final arch-val accuracy to NNI as the trial's
    result (a pipeline turns it off: its final result is the retrained accuracy)."""
    from ..strategies import MULTI_TRIAL, STRATEGIES, build_search_evaluator, edge_weights_of, run_search

    run_dir = Path(run_dir)
    op_set = str(parse_op_set(cfg.op_set))
    check_devices(cfg.accelerator, cfg.devices)
    set_threads(cfg.threads)
    kind = STRATEGIES.get(cfg.strategy)
    if kind.family == MULTI_TRIAL:  # one NNI trial per sampled architecture (nni_pibn.multitrial)
        from ..multitrial import search_multitrial

        return search_multitrial(cfg, run_dir, resume=resume, progress=progress, report_final=report_final)
    kind.check_available()
    kind.check_options(cfg)
    ckpt_path = last_checkpoint(run_dir) if resume else None
    train_loader, val_loader, num_classes, in_channels = build_loaders(cfg)
    identity = run_identity("search", {**config_to_dict(cfg), "op_set": op_set, "num_classes": num_classes,
                                       "in_channels": in_channels})
    if ckpt_path is not None:
        check_identity(ckpt_path, identity)  # missing, corrupt or another run's: one-line error, nothing written
    seed_all(cfg.seed)
    strategy = kind.build(cfg)
    space = PIBSpace(op_set=op_set, channels=cfg.channels, layers=cfg.layers, nodes=cfg.nodes,
                     num_classes=num_classes, in_channels=in_channels)
    if not is_secondary_rank():
        write_config(run_dir, config_to_dict(cfg))
    recorder = EpochRecorder(run_dir, METRICS, alphas=edge_weights_of)
    nni_cb = NNIReport(metric="val_acc", stage="search", final="last")
    if not report_final:
        nni_cb.on_fit_end = lambda *a, **k: None  # type: ignore[method-assign]
    evaluator = build_search_evaluator(
        train_loader, val_loader, trainer_kwargs(cfg, run_dir, progress),
        learning_rate=cfg.lr, min_learning_rate=cfg.lr_min, momentum=cfg.momentum,
        weight_decay=cfg.weight_decay, num_classes=num_classes,
    )
    own = [EpochSeed(cfg.seed), RunStamp(identity), recorder, nni_cb]
    start = time.time()
    arch = run_search(strategy, space, evaluator, callbacks=[*own, *callbacks],
                      ckpt_path=ckpt_path, memory_format=cfg.memory_format, compile=cfg.compile)
    if is_secondary_rank():
        return None
    genotype = from_nni(arch, op_set=op_set)
    if "none" in genotype.ops():
        raise UserError(f"strategy {cfg.strategy!r} exported 'none'; this is a bug, please report it")
    meta = {
        "strategy": cfg.strategy,
        "op_set": op_set,
        "op_names": op_names(op_set),
        "export_rule": kind.export_rule,
        "epochs": cfg.epochs,
        "final_val_acc": recorder.rows[-1]["val_acc"] if recorder.rows else None,
        "search_seconds": round(time.time() - start, 2),
        "final_alphas": recorder.alphas[-1]["edges"] if recorder.alphas else {},
    }
    write_json(genotype, run_dir / "genotype.json", extra=meta)
    return {"genotype": genotype.to_json(), "nni": genotype.to_nni(), **meta}

