"""The test stage's decoding speed: seconds of the acoustic pass and of the search per second of
audio, from waveforms or cached features; validation is not timed."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

import asrlab.model.module
from asrlab.model.build import build_model, build_tokenizer
from asrlab.model.decode_speed import DecodeSpeed
from helpers import compose_train, text_batch

TEXTS = ["one two", "nine"]


@pytest.mark.filterwarnings("ignore:The ``compute`` method of metric DecodeSpeed")  # after reset
def test_rtf_is_seconds_per_audio_second_summed_over_batches() -> None:
    speed = DecodeSpeed()
    speed.update(1.0, 0.5, 10.0)
    speed.update(2.0, 1.5, 20.0)
    assert speed.compute() == pytest.approx(
        {"decode_rtf": 5 / 30, "decode_rtf_encoder": 3 / 30, "decode_rtf_search": 2 / 30}
    )
    speed.reset()
    assert speed.compute() == {
        "decode_rtf": None,
        "decode_rtf_encoder": None,
        "decode_rtf_search": None,
    }


@pytest.mark.filterwarnings("ignore:You are trying to `self.log\\(\\)`")  # no trainer attached
def test_test_steps_time_the_acoustic_pass_and_the_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = compose_train(["encoder.hidden_size=8", "encoder.num_layers=1"], tmp_path)
    model = build_model(cfg, build_tokenizer(cfg, lambda: TEXTS), lambda: TEXTS).eval()
    ticks: Iterator[float] = iter([0.0, 1.0, 3.0, 10.0, 10.5, 11.0, 20.0, 20.0])
    monkeypatch.setattr(asrlab.model.module, "clock", lambda _: next(ticks))
    waves, lengths = torch.randn(2, 16000), torch.tensor([16000, 8000])
    with torch.no_grad():
        model.on_test_epoch_start()
        model.test_step(text_batch(TEXTS, waves, lengths), 0)  # 1.5 s of audio: 1 s, then 2 s
        feats, frames = model.features(waves, lengths)  # data.cache=true: (B, T, F)
        model.test_step(text_batch(TEXTS, feats, frames), 1)  # 0.5 s, then 0.5 s
        model.validation_step(text_batch(TEXTS, waves, lengths), 0)  # clocked, not counted
    audio = 1.5 + float(frames.sum()) * model.frontend.hop_samples / 16000
    assert audio == pytest.approx(3.0, abs=0.05)  # frames x hop: each last window's end uncounted
    assert model.decode_speed.compute() == pytest.approx(
        {
            "decode_rtf": 4 / audio,
            "decode_rtf_encoder": 1.5 / audio,
            "decode_rtf_search": 2.5 / audio,
        }
    )
