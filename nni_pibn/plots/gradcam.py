"""GradCAM heat maps from the last cell of retrained networks (paper Fig. 6).

Uses the maintained ``grad-cam`` package (pytorch-grad-cam). One row per network, one
column per image; each tile shows the up-sampled input with its heat map, the true label
and the network's prediction.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ._common import pyplot, save_figure


def gradcam_maps(model: nn.Module, images: torch.Tensor, layer: nn.Module | None = None) -> np.ndarray:
    """(N, H, W) heat maps in [0, 1] for the predicted class, at the input's spatial size.

    ``layer`` defaults to the network's last cell (``model.cells[-1]``).
    """
    from pytorch_grad_cam import GradCAM

    model = model.eval()
    target = layer if layer is not None else model.cells[-1]
    with GradCAM(model=model, target_layers=[target]) as cam:
        maps = cam(input_tensor=images, targets=None)
    return np.clip(maps, 0.0, 1.0).astype(np.float32)


def _to_display(img: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    x = img.detach().cpu().float() * torch.tensor(std).view(-1, 1, 1) + torch.tensor(mean).view(-1, 1, 1)
    x = x.clamp(0, 1).permute(1, 2, 0).numpy()  # (C, H, W) -> (H, W, C)
    return x[..., 0] if x.shape[-1] == 1 else x


def plot_gradcam(
    networks: list[tuple[str, nn.Module]],
    images: torch.Tensor,
    labels: Sequence[int] | None,
    out_dir: str | Path,
    *,
    mean: Sequence[float],
    std: Sequence[float],
    class_names: Sequence[str] | None = None,
    upsample: int | None = None,
) -> list[Path]:
    """Writes ``gradcam.png``/``.pdf``: rows = networks, columns = images.

    ``images`` are normalised (N, C, H, W) tensors; ``mean``/``std`` undo the normalisation
    for display. Each tile is up-sampled ``upsample`` times (default: to about 128 pixels)
    and titled with the true label (when ``labels`` are known) and the prediction, in red
    when wrong. The heat map is that of the predicted class.
    """
    plt = pyplot()
    n_rows, n_cols = len(networks), images.size(0)
    scale = upsample or max(1, round(128 / images.size(-1)))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.9 * n_cols + 0.4, 2.4 * n_rows), squeeze=False)

    def name_of(c: int) -> str:
        return str(class_names[c]) if class_names and 0 <= c < len(class_names) else str(c)

    big = nn.functional.interpolate(images, scale_factor=scale, mode="bilinear", align_corners=False)
    for r, (net_name, model) in enumerate(networks):
        maps = torch.from_numpy(gradcam_maps(model, images)).unsqueeze(1)  # (N, H, W) -> (N, 1, H, W)
        maps = nn.functional.interpolate(maps, scale_factor=scale, mode="bilinear", align_corners=False)
        with torch.no_grad():
            preds = model.eval()(images).argmax(1).tolist()
        for c in range(n_cols):
            ax = axes[r, c]
            ax.imshow(_to_display(big[c], mean, std), cmap="gray", vmin=0, vmax=1)
            ax.imshow(maps[c, 0].numpy(), cmap="jet", alpha=0.45, vmin=0, vmax=1)
            title = f"pred: {name_of(preds[c])}"
            wrong = False
            if labels is not None:
                title = f"true: {name_of(labels[c])}\n" + title
                wrong = preds[c] != labels[c]
            ax.set_title(title, fontsize=8, color="tab:red" if wrong else "black")
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(net_name, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, Path(out_dir) / "gradcam")
