"""Multi-trial NAS on the PIB space: NNI's strategies, one NNI trial per sampled architecture.

A one-shot search trains one supernet; a multi-trial search trains every architecture it
samples as a fixed network, each an NNI trial watched in NNI's web UI. The strategies
(``random``, ``evolution``, ``rl``, ``tpe``) are NNI's, registered in
:mod:`nni_pibn.strategies.multitrial`; ``nni-pibn search --strategy evolution`` runs here.

- :mod:`.evaluator`: what one trial does (NNI's ``Lightning`` evaluator, fixed network);
- :mod:`.experiment`: ``NasExperiment`` plumbing (port, record, nesting in an nnictl trial);
- :mod:`.progress`: trials followed as they end; :mod:`.results`: ``trials.csv``;
- :mod:`.legacy`: a ``Cell`` space in NNI's HPO format (TPE, the web UI's search space);
- :mod:`.runner`: :func:`search_multitrial`, the whole run.

Usage::

    nni-pibn search --strategy evolution --set max_trials=50 --set trial_epochs=5 --out runs/evo
    nni-pibn train --genotype runs/evo --layers 8     # retrain the best architecture
"""

from __future__ import annotations

from typing import Any

__all__ = ["search_multitrial"]


def __getattr__(name: str) -> Any:
    # imported on first use: nni_pibn.strategies registers the multi-trial strategies from
    # this package's legacy module, and the runner imports nni_pibn.strategies back
    if name == "search_multitrial":
        from .runner import search_multitrial

        return search_multitrial
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
