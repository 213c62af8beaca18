"""Running NNI's ``NasExperiment`` for a multi-trial search: its config, port, environment,
interrupts, and the record that lets ``--resume`` find it again.

The experiment runs on NNI's local training service through the NNI manager, so its web
UI is up while the search runs, and keeps everything under ``<run>/nni/<id>/`` (database,
logs, one folder per trial); ``<run>/nni/experiment.json`` names the experiment and its
web UI. ``NasExperiment`` runs trials from the current folder (``trial_code_directory``
must be it) as ``python -m nni.nas.execution.training_service trial``.

Inside an nnictl trial (``search.strategy: evolution`` in an experiment YAML) the process
carries the outer trial's ``NNI_*`` variables. The inner NNI manager and its trials would
inherit them, and a trial with ``NNI_PLATFORM`` and ``NNI_TRIAL_JOB_ID`` of the outer
experiment is a trial of that experiment as far as NNI's trial API is concerned; so
:func:`isolated_from_outer_trial` hides them while the inner experiment starts and runs
(the outer trial's channel to its own manager is opened before, and keeps working).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nni.nas.experiment import NasExperimentConfig
from nni.nas.utils.serializer import TorchSerializer, set_default_serializer

from ..errors import UserError
from ..io import atomic_write_json

#: the experiment's record inside the run folder, and the NNI working folder beside it.
NNI_DIR = "nni"
RECORD = "experiment.json"
#: where ``port: 0`` starts looking for a free port (NNI's own default).
FIRST_PORT = 8080
#: environment variables of an enclosing NNI trial (and of this project's run plumbing).
OUTER_PREFIXES = ("NNI_",)


def port_free(port: int) -> bool:
    """Whether a server could listen on ``port`` (a port in TIME_WAIT after an experiment
    stopped counts as free, as it does for NNI's manager)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("", port))
        except OSError:
            return False
    return True


def pick_port(requested: int, tries: int = 200) -> int:
    """``requested``, checked free, or the first free port from 8080 when it is 0."""
    if requested:
        if not port_free(requested):
            raise UserError(f"port {requested} is in use (another NNI experiment?); set port=0 to take a free one, "
                            "or stop that experiment (nnictl experiment list shows it)")
        return requested
    port = next((p for p in range(FIRST_PORT, FIRST_PORT + tries) if port_free(p)), None)
    if port is None:
        raise UserError(f"no free port in {FIRST_PORT}..{FIRST_PORT + tries - 1} for the NNI web UI; "
                        "set port=N to a free one")
    return port


def experiment_config(cfg: Any, run_dir: Path) -> NasExperimentConfig:
    """NNI's experiment config for the multi-trial search ``cfg`` (a ``SearchConfig``).

    No ``trial_gpu_number``: NNI then schedules no GPUs and each trial uses the first GPU
    when there is one (Lightning's ``auto`` accelerator), else the CPU, as every experiment
    of this project does."""
    config = NasExperimentConfig("ts", "simplified", "local")
    config.experiment_name = f"pibn-{cfg.strategy}"
    config.experiment_working_directory = str((run_dir / NNI_DIR).resolve())
    config.max_trial_number = cfg.max_trials
    config.trial_concurrency = cfg.trial_concurrency
    if cfg.max_duration:
        config.max_experiment_duration = f"{cfg.max_duration}s"
    return config


class OwnCheckpointSerializer(TorchSerializer):
    """NNI's checkpoint serializer, loading with ``weights_only=False``.

    NNI 3.0 saves the strategy's state (evolution's population, random states, RL's policy
    and replay buffer) with ``torch.save`` and reads it back with a bare ``torch.load``,
    whose default turned to ``weights_only=True`` in torch 2.6: every resume then fails
    with ``UnpicklingError: ... nni.nas.strategy.evolution.Individual was not an allowed
    global``. The file is the experiment's own, under the run folder, so it is trusted."""

    def load(self, path: Path) -> Any:
        import torch

        target = Path(path) if Path(path).exists() else Path(f"{path}{self.suffix}")
        if not target.exists():
            raise FileNotFoundError(f"no NNI checkpoint {target}")  # NNI's resume skips a missing state
        return torch.load(str(target), map_location=self._map_location, weights_only=False)


def use_own_checkpoints() -> None:
    """Makes NNI read its experiment checkpoints with :class:`OwnCheckpointSerializer`."""
    set_default_serializer(OwnCheckpointSerializer())


def write_record(run_dir: Path, exp_id: str, url: str, seconds: float) -> None:
    """``experiment.json``: the experiment's id, web UI and the search's wall time so far."""
    atomic_write_json(run_dir / NNI_DIR / RECORD, {"id": exp_id, "web_ui": url, "seconds": round(seconds, 2)})


def read_record(run_dir: Path) -> dict[str, Any]:
    """The experiment a run folder holds; a UserError saying why it cannot be resumed otherwise."""
    path = run_dir / NNI_DIR / RECORD
    try:
        record = json.loads(path.read_text())
        exp_id = str(record["id"])
    except (OSError, ValueError, KeyError, TypeError):
        raise UserError(f"cannot resume {str(run_dir)!r}: {str(path)!r} is missing or damaged, so the NNI experiment "
                        "of this search is unknown; start a new search with --out") from None
    from nni.tools.nnictl.config_utils import Experiments

    if exp_id not in Experiments().get_all_experiments():
        raise UserError(f"cannot resume {str(run_dir)!r}: NNI no longer lists experiment {exp_id} (its entry in "
                        "~/nni-experiments/.experiment is gone), and NNI resumes only experiments it lists; "
                        "start a new search with --out")
    return record


@contextmanager
def isolated_from_outer_trial() -> Iterator[None]:
    """Hides an enclosing NNI trial's ``NNI_*`` variables from the NNI manager and trials
    started in the block; restores them after."""
    hidden = {k: v for k, v in os.environ.items() if k.startswith(OUTER_PREFIXES)}
    for key in hidden:
        del os.environ[key]
    try:
        yield
    finally:
        os.environ.update(hidden)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """The first SIGTERM (``nnictl stop`` of an enclosing trial, ``kill``) raises
    KeyboardInterrupt, so NNI stops its manager and trials and saves its checkpoint instead
    of leaving them running; later ones (``timeout`` forwards the signal too) are ignored,
    so they cannot break that shutdown halfway."""
    def interrupt(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def quiet_nni_console() -> Iterator[None]:
    """NNI's console log down to warnings while the search runs (its INFO lines print every
    sampled architecture in full); ``<run>/nni/<id>/log/experiment.log`` keeps them all."""
    from nni.runtime import log as nni_log

    nni_log.silence_stdout()
    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)
    logger = logging.getLogger("nni")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        nni_log.start_stdout_logging()
