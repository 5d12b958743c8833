"""The sweeper's study through a quick Hydra app (toy_app.py): settings refused before any
trial, two processes writing one SQLite study, a sweep resumed after its process was killed."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from asrlab.tools.sweeping.sweeper import launch_as_numbered

TOY_APP = Path(__file__).with_name("toy_app.py")
EXPECTED = {"ok": TrialState.COMPLETE, "fail": TrialState.FAIL, "prune": TrialState.PRUNED}


def _toy_sweep(cwd: Path, *args: str) -> subprocess.Popen:
    command = [sys.executable, str(TOY_APP), "-m", "hydra/sweeper=asrlab_optuna", *args]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


class NumberingLauncher:
    """Numbers the jobs of one launch consecutively from `initial_job_idx`, as Hydra's do."""

    def __init__(self) -> None:
        self.launches: list[int] = []

    def launch(self, overrides: list[list[str]], initial_job_idx: int) -> list[tuple[int, str]]:
        self.launches.append(len(overrides))
        return [(initial_job_idx + i, job[0]) for i, job in enumerate(overrides)]


@pytest.mark.parametrize(
    ("numbers", "launches"),
    [([4, 5], [2]), ([4, 6], [1, 1]), ([3, 4, 7, 8, 9], [2, 3]), ([0], [1])],
)
def test_a_trials_job_number_is_its_study_number_when_another_process_took_some(
    numbers: list[int], launches: list[int]
) -> None:
    """Another process asking the shared study between this one's asks leaves gaps."""
    launcher = NumberingLauncher()
    overrides = [[f"trial{n}"] for n in numbers]
    returns = launch_as_numbered(launcher, overrides, numbers)
    assert returns == [(n, f"trial{n}") for n in numbers]
    assert launcher.launches == launches  # consecutive trials still run side by side


def test_an_unknown_pruner_is_named_before_any_trial(tmp_path: Path) -> None:
    sweep = _toy_sweep(
        tmp_path,
        "hydra.sweeper.pruner=medain",
        "+outcome=choice(ok)",
        "+value=1",
        "hydra.sweep.dir=sweep",
    )
    _, stderr = sweep.communicate(timeout=120)
    assert sweep.returncode == 1
    assert "Traceback" not in stderr and stderr.splitlines()[0] == (
        "hydra.sweeper.pruner=medain: unknown pruner; "
        "one of median, successive_halving, hyperband, none"
    )
    assert not (tmp_path / "sweep").exists()  # no trial started


@pytest.mark.slow  # two sweeps of 6 trials each, their plots: about 15 s on 2 cores
def test_two_processes_record_every_trial_in_one_sqlite_study(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    optuna.create_study(study_name="shared", storage=storage)
    sweeps = [
        _toy_sweep(
            tmp_path,
            f"hydra.sweeper.storage={storage}",
            "hydra.sweeper.study_name=shared",
            "hydra.sweeper.n_trials=6",
            "hydra.sweeper.n_jobs=1",
            "hydra.sweeper.sampler._target_=optuna.samplers.RandomSampler",
            f"hydra.sweeper.sampler.seed={seed}",
            "+outcome=choice(ok,fail,prune)",
            "+value=interval(0.0,1.0)",
            f"hydra.sweep.dir=sweep{seed}",
        )
        for seed in (1, 2)
    ]
    for sweep in sweeps:
        _, stderr = sweep.communicate(timeout=300)
        assert sweep.returncode == 0, stderr[-3000:]
    trials = optuna.load_study(study_name="shared", storage=storage).trials
    assert sorted(t.number for t in trials) == list(range(12))
    assert {t.params["+outcome"] for t in trials} == set(EXPECTED)
    assert all(t.state == EXPECTED[t.params["+outcome"]] for t in trials)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert all(t.value == t.params["+value"] for t in complete)


@pytest.mark.slow  # two sweeps and a grace period: about 11 s
def test_a_sweep_resumed_after_a_sigkill_asks_its_running_trial_again(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = [f"hydra.sweeper.storage={storage}", "hydra.sweeper.study_name=killed"]
    args = [*study, "hydra.sweeper.heartbeat_interval=1", "hydra.sweeper.n_trials=1"]
    args += ["+outcome=choice(hang)", "+value=0.5", f"+hung={tmp_path / 'hung'}"]
    killed = _toy_sweep(tmp_path, *args, "hydra.sweep.dir=first")
    while not (tmp_path / "hung").exists():
        assert killed.poll() is None, killed.communicate()[1][-3000:]
        time.sleep(0.2)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    time.sleep(3)  # past the grace period: two heartbeats
    resumed = _toy_sweep(tmp_path, *args, "hydra.sweep.dir=second")
    _, stderr = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, stderr[-3000:]

    first, again = optuna.load_study(study_name="killed", storage=storage).trials
    assert (first.state, again.state) == (TrialState.FAIL, TrialState.COMPLETE)
    assert again.params == first.params and again.value == 0.5
    assert again.system_attrs["failed_trial"] == first.number
