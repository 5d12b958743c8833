"""Training progress as log lines: they reach the run's log file (train.log), and the console
when no one watches a progress bar there (output redirected to a file, CI, a SLURM job)."""

import logging
import math
import sys
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytorch_lightning as pl
from torch import Tensor

from asrlab.data.batch import Batch

log = logging.getLogger(__name__)


class _Window:
    """The training batches since `start`: their utterance-weighted mean loss and speed."""

    def __init__(self) -> None:
        self.start = self.end = time.perf_counter()
        self.loss = 0.0
        self.utterances = 0

    def add(self, loss: float, utterances: int) -> None:
        self.loss += loss * utterances
        self.utterances += utterances
        self.end = time.perf_counter()

    def summary(self) -> str:
        """'loss L, ... utt/s' (loss is nan where no batch was seen)."""
        mean = self.loss / self.utterances if self.utterances else math.nan
        speed = self.utterances / max(self.end - self.start, 1e-9)
        return f"loss {mean:.4f}, {speed:.1f} utt/s"


class ProgressLog(pl.Callback):
    """Logs one line per training epoch: train loss, val WER and CER, learning rate, training
    speed in utterances per second, and time since the start. When stdout is not a terminal
    (where the progress bar shows them live) also one line every `every_n_steps` optimizer
    steps with the loss and speed since the last line, and the learning rate (0: none).
    Global rank 0 only."""

    def __init__(self, every_n_steps: int = 100) -> None:
        if every_n_steps < 0:
            raise ValueError(f"every_n_steps must be 0 (off) or more, got {every_n_steps}")
        self.every_n_steps = every_n_steps
        self._step_lines = False
        self._start = time.perf_counter()
        self._epoch = _Window()
        self._steps = _Window()
        self._logged_step = -1
        self._validated = False

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._step_lines = self.every_n_steps > 0 and not sys.stdout.isatty()
        self._start = time.perf_counter()

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._epoch, self._steps = _Window(), _Window()
        self._validated = False

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Tensor | Mapping[str, Any] | None,
        batch: Batch,
        batch_idx: int,
    ) -> None:
        loss = outputs.get("loss") if isinstance(outputs, Mapping) else outputs
        if loss is None:  # the step was skipped
            return
        self._epoch.add(float(loss), len(batch.ids))
        self._steps.add(float(loss), len(batch.ids))
        step = trainer.global_step
        if not self._step_lines or step % self.every_n_steps or step == self._logged_step:
            return
        if trainer.is_global_zero:
            total = trainer.estimated_stepping_batches
            of_total = f"/{int(total)}" if math.isfinite(total) else ""
            log.info(
                "step %d%s (epoch %d): %s, lr %.3g, elapsed %s",
                step,
                of_total,
                trainer.current_epoch + 1,
                self._steps.summary(),
                _lr(trainer),
                self._elapsed(),
            )
        self._steps, self._logged_step = _Window(), step

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._validated = self._validated or not trainer.sanity_checking

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        metrics = trainer.callback_metrics
        val = ""
        if self._validated and "val/wer" in metrics:
            val = f", val WER {100 * float(metrics['val/wer']):.2f}%"
            if "val/cer" in metrics:
                val += f" CER {100 * float(metrics['val/cer']):.2f}%"
        of_max = f"/{trainer.max_epochs}" if (trainer.max_epochs or -1) > 0 else ""
        log.info(
            "epoch %d%s: train %s%s, lr %.3g, elapsed %s",
            trainer.current_epoch + 1,
            of_max,
            self._epoch.summary(),
            val,
            _lr(trainer),
            self._elapsed(),
        )

    def _elapsed(self) -> str:
        return str(timedelta(seconds=round(time.perf_counter() - self._start)))


def _lr(trainer: pl.Trainer) -> float:
    """The first optimizer's first parameter group's learning rate."""
    return trainer.optimizers[0].param_groups[0]["lr"]
