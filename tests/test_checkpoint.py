"""A run's checkpoint alone rebuilds its model: same weights, tokenizer, head and decoder."""

from pathlib import Path

import torch

from asrlab.training.checkpoint import load_model, read_checkpoint
from asrlab.training.run import train
from helpers import compose_train, manifest_overrides

TINY = ["encoder.hidden_size=16", "encoder.num_layers=1", "trainer.max_epochs=1"]


def test_load_model_rebuilds_the_trained_model(tiny_synth: dict[str, Path], tmp_path: Path) -> None:
    overrides = manifest_overrides(tiny_synth) + TINY + ["tokenizer=bpe", "tokenizer.vocab_size=36"]
    train(compose_train([*overrides, "decoder=beam_lm", "lm.order=2"], tmp_path))
    model, cfg = load_model(tmp_path / "checkpoints" / "last.ckpt")
    assert cfg.decoder.lm == str(tmp_path / "lm.arpa")
    assert model.head.decoder.tokenizer.state_dict() == model.tokenizer.state_dict()
    saved = read_checkpoint(tmp_path / "checkpoints" / "last.ckpt")["state_dict"]
    for name, value in model.state_dict().items():
        torch.testing.assert_close(value, saved[name], msg=name)
    waves = torch.randn(2, 8000)
    assert len(model.transcribe(waves, torch.tensor([8000, 6000]))) == 2


def test_a_checkpoint_of_the_earlier_module_layout_loads(tiny_run: Path, tmp_path: Path) -> None:
    checkpoint = torch.load(tiny_run / "checkpoints" / "last.ckpt", weights_only=True)
    config = checkpoint["asrlab_config"]
    for part, new, old in [
        ("encoder", "asrlab.model.encoders.", "asrlab.encoders."),
        ("features", "asrlab.model.frontends.", "asrlab.features.frontends."),
    ]:
        config[part]["_target_"] = config[part]["_target_"].replace(new, old)
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    old = tmp_path / "run" / "checkpoints" / "old.ckpt"
    torch.save(checkpoint, old)
    model, cfg = load_model(old)
    assert cfg.encoder._target_.startswith("asrlab.model.encoders.")
    assert cfg.features._target_.startswith("asrlab.model.frontends.")
    reference, _ = load_model(tiny_run / "checkpoints" / "last.ckpt")
    assert all(
        torch.equal(a, b) for a, b in zip(model.parameters(), reference.parameters(), strict=True)
    )
