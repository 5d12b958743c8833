"""PNG plots of the ranked runs, drawn with matplotlib's Agg backend (no display, no pyplot)."""

from collections.abc import Sequence
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from asrlab.tools.compare.pareto import Front
from asrlab.tools.compare.report import METRIC_COLUMNS, settings_label
from asrlab.tools.compare.runs import Run

# Each figure by the name `asrlab-compare --plots` takes, and its file.
PLOTS = {
    "params": "wer_vs_params.png",
    "time": "wer_vs_time.png",
    "curves": "val_wer_curves.png",
    "pareto": "pareto_front.png",
}


def _save(figure: Figure, path: Path) -> None:
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=120, bbox_inches="tight")


def _no_data(ax: Axes) -> None:
    ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)


def _scatter(path: Path, ranked: Sequence[Run], x_key: str, x_label: str, log_x: bool) -> None:
    """Test WER against one metric; each point numbered by its rank in the table."""
    figure = Figure(figsize=(6, 4))
    ax = figure.add_subplot()
    points = [
        (position, run.metric(x_key), run.metric("test_wer"))
        for position, run in enumerate(ranked, start=1)
    ]
    points = [(p, x, 100 * y) for p, x, y in points if x is not None and y is not None]
    if points:
        ax.scatter([x for _, x, _ in points], [y for _, _, y in points])
        for position, x, y in points:
            ax.annotate(f"#{position}", (x, y), textcoords="offset points", xytext=(4, 4))
    else:
        _no_data(ax)
    if log_x and points:
        ax.set_xscale("log")
    ax.set(xlabel=x_label, ylabel="test WER (%)", title=f"test WER vs {x_label}")
    ax.grid(True, alpha=0.3)
    _save(figure, path)


def _curves(path: Path, ranked: Sequence[Run], keys: Sequence[str]) -> None:
    """Val WER per epoch (else per step), a line per run labelled by its varied values."""
    figure = Figure(figsize=(7, 4))
    ax = figure.add_subplot()
    curves = [run for run in ranked if run.val_wer]
    # Epochs only when each run logged one distinct epoch per validation.
    by_epoch = all(
        len({p.epoch for p in run.val_wer} - {None}) == len(run.val_wer) for run in curves
    )
    for position, run in enumerate(ranked, start=1):
        if not run.val_wer:
            continue
        xs = [point.epoch if by_epoch else point.step for point in run.val_wer]
        label = f"#{position} {settings_label(run, keys)}"
        ax.plot(xs, [100 * p.wer for p in run.val_wer], marker=".", label=label)
    if curves:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0))
    else:
        _no_data(ax)
    if by_epoch:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="epoch" if by_epoch else "step", ylabel="val WER (%)", title="val WER")
    ax.grid(True, alpha=0.3)
    _save(figure, path)


def _front(ax: Axes, ranked: Sequence[Run], front: Front) -> None:
    """The runs with both of the front's values, numbered by rank; the front's own in colour,
    joined by the staircase that bounds what they dominate."""
    points = [
        (position, run.metric(front.cost), run.metric(front.metric), run in front)
        for position, run in enumerate(ranked, start=1)
    ]
    points = [(p, x, 100 * y, on) for p, x, y, on in points if x is not None and y is not None]
    dominated = [(x, y) for _, x, y, on in points if not on]
    best = sorted((x, y) for _, x, y, on in points if on)
    if dominated:
        ax.scatter(*zip(*dominated, strict=True), color="tab:gray", label="dominated")
    ax.scatter(*zip(*best, strict=True), color="tab:red", label="Pareto front", zorder=3)
    ax.step(*zip(*best, strict=True), where="post", color="tab:red", alpha=0.6)
    for position, x, y, _ in points:
        ax.annotate(f"#{position}", (x, y), textcoords="offset points", xytext=(4, 4))
    if front.cost == "num_params":
        ax.set_xscale("log")
    x_label, y_label = METRIC_COLUMNS[front.cost], METRIC_COLUMNS[front.metric]
    ax.set(xlabel=x_label, ylabel=f"{y_label} (%)", title=f"{y_label} vs {x_label}")
    ax.legend(fontsize="small")
    ax.grid(True, alpha=0.3)


def _fronts(path: Path, ranked: Sequence[Run], fronts: Sequence[Front]) -> None:
    """A panel per Pareto front."""
    figure = Figure(figsize=(6 * max(1, len(fronts)), 4))
    axes = figure.subplots(1, max(1, len(fronts)), squeeze=False)[0]
    for ax, front in zip(axes, fronts, strict=False):
        _front(ax, ranked, front)
    if not fronts:
        _no_data(axes[0])
    _save(figure, path)


def write_plots(
    out_dir: Path,
    ranked: Sequence[Run],
    keys: Sequence[str],
    fronts: Sequence[Front] = (),
    names: Sequence[str] = tuple(PLOTS),
) -> list[Path]:
    """The PLOTS of `names` in `out_dir`, in that order."""
    draw = {
        "params": lambda path: _scatter(path, ranked, "num_params", "parameters", log_x=True),
        "time": lambda path: _scatter(path, ranked, "train_seconds", "training seconds", False),
        "curves": lambda path: _curves(path, ranked, keys),
        "pareto": lambda path: _fronts(path, ranked, fronts),
    }
    paths = [out_dir / PLOTS[name] for name in names]
    for name, path in zip(names, paths, strict=True):
        draw[name](path)
    return paths
