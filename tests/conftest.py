"""Shared fixtures: a tiny synth_digits dataset, generated once per session."""

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_synth(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A few synthesised digit strings per split (generated once per test session)."""
    from asrlab.data.datasets.synth_digits import SynthDigits

    root = tmp_path_factory.mktemp("synth")
    return SynthDigits(str(root), num_train=24, num_val=8, num_test=8, workers=1).prepare()
