"""Fails a run as soon as its training loss is NaN or infinite."""

from typing import Any

import pytorch_lightning as pl
import torch


class FiniteLoss(pl.Callback):
    """Raises `FloatingPointError` at the first non-finite training loss.

    One check of the loss per step, where `Trainer(detect_anomaly=True)` checks every
    backward operation; enough to stop a diverged sweep trial with a clear message.
    """

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        loss = outputs["loss"]
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"train/loss is {loss.item()} after step {trainer.global_step} "
                f"(epoch {trainer.current_epoch}, batch {batch_idx}); "
                "lower optimizer.lr or check the data"
            )
