"""A callback for kill-and-resume tests: the training process signals itself at a set step.

A run in a subprocess gets it with `PYTHONPATH=tests` and the overrides
`+callbacks.sigkill._target_=sigkill.SignalAtStep +callbacks.sigkill.step=N` (and
`+callbacks.sigkill.signal=SIGINT` for another signal than SIGKILL).
"""

import os
import signal
from typing import Any

import pytorch_lightning as pl


class SignalAtStep(pl.Callback):
    """Sends the process `signal` (by default SIGKILL: no cleanup, as `kill -9`) as training step
    `step + 1` starts."""

    def __init__(self, step: int, signal: str = "SIGKILL") -> None:
        self.step = step
        self.signal = signal

    def on_train_batch_start(self, trainer: pl.Trainer, *args: Any) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), getattr(signal, self.signal))
