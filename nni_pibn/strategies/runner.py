"""Running a one-shot strategy directly, without ``NasExperiment``.

NNI 3.0's one-shot flow is ``strategy.mutate_model(space)`` (in place, into a supernet),
``strategy.mutate_evaluator(evaluator)`` (a new ``Lightning`` evaluator whose module is the
strategy's one-shot Lightning module), ``evaluator.evaluate(space)`` (``trainer.fit``), then
``module.export()``. ``NasExperiment`` would wrap this in its sequential engine, which swaps
the NNI trial channel (and swallows ``nni.report_*`` calls); calling it directly keeps
reporting working inside a trial.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from nni.nas.evaluator.pytorch import Lightning
from nni.nas.nn.pytorch import ModelSpace
from nni.nas.strategy.base import Strategy
from pytorch_lightning.callbacks import Checkpoint

from .. import layout
from ..compiling import compile_module
from ..supernet import remove_pass_scope


def add_callbacks(trainer: pl.Trainer, callbacks: Sequence[pl.Callback]) -> None:
    """Adds callbacks to a built trainer, keeping checkpoint callbacks last (Lightning's order)."""
    current = list(trainer.callbacks)  # type: ignore[attr-defined]
    ckpts = [c for c in current if isinstance(c, Checkpoint)]
    others = [c for c in current if not isinstance(c, Checkpoint)]
    trainer.callbacks = others + list(callbacks) + ckpts  # type: ignore[attr-defined]


def run_search(
    strategy: Strategy,
    space: ModelSpace,
    evaluator: Lightning,
    *,
    callbacks: Sequence[pl.Callback] = (),
    ckpt_path: str | Path | None = None,
    seed: int | None = None,
    memory_format: str = "auto",
    compile: bool = False,
) -> dict[str, Any]:
    """Searches ``space`` with a one-shot ``strategy``; returns NNI's exported architecture dict.

    ``space`` becomes the trained supernet in place (read its alphas afterwards with
    :func:`~nni_pibn.strategies.export.edge_weights_of`). ``evaluator`` is an NNI
    ``Lightning`` evaluator with train and val dataloaders (see
    :func:`~nni_pibn.strategies.evaluator.build_search_evaluator`); its trainer runs the
    search. ``callbacks`` are added to that trainer (e.g. ``AlphaHistory``, a
    ``ModelCheckpoint``, an NNI reporter); ``ckpt_path`` resumes ``trainer.fit`` from a
    Lightning checkpoint of the same strategy and space. ``seed`` (if given) seeds Python,
    NumPy and torch via ``pl.seed_everything`` before the architecture parameters are
    created; seed before building ``space`` too for reproducible weights. ``memory_format``
    (``auto``, ``channels_last``, ``contiguous``; see :mod:`nni_pibn.layout`) is applied to
    the supernet once it is built; ``compile`` runs it through ``torch.compile``
    (:mod:`nni_pibn.compiling`).

    The result is ``{'normal/op_2_0': 'pib_conv_3x3', 'normal/input_2_0': [0], ...}``; turn
    it into a genotype with :func:`nni_pibn.genotype.from_nni`.
    """
    if seed is not None:
        pl.seed_everything(seed, workers=True, verbose=False)
    strategy.mutate_model(space)  # type: ignore[attr-defined]
    search = strategy.mutate_evaluator(evaluator)  # type: ignore[attr-defined]
    layout.apply(space, memory_format, search.trainer.strategy.root_device)
    if compile:
        remove_pass_scope(space)
        compile_module(space)
    add_callbacks(search.trainer, callbacks)
    if ckpt_path is not None:
        search.fit_kwargs["ckpt_path"] = str(ckpt_path)
    search.evaluate(space)
    return search.module.export()
