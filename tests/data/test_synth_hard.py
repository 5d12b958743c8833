"""synth_digits_hard: read-out digit strings, held-out accents, noisy telephone audio."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from asrlab.data.audio import audio_info
from asrlab.data.datasets.synth_digits import BASE_VOICES
from asrlab.data.datasets.synth_hard import (
    HELD_OUT_BASES,
    SynthDigitsHard,
    colored_noise,
    hard_split_voices,
    mix_at_snr,
    spoken,
)

WORD = "(oh|zero|one|two|three|four|five|six|seven|eight|nine)"
READ_OUT = re.compile(rf"(double )?{WORD}( (double )?{WORD})*")


def rows(manifest: Path) -> list[dict]:
    return [json.loads(line) for line in manifest.read_text().splitlines()]


@pytest.fixture(scope="module")
def hard(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hard")
    return SynthDigitsHard(str(root), num_train=16, num_val=4, num_test=8, workers=1).prepare()


def test_texts_are_read_out_and_audio_is_8_khz(hard: dict[str, Path]) -> None:
    assert hard["train"].parent.name.startswith("synth_digits_hard-")
    for manifest in hard.values():
        for row in rows(manifest):
            assert READ_OUT.fullmatch(row["text"]), row["text"]
            assert len(row["text"].split()) <= 9
            info = audio_info(manifest.parent / row["audio_filepath"])
            assert info.sample_rate == 8000 and row["duration"] == pytest.approx(info.duration)


def test_test_accents_are_never_heard_in_training(hard: dict[str, Path]) -> None:
    train_bases = {voice.split("+")[0] for voice in hard_split_voices("train")}
    assert train_bases == set(BASE_VOICES) - set(HELD_OUT_BASES)
    for split in ("val", "test"):
        assert {row["voice"].split("+")[0] for row in rows(hard[split])} <= set(HELD_OUT_BASES)
    assert not set(hard_split_voices("val")) & set(hard_split_voices("test"))


def test_generation_is_deterministic(hard: dict[str, Path], tmp_path: Path) -> None:
    again = SynthDigitsHard(str(tmp_path), num_train=16, num_val=4, num_test=8, workers=1)
    assert again.folder.name == hard["train"].parent.name
    test = again.prepare()["test"]
    assert test.read_bytes() == hard["test"].read_bytes()
    for row in rows(test):
        path = row["audio_filepath"]
        assert (test.parent / path).read_bytes() == (hard["test"].parent / path).read_bytes()


def test_spoken_says_oh_and_doubles() -> None:
    rng = np.random.default_rng(0)
    assert spoken([5, 5, 0, 1], rng, oh_prob=1.0, double_prob=1.0) == "double five oh one"
    assert spoken([5, 5, 5], rng, oh_prob=1.0, double_prob=1.0) == "double five five"
    assert spoken([5, 5, 0], rng, oh_prob=0.0, double_prob=0.0) == "five five zero"


def test_noise_is_mixed_at_the_snr_and_coloured() -> None:
    rng = np.random.default_rng(0)
    speech = rng.standard_normal(8000).astype(np.float32)
    noise = colored_noise(8000, 1, rng)
    mixed = mix_at_snr(speech, noise, snr_db=10.0)
    assert 10 * np.log10(np.mean(speech**2) / np.mean((mixed - speech) ** 2)) == pytest.approx(10)
    power = np.abs(np.fft.rfft(colored_noise(1 << 14, 2, rng))) ** 2
    assert power[10:100].mean() > 100 * power[1000:2000].mean()  # brown: 1/f^2


def test_bad_options_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="noise_kinds"):
        SynthDigitsHard(str(tmp_path), noise_kinds=["rain"])
    with pytest.raises(ValueError, match="band"):
        SynthDigitsHard(str(tmp_path), band=[300.0, 5000.0])
