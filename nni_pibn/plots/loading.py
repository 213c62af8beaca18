"""Rebuilding a retrained network from its run folder, and the images GradCAM looks at.

A ``nni-pibn train`` run folder holds ``final.json`` (genotype, layers, channels,
num_classes, dataset and the resolved config) and ``best.pt`` (the best NetworkCIFAR
state_dict). Only those two files are read (and ``config.yaml`` when final.json lacks
the config: image size and data root); the network's input channels and whether it
has an auxiliary head are taken from the weights themselves, so they always agree.
The folder given may also be the run's pipeline or NNI trial folder (see
:func:`nni_pibn.runs.find_stage`). A run is named by its genotype (:func:`genotype_label`),
not by its folder.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import UserError
from ..genotype import from_json
from ..network import NetworkCIFAR
from ._common import read_json_file, require_file

WRITTEN_BY = "it is written by 'nni-pibn train' when training ends"


@dataclass
class RetrainedRun:
    """A retrained network in eval mode with the facts needed to feed it images."""

    folder: Path
    net: NetworkCIFAR
    dataset: str
    image_size: int
    data_root: str
    final: dict[str, Any]


def load_retrained(run_dir: str | Path) -> RetrainedRun:
    """The best weights of a ``nni-pibn train`` run (or of the one below a pipeline or NNI
    trial folder), in eval mode."""
    from ..runs.lookup import find_stage

    if Path(run_dir).is_dir():
        run_dir = find_stage(run_dir, "train", "final.json")
    final_path = require_file(run_dir, "final.json", WRITTEN_BY)
    final = read_json_file(final_path)
    keys = ("genotype", "layers", "channels", "num_classes", "dataset")
    missing = [k for k in keys if not isinstance(final, dict) or k not in final]
    if missing:
        raise UserError(f"{str(final_path)!r} lacks {', '.join(missing)}; rerun the training that wrote it")
    weights = require_file(run_dir, "best.pt", WRITTEN_BY)
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        in_channels = int(state["stem.0.weight"].shape[1])  # stem conv weight: (C_out, C_in, 3, 3)
        auxiliary = any(k.startswith("auxiliary_head.") for k in state)
        net = NetworkCIFAR(from_json(final["genotype"]), int(final["channels"]), int(final["layers"]),
                           int(final["num_classes"]), auxiliary, in_channels)
        net.load_state_dict(state)
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - an unreadable or mismatched file is the same user error
        raise UserError(f"{str(weights)!r} cannot be loaded into the network final.json describes "
                        f"({type(exc).__name__}); rerun the training") from None
    config = final.get("config") or _config_yaml(run_dir)
    return RetrainedRun(Path(run_dir), net.eval(), str(final["dataset"]), int(config.get("image_size", 32)),
                        str(config.get("data", "data")), final)


def genotype_label(run: RetrainedRun) -> str:
    """``pibn, 8 cells``: the built-in genotype's name when the run's cells are one of them,
    else where the genotype came from: ``searched (darts2), 4 cells`` for a search's
    (its strategy), the spec or file name otherwise (``random:3``, ``my_cell``)."""
    from ..genotype import GENOTYPES

    def cells(g: Any) -> tuple:
        return g.normal, g.normal_concat, g.reduce, g.reduce_concat  # the op set aside: a JSON may omit it

    genotype = from_json(run.final["genotype"])
    name = next((n for n, g in GENOTYPES.items() if cells(g) == cells(genotype)), None)
    if name is None:
        source = str((run.final.get("config") or {}).get("genotype", ""))
        name = _source_name(source)
    return f"{name}, {run.final['layers']} cells"


def _source_name(source: str) -> str:
    """How a retrain's ``genotype`` setting names its origin (a search folder, a file, a spec)."""
    path = Path(source)
    meta_file = path / "genotype.json" if path.is_dir() else path
    if source and meta_file.is_file():
        try:
            meta = json.loads(meta_file.read_text())
        except (OSError, ValueError):
            meta = {}
        strategy = meta.get("strategy") if isinstance(meta, dict) else None
        if strategy:
            return f"searched ({strategy})"
        return "searched" if path.is_dir() else path.stem
    return source if source and not path.is_absolute() else "searched"


def _config_yaml(run_dir: str | Path) -> dict[str, Any]:
    """The run's ``config.yaml`` (for a final.json written without its config), else {}."""
    from ..runs import CONFIG, read_config

    return read_config(run_dir) if (Path(run_dir) / CONFIG).is_file() else {}


def same_input(runs: Sequence[RetrainedRun]) -> tuple[str, int]:
    """The dataset and image size every run was trained on; a UserError when they differ,
    since one figure feeds all networks the same images."""
    seen = {(r.dataset, r.image_size) for r in runs}
    if len(seen) > 1:
        listed = ", ".join(f"{r.folder.name}: {r.dataset} {r.image_size}px" for r in runs)
        raise UserError(f"the runs were trained on different inputs ({listed}); "
                        "run gradcam once per dataset and image size")
    return seen.pop()


def class_names(dataset: Any) -> list[str] | None:
    """Class names when the dataset has them (torchvision CIFAR, ImageFolder, a Subset of one)."""
    while dataset is not None:
        names = getattr(dataset, "classes", None)
        if names:
            return [str(n) for n in names]
        dataset = getattr(dataset, "dataset", None)
    return None


def read_images(paths: Sequence[str], size: int, transform: Any) -> torch.Tensor:
    """(N, 3, size, size): image files converted to RGB, resized (aspect ratio not kept) and
    passed through ``transform`` (the run's eval transform: to tensor and normalise)."""
    from PIL import Image, UnidentifiedImageError

    tensors = []
    for path in paths:
        if not Path(path).is_file():
            raise UserError(f"image {path!r} does not exist")
        try:
            with Image.open(path) as img:
                rgb = img.convert("RGB").resize((size, size), Image.Resampling.BICUBIC)
        except (OSError, UnidentifiedImageError):
            raise UserError(f"image {path!r} cannot be read; pass PNG or JPEG files") from None
        tensors.append(transform(rgb))
    return torch.stack(tensors)


def dataset_images(test: Any, indices: Sequence[int], dataset: str) -> tuple[torch.Tensor, list[int]]:
    """Images and labels of a test split at ``indices``; an index out of range is a UserError."""
    n = len(test)
    bad = [i for i in indices if not 0 <= i < n]
    if bad:
        raise UserError(f"--indices {bad[0]}: the {dataset} test set has images 0..{n - 1}")
    pairs = [test[i] for i in indices]
    return torch.stack([x for x, _ in pairs]), [int(y) for _, y in pairs]
