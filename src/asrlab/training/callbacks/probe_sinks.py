"""Where the probe view goes: each of the run's loggers that can hold pictures.

- TensorBoard (`logger=tensorboard`): its text, image and audio tabs, tag `probe/K/NAME`.
- MLflow (`logger=mlflow`): artifacts `probe/K/NAME/step_N.png` (`.md` the transcripts, `.wav`
  the audio) of the run.
- W&B (`logger=wandb`): images, a table of the transcripts and audio, keyed `probe/K/NAME`.
- CSV (`logger=csv`): the same files as MLflow's artifacts under the CSV logger's folder,
  `RUN/csv/probe/K/NAME/step_N.png`.

Any other logger gets no probe view.
"""

import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np
import pytorch_lightning as pl
import torch
from matplotlib.image import imsave
from pytorch_lightning.loggers import (
    CSVLogger,
    Logger,
    MLFlowLogger,
    TensorBoardLogger,
    WandbLogger,
)
from torch.utils.tensorboard import SummaryWriter

from asrlab.data.audio import write_audio


class ProbeSink(Protocol):
    """What the probe callback logs through; `tag` is `probe/K/NAME` or `probe/transcripts`."""

    def text(self, tag: str, markdown: str, step: int) -> None: ...

    def image(self, tag: str, image: np.ndarray, step: int) -> None:
        """image: (H, W, 3) uint8 RGB."""

    def audio(self, tag: str, wave: torch.Tensor, sample_rate: int, step: int) -> None:
        """wave: (S,) float in [-1, 1]."""


class TensorBoardSink:
    def __init__(self, writer: SummaryWriter) -> None:
        self.writer = writer

    def text(self, tag: str, markdown: str, step: int) -> None:
        self.writer.add_text(tag, markdown, step)

    def image(self, tag: str, image: np.ndarray, step: int) -> None:
        self.writer.add_image(tag, image, step, dataformats="HWC")

    def audio(self, tag: str, wave: torch.Tensor, sample_rate: int, step: int) -> None:
        self.writer.add_audio(tag, wave, step, sample_rate=sample_rate)


class FileSink(ABC):
    """The probe view as files `TAG/step_N.SUFFIX` (.md, .png, .wav), stored by `_store`."""

    def text(self, tag: str, markdown: str, step: int) -> None:
        self._write(tag, step, ".md", lambda path: path.write_text(markdown, encoding="utf-8"))

    def image(self, tag: str, image: np.ndarray, step: int) -> None:
        self._write(tag, step, ".png", lambda path: imsave(path, image))

    def audio(self, tag: str, wave: torch.Tensor, sample_rate: int, step: int) -> None:
        self._write(tag, step, ".wav", lambda path: write_audio(path, wave, sample_rate))

    def _write(self, tag: str, step: int, suffix: str, write: Callable[[Path], object]) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"step_{step:06d}{suffix}"
            write(path)
            self._store(path, tag)

    @abstractmethod
    def _store(self, path: Path, tag: str) -> None:
        """Keep the written file `path` as `TAG/NAME`."""


class FolderSink(FileSink):
    """The files under `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _store(self, path: Path, tag: str) -> None:
        (self.folder / tag).mkdir(parents=True, exist_ok=True)
        shutil.move(path, self.folder / tag / path.name)


class MLflowSink(FileSink):
    """The files as artifacts of the logger's run."""

    def __init__(self, logger: MLFlowLogger) -> None:
        self.client = logger.experiment
        self.run_id = logger.run_id

    def _store(self, path: Path, tag: str) -> None:
        self.client.log_artifact(self.run_id, str(path), artifact_path=tag)


class WandbSink:
    def __init__(self, logger: WandbLogger) -> None:
        self.logger = logger

    def text(self, tag: str, markdown: str, step: int) -> None:
        self.logger.log_text(tag, columns=["markdown"], data=[[markdown]], step=step)

    def image(self, tag: str, image: np.ndarray, step: int) -> None:
        self.logger.log_image(tag, [image], step=step)

    def audio(self, tag: str, wave: torch.Tensor, sample_rate: int, step: int) -> None:
        self.logger.log_audio(tag, [wave.numpy()], step=step, sample_rate=[sample_rate])


def probe_sinks(trainer: pl.Trainer) -> list[ProbeSink]:
    """A sink for each of the trainer's loggers that can hold the probe view."""
    return [sink for logger in trainer.loggers if (sink := _sink(logger)) is not None]


def _sink(logger: Logger) -> ProbeSink | None:
    if isinstance(logger, TensorBoardLogger):
        return TensorBoardSink(logger.experiment)
    if isinstance(logger, MLFlowLogger):
        return MLflowSink(logger)
    if isinstance(logger, WandbLogger):
        return WandbSink(logger)
    if isinstance(logger, CSVLogger):
        return FolderSink(Path(logger.log_dir))
    return None
