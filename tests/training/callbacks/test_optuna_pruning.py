"""The pruning callback of a sweep trial: it must find its trial in the sweep's storage, and
it reports the metric it is given, or names the ones a validation logged."""

from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest
import torch

from asrlab.training.callbacks.optuna_pruning import (
    MetricNotLogged,
    OptunaPruning,
    TrialNotFound,
)


def test_a_trial_its_storage_does_not_hold_is_named(tmp_path: Path) -> None:
    # What a job sees when its node opens another file than the sweep's (an unshared disk).
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    trainer = SimpleNamespace(is_global_zero=True)
    missing_study = OptunaPruning(storage, "sweep", 0, {"name": "median"}, tmp_path, "val/wer")
    with pytest.raises(TrialNotFound, match=r"no study 'sweep' with a trial 0 in sqlite:///"):
        missing_study.setup(trainer, None, "fit")

    optuna.create_study(study_name="sweep", storage=storage).ask()
    found = OptunaPruning(storage, "sweep", 0, {"name": "median"}, tmp_path, "val/wer")
    found.setup(trainer, None, "fit")
    missing_trial = OptunaPruning(storage, "sweep", 1, {"name": "median"}, tmp_path, "val/wer")
    with pytest.raises(TrialNotFound, match="no study 'sweep' with a trial 1"):
        missing_trial.setup(trainer, None, "fit")


def _validated(metrics: dict[str, float], epoch: int) -> SimpleNamespace:
    """A single-process trainer at the end of epoch `epoch`'s validation."""
    strategy = SimpleNamespace(broadcast=lambda value: value)
    return SimpleNamespace(
        is_global_zero=True,
        sanity_checking=False,
        current_epoch=epoch,
        callback_metrics={k: torch.tensor(v) for k, v in metrics.items()},
        strategy=strategy,
    )


def test_the_pruning_metric_is_reported_and_a_missing_one_is_named(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    optuna.create_study(study_name="sweep", storage=storage).ask()
    metrics = {"val/wer": 1.0, "val/loss": 2.5, "train/loss": 3.0}
    pruning = OptunaPruning(storage, "sweep", 0, {"name": "none"}, tmp_path, monitor="val/loss")
    pruning.setup(_validated(metrics, 0), None, "fit")
    pruning.on_validation_end(_validated(metrics, 0), None)
    pruning.on_validation_end(_validated({**metrics, "val/loss": 1.5}, 1), None)
    trial = optuna.load_study(study_name="sweep", storage=storage).trials[0]
    assert trial.intermediate_values == {0: 2.5, 1: 1.5}

    typo = OptunaPruning(storage, "sweep", 0, {"name": "none"}, tmp_path, monitor="val/los")
    typo.setup(_validated(metrics, 0), None, "fit")
    with pytest.raises(MetricNotLogged) as err:
        typo.on_validation_end(_validated(metrics, 2), None)
    assert str(err.value) == (
        "hydra.sweeper.pruning_metric=val/los: this run's validation logs val/loss, val/wer"
    )
