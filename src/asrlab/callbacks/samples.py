"""Each validation epoch: a few reference/hypothesis pairs and one spectrogram in TensorBoard."""

from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import TensorBoardLogger

from asrlab.batch import Batch


class ValidationSamples(pl.Callback):
    """Logs the first `num_samples` utterances of the first validation batch."""

    def __init__(self, num_samples: int = 4) -> None:
        self.num_samples = num_samples

    def on_validation_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Batch,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        writer = self._writer(trainer)
        if batch_idx != 0 or writer is None or trainer.sanity_checking:
            return
        step = trainer.global_step
        rows = [
            f"| {ref} | {hyp} |"
            for ref, hyp in zip(batch.texts, outputs["hyps"][: self.num_samples], strict=False)
        ]
        writer.add_text(
            "val/samples", "| reference | hypothesis |\n|---|---|\n" + "\n".join(rows), step
        )
        feats, lengths = pl_module.features(batch.waves[:1], batch.wave_lengths[:1])
        writer.add_image("val/features", _to_image(feats[0, : lengths[0]]), step, dataformats="HW")

    @staticmethod
    def _writer(trainer: pl.Trainer) -> Any:
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                return logger.experiment
        return None


def _to_image(feats: torch.Tensor) -> torch.Tensor:
    """(T, F) features -> (F, T) image in [0, 1], low frequencies at the bottom."""
    image = feats.detach().float().cpu().T.flip(0)
    low, high = image.min(), image.max()
    return (image - low) / (high - low).clamp(min=1e-8)
