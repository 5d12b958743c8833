"""Sweep settings refused before any trial, in-process (no Hydra app to start): a storage that is
not an RDB URL or cannot be opened, a count below 1, an unknown direction, and a sweep folder
that already holds another sweep's study; a study continued in its folder gets new folders."""

from pathlib import Path
from typing import Any

import optuna
import pytest
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf

from asrlab.tools.sweeping import sweeper
from asrlab.tools.sweeping.space import SweepConfigError
from asrlab.tools.sweeping.study import rdb_storage
from asrlab.tools.sweeping.sweeper import OptunaSweep


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://localhost/0", "not an RDB URL; give sqlite:///PATH.db"),
        ("optuna.db", "not an RDB URL"),
        ("sqlite:///{tmp}/no/such/folder/optuna.db", "cannot open it (("),
    ],
)
def test_a_storage_that_is_not_an_rdb_is_named(url: str, message: str, tmp_path: Path) -> None:
    url = url.format(tmp=tmp_path)
    with pytest.raises(SweepConfigError) as err:
        rdb_storage(url, 10)
    assert str(err.value).startswith(f"hydra.sweeper.storage={url}: ")
    assert message in str(err.value) and "\n" not in str(err.value)


class _Launcher:
    """Completes every trial with the value of its `+value` override; records job numbers."""

    def __init__(self) -> None:
        self.jobs: list[int] = []

    def launch(self, overrides: list[list[str]], initial_job_idx: int) -> list[JobReturn]:
        self.jobs += range(initial_job_idx, initial_job_idx + len(overrides))
        values = [float(o[0].partition("=")[2]) for o in overrides]
        return [JobReturn(status=JobStatus.COMPLETED, _return_value=v) for v in values]


def _sweep(folder: Path, **settings: Any) -> OptunaSweep:
    defaults = {
        "sampler": optuna.samplers.RandomSampler(seed=0),
        "direction": "minimize",
        "storage": None,
        "study_name": None,
        "n_trials": 2,
        "n_jobs": 1,
        "max_failure_rate": 1.0,
        "pruner": "none",
        "pruners": OmegaConf.create({"none": {}}),
        "pruning_metric": "val/wer",
        "heartbeat_interval": 10,
        "params": None,
    }
    sweep = OptunaSweep(**{**defaults, **settings})
    hydra = {"sweep": {"dir": str(folder)}, "runtime": {"choices": {}}}
    sweep.config = OmegaConf.create({"hydra": hydra, "value": 0.0})
    sweep.launcher = _Launcher()
    return sweep


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"n_jobs": 0}, "hydra.sweeper.n_jobs=0: must be at least 1"),
        ({"n_trials": -1}, "hydra.sweeper.n_trials=-1: must be at least 1"),
        ({"heartbeat_interval": 0}, "hydra.sweeper.heartbeat_interval=0: must be at least 1"),
        ({"direction": "minimise"}, "hydra.sweeper.direction=minimise: one of minimize, max"),
        ({"pruning_metric": "wer"}, "hydra.sweeper.pruning_metric=wer: a validation metric"),
    ],
)
def test_a_setting_out_of_range_is_named_before_any_trial(
    settings: dict[str, Any], message: str, tmp_path: Path
) -> None:
    sweep = _sweep(tmp_path / "sweep", **settings)
    with pytest.raises(SweepConfigError, match=f"^{message}"):
        sweep.sweep(["value=interval(0,1)"])
    assert sweep.launcher.jobs == []


def test_a_second_sweep_into_a_sweep_folder_continues_a_named_study_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sweeper, "write_study_plots", lambda study, folder: None)
    folder = tmp_path / "sweep"
    first = _sweep(folder)
    first.sweep(["value=interval(0,1)"])
    (name,) = optuna.get_all_study_names(f"sqlite:///{folder / 'optuna.db'}")
    again = _sweep(folder)
    with pytest.raises(SweepConfigError, match=rf"holds an earlier sweep .*{name}.*study_name="):
        again.sweep(["value=interval(0,1)"])
    assert again.launcher.jobs == []
    continued = _sweep(folder, study_name=name)
    continued.sweep(["value=interval(0,1)"])
    assert first.launcher.jobs + continued.launcher.jobs == [0, 1, 2, 3]


def test_pruning_by_the_loss_while_sweeping_heads_is_refused(tmp_path: Path) -> None:
    pruners = OmegaConf.create({"median": {}})
    sweep = _sweep(tmp_path / "sweep", pruner="median", pruners=pruners, pruning_metric="val/loss")
    sweep.config.hydra.runtime.choices = {"head": "ctc"}
    with pytest.raises(SweepConfigError) as err:
        sweep.sweep(["value=interval(0,1)", "head=choice(ctc,rnnt)"])
    assert str(err.value).startswith(
        "hydra.sweeper.pruning_metric=val/loss: the sweep changes head, so the trials' losses "
    )
    assert sweep.launcher.jobs == []
    by_wer = _sweep(tmp_path / "wer", pruner="median", pruners=pruners, pruning_metric="val/wer")
    by_wer.config.hydra.runtime.choices = {"head": "ctc"}
    by_wer.sweep(["value=interval(0,1)", "head=choice(ctc,rnnt)"])
    assert by_wer.launcher.jobs == [0, 1]
