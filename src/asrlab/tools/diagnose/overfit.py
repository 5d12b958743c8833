"""Can the model learn one batch by heart? Train on it alone (augmentation off) and score it.

A model that cannot drive the loss to about zero and the WER to zero on a handful of utterances
has a bug or a bad setting (labels that do not match the audio, a learning rate far off, too
few frames per label), whatever the data size.
"""

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig
from pytorch_lightning.utilities import move_data_to_device
from torch.utils.data import DataLoader
from torchmetrics.functional.text import word_error_rate

from asrlab.data.batch import Batch
from asrlab.model.module import ASRModel
from asrlab.training.preflight.findings import Finding


@torch.no_grad()
def score(model: ASRModel, batch: Batch) -> tuple[float, float, list[str]]:
    """The model's loss, WER and hypotheses on `batch`, in eval mode (no dropout)."""
    model.eval()
    batch = move_data_to_device(batch, model.device)
    loss, scores, lengths = model.compute_objectives(batch)
    hyps = model.head.decode(scores, lengths)
    return float(loss), float(word_error_rate(hyps, batch.texts)), hyps


def train_on(
    model: ASRModel, batch: Batch, steps: int, trainer: DictConfig, progress: bool = True
) -> None:
    """`steps` optimizer steps on `batch` alone, with the model's optimizer and schedule and the
    `trainer` config's accelerator, precision and gradient clipping."""
    model.train()
    pl.Trainer(
        max_epochs=1,
        accelerator=trainer.accelerator,
        devices=1,
        precision=trainer.precision,
        gradient_clip_val=trainer.get("gradient_clip_val"),
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=progress,
    ).fit(model, train_dataloaders=DataLoader([batch] * steps, batch_size=None))


def overfit(
    model: ASRModel,
    batch: Batch,
    steps: int,
    trainer: DictConfig,
    max_loss: float,
    progress: bool = True,
) -> Finding:
    """Trains `model` (built without augmentation) on `batch`; ok when the loss ends at most
    `max_loss` and the WER at zero."""
    loss_before, wer_before, _ = score(model, batch)
    train_on(model, batch, steps, trainer, progress)
    loss, wer, hyps = score(model, batch)
    summary = (
        f"{steps} steps on one batch of {len(batch.texts)} utterances: loss {loss_before:.3f} "
        f"-> {loss:.3f}, WER {100 * wer_before:.1f}% -> {100 * wer:.1f}%"
    )
    if loss <= max_loss and wer == 0.0:
        return Finding("overfit", "ok", summary)
    rows = [
        {"id": uid, "reference": ref, "hypothesis": hyp}
        for uid, ref, hyp in zip(batch.ids, batch.texts, hyps, strict=True)
        if ref != hyp
    ]
    return Finding(
        "overfit",
        "fatal",
        f"the model did not learn one batch by heart (loss above doctor.overfit_loss="
        f"{max_loss:g} or WER above 0): {summary}",
        "check that the transcripts match their audio, try another optimizer.lr, more "
        "doctor.overfit_steps, a larger encoder or a smaller encoder stride",
        rows,
    )
