"""What a run hands its loggers (conf/logger: tensorboard, csv, mlflow, wandb) besides the metrics
Lightning logs: its settings and final scores, and the end of the logger's run."""

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pytorch_lightning.loggers import Logger, TensorBoardLogger


def log_summary(
    loggers: Sequence[Logger], params: dict[str, Any], scores: dict[str, float], step: int
) -> None:
    """The run's settings `params` (nested dicts) and final `scores` to each logger: TensorBoard
    pairs them in its hparams tab; the others record the settings as hyperparameters and the
    scores as metrics at `step`."""
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.log_hyperparams(params, metrics=scores)
        else:
            logger.log_hyperparams(params)
            logger.log_metrics(scores, step=step)
        logger.finalize("success")


@contextmanager
def ending_runs() -> Iterator[None]:
    """Ends the open W&B run (`logger=wandb`) when the block ends, failed (exit code 1) or not:
    otherwise it stays open in the process, and the next trial of a multirun would log into it."""
    try:
        yield
    except BaseException:
        _finish_wandb(exit_code=1)
        raise
    _finish_wandb(exit_code=0)


def _finish_wandb(exit_code: int) -> None:
    wandb = sys.modules.get("wandb")  # imported only by a WandbLogger
    if wandb is not None and wandb.run is not None:
        wandb.finish(exit_code=exit_code)
