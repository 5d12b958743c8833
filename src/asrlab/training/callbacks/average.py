"""Checkpoint averaging at the end of training: checkpoints/averaged.ckpt, the mean of the run's
`k` newest or best checkpoints (asrlab.training.averaging); `conf/callbacks/average.yaml`."""

import logging
from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint

from asrlab.training.averaging import MONITOR, RANKS, write_average

log = logging.getLogger(__name__)
FILE = "averaged.ckpt"


def _keeps(callback: ModelCheckpoint, rank: str, k: int) -> bool:
    """Whether `callback` keeps the `k` newest (`last`) or best (`best`) checkpoints."""
    enough = callback.save_top_k == -1 or callback.save_top_k >= k
    if rank == "best":
        return callback.monitor == MONITOR and enough
    newest = callback.monitor == "step" and callback.mode == "max"
    return (newest and enough) or callback.save_top_k == -1


class AverageCheckpoints(pl.Callback):
    """At the end of fit, averages the `k` newest (`rank="last"`) or best by validation WER
    (`rank="best"`) checkpoints of the run's checkpoint folder into `averaged.ckpt` there; with
    `test=True`, asrlab-train's test stage uses it instead of the best checkpoint (`path`). A run
    that kept fewer (it validated fewer times) averages those it kept, with a warning."""

    def __init__(self, k: int = 3, rank: str = "last", test: bool = False) -> None:
        if rank not in RANKS or k < 1:
            raise ValueError(
                f"callbacks.average: rank must be one of {', '.join(RANKS)} and k at least 1, "
                f"not rank={rank}, k={k}"
            )
        self.k, self.rank, self.test = k, rank, test
        self.path: Path | None = None  # the averaged checkpoint, once written

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage == "fit" and not any(
            _keeps(c, self.rank, self.k) for c in trainer.checkpoint_callbacks
        ):
            what = "newest (monitor: step, mode: max)" if self.rank == "last" else "best"
            raise ValueError(
                f"callbacks.average (rank={self.rank}, k={self.k}) needs a ModelCheckpoint that "
                f"keeps the {self.k} {what} checkpoints: use callbacks=average, which has one"
            )

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        folder = Path(trainer.checkpoint_callback.dirpath)
        path = folder / FILE
        if trainer.is_global_zero:
            records = write_average(folder, self.rank, self.k, path, fewer=True)
            files = ", ".join(r["file"] for r in records)
            if len(records) < self.k:
                log.warning(
                    "callbacks.average.k=%d, but the run kept %d checkpoint(s) (it validated "
                    "fewer times): averaged %s into %s",
                    self.k,
                    len(records),
                    files,
                    path,
                )
            else:
                log.info(
                    "averaged the %s %d checkpoints %s into %s", self.rank, self.k, files, path
                )
        trainer.strategy.barrier()
        self.path = path
