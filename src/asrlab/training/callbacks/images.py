"""Pictures for TensorBoard: feature images and CTC posteriorgrams with the greedy path."""

from collections.abc import Sequence

import matplotlib
import torch
from matplotlib.figure import Figure

FEATURE_COLORMAP = "magma"
SPACE = "␣"


def feature_image(feats: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """(T, F) features -> (F, T, 3) RGB image in [0, 1], low bins at the bottom; values outside
    [low, high] are clipped, so images given the same range share one colour scale."""
    image = feats.detach().float().cpu().T.flip(0)
    scaled = ((image - low) / max(high - low, 1e-8)).clamp(0.0, 1.0)
    rgb = matplotlib.colormaps[FEATURE_COLORMAP](scaled.numpy())[..., :3]
    return torch.from_numpy(rgb).float()


def shown_tokens(probs: torch.Tensor, path: torch.Tensor, limit: int) -> torch.Tensor:
    """Ids (ascending) of the tokens a posteriorgram shows: all V when V <= limit, else those
    on the greedy path and then those of highest peak posterior, `limit` in all (or the
    path's). probs: (T, V); path: (T,) the best token per frame."""
    vocab_size = probs.shape[1]
    if vocab_size <= limit:
        return torch.arange(vocab_size)
    peak = probs.amax(dim=0)
    peak[path.unique()] = float("inf")
    return peak.topk(max(limit, len(path.unique()))).indices.sort().values


def posteriorgram_figure(
    log_probs: torch.Tensor,
    vocab: Sequence[str],
    frame_seconds: float,
    title: str,
    max_tokens: int = 40,
) -> Figure:
    """log_probs (T, V) of one utterance -> a figure of its posteriors (tokens x time, token
    labels on the axis) with the greedy path (best token per frame) drawn over it."""
    probs = log_probs.detach().float().cpu().exp()
    path = probs.argmax(dim=1)
    tokens = shown_tokens(probs, path, max_tokens)
    frames = len(probs)
    width, height = 8.0, 0.9 + 0.1 * len(tokens)
    figure = Figure(figsize=(width, height), dpi=90)
    # Fixed margins (inches) rather than tight_layout, which would draw the figure twice.
    figure.subplots_adjust(
        left=0.7 / width, right=1 - 0.15 / width, bottom=0.45 / height, top=1 - 0.3 / height
    )
    axes = figure.add_subplot()
    end = frames * frame_seconds
    axes.imshow(
        probs[:, tokens].T.numpy(),
        aspect="auto",
        origin="lower",
        cmap="Greys",
        vmin=0.0,
        vmax=1.0,
        interpolation="nearest",
        extent=(0.0, end, -0.5, len(tokens) - 0.5),
    )
    rows = torch.searchsorted(tokens, path)
    times = (torch.arange(frames) + 0.5) * frame_seconds
    axes.plot(times, rows, color="tab:red", linewidth=1.0, drawstyle="steps-mid")
    axes.set_yticks(range(len(tokens)))
    axes.set_yticklabels([vocab[i].replace(" ", SPACE) for i in tokens.tolist()], fontsize=6)
    axes.set_xlabel("seconds")
    axes.set_title(title, fontsize=8, loc="left")
    return figure
