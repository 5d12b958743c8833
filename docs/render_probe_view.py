"""Renders a run's probe view (TensorBoard's probe/ images) into one PNG, for the README.

For each of the first `--probes` probe utterances, a row: its features above the same features
after augmentation (as first logged), and the head's picture of it (as last logged): the
attention map, the transducer alignment or the CTC posteriorgram, the first the run has. The
PNG is stored with a reduced palette to keep it small.

    python docs/render_probe_view.py RUN_DIR [--out docs/probe_view.png] [--probes 3]
"""

import argparse
import io
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.image import imread
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

PICTURES = ("attention", "alignment", "posteriorgram")


def image(events: EventAccumulator, tag: str, index: int) -> np.ndarray:
    """The PNG logged under `tag`, the `index`-th of its steps, as an (H, W, C) array."""
    return imread(io.BytesIO(events.Images(tag)[index].encoded_image_string))


def render(run_dir: Path, probes: int) -> Figure:
    """One row per probe utterance: features and augmented features, then the head's picture."""
    folder = run_dir / "tensorboard"
    if not folder.is_dir():
        raise SystemExit(f"{folder} not found: give the folder of a run (asrlab-train's output)")
    events = EventAccumulator(str(folder), size_guidance={"images": 0}).Reload()
    tags = set(events.Tags()["images"])
    found = {}
    for k in range(probes):
        logged = [f"probe/{k}/{name}" for name in PICTURES if f"probe/{k}/{name}" in tags]
        if logged:
            found[k] = logged[0]
    if not found:
        raise SystemExit(f"no probe view (probe/K/{'|'.join(PICTURES)} images) in {folder}")
    figure = Figure(figsize=(14, 3.6 * len(found)), dpi=100)
    grid = figure.add_gridspec(2 * len(found), 2, width_ratios=(1, 1.3))
    for row, (k, picture) in enumerate(found.items()):
        for half, (name, caption) in enumerate(
            (("features", "log-mel features"), ("augmented", "after augmentation"))
        ):
            axes = figure.add_subplot(grid[2 * row + half, 0])
            axes.imshow(image(events, f"probe/{k}/{name}", 0), aspect="auto")
            axes.set_axis_off()
            axes.set_title(f"probe {k}: {caption}", fontsize=9, loc="left")
        axes = figure.add_subplot(grid[2 * row : 2 * row + 2, 1])
        axes.imshow(image(events, picture, -1))
        axes.set_axis_off()
    figure.tight_layout()
    return figure


def save_small(figure: Figure, out: Path, colors: int = 256) -> None:
    """The figure as a palette PNG of `colors` colours."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    buffer.seek(0)
    image = Image.open(buffer).convert("RGB")
    image.quantize(colors, method=Image.Quantize.FASTOCTREE).save(out, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "probe_view.png")
    parser.add_argument("--probes", type=int, default=3)
    args = parser.parse_args()
    save_small(render(args.run_dir, args.probes), args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
