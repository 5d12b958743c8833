"""Find run folders, read what each recorded, and work out which settings the runs varied."""

import csv
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException
from yaml import YAMLError

CONFIG = Path(".hydra") / "config.yaml"
OVERRIDES = Path(".hydra") / "overrides.yaml"
HYDRA = Path(".hydra") / "hydra.yaml"
METRICS = "metrics.json"
# What the CSV logger (logger=csv) writes, a row per logging step.
CSV_METRICS = "metrics.csv"
ERROR_FILES = ("error.json", "error.txt")
# What a sweep trial stopped by its study's pruner writes (training.callbacks.optuna_pruning).
PRUNED = "pruned.json"
ABSENT = object()
"""What `varied_config_keys` compares a key a config lacks as."""
# A multirun trial's folder: its job number, then its overrides.
_TRIAL = re.compile(r"^(\d+)_.*")
# The section the Optuna sweeper adds to a trial's config: its study and trial number.
TRIAL_SECTION = "optuna_trial"
# Config sections that say where a run wrote (and logged), and the Optuna trial it reported
# to, not what it tried.
IGNORED_SECTIONS = frozenset({"hydra", "paths", "logger", TRIAL_SECTION})
# asrlab-decode writes val_wer (or test_wer) for the split it decoded.
METRIC_CHOICES = ("test_wer", "best_val_wer", "val_wer")
# Only scalars are needed: keep one of everything else instead of loading it all.
SIZE_GUIDANCE = {
    "scalars": 0,
    "tensors": 1,
    "images": 1,
    "audio": 1,
    "histograms": 1,
    "compressedHistograms": 1,
}


class ValPoint(NamedTuple):
    """One validation WER: global step, epochs completed (None if not logged) and the WER."""

    step: int
    epoch: int | None
    wer: float


@dataclass(frozen=True)
class Run:
    """A finished run folder: its flattened config, overrides, metrics and val WER curve."""

    path: Path
    name: str
    config: dict[str, Any]
    overrides: list[str]
    metrics: dict[str, Any]
    val_wer: list[ValPoint]

    def metric(self, key: str) -> float | None:
        """A number from metrics.json; best_val_wer falls back to the curve's minimum."""
        value = self.metrics.get(key)
        if value is None and key == "best_val_wer" and self.val_wer:
            return min(point.wer for point in self.val_wer)
        return value


@dataclass(frozen=True)
class FailedRun:
    """A run folder without usable metrics: failed, unfinished, unreadable or pruned (config: as
    `read_config`, if readable; pruned: its pruned.json, `epoch` and `value`)."""

    path: Path
    name: str
    overrides: list[str]
    error: str | None
    config: dict[str, Any] | None = None
    pruned: dict[str, Any] | None = None


def find_run_dirs(paths: Iterable[Path]) -> list[Path]:
    """Every folder under `paths` (or one of them) that holds .hydra/config.yaml."""
    found: set[Path] = set()
    for path in paths:
        for folder, dirnames, _ in os.walk(path):
            if (Path(folder) / CONFIG).is_file():
                found.add(Path(folder).resolve())
                dirnames.clear()  # runs do not nest inside runs
            else:
                # Skips .venv, .git and the like when pointed at a checkout.
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
    return sorted(found)


def run_names(run_dirs: Sequence[Path]) -> list[str]:
    """Short names: each folder relative to the deepest folder above all of them, a multirun
    trial's folder (`N_overrides`) cut to its number: the tables show the varied values."""
    if not run_dirs:
        return []
    base = Path(os.path.commonpath([d.parent for d in run_dirs]))
    names = [d.relative_to(base) for d in run_dirs]
    return [(n.parent / _TRIAL.sub(r"\1", n.name)).as_posix() for n in names]


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys; lists, scalars and empty dicts are leaves."""
    if not isinstance(tree, dict) or (prefix and not tree):
        return {prefix: tree}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def read_config(run_dir: Path) -> dict[str, Any]:
    """The composed config as dotted keys, interpolations unresolved, minus IGNORED_SECTIONS."""
    tree = OmegaConf.to_container(OmegaConf.load(run_dir / CONFIG), resolve=False)
    if not isinstance(tree, dict):
        raise ValueError(f"{CONFIG} is not a mapping")
    return flatten({k: v for k, v in tree.items() if k not in IGNORED_SECTIONS})


def read_choices(run_dir: Path) -> dict[str, Any]:
    """The config group options the run was composed from (`data: synth_digits`, `experiment:
    null`, ...), from .hydra/hydra.yaml; empty if not recorded or unreadable."""
    try:
        choices = OmegaConf.load(run_dir / HYDRA).hydra.runtime.choices
        return dict(OmegaConf.to_container(choices, resolve=False))
    except (OmegaConfBaseException, YAMLError, OSError, AttributeError):
        return {}


def read_overrides(run_dir: Path) -> list[str]:
    """The command-line overrides of the run (empty if not recorded)."""
    path = run_dir / OVERRIDES
    return [str(o) for o in OmegaConf.load(path)] if path.is_file() else []


def read_error(run_dir: Path) -> str | None:
    """The message of error.json (its "error" key) or error.txt, if the run left one."""
    for name in ERROR_FILES:
        path = run_dir / name
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace").strip()
        if name == "error.json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError:
                return text
            return str(data["error"]) if isinstance(data, dict) and "error" in data else text
        return text
    return None


def read_pruned(run_dir: Path) -> dict[str, Any] | None:
    """The run's pruned.json (the epoch and the value it was pruned at), if it was pruned."""
    path = run_dir / PRUNED
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (json.JSONDecodeError, OSError) as err:
        return {"epoch": None, "value": None, "unreadable": str(err)}


