"""Rebuilding a retrained network from its run folder (``final.json`` + ``best.pt``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..errors import UserError
from ..genotype import from_json
from ..network import NetworkCIFAR
from ._common import read_json_file, require_file


def load_retrained(run_dir: str | Path) -> tuple[NetworkCIFAR, dict[str, Any]]:
    """The best weights of a ``nni-pibn train`` run, in eval mode, and its ``final.json``."""
    final = read_json_file(require_file(run_dir, "final.json", "it is written by 'nni-pibn train' when training ends"))
    weights = require_file(run_dir, "best.pt", "it is written by 'nni-pibn train' when training ends")
    cfg = final.get("config", {})
    net = NetworkCIFAR(from_json(final["genotype"]), final["channels"], final["layers"], final["num_classes"],
                       auxiliary=bool(cfg.get("auxiliary", True)))
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        net.load_state_dict(state)
    except Exception as exc:  # noqa: BLE001 - any unreadable or mismatched file is the same user error
        raise UserError(f"{str(weights)!r} cannot be loaded into the run's network ({type(exc).__name__}); "
                        "rerun the training") from None
    return net.eval(), final
