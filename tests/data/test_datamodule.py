from pathlib import Path

import pytest
import torch
from helpers import SAMPLE_RATE, write_dataset

from asrlab.batch import Batch
from asrlab.data.datamodule import ASRDataModule
from asrlab.data.datasets.manifest import Manifests
from asrlab.data.manifest import ManifestError
from asrlab.data.tokenizer import CharTokenizer

TEXTS = ["one", "two three", "four", "five six seven"]


def _datamodule(tmp_path: Path, sample_rate: int = SAMPLE_RATE) -> ASRDataModule:
    manifest = write_dataset(tmp_path, TEXTS)
    source = Manifests(train=str(manifest), val=str(manifest), test=str(manifest))
    return ASRDataModule(source, CharTokenizer(), sample_rate=sample_rate, batch_size=3, eval_batch_size=3)


def test_batches_are_padded_with_true_lengths(tmp_path: Path) -> None:
    dm = _datamodule(tmp_path)
    dm.setup("fit")
    batch = next(iter(dm.val_dataloader()))
    assert isinstance(batch, Batch)
    expected_samples = [int((0.3 + 0.1 * i) * SAMPLE_RATE) for i in range(3)]
    assert batch.wave_lengths.tolist() == expected_samples
    assert batch.waves.shape == (3, max(expected_samples))
    assert batch.target_lengths.tolist() == [len(t) for t in TEXTS[:3]]
    assert batch.texts == TEXTS[:3]
    for i, length in enumerate(batch.wave_lengths):
        assert torch.all(batch.waves[i, length:] == 0)
        assert torch.all(batch.targets[i, batch.target_lengths[i] :] == 0)
        assert torch.all(batch.targets[i, : batch.target_lengths[i]] > 0)


def test_audio_is_resampled_to_the_model_rate(tmp_path: Path) -> None:
    dm = _datamodule(tmp_path, sample_rate=8000)
    dm.setup("test")
    batch = next(iter(dm.test_dataloader()))
    assert batch.wave_lengths[0].item() == int(0.3 * 8000)


def test_missing_manifest_fails_at_setup(tmp_path: Path) -> None:
    source = Manifests(train=str(tmp_path / "nope.jsonl"), val="x", test="y")
    dm = ASRDataModule(source, CharTokenizer())
    with pytest.raises(ManifestError, match="data.source.train: manifest not found"):
        dm.setup("fit")
