"""GradCAM heat maps from the last cell of retrained networks (paper Fig. 6).

Uses the maintained ``grad-cam`` package (pytorch-grad-cam). As in the paper's figure, each
row is one image: the input first, then one overlay per network (e.g. DARTS-V2 beside
PIB), so the networks' attention on the same image sits side by side. The overlay keeps
the image readable (:func:`overlay`): the heat map's opacity grows with its value and
stays below :data:`MAX_ALPHA`, so a digit stays visible even under the hottest spot.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ._common import pyplot, save_figure

#: heat-map opacity where the map is 0 and where it is 1.
MIN_ALPHA, MAX_ALPHA = 0.1, 0.5


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


def to_display(img: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """A normalised (C, H, W) image as (H, W, 3) RGB in [0, 1] (grey images repeated)."""
    x = img.detach().cpu().float() * torch.tensor(std).view(-1, 1, 1) + torch.tensor(mean).view(-1, 1, 1)
    x = x.permute(1, 2, 0).numpy()  # (C, H, W) -> (H, W, C)
    return np.clip(np.repeat(x, 3, axis=-1) if x.shape[-1] == 1 else x, 0.0, 1.0)


def overlay(image: np.ndarray, heat: np.ndarray, cmap: str = "jet") -> np.ndarray:
    """(H, W, 3) RGB in [0, 1]: ``heat`` (H, W, in [0, 1]) coloured by ``cmap`` over ``image``,
    with opacity MIN_ALPHA + (MAX_ALPHA - MIN_ALPHA) * heat per pixel."""
    import matplotlib

    colour = matplotlib.colormaps[cmap](np.clip(heat, 0, 1))[..., :3]
    alpha = (MIN_ALPHA + (MAX_ALPHA - MIN_ALPHA) * np.clip(heat, 0, 1))[..., None]
    return np.clip((1 - alpha) * image + alpha * colour, 0.0, 1.0)


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
    """Writes ``gradcam.png``/``.pdf``: one row per image, the input then one column per network.

    ``images`` are normalised (N, C, H, W) tensors; ``mean``/``std`` undo the normalisation
    for display. Tiles are up-sampled ``upsample`` times (default: to about 128 pixels). The
    first row's titles name the columns; the input tile shows the true label (when
    ``labels`` are known), each overlay the network's prediction, in red when wrong. The
    heat map is that of the predicted class.
    """
    plt = pyplot()
    n_rows, n_cols = images.size(0), 1 + len(networks)
    scale = upsample or max(1, round(128 / images.size(-1)))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(2.0 * n_cols, 2.1 * n_rows + 0.3), squeeze=False)

    def name_of(c: int) -> str:
        return str(class_names[c]) if class_names and 0 <= c < len(class_names) else str(c)

    def up(x: torch.Tensor) -> torch.Tensor:
        return nn.functional.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)

    shown = [to_display(img, mean, std) for img in up(images)]
    for r in range(n_rows):
        ax = axes[r, 0]
        ax.imshow(shown[r], vmin=0, vmax=1)
        truth = f"true: {name_of(labels[r])}" if labels is not None else ""
        ax.set_title(("input\n" if r == 0 else "") + truth, fontsize=8)
    for c, (net_name, model) in enumerate(networks, start=1):
        maps = up(torch.from_numpy(gradcam_maps(model, images)).unsqueeze(1))[:, 0].numpy()  # (N, H', W')
        with torch.no_grad():
            preds = model.eval()(images).argmax(1).tolist()
        for r in range(n_rows):
            ax = axes[r, c]
            ax.imshow(overlay(shown[r], maps[r]), vmin=0, vmax=1)
            wrong = labels is not None and preds[r] != labels[r]
            ax.set_title((f"{net_name}\n" if r == 0 else "") + f"pred: {name_of(preds[r])}", fontsize=8,
                         color="tab:red" if wrong else "black")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return save_figure(fig, Path(out_dir) / "gradcam")
