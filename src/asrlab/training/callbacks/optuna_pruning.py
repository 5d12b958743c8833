"""Reports the validation metric `hydra.sweeper.pruning_metric` names (val/loss by default)
after each validation to the run's Optuna trial and stops the run when the study's pruner says
so (the Optuna sweeper passes the trial, and that metric, as `optuna_trial` in a trial's
config)."""

import json
import logging
from pathlib import Path
from typing import Any

import optuna
import pytorch_lightning as pl

from asrlab.training.pruners import build_pruner
from asrlab.training.train_time import train_seconds

log = logging.getLogger(__name__)
PRUNED_FILE = "pruned.json"


class TrialNotFound(LookupError):
    """The trial's storage does not hold its study or its trial."""


class MetricNotLogged(KeyError):
    """The pruning metric is not among the metrics a validation logged."""

    def __str__(self) -> str:
        return str(self.args[0])


class OptunaPruning(pl.Callback):
    """After each validation, rank 0 reports `monitor` at the epoch (0-based) to trial
    `number` of `study_name` in `storage`; when the pruner prunes it, every rank raises
    `optuna.TrialPruned` after rank 0 wrote `run_dir/pruned.json` (epoch, value, train_seconds).

    A trial that is no longer running (a run repeated from a trial's folder) is not reported to.
    A `monitor` that the validation did not log raises MetricNotLogged, naming those it did.
    """

    def __init__(
        self,
        storage: str,
        study_name: str,
        number: int,
        pruner: dict[str, Any],
        run_dir: Path,
        monitor: str,
    ) -> None:
        self.storage, self.study_name, self.number = storage, study_name, number
        settings = {k: v for k, v in pruner.items() if k != "name"}
        self.pruner = build_pruner(pruner["name"], settings)
        self.run_dir, self.monitor = run_dir, monitor
        self._trial: optuna.Trial | None = None

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != "fit" or not trainer.is_global_zero:
            return
        storage = optuna.storages.get_storage(self.storage)
        try:
            study_id = storage.get_study_id_from_name(self.study_name)
            trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, self.number)
        except KeyError:
            raise TrialNotFound(
                f"optuna_trial: no study {self.study_name!r} with a trial {self.number} in "
                f"{self.storage}: every trial's process must reach the sweep's storage (an "
                "SQLite file on a disk they share, or a database server)"
            ) from None
        study = optuna.load_study(study_name=self.study_name, storage=storage, pruner=self.pruner)
        state = storage.get_trial(trial_id).state
        if state != optuna.trial.TrialState.RUNNING:
            log.warning("Optuna trial %d is %s: not reporting to it", self.number, state.name)
            return
        self._trial = optuna.Trial(study, trial_id)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        if self.monitor not in trainer.callback_metrics:  # on every rank, so none waits
            logged = sorted(k for k in trainer.callback_metrics if k.startswith("val/"))
            raise MetricNotLogged(
                f"hydra.sweeper.pruning_metric={self.monitor}: this run's validation logs "
                f"{', '.join(logged) or 'no val/ metric'}"
            )
        prune, value = False, None
        if self._trial is not None:
            value = float(trainer.callback_metrics[self.monitor])
            self._trial.report(value, step=trainer.current_epoch)
            prune = self._trial.should_prune()
        if not trainer.strategy.broadcast(prune):
            return
        epoch = trainer.current_epoch
        if trainer.is_global_zero:
            record: dict[str, Any] = {"epoch": epoch, "monitor": self.monitor, "value": value}
            record["train_seconds"] = train_seconds(trainer)
            (self.run_dir / PRUNED_FILE).write_text(json.dumps(record, indent=2) + "\n")
        raise optuna.TrialPruned(f"pruned after {epoch + 1} epochs: {self.monitor} {value}")
