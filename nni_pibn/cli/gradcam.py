"""``nni-pibn gradcam``: GradCAM of retrained networks' last cell over the same images (Fig. 6).

    nni-pibn gradcam --run runs/pibn-10 --run runs/dartsv2-20 --dataset digits --indices 0 5 9
    nni-pibn gradcam --run runs/pibn-10 --images cat.png ship.jpg
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gradcam", help="GradCAM heat maps of retrained networks (one row each) over images",
                       description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--run", dest="runs", action="append", required=True, metavar="RETRAIN_DIR",
                   help="a 'nni-pibn train' run folder (repeatable: one row per network)")
    p.add_argument("--names", nargs="+", default=None, help="row labels (default: the run folder names)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--dataset", help="take test images of this dataset (e.g. digits, cifar10)")
    src.add_argument("--images", nargs="+", help="image files")
    p.add_argument("--indices", type=int, nargs="+", default=[0, 1, 2, 3], help="test-set indices (with --dataset)")
    p.add_argument("--data", default="data", help="data root for --dataset (cifar10, imagefolder...)")
    p.add_argument("--out", default=None, help="output folder (default: first RUN/figures)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from ..data import build_datasets
    from ..data.transforms import eval_transform
    from ..errors import UserError
    from ..plots.gradcam import plot_gradcam
    from ..plots.loading import load_retrained

    nets = [load_retrained(r) for r in args.runs]
    names = args.names or [Path(r).resolve().name for r in args.runs]
    if len(names) != len(nets):
        raise UserError(f"--names gives {len(names)} labels for {len(nets)} runs")
    first = nets[0][1]
    dataset = args.dataset or first["dataset"]
    data = build_datasets(dataset, args.data, augment=False)
    info = data.info
    labels = None
    if args.images:
        from PIL import Image, UnidentifiedImageError

        tf = eval_transform(info)
        tensors = []
        for path in args.images:
            try:
                img = Image.open(path).convert("RGB").resize((info.image_size, info.image_size))
            except (OSError, UnidentifiedImageError):
                raise UserError(f"image {path!r} cannot be read; pass PNG or JPEG files") from None
            tensors.append(tf(img))
        images = torch.stack(tensors)
    else:
        n = len(data.test)  # type: ignore[arg-type]
        bad = [i for i in args.indices if not 0 <= i < n]
        if bad:
            raise UserError(f"--indices {bad[0]}: the {dataset} test set has images 0..{n - 1}")
        pairs = [data.test[i] for i in args.indices]
        images = torch.stack([x for x, _ in pairs])
        labels = [int(y) for _, y in pairs]
    out = Path(args.out) if args.out else Path(args.runs[0]) / "figures"
    for p in plot_gradcam(list(zip(names, [n for n, _ in nets])), images, labels, out, mean=info.mean, std=info.std):
        print(p)
    return 0
