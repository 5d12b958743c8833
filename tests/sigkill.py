"""A callback for kill-and-resume tests: the training process SIGKILLs itself at a set step.

A run in a subprocess gets it with `PYTHONPATH=tests` and the overrides
`+callbacks.sigkill._target_=sigkill.SigkillAtStep +callbacks.sigkill.step=N`.
"""

import os
import signal
from typing import Any

import pytorch_lightning as pl


class SigkillAtStep(pl.Callback):
    """Kills the process (no cleanup, as `kill -9` would) before training step `step + 1`."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_start(self, trainer: pl.Trainer, *args: Any) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)
