"""The probe set: a few validation utterances spread over lengths, the same every epoch."""

from collections.abc import Sequence

import pytorch_lightning as pl

from asrlab.data.datamodule import ASRDataModule


def spread_by_length(durations: Sequence[float], count: int) -> list[int]:
    """Indices of `count` utterances at evenly spaced ranks of duration, shortest and longest
    included (the median for one), in ascending duration; all of them when there are fewer."""
    order = sorted(range(len(durations)), key=lambda i: (durations[i], i))
    if count >= len(order):
        return order
    if count == 1:
        return [order[len(order) // 2]]
    return [order[round(k * (len(order) - 1) / (count - 1))] for k in range(count)]


def validation_data(trainer: pl.Trainer) -> ASRDataModule:
    """The trainer's asrlab data module (any of them: `val_durations` and `val_examples` give
    the validation utterances)."""
    data = trainer.datamodule
    if not isinstance(data, ASRDataModule):
        raise TypeError(
            "the probe callbacks need an asrlab data module (ASRDataModule or "
            f"LhotseDataModule), got {type(data).__name__}; without one, drop them: "
            "'~callbacks.probe_view' '~callbacks.padding_invariance'"
        )
    return data
