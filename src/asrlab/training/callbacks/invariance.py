"""Padding / batch invariance, checked on the trained model through the head contract, for every
head: an utterance decoded alone must give what it gives padded in a batch with longer ones, and
its loss alone what the head's loss gives its row of that batch (padded frames and targets
included). A difference means that some part of the model (the encoder, or the head's forward or
loss) lets padded frames or other utterances leak into valid outputs."""

from pathlib import Path
from typing import NamedTuple

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import move_data_to_device, rank_zero_warn

from asrlab.data.batch import Batch
from asrlab.data.collate import collate
from asrlab.data.dataset import Example
from asrlab.model.module import ASRModel
from asrlab.training.callbacks.probe_set import spread_by_length, validation_data

ON_MISMATCH = ("warn", "error")


class PaddingInvarianceError(RuntimeError):
    """Raised with `on_mismatch="error"` when padding changes an utterance's output."""


class Comparison(NamedTuple):
    id: str
    alone: str  # the transcript decoded at batch size 1
    batched: str  # the transcript decoded in the padded batch
    max_diff: float  # max |difference| of the head's scores over valid frames (inf: lengths differ)
    loss_diff: float  # |the head's loss alone - its loss on the utterance's row of the batch|


@torch.no_grad()
def compare_alone_and_batched(
    model: ASRModel, examples: list[Example], fillers: list[Example]
) -> list[Comparison]:
    """Decodes and scores each of `examples` alone, and all of them in one batch after `fillers`
    (longer utterances, so that the examples are padded); one Comparison per example. The
    batched loss of an example is the head's loss on its row of the padded batch."""
    device = model.device
    batch = move_data_to_device(collate(fillers + examples), device)
    scores, lengths = model(batch.waves, batch.wave_lengths)
    hyps = model.head.decode(scores, lengths)
    comparisons = []
    for k, example in enumerate(examples):
        alone = move_data_to_device(collate([example]), device)
        alone_scores, alone_lengths = model(alone.waves, alone.wave_lengths)
        row = len(fillers) + k
        alone_loss, _ = model.head.loss(alone_scores, alone_lengths, alone)
        rows = slice(row, row + 1)
        batched_loss, _ = model.head.loss(scores[rows], lengths[rows], _row(batch, row))
        comparisons.append(
            Comparison(
                example.id,
                model.head.decode(alone_scores, alone_lengths)[0],
                hyps[row],
                _max_diff(alone_scores[0], scores[row], int(alone_lengths[0]), int(lengths[row])),
                (alone_loss - batched_loss).abs().item(),
            )
        )
    return comparisons


def _row(batch: Batch, row: int) -> Batch:
    """The batch of utterance `row` alone, still padded to the batch's frames and tokens."""
    return Batch._make(field[row : row + 1] for field in batch)


def _max_diff(
    alone: torch.Tensor, batched: torch.Tensor, length: int, batched_length: int
) -> float:
    """Max |alone - batched| of one utterance's scores over its valid frames: CTC log-probs
    (T', V), transducer states (T', J) or attention memory (T', D); or class logits (C,)."""
    if alone.dim() == 2:
        if length != batched_length:
            return float("inf")
        alone, batched = alone[:length], batched[:length]
    return (alone - batched).abs().max().item()


class PaddingInvariance(pl.Callback):
    """Every `every_n_epochs` validation epochs, decodes the probe utterances alone and in one
    batch of `batch_size` padded with the longest other validation utterances.

    An utterance whose transcript differs (or, with `atol`, whose scores or loss differ by more)
    is a mismatch: a warning names each, or with `on_mismatch="error"` a PaddingInvarianceError.
    The largest differences are logged as `val/padding_max_diff` (scores) and
    `val/padding_loss_diff`.
    """

    def __init__(
        self,
        num_utterances: int = 4,
        batch_size: int = 8,
        every_n_epochs: int = 1,
        on_mismatch: str = "warn",
        atol: float | None = None,
    ) -> None:
        if on_mismatch not in ON_MISMATCH:
            raise ValueError(f"on_mismatch must be one of {ON_MISMATCH}, got {on_mismatch!r}")
        if num_utterances < 1 or every_n_epochs < 1:
            raise ValueError("num_utterances and every_n_epochs must be at least 1")
        if batch_size <= num_utterances:
            raise ValueError(
                f"batch_size ({batch_size}) must exceed num_utterances ({num_utterances}): the "
                "batch pads the probe utterances with longer ones"
            )
        self.num_utterances = num_utterances
        self.batch_size = batch_size
        self.every_n_epochs = every_n_epochs
        self.on_mismatch = on_mismatch
        self.atol = atol
        self.examples: list[Example] = []
        self.fillers: list[Example] = []

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or (trainer.current_epoch + 1) % self.every_n_epochs:
            return
        if not self.examples:
            self.examples, self.fillers = self._probe(trainer)
        comparisons = compare_alone_and_batched(pl_module, self.examples, self.fillers)
        for name in ("max_diff", "loss_diff"):
            largest = max(getattr(c, name) for c in comparisons)
            pl_module.log(f"val/padding_{name}", largest, rank_zero_only=True)
        mismatches = [
            c
            for c in comparisons
            if c.alone != c.batched
            or (self.atol is not None and max(c.max_diff, c.loss_diff) > self.atol)
        ]
        if not mismatches:
            return
        message = self._describe(mismatches, len(comparisons), trainer.current_epoch)
        if self.on_mismatch == "error":
            raise PaddingInvarianceError(message)
        rank_zero_warn(message)

    def _probe(self, trainer: pl.Trainer) -> tuple[list[Example], list[Example]]:
        """The probe examples and the longest other validation utterances to pad them with."""
        data = validation_data(trainer)
        durations = data.val_durations()
        probe = spread_by_length(durations, self.num_utterances)
        others = sorted(set(range(len(durations))) - set(probe), key=lambda i: (-durations[i], i))
        fillers = others[: self.batch_size - len(probe)]
        return data.val_examples(probe), data.val_examples(fillers)

    def _describe(self, mismatches: list[Comparison], total: int, epoch: int) -> str:
        size = len(self.fillers) + total
        lines = [
            f"epoch {epoch}: padding changes the output of {len(mismatches)} of {total} probe "
            f"utterances (decoded alone, then in a batch of {size} with longer ones):"
        ]
        lines += [
            f"  {Path(c.id).name}: alone {c.alone!r}, batched {c.batched!r} "
            f"(max score difference {c.max_diff:.3g}, loss difference {c.loss_diff:.3g})"
            for c in mismatches
        ]
        lines.append(
            "Padded frames leak into valid outputs: keep them out of the encoder (docs/models.md: "
            "'Add an encoder') and of the head's forward, loss and decoding."
        )
        if self.on_mismatch == "error":
            lines.append("(callbacks.padding_invariance.on_mismatch=warn only warns.)")
        return "\n".join(lines)