def read_val_wer(run_dir: Path) -> list[ValPoint]:
    """The val/wer scalars of every TensorBoard event folder in the run, by step; without them
    (a run with logger=csv alone), those of its CSV logger's metrics.csv files."""
    points = _tensorboard_val_wer(run_dir) or _csv_val_wer(run_dir)
    return [points[step] for step in sorted(points)]


def _tensorboard_val_wer(run_dir: Path) -> dict[int, ValPoint]:
    points: dict[int, ValPoint] = {}
    event_dirs = {f.parent for f in run_dir.rglob("events.out.tfevents.*")}
    if not event_dirs:
        return points
    # Imported here: 0.1-0.3 s of start-up that runs without TensorBoard logs do not need.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    for event_dir in sorted(event_dirs):
        events = EventAccumulator(str(event_dir), size_guidance=SIZE_GUIDANCE).Reload()
        tags = events.Tags()["scalars"]
        if "val/wer" not in tags:
            continue
        # Lightning logs the 0-based epoch at the steps it logs anything else.
        epochs = (
            {e.step: int(e.value) + 1 for e in events.Scalars("epoch")} if "epoch" in tags else {}
        )
        for event in events.Scalars("val/wer"):
            points[event.step] = ValPoint(event.step, epochs.get(event.step), event.value)
    return points


def _csv_val_wer(run_dir: Path) -> dict[int, ValPoint]:
    points: dict[int, ValPoint] = {}
    for path in sorted(run_dir.rglob(CSV_METRICS)):
        with path.open(newline="", encoding="utf-8") as file:
            for row in csv.DictReader(file):
                if row.get("val/wer") and row.get("step"):
                    epoch = int(row["epoch"]) + 1 if row.get("epoch") else None
                    step = int(row["step"])
                    points[step] = ValPoint(step, epoch, float(row["val/wer"]))
    return points


def load_runs(paths: Iterable[Path], val_curves: bool = True) -> tuple[list[Run], list[FailedRun]]:
    """The finished and the failed (or unfinished, or unreadable) runs under `paths`; with
    `val_curves=False` the logged curves are not read (`Run.val_wer` is empty)."""
    run_dirs = find_run_dirs(paths)
    runs: list[Run] = []
    failed: list[FailedRun] = []
    for run_dir, name in zip(run_dirs, run_names(run_dirs), strict=True):
        try:
            overrides = read_overrides(run_dir)
        except (OmegaConfBaseException, YAMLError, OSError):
            overrides = []
        metrics_path = run_dir / METRICS
        if not metrics_path.is_file():
            try:
                config = read_config(run_dir)
            except (OmegaConfBaseException, YAMLError, ValueError, OSError):
                config = None
            error, pruned = read_error(run_dir), read_pruned(run_dir)
            failed.append(FailedRun(run_dir, name, overrides, error, config, pruned))
            continue
        try:
            config = read_config(run_dir)
            metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        except (OmegaConfBaseException, YAMLError, ValueError, OSError) as err:
            failed.append(FailedRun(run_dir, name, overrides, f"unreadable run folder: {err}"))
            continue
        curve = read_val_wer(run_dir) if val_curves else []
        runs.append(Run(run_dir, name, config, overrides, metrics, curve))
    return runs, failed


def names_the_trial(override: str) -> bool:
    """Whether a command-line override is one of the sweeper's `optuna_trial.*` (a trial's
    study and number), not a setting the run tried."""
    return override.lstrip("+~").startswith(f"{TRIAL_SECTION}.")


def varied_keys(runs: Sequence[Run]) -> list[str]:
    """The config keys whose value (or presence) differs between the runs, as first seen."""
    return varied_config_keys([run.config for run in runs])


def varied_config_keys(configs: Sequence[dict[str, Any]]) -> list[str]:
    """The keys whose value (or presence) differs between flattened configs, as first seen."""
    keys = dict.fromkeys(key for config in configs for key in config)
    return [
        key
        for key in keys
        if any(c.get(key, ABSENT) != configs[0].get(key, ABSENT) for c in configs)
    ]


def shown_keys(runs: Sequence[Run], keys: Sequence[str]) -> list[str]:
    """The varied `keys` less those that only come with a varied choice: a key inside a section
    whose `_target_` is varied (the innermost such) that never differs between runs of the same
    target, like the LSTM's `encoder.bidirectional` beside `encoder._target_`, or every size of
    a Conformer beside a GRU's."""
    choices = [k.removesuffix("._target_") for k in keys if k.endswith("._target_")]

    def follows_choice(key: str) -> bool:
        sections = [c for c in choices if key.startswith(f"{c}.") and key != f"{c}._target_"]
        if not sections:
            return False
        target = f"{max(sections, key=len)}._target_"
        seen: dict[str, str] = {}
        for run in runs:
            value = repr((key in run.config, run.config.get(key)))
            if seen.setdefault(repr(run.config.get(target)), value) != value:
                return False
        return True

    return [key for key in keys if not follows_choice(key)]


def rank(runs: Sequence[Run], metric: str) -> list[Run]:
    """The runs by `metric`, lowest first; runs without it go last."""
    return sorted(runs, key=lambda r: (r.metric(metric) is None, r.metric(metric) or 0.0))
