"""The Optuna sweep behind `hydra/sweeper: asrlab_optuna` (`hparams_search=...`): asks the study
for trials, `n_jobs` at a time, runs them with Hydra's launcher and tells the study how each
ended: complete (the entry point's returned metric, or metrics), pruned or failed."""

import logging
import math
from pathlib import Path
from typing import Any

import optuna
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.errors import CompactHydraException
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from asrlab.tools.sweeping.plots import write_study_plots
from asrlab.tools.sweeping.space import SweepConfigError, search_space, trial_overrides
from asrlab.tools.sweeping.study import (
    fail_stale_trials,
    heartbeat,
    open_study,
    rdb_storage,
    shared_url,
    shown_url,
)
from asrlab.training.pruners import build_pruner

log = logging.getLogger(__name__)
RESULTS = "optimization_results.yaml"
# Where a study is kept when `storage` is not set: in the sweep folder.
DEFAULT_DB = "optuna.db"
DIRECTIONS = ("minimize", "maximize")
# Swept, these change what a validation loss measures, so that losses of trials do not compare.
LOSS_SCALE_KEYS = (
    "head",
    "tokenizer",
    "tokenizer.vocab_size",
    "head.ctc_weight",
    "head.label_smoothing",
)


class TooManyFailures(CompactHydraException):
    """More trials of a batch failed than `max_failure_rate` allows."""


class OptunaSweep:
    """What `hydra_plugins.asrlab_optuna_sweeper.AsrlabOptunaSweeper` does; its arguments are
    the `hydra.sweeper` config (docs/sweeps.md), the sampler instantiated by Hydra."""

    def __init__(
        self,
        sampler: optuna.samplers.BaseSampler,
        direction: str | list[str],
        storage: str | None,
        study_name: str | None,
        n_trials: int,
        n_jobs: int,
        max_failure_rate: float,
        pruner: str,
        pruners: DictConfig,
        pruning_metric: str,
        heartbeat_interval: int,
        params: DictConfig | None,
    ) -> None:
        self.sampler, self.storage, self.study_name = sampler, storage, study_name
        self.directions = [direction] if isinstance(direction, str) else list(direction)
        self.n_trials, self.n_jobs, self.max_failure_rate = n_trials, n_jobs, max_failure_rate
        self.pruner, self.pruners, self.pruning_metric = pruner, pruners, pruning_metric
        self.heartbeat_interval = heartbeat_interval
        self.params = params or {}

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            config=config, hydra_context=hydra_context, task_function=task_function
        )

    def sweep(self, arguments: list[str]) -> None:
        """Runs `n_trials` trials of the search space of `params` and the command line's
        `arguments`; every setting is checked before the first trial starts."""
        params = [f"{key}={value}" for key, value in self.params.items()]
        space, fixed = search_space([*params, *arguments], self.config)
        pruner_settings = dict(self.pruners.get(self.pruner) or {})
        try:
            pruner = build_pruner(self.pruner, pruner_settings)
        except ValueError as err:
            raise SweepConfigError(str(err)) from None
        if len(self.directions) > 1 and self.pruner != "none":
            raise SweepConfigError(
                f"hydra.sweeper.pruner={self.pruner}: Optuna prunes single-objective studies "
                "only; set hydra.sweeper.pruner=none with several directions"
            )
        self._check_pruning_metric(list(space))
        if not 0.0 <= self.max_failure_rate <= 1.0:
            raise SweepConfigError("hydra.sweeper.max_failure_rate must be within [0, 1]")
        self._check_counts()
        sweep_dir = Path(self.config.hydra.sweep.dir).absolute()
        sweep_dir.mkdir(parents=True, exist_ok=True)
        earlier = self.storage is None and (sweep_dir / DEFAULT_DB).exists()
        url = shared_url(self.storage) if self.storage else f"sqlite:///{sweep_dir / DEFAULT_DB}"
        storage = rdb_storage(url, self.heartbeat_interval)
        if earlier and self.study_name is None:
            names = ", ".join(optuna.get_all_study_names(storage))
            raise SweepConfigError(
                f"hydra.sweep.dir={sweep_dir} holds an earlier sweep (its {DEFAULT_DB}: {names}): "
                "give another hydra.sweep.dir, or continue its study with "
                "hydra.sweeper.study_name=NAME"
            )
        study = open_study(storage, self.study_name, self.directions, self.sampler, pruner)
        name, shown = study.study_name, shown_url(url)
        log.info("study %s in %s: %s, pruner %s", name, shown, self.sampler, self.pruner)
        # What a trial's run needs to report to its trial, and to build the same pruner.
        reporting = {"storage": url, "study_name": study.study_name}
        reporting["pruner"] = {"name": self.pruner, **pruner_settings}
        reporting["monitor"] = self.pruning_metric

        to_go = self.n_trials
        while to_go > 0:
            fail_stale_trials(study)
            trials = [study.ask(space) for _ in range(min(self.n_jobs, to_go))]
            overrides = [
                trial_overrides(t.params, fixed)
                + (_reporting({**reporting, "number": t.number}) if self.pruner != "none" else [])
                for t in trials
            ]
            numbers = [t.number for t in trials]
            with heartbeat(storage, study, numbers):
                returns = launch_as_numbered(self.launcher, overrides, numbers)
            told = [self._tell(study, t, r) for t, r in zip(trials, returns, strict=True)]
            failures = told.count(False)
            if failures / len(returns) > self.max_failure_rate:
                raise TooManyFailures(
                    f"{failures} of a batch of {len(returns)} trials failed, more than "
                    f"hydra.sweeper.max_failure_rate={self.max_failure_rate}: the sweep stops; "
                    f"each failed trial's error.json under {sweep_dir} says why"
                )
            to_go -= len(trials)
        write_results(study, sweep_dir / RESULTS)
        write_study_plots(study, sweep_dir)

    def _check_pruning_metric(self, swept: list[str]) -> None:
        """Raises SweepConfigError on a metric that is not a validation metric, or on pruning
        by the loss while a swept key changes what the loss measures."""
        if not self.pruning_metric.startswith("val/"):
            raise SweepConfigError(
                f"hydra.sweeper.pruning_metric={self.pruning_metric}: a validation metric the "
                "trials log after each epoch, such as val/wer, val/cer or val/loss"
            )
        scaled = [key for key in swept if key in LOSS_SCALE_KEYS]
        if self.pruning_metric == "val/loss" and self.pruner != "none" and scaled:
            raise SweepConfigError(
                f"hydra.sweeper.pruning_metric=val/loss: the sweep changes {', '.join(scaled)}, "
                "so the trials' losses do not compare; prune on hydra.sweeper.pruning_metric="
                "val/wer (or val/cer)"
            )

    def _check_counts(self) -> None:
        """Raises SweepConfigError on a direction Optuna does not know, or a count below 1."""
        for direction in self.directions:
            if direction not in DIRECTIONS:
                raise SweepConfigError(
                    f"hydra.sweeper.direction={direction}: one of {', '.join(DIRECTIONS)} "
                    "(or a list of them, one per optimized_metric)"
                )
        counts = {"n_trials": self.n_trials, "n_jobs": self.n_jobs}
        counts["heartbeat_interval"] = self.heartbeat_interval
        for key, count in counts.items():
            if count < 1:
                raise SweepConfigError(f"hydra.sweeper.{key}={count}: must be at least 1")

    def _tell(self, study: optuna.Study, trial: optuna.Trial, ret: JobReturn) -> bool:
        """Records how the trial ended; False if it failed."""
        # A failed job's exception, without JobReturn.return_value's message to stderr.
        error = ret._return_value if ret.status == JobStatus.FAILED else None
        if isinstance(error, optuna.TrialPruned):
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            log.info("trial %d pruned: %s", trial.number, error)
            return True
        if error is None:
            values = ret.return_value if isinstance(ret.return_value, list) else [ret.return_value]
            error = _unusable(values, len(self.directions))
        if error is not None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            log.warning("Failed experiment: %s", error)
            return False
        study.tell(trial, [float(v) for v in values])
        return True


