"""bench/train_overhead.py compares like with like: its plain loop and asrlab's Lightning
training compute the same losses and end with the same weights."""

import sys
from pathlib import Path

import pytest
import torch

from asrlab.model.build import build_tokenizer
from helpers import compose_train, manifest_overrides

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from train_overhead import (  # noqa: E402
    fresh_model,
    plain_loss,
    train_lightning,
    train_plain,
    training_batches,
)

TINY = ["encoder.hidden_size=32", "encoder.num_layers=1", "data.batch_size=4"]


@pytest.fixture
def tiny(tiny_synth: dict[str, Path], tmp_path: Path):
    """A tiny model's config and tokenizer, and three training batches of different lengths."""
    cfg = compose_train(manifest_overrides(tiny_synth) + TINY, tmp_path)
    tokenizer = build_tokenizer(cfg)
    return cfg, tokenizer, training_batches(cfg, tokenizer, steps=3)


@pytest.mark.filterwarnings("ignore:You are trying to `self.log\\(\\)`")  # no trainer attached
def test_plain_loss_is_the_training_step_loss(tiny) -> None:
    cfg, tokenizer, batches = tiny
    model = fresh_model(cfg, tokenizer).train()
    torch.manual_seed(0)
    plain = plain_loss(model, batches[0])
    torch.manual_seed(0)
    step = model.training_step(batches[0], 0)
    assert plain.item() > 0
    assert torch.equal(plain, step)
    torch.manual_seed(1)  # other SpecAugment masks and dropout: another loss
    assert not torch.equal(plain_loss(model, batches[0]), plain)


def test_plain_loop_and_lightning_end_with_the_same_loss_and_weights(tiny, tmp_path: Path) -> None:
    cfg, tokenizer, batches = tiny
    assert len(batches) == 3 and batches[0].waves.shape != batches[1].waves.shape
    initial = fresh_model(cfg, tokenizer).state_dict()

    plain_model = fresh_model(cfg, tokenizer)
    plain = train_plain(plain_model, batches, cfg.trainer.gradient_clip_val)
    lightning_model = fresh_model(cfg, tokenizer)
    lightning = train_lightning(cfg, lightning_model, batches, tmp_path / "lightning")

    assert plain.item() == pytest.approx(lightning.item(), rel=1e-5)
    trained = plain_model.state_dict()
    for name, weight in lightning_model.state_dict().items():
        torch.testing.assert_close(weight, trained[name], rtol=1e-5, atol=1e-6, msg=name)
    moved = (trained["head.linear.weight"] - initial["head.linear.weight"]).abs().max()
    assert moved > 1e-4  # the steps changed the weights well beyond the tolerance
