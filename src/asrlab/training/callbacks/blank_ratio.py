"""The blank ratio: the share of valid frames whose best token is the CTC blank.

A CTC model first learns to say nothing: for its first epoch or so nearly every frame's best
token is blank, then characters appear. A model that stays there has collapsed to all-blank
(empty hypotheses, WER 100%): a learning rate too high or too low, labels that do not match the
audio, or too few frames per label.
"""

import logging
from typing import Any

import pytorch_lightning as pl
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from asrlab.model.encoders.masking import length_mask
from asrlab.model.heads.ctc import CTCHead

log = logging.getLogger(__name__)


def blank_frames(log_probs: Tensor, lengths: Tensor, blank_id: int) -> Tensor:
    """log_probs (B, T, V), lengths (B,) -> (B,) valid frames whose best token is blank."""
    best_is_blank = log_probs.argmax(dim=-1) == blank_id
    return (best_is_blank & length_mask(lengths.to(log_probs.device), log_probs.shape[1])).sum(1)


class BlankRatio(pl.Callback):
    """Logs `train/blank_ratio` (each logged step) and `val/blank_ratio` (each epoch, over all
    valid frames), and warns when validation has collapsed to all-blank: a ratio above `threshold`
    once `after_epochs` epochs have passed (CTC models are all-blank early on). CTC head only;
    costs an argmax of the head's output, read with a forward hook (no extra forward).

    Args:
        threshold: a validation ratio above this is a collapse.
        after_epochs: epochs during which all-blank is normal and not warned about.
    """

    def __init__(self, threshold: float = 0.99, after_epochs: int = 2) -> None:
        self.threshold = threshold
        self.after_epochs = after_epochs
        self._handle: RemovableHandle | None = None
        self._armed = False
        self._counts: tuple[int, int] | None = None  # (blank, valid) frames of the last batch
        self._val = [0, 0]  # (blank, valid) frames of this validation epoch

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        head = getattr(pl_module, "head", None)
        if isinstance(head, CTCHead) and self._handle is None:
            self._handle = head.register_forward_hook(self._count)

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def _count(self, head: nn.Module, inputs: Any, output: tuple[Tensor, Tensor]) -> None:
        """Counts the first head output after a batch starts: the step's own forward."""
        if self._armed:
            log_probs, lengths = output
            blank = blank_frames(log_probs.detach(), lengths, head.tokenizer.blank_id)
            self._counts = (int(blank.sum()), int(lengths.sum()))
            self._armed = False

    def _arm(self) -> None:
        self._armed, self._counts = self._handle is not None, None

    def _log(self, pl_module: pl.LightningModule, stage: str) -> tuple[int, int]:
        if self._counts is None:
            return 0, 0
        blank, valid = self._counts
        pl_module.log(
            f"{stage}/blank_ratio",
            blank / max(valid, 1),
            batch_size=max(valid, 1),  # the epoch mean is then one over all frames
            on_step=stage == "train",
            on_epoch=stage == "val",
            sync_dist=stage == "val",
        )
        return blank, valid

    def on_train_batch_start(self, *args: Any, **kwargs: Any) -> None:
        self._arm()

    def on_validation_batch_start(self, *args: Any, **kwargs: Any) -> None:
        self._arm()

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any, **kwargs: Any
    ) -> None:
        self._log(pl_module, "train")

    def on_validation_epoch_start(self, *args: Any, **kwargs: Any) -> None:
        self._val = [0, 0]

    def on_validation_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any, **kwargs: Any
    ) -> None:
        blank, valid = self._log(pl_module, "val")
        self._val[0] += blank
        self._val[1] += valid

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        blank, valid = self._val
        if trainer.sanity_checking or not valid or trainer.current_epoch < self.after_epochs:
            return
        if blank / valid > self.threshold and trainer.is_global_zero:
            log.warning(
                "the model has collapsed to all-blank: after epoch %d, %.2f%% of %d validation "
                "frames are blank (callbacks.blank_ratio.threshold=%g). Train longer, change "
                "optimizer.lr, or check that the labels match the audio: `asrlab-doctor "
                "doctor.overfit_steps=200` with the same overrides tells a model that cannot "
                "learn from bad data",
                trainer.current_epoch + 1,
                100 * blank / valid,
                valid,
                self.threshold,
            )
