"""One multi-trial search: NNI's ``NasExperiment`` over the PIB space, one trial per architecture.

Outputs in the run folder: ``config.yaml`` (at the start), ``trials.csv`` (rewritten as
trials end), ``nni/`` (NNI's experiment folder and ``experiment.json``), and at the end
``genotype.json`` of the best trial, in the format a one-shot search writes, so
``nni-pibn train --genotype RUN`` and the pipeline take it unchanged. The web UI address
is printed first and stays valid while the search runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nni.nas.strategy.middleware import Chain

from ..config import config_to_dict
from ..data import build_datasets
from ..errors import UserError
from ..genotype import write_json
from ..ops.sets import op_names, parse_op_set
from ..runs import in_nni_trial, reporting, write_config
from ..space import PIBSpace
from .evaluator import build_trial_evaluator
from .experiment import (
    NNI_DIR,
    RECORD,
    experiment_config,
    isolated_from_outer_trial,
    pick_port,
    quiet_nni_console,
    read_record,
    sigterm_as_interrupt,
    use_own_checkpoints,
    write_record,
)
from .legacy import CellNasExperiment
from .progress import Progress, TrialEnded
from .results import TRIALS_CSV, TrialRecord, best_trial


def _echo(line: str) -> None:
    print(line, flush=True)


def _check(cfg: Any) -> Any:
    """The strategy's kind, with everything a user can get wrong checked before a write."""
    from ..strategies import MULTI_TRIAL, STRATEGIES

    kind = STRATEGIES.get(cfg.strategy)
    if kind.family != MULTI_TRIAL:
        raise UserError(f"strategy {cfg.strategy!r} is {kind.family}, not multi-trial; run it with nni-pibn search")
    kind.check_available()
    kind.check_options(cfg)
    if cfg.devices != 1:
        raise UserError(f"devices={cfg.devices}: a multi-trial search trains one architecture per trial on one "
                        "device; run several at once with trial_concurrency instead")
    return kind


def search_multitrial(cfg: Any, run_dir: str | Path, *, resume: bool = False, progress: bool = True,
                      report_final: bool = True, echo: Callable[[str], None] = _echo) -> dict[str, Any]:
    """Searches ``cfg`` (a ``SearchConfig`` naming a multi-trial strategy) into ``run_dir``;
    returns what ``genotype.json`` holds.

    ``resume`` continues the run folder's NNI experiment with NNI's own resume (trials that
    finished are kept; the strategy restarts from its saved state; TPE's tuner and RL's
    running trajectories start afresh, as NNI saves none). ``report_final``: inside an
    nnictl trial, send the best accuracy as that trial's final result (a pipeline turns it
    off). ``progress``: NNI's INFO log on the console (off: warnings only)."""
    run_dir = Path(run_dir)
    kind = _check(cfg)
    op_set = str(parse_op_set(cfg.op_set))
    # a folder that already holds this search's experiment continues it (a resumed pipeline
    # asks for a fresh search when its search left no checkpoint, as a multi-trial one never does)
    resume = resume or (run_dir / NNI_DIR / RECORD).is_file()
    record = read_record(run_dir) if resume else None
    data = build_datasets(cfg.dataset, cfg.data, augment=False, download=cfg.download, image_size=cfg.image_size)
    num_classes, in_channels = data.info.num_classes, data.info.in_channels
    port = pick_port(cfg.port)
    with _console(progress):
        strategy = kind.build(cfg)
    space = PIBSpace(op_set=op_set, channels=cfg.channels, layers=cfg.layers, nodes=cfg.nodes,
                     num_classes=num_classes, in_channels=in_channels)
    evaluator = build_trial_evaluator(cfg, num_classes, in_channels)
    write_config(run_dir, config_to_dict(cfg))

    outer = None
    if in_nni_trial():  # open the channel to the enclosing trial's manager before hiding its variables
        import nni

        reporting.ensure_trial_parameters()
        outer = nni
    follow = Progress(run_dir, cfg, op_set, echo, outer, reporting.current_planned_stages())
    exp = CellNasExperiment(space, evaluator, Chain(strategy, TrialEnded(follow)), experiment_config(cfg, run_dir),
                            id=record["id"] if record else None)
    if record:
        follow.shown = ended_trials(run_dir / NNI_DIR / exp.id)  # reported before the interrupt
    use_own_checkpoints()
    url = f"http://127.0.0.1:{port}"
    earlier = float(record.get("seconds", 0.0)) if record else 0.0
    start = time.time()
    finished = False
    with isolated_from_outer_trial(), sigterm_as_interrupt(), _console(progress):
        try:
            what = f"NNI experiment {exp.id} ({cfg.strategy}, {cfg.max_trials} trials of {cfg.trial_epochs} epochs)"
            echo(f"resuming {what}, {len(follow.shown)} ended before; web UI: {url}" if record
                 else f"starting {what}; web UI: {url}")
            write_record(run_dir, exp.id, url, earlier)
            follow.exp = exp
            done = exp.resume(port) if record else exp.run(port)
            finished = done is not None
            if finished:
                follow.update()
        finally:
            if exp.port is not None:  # still running: stop the manager (an interrupt has stopped it already)
                exp.stop()
            write_record(run_dir, exp.id, url, earlier + time.time() - start)
    if not finished:
        echo(f"search interrupted; NNI saved experiment {exp.id}: continue it with nni-pibn search --resume {run_dir}")
        raise KeyboardInterrupt
    return _export(cfg, run_dir, kind, op_set, follow.records, exp.id, url, earlier + time.time() - start, outer,
                   report_final)


def ended_trials(exp_dir: Path) -> set[str]:
    """Ids of the trials of a stopped experiment that had ended (from its database)."""
    from ..report.experiment import trials_from_dir

    return {t.trial_id for t in trials_from_dir(exp_dir) if t.status not in ("WAITING", "RUNNING", "UNKNOWN")}


def _console(progress: bool) -> Any:
    from contextlib import nullcontext

    return nullcontext() if progress else quiet_nni_console()


def _export(cfg: Any, run_dir: Path, kind: Any, op_set: str, records: list[TrialRecord], exp_id: str, url: str,
            seconds: float, outer: Any, report_final: bool) -> dict[str, Any]:
    """``genotype.json`` of the best trial (a UserError naming a failed trial's log if none succeeded)."""
    best = best_trial(records)
    if best is None or best.genotype is None:
        failed = next((r for r in records if r.status != "SUCCEEDED"), None)
        where = f"; see {Path(failed.log_path) / 'trial.log'}" if failed and failed.log_path else ""
        raise UserError(f"no trial of NNI experiment {exp_id} succeeded ({len(records)} ran){where}; "
                        f"{run_dir / TRIALS_CSV} lists them")
    meta = {
        "strategy": cfg.strategy,
        "op_set": op_set,
        "op_names": op_names(op_set),
        "export_rule": kind.export_rule,
        "epochs": cfg.trial_epochs,
        "final_val_acc": best.final,
        "search_seconds": round(seconds, 2),
        "final_alphas": {},
        "best_trial": best.trial_id,
        "trials": len(records),
        "succeeded": sum(r.status == "SUCCEEDED" for r in records),
        "experiment_id": exp_id,
        "web_ui": url,
    }
    write_json(best.genotype, run_dir / "genotype.json", extra=meta)
    if outer is not None and report_final:
        outer.report_final_result({"default": best.final, "search_val_acc": best.final, "stage": "search"})
    return {"genotype": best.genotype.to_json(), "nni": best.genotype.to_nni(), **meta}
