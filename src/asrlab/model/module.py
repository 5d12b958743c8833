"""The LightningModule: waveform -> augment -> frontend -> augment -> encoder -> head.

Both augment stages act in training only. The head (CTC by default, or an utterance classifier)
owns the loss and the way its scores become text."""

from collections.abc import Callable, Iterable
from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from asrlab.data.batch import Batch
from asrlab.data.datamodule import ASRDataModule
from asrlab.model.contracts import Encoder, Frontend, Head
from asrlab.model.decode_speed import DecodeSpeed, clock
from asrlab.model.metrics import TEXT_METRICS, UtteranceErrors
from asrlab.text.tokenizer import Tokenizer

OptimizerFactory = Callable[[Iterable[nn.Parameter]], Optimizer]
SchedulerFactory = Callable[..., LRScheduler]


def training_steps(trainer: pl.Trainer) -> int:
    """The run's optimizer steps, for the schedulers: Lightning's estimate (the first epoch's
    batches times the epochs), or the sum of each epoch's own where the data module varies them."""
    data = trainer.datamodule
    epochs = trainer.max_epochs or 0
    if not isinstance(data, ASRDataModule) or epochs < 1 or trainer.limit_train_batches != 1.0:
        return int(trainer.estimated_stepping_batches)
    counts = data.epoch_batches(epochs)
    if counts is None:
        return int(trainer.estimated_stepping_batches)
    steps = sum(-(-count // trainer.accumulate_grad_batches) for count in counts)
    return min(steps, trainer.max_steps) if trainer.max_steps != -1 else steps


class ASRModel(pl.LightningModule):
    """An acoustic model. It owns its frontend and its head: waveform in, text out."""

    def __init__(
        self,
        frontend: Frontend,
        wave_augment: nn.Module,
        augment: nn.Module,
        encoder: Encoder,
        head: Head,
        tokenizer: Tokenizer,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory,
        config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.wave_augment = wave_augment
        self.frontend = frontend
        self.augment = augment
        self.encoder = encoder
        self.head = head
        self.tokenizer = tokenizer
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.config = config
        self.text_metrics = nn.ModuleDict(
            {
                f"{stage}_{name}": metric()
                for stage in ("val", "test")
                for name, metric in TEXT_METRICS.items()
            }
        )
        # The test split's per-utterance errors, for the WER's bootstrap interval.
        self.test_utterance_errors = UtteranceErrors()
        # The test stage's decoding seconds per audio second.
        self.decode_speed = DecodeSpeed()

    def output_frames(self, samples: torch.Tensor) -> torch.Tensor:
        """(N,) valid samples -> (N,) the output frames (of the encoder, hence of the head) that
        `forward` gives them: what data checks, transcription, the probe view and export count."""
        return self.encoder.output_frames(self.frontend.output_frames(samples))

    @property
    def frame_samples(self) -> int:
        """Input samples per output frame: the frontend's hop times the encoder's stride."""
        return self.frontend.hop_samples * self.encoder.stride

    @property
    def frame_seconds(self) -> float:
        """Seconds per output frame."""
        return self.frame_samples / self.frontend.sample_rate

    def features(
        self, inputs: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Waveforms (B, S) through the frontend; cached features (B, T, F) as they are."""
        if inputs.dim() == 3:
            return inputs, lengths
        return self.frontend(inputs, lengths)

    def encoder_inputs(
        self, inputs: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Waveforms (B, S) or cached features (B, T, F) -> the features (B, T, F) the encoder
        sees, lengths (B,): both augment stages applied (they act in training mode only)."""
        if inputs.dim() == 2:
            inputs, lengths = self.wave_augment(inputs, lengths)
        feats, lengths = self.features(inputs, lengths)
        return self.augment(feats, lengths)

    def forward(
        self, inputs: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Waveforms (B, S) or cached features (B, T, F), with their lengths (B,)
        -> the head's scores: CTC log-probs (B, T', V), class logits (B, C) or transducer
        states (B, T', J); lengths (B,)."""
        feats, lengths = self.encoder_inputs(inputs, lengths)
        hidden, lengths = self.encoder(feats, lengths)
        return self.head(hidden, lengths)

    def transcribe(self, waves: torch.Tensor, wave_lengths: torch.Tensor) -> list[str]:
        return self.head.decode(*self(waves, wave_lengths))

    def compute_objectives(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns (loss, the head's scores, lengths (B,))."""
        scores, lengths = self(batch.waves, batch.wave_lengths)
        loss, skipped = self.head.loss(scores, lengths, batch)
        if skipped and self.training:
            self.log("train/unusable_utts", skipped.float(), reduce_fx="sum", on_epoch=True)
        return loss, scores, lengths

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        loss, _, _ = self.compute_objectives(batch)
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch.texts))
        return loss

    def audio_seconds(self, batch: Batch) -> float:
        """Seconds of audio in the batch (of cached features: their frames times the hop)."""
        samples = batch.wave_lengths
        if batch.waves.dim() == 3:
            samples = samples * self.frontend.hop_samples
        return float(samples.sum()) / self.frontend.sample_rate

    def _evaluate(self, batch: Batch, stage: str) -> dict[str, Any]:
        start = clock(self.device)
        scores, lengths = self(batch.waves, batch.wave_lengths)
        encoded = clock(self.device)
        decode = self.head.decode if stage == "test" else self.head.validation_decode
        hyps = decode(scores, lengths)
        if stage == "test":
            searched = clock(self.device)
            self.decode_speed.update(encoded - start, searched - encoded, self.audio_seconds(batch))
        loss, _ = self.head.loss(scores, lengths, batch)
        size = len(batch.texts)
        self.log(f"{stage}/loss", loss, batch_size=size, sync_dist=True)
        for name in TEXT_METRICS:
            metric = self.text_metrics[f"{stage}_{name}"]
            metric.update(hyps, batch.texts)
            self.log(f"{stage}/{name}", metric, prog_bar=name == "wer", batch_size=size)
        if stage == "test":
            self.test_utterance_errors.update(hyps, batch.texts, batch.ids)
        return {"loss": loss, "hyps": hyps}

    def validation_step(self, batch: Batch, batch_idx: int) -> dict[str, Any]:
        return self._evaluate(batch, "val")

    def on_test_epoch_start(self) -> None:
        self.test_utterance_errors.reset()
        self.decode_speed.reset()

    def test_step(self, batch: Batch, batch_idx: int) -> dict[str, Any]:
        return self._evaluate(batch, "test")

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = self.optimizer_factory(self.parameters())
        total_steps = training_steps(self.trainer)
        scheduler = self.scheduler_factory(optimizer, total_steps=total_steps)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["tokenizer"] = self.tokenizer.state_dict()
        checkpoint["asrlab_config"] = self.config
