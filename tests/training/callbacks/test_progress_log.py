"""ProgressLog: per-epoch lines always, per-step lines when stdout is not a terminal."""

import logging
import re
import sys
from pathlib import Path

import pytest
import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf

from asrlab.model.build import build_datamodule
from asrlab.model.module import ASRModel
from asrlab.training.callbacks.progress_log import ProgressLog

EPOCH = re.compile(
    r"epoch (\d)/2: train loss \d+\.\d{4}, \d+\.\d utt/s, val WER \d+\.\d\d% CER \d+\.\d\d%, "
    r"lr [\d.e-]+, elapsed \d:\d\d:\d\d"
)
STEP = re.compile(
    r"step (\d)/4 \(epoch \d\): loss \d+\.\d{4}, \d+\.\d utt/s, lr [\d.e-]+, elapsed \d:\d\d:\d\d"
)


def _fit_messages(model: ASRModel, cfg: DictConfig, tmp_path: Path, caplog) -> list[str]:
    """The progress lines of 2 epochs of 2 training batches, a step line every step."""
    cfg = OmegaConf.merge(cfg, {"data": {"batch_size": 6}})  # 4 batches of the 24 utterances
    model.train()
    trainer = pl.Trainer(
        accelerator="cpu",
        max_epochs=2,
        limit_train_batches=2,
        limit_val_batches=1,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[ProgressLog(every_n_steps=1)],
        default_root_dir=tmp_path,
    )
    with caplog.at_level(logging.INFO, logger="asrlab.training.callbacks.progress_log"):
        trainer.fit(model, datamodule=build_datamodule(cfg, model.tokenizer))
    return [
        r.getMessage() for r in caplog.records if r.name == "asrlab.training.callbacks.progress_log"
    ]


def test_redirected_output_gets_step_and_epoch_lines(
    tiny_model: tuple[ASRModel, DictConfig], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    messages = _fit_messages(*tiny_model, tmp_path, caplog)
    steps = [int(m.group(1)) for m in map(STEP.fullmatch, messages) if m]
    epochs = [int(m.group(1)) for m in map(EPOCH.fullmatch, messages) if m]
    assert (steps, epochs) == ([1, 2, 3, 4], [1, 2]), messages
    assert len(messages) == 6


def test_a_terminal_gets_epoch_lines_only(
    tiny_model: tuple[ASRModel, DictConfig],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    messages = _fit_messages(*tiny_model, tmp_path, caplog)
    assert [m.split(":")[0] for m in messages] == ["epoch 1/2", "epoch 2/2"]
