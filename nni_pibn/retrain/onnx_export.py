"""ONNX export of a trained network, verified by running it in onnxruntime.

The network is exported in eval mode (a single logits output, no auxiliary head, no drop
path) with a dynamic batch axis, through torch's TorchScript-based exporter
(``dynamo=False``: the dynamo exporter needs ``onnxscript``, which is not a dependency).
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..io import atomic_path

OPSET = 17


def export_onnx(net: nn.Module, path: str | Path, input_shape: tuple[int, int, int], batch: int = 4,
                seed: int = 0) -> float:
    """Writes ``net`` to ``path`` (atomically) and returns the largest absolute difference between
    onnxruntime's and torch's logits on ``batch`` seeded random inputs of ``input_shape`` (C, H, W)."""
    import onnxruntime as ort

    model = copy.deepcopy(net).float().cpu().eval().to(memory_format=torch.contiguous_format)
    x = torch.randn(batch, *input_shape, generator=torch.Generator().manual_seed(seed))
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Cc]onstant folding.*")
        torch.onnx.export(
            model, (x[:1],), str(tmp), dynamo=False, opset_version=OPSET,
            input_names=["images"], output_names=["logits"],
            dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
        )
    with torch.no_grad():
        expected = model(x).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"images": x.numpy()})[0]
    return float(np.abs(got - expected).max())
