"""Parameters of an NNI trial as config overrides.

An experiment's ``searchSpace`` names config keys (``layers``, ``genotype``, or dotted
``search.strategy`` for a pipeline); NNI's tuner picks values and the trial receives them
from ``nni.get_next_parameter()``. They are applied after ``--config`` and ``--set``, so
the swept knob wins. Only DDP rank 0 may ask NNI (other ranks would hang): it leaves the
parameters in ``NNI_PIBN_TRIAL_PARAMS`` for the ranks Lightning launches later.
"""

from __future__ import annotations

import json
import os
from typing import Any

from .folders import in_nni_trial, is_secondary_rank

ENV = "NNI_PIBN_TRIAL_PARAMS"


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
    return dict(params or {})


def as_overrides(params: dict[str, Any]) -> list[str]:
    """``{"layers": 8, "search.strategy": "darts"}`` -> ``["layers=8", 'search.strategy="darts"']``."""
    return [f"{key}={json.dumps(value)}" for key, value in params.items()]
