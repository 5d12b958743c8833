"""SaveOnSignal: a signal while training saves last.ckpt at the step's end and exits 130 / 143."""

import logging
import os
import signal
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.utilities.exceptions import SIGTERMException
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from asrlab.training.callbacks import save_on_signal
from asrlab.training.callbacks.save_on_signal import SaveOnSignal


class _Line(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(()))

    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        return ((self.weight - batch[0]) ** 2).mean()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


class _SignalAt(pl.Callback):
    """Sends the process `signum` as training step `step + 1` starts."""

    def __init__(self, signum: signal.Signals, step: int) -> None:
        self.signum, self.step = signum, step

    def on_train_batch_start(self, trainer: pl.Trainer, *args: object) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), self.signum)


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_saves_last_at_the_step_end_and_exits(
    signum: signal.Signals, status: int, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    checkpoints = tmp_path / "checkpoints"
    trainer = pl.Trainer(
        accelerator="cpu",
        max_steps=10,
        callbacks=[
            ModelCheckpoint(checkpoints, every_n_train_steps=100, save_last=True),
            SaveOnSignal(),
            _SignalAt(signum, step=2),
        ],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    data = DataLoader(TensorDataset(torch.arange(10.0)), batch_size=1)
    before = signal.getsignal(signum)
    with caplog.at_level(logging.WARNING), pytest.raises(SystemExit) as exited:
        trainer.fit(_Line(), data)
    assert exited.value.code == status
    assert torch.load(checkpoints / "last.ckpt", weights_only=True)["global_step"] == 3
    expected = f"interrupted: saved {checkpoints / 'last.ckpt'} at step 3; asrlab-resume {tmp_path}"
    assert expected in caplog.text
    assert signal.getsignal(signum) is before


def test_second_signal_ends_the_process_without_saving(monkeypatch: pytest.MonkeyPatch) -> None:
    kills, handlers = [], []
    monkeypatch.setattr(save_on_signal.os, "kill", lambda pid, signum: kills.append(signum))
    monkeypatch.setattr(save_on_signal.signal, "signal", lambda *args: handlers.append(args))
    callback = SaveOnSignal()
    callback.on_signal(signal.SIGINT, None)
    assert callback.received == signal.SIGINT and not kills
    callback.on_signal(signal.SIGINT, None)
    assert handlers == [(signal.SIGINT, signal.SIG_DFL)] and kills == [signal.SIGINT]


def test_lightnings_sigterm_exit_gets_status_143() -> None:
    exception = SIGTERMException()
    SaveOnSignal().on_exception(None, None, exception)  # type: ignore[arg-type]
    assert exception.code == 143
