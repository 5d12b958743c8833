"""Speaker folds in RESULTS.md (data.source.folds=speaker): a row's runs are its folds times its
seeds; its figure is the mean over folds, with the spread over folds and over seeds, and the
per-fold figures go below the table."""

import statistics
from collections.abc import Sequence
from typing import Any

from asrlab.text.markdown import markdown_table
from asrlab.tools.compare.replicates import Replicates, mean_std
from asrlab.tools.compare.runs import Run


def _fold(run: Run) -> dict[str, Any] | None:
    """The run's `speaker_fold` record (metrics.json), if it trained in speaker folds."""
    fold = run.metrics.get("speaker_fold")
    return fold if isinstance(fold, dict) else None


def is_folded(group: Replicates) -> bool:
    return any(_fold(run) for run in group.runs)


def by_fold(runs: Sequence[Run], key: str) -> dict[int, dict[Any, float]]:
    """Each fold's `key` metric by seed, folds in order."""
    folds: dict[int, dict[Any, float]] = {}
    for run in runs:
        fold, value = _fold(run), run.metric(key)
        if fold is not None and value is not None:
            folds.setdefault(fold["fold"], {})[run.config.get("seed")] = value
    return dict(sorted(folds.items()))


def _std(values: Sequence[float]) -> str:
    return f"{100 * statistics.stdev(values):.2f}" if len(values) > 1 else "-"


def fold_spread(runs: Sequence[Run], key: str) -> str:
    """`mean ± std over folds, ± std over seeds` in percent: the mean over folds of each fold's
    mean over seeds; the sample std of those fold means; the sample std over the seeds that
    every fold has of each seed's mean over folds."""
    folds = by_fold(runs, key)
    if not folds:
        return "-"
    means = [statistics.mean(seeds.values()) for seeds in folds.values()]
    shared = set.intersection(*(set(seeds) for seeds in folds.values()))
    per_seed = [statistics.mean(seeds[seed] for seeds in folds.values()) for seed in shared]
    mean = 100 * statistics.mean(means)
    return f"{mean:.2f} ± {_std(means)} folds, ± {_std(per_seed)} seeds"


def seeds_cell(group: Replicates) -> str:
    """`seeds × folds` of a row in speaker folds, e.g. `3 × 5 folds`."""
    folds = by_fold(group.runs, "test_wer")
    seeds = {seed for by_seed in folds.values() for seed in by_seed}
    return f"{len(seeds)} × {len(folds)} folds"


def fold_section(groups: Sequence[Replicates]) -> list[str]:
    """Under the table, for each row in speaker folds: test WER % per fold and seed."""
    lines: list[str] = []
    for group in filter(is_folded, groups):
        wers = by_fold(group.runs, "test_wer")
        speakers = {fold["fold"]: fold for run in group.runs if (fold := _fold(run))}
        seeds = sorted({seed for by_seed in wers.values() for seed in by_seed}, key=str)
        header = ["fold", "test speaker", "val speaker", *(f"seed {s}" for s in seeds), "mean"]
        rows = []
        for index, fold in sorted(speakers.items()):
            by_seed = wers.get(index, {})
            cells = [f"{100 * by_seed[s]:.2f}" if s in by_seed else "-" for s in seeds]
            mean, std = mean_std(list(by_seed.values())) if by_seed else (None, None)
            shown = "-" if mean is None else f"{100 * mean:.2f}"
            shown += "" if std is None else f" ± {100 * std:.2f}"
            rows.append([index, fold["test_speaker"], fold["val_speaker"], *cells, shown])
        lines += [
            "",
            f"`{group.config_hash}` ({group.experiment}): test WER % per held-out speaker",
            "",
            *markdown_table(header, rows),
        ]
    if not lines:
        return []
    return ["", "## Speaker folds", *lines]
