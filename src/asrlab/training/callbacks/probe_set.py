"""The probe set: a few validation utterances spread over lengths, the same every epoch."""

from collections.abc import Sequence
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.loggers import TensorBoardLogger
from torch.utils.tensorboard import SummaryWriter


def spread_by_length(durations: Sequence[float], count: int) -> list[int]:
    """Indices of `count` utterances at evenly spaced ranks of duration, shortest and longest
    included (the median for one), in ascending duration; all of them when there are fewer."""
    order = sorted(range(len(durations)), key=lambda i: (durations[i], i))
    if count >= len(order):
        return order
    if count == 1:
        return [order[len(order) // 2]]
    return [order[round(k * (len(order) - 1) / (count - 1))] for k in range(count)]


def validation_dataset(trainer: pl.Trainer) -> Any:
    """The dataset of the trainer's validation loader (a SpeechDataset or CachedFeatureDataset:
    `utterances` with their durations, and one Example per index)."""
    dataset = getattr(trainer.val_dataloaders, "dataset", None)
    if not hasattr(dataset, "utterances"):
        raise TypeError(
            "the probe callbacks need one validation DataLoader over an asrlab dataset "
            f"(from ASRDataModule), got {type(trainer.val_dataloaders).__name__}; without one, "
            "drop them: '~callbacks.probe_view' '~callbacks.padding_invariance'"
        )
    return dataset


def probe_indices(dataset: Any, count: int) -> list[int]:
    """Indices of `count` utterances of `dataset` spread over lengths (`spread_by_length`)."""
    return spread_by_length([u.duration for u in dataset.utterances], count)


def tensorboard_writer(trainer: pl.Trainer) -> SummaryWriter | None:
    """The SummaryWriter of the trainer's TensorBoard logger, if it has one."""
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return logger.experiment
    return None
