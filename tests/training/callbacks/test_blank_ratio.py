"""The blank-ratio monitor: counts valid frames only, logs the validation ratio over all frames,
and warns when the model has collapsed to all-blank."""

import logging
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from hydra.utils import instantiate

from asrlab.model.build import build_datamodule
from asrlab.model.module import ASRModel
from asrlab.tools.decoding.posteriors import compute_posteriors
from asrlab.training.callbacks.blank_ratio import BlankRatio, blank_frames
from asrlab.training.compose import compose_config

COLLAPSE = "collapsed to all-blank"


def _force(model: ASRModel, token: int) -> None:
    """Make `token` the CTC head's best token on every frame."""
    with torch.no_grad():
        model.head.linear.weight.zero_()
        model.head.linear.bias.fill_(-50.0)
        model.head.linear.bias[token] = 50.0


def test_blank_frames_counts_valid_frames_only() -> None:
    best = torch.tensor([[0, 1, 0, 2], [0, 1, 0, 0]])  # the second utterance: 2 valid frames
    log_probs = torch.full((2, 4, 3), -5.0).scatter(2, best.unsqueeze(-1), 0.0)
    assert blank_frames(log_probs, torch.tensor([4, 2]), blank_id=0).tolist() == [2, 1]


def test_val_ratio_is_the_blank_share_of_all_valid_frames(tiny_model, validate) -> None:
    model, cfg = tiny_model
    torch.manual_seed(0)
    model.head.linear.reset_parameters()  # a head whose best token varies from frame to frame
    datamodule = build_datamodule(cfg, model.tokenizer)
    datamodule.eval_batch_size = 3  # batches of unequal frames: a mean of means would differ
    events = validate(model, datamodule, [BlankRatio()])
    logged = events.Scalars("val/blank_ratio")[-1].value
    posteriors = compute_posteriors(model, datamodule, "val")
    frames = torch.cat(posteriors.scores).argmax(dim=-1)
    expected = (frames == model.tokenizer.blank_id).float().mean().item()
    assert 0.0 < expected < 1.0
    assert logged == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(("token", "ratio"), [(0, 1.0), (1, 0.0)])
def test_train_ratio_is_logged_every_step(tiny_model, tmp_path: Path, token, ratio) -> None:
    model, cfg = tiny_model
    _force(model, token)
    trainer = pl.Trainer(
        accelerator="cpu",
        max_steps=2,
        limit_val_batches=0,
        log_every_n_steps=1,
        callbacks=[BlankRatio()],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(model.train(), datamodule=build_datamodule(cfg, model.tokenizer))
    assert trainer.callback_metrics["train/blank_ratio"].item() == ratio


def test_warns_on_collapse_only_after_the_grace_epochs(
    tiny_model, validate, caplog: pytest.LogCaptureFixture
) -> None:
    model, cfg = tiny_model
    datamodule = build_datamodule(cfg, model.tokenizer)
    _force(model, model.tokenizer.blank_id)
    with caplog.at_level(logging.WARNING, logger="asrlab.training.callbacks.blank_ratio"):
        validate(model, datamodule, [BlankRatio(after_epochs=1)])  # epoch 0: still in grace
        assert COLLAPSE not in caplog.text
        validate(model, datamodule, [BlankRatio(after_epochs=0)])
        assert COLLAPSE in caplog.text and "100.00% of" in caplog.text
        caplog.clear()
        _force(model, 1)
        validate(model, datamodule, [BlankRatio(after_epochs=0)])
        assert COLLAPSE not in caplog.text


def test_default_callbacks_include_it(tmp_path: Path) -> None:
    cfg = compose_config([], tmp_path)
    callback = instantiate(cfg.callbacks.blank_ratio)
    assert isinstance(callback, BlankRatio)
    assert (callback.threshold, callback.after_epochs) == (0.99, 2)
