"""Ctrl-C (SIGINT) or SIGTERM during training saves the run: `last.ckpt` at the end of the
current training step (where the step checkpoints are saved, with the loader's place), then the
process exits 130 / 143 naming it, and `asrlab-resume RUN` continues exactly. A second signal
ends the process at once, without saving.

Single-process runs only. In a DDP run the ranks would see a signal at different steps, so the
signals keep their usual handling there: SIGINT Python's KeyboardInterrupt, SIGTERM Lightning's
(every rank stops, nothing saved), whose exit status is made 143.
"""

import logging
import os
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.utilities.exceptions import SIGTERMException

log = logging.getLogger(__name__)

# 128 + the signal's number, as a shell reports a process the signal ended.
EXIT_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}


class SaveOnSignal(pl.Callback):
    """Replaces the SIGINT and SIGTERM handlers while training (Lightning's SIGTERM handler would
    end a running validation without a save; Lightning's teardown restores the handlers)."""

    def __init__(self) -> None:
        self.received: signal.Signals | None = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.world_size > 1 or threading.current_thread() is not threading.main_thread():
            return
        for signum in EXIT_STATUS:
            signal.signal(signum, self.on_signal)

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:  # a second one: the user means it
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        self.received = signal.Signals(signum)
        log.warning(
            "%s: saving at the end of this training step (once more to stop without saving)",
            self.received.name,
        )

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        self._stop_if_received(trainer)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._stop_if_received(trainer)  # a signal during the last validation

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        if isinstance(exception, SIGTERMException):  # Lightning's (DDP): a SystemExit of status 0
            exception.code = EXIT_STATUS[signal.SIGTERM]

    def _stop_if_received(self, trainer: pl.Trainer) -> None:
        if self.received is None:
            return
        path = last_checkpoint(trainer)
        trainer.save_checkpoint(path)
        log.warning(
            "interrupted: saved %s at step %d; asrlab-resume %s continues",
            path,
            trainer.global_step,
            trainer.default_root_dir,
        )
        raise SystemExit(EXIT_STATUS[self.received])


def last_checkpoint(trainer: pl.Trainer) -> Path:
    """The `last.ckpt` that `ckpt_path=last` resumes from: that of the first checkpoint callback
    that saves one (`RUN/checkpoints/last.ckpt`), else `RUN/last.ckpt`."""
    for callback in trainer.checkpoint_callbacks:
        if isinstance(callback, ModelCheckpoint) and callback.save_last and callback.dirpath:
            name = callback.CHECKPOINT_NAME_LAST + callback.FILE_EXTENSION
            return Path(callback.dirpath) / name
    return Path(trainer.default_root_dir) / "last.ckpt"