def _unusable(values: list[Any], expected: int) -> str | None:
    """Why `values` cannot be told as a trial's `expected` objective values, or None."""
    if len(values) != expected:
        return f"the task returned {len(values)} values for {expected} directions: {values}"
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
        return f"the task returned {values}; optimized_metric must name finite numbers"
    return None


def launch_as_numbered(launcher: Any, overrides: list[list[str]], numbers: list[int]) -> list:
    """Launches each trial's `overrides` with its study number `numbers[i]` as its job number
    (its folder's prefix; a study continued in the same sweep folder gives its trials new
    folders). Hydra numbers the jobs of one launch consecutively, and another process sharing
    the study may have taken numbers between this one's asks: each run of consecutive numbers
    is launched on its own, in order. Returns the jobs' returns in the order of `overrides`."""
    returns: list = []
    start = 0
    for end in range(1, len(numbers) + 1):
        if end == len(numbers) or numbers[end] != numbers[end - 1] + 1:
            returns += launcher.launch(overrides[start:end], initial_job_idx=numbers[start])
            start = end
    return returns


def _reporting(trial: dict[str, Any]) -> list[str]:
    """The overrides that give a trial's run its `optuna_trial` config: storage, study_name,
    number, pruner (its name and settings), monitor (the metric it reports)."""
    return [f"++optuna_trial.{key}={_override_value(value)}" for key, value in trial.items()]


def _override_value(value: Any) -> str:
    """`value` (a scalar, or a dict of scalars) in Hydra's override syntax."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_override_value(v)}" for k, v in value.items()) + "}"
    return repr(value) if isinstance(value, str) else str(value)


def write_results(study: optuna.Study, path: Path) -> None:
    """The best trial's parameters and value (the Pareto front's, for several directions) and
    the count of trials by state, as YAML."""
    states = {s.name: len(study.get_trials(states=[s])) for s in optuna.trial.TrialState}
    results: dict[str, Any] = {"name": "optuna", "trials": {k: n for k, n in states.items() if n}}
    if not states["COMPLETE"]:
        log.warning("no trial completed: %s has no best trial", path)
    elif len(study.directions) == 1:
        best = study.best_trial
        results.update(best_params=best.params, best_value=best.value, best_trial=best.number)
        log.info("best trial %d: %s, value %s", best.number, best.params, best.value)
    else:
        front = [
            {"params": t.params, "values": t.values, "trial": t.number} for t in study.best_trials
        ]
        results["solutions"] = front
        log.info("%d trials on the Pareto front", len(front))
    OmegaConf.save(OmegaConf.create(results), path)
