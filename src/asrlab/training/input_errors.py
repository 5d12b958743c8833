"""The errors in what the user gave (data, config, checkpoints) whose message says what to fix:
asrlab-train shows them as one line, whether a run or a Hydra callback before it raised them."""

import os
import traceback

from omegaconf import MissingMandatoryValue

from asrlab.data.audio import AudioError
from asrlab.data.datasets.cache import DatasetError
from asrlab.data.manifest import ManifestError
from asrlab.decoders.lm import ARPAError
from asrlab.decoders.resolve import DecoderConfigError
from asrlab.model.heads.rnnt import JointTooLargeError
from asrlab.training.callbacks.freeze import FreezeConfigError
from asrlab.training.checkpoint_contents import CheckpointError
from asrlab.training.init_from import InitMismatchError
from asrlab.training.preflight.positions import PositionsError
from asrlab.training.preflight.run import PreflightError
from asrlab.trust.configs import UntrustedTargetError
from asrlab.trust.pickles import UnsafeCheckpointError

INPUT_ERRORS = (
    ARPAError,
    AudioError,
    CheckpointError,
    DatasetError,
    DecoderConfigError,
    FreezeConfigError,
    InitMismatchError,
    JointTooLargeError,
    ManifestError,
    MissingMandatoryValue,
    PositionsError,
    PreflightError,
    UnsafeCheckpointError,
    UntrustedTargetError,
)


def exit_from_callback(error: Exception) -> SystemExit:
    """What a Hydra callback raises for an input error: Hydra turns a callback's exceptions into
    warnings and goes on, but not SystemExit, whose one line ends the command (its traceback
    first with HYDRA_FULL_ERROR=1)."""
    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        traceback.print_exception(error)
    return SystemExit(f"asrlab-train: {error}")
