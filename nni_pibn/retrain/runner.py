"""One retraining run: build data, module and Trainer, fit, then write the run's outputs.

Outputs in the run folder (all written atomically, by global rank 0):
``metrics.csv`` (per epoch), ``checkpoints/last.ckpt`` (every epoch) and
``checkpoints/best.ckpt`` (best test accuracy), ``best.pt`` (the best NetworkCIFAR
state_dict), ``model.onnx`` (final weights, checked in onnxruntime), ``final.json``, and
TensorBoard logs under ``tb/``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import LearningRateMonitor, ModelCheckpoint

from .. import layout
from ..complexity import count_macs, count_params
from ..config import config_to_dict
from ..data import DatasetInfo, build_datasets, seed_all
from ..errors import UserError
from ..genotype import load_genotype, write_json
from ..io import atomic_write_json
from ..runs import (
    CHECKPOINT_DIR,
    EpochRecorder,
    EpochSeed,
    RunStamp,
    check_devices,
    check_identity,
    is_secondary_rank,
    last_checkpoint,
    run_identity,
    save_net_weights,
    set_threads,
    trainer_defaults,
    write_config,
)
from ..runs.reporting import NNIReport
from .config import TrainConfig
from .datamodule import RetrainData
from .module import RetrainModule
from .onnx_export import export_onnx

log = logging.getLogger(__name__)


def build_module(cfg: TrainConfig, info: DatasetInfo) -> RetrainModule:
    """The LightningModule for ``cfg`` (weights initialised from ``cfg.seed``)."""
    genotype = load_genotype(cfg.genotype)
    seed_all(cfg.seed)
    return RetrainModule(
        genotype.to_json(), cfg.layers, cfg.channels, info.num_classes, info.name, info.in_channels,
        cfg.auxiliary, cfg.auxiliary_weight, cfg.drop_path_prob, cfg.epochs, cfg.lr, cfg.lr_min,
        cfg.momentum, cfg.weight_decay,
    )


#: the metrics.csv columns of a retraining (besides epoch and lr, and drop_path_prob last).
METRICS = ("train_loss", "train_acc", "test_loss", "test_acc")


def best_checkpoint_callback(run_dir: Path) -> ModelCheckpoint:
    """``best.ckpt`` at the best test accuracy. A callback of its own beside the shared
    last-checkpoint one: Lightning's ``save_last`` only writes when a monitored checkpoint
    was written too."""
    return ModelCheckpoint(dirpath=run_dir / CHECKPOINT_DIR, filename="best", monitor="test_acc", mode="max",
                           save_top_k=1, enable_version_counter=False, save_on_train_epoch_end=True)


def build_trainer(cfg: TrainConfig, run_dir: Path, callbacks: Sequence[pl.Callback], progress: bool,
                  steps_per_epoch: int = 50) -> pl.Trainer:
    kwargs = trainer_defaults(run_dir, epochs=cfg.epochs, accelerator=cfg.accelerator, devices=cfg.devices,
                              progress=progress, callbacks=[*callbacks, best_checkpoint_callback(run_dir)])
    kwargs.update(
        precision=cfg.precision, gradient_clip_val=cfg.grad_clip or None, gradient_clip_algorithm="norm",
        benchmark=True,  # cuDNN autotuning: inputs are always batch x 3 x S x S (no effect on CPU)
        enable_model_summary=progress, log_every_n_steps=max(1, min(50, steps_per_epoch)),
    )
    try:
        return pl.Trainer(**kwargs)
    except (ValueError, RuntimeError) as exc:  # e.g. a precision the device lacks, more devices than exist
        setting = f"{cfg.accelerator}, devices={cfg.devices}, precision={cfg.precision}"
        raise UserError(f"cannot set up training ({setting}): {str(exc).splitlines()[0]}") from None


def train(cfg: TrainConfig, run_dir: str | Path, *, resume: bool = False, progress: bool = True,
          callbacks: Sequence[pl.Callback] = ()) -> dict[str, Any] | None:
    """Trains ``cfg`` into ``run_dir`` (resuming from its ``last.ckpt`` when ``resume``) and
    returns the contents of ``final.json`` (None on DDP ranks other than 0).

    Data, genotype and (on resume) the checkpoint's identity are checked before anything is
    written; then ``config.yaml`` and ``genotype.json`` are (re)written and training starts."""
    run_dir = Path(run_dir)
    check_devices(cfg.accelerator, cfg.devices, cfg.precision)
    set_threads(cfg.threads)
    data = build_datasets(cfg.dataset, cfg.data, augment=cfg.augment, cutout=cfg.cutout, download=cfg.download,
                          image_size=cfg.image_size)
    module = build_module(cfg, data.info)
    identity = run_identity("train", dict(module.hparams))
    ckpt_path = last_checkpoint(run_dir) if resume else None
    if ckpt_path is not None:
        check_identity(ckpt_path, identity)  # missing, corrupt or another run's: one-line error, nothing written
    if not is_secondary_rank():
        write_config(run_dir, config_to_dict(cfg))
        write_json(module.genotype, run_dir / "genotype.json")
    nni_cb = NNIReport(metric="test_acc", stage="train")
    recorder = EpochRecorder(run_dir, METRICS, extras={"drop_path_prob": _drop_path_prob})
    own = [EpochSeed(cfg.seed), RunStamp(identity), recorder, nni_cb, LearningRateMonitor(logging_interval="epoch")]
    steps = len(data.train) // (cfg.batch_size * cfg.devices)  # type: ignore[arg-type]
    trainer = build_trainer(cfg, run_dir, [*own, *callbacks], progress, steps)
    on_gpu = trainer.accelerator.__class__.__name__ == "CUDAAccelerator"
    module.memory_format = layout.resolve(cfg.memory_format, trainer.strategy.root_device)
    module.compile_net = cfg.compile
    datamodule = RetrainData(data, cfg.batch_size, cfg.seed, cfg.num_workers, pin_memory=on_gpu)
    start = time.time()
    trainer.fit(module, datamodule=datamodule, ckpt_path=str(ckpt_path) if ckpt_path else None)
    if not trainer.is_global_zero:
        return None
    return finish(cfg, run_dir, module, trainer, recorder.rows, time.time() - start)


def _drop_path_prob(module: pl.LightningModule) -> float:
    """The drop-path probability the epoch trained with (the module sets it at epoch start)."""
    return float(getattr(module.net, "drop_path_prob", 0.0))


def finish(cfg: TrainConfig, run_dir: Path, module: RetrainModule, trainer: pl.Trainer,
           metrics: list[dict[str, float]], seconds: float) -> dict[str, Any]:
    """Writes ``best.pt``, ``model.onnx`` and ``final.json`` after ``fit`` (``metrics``: the
    recorder's per-epoch rows)."""
    best_path = next((cb.best_model_path for cb in trainer.checkpoint_callbacks
                      if isinstance(cb, ModelCheckpoint) and cb.monitor == "test_acc"), "")
    if best_path:
        save_net_weights(best_path, run_dir / "best.pt")
    net = module.net.float().cpu().eval()
    hp = module.hparams
    shape = (hp.in_channels, cfg.image_size, cfg.image_size)
    best = max(metrics, key=lambda r: r["test_acc"]) if metrics else None
    final: dict[str, Any] = {
        "test_acc": metrics[-1]["test_acc"] if metrics else None,
        "best_test_acc": best["test_acc"] if best else None,
        "best_epoch": int(best["epoch"]) if best else None,
        "epochs": cfg.epochs,
        "dataset": hp.dataset,
        "num_classes": hp.num_classes,
        "layers": hp.layers,
        "channels": hp.channels,
        "params_m": count_params(net) / 1e6,
        "gmac": count_macs(net, (1, *shape)) / 1e9,
        "genotype": hp.genotype,
        "precision": cfg.precision,
        "devices": cfg.devices,
        "train_seconds": round(seconds, 2),
        "config": config_to_dict(cfg),
    }
    if cfg.onnx:
        try:
            final["onnx_max_abs_diff"] = export_onnx(net, run_dir / "model.onnx", shape)
            final["onnx_file"] = "model.onnx"
        except Exception as exc:  # noqa: BLE001  (trained weights are saved; record why export failed)
            log.warning("ONNX export failed: %s", exc)
            final["onnx_error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    atomic_write_json(run_dir / "final.json", final)
    return final
