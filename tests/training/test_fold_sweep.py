"""data.source.fold=all in a multirun: a sweep over the speaker folds found in the data."""

import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module
from omegaconf import DictConfig, open_dict, read_write

from asrlab.cli import train
from asrlab.data.datasets.fsdd import LAYOUT
from asrlab.training.fold_sweep import FoldSweep, expand_folds
from asrlab.training.sweep_dirs import SweptKeysOnly
from helpers import write_recordings


def hydra_config(data_dir: Path, overrides: list[str]) -> DictConfig:
    """The config a multirun of `overrides` and the sweep `seed=1,2` starts with, Hydra's part
    included."""
    with initialize_config_module("asrlab.conf", version_base="1.3"):
        cfg = compose("train", overrides, return_hydra_config=True)
    with read_write(cfg), open_dict(cfg):
        cfg.paths.data_dir = str(data_dir)
        cfg.hydra.overrides.task = [*overrides, "seed=1,2"]
    return cfg


def test_fold_all_sweeps_one_trial_per_speaker_found(tmp_path: Path) -> None:
    root = tmp_path / "fsdd"
    write_recordings(root / "recordings", speakers=["anna", "ben", "carl"], takes=(0, 5, 10))
    task = ["data=fsdd", f"data.source.root={root}", "data.source.folds=speaker"]
    cfg = hydra_config(tmp_path, [*task, "data.source.fold=all"])
    for callback in (FoldSweep(), SweptKeysOnly()):  # as conf/hydra/default.yaml orders them
        callback.on_multirun_start(cfg)
    assert list(cfg.hydra.overrides.task) == [*task, "seed=1,2", "data.source.fold=0,1,2"]
    assert "data.source.fold" not in cfg.hydra.job.config.override_dirname.exclude_keys

    write_recordings(root / "recordings", speakers=["dora"], takes=(0, 5, 10))
    cfg = hydra_config(tmp_path, task)
    with open_dict(cfg):
        cfg.data.source.fold = "all"  # as experiment=fsdd_loso sets it
    FoldSweep().on_multirun_start(cfg)
    assert list(cfg.hydra.overrides.task) == [*task, "seed=1,2", "data.source.fold=0,1,2,3"]


def test_other_multiruns_are_left_alone(tmp_path: Path) -> None:
    cfg = hydra_config(tmp_path, [])
    FoldSweep().on_multirun_start(cfg)
    assert list(cfg.hydra.overrides.task) == ["seed=1,2"]
    assert expand_folds(["+data.source.fold=3", "seed=1"], 2) == ["seed=1", "data.source.fold=0,1"]


def test_no_speakers_to_fold_stops_the_multirun_in_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    recwarn: pytest.WarningsRecorder,
) -> None:
    """Hydra turns a callback's exceptions into warnings and launches the trials anyway: the
    fold sweep's input errors end asrlab-train with their message alone, before any trial."""
    recordings = tmp_path / "fsdd" / "recordings"
    recordings.mkdir(parents=True)
    sweep = tmp_path / "sweep"
    overrides = ["data=fsdd", f"data.source.root={recordings.parent}", "data.source.folds=speaker"]
    argv = ["asrlab-train", "-m", *overrides, "data.source.fold=all", f"hydra.sweep.dir={sweep}"]
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")
    with pytest.raises(SystemExit) as exit_info:
        train.main()
    assert str(exit_info.value) == (
        f"asrlab-train: fsdd: no recordings in {recordings}; expected {LAYOUT}"
    )
    stderr = capfd.readouterr().err
    assert "Traceback" not in stderr and not [w for w in recwarn if "FoldSweep" in str(w.message)]
    assert not (sweep / "0").exists()
