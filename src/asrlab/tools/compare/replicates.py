"""Seed replicates: runs whose configs differ only in `seed`, grouped by config."""

import hashlib
import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asrlab.tools.compare.runs import FailedRun, Run, names_the_trial, read_choices
from asrlab.training.run_info import read_run_info

# Config keys that vary between replicates (paths and hydra are already left out by read_config):
# the seed, and the held-out speaker of speaker folds (asrlab.tools.compare.folds).
FOLD_KEYS = ("data.source.fold", "data.source.test_speaker")
REPLICATE_KEYS = frozenset({"seed", *FOLD_KEYS})
# Config keys under data.source that say which test set a run was scored on.
TEST_SET_KEYS = ("split", "test", "test_speakers", "num_test")


def config_hash(config: dict[str, Any]) -> str:
    """8 hex digits of the config (as `read_config` gives it) without `REPLICATE_KEYS`.

    Interpolations are compared unresolved, so `${paths.output_dir}`, the same text in every
    run, stands for each run's own folder.
    """
    kept = {k: v for k, v in config.items() if k not in REPLICATE_KEYS}
    text = json.dumps(kept, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def mean_std(values: Sequence[float]) -> tuple[float, float | None]:
    """Mean and sample standard deviation (ddof=1; None for fewer than two values)."""
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else None


def _override(overrides: Sequence[str], key: str) -> str | None:
    for override in overrides:
        name, _, value = override.lstrip("+~").partition("=")
        if name == key:
            return value
    return None


def experiment_name(run: Run | FailedRun) -> str:
    """The `experiment` option, else the config's name (`task_name`: `train`)."""
    choice = read_choices(run.path).get("experiment") or _override(run.overrides, "experiment")
    return str(choice or (run.config or {}).get("task_name", "train"))


def _shown(value: Any) -> str:
    """A config value for the table; a file path as its name only."""
    if isinstance(value, str) and "/" in value:
        return Path(value).name
    return json.dumps(value) if isinstance(value, list | dict) else str(value)


def describe_test_set(run: Run | FailedRun) -> str:
    """The `data` option and its test-set settings, e.g. `fsdd (split=speaker,
    test_speakers=["theo"])`; a mix names its `eval_source`'s."""
    config = run.config or {}
    name = read_choices(run.path).get("data") or _override(run.overrides, "data")
    prefix = "data.source."
    if eval_source := config.get("data.source.eval_source"):
        prefix += f"sources.{eval_source}."
    settings = [
        f"{key.rsplit('.', 1)[-1]}={_shown(value)}"
        for key, value in config.items()
        if key.startswith(prefix)
        and key.rsplit(".", 1)[-1] in TEST_SET_KEYS
        and value not in (None, [], "")
    ]
    if not name:
        name = str(config.get("data.source._target_", "?")).rsplit(".", 1)[-1]
    if folds := config.get("data.source.folds"):
        return f"{name} (folds={folds})"
    return f"{name} ({', '.join(settings)})" if settings else str(name)


def shown_overrides(overrides: Sequence[str]) -> list[str]:
    """The overrides that set what a run tried: not the seed or the fold, the experiment (a
    column of its own), Hydra's settings, paths (which say where, not what), or a sweep trial's
    `optuna_trial.*`."""
    varied = ("seed=", *(f"{key}=" for key in FOLD_KEYS), "experiment=", "hydra")
    return [
        override
        for override in overrides
        if not override.lstrip("+~").startswith(varied)
        and "/" not in override.partition("=")[2]
        and not names_the_trial(override)
    ]


def commit_of(run: Run) -> tuple[str | None, bool]:
    """The run's git commit and whether its checkout had uncommitted changes (metrics.json, else
    run_info.json)."""
    info = run.metrics if "git_commit" in run.metrics else _run_info(run.path)
    return info.get("git_commit"), bool(info.get("git_dirty"))


def _run_info(run_dir: Path) -> dict[str, Any]:
    try:
        return read_run_info(run_dir)
    except (OSError, ValueError):
        return {}


@dataclass
class Replicates:
    """The runs of one config (`config_hash`), over seeds; failed ones are kept apart."""

    config_hash: str
    experiment: str
    test_set: str
    overrides: list[str]
    runs: list[Run] = field(default_factory=list)
    failed: list[FailedRun] = field(default_factory=list)

    def values(self, key: str) -> list[float]:
        """A metrics.json number of each finished run that has it."""
        return [value for run in self.runs if (value := run.metric(key)) is not None]

    @property
    def seeds(self) -> list[Any]:
        return [run.config.get("seed") for run in self.runs]

    def commits(self) -> list[tuple[str | None, bool]]:
        """Each distinct commit, and whether any of its runs had uncommitted changes."""
        dirty: dict[str | None, bool] = {}
        for commit, is_dirty in map(commit_of, self.runs):
            dirty[commit] = dirty.get(commit, False) or is_dirty
        return list(dirty.items())


def group_replicates(
    runs: Sequence[Run], failed: Sequence[FailedRun]
) -> tuple[list[Replicates], list[FailedRun]]:
    """Runs grouped by `config_hash`, sorted by experiment, test set and overrides; and the
    failed runs whose config could not be read (so that belong to no group)."""
    groups: dict[str, Replicates] = {}

    def group_of(run: Run | FailedRun, config: dict[str, Any]) -> Replicates:
        key = config_hash(config)
        if key not in groups:
            overrides = shown_overrides(run.overrides)
            groups[key] = Replicates(key, experiment_name(run), describe_test_set(run), overrides)
        return groups[key]

    for run in runs:
        group_of(run, run.config).runs.append(run)
    ungrouped = []
    for run in failed:
        if run.config is None:
            ungrouped.append(run)
        else:
            group_of(run, run.config).failed.append(run)
    ordered = sorted(
        groups.values(), key=lambda g: (g.experiment, g.test_set, g.overrides, g.config_hash)
    )
    return ordered, ungrouped
