"""``nni-pibn gradcam``: GradCAM of retrained networks' last cell over the same images (Fig. 6).

    nni-pibn gradcam --run runs/dartsv2-8 --run runs/pibn-8 --dataset digits --indices 0 5 9
    nni-pibn gradcam --run ~/nni-experiments/ID/environments/local-env/trials/T --images cat.png ship.jpg

As in the paper's Fig. 6, one row per image: the input, then one heat-map overlay per run,
labelled by the run's genotype (``darts_v2, 8 cells``; ``searched (darts2), 4 cells``).
Each run is a ``nni-pibn train`` folder holding ``final.json`` and ``best.pt`` (written
when training ends), or a pipeline or NNI trial folder with one below it. All runs must
share a dataset and image size: every network sees the same images, test images through
the eval transform or image files resized to the networks' input size and normalised with
the dataset's mean/std. Writes ``gradcam.png`` and ``gradcam.pdf``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_INDICES = [0, 1, 2, 3]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gradcam", help="GradCAM heat maps of retrained networks (one row each) over images",
                       description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--run", dest="runs", action="append", required=True, metavar="RUN_DIR",
                   help="a 'nni-pibn train' run folder, or its pipeline or NNI trial folder (repeatable: one "
                        "column per network)")
    p.add_argument("--names", nargs="+", default=None,
                   help="column labels, one per --run (default: each run's genotype and cell count)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--dataset", help="take test images of this dataset: the one the runs were trained on")
    src.add_argument("--images", nargs="+", metavar="FILE", help="image files (PNG, JPEG)")
    p.add_argument("--indices", type=int, nargs="+", default=None,
                   help=f"test-set indices, with --dataset (default: {' '.join(map(str, DEFAULT_INDICES))})")
    p.add_argument("--data", default=None, help="data root (default: the first run's; cifar10, imagefolder)")
    p.add_argument("--out", default=None, help="output folder (default: the first run's figures/)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..data import build_datasets, eval_transform
    from ..errors import UserError
    from ..plots.gradcam import plot_gradcam
    from ..plots.loading import (
        class_names,
        dataset_images,
        genotype_label,
        load_retrained,
        read_images,
        same_input,
    )

    if args.images and args.indices is not None:
        raise UserError("--indices picks test images of --dataset; drop it when passing --images")
    runs = [load_retrained(r) for r in args.runs]
    names = args.names or [genotype_label(r).replace(", ", "\n") for r in runs]
    if len(names) != len(runs):
        raise UserError(f"--names gives {len(names)} labels for {len(runs)} runs")
    dataset, size = same_input(runs)
    if args.dataset is not None and args.dataset != dataset:
        raise UserError(f"--dataset {args.dataset}: the runs were trained on {dataset}; pass --dataset {dataset}")
    data = build_datasets(dataset, args.data or runs[0].data_root, augment=False, image_size=size)
    if args.images:
        images, labels = read_images(args.images, size, eval_transform(data.info)), None
    else:
        images, labels = dataset_images(data.test, args.indices or DEFAULT_INDICES, dataset)
    out = Path(args.out) if args.out else runs[0].folder / "figures"
    paths = plot_gradcam(list(zip(names, [r.net for r in runs])), images, labels, out,
                         mean=data.info.mean, std=data.info.std, class_names=class_names(data.test))
    for path in paths:
        print(path)
    return 0
