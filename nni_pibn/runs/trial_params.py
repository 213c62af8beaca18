"""Parameters of an NNI trial as config overrides.

An experiment's ``searchSpace`` names config keys (``layers``, ``genotype``, or dotted
``search.strategy`` for a pipeline); NNI's tuner picks values and the trial receives them
from ``nni.get_next_parameter()``. They are applied after ``--config`` and ``--set``, so
the swept knob wins. Only DDP rank 0 may ask NNI (other ranks would hang): it leaves the
parameters in ``NNI_PIBN_TRIAL_PARAMS`` for the ranks Lightning launches later.

Rank 0 also writes them to ``nni_parameters.json`` in the trial's output folder. With
``trialConcurrency`` above 1, NNI 3.0's manager can record and show a trial with the
parameters another trial received (microsoft/nni#5726, #5693; seen here: of two trials
started together, each was listed with the other's genotype), so reports read what the
trial itself received (:func:`received_parameters`) before the manager's record.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..io import atomic_write_json
from .folders import in_nni_trial, is_secondary_rank, nni_output_dir

ENV = "NNI_PIBN_TRIAL_PARAMS"
RECEIVED = "nni_parameters.json"  #: the parameters a trial received, in its output folder


def trial_parameters() -> dict[str, Any]:
    """The trial's parameters (empty outside an NNI trial)."""
    if not in_nni_trial():
        return {}
    if is_secondary_rank():
        return json.loads(os.environ.get(ENV, "{}"))
    import nni

    params = nni.get_current_parameter()
    if params is None:
        params = nni.get_next_parameter()
    os.environ[ENV] = json.dumps(params or {})
    out = nni_output_dir()
    if out is not None and out.is_dir():
        atomic_write_json(out / RECEIVED, params or {})
    return dict(params or {})


def received_parameters(trial_dir: str | Path | None) -> dict[str, Any] | None:
    """The parameters the trial in ``trial_dir`` recorded as received (None: no readable record)."""
    if not trial_dir:
        return None
    try:
        data = json.loads((Path(trial_dir) / RECEIVED).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def as_overrides(params: dict[str, Any]) -> list[str]:
    """``{"layers": 8, "search.strategy": "darts"}`` -> ``["layers=8", 'search.strategy="darts"']``."""
    return [f"{key}={json.dumps(value)}" for key, value in params.items()]
