"""The rules of ``--resume``, in one place for search, retraining and the pipeline.

A resumed run starts from the config its run folder saved (``config.yaml``). On top of it
the user may change only what does not alter the numbers the next epoch computes: where
the data lives, on which devices and in which numeric precision it runs, how many loader
workers feed it, whether it downloads, whether it exports ONNX at the end, the memory
layout. :data:`RESUME_MAY_CHANGE` lists these keys for every kind of run (a key means the
same in every config); any other change is refused by :func:`resume_conflicts`, which
walks nested configs (a pipeline's ``search:`` and ``train:`` sections) the same way.

The checkpoint is then checked against the run's identity
(:data:`~nni_pibn.runs.checkpoint.IDENTITY_KEYS`), so a config edited by hand or a
checkpoint copied from another run cannot resume a different network.
"""

from __future__ import annotations

import dataclasses
from typing import Any

#: config keys a resumed run may change, whatever its kind.
RESUME_MAY_CHANGE = frozenset({
    "accelerator", "devices", "precision", "num_workers", "memory_format", "compile", "threads",  # where and how it computes
    "data", "download",  # where the (same) data lives
    "onnx",  # an export after training
    "port",  # where a multi-trial search's NNI web UI listens
})


def resume_conflicts(saved: Any, new: Any, prefix: str = "") -> list[str]:
    """``key: saved -> new`` for every setting of two configs (dataclasses, nested ones
    walked with dotted keys) that differs although a resumed run may not change it."""
    out = []
    for f in dataclasses.fields(saved):
        a, b = getattr(saved, f.name), getattr(new, f.name)
        if dataclasses.is_dataclass(a) and dataclasses.is_dataclass(b):
            out += resume_conflicts(a, b, f"{prefix}{f.name}.")
        elif f.name not in RESUME_MAY_CHANGE and a != b:
            out.append(f"{prefix}{f.name}: {a!r} -> {b!r}")
    return out
