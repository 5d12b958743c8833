"""Shared fixtures: a tiny synth_digits dataset and run, generated once per session; a counter of
the acoustic model's forward passes."""

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_synth(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A few synthesised digit strings per split (generated once per test session)."""
    from asrlab.data.datasets.synth_digits import SynthDigits

    root = tmp_path_factory.mktemp("synth")
    return SynthDigits(str(root), num_train=24, num_val=8, num_test=8, workers=1).prepare()


@pytest.fixture(scope="session")
def tiny_run(tiny_synth: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run folder of a tiny GRU-CTC model trained for 2 epochs on `tiny_synth` (once per
    test session): .hydra-less, but with checkpoints/, metrics.json and tensorboard/."""
    from asrlab.training.run import train
    from helpers import compose_train, manifest_overrides

    run_dir = tmp_path_factory.mktemp("tiny_run")
    overrides = manifest_overrides(tiny_synth) + [
        "encoder.hidden_size=32",
        "encoder.num_layers=1",
        "trainer.max_epochs=2",
    ]
    train(compose_train(overrides, run_dir))
    return run_dir


@pytest.fixture
def forward_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the acoustic model's forward passes (one entry per batch)."""
    import torch

    from asrlab.model.module import ASRModel

    calls: list[int] = []
    forward = ASRModel.forward

    def counting(self: ASRModel, inputs: torch.Tensor, lengths: torch.Tensor):
        calls.append(len(inputs))
        return forward(self, inputs, lengths)

    monkeypatch.setattr(ASRModel, "forward", counting)
    return calls
