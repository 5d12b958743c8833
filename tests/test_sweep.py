"""Optuna sweeps through the real entry point: parallel trials, failing trials, stored studies."""

import json
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from omegaconf import OmegaConf
from optuna.trial import TrialState

from asrlab.training.run import train
from helpers import compose_train, manifest_overrides

# Fixing these on the command line takes them out of the search space: encoder.dropout is left.
TINY = ["debug=fast", "encoder.hidden_size=32", "optimizer.lr=0.003"]


def _train_cli(tiny_synth: dict[str, Path], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).parent / "asrlab-train"
    command = [str(script), *args, *TINY, *manifest_overrides(tiny_synth)]
    env = {**os.environ, "ASRLAB_DATA_DIR": str(cwd / "data")}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)


def _sweep(tiny_synth: dict[str, Path], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    result = _train_cli(tiny_synth, cwd, "-m", "hparams_search=optuna", *args)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _best_val_wer(trial: Path) -> float:
    return json.loads((trial / "metrics.json").read_text())["best_val_wer"]


def test_a_failing_trial_is_recorded_as_failed_and_the_sweep_goes_on(
    tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    # Overrides far longer than a file name (255 characters), fixed and swept; no sweep folder
    # given: outputs/train/multiruns/DATE_TIME under the current folder.
    note = "n" * 300
    # The config's sampler seed draws dropout 0.1 and 0.0 for the first pair, then -1.0.
    result = _sweep(
        tiny_synth,
        tmp_path,
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.n_jobs=2",
        "encoder.dropout=choice(0.0,0.1,-1.0)",
        f"hydra.sweeper.storage={storage}",
        "hydra.sweeper.study_name=failing",
        f"+fixed_note={note}",
        f"+swept_note=choice({note})",
    )
    (sweep,) = (tmp_path / "outputs" / "train" / "multiruns").iterdir()
    trials = sorted(p for p in sweep.iterdir() if p.is_dir())
    failed = [t for t in trials if "encoder.dropout=-1.0" in t.name]
    assert len(trials) == 3 and len(failed) == 1
    # Named by the job number and the swept values, each cut short; all overrides in .hydra/.
    assert all(len(t.name) <= 100 and "fixed_note" not in t.name for t in trials)
    assert failed[0].name.startswith(("0_", "1_", "2_")) and "swept_note=nnn" in failed[0].name
    assert f"+fixed_note={note}" in OmegaConf.load(failed[0] / ".hydra" / "overrides.yaml")
    error = json.loads((failed[0] / "error.json").read_text())
    assert "dropout should be a number in range [0, 1]" in error["error"]
    assert "encoder.dropout=-1.0" in error["overrides"] and "Traceback" in error["traceback"]
    assert not (failed[0] / "metrics.json").exists()
    assert "Failed experiment: InstantiationException" in result.stdout + result.stderr

    wers = [_best_val_wer(t) for t in trials if t not in failed]
    results = OmegaConf.load(sweep / "optimization_results.yaml")
    assert results.best_value == pytest.approx(min(wers))
    assert results.best_params["encoder.dropout"] in (0.0, 0.1)
    study = optuna.load_study(study_name="failing", storage=storage)
    states = {t.params["encoder.dropout"]: t.state for t in study.trials}
    assert states == {0.0: TrialState.COMPLETE, 0.1: TrialState.COMPLETE, -1.0: TrialState.FAIL}


@pytest.mark.slow  # two sweeps, each starting its worker processes: about 50 s on 2 cores
def test_a_stored_study_resumes(tiny_synth: dict[str, Path], tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = [f"hydra.sweeper.storage={storage}", "hydra.sweeper.study_name=resumed"]
    _sweep(tiny_synth, tmp_path, *study, "hydra.sweeper.n_trials=2", "hydra.sweep.dir=first")
    # Each invocation adds n_trials trials; a new seed keeps them from repeating the first ones.
    second = ["hydra.sweeper.n_trials=1", "hydra.sweeper.sampler.seed=1", "hydra.sweep.dir=second"]
    _sweep(tiny_synth, tmp_path, *study, *second)

    trials = optuna.load_study(study_name="resumed", storage=storage).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 3
    assert len({t.params["encoder.dropout"] for t in trials}) == 3
    results = OmegaConf.load(tmp_path / "second" / "optimization_results.yaml")
    assert results.best_value == pytest.approx(min(t.value for t in trials))


def test_a_single_run_still_fails_loudly(tiny_synth: dict[str, Path], tmp_path: Path) -> None:
    result = _train_cli(tiny_synth, tmp_path, "encoder.dropout=-1.0", "hydra.run.dir=run")
    assert result.returncode != 0
    assert "dropout should be a number in range [0, 1]" in result.stderr
    assert not (tmp_path / "run" / "error.json").exists()


def test_a_non_finite_training_loss_fails_the_run(
    tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    overrides = manifest_overrides(tiny_synth) + ["debug=fast"]
    # An infinite learning rate leaves non-finite weights after the first step.
    overrides += ["encoder.hidden_size=32", "optimizer.lr=inf", "data.batch_size=4"]
    with pytest.raises(FloatingPointError, match="train/loss is nan after step 2"):
        train(compose_train(overrides, tmp_path))


@pytest.mark.slow  # one trial of two epochs in a worker process: about 30 s on 2 cores
def test_a_clearly_worse_trial_is_pruned_at_the_configured_epoch(
    tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    # A finished trial that reached a val loss of 0.1: the untrained tiny model is clearly worse.
    study = optuna.create_study(study_name="pruned", storage=storage)
    dropout = optuna.distributions.CategoricalDistribution([0.0])
    reference = optuna.trial.create_trial(
        params={"encoder.dropout": 0.0},
        distributions={"encoder.dropout": dropout},
        value=0.1,
        intermediate_values={0: 0.1, 1: 0.1, 2: 0.1},
    )
    study.add_trial(reference)
    pruner = ["hydra.sweeper.pruner=median", "hydra.sweeper.pruners.median.n_startup_trials=1"]
    _sweep(
        tiny_synth,
        tmp_path,
        *pruner,
        "hydra.sweeper.pruners.median.n_warmup_steps=1",  # epoch 0 is never pruned
        "hydra.sweeper.pruning_metric=val/loss",
        "hydra.sweeper.n_trials=1",
        f"hydra.sweeper.storage={storage}",
        "hydra.sweeper.study_name=pruned",
        "encoder.dropout=choice(0.0)",
        "trainer.max_epochs=3",
        "hydra.sweep.dir=sweep",
    )
    trial = optuna.load_study(study_name="pruned", storage=storage).trials[1]
    assert trial.state == TrialState.PRUNED and sorted(trial.intermediate_values) == [0, 1]
    (folder,) = (p for p in (tmp_path / "sweep").iterdir() if p.is_dir())
    assert folder.name == "1_encoder.dropout=0.0"  # named by what it tried, not by its study
    pruned = json.loads((folder / "pruned.json").read_text())
    assert pruned["epoch"] == 1 and pruned["value"] == pytest.approx(trial.intermediate_values[1])
    assert pruned["monitor"] == "val/loss" and pruned["value"] > 1.0  # a WER would be below
    trial_seconds = (trial.datetime_complete - trial.datetime_start).total_seconds()
    assert 0 < pruned["train_seconds"] < trial_seconds
    assert not (folder / "metrics.json").exists() and not (folder / "error.json").exists()
    results = OmegaConf.load(tmp_path / "sweep" / "optimization_results.yaml")
    assert results.trials == {"COMPLETE": 1, "PRUNED": 1} and results.best_trial == 0


@pytest.mark.slow  # three one-epoch trials, each a submitit job process: about 100 s on 2 cores
def test_submitit_jobs_report_to_their_trials_in_the_shared_storage(
    tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    # A relative SQLite path, and jobs that run in their trial folders: the sweep and its jobs
    # must still open the same file.
    study = [
        "hydra/launcher=submitit_local",
        "hydra.job.chdir=True",
        "hydra.sweeper.storage=sqlite:///optuna.db",
        "hydra.sweeper.study_name=submitit",
        "hydra.sweeper.pruner=median",
        "hydra.sweeper.pruners.median.n_warmup_steps=0",
        "hydra.sweeper.pruning_metric=val/wer",
        "trainer.max_epochs=1",
    ]
    # No finished trial yet: the median pruner lets both run to their end.
    _sweep(tiny_synth, tmp_path, *study, "hydra.sweeper.n_trials=2", "hydra.sweep.dir=first")
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    trials = optuna.load_study(study_name="submitit", storage=storage).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    assert all(t.value is not None and list(t.intermediate_values) == [0] for t in trials)

    # Three finished trials at 0% WER after epoch 0: the next trial is pruned there.
    perfect = optuna.trial.create_trial(
        params={"encoder.dropout": 0.0},
        distributions={"encoder.dropout": optuna.distributions.FloatDistribution(0.0, 0.3)},
        value=0.0,
        intermediate_values={0: 0.0},
    )
    for _ in range(3):
        optuna.load_study(study_name="submitit", storage=storage).add_trial(perfect)
    second = ["hydra.sweeper.n_trials=1", "hydra.sweeper.sampler.seed=1", "hydra.sweep.dir=second"]
    _sweep(tiny_synth, tmp_path, *study, *second)
    pruned = optuna.load_study(study_name="submitit", storage=storage).trials[-1]
    assert pruned.state == TrialState.PRUNED and list(pruned.intermediate_values) == [0]
    (folder,) = (p for p in (tmp_path / "second").iterdir() if p.is_dir() and p.name[0] != ".")
    assert json.loads((folder / "pruned.json").read_text())["epoch"] == 0
