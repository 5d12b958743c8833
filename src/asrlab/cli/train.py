"""asrlab-train: compose -> seed -> data, model, trainer -> fit -> test -> metrics.json
(asrlab.training.run); returns the optimised metric, so Hydra sweepers can minimise it."""

import logging
import os
import sys

import hydra
from omegaconf import DictConfig, MissingMandatoryValue

from asrlab.cli.quiet import quiet
from asrlab.cli.smoke import shrinkable
from asrlab.data.audio import AudioError
from asrlab.data.datasets.cache import DatasetError
from asrlab.data.manifest import ManifestError
from asrlab.decoders.lm import ARPAError
from asrlab.decoders.resolve import DecoderConfigError
from asrlab.model.heads.rnnt import JointTooLargeError
from asrlab.training.checkpoint_contents import CheckpointError
from asrlab.training.init_from import InitMismatchError
from asrlab.training.preflight.positions import PositionsError
from asrlab.training.preflight.run import PreflightError
from asrlab.training.run import train
from asrlab.training.trial import run_trial
from asrlab.trust.configs import UntrustedTargetError, check_command_line
from asrlab.trust.pickles import UnsafeCheckpointError

log = logging.getLogger(__name__)

# Errors in what the user gave (data, config, checkpoints), whose message says what to fix.
INPUT_ERRORS = (
    ARPAError,
    AudioError,
    CheckpointError,
    DatasetError,
    DecoderConfigError,
    InitMismatchError,
    JointTooLargeError,
    ManifestError,
    MissingMandatoryValue,
    PositionsError,
    PreflightError,
    UnsafeCheckpointError,
    UntrustedTargetError,
)


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def _main(cfg: DictConfig) -> float | None:
    """Train; returns `cfg.optimized_metric` (a failing sweep trial: see `run_trial`).

    An input error of a single run exits with its message on stderr; its traceback goes to
    the run's log file only (or, with HYDRA_FULL_ERROR=1, to stderr as Hydra prints it).
    """
    quiet()
    try:
        return run_trial(train, cfg)
    except INPUT_ERRORS as err:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        _log_to_files(err)
        raise SystemExit(f"asrlab-train: {err}") from None


def _log_to_files(err: Exception) -> None:
    """`err` with its traceback, to the log files only (the run's train.log)."""
    record = log.makeRecord(
        log.name, logging.ERROR, __file__, 0, "%s", (err,), (type(err), err, err.__traceback__)
    )
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def _checked_main() -> None:
    """A config from a `--config-path` folder is checked (asrlab.trust.configs) before Hydra
    reads its logging settings or instantiates anything."""
    try:
        check_command_line(sys.argv[1:])
    except UntrustedTargetError as err:
        raise SystemExit(f"asrlab-train: {err}") from None
    _main()


# The console script; ASRLAB_SMOKE=1 makes it a smoke run (asrlab.cli.smoke).
main = shrinkable(_checked_main, training=True)

if __name__ == "__main__":
    main()
