"""How long a run has trained, from its `Timer` callback."""

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Timer


def train_seconds(trainer: pl.Trainer) -> float | None:
    """Seconds of training over all the run's parts, to 0.01 s: the `Timer` callback's (which
    checkpoints carry to a resumed part); None when the callbacks have no Timer."""
    timers = [c for c in trainer.callbacks if isinstance(c, Timer)]
    return round(timers[0].time_elapsed("train"), 2) if timers else None
