"""Pictures for the loggers: feature images, and the heads' probe views with their paths."""

import matplotlib
import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from asrlab.model.probe import ProbeMatrix

FEATURE_COLORMAP = "magma"
SPACE = "␣"


def feature_image(feats: torch.Tensor, low: float, high: float) -> np.ndarray:
    """(T, F) features -> (F, T, 3) uint8 RGB image, low bins at the bottom; values outside
    [low, high] are clipped, so images given the same range share one colour scale."""
    image = feats.detach().float().cpu().T.flip(0)
    scaled = ((image - low) / max(high - low, 1e-8)).clamp(0.0, 1.0)
    return matplotlib.colormaps[FEATURE_COLORMAP](scaled.numpy(), bytes=True)[..., :3]


def figure_image(figure: Figure) -> np.ndarray:
    """The figure drawn at its own size and dpi -> (H, W, 3) uint8 RGB image."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def shown_rows(values: torch.Tensor, path: torch.Tensor | None, limit: int) -> torch.Tensor:
    """Indices (ascending) of the rows a picture shows: all R when R <= limit or it has no path,
    else the path's rows and then those of highest peak value, `limit` in all (or the path's).
    values: (R, T); path: (N,) the rows of the path's points."""
    count = values.shape[0]
    if count <= limit or path is None:
        return torch.arange(count)
    peak = values.amax(dim=1)
    peak[path.unique()] = float("inf")
    return peak.topk(max(limit, len(path.unique()))).indices.sort().values


def probe_figure(view: ProbeMatrix, frame_seconds: float, title: str, max_rows: int = 40) -> Figure:
    """A head's picture of one utterance -> a figure of its values (rows x time, row labels on
    the axis, at most `max_rows` unless its path needs more) with the path drawn over it."""
    values = view.values.detach().float().cpu()
    path = None if view.path is None else view.path.cpu()
    rows = shown_rows(values, None if path is None else path[:, 1], max_rows)
    width, height = 8.0, 0.9 + 0.1 * len(rows)
    figure = Figure(figsize=(width, height), dpi=90)
    # Fixed margins (inches) rather than tight_layout, which would draw the figure twice.
    figure.subplots_adjust(
        left=0.9 / width, right=1 - 0.15 / width, bottom=0.45 / height, top=1 - 0.3 / height
    )
    axes = figure.add_subplot()
    axes.imshow(
        values[rows].numpy(),
        aspect="auto",
        origin="lower",
        cmap="Greys",
        vmin=0.0,
        vmax=view.black,
        interpolation="nearest",
        extent=(0.0, values.shape[1] * frame_seconds, -0.5, len(rows) - 0.5),
    )
    if path is not None:
        times = (path[:, 0] + 0.5) * frame_seconds
        heights = torch.searchsorted(rows, path[:, 1].contiguous())
        axes.plot(times, heights, color="tab:red", linewidth=1.0, drawstyle="steps-mid")
    axes.set_yticks(range(len(rows)))
    axes.set_yticklabels([view.rows[i].replace(" ", SPACE) for i in rows.tolist()], fontsize=6)
    axes.set_xlabel("seconds")
    axes.set_ylabel(view.ylabel, fontsize=7)
    axes.set_title(title, fontsize=8, loc="left")
    return figure
