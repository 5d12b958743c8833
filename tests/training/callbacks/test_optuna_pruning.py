"""The pruning callback of a sweep trial: it must find its trial in the sweep's storage."""

from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest

from asrlab.training.callbacks.optuna_pruning import OptunaPruning, TrialNotFound


def test_a_trial_its_storage_does_not_hold_is_named(tmp_path: Path) -> None:
    # What a job sees when its node opens another file than the sweep's (an unshared disk).
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    trainer = SimpleNamespace(is_global_zero=True)
    missing_study = OptunaPruning(storage, "sweep", 0, {"name": "median"}, tmp_path)
    with pytest.raises(TrialNotFound, match=r"no study 'sweep' with a trial 0 in sqlite:///"):
        missing_study.setup(trainer, None, "fit")

    optuna.create_study(study_name="sweep", storage=storage).ask()
    OptunaPruning(storage, "sweep", 0, {"name": "median"}, tmp_path).setup(trainer, None, "fit")
    missing_trial = OptunaPruning(storage, "sweep", 1, {"name": "median"}, tmp_path)
    with pytest.raises(TrialNotFound, match="no study 'sweep' with a trial 1"):
        missing_trial.setup(trainer, None, "fit")
