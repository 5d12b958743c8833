"""Fixtures of the callback tests: the tiny run's model and data, and a validation pass or a
one-step fit that return what TensorBoard recorded."""

from collections.abc import Callable
from pathlib import Path

import pytest
import pytorch_lightning as pl
from omegaconf import DictConfig
from pytorch_lightning.loggers import TensorBoardLogger
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from asrlab.data.datamodule import ASRDataModule
from asrlab.model.module import ASRModel
from asrlab.training.checkpoint import load_model

Run = Callable[[ASRModel, ASRDataModule, list[pl.Callback]], EventAccumulator]


@pytest.fixture
def tiny_model(tiny_run: Path) -> tuple[ASRModel, DictConfig]:
    """The tiny run's GRU-CTC model (eval mode) and its config."""
    return load_model(tiny_run / "checkpoints" / "last.ckpt")


def _trainer(log_dir: Path, callbacks: list[pl.Callback], **limits: int) -> pl.Trainer:
    return pl.Trainer(
        accelerator="cpu",
        logger=TensorBoardLogger(str(log_dir), name="", version=""),
        callbacks=callbacks,
        enable_progress_bar=False,
        enable_model_summary=False,
        **limits,
    )


def _events(trainer: pl.Trainer, log_dir: Path) -> EventAccumulator:
    trainer.loggers[0].experiment.flush()
    return EventAccumulator(str(log_dir), size_guidance={"images": 0, "audio": 0}).Reload()


@pytest.fixture
def validate(tmp_path: Path) -> Run:
    """One validation pass of a model with callbacks; returns the TensorBoard events it wrote."""

    def run(model: ASRModel, datamodule: ASRDataModule, callbacks: list[pl.Callback]):
        log_dir = tmp_path / "tensorboard"
        trainer = _trainer(log_dir, callbacks)
        trainer.validate(model, datamodule=datamodule, verbose=False)
        return _events(trainer, log_dir)

    return run


@pytest.fixture
def fit(tmp_path: Path) -> Run:
    """One training step of a model with callbacks, then one validation batch; returns the
    TensorBoard events it wrote."""

    def run(model: ASRModel, datamodule: ASRDataModule, callbacks: list[pl.Callback]):
        log_dir = tmp_path / "tensorboard"
        limits = {"max_steps": 1, "limit_val_batches": 1, "num_sanity_val_steps": 0}
        limits["log_every_n_steps"] = 1
        trainer = _trainer(log_dir, callbacks, **limits)
        trainer.fit(model, datamodule=datamodule)
        return _events(trainer, log_dir)

    return run
