import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from asrlab.data.audio import AudioError
from asrlab.data.batch import Batch
from asrlab.data.datamodule import ASRDataModule
from asrlab.data.datasets.manifest import Manifests
from asrlab.data.manifest import ManifestError
from asrlab.text.tokenizer import CharTokenizer
from helpers import FRAMES_OF, SAMPLE_RATE, write_dataset

TEXTS = ["one", "two three", "four", "five six seven"]


def _datamodule(tmp_path: Path, sample_rate: int = SAMPLE_RATE) -> ASRDataModule:
    manifest = write_dataset(tmp_path, TEXTS)
    source = Manifests(train=str(manifest), val=str(manifest), test=str(manifest))
    return ASRDataModule(
        source, CharTokenizer(), FRAMES_OF, sample_rate=sample_rate, batch_size=3, eval_batch_size=3
    )


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
    dm = ASRDataModule(source, CharTokenizer(), FRAMES_OF)
    with pytest.raises(ManifestError, match="data.source.train: manifest not found"):
        dm.setup("fit")


def test_skip_policy_leaves_bad_lines_out_and_lists_them(tmp_path: Path) -> None:
    manifest = write_dataset(tmp_path / "ds", TEXTS)
    with manifest.open("a") as f:
        f.write('{"audio_filepath": "gone.wav", "duration": 1.0, "text": "one"}\n')
        f.write('{"audio_filepath": "utt0.wav", "duration": 0.3, "text": "route 66"}\n')
        f.write('{"audio_filepath": "utt0.wav", "duration": NaN, "text": "one"}\n')
        f.write('{"audio_filepath": "utt0.wav", "duration": 0.3, "text": null}\n')
    source = Manifests(train=str(manifest), val=str(manifest), test=str(manifest))
    with pytest.raises(ManifestError, match=f"{manifest}:7: duration must be"):
        ASRDataModule(source, CharTokenizer(), FRAMES_OF).setup("fit")

    report = tmp_path / "run"
    dm = ASRDataModule(source, CharTokenizer(), FRAMES_OF, on_error="skip", report_dir=str(report))
    dm.setup("fit")
    assert len(dm.datasets["train"]) == len(TEXTS) and dm.skipped == {"train": 4, "val": 4}
    listed = [json.loads(line) for line in (report / "skipped.jsonl").read_text().splitlines()]
    assert [(e["split"], e["where"]) for e in listed] == [
        (split, f"{manifest}:{line}") for split in ("train", "val") for line in (7, 8, 5, 6)
    ]
    problems = [e["problem"] for e in listed[:4]]
    assert problems[0] == "duration must be a number of seconds in (0, 86400], got NaN"
    assert problems[1] == "text must be a string, got null"
    assert "not found" in problems[2] and "cannot encode" in problems[3]


@pytest.mark.parametrize("num_workers", [0, 1])
def test_nan_audio_stops_loading_with_one_line_naming_it(tmp_path: Path, num_workers: int) -> None:
    manifest = write_dataset(tmp_path, TEXTS[:1])
    nan = np.full(4800, np.nan, dtype=np.float32)
    sf.write(str(tmp_path / "utt0.wav"), nan, SAMPLE_RATE, subtype="FLOAT")
    source = Manifests(train=str(manifest), val=str(manifest), test=str(manifest))
    dm = ASRDataModule(
        source, CharTokenizer(), FRAMES_OF, num_workers=num_workers, check_audio=False
    )
    dm.setup("test")
    with pytest.raises(AudioError) as err:
        next(iter(dm.test_dataloader()))
    assert str(err.value) == (
        f"{manifest}:1: audio file has 4800 NaN or infinite sample(s): {tmp_path / 'utt0.wav'}"
    )


def test_training_batches_respect_the_frame_budget(tmp_path: Path) -> None:
    manifest = write_dataset(tmp_path, [f"word {c}" for c in "abcdefghijkl"])
    source = Manifests(train=str(manifest), val=str(manifest), test=str(manifest))
    budget = 200  # feature frames of 10 ms: the longest utterance here has 140
    dm = ASRDataModule(
        source, CharTokenizer(), FRAMES_OF, batch_size=None, max_frames_per_batch=budget
    )
    dm.setup("fit")
    seen = []
    for batch in dm.train_dataloader():
        frames = batch.wave_lengths.max().item() * len(batch.ids) / (SAMPLE_RATE / 100)
        assert frames <= budget + len(batch.ids)
        seen += batch.ids
    assert sorted(seen) == sorted(f"{manifest}:{i}" for i in range(1, 13))
