"""ASRLAB_SMOKE=1: any asrlab-train, asrlab-doctor or asrlab-decode command as a smoke run.

With the variable set (to anything but empty or 0), the entry point appends overrides to its
command line, after the command's own (so they win, and the run's .hydra/overrides.yaml records
them), and logs one line naming them:

- training configs (asrlab-train, asrlab-doctor, and so asrlab-reproduce and asrlab-resume):
  one epoch of two training batches, one validation and one test batch (`TRAINING`);
  synth_digits (or synth_digits_hard) at 24/8/8 utterances (`SYNTH_DIGITS`) unless the command
  picks other data;
- an Optuna search (`hparams_search=...`): two trials, one at a time (`OPTUNA`).

The README's commands run this way in tests/test_readme.py.
"""

import functools
import logging
import os
import sys
from collections.abc import Callable
from importlib import resources
from typing import TypeVar

from omegaconf import OmegaConf

SMOKE_ENV = "ASRLAB_SMOKE"
TRAINING = [
    "trainer.max_epochs=1",
    "++trainer.limit_train_batches=2",
    "++trainer.limit_val_batches=1",
    "++trainer.limit_test_batches=1",
]
# The data options whose sizes SYNTH_DIGITS sets.
SYNTHETIC = ("synth_digits", "synth_digits_hard")
SYNTH_DIGITS = ["data.source.num_train=24", "data.source.num_val=8", "data.source.num_test=8"]
OPTUNA = ["hydra.sweeper.n_trials=2", "hydra.sweeper.n_jobs=1"]
# Options that replace the primary config (a run's saved .hydra/config.yaml): its data as saved.
_CONFIG_OPTIONS = ("--config-path", "-cp", "--config-name", "-cn")

log = logging.getLogger(__name__)
T = TypeVar("T")


def smoke_enabled() -> bool:
    return os.environ.get(SMOKE_ENV, "") not in ("", "0")


def smoke_overrides(args: list[str], training: bool) -> list[str]:
    """The overrides that shrink the command with arguments `args`; `training`: its config is
    train.yaml's."""
    extra = []
    if training:
        extra += TRAINING
        if not _picks_other_data(args):
            extra += SYNTH_DIGITS
    if any(arg.startswith("hparams_search=") for arg in args):
        extra += OPTUNA
    return extra


def _picks_other_data(args: list[str]) -> bool:
    """Whether the command trains on anything but synth_digits (or synth_digits_hard, which has
    the same size keys): a `data=` option, an experiment that overrides `/data`, or another
    primary config."""
    for arg in args:
        key, _, value = arg.partition("=")
        if key in _CONFIG_OPTIONS or (key == "data" and value not in SYNTHETIC):
            return True
        if key == "experiment" and _overrides_data(value):
            return True
    return False


def _overrides_data(experiment: str) -> bool:
    """Whether the experiment, or one it builds on (`defaults: [fsdd_si]`), overrides `/data`."""
    path = resources.files("asrlab.conf") / "experiment" / f"{experiment}.yaml"
    if not path.is_file():  # Hydra names the missing option
        return False
    for entry in OmegaConf.create(path.read_text()).get("defaults", []):
        if isinstance(entry, str):
            if entry != "_self_" and _overrides_data(entry):
                return True
        elif any(str(key).startswith("override /data") for key in entry):
            return True
    return False


def shrinkable(main: Callable[[], T], training: bool) -> Callable[[], T]:
    """`main` (a Hydra entry point reading sys.argv) with the smoke overrides appended to its
    command line when ASRLAB_SMOKE is set."""

    @functools.wraps(main)
    def entry_point() -> T:
        if smoke_enabled():
            extra = smoke_overrides(sys.argv[1:], training)
            sys.argv = [*sys.argv, *extra]
            log.warning("%s is set: a smoke run, with %s", SMOKE_ENV, " ".join(extra))
        return main()

    return entry_point
